//! Ranking metrics, as BEIR and TREC define them. `ranked` is best first; `relevant` maps ids to grades
//! (a grade of 0 or less is not relevant).

use std::collections::HashMap;

pub type Grades = HashMap<String, f64>;

fn is_relevant(relevant: &Grades, id: &str) -> bool {
    relevant.get(id).is_some_and(|&g| g > 0.0)
}

fn relevant_count(relevant: &Grades) -> usize {
    relevant.values().filter(|&&g| g > 0.0).count()
}

/// Share of the relevant documents found in the top `k`.
pub fn recall_at(ranked: &[String], relevant: &Grades, k: usize) -> f64 {
    let total = relevant_count(relevant);
    if total == 0 {
        return 0.0;
    }
    ranked.iter().take(k).filter(|id| is_relevant(relevant, id)).count() as f64 / total as f64
}

/// Share of the top `k` that is relevant (the denominator is k, even when fewer were returned).
pub fn precision_at(ranked: &[String], relevant: &Grades, k: usize) -> f64 {
    ranked.iter().take(k).filter(|id| is_relevant(relevant, id)).count() as f64 / k as f64
}

/// 1 / rank of the first relevant document within the top `k`, else 0.
pub fn reciprocal_rank_at(ranked: &[String], relevant: &Grades, k: usize) -> f64 {
    ranked.iter().take(k).position(|id| is_relevant(relevant, id)).map_or(0.0, |i| 1.0 / (i + 1) as f64)
}

/// nDCG@k with linear gains (the trec_eval and BEIR definition): DCG = sum grade / log2(rank + 1).
pub fn ndcg_at(ranked: &[String], relevant: &Grades, k: usize) -> f64 {
    let dcg: f64 = ranked
        .iter()
        .take(k)
        .enumerate()
        .map(|(i, id)| relevant.get(id).copied().filter(|g| *g > 0.0).unwrap_or(0.0) / ((i + 2) as f64).log2())
        .sum();
    let mut ideal: Vec<f64> = relevant.values().copied().filter(|g| *g > 0.0).collect();
    ideal.sort_by(|a, b| b.total_cmp(a));
    let idcg: f64 = ideal.iter().take(k).enumerate().map(|(i, g)| g / ((i + 2) as f64).log2()).sum();
    if idcg == 0.0 {
        0.0
    } else {
        dcg / idcg
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ranked(ids: &[&str]) -> Vec<String> {
        ids.iter().map(|s| s.to_string()).collect()
    }

    fn grades(pairs: &[(&str, f64)]) -> Grades {
        pairs.iter().map(|(id, g)| (id.to_string(), *g)).collect()
    }

    #[test]
    fn recall_precision_and_mrr_by_hand() {
        let r = ranked(&["a", "b", "c", "d", "e"]);
        let rel = grades(&[("b", 1.0), ("e", 1.0), ("z", 1.0)]);
        assert!((recall_at(&r, &rel, 1) - 0.0).abs() < 1e-12);
        assert!((recall_at(&r, &rel, 5) - 2.0 / 3.0).abs() < 1e-12);
        assert!((precision_at(&r, &rel, 5) - 0.4).abs() < 1e-12);
        assert!((reciprocal_rank_at(&r, &rel, 10) - 0.5).abs() < 1e-12);
        assert_eq!(reciprocal_rank_at(&r, &rel, 1), 0.0);
    }

    #[test]
    fn ndcg_by_hand() {
        // Relevant at ranks 2 and 3 (grade 1 each): DCG = 1/log2(3) + 1/log2(4) = 0.63093 + 0.5.
        // Ideal: ranks 1 and 2: 1 + 0.63093. nDCG = 1.13093 / 1.63093 = 0.693426.
        let r = ranked(&["x", "a", "b"]);
        let rel = grades(&[("a", 1.0), ("b", 1.0)]);
        assert!((ndcg_at(&r, &rel, 10) - 0.693426).abs() < 1e-6);
        // Graded: the grade-2 document first is ideal.
        let rel = grades(&[("a", 2.0), ("b", 1.0)]);
        assert!((ndcg_at(&ranked(&["a", "b"]), &rel, 10) - 1.0).abs() < 1e-12);
        assert!(ndcg_at(&ranked(&["b", "a"]), &rel, 10) < 1.0);
        assert_eq!(ndcg_at(&r, &Grades::new(), 10), 0.0);
    }

    #[test]
    fn zero_grades_do_not_count_as_relevant() {
        let rel = grades(&[("a", 0.0), ("b", 1.0)]);
        assert_eq!(recall_at(&ranked(&["a"]), &rel, 1), 0.0);
        assert_eq!(reciprocal_rank_at(&ranked(&["a", "b"]), &rel, 10), 0.5);
    }
}
