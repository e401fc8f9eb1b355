//! The HTTP routes, called on the router directly (no port): success and every error class, streaming,
//! citations, the queue, cancellation and abstention. Generation uses the smallest model: these tests
//! check the plumbing, not the answers.

mod common;

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use curator::app::Curator;
use curator::server::{router, AppState};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

struct Server {
    router: Router,
    _dir: tempfile::TempDir,
}

/// A server over the hand-written sample records, with the given settings on top of the defaults.
fn server(overrides: &[(&str, &str)], with_llm: bool) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let mut all = vec![("CURATOR_GENERATION_MODEL", common::TINY_LLM), ("CURATOR_SERVER_API_KEY", "test-key")];
    all.extend_from_slice(overrides);
    let mut curator = Curator::open(common::settings_with(dir.path(), &all)).expect("models (scripts/fetch-models.sh)");
    common::ingest(&curator, common::sample_records());
    if with_llm {
        curator.load_llm().expect("the tiny test model (scripts/fetch-models.sh llm-tiny)");
    }
    Server { router: router(AppState::new(curator)), _dir: dir }
}

async fn send(router: &Router, request: Request<Body>) -> (StatusCode, axum::http::HeaderMap, Value) {
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let value = serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    (status, headers, value)
}

fn get(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).unwrap()
}

fn post(uri: &str, body: impl Into<Body>) -> Request<Body> {
    Request::post(uri).header(header::CONTENT_TYPE, "application/json").body(body.into()).unwrap()
}

fn post_json(uri: &str, value: &Value) -> Request<Body> {
    post(uri, value.to_string())
}

/// The error body names the problem.
fn assert_error(status: StatusCode, body: &Value, expected: StatusCode, mentions: &str) {
    assert_eq!(status, expected, "{body}");
    let message = body["error"]["message"].as_str().unwrap_or_else(|| panic!("not a JSON error: {body}"));
    assert!(message.contains(mentions), "{message:?} should mention {mentions:?}");
}

/// Server-sent events of a streamed response, as (event name, data) pairs.
async fn read_events(response: axum::response::Response) -> Vec<(String, String)> {
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    parse_events(&String::from_utf8_lossy(&bytes))
}

