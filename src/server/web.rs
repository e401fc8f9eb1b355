//! The web pages: ask (/), search (/search), a record (/records/{id}), the dashboard (/dashboard) and
//! ingest (/ingest), rendered by the server from web/templates (minijinja, every value HTML-escaped) with
//! the static files of web/static compiled into the binary. Nothing is loaded from another origin; the
//! Content-Security-Policy header says so to the browser too. The ask and ingest pages are driven by small
//! scripts over the same JSON and server-sent-event routes as any other client.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use minijinja::{context, Environment};
use serde::Serialize;

use super::{AppError, AppState};
use crate::generate::citations::content_words;
use crate::index::{disk_size, Filters};
use crate::ingest::chunk::snippet;
use crate::retrieve::rerank::probability;
use crate::retrieve::{Hit, Mode, StageScore};

/// What a page may load: its own origin only, no inline script, no plugin, no framing.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const TEMPLATES: [(&str, &str); 9] = [
    ("base.html", include_str!("../../web/templates/base.html")),
    ("ask.html", include_str!("../../web/templates/ask.html")),
    ("search.html", include_str!("../../web/templates/search.html")),
    ("record.html", include_str!("../../web/templates/record.html")),
    ("dashboard.html", include_str!("../../web/templates/dashboard.html")),
    ("ingest.html", include_str!("../../web/templates/ingest.html")),
    ("error.html", include_str!("../../web/templates/error.html")),
    ("key.html", include_str!("../../web/templates/key.html")),
    ("map.html", include_str!("../../web/templates/map.html")),
];

/// (name, content type, bytes) of every static file.
const STATIC_FILES: [(&str, &str, &str); 6] = [
    ("favicon.svg", "image/svg+xml", include_str!("../../web/static/favicon.svg")),
    ("curator.css", "text/css; charset=utf-8", include_str!("../../web/static/curator.css")),
    ("common.js", "text/javascript; charset=utf-8", include_str!("../../web/static/common.js")),
    ("ask.js", "text/javascript; charset=utf-8", include_str!("../../web/static/ask.js")),
    ("ingest.js", "text/javascript; charset=utf-8", include_str!("../../web/static/ingest.js")),
    ("map.js", "text/javascript; charset=utf-8", include_str!("../../web/static/map.js")),
];

/// The search page's modes; `hybrid+rerank` is hybrid retrieval reordered by the cross-encoder.
const MODES: [&str; 4] = ["hybrid+rerank", "hybrid", "bm25", "dense"];

/// The longest snippet a search card shows, in characters.
const SNIPPET_CHARS: usize = 320;

/// Results a search page shows.
const PAGE_RESULTS: usize = 10;

/// Records under "more like this".
const SIMILAR_SHOWN: usize = 8;

fn templates() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        env.set_trim_blocks(true);
        for (name, source) in TEMPLATES {
            // The templates are compiled in and parsed by a test; a broken one fails there, not here.
            if let Err(e) = env.add_template(name, source) {
                tracing::error!("page template {name}: {e}");
            }
        }
        env
    })
}

/// Renders a page; autoescaping is on for every `.html` template.
pub(super) fn page(status: StatusCode, name: &str, values: minijinja::Value) -> Response {
    let rendered = templates().get_template(name).and_then(|t| t.render(values));
    match rendered {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!("page {name}: {e:#}");
            (StatusCode::INTERNAL_SERVER_ERROR, Html("<!doctype html><title>error</title><p>This page could not be rendered.</p>".to_string()))
                .into_response()
        }
    }
}

fn error_page(status: StatusCode, message: &str) -> Response {
    page(status, "error.html", context! { page => "", status => status.to_string(), message })
}

