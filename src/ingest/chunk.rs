//! Chunking: a record becomes one or more texts to index, each of which says which work it belongs to.
//!
//! Invariant: every chunk starts with the record's header (title, makers, date), so a chunk cut from the
//! middle of a long description still names its work: to BM25, to the embedding, to the reranker and to
//! the model that cites it. Sizes are counted in tokens of the embedding model's own tokenizer.

use text_splitter::{ChunkConfig, TextSplitter};

use crate::config::ChunkingSettings;
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
    pub fn chunk(&self, record: &MuseumRecord) -> Vec<String> {
        let header = render_header(record);
        let body = render_body(record);
        if body.is_empty() {
            return vec![header];
        }
        let whole = format!("{header}\n{body}");
        if self.count_tokens(&whole) <= self.settings.max_tokens {
            return vec![whole];
        }
        let header_tokens = self.count_tokens(&header) + 1;
        let min_body = (self.settings.max_tokens as f32 * MIN_BODY_SHARE) as usize;
        let capacity = self.settings.max_tokens.saturating_sub(header_tokens).max(min_body);
        let overlap = self.settings.overlap_tokens.min(capacity / 2 - 1);
        let config = ChunkConfig::new(capacity)
            .with_sizer(&self.tokenizer)
            .with_overlap(overlap)
            .unwrap_or_else(|_| ChunkConfig::new(capacity).with_sizer(&self.tokenizer));
        TextSplitter::new(config).chunks(&body).map(|piece| format!("{header}\n{piece}")).collect()
    }
}

/// "Title\nby Maker A; Maker B (c. 1594)": what every chunk of the record starts with.
pub fn render_header(record: &MuseumRecord) -> String {
    let mut header = format!("{}\nby {}", record.title, record.makers_display());
    if let Some(date) = &record.date {
        header.push_str(&format!(" ({date})"));
    }
    header
}

/// The rest of the record as labelled sentences, description last (it is the part that gets split).
pub fn render_body(record: &MuseumRecord) -> String {
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
    let mut body = facts.join(" ");
    if let Some(description) = record.description.as_ref().filter(|d| !d.is_empty()) {
        if !body.is_empty() {
            body.push('\n');
        }
        body.push_str(description);
    }
    body
}
