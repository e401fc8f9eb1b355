//! Evidence selection: from the records retrieval ranked highest to the few sentences that answer the
//! question, which is all the language model reads.
//!
//! Prompt evaluation is what a first answer token waits for on a CPU (README "Generation speed"), and a
//! small model given less, more relevant text wanders less. So each top record is cut into units (its
//! structured facts as one unit, then each sentence of its description), every unit is scored against the
//! question, and the best are kept within a token budget: first the best unit of each record, then the
//! best of the rest. Each record's units are given back in document order, under the record's header.
//! With a margin, a unit scoring far below the best unit is not given at all, and a record left with no
//! unit is not a source: most questions are answered by one record, and every token of a record that
//! does not answer is paid for before the first answer token and can draw the citation away.
//!
//! Units are scored by the cross-encoder when it is loaded (each unit read after its record's header, as
//! the reranker was trained on chunks), else by embedding cosine.
//!
//! Depends on `index` (the record store), `retrieve` (hits, the reranker), `embed` and `ingest::chunk`
//! (the header and facts rendering); `generate` consumes what it returns.

use crate::embed::Embedder;
use crate::generate::citations::split_sentences;
use crate::generate::Source;
use crate::index::Generation;
use crate::ingest::chunk::{render_facts, render_header};
use crate::models::ModelError;
use crate::retrieve::rerank::Reranker;
use crate::retrieve::Hit;

/// What scores a unit of evidence against the question.
pub enum Scorer<'a> {
    CrossEncoder(&'a Reranker),
    Embedding(&'a Embedder),
}

impl Scorer<'_> {
    pub fn name(&self) -> &'static str {
        match self {
            Scorer::CrossEncoder(_) => "cross-encoder",
            Scorer::Embedding(_) => "embedding cosine",
        }
    }

    fn score(&self, question: &str, texts: &[String]) -> Result<Vec<f32>, ModelError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
        match self {
            Scorer::CrossEncoder(reranker) => reranker.score(question, &texts),
            Scorer::Embedding(embedder) => {
                let query = embedder.embed_one(question)?;
                let vectors = embedder.embed(&texts)?;
                Ok(vectors.iter().map(|v| v.iter().zip(&query).map(|(a, b)| a * b).sum()).collect())
            }
        }
    }
}

/// One piece of a record that may be given to the model.
#[derive(Debug, Clone)]
struct Unit {
    record: usize,
    /// Position in the record: 0 is the facts, then the description's sentences.
    position: usize,
    text: String,
    tokens: usize,
    score: f32,
}

/// Longest description read per record, in sentences: descriptions of a few paintings run to pages.
const MAX_SENTENCES_PER_RECORD: usize = 60;

/// The evidence chosen for the top records.
#[derive(Debug, Clone)]
pub struct Evidence {
    /// One numbered source for each of the first `given` hits, its text the units kept.
    pub sources: Vec<Source>,
    /// Per hit, the score of its best unit (what the answer gate reads); 0 for a record without units.
    pub best_scores: Vec<f32>,
}

/// How much evidence the model is given (`answer.sources`, `answer.evidence_budget_tokens`,
/// `answer.evidence_margin`).
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    /// At most this many records, the first of the hits.
    pub records: usize,
    /// Tokens their evidence may take in all.
    pub tokens: usize,
    /// With the cross-encoder scoring: a unit whose logit is more than this below the best unit's is not
    /// given, and a record left with no unit is not a source. None (or the embedding scorer, whose cosines
    /// are on another scale) gives each of the records its best units within the token budget.
    pub margin: Option<f32>,
}

