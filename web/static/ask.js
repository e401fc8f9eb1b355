// The ask page: streams an answer from /api/ask/stream and renders it from the structured events
// (`sources`, `delta`, `sentence`, `answer`), never by reading markers out of the text. Every citation is a
// chip numbered as in the source list; the list holds only the records the answer cites. Record text is
// untrusted: everything is inserted with textContent, never as HTML.
"use strict";

(function () {
  const form = document.getElementById("ask-form");
  const questionInput = document.getElementById("question");
  const askButton = document.getElementById("ask-button");
  const conversation = document.getElementById("conversation");
  const template = document.getElementById("turn-template");
  const card = document.getElementById("card");
  const panel = document.getElementById("panel");
  const panelBody = document.getElementById("panel-body");
  const panelTitle = document.getElementById("panel-title");
  const showTimings = document.getElementById("show-timings");
  let history = [];
  let running = null;

  const SUPPORT_WORDS = {
    supported: "Supported: the cited record says this.",
    unsupported: "Not supported: the cited record does not say this.",
    uncited: "No citation: this sentence cites no record.",
    no_claim: "",
  };

  const el = window.curator.el;

  function byline(source) {
    const parts = [];
    if (source.makers && source.makers.length) parts.push(source.makers.join("; "));
    if (source.date) parts.push(source.date);
    return parts.join(" · ");
  }

  // One turn of the conversation: its elements and what the stream has said so far.
  function newTurn(question) {
    const fragment = template.content.cloneNode(true);
    const node = fragment.querySelector(".turn");
    conversation.appendChild(fragment);
    const turn = {
      node,
      question,
      answerEl: node.querySelector(".answer"),
      statusEl: node.querySelector(".status"),
      searchedEl: node.querySelector(".searched"),
      sourcesEl: node.querySelector(".sources"),
      declinedEl: node.querySelector(".declined"),
      timingsEl: node.querySelector(".timings"),
      feedbackEl: node.querySelector(".feedback"),
      sources: new Map(),
      sentences: [],
      streamed: "",
      checkedUpTo: 0,
      answer: null,
    };
    node.querySelector(".question").textContent = question;
    return turn;
  }

  // A citation curator re-pointed: the model cited `modelCited`, which does not say it; this source does.
  function repairWords(modelCited) {
    const cited = modelCited.map((n) => "[" + n + "]").join(", ");
    return "Re-pointed: the model cited " + cited + ", which does not say this; this record does.";
  }

  function chip(turn, citation, modelCited) {
    const repaired = modelCited && modelCited.length > 0;
    const button = el("button", "chip" + (citation.supported ? " supported" : " unsupported") + (repaired ? " repaired" : ""), "[" + citation.number + "]");
    button.type = "button";
    const source = turn.sources.get(citation.number);
    const title = source ? source.title : citation.title;
    button.setAttribute("aria-label", "Source " + citation.number + ": " + title + ". " + (citation.supported ? "Supported." : "Not supported.") + (repaired ? " " + repairWords(modelCited) : ""));
    button.dataset.number = String(citation.number);
    button.addEventListener("mouseenter", () => showCard(turn, citation, button, modelCited));
    button.addEventListener("focus", () => showCard(turn, citation, button, modelCited));
    button.addEventListener("mouseleave", hideCard);
    button.addEventListener("blur", hideCard);
    button.addEventListener("click", () => openRecord(turn, citation));
    return button;
  }

  function sentenceNode(turn, sentence) {
    const span = el("span", "sentence " + sentence.support);
    span.appendChild(document.createTextNode(sentence.text.replace(/[.!?]$/, "")));
    for (const citation of sentence.citations) {
      span.appendChild(document.createTextNode(" "));
      span.appendChild(chip(turn, citation, sentence.model_cited));
    }
    const last = sentence.text.match(/[.!?]$/);
    if (last) span.appendChild(document.createTextNode(last[0]));
    if (sentence.support === "unsupported" || sentence.support === "uncited") {
      const flag = el("span", "flag", sentence.support === "unsupported" ? "not supported" : "no citation");
      flag.title = SUPPORT_WORDS[sentence.support];
      span.appendChild(flag);
    }
    return span;
  }

  // The answer as it stands: checked sentences with their chips, then the text still being written.
  function renderAnswer(turn, final) {
    turn.answerEl.replaceChildren();
    turn.sentences.forEach((sentence, i) => {
      if (i > 0) turn.answerEl.appendChild(document.createTextNode(" "));
      turn.answerEl.appendChild(sentenceNode(turn, sentence));
    });
    if (!final) {
      const tail = Array.from(turn.streamed).slice(turn.checkedUpTo).join("");
      if (tail) {
        if (turn.sentences.length) turn.answerEl.appendChild(document.createTextNode(" "));
        turn.answerEl.appendChild(el("span", "live", tail));
      }
    }
  }

  function renderSources(turn) {
    const cited = new Map();
    for (const sentence of turn.sentences) {
      for (const citation of sentence.citations) cited.set(citation.number, citation);
    }
    turn.sourcesEl.replaceChildren();
    for (const number of Array.from(cited.keys()).sort((a, b) => a - b)) {
      const source = turn.sources.get(number);
      if (!source) continue;
      const item = el("li");
      item.value = number;
      const link = el("a", null, source.title);
      link.href = "/records/" + encodeURIComponent(source.record_id);
      item.appendChild(link);
      const by = byline(source);
      if (by) item.appendChild(el("span", "maker", " " + by));
      item.appendChild(el("span", "id", " " + source.record_id));
      turn.sourcesEl.appendChild(item);
    }
  }

  // What retrieval did with the question, when it is not simply the question: a follow-up is searched as
  // a rewritten question, and years written in the question filter the records.
  function renderSearched(turn, retrieved) {
    const notes = [];
    if (retrieved.retrieval_query && retrieved.retrieval_query.trim() !== turn.question.trim()) {
      notes.push("Searched for: “" + retrieved.retrieval_query + "”.");
    }
    if (retrieved.years_from_query) {
      const [from, to] = retrieved.years_from_query;
      notes.push("Only works dated " + from + "–" + to + ": the years in the question became a filter.");
    }
    turn.searchedEl.textContent = notes.join(" ");
    turn.searchedEl.hidden = notes.length === 0;
  }

  function renderDeclined(turn, answer) {
    turn.declinedEl.hidden = false;
    turn.declinedEl.replaceChildren();
    const message = answer.declined_by === "model"
      ? "The records found do not answer this question."
      : answer.declined_by === "gate"
        ? "The collection has no record that answers this question, so no answer was written."
        : "No record in the collection is relevant enough to answer this question, so no answer was written.";
    turn.declinedEl.appendChild(el("p", "declined-why", message));
    if (answer.closest && answer.closest.length) {
      turn.declinedEl.appendChild(el("p", null, "The records that came closest:"));
      const list = el("ul", "closest");
      for (const record of answer.closest) {
        const item = el("li");
        const link = el("a", null, record.title);
        link.href = "/records/" + encodeURIComponent(record.record_id);
        item.appendChild(link);
        const by = byline(record);
        if (by) item.appendChild(el("span", "maker", " " + by));
        list.appendChild(item);
      }
      turn.declinedEl.appendChild(list);
    }
  }

  function renderTimings(turn, answer) {
    const t = answer.timings;
    const rows = [
      ["rewrite (follow-up)", t.rewrite_ms],
      ["query embedding", t.retrieval.embed_query_ms],
      ["BM25", t.retrieval.bm25_ms],
      ["dense (HNSW)", t.retrieval.dense_ms],
      ["fusion", t.retrieval.fuse_ms],
      ["rerank", t.retrieval.rerank_ms],
      ["evidence selection", t.evidence_ms],
      ["prompt evaluation", t.prompt_ms],
      ["first token", t.first_token_ms],
      ["generation", t.generation_ms],
      ["support check", t.verify_ms],
      ["total", t.total_ms],
    ];
    const table = turn.timingsEl.querySelector("table");
    table.replaceChildren();
    for (const [name, value] of rows) {
      if (value === null || value === undefined) continue;
      const row = el("tr");
      row.appendChild(el("th", null, name));
      row.appendChild(el("td", null, value.toFixed(1) + " ms"));
      table.appendChild(row);
    }
    if (answer.generation) {
      const row = el("tr");
      row.appendChild(el("th", null, "tokens (prompt / generated)"));
      row.appendChild(el("td", null, answer.generation.prompt_tokens + " / " + answer.generation.generated_tokens + " at " + answer.generation.tokens_per_second.toFixed(1) + " tokens/s"));
      table.appendChild(row);
    }
    turn.timingsEl.hidden = !showTimings.checked;
  }

  function showCard(turn, citation, anchor, modelCited) {
    const source = turn.sources.get(citation.number);
    card.replaceChildren();
    card.appendChild(el("p", "card-title", source ? source.title : citation.title));
    if (source && byline(source)) card.appendChild(el("p", "maker", byline(source)));
    if (citation.snippet) card.appendChild(el("blockquote", null, citation.snippet));
    card.appendChild(el("p", "support " + (citation.supported ? "supported" : "unsupported"),
      citation.supported ? SUPPORT_WORDS.supported : SUPPORT_WORDS.unsupported));
    if (modelCited && modelCited.length) card.appendChild(el("p", "support repaired", repairWords(modelCited)));
    card.hidden = false;
    const box = anchor.getBoundingClientRect();
    const width = Math.min(360, window.innerWidth - 16);
    card.style.width = width + "px";
    card.style.left = Math.max(8, Math.min(window.scrollX + box.left, window.scrollX + window.innerWidth - width - 8)) + "px";
    card.style.top = (window.scrollY + box.bottom + 6) + "px";
    anchor.setAttribute("aria-describedby", "card");
  }

  function hideCard() {
    card.hidden = true;
  }

  // Opens the cited record in the side panel, its supporting sentence highlighted when it can be found.
  async function openRecord(turn, citation) {
    hideCard();
    const source = turn.sources.get(citation.number);
    const recordId = source ? source.record_id : citation.record_id;
    panelTitle.textContent = "[" + citation.number + "] " + (source ? source.title : citation.title);
    panelBody.replaceChildren(el("p", "status", "Loading the record…"));
    panel.hidden = false;
    panel.focus();
    let record;
    try {
      record = await fetchJson("/api/records/" + encodeURIComponent(recordId));
    } catch (error) {
      panelBody.replaceChildren(el("p", "error", "Could not load the record: " + error.message));
      return;
    }
    panelBody.replaceChildren();
    const by = byline(record);
    if (by) panelBody.appendChild(el("p", "maker", by));
    panelBody.appendChild(el("p", "id", record.id));
    panelBody.appendChild(el("p", "support " + (citation.supported ? "supported" : "unsupported"),
      citation.supported ? SUPPORT_WORDS.supported : SUPPORT_WORDS.unsupported));
    // The supporting passage is a sentence of the description, one of the record's labelled facts
    // ("Medium: Oil on canvas."), or its maker and date; whichever it is gets highlighted.
    const snippet = (citation.snippet || "").trim();
    const squash = (t) => t.replace(/\s+/g, " ").trim();
    const description = el("div", "description");
    const text = squash(record.description || "");
    const at = snippet ? text.indexOf(squash(snippet)) : -1;
    let located = at >= 0;
    if (located) {
      description.appendChild(document.createTextNode(text.slice(0, at)));
      description.appendChild(el("mark", "highlight", text.slice(at, at + squash(snippet).length)));
      description.appendChild(document.createTextNode(text.slice(at + squash(snippet).length)));
    } else {
      description.textContent = text;
    }
    if (text) panelBody.appendChild(description);
    const fields = el("dl", "fields");
    const facts = [["Object", record.object_type], ["Medium", record.medium], ["Dimensions", record.dimensions], ["Place", record.place],
      ["Collection", record.credit], ["Subjects", (record.subjects || []).join(", ")]];
    for (const [label, value] of facts) {
      if (!value) continue;
      fields.appendChild(el("dt", null, label));
      const cell = el("dd");
      if (!located && squash(snippet) === squash(label + ": " + value + ".")) {
        cell.appendChild(el("mark", "highlight", value));
        located = true;
      } else {
        cell.textContent = value;
      }
      fields.appendChild(cell);
    }
    panelBody.appendChild(fields);
    if (!located && by && snippet && squash(snippet) === squash((record.makers || []).join(" ") + " " + (record.date || ""))) {
      const line = panelBody.querySelector(".maker");
      line.replaceChildren(el("mark", "highlight", by));
      located = true;
    }
    if (!located && snippet) {
      panelBody.appendChild(el("p", "hint", "The supporting passage could not be located in the record, so nothing is highlighted. It reads: " + snippet));
    }
    const link = el("a", null, "Open the record page");
    link.href = "/records/" + encodeURIComponent(record.id);
    panelBody.appendChild(link);
    const highlight = panelBody.querySelector("mark.highlight");
    if (highlight) highlight.scrollIntoView({ block: "center" });
  }

  function closePanel() {
    panel.hidden = true;
  }

  function setupFeedback(turn) {
    const up = turn.feedbackEl.querySelector(".up");
    const down = turn.feedbackEl.querySelector(".down");
    const commentForm = turn.feedbackEl.querySelector(".comment");
    const thanks = turn.feedbackEl.querySelector(".thanks");
    const send = async (rating, comment) => {
      const answer = turn.answer;
      const body = {
        question: turn.question,
        answer: answer.answer,
        sources: answer.sources.map((s) => s.record_id),
        cited: answer.citations.map((c) => c.record_id),
        rating,
        comment: comment || null,
      };
      try {
        await fetchJson("/api/feedback", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
        thanks.textContent = "Thank you: your rating is saved.";
        up.disabled = true;
        down.disabled = true;
        commentForm.hidden = true;
      } catch (error) {
        thanks.textContent = "Could not save the rating: " + error.message;
      }
    };
    up.addEventListener("click", () => send("up"));
    down.addEventListener("click", () => {
      commentForm.hidden = false;
      commentForm.querySelector("input").focus();
    });
    commentForm.addEventListener("submit", (event) => {
      event.preventDefault();
      send("down", commentForm.querySelector("input").value.trim());
    });
    turn.feedbackEl.hidden = false;
  }

  async function ask(question) {
    const turn = newTurn(question);
    turn.statusEl.textContent = "Searching the collection…";
    askButton.disabled = true;
    const controller = new AbortController();
    running = controller;
    const body = { question, history };
    try {
      await window.curator.postEvents("/api/ask/stream", body, {}, (name, data) => {
        if (name === "sources") {
          for (const source of data.sources) turn.sources.set(source.number, source);
          renderSearched(turn, data);
          turn.statusEl.textContent = data.abstained
            ? "Nothing relevant enough was found."
            : "Reading " + data.sources.length + " records and writing the answer…";
        } else if (name === "delta") {
          turn.streamed += data.text;
          renderAnswer(turn, false);
        } else if (name === "sentence") {
          turn.sentences[data.index] = data.sentence;
          turn.checkedUpTo = Math.max(turn.checkedUpTo, data.end || 0);
          renderAnswer(turn, false);
          renderSources(turn);
        } else if (name === "answer") {
          turn.answer = data;
          turn.sentences = data.sentences;
          turn.statusEl.textContent = "";
          if (data.abstained) {
            turn.answerEl.replaceChildren(el("span", "sentence no_claim", data.answer));
            renderDeclined(turn, data);
          } else {
            renderAnswer(turn, true);
          }
          renderSources(turn);
          renderTimings(turn, data);
          setupFeedback(turn);
          history = history.concat([{ role: "user", content: question }, { role: "assistant", content: data.answer }]);
        } else if (name === "error") {
          turn.statusEl.textContent = "The answer failed: " + (data.error ? data.error.message : "unknown error");
          turn.statusEl.classList.add("error");
        }
      }, controller.signal);
    } catch (error) {
      if (error.name !== "AbortError") {
        turn.statusEl.textContent = "The question could not be answered: " + error.message;
        turn.statusEl.classList.add("error");
      }
    } finally {
      askButton.disabled = false;
      running = null;
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const question = questionInput.value.trim();
    if (!question || running) return;
    questionInput.value = "";
    ask(question);
  });
  questionInput.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  document.getElementById("new-conversation").addEventListener("click", () => {
    if (running) running.abort();
    history = [];
    conversation.replaceChildren();
    closePanel();
    questionInput.focus();
  });
  document.getElementById("panel-close").addEventListener("click", closePanel);
  showTimings.addEventListener("change", () => {
    for (const details of conversation.querySelectorAll(".timings")) {
      if (details.querySelector("tr")) details.hidden = !showTimings.checked;
    }
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      hideCard();
      closePanel();
    }
  });
})();
