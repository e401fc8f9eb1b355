//! An index generation from ingest to search: found by title and by paraphrase, identical after reopening,
//! idempotent on re-ingest, updated and deleted in place, refused when built by another model.

mod common;

use curator::index::{DataDir, Filters};
use curator::ingest::IngestOptions;
use curator::retrieve::{Mode, SearchResponse};

fn run(curator: &curator::app::Curator, query: &str, mode: Mode) -> SearchResponse {
    let generation = curator.load_generation().expect("load generation");
    curator.search(&generation, &curator.request(query, mode, Some(5), Filters::default())).expect("search")
}

fn ids(response: &SearchResponse) -> Vec<String> {
    response.hits.iter().map(|h| h.record_id.clone()).collect()
}

#[test]
fn bm25_finds_a_record_by_exact_title_and_dense_by_paraphrase() {
    let dir = tempfile::tempdir().unwrap();
    let curator = common::open(dir.path());
    let report = common::ingest(&curator, common::sample_records());
    assert_eq!(report.added, 36);
    assert_eq!(report.generation, Some(1));

    let by_title = run(&curator, "Wanderer above the Sea of Fog", Mode::Bm25);
    assert_eq!(ids(&by_title)[0], "sample:wanderer");
    assert_eq!(by_title.hits[0].stages.bm25.unwrap().rank, 1);

    // No content word shared with the title; the description says "towed", "breaker's yard".
    let paraphrase = run(&curator, "an old sailing warship pulled by a steamboat to be scrapped", Mode::Dense);
    assert_eq!(ids(&paraphrase)[0], "sample:temeraire");

    let hybrid = run(&curator, "a firing squad shooting civilians", Mode::Hybrid);
    assert_eq!(ids(&hybrid)[0], "sample:third-of-may");
    assert!(hybrid.hits[0].stages.fused.is_some());
}

#[test]
fn results_are_identical_after_closing_and_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let queries = ["Vermeer", "a horse", "paintings about war", "Turner Thames"];
    let before: Vec<Vec<(String, f32)>> = {
        let curator = common::open(dir.path());
        common::ingest(&curator, common::sample_records());
        queries.iter().map(|q| run(&curator, q, Mode::Hybrid).hits.iter().map(|h| (h.record_id.clone(), h.score)).collect()).collect()
    };
    let curator = common::open(dir.path());
    let after: Vec<Vec<(String, f32)>> =
        queries.iter().map(|q| run(&curator, q, Mode::Hybrid).hits.iter().map(|h| (h.record_id.clone(), h.score)).collect()).collect();
    assert_eq!(before, after);
}

#[test]
fn re_ingesting_unchanged_records_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let curator = common::open(dir.path());
    common::ingest(&curator, common::sample_records());
    let generations_before = DataDir::new(dir.path()).generation_dirs();
    let again = common::ingest(&curator, common::sample_records());
    assert_eq!((again.added, again.updated, again.unchanged), (0, 0, 36));
    assert_eq!(again.generation, None);
    assert_eq!(DataDir::new(dir.path()).generation_dirs(), generations_before);
}

#[test]
fn chunks_of_the_same_text_are_embedded_once_and_share_its_vector() {
    // Turner's blank sketchbook pages: records that differ only in their id have chunks of one text.
    let dir = tempfile::tempdir().unwrap();
    let curator = common::open(dir.path());
    let mut records = common::sample_records();
    let first = records[0].clone();
    for n in 1..=3 {
        records.push(curator::records::MuseumRecord { id: format!("{}-copy{n}", first.id), ..first.clone() });
    }
    let report = common::ingest(&curator, records);
    let generation = curator.load_generation().unwrap();
    let chunks_of = |id: &str| generation.store.get(id).unwrap().chunk_ids.clone();
    let original = chunks_of(&first.id);
    let per_record = original.len();
    let all_chunks: usize = generation.store.records().map(|r| r.chunk_ids.len()).sum();
    assert_eq!(report.chunks_embedded + report.chunks_reused, all_chunks);
    assert_eq!(report.chunks_reused, 3 * per_record, "each copy's chunks were embedded again: {report:?}");
    for n in 1..=3 {
        for (a, b) in original.iter().zip(chunks_of(&format!("{}-copy{n}", first.id))) {
            assert_eq!(generation.vectors.vector(*a), generation.vectors.vector(b));
        }
    }
}