/// Adds the Content-Security-Policy and related headers to every response (JSON ones included: they
/// cost nothing and a browser that opens one is protected too).
pub async fn security_headers(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

pub async fn static_file(Path(name): Path<String>) -> Response {
    match STATIC_FILES.iter().find(|(file, _, _)| *file == name) {
        Some((_, content_type, body)) => ([(header::CONTENT_TYPE, *content_type), (header::CACHE_CONTROL, "no-cache")], *body).into_response(),
        None => AppError::NotFound(format!("no static file {name:?}")).into_response(),
    }
}

pub async fn ask_page(State(state): State<Arc<AppState>>) -> Response {
    let records = state.generation().map(|g| g.store.record_count()).unwrap_or(0);
    page(
        StatusCode::OK,
        "ask.html",
        context! { page => "ask", records, max_question_chars => state.curator.settings.server.max_question_chars },
    )
}

pub async fn map_page(State(state): State<Arc<AppState>>) -> Response {
    page(StatusCode::OK, "map.html", context! { page => "map", max_question_chars => state.curator.settings.server.max_question_chars })
}

pub async fn ingest_page(State(state): State<Arc<AppState>>) -> Response {
    page(StatusCode::OK, "ingest.html", context! { page => "ingest", enabled => !state.curator.settings.server.api_key.is_empty() })
}

/// A piece of a snippet, marked when it is one of the query's words.
#[derive(Serialize)]
struct SnippetPart {
    text: String,
    mark: bool,
}

/// Splits `text` into runs of words and the rest, marking the words the query holds (the same word, or one
/// sharing its first five letters: "paint" marks "painted" and "painting").
fn mark_query_words(text: &str, query: &str) -> Vec<SnippetPart> {
    let wanted = content_words(query);
    let matches = |word: &str| {
        let word = word.to_lowercase();
        wanted.iter().any(|w| *w == word || (w.chars().count() >= 5 && word.chars().count() >= 5 && w.chars().take(5).eq(word.chars().take(5))))
    };
    let mut parts: Vec<SnippetPart> = Vec::new();
    let mut word = String::new();
    let push = |text: &str, mark: bool, parts: &mut Vec<SnippetPart>| match parts.last_mut() {
        Some(last) if last.mark == mark => last.text.push_str(text),
        _ => parts.push(SnippetPart { text: text.to_string(), mark }),
    };
    for c in text.chars() {
        if c.is_alphanumeric() {
            word.push(c);
            continue;
        }
        if !word.is_empty() {
            push(&word, matches(&word), &mut parts);
            word.clear();
        }
        push(&c.to_string(), false, &mut parts);
    }
    if !word.is_empty() {
        push(&word, matches(&word), &mut parts);
    }
    parts
}

#[derive(Serialize)]
struct Move {
    kind: &'static str,
    symbol: String,
    words: String,
}

/// How far a record moved between the first stage's order and the reranked one.
fn movement(after_rank: usize, before_rank: Option<usize>) -> Move {
    match before_rank {
        None => Move { kind: "new", symbol: "new".into(), words: "not in the first stage's top results".into() },
        Some(before) if before > after_rank => {
            Move { kind: "up", symbol: format!("▲{}", before - after_rank), words: format!("up from {before}") }
        }
        Some(before) if before < after_rank => {
            Move { kind: "down", symbol: format!("▼{}", after_rank - before), words: format!("down from {before}") }
        }
        Some(_) => Move { kind: "same", symbol: "=".into(), words: "same place".into() },
    }
}

#[derive(Serialize)]
struct StageCell {
    rank: usize,
    score: String,
}

fn cell(stage: Option<StageScore>, as_probability: bool) -> Option<StageCell> {
    stage.map(|s| {
        let score = if as_probability { probability(s.score) } else { s.score };
        StageCell { rank: s.rank, score: format!("{score:.3}") }
    })
}

#[derive(Serialize)]
struct ResultCard {
    rank: usize,
    record_id: String,
    title: String,
    makers: Vec<String>,
    date: Option<String>,
    snippet: Vec<SnippetPart>,
    #[serde(rename = "move")]
    movement: Option<Move>,
    stage_cells: Vec<Option<StageCell>>,
    score: String,
}

#[derive(Serialize)]
struct BeforeItem {
    record_id: String,
    title: String,
    makers: Vec<String>,
}

/// GET /search: the form, and when a query is given, result cards, the before/after reranking view and
/// every stage's rank and score.
pub async fn search_page(State(state): State<Arc<AppState>>, query: Result<Query<Vec<(String, String)>>, QueryRejection>) -> Response {
    let pairs = match query {
        Ok(Query(pairs)) => pairs,
        Err(e) => return error_page(StatusCode::BAD_REQUEST, &e.body_text()),
    };
    let curator = &state.curator;
    let default_mode = if curator.scoring().reranker.is_some() { "hybrid+rerank" } else { "hybrid" };
    let mut q = String::new();
    let mut mode = default_mode.to_string();
    let mut filter_values: BTreeMap<String, String> = BTreeMap::new();
    let mut problem: Option<String> = None;
    let mut filters = Filters::default();
    for (key, value) in pairs {
        match key.as_str() {
            "q" => q = value,
            "mode" if MODES.contains(&value.as_str()) => mode = value,
            "mode" => problem = Some(format!("unknown mode {value:?}; use one of {}", MODES.join(", "))),
            field => {
                if !value.trim().is_empty() {
                    if let Err(e) = filters.set(field, &value) {
                        problem = Some(e.to_string());
                    }
                }
                filter_values.insert(field.to_string(), value);
            }
        }
    }
    let generation = state.generation();
    let sources: Vec<String> = generation.as_ref().ok().map(|g| g.manifest.records_per_source.keys().cloned().collect()).unwrap_or_default();
    let filters_given = filter_values.values().any(|v| !v.trim().is_empty());
    let settings = &curator.settings.server;
    let base = context! {
        page => "search", q => q.clone(), mode => mode.clone(), modes => MODES, sources, filters => filter_values,
        filters_given, max_question_chars => settings.max_question_chars,
    };
    if q.trim().is_empty() && problem.is_none() {
        return page(StatusCode::OK, "search.html", context! { searched => false, ..base });
    }
    if q.chars().count() > settings.max_question_chars {
        problem = Some(format!("the query is longer than {} characters", settings.max_question_chars));
    }
    if q.trim().is_empty() {
        problem = problem.or(Some("type a query".into()));
    }
    let generation = match generation {
        Ok(g) => g,
        Err(unavailable) => return page(StatusCode::SERVICE_UNAVAILABLE, "search.html", context! { searched => false, error => unavailable.to_string(), ..base }),
    };
    if let Some(problem) = problem {
        return page(StatusCode::BAD_REQUEST, "search.html", context! { searched => false, error => problem, ..base });
    }
    let worker = Arc::clone(&state);
    let wants_rerank = mode == "hybrid+rerank";
    let query_mode = match mode.as_str() {
        "bm25" => Mode::Bm25,
        "dense" => Mode::Dense,
        _ => Mode::Hybrid,
    };
    let query_text = q.clone();
    let searched = tokio::task::spawn_blocking(move || {
        let curator = &worker.curator;
        let mut request = curator.request(&query_text, query_mode, Some(PAGE_RESULTS), filters);
        if !wants_rerank {
            request.rerank = None;
        }
        let after = curator.search(&generation, &request)?;
        let before = if after.reranked {
            request.rerank = None;
            Some(curator.search(&generation, &request)?)
        } else {
            None
        };
        let snippets: Vec<String> = after
            .hits
            .iter()
            .map(|h| snippet(generation.store.get(&h.record_id).map(|s| &s.record), &h.chunk.text, SNIPPET_CHARS))
            .collect();
        Ok::<_, crate::retrieve::SearchError>((after, before, snippets))
    })
    .await;
    let (after, before, snippets) = match searched {
        Ok(Ok(found)) => found,
        Ok(Err(e)) => return page(StatusCode::BAD_REQUEST, "search.html", context! { searched => false, error => e.to_string(), ..base }),
        Err(e) => return error_page(StatusCode::INTERNAL_SERVER_ERROR, &format!("the search failed: {e}")),
    };
    let before_ids: Option<Vec<&str>> = before.as_ref().map(|b| b.hits.iter().map(|h| h.record_id.as_str()).collect());
    let cards: Vec<ResultCard> = after
        .hits
        .iter()
        .zip(&snippets)
        .map(|(hit, body): (&Hit, &String)| {
            ResultCard {
                rank: hit.rank,
                record_id: hit.record_id.clone(),
                title: hit.title.clone(),
                makers: hit.makers.clone(),
                date: hit.date.clone(),
                snippet: mark_query_words(body, &q),
                movement: before_ids.as_ref().map(|ids| movement(hit.rank, ids.iter().position(|id| *id == hit.record_id).map(|p| p + 1))),
                stage_cells: vec![
                    cell(hit.stages.bm25, false),
                    cell(hit.stages.dense, false),
                    cell(hit.stages.fused, false),
                    cell(hit.stages.rerank, true),
                ],
                score: format!("{:.3}", hit.score),
            }
        })
        .collect();
    let before_list: Vec<BeforeItem> = before
        .map(|b| b.hits.into_iter().map(|h| BeforeItem { record_id: h.record_id, title: h.title, makers: h.makers }).collect())
        .unwrap_or_default();
    let rerank_note = (wants_rerank && !after.reranked).then(|| curator.scoring().reranker_status.clone());
    page(
        StatusCode::OK,
        "search.html",
        context! {
            searched => true, hits => cards, before => before_list, reranked => after.reranked, rerank_note,
            years_from_query => after.years_from_query.map(|(from, to)| format!("{from}–{to}")),
            total_ms => after.timings.total_ms, ..base
        },
    )
}

#[derive(Serialize)]
struct Field {
    label: &'static str,
    value: String,
}

/// GET /records/{id}: every field, the record's chunks, its museum link and the records nearest to it.
pub async fn record_page(State(state): State<Arc<AppState>>, Path(id): Path<String>) -> Response {
    let generation = match state.generation() {
        Ok(g) => g,
        Err(e) => return error_page(StatusCode::SERVICE_UNAVAILABLE, &e.to_string()),
    };
    let Some(stored) = generation.store.get(&id) else {
        return error_page(StatusCode::NOT_FOUND, &format!("No record {id:?} in the index."));
    };
    let record = stored.record.clone();
    let chunks: Vec<String> = stored.chunk_ids.iter().filter_map(|c| generation.store.chunk(*c)).map(|c| c.text.clone()).collect();
    let ef = state.curator.settings.hnsw.ef_search;
    let lookup = Arc::clone(&generation);
    let record_id = id.clone();
    let similar = tokio::task::spawn_blocking(move || crate::retrieve::similar(&lookup, &record_id, SIMILAR_SHOWN, ef))
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default();
    let optional = |label: &'static str, value: &Option<String>| value.as_ref().filter(|v| !v.is_empty()).map(|v| Field { label, value: v.clone() });
    let years = match (record.year_start, record.year_end) {
        (Some(a), Some(b)) if a != b => Some(format!("{a}–{b}")),
        (Some(a), _) | (None, Some(a)) => Some(a.to_string()),
        _ => None,
    };
    let fields: Vec<Field> = [
        Some(Field { label: "Source", value: record.source.clone() }),
        optional("Date", &record.date),
        optional("Years", &years),
        optional("Object", &record.object_type),
        optional("Medium", &record.medium),
        optional("Dimensions", &record.dimensions),
        (!record.subjects.is_empty()).then(|| Field { label: "Subjects", value: record.subjects.join(", ") }),
        optional("Place", &record.place),
        optional("Collection", &record.credit),
        Some(Field { label: "Language", value: record.language.clone() }),
    ]
    .into_iter()
    .flatten()
    .collect();
    // A link is offered only to a web address: a record's url could say "javascript:".
    let source_link = record.url.clone().filter(|u| u.starts_with("https://") || u.starts_with("http://"));
    let similar: Vec<_> = similar
        .into_iter()
        .map(|h| context! { record_id => h.record_id, title => h.title, makers => h.makers, score => h.score })
        .collect();
    page(StatusCode::OK, "record.html", context! { page => "", record, fields, chunks, source_link, similar })
}

/// p50 and p95 (milliseconds) and count of each labelled summary in the Prometheus text: the dashboard
/// shows the numbers /metrics serves, read from the same recorder.
fn summaries(metrics: &str, name: &str, label: &str) -> Vec<minijinja::Value> {
    let mut by_label: BTreeMap<String, (Option<f64>, Option<f64>, Option<f64>)> = BTreeMap::new();
    for line in metrics.lines().filter(|l| !l.starts_with('#')) {
        let Some((key, value)) = line.rsplit_once(' ') else { continue };
        let Ok(value) = value.parse::<f64>() else { continue };
        let (metric, labels) = key.split_once('{').unwrap_or((key, ""));
        let label_value = |wanted: &str| {
            labels.split(',').find_map(|pair| pair.trim_end_matches('}').strip_prefix(&format!("{wanted}=\""))?.strip_suffix('"').map(str::to_string))
        };
        let Some(which) = label_value(label) else { continue };
        let entry = by_label.entry(which).or_default();
        if metric == name {
            match label_value("quantile").as_deref() {
                Some("0.5") => entry.0 = Some(value * 1000.0),
                Some("0.95") => entry.1 = Some(value * 1000.0),
                _ => {}
            }
        } else if metric == format!("{name}_count") {
            entry.2 = Some(value);
        }
    }
    by_label
        .into_iter()
        .filter(|(_, (p50, _, count))| p50.is_some() || count.is_some())
        .map(|(stage, (p50, p95, count))| {
            context! {
                name => stage,
                p50 => p50.map_or("–".into(), |v| format!("{v:.1}")),
                p95 => p95.map_or("–".into(), |v| format!("{v:.1}")),
                count => count.map_or(0, |c| c as u64),
            }
        })
        .collect()
}

fn request_counts(metrics: &str) -> Vec<minijinja::Value> {
    let mut by_route: BTreeMap<String, f64> = BTreeMap::new();
    for line in metrics.lines().filter(|l| l.starts_with("curator_requests_total{")) {
        let Some((key, value)) = line.rsplit_once(' ') else { continue };
        let route = key.split("route=\"").nth(1).and_then(|r| r.split('"').next()).unwrap_or("?");
        *by_route.entry(route.to_string()).or_default() += value.parse::<f64>().unwrap_or(0.0);
    }
    by_route.into_iter().map(|(route, count)| context! { route, count => count as u64 }).collect()
}

/// The measurements in eval/results that the dashboard summarises: retrieval per mode, and answers.
fn latest_results() -> (String, Vec<minijinja::Value>) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("eval/results");
    let read = |file: &str| std::fs::read_to_string(dir.join(file)).ok().and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok());
    let mut shown = Vec::new();
    for (file, title) in [("aqua-dev.json", "Museum questions (AQUA dev)"), ("scifact-test.json", "SciFact test")] {
        let Some(json) = read(file) else {
            continue;
        };
        let rows: Vec<Vec<String>> = json["modes"]
            .as_array()
            .map(|modes| {
                modes
                    .iter()
                    .map(|m| {
                        // The harness names a reranked mode with its depth already ("hybrid+rerank@30").
                        let mode = m["mode"].as_str().unwrap_or("?").to_string();
                        let score = |key: &str| m["scores"][key].as_f64().map_or("–".into(), |v| format!("{v:.3}"));
                        vec![mode, score("recall_at_1"), score("recall_at_10"), score("mrr_at_10"), score("ndcg_at_10")]
                    })
                    .collect()
            })
            .unwrap_or_default();
        shown.push(context! { title, file, columns => ["mode", "R@1", "R@10", "MRR@10", "nDCG@10"], rows });
    }
    // The served default's answers per kind of question (eval --answers --per-kind, README "Answers per
    // kind of question"), a file of the repository like the two above.
    let cell = |v: &serde_json::Value| v.as_f64().map_or("–".into(), |v| format!("{v:.3}"));
    let milliseconds = |v: &serde_json::Value| v.as_f64().map_or("–".into(), |v| format!("{v:.0}"));
    let file = "answers-dev-served.json";
    if let Some(json) = read(file) {
        // Headers in words, so that they wrap and the table fits the page.
        let measures = [
            ("contains_gold", "contains gold"),
            ("citation_precision", "citation precision"),
            ("supported_sentences", "supported sentences"),
            ("answered_answerable", "answered (answerable)"),
            ("declined_unanswerable", "declined (unanswerable)"),
            ("first_token_p50_ms", "first token p50 ms"),
        ];
        let keys = measures.map(|(key, _)| key);
        let columns: Vec<&str> = std::iter::once("kind").chain(measures.iter().map(|(_, header)| *header)).collect();
        // A measure over answerable (or unanswerable) questions shows "–" for a kind that has none, as the
        // Markdown report does, not a 0 that reads as a failure.
        let row = |kind: &str, scores: &serde_json::Value| -> Vec<String> {
            let applies = |key: &str| match key {
                "declined_unanswerable" => scores["unanswerable"].as_u64() != Some(0),
                "supported_sentences" | "first_token_p50_ms" => true,
                _ => scores["answerable"].as_u64() != Some(0),
            };
            std::iter::once(kind.to_string())
                .chain(keys.iter().map(|&k| match (applies(k), k) {
                    (false, _) => "–".into(),
                    (true, "first_token_p50_ms") => milliseconds(&scores[k]),
                    (true, _) => cell(&scores[k]),
                }))
                .collect()
        };
        let kinds = json["kinds"].as_array().cloned().unwrap_or_default();
        let mut rows: Vec<Vec<String>> = kinds.iter().map(|pair| row(pair[0].as_str().unwrap_or("?"), &pair[1])).collect();
        rows.push(row("all", &json["all"]));
        shown.push(context! { title => "Answers per kind of question (AQUA dev part, the served default)", file, columns, rows });
    }
    (dir.display().to_string(), shown)
}

