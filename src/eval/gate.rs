//! Fitting and measuring the answer gate (`curator gate train`).
//!
//! Examples are questions run through the served retrieval and evidence selection, labelled by whether
//! the records found answer them:
//! - answerable (positive): AQUA knowledge questions and plain metadata questions whose gold record is
//!   among the sources (those whose gold record was not retrieved are left out of fitting, and counted as
//!   answerable in the reports);
//! - unanswerable (negative): AQUA picture questions (made from the image, not the text), hand-written
//!   out-of-collection questions (eval/questions/out-of-collection-*.jsonl), and answerable questions
//!   given the wrong records (their gold record, and every other work of its title, taken out of the
//!   sources).
//!
//! The gate is fitted on the train and valid parts together, and its threshold is chosen on their
//! out-of-fold probabilities (each example scored by a gate fitted without its fold; [`ThresholdFrom`]);
//! it is reported on dev and heldout, parts nothing was fitted or chosen on. (Until 2026-12-02 it was
//! fitted on train alone and its threshold chosen on valid's 619 examples, which moved it by up to 0.08
//! from one refit to the next.)

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::questions::{load_aqua, load_jsonl, metadata_questions, AquaPart, Wording, RERANKER_PLAIN_QUESTIONS};
use super::{sample, EvalError, Question};
use crate::app::Curator;
use crate::evidence;
use crate::gate::{self, Gate, GateModel};
use crate::index::{Filters, Generation};

/// One question as the gate sees it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GateExample {
    pub id: String,
    pub kind: String,
    pub question: String,
    /// Whether the records it was given answer it.
    pub answerable: bool,
    /// False for an answerable question whose gold record retrieval did not find.
    pub gold_retrieved: bool,
    /// None when retrieval found nothing (the question is declined before the gate).
    pub features: Option<Vec<f32>>,
    /// What ties examples together for the folds: the gold record (the questions about one painting
    /// share it, and its wrong-records pair too), else the question's id. Empty in examples computed
    /// before 2026-12-02, which fall back to the id.
    #[serde(default)]
    pub group: String,
}

/// How many questions of each kind a part contributes (sampled by seed).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct PartSizes {
    pub aqua_knowledge: usize,
    pub aqua_picture: usize,
    pub metadata: usize,
    pub out_of_collection: usize,
}

impl PartSizes {
    pub fn for_part(part: AquaPart) -> PartSizes {
        match part {
            AquaPart::Train => PartSizes { aqua_knowledge: 400, aqua_picture: 250, metadata: 250, out_of_collection: usize::MAX },
            AquaPart::Valid => PartSizes { aqua_knowledge: 200, aqua_picture: 100, metadata: 120, out_of_collection: usize::MAX },
            AquaPart::Dev => PartSizes { aqua_knowledge: 300, aqua_picture: 150, metadata: 150, out_of_collection: usize::MAX },
            AquaPart::Heldout => PartSizes { aqua_knowledge: 400, aqua_picture: 200, metadata: 200, out_of_collection: usize::MAX },
        }
    }
}