/// The numbered sources for the first `budget.records` of `hits`: each record's best evidence within the
/// budget. Every hit's units are scored, so that the answer gate reads the same number of records however
/// many the model is given.
pub fn select(
    question: &str,
    generation: &Generation,
    hits: &[Hit],
    budget: Budget,
    scorer: &Scorer<'_>,
    count_tokens: &dyn Fn(&str) -> usize,
) -> Result<Evidence, ModelError> {
    // Every unit of every record, read after its record's header, is scored in one call: one query
    // embedding, and batches that span records.
    let mut units: Vec<Unit> = Vec::new();
    let mut scored: Vec<String> = Vec::new();
    for (record, hit) in hits.iter().enumerate() {
        let Some(stored) = generation.store.get(&hit.record_id) else { continue };
        let facts = render_facts(&stored.record);
        let mut texts = Vec::new();
        if !facts.is_empty() {
            texts.push((0, facts));
        }
        if let Some(description) = &stored.record.description {
            let sentences = split_sentences(description).into_iter().map(|(s, _)| s).take(MAX_SENTENCES_PER_RECORD);
            texts.extend(sentences.enumerate().map(|(i, s)| (i + 1, s)));
        }
        let header = render_header(&stored.record);
        for (position, text) in texts {
            scored.push(format!("{header}\n{text}"));
            units.push(Unit { record, position, tokens: count_tokens(&text), text, score: 0.0 });
        }
    }
    for (unit, score) in units.iter_mut().zip(scorer.score(question, &scored)?) {
        unit.score = score;
    }
    let given = budget.records.min(hits.len());
    let best_scores = (0..hits.len())
        .map(|record| units.iter().filter(|u| u.record == record).map(|u| u.score).reduce(f32::max).unwrap_or(0.0))
        .collect();
    let margin = match scorer {
        Scorer::CrossEncoder(_) => budget.margin,
        Scorer::Embedding(_) => None,
    };
    if let Some(margin) = margin {
        drop_far_below_best(&mut units, given, margin);
    }
    // A unit longer than the whole budget could never be chosen: a Tate record's facts line with twenty
    // subjects is over 100 tokens, and its record (which has no other text) would be given as a bare
    // heading, its medium unseen. Such a unit is given cut to the budget, as scored whole.
    for unit in units.iter_mut().filter(|u| u.record < given && u.tokens > budget.tokens) {
        unit.text = cut_to_tokens(&unit.text, budget.tokens, count_tokens);
        unit.tokens = count_tokens(&unit.text);
    }
    let chosen = choose(&units, given, budget.tokens);
    let sources = source_records(&units, &chosen, given, margin.is_some())
        .into_iter()
        .enumerate()
        .map(|(number, record)| {
            let hit = &hits[record];
            let mut mine: Vec<&Unit> = chosen.iter().map(|&i| &units[i]).filter(|u| u.record == record).collect();
            mine.sort_by_key(|u| u.position);
            Source {
                number: number + 1,
                record_id: hit.record_id.clone(),
                title: hit.title.clone(),
                makers: hit.makers.clone(),
                date: hit.date.clone(),
                url: hit.url.clone(),
                text: join_in_order(&mine),
                score: hit.score,
            }
        })
        .collect();
    Ok(Evidence { sources, best_scores })
}

/// Drops the units whose score is more than `margin` below the best unit of the first `records` records.
fn drop_far_below_best(units: &mut Vec<Unit>, records: usize, margin: f32) {
    let best = units.iter().filter(|u| u.record < records).map(|u| u.score).fold(f32::NEG_INFINITY, f32::max);
    units.retain(|u| u.score >= best - margin);
}

/// The records of the first `given` that become sources, in rank order. With a margin, only those with a
/// chosen unit: a record with nothing worth reading is not given (unless no record has a unit at all, when
/// the headers are all there is).
fn source_records(units: &[Unit], chosen: &[usize], given: usize, margin: bool) -> Vec<usize> {
    let has_unit = |record: usize| chosen.iter().any(|&i| units[i].record == record);
    let filter = margin && (0..given).any(has_unit);
    (0..given).filter(|&record| !filter || has_unit(record)).collect()
}

/// Indexes of the units to keep, of the first `records` records only: each record's best first (records in
/// rank order), then the best of the rest, while the budget allows. A unit that does not fit is passed
/// over for a shorter one.
fn choose(units: &[Unit], records: usize, budget: usize) -> Vec<usize> {
    let mut by_score: Vec<usize> = (0..units.len()).collect();
    by_score.sort_by(|&a, &b| units[b].score.total_cmp(&units[a].score));
    let mut chosen = Vec::new();
    let mut used = 0;
    for record in 0..records {
        if let Some(&best) = by_score.iter().find(|&&i| units[i].record == record && used + units[i].tokens <= budget) {
            used += units[best].tokens;
            chosen.push(best);
        }
    }
    for &i in &by_score {
        if units[i].record < records && !chosen.contains(&i) && used + units[i].tokens <= budget {
            used += units[i].tokens;
            chosen.push(i);
        }
    }
    chosen
}

/// The longest run of `text`'s first words that, with "…" after it, counts at most `max_tokens`; `text`
/// itself when not even its first word fits.
fn cut_to_tokens(text: &str, max_tokens: usize, count_tokens: &dyn Fn(&str) -> usize) -> String {
    let mut ends = Vec::new();
    let mut in_word = false;
    for (at, c) in text.char_indices() {
        if c.is_whitespace() && in_word {
            ends.push(at);
        }
        in_word = !c.is_whitespace();
    }
    if in_word {
        ends.push(text.len());
    }
    let cut = |words: usize| format!("{} …", text[..ends[words - 1]].trim_end());
    // Binary search over the number of words kept: counting tokens is monotone in a prefix's length.
    let (mut fits, mut over) = (0, ends.len() + 1);
    while over - fits > 1 {
        let middle = (fits + over) / 2;
        if count_tokens(&cut(middle)) <= max_tokens {
            fits = middle;
        } else {
            over = middle;
        }
    }
    if fits == 0 { text.to_string() } else { cut(fits) }
}

