//! Evidence selection: from the records retrieval ranked highest to the few sentences that answer the
//! question, which is all the language model reads.
//!
//! Prompt evaluation is what a first answer token waits for on a CPU (README "Generation speed"), and a
//! small model given less, more relevant text wanders less. So each top record is cut into units (its
//! structured facts as one unit, then each sentence of its description), every unit is scored against the
//! question, and the best are kept within a token budget: first the best unit of each record, then the
//! best of the rest. Each record's units are given back in document order, under the record's header.
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

/// The numbered sources for the first `given` of `hits`: each record's best evidence within
/// `budget_tokens` in all. Every hit's units are scored, so that the answer gate reads the same number of
/// records however many the model is given.
pub fn select(
    question: &str,
    generation: &Generation,
    hits: &[Hit],
    given: usize,
    scorer: &Scorer<'_>,
    budget_tokens: usize,
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
    let given = given.min(hits.len());
    let chosen = choose(&units, given, budget_tokens);
    let best_scores = (0..hits.len())
        .map(|record| units.iter().filter(|u| u.record == record).map(|u| u.score).reduce(f32::max).unwrap_or(0.0))
        .collect();
    let sources = hits[..given]
        .iter()
        .enumerate()
        .map(|(record, hit)| {
            let mut mine: Vec<&Unit> = chosen.iter().map(|&i| &units[i]).filter(|u| u.record == record).collect();
            mine.sort_by_key(|u| u.position);
            Source {
                number: record + 1,
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
    fn gaps_between_kept_sentences_are_marked() {
        let (a, b, c) = (unit(0, 1, 1, 0.0), unit(0, 2, 1, 0.0), unit(0, 5, 1, 0.0));
        assert_eq!(join_in_order(&[&a, &b, &c]), "r0p1 r0p2 … r0p5");
    }
}
