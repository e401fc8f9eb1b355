//! The map of the collection: every record placed in two dimensions by its embedding, so that records
//! close in meaning lie close on the page.
//!
//! A record's vector is the normalised mean of its chunks' vectors (as "more like this" and vector
//! arithmetic read it). Two layouts are computed from them: PCA (the two directions of greatest variance;
//! exact and reproducible) and UMAP (each record's 15-record neighbourhood found by an HNSW graph of the
//! record vectors, turned into umap-rs's fuzzy graph, then laid out by UMAP's own steps from the PCA
//! layout with a fixed seed; the HNSW graph is built in parallel, so two runs can differ a little).
//! Records are grouped by k-means over the vectors themselves, and each group is labelled by the subjects
//! and makers most particular to it. The whole map is computed once per index generation (whose embedding
//! model it shares) and cached in that generation's folder as `map.json`.

use std::collections::HashMap;
use std::path::PathBuf;

use ndarray::Array2;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::{record_vector, SearchError};
use crate::config::HnswSettings;
use crate::index::{generation_name, Generation, IndexError};
use crate::index::vector::VectorIndex;

pub const MAP_FILE: &str = "map.json";
/// Format of `map.json`; a cache of another version is computed again.
const FORMAT: u32 = 1;
/// Neighbours UMAP reads each record's neighbourhood from (umap-learn's default).
const NEIGHBOURS: usize = 15;
/// Most groups k-means makes; fewer for a small collection (about the square root of its size).
const MAX_CLUSTERS: usize = 24;
const KMEANS_ROUNDS: usize = 25;
/// The fixed seed of k-means' first centres: the same records give the same groups.
const SEED: u64 = 0x6d61_7021;
/// Coordinates are sent as integers 0..=COORDINATE_SCALE (compact, and finer than any screen).
pub const COORDINATE_SCALE: f32 = 65535.0;

/// A 2D layout of every record of the map, in the map's record order, each axis scaled to 0..=1.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Layout {
    pub x: Vec<f32>,
    pub y: Vec<f32>,
}

/// A group of records that lie together, named by what is particular to it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Cluster {
    pub label: String,
    pub size: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CollectionMap {
    pub format: u32,
    /// The index generation the map was computed from (its folder's name).
    pub generation: String,
    pub embedding: String,
    /// Records in the generation when the map was computed (a record without vectors is not drawn).
    pub records: usize,
    /// Record ids, in the order of every per-record list below.
    pub ids: Vec<String>,
    pub sources: Vec<String>,
    /// Per record: its position in `sources`.
    pub source: Vec<u16>,
    /// Per record: its position in `clusters`.
    pub cluster: Vec<u16>,
    pub clusters: Vec<Cluster>,
    pub pca: Layout,
    /// None for a collection too small for a neighbourhood graph (at most NEIGHBOURS records).
    pub umap: Option<Layout>,
    /// Seconds each part took, for the record (and `curator map`'s summary).
    pub seconds: HashMap<String, f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Projection {
    Pca,
    Umap,
}

impl CollectionMap {
    pub fn layout(&self, projection: Projection) -> Option<&Layout> {
        match projection {
            Projection::Pca => Some(&self.pca),
            Projection::Umap => self.umap.as_ref(),
        }
    }
}

/// Where a generation's map is cached.
pub fn map_path(generation: &Generation) -> PathBuf {
    generation.dir.join(MAP_FILE)
}

/// The cached map of `generation`, if one was computed for it (by this format, with its model).
pub fn cached(generation: &Generation) -> Result<Option<CollectionMap>, SearchError> {
    let path = map_path(generation);
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(IndexError::Io { path, source: e }.into()),
    };
    // A cache this version cannot read is computed again, not an error.
    let Ok(map) = serde_json::from_slice::<CollectionMap>(&bytes) else { return Ok(None) };
    let current = map.format == FORMAT
        && map.generation == generation_name(&generation.dir)
        && map.embedding == generation.manifest.embedding.model_id
        && map.records == generation.store.record_count();
    Ok(current.then_some(map))
}

