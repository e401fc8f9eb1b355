//! The command line as a user types it: the binary run over a temporary data directory.

mod common;

use std::process::{Command, Output};

fn curator(data_dir: &std::path::Path, args: &[&str]) -> Output {
    Command::new(common::binary())
        .args(args)
        .env("CURATOR_PATHS_DATA_DIR", data_dir)
        .env("CURATOR_ANSWER_GATE", "false")
        .output()
        .expect("the curator binary runs")
}

/// A temporary data directory holding the sample records' index.
fn sample_index() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    common::ingest(&common::open(dir.path()), common::sample_records());
    dir
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn show_prints_one_record_and_names_a_missing_one() {
    // Regression: the command line had no way to print one record.
    let dir = sample_index();
    let shown = curator(dir.path(), &["show", "sample:milkmaid"]);
    assert!(shown.status.success(), "{}", text(&shown.stderr));
    let out = text(&shown.stdout);
    assert!(out.contains("The Milkmaid") && out.contains("Johannes Vermeer") && out.contains("chunk 1 of"), "{out}");
    let missing = curator(dir.path(), &["show", "sample:nothing"]);
    assert!(!missing.status.success());
    assert!(text(&missing.stderr).contains("no record \"sample:nothing\""), "{}", text(&missing.stderr));
}

#[test]
fn k_may_be_written_short() {
    // Regression: `curator search ... -k 3` was refused; only --k worked.
    let dir = sample_index();
    let found = curator(dir.path(), &["search", "milkmaid", "-k", "1", "--json"]);
    assert!(found.status.success(), "{}", text(&found.stderr));
    let response: serde_json::Value = serde_json::from_slice(&found.stdout).unwrap();
    assert_eq!(response["hits"].as_array().map(Vec::len), Some(1));
}

#[test]
fn serve_reports_a_bad_address_before_loading_anything() {
    // Regression: `--bind localhost` said only "invalid socket address", after the model had loaded.
    let dir = tempfile::tempdir().unwrap();
    let refused = curator(dir.path(), &["serve", "--bind", "localhost"]);
    assert!(!refused.status.success());
    let stderr = text(&refused.stderr);
    assert!(stderr.contains("HOST:PORT") && stderr.contains("localhost"), "{stderr}");
    assert!(!text(&refused.stdout).contains("answering with"), "the model was loaded first");
}

#[test]
fn similar_lists_other_records_nearest_first() {
    let dir = sample_index();
    let out = curator(dir.path(), &["similar", "sample:milkmaid", "-k", "3", "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let response: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let hits = response["hits"].as_array().unwrap();
    assert_eq!(hits.len(), 3);
    assert!(hits.iter().all(|h| h["record_id"] != "sample:milkmaid"), "the record itself was listed");
}

#[test]
fn a_source_filter_that_matches_nothing_names_the_sources_there_are() {
    // Regression: `--filter source=rijksmuseum` printed a bare "no results".
    let dir = sample_index();
    let out = curator(dir.path(), &["search", "portrait", "--filter", "source=rijksmuseum"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("the sources in the index are sample"), "{}", text(&out.stderr));
}