/// The questions of one part, with their kinds: AQUA's (train without its valid tenth), the metadata
/// questions of the part's records, and the out-of-collection file of the part.
pub fn part_questions(
    generation: &Generation,
    aqua: &Path,
    written: &Path,
    part: AquaPart,
    sizes: PartSizes,
    seed: u64,
) -> Result<Vec<(String, Question)>, EvalError> {
    let mut aqua_questions = load_aqua(aqua, part)?;
    if part == AquaPart::Train {
        let valid: HashSet<String> = load_aqua(aqua, AquaPart::Valid)?.into_iter().map(|q| q.id).collect();
        aqua_questions.retain(|q| !valid.contains(&q.id));
    }
    let (knowledge, picture): (Vec<Question>, Vec<Question>) = aqua_questions.into_iter().partition(|q| q.answerable);
    let mut out = Vec::new();
    let mut add = |kind: &str, questions: Vec<Question>, limit: usize| {
        out.extend(sample(questions, Some(limit), seed).into_iter().map(|q| (kind.to_string(), q)));
    };
    add("aqua-knowledge", knowledge, sizes.aqua_knowledge);
    add("aqua-picture", picture, sizes.aqua_picture);
    // Past the ones `curator rerank-data` trains the reranker on (train, and its validation in valid).
    let skip = match part {
        AquaPart::Train => RERANKER_PLAIN_QUESTIONS,
        AquaPart::Valid => RERANKER_PLAIN_QUESTIONS / 9,
        _ => 0,
    };
    let metadata: Vec<Question> = metadata_questions(generation, part, skip + sizes.metadata, seed, Wording::Evaluated).into_iter().skip(skip).collect();
    add("metadata", metadata, sizes.metadata);
    let name = format!("out-of-collection-{}.jsonl", part_name(part));
    let mut written_questions = load_jsonl(&written.join(name))?;
    for q in &mut written_questions {
        q.answerable = false;
    }
    add("out-of-collection", written_questions, sizes.out_of_collection);
    Ok(out)
}

pub fn part_name(part: AquaPart) -> &'static str {
    match part {
        AquaPart::Train => "train",
        AquaPart::Valid => "valid",
        AquaPart::Dev => "dev",
        AquaPart::Heldout => "heldout",
    }
}

/// Runs each question through the served retrieval and evidence selection. With `with_wrong_records`, every
/// other answerable question whose gold record was found is also given the records without it (and
/// without the other works of its title), as an unanswerable example of kind "wrong-records".
pub fn examples(
    curator: &Curator,
    generation: &Generation,
    questions: &[(String, Question)],
    with_wrong_records: bool,
    progress: &dyn Fn(usize, usize),
) -> Result<Vec<GateExample>, EvalError> {
    let k = gate::RECORDS;
    let mut out = Vec::new();
    for (i, (kind, q)) in questions.iter().enumerate() {
        progress(i, questions.len());
        let gold: HashSet<&String> = q.relevant.iter().filter(|(_, g)| **g > 0.0).map(|(id, _)| id).collect();
        let hits = curator.search(generation, &curator.answer_request(&q.question, Some(k), Filters::default()))?.hits;
        let gold_retrieved = hits.iter().any(|h| gold.contains(&h.record_id));
        let group = gold.iter().min().map_or_else(|| q.id.clone(), |id| id.to_string());
        out.push(GateExample {
            id: q.id.clone(),
            kind: kind.clone(),
            question: q.question.clone(),
            answerable: q.answerable,
            gold_retrieved: !q.answerable || gold_retrieved,
            features: features(curator, generation, &q.question, &hits)?,
            group: group.clone(),
        });
        let every_other = Sha256::digest(q.id.as_bytes())[0] % 2 == 0;
        if with_wrong_records && q.answerable && gold_retrieved && every_other {
            let others = wrong_records(curator, generation, &q.question, &gold)?;
            out.push(GateExample {
                id: format!("{}:wrong-records", q.id),
                kind: "wrong-records".into(),
                question: q.question.clone(),
                answerable: false,
                gold_retrieved: true,
                features: features(curator, generation, &q.question, &others)?,
                group,
            });
        }
    }
    progress(questions.len(), questions.len());
    Ok(out)
}

/// How deep the records of a wrong-records pair are drawn from, so that five are left when the gold
/// record and the other works of its title are taken out.
const WRONG_RECORDS_DEPTH: usize = 30;

