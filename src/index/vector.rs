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

/// Top-layer points whose reach `graph_stats` walks: a large graph has one to a few up there.
const MAX_ENTRY_CANDIDATES: usize = 256;

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

    /// The graph's shape: points per layer, out-degrees, and the points a search cannot reach.
    pub fn graph_stats(&self) -> GraphStats {
        let indexation = self.graph.get_point_indexation();
        let mut top_layer_points = Vec::new();
        let mut degrees_per_layer: Vec<Vec<usize>> = Vec::new();
        // Out-links by origin id, every layer's: a search may follow any of them on its way down.
        let mut links: HashMap<usize, Vec<usize>> = HashMap::with_capacity(self.vectors.len());
        let mut layer0_targets: std::collections::HashSet<usize> = std::collections::HashSet::new();
        let mut entries: Vec<usize> = Vec::new();
        let top = self.graph.get_max_level_observed() as usize;
        if self.graph.get_nb_point() > 0 {
            for point in indexation {
                let level = point.get_point_id().0 as usize;
                if top_layer_points.len() <= level {
                    top_layer_points.resize(level + 1, 0);
                }
                top_layer_points[level] += 1;
                if level == top {
                    entries.push(point.get_origin_id());
                }
                // A copy of every layer's links, taken under the point's lock: once per point.
                let neighbourhood = point.get_neighborhood_id();
                for (layer, neighbours) in neighbourhood.iter().enumerate().take(level + 1) {
                    if degrees_per_layer.len() <= layer {
                        degrees_per_layer.resize(layer + 1, Vec::new());
                    }
                    degrees_per_layer[layer].push(neighbours.len());
                }
                if let Some(layer0) = neighbourhood.first() {
                    layer0_targets.extend(layer0.iter().map(|n| n.d_id));
                }
                let out: Vec<usize> = neighbourhood.iter().take(level + 1).flatten().map(|n| n.d_id).collect();
                links.insert(point.get_origin_id(), out);
            }
        }
        // What a search can find: the points some path of links leads to from the entry point, which is one
        // of the top layer's points (hnsw_rs does not say which): the worst of them counts. A graph whose
        // top layer is 0 has every point there, and then every point must reach every other.
        let reachable_from = |seed: usize| {
            let mut seen: std::collections::HashSet<usize> = std::collections::HashSet::from([seed]);
            let mut frontier = vec![seed];
            while let Some(id) = frontier.pop() {
                for &next in links.get(&id).map(Vec::as_slice).unwrap_or_default() {
                    if seen.insert(next) {
                        frontier.push(next);
                    }
                }
            }
            seen.len()
        };
        let reached = entries.iter().take(MAX_ENTRY_CANDIDATES).map(|&seed| reachable_from(seed)).min().unwrap_or(0);
        GraphStats {
            points: links.len(),
            max_connections: self.settings.max_connections,
            points_by_top_layer: top_layer_points,
            out_degree_by_layer: degrees_per_layer.iter_mut().map(|d| DegreeSummary::of(d)).collect(),
            top_layer: top,
            unreachable_from_entry: links.len().saturating_sub(reached),
            without_in_links: links.keys().filter(|id| !layer0_targets.contains(id)).count(),
        }
    }
}

/// The shape of the HNSW graph (`curator stats --vectors`).
#[derive(Debug, Clone, serde::Serialize)]
pub struct GraphStats {
    /// Points in the graph, tombstones included.
    pub points: usize,
    /// `hnsw.max_connections`, the M every degree is bounded by (2M on layer 0).
    pub max_connections: usize,
    /// How many points have layer l as their highest.
    pub points_by_top_layer: Vec<usize>,
    /// The highest layer, where searches start.
    pub top_layer: usize,
    pub out_degree_by_layer: Vec<DegreeSummary>,
    /// Points no path of links leads to from the top layer's point that reaches fewest (the entry point is
    /// one of them): a search can never return them.
    pub unreachable_from_entry: usize,
    /// Points no other point links to on layer 0.
    pub without_in_links: usize,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct DegreeSummary {
    pub points: usize,
    pub min: usize,
    pub p50: usize,
    pub mean: f64,
    pub max: usize,
    /// Points with no out-link on this layer.
    pub zero: usize,
}

impl DegreeSummary {
    fn of(degrees: &mut [usize]) -> DegreeSummary {
        degrees.sort_unstable();
        let n = degrees.len();
        DegreeSummary {
            points: n,
            min: degrees.first().copied().unwrap_or(0),
            p50: degrees.get(n / 2).copied().unwrap_or(0),
            mean: if n == 0 { 0.0 } else { degrees.iter().sum::<usize>() as f64 / n as f64 },
            max: degrees.last().copied().unwrap_or(0),
            zero: degrees.iter().filter(|&&d| d == 0).count(),
        }
    }
}
