//! Question files: JSONL with `id`, `question`, optional `relevant` (record ids, or record id -> grade),
//! optional `answers` (accepted answer strings), optional `answerable` (false for questions the collection
//! cannot answer).
//!
//! AQUA's development set (../shared/eval/aqua/aqua_val.json) is read directly and split by painting, never
//! by question, into a `dev` part (evaluation) and a `train` part (reranker training), so no painting's
//! questions are on both sides. The split is a hash of the image id: stable, and needs no list in git.

use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::metrics::Grades;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Question {
    pub id: String,
    pub question: String,
    #[serde(default)]
    pub relevant: Grades,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub answers: Vec<String>,
    #[serde(default = "yes")]
    pub answerable: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, thiserror::Error)]
pub enum QuestionError {
    #[error("cannot read {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("{path}:{line}: {why}")]
    Malformed { path: String, line: usize, why: String },
}

/// `relevant` may be a list of ids (grade 1 each) or an object of id -> grade.
#[derive(Deserialize)]
#[serde(untagged)]
enum RelevantField {
    List(Vec<String>),
    Graded(HashMap<String, f64>),
}

#[derive(Deserialize)]
struct QuestionLine {
    id: String,
    question: String,
    #[serde(default)]
    relevant: Option<RelevantField>,
    #[serde(default)]
    answers: Vec<String>,
    #[serde(default = "yes")]
    answerable: bool,
}

pub fn load_jsonl(path: &Path) -> Result<Vec<Question>, QuestionError> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| QuestionError::Io { path: name.clone(), source })?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let q: QuestionLine = serde_json::from_str(line)
            .map_err(|e| QuestionError::Malformed { path: name.clone(), line: i + 1, why: e.to_string() })?;
        let relevant = match q.relevant {
            Some(RelevantField::List(ids)) => ids.into_iter().map(|id| (id, 1.0)).collect(),
            Some(RelevantField::Graded(map)) => map,
            None => Grades::new(),
        };
        out.push(Question { id: q.id, question: q.question, relevant, answers: q.answers, answerable: q.answerable });
    }
    Ok(out)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
pub enum AquaPart {
    /// Paintings held out for evaluation: the reported numbers.
    Dev,
    /// Paintings whose questions may train the reranker.
    Train,
    /// The tenth of the train paintings that training holds out for validation (see
    /// `eval::mining::split_of`): where settings are tuned, so that dev stays untouched.
    Valid,
}

/// Which part a SemArt painting belongs to.
pub fn aqua_part(image: &str) -> AquaPart {
    if Sha256::digest(image.as_bytes())[0] % 2 == 0 {
        AquaPart::Dev
    } else {
        AquaPart::Train
    }
}

#[derive(Deserialize)]
struct AquaItem {
    image: String,
    question: String,
    answer: String,
    need_external_knowledge: bool,
}

/// AQUA items of one part as questions. Knowledge questions point at their painting's record
/// (`semart:<image>`) and carry the gold answer; visual questions (made from the picture, not the text)
/// are marked unanswerable.
pub fn load_aqua(path: &Path, part: AquaPart) -> Result<Vec<Question>, QuestionError> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| QuestionError::Io { path: name.clone(), source })?;
    let items: Vec<AquaItem> =
        serde_json::from_str(&text).map_err(|e| QuestionError::Malformed { path: name, line: 0, why: e.to_string() })?;
    Ok(items
        .into_iter()
        .enumerate()
        .filter(|(_, item)| match part {
            AquaPart::Valid => {
                aqua_part(&item.image) == AquaPart::Train
                    && super::mining::split_of(&format!("semart:{}", item.image), 10) == "valid"
            }
            _ => aqua_part(&item.image) == part,
        })
        .map(|(i, item)| {
            let answer = html_escape::decode_html_entities(&item.answer).trim().to_string();
            Question {
                id: format!("aqua-{i}"),
                question: item.question.trim().to_string(),
                relevant: if item.need_external_knowledge {
                    [(format!("semart:{}", item.image), 1.0)].into_iter().collect()
                } else {
                    Grades::new()
                },
                answers: vec![answer],
                answerable: item.need_external_knowledge,
            }
        })
        .collect())
}
