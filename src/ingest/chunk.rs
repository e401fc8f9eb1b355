//! Chunking: a record becomes one or more texts to index, each of which says which work it belongs to.
//!
//! Invariants: every chunk starts with the record's header (title, makers, date), so a chunk cut from the
//! middle of a long description still names its work: to BM25, to the embedding, to the reranker and to
//! the model that cites it. A record's structured fields are never scattered over chunks by the size
//! budget (it applies to prose). Sizes are counted in tokens of the embedding model's own tokenizer.

use std::borrow::Cow;

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

    /// What the embedding model reads of `chunk`, one of `record`'s chunks: the chunk itself, less the
    /// record's dimensions and credit line unless `chunking.embed_bookkeeping` says to keep them. A piece
    /// of facts too long for one chunk (a few hundred subjects) is read whole.
    pub fn embedding_text<'a>(&self, record: &MuseumRecord, chunk: &'a str) -> Cow<'a, str> {
        match self.settings.embed_bookkeeping {
            true => Cow::Borrowed(chunk),
            false => without_bookkeeping(record, chunk),
        }
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

/// `chunk` with `record`'s facts in it rendered without dimensions and credit line.
fn without_bookkeeping<'a>(record: &MuseumRecord, chunk: &'a str) -> Cow<'a, str> {
    if record.dimensions.is_none() && record.credit.is_none() {
        return Cow::Borrowed(chunk);
    }
    let facts = render_facts(record);
    let Some(at) = chunk.find(&facts).filter(|_| !facts.is_empty()) else {
        return Cow::Borrowed(chunk);
    };
    let content = render_facts_with(record, Bookkeeping::Left);
    Cow::Owned(format!("{}{content}{}", &chunk[..at], &chunk[at + facts.len()..]))
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
    render_facts_with(record, Bookkeeping::Kept)
}

/// A record's dimensions and credit line: facts a reader asks about, but not what a work shows or means.
#[derive(Clone, Copy, PartialEq)]
enum Bookkeeping {
    Kept,
    Left,
}

fn render_facts_with(record: &MuseumRecord, bookkeeping: Bookkeeping) -> String {
    let mut facts = Vec::new();
    let mut fact = |label: &str, value: Option<&String>| {
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            facts.push(format!("{label}: {v}."));
        }
    };
    fact("Object", record.object_type.as_ref());
    fact("Medium", record.medium.as_ref());
    let kept = bookkeeping == Bookkeeping::Kept;
    fact("Dimensions", record.dimensions.as_ref().filter(|_| kept));
    fact("Place", record.place.as_ref());
    fact("Collection", record.credit.as_ref().filter(|_| kept));
    if !record.subjects.is_empty() {
        facts.push(format!("Subjects: {}.", record.subjects.join(", ")));
    }
    facts.join(" ")
}

/// What a reader sees of a chunk: its body (the header is shown apart), widened to whole sentences of the
/// record's text, since a chunk cut by size starts and ends mid-sentence (issue 13.3). At most about
/// `max_chars`; where it still has to cut, it cuts between words and says so with "…". Without the record
/// (gone from the store), the chunk's text cut to size.
pub fn snippet(record: Option<&MuseumRecord>, chunk_text: &str, max_chars: usize) -> String {
    let Some(record) = record else { return cut_between_words(chunk_text, max_chars) };
    let header = render_header(record);
    let body = chunk_text.strip_prefix(header.as_str()).unwrap_or(chunk_text).trim();
    let facts = render_facts(record);
    let description = record.description.as_deref().map(str::trim).unwrap_or("");
    // The body is a piece of the facts or of the description (or, for a record in one chunk, both).
    let widened = [description, facts.as_str()]
        .into_iter()
        // Two characters kept for the "…" marks, so that a whole widened sentence is not cut again.
        .find_map(|source| source.find(body).map(|at| widen_to_sentences(source, at, at + body.len(), max_chars.saturating_sub(2))))
        .unwrap_or_else(|| body.to_string());
    cut_between_words(&widened, max_chars)
}

