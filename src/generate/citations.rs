//! Citations the reader can trust: markers to sources that were not given are removed (while streaming
//! too, so they are never shown), and every sentence is checked against the text of the sources it cites.
//!
//! A sentence is *supported* when enough of its content words appear in a cited source, or when its
//! embedding is close enough to one sentence of that source; *unsupported* otherwise. A sentence without a
//! citation that states something (content words beyond the question's) is *uncited*. Small models cite
//! sloppily (BRIEF.md), so nothing here takes the model's word for it.

use std::collections::HashSet;

use rust_stemmers::{Algorithm, Stemmer};
use serde::{Deserialize, Serialize};

use crate::embed::{cosine, Embedder};
use crate::generate::prompt::Source;
use crate::models::ModelError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Support {
    /// Cites sources, and a cited source says it.
    Supported,
    /// Cites sources, none of which says it.
    Unsupported,
    /// States something without a citation.
    Uncited,
    /// Nothing to check (a refusal, a connective sentence).
    NoClaim,
}

/// One citation of one sentence.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Citation {
    /// The source number as written in the answer ([n]).
    pub number: usize,
    pub record_id: String,
    pub title: String,
    /// The sentence of the source that best supports the citing sentence.
    pub snippet: String,
    /// Share of the sentence's content words found in the source.
    pub lexical: f32,
    /// Cosine similarity between the sentence and `snippet`.
    pub semantic: f32,
    pub supported: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CheckedSentence {
    pub text: String,
    pub support: Support,
    pub citations: Vec<Citation>,
    /// The numbers the model wrote, when none of those sources supports the sentence and the citation
    /// was re-pointed to the given source that does (`citations`); empty when the model's citations stand.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub model_cited: Vec<usize>,
    /// Says something besides the question: a word the question lacks, a word naming the record
    /// ([`RECORD_WORDS`]) included, and no refusal. An answer none of whose sentences does (or makes a
    /// claim) is a decline by the model. Not part of the API's sentence.
    #[serde(skip)]
    pub says_more_than_the_question: bool,
}

#[derive(Debug, Clone, Copy)]
pub struct Thresholds {
    pub lexical: f32,
    pub semantic: f32,
}

/// Rewrites citation markers as text streams in: `[n]` (and `[n, m]`, `[n][m]`) stays when n is a given
/// source, and disappears when it is not. Text after an opening bracket is held back until the bracket
/// closes (or clearly is not a citation).
pub struct CitationFilter {
    sources: usize,
    held: String,
}

/// Longest bracketed text treated as a possible citation marker.
const MAX_MARKER: usize = 24;

impl CitationFilter {
    pub fn new(sources: usize) -> CitationFilter {
        CitationFilter { sources, held: String::new() }
    }

    /// The text that can be shown now.
    pub fn push(&mut self, piece: &str) -> String {
        let mut out = String::new();
        for c in piece.chars() {
            if self.held.is_empty() {
                if c == '[' {
                    self.held.push(c);
                } else {
                    out.push(c);
                }
                continue;
            }
            self.held.push(c);
            if c == ']' {
                out.push_str(&self.resolve(&self.held));
                self.held.clear();
            } else if c == '[' && self.held.len() > 1 {
                // "[[" : the first bracket was plain text.
                let last = self.held.pop();
                out.push_str(&self.held);
                self.held.clear();
                self.held.extend(last);
            } else if self.held.len() > MAX_MARKER || !is_marker_char(c) {
                out.push_str(&self.held);
                self.held.clear();
            }
        }
        out
    }

    /// Whatever is still held back, at the end of the answer.
    pub fn finish(&mut self) -> String {
        std::mem::take(&mut self.held)
    }

    fn resolve(&self, marker: &str) -> String {
        let Some(numbers) = parse_marker(marker) else { return marker.to_string() };
        let valid: Vec<String> =
            numbers.into_iter().filter(|&n| n >= 1 && n <= self.sources).map(|n| n.to_string()).collect();
        if valid.is_empty() { String::new() } else { format!("[{}]", valid.join(", ")) }
    }
}

fn is_marker_char(c: char) -> bool {
    c.is_ascii_digit() || c == ',' || c == ' ' || c.is_ascii_alphabetic()
}

