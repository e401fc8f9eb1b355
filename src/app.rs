//! The assembled library: settings, models and the data directory, opened once and shared by the
//! command line, the benchmarks and (later) the server.

use crate::config::Settings;
use crate::embed::Embedder;
use crate::index::{DataDir, Filters, Generation, IndexError};
use crate::ingest::{Chunker, IngestError, IngestOptions, IngestReport, Ingestor};
use crate::models::{ModelCache, ModelError};
use crate::records::MuseumRecord;
use crate::retrieve::{Mode, SearchRequest};

pub struct Curator {
    pub settings: Settings,
    pub data: DataDir,
    pub models: ModelCache,
    pub embedder: Embedder,
    pub chunker: Chunker,
}

impl Curator {
    pub fn open(settings: Settings) -> Result<Curator, ModelError> {
        let models = ModelCache::new(settings.model_dir());
        let embedder = Embedder::load(&models, &settings.embedding)?;
        let chunker = Chunker::new(embedder.tokenizer().clone(), &settings.chunking);
        Ok(Curator { data: DataDir::new(settings.data_dir()), models, embedder, chunker, settings })
    }

    pub fn ingest(
        &self,
        upserts: Vec<MuseumRecord>,
        deletes: &[String],
        options: &IngestOptions,
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> Result<IngestReport, IngestError> {
        let ingestor = Ingestor { data: &self.data, embedder: &self.embedder, chunker: &self.chunker, hnsw: &self.settings.hnsw };
        ingestor.apply(upserts, deletes, options, progress)
    }

    pub fn load_generation(&self) -> Result<Generation, IndexError> {
        self.data.load_current(self.embedder.identity())
    }

    /// A search request with the configured candidate depth and graph breadth.
    pub fn request(&self, query: &str, mode: Mode, k: Option<usize>, filters: Filters) -> SearchRequest {
        SearchRequest {
            query: query.to_string(),
            mode,
            k: k.unwrap_or(self.settings.retrieval.k),
            candidates: self.settings.retrieval.candidates,
            ef_search: self.settings.hnsw.ef_search,
            filters,
        }
    }
}
