//! An ingest killed (SIGKILL) at any point leaves the previous generation intact and searchable, and the
//! next ingest cleans up after it.

mod common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use curator::index::{DataDir, Filters};
use curator::records::MuseumRecord;
use curator::retrieve::Mode;

/// Enough records that embedding them takes seconds, so the kill lands while the new generation is written.
fn many_records() -> Vec<MuseumRecord> {
    let base = common::sample_records();
    (0..40)
        .flat_map(|i| {
            base.iter().map(move |r| {
                let mut r = r.clone();
                r.id = format!("{}-copy{i}", r.id);
                r.title = format!("{} (copy {i})", r.title);
                r
            })
        })
        .collect()
}

fn top_ids(curator: &curator::app::Curator, query: &str) -> Vec<String> {
    let generation = curator.load_generation().expect("previous generation must still load");
    let request = curator.request(query, Mode::Hybrid, Some(5), Filters::default());
    curator.search(&generation, &request).unwrap().hits.into_iter().map(|h| h.record_id).collect()
}

#[test]
fn an_ingest_killed_midway_leaves_the_previous_generation_searchable() {
    let dir = tempfile::tempdir().unwrap();
    let curator = common::open(dir.path());
    common::ingest(&curator, common::sample_records());
    let data = DataDir::new(dir.path());
    let current = data.current().unwrap().unwrap();
    let before = top_ids(&curator, "a ship towed up the Thames");

    let input = dir.path().join("many.jsonl");
    let lines: String = many_records().iter().map(|r| serde_json::to_string(r).unwrap() + "\n").collect();
    std::fs::write(&input, lines).unwrap();

    // Kill at different moments after the new generation's directory appears.
    for delay_ms in [0, 300, 1500] {
        let mut child = common::command()
            .args(["ingest", input.to_str().unwrap()])
            .env("CURATOR_PATHS_DATA_DIR", dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let started = Instant::now();
        let staging_appeared = loop {
            let staging = data.generation_dirs().into_iter().any(|d| d != current && !d.join("manifest.json").exists());
            if staging || started.elapsed() > Duration::from_secs(60) {
                break staging;
            }
            if child.try_wait().unwrap().is_some() {
                break false;
            }
            std::thread::sleep(Duration::from_millis(2));
        };
        assert!(staging_appeared, "the ingest never started writing a generation");
        std::thread::sleep(Duration::from_millis(delay_ms));
        child.kill().unwrap();
        child.wait().unwrap();

        assert_eq!(data.current().unwrap().unwrap(), current, "CURRENT moved although the ingest was killed");
        assert_eq!(top_ids(&curator, "a ship towed up the Thames"), before);
        assert_eq!(curator.load_generation().unwrap().manifest.records, 36);
    }

    // The next ingest removes the leftovers and succeeds.
    let mut one = common::sample_records().remove(0);
    one.id = "sample:new-one".into();
    let report = common::ingest(&curator, vec![one]);
    assert_eq!(report.added, 1);
    assert_eq!(curator.load_generation().unwrap().manifest.records, 37);
    let incomplete = data.generation_dirs().into_iter().filter(|d| !d.join("manifest.json").exists()).count();
    assert_eq!(incomplete, 0, "leftovers of killed ingests were not removed");
}

#[test]
fn a_second_concurrent_writer_is_refused_not_interleaved() {
    let dir = tempfile::tempdir().unwrap();
    let data = DataDir::new(dir.path());
    let _held = data.lock_writer().unwrap();
    let err = data.lock_writer().err().expect("second writer must be refused");
    assert!(err.to_string().contains("another ingest"), "{err}");
}

#[test]
fn an_ingest_stopped_at_each_step_leaves_an_index_that_loads_and_the_next_ingest_completes() {
    // Issue 11: every step of the commit (text index written, HNSW dumped, manifest, CURRENT switch, old
    // generation removed) is a point where a crash must leave the previous or the new generation usable.
    let dir = tempfile::tempdir().unwrap();
    let curator = common::open(dir.path());
    common::ingest(&curator, common::sample_records());
    let data = DataDir::new(dir.path());
    let known = top_ids(&curator, "a ship towed up the Thames")[0].clone();
    let ingest = |input: &std::path::Path, fault: Option<&str>| {
        let mut command = common::command();
        command.args(["ingest", input.to_str().unwrap()]).env("CURATOR_PATHS_DATA_DIR", dir.path()).stdout(Stdio::null()).stderr(Stdio::piped());
        if let Some(step) = fault {
            command.env("CURATOR_FAULT_AT", step);
        }
        command.output().unwrap()
    };

    let mut records = curator.load_generation().unwrap().manifest.records;
    for (i, step) in curator::index::FAULT_STEPS.iter().enumerate() {
        let mut record = common::sample_records().remove(i);
        record.id = format!("sample:fault-{step}");
        record.title = format!("Written when the ingest stopped at {step}");
        let input = dir.path().join(format!("{step}.jsonl"));
        std::fs::write(&input, serde_json::to_string(&record).unwrap()).unwrap();

        let stopped = ingest(&input, Some(step));
        assert!(!stopped.status.success(), "the ingest did not stop at {step}");
        assert!(String::from_utf8_lossy(&stopped.stderr).contains(&format!("stopping at {step}")));
        let generation = curator.load_generation().unwrap_or_else(|e| panic!("no generation loads after a stop at {step}: {e}"));
        let switched = curator::index::FAULT_STEPS.iter().position(|s| *s == "current-switched").unwrap();
        let expected = if i >= switched { records + 1 } else { records };
        assert_eq!(generation.manifest.records, expected, "records served after a stop at {step}");
        assert_eq!(top_ids(&curator, "a ship towed up the Thames")[0], known, "search changed after a stop at {step}");

        let finished = ingest(&input, None);
        assert!(finished.status.success(), "the ingest after a stop at {step} failed: {}", String::from_utf8_lossy(&finished.stderr));
        // Whether the stopped ingest landed or not, the record is now there exactly once.
        let after = curator.load_generation().unwrap().manifest.records;
        assert_eq!(after, records + 1, "records after the ingest that followed a stop at {step}");
        records = after;
        assert!(curator.load_generation().unwrap().store.get(&record.id).is_some(), "{} is missing after the ingest that followed {step}", record.id);
        let incomplete = data.generation_dirs().into_iter().filter(|d| !d.join("manifest.json").exists()).count();
        assert_eq!(incomplete, 0, "leftovers of the ingest stopped at {step} were not removed");
    }
}