#[test]
fn a_changed_record_replaces_its_chunks_everywhere_and_a_deleted_one_disappears() {
    let dir = tempfile::tempdir().unwrap();
    let curator = common::open(dir.path());
    let mut records = common::sample_records();
    common::ingest(&curator, records.clone());

    let hay_wain = records.iter_mut().find(|r| r.id == "sample:hay-wain").unwrap();
    hay_wain.description = Some("A zeppelin hovers over the river while a marmalade cat naps on the cart.".into());
    let report = common::ingest(&curator, records);
    assert_eq!((report.added, report.updated, report.unchanged), (0, 1, 35));

    let generation = curator.load_generation().unwrap();
    let stored = generation.store.get("sample:hay-wain").unwrap();
    let texts: Vec<&str> = stored.chunk_ids.iter().map(|&id| generation.store.chunk(id).unwrap().text.as_str()).collect();
    assert!(texts.iter().any(|t| t.contains("zeppelin")) && !texts.iter().any(|t| t.contains("Flatford")));
    let live_for_record = generation.store.live_chunks().filter(|c| c.record_id == "sample:hay-wain").count();
    assert_eq!(live_for_record, stored.chunk_ids.len(), "old chunks must be gone from the store");
    drop(generation);

    // Words only the old description had no longer reach the record through BM25; the new ones do,
    // through both retrievers.
    assert!(!ids(&run(&curator, "Flatford Willy Lott haymakers", Mode::Bm25)).contains(&"sample:hay-wain".to_string()));
    for mode in [Mode::Bm25, Mode::Dense] {
        let new_text = "a zeppelin hovering over a river while a marmalade cat naps on a cart";
        assert_eq!(ids(&run(&curator, new_text, mode))[0], "sample:hay-wain", "{mode}");
    }

    let report = curator.ingest(Vec::new(), &["sample:hay-wain".into(), "sample:nope".into()], &IngestOptions::default(), &|_, _| {}).unwrap();
    assert_eq!(report.deleted, 1);
    assert_eq!(report.not_found, ["sample:nope"]);
    for mode in [Mode::Bm25, Mode::Dense, Mode::Hybrid] {
        assert!(!ids(&run(&curator, "zeppelin marmalade cat", mode)).contains(&"sample:hay-wain".to_string()), "{mode}");
    }
    let generation = curator.load_generation().unwrap();
    assert_eq!(generation.manifest.records, 35);
}

#[test]
fn a_generation_built_with_another_embedding_model_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let curator = common::open(dir.path());
    common::ingest(&curator, common::sample_records());
    let current = DataDir::new(dir.path()).current().unwrap().unwrap();
    let manifest_path = current.join("manifest.json");
    let text = std::fs::read_to_string(&manifest_path).unwrap();
    let sha = curator.embedder().identity().sha256.clone();
    std::fs::write(&manifest_path, text.replace(sha.as_str(), &"0".repeat(64))).unwrap();
    let err = curator.load_generation().err().expect("must refuse");
    assert!(err.to_string().contains("embedding model"), "{err}");
    assert!(err.to_string().contains("--rebuild"), "{err}");

    std::fs::write(&manifest_path, text.replace("\"format_version\": 1", "\"format_version\": 99")).unwrap();
    let err = curator.load_generation().err().expect("must refuse");
    assert!(err.to_string().contains("format 99"), "{err}");
}

/// A copy of the embedding model in `from` as a model of its own named `name` (the same vectors, another id).
fn embedding_model_copy(from: &std::path::Path, to: &std::path::Path, name: &str) {
    std::fs::create_dir(to).unwrap();
    for file in ["model.onnx", "tokenizer.json", "config.json", "special_tokens_map.json", "tokenizer_config.json"] {
        std::fs::copy(from.join(file), to.join(file)).unwrap_or_else(|e| panic!("{}: {e}", from.join(file).display()));
    }
    std::fs::write(to.join("manifest.json"), serde_json::json!({ "name": name }).to_string()).unwrap();
}

