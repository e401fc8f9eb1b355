//! Shared set-up for the integration tests: real models from the model cache, a temporary data directory.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use curator::app::Curator;
use curator::config::Settings;
use curator::ingest::IngestOptions;
use curator::records::{read_paths, MuseumRecord};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// ../shared beside the repository, as on CI. The tests that read real museum rows need it.
pub fn shared() -> PathBuf {
    let dir = repo().join("../shared");
    assert!(dir.join("corpus").is_dir(), "{} is missing: these tests read the real corpus from ../shared", dir.display());
    dir
}

pub fn settings(data_dir: &Path) -> Settings {
    settings_with(data_dir, &[])
}

/// The library with real models, the small test cross-encoder among them; the message says how to get
/// them when they are missing.
pub fn open(data_dir: &Path) -> Curator {
    let curator = Curator::open(settings(data_dir)).unwrap_or_else(|e| panic!("{e} (the test command runs scripts/fetch-models.sh first)"));
    assert!(
        curator.scoring().reranker.is_some(),
        "{}: the tests rerank with the test cross-encoder (scripts/fetch-models.sh reranker-test builds it)",
        curator.scoring().reranker_status
    );
    curator
}

pub const TEST_RERANK_DEPTH: usize = 10;

/// The small cross-encoder the tests rerank with (scripts/make-test-reranker.py), not the trained one: a
/// test must not depend on whether an hour of training happened on this machine.
pub fn test_reranker_dir(settings: &Settings) -> PathBuf {
    settings.model_dir().join("test-reranker")
}

pub fn sample_records() -> Vec<MuseumRecord> {
    read_paths(&[repo().join("corpus/sample.jsonl")]).expect("sample corpus").records.into_iter().map(|(r, _)| r).collect()
}

pub fn ingest(curator: &Curator, records: Vec<MuseumRecord>) -> curator::ingest::IngestReport {
    curator.ingest(records, &[], &IngestOptions::default(), &|_, _| {}).expect("ingest")
}

pub fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_curator"))
}

/// The curator binary, embedding with the fetched model as every test does (see `settings_with`).
pub fn command() -> std::process::Command {
    let models = settings(Path::new("")).model_dir();
    let mut command = std::process::Command::new(binary());
    command.env("CURATOR_EMBEDDING_MODEL_DIR", models.join(curator::config::FETCHED_EMBEDDING_DIR));
    command
}

/// Settings for `data_dir` with extra `CURATOR_*` overrides (these win over the environment). The answer
/// gate in the model cache is off (it was fitted on the full collection, if at all, and a test must not
/// depend on whether it is there); a test that wants a gate fits its own. The reranker is the test
/// cross-encoder unless `CURATOR_RERANK_MODEL_DIR` is overridden.
pub fn settings_with(data_dir: &Path, overrides: &[(&str, &str)]) -> Settings {
    let dir = data_dir.display().to_string();
    let mut settings = Settings::load_with_env(None, |var| {
        if var == "CURATOR_PATHS_DATA_DIR" {
            return Some(dir.clone());
        }
        let overridden = overrides.iter().rev().find(|(name, _)| *name == var).map(|(_, v)| v.to_string());
        if var == "CURATOR_ANSWER_GATE" {
            return overridden.or_else(|| Some("false".into()));
        }
        overridden.or_else(|| std::env::var(var).ok())
    })
    .expect("settings");
    // The fetched embedding model, not the fine-tuned one when this machine has trained it: a test's
    // rankings must not depend on whether half an hour of training happened here.
    if !overrides.iter().any(|(name, _)| *name == "CURATOR_EMBEDDING_MODEL_DIR") {
        settings.embedding.model_dir = settings.model_dir().join(curator::config::FETCHED_EMBEDDING_DIR).display().to_string();
    }
    if !overrides.iter().any(|(name, _)| *name == "CURATOR_RERANK_MODEL_DIR") {
        settings.rerank.model_dir = test_reranker_dir(&settings).display().to_string();
        settings.rerank.onnx_file = "model.onnx".into();
        // The sample has 36 records: the top 10 is a real reordering, at a third of the default's cost.
        if !overrides.iter().any(|(name, _)| *name == "CURATOR_RERANK_DEPTH") {
            settings.rerank.depth = TEST_RERANK_DEPTH;
        }
    }
    settings
}

/// The smallest GGUF (SmolLM2-135M): fine for plumbing, useless for answers.
pub const TINY_LLM: &str = "smollm2-135m-instruct-q4_1.gguf";
