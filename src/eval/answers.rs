//! Evaluation of answers (`curator eval --answers`) and of the abstention threshold
//! (`curator eval --abstention`).
//!
//! Answers: accuracy (the normalised gold answer inside the answer; token F1), citation precision and
//! recall against the gold record, the share of supported sentences, abstention on unanswerable questions
//! (and wrongly on answerable ones), time to first token and tokens/s.

use std::collections::HashSet;

use serde::Serialize;

use super::{EvalError, Question};
use crate::app::{AskRequest, Curator};
use crate::bench::percentile;
use crate::generate::citations::is_refusal;
use crate::index::Generation;

/// Lower case, HTML entities decoded, punctuation and English articles removed, spaces collapsed: the
/// SQuAD normalisation.
pub fn normalise(text: &str) -> String {
    let decoded = html_escape::decode_html_entities(text).to_lowercase();
    let cleaned: String = decoded.chars().map(|c| if c.is_alphanumeric() || c.is_whitespace() { c } else { ' ' }).collect();
    cleaned.split_whitespace().filter(|w| !matches!(*w, "a" | "an" | "the")).collect::<Vec<_>>().join(" ")
}

/// SQuAD token F1 between an answer and a gold answer.
pub fn token_f1(answer: &str, gold: &str) -> f64 {
    let a: Vec<String> = normalise(answer).split_whitespace().map(String::from).collect();
    let g: Vec<String> = normalise(gold).split_whitespace().map(String::from).collect();
    if a.is_empty() || g.is_empty() {
        return if a == g { 1.0 } else { 0.0 };
    }
    let mut remaining = g.clone();
    let mut common = 0;
    for word in &a {
        if let Some(i) = remaining.iter().position(|w| w == word) {
            remaining.swap_remove(i);
            common += 1;
        }
    }
    if common == 0 {
        return 0.0;
    }
    let precision = common as f64 / a.len() as f64;
    let recall = common as f64 / g.len() as f64;
    2.0 * precision * recall / (precision + recall)
}

/// Whether the normalised gold answer appears, as whole words, in the normalised answer.
pub fn contains_answer(answer: &str, gold: &str) -> bool {
    let gold = normalise(gold);
    !gold.is_empty() && format!(" {} ", normalise(answer)).contains(&format!(" {gold} "))
}

/// Share of the gold answer's tokens that the answer holds (recall, where F1 also punishes length).
pub fn token_recall(answer: &str, gold: &str) -> f64 {
    let a: Vec<String> = normalise(answer).split_whitespace().map(String::from).collect();
    let g: Vec<String> = normalise(gold).split_whitespace().map(String::from).collect();
    if g.is_empty() {
        return 0.0;
    }
    g.iter().filter(|w| a.contains(w)).count() as f64 / g.len() as f64
}

#[derive(Debug, Serialize)]
pub struct AnswerRow {
    pub id: String,
    /// What kind of question: aqua-knowledge, aqua-picture, metadata, out-of-collection (or answerable /
    /// unanswerable for a plain question file).
    pub kind: String,
    pub question: String,
    pub answerable: bool,
    pub gold: Vec<String>,
    pub answer: String,
    pub abstained: bool,
    pub declined_by: Option<String>,
    pub contains_gold: bool,
    pub f1: f64,
    pub recall: f64,
    pub cited: Vec<String>,
    pub citation_precision: Option<f64>,
    pub citation_recall: Option<f64>,
    pub supported_share: Option<f32>,
    pub first_token_ms: Option<f64>,
    /// Prompt tokens the model read, and how many of them it evaluated (the rest were cached).
    pub prompt_tokens: Option<usize>,
    pub evaluated_prompt_tokens: Option<usize>,
    pub tokens_per_second: Option<f64>,
    /// Times decoding refused to end a sentence on an unfinished word ([`crate::generate::AnswerShape`]):
    /// a row where it is 0 was written as it would have been without that check.
    pub unfinished_endings_refused: Option<usize>,
    pub relevance: f32,
}

