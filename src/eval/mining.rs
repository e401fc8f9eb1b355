//! Training data for the cross-encoder: groups of (query, positive texts, hard negatives), where the
//! negatives are what curator's own hybrid retrieval ranks highest for the query. The reranker then learns
//! to reorder exactly the kind of list it will be given.

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::questions::Question;
use crate::app::Curator;
use crate::feedback::{Feedback, Rating};
use crate::index::{Filters, Generation};
use crate::retrieve::SearchError;

/// Negatives kept per group, from the top of the retrieved list.
const NEGATIVES: usize = 20;

#[derive(Debug, Serialize)]
pub struct TrainingGroup {
    pub query: String,
    pub positive: Vec<String>,
    pub negatives: Vec<String>,
    /// Rank of the first positive in the retrieved list (None: not retrieved, the positive text was
    /// taken from the record itself).
    pub positive_rank: Option<usize>,
    pub source: String,
    /// "train" or "valid", fixed by a hash of the group's key.
    pub split: String,
}

/// One in `valid_every` keys goes to validation.
pub fn split_of(key: &str, valid_every: u8) -> &'static str {
    if Sha256::digest(key.as_bytes())[1] % valid_every == 0 {
        "valid"
    } else {
        "train"
    }
}

/// A group per question whose relevant records are in `generation`. `key` names the unit the
/// train/validation split is made on (the painting, for AQUA), so no unit is on both sides.
pub fn mine(
    curator: &Curator,
    generation: &Generation,
    questions: &[Question],
    source: &str,
    key: &dyn Fn(&Question) -> String,
    avoid: &dyn Fn(&Question, &str) -> bool,
) -> Result<Vec<TrainingGroup>, SearchError> {
    let mut groups = Vec::new();
    for q in questions {
        let mut relevant: Vec<&String> = q.relevant.iter().filter(|(_, &g)| g > 0.0).map(|(id, _)| id).collect();
        // By id, not in the hash map's order (which differs between runs): the positives come in this order.
        relevant.sort();
        if relevant.is_empty() || relevant.iter().all(|id| generation.store.get(id).is_none()) {
            continue;
        }
        // The reranker reads candidates as answers retrieve them, a series' records together.
        let mut request = curator.answer_request(&q.question, Some(NEGATIVES + relevant.len()), Filters::default());
        request.candidates = request.candidates.max(50);
        // The first stage's list, as the reranker will be given it: an installed reranker must not pick
        // the negatives its successor learns from.
        request.rerank = None;
        // Every word of the question, whatever `answer.bm25_drop_stopwords` says: the installed reranker
        // was trained on negatives mined so, and its manifest's data checksum must still describe them.
        request.bm25_drop_stopwords = false;
        // The same groups from every index of the same records, so that a fixed seed gives the same model
        // on every machine: the graph differs between builds, an exact scan does not.
        request.exact_dense = true;
        let response = match curator.search(generation, &request) {
            Ok(r) => r,
            Err(SearchError::EmptyQuery) => continue,
            Err(e) => return Err(e),
        };
        let mut positive = Vec::new();
        let mut negatives = Vec::new();
        let mut positive_rank = None;
        for hit in &response.hits {
            if relevant.contains(&&hit.record_id) {
                positive_rank = positive_rank.or(Some(hit.rank));
                positive.push(hit.chunk.text.clone());
            } else if !avoid(q, &hit.chunk.text) {
                negatives.push(hit.chunk.text.clone());
            }
        }
        // Where the relevant records have chunks that hold a gold answer ("Medium: Oil on canvas"), those
        // are the positives: the reranker is to learn what answers the question, not what is about the work.
        let answering = answering_chunks(generation, &relevant, &q.answers);
        if !answering.is_empty() {
            positive = answering;
        }
        if positive.is_empty() {
            // Not retrieved: the gold record's chunk closest to the question stands for it.
            let query_vector = curator.embedder_for(generation).embed_one(&q.question)?;
            for id in &relevant {
                let Some(stored) = generation.store.get(id) else { continue };
                let best = generation.vectors.exact_search(&query_vector, 1, stored.chunk_ids.iter().copied());
                if let Some(chunk) = best.first().and_then(|(c, _)| generation.store.chunk(*c)) {
                    positive.push(chunk.text.clone());
                }
            }
        }
        negatives.truncate(NEGATIVES);
        if positive.is_empty() || negatives.is_empty() {
            continue;
        }
        groups.push(TrainingGroup {
            query: q.question.clone(),
            positive,
            negatives,
            positive_rank,
            source: source.to_string(),
            split: split_of(&key(q), 10).to_string(),
        });
    }
    Ok(groups)
}

