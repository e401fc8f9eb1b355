//! Retrieval over a real index: chunks collapse to distinct records, fusion settings change the order as
//! configured, and the cross-encoder reorders the first stage's top as configured.

mod common;

use std::collections::HashSet;

use curator::index::Filters;
use curator::records::MuseumRecord;
use curator::retrieve::fusion::Fusion;
use curator::retrieve::Mode;

/// The sample records' index in a temporary data directory (kept alive by the returned guard).
fn sample_index() -> (tempfile::TempDir, curator::app::Curator, curator::index::Generation) {
    sample_index_with(&[])
}

/// The sample plus records made from (id, title, description), each otherwise a copy of the first sample
/// record.
fn sample_index_with(extra: &[(&str, &str, &str)]) -> (tempfile::TempDir, curator::app::Curator, curator::index::Generation) {
    sample_index_plus(|template| {
        extra
            .iter()
            .map(|(id, title, description)| MuseumRecord {
                id: id.to_string(),
                title: title.to_string(),
                description: Some(description.to_string()),
                ..template.clone()
            })
            .collect()
    })
}

/// The sample plus records made from (id, title, maker), each otherwise a copy of the first sample record.
fn sample_index_with_makers(extra: &[(String, String, String)]) -> (tempfile::TempDir, curator::app::Curator, curator::index::Generation) {
    sample_index_plus(|template| {
        extra
            .iter()
            .map(|(id, title, maker)| MuseumRecord { id: id.clone(), title: title.clone(), makers: vec![maker.clone()], ..template.clone() })
            .collect()
    })
}

/// The sample plus the records `extra` makes from the first sample record.
fn sample_index_plus(extra: impl FnOnce(&MuseumRecord) -> Vec<MuseumRecord>) -> (tempfile::TempDir, curator::app::Curator, curator::index::Generation) {
    let dir = tempfile::tempdir().unwrap();
    let curator = common::open(dir.path());
    let mut records = common::sample_records();
    let added = extra(&records[0]);
    records.extend(added);
    common::ingest(&curator, records);
    let generation = curator.load_generation().unwrap();
    (dir, curator, generation)
}

/// The sample plus records with long descriptions, so that many records have several chunks.
fn records_with_many_chunks() -> Vec<MuseumRecord> {
    let mut records = common::sample_records();
    for r in records.iter_mut().take(12) {
        let d = r.description.clone().unwrap_or_default();
        r.description = Some(format!("{d} {d} {d}"));
    }
    records
}

#[test]
fn no_record_is_returned_twice_in_any_mode() {
    let dir = tempfile::tempdir().unwrap();
    let curator = common::open(dir.path());
    common::ingest(&curator, records_with_many_chunks());
    let generation = curator.load_generation().unwrap();
    assert!(generation.manifest.live_chunks > 2 * generation.manifest.records, "fixture must have multi-chunk records");
    for query in ["portrait", "Rembrandt militia company Amsterdam", "river landscape", "war"] {
        for mode in [Mode::Bm25, Mode::Dense, Mode::Hybrid] {
            let response = curator.search(&generation, &curator.request(query, mode, Some(30), Filters::default())).unwrap();
            let ids: Vec<&str> = response.hits.iter().map(|h| h.record_id.as_str()).collect();
            let unique: HashSet<&str> = ids.iter().copied().collect();
            assert_eq!(unique.len(), ids.len(), "{mode} {query:?} returned a record twice: {ids:?}");
            for (i, hit) in response.hits.iter().enumerate() {
                assert_eq!(hit.rank, i + 1);
                assert_eq!(generation.store.chunk(hit.chunk.id).unwrap().record_id, hit.record_id, "shown chunk belongs to another record");
            }
        }
    }
}