/// The measures over a set of answers.
#[derive(Debug, Serialize)]
pub struct AnswerScores {
    pub questions: usize,
    pub answerable: usize,
    pub unanswerable: usize,
    /// Over answerable questions with a gold answer.
    pub contains_gold: f64,
    pub token_f1: f64,
    pub token_recall: f64,
    /// Over answerable questions with a gold record that cite anything.
    pub citation_precision: f64,
    pub citation_recall: f64,
    /// Mean share of claim-making sentences that a cited source supports.
    pub supported_sentences: f64,
    /// Share of answerable questions answered (not declined).
    pub answered_answerable: f64,
    /// Share of unanswerable questions declined (by the gate, the threshold or the model).
    pub declined_unanswerable: f64,
    pub first_token_p50_ms: f64,
    pub first_token_p95_ms: f64,
    pub tokens_per_second_p50: f64,
}

#[derive(Debug, Serialize)]
pub struct AnswerReport {
    pub dataset: String,
    pub model: String,
    /// How the decision to answer was taken (the gate, or the relevance threshold).
    pub decided_by: String,
    pub all: AnswerScores,
    pub kinds: Vec<(String, AnswerScores)>,
    pub rows: Vec<AnswerRow>,
}

fn mean(values: &[f64]) -> f64 {
    if values.is_empty() { 0.0 } else { values.iter().sum::<f64>() / values.len() as f64 }
}

fn scores(rows: &[&AnswerRow]) -> AnswerScores {
    let answerable: Vec<&AnswerRow> = rows.iter().copied().filter(|r| r.answerable).collect();
    let unanswerable: Vec<&AnswerRow> = rows.iter().copied().filter(|r| !r.answerable).collect();
    let with_gold: Vec<&AnswerRow> = answerable.iter().copied().filter(|r| !r.gold.is_empty()).collect();
    let share = |rows: &[&AnswerRow], f: &dyn Fn(&AnswerRow) -> bool| {
        if rows.is_empty() { 0.0 } else { rows.iter().filter(|r| f(r)).count() as f64 / rows.len() as f64 }
    };
    let mut first: Vec<f64> = rows.iter().filter_map(|r| r.first_token_ms).collect();
    let mut speed: Vec<f64> = rows.iter().filter_map(|r| r.tokens_per_second).collect();
    AnswerScores {
        questions: rows.len(),
        answerable: answerable.len(),
        unanswerable: unanswerable.len(),
        contains_gold: mean(&with_gold.iter().map(|r| if r.contains_gold { 1.0 } else { 0.0 }).collect::<Vec<_>>()),
        token_f1: mean(&with_gold.iter().map(|r| r.f1).collect::<Vec<_>>()),
        token_recall: mean(&with_gold.iter().map(|r| r.recall).collect::<Vec<_>>()),
        citation_precision: mean(&answerable.iter().filter_map(|r| r.citation_precision).collect::<Vec<_>>()),
        citation_recall: mean(&answerable.iter().filter_map(|r| r.citation_recall).collect::<Vec<_>>()),
        supported_sentences: mean(&rows.iter().filter_map(|r| r.supported_share.map(f64::from)).collect::<Vec<_>>()),
        answered_answerable: share(&answerable, &|r| !r.abstained),
        declined_unanswerable: share(&unanswerable, &|r| r.abstained),
        first_token_p50_ms: percentile(&mut first, 0.5),
        first_token_p95_ms: percentile(&mut first, 0.95),
        tokens_per_second_p50: percentile(&mut speed, 0.5),
    }
}

