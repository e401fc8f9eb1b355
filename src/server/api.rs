//! curator's own routes: cited answers, search with every stage's ranks and scores, records, ingest.

use std::convert::Infallible;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::Json;
use futures_util::Stream;
use serde::Deserialize;
use tokio_stream::wrappers::UnboundedReceiverStream;
use tokio_stream::StreamExt;

use super::access::require_api_key;
use super::{body_bytes, collect_answer, parse_json, start_answer, AppError, AppState, Progress};
use crate::app::{Answer, AskRequest};
use crate::feedback::NewFeedback;
use crate::index::Filters;
use crate::ingest::{IngestOptions, IngestReport};
use crate::records::{curator_record, MuseumRecord};
use crate::retrieve::{Mode, SearchResponse};

/// Largest k a search may ask for (an answer: `app::MAX_SOURCES`, checked by `AskRequest::sources`).
const MAX_K: usize = 100;

pub async fn ask(State(state): State<Arc<AppState>>, body: Result<Bytes, BytesRejection>) -> Result<Json<Answer>, AppError> {
    let request: AskRequest = parse_json(body, state.curator.settings.server.max_body_bytes)?;
    request.sources(state.curator.settings.answer.sources)?;
    let rx = start_answer(Arc::clone(&state), request)?;
    Ok(Json(collect_answer(rx).await?))
}

