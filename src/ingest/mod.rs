//! Ingest: records in, a new index generation out.
//!
//! Data flow: records -> diff against the current generation (by content hash) -> chunks of the added and
//! changed records -> vectors (reused for chunk texts the previous generation already embedded, computed
//! once for each other distinct text of the generation) -> text index and vector index updated on top of
//! copies of the previous ones -> a new generation, switched to atomically. Unchanged input writes nothing.

pub mod chunk;

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use rayon::prelude::*;
use serde::Serialize;

use crate::config::HnswSettings;
use crate::embed::Embedder;
use crate::index::store::{Chunk, ChunkId, RecordStore};
use crate::index::text::{link_index_files, TextIndex};
use crate::index::vector::VectorIndex;
use crate::index::{fault_point, hnsw_basename, tantivy_dir_name, read_manifest, DataDir, Generation, IndexError, Manifest, FORMAT_VERSION};
use crate::models::ModelError;
use crate::records::MuseumRecord;
pub use chunk::Chunker;

/// Records embedded per step; progress is reported after each. Within a step chunks are sorted by
/// length, so a larger step pads less.
const EMBED_GROUP: usize = 1024;
/// When more than this share of the graph would be tombstones, the graph is rebuilt from live vectors.
const MAX_TOMBSTONE_SHARE: f64 = 0.25;

/// One record per id, the first given, as the readers keep the first row of an id and report the others:
/// two copies of one id must not both reach the indexes. `duplicates` gets each repeated id once.
fn keep_first_of_each_id(records: Vec<MuseumRecord>, duplicates: &mut Vec<String>) -> Vec<MuseumRecord> {
    let mut seen = std::collections::HashSet::new();
    let mut repeated = std::collections::HashSet::new();
    let mut kept = Vec::with_capacity(records.len());
    for record in records {
        if seen.insert(record.id.clone()) {
            kept.push(record);
        } else if repeated.insert(record.id.clone()) {
            duplicates.push(record.id);
        }
    }
    kept
}

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("a rebuild from no records would leave an empty index; nothing was changed")]
    EmptyRebuild,
    #[error("a rebuild is written as one generation: committed in steps, a server would serve a cut-down index midway and the index before it could not be restored; rebuild without --commit-every")]
    SteppedRebuild,
    #[error("the index changed (an ingest or a delete) while its records were read; nothing was changed, run it again")]
    CurrentMoved,
    #[error(transparent)]
    Index(#[from] IndexError),
    #[error(transparent)]
    Model(#[from] ModelError),
}

/// What one ingest did. `generation` is `None` when nothing changed and nothing was written.
#[derive(Debug, Default, Clone, Serialize)]
pub struct IngestReport {
    pub added: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub deleted: usize,
    /// Ids asked to be deleted that were not in the index.
    pub not_found: Vec<String>,
    /// Ids given more than once in this ingest; the first record with each id was kept.
    pub duplicate_ids: Vec<String>,
    /// Distinct chunk texts run through the embedding model (per generation written; a stepped ingest
    /// sums its steps).
    pub chunks_embedded: usize,
    /// Chunks whose text had a vector already: from the previous generation, or embedded earlier in this
    /// ingest for another chunk of the same text.
    pub chunks_reused: usize,
    pub generation: Option<u64>,
    pub graph_rebuilt: bool,
    pub timings: StageTimings,
}

/// Where an ingest spent its time; serialised in milliseconds (`embed_ms`), as every other timing of the API.
#[derive(Debug, Default, Clone, Serialize)]
pub struct StageTimings {
    #[serde(rename = "load_previous_ms", serialize_with = "milliseconds")]
    pub load_previous: Duration,
    #[serde(rename = "chunk_ms", serialize_with = "milliseconds")]
    pub chunk: Duration,
    #[serde(rename = "embed_ms", serialize_with = "milliseconds")]
    pub embed: Duration,
    #[serde(rename = "text_index_ms", serialize_with = "milliseconds")]
    pub text_index: Duration,
    #[serde(rename = "vector_index_ms", serialize_with = "milliseconds")]
    pub vector_index: Duration,
    #[serde(rename = "write_ms", serialize_with = "milliseconds")]
    pub write: Duration,
}

fn milliseconds<S: serde::Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_f64(duration.as_secs_f64() * 1000.0)
}

#[derive(Debug, Default, Clone)]
pub struct IngestOptions {
    /// Ignore the current generation and build from nothing (after a model or format change).
    pub rebuild: bool,
    /// Commit a generation after each this many records (0: one generation for the whole ingest), so
    /// that a server searches a large first ingest while the rest is still being embedded. The first
    /// steps are smaller: an eighth of this, doubling.
    pub commit_every: usize,
    /// The generation this ingest was computed from: refused, changing nothing, when `CURRENT` names
    /// another by the time the writer lock is taken (`curator reembed` reads the records first).
    pub replaces: Option<std::path::PathBuf>,
}

