//! The record store: every live record and every chunk slot of a generation, as JSON lines.
//!
//! Chunk ids are slots that are never reused within a lineage of generations: the text index and the
//! vector index refer to chunks by id, and a chunk that was replaced or deleted leaves a hole (a tombstone)
//! that both indexes skip, until the vector index is compacted.

use std::collections::HashMap;
use std::io::{BufRead, BufWriter, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::IndexError;
use crate::records::MuseumRecord;

pub type ChunkId = u32;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredRecord {
    pub record: MuseumRecord,
    pub hash: String,
    pub chunk_ids: Vec<ChunkId>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Chunk {
    pub id: ChunkId,
    pub record_id: String,
    /// Position of the chunk within its record, from 0.
    pub ordinal: u32,
    pub text: String,
}

#[derive(Debug, Default, Clone)]
pub struct RecordStore {
    records: HashMap<String, StoredRecord>,
    /// Indexed by chunk id; `None` is a tombstone.
    chunks: Vec<Option<Chunk>>,
}

impl RecordStore {
    pub fn get(&self, record_id: &str) -> Option<&StoredRecord> {
        self.records.get(record_id)
    }

    pub fn chunk(&self, id: ChunkId) -> Option<&Chunk> {
        self.chunks.get(id as usize).and_then(Option::as_ref)
    }

    /// The record a live chunk belongs to.
    pub fn record_of(&self, id: ChunkId) -> Option<&StoredRecord> {
        self.chunk(id).and_then(|c| self.records.get(&c.record_id))
    }

    pub fn records(&self) -> impl Iterator<Item = &StoredRecord> {
        self.records.values()
    }

    pub fn live_chunks(&self) -> impl Iterator<Item = &Chunk> {
        self.chunks.iter().flatten()
    }

    pub fn record_count(&self) -> usize {
        self.records.len()
    }

    pub fn live_chunk_count(&self) -> usize {
        self.chunks.iter().filter(|c| c.is_some()).count()
    }

    /// Chunk ids handed out so far, live or not: the next new chunk gets this id.
    pub fn chunk_slots(&self) -> usize {
        self.chunks.len()
    }

    /// Removes a record and tombstones its chunks; returns the chunk ids it had.
    pub fn remove(&mut self, record_id: &str) -> Vec<ChunkId> {
        let Some(stored) = self.records.remove(record_id) else { return Vec::new() };
        for &id in &stored.chunk_ids {
            if let Some(slot) = self.chunks.get_mut(id as usize) {
                *slot = None;
            }
        }
        stored.chunk_ids
    }

    /// Adds (or replaces) a record with the given chunk texts; returns the new chunks with their ids.
    pub fn insert(&mut self, record: MuseumRecord, hash: String, texts: Vec<String>) -> Vec<Chunk> {
        self.remove(&record.id);
        let mut chunks = Vec::with_capacity(texts.len());
        for (ordinal, text) in texts.into_iter().enumerate() {
            let id = self.chunks.len() as ChunkId;
            let chunk = Chunk { id, record_id: record.id.clone(), ordinal: ordinal as u32, text };
            self.chunks.push(Some(chunk.clone()));
            chunks.push(chunk);
        }
        let chunk_ids = chunks.iter().map(|c| c.id).collect();
        self.records.insert(record.id.clone(), StoredRecord { record, hash, chunk_ids });
        chunks
    }

    pub fn save(&self, dir: &Path) -> Result<(), IndexError> {
        let mut ids: Vec<&String> = self.records.keys().collect();
        ids.sort();
        write_lines(&dir.join(RECORDS_FILE), ids.into_iter().map(|id| &self.records[id]))?;
        write_lines(&dir.join(CHUNKS_FILE), self.live_chunks())?;
        Ok(())
    }

    pub fn load(dir: &Path, chunk_slots: usize) -> Result<RecordStore, IndexError> {
        let mut store = RecordStore { records: HashMap::new(), chunks: vec![None; chunk_slots] };
        for_each_line(&dir.join(RECORDS_FILE), |stored: StoredRecord| {
            store.records.insert(stored.record.id.clone(), stored);
            Ok(())
        })?;
        let chunks_path = dir.join(CHUNKS_FILE);
        for_each_line(&chunks_path, |chunk: Chunk| {
            let slot = store.chunks.get_mut(chunk.id as usize).ok_or_else(|| IndexError::Corrupt {
                path: chunks_path.clone(),
                why: format!("chunk id {} beyond the {chunk_slots} slots of the manifest", chunk.id),
            })?;
            *slot = Some(chunk);
            Ok(())
        })?;
        Ok(store)
    }
}

pub const RECORDS_FILE: &str = "records.jsonl";
pub const CHUNKS_FILE: &str = "chunks.jsonl";

fn write_lines<'a, T: Serialize + 'a>(path: &Path, items: impl Iterator<Item = &'a T>) -> Result<(), IndexError> {
    let io = |source| IndexError::Io { path: path.to_path_buf(), source };
    let file = std::fs::File::create(path).map_err(io)?;
    let mut out = BufWriter::new(file);
    for item in items {
        serde_json::to_writer(&mut out, item).map_err(|e| IndexError::Io { path: path.to_path_buf(), source: e.into() })?;
        out.write_all(b"\n").map_err(io)?;
    }
    let file = out.into_inner().map_err(|e| io(e.into_error()))?;
    file.sync_all().map_err(io)
}

fn for_each_line<T: serde::de::DeserializeOwned>(
    path: &Path,
    mut each: impl FnMut(T) -> Result<(), IndexError>,
) -> Result<(), IndexError> {
    let io = |source| IndexError::Io { path: path.to_path_buf(), source };
    let reader = std::io::BufReader::new(std::fs::File::open(path).map_err(io)?);
    for (n, line) in reader.lines().enumerate() {
        let line = line.map_err(io)?;
        let item = serde_json::from_str(&line)
            .map_err(|e| IndexError::Corrupt { path: path.to_path_buf(), why: format!("line {}: {e}", n + 1) })?;
        each(item)?;
    }
    Ok(())
}