#[test]
fn fusion_weights_decide_between_the_retrievers() {
    let (_dir, curator, generation) = sample_index();
    let query = "painting of a ship";
    let mut request = curator.request(query, Mode::Hybrid, Some(5), Filters::default());
    request.rerank = None;
    request.fusion = Fusion::Rrf { k: 60.0, bm25_weight: 1.0, dense_weight: 0.0 };
    let only_bm25 = curator.search(&generation, &request).unwrap();
    let bm25 = curator.search(&generation, &curator.request(query, Mode::Bm25, Some(5), Filters::default())).unwrap();
    let ids = |r: &curator::retrieve::SearchResponse| r.hits.iter().map(|h| h.record_id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&only_bm25), ids(&bm25), "with the dense weight at 0, hybrid is BM25's order");

    request.fusion = Fusion::Blend { dense_share: 1.0, unmatched_share: 1.0, full_match: 0.0 };
    let only_dense = curator.search(&generation, &request).unwrap();
    let dense = curator.search(&generation, &curator.request(query, Mode::Dense, Some(5), Filters::default())).unwrap();
    assert_eq!(ids(&only_dense)[0], ids(&dense)[0], "with the dense share at 1, hybrid's best is dense's best");
}

/// Issue 12.2: min-max normalisation put BM25's best hit first however little of the query it held, so a
/// mood that no record's words say was ranked by incidental word matches. Below a full match the dense
/// share is the unmatched share; a query that copies a record's words keeps the base share.
#[test]
fn a_query_whose_words_the_records_do_not_hold_is_ranked_by_the_dense_list() {
    let (_dir, curator, generation) = sample_index();
    let ids = |r: &curator::retrieve::SearchResponse| r.hits.iter().map(|h| h.record_id.clone()).collect::<Vec<_>>();
    let hybrid = |query: &str| {
        let mut request = curator.request(query, Mode::Hybrid, Some(5), Filters::default());
        request.rerank = None;
        request.diversify = false;
        request.fusion = Fusion::Blend { dense_share: 0.0, unmatched_share: 1.0, full_match: 0.5 };
        ids(&curator.search(&generation, &request).unwrap())
    };
    let single = |query: &str, mode| ids(&curator.search(&generation, &{
        let mut r = curator.request(query, mode, Some(5), Filters::default());
        r.diversify = false;
        r
    }).unwrap());

    let mood = "brooding gloomy dread sea";
    let best = &curator.search(&generation, &curator.request(mood, Mode::Bm25, Some(1), Filters::default())).unwrap().hits[0];
    let matched = generation.text.matched_share(mood, &best.chunk.text);
    assert!(matched > 0.0 && matched < 0.5, "the test needs a partial match, got {matched}");
    assert_eq!(hybrid(mood), single(mood, Mode::Dense), "a mood is ranked by the dense list");

    let copied = "The Night Watch militia company of Captain Frans Banninck Cocq";
    // Min-max normalisation gives BM25's last hit 0, the score of a record it did not find: the top 3 are compared.
    assert_eq!(hybrid(copied)[..3], single(copied, Mode::Bm25)[..3], "a question in the records' words keeps BM25's order");
}

/// The reranking path with a real cross-encoder (the small test model, issue 11.5): with the first stage's
/// share at 0 the order is exactly the model's order of the first stage's top records; at 1 it is the
/// first stage's; in between the blend moves records; every reranked hit carries its model rank.
#[test]
fn reranking_orders_the_first_stage_top_by_the_cross_encoder() {
    let (_dir, curator, generation) = sample_index();
    let scoring = curator.scoring();
    let reranker = scoring.reranker.as_deref().expect("common::open checks the reranker");
    let query = "what does the small dog in the room symbolise";
    let depth = 8;
    let mut request = curator.request(query, Mode::Hybrid, Some(depth), Filters::default());
    request.rerank = None;
    let first_stage = curator.search(&generation, &request).unwrap();
    assert!(!first_stage.reranked);
    let ids = |r: &curator::retrieve::SearchResponse| r.hits.iter().map(|h| h.record_id.clone()).collect::<Vec<_>>();

    let texts: Vec<&str> = first_stage.hits.iter().map(|h| h.chunk.text.as_str()).collect();
    let scores = reranker.score(query, &texts).unwrap();
    let mut by_model: Vec<(String, f32)> = first_stage.hits.iter().map(|h| h.record_id.clone()).zip(scores).collect();
    by_model.sort_by(|a, b| b.1.total_cmp(&a.1));
    let model_order: Vec<String> = by_model.iter().map(|(id, _)| id.clone()).collect();
    assert_ne!(model_order, ids(&first_stage), "the fixture query must be one the model reorders");

    request.rerank = Some(curator::retrieve::RerankRequest { depth, first_stage_share: 0.0 });
    let alone = curator.search(&generation, &request).unwrap();
    assert!(alone.reranked);
    assert_eq!(ids(&alone), model_order, "share 0: the cross-encoder's order");
    for (i, hit) in alone.hits.iter().enumerate() {
        assert_eq!(hit.stages.rerank.map(|s| s.rank), Some(i + 1), "{}", hit.record_id);
        assert!(hit.stages.fused.is_some(), "the first stage's rank stays visible");
    }

    request.rerank = Some(curator::retrieve::RerankRequest { depth, first_stage_share: 1.0 });
    assert_eq!(ids(&curator.search(&generation, &request).unwrap()), ids(&first_stage), "share 1: the first stage's order");

    // The scores are the model's: a relevant pair scores above an irrelevant one.
    let arnolfini = first_stage.hits.iter().find(|h| h.record_id == "sample:arnolfini").expect("the Arnolfini Portrait is a candidate");
    let pair = reranker.score(query, &[&arnolfini.chunk.text, "Sunflowers\nby Vincent van Gogh (1888)\nstill life"]).unwrap();
    assert!(pair[0] > pair[1], "{pair:?}");
}

