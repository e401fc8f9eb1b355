// The ingest page: sends a file (any format curator reads) or pasted JSONL to /api/ingest/file with the
// API key, shows progress while the server embeds and indexes, then the summary. Text from the server
// (file names, reasons) is inserted with textContent.
"use strict";

(function () {
  const form = document.getElementById("ingest-form");
  const key = document.getElementById("api-key");
  const file = document.getElementById("file");
  const pasted = document.getElementById("pasted");
  const button = document.getElementById("ingest-button");
  const progress = document.getElementById("ingest-progress");
  const bar = document.getElementById("ingest-bar");
  const report = document.getElementById("ingest-report");

  const el = window.curator.el;

  function showReport(data) {
    report.replaceChildren();
    const r = data.report;
    report.appendChild(el("h2", null, "Ingest finished"));
    const table = el("table", "summary");
    const rows = [["read", data.read], ["skipped", data.skipped.length], ["added", r.added], ["updated", r.updated], ["unchanged", r.unchanged], ["removed", r.deleted]];
    for (const [name, value] of rows) {
      const row = el("tr");
      row.appendChild(el("th", null, name));
      row.appendChild(el("td", null, String(value === undefined ? 0 : value)));
      table.appendChild(row);
    }
    report.appendChild(table);
    if (data.skipped.length) {
      report.appendChild(el("h3", null, "Skipped rows"));
      const list = el("ul", "skipped");
      for (const s of data.skipped) list.appendChild(el("li", null, s.at + ": " + s.reason));
      report.appendChild(list);
    }
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    report.replaceChildren();
    let body;
    let name;
    if (file.files.length) {
      body = file.files[0];
      name = file.files[0].name;
    } else if (pasted.value.trim()) {
      body = new Blob([pasted.value], { type: "application/x-ndjson" });
      name = "pasted.jsonl";
    } else {
      progress.textContent = "Choose a file or paste records first.";
      return;
    }
    button.disabled = true;
    progress.textContent = "Uploading " + name + "…";
    bar.hidden = false;
    bar.removeAttribute("value");
    try {
      await window.curator.postEvents("/api/ingest/file?name=" + encodeURIComponent(name), body,
        { "Authorization": "Bearer " + key.value, "Content-Type": "application/octet-stream" },
        (event, data) => {
          if (event === "progress") {
            progress.textContent = data.stage + ": " + data.done + " of " + data.total;
            if (data.total > 0) { bar.max = data.total; bar.value = data.done; }
          } else if (event === "report") {
            progress.textContent = "";
            bar.hidden = true;
            showReport(data);
          } else if (event === "error") {
            progress.textContent = "The ingest failed; the index is unchanged: " + data.error.message;
            progress.classList.add("error");
            bar.hidden = true;
          }
        });
    } catch (error) {
      progress.textContent = "The ingest was refused: " + error.message;
      progress.classList.add("error");
      bar.hidden = true;
    } finally {
      button.disabled = false;
    }
  });
})();