fn human_bytes(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 30 => format!("{:.1} GB", b as f64 / (1u64 << 30) as f64),
        b if b >= 1 << 20 => format!("{:.1} MB", b as f64 / (1u64 << 20) as f64),
        b => format!("{:.1} KB", b as f64 / 1024.0),
    }
}

fn human_duration(seconds: u64) -> String {
    match seconds {
        s if s >= 86_400 => format!("{} d {} h", s / 86_400, s % 86_400 / 3600),
        s if s >= 3600 => format!("{} h {} min", s / 3600, s % 3600 / 60),
        s if s >= 60 => format!("{} min", s / 60),
        s => format!("{s} s"),
    }
}

/// GET /dashboard
pub async fn dashboard_page(State(state): State<Arc<AppState>>) -> Response {
    let curator = &state.curator;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let index = state.generation().ok().map(|g| {
        let m = &g.manifest;
        let sources: Vec<_> = m
            .records_per_source
            .iter()
            .map(|(name, records)| context! { name, records, chunks => m.chunks_per_source.get(name).copied().unwrap_or(0) })
            .collect();
        context! {
            generation => m.generation, records => m.records, chunks => m.live_chunks, sources,
            size => human_bytes(disk_size(&g.dir)), age => human_duration(now.saturating_sub(m.created_unix)),
        }
    });
    let scoring = curator.scoring();
    // The model queries are embedded with: the served generation's.
    let embedder = curator.served_embedder();
    let embedding = embedder.identity();
    let mut models = vec![context! { role => "embedding", name => embedding.model_id.clone(), sha256 => embedding.sha256.clone() }];
    if let Some(reranker) = &scoring.reranker {
        let identity = reranker.identity();
        models.push(context! { role => "reranker", name => identity.path.display().to_string(), sha256 => identity.sha256.clone() });
    }
    if let Some(llm) = &curator.llm {
        models.push(context! { role => "answers", name => llm.name.clone() });
    }
    let metrics = super::prometheus().render();
    let mut stages = summaries(&metrics, "curator_stage_seconds", "stage");
    stages.extend(summaries(&metrics, "curator_search_stage_seconds", "stage"));
    let feedback = state.feedback.as_ref().and_then(|f| f.counts().ok()).unwrap_or_default();
    let (results_dir, results) = latest_results();
    page(
        StatusCode::OK,
        "dashboard.html",
        context! {
            page => "dashboard", index, models, reranker_status => scoring.reranker_status.clone(),
            gate_status => scoring.gate_status.clone(),
            llm_status => curator.llm_status.clone(), building => super::building::read(&curator.settings.data_dir()).map(|b| context! { line => b.describe(), running => b.running }), uptime => human_duration(state.started.elapsed().as_secs()),
            queue_depth => curator.llm.as_ref().map_or(0, |l| l.queue_depth()), feedback, requests => request_counts(&metrics),
            stages, results, results_dir,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_parses() {
        for (name, _) in TEMPLATES {
            assert!(templates().get_template(name).is_ok(), "{name} does not parse");
        }
    }

    #[test]
    fn query_words_are_marked_in_their_inflected_forms() {
        let parts = mark_query_words("A woman painting, painted in Delft.", "paints delft");
        let marked: Vec<&str> = parts.iter().filter(|p| p.mark).map(|p| p.text.as_str()).collect();
        assert_eq!(marked, ["painting", "painted", "Delft"]);
        let whole: String = parts.iter().map(|p| p.text.as_str()).collect();
        assert_eq!(whole, "A woman painting, painted in Delft.");
    }

    #[test]
    fn moves_say_which_way_and_how_far() {
        assert_eq!(movement(1, Some(4)).symbol, "▲3");
        assert_eq!(movement(5, Some(2)).kind, "down");
        assert_eq!(movement(2, None).kind, "new");
        assert_eq!(movement(3, Some(3)).kind, "same");
    }

    #[test]
    fn dashboard_latencies_come_from_the_prometheus_text() {
        let text = "curator_stage_seconds{stage=\"total\",quantile=\"0.5\"} 0.25\ncurator_stage_seconds{stage=\"total\",quantile=\"0.95\"} 0.5\ncurator_stage_seconds_count{stage=\"total\"} 3\n";
        let rows = summaries(text, "curator_stage_seconds", "stage");
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].get_attr("p50").unwrap().to_string(), "250.0");
        assert_eq!(rows[0].get_attr("count").unwrap().to_string(), "3");
    }
}
