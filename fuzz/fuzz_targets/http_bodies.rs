#![no_main]
// Every JSON body the HTTP API reads, parsed as the handlers parse it (`server::parse_json`), then checked
// as they check it. Whatever arrives gets a 4xx that names the problem or passes; a panic or a 5xx is a bug.
use axum::body::Bytes;
use curator::app::AskRequest;
use curator::feedback::NewFeedback;
use curator::records::curator_record;
use curator::server::api::{ArithmeticBody, IngestBody};
use curator::server::openai::{to_ask_request, ChatRequest};
use curator::server::{parse_json, AppError};

const LIMIT: usize = 1 << 20;

fn refused_as_client_error(error: AppError) {
    assert!(error.status().is_client_error(), "a body got {}: {error}", error.status());
    let body = error.body();
    assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let body = || Ok(Bytes::copy_from_slice(data));
    match parse_json::<IngestBody>(body(), LIMIT) {
        Ok(ingest) => {
            for record in ingest.records {
                let _ = curator_record(record);
            }
        }
        Err(e) => refused_as_client_error(e),
    }
    match parse_json::<AskRequest>(body(), LIMIT) {
        Ok(ask) => {
            let _ = ask.sources(5);
        }
        Err(e) => refused_as_client_error(e),
    }
    match parse_json::<ChatRequest>(body(), LIMIT).and_then(to_ask_request) {
        Ok(ask) => {
            let _ = ask.sources(5);
        }
        Err(e) => refused_as_client_error(e),
    }
    if let Err(e) = parse_json::<NewFeedback>(body(), LIMIT) {
        refused_as_client_error(e);
    }
    if let Err(e) = parse_json::<ArithmeticBody>(body(), LIMIT) {
        refused_as_client_error(e);
    }
});