/// Caches `map` beside `generation`: written whole under a name of this process's own, then renamed
/// into place, so a reader never sees half a map and two writers do not mix theirs.
pub fn save(generation: &Generation, map: &CollectionMap) -> Result<(), SearchError> {
    let path = map_path(generation);
    let partial = path.with_extension(format!("json.{}.partial", std::process::id()));
    let bytes = serde_json::to_vec(map).map_err(|e| SearchError::Map(format!("encoding the map: {e}")))?;
    std::fs::write(&partial, bytes).map_err(|e| IndexError::Io { path: partial.clone(), source: e })?;
    std::fs::rename(&partial, &path).map_err(|e| IndexError::Io { path: path.clone(), source: e })?;
    Ok(())
}

/// Computes the map of `generation` (every record that has vectors).
pub fn compute(generation: &Generation, hnsw: &HnswSettings) -> Result<CollectionMap, SearchError> {
    let mut seconds = HashMap::new();
    let mut clock = std::time::Instant::now();
    let mut lap = |name: &str, seconds: &mut HashMap<String, f64>| {
        seconds.insert(name.to_string(), clock.elapsed().as_secs_f64());
        clock = std::time::Instant::now();
    };
    let mut ids: Vec<&str> = generation.store.records().map(|r| r.record.id.as_str()).collect();
    ids.sort_unstable();
    let mut kept = Vec::with_capacity(ids.len());
    let mut vectors = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(v) = record_vector(generation, id)? {
            kept.push(id.to_string());
            vectors.push(v);
        }
    }
    if kept.is_empty() {
        return Err(SearchError::Map("the index has no record with vectors: ingest some first".into()));
    }
    lap("record_vectors", &mut seconds);

    let pca = pca_layout(&vectors);
    lap("pca", &mut seconds);
    let umap = if vectors.len() > NEIGHBOURS { Some(umap_layout(&vectors, &pca, hnsw)) } else { None };
    lap("umap", &mut seconds);

    let k = ((vectors.len() as f64).sqrt() as usize).clamp(1, MAX_CLUSTERS);
    let assignment = without_empty_groups(kmeans(&vectors, k));
    let groups = assignment.iter().max().map_or(0, |m| m + 1);
    let records: Vec<&crate::records::MuseumRecord> =
        kept.iter().filter_map(|id| generation.store.get(id).map(|s| &s.record)).collect();
    let clusters = label_clusters(&records, &assignment, groups);
    lap("clusters", &mut seconds);

    let mut sources: Vec<String> = records.iter().map(|r| r.source.clone()).collect();
    sources.sort();
    sources.dedup();
    let source = records.iter().map(|r| sources.iter().position(|s| *s == r.source).unwrap_or(0) as u16).collect();
    Ok(CollectionMap {
        format: FORMAT,
        generation: generation_name(&generation.dir),
        embedding: generation.manifest.embedding.model_id.clone(),
        records: generation.store.record_count(),
        ids: kept,
        sources,
        source,
        cluster: assignment.iter().map(|&c| c as u16).collect(),
        clusters,
        pca,
        umap,
        seconds,
    })
}

/// The mean of the vectors and the two leading principal directions of their covariance (power iteration
/// with deflation, from fixed starting vectors), and the vectors placed on them.
fn pca_layout(vectors: &[Vec<f32>]) -> Layout {
    let dims = vectors[0].len();
    let n = vectors.len() as f64;
    let mut mean = vec![0.0f64; dims];
    for v in vectors {
        for (m, x) in mean.iter_mut().zip(v) {
            *m += *x as f64 / n;
        }
    }
    // Covariance, summed over the records in parallel.
    let covariance = vectors
        .par_chunks(1024)
        .map(|block| {
            let mut c = vec![0.0f64; dims * dims];
            for v in block {
                let centred: Vec<f64> = v.iter().zip(&mean).map(|(x, m)| *x as f64 - m).collect();
                for i in 0..dims {
                    let row = &mut c[i * dims..(i + 1) * dims];
                    for (j, cj) in row.iter_mut().enumerate() {
                        *cj += centred[i] * centred[j];
                    }
                }
            }
            c
        })
        .reduce(|| vec![0.0f64; dims * dims], |mut a, b| {
            a.iter_mut().zip(&b).for_each(|(x, y)| *x += y);
            a
        });
    let mut components: Vec<Vec<f64>> = Vec::new();
    for start in 0..2 {
        let mut v: Vec<f64> = (0..dims).map(|i| if i % 2 == start { 1.0 } else { 0.5 }).collect();
        for _ in 0..200 {
            let mut next: Vec<f64> = (0..dims).map(|i| (0..dims).map(|j| covariance[i * dims + j] * v[j]).sum()).collect();
            // Deflation: take out the directions already found.
            for c in &components {
                let along: f64 = next.iter().zip(c).map(|(a, b)| a * b).sum();
                next.iter_mut().zip(c).for_each(|(a, b)| *a -= along * b);
            }
            let norm = next.iter().map(|x| x * x).sum::<f64>().sqrt();
            if norm < 1e-12 {
                // No variance left in any direction (one record, or all alike): a flat axis.
                v = vec![0.0; dims];
                break;
            }
            v = next.into_iter().map(|x| x / norm).collect();
        }
        components.push(v);
    }
    let project = |c: &[f64]| -> Vec<f32> {
        vectors.iter().map(|v| v.iter().zip(&mean).zip(c).map(|((x, m), w)| (*x as f64 - m) * w).sum::<f64>() as f32).collect()
    };
    scaled(project(&components[0]), project(&components[1]))
}

