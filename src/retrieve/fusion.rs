//! Fusion of ranked lists. Reciprocal Rank Fusion (Cormack et al. 2009): a document's score is the sum over
//! lists of weight / (k + rank); it needs no score calibration between BM25 and cosine similarity.
//! The alternative is a blend of min-max normalised scores (Onyx's alpha, Meilisearch's semanticRatio).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

/// How hybrid mode combines the BM25 and dense record lists.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum Fusion {
    /// Weighted Reciprocal Rank Fusion.
    Rrf { k: f32, bm25_weight: f32, dense_weight: f32 },
    /// (1 - dense_share) * normalised BM25 + dense_share * normalised cosine, where the dense share is
    /// `unmatched_share` when BM25's best hit holds less than `full_match` of the query's words
    /// ([`Fusion::for_match`]).
    Blend { dense_share: f32, unmatched_share: f32, full_match: f32 },
}

impl Fusion {
    pub fn from_settings(s: &crate::config::RetrievalSettings) -> Fusion {
        match s.fusion.as_str() {
            "blend" => Fusion::Blend {
                dense_share: s.blend_dense_share,
                unmatched_share: s.blend_dense_share_unmatched,
                full_match: s.blend_full_match,
            },
            _ => Fusion::Rrf { k: s.rrf_k, bm25_weight: s.bm25_weight, dense_weight: s.dense_weight },
        }
    }

    /// The fusion for one query, given the share of its words that BM25's best hit holds (`matched`, 0..=1):
    /// a min-max normalised BM25 list ranks its best hit first however little of the query it matched, so
    /// when the query's words are not the records' words (a mood, a paraphrase) the dense list should
    /// decide more. A blend's dense share is `unmatched_share` when `matched` is below `full_match`.
    /// `matched` is only computed (it analyses the hit's text) where the answer depends on it.
    pub fn for_match(self, matched: impl FnOnce() -> f32) -> Fusion {
        match self {
            Fusion::Blend { dense_share, unmatched_share, full_match } if unmatched_share != dense_share && matched() < full_match => {
                Fusion::Blend { dense_share: unmatched_share, unmatched_share, full_match }
            }
            other => other,
        }
    }
}

/// Fuses two (id, score) lists, each best first, into one ranking, best first.
pub fn fuse(fusion: Fusion, bm25: &[(String, f32)], dense: &[(String, f32)]) -> Vec<(String, f32)> {
    let ids = |list: &[(String, f32)]| list.iter().map(|(id, _)| id.clone()).collect::<Vec<_>>();
    match fusion {
        Fusion::Rrf { k, bm25_weight, dense_weight } => {
            reciprocal_rank_fusion(&[(ids(bm25), bm25_weight), (ids(dense), dense_weight)], k)
        }
        Fusion::Blend { dense_share, .. } => normalised_blend(&[(bm25, 1.0 - dense_share), (dense, dense_share)]),
    }
}

/// Sum of weight * min-max normalised score; a document missing from a list gets 0 from it.
/// Ties are broken by id.
pub fn normalised_blend(lists: &[(&[(String, f32)], f32)]) -> Vec<(String, f32)> {
    let mut scores: HashMap<&str, f32> = HashMap::new();
    for (list, weight) in lists {
        let (lo, hi) = list.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), (_, s)| (lo.min(*s), hi.max(*s)));
        for (id, score) in list.iter() {
            // A list whose scores are all equal gives every document full marks.
            let norm = if hi > lo { (score - lo) / (hi - lo) } else { 1.0 };
            *scores.entry(id.as_str()).or_insert(0.0) += weight * norm;
        }
    }
    let mut fused: Vec<(&str, f32)> = scores.into_iter().collect();
    fused.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(b.0)));
    fused.into_iter().map(|(id, s)| (id.to_string(), s)).collect()
}

/// The k of RRF used by LanceDB and OpenSearch, and the original paper.
pub const RRF_K: f32 = 60.0;

