//! The answer gate: whether retrieval found something that answers the question, decided before the
//! language model is asked, by a small calibrated classifier over retrieval's own evidence.
//!
//! A 1.5B model given five records answers from them whether or not they hold the answer, and declines
//! questions they do answer (README "Answers"), so the decision is taken out of its hands. The gate is a
//! classifier (gradient-boosted trees, or a logistic regression) over [`FEATURES`]: how well the best records and evidence units score, the gaps to
//! the next ones, whether BM25 and dense retrieval agree, and whether the question's words, a title or a
//! maker it names are in the records. `curator gate train` (src/eval/gate.rs) fits it on the AQUA train
//! part, out-of-collection questions and plain metadata questions, chooses its threshold on the valid part
//! and reports on dev; the result is one JSON file in the model cache, named after the models whose
//! scores it was fitted on (so a gate is never applied to scores of another model). It was also fitted
//! on one collection (BM25 scores depend on the index's statistics; the manifest records the generation
//! and record count): fit it again after the collection changes much.
//!
//! Invariant: the features are computed by one function, [`features`], for training and for serving.
//!
//! Depends on `retrieve` (hits and their stage scores), `index` (the record store) and
//! `generate::citations` (content words); `app::ask` consults it.

use std::path::{Path, PathBuf};

use forust_ml::gradientbooster::ImportanceMethod;
use forust_ml::{GradientBooster, Matrix};
use serde::{Deserialize, Serialize};
use sha2::Digest;

use crate::generate::citations::content_words;
use crate::index::Generation;
use crate::retrieve::rerank::probability;
use crate::retrieve::Hit;

/// The features, in the order of [`features`]' vector and of a gate file's weights.
pub const FEATURES: &[&str] = &[
    "dense_best",
    "dense_gap",
    "bm25_best_log",
    "rerank_best_probability",
    "rerank_gap",
    "evidence_best",
    "evidence_gap",
    "top_in_both_lists",
    "top5_in_both_lists",
    "question_coverage_best",
    "question_coverage_top",
    "title_named",
    "maker_named",
    "question_content_words_log",
];

#[derive(Debug, thiserror::Error)]
pub enum GateError {
    #[error("cannot read the answer gate {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("cannot write the answer gate {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
    #[error("the answer gate {path} is malformed: {why}")]
    Malformed { path: PathBuf, why: String },
    #[error("cannot fit the answer gate: {0}")]
    Fit(String),
}

/// What retrieval and evidence selection found for one question, as the gate's feature vector.
/// `evidence_best` holds, per hit, the best score of its evidence units (cosine or cross-encoder logit).
/// The question's words are read as search read them: a word no record holds, as its correction.
pub fn features(question: &str, generation: &Generation, hits: &[Hit], evidence_best: &[f32]) -> Vec<f32> {
    let question = generation.text.as_search_reads_it(question);
    let question = question.as_str();
    let best_two = |mut values: Vec<f32>| -> (f32, f32) {
        values.sort_by(|a, b| b.total_cmp(a));
        let first = values.first().copied().unwrap_or(0.0);
        (first, first - values.get(1).copied().unwrap_or(0.0))
    };
    let (dense_best, dense_gap) = best_two(hits.iter().filter_map(|h| h.stages.dense).map(|s| s.score).collect());
    let bm25_best = hits.iter().filter_map(|h| h.stages.bm25).map(|s| s.score).fold(0.0f32, f32::max);
    let (rerank_best, rerank_gap) = best_two(hits.iter().filter_map(|h| h.stages.rerank).map(|s| probability(s.score)).collect());
    let (evidence_top, evidence_gap) = best_two(evidence_best.to_vec());
    let in_both = |h: &Hit| h.stages.bm25.is_some_and(|s| s.rank <= 10) && h.stages.dense.is_some_and(|s| s.rank <= 10);
    let top_in_both = hits.first().map_or(0.0, |h| if in_both(h) { 1.0 } else { 0.0 });
    let top5 = hits.iter().take(5).filter(|h| in_both(h)).count() as f32 / 5.0;

    let question_words = unique(content_words(question));
    let mut coverage = Vec::new();
    let mut title_named = 0.0f32;
    let mut maker_named = 0.0f32;
    for hit in hits {
        let Some(stored) = generation.store.get(&hit.record_id) else {
            coverage.push(0.0);
            continue;
        };
        let record = &stored.record;
        let text = format!(
            "{} {} {} {} {} {}",
            record.title,
            record.makers.join(" "),
            record.date.as_deref().unwrap_or(""),
            record.medium.as_deref().unwrap_or(""),
            record.subjects.join(" "),
            record.description.as_deref().unwrap_or("")
        );
        let record_words: Vec<String> = content_words(&text).into_iter().map(|w| stem(&w)).collect();
        let covered = question_words.iter().filter(|w| record_words.contains(&stem(w))).count();
        coverage.push(if question_words.is_empty() { 0.0 } else { covered as f32 / question_words.len() as f32 });
        let title_words = unique(content_words(&record.title));
        if !title_words.is_empty() {
            let named = title_words.iter().filter(|w| question_words.contains(w)).count() as f32 / title_words.len() as f32;
            title_named = title_named.max(named);
        }
        for maker in &record.makers {
            // "Rijn, Rembrandt van" and "Rembrandt van Rijn" both name "rembrandt" and "rijn".
            if content_words(maker).iter().any(|w| w.chars().count() > 3 && question_words.contains(w)) {
                maker_named = 1.0;
            }
        }
    }
    let coverage_top = coverage.first().copied().unwrap_or(0.0);
    let coverage_best = coverage.iter().copied().fold(0.0f32, f32::max);
    vec![
        dense_best,
        dense_gap,
        (1.0 + bm25_best).ln(),
        rerank_best,
        rerank_gap,
        evidence_top,
        evidence_gap,
        top_in_both,
        top5,
        coverage_best,
        coverage_top,
        title_named,
        maker_named,
        (1.0 + question_words.len() as f32).ln(),
    ]
}

