//! Retrieval: a question to the records that best answer it, with every stage's rank and score kept.
//!
//! BM25 (tantivy) and dense (HNSW) each return their top chunks for the query, filters applied inside each
//! retriever; chunks collapse to records (a record's best chunk represents it); hybrid mode fuses the two
//! record lists. Depends on `index` and `embed` only.

pub mod diversify;
pub mod fusion;
pub mod map;
pub mod rerank;

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::embed::{unit, Embedder};
use crate::index::store::ChunkId;
use crate::index::filter::years_in_text;
use crate::index::{Filters, Generation, IndexError};
use crate::models::ModelError;
use fusion::Fusion;
use rerank::Reranker;

/// Below this many chunks passing a filter, dense search scans them exactly instead of walking the graph:
/// a graph walk under a very selective filter can miss matches, a scan of a few thousand vectors cannot
/// and takes milliseconds.
const EXACT_SCAN_LIMIT: usize = 20_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    Bm25,
    Dense,
    Hybrid,
}

impl std::fmt::Display for Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Mode::Bm25 => "bm25",
            Mode::Dense => "dense",
            Mode::Hybrid => "hybrid",
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error(transparent)]
    Index(#[from] IndexError),
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error("the query is empty")]
    EmptyQuery,
    #[error("no record {0:?} in the index")]
    NoSuchRecord(String),
    #[error("vector arithmetic: {0}")]
    Arithmetic(String),
    #[error("the map: {0}")]
    Map(String),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SearchRequest {
    pub query: String,
    pub mode: Mode,
    pub k: usize,
    /// Chunks each retriever returns before collapsing and fusion.
    pub candidates: usize,
    pub ef_search: usize,
    pub filters: Filters,
    pub fusion: Fusion,
    /// Rerank the top of the first-stage ranking (hybrid, or the single retriever's list).
    pub rerank: Option<RerankRequest>,
    /// A year range written in the query ("1600-1650") becomes a year filter when none is given.
    pub years_from_query: bool,
    /// Repeats of a series (same title and first maker) move below every other record (`diversify`).
    pub diversify: bool,
    /// Weight of the query's words found in a record's makers, on top of BM25 (see `TextIndex::search`).
    pub maker_boost: f32,
    /// English function words are left out of the BM25 query (`TextIndex::search`).
    pub bm25_drop_stopwords: bool,
    /// Dense search scores every chunk instead of walking the graph: slower, and the same list on every
    /// index of the same records (a graph is built in parallel from random levels, so two builds differ).
    /// The reranker's training data is mined so.
    pub exact_dense: bool,
}

