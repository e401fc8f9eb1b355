//! Readers' ratings of answers, kept in SQLite in the data directory (`<data_dir>/feedback.sqlite`).
//!
//! Every rating is stored with what it rates (question, answer, sources, citations), the model and the
//! index generation that produced it, so it can be read back (GET /api/feedback) and turned into
//! reranker training groups (`curator rerank-data --feedback`). The schema is versioned with SQLite's
//! `user_version` (rusqlite_migration): a newer curator migrates an older file in place, never drops it.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::{params, Connection};
use rusqlite_migration::{Migrations, M};
use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error)]
pub enum FeedbackError {
    #[error("feedback database {path}: {source}")]
    Open { path: PathBuf, source: rusqlite::Error },
    #[error("feedback database {path}: cannot bring its schema up to date: {source}")]
    Migrate { path: PathBuf, source: rusqlite_migration::Error },
    #[error("feedback database: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("feedback database lock poisoned")]
    Poisoned,
}

/// One rating as a reader gives it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct NewFeedback {
    pub question: String,
    pub answer: String,
    /// The record ids of the answer's numbered sources, in order.
    #[serde(default)]
    pub sources: Vec<String>,
    /// The record ids the answer cited.
    #[serde(default)]
    pub cited: Vec<String>,
    pub rating: Rating,
    #[serde(default)]
    pub comment: Option<String>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Rating {
    Up,
    Down,
}

impl Rating {
    fn as_str(self) -> &'static str {
        match self {
            Rating::Up => "up",
            Rating::Down => "down",
        }
    }
}

/// A stored rating.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Feedback {
    pub id: i64,
    /// Seconds since the Unix epoch.
    pub created: i64,
    #[serde(flatten)]
    pub given: NewFeedback,
    pub model: Option<String>,
    pub generation: Option<u64>,
}

#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct FeedbackCounts {
    pub up: u64,
    pub down: u64,
}

fn migrations() -> Migrations<'static> {
    Migrations::new(vec![M::up(
        "CREATE TABLE feedback (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            created INTEGER NOT NULL,
            question TEXT NOT NULL,
            answer TEXT NOT NULL,
            sources TEXT NOT NULL,
            cited TEXT NOT NULL,
            rating TEXT NOT NULL CHECK (rating IN ('up', 'down')),
            comment TEXT,
            model TEXT,
            generation INTEGER
        );",
    )])
}

pub struct FeedbackStore {
    connection: Mutex<Connection>,
}

impl FeedbackStore {
    /// Opens (creating and migrating when needed) the database at `path`.
    pub fn open(path: &Path) -> Result<FeedbackStore, FeedbackError> {
        if let Some(parent) = path.parent() {
            let _ = std::fs::create_dir_all(parent);
        }
        let mut connection = Connection::open(path).map_err(|source| FeedbackError::Open { path: path.to_path_buf(), source })?;
        // Write-ahead logging: a crash mid-write never loses what was committed before it.
        connection
            .pragma_update(None, "journal_mode", "WAL")
            .map_err(|source| FeedbackError::Open { path: path.to_path_buf(), source })?;
        migrations().to_latest(&mut connection).map_err(|source| FeedbackError::Migrate { path: path.to_path_buf(), source })?;
        Ok(FeedbackStore { connection: Mutex::new(connection) })
    }

    pub fn add(&self, feedback: &NewFeedback, model: Option<&str>, generation: Option<u64>) -> Result<i64, FeedbackError> {
        let connection = self.connection.lock().map_err(|_| FeedbackError::Poisoned)?;
        let created = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
        connection.execute(
            "INSERT INTO feedback (created, question, answer, sources, cited, rating, comment, model, generation)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                created,
                feedback.question,
                feedback.answer,
                serde_json::to_string(&feedback.sources).unwrap_or_default(),
                serde_json::to_string(&feedback.cited).unwrap_or_default(),
                feedback.rating.as_str(),
                feedback.comment,
                model,
                generation.map(|g| g as i64),
            ],
        )?;
        Ok(connection.last_insert_rowid())
    }

    /// Every rating, newest first.
    pub fn list(&self) -> Result<Vec<Feedback>, FeedbackError> {
        let connection = self.connection.lock().map_err(|_| FeedbackError::Poisoned)?;
        let mut statement = connection.prepare(
            "SELECT id, created, question, answer, sources, cited, rating, comment, model, generation FROM feedback ORDER BY id DESC",
        )?;
        let rows = statement.query_map([], |row| {
            let list = |i: usize| -> rusqlite::Result<Vec<String>> { Ok(serde_json::from_str(&row.get::<_, String>(i)?).unwrap_or_default()) };
            let rating: String = row.get(6)?;
            Ok(Feedback {
                id: row.get(0)?,
                created: row.get(1)?,
                given: NewFeedback {
                    question: row.get(2)?,
                    answer: row.get(3)?,
                    sources: list(4)?,
                    cited: list(5)?,
                    rating: if rating == "up" { Rating::Up } else { Rating::Down },
                    comment: row.get(7)?,
                },
                model: row.get(8)?,
                generation: row.get::<_, Option<i64>>(9)?.map(|g| g as u64),
            })
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    pub fn counts(&self) -> Result<FeedbackCounts, FeedbackError> {
        let connection = self.connection.lock().map_err(|_| FeedbackError::Poisoned)?;
        let count = |rating: &str| -> Result<u64, rusqlite::Error> {
            connection.query_row("SELECT COUNT(*) FROM feedback WHERE rating = ?1", [rating], |r| r.get::<_, i64>(0)).map(|n| n as u64)
        };
        Ok(FeedbackCounts { up: count("up")?, down: count("down")? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_migrations_are_valid() {
        assert!(migrations().validate().is_ok());
    }

    #[test]
    fn feedback_survives_reopening_the_database() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("feedback.sqlite");
        let given = NewFeedback {
            question: "Who painted it?".into(),
            answer: "Vermeer [1].".into(),
            sources: vec!["sample:milkmaid".into()],
            cited: vec!["sample:milkmaid".into()],
            rating: Rating::Down,
            comment: Some("wrong <b>date</b>".into()),
        };
        FeedbackStore::open(&path).unwrap().add(&given, Some("tiny"), Some(3)).unwrap();
        let reopened = FeedbackStore::open(&path).unwrap();
        let all = reopened.list().unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].given, given);
        assert_eq!(all[0].generation, Some(3));
        assert_eq!(reopened.counts().unwrap(), FeedbackCounts { up: 0, down: 1 });
    }
}