/// Issue 12.1: a fine-tuned embedding model is a folder `embedding.model_dir` names; its manifest's name
/// is the model id stamped into the index, and an index it built is refused by the fetched model, so two
/// models' vectors are never compared (even when, as here, the two files are the same).
#[test]
fn an_index_built_with_the_configured_embedding_model_is_refused_by_the_fetched_one() {
    let dir = tempfile::tempdir().unwrap();
    let settings = common::settings(dir.path());
    let fetched = settings.embedding.dir_in(&settings.model_dir());
    let models = tempfile::tempdir().unwrap();
    let tuned = models.path().join("embedding-tuned");
    embedding_model_copy(&fetched, &tuned, "all-MiniLM-L6-v2 fine-tuned on museum data, int8 ONNX, mean pooling");

    let tuned_dir = tuned.display().to_string();
    let with_tuned = curator::app::Curator::open(common::settings_with(dir.path(), &[("CURATOR_EMBEDDING_MODEL_DIR", &tuned_dir)])).unwrap();
    assert_eq!(with_tuned.embedder().identity().model_id, "all-MiniLM-L6-v2 fine-tuned on museum data, int8 ONNX, mean pooling");
    common::ingest(&with_tuned, common::sample_records());
    assert!(with_tuned.load_generation().is_ok());

    let with_fetched = common::open(dir.path());
    assert_ne!(with_fetched.embedder().identity().model_id, with_tuned.embedder().identity().model_id);
    let err = with_fetched.load_generation().err().expect("the fetched model must refuse the tuned model's index");
    assert!(err.to_string().contains("embedding model"), "{err}");
    assert!(err.to_string().contains("curator reembed"), "{err}");
}

/// Issues 12.1 and 12.8: once the fine-tuned model is trained (the default model then), `reembed` embeds
/// every record of the index again with it into a new generation, and a server that was answering from
/// the fetched model's generation switches to it, embedding queries with the model that built each
/// generation; nothing is dropped.
#[test]
fn a_server_switches_to_the_index_embedded_again_with_the_newly_trained_model_and_searches_it_with_that_model() {
    let data = tempfile::tempdir().unwrap();
    let real_models = common::settings(data.path()).model_dir();
    // A model cache of links to this machine's, with no fine-tuned embedding model yet.
    let models = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(&real_models).unwrap() {
        let entry = entry.unwrap();
        if entry.file_name() != curator::config::TUNED_EMBEDDING_DIR {
            std::os::unix::fs::symlink(entry.path(), models.path().join(entry.file_name())).unwrap();
        }
    }
    let models_dir = models.path().display().to_string();
    let defaults = [("CURATOR_PATHS_MODEL_DIR", models_dir.as_str()), ("CURATOR_EMBEDDING_MODEL_DIR", "")];
    let server = curator::app::Curator::open(common::settings_with(data.path(), &defaults)).unwrap();
    assert_eq!(server.embedder().identity().model_id, curator::embed::EMBEDDING_MODEL_ID, "no fine-tuned model yet: the fetched one");
    common::ingest(&server, common::sample_records());
    let before = server.load_served_generation().unwrap();
    let query = server.request("a maid pouring milk in a quiet kitchen", Mode::Dense, Some(5), Filters::default());
    let found_before = ids(&server.search(&before, &query).unwrap());

    let tuned_name = "fine-tuned for this test";
    embedding_model_copy(&real_models.join(curator::config::FETCHED_EMBEDDING_DIR), &models.path().join(curator::config::TUNED_EMBEDDING_DIR), tuned_name);
    let preparer = curator::app::Curator::open(common::settings_with(data.path(), &defaults)).unwrap();
    assert_eq!(preparer.embedder().identity().model_id, tuned_name, "once trained, the fine-tuned model is the default");
    let refused = preparer.load_generation().err().expect("evaluation and the command line search only the configured model's index");
    assert!(refused.to_string().contains("curator reembed"), "{refused}");
    let report = preparer.reembed(&|_, _| {}).unwrap().expect("the index is embedded again");
    assert_eq!(report.added, before.manifest.records);
    assert!(preparer.reembed(&|_, _| {}).unwrap().is_none(), "embedded with the configured model already: nothing to do");

    let after = server.load_served_generation().expect("the server loads the new generation with the model that built it");
    assert_eq!(after.manifest.embedding.model_id, tuned_name);
    assert_eq!(after.manifest.records, before.manifest.records);
    assert_eq!(server.embedder_for(&after).identity(), &after.manifest.embedding);
    assert_eq!(server.embedder_for(&before).identity(), &before.manifest.embedding, "the old generation keeps its model");
    // The same weights under another name: the same neighbours, from the new generation's own vectors.
    assert_eq!(ids(&server.search(&after, &query).unwrap()), found_before);
    // The answer gate served is the one fitted on this model's lists (`Curator::reload_scoring`).
    assert_eq!(server.served_embedder().identity().model_id, tuned_name);

    // The server, whose configured model is still the fetched one, goes on taking records: with the model
    // that built the index.
    let mut added = common::sample_records()[0].clone();
    added.id = "sample:added-after-the-switch".into();
    let report = server.ingest(vec![added], &[], &IngestOptions::default(), &|_, _| {}).expect("an ingest after the switch");
    assert_eq!(report.added, 1);
    let latest = server.load_served_generation().unwrap();
    assert_eq!(latest.manifest.embedding.model_id, tuned_name);
    assert_eq!(latest.manifest.records, before.manifest.records + 1);

    // A re-embedding computed from a generation that is no longer current changes nothing.
    let stale = IngestOptions { rebuild: true, commit_every: 0, replaces: Some(after.dir.clone()) };
    let refused = preparer.ingest(common::sample_records(), &[], &stale, &|_, _| {}).err().expect("CURRENT moved since");
    assert!(matches!(refused, curator::ingest::IngestError::CurrentMoved), "{refused}");
    assert_eq!(server.load_served_generation().unwrap().dir, latest.dir);
}

