//! The HTTP face: an axum router over [`Curator`]. Handlers parse and check input, run the library off
//! the async runtime (`spawn_blocking`: embedding, search and generation are CPU work), and turn results
//! into JSON or server-sent events. Nothing here knows how retrieval or generation work.
//!
//! Routes: OpenAI-compatible `/v1/chat/completions` and `/v1/models` ([`openai`]); curator's own
//! `/api/ask`, `/api/ask/stream`, `/api/search`, `/api/records/{id}`, `/api/ingest` ([`api`]); `/healthz`,
//! `/metrics` (Prometheus) and `/openapi.json`.

pub mod access;
pub mod api;
pub mod building;
pub mod error;
pub mod limits;
pub mod map;
pub mod openai;
pub mod web;

use std::sync::{Arc, OnceLock, RwLock};
use std::time::Instant;

use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::http::StatusCode;
use axum::{Json, Router};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::sync::mpsc::UnboundedReceiver;

use crate::app::{Answer, AskEvent, AskRequest, ClosestRecord, Curator};
use crate::feedback::FeedbackStore;
use crate::generate::{CheckedSentence, Source};
use crate::index::{Generation, IndexError};
pub use error::AppError;

/// The OpenAPI 3.1 description of every route, served at /openapi.json.
pub const OPENAPI: &str = include_str!("openapi.json");

pub struct AppState {
    pub curator: Curator,
    /// The generation searches run against, or why there is none; replaced after an ingest.
    served: RwLock<Served>,
    /// One HTTP ingest at a time (the index has its own writer lock across processes).
    ingest_lock: tokio::sync::Mutex<()>,
    /// One generation load at a time.
    reload_lock: std::sync::Mutex<()>,
    /// Readers' ratings (SQLite in the data directory); None, with the reason logged, when it cannot open.
    pub feedback: Option<FeedbackStore>,
    /// The map of the served generation (`GET /api/map`).
    maps: map::Maps,
    started: Instant,
}

impl AppState {
    pub fn new(curator: Curator) -> Arc<AppState> {
        prometheus();
        let served = Served::load(&curator);
        if let Ok(g) = &served.generation {
            mark_serving(&curator, g);
        }
        // The gate of the served generation's embedding model, when that is not the configured one (an
        // index not yet embedded again with the fine-tuned model), from the first request on.
        if let Some(switched) = curator.reload_scoring() {
            tracing::info!("{switched}");
        }
        let feedback = match FeedbackStore::open(&curator.settings.data_dir().join("feedback.sqlite")) {
            Ok(store) => Some(store),
            Err(e) => {
                tracing::warn!("feedback is off: {e}");
                None
            }
        };
        Arc::new(AppState {
            curator,
            served: RwLock::new(served),
            ingest_lock: tokio::sync::Mutex::new(()),
            reload_lock: std::sync::Mutex::new(()),
            feedback,
            maps: map::Maps::default(),
            started: Instant::now(),
        })
    }

    fn generation(&self) -> Result<Arc<Generation>, AppError> {
        self.served
            .read()
            .map_err(|_| AppError::Internal("generation lock poisoned".into()))?
            .generation
            .clone()
            .map_err(AppError::Unavailable)
    }

    /// Reloads when CURRENT names another generation than the one last loaded (or tried): an ingest or a
    /// delete made by the command line (or another server) is served without a restart. True when it
    /// reloaded.
    pub fn reload_if_changed(&self) -> Result<bool, AppError> {
        let current = current_state(&self.curator);
        let tried = self.served.read().map_err(|_| AppError::Internal("generation lock poisoned".into()))?.tried.clone();
        if current.is_empty() || current == tried {
            return Ok(false);
        }
        self.reload()?;
        tracing::info!("now serving {current}");
        Ok(true)
    }