/// UMAP over each record's neighbourhood (itself first at distance 0, then its NEIGHBOURS - 1 nearest
/// records by cosine distance, as umap-learn gives it), started from the PCA layout.
fn umap_layout(vectors: &[Vec<f32>], pca: &Layout, hnsw: &HnswSettings) -> Layout {
    use umap_rs::{GraphParams, Umap, UmapConfig};
    let n = vectors.len();
    // An HNSW graph of the record vectors; its ids are positions in `vectors`.
    let mut graph = VectorIndex::new(hnsw, n);
    graph.insert(vectors.iter().enumerate().map(|(i, v)| (i as u32, v.clone())).collect());
    graph.set_searching();
    let ef = hnsw.ef_search.max(2 * NEIGHBOURS);
    let neighbours: Vec<Vec<(u32, f32)>> = (0..n)
        .into_par_iter()
        .map(|i| {
            let mut found = vec![(i as u32, 1.0f32)];
            found.extend(graph.search(&vectors[i], NEIGHBOURS - 1, ef, &|id| id as usize != i).into_iter().take(NEIGHBOURS - 1));
            found
        })
        .collect();
    let mut knn_indices = Array2::<u32>::zeros((n, NEIGHBOURS));
    let mut knn_dists = Array2::<f32>::zeros((n, NEIGHBOURS));
    for (i, found) in neighbours.iter().enumerate() {
        for col in 0..NEIGHBOURS {
            // The graph found fewer than asked (unreachable points, many identical vectors): umap-rs skips
            // an index past the last record (a repeated one would break its sparse matrix).
            // Its distance repeats the last one found: umap-rs still averages the row's distances when it
            // fits the record's bandwidth, and a huge one would flatten all its edges' weights.
            let (id, distance) = match found.get(col) {
                Some(&(id, cosine)) => (id, (1.0 - cosine).max(0.0)),
                None => (u32::MAX, found.last().map_or(0.0, |&(_, cosine)| (1.0 - cosine).max(0.0))),
            };
            knn_indices[(i, col)] = id;
            knn_dists[(i, col)] = distance;
        }
    }
    let data = Array2::<f32>::zeros((n, 1));
    let config = UmapConfig { graph: GraphParams { n_neighbors: NEIGHBOURS, ..GraphParams::default() }, ..UmapConfig::default() };
    let manifold = Umap::new(config).learn_manifold(data.view(), knn_indices.view(), knn_dists.view());
    let (a, b) = manifold.curve_params();
    let mut edges: Vec<(usize, usize, f32)> = Vec::new();
    for (row, neighbours) in manifold.graph().outer_iterator().enumerate() {
        edges.extend(neighbours.iter().map(|(col, &weight)| (row, col, weight)));
    }
    let init: Vec<[f32; 2]> = (0..n).map(|i| [10.0 * pca.x[i], 10.0 * pca.y[i]]).collect();
    let placed = umap_sgd(init, &edges, a, b, if n <= 10_000 { 500 } else { 200 });
    scaled(placed.iter().map(|p| p[0]).collect(), placed.iter().map(|p| p[1]).collect())
}