/// Each cross-encoder score comes back at its own text's place, whatever order the texts are given in
/// (fastembed returns results with their index; reordering texts, as was tried for less padding, must put
/// them back).
#[test]
fn reranker_scores_come_back_in_the_order_the_texts_were_given() {
    let (_dir, curator, _generation) = sample_index();
    let scoring = curator.scoring();
    let reranker = scoring.reranker.as_deref().expect("common::open checks the reranker");
    let query = "what does the small dog in the room symbolise";
    let long_relevant = "The Arnolfini Portrait\nby Jan van Eyck (1434)\nA merchant and his wife stand in a room; the small dog \
        at their feet is read as a symbol of fidelity, and the single candle in the chandelier as God's presence.";
    let short_irrelevant = "Sunflowers\nby Vincent van Gogh (1888)";
    let middle = "A dog sleeps by the fire in a farmhouse kitchen.";
    let forward = reranker.score(query, &[long_relevant, short_irrelevant, middle]).unwrap();
    let backward = reranker.score(query, &[middle, short_irrelevant, long_relevant]).unwrap();
    assert_eq!(forward, vec![backward[2], backward[1], backward[0]], "a score belongs to its text, not to a place in the batch");
    assert!(forward[0] > forward[1], "the relevant text scores above the irrelevant one: {forward:?}");
}

/// Issue 13.1: `curator search 'Venice: Sunset' --mode bm25` found nothing, because tantivy read
/// `Venice:` as a field name; the same for other query-syntax characters in ordinary titles.
#[test]
fn a_title_with_query_syntax_characters_is_found_by_bm25() {
    let dir = tempfile::tempdir().unwrap();
    let curator = common::open(dir.path());
    let mut records = common::sample_records();
    let mut venice = records[0].clone();
    venice.id = "sample:venice-sunset".into();
    venice.title = "Venice: Sunset".into();
    venice.description = Some("Turner's watercolour of the lagoon at dusk [study] (unfinished)".into());
    records.push(venice);
    common::ingest(&curator, records);
    let generation = curator.load_generation().unwrap();
    for query in ["Venice: Sunset", "venice:sunset", "Venice: Sunset [study]?", "(unfinished) lagoon^2 ~dusk", "title:venice"] {
        let response = curator.search(&generation, &curator.request(query, Mode::Bm25, Some(3), Filters::default())).unwrap();
        assert_eq!(response.hits.first().map(|h| h.record_id.as_str()), Some("sample:venice-sunset"), "query {query:?}");
    }
    // A documented field prefix still restricts the words to that field.
    let by_title = curator.search(&generation, &curator.request("title:lagoon", Mode::Bm25, Some(3), Filters::default())).unwrap();
    assert!(by_title.hits.is_empty(), "'lagoon' is in the description only, not the title");
}