    /// Loads the generation CURRENT names and serves it. One load at a time, and each reads CURRENT under
    /// the lock, so when the watcher and an HTTP ingest load at once the later load serves the latest
    /// CURRENT (which moves back after `curator rollback`). When the new generation does not load, the one
    /// served so far stays served; with none, the reason is what every request is told.
    fn reload(&self) -> Result<(), AppError> {
        let _one_at_a_time = self.reload_lock.lock().map_err(|_| AppError::Internal("reload lock poisoned".into()))?;
        let fresh = Served::load(&self.curator);
        let mut served = self.served.write().map_err(|_| AppError::Internal("generation lock poisoned".into()))?;
        // Remembered either way, so that the watcher does not load a broken generation every two seconds.
        served.tried = fresh.tried;
        match fresh.generation {
            Ok(g) => {
                if served.generation.as_ref().is_ok_and(|old| old.dir == g.dir) {
                    return Ok(());
                }
                mark_serving(&self.curator, &g);
                served.generation = Ok(g);
                Ok(())
            }
            Err(reason) => {
                // A generation that served so far keeps serving; with none, the reason is what requests hear.
                if served.generation.is_err() {
                    served.generation = Err(reason.clone());
                }
                Err(AppError::Internal(reason))
            }
        }
    }
}

/// The generation a server answers from, or the reason it has none.
struct Served {
    /// Err: what `/healthz` and every request that needs the index are told.
    generation: Result<Arc<Generation>, String>,
    /// What CURRENT said at the last load ([`current_state`]), loaded or not: the watcher loads again only
    /// when it says something else.
    tried: String,
}

/// The generation CURRENT names, "" when there is none, or why it names none that exists.
fn current_state(curator: &Curator) -> String {
    match curator.data.current() {
        Ok(Some(dir)) => dir.display().to_string(),
        Ok(None) => String::new(),
        Err(e) => format!("unreadable: {e}"),
    }
}

impl Served {
    fn load(curator: &Curator) -> Served {
        let tried = current_state(curator);
        // With the model that built it: a server goes on answering while the index is embedded again.
        let generation = match curator.load_served_generation() {
            Ok(g) => Ok(Arc::new(g)),
            Err(IndexError::Empty(_)) => Err("the index is empty: ingest records first (curator ingest PATH, or POST /api/ingest)".to_string()),
            // Issue 11: this used to be reported as "the index is empty", which sent readers the wrong way.
            Err(e) => {
                tracing::error!("the index does not load: {e}");
                Err(format!("the index does not load ({}); `curator ingest --rebuild PATH` rebuilds it", error::redact_paths(&e.to_string())))
            }
        };
        Served { generation, tried }
    }
}

impl AppState {
    /// What `curator serve` says once it listens: where to point a browser and an OpenAI client, what it
    /// serves and how it answers. The full settings stay behind `-v` (issue 13.6: fifty lines of them came
    /// before the address).
    pub fn banner(&self, address: std::net::SocketAddr) -> Vec<String> {
        let curator = &self.curator;
        let index = match (self.generation(), curator.data.current()) {
            (Ok(g), _) => format!("{} records, {} chunks (generation {})", g.store.record_count(), g.store.live_chunk_count(), g.manifest.generation),
            (Err(_), Ok(None)) => format!("empty: add records with `curator ingest PATH`, or upload a file at http://{address}/ingest"),
            (Err(e), _) => e.to_string(),
        };
        let scoring = curator.scoring();
        let mut lines = vec![
            format!("curator {} is listening on http://{address}", env!("CARGO_PKG_VERSION")),
            format!("  web page         http://{address}/"),
            format!("  OpenAI base URL  http://{address}/v1"),
            format!("  index            {index}"),
            format!("  {}", scoring.reranker_status),
            format!("  {}", scoring.gate_status),
            format!("  {}", curator.llm_status),
            "  requests are logged here; every setting: `curator settings` (or serve -v)".to_string(),
        ];
        if let Some(building) = building::read(&curator.settings.data_dir()) {
            lines.push(format!("  {}", building.describe()));
        }
        if !address.ip().is_loopback() && curator.settings.server.read_key.is_empty() {
            lines.push(format!(
                "  warning: {address} is reachable from other machines and server.read_key is empty: anyone who reaches it may ask and search (set CURATOR_SERVER_READ_KEY)"
            ));
        }
        lines
    }
}

/// Tells writers which generation this process serves, so that none deletes it (`DataDir::mark_serving`).
fn mark_serving(curator: &Curator, generation: &Generation) {
    if let Err(e) = curator.data.mark_serving(&generation.dir) {
        tracing::warn!("could not record the generation being served ({e}); an ingest may delete it");
    }
}