fn unique(mut words: Vec<String>) -> Vec<String> {
    words.sort_unstable();
    words.dedup();
    words
}

/// A crude stem: the first five characters, so "painted" meets "painter" and "paintings".
fn stem(word: &str) -> String {
    word.chars().take(5).collect()
}

/// A fitted gate: a classifier over [`FEATURES`], and the threshold on its probability.
#[derive(Debug, Serialize, Deserialize)]
pub struct Gate {
    pub features: Vec<String>,
    pub classifier: Classifier,
    /// Answer when the probability is at least this (chosen on the valid part).
    pub threshold: f32,
    /// What scored the evidence and records it was fitted on (see [`scorer_key`]).
    pub scorer: String,
    /// How many retrieved records its features were computed over ([`RECORDS`] when it was fitted):
    /// a request for more or fewer sources is judged on this many, so the features stay in the range
    /// they were fitted on.
    #[serde(default = "fitted_sources")]
    pub sources: usize,
    /// How it was made and how it measured: data, settings, valid and dev results.
    pub manifest: serde_json::Value,
}

/// The classifier a gate applies to its features.
#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Classifier {
    /// A logistic regression over features standardised by `mean` and `scale`.
    Logistic { mean: Vec<f32>, scale: Vec<f32>, weights: Vec<f32>, bias: f32 },
    /// Gradient-boosted trees with logistic loss (forust-ml): the trees' summed outputs are log-odds.
    /// They answer questions no weighted sum of the features can, such as "a title is named, and the
    /// reranker is only lukewarm about its record".
    BoostedTrees { booster: Box<GradientBooster> },
}

impl std::fmt::Debug for Classifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Classifier::Logistic { weights, bias, .. } => f.debug_struct("Logistic").field("weights", weights).field("bias", bias).finish(),
            Classifier::BoostedTrees { booster } => f.debug_struct("BoostedTrees").field("trees", &booster.trees.len()).finish(),
        }
    }
}

/// Which classifier `fit` fits, and how.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum GateModel {
    /// Full-batch gradient descent from zero with an L2 penalty, for a fixed number of steps.
    Logistic { l2: f32, steps: usize },
    /// [`TREES`] trees of depth [`TREE_DEPTH`] at learning rate [`TREE_LEARNING_RATE`], on every
    /// example and feature (no sampling), so the same examples always give the same gate.
    BoostedTrees,
}