/// Server-sent events: `sources` (the numbered records with their evidence; when the answer declines,
/// `abstained` and the `closest` records), `delta` (text as it is written, citations to sources that were
/// not given already removed), `sentence` (each sentence once it is complete, with its citations checked
/// against their sources), then `answer` (the whole answer) or `error`.
pub async fn ask_stream(
    State(state): State<Arc<AppState>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, AppError> {
    let request: AskRequest = parse_json(body, state.curator.settings.server.max_body_bytes)?;
    request.sources(state.curator.settings.answer.sources)?;
    refuse_when_full(&state)?;
    let rx = start_answer(Arc::clone(&state), request)?;
    let events = UnboundedReceiverStream::new(rx).map(|progress| {
        Ok(match progress {
            Progress::Retrieved(retrieved) => Event::default().event("sources").json_data(&retrieved).unwrap_or_default(),
            Progress::Sentence { index, sentence, end } => Event::default()
                .event("sentence")
                .json_data(serde_json::json!({ "index": index, "sentence": sentence, "end": end }))
                .unwrap_or_default(),
            Progress::Delta(text) => Event::default().event("delta").json_data(serde_json::json!({ "text": text })).unwrap_or_default(),
            Progress::Done(answer) => Event::default().event("answer").json_data(&answer).unwrap_or_default(),
            Progress::Failed(e) => Event::default().event("error").json_data(e.body()).unwrap_or_default(),
        })
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::default()))
}

/// A stream that would only wait behind a full queue is refused before it starts.
pub fn refuse_when_full(state: &AppState) -> Result<(), AppError> {
    if let Some(llm) = &state.curator.llm {
        let depth = state.curator.settings.generation.queue_depth;
        if depth > 0 && llm.queue_depth() >= depth {
            return Err(AppError::Busy(format!("the answer queue is full ({depth} waiting); try again shortly")));
        }
    }
    Ok(())
}

fn check_k(k: usize) -> Result<(), AppError> {
    if k == 0 || k > MAX_K {
        return Err(AppError::BadRequest(format!("k must be in 1..={MAX_K}, got {k}")));
    }
    Ok(())
}

/// GET /api/search?q=...&mode=hybrid&k=10&maker=turner&year=1800..1850: every other parameter is a filter.
pub async fn search(
    State(state): State<Arc<AppState>>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Json<SearchResponse>, AppError> {
    let Query(pairs) = query.map_err(|e| AppError::BadRequest(e.body_text()))?;
    let mut q = None;
    let mut mode = Mode::Hybrid;
    let mut k = None;
    let mut filters = Filters::default();
    for (key, value) in &pairs {
        match key.as_str() {
            "q" | "query" => q = Some(value.clone()),
            "mode" => {
                mode = match value.as_str() {
                    "bm25" => Mode::Bm25,
                    "dense" => Mode::Dense,
                    "hybrid" => Mode::Hybrid,
                    other => return Err(AppError::BadRequest(format!("unknown mode {other:?}; use bm25, dense or hybrid"))),
                }
            }
            "k" => {
                let parsed = value.parse().map_err(|_| AppError::BadRequest(format!("k must be a number, got {value:?}")))?;
                check_k(parsed)?;
                k = Some(parsed);
            }
            field => filters.set(field, value)?,
        }
    }
    let q = q.filter(|q| !q.trim().is_empty()).ok_or_else(|| AppError::BadRequest("missing query parameter q".into()))?;
    let max = state.curator.settings.server.max_question_chars;
    if q.chars().count() > max {
        return Err(AppError::BadRequest(format!("the query is longer than {max} characters")));
    }
    let generation = state.generation()?;
    let response = tokio::task::spawn_blocking(move || {
        let request = state.curator.request(&q, mode, k, filters);
        state.curator.search(&generation, &request)
    })
    .await
    .map_err(|e| AppError::Internal(e.to_string()))??;
    let t = &response.timings;
    for (stage, ms) in [("embed_query", t.embed_query_ms), ("bm25", t.bm25_ms), ("dense", t.dense_ms), ("fuse", t.fuse_ms), ("rerank", t.rerank_ms)] {
        metrics::histogram!("curator_search_stage_seconds", "stage" => stage).record(ms / 1000.0);
    }
    Ok(Json(response))
}

pub async fn record(State(state): State<Arc<AppState>>, Path(id): Path<String>) -> Result<Json<MuseumRecord>, AppError> {
    let generation = state.generation()?;
    generation
        .store
        .get(&id)
        .map(|stored| Json(stored.record.clone()))
        .ok_or_else(|| AppError::NotFound(format!("no record {id:?} in the index")))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IngestBody {
    /// New or changed records (curator's JSON record shape; see corpus/README.md). Each is read, normalised
    /// and validated on its own, as a JSONL row is: one bad record is refused, not the batch.
    #[serde(default)]
    pub records: Vec<serde_json::Value>,
    /// Ids of records to remove.
    #[serde(default)]
    pub delete: Vec<String>,
}

#[derive(Debug, serde::Serialize)]
pub struct IngestResponse {
    pub report: IngestReport,
    /// Records refused, with why (the rest were ingested).
    pub rejected: Vec<serde_json::Value>,
}

pub async fn ingest(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<IngestResponse>, AppError> {
    require_api_key(&state, &headers)?;
    let body: IngestBody = parse_json(body, state.curator.settings.server.max_body_bytes)?;
    if body.records.is_empty() && body.delete.is_empty() {
        return Err(AppError::BadRequest("nothing to do: give records and/or delete".into()));
    }
    let mut accepted = Vec::new();
    let mut rejected = Vec::new();
    for (index, record) in body.records.into_iter().enumerate() {
        let id = record.get("id").cloned().unwrap_or(serde_json::Value::Null);
        match curator_record(record) {
            Ok(r) => accepted.push(r),
            Err(reason) => rejected.push(serde_json::json!({ "index": index, "id": id, "reason": reason })),
        }
    }
    if accepted.is_empty() && body.delete.is_empty() {
        return Err(AppError::BadRequest(format!("no valid record: {}", serde_json::Value::Array(rejected))));
    }
    let _one_at_a_time = state.ingest_lock.lock().await;
    let worker = Arc::clone(&state);
    let report = tokio::task::spawn_blocking(move || {
        worker.curator.ingest(accepted, &body.delete, &IngestOptions::default(), &|_, _| {})
    })
    .await
    .map_err(|e| AppError::Internal(e.to_string()))?
    .map_err(|e| match e {
        // Another process (a CLI ingest) holds the writer lock: the client may retry.
        crate::ingest::IngestError::Index(crate::index::IndexError::Busy(_)) => AppError::Busy(e.to_string()),
        other => AppError::Internal(format!("ingest failed: {other}")),
    })?;
    // An ingest that changed nothing wrote no generation: there is nothing to reload.
    if report.generation.is_some() {
        state.reload()?;
    }
    Ok(Json(IngestResponse { report, rejected }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UploadQuery {
    /// The uploaded file's name; its extension helps recognise the format.
    pub name: String,
}

/// POST /api/ingest/file?name=export.csv: a file in any format curator reads, as the raw body. Answers
/// with server-sent events: `progress` ({stage, done, total}) while records are embedded, then `report`
/// ({read, skipped: [{at, reason}], report}) or `error`. The index switches to the new generation only
/// when the whole ingest succeeded.
pub async fn ingest_file(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    query: Result<Query<UploadQuery>, QueryRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, AppError> {
    require_api_key(&state, &headers)?;
    let Query(UploadQuery { name }) = query.map_err(|e| AppError::BadRequest(e.body_text()))?;
    let limit = state.curator.settings.server.max_body_bytes;
    let bytes = body_bytes(body, limit)?;
    if bytes.is_empty() {
        return Err(AppError::BadRequest("the upload is empty".into()));
    }
    // Only the name's last component, in plain characters: it names a file in a private temporary folder.
    let safe_name: String = name
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or("")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') { c } else { '_' })
        .collect();
    let safe_name = if safe_name.trim_matches('.').is_empty() { "upload.jsonl".to_string() } else { safe_name };
    let folder = tempfile::tempdir().map_err(|e| AppError::Internal(format!("cannot stage the upload: {e}")))?;
    let path = folder.path().join(&safe_name);
    std::fs::write(&path, &bytes).map_err(|e| AppError::Internal(format!("cannot stage the upload: {e}")))?;
    let outcome = crate::records::read_paths(std::slice::from_ref(&path)).map_err(|e| AppError::BadRequest(e.to_string().replace(&folder.path().display().to_string(), "")))?;
    if let Some((_, why)) = outcome.skipped_files.first() {
        return Err(AppError::BadRequest(format!("{safe_name}: {why}")));
    }
    let skipped: Vec<serde_json::Value> = outcome
        .skipped
        .iter()
        .map(|s| serde_json::json!({ "at": format!("{safe_name}:{}", s.at.line), "reason": s.reason }))
        .collect();
    let read = outcome.records.len();
    if read == 0 {
        return Err(AppError::BadRequest(format!("{safe_name}: no record could be read ({} rows skipped): {}", skipped.len(), serde_json::Value::Array(skipped))));
    }
    let records: Vec<MuseumRecord> = outcome.records.into_iter().map(|(r, _)| r).collect();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<Event>();
    let worker = Arc::clone(&state);
    tokio::task::spawn_blocking(move || {
        let _staged = folder;
        let _one_at_a_time = worker.ingest_lock.blocking_lock();
        let progress_tx = tx.clone();
        let progress = move |done: usize, total: usize| {
            let event = Event::default().event("progress").json_data(serde_json::json!({ "stage": "embedding", "done": done, "total": total }));
            let _ = progress_tx.send(event.unwrap_or_default());
        };
        let result = worker.curator.ingest(records, &[], &IngestOptions::default(), &progress);
        let event = match result.map_err(|e| AppError::Internal(format!("ingest failed: {e}"))).and_then(|report| {
            if report.generation.is_some() {
                worker.reload()?;
            }
            Ok(report)
        }) {
            Ok(report) => Event::default().event("report").json_data(serde_json::json!({ "read": read, "skipped": skipped, "report": report })),
            Err(e) => Event::default().event("error").json_data(e.body()),
        };
        let _ = tx.send(event.unwrap_or_default());
    });
    let events = UnboundedReceiverStream::new(rx).map(Ok);
    Ok(Sse::new(events).keep_alive(KeepAlive::default()))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimilarQuery {
    #[serde(default)]
    pub k: Option<usize>,
}

/// GET /api/records/{id}/similar?k=10: the nearest records by embedding, the record itself left out.
pub async fn similar(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    query: Result<Query<SimilarQuery>, QueryRejection>,
) -> Result<Json<serde_json::Value>, AppError> {
    let Query(SimilarQuery { k }) = query.map_err(|e| AppError::BadRequest(e.body_text()))?;
    let k = k.unwrap_or(state.curator.settings.retrieval.k);
    check_k(k)?;
    let generation = state.generation()?;
    let ef = state.curator.settings.hnsw.ef_search;
    let record_id = id.clone();
    let hits = tokio::task::spawn_blocking(move || crate::retrieve::similar(&generation, &record_id, k, ef))
        .await
        .map_err(|e| AppError::Internal(e.to_string()))??;
    Ok(Json(serde_json::json!({ "record_id": id, "k": k, "hits": hits })))
}

/// The body of POST /api/arithmetic.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArithmeticBody {
    #[serde(default)]
    pub plus: Vec<String>,
    #[serde(default)]
    pub minus: Vec<String>,
    #[serde(default)]
    pub k: Option<usize>,
}

/// POST /api/arithmetic {"plus": [...], "minus": [...], "k": 10}: the records nearest to the normalised
/// sum of the plus terms minus the minus terms, each a record id or a text; the records named left out.
pub async fn arithmetic(State(state): State<Arc<AppState>>, body: Result<Bytes, BytesRejection>) -> Result<Json<serde_json::Value>, AppError> {
    let ArithmeticBody { plus, minus, k } = parse_json(body, state.curator.settings.server.max_body_bytes)?;
    let max = state.curator.settings.server.max_question_chars;
    if let Some(long) = plus.iter().chain(&minus).find(|t| t.chars().count() > max) {
        return Err(AppError::BadRequest(format!("a term is longer than {max} characters ({})", long.chars().count())));
    }
    let k = k.unwrap_or(state.curator.settings.retrieval.k);
    check_k(k)?;
    let generation = state.generation()?;
    let ef = state.curator.settings.hnsw.ef_search;
    let worker = Arc::clone(&state);
    let (terms, hits) = tokio::task::spawn_blocking(move || crate::retrieve::arithmetic(&generation, &worker.curator.embedder_for(&generation), &plus, &minus, k, ef))
        .await
        .map_err(|e| AppError::Internal(e.to_string()))??;
    Ok(Json(serde_json::json!({ "terms": terms, "k": k, "hits": hits })))
}

/// POST /api/feedback: a reader's rating of an answer, kept in SQLite with the model and index
/// generation that produced it.
pub async fn add_feedback(State(state): State<Arc<AppState>>, body: Result<Bytes, BytesRejection>) -> Result<Json<serde_json::Value>, AppError> {
    let feedback: NewFeedback = parse_json(body, state.curator.settings.server.max_body_bytes)?;
    if feedback.question.trim().is_empty() {
        return Err(AppError::BadRequest("the rated question is empty".into()));
    }
    if feedback.comment.as_ref().is_some_and(|c| c.chars().count() > MAX_COMMENT_CHARS) {
        return Err(AppError::BadRequest(format!("the comment is longer than {MAX_COMMENT_CHARS} characters")));
    }
    let store = feedback_store(&state)?;
    let model = state.curator.llm.as_ref().map(|l| l.name.clone());
    let generation = state.generation().ok().map(|g| g.manifest.generation);
    let id = store.add(&feedback, model.as_deref(), generation).map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(Json(serde_json::json!({ "id": id })))
}

/// GET /api/feedback (API key): every rating, newest first.
pub async fn list_feedback(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Result<Json<serde_json::Value>, AppError> {
    require_api_key(&state, &headers)?;
    let store = feedback_store(&state)?;
    let all = store.list().map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(Json(serde_json::json!({ "feedback": all })))
}

fn feedback_store(state: &AppState) -> Result<&crate::feedback::FeedbackStore, AppError> {
    state.feedback.as_ref().ok_or_else(|| AppError::Unavailable("feedback is off: its database could not be opened (see the log)".into()))
}

/// Longest comment kept with a rating.
const MAX_COMMENT_CHARS: usize = 2000;