/// The records the question is given in a wrong-records pair: the served ones without the gold records
/// and without any other work of a gold record's title. Another "Distant Ships" answers "who made Distant
/// Ships?" as well as the gold one does, and a pair labelled unanswerable must not hold a record that
/// answers the question.
pub fn wrong_records(curator: &Curator, generation: &Generation, question: &str, gold: &HashSet<&String>) -> Result<Vec<crate::retrieve::Hit>, EvalError> {
    let title_of = |id: &String| generation.store.get(id).map(|s| s.record.title.trim().to_lowercase());
    let gold_titles: HashSet<String> = gold.iter().filter_map(|id| title_of(id)).collect();
    let request = curator.answer_request(question, Some(WRONG_RECORDS_DEPTH), Filters::default());
    let mut others = curator.search(generation, &request)?.hits;
    others.retain(|h| !gold.contains(&h.record_id) && !title_of(&h.record_id).is_some_and(|t| gold_titles.contains(&t)));
    others.truncate(gate::RECORDS);
    Ok(others)
}

/// The gate's features for `hits`, with evidence scored exactly as `Curator::ask` scores it.
fn features(curator: &Curator, generation: &Generation, question: &str, hits: &[crate::retrieve::Hit]) -> Result<Option<Vec<f32>>, EvalError> {
    if hits.is_empty() {
        return Ok(None);
    }
    // The best unit's score does not depend on the budget, only the choice of units does.
    let budget = curator.evidence_budget(hits.len());
    let chosen = evidence::select(question, generation, hits, budget, &curator.scoring().evidence_scorer(&curator.embedder_for(generation)), &|t| t.len() / 4)?;
    Ok(Some(gate::features(question, generation, hits, &chosen.best_scores)))
}

/// The gate's probability for an example; a question with no records at all is declined before it.
pub fn probability(gate: &Gate, example: &GateExample) -> f32 {
    example.features.as_ref().map_or(0.0, |f| gate.probability(f))
}

#[derive(Debug, Clone, Serialize)]
pub struct KindScores {
    pub kind: String,
    pub answerable: bool,
    pub questions: usize,
    /// Answered share for answerable kinds, declined share for unanswerable ones.
    pub right_share: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct PartScores {
    pub part: String,
    pub examples: usize,
    /// Over every answerable example, gold retrieved or not.
    pub answerable_answered: f64,
    pub unanswerable_declined: f64,
    /// Mean squared error of the probability against the label (lower is better; a constant at the
    /// base rate scores base * (1 - base)).
    pub brier: f64,
    /// Expected calibration error over ten equal-width probability bins.
    pub calibration_error: f64,
    pub kinds: Vec<KindScores>,
}

pub fn score_part(gate: &Gate, part: &str, examples: &[GateExample]) -> PartScores {
    let probabilities: Vec<f32> = examples.iter().map(|e| probability(gate, e)).collect();
    score_probabilities(gate.threshold, part, examples, &probabilities)
}

/// The scores of `examples` given their probabilities (a gate's, or out-of-fold ones) and a threshold.
pub fn score_probabilities(threshold: f32, part: &str, examples: &[GateExample], probabilities: &[f32]) -> PartScores {
    let scored: Vec<(f64, bool, &GateExample)> = examples.iter().zip(probabilities).map(|(e, p)| (*p as f64, e.answerable, e)).collect();
    let threshold = threshold as f64;
    let share = |filter: &dyn Fn(&GateExample) -> bool, answered: bool| -> (usize, f64) {
        let chosen: Vec<&(f64, bool, &GateExample)> = scored.iter().filter(|(_, _, e)| filter(e)).collect();
        let right = chosen.iter().filter(|(p, _, _)| (*p >= threshold) == answered).count();
        (chosen.len(), if chosen.is_empty() { 0.0 } else { right as f64 / chosen.len() as f64 })
    };
    let mut kinds: Vec<String> = examples.iter().map(|e| e.kind.clone()).collect();
    kinds.sort();
    kinds.dedup();
    let kinds = kinds
        .into_iter()
        .map(|kind| {
            let answerable = examples.iter().find(|e| e.kind == kind).is_some_and(|e| e.answerable);
            let (questions, right_share) = share(&|e| e.kind == kind, answerable);
            KindScores { kind, answerable, questions, right_share }
        })
        .collect();
    let labels = |y: bool| if y { 1.0 } else { 0.0 };
    let brier = scored.iter().map(|(p, y, _)| (p - labels(*y)).powi(2)).sum::<f64>() / scored.len().max(1) as f64;
    let mut calibration_error = 0.0;
    for bin in 0..10 {
        let (low, high) = (bin as f64 / 10.0, (bin + 1) as f64 / 10.0);
        let members: Vec<&(f64, bool, &GateExample)> =
            scored.iter().filter(|(p, _, _)| *p >= low && (*p < high || (bin == 9 && *p <= 1.0))).collect();
        if members.is_empty() {
            continue;
        }
        let confidence = members.iter().map(|(p, _, _)| p).sum::<f64>() / members.len() as f64;
        let accuracy = members.iter().map(|(_, y, _)| labels(*y)).sum::<f64>() / members.len() as f64;
        calibration_error += (confidence - accuracy).abs() * members.len() as f64 / scored.len() as f64;
    }
    PartScores {
        part: part.to_string(),
        examples: examples.len(),
        answerable_answered: share(&|e| e.answerable, true).1,
        unanswerable_declined: share(&|e| !e.answerable, false).1,
        brier,
        calibration_error,
        kinds,
    }
}

/// Where the gate's threshold is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThresholdFrom {
    /// The gate is fitted on train and valid together; the threshold is chosen on their out-of-fold
    /// probabilities, each example scored by a gate fitted on the other [`FOLDS`] - 1 folds: chosen on
    /// every example of both parts instead of valid's alone.
    Folds,
    /// The gate is fitted on train and the threshold chosen on valid (how it was until 2026-12-02).
    Valid,
}