impl GateModel {
    /// As a gate's manifest records them.
    pub fn settings(&self) -> serde_json::Value {
        match self {
            GateModel::Logistic { l2, steps } => serde_json::json!({"kind": "logistic", "l2": l2, "steps": steps}),
            GateModel::BoostedTrees => serde_json::json!({"kind": "boosted-trees", "trees": TREES, "depth": TREE_DEPTH, "learning_rate": TREE_LEARNING_RATE}),
        }
    }
}

/// How a gate was fitted, as its manifest's "settings" records it. A server whose settings differ reads
/// features the gate was not fitted on (`app` says so in the gate's status).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FittedSettings {
    /// [`GateModel::settings`].
    pub classifier: serde_json::Value,
    pub seed: u64,
    pub sources: usize,
    pub evidence_budget_tokens: usize,
    pub candidates: usize,
    pub rerank_depth: usize,
    /// Absent from gates fitted before the setting existed, which kept every word.
    #[serde(default)]
    pub bm25_drop_stopwords: bool,
}

/// The boosted gate's shape: the customary defaults of gradient boosting (scikit-learn's), not tuned.
pub const TREES: usize = 100;
pub const TREE_DEPTH: usize = 3;
pub const TREE_LEARNING_RATE: f32 = 0.1;

/// How many retrieved records a gate reads when it is fitted: more than the model is given
/// (`answer.sources`), since a question the third record does not answer may still be answered by the
/// fifth, and the gate's features (gaps after the best score) need a few records to mean anything.
pub const RECORDS: usize = 5;

/// The name of the gate that fits a scorer: the embedding model's checksum (dense scores, and evidence
/// without a reranker), and the cross-encoder's when there is one.
pub fn scorer_key(reranker_sha256: Option<&str>, embedding_sha256: &str) -> String {
    let short = |sha: &str| sha.chars().take(12).collect::<String>();
    match reranker_sha256 {
        Some(sha) => format!("reranker-{}-embedding-{}", short(sha), short(embedding_sha256)),
        None => format!("embedding-{}", short(embedding_sha256)),
    }
}

fn fitted_sources() -> usize {
    RECORDS
}

/// Where the gate for `scorer` lives in the model cache.
pub fn gate_path(model_dir: &Path, scorer: &str) -> PathBuf {
    model_dir.join("gate").join(format!("{scorer}.json"))
}

impl Gate {
    pub fn load(path: &Path) -> Result<Gate, GateError> {
        let malformed = |why: String| GateError::Malformed { path: path.to_path_buf(), why };
        let text = std::fs::read_to_string(path).map_err(|source| GateError::Read { path: path.to_path_buf(), source })?;
        let gate: Gate = serde_json::from_str(&text).map_err(|e| malformed(format!("{e}; refit it with `curator gate train`")))?;
        if gate.features != FEATURES {
            return Err(malformed(format!("it was fitted on other features ({}); refit it with `curator gate train`", gate.features.join(", "))));
        }
        if !(0.0..=1.0).contains(&gate.threshold) || gate.sources == 0 || !gate.classifier.is_sound() {
            return Err(malformed("a weight, a tree or the threshold is out of range".into()));
        }
        Ok(gate)
    }