/// A record's units in document order; a gap between two is marked with an ellipsis.
fn join_in_order(units: &[&Unit]) -> String {
    let mut text = String::new();
    let mut previous: Option<usize> = None;
    for unit in units {
        if let Some(p) = previous {
            text.push_str(if unit.position == p + 1 { " " } else { " … " });
        }
        text.push_str(&unit.text);
        previous = Some(unit.position);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(record: usize, position: usize, tokens: usize, score: f32) -> Unit {
        Unit { record, position, text: format!("r{record}p{position}"), tokens, score }
    }

    #[test]
    fn a_unit_longer_than_the_budget_is_cut_between_words_to_fit_it() {
        let words = |t: &str| t.split_whitespace().count();
        let facts = "Object: painting. Medium: Oil paint on canvas. Subjects: dock, night, fire.";
        assert_eq!(cut_to_tokens(facts, 7, &words), "Object: painting. Medium: Oil paint on …");
        assert_eq!(cut_to_tokens("Unbreakable", 0, &words), "Unbreakable", "nothing fits: left whole, and not chosen");
    }

    #[test]
    fn every_record_keeps_its_best_unit_before_others_get_a_second() {
        let units = [unit(0, 1, 10, 9.0), unit(0, 2, 10, 8.0), unit(1, 1, 10, 1.0), unit(1, 2, 10, 0.5)];
        let mut chosen = choose(&units, 2, 30);
        chosen.sort_unstable();
        assert_eq!(chosen, [0, 1, 2], "record 1's best comes before record 0's second");
    }

    #[test]
    fn records_scored_for_the_gate_but_not_given_to_the_model_spend_no_budget() {
        let units = [unit(0, 1, 10, 1.0), unit(1, 1, 10, 9.0), unit(2, 1, 10, 8.0)];
        let mut chosen = choose(&units, 2, 100);
        chosen.sort_unstable();
        assert_eq!(chosen, [0, 1]);
    }

    #[test]
    fn a_unit_too_long_for_the_budget_is_passed_over_for_a_shorter_one() {
        let units = [unit(0, 1, 50, 9.0), unit(0, 2, 10, 1.0)];
        assert_eq!(choose(&units, 1, 20), [1]);
    }

    #[test]
    fn a_record_whose_best_unit_is_far_below_the_best_is_not_a_source() {
        let mut units = vec![unit(0, 1, 10, 9.0), unit(0, 2, 10, 2.0), unit(1, 1, 10, 7.5), unit(2, 1, 10, 1.0)];
        drop_far_below_best(&mut units, 3, 3.0);
        let chosen = choose(&units, 3, 100);
        let kept: Vec<(usize, usize)> = chosen.iter().map(|&i| (units[i].record, units[i].position)).collect();
        assert_eq!(kept, [(0, 1), (1, 1)], "the weak sentence of record 0 and all of record 2 are dropped");
        assert_eq!(source_records(&units, &chosen, 3, true), [0, 1]);
        assert_eq!(source_records(&units, &chosen, 3, false), [0, 1, 2], "without a margin every record is a source");
    }

    #[test]
    fn the_margin_is_measured_from_the_best_unit_of_the_given_records_only() {
        // Record 2 is scored for the gate but not given: its better unit must not raise the bar.
        let mut units = vec![unit(0, 1, 10, 5.0), unit(1, 1, 10, 3.0), unit(2, 1, 10, 20.0)];
        drop_far_below_best(&mut units, 2, 3.0);
        let chosen = choose(&units, 2, 100);
        assert_eq!(source_records(&units, &chosen, 2, true), [0, 1]);
    }

    #[test]
    fn records_without_any_unit_stay_sources_when_no_record_has_one() {
        let units: Vec<Unit> = Vec::new();
        assert_eq!(source_records(&units, &[], 2, true), [0, 1]);
    }

    #[test]
    fn gaps_between_kept_sentences_are_marked() {
        let (a, b, c) = (unit(0, 1, 1, 0.0), unit(0, 2, 1, 0.0), unit(0, 5, 1, 0.0));
        assert_eq!(join_in_order(&[&a, &b, &c]), "r0p1 r0p2 … r0p5");
    }
}