/// Answers every question (kind, question) with the served settings and measures them, per kind and in all.
pub fn evaluate_answers(
    curator: &Curator,
    generation: &Generation,
    dataset: &str,
    questions: &[(String, Question)],
    progress: &dyn Fn(usize, usize, &AnswerRow),
) -> Result<AnswerReport, EvalError> {
    let mut rows = Vec::new();
    for (i, (kind, q)) in questions.iter().enumerate() {
        let request = AskRequest { question: q.question.clone(), ..Default::default() };
        let answer = curator.ask(generation, &request, &mut |_| true).map_err(|e| EvalError::Ask(e.to_string()))?;
        let declined = answer.abstained || (answer.sentences.iter().any(|s| is_refusal(&s.text)) && answer.citations.is_empty());
        let cited: Vec<String> = answer.citations.iter().map(|c| c.record_id.clone()).collect::<HashSet<_>>().into_iter().collect();
        let gold_records: HashSet<&String> = q.relevant.iter().filter(|(_, g)| **g > 0.0).map(|(id, _)| id).collect();
        let (precision, recall) = if gold_records.is_empty() || cited.is_empty() {
            (None, (!gold_records.is_empty() && !declined).then_some(0.0))
        } else {
            let hits = cited.iter().filter(|c| gold_records.contains(c)).count() as f64;
            (Some(hits / cited.len() as f64), Some(if hits > 0.0 { 1.0 } else { 0.0 }))
        };
        let row = AnswerRow {
            id: q.id.clone(),
            kind: kind.clone(),
            question: q.question.clone(),
            answerable: q.answerable,
            gold: q.answers.clone(),
            contains_gold: q.answers.iter().any(|g| contains_answer(&answer.answer, g)),
            f1: q.answers.iter().map(|g| token_f1(&answer.answer, g)).fold(0.0, f64::max),
            recall: q.answers.iter().map(|g| token_recall(&answer.answer, g)).fold(0.0, f64::max),
            answer: answer.answer.clone(),
            abstained: declined,
            declined_by: answer.declined_by.clone(),
            cited,
            citation_precision: precision,
            citation_recall: recall,
            supported_share: answer.supported_share(),
            first_token_ms: answer.timings.first_token_ms,
            prompt_tokens: answer.generation.as_ref().map(|g| g.prompt_tokens),
            evaluated_prompt_tokens: answer.generation.as_ref().map(|g| g.prompt_tokens - g.reused_tokens),
            tokens_per_second: answer.generation.as_ref().map(|g| g.tokens_per_second),
            unfinished_endings_refused: answer.generation.as_ref().map(|g| g.unfinished_endings_refused),
            relevance: answer.relevance,
        };
        progress(i + 1, questions.len(), &row);
        rows.push(row);
    }
    let mut kinds: Vec<String> = rows.iter().map(|r| r.kind.clone()).collect();
    kinds.sort();
    kinds.dedup();
    let kinds = kinds.into_iter().map(|k| {
        let of_kind: Vec<&AnswerRow> = rows.iter().filter(|r| r.kind == k).collect();
        (k, scores(&of_kind))
    }).collect();
    Ok(AnswerReport {
        dataset: dataset.to_string(),
        model: curator.llm.as_ref().map_or_else(String::new, |l| l.name.clone()),
        decided_by: curator.scoring().gate_status.clone(),
        all: scores(&rows.iter().collect::<Vec<_>>()),
        kinds,
        rows,
    })
}

pub fn answers_markdown(r: &AnswerReport) -> String {
    let mut out = format!(
        "{}: {} questions ({} answerable, {} unanswerable), model {}; {}\n\n\
         | kind | questions | contains gold | token F1 | token recall | citation precision | citation recall | supported sentences | answerable answered | unanswerable declined | first token p50 ms | p95 ms | tokens/s p50 |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
        r.dataset, r.all.questions, r.all.answerable, r.all.unanswerable, r.model, r.decided_by
    );
    let dash = |n: usize, v: f64| if n == 0 { "-".to_string() } else { format!("{v:.3}") };
    for (kind, s) in r.kinds.iter().map(|(k, s)| (k.as_str(), s)).chain([("all", &r.all)]) {
        out.push_str(&format!(
            "| {kind} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {:.0} | {:.0} | {:.1} |\n",
            s.questions,
            dash(s.answerable, s.contains_gold),
            dash(s.answerable, s.token_f1),
            dash(s.answerable, s.token_recall),
            dash(s.answerable, s.citation_precision),
            dash(s.answerable, s.citation_recall),
            format!("{:.3}", s.supported_sentences),
            dash(s.answerable, s.answered_answerable),
            dash(s.unanswerable, s.declined_unanswerable),
            s.first_token_p50_ms,
            s.first_token_p95_ms,
            s.tokens_per_second_p50,
        ));
    }
    out
}

#[derive(Debug, Serialize)]
pub struct ThresholdRow {
    pub threshold: f32,
    /// Answerable questions that would still be answered.
    pub answered_answerable: f64,
    /// Unanswerable questions that would be declined.
    pub declined_unanswerable: f64,
    /// Answerable questions answered whose gold record is among the sources.
    pub answered_with_gold_source: f64,
}