/// UMAP's layout step (umap-learn's `optimize_layout_euclidean`, one thread, from a fixed seed, so the same
/// graph gives the same layout): each edge pulls its ends together as often as its weight says, and each
/// pull comes with five pushes away from random records, for `epochs` rounds at a falling learning rate.
/// umap-rs's own layout step is not used: in 0.4.5 the denominator of both its pull and its push is
/// a·d²^(b+1) + 1 where umap-learn's is a·d²^b + 1, and `umap_keeps_each_record_beside_its_own_group`
/// fails with it.
fn umap_sgd(mut y: Vec<[f32; 2]>, edges: &[(usize, usize, f32)], a: f32, b: f32, epochs: usize) -> Vec<[f32; 2]> {
    const NEGATIVE_SAMPLES: f64 = 5.0;
    const CLIP: f32 = 4.0;
    let clip = |v: f32| v.clamp(-CLIP, CLIP);
    let max_weight = edges.iter().map(|e| e.2).fold(0.0f32, f32::max);
    if max_weight <= 0.0 || y.len() < 2 {
        return y;
    }
    // Edges too weak to be sampled once in `epochs` rounds are left out, as umap-learn does.
    let edges: Vec<&(usize, usize, f32)> = edges.iter().filter(|e| e.2 >= max_weight / epochs as f32 && e.0 != e.1).collect();
    let every: Vec<f64> = edges.iter().map(|e| (max_weight / e.2) as f64).collect();
    let every_negative: Vec<f64> = every.iter().map(|e| e / NEGATIVE_SAMPLES).collect();
    let mut next = every.clone();
    let mut next_negative = every_negative.clone();
    let mut random = SplitMix(SEED);
    let n = y.len();
    for epoch in 0..epochs {
        let alpha = 1.0 - epoch as f32 / epochs as f32;
        let now = epoch as f64;
        for (e, &&(j, k, _)) in edges.iter().enumerate() {
            if next[e] > now {
                continue;
            }
            let d2 = (y[j][0] - y[k][0]).powi(2) + (y[j][1] - y[k][1]).powi(2);
            let pull = if d2 > 0.0 { -2.0 * a * b * d2.powf(b - 1.0) / (a * d2.powf(b) + 1.0) } else { 0.0 };
            for axis in 0..2 {
                let step = clip(pull * (y[j][axis] - y[k][axis])) * alpha;
                y[j][axis] += step;
                y[k][axis] -= step;
            }
            next[e] += every[e];
            let pushes = ((now - next_negative[e]) / every_negative[e]).max(0.0) as usize;
            for _ in 0..pushes {
                let other = random.below(n);
                if other == j {
                    continue;
                }
                let d2 = (y[j][0] - y[other][0]).powi(2) + (y[j][1] - y[other][1]).powi(2);
                // Two records in one place (identical vectors start there) stay together, as in umap-learn.
                if d2 <= 0.0 {
                    continue;
                }
                let push = 2.0 * b / ((0.001 + d2) * (a * d2.powf(b) + 1.0));
                for axis in 0..2 {
                    y[j][axis] += clip(push * (y[j][axis] - y[other][axis])) * alpha;
                }
            }
            next_negative[e] += pushes as f64 * every_negative[e];
        }
    }
    y
}

/// Both axes scaled to 0..=1 together (so that the layout keeps its shape), then centred. The range is
/// that of the middle 99% of the records on each axis, and the few beyond it sit on the edge: a handful
/// of stray records would otherwise squeeze everyone else into a corner. A value that is not finite goes
/// to the middle.
fn scaled(x: Vec<f32>, y: Vec<f32>) -> Layout {
    let range = |v: &[f32]| {
        let mut finite: Vec<f32> = v.iter().copied().filter(|a| a.is_finite()).collect();
        if finite.is_empty() {
            return (0.0, 0.0);
        }
        finite.sort_by(f32::total_cmp);
        let at = |q: f64| finite[((finite.len() - 1) as f64 * q).round() as usize];
        (at(0.005), at(0.995))
    };
    let (x_lo, x_hi) = range(&x);
    let (y_lo, y_hi) = range(&y);
    let span = (x_hi - x_lo).max(y_hi - y_lo).max(f32::EPSILON);
    let x_pad = (1.0 - (x_hi - x_lo) / span) / 2.0;
    let y_pad = (1.0 - (y_hi - y_lo) / span) / 2.0;
    let place = |a: f32, lo: f32, hi: f32, pad: f32| if a.is_finite() { pad + (a.clamp(lo, hi) - lo) / span } else { 0.5 };
    Layout { x: x.iter().map(|&a| place(a, x_lo, x_hi, x_pad)).collect(), y: y.iter().map(|&a| place(a, y_lo, y_hi, y_pad)).collect() }
}

