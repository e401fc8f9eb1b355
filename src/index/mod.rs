//! Index: the persisted, versioned generations that retrieval reads.
//!
//! A generation is one directory holding everything a search needs: the tantivy BM25 index, the HNSW graph,
//! the record store and a manifest (format version, embedding model, chunking, counts, checksums).
//!
//! Architecture invariant: a generation is written once, in a directory of its own, and never changed
//! afterwards. `CURRENT` names the generation in use and is replaced by an atomic rename only after the new
//! generation is complete and synced, so a crash at any moment leaves the previous generation intact and
//! loadable. Leftovers of an interrupted write are removed by the next writer.

pub mod filter;
pub mod store;
pub mod text;
pub mod vector;

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::config::{ChunkingSettings, HnswSettings};
use crate::embed::EmbeddingIdentity;
use crate::records::hex;
pub use filter::{FilterError, Filters};
use store::RecordStore;
use text::TextIndex;
use vector::VectorIndex;

/// Bumped whenever the on-disk layout changes; older generations are refused, not misread.
pub const FORMAT_VERSION: u32 = 1;
const CURRENT_FILE: &str = "CURRENT";
const GENERATIONS_DIR: &str = "generations";
const MANIFEST_FILE: &str = "manifest.json";
const TANTIVY_DIR: &str = "tantivy";
const HNSW_BASENAME: &str = "vectors";
/// Older generations kept besides the current one, for readers that still have them open.
const KEEP_PREVIOUS: usize = 1;
/// `serving/<pid>` files: the generation each running server serves, which no writer may delete.
const SERVING_DIR: &str = "serving";

#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error("I/O error on {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("no index in {0}: run `curator ingest PATH` first")]
    Empty(PathBuf),
    #[error("{path} is corrupt: {why}")]
    Corrupt { path: PathBuf, why: String },
    #[error("generation {path} was built {why}; rebuild it with `curator ingest --rebuild PATH...`")]
    Incompatible { path: PathBuf, why: String },
    #[error("text index {path}: {why}")]
    Text { path: PathBuf, why: String },
    #[error("vector index {path}: {why}")]
    Vector { path: PathBuf, why: String },
    #[error("another ingest is writing to {0}; wait for it to finish")]
    Busy(PathBuf),
    #[error("no earlier generation is kept in {0}: there is nothing to roll back to")]
    NothingToRollBackTo(PathBuf),
}

/// The steps of an ingest, in order, at which `CURATOR_FAULT_AT=<step>` stops the process abruptly
/// (abort: no destructor runs, nothing is flushed), for the fault-injection suite
/// (`scripts/test-faults.sh`, `tests/crash_safety.rs`). Whatever the step, the previous or the new
/// generation must load afterwards, and the next ingest must complete.
pub const FAULT_STEPS: [&str; 10] = [
    "generation-begun",
    "embedded",
    "text-index-written",
    "hnsw-dumped",
    "store-written",
    "files-synced",
    "manifest-written",
    "verified",
    "current-switched",
    "old-removed",
];

/// Stops the process here when `CURATOR_FAULT_AT` names `step` (one of [`FAULT_STEPS`]).
pub fn fault_point(step: &str) {
    static AT: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    if AT.get_or_init(|| std::env::var("CURATOR_FAULT_AT").ok()).as_deref() == Some(step) {
        eprintln!("CURATOR_FAULT_AT: stopping at {step}");
        std::process::abort();
    }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> IndexError + '_ {
    move |source| IndexError::Io { path: path.to_path_buf(), source }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    pub format_version: u32,
    pub generation: u64,
    pub created_unix: u64,
    pub embedding: EmbeddingIdentity,
    pub chunking: ChunkingSettings,
    pub hnsw: HnswSettings,
    /// Basename hnsw_rs gave the graph files; `None` when there are no vectors.
    pub hnsw_basename: Option<String>,
    pub records: usize,
    pub live_chunks: usize,
    pub chunk_slots: usize,
    /// Vectors in the graph, tombstones included.
    pub graph_points: usize,
    pub records_per_source: BTreeMap<String, usize>,
    pub chunks_per_source: BTreeMap<String, usize>,
    /// sha256 of every file outside the tantivy folder (tantivy checks its own files).
    pub checksums: BTreeMap<String, String>,
}

/// A loaded, searchable generation.
pub struct Generation {
    pub dir: PathBuf,
    pub manifest: Manifest,
    pub store: RecordStore,
    pub text: TextIndex,
    pub vectors: VectorIndex,
}

