//! Chunk rendering keeps each record's identity, and chunk sizes respect the token budget.

mod common;

use curator::ingest::chunk::render_header;
use curator::records::MuseumRecord;

fn long_record() -> MuseumRecord {
    let sentence = "The painter returned to this motif many times, changing the light, the season and the figures. ";
    MuseumRecord {
        id: "test:long".into(),
        source: "test".into(),
        title: "View of the Harbour at Dawn".into(),
        makers: vec!["Aelbert Cuyp".into()],
        date: Some("c. 1650".into()),
        description: Some(sentence.repeat(30)),
        language: "en".into(),
        ..Default::default()
    }
}

#[test]
fn every_chunk_of_a_long_record_names_its_work_and_fits_the_budget() {
    let dir = tempfile::tempdir().unwrap();
    let curator = common::open(dir.path());
    let record = long_record();
    let chunks = curator.chunker.chunk(&record);
    assert!(chunks.len() >= 4, "a ~600-token description splits at 128 tokens, got {} chunks", chunks.len());
    let header = render_header(&record);
    assert_eq!(header, "View of the Harbour at Dawn\nby Aelbert Cuyp (c. 1650)");
    let budget = curator.settings.chunking.max_tokens;
    for chunk in &chunks {
        assert!(chunk.starts_with(&header), "chunk lost its header: {chunk:?}");
        let tokens = curator.chunker.count_tokens(chunk);
        assert!(tokens <= budget + 2, "chunk of {tokens} tokens exceeds {budget}");
    }
    // Overlap: consecutive chunks share text, so a sentence cut at a boundary is whole in one of them.
    let body = |c: &String| c[header.len()..].trim().to_string();
    let second = body(&chunks[1]);
    let first_words: Vec<&str> = second.split_whitespace().take(3).collect();
    assert!(body(&chunks[0]).contains(&first_words.join(" ")), "no overlap between chunk 0 and 1");
}

#[test]
fn a_short_record_is_one_chunk_with_all_its_fields() {
    let dir = tempfile::tempdir().unwrap();
    let curator = common::open(dir.path());
    let record = MuseumRecord {
        id: "test:short".into(),
        source: "test".into(),
        title: "Lake Nemi".into(),
        makers: vec!["John Robert Cozens".into()],
        medium: Some("Watercolour on paper".into()),
        subjects: vec!["lake".into(), "cliff".into()],
        language: "en".into(),
        ..Default::default()
    };
    let chunks = curator.chunker.chunk(&record);
    assert_eq!(chunks.len(), 1);
    assert!(chunks[0].contains("Lake Nemi\nby John Robert Cozens"));
    assert!(chunks[0].contains("Medium: Watercolour on paper."));
    assert!(chunks[0].contains("Subjects: lake, cliff."));
}