pub struct Ingestor<'a> {
    pub data: &'a DataDir,
    pub embedder: &'a Embedder,
    pub chunker: &'a Chunker,
    pub hnsw: &'a HnswSettings,
}

enum Kind {
    Added,
    Updated,
}

impl Ingestor<'_> {
    /// Adds or replaces `upserts` and removes `deletes`, writing a new generation if anything changed.
    /// `progress(done, total)` counts records embedded.
    pub fn apply(
        &self,
        upserts: Vec<MuseumRecord>,
        deletes: &[String],
        options: &IngestOptions,
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> Result<IngestReport, IngestError> {
        if options.rebuild && upserts.is_empty() {
            return Err(IngestError::EmptyRebuild);
        }
        if options.rebuild && options.commit_every > 0 {
            return Err(IngestError::SteppedRebuild);
        }
        if options.commit_every > 0 && upserts.len() > options.commit_every {
            return self.apply_in_steps(upserts, deletes, options, progress);
        }
        let lock = self.data.lock_writer()?;
        if options.replaces.is_some() && self.data.current()? != options.replaces {
            return Err(IngestError::CurrentMoved);
        }
        let mut report = IngestReport::default();
        let started = Instant::now();
        // A rebuild reads nothing of the current generation, so it also recovers an index whose CURRENT
        // names a missing or broken generation.
        let previous = match options.rebuild {
            false => self.data.current()?.map(|dir| Generation::load(&dir, self.embedder.identity())).transpose()?,
            true => None,
        };
        report.timings.load_previous = started.elapsed();
        if let Some(prev) = &previous {
            // Chunks made under other settings would mix two chunkings in one index.
            let (was, now) = (&prev.manifest.chunking, self.chunker.settings());
            if was != now {
                return Err(IndexError::Incompatible {
                    path: prev.dir.clone(),
                    why: format!(
                        "with chunks of {} tokens (overlap {}, embed_bookkeeping {}), but the settings now say {} (overlap {}, embed_bookkeeping {}); `curator reembed` builds it again from its own records",
                        was.max_tokens, was.overlap_tokens, was.embed_bookkeeping, now.max_tokens, now.overlap_tokens, now.embed_bookkeeping
                    ),
                }
                .into());
            }
        }
        let empty = RecordStore::default();
        let old_store = previous.as_ref().map_or(&empty, |g| &g.store);

        // Diff by content hash.
        let upserts = keep_first_of_each_id(upserts, &mut report.duplicate_ids);
        let mut changed: Vec<(MuseumRecord, String, Kind)> = Vec::new();
        for record in upserts {
            let hash = record.content_hash();
            match old_store.get(&record.id) {
                Some(old) if old.hash == hash => report.unchanged += 1,
                Some(_) => changed.push((record, hash, Kind::Updated)),
                None => changed.push((record, hash, Kind::Added)),
            }
        }
        let mut removed: Vec<&String> = Vec::new();
        for id in deletes {
            if old_store.get(id).is_some() {
                removed.push(id);
            } else {
                report.not_found.push(id.clone());
            }
        }
        report.added = changed.iter().filter(|c| matches!(c.2, Kind::Added)).count();
        report.updated = changed.len() - report.added;
        report.deleted = removed.len();
        if changed.is_empty() && removed.is_empty() && !options.rebuild {
            return Ok(report);
        }
        let new = self.data.begin(&lock)?;
        fault_point("generation-begun");

        let t = Instant::now();
        let texts: Vec<Vec<String>> = changed.par_iter().map(|(r, _, _)| self.chunker.chunk(r)).collect();
        // What the embedding model reads of each chunk (`chunking.embed_bookkeeping`): the chunk itself,
        // borrowed, unless a fact is left out.
        let embedding_texts: Vec<Vec<Cow<str>>> = changed
            .par_iter()
            .zip(&texts)
            .map(|((r, _, _), chunks)| chunks.iter().map(|c| self.chunker.embedding_text(r, c)).collect())
            .collect();
        report.timings.chunk = t.elapsed();

        // Vectors of chunk texts the previous generation already has (a changed record often keeps most).
        let t = Instant::now();
        let mut known: HashMap<&str, &[f32]> = HashMap::new();
        if let Some(prev) = &previous {
            for (record, _, kind) in &changed {
                if matches!(kind, Kind::Updated) {
                    for &id in &old_store.get(&record.id).map(|s| s.chunk_ids.clone()).unwrap_or_default() {
                        if let (Some(c), Some(v)) = (old_store.chunk(id), prev.vectors.vector(id)) {
                            known.insert(c.text.as_str(), v);
                        }
                    }
                }
            }
        }
        let mut new_vectors: Vec<Vec<Vec<f32>>> = Vec::with_capacity(texts.len());
        let total = texts.len();
        // Texts embedded for this generation: a text is embedded once however many chunks hold it (Turner's
        // blank sketchbook pages, many records, have chunks of one text). A stepped ingest keeps
        // this per step.
        let mut fresh: HashMap<&str, Vec<f32>> = HashMap::new();
        for (group, embedding_group) in texts.chunks(EMBED_GROUP).zip(embedding_texts.chunks(EMBED_GROUP)) {
            let mut missing: Vec<&str> = Vec::new();
            let mut asked: HashSet<&str> = HashSet::new();
            for (text, read) in group.iter().flatten().zip(embedding_group.iter().flatten()) {
                let read = read.as_ref();
                if !known.contains_key(text.as_str()) && !fresh.contains_key(read) && asked.insert(read) {
                    missing.push(read);
                }
            }
            let computed = self.embedder.embed_bulk(&missing)?;
            if computed.len() != missing.len() {
                return Err(ModelError::Inference(format!("{} vectors for {} texts", computed.len(), missing.len())).into());
            }
            report.chunks_embedded += missing.len();
            fresh.extend(missing.into_iter().zip(computed));
            for (record_texts, record_reads) in group.iter().zip(embedding_group) {
                let mut vectors = Vec::with_capacity(record_texts.len());
                for (text, read) in record_texts.iter().zip(record_reads) {
                    if let Some(v) = known.get(text.as_str()) {
                        vectors.push(v.to_vec());
                    } else if let Some(v) = fresh.get(read.as_ref()) {
                        vectors.push(v.clone());
                    }
                }
                new_vectors.push(vectors);
            }
            progress(new_vectors.len(), total);
        }
        report.chunks_reused = new_vectors.iter().map(Vec::len).sum::<usize>() - report.chunks_embedded;
        drop(fresh);
        drop(known);
        drop(embedding_texts);
        report.timings.embed = t.elapsed();
        fault_point("embedded");

        // The new record store.
        let (mut store, prev_text_dir, prev_vectors) = match previous {
            Some(g) => {
                let dir = g.tantivy_dir();
                (g.store, Some(dir), Some(g.vectors))
            }
            None => (RecordStore::default(), None, None),
        };
        for id in &removed {
            store.remove(id);
        }
        let mut inserted: Vec<(Chunk, Vec<f32>)> = Vec::new();
        let mut touched: Vec<String> = removed.iter().map(|s| s.to_string()).collect();
        for ((record, hash, kind), (texts, vectors)) in changed.into_iter().zip(texts.into_iter().zip(new_vectors)) {
            if matches!(kind, Kind::Updated) {
                touched.push(record.id.clone());
            }
            let chunks = store.insert(record, hash, texts);
            inserted.extend(chunks.into_iter().zip(vectors));
        }

        // Text index: the previous one's files, minus the touched records, plus the new chunks.
        let t = Instant::now();
        let text_dir = new.dir.join(tantivy_dir_name());
        if let Some(prev_dir) = &prev_text_dir {
            link_index_files(prev_dir, &text_dir)?;
        }
        let mut text = TextIndex::open_or_create(&text_dir)?;
        let writer = text.writer()?;
        for id in &touched {
            text.delete_record(&writer, id);
        }
        for (chunk, _) in &inserted {
            if let Some(stored) = store.get(&chunk.record_id) {
                text.add_chunk(&writer, &stored.record, chunk)?;
            }
        }
        text.commit(writer)?;
        report.timings.text_index = t.elapsed();
        fault_point("text-index-written");

        // Vector index: the previous graph plus the new points, or a rebuild when tombstones pile up.
        let t = Instant::now();
        let live = store.live_chunk_count();
        let points: Vec<(ChunkId, Vec<f32>)> = inserted.into_iter().map(|(c, v)| (c.id, v)).collect();
        let mut vectors = match prev_vectors {
            Some(prev) => {
                let points_after = prev.len() + points.len();
                let tombstones = points_after.saturating_sub(live);
                if tombstones as f64 > MAX_TOMBSTONE_SHARE * points_after as f64 {
                    report.graph_rebuilt = true;
                    let keep: Vec<ChunkId> = store.live_chunks().map(|c| c.id).filter(|id| prev.vector(*id).is_some()).collect();
                    prev.rebuilt_with(&keep)
                } else {
                    prev
                }
            }
            None => VectorIndex::new(self.hnsw, points.len()),
        };
        vectors.insert(points);
        report.timings.vector_index = t.elapsed();

        let t = Instant::now();
        let hnsw_basename = if vectors.is_empty() { None } else { Some(vectors.dump(&new.dir, hnsw_basename())?) };
        fault_point("hnsw-dumped");
        store.save(&new.dir)?;
        fault_point("store-written");
        let manifest = manifest_for(&store, &vectors, hnsw_basename, new.number, self);
        let identity = self.embedder.identity();
        self.data.commit(&lock, &new, manifest, |dir| Generation::load(dir, identity).map(|_| ()))?;
        report.timings.write = t.elapsed();
        report.generation = Some(new.number);
        Ok(report)
    }
}