/// A question that quotes a title with a stop word in it, "What materials were used for 'Woman Feeding a
/// Calf'?", found nothing by BM25: tantivy read the single quotes as a phrase, search left the stop word
/// "a" out of it, and "woman feeding calf" matched no title's positions. A quoted title also outranks
/// records that hold its words apart.
#[test]
fn a_question_quoting_a_title_finds_that_record_first_by_bm25() {
    let (_dir, curator, generation) = sample_index_with(&[
        ("sample:woman-feeding-a-calf", "Woman Feeding a Calf", "Graphite on paper."),
        ("sample:calf", "A Calf in a Field", "A woman passes a calf; feeding time on the farm, materials of farm life."),
        ("sample:materials", "Materials for a Leisure Hour", "Materials used for feeding a woman's leisure: a calf-bound book."),
    ]);
    for query in ["What materials were used for 'Woman Feeding a Calf'?", "Who made ‘Woman Feeding a Calf’?", "\"Woman Feeding a Calf\" materials"] {
        let response = curator.search(&generation, &curator.request(query, Mode::Bm25, Some(3), Filters::default())).unwrap();
        assert_eq!(response.hits.first().map(|h| h.record_id.as_str()), Some("sample:woman-feeding-a-calf"), "query {query:?}");
    }
}

/// A maker's name with its accented letter typed plainly or lost (AQUA's questions lost theirs: "what did
/// velzquez recruit") matched no chunk, so BM25 found only the question's other words. A word no chunk
/// holds is now also read as the indexed word one edit away.
#[test]
fn a_name_misspelt_by_one_letter_finds_the_record_that_spells_it_right_by_bm25() {
    let (_dir, curator, generation) = sample_index_with(&[
        ("sample:olivares", "The Count-Duke at the Royal Mews", "In 1633 Velázquez recruited the services of his son-in-law."),
        ("sample:services", "Services of the Guild", "The guild recruited painters for its services and recruited apprentices every spring."),
        ("sample:lot", "Lot and his Daughters", "Dürer must have intended the two sides to be seen together."),
        ("sample:sides", "Two Sides", "Both sides were intended to be seen together, as the painter must have intended."),
    ]);
    let first = |query: &str| {
        let response = curator.search(&generation, &curator.request(query, Mode::Bm25, Some(3), Filters::default())).unwrap();
        response.hits.first().map(|h| h.record_id.clone())
    };
    for query in ["what did velzquez recruit", "what did Velazquez recruit"] {
        assert_eq!(first(query).as_deref(), Some("sample:olivares"), "query {query:?}");
    }
    assert_eq!(first("how many sides must drer have intended").as_deref(), Some("sample:lot"));
}

/// Issue 13.1: a pasted record id finds that record first, in every mode, whatever its source's case.
#[test]
fn a_pasted_record_id_finds_that_record_first() {
    let (_dir, curator, generation) = sample_index();
    for mode in [Mode::Bm25, Mode::Dense, Mode::Hybrid] {
        for query in ["sample:night-watch", "Sample:night-watch", "  sample:night-watch "] {
            let response = curator.search(&generation, &curator.request(query, mode, Some(5), Filters::default())).unwrap();
            assert_eq!(response.hits[0].record_id, "sample:night-watch", "{mode} {query:?}");
            let ids: HashSet<_> = response.hits.iter().map(|h| &h.record_id).collect();
            assert_eq!(ids.len(), response.hits.len(), "the pinned record is not listed twice");
        }
    }
    // A filter that excludes the record wins over the pasted id.
    let filters = Filters { source: Some("tate".into()), ..Filters::default() };
    let response = curator.search(&generation, &curator.request("sample:night-watch", Mode::Hybrid, Some(5), filters)).unwrap();
    assert!(response.hits.iter().all(|h| h.record_id != "sample:night-watch"));
}

