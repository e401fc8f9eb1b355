// What the pages' scripts share: server-sent events from a POST, and building elements from untrusted text.
"use strict";

// An element whose text is set with textContent, never parsed as HTML: record text is untrusted.
function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = text;
  return node;
}

// Server-sent events from a POST request (EventSource can only GET): calls onEvent(name, data) for each
// event as it arrives. Resolves when the stream ends; rejects with the server's JSON error message when the
// request is refused before the stream starts.
async function postEvents(url, body, headers, onEvent, signal) {
  const response = await fetch(url, {
    method: "POST",
    headers: Object.assign({ "Content-Type": "application/json", "Accept": "text/event-stream" }, headers || {}),
    body: typeof body === "string" || body instanceof Blob ? body : JSON.stringify(body),
    signal,
  });
  if (!response.ok) {
    let message = response.status + " " + response.statusText;
    try {
      const error = await response.json();
      if (error && error.error && error.error.message) message = error.error.message;
    } catch (_) { /* not JSON: keep the status line */ }
    throw new Error(message);
  }
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffered = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffered += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffered.indexOf("\n\n")) >= 0) {
      const block = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      let name = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) name = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      }
      if (data.length) onEvent(name, JSON.parse(data.join("\n")));
    }
  }
}

window.curator = { el, postEvents };
