//! Chunking: a record becomes one or more texts to index, each of which says which work it belongs to.
//!
//! Invariants: every chunk starts with the record's header (title, makers, date), so a chunk cut from the
//! middle of a long description still names its work: to BM25, to the embedding, to the reranker and to
//! the model that cites it. A record's structured fields are never scattered over chunks by the size
//! budget (it applies to prose). Sizes are counted in tokens of the embedding model's own tokenizer.

use text_splitter::{ChunkConfig, TextSplitter};

use crate::config::ChunkingSettings;
use crate::embed::MAX_INPUT_TOKENS;
use crate::records::MuseumRecord;

/// The body of a chunk never gets less than this share of the budget, however long the header.
const MIN_BODY_SHARE: f32 = 0.5;

pub struct Chunker {
    tokenizer: tokenizers::Tokenizer,
    settings: ChunkingSettings,
}

impl Chunker {
    pub fn new(mut tokenizer: tokenizers::Tokenizer, settings: &ChunkingSettings) -> Chunker {
        // The model's tokenizer.json truncates and pads for inference; counting needs the true length.
        tokenizer.with_truncation(None).ok();
        tokenizer.with_padding(None);
        Chunker { tokenizer, settings: settings.clone() }
    }

    pub fn settings(&self) -> &ChunkingSettings {
        &self.settings
    }

    pub fn count_tokens(&self, text: &str) -> usize {
        self.tokenizer.encode_fast(text, false).map(|e| e.len()).unwrap_or_else(|_| text.split_whitespace().count())
    }

    /// The texts to index for `record`, in order.
    ///
    /// A record that fits the budget is one chunk. Otherwise its facts (object, medium, subjects...) stay
    /// together in the first chunk, split only if they exceed what the embedding model reads, and its
    /// description is split into pieces of the budget: prose is cut by size, structured fields never.
    pub fn chunk(&self, record: &MuseumRecord) -> Vec<String> {
        let header = render_header(record);
        let facts = render_facts(record);
        let description = record.description.as_deref().map(str::trim).unwrap_or("");
        let whole = join_nonempty(&[&header, &facts, description]);
        if self.count_tokens(&whole) <= self.settings.max_tokens {
            return vec![whole];
        }
        let mut chunks = Vec::new();
        if !facts.is_empty() {
            chunks.extend(self.split(&header, &facts, MAX_INPUT_TOKENS, 0));
        }
        if !description.is_empty() {
            chunks.extend(self.split(&header, description, self.settings.max_tokens, self.settings.overlap_tokens));
        }
        chunks
    }

    /// `body` in pieces of at most `budget` tokens, each behind `header`.
    fn split(&self, header: &str, body: &str, budget: usize, overlap: usize) -> Vec<String> {
        let whole = format!("{header}\n{body}");
        if self.count_tokens(&whole) <= budget {
            return vec![whole];
        }
        let header_tokens = self.count_tokens(header) + 1;
        let min_body = (budget as f32 * MIN_BODY_SHARE) as usize;
        let capacity = budget.saturating_sub(header_tokens).max(min_body);
        let overlap = overlap.min(capacity / 2 - 1);
        let config = ChunkConfig::new(capacity)
            .with_sizer(&self.tokenizer)
            .with_overlap(overlap)
            .unwrap_or_else(|_| ChunkConfig::new(capacity).with_sizer(&self.tokenizer));
        TextSplitter::new(config).chunks(body).map(|piece| format!("{header}\n{piece}")).collect()
    }
}

fn join_nonempty(parts: &[&str]) -> String {
    parts.iter().filter(|p| !p.is_empty()).copied().collect::<Vec<_>>().join("\n")
}

/// "Title\nby Maker A; Maker B (c. 1594)": what every chunk of the record starts with.
/// A record without makers has no "by" line ("Title (1594)").
pub fn render_header(record: &MuseumRecord) -> String {
    let mut header = record.title.clone();
    if !record.makers.is_empty() {
        header.push_str(&format!("\nby {}", record.makers.join("; ")));
    }
    if let Some(date) = &record.date {
        header.push_str(&format!(" ({date})"));
    }
    header
}

/// The record's structured fields as labelled sentences: "Object: painting. Medium: Oil on canvas. ..."
pub fn render_facts(record: &MuseumRecord) -> String {
    let mut facts = Vec::new();
    let mut fact = |label: &str, value: Option<&String>| {
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            facts.push(format!("{label}: {v}."));
        }
    };
    fact("Object", record.object_type.as_ref());
    fact("Medium", record.medium.as_ref());
    fact("Dimensions", record.dimensions.as_ref());
    fact("Place", record.place.as_ref());
    fact("Collection", record.credit.as_ref());
    if !record.subjects.is_empty() {
        facts.push(format!("Subjects: {}.", record.subjects.join(", ")));
    }
    facts.join(" ")
}
