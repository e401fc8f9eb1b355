//! Records: the first stage. Reads museum exports of several shapes into one normalised [`MuseumRecord`].
//!
//! Every reader reports malformed rows with their file and line and goes on; nothing here touches an index.

mod dates;
mod generic;
mod names;
mod rijksmuseum;
mod semart;
mod tate;

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use dates::year_range;

/// One museum object, whatever collection it came from.
///
/// `id` is stable across exports: `source:native_id`, e.g. `semart:41294-10ladisl.jpg`, `tate:T00990`,
/// `rijks:SK-A-117`. Everything downstream (chunks, index documents, citations) refers to records by it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct MuseumRecord {
    pub id: String,
    pub source: String,
    pub title: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub makers: Vec<String>,
    /// The date as the museum wrote it ("c. 1594", "1630s", "c.1830-5").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub year_start: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub year_end: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub medium: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dimensions: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub subjects: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub place: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credit: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// ISO 639-1 code of the record's text ("en", "nl").
    pub language: String,
}

impl MuseumRecord {
    /// A checksum of every field, so that re-ingesting an unchanged record can be recognised as a no-op.
    pub fn content_hash(&self) -> String {
        let canonical = serde_json::to_vec(self).unwrap_or_default();
        hex(&Sha256::digest(&canonical))
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Where a record (or a problem) was found: file and 1-based line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Location {
    pub file: PathBuf,
    pub line: u64,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file.display(), self.line)
    }
}

/// A row that could not be read, and why. Reported, never fatal.
#[derive(Debug, Clone, Serialize)]
pub struct Skipped {
    pub at: Location,
    pub reason: String,
}

/// Errors that stop a whole file from being read (a single bad row never does).
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("cannot read {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: unrecognised format ({why}); known: SemArt JSONL, Tate JSONL, Rijksmuseum API JSON, Rijksmuseum export CSV, curator JSONL")]
    UnknownFormat { path: PathBuf, why: String },
    #[error("{path}: {why}")]
    Malformed { path: PathBuf, why: String },
}

/// The export formats curator reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    SemArt,
    Tate,
    RijksApiJson,
    RijksExportCsv,
    /// JSONL of [`MuseumRecord`] itself, for any museum's own export.
    Curator,
}

/// What reading some paths produced.
#[derive(Debug, Default)]
pub struct ReadOutcome {
    pub records: Vec<(MuseumRecord, Location)>,
    pub skipped: Vec<Skipped>,
    /// Files that were not read at all, with the reason (an unknown format, an unreadable file).
    pub skipped_files: Vec<(PathBuf, String)>,
}

impl ReadOutcome {
    fn push(&mut self, at: Location, row: Result<MuseumRecord, String>) {
        match row.and_then(validate) {
            Ok(record) => self.records.push((record, at)),
            Err(reason) => self.skipped.push(Skipped { at, reason }),
        }
    }
}

/// One record in curator's own JSON shape, as a JSONL row or an HTTP ingest sends it: normalised (id
/// prefix, source case, years from the date, a lone maker as a list) and validated, or why not.
pub fn curator_record(value: serde_json::Value) -> Result<MuseumRecord, String> {
    generic::parse(value).and_then(validate)
}

/// The invariants every reader's output must hold before it may reach an index.
pub fn validate(mut record: MuseumRecord) -> Result<MuseumRecord, String> {
    record.title = record.title.trim().to_string();
    if record.source.trim().is_empty() {
        return Err("missing source".into());
    }
    let Some((prefix, native)) = record.id.split_once(':') else {
        return Err(format!("id {:?} is not of the form source:native_id", record.id));
    };
    if prefix != record.source || native.trim().is_empty() {
        return Err(format!("id {:?} does not start with its source {:?}", record.id, record.source));
    }
    if record.title.is_empty() {
        return Err("missing title".into());
    }
    if record.language.is_empty() {
        record.language = "en".into();
    }
    if record.date.as_deref().is_some_and(says_no_date) {
        record.date = None;
    }
    if let (Some(a), Some(b)) = (record.year_start, record.year_end) {
        if a > b {
            return Err(format!("year_start {a} is after year_end {b}"));
        }
    }
    Ok(record)
}

/// A date field that only says there is no date ("-" in SemArt, "date not known" in Tate): shown as
/// "(-)" or "(date not known)" after a title, it looked like a broken record (issue 13.3).
fn says_no_date(date: &str) -> bool {
    let date = date.trim().trim_end_matches('.').to_lowercase();
    date.chars().all(|c| !c.is_alphanumeric()) || ["date not known", "not known", "unknown", "n.d", "undated", "no date"].contains(&date.as_str())
}