/// k-means (Lloyd's rounds, cosine on unit vectors) from k-means++ first centres drawn with a fixed seed:
/// each vector's group.
fn kmeans(vectors: &[Vec<f32>], k: usize) -> Vec<usize> {
    let dot = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
    let mut random = SplitMix(SEED);
    let mut centres: Vec<Vec<f32>> = vec![vectors[random.below(vectors.len())].clone()];
    while centres.len() < k {
        let weights: Vec<f64> = vectors
            .par_iter()
            .map(|v| centres.iter().map(|c| (1.0 - dot(v, c)).max(0.0) as f64).fold(f64::MAX, f64::min).powi(2))
            .collect();
        let total: f64 = weights.iter().sum();
        if total <= 0.0 {
            break;
        }
        let mut target = random.unit() * total;
        let chosen = weights.iter().position(|w| {
            target -= w;
            target <= 0.0
        });
        centres.push(vectors[chosen.unwrap_or(vectors.len() - 1)].clone());
    }
    let mut assignment = vec![0usize; vectors.len()];
    for _ in 0..KMEANS_ROUNDS {
        let next: Vec<usize> = vectors
            .par_iter()
            .map(|v| (0..centres.len()).max_by(|&a, &b| dot(v, &centres[a]).total_cmp(&dot(v, &centres[b])).then(b.cmp(&a))).unwrap_or(0))
            .collect();
        let moved = next != assignment;
        assignment = next;
        for (c, centre) in centres.iter_mut().enumerate() {
            let mut sum = vec![0.0f32; centre.len()];
            let mut members = 0;
            for (v, _) in vectors.iter().zip(&assignment).filter(|(_, a)| **a == c) {
                sum.iter_mut().zip(v).for_each(|(s, x)| *s += x);
                members += 1;
            }
            let norm = sum.iter().map(|x| x * x).sum::<f32>().sqrt();
            // An emptied group keeps its centre.
            if members > 0 && norm > 0.0 {
                *centre = sum.into_iter().map(|x| x / norm).collect();
            }
        }
        if !moved {
            break;
        }
    }
    assignment
}

/// Groups renumbered 0.. in order of first appearance, so that a group k-means left empty takes no number.
fn without_empty_groups(assignment: Vec<usize>) -> Vec<usize> {
    let mut renumbered: HashMap<usize, usize> = HashMap::new();
    assignment
        .into_iter()
        .map(|g| {
            let next = renumbered.len();
            *renumbered.entry(g).or_insert(next)
        })
        .collect()
}

/// Each group's label: its two subjects and its maker most particular to it (frequent in the group, and
/// more frequent there than in the whole collection), or its most frequent source's name when none is.
fn label_clusters(records: &[&crate::records::MuseumRecord], assignment: &[usize], k: usize) -> Vec<Cluster> {
    let count = |terms: &dyn Fn(&crate::records::MuseumRecord) -> Vec<String>, members: &mut dyn Iterator<Item = usize>| {
        let mut counts: HashMap<String, usize> = HashMap::new();
        for i in members {
            let mut seen = terms(records[i]);
            seen.sort();
            seen.dedup();
            for t in seen {
                *counts.entry(t).or_default() += 1;
            }
        }
        counts
    };
    let subjects = |r: &crate::records::MuseumRecord| r.subjects.iter().map(|s| s.trim().to_lowercase()).filter(|s| !s.is_empty()).collect();
    let makers = |r: &crate::records::MuseumRecord| r.makers.iter().map(|m| m.trim().to_string()).filter(|m| !m.is_empty()).collect();
    let all_subjects = count(&subjects, &mut (0..records.len()));
    let all_makers = count(&makers, &mut (0..records.len()));
    let n = records.len() as f64;
    (0..k)
        .map(|c| {
            let members: Vec<usize> = (0..records.len()).filter(|&i| assignment[i] == c).collect();
            let size = members.len();
            // Particular: at least 3 records (or a tenth of a small group) and twice as frequent as overall;
            // ranked by count times the log of that lift.
            let particular = |counts: HashMap<String, usize>, overall: &HashMap<String, usize>, take: usize| -> Vec<String> {
                let least = 3.min(size.div_ceil(10)).max(1);
                let mut scored: Vec<(f64, String)> = counts
                    .into_iter()
                    .filter(|(_, c)| *c >= least)
                    .filter_map(|(t, c)| {
                        let lift = (c as f64 / size.max(1) as f64) / (*overall.get(&t)? as f64 / n);
                        (lift >= 2.0 || size as f64 == n).then(|| (c as f64 * lift.ln().max(0.1), t))
                    })
                    .collect();
                scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
                scored.into_iter().take(take).map(|(_, t)| t).collect()
            };
            let mut parts = particular(count(&subjects, &mut members.iter().copied()), &all_subjects, 2);
            parts.extend(particular(count(&makers, &mut members.iter().copied()), &all_makers, 1));
            if parts.is_empty() {
                let mut sources: HashMap<&str, usize> = HashMap::new();
                for &i in &members {
                    *sources.entry(records[i].source.as_str()).or_default() += 1;
                }
                let top = sources.into_iter().max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(a.0)));
                parts.push(top.map_or("empty".to_string(), |(s, _)| s.to_string()));
            }
            Cluster { label: parts.join(", "), size }
        })
        .collect()
}