/// `text[start..end]` grown to the sentence boundaries around it, while it stays within `max_chars`.
fn widen_to_sentences(text: &str, start: usize, end: usize, max_chars: usize) -> String {
    let sentence_start = text[..start].rfind(['.', '!', '?']).map_or(0, |at| at + 1);
    let sentence_start = sentence_start + text[sentence_start..start].len() - text[sentence_start..start].trim_start().len();
    let sentence_end = if text[..end].ends_with(['.', '!', '?']) {
        end
    } else {
        text[end..].find(['.', '!', '?']).map_or(text.len(), |at| end + at + 1)
    };
    let (mut from, mut to) = (start, end);
    if text[sentence_start..to].chars().count() <= max_chars {
        from = sentence_start;
    }
    if text[from..sentence_end].chars().count() <= max_chars {
        to = sentence_end;
    }
    let mut out = String::new();
    if from > 0 && from == start && !text[..from].trim_end().ends_with(['.', '!', '?']) {
        out.push('…');
    }
    out.push_str(text[from..to].trim());
    if to < text.len() && to == end && !out.ends_with(['.', '!', '?']) {
        out.push('…');
    }
    out
}

/// `text` when it has at most `max_chars` characters; else its first words within that, and "…".
fn cut_between_words(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        return text.to_string();
    }
    let cut: String = text.chars().take(max_chars).collect();
    let cut = cut.rfind(char::is_whitespace).map_or(cut.as_str(), |at| &cut[..at]).trim_end();
    format!("{cut}…")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(description: &str) -> MuseumRecord {
        MuseumRecord {
            id: "t:1".into(),
            source: "t".into(),
            title: "A Title".into(),
            makers: vec!["A Maker".into()],
            date: Some("1650".into()),
            description: Some(description.into()),
            ..Default::default()
        }
    }

    #[test]
    fn a_snippet_starts_and_ends_at_sentence_boundaries() {
        // Regression (issue 13.3): snippets began and ended mid-sentence, as the size budget cut them.
        let r = record("It hung in Delft. The second sentence is long and was cut in the middle by the budget. Third one. Fourth.");
        let chunk = format!("{}\nwas cut in the middle by the budget. Third", render_header(&r));
        assert_eq!(snippet(Some(&r), &chunk, 300), "The second sentence is long and was cut in the middle by the budget. Third one.");
    }

    #[test]
    fn the_embedding_reads_the_facts_without_dimensions_and_credit_line() {
        let mut r = record("A river at dusk.");
        r.medium = Some("Watercolour on paper".into());
        r.dimensions = Some("support: 229 x 489 mm".into());
        r.credit = Some("Presented by the Art Fund 1967".into());
        r.subjects = vec!["river".into(), "dusk".into()];
        let chunk = join_nonempty(&[&render_header(&r), &render_facts(&r), "A river at dusk."]);
        assert!(chunk.contains("Dimensions: support") && chunk.contains("Collection: Presented"));
        assert_eq!(
            without_bookkeeping(&r, &chunk),
            "A Title\nby A Maker (1650)\nMedium: Watercolour on paper. Subjects: river, dusk.\nA river at dusk."
        );
        // A chunk of the description alone has no facts to leave out.
        let piece = format!("{}\nA river at dusk.", render_header(&r));
        assert_eq!(without_bookkeeping(&r, &piece), piece);
    }

    #[test]
    fn a_snippet_that_cannot_reach_a_boundary_says_it_was_cut() {
        let r = record("Words before the piece and the piece itself goes on and on without a stop");
        let chunk = format!("{}\nthe piece itself goes on", render_header(&r));
        assert_eq!(snippet(Some(&r), &chunk, 30), "…the piece itself goes on…");
        assert_eq!(cut_between_words("one two three four", 10), "one two…");
    }
}