pub fn router(state: Arc<AppState>) -> Router {
    let server = state.curator.settings.server.clone();
    // Asking, searching and the pages: behind `server.read_key` when one is set (`access`).
    let reading = Router::new()
        .route("/", get(web::ask_page))
        .route("/search", get(web::search_page))
        .route("/records/{id}", get(web::record_page))
        .route("/map", get(web::map_page))
        .route("/dashboard", get(web::dashboard_page))
        .route("/ingest", get(web::ingest_page))
        .route("/v1/chat/completions", post(openai::chat_completions))
        .route("/v1/models", get(openai::models))
        .route("/api/ask", post(api::ask))
        .route("/api/ask/stream", post(api::ask_stream))
        .route("/api/search", get(api::search))
        .route("/api/records/{id}", get(api::record))
        .route("/api/records/{id}/similar", get(api::similar))
        .route("/api/arithmetic", post(api::arithmetic))
        .route("/api/map", get(map::map))
        .route("/api/feedback", post(api::add_feedback).get(api::list_feedback))
        .route_layer(middleware::from_fn_with_state(Arc::clone(&state), access::require_read_key));
    let routes = Router::new()
        .merge(reading)
        // Admin: each handler asks for `server.api_key` itself (`access::require_api_key`).
        .route("/api/ingest", post(api::ingest))
        .route("/api/ingest/file", post(api::ingest_file))
        // Open: what a browser needs to sign in, and what monitors read.
        .route("/key", get(access::key_page).post(access::sign_in))
        .route("/static/{file}", get(web::static_file))
        .route("/openapi.json", get(openapi))
        .fallback(|| async { AppError::NotFound("no such route; see /openapi.json".into()) })
        .method_not_allowed_fallback(|method: axum::http::Method, uri: axum::http::Uri| async move {
            AppError::MethodNotAllowed(format!("{method} is not allowed on {}; see /openapi.json", uri.path()))
        })
        .layer(DefaultBodyLimit::max(server.max_body_bytes));
    // What monitors read stays outside the cap, so that a busy server is not taken for a dead one.
    let monitoring = Router::new().route("/healthz", get(healthz)).route("/metrics", get(metrics_text));
    // Outermost last: every request is logged and counted, then rate limited, then capped.
    let limited = limits::with_rate_limit(limits::with_concurrency_cap(routes, &server).merge(monitoring), &server);
    limited.layer(middleware::from_fn(web::security_headers)).layer(middleware::from_fn(count_requests)).with_state(state)
}

/// The Prometheus recorder, installed once per process.
pub fn prometheus() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        // Fails only if another recorder is installed, in which case metrics go there.
        let _ = metrics::set_global_recorder(recorder);
        handle
    })
}

/// The tracing target of the request log, which `curator serve` shows by default.
pub const REQUEST_LOG: &str = "curator::request";

/// Counts each request for /metrics and logs it (method, path, status, milliseconds). The query string is
/// left out of the log: it holds readers' questions.
async fn count_requests(request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let started = Instant::now();
    let response = next.run(request).await;
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    tracing::info!(target: REQUEST_LOG, "{method} {path} {status} {:.1} ms", elapsed.as_secs_f64() * 1000.0);
    metrics::counter!("curator_requests_total", "route" => route.clone(), "status" => status.to_string()).increment(1);
    metrics::histogram!("curator_request_seconds", "route" => route).record(elapsed.as_secs_f64());
    response
}

/// 200 "ok" when the index and the model are loaded; 503 "unavailable" with the reasons otherwise, so a
/// load balancer or a start-up script does not send questions to a server that cannot answer them.
async fn healthz(State(state): State<Arc<AppState>>) -> (StatusCode, Json<serde_json::Value>) {
    let curator = &state.curator;
    let generation = state.generation();
    let mut reasons = Vec::new();
    if let Err(e) = &generation {
        reasons.push(e.to_string());
    }
    if curator.llm.is_none() {
        reasons.push(curator.llm_status.clone());
    }
    let generation = generation.ok();
    let scoring = curator.scoring();
    let status = if reasons.is_empty() { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let body = serde_json::json!({
        "status": if reasons.is_empty() { "ok" } else { "unavailable" },
        "reasons": reasons,
        "uptime_seconds": state.started.elapsed().as_secs(),
        "index": generation.as_ref().map(|g| serde_json::json!({
            "generation": g.manifest.generation,
            "records": g.store.record_count(),
            "chunks": g.store.live_chunk_count(),
        })),
        "reranker": scoring.reranker_status,
        "gate": scoring.gate_status,
        "llm": curator.llm_status,
        "queue_depth": curator.llm.as_ref().map(|l| l.queue_depth()),
        "building": building::read(&curator.settings.data_dir()),
    });
    (status, Json(body))
}

async fn metrics_text(State(state): State<Arc<AppState>>) -> impl IntoResponse {
    if let Some(llm) = &state.curator.llm {
        metrics::gauge!("curator_queue_depth").set(llm.queue_depth() as f64);
    }
    ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], prometheus().render())
}