/// The citation marker `chars` starts with, if any: the offset of its closing bracket and its numbers.
fn marker_at(chars: &[char]) -> Option<(usize, Vec<usize>)> {
    if chars.first() != Some(&'[') {
        return None;
    }
    let end = chars.iter().position(|&c| c == ']').filter(|&e| e <= MAX_MARKER)?;
    parse_marker(&chars[..=end].iter().collect::<String>()).map(|numbers| (end, numbers))
}

/// The numbers of a marker like "[2]", "[1, 3]", "[Source 2]"; None when it is not a citation.
fn parse_marker(marker: &str) -> Option<Vec<usize>> {
    let inner = marker.strip_prefix('[')?.strip_suffix(']')?;
    let inner = inner.trim();
    let inner = inner.strip_prefix("Source").or_else(|| inner.strip_prefix("source")).unwrap_or(inner);
    let numbers: Option<Vec<usize>> = inner.split(',').map(|n| n.trim().parse().ok()).collect();
    numbers.filter(|n| !n.is_empty())
}

/// Removes every citation to a source that was not given.
pub fn drop_invalid_citations(text: &str, sources: usize) -> String {
    let mut filter = CitationFilter::new(sources);
    let mut out = filter.push(text);
    out.push_str(&filter.finish());
    tidy_spaces(&out)
}

fn tidy_spaces(text: &str) -> String {
    text.replace(" .", ".").replace("  ", " ").replace(" ,", ",").trim().to_string()
}

/// The answer's sentences with the source numbers each cites (markers removed from the text). A marker
/// that follows a sentence's full stop belongs to that sentence.
pub fn split_sentences(text: &str) -> Vec<(String, Vec<usize>)> {
    split_sentences_with_starts(text).into_iter().map(|(sentence, numbers, _)| (sentence, numbers)).collect()
}

/// As [`split_sentences`], with the character offset in `text` where each sentence starts: while an
/// answer streams, everything before the next sentence's start belongs to the sentences before it.
pub fn split_sentences_with_starts(text: &str) -> Vec<(String, Vec<usize>, usize)> {
    let mut sentences: Vec<(String, Vec<usize>, usize)> = Vec::new();
    let mut current = String::new();
    let mut start = 0;
    let mut cited: Vec<usize> = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    let close = |current: &mut String, cited: &mut Vec<usize>, start: usize, sentences: &mut Vec<(String, Vec<usize>, usize)>| {
        let sentence = current.trim().to_string();
        // Punctuation left between markers ("[1], [2]") is not a sentence of its own.
        if sentence.chars().any(char::is_alphanumeric) || sentences.is_empty() && !sentence.is_empty() {
            sentences.push((sentence, std::mem::take(cited), start));
        } else if let Some(last) = sentences.last_mut() {
            last.1.append(cited);
        }
        current.clear();
    };
    while i < chars.len() {
        let c = chars[i];
        if let Some((end, numbers)) = marker_at(&chars[i..]) {
            if !current.chars().any(char::is_alphanumeric) {
                // "... 1434. [1]": the marker belongs to the sentence just closed.
                if let Some(last) = sentences.last_mut() {
                    last.1.extend(numbers);
                }
            } else {
                cited.extend(numbers);
            }
            i += end + 1;
            continue;
        }
        if !current.chars().any(char::is_alphanumeric) && c.is_alphanumeric() {
            start = i;
        }
        current.push(c);
        // "1.5" and "c. 1650" go on: a full stop before a number does not end a sentence (the answer
        // grammar, prompts/answer.gbnf.j2, reads it the same way).
        let before_number = c == '.' && chars.get(i + 1) == Some(&' ') && chars.get(i + 2).is_some_and(char::is_ascii_digit);
        let ends_sentence = matches!(c, '.' | '!' | '?' | '\n')
            && chars.get(i + 1).is_none_or(|n| n.is_whitespace() || *n == '[')
            && !before_number
            && !is_abbreviation_or_initial(&current);
        if ends_sentence {
            close(&mut current, &mut cited, start, &mut sentences);
        }
        i += 1;
    }
    close(&mut current, &mut cited, start, &mut sentences);
    for (text, numbers, _) in &mut sentences {
        *text = tidy_spaces(text);
        numbers.sort_unstable();
        numbers.dedup();
    }
    sentences.retain(|(text, _, _)| text.chars().any(char::is_alphanumeric));
    sentences
}

