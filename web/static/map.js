// The map page: every record of GET /api/map drawn on a canvas, hover for a title, click for the record
// and its neighbours, a query or a vector combination placed among the records it is nearest to.
"use strict";

(function () {
  const canvas = document.getElementById("map-canvas");
  const context = canvas.getContext("2d");
  const status = document.getElementById("map-status");
  const tip = document.getElementById("map-tip");
  const panel = document.getElementById("map-panel");
  const projectionSelect = document.getElementById("projection");
  const colourSelect = document.getElementById("colour-by");
  const labelsBox = document.getElementById("show-labels");
  // Twelve colours that stay apart on white; groups beyond the twelfth repeat them.
  const PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#393b79", "#637939"];
  const GRID = 64;

  let map = null;           // the JSON of /api/map
  let index = new Map();    // record id -> position in map.ids
  let grid = [];            // GRID x GRID buckets of point positions, for hover and click
  let highlighted = [];     // positions drawn larger (neighbours, a query's records)
  let selected = -1;        // the clicked record
  let placed = null;        // {x, y, label}: a query or a combination, in map units
  const titles = new Map(); // record id -> a promise of its title, fetched on first hover

  function colourOf(i) {
    const n = colourSelect.value === "source" ? map.source[i] : map.cluster[i];
    return PALETTE[n % PALETTE.length];
  }

  // Map units (0..scale) to canvas pixels, with a margin.
  const MARGIN = 12;
  function px(x) { return MARGIN + (x / map.scale) * (canvas.width - 2 * MARGIN); }
  function py(y) { return MARGIN + (1 - y / map.scale) * (canvas.height - 2 * MARGIN); }

  function buildGrid() {
    grid = Array.from({ length: GRID * GRID }, () => []);
    for (let i = 0; i < map.ids.length; i++) {
      const gx = Math.min(GRID - 1, Math.floor((map.x[i] / (map.scale + 1)) * GRID));
      const gy = Math.min(GRID - 1, Math.floor((map.y[i] / (map.scale + 1)) * GRID));
      grid[gy * GRID + gx].push(i);
    }
  }

  // The record nearest to a canvas point, within 8 CSS pixels.
  function pointAt(cx, cy) {
    const reach = 8 * (canvas.width / canvas.getBoundingClientRect().width);
    const mx = ((cx - MARGIN) / (canvas.width - 2 * MARGIN)) * map.scale;
    const my = (1 - (cy - MARGIN) / (canvas.height - 2 * MARGIN)) * map.scale;
    const gx = Math.floor((mx / (map.scale + 1)) * GRID);
    const gy = Math.floor((my / (map.scale + 1)) * GRID);
    let best = -1;
    let bestDistance = reach * reach;
    for (let y = gy - 1; y <= gy + 1; y++) {
      for (let x = gx - 1; x <= gx + 1; x++) {
        if (x < 0 || y < 0 || x >= GRID || y >= GRID) continue;
        for (const i of grid[y * GRID + x]) {
          const d = (px(map.x[i]) - cx) ** 2 + (py(map.y[i]) - cy) ** 2;
          if (d < bestDistance) { bestDistance = d; best = i; }
        }
      }
    }
    return best;
  }

  function draw() {
    if (!map) return;
    context.clearRect(0, 0, canvas.width, canvas.height);
    context.globalAlpha = highlighted.length || selected >= 0 || placed ? 0.35 : 0.7;
    // Points large enough to see in a small collection, small enough not to hide each other in a large one.
    const size = map.ids.length > 5000 ? 2 : 5;
    // One fill colour at a time: switching it for each of 75,000 points is what makes a canvas slow.
    const byColour = new Map();
    for (let i = 0; i < map.ids.length; i++) {
      const colour = colourOf(i);
      if (!byColour.has(colour)) byColour.set(colour, []);
      byColour.get(colour).push(i);
    }
    for (const [colour, points] of byColour) {
      context.fillStyle = colour;
      for (const i of points) context.fillRect(px(map.x[i]) - size / 2, py(map.y[i]) - size / 2, size, size);
    }
    context.globalAlpha = 1;
    if (labelsBox.checked && colourSelect.value === "cluster") {
      context.font = "12px system-ui, sans-serif";
      context.textAlign = "center";
      for (const c of map.clusters) {
        if (!c.size) continue;
        const text = c.label.length > 40 ? c.label.slice(0, 39) + "…" : c.label;
        context.lineWidth = 3;
        context.strokeStyle = "rgba(255,255,255,0.9)";
        context.strokeText(text, px(c.x), py(c.y));
        context.fillStyle = "#111";
        context.fillText(text, px(c.x), py(c.y));
      }
    }
    const from = selected >= 0 ? { x: px(map.x[selected]), y: py(map.y[selected]) } : placed ? { x: px(placed.x), y: py(placed.y) } : null;
    for (const i of highlighted) {
      if (from) {
        context.strokeStyle = "rgba(0,0,0,0.35)";
        context.lineWidth = 1;
        context.beginPath();
        context.moveTo(from.x, from.y);
        context.lineTo(px(map.x[i]), py(map.y[i]));
        context.stroke();
      }
      context.fillStyle = colourOf(i);
      context.strokeStyle = "#000";
      context.beginPath();
      context.arc(px(map.x[i]), py(map.y[i]), 4, 0, 2 * Math.PI);
      context.fill();
      context.stroke();
    }
    if (selected >= 0) {
      context.fillStyle = "#000";
      context.beginPath();
      context.arc(px(map.x[selected]), py(map.y[selected]), 6, 0, 2 * Math.PI);
      context.fill();
    }
    if (placed) {
      context.fillStyle = "#000";
      context.font = "bold 18px system-ui, sans-serif";
      context.textAlign = "center";
      context.fillText("★", px(placed.x), py(placed.y) + 6);
    }
  }

  function legend() {
    const box = document.getElementById("map-legend");
    box.replaceChildren();
    const names = colourSelect.value === "source" ? map.sources : map.clusters.map((c) => c.label + " (" + c.size + ")");
    names.forEach((name, n) => {
      const item = el("span", "legend-item");
      const swatch = el("span", "swatch");
      swatch.style.background = PALETTE[n % PALETTE.length];
      item.append(swatch, document.createTextNode(name));
      box.append(item);
    });
  }

  async function load(projection) {
    const url = "/api/map" + (projection ? "?projection=" + encodeURIComponent(projection) : "");
    let response;
    let body;
    try {
      response = await fetch(url);
      if (!response.ok) throw await refusal(response);
      body = await response.json();
    } catch (error) {
      status.textContent = error.message;
      return;
    }
    // 202: being computed; ask again when the server says to.
    if (response.status === 202) {
      status.textContent = body.message;
      const seconds = Number(response.headers.get("Retry-After")) || 5;
      setTimeout(() => load(projection), seconds * 1000);
      return;
    }
    map = body;
    index = new Map(map.ids.map((id, i) => [id, i]));
    buildGrid();
    projectionSelect.replaceChildren(...map.projections.map((p) => {
      const option = el("option", null, p.toUpperCase());
      option.value = p;
      option.selected = p === map.projection;
      return option;
    }));
    status.textContent = map.records + " records · " + map.projection.toUpperCase() + " of " + map.embedding + " · " + map.clusters.length + " groups";
    canvas.dataset.records = String(map.records);
    legend();
    draw();
  }

  // One request per record however often it is hovered; a failed one (a rate limit) is asked again later.
  function titleOf(id) {
    if (!titles.has(id)) {
      const request = fetchJson("/api/records/" + encodeURIComponent(id)).then((record) => record.title);
      request.catch(() => titles.delete(id));
      titles.set(id, request);
    }
    return titles.get(id).catch(() => id);
  }

  function canvasPoint(event) {
    const box = canvas.getBoundingClientRect();
    return [(event.clientX - box.left) * (canvas.width / box.width), (event.clientY - box.top) * (canvas.height / box.height)];
  }

  let hoverToken = 0;
  canvas.addEventListener("mousemove", async (event) => {
    if (!map) return;
    const i = pointAt(...canvasPoint(event));
    if (i < 0) { tip.hidden = true; canvas.style.cursor = "default"; return; }
    canvas.style.cursor = "pointer";
    const token = ++hoverToken;
    const id = map.ids[i];
    tip.replaceChildren(el("strong", null, id), el("div", "id", id + " · " + map.clusters[map.cluster[i]].label));
    tip.style.left = event.pageX + 12 + "px";
    tip.style.top = event.pageY + 12 + "px";
    tip.hidden = false;
    const title = await titleOf(id);
    if (token === hoverToken) tip.firstChild.textContent = title;
  });
  canvas.addEventListener("mouseleave", () => { tip.hidden = true; });

  function showPanel(title, meta, listTitle, hits, link) {
    panel.hidden = false;
    const heading = document.getElementById("map-panel-title");
    heading.replaceChildren(link ? Object.assign(el("a", null, title), { href: link }) : document.createTextNode(title));
    document.getElementById("map-panel-meta").textContent = meta;
    document.getElementById("map-panel-list-title").textContent = listTitle;
    const list = document.getElementById("map-panel-list");
    list.replaceChildren(...hits.map((h) => {
      const item = el("li");
      const a = el("a", null, h.title);
      a.href = "/records/" + encodeURIComponent(h.record_id);
      item.append(a, el("span", "maker", " " + (h.makers || []).join("; ") + " · " + h.score.toFixed(3)));
      return item;
    }));
  }

  canvas.addEventListener("click", async (event) => {
    if (!map) return;
    const i = pointAt(...canvasPoint(event));
    if (i < 0) return;
    selected = i;
    placed = null;
    const id = map.ids[i];
    try {
      const [record, similar] = await Promise.all([
        fetchJson("/api/records/" + encodeURIComponent(id)),
        fetchJson("/api/records/" + encodeURIComponent(id) + "/similar?k=8"),
      ]);
      highlighted = similar.hits.map((h) => index.get(h.record_id)).filter((p) => p !== undefined);
      showPanel(record.title, (record.makers || []).join("; ") + (record.date ? " · " + record.date : "") + " · " + id, "Nearest records", similar.hits, "/records/" + encodeURIComponent(id));
    } catch (error) {
      status.textContent = error.message;
    }
    draw();
  });

  // A query or a combination lies where its nearest records are: the mean of their places, weighted by
  // how near each is.
  function place(hits, label) {
    const found = hits.map((h) => ({ i: index.get(h.record_id), w: Math.max(h.score, 0.001) })).filter((h) => h.i !== undefined);
    highlighted = found.map((h) => h.i);
    selected = -1;
    const total = found.reduce((s, h) => s + h.w, 0);
    placed = total > 0 ? {
      x: found.reduce((s, h) => s + h.w * map.x[h.i], 0) / total,
      y: found.reduce((s, h) => s + h.w * map.y[h.i], 0) / total,
      label,
    } : null;
    canvas.dataset.placed = placed ? "yes" : "no";
    draw();
  }

  document.getElementById("place-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const q = document.getElementById("place-query").value.trim();
    if (!q || !map) return;
    try {
      const result = await fetchJson("/api/search?mode=dense&k=10&q=" + encodeURIComponent(q));
      place(result.hits, q);
      showPanel("“" + q + "”", "placed among its 10 nearest records by embedding", "Nearest records", result.hits, null);
    } catch (error) {
      status.textContent = error.message;
    }
  });

  const terms = (text) => text.split(";").map((t) => t.trim()).filter(Boolean);
  document.getElementById("arithmetic-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const plus = terms(document.getElementById("plus").value);
    const minus = terms(document.getElementById("minus").value);
    if (!plus.length || !map) return;
    try {
      const result = await fetchJson("/api/arithmetic", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ plus, minus, k: 10 }),
      });
      const read = result.terms.map((t) => t.sign + " " + t.term + " (" + t.read_as + ")").join(" ");
      place(result.hits, read);
      showPanel(read, "the records nearest to the combination", "Nearest records", result.hits, null);
    } catch (error) {
      status.textContent = error.message;
    }
  });

  projectionSelect.addEventListener("change", () => { highlighted = []; selected = -1; placed = null; panel.hidden = true; load(projectionSelect.value); });
  colourSelect.addEventListener("change", () => { legend(); draw(); });
  labelsBox.addEventListener("change", draw);
  load(null);
})();