impl Generation {
    /// Loads the generation in `dir`, checking it was built by this format with the `expected` model.
    pub fn load(dir: &Path, expected: &EmbeddingIdentity) -> Result<Generation, IndexError> {
        let manifest = read_manifest(dir)?;
        check_compatible(dir, &manifest, expected)?;
        for (name, want) in &manifest.checksums {
            let got = sha256_file(&dir.join(name))?;
            if &got != want {
                return Err(IndexError::Corrupt { path: dir.join(name), why: "checksum differs from the manifest".into() });
            }
        }
        let store = RecordStore::load(dir, manifest.chunk_slots)?;
        let text = TextIndex::open_or_create(&dir.join(TANTIVY_DIR))?;
        let mut vectors = match &manifest.hnsw_basename {
            Some(basename) => VectorIndex::load(dir, basename, &manifest.hnsw)?,
            None => VectorIndex::new(&manifest.hnsw, 0),
        };
        vectors.set_searching();
        if store.record_count() != manifest.records || store.live_chunk_count() != manifest.live_chunks {
            return Err(IndexError::Corrupt { path: dir.to_path_buf(), why: "record store counts differ from the manifest".into() });
        }
        if text.num_docs() != manifest.live_chunks as u64 {
            return Err(IndexError::Corrupt {
                path: dir.join(TANTIVY_DIR),
                why: format!("{} documents, manifest says {}", text.num_docs(), manifest.live_chunks),
            });
        }
        Ok(Generation { dir: dir.to_path_buf(), manifest, store, text, vectors })
    }

    pub fn tantivy_dir(&self) -> PathBuf {
        self.dir.join(TANTIVY_DIR)
    }
}

pub fn read_manifest(dir: &Path) -> Result<Manifest, IndexError> {
    let path = dir.join(MANIFEST_FILE);
    let text = std::fs::read_to_string(&path).map_err(io_err(&path))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| IndexError::Corrupt { path: path.clone(), why: e.to_string() })?;
    let version = value.get("format_version").and_then(|v| v.as_u64()).unwrap_or(0) as u32;
    if version != FORMAT_VERSION {
        return Err(IndexError::Incompatible {
            path: dir.to_path_buf(),
            why: format!("in index format {version}, this curator reads format {FORMAT_VERSION}"),
        });
    }
    serde_json::from_value(value).map_err(|e| IndexError::Corrupt { path, why: e.to_string() })
}

pub fn check_compatible(dir: &Path, manifest: &Manifest, expected: &EmbeddingIdentity) -> Result<(), IndexError> {
    if manifest.embedding != *expected {
        return Err(IndexError::Incompatible {
            path: dir.to_path_buf(),
            why: format!(
                "with embedding model {:?} (sha256 {}), not with the configured model {:?} (sha256 {}) (`curator reembed` embeds its records again with the configured one)",
                manifest.embedding.model_id, manifest.embedding.sha256, expected.model_id, expected.sha256
            ),
        });
    }
    Ok(())
}

pub fn sha256_file(path: &Path) -> Result<String, IndexError> {
    let mut file = File::open(path).map_err(io_err(path))?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher).map_err(io_err(path))?;
    Ok(hex(&hasher.finalize()))
}

/// Everything a new generation is made of, handed to [`DataDir::commit`].
pub struct NewGeneration {
    pub dir: PathBuf,
    pub number: u64,
}

/// The data directory: `CURRENT`, `generations/<n>/`, and the writer's lock file.
#[derive(Debug, Clone)]
pub struct DataDir {
    pub root: PathBuf,
}

/// Held while a writer builds a generation; released on drop (or by the OS if the process dies).
pub struct WriterLock {
    _file: File,
}

impl DataDir {
    pub fn new(root: impl Into<PathBuf>) -> DataDir {
        DataDir { root: root.into() }
    }

    fn generations(&self) -> PathBuf {
        self.root.join(GENERATIONS_DIR)
    }