/// How many folds the out-of-fold probabilities come from.
pub const FOLDS: usize = 5;

/// A fitted gate, with how its threshold was chosen.
pub struct Fitted {
    pub gate: Gate,
    /// The examples the threshold was chosen on, scored as they were then.
    pub chosen_on: PartScores,
    /// [`gate::threshold_spread`] over those examples.
    pub threshold_spread: (f32, f32),
}

/// Fits a gate (answerable examples whose gold record was not retrieved left out of fitting) and chooses
/// its threshold, as `from` says.
pub fn fit(train: &[GateExample], valid: &[GateExample], scorer: &str, model: GateModel, from: ThresholdFrom) -> Result<Fitted, crate::gate::GateError> {
    match from {
        ThresholdFrom::Valid => {
            let gate = gate::fit(&fitting_rows(train.iter()), model, scorer)?;
            let probabilities: Vec<f32> = valid.iter().map(|e| probability(&gate, e)).collect();
            Ok(with_threshold(gate, "valid", valid, &probabilities))
        }
        ThresholdFrom::Folds => {
            let pool: Vec<GateExample> = train.iter().chain(valid).cloned().collect();
            let mut probabilities = vec![0.0; pool.len()];
            for fold in 0..FOLDS {
                let gate = gate::fit(&fitting_rows(pool.iter().filter(|e| fold_of(e) != fold)), model, scorer)?;
                for (p, e) in probabilities.iter_mut().zip(&pool).filter(|(_, e)| fold_of(e) == fold) {
                    *p = probability(&gate, e);
                }
            }
            let gate = gate::fit(&fitting_rows(pool.iter()), model, scorer)?;
            Ok(with_threshold(gate, "train+valid out of fold", &pool, &probabilities))
        }
    }
}

/// The threshold is chosen on every example given, as the served answers are judged: an answerable
/// question whose gold record was not retrieved still counts against "answerable answered" there.
fn with_threshold(mut gate: Gate, part: &str, examples: &[GateExample], probabilities: &[f32]) -> Fitted {
    let scored: Vec<gate::Scored> =
        examples.iter().zip(probabilities).map(|(e, p)| gate::Scored { probability: *p, answerable: e.answerable, kind: &e.kind }).collect();
    gate.threshold = gate::choose_threshold(&scored);
    let threshold_spread = gate::threshold_spread(&scored);
    let chosen_on = score_probabilities(gate.threshold, part, examples, probabilities);
    Fitted { gate, chosen_on, threshold_spread }
}

