//! The one error type of the HTTP face: every failure becomes a status and an OpenAI-style JSON body,
//! `{"error": {"message", "type", "code"}}`, which OpenAI clients already know how to show.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::app::AskError;
use crate::generate::GenerateError;
use crate::index::FilterError;
use crate::retrieve::SearchError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    BadRequest(String),
    #[error("missing or wrong API key (send Authorization: Bearer <server.api_key>)")]
    Unauthorized,
    #[error("this server needs a read key: send Authorization: Bearer <server.read_key>, or sign in at /key")]
    ReadKeyNeeded,
    #[error("ingest over HTTP is off: set server.api_key (CURATOR_SERVER_API_KEY) to allow it")]
    IngestDisabled,
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    MethodNotAllowed(String),
    #[error("request body is larger than the limit of {0} bytes")]
    TooLarge(usize),
    #[error("{0}")]
    Busy(String),
    #[error("too many requests from this client; try again in {0} s")]
    RateLimited(u64),
    #[error("{0}")]
    Unavailable(String),
    #[error("{0}")]
    Timeout(String),
    #[error("{0}")]
    Internal(String),
}

/// Seconds a client is told to wait when the answer queue or the server is full, or a map is being
/// computed (`server::map`).
pub(crate) const RETRY_AFTER_SECONDS: &str = "5";

impl AppError {
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Unauthorized | AppError::ReadKeyNeeded => StatusCode::UNAUTHORIZED,
            AppError::IngestDisabled => StatusCode::FORBIDDEN,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            AppError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::Busy(_) | AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            AppError::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            AppError::BadRequest(_) | AppError::TooLarge(_) | AppError::NotFound(_) | AppError::MethodNotAllowed(_) => {
                "invalid_request_error"
            }
            AppError::Unauthorized | AppError::ReadKeyNeeded | AppError::IngestDisabled => "authentication_error",
            AppError::Busy(_) | AppError::Timeout(_) => "server_busy",
            // No index yet, or no model: waiting will not help until someone ingests or installs it.
            AppError::Unavailable(_) => "service_unavailable",
            AppError::RateLimited(_) => "rate_limit_exceeded",
            AppError::Internal(_) => "server_error",
        }
    }

    /// The JSON body, also sent as the `error` event of a stream.
    pub fn body(&self) -> serde_json::Value {
        // An internal error's message comes from deep in the library and may name files; the log has it
        // whole, a client gets it without file-system paths.
        let message = match self {
            AppError::Internal(_) => redact_paths(&self.to_string()),
            _ => self.to_string(),
        };
        serde_json::json!({ "error": { "message": message, "type": self.kind(), "code": self.status().as_u16() } })
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if matches!(self, AppError::Internal(_)) {
            tracing::error!("{self}");
        }
        let mut response = (self.status(), Json(self.body())).into_response();
        match self {
            AppError::Busy(_) => {
                response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static(RETRY_AFTER_SECONDS));
            }
            AppError::RateLimited(seconds) => {
                response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
            }
            _ => {}
        }
        response
    }
}

impl From<AskError> for AppError {
    fn from(e: AskError) -> AppError {
        match e {
            AskError::EmptyQuestion | AskError::TooManySources(_) | AskError::Search(SearchError::EmptyQuery) => AppError::BadRequest(e.to_string()),
            AskError::NoModel(_) => AppError::Unavailable(e.to_string()),
            AskError::Generate(g) => g.into(),
            other => AppError::Internal(other.to_string()),
        }
    }
}

impl From<GenerateError> for AppError {
    fn from(e: GenerateError) -> AppError {
        match e {
            GenerateError::QueueFull(_) => AppError::Busy(e.to_string()),
            GenerateError::Deadline(_) => AppError::Timeout(e.to_string()),
            GenerateError::PromptTooLong { .. } => AppError::BadRequest(e.to_string()),
            GenerateError::ModelMissing(_) | GenerateError::WorkerGone => AppError::Unavailable(e.to_string()),
            other => AppError::Internal(other.to_string()),
        }
    }
}

impl From<SearchError> for AppError {
    fn from(e: SearchError) -> AppError {
        match e {
            SearchError::EmptyQuery | SearchError::Arithmetic(_) => AppError::BadRequest(e.to_string()),
            SearchError::NoSuchRecord(_) => AppError::NotFound(e.to_string()),
            other => AppError::Internal(other.to_string()),
        }
    }
}

impl From<FilterError> for AppError {
    fn from(e: FilterError) -> AppError {
        AppError::BadRequest(e.to_string())
    }
}

/// `message` with every word that looks like a file-system path (absolute, or home-relative) replaced by
/// `[path]`.
pub(crate) fn redact_paths(message: &str) -> String {
    message
        .split(char::is_whitespace)
        .map(|word| {
            let bare = word.trim_start_matches(|c: char| matches!(c, '"' | '\'' | '(' | '[' | '='));
            let bare = bare.rsplit_once('=').map_or(bare, |(_, value)| value);
            if bare.starts_with('/') || bare.starts_with("~/") || bare.get(1..3) == Some(":\\") {
                "[path]"
            } else {
                word
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_error_bodies_do_not_reveal_paths() {
        // Regression: a 500 said "/root/.local/share/curator/generations/00000002/tantivy is corrupt".
        let error = AppError::Internal("ingest failed: /root/.local/share/curator/generations/00000002/tantivy is corrupt: \"/srv/x\" (~/y)".into());
        let message = error.body()["error"]["message"].as_str().unwrap().to_string();
        assert!(!message.contains("/root") && !message.contains("/srv") && !message.contains("~/"), "{message}");
        assert!(message.contains("is corrupt"), "{message}");
        let not_found = AppError::NotFound("record sample:x/y".into());
        assert!(not_found.body()["error"]["message"].as_str().unwrap().contains("sample:x/y"));
    }
}