/// A record's place in one stage's ranking (1-based) and the score that put it there.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StageScore {
    pub rank: usize,
    pub score: f32,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Stages {
    pub bm25: Option<StageScore>,
    pub dense: Option<StageScore>,
    pub fused: Option<StageScore>,
    pub rerank: Option<StageScore>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChunkRef {
    pub id: ChunkId,
    pub ordinal: u32,
    pub text: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Hit {
    pub rank: usize,
    pub record_id: String,
    pub source: String,
    pub title: String,
    pub makers: Vec<String>,
    pub date: Option<String>,
    pub url: Option<String>,
    pub chunk: ChunkRef,
    /// The score of the final stage of this mode.
    pub score: f32,
    pub stages: Stages,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SearchTimings {
    pub embed_query_ms: f64,
    pub bm25_ms: f64,
    pub dense_ms: f64,
    pub fuse_ms: f64,
    pub rerank_ms: f64,
    pub total_ms: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SearchResponse {
    pub query: String,
    pub mode: Mode,
    /// Whether the cross-encoder reordered the results.
    pub reranked: bool,
    pub k: usize,
    /// The filters applied: the request's, plus a year range read from the query.
    pub filters: Filters,
    /// The year range read from the query and applied as a filter, if any (say so to the user).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub years_from_query: Option<(i32, i32)>,
    pub hits: Vec<Hit>,
    pub timings: SearchTimings,
}

/// A ranked list of records, each with the chunk that represents it and that chunk's score.
pub type RecordRanking = Vec<(String, ChunkId, f32)>;

/// Keeps each record's best chunk, in order: chunk hits (best first) to record hits (best first).
pub fn collapse_to_records(generation: &Generation, chunks: &[(ChunkId, f32)]) -> RecordRanking {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for &(id, score) in chunks {
        if let Some(chunk) = generation.store.chunk(id) {
            if seen.insert(chunk.record_id.clone()) {
                out.push((chunk.record_id.clone(), id, score));
            }
        }
    }
    out
}

pub fn bm25(generation: &Generation, query: &str, filters: &Filters, candidates: usize, request: &SearchRequest) -> Result<RecordRanking, SearchError> {
    let chunks = generation.text.search(query, filters, candidates, request.maker_boost, request.bm25_drop_stopwords)?;
    Ok(collapse_to_records(generation, &chunks))
}

pub fn dense(generation: &Generation, query_vector: &[f32], filters: &Filters, candidates: usize, ef: usize, exact: bool) -> RecordRanking {
    let store = &generation.store;
    let chunks = if filters.is_empty() {
        if exact {
            generation.vectors.exact_search(query_vector, candidates, store.live_chunks().map(|c| c.id))
        } else {
            generation.vectors.search(query_vector, candidates, ef, &|id| store.chunk(id).is_some())
        }
    } else {
        let passing: Vec<ChunkId> = store
            .live_chunks()
            .filter(|c| store.get(&c.record_id).is_some_and(|r| filters.matches(&r.record)))
            .map(|c| c.id)
            .collect();
        if exact || passing.len() <= EXACT_SCAN_LIMIT {
            generation.vectors.exact_search(query_vector, candidates, passing.into_iter())
        } else {
            let keep = |id: ChunkId| store.record_of(id).is_some_and(|r| filters.matches(&r.record));
            generation.vectors.search(query_vector, candidates, ef, &keep)
        }
    };
    collapse_to_records(generation, &chunks)
}

/// What to rerank, and how to combine the cross-encoder's order with the fused one.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RerankRequest {
    /// The top this-many records of the first-stage ranking are reranked.
    pub depth: usize,
    /// Share of the first-stage score in the min-max normalised blend with the cross-encoder's score
    /// (0: the cross-encoder alone, 1: the first stage alone).
    pub first_stage_share: f32,
}

/// Per record: its stage scores and the chunk that represents it.
type Candidates = HashMap<String, (Stages, ChunkId)>;

/// Runs `request` against `generation`. With `request.rerank` set and a `reranker` given, the top of the
/// first-stage ranking is reordered by the cross-encoder.
pub fn search(
    generation: &Generation,
    embedder: &Embedder,
    reranker: Option<&Reranker>,
    request: &SearchRequest,
) -> Result<SearchResponse, SearchError> {
    let query = request.query.trim();
    if query.is_empty() {
        return Err(SearchError::EmptyQuery);
    }
    let started = Instant::now();
    let mut timings = SearchTimings::default();
    let candidates = request.candidates.max(request.k);
    let mut filters = request.filters.clone();
    let years_from_query = (request.years_from_query && filters.year_from.is_none() && filters.year_to.is_none())
        .then(|| years_in_text(query))
        .flatten();
    if let Some((from, to)) = years_from_query {
        filters.year_from = Some(from);
        filters.year_to = Some(to);
    }
    let filters = &filters;
    let run_bm25 = || -> Result<(RecordRanking, f64), SearchError> {
        let t = Instant::now();
        let ranking = bm25(generation, query, filters, candidates, request)?;
        Ok((ranking, ms(t)))
    };
    let run_dense = || -> Result<(RecordRanking, f64, f64), SearchError> {
        let t = Instant::now();
        let vector = embedder.embed_one(query)?;
        let embed_ms = ms(t);
        let t = Instant::now();
        let ranking = dense(generation, &vector, filters, candidates, request.ef_search, request.exact_dense);
        Ok((ranking, embed_ms, ms(t)))
    };
    let (bm25_ranking, dense_ranking) = match request.mode {
        Mode::Bm25 => (Some(run_bm25()?), None),
        Mode::Dense => (None, Some(run_dense()?)),
        Mode::Hybrid => {
            let (b, d) = rayon::join(run_bm25, run_dense);
            (Some(b?), Some(d?))
        }
    };
    let mut stages: Candidates = HashMap::new();
    let mut record_stage = |ranking: &RecordRanking, set: fn(&mut Stages, StageScore)| {
        for (i, (record, chunk, score)) in ranking.iter().enumerate() {
            let entry = stages.entry(record.clone()).or_insert((Stages::default(), *chunk));
            set(&mut entry.0, StageScore { rank: i + 1, score: *score });
        }
    };
    if let Some((ranking, t)) = &bm25_ranking {
        timings.bm25_ms = *t;
        record_stage(ranking, |s, v| s.bm25 = Some(v));
    }
    if let Some((ranking, embed_t, t)) = &dense_ranking {
        timings.embed_query_ms = *embed_t;
        timings.dense_ms = *t;
        record_stage(ranking, |s, v| s.dense = Some(v));
    }
    let t = Instant::now();
    let scored = |list: &RecordRanking| list.iter().map(|(r, _, s)| (r.clone(), *s)).collect::<Vec<_>>();
    let mut order: Vec<(String, f32)> = match (&bm25_ranking, &dense_ranking) {
        (Some((b, _)), None) => scored(b),
        (None, Some((d, _, _))) => scored(d),
        (Some((b, _)), Some((d, _, _))) => {
            // How much of the query BM25's best hit holds decides the blend's dense share.
            let matched = || {
                let best = b.first().and_then(|(_, chunk, _)| generation.store.chunk(*chunk));
                let matched = best.map_or(0.0, |best| generation.text.matched_share(query, &best.text));
                tracing::debug!(target: "curator::fusion", matched, "share of the query that BM25's best hit holds");
                matched
            };
            let fused = fusion::fuse(request.fusion.for_match(matched), &scored(b), &scored(d));
            for (i, (record, score)) in fused.iter().enumerate() {
                if let Some(entry) = stages.get_mut(record) {
                    entry.0.fused = Some(StageScore { rank: i + 1, score: *score });
                    // The chunk shown is the one the better-ranking retriever found.
                    let bm25_rank = entry.0.bm25.map_or(usize::MAX, |s| s.rank);
                    let dense_rank = entry.0.dense.map_or(usize::MAX, |s| s.rank);
                    if dense_rank < bm25_rank {
                        if let Some((_, chunk, _)) = d.iter().find(|(r, _, _)| r == record) {
                            entry.1 = *chunk;
                        }
                    }
                }
            }
            fused
        }
        (None, None) => Vec::new(),
    };
    timings.fuse_ms = ms(t);
    if let (Some(rerank), Some(reranker)) = (request.rerank, reranker) {
        let t = Instant::now();
        order = rerank_top(generation, reranker, query, order, &mut stages, rerank)?;
        timings.rerank_ms = ms(t);
    }
    pin_pasted_record_id(generation, query, filters, &mut order, &mut stages);
    if request.diversify {
        order = diversify::one_per_series_first(generation, order);
    }
    let hits = order
        .into_iter()
        .take(request.k)
        .enumerate()
        .filter_map(|(i, (record_id, score))| {
            let (stages, chunk_id) = stages.remove(&record_id)?;
            hit_of(generation, i + 1, &record_id, chunk_id, score, stages)
        })
        .collect();
    timings.total_ms = ms(started);
    Ok(SearchResponse {
        query: query.to_string(),
        mode: request.mode,
        reranked: request.rerank.is_some() && reranker.is_some(),
        k: request.k,
        filters: filters.clone(),
        years_from_query,
        hits,
        timings,
    })
}

/// A query that is a record's id (pasted from a page or a citation, `tate:D32152`; the source part in any
/// case) puts that record first, when it passes the filters: a user who pastes an id wants that record,
/// and neither retriever ranks an id.
fn pin_pasted_record_id(generation: &Generation, query: &str, filters: &Filters, order: &mut Vec<(String, f32)>, stages: &mut Candidates) {
    let lowercase_source = match query.split_once(':') {
        Some((source, rest)) => format!("{}:{rest}", source.to_lowercase()),
        None => return,
    };
    let Some(stored) = generation.store.get(query).or_else(|| generation.store.get(&lowercase_source)) else { return };
    if !filters.matches(&stored.record) {
        return;
    }
    let Some(&first_chunk) = stored.chunk_ids.first() else { return };
    let id = stored.record.id.clone();
    let top_score = order.first().map_or(1.0, |(_, score)| *score);
    let score = match order.iter().position(|(record, _)| *record == id) {
        Some(at) => order.remove(at).1,
        None => top_score,
    };
    order.insert(0, (id.clone(), score));
    stages.entry(id).or_insert((Stages::default(), first_chunk));
}

/// A ranked record as the API shows it, with the chunk that represents it.
fn hit_of(generation: &Generation, rank: usize, record_id: &str, chunk_id: ChunkId, score: f32, stages: Stages) -> Option<Hit> {
    let stored = generation.store.get(record_id)?;
    let chunk = generation.store.chunk(chunk_id)?;
    let r = &stored.record;
    Some(Hit {
        rank,
        record_id: r.id.clone(),
        source: r.source.clone(),
        title: r.title.clone(),
        makers: r.makers.clone(),
        date: r.date.clone(),
        url: r.url.clone(),
        chunk: ChunkRef { id: chunk.id, ordinal: chunk.ordinal, text: chunk.text.clone() },
        score,
        stages,
    })
}

/// "More like this": the `k` records nearest to `record_id` by embedding (the normalised mean of its
/// chunks' vectors), the record itself left out. Scores are cosine similarities (`stages.dense`).
pub fn similar(generation: &Generation, record_id: &str, k: usize, ef: usize) -> Result<Vec<Hit>, SearchError> {
    let Some(vector) = record_vector(generation, record_id)? else { return Ok(Vec::new()) };
    Ok(nearest_records(generation, &vector, k, ef, &|other| other != record_id))
}

/// Most terms one vector arithmetic query may combine.
pub const MAX_ARITHMETIC_TERMS: usize = 10;

/// How a term of vector arithmetic was read.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ArithmeticTerm {
    pub term: String,
    /// "+" or "-".
    pub sign: String,
    /// "record" (a record id of the index: its vector, and the record is left out of the results) or
    /// "text" (embedded as a query is).
    pub read_as: String,
}

/// Vector arithmetic over the collection: the `k` records nearest to the normalised sum of the `plus`
/// terms' vectors minus the `minus` terms', the records named as terms left out. A term is a record id
/// when the index has a record of that id, or when it has no spaces and its `source:` prefix is a source
/// of the index (an id of that source that is not in the index is an error, not text); anything else is
/// text, embedded as a query. Each term's vector
/// is normalised first, so a long text weighs no more than a record.
pub fn arithmetic(
    generation: &Generation,
    embedder: &Embedder,
    plus: &[String],
    minus: &[String],
    k: usize,
    ef: usize,
) -> Result<(Vec<ArithmeticTerm>, Vec<Hit>), SearchError> {
    if plus.is_empty() {
        return Err(SearchError::Arithmetic("give at least one term to add (plus)".into()));
    }
    if plus.len() + minus.len() > MAX_ARITHMETIC_TERMS {
        return Err(SearchError::Arithmetic(format!("at most {MAX_ARITHMETIC_TERMS} terms, got {}", plus.len() + minus.len())));
    }
    let mut sum = vec![0.0f32; crate::embed::DIMENSIONS];
    let mut terms = Vec::new();
    let mut named: HashSet<String> = HashSet::new();
    for (sign, term) in plus.iter().map(|t| (1.0f32, t)).chain(minus.iter().map(|t| (-1.0f32, t))) {
        let term = term.trim();
        if term.is_empty() {
            return Err(SearchError::Arithmetic("a term is empty".into()));
        }
        let is_record_id = generation.store.get(term).is_some()
            || !term.contains(char::is_whitespace)
                && term.split_once(':').is_some_and(|(source, _)| generation.manifest.records_per_source.contains_key(source));
        let vector = if is_record_id {
            named.insert(term.to_string());
            // A record without vectors has nothing to add: treated as the zero vector.
            record_vector(generation, term)?.unwrap_or_default()
        } else {
            // Already of length 1, as every embedding is.
            embedder.embed_one(term)?
        };
        for (s, x) in sum.iter_mut().zip(&vector) {
            *s += sign * x;
        }
        terms.push(ArithmeticTerm {
            term: term.to_string(),
            sign: if sign > 0.0 { "+" } else { "-" }.into(),
            read_as: if is_record_id { "record" } else { "text" }.into(),
        });
    }
    let norm = sum.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm < 1e-4 {
        return Err(SearchError::Arithmetic("the terms add up to (nearly) the zero vector: they cancel out, or the records named have no vectors".into()));
    }
    let hits = nearest_records(generation, &unit(sum), k, ef, &|record_id| !named.contains(record_id));
    Ok((terms, hits))
}

/// A record's vector: the normalised mean of its chunks' vectors; None when it has none.
fn record_vector(generation: &Generation, record_id: &str) -> Result<Option<Vec<f32>>, SearchError> {
    let stored = generation.store.get(record_id).ok_or_else(|| SearchError::NoSuchRecord(record_id.to_string()))?;
    let vectors: Vec<&[f32]> = stored.chunk_ids.iter().filter_map(|&id| generation.vectors.vector(id)).collect();
    let Some(dimensions) = vectors.first().map(|v| v.len()) else { return Ok(None) };
    let mut mean = vec![0.0f32; dimensions];
    for v in &vectors {
        for (m, x) in mean.iter_mut().zip(v.iter()) {
            *m += x;
        }
    }
    Ok(Some(unit(mean)))
}

/// The `k` records nearest to `vector` whose id `keep` accepts, nearest first, scored by cosine
/// similarity (`stages.dense`).
fn nearest_records(generation: &Generation, vector: &[f32], k: usize, ef: usize, keep: &dyn Fn(&str) -> bool) -> Vec<Hit> {
    let store = &generation.store;
    // A record has several chunks: ask for enough to fill k records.
    let wanted = (k + 1) * 4;
    let chunks = generation.vectors.search(vector, wanted, ef.max(wanted), &|id| store.chunk(id).is_some_and(|c| keep(&c.record_id)));
    collapse_to_records(generation, &chunks)
        .into_iter()
        .take(k)
        .enumerate()
        .filter_map(|(i, (id, chunk, score))| {
            let stages = Stages { dense: Some(StageScore { rank: i + 1, score }), ..Stages::default() };
            hit_of(generation, i + 1, &id, chunk, score, stages)
        })
        .collect()
}

/// Reorders the top `depth` of `order` by the cross-encoder's scores of each record's chunk; the rest
/// keeps its place behind them.
fn rerank_top(
    generation: &Generation,
    reranker: &Reranker,
    query: &str,
    mut order: Vec<(String, f32)>,
    stages: &mut Candidates,
    rerank: RerankRequest,
) -> Result<Vec<(String, f32)>, SearchError> {
    let rest = order.split_off(rerank.depth.min(order.len()));
    let texts: Vec<&str> = order
        .iter()
        .map(|(record, _)| stages.get(record).and_then(|(_, chunk)| generation.store.chunk(*chunk)).map_or("", |c| c.text.as_str()))
        .collect();
    let scores = reranker.score(query, &texts)?;
    let mut by_model: Vec<(usize, f32)> = scores.into_iter().enumerate().collect();
    // Ties keep the first-stage order.
    by_model.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    for (rank, &(i, score)) in by_model.iter().enumerate() {
        if let Some(entry) = stages.get_mut(&order[i].0) {
            entry.0.rerank = Some(StageScore { rank: rank + 1, score });
        }
    }
    let by_model: Vec<(String, f32)> = by_model.iter().map(|&(i, score)| (order[i].0.clone(), score)).collect();
    // The cross-encoder alone loses to hybrid retrieval on SciFact; blended with the first stage it wins on
    // both SciFact and AQUA (README "Reranker"). Both lists hold the same records, so neither is favoured.
    let mut reordered = if rerank.first_stage_share > 0.0 {
        fusion::normalised_blend(&[(&by_model, 1.0 - rerank.first_stage_share), (&order, rerank.first_stage_share)])
    } else {
        by_model
    };
    reordered.extend(rest);
    Ok(reordered)
}

/// Milliseconds since `since`, the unit of every timing curator reports.
pub(crate) fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}