/// `text` with each re-pointed sentence's markers (see [`CheckedSentence::model_cited`]) rewritten to the
/// citations it now carries; `checked` are `text`'s sentences in order, as `split_sentences` finds them.
pub fn with_repaired_markers(text: &str, checked: &[CheckedSentence]) -> String {
    if checked.iter().all(|s| s.model_cited.is_empty()) {
        return text.to_string();
    }
    let chars: Vec<char> = text.chars().collect();
    let starts: Vec<usize> = split_sentences_with_starts(text).iter().map(|s| s.2).collect();
    let mut out = String::new();
    let mut copied = 0;
    for (index, sentence) in checked.iter().enumerate().filter(|(_, s)| !s.model_cited.is_empty()) {
        let (Some(&start), end) = (starts.get(index), starts.get(index + 1).copied().unwrap_or(chars.len())) else { continue };
        out.extend(&chars[copied..start]);
        let numbers: Vec<String> = sentence.citations.iter().map(|c| c.number.to_string()).collect();
        let mut replacement = Some(format!("[{}]", numbers.join(", ")));
        let mut i = start;
        while i < end {
            match marker_at(&chars[i..end]) {
                Some((e, _)) => {
                    out.extend(replacement.take());
                    i += e + 1;
                }
                None => {
                    out.push(chars[i]);
                    i += 1;
                }
            }
        }
        copied = end;
    }
    out.extend(&chars[copied..]);
    tidy_spaces(&out)
}

/// "St.", "c.", "J." and the like do not end a sentence.
fn is_abbreviation_or_initial(text: &str) -> bool {
    let last_word = text.trim_end_matches('.').rsplit(|c: char| c.is_whitespace()).next().unwrap_or("");
    // "(c." is "c." in brackets.
    let last_word = last_word.trim_start_matches(|c: char| !c.is_alphanumeric());
    last_word.chars().count() == 1 && last_word.chars().all(char::is_alphabetic)
        || matches!(last_word, "St" | "Mr" | "Mrs" | "Dr" | "c" | "ca" | "no" | "No" | "vol" | "fig")
}

const STOPWORDS: &[&str] = &[
    "the", "and", "for", "are", "was", "were", "with", "that", "this", "from", "which", "who", "whom", "its",
    "his", "her", "their", "has", "have", "had", "not", "but", "also", "into", "onto", "than", "then", "there",
    "these", "those", "they", "them", "she", "him", "one", "can", "may", "been", "being", "about", "what",
    "when", "where", "how", "why", "does", "did", "other", "such", "some", "any", "all", "more", "most",
    "very", "only", "own", "same", "both", "each", "few", "our", "out", "over", "under", "again", "further",
    "once", "here", "just", "will", "would", "should", "could", "source", "sources", "record", "records",
    "painting", "work", "artist", "according", "described", "shows", "depicts",
    // How the model refers to its sources ("as stated in [1]", "as evidenced by source 2"): no claim.
    "stated", "evidenced", "mentioned", "indicated",
];

/// Stopwords that name the record a sentence is about. They make no claim a source could support, but
/// one can be the answer itself: "What was much copied?" "The painting was much copied." answers the
/// question, where "The maid pours." only said it back.
const RECORD_WORDS: &[&str] = &["painting", "work", "artist"];

/// Verbs that say a work was made. Beside the heading's maker or date ("was painted by Vermeer", "was
/// created in 1981") they restate the heading's fact and need no other support.
const MAKING_VERBS: &[&str] = &[
    "made", "created", "painted", "drawn", "produced", "executed", "completed", "finished", "dated", "engraved",
    "etched", "printed", "sculpted", "carved", "photographed", "designed", "published", "exhibited",
];

/// Every word of `text`, lower-cased.
fn words_of(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase)
}

/// Lower-case words that carry content: longer than two letters and not a stopword, or any number.
pub fn content_words(text: &str) -> Vec<String> {
    words_of(text)
        .filter(|w| w.chars().any(|c| c.is_ascii_digit()) || (w.chars().count() > 2 && !STOPWORDS.contains(&w.as_str())))
        .collect()
}

