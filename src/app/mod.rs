//! The assembled library: settings, models and the data directory, opened once and shared by the
//! command line, the benchmarks, the evaluation harness and the server. [`ask`] strings retrieval and
//! generation together.

pub mod ask;

pub use ask::{Answer, AskError, AskEvent, AskRequest, AskTimings, ClosestRecord, MAX_SOURCES};

use crate::config::Settings;
use crate::embed::Embedder;
use crate::generate::{GenerateError, Llm, PromptError, Prompts};
use crate::index::{DataDir, Filters, Generation, IndexError};
use crate::ingest::{Chunker, IngestError, IngestOptions, IngestReport, Ingestor};
use crate::models::{ModelCache, ModelError};
use crate::records::MuseumRecord;
use crate::retrieve::fusion::Fusion;
use crate::retrieve::rerank::Reranker;
use crate::retrieve::{search, Mode, RerankRequest, SearchError, SearchRequest, SearchResponse};

pub struct Curator {
    pub settings: Settings,
    pub data: DataDir,
    pub models: ModelCache,
    pub embedder: Embedder,
    pub chunker: Chunker,
    /// The cross-encoder, when it is enabled and its model loads.
    pub reranker: Option<Reranker>,
    /// Why reranking is on or off, in one sentence, for start-up messages and /healthz.
    pub reranker_status: String,
    pub prompts: Prompts,
    /// The language model, once [`Curator::load_llm`] has loaded it.
    pub llm: Option<Llm>,
    pub llm_status: String,
}

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error(transparent)]
    Prompt(#[from] PromptError),
}

impl Curator {
    pub fn open(settings: Settings) -> Result<Curator, OpenError> {
        let models = ModelCache::new(settings.model_dir());
        let embedder = Embedder::load(&models, &settings.embedding)?;
        let chunker = Chunker::new(embedder.tokenizer().clone(), &settings.chunking);
        let (reranker, reranker_status) = if !settings.rerank.enabled {
            (None, "reranking is off: rerank.enabled = false".to_string())
        } else {
            match Reranker::load(&models, &settings.rerank) {
                Ok(r) => {
                    let status = format!("reranking on: {} (top {})", r.identity().path.display(), settings.rerank.depth);
                    (Some(r), status)
                }
                Err(e) => (None, format!("reranking is off: {e}; train it with scripts/train-reranker.sh")),
            }
        };
        let prompt_dir = settings.paths.prompt_dir.trim();
        let prompts = Prompts::load((!prompt_dir.is_empty()).then(|| std::path::Path::new(prompt_dir)))?;
        Ok(Curator {
            data: DataDir::new(settings.data_dir()),
            models,
            embedder,
            chunker,
            reranker,
            reranker_status,
            prompts,
            llm: None,
            llm_status: "answering is off: the language model is not loaded".into(),
            settings,
        })
    }

    /// Loads the language model named by generation.model and starts its worker.
    pub fn load_llm(&mut self) -> Result<(), GenerateError> {
        let path = self.settings.llm_path();
        match Llm::load(&path, &self.settings.generation) {
            Ok(llm) => {
                let generation = &self.settings.generation;
                self.llm_status = format!(
                    "answering with {} ({} threads, context {} tokens)",
                    path.display(),
                    crate::threads_or_all_cores(generation.threads),
                    generation.context_tokens
                );
                self.llm = Some(llm);
                Ok(())
            }
            Err(e) => {
                self.llm_status = format!("answering is off: {e}");
                Err(e)
            }
        }
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

    /// A search request with the configured candidate depth, graph breadth, fusion and reranking.
    pub fn request(&self, query: &str, mode: Mode, k: Option<usize>, filters: Filters) -> SearchRequest {
        let rerank = &self.settings.rerank;
        SearchRequest {
            query: query.to_string(),
            mode,
            k: k.unwrap_or(self.settings.retrieval.k),
            candidates: self.settings.retrieval.candidates,
            ef_search: self.settings.hnsw.ef_search,
            filters,
            fusion: Fusion::from_settings(&self.settings.retrieval),
            // bm25 and dense mean one retriever's list as it is; the cross-encoder reorders hybrid results.
            rerank: (mode == Mode::Hybrid && self.reranker.is_some() && rerank.enabled)
                .then_some(RerankRequest { depth: rerank.depth, first_stage_share: rerank.first_stage_share }),
        }
    }

    pub fn search(&self, generation: &Generation, request: &SearchRequest) -> Result<SearchResponse, SearchError> {
        search(generation, &self.embedder, self.reranker.as_ref(), request)
    }
}