    /// Written whole to a temporary file and renamed, so a reader never sees half a gate.
    pub fn save(&self, path: &Path) -> Result<(), GateError> {
        let write_error = |source| GateError::Write { path: path.to_path_buf(), source };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(write_error)?;
        }
        let text = serde_json::to_string_pretty(self).map_err(|e| GateError::Malformed { path: path.to_path_buf(), why: e.to_string() })?;
        let temporary = path.with_extension("json.tmp");
        std::fs::write(&temporary, text).map_err(write_error)?;
        std::fs::rename(&temporary, path).map_err(write_error)
    }

    /// The calibrated probability that the records answer the question.
    pub fn probability(&self, features: &[f32]) -> f32 {
        let z = match &self.classifier {
            Classifier::Logistic { mean, scale, weights, bias } => {
                bias + features.iter().zip(mean).zip(scale).zip(weights).map(|(((x, m), s), w)| w * (x - m) / s).sum::<f32>()
            }
            Classifier::BoostedTrees { booster } => {
                let row: Vec<f64> = features.iter().map(|v| *v as f64).collect();
                booster.predict(&Matrix::new(&row, 1, row.len()), false).first().copied().unwrap_or(0.0) as f32
            }
        };
        1.0 / (1.0 + (-z).exp())
    }

    /// The probability for `hits` (and their best evidence scores), judged on the first `sources` of
    /// them, as fitted.
    pub fn judge(&self, question: &str, generation: &Generation, hits: &[Hit], evidence_best: &[f32]) -> f32 {
        let n = self.sources.min(hits.len()).min(evidence_best.len());
        self.probability(&features(question, generation, &hits[..n], &evidence_best[..n]))
    }

    /// The settings its manifest records, when it records them.
    pub fn fitted_settings(&self) -> Option<FittedSettings> {
        serde_json::from_value(self.manifest.get("settings")?.clone()).ok()
    }

    /// What each feature weighs in the classifier, and what that number is: the standardised weight of
    /// a logistic gate, or a feature's share of all the trees' split gain.
    pub fn feature_weights(&self) -> (&'static str, Vec<(String, f32)>) {
        let named = |values: Vec<f32>| FEATURES.iter().map(|f| f.to_string()).zip(values).collect();
        match &self.classifier {
            Classifier::Logistic { weights, .. } => ("weight (standardised)", named(weights.clone())),
            Classifier::BoostedTrees { booster } => {
                let gain = booster.calculate_feature_importance(ImportanceMethod::TotalGain, true);
                ("share of split gain", named((0..FEATURES.len()).map(|i| gain.get(&i).copied().unwrap_or(0.0)).collect()))
            }
        }
    }
}

impl Classifier {
    /// As the gate file names it.
    pub fn name(&self) -> &'static str {
        match self {
            Classifier::Logistic { .. } => "logistic",
            Classifier::BoostedTrees { .. } => "boosted-trees",
        }
    }

    /// Every number finite and in range, and every tree splitting on a feature the gate has, so that a
    /// damaged file is refused on loading rather than met by a request.
    fn is_sound(&self) -> bool {
        let n = FEATURES.len();
        match self {
            Classifier::Logistic { mean, scale, weights, bias } => {
                mean.len() == n
                    && scale.len() == n
                    && weights.len() == n
                    && weights.iter().chain(mean).chain(scale).chain([bias]).all(|v| v.is_finite())
                    && scale.iter().all(|s| *s > 0.0)
            }
            Classifier::BoostedTrees { booster } => {
                booster.base_score.is_finite()
                    && !booster.trees.is_empty()
                    && booster.trees.iter().all(|tree| {
                        // Children come after their parent, so a walk down a tree always ends.
                        let count = tree.nodes.len();
                        tree.nodes.iter().enumerate().all(|(i, node)| {
                            node.weight_value.is_finite()
                                && (node.is_leaf
                                    || (node.split_feature < n
                                        && [node.left_child, node.right_child, node.missing_node].iter().all(|c| *c > i && *c < count)))
                        })
                    })
            }
        }
    }
}

/// Fits a gate on (features, answerable) examples. Deterministic: the same examples always give the
/// same gate. The threshold is left at 0.5 for the caller to choose.
pub fn fit(examples: &[(Vec<f32>, bool)], model: GateModel, scorer: &str) -> Result<Gate, GateError> {
    let n = FEATURES.len();
    if examples.iter().any(|(x, _)| x.len() != n) {
        return Err(GateError::Fit(format!("every example needs {n} features")));
    }
    let positives = examples.iter().filter(|(_, y)| *y).count();
    if positives == 0 || positives == examples.len() {
        return Err(GateError::Fit(format!("need both answerable and unanswerable examples ({positives} of {} answerable)", examples.len())));
    }
    let classifier = match model {
        GateModel::Logistic { l2, steps } => fit_logistic(examples, l2, steps),
        GateModel::BoostedTrees => fit_trees(examples)?,
    };
    Ok(Gate {
        features: FEATURES.iter().map(|s| s.to_string()).collect(),
        classifier,
        threshold: 0.5,
        scorer: scorer.to_string(),
        sources: RECORDS,
        manifest: serde_json::Value::Null,
    })
}

