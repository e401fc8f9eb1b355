//! The command line as a user types it: the binary run over a temporary data directory.

mod common;

use std::process::Output;

fn curator(data_dir: &std::path::Path, args: &[&str]) -> Output {
    let settings = common::settings(data_dir);
    common::command()
        .args(args)
        .env("CURATOR_PATHS_DATA_DIR", data_dir)
        .env("CURATOR_ANSWER_GATE", "false")
        .env("CURATOR_RERANK_MODEL_DIR", &settings.rerank.model_dir)
        .env("CURATOR_RERANK_ONNX_FILE", &settings.rerank.onnx_file)
        .env("CURATOR_RERANK_DEPTH", settings.rerank.depth.to_string())
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

/// Runs a command that prints JSON, checks that it succeeded, and parses what it printed.
fn json_of(data_dir: &std::path::Path, args: &[&str]) -> serde_json::Value {
    let out = curator(data_dir, args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
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
    let response = json_of(dir.path(), &["search", "milkmaid", "-k", "1", "--json"]);
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
fn serve_reports_a_port_in_use_with_its_address_before_loading_anything() {
    // Regression (issue 13.6): a port in use was reported only after the model had loaded, without the address.
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let refused = curator(dir.path(), &["serve", "--bind", &address]);
    assert!(!refused.status.success());
    let stderr = text(&refused.stderr);
    assert!(stderr.contains(&address) && stderr.contains("free port"), "{stderr}");
    assert!(!text(&refused.stdout).contains("loading the models"), "the models were loaded first");
}

#[test]
fn a_missing_reranker_is_said_to_be_trained_not_fetched() {
    // Regression (issue 13.7): the notice told users to run fetch-models.sh, but the reranker is trained.
    let dir = sample_index();
    let out = common::command()
        .args(["search", "milkmaid", "-k", "1"])
        .env("CURATOR_PATHS_DATA_DIR", dir.path())
        .env("CURATOR_RERANK_MODEL_DIR", dir.path().join("no-reranker-here"))
        .output()
        .expect("the curator binary runs");
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("scripts/train-reranker.sh") && !stderr.contains("fetch-models"), "{stderr}");
}

#[test]
fn serve_on_an_empty_data_dir_says_what_to_do_and_logs_requests() {
    // Regression (issue 13.6): with an empty data dir the server said "ok" and answered every question
    // with 503 "server_busy"; fifty lines of settings came before the address; no request was logged.
    use std::io::{BufRead, BufReader, Read, Write};
    let dir = tempfile::tempdir().unwrap();
    let settings = common::settings(dir.path());
    let mut server = common::command()
        .args(["serve", "--bind", "127.0.0.1:0"])
        .env("CURATOR_PATHS_DATA_DIR", dir.path())
        .env("CURATOR_GENERATION_MODEL", common::TINY_LLM)
        .env("CURATOR_RERANK_MODEL_DIR", &settings.rerank.model_dir)
        .env("CURATOR_RERANK_ONNX_FILE", &settings.rerank.onnx_file)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the curator binary runs");
    let mut stdout = BufReader::new(server.stdout.take().unwrap());
    let mut banner = Vec::new();
    let mut line = String::new();
    while stdout.read_line(&mut line).unwrap() > 0 {
        banner.push(std::mem::take(&mut line));
        if banner.last().unwrap().contains("requests are logged") {
            break;
        }
    }
    let banner = banner.concat();
    let address = banner.split("listening on http://").nth(1).and_then(|rest| rest.split_whitespace().next()).unwrap_or_else(|| panic!("no address in:\n{banner}"));
    assert!(banner.contains(&format!("OpenAI base URL  http://{address}/v1")), "{banner}");
    assert!(banner.contains("index            empty: add records with `curator ingest PATH`"), "{banner}");
    assert!(banner.lines().count() < 12 && !banner.contains("max_body_bytes"), "settings before -v:\n{banner}");

    let mut connection = std::net::TcpStream::connect(address).unwrap();
    write!(connection, "GET /healthz HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n").unwrap();
    let mut response = String::new();
    connection.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 503"), "{response}");
    assert!(response.contains("the index is empty"), "{response}");
    // A question is told the same, not that the server is busy (retrying will not help).
    let mut connection = std::net::TcpStream::connect(address).unwrap();
    write!(connection, "GET /api/search?q=ships HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n").unwrap();
    let mut response = String::new();
    connection.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 503"), "{response}");
    assert!(response.contains("\"service_unavailable\"") && response.contains("the index is empty"), "{response}");

    server.kill().unwrap();
    let mut log = String::new();
    server.stderr.take().unwrap().read_to_string(&mut log).unwrap();
    server.wait().unwrap();
    assert!(log.contains("GET /healthz 503"), "no request log line:\n{log}");
}

#[test]
fn ask_says_when_the_years_in_the_question_became_a_filter() {
    // Regression (issue 13.4): `curator search` said so, `curator ask` filtered without a word.
    let dir = sample_index();
    let settings = common::settings(dir.path());
    let out = common::command()
        .args(["ask", "Which militia portraits were painted between 1600 and 1650?"])
        .env("CURATOR_PATHS_DATA_DIR", dir.path())
        .env("CURATOR_ANSWER_GATE", "false")
        .env("CURATOR_GENERATION_MODEL", common::TINY_LLM)
        .env("CURATOR_GENERATION_MAX_ANSWER_TOKENS", "16")
        .env("CURATOR_RERANK_MODEL_DIR", &settings.rerank.model_dir)
        .env("CURATOR_RERANK_ONNX_FILE", &settings.rerank.onnx_file)
        .output()
        .expect("the curator binary runs");
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("only works of 1600..1650: the years in the question became a filter"), "{stderr}");
}

#[test]
fn similar_lists_other_records_nearest_first() {
    let dir = sample_index();
    let response = json_of(dir.path(), &["similar", "sample:milkmaid", "-k", "3", "--json"]);
    let hits = response["hits"].as_array().unwrap();
    assert_eq!(hits.len(), 3);
    assert!(hits.iter().all(|h| h["record_id"] != "sample:milkmaid"), "the record itself was listed");
}

#[test]
fn arithmetic_adds_a_text_to_a_record_and_says_how_it_read_each_term() {
    let dir = sample_index();
    let response = json_of(dir.path(), &["arithmetic", "--plus", "sample:temeraire", "--plus", "a steam train in the rain", "-k", "2", "--json"]);
    assert_eq!(response["terms"][0]["read_as"], "record", "{response}");
    assert_eq!(response["terms"][1]["read_as"], "text", "{response}");
    let hits = response["hits"].as_array().unwrap();
    assert_eq!(hits.len(), 2, "{response}");
    assert!(hits.iter().all(|h| h["record_id"] != "sample:temeraire"), "the record added was listed: {response}");
}

#[test]
fn stats_vectors_walks_the_loaded_graph_and_every_point_is_reachable() {
    let dir = sample_index();
    let stats = json_of(dir.path(), &["stats", "--vectors", "--json"]);
    let graph = &stats["graph"];
    assert_eq!(graph["points"], stats["graph_points"], "the graph walked is not the graph the manifest counts: {stats}");
    let by_layer: u64 = graph["points_by_top_layer"].as_array().unwrap().iter().map(|n| n.as_u64().unwrap()).sum();
    assert_eq!(by_layer, graph["points"].as_u64().unwrap(), "{graph}");
    assert_eq!(graph["unreachable_from_entry"], 0, "a fresh graph has points no search reaches: {graph}");
    let layer0 = &graph["out_degree_by_layer"][0];
    assert!(layer0["min"].as_u64().unwrap() >= 1, "a point without links on layer 0: {graph}");
    assert!(layer0["max"].as_u64().unwrap() <= 2 * graph["max_connections"].as_u64().unwrap(), "{graph}");
}

#[test]
fn a_source_filter_that_matches_nothing_names_the_sources_there_are() {
    // Regression: `--filter source=rijksmuseum` printed a bare "no results".
    let dir = sample_index();
    let out = curator(dir.path(), &["search", "portrait", "--filter", "source=rijksmuseum"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("the sources in the index are sample"), "{}", text(&out.stderr));
}

#[test]
fn a_rebuild_that_drops_records_asks_first_and_rollback_restores_the_index() {
    // Regression (issue 13.2): `ingest --rebuild good.jsonl` silently replaced a 36-record index with 2
    // records, and the summary said only "added 2".
    let dir = sample_index();
    let two = dir.path().join("two.jsonl");
    let lines: Vec<String> = common::sample_records().iter().take(2).map(|r| serde_json::to_string(r).unwrap()).collect();
    std::fs::write(&two, lines.join("\n")).unwrap();
    let two = two.to_str().unwrap();

    let refused = curator(dir.path(), &["ingest", "--rebuild", two]);
    assert!(!refused.status.success(), "a rebuild without a terminal or --yes went ahead");
    let stderr = text(&refused.stderr);
    assert!(stderr.contains("drops 34 of the 36 records") && stderr.contains("--yes"), "{stderr}");
    let records = |dir: &std::path::Path| common::open(dir).load_generation().unwrap().manifest.records;
    assert_eq!(records(dir.path()), 36, "the refused rebuild changed the index");

    let done = curator(dir.path(), &["ingest", "--rebuild", "--yes", two]);
    assert!(done.status.success(), "{}", text(&done.stderr));
    assert!(text(&done.stdout).contains("removed 34"), "{}", text(&done.stdout));
    assert_eq!(records(dir.path()), 2);

    let rolled = curator(dir.path(), &["rollback"]);
    assert!(rolled.status.success(), "{}", text(&rolled.stderr));
    assert!(text(&rolled.stdout).contains("(36 records)"), "{}", text(&rolled.stdout));
    assert_eq!(records(dir.path()), 36, "rollback restores the generation before the rebuild");
    let again = curator(dir.path(), &["rollback"]);
    assert!(!again.status.success() && text(&again.stderr).contains("nothing to roll back to"), "{}", text(&again.stderr));
}

#[test]
fn rerank_data_turns_thumbs_up_answers_into_training_groups() {
    // Issue 10.7: readers' ratings were kept but never used.
    use curator::feedback::{FeedbackStore, NewFeedback, Rating};
    let dir = sample_index();
    let store = FeedbackStore::open(&dir.path().join("feedback.sqlite")).unwrap();
    let rating = |question: &str, cited: &str, rating| NewFeedback {
        question: question.into(),
        answer: "…".into(),
        sources: vec![cited.into()],
        cited: vec![cited.into()],
        rating,
        comment: None,
    };
    store.add(&rating("Who poured the milk in Vermeer's kitchen scene?", "sample:milkmaid", Rating::Up), None, Some(1)).unwrap();
    store.add(&rating("Which painting shows a lonely diner?", "sample:mona-lisa", Rating::Down), None, Some(1)).unwrap();
    drop(store);
    let out = dir.path().join("groups.jsonl");
    let mined = curator(dir.path(), &["rerank-data", "--out", out.to_str().unwrap(), "--feedback", "--synthetic", "0", "--plain", "0"]);
    assert!(mined.status.success(), "{}", text(&mined.stderr));
    let groups: Vec<serde_json::Value> =
        std::fs::read_to_string(&out).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(groups.len(), 1, "one group from the thumbs-up, none from the thumbs-down: {groups:?}");
    let group = &groups[0];
    assert_eq!(group["source"], "feedback");
    assert!(group["positive"][0].as_str().unwrap().starts_with("The Milkmaid"), "{group}");
    assert!(group["negatives"].as_array().unwrap().iter().all(|n| !n.as_str().unwrap().starts_with("The Milkmaid")));
}

#[test]
fn a_missing_file_is_reported_with_its_os_error_once() {
    // Regression (issue 13.7): "No such file or directory (os error 2): No such file or directory (os error 2)".
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.jsonl");
    let out = curator(dir.path(), &["ingest", missing.to_str().unwrap()]);
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(stderr.contains("missing.jsonl"), "{stderr}");
    assert_eq!(stderr.matches("os error 2").count(), 1, "the OS error is said once: {stderr}");
}

/// `curator settings | head` panicked with "failed printing to stdout: Broken pipe".
#[test]
fn output_to_a_reader_that_has_gone_ends_quietly_not_with_a_panic() {
    use std::process::Stdio;
    let dir = tempfile::tempdir().unwrap();
    let mut child = common::command()
        .arg("settings")
        .env("CURATOR_PATHS_DATA_DIR", dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the curator binary runs");
    // The reader leaves before the first line is written (starting up takes far longer than this).
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = text(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!stderr.contains("Broken pipe"), "{stderr}");
    // It did write into the closed pipe (else this tested nothing), and stopped as Unix tools do.
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(out.status.signal(), Some(13), "killed by SIGPIPE (13 on Linux): {:?}", out.status);
}