/// Sentences of a source's text, for snippets and the embedding check.
fn source_sentences(text: &str) -> Vec<String> {
    let mut sentences: Vec<String> = split_sentences(text).into_iter().map(|(s, _)| s).filter(|s| s.len() > 3).collect();
    if sentences.is_empty() {
        sentences.push(text.trim().to_string());
    }
    sentences
}

/// Words a claim can be checked on: numbers (years, sizes) and names (capitalised words that do not
/// start the sentence). A sentence that states one the cited source does not hold is unsupported, however
/// many other words it shares with it.
fn checkable_facts(sentence: &str) -> Vec<String> {
    let mut facts = Vec::new();
    for (position, word) in sentence.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).enumerate() {
        let is_number = word.chars().any(|c| c.is_ascii_digit());
        let is_name = position > 0 && word.chars().next().is_some_and(char::is_uppercase) && word.chars().count() > 1;
        if is_number || is_name {
            facts.push(word.to_lowercase());
        }
    }
    facts
}

/// What one cited source offers as support, computed once per answer and reused for every sentence.
struct SourceSupport {
    /// Content words of the source's text.
    text_words: HashSet<String>,
    /// Content words of its maker and date, the facts of its heading.
    heading_facts: HashSet<String>,
    /// Every lower-cased word the model was shown for this source, title included: a name taken from the
    /// title is not an invented one.
    shown: HashSet<String>,
    /// Words that name the record (its title and id): echoing them back claims nothing.
    label_words: HashSet<String>,
    sentences: Vec<String>,
    /// Embeddings of `sentences`, computed the first time the source is cited.
    vectors: Option<Vec<Vec<f32>>>,
}

/// Checks an answer's sentences against the sources they cite, one at a time as they are written.
///
/// Neither the question's own words (in any inflection: "stands" echoes "stand") nor the record's title
/// and id count as support: a sentence that only repeats them states nothing the source was needed for.
/// A sentence whose numbers or names are not in the cited source is unsupported.
pub struct SupportChecker<'a> {
    sources: &'a [Source],
    embedder: &'a Embedder,
    thresholds: Thresholds,
    /// Stems of the question's content words: a sentence word of the same stem ("stands" for "stand")
    /// echoes the question.
    question_stems: HashSet<String>,
    stemmer: Stemmer,
    support: Vec<SourceSupport>,
    repair: bool,
}