/// Logistic regression: features standardised on these examples, full-batch gradient descent with an
/// L2 penalty for a fixed number of steps from zero.
fn fit_logistic(examples: &[(Vec<f32>, bool)], l2: f32, steps: usize) -> Classifier {
    let n = FEATURES.len();
    let count = examples.len() as f64;
    let mut mean = vec![0.0f64; n];
    for (x, _) in examples {
        for (m, v) in mean.iter_mut().zip(x) {
            *m += *v as f64 / count;
        }
    }
    let mut scale = vec![0.0f64; n];
    for (x, _) in examples {
        for ((s, v), m) in scale.iter_mut().zip(x).zip(&mean) {
            *s += (*v as f64 - m).powi(2) / count;
        }
    }
    // A feature that never varies (the reranker's, fitted without one) gets scale 1 and weight 0.
    let scale: Vec<f64> = scale.into_iter().map(|v| if v > 1e-12 { v.sqrt() } else { 1.0 }).collect();
    let standardised: Vec<(Vec<f64>, f64)> = examples
        .iter()
        .map(|(x, y)| (x.iter().zip(&mean).zip(&scale).map(|((v, m), s)| (*v as f64 - m) / s).collect(), if *y { 1.0 } else { 0.0 }))
        .collect();
    let mut weights = vec![0.0f64; n];
    let mut bias = 0.0f64;
    let rate = 0.5;
    for _ in 0..steps {
        let mut gradient = vec![0.0f64; n];
        let mut gradient_bias = 0.0;
        for (x, y) in &standardised {
            let z = bias + x.iter().zip(&weights).map(|(a, w)| a * w).sum::<f64>();
            let error = 1.0 / (1.0 + (-z).exp()) - y;
            gradient_bias += error / count;
            for (g, a) in gradient.iter_mut().zip(x) {
                *g += error * a / count;
            }
        }
        for (w, g) in weights.iter_mut().zip(&gradient) {
            *w -= rate * (g + l2 as f64 * *w);
        }
        bias -= rate * gradient_bias;
    }
    let to_f32 = |values: Vec<f64>| values.into_iter().map(|v| v as f32).collect();
    Classifier::Logistic { mean: to_f32(mean), scale: to_f32(scale), weights: to_f32(weights), bias: bias as f32 }
}

/// Gradient-boosted trees with logistic loss, on one thread (a thousand examples fit in a second).
fn fit_trees(examples: &[(Vec<f32>, bool)]) -> Result<Classifier, GateError> {
    let (rows, columns) = (examples.len(), FEATURES.len());
    // forust reads a column-major matrix.
    let mut data = vec![0.0f64; rows * columns];
    for (row, (x, _)) in examples.iter().enumerate() {
        for (column, value) in x.iter().enumerate() {
            data[column * rows + row] = *value as f64;
        }
    }
    let labels: Vec<f64> = examples.iter().map(|(_, y)| if *y { 1.0 } else { 0.0 }).collect();
    let mut booster = GradientBooster::default()
        .set_iterations(TREES)
        .set_max_depth(TREE_DEPTH)
        .set_learning_rate(TREE_LEARNING_RATE)
        .set_parallel(false)
        .set_seed(0);
    booster.fit(&Matrix::new(&data, rows, columns), &labels, &vec![1.0; rows], None).map_err(|e| GateError::Fit(e.to_string()))?;
    Ok(Classifier::BoostedTrees { booster: Box::new(booster) })
}

/// One example the threshold is chosen on: the gate's probability, whether the records answer it, and
/// the kind of question it is (AQUA knowledge, picture, out-of-collection, ...).
#[derive(Debug, Clone, Copy)]
pub struct Scored<'a> {
    pub probability: f32,
    pub answerable: bool,
    pub kind: &'a str,
}

/// The threshold that treats both sides best on `scored`: the one whose worse rate (answerable answered,
/// unanswerable declined) is highest, ties to the higher sum. Each rate is the mean of its kinds' rates, so
/// a kind counts the same however many examples were built of it: the served answers are judged per kind
/// of question, and 144 wrong-record pairs must not outvote 60 out-of-collection questions.
pub fn choose_threshold(scored: &[Scored]) -> f32 {
    let kinds = KindProbabilities::of(scored);
    let mut candidates: Vec<f32> = scored.iter().map(|s| s.probability).collect();
    candidates.push(0.5);
    candidates.sort_by(f32::total_cmp);
    candidates.dedup();
    let mut best = (f32::MIN, f32::MIN, 0.5f32);
    for &t in &candidates {
        let (answered, declined) = kinds.rates(t);
        let key = (answered.min(declined), answered + declined);
        if key.0 > best.0 || (key.0 == best.0 && key.1 > best.1) {
            best = (key.0, key.1, t);
        }
    }
    best.2
}