/// The chunks of `records` whose text holds one of `answers` (ignoring case), in record order.
fn answering_chunks(generation: &Generation, records: &[&String], answers: &[String]) -> Vec<String> {
    let answers: Vec<String> = answers.iter().map(|a| a.trim().to_lowercase()).filter(|a| !a.is_empty()).collect();
    if answers.is_empty() {
        return Vec::new();
    }
    records
        .iter()
        .filter_map(|id| generation.store.get(id))
        .flat_map(|stored| stored.chunk_ids.iter().filter_map(|c| generation.store.chunk(*c)))
        .filter(|chunk| {
            let text = chunk.text.to_lowercase();
            answers.iter().any(|a| text.contains(a.as_str()))
        })
        .map(|chunk| chunk.text.clone())
        .collect()
}

/// Questions made from collection metadata, for records that have no human questions: Tate subject
/// keywords ("cliff and lake") and a sentence of a Rijksmuseum description. Sampled by a hash of the
/// record id with `seed`, so the same seed gives the same set; records whose metadata questions are
/// evaluated (the dev and heldout parts of `questions::record_part`) are never used.
pub fn synthetic_questions(generation: &Generation, per_source: usize, seed: u64) -> Vec<Question> {
    use super::questions::{record_part, AquaPart};
    let mut records: Vec<&crate::records::MuseumRecord> = generation
        .store
        .records()
        .map(|s| &s.record)
        .filter(|r| matches!(record_part(&r.id), AquaPart::Train | AquaPart::Valid))
        .collect();
    records.sort_by_cached_key(|r| Sha256::digest(format!("{seed}:{}", r.id).as_bytes()));
    let mut out = Vec::new();
    let question = |id: &str, text: String| Question {
        id: format!("synthetic:{id}"),
        question: text,
        relevant: [(id.to_string(), 1.0)].into_iter().collect(),
        answers: Vec::new(),
        answerable: true,
    };
    let tate = records
        .iter()
        .filter(|r| r.source == "tate" && r.subjects.len() >= 3)
        .take(per_source)
        .map(|r| {
            // Two subjects from the middle of the list: the first ones are often places shared by many works.
            let n = r.subjects.len();
            question(&r.id, format!("{} and {}", r.subjects[n / 2].to_lowercase(), r.subjects[n - 1].to_lowercase()))
        });
    out.extend(tate);
    let rijks = records
        .iter()
        .filter(|r| r.source == "rijks" && r.description.as_ref().is_some_and(|d| d.len() > 80))
        .filter_map(|r| {
            let description = r.description.as_ref()?;
            let sentence = description.split(". ").map(str::trim).find(|s| s.split_whitespace().count() >= 5)?;
            Some(question(&r.id, sentence.trim_end_matches('.').to_string()))
        })
        .take(per_source);
    out.extend(rijks);
    out
}

/// For synthetic subject questions: a negative that carries both subjects is not a negative.
pub fn mentions_all_terms(question: &Question, text: &str) -> bool {
    if !question.id.starts_with("synthetic:tate:") {
        return false;
    }
    let text = text.to_lowercase();
    question.question.split(" and ").all(|term| text.contains(term))
}

/// Readers' thumbs-up answers as questions for `mine`: the records the answer cited are what the question
/// should find (a thumbs-down says the answer was wrong, not which record was right, so it gives none).
pub fn feedback_questions(feedback: &[Feedback]) -> Vec<Question> {
    feedback
        .iter()
        .filter(|f| f.given.rating == Rating::Up && !f.given.cited.is_empty() && !f.given.question.trim().is_empty())
        .map(|f| Question {
            id: format!("feedback:{}", f.id),
            question: f.given.question.clone(),
            relevant: f.given.cited.iter().map(|id| (id.clone(), 1.0)).collect(),
            answers: Vec::new(),
            answerable: true,
        })
        .collect()
}