#[derive(Debug, Serialize)]
pub struct AbstentionReport {
    pub signal: String,
    pub answerable: usize,
    pub unanswerable: usize,
    pub rows: Vec<ThresholdRow>,
    /// The threshold with the most questions handled right (answerable answered plus unanswerable
    /// declined) among those that still answer at least `KEEP_ANSWERABLE` of the answerable ones (the
    /// lowest such threshold on a tie).
    pub best: f32,
}

/// Share of answerable questions the chosen abstention threshold must still answer.
pub const KEEP_ANSWERABLE: f64 = 0.9;

/// The relevance `ask` would see for each question, and how each threshold would split them.
pub fn abstention_sweep(curator: &Curator, generation: &Generation, questions: &[Question]) -> Result<AbstentionReport, EvalError> {
    let mut seen = Vec::new();
    let mut signal = String::new();
    let k = curator.settings.answer.sources;
    for q in questions {
        let response = curator.search(generation, &curator.answer_request(&q.question, Some(k), Default::default()))?;
        let (relevance, name, _) = curator.relevance(&response.hits);
        signal = name;
        let gold_found = response.hits.iter().any(|h| q.relevant.get(&h.record_id).is_some_and(|g| *g > 0.0));
        seen.push((q.answerable, relevance, gold_found));
    }
    let answerable = seen.iter().filter(|s| s.0).count();
    let unanswerable = seen.len() - answerable;
    let ratio = |n: usize, d: usize| if d == 0 { 0.0 } else { n as f64 / d as f64 };
    let mut rows = Vec::new();
    for step in 0..=40 {
        let threshold = step as f32 * 0.025;
        let answered = seen.iter().filter(|s| s.0 && s.1 >= threshold).count();
        let declined = seen.iter().filter(|s| !s.0 && s.1 < threshold).count();
        let with_gold = seen.iter().filter(|s| s.0 && s.1 >= threshold && s.2).count();
        rows.push(ThresholdRow {
            threshold,
            answered_answerable: ratio(answered, answerable),
            declined_unanswerable: ratio(declined, unanswerable),
            answered_with_gold_source: ratio(with_gold, answerable),
        });
    }
    // Declining an answerable question costs the user an answer; answering an unanswerable one still
    // meets the model's own instruction to say the collection has no record. So the threshold may cost
    // at most a tenth of the answerable questions.
    let mut best = (0.0, 0.0);
    for row in rows.iter().filter(|r| r.answered_answerable >= KEEP_ANSWERABLE) {
        let right = row.answered_answerable + row.declined_unanswerable;
        if right > best.1 {
            best = (row.threshold, right);
        }
    }
    let best = best.0;
    Ok(AbstentionReport { signal, answerable, unanswerable, rows, best })
}

pub fn abstention_markdown(r: &AbstentionReport) -> String {
    let mut out = format!(
        "abstention by {} ({} answerable, {} unanswerable questions); chosen threshold {:.3} (the most questions \
         handled right while answering at least 90% of the answerable ones)\n\n\
         | threshold | answerable answered | unanswerable declined | answered with gold source |\n|---|---|---|---|\n",
        r.signal, r.answerable, r.unanswerable, r.best
    );
    for row in &r.rows {
        out.push_str(&format!(
            "| {:.3} | {:.3} | {:.3} | {:.3} |\n",
            row.threshold, row.answered_answerable, row.declined_unanswerable, row.answered_with_gold_source
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalisation_follows_squad() {
        assert_eq!(normalise("The  Arnolfini&#160;Portrait!"), "arnolfini portrait");
    }

    #[test]
    fn token_f1_by_hand() {
        // answer tokens: painted, in, 1434 ; gold: 1434 -> precision 1/3, recall 1 -> F1 0.5
        assert!((token_f1("painted in 1434", "1434") - 0.5).abs() < 1e-9);
        assert_eq!(token_f1("Rembrandt", "Vermeer"), 0.0);
        assert_eq!(token_f1("the Night Watch", "Night Watch"), 1.0);
    }

    #[test]
    fn containment_is_by_whole_words() {
        assert!(contains_answer("It was painted in 1434 [1].", "1434"));
        assert!(!contains_answer("It was painted in 14345.", "1434"));
        assert!(!contains_answer("anything", ""));
    }
}