/// (answerable answered, unanswerable declined) at `threshold`, each the mean over its kinds of the share
/// of that kind's examples treated rightly (0 for a side with no examples).
pub fn rates(scored: &[Scored], threshold: f32) -> (f32, f32) {
    KindProbabilities::of(scored).rates(threshold)
}

/// Each kind's probabilities, sorted, so that a rate at any threshold is a binary search per kind (the
/// threshold's bootstrap tries every probability of ~1,700 examples, 200 times).
struct KindProbabilities {
    /// (answerable, probabilities in increasing order), one per kind.
    kinds: Vec<(bool, Vec<f32>)>,
}

impl KindProbabilities {
    fn of(scored: &[Scored]) -> KindProbabilities {
        let mut by_kind: std::collections::BTreeMap<(bool, &str), Vec<f32>> = std::collections::BTreeMap::new();
        for s in scored {
            by_kind.entry((s.answerable, s.kind)).or_default().push(s.probability);
        }
        let kinds = by_kind
            .into_iter()
            .map(|((answerable, _), mut probabilities)| {
                probabilities.sort_by(f32::total_cmp);
                (answerable, probabilities)
            })
            .collect();
        KindProbabilities { kinds }
    }

    fn rates(&self, threshold: f32) -> (f32, f32) {
        let side = |answerable: bool| {
            let shares: Vec<f32> = self
                .kinds
                .iter()
                .filter(|(a, _)| *a == answerable)
                .map(|(_, probabilities)| {
                    let below = probabilities.partition_point(|p| *p < threshold);
                    let right = if answerable { probabilities.len() - below } else { below };
                    right as f32 / probabilities.len() as f32
                })
                .collect();
            if shares.is_empty() {
                0.0
            } else {
                shares.iter().sum::<f32>() / shares.len() as f32
            }
        };
        (side(true), side(false))
    }
}

/// Bootstrap resamples behind [`threshold_spread`].
pub const THRESHOLD_RESAMPLES: usize = 200;