async fn openapi() -> impl IntoResponse {
    ([(axum::http::header::CONTENT_TYPE, "application/json")], OPENAPI)
}

/// A request body, or the 4xx that says why it could not be read (413 for a body over the limit).
pub fn body_bytes(body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>, limit: usize) -> Result<axum::body::Bytes, AppError> {
    body.map_err(|rejection| {
        if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE { AppError::TooLarge(limit) } else { AppError::BadRequest(rejection.body_text()) }
    })
}

/// Parses a JSON body into `T`, turning every failure (syntax, a missing or unknown field, a body over
/// the limit) into a 4xx that says what is wrong.
pub fn parse_json<T: DeserializeOwned>(body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>, limit: usize) -> Result<T, AppError> {
    let bytes = body_bytes(body, limit)?;
    let mut deserializer = serde_json::Deserializer::from_slice(&bytes);
    let parsed: T = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let at = match e.path().to_string() {
            path if path == "." => String::new(),
            path => format!(" at `{path}`"),
        };
        AppError::BadRequest(format!("invalid JSON body{at}: {}", without_type_names(&e.into_inner().to_string())))
    })?;
    deserializer.end().map_err(|e| AppError::BadRequest(format!("invalid JSON body: {e}")))?;
    Ok(parsed)
}

/// serde names the Rust type it wanted ("expected struct AskRequest"); a client knows JSON, not our types.
fn without_type_names(message: &str) -> String {
    let Some(at) = message.find("expected struct ") else { return message.to_string() };
    let rest = &message[at + "expected struct ".len()..];
    let end = rest.find(|c: char| !c.is_alphanumeric() && c != '_').unwrap_or(rest.len());
    format!("{}expected a JSON object{}", &message[..at], &rest[end..])
}

/// What a running answer reports to the handler that streams or collects it.
pub enum Progress {
    Retrieved(Retrieved),
    Delta(String),
    Sentence { index: usize, sentence: CheckedSentence, end: usize },
    Done(Box<Answer>),
    Failed(AppError),
}

/// What retrieval decided, as the `sources` event sends it: the query it searched (a follow-up is
/// rewritten), the year range the question's own words filtered to, the numbered sources with their
/// evidence, or the decision to decline and the records that came closest.
#[derive(Debug, Clone, Serialize)]
pub struct Retrieved {
    pub retrieval_query: String,
    pub years_from_query: Option<(i32, i32)>,
    pub sources: Vec<Source>,
    pub abstained: bool,
    pub closest: Vec<ClosestRecord>,
}

/// Checks a question against the configured limits.
fn check_question(state: &AppState, question: &str) -> Result<(), AppError> {
    let max = state.curator.settings.server.max_question_chars;
    if question.trim().is_empty() {
        return Err(AppError::BadRequest("the question is empty".into()));
    }
    let length = question.chars().count();
    if length > max {
        return Err(AppError::BadRequest(format!("the question has {length} characters; the limit is {max}")));
    }
    Ok(())
}

/// Starts answering `request` on a blocking thread. Dropping the receiver cancels the answer: the next
/// event finds nobody listening and the model stops.
pub fn start_answer(state: Arc<AppState>, request: AskRequest) -> Result<UnboundedReceiver<Progress>, AppError> {
    check_question(&state, &request.question)?;
    let generation = state.generation()?;
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        let mut on_event = |event: AskEvent<'_>| {
            let progress = match event {
                AskEvent::Retrieved { retrieval_query, years_from_query, sources, abstained, closest } => {
                    Progress::Retrieved(Retrieved {
                        retrieval_query: retrieval_query.to_string(),
                        years_from_query,
                        sources: sources.to_vec(),
                        abstained,
                        closest: closest.to_vec(),
                    })
                }
                AskEvent::Delta(text) => Progress::Delta(text.to_string()),
                AskEvent::Sentence { index, sentence, end } => Progress::Sentence { index, sentence: sentence.clone(), end },
            };
            tx.send(progress).is_ok()
        };
        let result = state.curator.ask(&generation, &request, &mut on_event);
        match result {
            Ok(answer) => {
                record_answer_metrics(&answer);
                let _ = tx.send(Progress::Done(Box::new(answer)));
            }
            Err(e) => {
                metrics::counter!("curator_answer_errors_total").increment(1);
                tracing::debug!("answer failed after {:?}: {e}", started.elapsed());
                let _ = tx.send(Progress::Failed(e.into()));
            }
        }
    });
    Ok(rx)
}

