// Browser tests of curator's pages, in Debian's headless chromium driven by playwright-core, against a
// running `curator serve` (scripts/test-web.sh starts it over corpus/sample.jsonl, a record written to
// attack the page, and the smallest model). Screenshots go to $CURATOR_SCREENSHOTS (docs/screenshots).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";

const BASE = process.env.CURATOR_URL;
const API_KEY = process.env.CURATOR_API_KEY;
const SHOTS = process.env.CURATOR_SCREENSHOTS;
const READ_KEY = process.env.CURATOR_READ_KEY;
assert.ok(READ_KEY, "CURATOR_READ_KEY must be the server's read key (scripts/test-web.sh sets it)");
assert.ok(BASE, "CURATOR_URL must name the running server (scripts/test-web.sh sets it)");
assert.ok(API_KEY, "CURATOR_API_KEY must be the server's key (scripts/test-web.sh sets it)");
assert.ok(SHOTS, "CURATOR_SCREENSHOTS must name the screenshot folder (scripts/test-web.sh sets it)");
mkdirSync(SHOTS, { recursive: true });

let browser;
before(async () => {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
});
after(async () => { await browser?.close(); });

// A page that records every request leaving for another origin and every script error. It holds the
// cookie that signing in at /key sets (the sign-in test walks the form itself).
async function openPage(width = 1280, height = 900, signedIn = true) {
  const context = await browser.newContext({ viewport: { width, height } });
  if (signedIn) await context.addCookies([{ name: "curator_key", value: READ_KEY, url: BASE }]);
  const page = await context.newPage();
  page.foreign = [];
  page.errors = [];
  page.on("request", (request) => {
    const url = request.url();
    if (!url.startsWith(BASE) && !url.startsWith("data:")) page.foreign.push(url);
  });
  page.on("pageerror", (error) => page.errors.push(String(error)));
  page.on("console", (message) => { if (message.type() === "error") page.errors.push(message.text()); });
  return page;
}

async function shot(page, name) {
  await page.screenshot({ path: join(SHOTS, name), fullPage: true });
}

function clean(page) {
  assert.deepEqual(page.foreign, [], "the page loaded something from another origin");
  // A script error or a blocked inline script (a CSP violation) would show here.
  assert.deepEqual(page.errors, []);
}

test("a server with a read key asks a browser for it once, then goes back to the page", async () => {
  const page = await openPage(1280, 900, false);
  const response = await page.goto(BASE + "/search?q=milkmaid");
  assert.equal(response.status(), 401);
  await page.fill("#key", "not the key");
  await page.click("button[type=submit]");
  await page.waitForSelector(".error[role=alert]");
  await shot(page, "key.png");
  await page.fill("#key", READ_KEY);
  await page.click("button[type=submit]");
  await page.waitForSelector(".result");
  assert.equal(new URL(page.url()).pathname + new URL(page.url()).search, "/search?q=milkmaid");
  // The browser logs each 401 above as a failed load; nothing after signing in may fail.
  page.errors.length = 0;
  // The page's own script calls (the ask stream) carry the cookie.
  await page.goto(BASE + "/");
  await page.fill("#question", "Who painted The Milkmaid?");
  await page.keyboard.press("Enter");
  await page.waitForSelector(".turn .answer .live, .turn .answer .chip", { timeout: 120_000 });
  clean(page);
  await page.context().close();
});