/// Issue 13.9: "dog" returned five prints of one series (Tate's "Walking the Dog", 40 of them). A series'
/// repeats move below every other record; with the setting off they stay where they ranked.
#[test]
fn a_series_of_prints_with_one_title_does_not_fill_the_first_page() {
    let dir = tempfile::tempdir().unwrap();
    let curator = common::open(dir.path());
    let mut records = common::sample_records();
    let template = records[0].clone();
    for n in 0..6 {
        records.push(MuseumRecord {
            id: format!("sample:walking-the-dog-{n}"),
            title: "Walking the Dog".into(),
            makers: vec!["Keith Arnatt".into()],
            description: Some(format!("A dog owner walks the dog on a lead in a suburban street, photograph {n}.")),
            subjects: vec!["dog".into()],
            ..template.clone()
        });
    }
    common::ingest(&curator, records);
    let generation = curator.load_generation().unwrap();
    let series_on_page = |request: curator::retrieve::SearchRequest| {
        let hits = curator.search(&generation, &request).unwrap().hits;
        let series = hits.iter().filter(|h| h.title == "Walking the Dog").count();
        (series, hits.len())
    };
    for mode in [Mode::Bm25, Mode::Dense, Mode::Hybrid] {
        let (series, shown) = series_on_page(curator.request("a dog walked on a lead", mode, Some(5), Filters::default()));
        assert_eq!(shown, 5, "{mode}");
        assert_eq!(series, 1, "{mode}: one print of the series on a page with room for other records");
        let undiversified = curator::retrieve::SearchRequest { diversify: false, ..curator.request("a dog walked on a lead", mode, Some(5), Filters::default()) };
        assert!(series_on_page(undiversified).0 > 1, "{mode}: without the setting the series fills the page");
    }
    // Nothing is dropped: a page long enough holds every print.
    let (series, _) = series_on_page(curator.request("a dog walked on a lead", Mode::Bm25, Some(100), Filters::default()));
    assert_eq!(series, 6);
}

/// Issue 13.9: "Rembrandt self portrait" ranked a pupil's self-portrait, whose text names Rembrandt, above
/// Rembrandt's own. With `retrieval.maker_boost` the maker named in search words decides; a question's
/// words are read as they are.
#[test]
fn a_maker_named_in_the_query_outranks_a_record_that_only_mentions_them_when_the_maker_boost_is_on() {
    let dir = tempfile::tempdir().unwrap();
    let curator = common::open(dir.path());
    let template = common::sample_records()[0].clone();
    let record = |id: &str, maker: &str, description: &str| MuseumRecord {
        id: id.into(),
        title: "Self-Portrait".into(),
        makers: vec![maker.into()],
        description: Some(description.into()),
        ..template.clone()
    };
    common::ingest(
        &curator,
        vec![
            record("sample:pupil", "Aert de Gelder", "A pupil of Rembrandt paints himself in Rembrandt's manner, holding Rembrandt's etching, as Rembrandt taught him."),
            record("sample:master", "Rembrandt van Rijn", "The painter looks out in a fur cap, lit from the left."),
        ],
    );
    let generation = curator.load_generation().unwrap();
    let first = |query: &str| {
        let request = curator::retrieve::SearchRequest { maker_boost: 20.0, ..curator.request(query, Mode::Bm25, Some(2), Filters::default()) };
        curator.search(&generation, &request).unwrap().hits[0].record_id.clone()
    };
    assert_eq!(first("Rembrandt self portrait"), "sample:master");
    // A question names people as its subject as often as their makers: it is not boosted.
    assert_eq!(first("which self portrait holds an etching by Rembrandt"), "sample:pupil");
}

/// Issue 13.4: "portraits of Dutch merchants 1600-1650" returned works of 1747: years written in a query
/// now become a year filter (and the response says so); an explicit year filter wins.
#[test]
fn a_year_range_in_the_query_becomes_a_filter_and_the_response_says_so() {
    let (_dir, curator, generation) = sample_index();
    let records = common::sample_records();
    let year_of = |id: &str| records.iter().find(|r| r.id == id).and_then(|r| r.year_start.zip(r.year_end));
    for mode in [Mode::Bm25, Mode::Dense, Mode::Hybrid] {
        let response = curator.search(&generation, &curator.request("Dutch portraits 1600-1650", mode, Some(10), Filters::default())).unwrap();
        assert_eq!(response.years_from_query, Some((1600, 1650)), "{mode}");
        assert_eq!((response.filters.year_from, response.filters.year_to), (Some(1600), Some(1650)));
        assert!(!response.hits.is_empty(), "{mode}: the sample holds Dutch works of those years");
        for hit in &response.hits {
            let (a, b) = year_of(&hit.record_id).expect("a filtered hit has years");
            assert!(a <= 1650 && b >= 1600, "{mode}: {} ({a}-{b}) is outside 1600-1650", hit.record_id);
        }
    }
    let explicit = Filters { year_from: Some(1800), year_to: Some(1900), ..Filters::default() };
    let response = curator.search(&generation, &curator.request("Dutch portraits 1600-1650", Mode::Hybrid, Some(10), explicit)).unwrap();
    assert_eq!(response.years_from_query, None, "an explicit year filter is not replaced");
    assert_eq!(response.filters.year_from, Some(1800));
}