fn parse_events(text: &str) -> Vec<(String, String)> {
    text.split("\n\n")
        .filter_map(|block| {
            let mut name = "message".to_string();
            let mut data = Vec::new();
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("event:") {
                    name = v.trim().to_string();
                } else if let Some(v) = line.strip_prefix("data:") {
                    data.push(v.trim_start().to_string());
                }
            }
            (!data.is_empty()).then(|| (name, data.join("\n")))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_records_health_and_their_errors() {
    let s = server(&[], false);
    let (status, _, body) = send(&s.router, get("/api/search?q=Arnolfini%20van%20Eyck&k=3")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["hits"][0]["record_id"], "sample:arnolfini");
    assert!(body["hits"][0]["stages"]["bm25"]["rank"].is_number(), "per-stage ranks: {body}");

    let (status, _, body) = send(&s.router, get("/api/search?q=painting&mode=bm25&maker=vermeer&k=10")).await;
    assert_eq!(status, StatusCode::OK);
    let makers: Vec<&Value> = body["hits"].as_array().unwrap().iter().map(|h| &h["makers"][0]).collect();
    assert!(!makers.is_empty() && makers.iter().all(|m| m.as_str().unwrap().contains("Vermeer")), "{makers:?}");

    let (status, _, body) = send(&s.router, get("/api/search?q=x&colour=red")).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "colour");
    let (status, _, body) = send(&s.router, get("/api/search?mode=bm25")).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "q");
    let (status, _, body) = send(&s.router, get("/api/search?q=x&k=0")).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "k must be");
    let (status, _, body) = send(&s.router, get("/api/search?q=x&mode=fuzzy")).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "fuzzy");
    let (status, _, body) = send(&s.router, get("/api/search?q=x&year=18x0")).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "year");

    let (status, _, body) = send(&s.router, get("/api/records/sample:milkmaid")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["title"], "The Milkmaid");
    let (status, _, body) = send(&s.router, get("/api/records/sample:nothing")).await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "sample:nothing");
    let (status, _, body) = send(&s.router, get("/no/such/route")).await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "route");
    // Issue 13.8: a 405 had an empty body; errors are JSON everywhere.
    let (status, _, body) = send(&s.router, post("/api/search?q=x", "")).await;
    assert_error(status, &body, StatusCode::METHOD_NOT_ALLOWED, "POST is not allowed on /api/search");

    // Regression: /healthz said "ok" while the model had not loaded and no question could be answered.
    let (status, _, body) = send(&s.router, get("/healthz")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["status"], "unavailable");
    assert!(body["reasons"][0].as_str().unwrap().contains("answering is off"), "{body}");
    assert_eq!(body["index"]["records"], 36);
    let ready = server(&[], true);
    let (status, _, body) = send(&ready.router, get("/healthz")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["reasons"], json!([]));

    let (status, _, text) = send(&s.router, get("/metrics")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(text.as_str().unwrap().contains("curator_requests_total"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_of_the_wrong_shape_is_named_in_json_terms() {
    // Issue 13.8: messages said "expected struct Filters", a Rust type name.
    let s = server(&[], false);
    let (status, _, body) = send(&s.router, post("/api/ask", r#"{"question": "x", "filters": 5}"#)).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "at `filters`");
    let (status, _, body) = send(&s.router, post("/api/ask", r#""just a string""#)).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "expected a JSON object");
    let (status, _, body) = send(&s.router, post("/api/ask", r#"{"question": "x"} trailing"#)).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid JSON body");
    assert!(!body.to_string().contains("struct"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_answer_requests_get_a_4xx_that_names_the_problem() {
    let s = server(&[("CURATOR_SERVER_MAX_QUESTION_CHARS", "200"), ("CURATOR_SERVER_MAX_BODY_BYTES", "4096")], false);
    let r = &s.router;
    let (status, _, body) = send(r, post_json("/api/ask", &json!({ "question": "   " }))).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "empty");
    let (status, _, body) = send(r, post_json("/api/ask", &json!({ "question": "why ".repeat(60) }))).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "limit is 200");
    let (status, _, body) = send(r, post("/api/ask", "{\"question\": \"who\"")).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid JSON");
    let (status, _, body) = send(r, post_json("/api/ask", &json!({ "question": "who", "filters": { "colour": "red" } }))).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "colour");
    let (status, _, body) = send(r, post_json("/api/ask", &json!({ "question": "who", "k": 1000 }))).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "k must be");
    // Regression: k between the answer limit and the search limit used to be cut to 20 without a word.
    let (status, _, body) = send(r, post_json("/api/ask/stream", &json!({ "question": "who", "k": 50 }))).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "1..=20");
    let (status, _, body) = send(r, post_json("/v1/chat/completions", &json!({ "messages": [{ "role": "user", "content": "who" }], "k": 21 }))).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "1..=20");
    let (status, _, body) = send(r, post("/api/ask", format!("{{\"question\": \"{}\"}}", "a".repeat(8000)))).await;
    assert_error(status, &body, StatusCode::PAYLOAD_TOO_LARGE, "4096");
    let (status, _, body) = send(r, post_json("/v1/chat/completions", &json!({ "messages": [] }))).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "user message");
    let (status, _, body) = send(r, post_json("/v1/chat/completions", &json!({ "messages": [{ "role": "wizard", "content": "hi" }] }))).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "wizard");
    let (status, _, body) = send(r, post_json("/v1/chat/completions", &json!({ "model": "x" }))).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "messages");
    // No model loaded: a question that needs one is refused with 503, not a panic.
    let (status, _, body) = send(r, post_json("/api/ask", &json!({ "question": "Who painted The Milkmaid?" }))).await;
    assert_error(status, &body, StatusCode::SERVICE_UNAVAILABLE, "answering is off");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_needs_the_api_key_and_makes_records_searchable() {
    let s = server(&[], false);
    let record = json!({ "records": [{ "id": "sample:new-one", "source": "sample", "title": "Zebra in a Snowstorm", "makers": ["Test Painter"],
        "description": "A zebra stands alone in a snowstorm." }, { "id": "untitled", "source": "sample" },
        // Issue 11: HTTP records are normalised as JSONL rows are (id prefix, source case, years from the date).
        { "id": "B7", "source": "Sample", "title": "Heron at Dusk", "date": "c. 1850" },
        // Issue 13.8: a record of the wrong shape is refused alone, as a record without a title is.
        { "id": "sample:bad-shape", "source": "sample", "title": "Wrong", "year_start": "soon" }] });
    let (status, _, body) = send(&s.router, post_json("/api/ingest", &record)).await;
    assert_error(status, &body, StatusCode::UNAUTHORIZED, "API key");
    let wrong = Request::post("/api/ingest").header(header::AUTHORIZATION, "Bearer nope").body(Body::from(record.to_string())).unwrap();
    let (status, _, _) = send(&s.router, wrong).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let right = Request::post("/api/ingest").header(header::AUTHORIZATION, "Bearer test-key").body(Body::from(record.to_string())).unwrap();
    let (status, _, body) = send(&s.router, right).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["report"]["added"], 2, "{body}");
    assert!(body["report"]["timings"]["embed_ms"].is_f64(), "timings in milliseconds, not {{secs, nanos}}: {body}");
    let rejected: Vec<&str> = body["rejected"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(rejected, ["untitled", "sample:bad-shape"], "the invalid records are reported, the valid ones ingested: {body}");
    assert!(body["rejected"][1]["reason"].as_str().unwrap().contains("year_start"), "the reason names the field: {body}");
    let (_, _, heron) = send(&s.router, get("/api/records/sample:B7")).await;
    assert_eq!((&heron["source"], &heron["year_start"]), (&json!("sample"), &json!(1850)), "{heron}");
    let (status, _, body) = send(&s.router, get("/api/search?q=zebra%20snowstorm&k=1")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["hits"][0]["record_id"], "sample:new-one");

    let off = server(&[("CURATOR_SERVER_API_KEY", "")], false);
    let (status, _, body) = send(&off.router, post_json("/api/ingest", &record)).await;
    assert_error(status, &body, StatusCode::FORBIDDEN, "api_key");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_unanswerable_path_does_not_call_the_model() {
    // No model is loaded at all, and a threshold nothing passes: the answer must still come, from the
    // no-answer template, without generation.
    let s = server(&[("CURATOR_ANSWER_ABSTAIN_BELOW_DENSE", "1.5"), ("CURATOR_ANSWER_ABSTAIN_BELOW", "1.5")], false);
    let (status, _, body) = send(&s.router, post_json("/api/ask", &json!({ "question": "What is the airspeed of an unladen swallow?" }))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["abstained"], true);
    assert!(body["answer"].as_str().unwrap().contains("no record"), "{body}");
    assert!(body["generation"].is_null() && body["citations"].as_array().unwrap().is_empty(), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_stream_with_citations_over_both_apis() {
    let s = server(&[("CURATOR_GENERATION_MAX_ANSWER_TOKENS", "48")], true);
    let question = json!({ "question": "Who painted The Milkmaid?", "k": 3 });

    let (status, _, body) = send(&s.router, post_json("/api/ask", &question)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let sources = body["sources"].as_array().unwrap();
    // At most k: the evidence margin leaves out records with nothing close to the best evidence.
    assert!((1..=3).contains(&sources.len()), "{body}");
    for (i, source) in sources.iter().enumerate() {
        assert_eq!(source["number"], i + 1, "sources are numbered 1.. in order: {body}");
    }
    assert!(sources.iter().any(|s| s["record_id"] == "sample:milkmaid"), "{body}");
    for c in body["citations"].as_array().unwrap() {
        let n = c["number"].as_u64().unwrap() as usize;
        assert!((1..=sources.len()).contains(&n), "a citation outside the given sources survived: {c}");
        assert_eq!(c["record_id"], sources[n - 1]["record_id"]);
    }
    assert!(body["timings"]["first_token_ms"].is_number(), "{body}");

    let response = s.router.clone().oneshot(post_json("/api/ask/stream", &question)).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let events = read_events(response).await;
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names.first(), Some(&"sources"), "{names:?}");
    assert_eq!(names.last(), Some(&"answer"), "{names:?}");
    assert!(names.contains(&"delta"), "{names:?}");
    let final_answer: Value = serde_json::from_str(&events.last().unwrap().1).unwrap();
    assert!(final_answer["citations"].is_array() && final_answer["sentences"].is_array(), "{final_answer}");
    // The fixed head of the prompt was evaluated by the first request and reused by this one.
    assert!(final_answer["generation"]["reused_tokens"].as_u64().unwrap() > 50, "{}", final_answer["generation"]);
    let streamed: String = events
        .iter()
        .filter(|(n, _)| n == "delta")
        .map(|(_, d)| serde_json::from_str::<Value>(d).unwrap()["text"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(streamed.split_whitespace().collect::<Vec<_>>(), final_answer["answer"].as_str().unwrap().split_whitespace().collect::<Vec<_>>());

    let chat = json!({ "model": "anything", "messages": [{ "role": "system", "content": "ignored" }, { "role": "user", "content": "Who painted The Milkmaid?" }] });
    let (status, _, body) = send(&s.router, post_json("/v1/chat/completions", &chat)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["object"], "chat.completion");
    assert_eq!(body["choices"][0]["message"]["role"], "assistant");
    assert!(body["citations"].is_array() && body["sources"].is_array(), "{body}");

    let mut streaming = chat.clone();
    streaming["stream"] = json!(true);
    let response = s.router.clone().oneshot(post_json("/v1/chat/completions", &streaming)).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let events = read_events(response).await;
    assert_eq!(events.last().unwrap().1, "[DONE]");
    let chunks: Vec<Value> = events[..events.len() - 1].iter().map(|(_, d)| serde_json::from_str(d).unwrap()).collect();
    assert!(chunks.iter().all(|c| c["object"] == "chat.completion.chunk"), "{chunks:?}");
    let last = &chunks[chunks.len() - 1];
    assert!(last["choices"][0]["finish_reason"].is_string(), "{last}");
    assert!(last["citations"].is_array() && last["sources"].is_array(), "the stream carries the citations: {last}");

    // A follow-up is rewritten into a standalone query from the history; the raw question is answered.
    let follow_up = json!({ "question": "And when did he paint it?", "k": 2,
        "history": [{ "role": "user", "content": "Who painted The Milkmaid?" }, { "role": "assistant", "content": "Johannes Vermeer [1]." }] });
    let (status, _, body) = send(&s.router, post_json("/api/ask", &follow_up)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["question"], "And when did he paint it?");
    assert_ne!(body["retrieval_query"], body["question"], "the follow-up was searched as it stood: {body}");

    let (status, _, body) = send(&s.router, get("/v1/models")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["object"], "list");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_gets_503_and_a_client_that_leaves_frees_the_worker() {
    // No waiting room: while the worker answers one request, a second is refused.
    let s = server(&[("CURATOR_GENERATION_QUEUE_DEPTH", "0"), ("CURATOR_GENERATION_MAX_ANSWER_TOKENS", "384")], true);
    let question = json!({ "question": "Describe The Night Watch in detail, everything you know.", "k": 5 });
    let response = s.router.clone().oneshot(post_json("/api/ask/stream", &question)).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let mut body = response.into_body();
    // Wait for a few pieces of text: the worker is generating. How long they took bounds how soon the
    // worker must be free once the client leaves: a machine busy with other work generates more slowly
    // (the bound was a fixed 3 s, which failed under load), and a cancel that does not cancel takes
    // the rest of the 384 tokens.
    let mut seen = String::new();
    let mut first_text = None;
    while seen.matches("event: delta").count() < 4 {
        let frame = body.frame().await.expect("stream ended before four pieces of text").unwrap();
        if let Some(data) = frame.data_ref() {
            seen.push_str(&String::from_utf8_lossy(data));
            first_text = first_text.or_else(|| seen.contains("event: delta").then(Instant::now));
        }
    }
    let per_piece = first_text.expect("text was seen").elapsed() / 3;
    let bound = Duration::from_secs(3).max(per_piece * 30);
    let (status, headers, error) = send(&s.router, post_json("/api/ask", &json!({ "question": "Who painted The Milkmaid?" }))).await;
    assert_error(status, &error, StatusCode::SERVICE_UNAVAILABLE, "queue is full");
    assert!(headers.contains_key(header::RETRY_AFTER));

    // The client goes away: the generation is cancelled and the worker takes the next request.
    drop(body);
    let started = Instant::now();
    loop {
        // A 503 says the worker was busy when the request reached the queue, after its retrieval: some
        // time after it was sent, so the bound is checked against when it was sent.
        let sent = started.elapsed();
        let (status, _, body) = send(&s.router, post_json("/api/ask", &json!({ "question": "Who painted The Milkmaid?", "k": 1 }))).await;
        if status == StatusCode::OK {
            break;
        }
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        assert!(sent < bound, "the worker was not freed within {bound:?} after the client left ({per_piece:?} a piece of text)");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_over_its_rate_limit_gets_429_with_retry_after() {
    // Issue 11: every route had no per-client limit.
    let s = server(&[("CURATOR_SERVER_RATE_LIMIT_PER_SECOND", "1"), ("CURATOR_SERVER_RATE_LIMIT_BURST", "2")], false);
    // Quick requests, so that the allowance cannot come back between them; two routes share it.
    for uri in ["/api/records/sample:milkmaid", "/openapi.json"] {
        let (status, _, body) = send(&s.router, get(uri)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let (status, headers, body) = send(&s.router, get("/api/records/sample:milkmaid")).await;
    assert_error(status, &body, StatusCode::TOO_MANY_REQUESTS, "too many requests");
    assert_eq!(body["error"]["type"], "rate_limit_exceeded");
    let wait: u64 = headers.get(header::RETRY_AFTER).and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok()).expect("a Retry-After in seconds");
    assert!((1..=2).contains(&wait), "Retry-After {wait}");
    assert!(headers.contains_key("content-security-policy"), "a 429 lost the security headers");

    // The allowance comes back at its rate.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (status, _, body) = send(&s.router, get("/api/records/sample:milkmaid")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_beyond_the_concurrency_cap_gets_503_at_once() {
    // Issue 11: requests beyond what the server can handle queued without bound.
    let s = server(&[("CURATOR_SERVER_MAX_CONCURRENT_REQUESTS", "1"), ("CURATOR_GENERATION_MAX_ANSWER_TOKENS", "256")], true);
    let question = json!({ "question": "Describe The Night Watch in detail, everything you know.", "k": 5 });
    let in_flight = tokio::spawn(s.router.clone().oneshot(post_json("/api/ask", &question)));
    // Let the question take the only slot first; otherwise the first probe takes it and the question is
    // the one refused.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut refused = None;
    while !in_flight.is_finished() {
        let (status, headers, body) = send(&s.router, get("/api/records/sample:milkmaid")).await;
        if status == StatusCode::SERVICE_UNAVAILABLE {
            refused = Some((headers, body));
            break;
        }
        assert_eq!(status, StatusCode::OK, "{body}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let (headers, body) = refused.expect("a second request was served while the only slot answered a question");
    assert!(body["error"]["message"].as_str().is_some_and(|m| m.contains("handling 1 requests")), "{body}");
    assert!(headers.contains_key(header::RETRY_AFTER));
    // Monitors are not capped: a busy server is not a dead one.
    let (status, _, body) = send(&s.router, get("/healthz")).await;
    assert!(in_flight.is_finished() || status == StatusCode::OK, "{body}");
    let answered = in_flight.await.unwrap().unwrap();
    assert_eq!(answered.status(), StatusCode::OK);
    // The slot is free again.
    let (status, _, body) = send(&s.router, get("/api/records/sample:milkmaid")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_generation_past_its_deadline_ends_with_a_clear_error() {
    let s = server(&[("CURATOR_GENERATION_DEADLINE_SECONDS", "0.001")], true);
    let (status, _, body) = send(&s.router, post_json("/api/ask", &json!({ "question": "Who painted The Milkmaid?" }))).await;
    assert_error(status, &body, StatusCode::GATEWAY_TIMEOUT, "deadline");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_read_key_asking_searching_and_the_pages_need_it() {
    // Issue 11: bound beyond loopback, anyone could ask and search; only ingest had a key.
    let s = server(&[("CURATOR_SERVER_READ_KEY", "read-key")], false);
    let r = &s.router;
    let with_key = |uri: &str, key: &str| Request::get(uri).header(header::AUTHORIZATION, format!("Bearer {key}")).body(Body::empty()).unwrap();

    let (status, _, body) = send(r, get("/api/search?q=milkmaid")).await;
    assert_error(status, &body, StatusCode::UNAUTHORIZED, "read key");
    let (status, _, body) = send(r, post_json("/v1/chat/completions", &json!({ "messages": [{ "role": "user", "content": "hi" }] }))).await;
    assert_error(status, &body, StatusCode::UNAUTHORIZED, "read key");
    let (status, _, body) = send(r, with_key("/api/search?q=milkmaid", "wrong")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    for key in ["read-key", "test-key"] {
        let (status, _, body) = send(r, with_key("/api/search?q=milkmaid", key)).await;
        assert_eq!(status, StatusCode::OK, "the {key} did not open search: {body}");
    }
    // The read key does not open the admin routes.
    let ingest = Request::post("/api/ingest").header(header::AUTHORIZATION, "Bearer read-key").header(header::CONTENT_TYPE, "application/json");
    let (status, _, _) = send(r, ingest.body(Body::from(r#"{"records": []}"#)).unwrap()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // A browser gets the sign-in form, and a cookie once it signs in.
    let (status, _, page) = send(r, get("/search?q=milkmaid")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let page = page.as_str().unwrap();
    assert!(page.contains(r#"action="/key""#) && page.contains(r#"value="&#x2f;search?q=milkmaid""#), "{page}");
    let form = |body: &str| Request::post("/key").header(header::CONTENT_TYPE, "application/x-www-form-urlencoded").body(Body::from(body.to_string())).unwrap();
    let (status, headers, _) = send(r, form("key=wrong&next=%2Fsearch")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(!headers.contains_key(header::SET_COOKIE));
    let (status, headers, _) = send(r, form("key=read-key&next=%2Fsearch%3Fq%3Dmilkmaid")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[header::LOCATION], "/search?q=milkmaid");
    let cookie = headers[header::SET_COOKIE].to_str().unwrap().to_string();
    assert!(cookie.starts_with("curator_key=read-key;") && cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");
    let signed_in = Request::get("/search?q=milkmaid").header(header::COOKIE, "theme=dark; curator_key=read-key").body(Body::empty()).unwrap();
    let (status, _, page) = send(r, signed_in).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.as_str().unwrap().contains("The Milkmaid"));
    // The form sends nobody to another site, however the address is disguised.
    for next in ["%2F%2Fevil.example%2F", "%2F%09%2Fevil.example", "%2F%0A%2Fevil.example", "https%3A%2F%2Fevil.example", "%2F%5Cevil.example"] {
        let (status, headers, _) = send(r, form(&format!("key=read-key&next={next}"))).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{next}");
        assert_eq!(headers[header::LOCATION], "/", "{next}");
    }
    // The admin key is never put in a cookie, and only the cookie of that very name opens.
    let (status, headers, _) = send(r, form("key=test-key&next=%2F")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(!headers.contains_key(header::SET_COOKIE));
    let lookalike = Request::get("/search?q=milkmaid").header(header::COOKIE, "xcurator_key=read-key").body(Body::empty()).unwrap();
    assert_eq!(send(r, lookalike).await.0, StatusCode::UNAUTHORIZED);

    // What a monitor or the sign-in page needs stays open.
    for open in ["/healthz", "/static/curator.css", "/key", "/openapi.json"] {
        let (status, _, body) = send(r, get(open)).await;
        assert_ne!(status, StatusCode::UNAUTHORIZED, "{open}: {body}");
    }
}

#[test]
fn every_route_is_in_the_openapi_document() {
    let doc: Value = serde_json::from_str(curator::server::OPENAPI).unwrap();
    let source = std::fs::read_to_string(common::repo().join("src/server/mod.rs")).unwrap();
    let routes: Vec<&str> = source.lines().filter_map(|l| l.trim().strip_prefix(".route(\"")).map(|r| r.split('"').next().unwrap()).collect();
    assert!(routes.len() >= 10, "{routes:?}");
    for route in routes {
        assert!(doc["paths"].get(route).is_some(), "{route} is not documented in src/server/openapi.json");
    }
}


/// Every `src`/`href` a page would load (scripts, stylesheets, images, icons), as written in the HTML.
fn loaded_urls(html: &str) -> Vec<String> {
    let mut urls = Vec::new();
    for tag in html.split('<').skip(1) {
        let name = tag.split(|c: char| c.is_whitespace() || c == '>').next().unwrap_or("");
        let attribute = match name {
            "script" | "img" | "iframe" | "source" | "video" | "audio" | "embed" => "src=\"",
            "link" => "href=\"",
            _ => continue,
        };
        if let Some(rest) = tag.split(attribute).nth(1) {
            urls.push(rest.split('"').next().unwrap_or("").to_string());
        }
    }
    urls
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_renders_from_its_own_origin_with_a_content_security_policy() {
    let s = server(&[], false);
    for uri in ["/", "/search", "/search?q=milk%20jug&mode=hybrid", "/search?q=portrait&mode=bm25&source=sample&year=1600..1700", "/records/sample:milkmaid", "/dashboard", "/ingest", "/map"] {
        let response = s.router.clone().oneshot(get(uri)).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{uri}");
        let csp = response.headers().get(header::CONTENT_SECURITY_POLICY).unwrap_or_else(|| panic!("{uri} has no CSP")).to_str().unwrap().to_string();
        assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"), "{uri}: {csp}");
        let html = String::from_utf8(response.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
        for url in loaded_urls(&html) {
            assert!(url.starts_with('/') && !url.starts_with("//"), "{uri} loads {url:?} from another origin");
        }
        assert!(!html.contains("<script>") && !html.contains(" onclick=") && !html.contains(" style=\""), "{uri} has inline script or style");
    }
    for file in ["curator.css", "common.js", "ask.js", "ingest.js", "map.js", "favicon.svg"] {
        let (status, headers, _) = send(&s.router, get(&format!("/static/{file}"))).await;
        assert_eq!(status, StatusCode::OK, "{file}");
        assert!(!headers[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/html"), "{file}");
    }
    let (status, _, body) = send(&s.router, get("/static/missing.js")).await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "missing.js");
    let response = s.router.clone().oneshot(get("/records/sample:nothing")).await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let (status, _, body) = send(&s.router, get("/search?q=x&year=18x0")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.as_str().unwrap().contains("year"), "the search page names the bad filter");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_written_to_attack_the_pages_renders_as_text() {
    let s = server(&[], false);
    let evil = json!({ "records": [{ "id": "evil:1", "source": "evil", "title": "<script>alert(1)</script>Evil",
        "makers": ["<b onmouseover=alert(1)>Mallory</b>"], "description": "<img src=x onerror=alert(1)> evil onerror text.",
        "url": "javascript:alert(1)", "language": "en" }] });
    let request = Request::post("/api/ingest").header(header::AUTHORIZATION, "Bearer test-key").header(header::CONTENT_TYPE, "application/json").body(Body::from(evil.to_string())).unwrap();
    let (status, _, body) = send(&s.router, request).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for uri in ["/search?q=evil%20onerror&mode=bm25", "/records/evil:1"] {
        let (status, _, body) = send(&s.router, get(uri)).await;
        assert_eq!(status, StatusCode::OK, "{uri}");
        let html = body.as_str().unwrap();
        assert!(html.contains("&lt;script&gt;alert(1)&lt;"), "{uri}: the title is not shown as text");
        assert!(!html.contains("<script>alert") && !html.contains("<img src=x") && !html.contains("<b onmouseover"), "{uri} lets record markup through");
        assert!(!html.contains("href=\"javascript:"), "{uri} links to a javascript: url");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vector_arithmetic_reads_record_ids_and_texts_and_leaves_the_named_records_out() {
    let s = server(&[], false);
    // One record added alone is "more like this".
    let (_, _, similar) = send(&s.router, get("/api/records/sample:milkmaid/similar?k=5")).await;
    let (status, _, body) = send(&s.router, post_json("/api/arithmetic", &json!({ "plus": ["sample:milkmaid"], "k": 5 }))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let ids = |v: &serde_json::Value| v["hits"].as_array().unwrap().iter().map(|h| h["record_id"].as_str().unwrap().to_string()).collect::<Vec<_>>();
    assert_eq!(ids(&body), ids(&similar));
    assert_eq!(body["terms"], json!([{ "term": "sample:milkmaid", "sign": "+", "read_as": "record" }]));
    // A text is embedded; the records named as terms are never results.
    let request = json!({ "plus": ["sample:temeraire", "a steam train crossing a bridge in the rain"], "minus": ["sample:hay-wain"], "k": 3 });
    let (status, _, body) = send(&s.router, post_json("/api/arithmetic", &request)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["terms"][1]["read_as"], "text", "{body}");
    let found = ids(&body);
    assert_eq!(found.len(), 3, "{body}");
    assert!(!found.iter().any(|id| id == "sample:temeraire" || id == "sample:hay-wain"), "a term came back as a result: {found:?}");
    assert_eq!(found[0], "sample:rain-steam-speed", "{body}");
    // Refused, with the reason.
    let (status, _, body) = send(&s.router, post_json("/api/arithmetic", &json!({ "plus": ["sample:milkmaid"], "minus": ["sample:milkmaid"] }))).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "cancel out");
    let (status, _, body) = send(&s.router, post_json("/api/arithmetic", &json!({ "minus": ["man"] }))).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "at least one term to add");
    let (status, _, body) = send(&s.router, post_json("/api/arithmetic", &json!({ "plus": ["sample:nothing"] }))).await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "sample:nothing");
    let (status, _, body) = send(&s.router, post_json("/api/arithmetic", &json!({ "plus": ["  "] }))).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "empty");
    let (status, _, body) = send(&s.router, post_json("/api/arithmetic", &json!({ "plus": ["a"], "times": ["b"] }))).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "times");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_map_places_every_record_near_its_neighbours_and_is_computed_once_per_generation() {
    let s = server(&[], false);
    // Not cached yet: computed in the background, 202 until it is ready.
    let started = Instant::now();
    let body = loop {
        let (status, headers, body) = send(&s.router, get("/api/map")).await;
        if status == StatusCode::OK {
            break body;
        }
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
        assert_eq!(body["status"], "computing", "{body}");
        assert!(headers.contains_key(header::RETRY_AFTER));
        assert!(started.elapsed() < Duration::from_secs(120), "the map of 36 records took over two minutes");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(body["projection"], "umap", "{}", body["projections"]);
    let ids: Vec<String> = body["ids"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect();
    assert_eq!(ids.len(), common::sample_records().len(), "every record is on the map");
    let coordinates = |axis: &str| -> Vec<f64> { body[axis].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect() };
    let (x, y) = (coordinates("x"), coordinates("y"));
    assert!(x.len() == ids.len() && y.len() == ids.len());
    assert!(x.iter().chain(&y).all(|v| (0.0..=65535.0).contains(v)));
    let sizes: u64 = body["clusters"].as_array().unwrap().iter().map(|c| c["size"].as_u64().unwrap()).sum();
    assert_eq!(sizes as usize, ids.len(), "every record is in one group");
    assert!(body["clusters"].as_array().unwrap().iter().all(|c| !c["label"].as_str().unwrap().is_empty()));
    // A record's nearest neighbour by embedding lies nearer to it on the map than most records do: the
    // places belong to the right ids (a layout shuffled against its ids fails this).
    let place = |id: &str| ids.iter().position(|i| i == id).unwrap();
    let distance = |a: usize, b: usize| ((x[a] - x[b]).powi(2) + (y[a] - y[b]).powi(2)).sqrt();
    let mut near = 0;
    for id in &ids {
        let (_, _, similar) = send(&s.router, get(&format!("/api/records/{}/similar?k=1", id))).await;
        let neighbour = similar["hits"][0]["record_id"].as_str().unwrap();
        let (a, b) = (place(id), place(neighbour));
        let closer_than = (0..ids.len()).filter(|&c| c != a && c != b && distance(a, c) > distance(a, b)).count();
        if closer_than as f64 >= 0.75 * (ids.len() - 2) as f64 {
            near += 1;
        }
    }
    // Places shuffled against their ids would put about a quarter of the records there.
    assert!(near as f64 >= 0.6 * ids.len() as f64, "only {near} of {} records have their nearest neighbour among their nearest quarter on the map", ids.len());
    let (status, _, pca) = send(&s.router, get("/api/map?projection=pca")).await;
    assert_eq!(status, StatusCode::OK, "{pca}");
    assert_eq!(pca["projection"], "pca");
    assert_eq!(pca["ids"], body["ids"]);
    assert_ne!(pca["x"], body["x"], "the UMAP layout is the PCA layout it starts from: UMAP did not run");
    let (status, _, error) = send(&s.router, get("/api/map?projection=tsne")).await;
    assert_error(status, &error, StatusCode::BAD_REQUEST, "tsne");
    // Cached beside the generation: a server started afterwards answers with it at once.
    let again = Curator::open(common::settings_with(s._dir.path(), &[("CURATOR_GENERATION_MODEL", common::TINY_LLM)])).unwrap();
    let (status, _, cached) = send(&router(AppState::new(again)), get("/api/map")).await;
    assert_eq!(status, StatusCode::OK, "the map was not cached: {cached}");
    assert_eq!(cached["x"], body["x"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_like_this_and_feedback() {
    let s = server(&[], false);
    let (status, _, body) = send(&s.router, get("/api/records/sample:milkmaid/similar?k=3")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let hits = body["hits"].as_array().unwrap();
    assert_eq!(hits.len(), 3);
    assert!(hits.iter().all(|h| h["record_id"] != "sample:milkmaid"), "the record is its own neighbour: {body}");
    let scores: Vec<f64> = hits.iter().map(|h| h["score"].as_f64().unwrap()).collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "nearest first: {scores:?}");
    let (status, _, body) = send(&s.router, get("/api/records/sample:nothing/similar")).await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "sample:nothing");
    let (status, _, body) = send(&s.router, get("/api/records/sample:milkmaid/similar?k=0")).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "k must be");

    let rating = json!({ "question": "Who painted it?", "answer": "Vermeer [1].", "sources": ["sample:milkmaid"], "cited": ["sample:milkmaid"], "rating": "up" });
    let (status, _, body) = send(&s.router, post_json("/api/feedback", &rating)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _, body) = send(&s.router, post_json("/api/feedback", &json!({ "question": "q", "answer": "a", "rating": "meh" }))).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "meh");
    let (status, _, body) = send(&s.router, get("/api/feedback")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let request = Request::get("/api/feedback").header(header::AUTHORIZATION, "Bearer test-key").body(Body::empty()).unwrap();
    let (status, _, body) = send(&s.router, request).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["feedback"][0]["rating"], "up");
    assert_eq!(body["feedback"][0]["cited"][0], "sample:milkmaid");
    assert!(body["feedback"][0]["generation"].is_number(), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_serves_an_ingest_made_by_the_command_line() {
    // Regression: an ingest or delete made with the command line reached the running server only after
    // a restart.
    let dir = tempfile::tempdir().unwrap();
    let settings = common::settings_with(dir.path(), &[]);
    let records = common::sample_records();
    let last = records.last().unwrap().id.clone();
    let curator = Curator::open(settings.clone()).expect("models (scripts/fetch-models.sh)");
    common::ingest(&curator, records[..10].to_vec());
    let state = AppState::new(curator);
    let app = router(std::sync::Arc::clone(&state));
    assert!(!state.reload_if_changed().unwrap(), "nothing changed yet");
    let (status, _, _) = send(&app, get(&format!("/api/records/{last}"))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Another process over the same data directory: the command line.
    let cli = Curator::open(settings).unwrap();
    common::ingest(&cli, records);
    assert!(state.reload_if_changed().unwrap(), "the new generation was not seen");
    let (status, _, body) = send(&app, get(&format!("/api/records/{last}"))).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // Issue 12.8: what scripts/prepare.sh is still building is on /healthz and the dashboard.
    let (_, _, body) = send(&app, get("/healthz")).await;
    assert_eq!(body["building"], Value::Null, "{body}");
    let status_file = dir.path().join(curator::server::building::STATUS_FILE);
    let pid = std::process::id();
    std::fs::write(&status_file, format!(r#"{{"pid": {pid}, "state": "running", "step": "train the reranker (about 90 minutes)", "todo": ["fit the answer gate for the reranker"], "log": "/data/building.log"}}"#)).unwrap();
    let (_, _, body) = send(&app, get("/healthz")).await;
    assert_eq!(body["building"]["step"], "train the reranker (about 90 minutes)", "{body}");
    assert_eq!(body["building"]["running"], true);
    let (_, _, page) = send(&app, get("/dashboard")).await;
    let page = page.as_str().unwrap_or_default().to_string();
    assert!(page.contains("still building: train the reranker (about 90 minutes); then fit the answer gate for the reranker"), "{page}");
    // The answers it shows are the served default's (it showed the first gate's run, without a reranker).
    assert!(page.contains("answers-dev-served.json") && page.contains("the served default"), "{page}");
    std::fs::remove_file(&status_file).unwrap();
    let (_, _, body) = send(&app, get("/healthz")).await;
    assert_eq!(body["building"], Value::Null, "done: nothing is being built");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_index_is_reported_as_broken_not_as_empty() {
    // Issue 11: the server dropped the error of its first load, so /healthz and every 503 said "the index
    // is empty" of an index that exists but does not load, and sent its owner the wrong way.
    let dir = tempfile::tempdir().unwrap();
    let settings = common::settings_with(dir.path(), &[]);
    let curator = Curator::open(settings.clone()).expect("models (scripts/fetch-models.sh)");
    common::ingest(&curator, common::sample_records());
    let served = curator.data.current().unwrap().expect("a generation");
    std::fs::remove_file(served.join("manifest.json")).unwrap();
    let state = AppState::new(curator);
    let app = router(std::sync::Arc::clone(&state));
    for uri in ["/healthz", "/api/search?q=milkmaid"] {
        let (status, _, body) = send(&app, get(uri)).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{uri}: {body}");
        let said = body.to_string();
        assert!(said.contains("does not load") && said.contains("--rebuild"), "{uri}: {said}");
        assert!(!said.contains("empty") && !said.contains(&dir.path().display().to_string()), "{uri}: {said}");
    }
    // The watcher does not load the same broken generation again every two seconds.
    assert!(!state.reload_if_changed().unwrap());
    // A rebuild by another process is picked up and served.
    let cli = Curator::open(settings).unwrap();
    cli.ingest(common::sample_records(), &[], &curator::ingest::IngestOptions { rebuild: true, ..Default::default() }, &|_, _| {}).unwrap();
    assert!(state.reload_if_changed().unwrap());
    let (status, _, body) = send(&app, get("/api/search?q=milkmaid")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// Issue 12.8: a reranker trained and a gate fitted while the server runs are switched in without a
/// restart, and /healthz says so; a model that is missing for a moment (being replaced) changes nothing.
#[tokio::test]
async fn a_reranker_trained_and_a_gate_fitted_while_serving_are_switched_in() {
    use curator::gate::{fit, gate_path, GateModel, FEATURES};
    let dir = tempfile::tempdir().unwrap();
    // A model cache of its own, holding every model of the real one but no reranker and no gate.
    let models = dir.path().join("models");
    std::fs::create_dir(&models).unwrap();
    for entry in std::fs::read_dir(common::settings(dir.path()).model_dir()).unwrap() {
        let entry = entry.unwrap();
        if !["gate", "reranker"].contains(&entry.file_name().to_string_lossy().as_ref()) {
            std::os::unix::fs::symlink(entry.path(), models.join(entry.file_name())).unwrap();
        }
    }
    let reranker_dir = models.join("reranker");
    let settings = common::settings_with(
        dir.path(),
        &[
            ("CURATOR_PATHS_MODEL_DIR", models.to_str().unwrap()),
            ("CURATOR_RERANK_MODEL_DIR", reranker_dir.to_str().unwrap()),
            ("CURATOR_RERANK_ONNX_FILE", "model.onnx"),
            ("CURATOR_ANSWER_GATE", "true"),
        ],
    );
    let test_reranker = common::test_reranker_dir(&common::settings(dir.path()));
    let curator = Curator::open(settings).unwrap();
    common::ingest(&curator, common::sample_records());
    let state = AppState::new(curator);
    let app = router(std::sync::Arc::clone(&state));
    let health = |body: &Value, field: &str| body[field].as_str().unwrap_or_default().to_string();

    let (_, _, body) = send(&app, get("/healthz")).await;
    assert!(health(&body, "reranker").starts_with("reranking is off: no reranker model"), "{body}");
    assert!(health(&body, "gate").contains("none fitted for embedding-"), "{body}");
    assert_eq!(state.curator.reload_scoring(), None, "nothing changed on disk");
    let (_, _, before) = send(&app, get("/api/search?q=milkmaid")).await;
    assert_eq!(before["reranked"], false);

    // Training installs the reranker.
    std::fs::create_dir(&reranker_dir).unwrap();
    for entry in std::fs::read_dir(&test_reranker).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, reranker_dir.join(path.file_name().unwrap())).unwrap();
    }
    let said = state.curator.reload_scoring().expect("the new reranker is switched in");
    assert!(said.contains("switched in a new reranker"), "{said}");
    let (_, _, body) = send(&app, get("/healthz")).await;
    assert!(health(&body, "reranker").starts_with("reranking on"), "{body}");
    let (_, _, after) = send(&app, get("/api/search?q=milkmaid")).await;
    assert_eq!(after["reranked"], true, "searches rerank from now on");

    // A gate fitted for that reranker's scores.
    let key = state.curator.scoring().gate_key(&state.curator.embedder());
    assert!(key.starts_with("reranker-"), "{key}");
    let n = FEATURES.len();
    fit(&[(vec![1.0; n], true), (vec![0.0; n], false)], GateModel::BoostedTrees, &key).unwrap().save(&gate_path(&models, &key)).unwrap();
    let said = state.curator.reload_scoring().expect("the new gate is switched in");
    assert!(said.contains("answer gate on"), "{said}");
    let (_, _, body) = send(&app, get("/healthz")).await;
    assert!(health(&body, "gate").starts_with("answer gate on"), "{body}");
    assert_eq!(state.curator.reload_scoring(), None, "nothing changed since");

    // A gate file that does not load leaves the gate in use in place, and is tried once.
    std::fs::write(gate_path(&models, &key), "{ not a gate").unwrap();
    let said = state.curator.reload_scoring().expect("the change is seen");
    assert!(said.contains("did not load, the one in use stays"), "{said}");
    assert!(state.curator.scoring().gate.is_some());
    assert_eq!(state.curator.reload_scoring(), None, "a broken file is not tried again every tick");

    // Replacing the model moves the old one away first: a moment without it is no change.
    std::fs::rename(&reranker_dir, dir.path().join("reranker.previous")).unwrap();
    assert_eq!(state.curator.reload_scoring(), None);
    assert!(state.curator.scoring().reranker.is_some() && state.curator.scoring().gate.is_some());
}