test("ask: the answer streams, its chips show a hover card and open the record with the passage", async () => {
  const page = await openPage();
  await page.goto(BASE + "/");
  await page.fill("#question", "Who painted The Milkmaid, and what is she pouring?");
  await page.keyboard.press("Enter");
  // While the model writes, text arrives before the answer is finished.
  await page.waitForSelector(".turn .answer .live, .turn .answer .chip", { timeout: 120_000 });
  await page.waitForSelector(".turn .feedback:not([hidden])", { timeout: 180_000 });
  const chips = page.locator(".turn .answer .chip");
  const count = await chips.count();
  assert.ok(count > 0, "the answer has citation chips (the grammar puts a citation on every sentence)");
  // Chips are numbered as in the source list, which holds only cited records.
  const chipNumbers = new Set(await chips.evaluateAll((all) => all.map((c) => Number(c.dataset.number))));
  const listed = await page.locator(".turn .sources li").evaluateAll((all) => all.map((li) => li.value));
  assert.deepEqual([...chipNumbers].sort((a, b) => a - b), listed, "the source list is exactly the cited records");

  await chips.first().hover();
  const card = page.locator("#card");
  await card.waitFor({ state: "visible" });
  const cardText = await card.innerText();
  assert.match(cardText, /Supported|Not supported/, "the card says how well the record supports the sentence");
  await shot(page, "ask.png");

  // Keyboard: focus shows the card too.
  await page.mouse.move(0, 0);
  await chips.first().focus();
  await card.waitFor({ state: "visible" });

  // Open each cited record until one shows its supporting passage highlighted in the description.
  let highlighted = false;
  for (let i = 0; i < count && !highlighted; i++) {
    await chips.nth(i).click();
    await page.waitForSelector("#panel:not([hidden]) .fields", { timeout: 10_000 });
    const mark = page.locator("#panel mark.highlight");
    if (await mark.count()) {
      const marked = await mark.innerText();
      const panelText = await page.locator("#panel-body").innerText();
      assert.ok(marked.length > 0 && panelText.includes(marked), "the highlight is a passage of the record");
      assert.equal(await page.locator("#panel .hint").count(), 0, "a located passage is not also reported missing");
      highlighted = true;
    } else {
      assert.equal(await page.locator("#panel .hint").count(), 1, "when the passage cannot be located, the panel says so and highlights nothing");
      await page.keyboard.press("Escape");
    }
  }
  assert.ok(highlighted, "at least one cited record opens with its supporting passage highlighted");
  await shot(page, "ask-panel.png");
  await page.keyboard.press("Escape");
  assert.ok(await page.locator("#panel").isHidden(), "Escape closes the panel");

  // Thumbs down asks for a comment, and the rating is kept.
  await page.click(".turn .feedback .down");
  await page.fill(".turn .feedback .comment input", "the date is wrong <b>here</b>");
  await page.click(".turn .feedback .comment button");
  await page.waitForSelector(".turn .feedback .thanks:text('saved')");
  const stored = await (await fetch(BASE + "/api/feedback", { headers: { Authorization: "Bearer " + API_KEY } })).json();
  assert.equal(stored.feedback[0].rating, "down");
  assert.equal(stored.feedback[0].comment, "the date is wrong <b>here</b>");
  clean(page);
});