#[test]
fn a_question_is_embedded_while_an_ingest_embeds_its_chunks() {
    // Regression (issue 11): one embedding session served both, and an ingest held it for a whole group
    // of 1,024 records while every search waited.
    let dir = tempfile::tempdir().unwrap();
    let curator = common::open(dir.path());
    let texts: Vec<String> = (0..1500).map(|i| format!("chunk {i}: a harbour at dusk with boats resting, painted in oil on canvas")).collect();
    let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
    let ingest_done = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            curator.embedder().embed_bulk(&texts).unwrap();
            ingest_done.store(true, std::sync::atomic::Ordering::SeqCst);
        });
        // Let the bulk embedding take its session first.
        std::thread::sleep(std::time::Duration::from_millis(300));
        let vector = curator.embedder().embed_one("a lonely figure on a beach").unwrap();
        assert_eq!(vector.len(), curator.embedder().identity().dimensions);
        assert!(!ingest_done.load(std::sync::atomic::Ordering::SeqCst), "the question waited for the ingest's embedding to finish");
    });
}

/// The answer gate is fitted on the plain questions after the reranker's first ones, so the reranker's
/// varied wording must pick the very records the evaluated wording picks, or the two would overlap.
#[test]
fn varied_wording_asks_about_the_same_records_and_fills_in_every_name() {
    use curator::eval::questions::{metadata_questions, AquaPart, Wording};
    let (_dir, _curator, generation) = sample_index();
    let mut varied_questions = Vec::new();
    for part in [AquaPart::Train, AquaPart::Valid, AquaPart::Dev, AquaPart::Heldout] {
        for seed in [1, 42] {
            let evaluated = metadata_questions(&generation, part, 100, seed, Wording::Evaluated);
            let varied = metadata_questions(&generation, part, 100, seed, Wording::Varied);
            let ids = |qs: &[curator::eval::Question]| qs.iter().map(|q| q.id.clone()).collect::<Vec<_>>();
            assert_eq!(ids(&evaluated), ids(&varied), "{part:?} seed {seed}");
            varied_questions.extend(varied);
        }
    }
    assert!(!varied_questions.is_empty());
    for q in &varied_questions {
        assert!(!q.question.contains('{') && !q.question.contains("  "), "{:?}", q.question);
    }
    let differs = varied_questions.iter().filter(|q| !q.question.starts_with("Who made") && q.question.contains("painted")).count();
    assert!(differs > 0, "no varied wording among {} questions", varied_questions.len());
}

/// A medium question's positive used to be whichever chunk of the record retrieval found, often a piece
/// of the description that does not say what the work is painted on.
#[test]
fn a_mined_positive_is_the_chunk_that_holds_the_answer() {
    let dir = tempfile::tempdir().unwrap();
    let curator = common::open(dir.path());
    let mut records = common::sample_records();
    for r in records.iter_mut().filter(|r| r.id == "sample:night-watch") {
        let d = r.description.clone().unwrap_or_default();
        r.description = Some(format!("{d} {d}"));
    }
    common::ingest(&curator, records);
    let generation = curator.load_generation().unwrap();
    let chunks = generation.store.get("sample:night-watch").unwrap().chunk_ids.len();
    assert!(chunks > 2, "the Night Watch must have several chunks for this test, has {chunks}");
    let question = curator::eval::Question {
        id: "medium".into(),
        question: "What is The Night Watch painted on?".into(),
        relevant: [("sample:night-watch".to_string(), 1.0)].into_iter().collect(),
        answers: vec!["Oil on canvas".into()],
        answerable: true,
    };
    let key = |q: &curator::eval::Question| q.id.clone();
    let never = |_: &curator::eval::Question, _: &str| false;
    let groups = curator::eval::mining::mine(&curator, &generation, &[question], "plain", &key, &never).unwrap();
    assert_eq!(groups.len(), 1);
    assert!(!groups[0].positive.is_empty());
    for text in &groups[0].positive {
        assert!(text.to_lowercase().contains("oil on canvas"), "a positive without the answer: {text:?}");
    }
}