/// How far the threshold would move on other examples of the same kinds: the 10th and 90th percentiles of
/// the thresholds [`choose_threshold`] picks on [`THRESHOLD_RESAMPLES`] bootstrap resamples of `scored`
/// (drawn with replacement by a hash of the resample and draw, so the same examples give the same spread).
pub fn threshold_spread(scored: &[Scored]) -> (f32, f32) {
    if scored.is_empty() {
        return (0.5, 0.5);
    }
    let draw = |resample: usize, j: usize| {
        let hash = sha2::Sha256::digest(format!("{resample}:{j}").as_bytes());
        let mut word = [0u8; 8];
        word.copy_from_slice(&hash[..8]);
        u64::from_le_bytes(word) as usize % scored.len()
    };
    let mut thresholds: Vec<f32> = (0..THRESHOLD_RESAMPLES)
        .map(|resample| {
            let drawn: Vec<Scored> = (0..scored.len()).map(|j| scored[draw(resample, j)]).collect();
            choose_threshold(&drawn)
        })
        .collect();
    thresholds.sort_by(f32::total_cmp);
    (thresholds[THRESHOLD_RESAMPLES / 10], thresholds[THRESHOLD_RESAMPLES * 9 / 10])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example(signal: f32, answerable: bool) -> (Vec<f32>, bool) {
        let mut x = vec![0.0; FEATURES.len()];
        x[0] = signal;
        (x, answerable)
    }

    fn separable_examples() -> Vec<(Vec<f32>, bool)> {
        (0..40).map(|i| example(i as f32 / 40.0 + if i >= 20 { 0.3 } else { 0.0 }, i >= 20)).collect()
    }

    #[test]
    fn a_fitted_gate_orders_examples_by_the_feature_that_separates_them() {
        for model in [GateModel::Logistic { l2: 1e-3, steps: 500 }, GateModel::BoostedTrees] {
            let gate = fit(&separable_examples(), model, "test").expect("fits");
            let low = gate.probability(&example(0.1, false).0);
            let high = gate.probability(&example(1.1, true).0);
            assert!(low < 0.2 && high > 0.8, "{model:?}: probabilities {low} and {high}");
            let (_, weights) = gate.feature_weights();
            assert_eq!(weights[1].1, 0.0, "{model:?}: a constant feature weighs nothing");
        }
    }

    #[test]
    fn a_boosted_gate_survives_saving_and_loading_and_a_damaged_one_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gate.json");
        let gate = fit(&separable_examples(), GateModel::BoostedTrees, "test").expect("fits");
        gate.save(&path).unwrap();
        let loaded = Gate::load(&path).expect("loads");
        for x in [0.1, 0.45, 0.8, 1.1] {
            assert_eq!(gate.probability(&example(x, true).0), loaded.probability(&example(x, true).0));
        }
        // A tree that splits on a feature the gate does not have would index past the row.
        let mut text: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let nodes = text["classifier"]["booster"]["trees"][0]["nodes"].as_array_mut().expect("nodes");
        let split = nodes.iter_mut().find(|node| node["is_leaf"] == false).expect("a split");
        split["split_feature"] = FEATURES.len().into();
        std::fs::write(&path, text.to_string()).unwrap();
        assert!(matches!(Gate::load(&path), Err(GateError::Malformed { .. })));
    }

    #[test]
    fn a_gate_reads_back_the_settings_its_manifest_records() {
        let mut gate = fit(&separable_examples(), GateModel::BoostedTrees, "test").expect("fits");
        assert!(gate.fitted_settings().is_none(), "no manifest, no settings");
        let settings = FittedSettings {
            classifier: GateModel::BoostedTrees.settings(),
            seed: 42,
            sources: RECORDS,
            evidence_budget_tokens: 400,
            candidates: 50,
            rerank_depth: 30,
            bm25_drop_stopwords: true,
        };
        gate.manifest = serde_json::json!({ "settings": settings });
        assert!(gate.fitted_settings().expect("the settings parse").bm25_drop_stopwords);
    }

    fn scored(examples: &[(f32, bool, &'static str)]) -> Vec<Scored<'static>> {
        examples.iter().map(|&(probability, answerable, kind)| Scored { probability, answerable, kind }).collect()
    }

    #[test]
    fn the_threshold_is_the_one_whose_worse_rate_is_best() {
        let scored = scored(&[(0.9, true, "q"), (0.8, true, "q"), (0.6, true, "q"), (0.55, false, "n"), (0.3, false, "n"), (0.2, false, "n")]);
        let t = choose_threshold(&scored);
        assert_eq!(rates(&scored, t), (1.0, 1.0), "threshold {t}");
    }

    #[test]
    fn a_kind_with_many_examples_does_not_outvote_a_kind_with_few() {
        // Counted per example, declining the twenty wrong-record pairs at 0.5 outweighs answering the
        // question at 0.4 (threshold 0.7: answered 1/2, declined 22/22). Per kind, answering both
        // answerable questions and declining two of the three unanswerable kinds is better (0.4: 1 and 2/3).
        let mut examples = vec![(0.4, true, "knowledge"), (0.7, true, "knowledge"), (0.1, false, "outside"), (0.1, false, "picture")];
        examples.extend(std::iter::repeat_n((0.5, false, "wrong-records"), 20));
        let scored = scored(&examples);
        let t = choose_threshold(&scored);
        assert!(t <= 0.4, "threshold {t} declines an answerable question to decline one large kind");
        let (answered, declined) = rates(&scored, t);
        assert_eq!(answered, 1.0);
        assert!((declined - 2.0 / 3.0).abs() < 1e-6, "declined {declined}");
    }

    #[test]
    fn every_resampled_threshold_falls_between_classes_that_do_not_overlap() {
        let mut examples: Vec<(f32, bool, &'static str)> = (0..40).map(|i| (0.6 + i as f32 / 100.0, true, "q")).collect();
        examples.extend((0..40).map(|i| (i as f32 / 100.0, false, "n")));
        let (low, high) = threshold_spread(&scored(&examples));
        assert!(low > 0.39 && high <= 0.6, "spread {low}..{high} crosses a class");
    }

    #[test]
    fn fitting_refuses_examples_of_one_kind() {
        assert!(fit(&[example(1.0, true)], GateModel::BoostedTrees, "test").is_err());
    }
}
