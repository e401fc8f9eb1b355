//! Fusion of ranked lists. Reciprocal Rank Fusion (Cormack et al. 2009): a document's score is the sum over
//! lists of weight / (k + rank); it needs no score calibration between BM25 and cosine similarity.

use std::collections::HashMap;

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
    fn an_empty_list_changes_nothing() {
        let fused = reciprocal_rank_fusion(&[(ids(&["x", "y"]), 1.0), (Vec::new(), 1.0)], 60.0);
        assert_eq!(fused.iter().map(|f| f.0.as_str()).collect::<Vec<_>>(), ["x", "y"]);
        assert!(reciprocal_rank_fusion(&[], 60.0).is_empty());
    }
}