#[test]
fn filters_hold_in_every_mode() {
    let dir = tempfile::tempdir().unwrap();
    let curator = common::open(dir.path());
    common::ingest(&curator, common::sample_records());
    let generation = curator.load_generation().unwrap();
    let cases = [
        Filters::parse(["maker=vermeer"]).unwrap(),
        Filters::parse(["year=1800..1850"]).unwrap(),
        Filters::parse(["object_type=print"]).unwrap(),
    ];
    for filters in cases {
        let expected = generation.store.records().filter(|r| filters.matches(&r.record)).count();
        for mode in [Mode::Bm25, Mode::Dense, Mode::Hybrid] {
            let request = curator.request("painting of people", mode, Some(20), filters.clone());
            let response = curator.search(&generation, &request).unwrap();
            for hit in &response.hits {
                let record = &generation.store.get(&hit.record_id).unwrap().record;
                assert!(filters.matches(record), "{mode} {filters:?} let {} through", hit.record_id);
            }
            if mode == Mode::Dense {
                assert_eq!(response.hits.len(), expected.min(20), "dense must find every filtered record");
            }
        }
    }
}

#[test]
fn duplicate_ids_in_one_ingest_keep_the_first_record_and_leave_the_index_loadable() {
    // Regression: two rows of one export with the same id made a generation whose text index held one
    // more document than its manifest, and every later load failed as corrupt.
    let dir = tempfile::tempdir().unwrap();
    let curator = common::open(dir.path());
    let mut records = common::sample_records();
    let mut second = records[0].clone();
    second.title = "A second row with the same id".into();
    records.push(second);
    let report = common::ingest(&curator, records);
    assert_eq!(report.duplicate_ids, vec![common::sample_records()[0].id.clone()]);
    assert_eq!(report.added, 36);
    let generation = curator.load_generation().expect("the new generation loads");
    assert_eq!(generation.manifest.records, 36);
    // The first row is kept, as the readers keep it.
    assert_eq!(generation.store.get(&common::sample_records()[0].id).unwrap().record.title, common::sample_records()[0].title);
    assert!(run(&curator, "A second row with the same id", Mode::Bm25).hits.iter().all(|h| h.title != "A second row with the same id"));
    // And the index still takes the next ingest.
    let again = common::ingest(&curator, common::sample_records());
    assert_eq!(again.unchanged, 36);
    curator.load_generation().expect("loads after the next ingest");
}

#[test]
fn a_rebuild_from_no_records_is_refused_and_keeps_the_index() {
    // Regression: `ingest --rebuild` of a path with no records replaced the index with an empty one.
    let dir = tempfile::tempdir().unwrap();
    let curator = common::open(dir.path());
    common::ingest(&curator, common::sample_records());
    let refused = curator.ingest(Vec::new(), &[], &IngestOptions { rebuild: true, ..Default::default() }, &|_, _| {});
    assert!(refused.is_err(), "an empty rebuild was accepted");
    assert_eq!(curator.load_generation().unwrap().manifest.records, 36);
}