/// Fuses `lists` (each best first, with its weight) into one ranking, best first.
/// Ties are broken by the best single rank, then by id, so the output is deterministic.
pub fn reciprocal_rank_fusion(lists: &[(Vec<String>, f32)], k: f32) -> Vec<(String, f32)> {
    let mut scores: HashMap<&str, (f32, usize)> = HashMap::new();
    for (list, weight) in lists {
        for (i, id) in list.iter().enumerate() {
            let entry = scores.entry(id.as_str()).or_insert((0.0, usize::MAX));
            entry.0 += weight / (k + (i + 1) as f32);
            entry.1 = entry.1.min(i + 1);
        }
    }
    let mut fused: Vec<(&str, (f32, usize))> = scores.into_iter().collect();
    fused.sort_by(|a, b| b.1 .0.total_cmp(&a.1 .0).then(a.1 .1.cmp(&b.1 .1)).then(a.0.cmp(b.0)));
    fused.into_iter().map(|(id, (score, _))| (id.to_string(), score)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_document_in_both_lists_beats_one_in_a_single_list() {
        let fused = reciprocal_rank_fusion(&[(ids(&["a", "b"]), 1.0), (ids(&["c", "b"]), 1.0)], 60.0);
        assert_eq!(fused[0].0, "b");
        assert!((fused[0].1 - 2.0 / 62.0).abs() < 1e-6);
    }

    #[test]
    fn ties_are_broken_by_best_rank_then_id() {
        // b and d both score 1/62 exactly; same best rank, so the id decides.
        let fused = reciprocal_rank_fusion(&[(ids(&["a", "d"]), 1.0), (ids(&["a", "b"]), 1.0)], 60.0);
        let order: Vec<&str> = fused.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(order, ["a", "b", "d"]);
        // A single first place (1/61) beats a single second place (1/62).
        let fused = reciprocal_rank_fusion(&[(ids(&["x", "y"]), 1.0), (ids(&["z"]), 1.0)], 60.0);
        assert_eq!(fused.iter().map(|f| f.0.as_str()).collect::<Vec<_>>(), ["x", "z", "y"]);
    }

    #[test]
    fn weights_shift_the_balance() {
        let bm25 = ids(&["a", "b"]);
        let dense = ids(&["b", "a"]);
        let heavy_bm25 = reciprocal_rank_fusion(&[(bm25.clone(), 2.0), (dense.clone(), 1.0)], 60.0);
        assert_eq!(heavy_bm25[0].0, "a");
        let heavy_dense = reciprocal_rank_fusion(&[(bm25, 1.0), (dense, 2.0)], 60.0);
        assert_eq!(heavy_dense[0].0, "b");
    }

    #[test]
    fn the_dense_share_is_the_unmatched_share_below_a_full_match() {
        let blend = Fusion::Blend { dense_share: 0.3, unmatched_share: 0.7, full_match: 0.5 };
        let share = |matched: f32| match blend.for_match(|| matched) {
            Fusion::Blend { dense_share, .. } => dense_share,
            rrf => panic!("{rrf:?}"),
        };
        assert!((share(1.0) - 0.3).abs() < 1e-6);
        assert!((share(0.5) - 0.3).abs() < 1e-6);
        assert!((share(0.49) - 0.7).abs() < 1e-6);
        assert!((share(0.0) - 0.7).abs() < 1e-6);
        // Applied twice, it does not move further.
        assert_eq!(blend.for_match(|| 0.0).for_match(|| 0.0), blend.for_match(|| 0.0));
        let rrf = Fusion::Rrf { k: 60.0, bm25_weight: 1.0, dense_weight: 1.0 };
        assert_eq!(rrf.for_match(|| 0.0), rrf);
    }

    #[test]
    fn blend_normalises_each_list_before_weighting() {
        let scored = |v: &[(&str, f32)]| v.iter().map(|(id, s)| (id.to_string(), *s)).collect::<Vec<_>>();
        // BM25 scores are large, cosines small; normalised, a: 1.0*0.5 + 0.0*0.5, b: 0.0*0.5 + 1.0*0.5, c: 0.5*0.5 + 0.75*0.5.
        let bm25 = scored(&[("a", 20.0), ("c", 15.0), ("b", 10.0)]);
        let dense = scored(&[("b", 0.9), ("c", 0.8), ("a", 0.5)]);
        let fused = fuse(Fusion::Blend { dense_share: 0.5, unmatched_share: 0.5, full_match: 0.0 }, &bm25, &dense);
        assert_eq!(fused[0].0, "c");
        assert!((fused[0].1 - 0.625).abs() < 1e-6);
        assert_eq!(fused.iter().map(|f| f.0.as_str()).collect::<Vec<_>>(), ["c", "a", "b"]);
        // A document only one list has gets nothing from the other.
        let fused = fuse(Fusion::Blend { dense_share: 0.5, unmatched_share: 0.5, full_match: 0.0 }, &scored(&[("x", 3.0), ("y", 1.0)]), &[]);
        assert_eq!(fused, vec![("x".to_string(), 0.5), ("y".to_string(), 0.0)]);
    }

    #[test]
    fn an_empty_list_changes_nothing() {
        let fused = reciprocal_rank_fusion(&[(ids(&["x", "y"]), 1.0), (Vec::new(), 1.0)], 60.0);
        assert_eq!(fused.iter().map(|f| f.0.as_str()).collect::<Vec<_>>(), ["x", "y"]);
        assert!(reciprocal_rank_fusion(&[], 60.0).is_empty());
    }
}