impl Ingestor<'_> {
    /// [`Ingestor::apply`] one step of changed records at a time, each step its own generation: an
    /// eighth of `options.commit_every` first, doubling up to it; deletes go with the first step. Not for
    /// a rebuild. The steps' reports are summed; `generation` is the last one written.
    fn apply_in_steps(
        &self,
        upserts: Vec<MuseumRecord>,
        deletes: &[String],
        options: &IngestOptions,
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> Result<IngestReport, IngestError> {
        let mut report = IngestReport::default();
        // Each step keeps the first record of an id within itself: across steps a later copy would
        // replace the first, so copies are dropped before the records are divided.
        let records = keep_first_of_each_id(upserts, &mut report.duplicate_ids);
        let total = records.len();
        // Unchanged records are counted here, once, against the current record store alone (each step's
        // `apply` loads and checks the whole generation), so that a re-run does not load it per step.
        let records: Vec<MuseumRecord> = match self.data.current()? {
            Some(dir) => {
                let store = RecordStore::load(&dir, read_manifest(&dir)?.chunk_slots)?;
                let unchanged = |r: &MuseumRecord| store.get(&r.id).is_some_and(|old| old.hash == r.content_hash());
                let (same, changed): (Vec<_>, Vec<_>) = records.into_iter().partition(unchanged);
                report.unchanged = same.len();
                changed
            }
            None => records,
        };
        let mut done = report.unchanged;
        progress(done, total);
        let mut steps = records.into_iter().peekable();
        let mut first = true;
        // The first steps are smaller (an eighth of a step, doubling), so that a server searches
        // something soon; a small step costs as much writing as a full one, so there are few of them.
        let mut step_size = (options.commit_every / 8).max(1);
        // Deletes are applied even when no record changed.
        while (first && !deletes.is_empty()) || steps.peek().is_some() {
            let step: Vec<MuseumRecord> = steps.by_ref().take(step_size).collect();
            step_size = (step_size * 2).min(options.commit_every);
            let size = step.len();
            let step_options = IngestOptions { rebuild: false, commit_every: 0, replaces: None };
            // Within a step, progress counts the records it embeds; it is scaled to the step's records.
            let step_progress = |embedded: usize, changed: usize| progress(done + embedded * size / changed.max(1), total);
            let step_report = self.apply(step, if first { deletes } else { &[] }, &step_options, &step_progress)?;
            report.add(step_report);
            done += size;
            progress(done, total);
            first = false;
        }
        Ok(report)
    }
}