#[test]
fn a_rebuild_recovers_from_a_current_that_names_a_missing_or_broken_generation() {
    // Issue 11: `--rebuild` failed like every other command when CURRENT named a missing generation.
    let dir = tempfile::tempdir().unwrap();
    let curator = common::open(dir.path());
    common::ingest(&curator, common::sample_records());
    let kept = curator.data.current().unwrap().unwrap();

    std::fs::write(dir.path().join("CURRENT"), "00000099").unwrap();
    let broken = curator.load_generation().err().expect("a missing generation loaded").to_string();
    assert!(broken.contains("--rebuild"), "the error does not say how to recover: {broken}");
    let refused = curator.ingest(common::sample_records(), &[], &IngestOptions::default(), &|_, _| {});
    assert!(refused.is_err(), "an ingest on top of a missing generation went ahead");
    let rebuilt = curator.ingest(common::sample_records(), &[], &IngestOptions { rebuild: true, ..Default::default() }, &|_, _| {}).unwrap();
    assert_eq!(rebuilt.added, 36);
    assert_eq!(curator.load_generation().unwrap().manifest.records, 36);
    assert!(kept.join("manifest.json").is_file(), "the rebuild deleted the last good generation, which rollback could return to");

    // A generation whose files are gone but whose manifest is there.
    let current = curator.data.current().unwrap().unwrap();
    std::fs::remove_dir_all(current.join(curator::index::tantivy_dir_name())).unwrap();
    assert!(curator.load_generation().is_err());
    curator.ingest(common::sample_records(), &[], &IngestOptions { rebuild: true, ..Default::default() }, &|_, _| {}).unwrap();
    assert_eq!(curator.load_generation().unwrap().manifest.records, 36);
}

#[test]
fn a_generation_that_does_not_load_back_is_never_switched_to() {
    // Issue 11: a new generation was switched to without being reopened first.
    let dir = tempfile::tempdir().unwrap();
    let curator = common::open(dir.path());
    common::ingest(&curator, common::sample_records());
    let before = curator.data.current().unwrap();
    let manifest = curator.load_generation().unwrap().manifest.clone();
    let lock = curator.data.lock_writer().unwrap();
    let new = curator.data.begin(&lock).unwrap();
    // A generation whose files were written but which does not load back (the check stands for any reason).
    std::fs::create_dir_all(new.dir.join(curator::index::tantivy_dir_name())).unwrap();
    let refused = curator.data.commit(&lock, &new, manifest, |dir| {
        Err(curator::index::IndexError::Corrupt { path: dir.to_path_buf(), why: "did not load".into() })
    });
    let message = refused.expect_err("a generation that failed its check was committed").to_string();
    assert!(message.contains("left as it was") && message.contains("did not load"), "{message}");
    drop(lock);
    assert_eq!(curator.data.current().unwrap(), before, "CURRENT moved");
    assert_eq!(curator.load_generation().unwrap().manifest.records, 36);
    // The next ingest clears the rejected directory and completes.
    let mut changed = common::sample_records();
    changed[0].title = "Renamed".into();
    assert_eq!(common::ingest(&curator, changed).updated, 1);
    assert!(!new.dir.exists(), "the rejected generation was left behind");
}

#[test]
fn no_ingest_deletes_the_generation_a_server_serves() {
    // Issue 11: an ingest deleted old generations whether or not a running server still served one.
    let dir = tempfile::tempdir().unwrap();
    let curator = common::open(dir.path());
    common::ingest(&curator, common::sample_records());
    let served = curator.data.current().unwrap().unwrap();
    curator.data.mark_serving(&served).unwrap();
    for round in 0..3 {
        let mut changed = common::sample_records();
        changed[0].title = format!("Renamed {round}");
        common::ingest(&curator, changed);
    }
    assert!(served.exists(), "three ingests later, the served generation is still there");
    curator::index::Generation::load(&served, curator.embedder().identity()).expect("and it still loads");
    curator.data.unmark_serving();
    let mut changed = common::sample_records();
    changed[0].title = "Renamed once more".into();
    common::ingest(&curator, changed);
    assert!(!served.exists(), "once nobody serves it, it is cleared like any old generation");
}