test("ask: a re-pointed citation is drawn apart and its card names the number the model wrote", async () => {
  // The server's own stream, with its first sentence marked as re-pointed from a number the model wrote,
  // as the server marks one: supported by the source it now cites, and no other sentence re-pointed
  // (which sentences the server re-points depends on what the model wrote; how the page shows one does
  // not).
  const page = await openPage();
  await page.route("**/api/ask/stream", async (route) => {
    const response = await route.fetch();
    const repointed = (sentence) => {
      const number = sentence.citations[0].number;
      sentence.citations = [Object.assign(sentence.citations[0], { supported: true })];
      return Object.assign(sentence, { support: "supported", model_cited: [number === 1 ? 2 : 1] });
    };
    const events = (await response.text()).split("\n\n").map((block) => {
      const name = (block.match(/^event: ?(.*)$/m) || [])[1];
      const data = block.split("\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5).replace(/^ /, "")).join("\n");
      if (name === "sentence") {
        const event = JSON.parse(data);
        event.sentence.model_cited = [];
        if (event.index === 0 && event.sentence.citations.length) repointed(event.sentence);
        return "event: sentence\ndata: " + JSON.stringify(event);
      }
      if (name === "answer") {
        const answer = JSON.parse(data);
        for (const sentence of answer.sentences) sentence.model_cited = [];
        if (answer.sentences.length && answer.sentences[0].citations.length) repointed(answer.sentences[0]);
        return "event: answer\ndata: " + JSON.stringify(answer);
      }
      return block;
    });
    await route.fulfill({ response, body: events.join("\n\n") });
  });
  await page.goto(BASE + "/");
  await page.fill("#question", "Who painted The Milkmaid, and what is she pouring?");
  await page.keyboard.press("Enter");
  await page.waitForSelector(".turn .feedback:not([hidden])", { timeout: 180_000 });
  const repaired = page.locator(".turn .answer .chip.repaired");
  assert.equal(await repaired.count(), 1, "the re-pointed citation's chip is drawn apart");
  const wrote = await repaired.evaluate((chip) => Number(chip.dataset.number) === 1 ? 2 : 1);
  assert.match(await repaired.getAttribute("aria-label"), new RegExp("the model cited \\[" + wrote + "\\]"));
  await repaired.hover();
  const card = page.locator("#card");
  await card.waitFor({ state: "visible" });
  const cardText = await card.innerText();
  assert.match(cardText, new RegExp("Re-pointed: the model cited \\[" + wrote + "\\], which does not say this"));
  assert.match(cardText, /Supported: the cited record says this/);
  await shot(page, "ask-repointed.png");
  clean(page);
});

test("ask: a question the collection cannot answer is declined plainly, with the closest records", async () => {
  const page = await openPage();
  await page.goto(BASE + "/");
  // scripts/test-web.sh sets the relevance threshold (answer.abstain_below_dense) between this question's
  // best match and the answerable questions' ones, measured on the sample records.
  await page.fill("#question", "How much is a ticket for children?");
  await page.click("#ask-button");
  await page.waitForSelector(".turn .feedback:not([hidden])", { timeout: 180_000 });
  const declined = page.locator(".turn .declined");
  assert.ok(await declined.isVisible(), "the question is declined");
  assert.match(await declined.innerText(), /no answer was written/);
  assert.ok(await page.locator(".turn .declined .closest li a").count() > 0, "the closest records are offered");
  assert.equal(await page.locator(".turn .answer .chip").count(), 0, "a declined answer cites nothing");
  await shot(page, "ask-declined.png");
  clean(page);
});

test("ask: years written in the question are shown as the filter they became (issue 13.4)", async () => {
  const page = await openPage();
  await page.goto(BASE + "/");
  await page.fill("#question", "Which paintings made between 1650 and 1700 show a woman pouring milk?");
  await page.click("#ask-button");
  // The note comes with the sources event, before the model writes anything.
  const searched = page.locator(".turn .searched");
  await searched.waitFor({ state: "visible", timeout: 60_000 });
  assert.match(await searched.innerText(), /Only works dated 1650–1700: the years in the question became a filter/);
  await page.waitForSelector(".turn .feedback:not([hidden])", { timeout: 180_000 });
  assert.ok(await searched.isVisible(), "the note stays with the finished answer");
  await shot(page, "ask-years.png");
  // A follow-up is searched as the model rewrote it, and the page says what it searched for.
  await page.fill("#question", "Who painted it?");
  await page.click("#ask-button");
  const followUp = page.locator(".turn:nth-of-type(2) .searched");
  await followUp.waitFor({ state: "visible", timeout: 120_000 });
  assert.match(await followUp.innerText(), /^Searched for: “.+”/);
  await page.waitForSelector(".turn:nth-of-type(2) .feedback:not([hidden])", { timeout: 180_000 });
  // A new question without years searches every year, and says nothing about it.
  await page.click("#new-conversation");
  await page.fill("#question", "Who painted the Mona Lisa?");
  await page.click("#ask-button");
  await page.waitForSelector(".turn .feedback:not([hidden])", { timeout: 180_000 });
  assert.ok(await page.locator(".turn .searched").isHidden(), "no filter note without years in the question");
  clean(page);
});

test("search: cards mark the query's words, every stage's rank is shown, and reranking is explained", async () => {
  const page = await openPage();
  await page.goto(BASE + "/search?q=" + encodeURIComponent("milk pouring kitchen maid") + "&mode=hybrid%2Brerank");
  await page.waitForSelector(".result");
  assert.match(await page.locator(".result").first().innerText(), /Milkmaid/);
  assert.ok(await page.locator(".result mark").count() > 0, "query words are marked");
  assert.ok(await page.locator(".stages tbody tr").count() > 0, "the per-stage table is there");
  // The server reranks with the small test cross-encoder (scripts/lib/test-server.sh): the first stage's
  // order stands beside the reranked one, and every reranked record shows its move and its model rank.
  assert.equal(await page.locator(".before li").count(), await page.locator(".result").count(), "before and after list the same number");
  assert.equal(await page.locator(".result .move").count(), await page.locator(".result").count(), "each record's move is shown");
  assert.ok(await page.locator(".result .move-up, .result .move-down, .result .move-new").count() > 0, "reranking moved something");
  const rerankCells = await page.locator(".stages tbody tr td:nth-child(6)").allInnerTexts();
  assert.ok(rerankCells.some((t) => /^#\d+/.test(t.trim())), `the rerank column has ranks: ${rerankCells}`);
  await shot(page, "search.png");
  clean(page);
});

test("a record written to attack the page renders as inert text", async () => {
  const page = await openPage();
  await page.goto(BASE + "/search?q=" + encodeURIComponent("evil onerror") + "&mode=bm25");
  await page.waitForSelector(".result");
  const title = await page.locator(".result .title").first().innerText();
  assert.ok(title.includes("<script>"), "the title shows its markup as text: " + title);
  await page.locator(".result .title").first().click();
  await page.waitForSelector(".record h1");
  assert.ok((await page.locator(".record .description").innerText()).includes("<img src=x onerror="));
  assert.equal(await page.evaluate(() => window.__pwned), undefined, "no script from the record ran");
  assert.equal(await page.locator(".record img").count(), 0);
  await shot(page, "record-malicious.png");
  clean(page);
});

test("record page: fields, chunks and more like this", async () => {
  const page = await openPage();
  await page.goto(BASE + "/records/sample:milkmaid");
  assert.equal(await page.locator(".record h1").innerText(), "The Milkmaid");
  assert.ok(await page.locator(".similar li").count() > 0, "nearest records are listed");
  assert.equal(await page.locator(".similar li a", { hasText: "The Milkmaid" }).count(), 0, "the record is not its own neighbour");
  await shot(page, "record.png");
  clean(page);
});

test("map: every record is drawn, hover names one, a click lists its neighbours, a query is placed", async () => {
  const page = await openPage();
  await page.goto(BASE + "/map");
  // The first visit may find the map being computed: the page asks again until it is ready.
  await page.waitForSelector("#map-canvas[data-records]", { timeout: 120_000 });
  const data = await page.evaluate(async () => (await fetch("/api/map")).json());
  assert.equal(Number(await page.getAttribute("#map-canvas", "data-records")), data.ids.length);
  assert.match(await page.locator("#map-status").innerText(), new RegExp(data.ids.length + " records"));
  // Where the page draws The Milkmaid, in the viewport's pixels.
  const at = await page.evaluate(({ x, y, scale }) => {
    const canvas = document.getElementById("map-canvas");
    const box = canvas.getBoundingClientRect();
    const margin = 12;
    return [box.left + (margin + (x / scale) * (canvas.width - 2 * margin)) * (box.width / canvas.width),
      box.top + (margin + (1 - y / scale) * (canvas.height - 2 * margin)) * (box.height / canvas.height)];
  }, { x: data.x[data.ids.indexOf("sample:milkmaid")], y: data.y[data.ids.indexOf("sample:milkmaid")], scale: data.scale });
  await page.mouse.move(at[0], at[1]);
  await page.waitForFunction(() => document.getElementById("map-tip").innerText.includes("The Milkmaid"));
  await page.mouse.click(at[0], at[1]);
  await page.waitForSelector("#map-panel:not([hidden]) #map-panel-list li");
  assert.equal(await page.locator("#map-panel-title").innerText(), "The Milkmaid");
  assert.equal(await page.locator("#map-panel-list li").count(), 8, "the record's eight nearest records are listed");
  assert.equal(await page.locator("#map-panel-list li a", { hasText: "The Milkmaid" }).count(), 0, "the record is not its own neighbour");
  await page.fill("#place-query", "a maid pouring milk in a kitchen");
  await page.click("#place-form button");
  await page.waitForSelector("#map-canvas[data-placed=yes]");
  assert.match(await page.locator("#map-panel-title").innerText(), /a maid pouring milk/);
  await page.fill("#plus", "sample:milkmaid; night");
  await page.fill("#minus", "");
  await page.click("#arithmetic-form button");
  await page.waitForFunction(() => document.getElementById("map-panel-title").innerText.includes("(record)"));
  assert.equal(await page.locator("#map-panel-list li a", { hasText: "The Milkmaid" }).count(), 0, "a record named as a term is left out");
  await page.selectOption("#colour-by", "source");
  assert.ok(await page.locator("#map-legend .legend-item").count() >= 1, "the legend names the sources");
  await shot(page, "map.png");
  clean(page);
});

test("dashboard: index, models and latencies", async () => {
  const page = await openPage();
  await page.goto(BASE + "/dashboard");
  const text = await page.locator("main").innerText();
  assert.match(text, /Generation \d+/);
  assert.match(text, /sample/);
  assert.match(text, /embedding/);
  assert.doesNotMatch(text, /@(\d+) @\1/, "a reranked mode names its depth once");
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, "the dashboard scrolls sideways by " + overflow + " px");
  // Regression: the measurement tables were cut off at the right edge, their last columns behind a scroll.
  const hidden = await page.evaluate(() => [...document.querySelectorAll("section.wide table")].map((t) => t.scrollWidth - t.clientWidth));
  assert.ok(hidden.length >= 1 && hidden.every((px) => px <= 1), "measurement tables hide columns (px hidden per table): " + hidden);
  await shot(page, "dashboard.png");
  clean(page);
});

test("ingest: pasted JSONL is added, bad rows are reported with their line, the index stays usable", async () => {
  const page = await openPage();
  await page.goto(BASE + "/ingest");
  await page.fill("#api-key", API_KEY);
  await page.fill("#pasted", [
    JSON.stringify({ id: "webtest:1", source: "webtest", title: "A Harbour at Dusk", makers: ["Test Painter"], date: "1901", description: "Boats rest in a quiet harbour as the light fades.", language: "en" }),
    "{ not json",
  ].join("\n"));
  await page.click("#ingest-button");
  await page.waitForSelector("#ingest-report h2", { timeout: 120_000 });
  const report = await page.locator("#ingest-report").innerText();
  assert.match(report, /added\s+1/);
  assert.match(report, /pasted\.jsonl:2/);
  await shot(page, "ingest.png");
  const search = await (await fetch(BASE + "/api/search?q=harbour%20dusk&mode=bm25", { headers: { Authorization: "Bearer " + READ_KEY } })).json();
  assert.equal(search.hits[0].record_id, "webtest:1");
  clean(page);
});

test("pages work at a phone's width and from the keyboard", async () => {
  const page = await openPage(390, 844);
  await page.goto(BASE + "/");
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 390, "no sideways scrolling at 390 px: " + width);
  await page.keyboard.press("Tab");
  assert.equal(await page.evaluate(() => document.activeElement.className), "skip", "the first Tab reaches the skip link");
  await shot(page, "ask-phone.png");
  for (const path of ["/search?q=portrait", "/dashboard", "/records/sample:milkmaid", "/ingest", "/map"]) {
    await page.goto(BASE + path);
    const pageWidth = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(pageWidth <= 390, path + " fits a phone: " + pageWidth);
  }
  clean(page);
});