/// SplitMix64: a small seeded generator for k-means' first centres (reproducible on every platform).
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn below(&mut self, n: usize) -> usize {
        (self.unit() * n as f64) as usize % n.max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(v: Vec<f32>) -> Vec<f32> {
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.into_iter().map(|x| x / n).collect()
    }

    #[test]
    fn pca_separates_two_groups_along_its_first_axis() {
        // Two tight groups around different directions: the first component tells them apart.
        let vectors: Vec<Vec<f32>> = (0..40)
            .map(|i| {
                let jitter = (i % 7) as f32 * 0.01;
                if i < 20 { unit(vec![1.0, jitter, 0.1, 0.0]) } else { unit(vec![0.1, jitter, 1.0, 0.0]) }
            })
            .collect();
        let layout = pca_layout(&vectors);
        let (a, b): (Vec<f32>, Vec<f32>) = (layout.x[..20].to_vec(), layout.x[20..].to_vec());
        let apart = a.iter().all(|x| b.iter().all(|y| (x - y).abs() > 0.5));
        assert!(apart, "groups overlap on the first axis: {a:?} {b:?}");
        assert!(layout.x.iter().chain(&layout.y).all(|v| (0.0..=1.0).contains(v)));
    }

    #[test]
    fn umap_keeps_each_record_beside_its_own_group() {
        // Three groups of 20 around three directions of 384 dimensions, each point a little off its centre.
        let mut random = SplitMix(7);
        let vectors: Vec<Vec<f32>> = (0..60)
            .map(|i| {
                let mut v: Vec<f32> = (0..384).map(|_| (random.unit() as f32 - 0.5) * 0.3).collect();
                v[(i % 3) * 100] += 3.0;
                unit(v)
            })
            .collect();
        let hnsw = HnswSettings { max_connections: 16, ef_construction: 200, ef_search: 100 };
        let pca = pca_layout(&vectors);
        let layout = umap_layout(&vectors, &pca, &hnsw);
        let distance = |a: usize, b: usize| ((layout.x[a] - layout.x[b]).powi(2) + (layout.y[a] - layout.y[b]).powi(2)).sqrt();
        for i in 0..60 {
            let nearest = (0..60).filter(|&j| j != i).min_by(|&a, &b| distance(i, a).total_cmp(&distance(i, b))).unwrap();
            assert_eq!(nearest % 3, i % 3, "point {i} lies nearest to {nearest}, of another group");
        }
    }

    #[test]
    fn kmeans_finds_the_groups_and_is_the_same_every_time() {
        let vectors: Vec<Vec<f32>> = (0..60)
            .map(|i| {
                let jitter = (i % 5) as f32 * 0.02;
                match i % 3 {
                    0 => unit(vec![1.0, jitter, 0.0]),
                    1 => unit(vec![jitter, 1.0, 0.0]),
                    _ => unit(vec![0.0, jitter, 1.0]),
                }
            })
            .collect();
        let first = kmeans(&vectors, 3);
        assert_eq!(first, kmeans(&vectors, 3), "k-means is seeded: the same vectors give the same groups");
        for i in 0..60 {
            assert_eq!(first[i], first[i % 3], "vector {i} is not grouped with its kind");
        }
        let mut groups = first.clone();
        groups.sort();
        groups.dedup();
        assert_eq!(groups.len(), 3);
    }
}
