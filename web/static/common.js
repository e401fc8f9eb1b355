// What the pages' scripts share: server-sent events from a POST, and building elements from untrusted text.
"use strict";

// An element whose text is set with textContent, never parsed as HTML: record text is untrusted.
function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = text;
  return node;
}

// The error a refused request stands for: the server's JSON message ({"error": {"message"}}) or, when the
// body is not JSON, the status line; `status` keeps the HTTP status.
async function refusal(response) {
  let message = response.status + " " + response.statusText;
  try {
    const body = await response.json();
    if (body && body.error && body.error.message) message = body.error.message;
  } catch (_) { /* not JSON: keep the status line */ }
  const error = new Error(message);
  error.status = response.status;
  return error;
}

// fetch, then the JSON body; a refused request throws its `refusal`.
async function fetchJson(url, options) {
  const response = await fetch(url, options);
  if (!response.ok) throw await refusal(response);
  return response.json();
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
  if (!response.ok) throw await refusal(response);
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