impl IngestReport {
    /// Adds a later step's report to this one.
    fn add(&mut self, step: IngestReport) {
        self.added += step.added;
        self.updated += step.updated;
        self.unchanged += step.unchanged;
        self.deleted += step.deleted;
        self.not_found.extend(step.not_found);
        self.chunks_embedded += step.chunks_embedded;
        self.chunks_reused += step.chunks_reused;
        self.generation = step.generation.or(self.generation);
        self.graph_rebuilt |= step.graph_rebuilt;
        let (t, s) = (&mut self.timings, step.timings);
        t.load_previous += s.load_previous;
        t.chunk += s.chunk;
        t.embed += s.embed;
        t.text_index += s.text_index;
        t.vector_index += s.vector_index;
        t.write += s.write;
    }
}

fn manifest_for(
    store: &RecordStore,
    vectors: &VectorIndex,
    hnsw_basename: Option<String>,
    generation: u64,
    ingestor: &Ingestor,
) -> Manifest {
    let mut records_per_source = std::collections::BTreeMap::new();
    let mut chunks_per_source = std::collections::BTreeMap::new();
    for stored in store.records() {
        *records_per_source.entry(stored.record.source.clone()).or_insert(0) += 1;
        *chunks_per_source.entry(stored.record.source.clone()).or_insert(0) += stored.chunk_ids.len();
    }
    Manifest {
        format_version: FORMAT_VERSION,
        generation,
        created_unix: std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs()),
        embedding: ingestor.embedder.identity().clone(),
        chunking: ingestor.chunker.settings().clone(),
        hnsw: ingestor.hnsw.clone(),
        hnsw_basename,
        records: store.record_count(),
        live_chunks: store.live_chunk_count(),
        chunk_slots: store.chunk_slots(),
        graph_points: vectors.len(),
        records_per_source,
        chunks_per_source,
        checksums: Default::default(),
    }
}
