//! Question files: JSONL with `id`, `question`, optional `relevant` (record ids, or record id -> grade),
//! optional `answers` (accepted answer strings), optional `answerable` (false for questions the collection
//! cannot answer).
//!
//! AQUA's development set (../shared/eval/aqua/aqua_val.json) is read directly and split by painting, never
//! by question, into a `train` part (reranker and gate training; its `valid` tenth is where settings are
//! tuned), a `dev` part (the reported numbers) and a `heldout` part (an independent check of the dev
//! numbers, looked at once a setting is chosen), so no painting's questions are on two sides. The split is
//! a hash of the image id: stable, and needs no list in git. (Until 2026-11-30 `dev` was dev and heldout
//! together: README tables measured before then say so.)
//!
//! Plain metadata questions ("Who made X?", "When was X made?", "What is X made of?") are built from the
//! indexed records themselves ([`metadata_questions`]), split the same way by a hash of the record id.

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
    /// Paintings that check the dev numbers independently; nothing is tuned on them.
    Heldout,
    /// Paintings whose questions may train the reranker.
    Train,
    /// The tenth of the train paintings that training holds out for validation (see
    /// `eval::mining::split_of`): where settings are tuned, so that dev stays untouched.
    Valid,
}

/// Which part a SemArt painting belongs to.
pub fn aqua_part(image: &str) -> AquaPart {
    let hash = Sha256::digest(image.as_bytes());
    match (hash[0] % 2, hash[2] % 2) {
        (0, 0) => AquaPart::Dev,
        (0, _) => AquaPart::Heldout,
        _ => AquaPart::Train,
    }
}

/// Which part a record's metadata questions belong to: a fifth each to dev and heldout, the rest to train,
/// whose tenth (by the reranker's own split) is valid. A SemArt painting is in its AQUA part, so no
/// painting's questions, AQUA's or metadata, are on two sides.
pub fn record_part(record_id: &str) -> AquaPart {
    if let Some(image) = record_id.strip_prefix("semart:") {
        return match aqua_part(image) {
            AquaPart::Train if super::mining::split_of(record_id, 10) == "valid" => AquaPart::Valid,
            part => part,
        };
    }
    part_by_hash(&format!("metadata:{record_id}"), record_id)
}