    /// The directory of the generation in use, if any.
    pub fn current(&self) -> Result<Option<PathBuf>, IndexError> {
        let path = self.root.join(CURRENT_FILE);
        match std::fs::read_to_string(&path) {
            Ok(name) => {
                let dir = self.generations().join(name.trim());
                if dir.join(MANIFEST_FILE).is_file() {
                    Ok(Some(dir))
                } else {
                    Err(IndexError::Corrupt {
                        path,
                        why: format!(
                            "names generation {:?}, which is missing; `curator ingest --rebuild PATH` builds a new index from your records",
                            name.trim()
                        ),
                    })
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(IndexError::Io { path, source: e }),
        }
    }

    /// Takes the writer lock without waiting; a second concurrent ingest gets [`IndexError::Busy`].
    pub fn lock_writer(&self) -> Result<WriterLock, IndexError> {
        std::fs::create_dir_all(&self.root).map_err(io_err(&self.root))?;
        let path = self.root.join("writer.lock");
        let file = File::options().create(true).truncate(false).write(true).open(&path).map_err(io_err(&path))?;
        match file.try_lock() {
            Ok(()) => Ok(WriterLock { _file: file }),
            Err(std::fs::TryLockError::WouldBlock) => Err(IndexError::Busy(self.root.clone())),
            Err(std::fs::TryLockError::Error(e)) => Err(IndexError::Io { path, source: e }),
        }
    }

    /// A fresh, empty directory for the next generation. Needs the writer lock.
    pub fn begin(&self, _lock: &WriterLock) -> Result<NewGeneration, IndexError> {
        let generations = self.generations();
        std::fs::create_dir_all(&generations).map_err(io_err(&generations))?;
        // A CURRENT that names a missing generation (only a rebuild gets here with one) protects every
        // complete generation: any of them may be what `curator rollback` should go back to.
        let current = self.current();
        let current_broken = current.is_err();
        let current = current.ok().flatten();
        let current_number = current.as_deref().and_then(generation_number).unwrap_or(if current_broken { u64::MAX } else { 0 });
        let mut highest = 0;
        let served = self.served_generations();
        for entry in std::fs::read_dir(&generations).map_err(io_err(&generations))?.flatten() {
            let Some(n) = entry.file_name().to_str().and_then(|s| s.parse::<u64>().ok()) else { continue };
            highest = highest.max(n);
            // A directory that is neither current nor complete is what a crashed writer left.
            // So is a complete one newer than the current: written, but never switched to.
            // (After a rollback, that is the generation rolled back from; a server may still serve it.)
            let complete = entry.path().join(MANIFEST_FILE).is_file();
            if Some(entry.path()) != current && (!complete || (n > current_number && !served.contains(&n))) {
                std::fs::remove_dir_all(entry.path()).map_err(io_err(&entry.path()))?;
            }
        }
        let number = highest + 1;
        let dir = generations.join(format!("{number:08}"));
        std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        Ok(NewGeneration { dir, number })
    }

    /// Finishes `new`: writes its manifest last, syncs, reopens it with `verify` (a generation that does
    /// not load is never switched to: the error says so and `CURRENT` stays), then points `CURRENT` at it
    /// atomically and syncs the directories that name it.
    pub fn commit(
        &self,
        _lock: &WriterLock,
        new: &NewGeneration,
        mut manifest: Manifest,
        verify: impl FnOnce(&Path) -> Result<(), IndexError>,
    ) -> Result<(), IndexError> {
        manifest.checksums.clear();
        for entry in std::fs::read_dir(&new.dir).map_err(io_err(&new.dir))?.flatten() {
            let path = entry.path();
            if path.is_file() {
                let name = entry.file_name().to_string_lossy().into_owned();
                File::open(&path).and_then(|f| f.sync_all()).map_err(io_err(&path))?;
                manifest.checksums.insert(name, sha256_file(&path)?);
            }
        }
        sync_tree(&new.dir.join(TANTIVY_DIR))?;
        fault_point("files-synced");
        let manifest_path = new.dir.join(MANIFEST_FILE);
        let json = serde_json::to_vec_pretty(&manifest).map_err(|e| IndexError::Io { path: manifest_path.clone(), source: e.into() })?;
        write_synced(&manifest_path, &json)?;
        sync_dir(&new.dir)?;
        sync_dir(&self.generations())?;
        fault_point("manifest-written");
        verify(&new.dir).map_err(|e| IndexError::Corrupt {
            path: new.dir.clone(),
            why: format!("the new generation did not load back, so the index was left as it was: {e}"),
        })?;
        fault_point("verified");
        self.switch_current(&new.dir)?;
        fault_point("current-switched");
        self.remove_old(new.number)?;
        fault_point("old-removed");
        Ok(())
    }

    /// Points `CURRENT` back at the newest complete generation older than the current one (the one an
    /// ingest keeps, `KEEP_PREVIOUS`), after `verify` has loaded it. The newer generation stays on disk
    /// until the next ingest clears it. Returns (from, to).
    pub fn rollback(
        &self,
        _lock: &WriterLock,
        verify: impl FnOnce(&Path) -> Result<(), IndexError>,
    ) -> Result<(PathBuf, PathBuf), IndexError> {
        let current = self.current()?.ok_or_else(|| IndexError::Empty(self.root.clone()))?;
        let current_number = generation_number(&current).unwrap_or(0);
        let previous = self
            .generation_dirs()
            .into_iter()
            .filter(|d| generation_number(d).is_some_and(|n| n < current_number) && d.join(MANIFEST_FILE).is_file())
            .next_back()
            .ok_or_else(|| IndexError::NothingToRollBackTo(self.root.clone()))?;
        verify(&previous)?;
        self.switch_current(&previous)?;
        Ok((current, previous))
    }

    /// Replaces `CURRENT` atomically with the name of `dir` and syncs the data directory.
    fn switch_current(&self, dir: &Path) -> Result<(), IndexError> {
        let name = generation_name(dir);
        let tmp = self.root.join(format!("{CURRENT_FILE}.tmp"));
        write_synced(&tmp, name.as_bytes())?;
        std::fs::rename(&tmp, self.root.join(CURRENT_FILE)).map_err(io_err(&tmp))?;
        sync_dir(&self.root)
    }

    /// Deletes generations older than `current`, except the latest `KEEP_PREVIOUS` and any that a running
    /// server serves.
    fn remove_old(&self, current: u64) -> Result<(), IndexError> {
        let generations = self.generations();
        let served = self.served_generations();
        let mut numbers: Vec<u64> = std::fs::read_dir(&generations)
            .map_err(io_err(&generations))?
            .flatten()
            .filter_map(|e| e.file_name().to_str().and_then(|s| s.parse().ok()))
            .filter(|&n| n < current)
            .collect();
        numbers.sort_unstable();
        let keep_from = numbers.len().saturating_sub(KEEP_PREVIOUS);
        for n in numbers[..keep_from].iter().filter(|n| !served.contains(n)) {
            let dir = generations.join(format!("{n:08}"));
            std::fs::remove_dir_all(&dir).map_err(io_err(&dir))?;
        }
        Ok(())
    }

    /// Records that this process serves the generation in `dir` (`serving/<pid>`), so that no writer, in this
    /// process or another, deletes it while it is in use. A later call replaces the earlier one.
    pub fn mark_serving(&self, dir: &Path) -> Result<(), IndexError> {
        let serving = self.root.join(SERVING_DIR);
        std::fs::create_dir_all(&serving).map_err(io_err(&serving))?;
        let name = generation_name(dir);
        let lease = serving.join(std::process::id().to_string());
        let tmp = serving.join(format!("{}.tmp", std::process::id()));
        std::fs::write(&tmp, name).map_err(io_err(&tmp))?;
        std::fs::rename(&tmp, &lease).map_err(io_err(&lease))
    }

    /// Removes this process's `serving` record (a server that stops).
    pub fn unmark_serving(&self) {
        let _ = std::fs::remove_file(self.root.join(SERVING_DIR).join(std::process::id().to_string()));
    }

    /// Generations named by the `serving` records of live processes; records of processes that are gone
    /// are removed.
    fn served_generations(&self) -> Vec<u64> {
        let serving = self.root.join(SERVING_DIR);
        let Ok(entries) = std::fs::read_dir(&serving) else { return Vec::new() };
        let mut served = Vec::new();
        for entry in entries.flatten() {
            let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else { continue };
            if !process_is_alive(pid) {
                let _ = std::fs::remove_file(entry.path());
                continue;
            }
            if let Some(n) = std::fs::read_to_string(entry.path()).ok().and_then(|s| s.trim().parse().ok()) {
                served.push(n);
            }
        }
        served
    }

    /// Folder names of the generations on disk, oldest first.
    pub fn generation_dirs(&self) -> Vec<PathBuf> {
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(self.generations())
            .map(|rd| rd.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        dirs.sort();
        dirs
    }
}

pub const fn tantivy_dir_name() -> &'static str {
    TANTIVY_DIR
}

pub const fn hnsw_basename() -> &'static str {
    HNSW_BASENAME
}

/// A generation directory's folder name ("00000042"), as `CURRENT` and the `serving` records hold it.
pub fn generation_name(dir: &Path) -> String {
    dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

/// The number a generation directory is named after.
fn generation_number(dir: &Path) -> Option<u64> {
    dir.file_name()?.to_str()?.parse().ok()
}

/// Whether a process with this id runs (Linux: /proc; elsewhere every record is taken as live).
fn process_is_alive(pid: u32) -> bool {
    let proc = Path::new("/proc");
    !proc.is_dir() || proc.join(pid.to_string()).exists()
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), IndexError> {
    let mut file = File::create(path).map_err(io_err(path))?;
    file.write_all(bytes).map_err(io_err(path))?;
    file.sync_all().map_err(io_err(path))
}

fn sync_dir(dir: &Path) -> Result<(), IndexError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(io_err(dir))
}

fn sync_tree(dir: &Path) -> Result<(), IndexError> {
    for entry in std::fs::read_dir(dir).map_err(io_err(dir))?.flatten() {
        let path = entry.path();
        if path.is_file() {
            File::open(&path).and_then(|f| f.sync_all()).map_err(io_err(&path))?;
        }
    }
    sync_dir(dir)
}

/// Bytes on disk under `path`.
pub fn disk_size(path: &Path) -> u64 {
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => std::fs::read_dir(path)
            .map(|rd| rd.flatten().map(|e| disk_size(&e.path())).sum())
            .unwrap_or(0),
        Ok(m) => m.len(),
        Err(_) => 0,
    }
}
