//! The OpenAI-compatible face: POST /v1/chat/completions (streamed or not) and GET /v1/models, so the
//! official clients and chat UIs work unchanged. The last user message is the question; earlier user and
//! assistant messages are the conversation; system messages are ignored (curator's own instructions are
//! in prompts/). Citations travel as extra fields (`citations`, `sources`) next to the standard ones, in
//! the final chunk of a stream too.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use tokio_stream::wrappers::UnboundedReceiverStream;
use tokio_stream::StreamExt;

use super::api::refuse_when_full;
use super::{collect_answer, parse_json, start_answer, AppError, AppState, Progress};
use crate::app::{Answer, AskRequest};
use crate::generate::Turn;
use crate::index::Filters;

#[derive(Debug, Deserialize)]
pub struct ChatRequest {
    #[serde(default)]
    pub model: Option<String>,
    pub messages: Vec<ChatMessage>,
    #[serde(default)]
    pub stream: bool,
    /// curator's extension: metadata filters for retrieval.
    #[serde(default)]
    pub filters: Filters,
    /// curator's extension: how many records to give the model.
    #[serde(default)]
    pub k: Option<usize>,
    // Sampling settings (temperature, top_p, max_tokens, ...) are accepted and ignored: the server's
    // generation settings apply to every client alike.
}

#[derive(Debug, Deserialize)]
pub struct ChatMessage {
    pub role: String,
    #[serde(default)]
    pub content: Content,
}

/// A message's content: a string, or a list of parts of which the text ones are read.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Content {
    Text(String),
    Parts(Vec<Value>),
}

impl Default for Content {
    fn default() -> Content {
        Content::Text(String::new())
    }
}

impl Content {
    fn text(&self) -> String {
        match self {
            Content::Text(t) => t.clone(),
            Content::Parts(parts) => parts.iter().filter_map(|p| p.get("text").and_then(Value::as_str)).collect::<Vec<_>>().join("\n"),
        }
    }
}

/// The conversation as curator's ask request.
pub fn to_ask_request(chat: ChatRequest) -> Result<AskRequest, AppError> {
    let mut turns = Vec::new();
    for message in &chat.messages {
        match message.role.as_str() {
            "user" | "assistant" => turns.push(Turn { role: message.role.clone(), content: message.content.text() }),
            "system" | "developer" => {}
            other => return Err(AppError::BadRequest(format!("unsupported message role {other:?}; use system, user or assistant"))),
        }
    }
    let last = turns.pop().ok_or_else(|| AppError::BadRequest("messages must end with a user message".into()))?;
    if last.role != "user" {
        return Err(AppError::BadRequest("messages must end with a user message".into()));
    }
    Ok(AskRequest { question: last.content, history: turns, filters: chat.filters, k: chat.k })
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

fn completion_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    format!("chatcmpl-{}-{}", now(), NEXT.fetch_add(1, Ordering::Relaxed))
}

fn model_name(state: &AppState) -> String {
    state.curator.llm.as_ref().map_or_else(|| "curator".to_string(), |l| format!("curator-{}", l.name))
}

pub async fn models(State(state): State<Arc<AppState>>) -> Json<Value> {
    Json(json!({
        "object": "list",
        "data": [{ "id": model_name(&state), "object": "model", "created": 0, "owned_by": "curator" }],
    }))
}

fn finish_reason(answer: &Answer) -> &'static str {
    if answer.generation.as_ref().is_some_and(|g| g.truncated) { "length" } else { "stop" }
}

/// curator's additions to a completion: what the answer rests on.
fn grounding(answer: &Answer) -> Value {
    json!({
        "citations": answer.citations,
        "sources": answer.sources,
        "sentences": answer.sentences,
        "abstained": answer.abstained,
        "retrieval_query": answer.retrieval_query,
        "timings": answer.timings,
    })
}

pub async fn chat_completions(State(state): State<Arc<AppState>>, body: Result<Bytes, BytesRejection>) -> Result<Response, AppError> {
    let chat: ChatRequest = parse_json(body, state.curator.settings.server.max_body_bytes)?;
    let stream = chat.stream;
    let request = to_ask_request(chat)?;
    request.sources(state.curator.settings.answer.sources)?;
    let model = model_name(&state);
    let id = completion_id();
    let created = now();
    if !stream {
        let rx = start_answer(Arc::clone(&state), request)?;
        let answer = collect_answer(rx).await?;
        let usage = answer.generation.as_ref().map_or((0, 0), |g| (g.prompt_tokens, g.generated_tokens));
        let mut body = json!({
            "id": id,
            "object": "chat.completion",
            "created": created,
            "model": model,
            "choices": [{
                "index": 0,
                "message": { "role": "assistant", "content": answer.answer },
                "finish_reason": finish_reason(&answer),
            }],
            "usage": { "prompt_tokens": usage.0, "completion_tokens": usage.1, "total_tokens": usage.0 + usage.1 },
        });
        merge(&mut body, grounding(&answer));
        return Ok(Json(body).into_response());
    }

    refuse_when_full(&state)?;
    let rx = start_answer(Arc::clone(&state), request)?;
    let chunk = move |delta: Value, finish: Option<&str>| {
        json!({
            "id": id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [{ "index": 0, "delta": delta, "finish_reason": finish }],
        })
    };
    let first = chunk(json!({ "role": "assistant", "content": "" }), None);
    let events = UnboundedReceiverStream::new(rx).filter_map(move |progress| match progress {
        Progress::Retrieved(_) | Progress::Sentence { .. } => None,
        Progress::Delta(text) => Some(chunk(json!({ "content": text }), None)),
        Progress::Done(answer) => {
            let mut last = chunk(json!({}), Some(finish_reason(&answer)));
            merge(&mut last, grounding(&answer));
            Some(last)
        }
        // The OpenAI clients raise an error for a data line with an "error" object.
        Progress::Failed(e) => Some(e.body()),
    });
    let data = tokio_stream::once(first)
        .chain(events)
        .map(|value| Event::default().data(value.to_string()))
        .chain(tokio_stream::once(Event::default().data("[DONE]")))
        .map(Ok::<Event, Infallible>);
    Ok(Sse::new(data).keep_alive(KeepAlive::default()).into_response())
}

fn merge(target: &mut Value, extra: Value) {
    if let (Value::Object(target), Value::Object(extra)) = (target, extra) {
        target.extend(extra);
    }
}