impl<'a> SupportChecker<'a> {
    pub fn new(question: &str, sources: &'a [Source], embedder: &'a Embedder, thresholds: Thresholds) -> SupportChecker<'a> {
        let words_of = |text: &str| -> HashSet<String> { content_words(text).into_iter().collect() };
        let support = sources
            .iter()
            .map(|source| {
                let facts = format!("{} {}", source.makers.join(" "), source.date.as_deref().unwrap_or(""));
                // The citation grammar lets a full stop inside a sentence stand only before a digit, so an
                // id echoed from the heading comes back without its other full stops ("….jpg" as "…jpg"):
                // that spelling names the record too.
                let id_as_echoed = source.record_id.replace('.', "");
                let label_words = words_of(&format!("{} {} {id_as_echoed}", source.title, source.record_id));
                let shown = format!("{} {id_as_echoed}", source.shown_text())
                    .split(|c: char| !c.is_alphanumeric())
                    .filter(|w| !w.is_empty())
                    .map(str::to_lowercase)
                    .collect();
                let mut sentences = source_sentences(&source.text);
                if !facts.trim().is_empty() {
                    sentences.push(facts.trim().to_string());
                }
                SourceSupport { text_words: words_of(&source.text), heading_facts: words_of(&facts), shown, label_words, sentences, vectors: None }
            })
            .collect();
        let stemmer = Stemmer::create(Algorithm::English);
        let question_stems = content_words(question).iter().map(|w| stemmer.stem(w).into_owned()).collect();
        SupportChecker { sources, embedder, thresholds, question_stems, stemmer, support, repair: false }
    }

    /// Re-points a sentence none of whose cited sources supports it to a given source that does (see
    /// [`CheckedSentence::model_cited`]). Off, the model's citations stand as written.
    pub fn repairing(mut self, on: bool) -> SupportChecker<'a> {
        self.repair = on;
        self
    }

    /// Checks one sentence (citation markers removed) that cites `numbers`.
    pub fn check(&mut self, text: &str, numbers: &[usize]) -> Result<CheckedSentence, ModelError> {
        let words = content_words(text);
        let claim = Claim {
            new_words: words.iter().filter(|w| !self.echoes_question(w)).cloned().collect(),
            facts: checkable_facts(text).into_iter().filter(|f| !self.echoes_question(f)).collect(),
        };
        // Numbers outside 1..=k were removed before; a stray one is skipped, never indexed.
        let cited: Vec<usize> = numbers.iter().copied().filter(|n| (1..=self.sources.len()).contains(n)).collect();
        let mut sentence_vector: Option<Vec<f32>> = None;
        let mut citations = Vec::new();
        for &number in &cited {
            let vector = match &sentence_vector {
                Some(v) => v,
                None => sentence_vector.insert(self.embedder.embed_one(text)?),
            };
            citations.push(self.judge(number, &claim, vector)?);
        }
        let refusal = is_refusal(text);
        let states_something = !claim.new_words.is_empty() && !refusal;
        let names_the_record = words_of(text).any(|w| RECORD_WORDS.contains(&w.as_str()) && !self.echoes_question(&w));
        let says_more_than_the_question = !refusal && (!claim.new_words.is_empty() || names_the_record);
        let mut model_cited = Vec::new();
        if self.repair && states_something && !citations.is_empty() && !citations.iter().any(|c| c.supported) {
            if let Some(vector) = &sentence_vector {
                // A sentence that names the cited record (words of its title or id) is about that record:
                // another source that does not name it too would say something of a different work.
                let named: Vec<&String> =
                    words.iter().filter(|w| cited.iter().any(|&n| self.support[n - 1].label_words.contains(*w))).collect();
                let candidates: Vec<usize> = (1..=self.sources.len())
                    .filter(|n| !cited.contains(n) && named.iter().all(|w| self.support[n - 1].shown.contains(*w)))
                    .collect();
                let mut best: Option<Citation> = None;
                for number in candidates {
                    let candidate = self.judge(number, &claim, vector)?;
                    if candidate.supported && best.as_ref().is_none_or(|b| strength(&candidate) > strength(b)) {
                        best = Some(candidate);
                    }
                }
                if let Some(best) = best {
                    model_cited = cited.clone();
                    citations = vec![best];
                }
            }
        }
        let support = if !states_something {
            Support::NoClaim
        } else if citations.is_empty() {
            if claim.new_words.len() >= 2 { Support::Uncited } else { Support::NoClaim }
        } else if citations.iter().any(|c| c.supported) {
            Support::Supported
        } else {
            Support::Unsupported
        };
        Ok(CheckedSentence { text: text.to_string(), support, citations, model_cited, says_more_than_the_question })
    }

    fn echoes_question(&self, word: &str) -> bool {
        self.question_stems.contains(self.stemmer.stem(word).as_ref())
    }

    /// How well source `number` supports a sentence that makes `claim` and embeds as `sentence_vector`.
    fn judge(&mut self, number: usize, claim: &Claim, sentence_vector: &[f32]) -> Result<Citation, ModelError> {
        let at = number - 1;
        if self.support[at].vectors.is_none() {
            let sentences: Vec<&str> = self.support[at].sentences.iter().map(String::as_str).collect();
            self.support[at].vectors = Some(self.embedder.embed(&sentences)?);
        }
        let support = &self.support[at];
        // The claim: what the sentence says beyond the question and the record's title and id.
        let said: Vec<&String> = claim.new_words.iter().filter(|w| !support.label_words.contains(*w)).collect();
        // The heading's maker and date answer "who" and "when"; beside any other claim they are an echo of
        // the heading, and the rest must be in the record's text. A verb of making beside them only says
        // how the heading's fact relates to the work.
        let states_heading_fact = said.iter().any(|w| support.heading_facts.contains(*w));
        let beyond_heading: Vec<&String> = said
            .iter()
            .copied()
            .filter(|w| !support.heading_facts.contains(*w) && !(states_heading_fact && MAKING_VERBS.contains(&w.as_str())))
            .collect();
        let lexical = if said.is_empty() {
            0.0
        } else if beyond_heading.is_empty() {
            1.0
        } else {
            beyond_heading.iter().filter(|w| support.text_words.contains(**w)).count() as f32 / beyond_heading.len() as f32
        };
        let (snippet, semantic) = support
            .sentences
            .iter()
            .zip(support.vectors.iter().flatten())
            .map(|(s, v)| (s.clone(), cosine(sentence_vector, v)))
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .unwrap_or_default();
        let facts_hold = claim.facts.iter().all(|f| support.shown.contains(f));
        let supported = !said.is_empty() && facts_hold && (lexical >= self.thresholds.lexical || semantic >= self.thresholds.semantic);
        let source = &self.sources[at];
        Ok(Citation { number, record_id: source.record_id.clone(), title: source.title.clone(), snippet, lexical, semantic, supported })
    }
}

