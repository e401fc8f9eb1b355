//! The reranker's fixture questions (issue 9.4): plain questions that name a title, a maker or a date, each
//! with the record that answers it. The trained cross-encoder must give that record a high probability and
//! rank it above what hybrid retrieval puts beside it. `curator rerank-check` runs them after training.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::questions::QuestionError;
use super::EvalError;
use crate::app::Curator;
use crate::index::{Filters, Generation};
use crate::records::MuseumRecord;
use crate::retrieve::rerank::{probability, Reranker};

/// One fixture: the record that answers `question`, by id, or any record whose makers contain `maker` and
/// whose title contains `title` (for "paintings of the Thames by Turner", where many are right).
#[derive(Debug, Clone, Deserialize)]
pub struct Fixture {
    pub question: String,
    #[serde(default)]
    pub record_id: Option<String>,
    #[serde(default)]
    pub maker: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
}

impl Fixture {
    fn answers(&self, record: &MuseumRecord) -> bool {
        if let Some(id) = &self.record_id {
            return record.id == *id;
        }
        let contains = |text: &str, part: &Option<String>| part.as_ref().is_none_or(|p| text.to_lowercase().contains(&p.to_lowercase()));
        (self.maker.is_some() || self.title.is_some())
            && contains(&record.makers.join("; "), &self.maker)
            && contains(&record.title, &self.title)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct FixtureResult {
    pub question: String,
    /// The answering record scored, and its probability under the cross-encoder.
    pub record_id: Option<String>,
    pub probability: f32,
    /// 1 when the answering record outscores every other candidate hybrid retrieval found.
    pub rank: usize,
    pub candidates: usize,
    pub passed: bool,
}

pub fn load(path: &Path) -> Result<Vec<Fixture>, EvalError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| QuestionError::Io { path: shown.clone(), source })?;
    let fixtures: Result<Vec<Fixture>, QuestionError> = text
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(i, line)| {
            serde_json::from_str(line).map_err(|e| QuestionError::Malformed { path: shown.clone(), line: i + 1, why: e.to_string() })
        })
        .collect();
    Ok(fixtures?)
}

/// Scores each fixture: the best answering record (among hybrid retrieval's top `depth` in `generation`,
/// or else the first in `records`, its first chunk as curator renders it) against the other records of
/// that top `depth`.
pub fn check(
    curator: &Curator,
    reranker: &Reranker,
    generation: &Generation,
    records: &[MuseumRecord],
    fixtures: &[Fixture],
    depth: usize,
    min_probability: f32,
) -> Result<Vec<FixtureResult>, EvalError> {
    let mut results = Vec::new();
    for fixture in fixtures {
        let mut request = curator.answer_request(&fixture.question, Some(depth), Filters::default());
        request.rerank = None;
        let hits = curator.search(generation, &request)?.hits;
        let answers_hit = |id: &str| generation.store.get(id).is_some_and(|s| fixture.answers(&s.record));
        // The answering records retrieval found, or else the first one in `records`; the best of them
        // stands for "the right record" (many of Turner's works show the Thames).
        let mut golds: Vec<(String, String)> =
            hits.iter().filter(|h| answers_hit(&h.record_id)).map(|h| (h.record_id.clone(), h.chunk.text.clone())).collect();
        if golds.is_empty() {
            if let Some(r) = records.iter().find(|r| fixture.answers(r)) {
                golds.push((r.id.clone(), curator.chunker.chunk(r).into_iter().next().unwrap_or_default()));
            }
        }
        let others: Vec<&str> = hits.iter().filter(|h| !answers_hit(&h.record_id)).map(|h| h.chunk.text.as_str()).collect();
        let gold_scores = reranker.score(&fixture.question, &golds.iter().map(|(_, t)| t.as_str()).collect::<Vec<_>>())?;
        let other_scores = reranker.score(&fixture.question, &others)?;
        let best = gold_scores.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).map(|(i, &s)| (i, s));
        let (probability_of_gold, rank) = match best {
            Some((_, gold_score)) => (probability(gold_score), 1 + other_scores.iter().filter(|&&s| s > gold_score).count()),
            None => (0.0, 0),
        };
        let gold = best.map(|(i, _)| golds[i].0.clone());
        results.push(FixtureResult {
            question: fixture.question.clone(),
            record_id: gold.clone(),
            probability: probability_of_gold,
            rank,
            candidates: others.len() + 1,
            passed: gold.is_some() && rank == 1 && probability_of_gold >= min_probability,
        });
    }
    Ok(results)
}