/// Issue 12.8: a large first ingest commits a generation every N records, so that a server searches
/// what is indexed so far; the end result is the same as one commit, copies of an id across steps included.
#[test]
fn an_ingest_in_steps_commits_a_generation_per_step_and_keeps_the_first_copy_of_an_id() {
    let dir = tempfile::tempdir().unwrap();
    let curator = common::open(dir.path());
    let mut records = common::sample_records();
    let first = records[0].clone();
    let mut later_copy = first.clone();
    later_copy.title = "A later copy that must not replace the first".into();
    records.push(later_copy);
    let seen = std::sync::Mutex::new(Vec::new());
    let options = IngestOptions { commit_every: 10, ..Default::default() };
    let report = curator.ingest(records, &[], &options, &|done, total| seen.lock().unwrap().push((done, total))).unwrap();
    assert_eq!((report.added, report.unchanged), (36, 0));
    assert_eq!(report.duplicate_ids, [first.id.clone()]);
    // Steps of 1, 2, 4, 8, then 10: the first generation comes after one record.
    assert_eq!(report.generation, Some(7), "36 records in steps of 1, 2, 4, 8, 10, 10, 1 are 7 generations");
    assert_eq!(seen.lock().unwrap().last(), Some(&(36, 36)), "progress ends at every record");

    let generation = curator.load_generation().unwrap();
    assert_eq!(generation.store.record_count(), 36);
    assert_eq!(generation.store.get(&first.id).unwrap().record.title, first.title);
    let by_title = run(&curator, "Wanderer above the Sea of Fog", Mode::Bm25);
    assert_eq!(ids(&by_title)[0], "sample:wanderer");

    // The same records again in steps change nothing and write nothing.
    let again = curator.ingest(common::sample_records(), &[], &options, &|_, _| {}).unwrap();
    assert_eq!((again.added, again.unchanged, again.generation), (0, 36, None));
    // One record changed and one deleted: one generation, the delete applied with it.
    let mut changed = common::sample_records();
    changed[1].title = "A new title".into();
    let gone = changed.pop().unwrap().id;
    let report = curator.ingest(changed, &[gone.clone()], &options, &|_, _| {}).unwrap();
    assert_eq!((report.updated, report.unchanged, report.deleted, report.generation), (1, 34, 1, Some(8)));
    // Unchanged records and a delete alone: the delete is not lost.
    let mut same = common::sample_records();
    let second = same.remove(2).id;
    same.retain(|r| r.id != gone);
    let report = curator.ingest(same, &[second], &options, &|_, _| {}).unwrap();
    assert_eq!((report.deleted, report.generation), (1, Some(9)));
    assert_eq!(curator.load_generation().unwrap().store.record_count(), 34);

    // A rebuild in steps would serve a cut-down index midway: refused, nothing changed.
    let rebuild = IngestOptions { rebuild: true, commit_every: 10, replaces: None };
    let refused = curator.ingest(common::sample_records(), &[], &rebuild, &|_, _| {});
    assert!(matches!(refused, Err(curator::ingest::IngestError::SteppedRebuild)), "{:?}", refused.map(|r| r.generation));
    assert_eq!(curator.load_generation().unwrap().manifest.generation, 9);
}

/// Issue 12.7: an index built before `chunking.embed_bookkeeping` was off (its vectors read dimensions and
/// credit lines) refuses an ingest on top of it, naming `curator reembed`, rather than mixing two kinds of
/// vector; reembed builds it again from its own records, one added through the API since included, and
/// ingests then go ahead.
#[test]
fn an_index_built_under_other_chunking_settings_refuses_an_ingest_and_reembed_builds_it_again_with_every_record() {
    let dir = tempfile::tempdir().unwrap();
    let old = curator::app::Curator::open(common::settings_with(dir.path(), &[("CURATOR_CHUNKING_EMBED_BOOKKEEPING", "true")])).unwrap();
    let mut records = common::sample_records();
    let mut added_later = records[0].clone();
    added_later.id = "sample:added-through-the-api".into();
    added_later.title = "A Record Only the Index Holds".into();
    records.push(added_later);
    let total = records.len();
    common::ingest(&old, records);

    let now = common::open(dir.path());
    assert!(!now.settings.chunking.embed_bookkeeping, "the default leaves dimensions and credit lines out of the embedding");
    let manifest = now.current_manifest().unwrap().expect("an index");
    assert!(manifest.chunking.embed_bookkeeping && !now.built_as_configured(&manifest));
    let refused = now.ingest(common::sample_records(), &[], &IngestOptions::default(), &|_, _| {}).err().expect("two kinds of vector in one index");
    assert!(refused.to_string().contains("curator reembed"), "{refused}");

    let report = now.reembed(&|_, _| {}).unwrap().expect("built again under the settings in use");
    assert_eq!(report.added, total, "every record of the index, the one only it holds included");
    let manifest = now.current_manifest().unwrap().unwrap();
    assert!(!manifest.chunking.embed_bookkeeping && now.built_as_configured(&manifest));
    assert!(now.reembed(&|_, _| {}).unwrap().is_none(), "built as configured already: nothing to do");
    common::ingest(&now, common::sample_records());
    assert_eq!(run(&now, "A Record Only the Index Holds", Mode::Bm25).hits[0].record_id, "sample:added-through-the-api");
}