/// Reads every supported file under `paths` (files or folders, recursively).
///
/// Records that appear twice (same id) are kept once: the first wins, the later one is reported as skipped.
pub fn read_paths(paths: &[PathBuf]) -> Result<ReadOutcome, RecordError> {
    let mut files = Vec::new();
    let mut outcome = ReadOutcome::default();
    for path in paths {
        collect_files(path, &mut files, &mut outcome.skipped_files, &mut Default::default())?;
    }
    for file in files {
        match detect_format(&file) {
            Ok(format) => read_file(&file, format, &mut outcome)?,
            Err(RecordError::UnknownFormat { path, why }) => outcome.skipped_files.push((path, why)),
            Err(other) => return Err(other),
        }
    }
    dedupe(&mut outcome);
    Ok(outcome)
}

fn dedupe(outcome: &mut ReadOutcome) {
    let mut first_seen: HashMap<String, Location> = HashMap::new();
    let mut kept = Vec::with_capacity(outcome.records.len());
    for (record, at) in outcome.records.drain(..) {
        if let Some(first) = first_seen.get(&record.id) {
            outcome.skipped.push(Skipped {
                reason: format!("duplicate id {} (first seen at {first})", record.id),
                at,
            });
        } else {
            first_seen.insert(record.id.clone(), at.clone());
            kept.push((record, at));
        }
    }
    outcome.records = kept;
}

/// The files under `path` (a file or a folder, recursively, links followed), sorted per folder. A file of
/// another kind in a folder, and a folder reached again through a link (a cycle), are reported in
/// `skipped`, not read.
fn collect_files(
    path: &Path,
    files: &mut Vec<PathBuf>,
    skipped: &mut Vec<(PathBuf, String)>,
    folders_seen: &mut std::collections::HashSet<PathBuf>,
) -> Result<(), RecordError> {
    let io = |source| RecordError::Io { path: path.to_path_buf(), source };
    let meta = std::fs::metadata(path).map_err(io)?;
    if !meta.is_dir() {
        files.push(path.to_path_buf());
        return Ok(());
    }
    let canonical = std::fs::canonicalize(path).map_err(io)?;
    if !folders_seen.insert(canonical.clone()) {
        skipped.push((path.to_path_buf(), format!("a link back to {}, which is already being read (a cycle)", canonical.display())));
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(path).map_err(io)?.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for entry in entries {
        let hidden = entry.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with('.'));
        if entry.is_dir() {
            collect_files(&entry, files, skipped, folders_seen)?;
        } else if matches!(entry.extension().and_then(|e| e.to_str()), Some("jsonl" | "json" | "csv")) {
            files.push(entry);
        } else if !hidden {
            skipped.push((entry, "not a file curator reads (.jsonl, .json or .csv)".into()));
        }
    }
    folders_seen.remove(&canonical);
    Ok(())
}

/// Recognises a file's format by its extension and its first record, never by its name alone.
pub fn detect_format(path: &Path) -> Result<Format, RecordError> {
    let unknown = |why: String| RecordError::UnknownFormat { path: path.to_path_buf(), why };
    let head = read_head(path, 64 * 1024)?;
    let head = head.trim_start_matches('\u{feff}');
    match path.extension().and_then(|e| e.to_str()) {
        _ if head.trim().is_empty() => Err(unknown("the file is empty".into())),
        Some("jsonl") => {
            let first = head.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
            let value: serde_json::Value = serde_json::from_str(first)
                .map_err(|e| unknown(format!("first line is not JSON: {e}")))?;
            if value.get("acno").is_some() {
                Ok(Format::Tate)
            } else if value.get("technique_dimensions").is_some() {
                Ok(Format::SemArt)
            } else if value.get("source").is_some() || value.get("id").is_some() {
                // curator's own JSONL; each row is checked on its own, so a row without an id is
                // reported with its line.
                Ok(Format::Curator)
            } else {
                Err(unknown(
                    "JSONL whose first record has none of the known fields (curator JSONL rows need \"id\" and \"source\")".into(),
                ))
            }
        }
        Some("json") => {
            if head.trim_start().starts_with('[') && head.contains("\"objectNumber\"") {
                Ok(Format::RijksApiJson)
            } else {
                Err(unknown("JSON that is not an array of Rijksmuseum API objects".into()))
            }
        }
        Some("csv") => {
            let header = head.lines().next().unwrap_or("");
            if header.contains("objectnummer") {
                Ok(Format::RijksExportCsv)
            } else {
                Err(unknown(format!(
                    "a CSV with columns {:?}: the only CSV curator reads is the Rijksmuseum export (objectnummer;titel;…); \
                     convert other tables to curator JSONL, one record per line with id, source, title, makers, date, description",
                    truncate(header, 80)
                )))
            }
        }
        _ => Err(unknown("extension is not .jsonl, .json or .csv".into())),
    }
}

fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

fn read_head(path: &Path, bytes: usize) -> Result<String, RecordError> {
    use std::io::Read;
    let io = |source| RecordError::Io { path: path.to_path_buf(), source };
    let mut buf = Vec::with_capacity(bytes);
    std::fs::File::open(path).map_err(io)?.take(bytes as u64).read_to_end(&mut buf).map_err(io)?;
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

/// Reads one file of a known format, appending its records and its skipped rows to `outcome`.
pub fn read_file(path: &Path, format: Format, outcome: &mut ReadOutcome) -> Result<(), RecordError> {
    match format {
        Format::SemArt => read_jsonl(path, outcome, semart::parse),
        Format::Tate => read_jsonl(path, outcome, tate::parse),
        Format::Curator => read_jsonl(path, outcome, generic::parse),
        Format::RijksApiJson => rijksmuseum::read_api_json(path, outcome),
        Format::RijksExportCsv => rijksmuseum::read_export_csv(path, outcome),
    }
}

fn read_jsonl(
    path: &Path,
    outcome: &mut ReadOutcome,
    parse: fn(serde_json::Value) -> Result<MuseumRecord, String>,
) -> Result<(), RecordError> {
    use std::io::BufRead;
    let io = |source| RecordError::Io { path: path.to_path_buf(), source };
    let reader = std::io::BufReader::new(std::fs::File::open(path).map_err(io)?);
    for (index, line) in reader.split(b'\n').enumerate() {
        let line = line.map_err(io)?;
        let at = Location { file: path.to_path_buf(), line: index as u64 + 1 };
        let text = match std::str::from_utf8(&line) {
            Ok(t) => t.trim_start_matches('\u{feff}').trim(),
            Err(e) => {
                outcome.skipped.push(Skipped { at, reason: format!("not UTF-8: {e}") });
                continue;
            }
        };
        if text.is_empty() {
            continue;
        }
        let row = serde_json::from_str::<serde_json::Value>(text)
            .map_err(|e| format!("invalid JSON: {e}"))
            .and_then(parse);
        outcome.push(at, row);
    }
    Ok(())
}

/// Text fields arrive with stray whitespace, HTML entities and empty strings that mean "absent".
pub(crate) fn clean(text: Option<&str>) -> Option<String> {
    let text = text?;
    let decoded = html_escape::decode_html_entities(text);
    let collapsed = decoded.split_whitespace().collect::<Vec<_>>().join(" ");
    (!collapsed.is_empty()).then_some(collapsed)
}

pub(crate) fn str_field<'a>(value: &'a serde_json::Value, key: &str) -> Option<&'a str> {
    value.get(key).and_then(|v| v.as_str())
}

/// Sorted, de-duplicated, cleaned list of strings.
pub(crate) fn clean_list<'a>(items: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for item in items {
        if let Some(c) = clean(Some(item)) {
            if !out.contains(&c) {
                out.push(c);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validate_rejects_id_without_source_prefix() {
        let r = MuseumRecord { id: "T1".into(), source: "tate".into(), title: "x".into(), ..Default::default() };
        assert!(validate(r).unwrap_err().contains("source:native_id"));
    }

    #[test]
    fn a_date_that_says_there_is_none_is_dropped() {
        for (date, kept) in [("-", false), ("date not known", false), ("Unknown", false), ("n.d.", false), ("c. 1594", true), ("16th century", true)] {
            let r = MuseumRecord { id: "tate:T1".into(), source: "tate".into(), title: "x".into(), date: Some(date.into()), ..Default::default() };
            assert_eq!(validate(r).unwrap().date.is_some(), kept, "{date:?}");
        }
    }

    #[test]
    fn validate_rejects_inverted_years() {
        let r = MuseumRecord {
            id: "tate:T1".into(),
            source: "tate".into(),
            title: "x".into(),
            year_start: Some(1900),
            year_end: Some(1800),
            ..Default::default()
        };
        assert!(validate(r).is_err());
    }

    #[test]
    fn clean_decodes_entities_and_collapses_space() {
        assert_eq!(clean(Some("  a&#160;b \r\n c ")), Some("a b c".to_string()));
        assert_eq!(clean(Some("   ")), None);
    }
}