fn fitting_rows<'a>(examples: impl Iterator<Item = &'a GateExample>) -> Vec<(Vec<f32>, bool)> {
    examples.filter(|e| e.gold_retrieved).filter_map(|e| e.features.clone().map(|f| (f, e.answerable))).collect()
}

/// An example's fold, by its group, so that the questions about one painting (and its wrong-records
/// pair) are all in one fold and no gate is scored on a painting it was fitted on.
fn fold_of(example: &GateExample) -> usize {
    let group = if example.group.is_empty() { example.id.trim_end_matches(":wrong-records") } else { example.group.as_str() };
    Sha256::digest(group.as_bytes())[0] as usize % FOLDS
}

#[derive(Debug, Serialize)]
pub struct GateReport {
    pub scorer: String,
    pub gate_file: PathBuf,
    /// "logistic" or "boosted-trees".
    pub classifier: String,
    pub threshold: f32,
    /// What the threshold was chosen on ("valid", or "train+valid out of fold").
    pub threshold_chosen_on: String,
    /// [`gate::threshold_spread`]: the 10th and 90th percentiles of the thresholds chosen on bootstrap
    /// resamples of those examples.
    pub threshold_spread: (f32, f32),
    /// What `features`' numbers are (see `Gate::feature_weights`).
    pub feature_weight: String,
    pub features: Vec<(String, f32)>,
    pub parts: Vec<PartScores>,
}

pub fn markdown(report: &GateReport) -> String {
    let mut out = format!(
        "Answer gate ({}) for {} (threshold {:.3}, chosen on {}; on {} bootstrap resamples of those examples, 80% of the thresholds chosen lie in {:.3}..{:.3})\n\n| part | kind | questions | right |\n|---|---|---:|---:|\n",
        report.classifier,
        report.scorer,
        report.threshold,
        report.threshold_chosen_on,
        gate::THRESHOLD_RESAMPLES,
        report.threshold_spread.0,
        report.threshold_spread.1
    );
    for part in &report.parts {
        for kind in &part.kinds {
            let what = if kind.answerable { "answered" } else { "declined" };
            out.push_str(&format!("| {} | {} | {} | {:.3} {what} |\n", part.part, kind.kind, kind.questions, kind.right_share));
        }
        out.push_str(&format!(
            "| **{}** | **all** | {} | answerable answered {:.3}, unanswerable declined {:.3}; Brier {:.3}, ECE {:.3} |\n",
            part.part, part.examples, part.answerable_answered, part.unanswerable_declined, part.brier, part.calibration_error
        ));
    }
    out.push_str(&format!("\n| feature | {} |\n|---|---:|\n", report.feature_weight));
    for (name, weight) in &report.features {
        out.push_str(&format!("| {name} | {weight:+.3} |\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example(id: &str, group: &str) -> GateExample {
        GateExample {
            id: id.into(),
            kind: "aqua-knowledge".into(),
            question: String::new(),
            answerable: true,
            gold_retrieved: true,
            features: None,
            group: group.into(),
        }
    }

    #[test]
    fn the_questions_about_one_painting_and_their_wrong_records_pairs_share_a_fold() {
        let folds: HashSet<usize> = (0..30).map(|i| fold_of(&example(&format!("aqua-{i}"), "semart:1234.jpg"))).collect();
        assert_eq!(folds.len(), 1, "one painting's questions went to folds {folds:?}");
        // Examples cached before groups existed: a pair falls back to its question's id.
        assert_eq!(fold_of(&example("aqua-7:wrong-records", "")), fold_of(&example("aqua-7", "")));
        let spread: HashSet<usize> = (0..200).map(|i| fold_of(&example(&format!("q{i}"), ""))).collect();
        assert_eq!(spread.len(), FOLDS, "200 groups did not reach every fold");
    }
}
