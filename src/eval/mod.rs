//! Evaluation: runs question sets through every retrieval mode and measures each stage.
//!
//! Depends on `retrieve` (and, through it, `index` and `embed`); nothing depends on it but the binary.

pub mod answers;
pub mod beir;
pub mod fixtures;
pub mod gate;
pub mod metrics;
pub mod mining;
pub mod questions;

use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::app::Curator;
use crate::bench::percentile;
use crate::config::Settings;
use crate::index::{Filters, Generation, IndexError};
use crate::ingest::{IngestError, IngestOptions};
use crate::models::ModelError;
use crate::retrieve::diversify::{repeats, series_key};
use crate::retrieve::{Mode, SearchError};
use metrics::{ndcg_at, precision_at, recall_at, reciprocal_rank_at};
use questions::{load_aqua, load_jsonl, AquaPart, QuestionError};
pub use questions::Question;

/// BEIR documents are indexed whole (one chunk each, the embedding reading the first 256 tokens), the way
/// the published BM25 and MiniLM figures were measured.
const BEIR_CHUNK_TOKENS: usize = 512;

#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error(transparent)]
    Questions(#[from] QuestionError),
    #[error(transparent)]
    Search(#[from] SearchError),
    #[error(transparent)]
    Index(#[from] IndexError),
    #[error(transparent)]
    Ingest(#[from] IngestError),
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error(transparent)]
    Open(#[from] crate::app::OpenError),
    #[error("answering failed: {0}")]
    Ask(String),
    #[error("hybrid+rerank needs the reranker, and {0}")]
    NoReranker(String),
}

/// What `curator eval` was pointed at.
#[derive(Debug, Clone)]
pub enum Dataset {
    /// A question file over the indexed museum corpus.
    Questions(PathBuf),
    /// AQUA's aqua_val.json, one part of its paintings.
    Aqua(PathBuf, AquaPart),
    /// A BEIR folder and the qrels split to judge with; it gets an index of its own.
    Beir(PathBuf, String),
    /// Browse queries naming a maker and a word of their titles, built from the index
    /// (`questions::maker_queries`), one part of them.
    Makers(AquaPart),
}

/// `curator eval makers`: the maker queries of a part, at most this many.
pub const MAKER_QUERIES: usize = 300;

impl Dataset {
    pub fn detect(path: &Path, part: AquaPart, split: &str) -> Dataset {
        if path == Path::new("makers") {
            Dataset::Makers(part)
        } else if beir::is_beir_dir(path) {
            Dataset::Beir(path.to_path_buf(), split.to_string())
        } else if path.extension().is_some_and(|e| e == "json") {
            Dataset::Aqua(path.to_path_buf(), part)
        } else {
            Dataset::Questions(path.to_path_buf())
        }
    }

    pub fn name(&self) -> String {
        match self {
            Dataset::Questions(p) => p.display().to_string(),
            Dataset::Aqua(p, part) => format!("{} ({part:?} paintings)", p.display()),
            Dataset::Beir(p, split) => format!("{} ({split})", p.display()),
            Dataset::Makers(part) => format!("maker queries ({part:?} part)"),
        }
    }

    /// The library opened on the index this dataset is judged against (for BEIR, its own index, built
    /// or brought up to date first), and the questions.
    pub fn open(&self, settings: Settings, progress: &(dyn Fn(usize, usize) + Sync)) -> Result<(Curator, Vec<Question>), EvalError> {
        match self {
            Dataset::Questions(p) => Ok((Curator::open(settings)?, load_jsonl(p)?)),
            Dataset::Aqua(p, part) => Ok((Curator::open(settings)?, load_aqua(p, *part)?)),
            Dataset::Makers(part) => {
                let curator = Curator::open(settings)?;
                let queries = questions::maker_queries(&curator.load_generation()?, *part, MAKER_QUERIES, 42, questions::Wording::Evaluated);
                Ok((curator, queries))
            }
            Dataset::Beir(dir, split) => {
                let curator = Curator::open(beir_settings(settings, dir))?;
                curator.ingest(beir::corpus(dir)?, &[], &IngestOptions::default(), progress)?;
                let questions = beir::questions(dir, split)?;
                Ok((curator, questions))
            }
        }
    }
}

/// Settings for a BEIR dataset's own index: under `<data_dir>/eval/<folder name>`, whole documents.
pub fn beir_settings(mut settings: Settings, dir: &Path) -> Settings {
    let mut name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "beir".into());
    // One index per embedding model: the fetched and the fine-tuned model are both measured on it.
    let model = settings.embedding.dir_in(&settings.model_dir()).join("model.onnx");
    if let Ok(sha) = crate::index::sha256_file(&model) {
        name = format!("{name}-{}", &sha[..12.min(sha.len())]);
    }
    settings.paths.data_dir = settings.data_dir().join("eval").join(name).display().to_string();
    settings.chunking.max_tokens = BEIR_CHUNK_TOKENS;
    settings.chunking.overlap_tokens = 0;
    // BEIR documents have no dimensions or credit line, so this changes no vector; true keeps the indexes
    // cached before the setting existed (their manifests read as true) usable.
    settings.chunking.embed_bookkeeping = true;
    // BEIR documents carry no dates: a year range in a claim ("from 1990 to 2000") would filter out all.
    settings.retrieval.years_from_query = false;
    settings
}

/// Depth every mode retrieves to during evaluation (Recall@100 needs 100).
pub const EVAL_DEPTH: usize = 100;

#[derive(Debug, Clone, Default, Serialize)]
pub struct RetrievalScores {
    pub questions: usize,
    pub recall_at_1: f64,
    pub recall_at_5: f64,
    pub recall_at_10: f64,
    pub recall_at_100: f64,
    pub mrr_at_10: f64,
    pub ndcg_at_10: f64,
    pub precision_at_5: f64,
    pub precision_at_10: f64,
    /// Share of the top 10 that repeat a series ranked above them (same title and first maker, see
    /// `retrieve::diversify`): ten prints of one series is one result shown ten times.
    pub series_repeats_at_10: f64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Latency {
    pub p50_ms: f64,
    pub p95_ms: f64,
}

impl Latency {
    pub fn of(mut samples: Vec<f64>) -> Latency {
        Latency { p50_ms: percentile(&mut samples, 0.5), p95_ms: percentile(&mut samples, 0.95) }
    }
}

/// A retrieval configuration the harness compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
pub enum EvalMode {
    #[serde(rename = "bm25")]
    Bm25,
    #[serde(rename = "dense")]
    Dense,
    #[serde(rename = "hybrid")]
    Hybrid,
    #[serde(rename = "hybrid+rerank")]
    #[value(name = "hybrid+rerank")]
    HybridRerank,
}

impl EvalMode {
    pub const ALL: [EvalMode; 4] = [EvalMode::Bm25, EvalMode::Dense, EvalMode::Hybrid, EvalMode::HybridRerank];

    fn retrieval(self) -> Mode {
        match self {
            EvalMode::Bm25 => Mode::Bm25,
            EvalMode::Dense => Mode::Dense,
            EvalMode::Hybrid | EvalMode::HybridRerank => Mode::Hybrid,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ModeReport {
    /// "bm25", "dense", "hybrid", "hybrid+rerank@30".
    pub mode: String,
    pub rerank_depth: Option<usize>,
    pub scores: RetrievalScores,
    pub total: Latency,
    pub embed_query: Latency,
    pub bm25: Latency,
    pub dense: Latency,
    pub fuse: Latency,
    pub rerank: Latency,
}

#[derive(Debug, Clone, Serialize)]
pub struct EvalReport {
    pub dataset: String,
    pub questions: usize,
    pub seed: u64,
    pub modes: Vec<ModeReport>,
}

/// The first `limit` questions in an order fixed by `seed` (all of them without a limit).
pub fn sample(mut questions: Vec<Question>, limit: Option<usize>, seed: u64) -> Vec<Question> {
    if let Some(limit) = limit {
        let key = |q: &Question| Sha256::digest(format!("{seed}:{}", q.id).as_bytes());
        questions.sort_by_cached_key(key);
        questions.truncate(limit);
    }
    questions
}

/// Accumulates per-question scores into means.
#[derive(Default)]
struct ScoreSum {
    n: usize,
    sums: [f64; 9],
}

impl ScoreSum {
    /// `series`: each ranked record's series key, in rank order.
    fn add(&mut self, ranked: &[String], series: &[Option<String>], q: &Question) {
        let r = &q.relevant;
        let values = [
            recall_at(ranked, r, 1),
            recall_at(ranked, r, 5),
            recall_at(ranked, r, 10),
            recall_at(ranked, r, 100),
            reciprocal_rank_at(ranked, r, 10),
            ndcg_at(ranked, r, 10),
            precision_at(ranked, r, 5),
            precision_at(ranked, r, 10),
            series_repeats(&series[..series.len().min(10)]),
        ];
        self.n += 1;
        for (sum, v) in self.sums.iter_mut().zip(values) {
            *sum += v;
        }
    }

    fn mean(&self) -> RetrievalScores {
        let m = |i: usize| if self.n == 0 { 0.0 } else { self.sums[i] / self.n as f64 };
        RetrievalScores {
            questions: self.n,
            recall_at_1: m(0),
            recall_at_5: m(1),
            recall_at_10: m(2),
            recall_at_100: m(3),
            mrr_at_10: m(4),
            ndcg_at_10: m(5),
            precision_at_5: m(6),
            precision_at_10: m(7),
            series_repeats_at_10: m(8),
        }
    }
}

/// Share of `series` (one page of results) whose key repeats one before it; 0 for an empty page.
fn series_repeats(series: &[Option<String>]) -> f64 {
    let repeated = repeats(series).into_iter().filter(|&r| r).count();
    if series.is_empty() { 0.0 } else { repeated as f64 / series.len() as f64 }
}

/// Retrieval quality and latency of each mode over the questions that have relevance judgements.
/// `hybrid+rerank` runs once per depth in `rerank_depths` (the configured depth when it is empty).
pub fn evaluate_retrieval(
    curator: &Curator,
    generation: &Generation,
    dataset: &str,
    questions: &[Question],
    modes: &[EvalMode],
    rerank_depths: &[usize],
    seed: u64,
    progress: &dyn Fn(&str, usize, usize),
) -> Result<EvalReport, EvalError> {
    let judged: Vec<&Question> = questions.iter().filter(|q| q.relevant.values().any(|&g| g > 0.0)).collect();
    let mut runs: Vec<(EvalMode, Option<usize>)> = Vec::new();
    for &mode in modes {
        if mode == EvalMode::HybridRerank {
            let scoring = curator.scoring();
            if scoring.reranker.is_none() {
                return Err(EvalError::NoReranker(scoring.reranker_status.clone()));
            }
            let depths = if rerank_depths.is_empty() { vec![curator.settings.rerank.depth] } else { rerank_depths.to_vec() };
            runs.extend(depths.into_iter().map(|d| (mode, Some(d))));
        } else {
            runs.push((mode, None));
        }
    }
    let mut reports = Vec::new();
    for (mode, depth) in runs {
        let label = match depth {
            Some(d) => format!("hybrid+rerank@{d}"),
            None => serde_json::to_value(mode).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default(),
        };
        let mut sum = ScoreSum::default();
        let (mut total, mut embed, mut bm25, mut dense, mut fuse, mut rerank) = (vec![], vec![], vec![], vec![], vec![], vec![]);
        for (i, q) in judged.iter().enumerate() {
            let mut request = curator.request(&q.question, mode.retrieval(), Some(EVAL_DEPTH), Filters::default());
            request.candidates = request.candidates.max(EVAL_DEPTH);
            // hybrid+rerank@d reranks to depth d; every other mode runs without the cross-encoder.
            let first_stage_share = curator.settings.rerank.first_stage_share;
            request.rerank = depth.map(|depth| crate::retrieve::RerankRequest { depth, first_stage_share });
            let response = match curator.search(generation, &request) {
                Ok(r) => r,
                Err(SearchError::EmptyQuery) => continue,
                Err(e) => return Err(e.into()),
            };
            let ranked: Vec<String> = response.hits.iter().map(|h| h.record_id.clone()).collect();
            let series: Vec<Option<String>> = response.hits.iter().map(|h| series_key(&h.title, &h.makers)).collect();
            sum.add(&ranked, &series, q);
            let t = &response.timings;
            total.push(t.total_ms);
            embed.push(t.embed_query_ms);
            bm25.push(t.bm25_ms);
            dense.push(t.dense_ms);
            fuse.push(t.fuse_ms);
            rerank.push(t.rerank_ms);
            progress(&label, i + 1, judged.len());
        }
        reports.push(ModeReport {
            mode: label,
            rerank_depth: depth,
            scores: sum.mean(),
            total: Latency::of(total),
            embed_query: Latency::of(embed),
            bm25: Latency::of(bm25),
            dense: Latency::of(dense),
            fuse: Latency::of(fuse),
            rerank: Latency::of(rerank),
        });
    }
    Ok(EvalReport { dataset: dataset.to_string(), questions: judged.len(), seed, modes: reports })
}

/// The report as a Markdown table, for people.
pub fn markdown(report: &EvalReport) -> String {
    let mut out = format!("{}: {} questions with judgements (seed {})\n\n", report.dataset, report.questions, report.seed);
    out.push_str("| mode | R@1 | R@5 | R@10 | R@100 | MRR@10 | nDCG@10 | P@5 | P@10 | series repeats@10 | p50 ms | p95 ms | rerank p50 ms | rerank p95 ms |\n");
    out.push_str("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    for m in &report.modes {
        let s = &m.scores;
        out.push_str(&format!(
            "| {} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {:.1} | {:.1} | {:.1} | {:.1} |\n",
            m.mode, s.recall_at_1, s.recall_at_5, s.recall_at_10, s.recall_at_100, s.mrr_at_10, s.ndcg_at_10, s.precision_at_5,
            s.precision_at_10, s.series_repeats_at_10,
            m.total.p50_ms, m.total.p95_ms, m.rerank.p50_ms, m.rerank.p95_ms
        ));
    }
    out
}