fn record_answer_metrics(answer: &Answer) {
    let t = &answer.timings;
    let stages = [
        ("rewrite", t.rewrite_ms),
        ("embed_query", t.retrieval.embed_query_ms),
        ("bm25", t.retrieval.bm25_ms),
        ("dense", t.retrieval.dense_ms),
        ("fuse", t.retrieval.fuse_ms),
        ("rerank", t.retrieval.rerank_ms),
        ("prompt", t.prompt_ms),
        ("generation", t.generation_ms),
        ("verify", t.verify_ms),
        ("total", t.total_ms),
    ];
    for (stage, ms) in stages {
        metrics::histogram!("curator_stage_seconds", "stage" => stage).record(ms / 1000.0);
    }
    if let Some(first) = t.first_token_ms {
        metrics::histogram!("curator_first_token_seconds").record(first / 1000.0);
    }
    if let Some(g) = &answer.generation {
        metrics::histogram!("curator_tokens_per_second").record(g.tokens_per_second);
        metrics::counter!("curator_generated_tokens_total").increment(g.generated_tokens as u64);
    }
    if answer.abstained {
        metrics::counter!("curator_abstentions_total").increment(1);
    }
}

/// Waits for the whole answer.
pub async fn collect_answer(mut rx: UnboundedReceiver<Progress>) -> Result<Answer, AppError> {
    while let Some(progress) = rx.recv().await {
        match progress {
            Progress::Done(answer) => return Ok(*answer),
            Progress::Failed(e) => return Err(e),
            Progress::Retrieved(_) | Progress::Delta(_) | Progress::Sentence { .. } => {}
        }
    }
    Err(AppError::Internal("the answer stopped without a result".into()))
}

/// How often the server looks at CURRENT for an ingest made by another process, and at the model cache
/// for a reranker trained or a gate fitted since it started.
const WATCH_EVERY: std::time::Duration = std::time::Duration::from_secs(2);

async fn watch_current(state: Arc<AppState>) {
    let mut ticks = tokio::time::interval(WATCH_EVERY);
    let data_dir = state.curator.settings.data_dir();
    let mut building = building::read(&data_dir);
    loop {
        ticks.tick().await;
        let now = building::read(&data_dir);
        if now != building {
            match &now {
                Some(b) => tracing::info!("{}", b.describe()),
                None => tracing::info!("building finished: nothing left to build"),
            }
            building = now;
        }
        let worker = Arc::clone(&state);
        // Loading a generation or a model reads files and builds structures: off the async runtime.
        match tokio::task::spawn_blocking(move || (worker.reload_if_changed(), worker.curator.reload_scoring())).await {
            Ok((generation, scoring)) => {
                if let Err(e) = generation {
                    tracing::warn!("the index changed on disk but could not be loaded: {e}");
                }
                if let Some(switched) = scoring {
                    tracing::info!("{switched}");
                }
            }
            Err(e) => tracing::warn!("watching the index and models failed: {e}"),
        }
    }
}

/// Ctrl-C, or SIGTERM (what `kill`, systemd and container runtimes send).
async fn stop_requested() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(e) => {
                tracing::warn!("cannot listen for SIGTERM ({e}); Ctrl-C stops the server");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate => {}
    }
}

/// Binds `server.bind` and serves until Ctrl-C or SIGTERM.
pub async fn serve(state: Arc<AppState>) -> std::io::Result<()> {
    let bind = state.curator.settings.server.bind.clone();
    let listener = tokio::net::TcpListener::bind(&bind).await?;
    for line in state.banner(listener.local_addr()?) {
        println!("{line}");
    }
    tokio::spawn(watch_current(Arc::clone(&state)));
    let data = state.curator.data.clone();
    // The peer's address is the rate limit's key (`limits::ClientIp`).
    let app = router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    let served = axum::serve(listener, app).with_graceful_shutdown(stop_requested()).await;
    data.unmark_serving();
    served
}
