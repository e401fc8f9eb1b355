//! BEIR datasets (corpus.jsonl, queries.jsonl, qrels/<split>.tsv): documents become records of source
//! `beir`, queries become questions with graded relevance, so the same pipeline and harness measure them.

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;

use super::metrics::Grades;
use super::questions::{Question, QuestionError};
use crate::records::MuseumRecord;

#[derive(Deserialize)]
struct BeirDoc {
    #[serde(rename = "_id")]
    id: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    text: String,
}

#[derive(Deserialize)]
struct BeirQuery {
    #[serde(rename = "_id")]
    id: String,
    text: String,
}

pub fn is_beir_dir(path: &Path) -> bool {
    path.join("corpus.jsonl").is_file() && path.join("queries.jsonl").is_file()
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> QuestionError + '_ {
    move |source| QuestionError::Io { path: path.display().to_string(), source }
}

fn jsonl<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Vec<T>, QuestionError> {
    let text = std::fs::read_to_string(path).map_err(io(path))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|e| QuestionError::Malformed { path: path.display().to_string(), line: i + 1, why: e.to_string() })
        })
        .collect()
}

/// The corpus as records: `beir:<_id>`, title, and the text as the description.
pub fn corpus(dir: &Path) -> Result<Vec<MuseumRecord>, QuestionError> {
    let docs: Vec<BeirDoc> = jsonl(&dir.join("corpus.jsonl"))?;
    Ok(docs
        .into_iter()
        .map(|d| MuseumRecord {
            id: format!("beir:{}", d.id),
            source: "beir".into(),
            // A record needs a title; BEIR documents without one are titled by their id.
            title: if d.title.trim().is_empty() { d.id.clone() } else { d.title.trim().to_string() },
            description: Some(d.text.trim().to_string()).filter(|t| !t.is_empty()),
            language: "en".into(),
            ..Default::default()
        })
        .collect())
}

/// The queries judged in `qrels/<split>.tsv`, with their graded relevant documents. Split `valid` is the
/// tenth of the `train` queries that reranker training holds out (`eval::mining::split_of` on the query
/// id): where settings are tuned without touching `test`.
pub fn questions(dir: &Path, split: &str) -> Result<Vec<Question>, QuestionError> {
    let held_out = split == "valid";
    let qrels_path = dir.join("qrels").join(format!("{}.tsv", if held_out { "train" } else { split }));
    let text = std::fs::read_to_string(&qrels_path).map_err(io(&qrels_path))?;
    let mut judged: HashMap<String, Grades> = HashMap::new();
    for (i, line) in text.lines().enumerate().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        let [query, doc, grade] = cols[..] else {
            return Err(QuestionError::Malformed { path: qrels_path.display().to_string(), line: i + 1, why: "expected 3 columns".into() });
        };
        let grade: f64 = grade.trim().parse().map_err(|_| QuestionError::Malformed {
            path: qrels_path.display().to_string(),
            line: i + 1,
            why: format!("score {grade:?} is not a number"),
        })?;
        judged.entry(query.to_string()).or_default().insert(format!("beir:{doc}"), grade);
    }
    let queries: Vec<BeirQuery> = jsonl(&dir.join("queries.jsonl"))?;
    let mut out: Vec<Question> = queries
        .into_iter()
        .filter_map(|q| {
            let relevant = judged.remove(&q.id)?;
            if held_out && super::mining::split_of(&q.id, 10) != "valid" {
                return None;
            }
            Some(Question { id: q.id, question: q.text, relevant, answers: Vec::new(), answerable: true })
        })
        .collect();
    out.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(out)
}