/// What a sentence states beyond the question: its content words and its checkable facts.
struct Claim {
    new_words: Vec<String>,
    facts: Vec<String>,
}

/// Orders citations: a supported one first, then the closer match.
pub fn strength(citation: &Citation) -> (bool, f32) {
    (citation.supported, citation.lexical.max(citation.semantic))
}

/// A sentence that declines to answer states nothing to check.
pub fn is_refusal(text: &str) -> bool {
    let lower = text.to_lowercase();
    ["no record of", "do not contain", "does not contain", "don't contain", "not mentioned", "no information", "cannot answer", "can't answer", "not stated", "do not say", "does not say"]
        .iter()
        .any(|p| lower.contains(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invented_citations_are_dropped_even_when_split_across_pieces() {
        let mut filter = CitationFilter::new(2);
        let mut shown = String::new();
        for piece in ["It was painted in 1434 [", "1]. It hangs in London [", "7", "]. See [2, 9] and [a note]."] {
            shown.push_str(&filter.push(piece));
        }
        shown.push_str(&filter.finish());
        assert_eq!(shown, "It was painted in 1434 [1]. It hangs in London . See [2] and [a note].");
        assert_eq!(drop_invalid_citations("London [7][0].", 2), "London.");
    }

    #[test]
    fn markers_after_the_full_stop_belong_to_the_sentence_before() {
        let sentences = split_sentences("Jan van Eyck painted it in 1434. [1] It is in London [2][1]. St. Jerome is not. [1], [2]");
        assert_eq!(
            sentences,
            vec![
                ("Jan van Eyck painted it in 1434.".to_string(), vec![1]),
                ("It is in London.".to_string(), vec![1, 2]),
                ("St. Jerome is not.".to_string(), vec![1, 2]),
            ]
        );
    }

    #[test]
    fn a_full_stop_before_a_year_or_in_a_bracketed_abbreviation_does_not_end_the_sentence() {
        let sentences = split_sentences("The Milkmaid (c. 1657-1658) is by Vermeer [1]. He was born in Delft. 1632 is the year [2].");
        let texts: Vec<&str> = sentences.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(texts, ["The Milkmaid (c. 1657-1658) is by Vermeer.", "He was born in Delft. 1632 is the year."]);
    }

    #[test]
    fn each_sentence_knows_where_it_starts_in_the_streamed_text() {
        let text = "Painted in 1434 [1]. It hangs in London. [2] Then";
        let starts: Vec<usize> = split_sentences_with_starts(text).iter().map(|s| s.2).collect();
        assert_eq!(starts, [0, 21, 45]);
        assert_eq!(text.chars().skip(45).collect::<String>(), "Then");
    }

    #[test]
    fn content_words_skip_stopwords_and_keep_numbers() {
        assert_eq!(content_words("The portrait was painted in 1434 by Jan van Eyck"), ["portrait", "painted", "1434", "jan", "van", "eyck"]);
    }

    #[test]
    fn refusals_are_recognised() {
        assert!(is_refusal("The collection has no record of that."));
        assert!(!is_refusal("It was painted in 1434."));
    }
}