/// A fifth each to dev and heldout by a hash of `key`, the rest to train, whose tenth by the reranker's
/// own split of `valid_key` is valid.
fn part_by_hash(key: &str, valid_key: &str) -> AquaPart {
    match Sha256::digest(key.as_bytes())[0] % 5 {
        0 => AquaPart::Dev,
        1 => AquaPart::Heldout,
        _ if super::mining::split_of(valid_key, 10) == "valid" => AquaPart::Valid,
        _ => AquaPart::Train,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_semart_painting_s_metadata_questions_are_in_its_aqua_part() {
        for image in ["41294-10ladisl.jpg", "07286-canal813.jpg", "24098-6victory.jpg", "00001-a.jpg", "12345-b.jpg", "99999-z.jpg"] {
            let id = format!("semart:{image}");
            let expected = match aqua_part(image) {
                AquaPart::Train if super::super::mining::split_of(&id, 10) == "valid" => AquaPart::Valid,
                part => part,
            };
            assert_eq!(record_part(&id), expected, "{id}");
        }
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
        .filter(|(_, item)| {
            let valid = || super::mining::split_of(&format!("semart:{}", item.image), 10) == "valid";
            match part {
                AquaPart::Valid => aqua_part(&item.image) == AquaPart::Train && valid(),
                _ => aqua_part(&item.image) == part,
            }
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

/// How many plain metadata questions of the train part (and a ninth of that of valid) `curator
/// rerank-data` gives the reranker; the answer gate is fitted on the ones after them, so a gate fitted on
/// the cross-encoder's scores never sees the reranker's own training questions.
pub const RERANKER_PLAIN_QUESTIONS: usize = 2000;

/// How plain questions and maker queries are worded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wording {
    /// The few wordings the answer evaluation and the gate ask in.
    Evaluated,
    /// Those and more, for the reranker's training ("Who painted X?", "When did Girtin draw X?", "What is
    /// X painted on?", "paintings of the Thames by Turner"), so that it learns the kind of question and
    /// not five sentences. The same records are chosen as with `Evaluated`.
    Varied,
}

const WHO: &[&str] = &["Who made {t}?", "Who is the artist of {t}?", "Who created '{t}'?", "{t} is by which artist?", "who made the work called {t}"];
const WHEN: &[&str] = &["When was {t} made?", "What is the date of {t}?", "In what year was '{t}' created?", "when is {t} from", "How old is {t}?"];
const MEDIUM: &[&str] = &["What is {t} made of?", "What medium is {t}?", "What materials were used for '{t}'?", "what technique was used for {t}"];
const WHO_VARIED: &[&str] = &["Who painted {t}?", "Which artist made {t}?", "who drew {t}", "Whose work is {t}?", "{t} artist", "Who is {t} by?"];
/// `{m}`: the maker's surname, for questions that name the maker as well as the work.
const WHEN_VARIED: &[&str] = &["When was {t} painted?", "What year is {t}?", "When did {m} make {t}?", "When did {m} draw {t}?", "{t} date", "When did {m} paint {t}?"];
const MEDIUM_VARIED: &[&str] = &["What is {t} painted on?", "What support is {t} on?", "{t} medium", "What did {m} use to make {t}?", "What is {t} drawn with?"];
const MAKER_VARIED: &[&str] = &["{n} {w}", "paintings of {w} by {n}", "{w} by {n}", "works by {n} showing {w}", "{n}'s pictures of {w}"];

/// Plain questions about the records of `part`: who made a work, when, and of what, each worded one of
/// several ways and naming the work by its title, with the record's own field as the gold answer. Only
/// records whose title names one record are used (no "Portrait of a Man"). At most `limit`, sampled by a
/// hash of the record id with `seed`.
pub fn metadata_questions(generation: &crate::index::Generation, part: AquaPart, limit: usize, seed: u64, wording: Wording) -> Vec<Question> {
    let mut title_counts: HashMap<String, usize> = HashMap::new();
    for stored in generation.store.records() {
        *title_counts.entry(display_title(&stored.record.title).to_lowercase()).or_default() += 1;
    }
    let mut records: Vec<&crate::records::MuseumRecord> = generation
        .store
        .records()
        .map(|s| &s.record)
        .filter(|r| record_part(&r.id) == part)
        .filter(|r| {
            let title = display_title(&r.title);
            let words = crate::generate::citations::content_words(title).len();
            title_counts.get(&title.to_lowercase()) == Some(&1)
                && words >= 2
                && title.chars().count() <= 80
                && !title.to_lowercase().starts_with("untitled")
        })
        .collect();
    records.sort_by_cached_key(|r| Sha256::digest(format!("{seed}:{}", r.id).as_bytes()));
    let mut out = Vec::new();
    for record in records {
        if out.len() >= limit {
            break;
        }
        let hash = Sha256::digest(format!("{seed}:wording:{}", record.id).as_bytes());
        let title = display_title(&record.title);
        let maker = record.makers.first().filter(|m| !m.to_lowercase().contains("unknown") && !m.to_lowercase().contains("anonym"));
        let mut kinds: Vec<(&str, Vec<String>)> = Vec::new();
        if let Some(maker) = maker {
            kinds.push(("who", maker_names(maker)));
        }
        if let Some(date) = record.date.as_ref().filter(|d| d.chars().any(|c| c.is_ascii_digit())) {
            let mut answers = vec![date.clone()];
            answers.extend(record.year_start.map(|y| y.to_string()).filter(|y| y != date));
            kinds.push(("when", answers));
        }
        if let Some(medium) = record.medium.as_ref().filter(|m| !m.is_empty() && m.len() <= 80) {
            kinds.push(("medium", vec![medium.clone()]));
        }
        if kinds.is_empty() {
            continue;
        }
        let (kind, answers) = kinds.swap_remove(hash[0] as usize % kinds.len());
        let (evaluated, varied) = match kind {
            "who" => (WHO, WHO_VARIED),
            "when" => (WHEN, WHEN_VARIED),
            _ => (MEDIUM, MEDIUM_VARIED),
        };
        // Wordings that name the maker ({m}) are used only where the record has a known one.
        let surname = maker.map(|m| surname(m));
        let wordings: Vec<&str> = match wording {
            Wording::Evaluated => evaluated.to_vec(),
            Wording::Varied => evaluated
                .iter()
                .chain(varied)
                .copied()
                .filter(|w| surname.is_some() || !w.contains("{m}"))
                .collect(),
        };
        let chosen = wordings[hash[1] as usize % wordings.len()];
        out.push(Question {
            id: format!("metadata-{kind}:{}", record.id),
            question: chosen.replace("{t}", title).replace("{m}", surname.unwrap_or_default()),
            relevant: [(record.id.clone(), 1.0)].into_iter().collect(),
            answers,
            answerable: true,
        });
    }
    out
}

/// Browse queries that name a maker and a word of the maker's titles ("Rembrandt self-portrait"), where
/// other makers' titles hold that word too, so that only the maker decides what is relevant: every record
/// of that maker whose title has the word. A query belongs to the part its (maker, word) pair hashes to,
/// as `record_part` splits records; at most `limit`, sampled by a hash with `seed`.
pub fn maker_queries(generation: &crate::index::Generation, part: AquaPart, limit: usize, seed: u64, wording: Wording) -> Vec<Question> {
    use crate::generate::citations::content_words;
    let known = |maker: &str| !maker.to_lowercase().contains("unknown") && !maker.to_lowercase().contains("anonym");
    // How many makers' names hold each name word: a word of one maker's name alone names that maker.
    let mut makers_with_word: HashMap<String, std::collections::HashSet<&str>> = HashMap::new();
    // Per maker, title word -> the maker's records whose title has it; and per word, records by anyone.
    let mut by_maker: HashMap<&str, HashMap<String, Vec<&str>>> = HashMap::new();
    let mut records_with_word: HashMap<String, usize> = HashMap::new();
    for stored in generation.store.records() {
        let record = &stored.record;
        let mut title_words = content_words(display_title(&record.title));
        title_words.sort();
        title_words.dedup();
        for word in &title_words {
            *records_with_word.entry(word.clone()).or_default() += 1;
        }
        let Some(maker) = record.makers.first().filter(|m| known(m)) else { continue };
        for word in maker.split(|c: char| !c.is_alphanumeric()).filter(|w| w.chars().count() > 2) {
            makers_with_word.entry(word.to_lowercase()).or_default().insert(maker.as_str());
        }
        let words = by_maker.entry(maker.as_str()).or_default();
        for word in title_words.into_iter().filter(|w| !w.chars().any(|c| c.is_ascii_digit())) {
            words.entry(word).or_default().push(record.id.as_str());
        }
    }
    let mut queries: Vec<(Vec<u8>, Question)> = Vec::new();
    for (maker, words) in &by_maker {
        // The words of the name that no other maker's name holds ("van" is in many). The evaluated query
        // names the maker by the last of them; the varied wordings by any, as people use any part of a
        // name they know. (A word two makers share names neither: "Rembrandt" is in the Rijksmuseum's
        // "Rembrandt van Rijn" and SemArt's "REMBRANDT Harmenszoon van Rijn".)
        let own_words: Vec<&str> = maker
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| w.chars().count() > 2 && makers_with_word.get(&w.to_lowercase()).is_some_and(|m| m.len() == 1))
            .collect();
        let Some(&last_own_word) = own_words.last() else { continue };
        for (word, ids) in words {
            let others = records_with_word.get(word).copied().unwrap_or(0).saturating_sub(ids.len());
            if ids.len() < 2 || others < 10 {
                continue;
            }
            let id = format!("maker:{maker}|{word}");
            let key = maker_query_key(&id);
            if part_by_hash(&key, &key) != part {
                continue;
            }
            let hash = Sha256::digest(format!("{seed}:wording:{key}").as_bytes());
            let text = match wording {
                Wording::Evaluated => format!("{last_own_word} {word}"),
                Wording::Varied => {
                    let name = own_words[hash[1] as usize % own_words.len()];
                    MAKER_VARIED[hash[0] as usize % MAKER_VARIED.len()].replace("{n}", name).replace("{w}", word)
                }
            };
            let question = Question {
                id,
                question: text,
                relevant: ids.iter().map(|id| (id.to_string(), 1.0)).collect(),
                answers: Vec::new(),
                answerable: true,
            };
            queries.push((Sha256::digest(format!("{seed}:{key}").as_bytes()).to_vec(), question));
        }
    }
    queries.sort_by(|a, b| a.0.cmp(&b.0));
    queries.into_iter().take(limit).map(|(_, q)| q).collect()
}

/// What a maker query (by its id, "maker:<maker>|<word>") is split into parts by: `maker_queries` chooses
/// its part, and `curator rerank-data` its training or validation side, by the same key.
pub fn maker_query_key(id: &str) -> String {
    format!("maker-query:{}", id.trim_start_matches("maker:"))
}

/// The title a reader knows: Rijksmuseum joins alternative titles with '$'; the first is the main one.
fn display_title(title: &str) -> &str {
    title.split('$').next().unwrap_or(title).trim()
}

/// What a question calls a maker: "Girtin" for "Girtin, Thomas" and for "Thomas Girtin".
fn surname(maker: &str) -> &str {
    match maker.split_once(", ") {
        Some((surname, _)) => surname.trim(),
        None => maker.split_whitespace().last().unwrap_or(maker),
    }
}

/// A maker's name as stored and, for "Surname, First names", as "First names Surname".
fn maker_names(maker: &str) -> Vec<String> {
    let mut names = vec![maker.to_string()];
    if let Some((surname, first)) = maker.split_once(", ") {
        names.push(format!("{first} {surname}"));
    }
    names
}
