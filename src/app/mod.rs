//! The assembled library: settings, models and the data directory, opened once and shared by the
//! command line, the benchmarks, the evaluation harness and the server. [`ask`] strings retrieval and
//! generation together.

pub mod ask;

pub use ask::{Answer, AskError, AskEvent, AskRequest, AskTimings, ClosestRecord, MAX_SOURCES};

use crate::config::Settings;
use crate::embed::Embedder;
use crate::evidence::{Budget, Scorer};
use crate::gate::{gate_path, scorer_key, Gate};
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
    /// The answer gate fitted for this scorer, when `answer.gate` is on and one has been fitted.
    pub gate: Option<Gate>,
    /// Why the gate is on or off, in one sentence.
    pub gate_status: String,
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
                // The trained reranker is made here, not fetched: say how, not "fetch-models.sh" (issue 13.7).
                Err(ModelError::Missing { path, .. }) => (
                    None,
                    format!(
                        "reranking is off: no reranker model at {}; train one with scripts/train-reranker.sh (about an hour on 2 cores; scripts/run.sh does it)",
                        path.display()
                    ),
                ),
                Err(e) => (None, format!("reranking is off: {e}")),
            }
        };
        let prompt_dir = settings.paths.prompt_dir.trim();
        let prompts = Prompts::load((!prompt_dir.is_empty()).then(|| std::path::Path::new(prompt_dir)))?;
        let key = scorer_key(reranker.as_ref().map(|r| r.identity().sha256.as_str()), &embedder.identity().sha256);
        let path = gate_path(&models.dir, &key);
        let (gate, gate_status) = if !settings.answer.gate {
            (None, "answer gate off: answer.gate = false; the relevance threshold decides".to_string())
        } else if !path.is_file() {
            (None, format!("answer gate off: none fitted for {key}; `curator gate train` fits one (scripts/run.sh does); the relevance threshold decides"))
        } else {
            match Gate::load(&path) {
                Ok(gate) => {
                    let status = format!("answer gate on: {} (threshold {:.3})", path.display(), gate.threshold);
                    (Some(gate), status)
                }
                Err(e) => (None, format!("answer gate off: {e}; the relevance threshold decides")),
            }
        };
        Ok(Curator {
            data: DataDir::new(settings.data_dir()),
            models,
            embedder,
            chunker,
            reranker,
            reranker_status,
            prompts,
            gate,
            gate_status,
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
            years_from_query: self.settings.retrieval.years_from_query,
            diversify: self.settings.retrieval.diversify,
            maker_boost: self.settings.retrieval.maker_boost,
        }
    }

    /// What an answer and the answer gate retrieve: hybrid, as `request` would, undiversified and without
    /// the maker boost (the gate was fitted on lists made without them).
    pub fn answer_request(&self, query: &str, k: Option<usize>, filters: Filters) -> SearchRequest {
        SearchRequest { diversify: false, maker_boost: 0.0, ..self.request(query, Mode::Hybrid, k, filters) }
    }

    /// What scores evidence units: the cross-encoder when it is loaded, else embedding cosine.
    pub fn evidence_scorer(&self) -> Scorer<'_> {
        match &self.reranker {
            Some(reranker) => Scorer::CrossEncoder(reranker),
            None => Scorer::Embedding(&self.embedder),
        }
    }

    /// The evidence `records` records may give the model, as `answer` settings say.
    pub fn evidence_budget(&self, records: usize) -> Budget {
        let answer = &self.settings.answer;
        Budget { records, tokens: answer.evidence_budget_tokens, margin: (answer.evidence_margin > 0.0).then_some(answer.evidence_margin) }
    }

    /// The gate's name for the scorer in use (see `gate::scorer_key`).
    pub fn gate_key(&self) -> String {
        scorer_key(self.reranker.as_ref().map(|r| r.identity().sha256.as_str()), &self.embedder.identity().sha256)
    }

    pub fn search(&self, generation: &Generation, request: &SearchRequest) -> Result<SearchResponse, SearchError> {
        search(generation, &self.embedder, self.reranker.as_ref(), request)
    }
}