/// The reranker's maker queries named a maker only by the last word of the name that no other maker's
/// holds ("Mallord" for "Turner, Joseph Mallord William" if "Turner" were shared), where people use any
/// such word. The varied wordings use each; the evaluated one stays the last, so its set is unchanged.
#[test]
fn varied_maker_queries_name_a_maker_by_any_word_of_the_name_no_other_maker_has() {
    use curator::eval::questions::{maker_queries, AquaPart, Wording};
    let maker = [
        ("sample:r1", "Self-Portrait with Beret", "ZORNIKA Pieterszoon van Quelder"),
        ("sample:r2", "Self-Portrait at the Easel", "ZORNIKA Pieterszoon van Quelder"),
    ];
    let others: Vec<(String, String, String)> =
        (0..12).map(|i| (format!("sample:o{i}"), format!("Self-Portrait {i}"), format!("Painter{i} van Someone{i}"))).collect();
    let (_dir, _curator, generation) = sample_index_with_makers(
        &maker.iter().map(|(id, t, m)| (id.to_string(), t.to_string(), m.to_string())).chain(others).collect::<Vec<_>>(),
    );
    let asked = |wording: Wording| -> Vec<String> {
        let mut texts = Vec::new();
        for part in [AquaPart::Train, AquaPart::Valid, AquaPart::Dev, AquaPart::Heldout] {
            for seed in 0..16 {
                let queries = maker_queries(&generation, part, 1000, seed, wording);
                texts.extend(queries.into_iter().filter(|q| q.relevant.contains_key("sample:r1")).map(|q| q.question.to_lowercase()));
            }
        }
        texts
    };
    let evaluated = asked(Wording::Evaluated);
    assert!(!evaluated.is_empty(), "no maker query about the self-portraits");
    assert!(evaluated.iter().all(|q| q.starts_with("quelder ")), "{evaluated:?}");
    let varied = asked(Wording::Varied);
    for word in ["zornika", "pieterszoon", "quelder"] {
        assert!(varied.iter().any(|q| q.contains(word)), "never {word:?}: {varied:?}");
    }
    assert!(varied.iter().all(|q| !q.contains(" van ")), "'van' is in other makers' names: {varied:?}");
}

/// Regression: two fresh indexes of the same corpus mined different reranker training groups (2,278 and
/// 2,281 metadata groups on two machines), so the same seed and steps trained a different model on each.
/// A graph is built in parallel from random levels, and BM25's equal scores came in segment order. Here
/// the two indexes differ in both: a sparse graph against the default one, one commit against five.
#[test]
fn two_indexes_of_the_same_records_mine_the_same_training_groups() {
    let path = common::shared().join("corpus/semart/semart_val.jsonl");
    let records: Vec<MuseumRecord> =
        curator::records::read_paths(&[path]).expect("SemArt rows").records.into_iter().map(|(r, _)| r).take(300).collect();
    let questions: Vec<curator::eval::Question> = records
        .iter()
        .step_by(10)
        .map(|r| curator::eval::Question {
            id: r.id.clone(),
            question: format!("{} by {}", r.title, r.makers.first().cloned().unwrap_or_default()),
            relevant: [(r.id.clone(), 1.0)].into_iter().collect(),
            answers: Vec::new(),
            answerable: true,
        })
        .collect();
    let mine = |overrides: &[(&str, &str)], batches: usize| -> String {
        let dir = tempfile::tempdir().unwrap();
        let curator = curator::app::Curator::open(common::settings_with(dir.path(), overrides)).expect("curator");
        for batch in records.chunks(records.len().div_ceil(batches)) {
            common::ingest(&curator, batch.to_vec());
        }
        let generation = curator.load_generation().unwrap();
        let key = |q: &curator::eval::Question| q.id.clone();
        let never = |_: &curator::eval::Question, _: &str| false;
        let groups = curator::eval::mining::mine(&curator, &generation, &questions, "test", &key, &never).unwrap();
        assert_eq!(groups.len(), questions.len(), "every question makes a group");
        groups.iter().map(|g| serde_json::to_string(g).unwrap() + "\n").collect()
    };
    let sparse_graph = mine(&[("CURATOR_HNSW_MAX_CONNECTIONS", "2"), ("CURATOR_HNSW_EF_CONSTRUCTION", "4")], 1);
    let default_graph = mine(&[], 5);
    let first_difference = sparse_graph.lines().zip(default_graph.lines()).find(|(a, b)| a != b);
    assert!(first_difference.is_none(), "the groups differ: {first_difference:?}");
}
