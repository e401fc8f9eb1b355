//! The vector index (hnsw_rs, cosine distance) over chunk embeddings, keyed by chunk id.
//!
//! hnsw_rs cannot delete: a replaced or deleted chunk stays in the graph as a tombstone and searches skip
//! it through the filter; when tombstones pass a share of the graph, the next generation rebuilds it from
//! the stored vectors of the live chunks (no re-embedding).

use std::collections::HashMap;
use std::path::Path;

use anndists::dist::DistCosine;
use hnsw_rs::api::AnnT;
use hnsw_rs::hnsw::Hnsw;
use hnsw_rs::hnswio::HnswIo;

use super::store::ChunkId;
use super::IndexError;
use crate::config::HnswSettings;
use crate::embed::DIMENSIONS;

const MAX_LAYERS: usize = 16;

pub struct VectorIndex {
    graph: Hnsw<'static, f32, DistCosine>,
    /// Every vector in the graph by chunk id, tombstones included: exact search, reuse and rebuilds need them.
    vectors: HashMap<ChunkId, Vec<f32>>,
    settings: HnswSettings,
}

impl VectorIndex {
    pub fn new(settings: &HnswSettings, expected: usize) -> VectorIndex {
        let graph = Hnsw::new(settings.max_connections, expected.max(1000), MAX_LAYERS, settings.ef_construction, DistCosine {});
        VectorIndex { graph, vectors: HashMap::new(), settings: settings.clone() }
    }

    /// Loads a graph dumped by [`VectorIndex::dump`] under `basename` in `dir`.
    pub fn load(dir: &Path, basename: &str, settings: &HnswSettings) -> Result<VectorIndex, IndexError> {
        // The loaded graph borrows its loader for as long as it lives. The loader is a few paths and flags
        // (vectors are copied into the graph, not memory-mapped), so it is leaked rather than made
        // self-referential; a process loads a handful of generations in its life.
        let loader: &'static mut HnswIo = Box::leak(Box::new(HnswIo::new(dir, basename)));
        let graph: Hnsw<'static, f32, DistCosine> = loader
            .load_hnsw::<f32, DistCosine>()
            .map_err(|e| IndexError::Vector { path: dir.to_path_buf(), why: e.to_string() })?;
        let mut vectors = HashMap::with_capacity(graph.get_nb_point());
        if graph.get_nb_point() > 0 {
            for point in graph.get_point_indexation() {
                vectors.insert(point.get_origin_id() as ChunkId, point.get_v().to_vec());
            }
        }
        Ok(VectorIndex { graph, vectors, settings: settings.clone() })
    }

    /// A new graph holding only the given chunks' vectors, taken from this one.
    pub fn rebuilt_with(&self, live: &[ChunkId]) -> VectorIndex {
        let mut fresh = VectorIndex::new(&self.settings, live.len());
        let points: Vec<(ChunkId, Vec<f32>)> =
            live.iter().filter_map(|id| self.vectors.get(id).map(|v| (*id, v.clone()))).collect();
        fresh.insert(points);
        fresh
    }

    pub fn insert(&mut self, points: Vec<(ChunkId, Vec<f32>)>) {
        let batch: Vec<(&Vec<f32>, usize)> = points.iter().map(|(id, v)| (v, *id as usize)).collect();
        self.graph.parallel_insert(&batch);
        self.vectors.extend(points);
    }

    pub fn vector(&self, id: ChunkId) -> Option<&[f32]> {
        self.vectors.get(&id).map(Vec::as_slice)
    }

    /// Points in the graph, tombstones included.
    pub fn len(&self) -> usize {
        self.vectors.len()
    }

    pub fn is_empty(&self) -> bool {
        self.vectors.is_empty()
    }

    pub fn dump(&self, dir: &Path, basename: &str) -> Result<String, IndexError> {
        self.graph.file_dump(dir, basename).map_err(|e| IndexError::Vector { path: dir.to_path_buf(), why: e.to_string() })
    }

    /// Approximate nearest chunks to `query` (a unit vector) accepted by `keep`; (chunk id, cosine), best first.
    pub fn search(&self, query: &[f32], k: usize, ef: usize, keep: &dyn Fn(ChunkId) -> bool) -> Vec<(ChunkId, f32)> {
        if self.vectors.is_empty() || query.len() != DIMENSIONS {
            return Vec::new();
        }
        let filter = |id: &usize| keep(*id as ChunkId);
        self.graph
            .search_filter(query, k, ef.max(k), Some(&filter))
            .into_iter()
            .map(|n| (n.d_id as ChunkId, 1.0 - n.distance))
            .collect()
    }

    /// Exact nearest chunks among `candidates`, by scanning their vectors.
    pub fn exact_search(&self, query: &[f32], k: usize, candidates: impl Iterator<Item = ChunkId>) -> Vec<(ChunkId, f32)> {
        let mut scored: Vec<(ChunkId, f32)> = candidates
            .filter_map(|id| self.vectors.get(&id).map(|v| (id, crate::embed::cosine(query, v))))
            .collect();
        let best_first = |a: &(ChunkId, f32), b: &(ChunkId, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
        if k == 0 {
            return Vec::new();
        }
        if scored.len() > k {
            // Only the top k need ordering: partition around the k-th, then sort those.
            scored.select_nth_unstable_by(k - 1, best_first);
            scored.truncate(k);
        }
        scored.sort_by(best_first);
        scored
    }

    pub fn set_searching(&mut self) {
        self.graph.set_searching_mode(true);
    }
}
