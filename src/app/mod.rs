//! The assembled library: settings, models and the data directory, opened once and shared by the
//! command line, the benchmarks, the evaluation harness and the server. [`ask`] strings retrieval and
//! generation together.

pub mod ask;

pub use ask::{Answer, AskError, AskEvent, AskRequest, AskTimings, ClosestRecord, MAX_SOURCES};

use std::path::Path;
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use crate::config::Settings;
use crate::embed::{Embedder, EmbeddingIdentity};
use crate::evidence::{Budget, Scorer};
use crate::gate::{gate_path, scorer_key, Gate};
use crate::generate::{GenerateError, Llm, PromptError, Prompts};
use crate::index::{read_manifest, DataDir, Filters, Generation, IndexError, Manifest};
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
    /// The configured embedding model (`embedding.model_dir`): what an ingest embeds with.
    embedder: Arc<Embedder>,
    /// Every embedding model loaded so far, the configured one first. A generation is searched with the
    /// model that built it ([`Curator::embedder_for`]), so that a server goes on answering from an index
    /// built with the fetched model until the same records, embedded again with the fine-tuned one, are
    /// switched in (issue 12.1 and 12.8; `curator reembed`).
    embedders: RwLock<Vec<Arc<Embedder>>>,
    /// The model of the generation loaded last: the answer gate served is the one fitted for it.
    served_embedder: RwLock<Arc<Embedder>>,
    pub chunker: Chunker,
    pub prompts: Prompts,
    /// The cross-encoder and the gate fitted on its scores; replaced whole by [`Curator::reload_scoring`].
    scoring: RwLock<Arc<Scoring>>,
    /// The language model, once [`Curator::load_llm`] has loaded it.
    pub llm: Option<Llm>,
    pub llm_status: String,
}

/// The models that judge relevance beside the embedder: the cross-encoder, and the answer gate fitted on
/// its scores. A request uses one `Scoring` from start to end, and a new one replaces it whole (a gate is
/// only valid for the scorer it was fitted on), so that a reranker trained or a gate fitted while the
/// server runs is switched in without a restart (issue 12.8).
#[derive(Clone)]
pub struct Scoring {
    /// The cross-encoder, when it is enabled and its model loads.
    pub reranker: Option<Arc<Reranker>>,
    /// Why reranking is on or off, in one sentence, for start-up messages and /healthz.
    pub reranker_status: String,
    /// The answer gate fitted for this scorer, when `answer.gate` is on and one has been fitted.
    pub gate: Option<Arc<Gate>>,
    /// Why the gate is on or off, in one sentence.
    pub gate_status: String,
    /// The scorer `gate` was looked for ([`Scoring::gate_key`]): the reranker's and the embedding model's.
    gate_key: String,
    /// The files these were loaded from, as they were then: a change on disk means a reload.
    on_disk: OnDisk,
}

/// Size and modification time of the reranker's files and of the gate's file, when present.
#[derive(Debug, Clone, PartialEq, Default)]
struct OnDisk {
    reranker: Option<Vec<FileState>>,
    gate: Option<FileState>,
}

type FileState = (u64, Option<SystemTime>);

fn file_state(path: &Path) -> Option<FileState> {
    std::fs::metadata(path).ok().filter(|m| m.is_file()).map(|m| (m.len(), m.modified().ok()))
}

/// The state of every file the reranker loads, or None while its model file is missing (no reranker
/// trained, or one being moved into place). A tokenizer file written after the model is a change too.
fn reranker_files_state(models: &ModelCache, settings: &Settings) -> Option<Vec<FileState>> {
    if !settings.rerank.enabled {
        return None;
    }
    let dir = Reranker::model_dir(models, &settings.rerank);
    file_state(&dir.join(&settings.rerank.onnx_file))?;
    Some(
        [settings.rerank.onnx_file.as_str(), "tokenizer.json", "config.json", "special_tokens_map.json", "tokenizer_config.json"]
            .iter()
            .map(|name| file_state(&dir.join(name)).unwrap_or((0, None)))
            .collect(),
    )
}

impl Scoring {
    /// What scores evidence units: the cross-encoder when it is loaded, else embedding cosine.
    pub fn evidence_scorer<'a>(&'a self, embedder: &'a Embedder) -> Scorer<'a> {
        match &self.reranker {
            Some(reranker) => Scorer::CrossEncoder(reranker),
            None => Scorer::Embedding(embedder),
        }
    }

    /// The gate's name for this scorer (see `gate::scorer_key`).
    pub fn gate_key(&self, embedder: &Embedder) -> String {
        scorer_key(self.reranker.as_ref().map(|r| r.identity().sha256.as_str()), &embedder.identity().sha256)
    }

    /// The gate, when it was fitted on lists retrieved with `embedder` (a generation of another model is
    /// judged by the relevance threshold until its own gate is switched in).
    pub fn gate_for(&self, embedder: &Embedder) -> Option<&Gate> {
        self.gate.as_deref().filter(|_| self.gate_key == self.gate_key(embedder))
    }
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
        let embedder = Arc::new(Embedder::load(&models, &settings.embedding)?);
        let chunker = Chunker::new(embedder.tokenizer().clone(), &settings.chunking);
        let prompt_dir = settings.paths.prompt_dir.trim();
        let prompts = Prompts::load((!prompt_dir.is_empty()).then(|| std::path::Path::new(prompt_dir)))?;
        // Looked at before loading: a model replaced meanwhile is then seen as a change.
        let on_disk = OnDisk { reranker: reranker_files_state(&models, &settings), gate: None };
        let (reranker, reranker_status) = load_reranker(&models, &settings);
        let mut scoring = Scoring { reranker, reranker_status, gate: None, gate_status: String::new(), gate_key: String::new(), on_disk };
        scoring.gate_key = scoring.gate_key(&embedder);
        (scoring.gate, scoring.gate_status) = load_gate(&models, &settings, &scoring.gate_key, &mut scoring.on_disk);
        Ok(Curator {
            data: DataDir::new(settings.data_dir()),
            models,
            embedders: RwLock::new(vec![Arc::clone(&embedder)]),
            served_embedder: RwLock::new(Arc::clone(&embedder)),
            embedder,
            chunker,
            prompts,
            scoring: RwLock::new(Arc::new(scoring)),
            llm: None,
            llm_status: "answering is off: the language model is not loaded".into(),
            settings,
        })
    }

    /// The configured embedding model, what an ingest embeds with.
    pub fn embedder(&self) -> Arc<Embedder> {
        Arc::clone(&self.embedder)
    }

    /// The embedding model that built `generation`, which its queries must be embedded with. A generation
    /// is only loaded with its own model ([`Curator::load_generation`]), so this is the configured model
    /// only for a generation loaded some other way.
    pub fn embedder_for(&self, generation: &Generation) -> Arc<Embedder> {
        self.loaded_embedder(&generation.manifest.embedding).unwrap_or_else(|| self.embedder())
    }

    fn loaded_embedder(&self, identity: &EmbeddingIdentity) -> Option<Arc<Embedder>> {
        let loaded = self.embedders.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        loaded.iter().find(|e| e.identity() == identity).cloned()
    }

    /// A model of the model cache that made vectors of `identity`: one loaded already, else the
    /// configured folder as it resolves now (a model trained since), the fine-tuned and the fetched one.
    fn embedder_matching(&self, identity: &EmbeddingIdentity) -> Option<Arc<Embedder>> {
        if let Some(loaded) = self.loaded_embedder(identity) {
            return Some(loaded);
        }
        // The file's checksum and name decide, not its folder's name; only the one that matches is loaded.
        let dir = self.settings.embedding.candidate_dirs(&self.models.dir).into_iter().find(|dir| Embedder::identity_in(dir).is_ok_and(|id| id == *identity))?;
        let settings = crate::config::EmbeddingSettings { model_dir: dir.display().to_string(), ..self.settings.embedding.clone() };
        let embedder = Arc::new(Embedder::load(&self.models, &settings).ok()?);
        // Checked again: the folder may have been replaced between the two reads.
        if embedder.identity() != identity {
            return None;
        }
        self.embedders.write().unwrap_or_else(|poisoned| poisoned.into_inner()).push(Arc::clone(&embedder));
        Some(embedder)
    }

    /// The embedding model of the generation loaded last (the gate served is fitted for it).
    pub fn served_embedder(&self) -> Arc<Embedder> {
        Arc::clone(&self.served_embedder.read().unwrap_or_else(|poisoned| poisoned.into_inner()))
    }

    /// The reranker and gate in use; a request keeps the one it started with.
    pub fn scoring(&self) -> Arc<Scoring> {
        // A writer never panics while holding the lock; a poisoned lock still holds a whole Scoring.
        Arc::clone(&self.scoring.read().unwrap_or_else(|poisoned| poisoned.into_inner()))
    }

    /// Serves `gate` from now on, with the reranker in use (a test fits its own gate).
    pub fn set_gate(&self, gate: Option<Gate>, gate_status: String) {
        let current = self.scoring();
        self.replace_scoring(Scoring { gate: gate.map(Arc::new), gate_status, ..current.as_ref().clone() });
    }

    fn replace_scoring(&self, scoring: Scoring) {
        *self.scoring.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = Arc::new(scoring);
    }

    /// Loads what changed on disk since the scoring in use was loaded: a reranker trained since (and the
    /// gate fitted for it, if any) or a gate fitted since. A model that fails to load leaves the one in use
    /// in place, and a file that is missing (a model being replaced) is no change. Says what changed.
    pub fn reload_scoring(&self) -> Option<String> {
        let current = self.scoring();
        let embedder = self.served_embedder();
        let reranker_now = reranker_files_state(&self.models, &self.settings);
        let gate_now = file_state(&gate_path(&self.models.dir, &current.gate_key(&embedder)));
        let reranker_changed = reranker_now.is_some() && reranker_now != current.on_disk.reranker;
        let gate_changed = self.settings.answer.gate && gate_now.is_some() && gate_now != current.on_disk.gate;
        // A generation of another embedding model is served: its lists need the gate fitted on them.
        let embedding_changed = current.gate_key != current.gate_key(&embedder);
        if !reranker_changed && !gate_changed && !embedding_changed {
            return None;
        }
        let mut next = current.as_ref().clone();
        let mut said = Vec::new();
        let mut reranker_switched = false;
        if reranker_changed {
            // Noted whether or not it loads: a broken model is tried once, not every tick.
            next.on_disk.reranker = reranker_now;
            match load_reranker(&self.models, &self.settings) {
                (Some(reranker), status) => {
                    said.push(format!("switched in a new reranker ({status})"));
                    (next.reranker, next.reranker_status) = (Some(reranker), status);
                    reranker_switched = true;
                }
                (None, status) => said.push(format!("a new reranker model did not load, the one in use stays: {status}")),
            }
        }
        if reranker_switched || gate_changed || embedding_changed {
            let key = next.gate_key(&embedder);
            let (gate, gate_status) = load_gate(&self.models, &self.settings, &key, &mut next.on_disk);
            let new_scorer = reranker_switched || key != next.gate_key;
            next.gate_key = key;
            match gate {
                Some(gate) => {
                    said.push(format!("switched in {gate_status}"));
                    (next.gate, next.gate_status) = (Some(gate), gate_status);
                }
                // A new scorer needs its own gate; without one the relevance threshold decides.
                None if new_scorer => {
                    said.push(gate_status.clone());
                    (next.gate, next.gate_status) = (None, gate_status);
                }
                // The same reranker: a gate file that does not load leaves the gate in use in place.
                None => said.push(format!("a new answer gate did not load, the one in use stays: {gate_status}")),
            }
        }
        self.replace_scoring(next);
        Some(said.join("; "))
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
        // Records are added to the index with the model that built it (a server started before the
        // fine-tuned model was trained goes on taking records after the index is embedded again with it);
        // a rebuild embeds with the configured model. The ingest checks the model again under its lock.
        let embedder = match options.rebuild {
            true => self.embedder(),
            false => self.current_embedding()?.and_then(|identity| self.embedder_matching(&identity)).unwrap_or_else(|| self.embedder()),
        };
        let ingestor = Ingestor { data: &self.data, embedder: &embedder, chunker: &self.chunker, hnsw: &self.settings.hnsw };
        ingestor.apply(upserts, deletes, options, progress)
    }

    /// The directory of the generation `CURRENT` names.
    fn current_dir(&self) -> Result<std::path::PathBuf, IndexError> {
        self.data.current()?.ok_or_else(|| IndexError::Empty(self.data.root.clone()))
    }

    /// The record store of the generation `CURRENT` names, alone: without its text and vector indexes or
    /// the model that built them.
    pub fn current_record_store(&self) -> Result<crate::index::store::RecordStore, IndexError> {
        let dir = self.current_dir()?;
        crate::index::store::RecordStore::load(&dir, read_manifest(&dir)?.chunk_slots)
    }

    /// Serves the model that built the current generation, read from its manifest alone (the gate looked
    /// for is then the one fitted on that model's lists); without loading the generation.
    pub fn serve_current_model(&self) -> Result<(), IndexError> {
        let built_with = read_manifest(&self.current_dir()?)?.embedding;
        if let Some(embedder) = self.embedder_matching(&built_with) {
            self.set_served_embedder(embedder);
        }
        Ok(())
    }

    /// The current generation's manifest (its embedding model, chunking, counts); None without one.
    pub fn current_manifest(&self) -> Result<Option<Manifest>, IndexError> {
        self.data.current()?.map(|dir| read_manifest(&dir)).transpose()
    }

    /// The embedding model the current generation was built with, from its manifest; None without one.
    pub fn current_embedding(&self) -> Result<Option<EmbeddingIdentity>, IndexError> {
        Ok(self.current_manifest()?.map(|m| m.embedding))
    }

    /// Whether the current generation was built as the settings say: with the configured embedding model
    /// and chunking. `curator reembed` builds it again when not.
    pub fn built_as_configured(&self, manifest: &Manifest) -> bool {
        manifest.embedding == *self.embedder.identity() && manifest.chunking == self.settings.chunking
    }

    /// Chunks and embeds every record of the current generation again with the configured model and
    /// chunking, into a new generation (one, switched in when whole): after the model changed, for example
    /// when the fine-tuned one has been trained, or the chunking settings did. The records are the index's
    /// own, those added by `/api/ingest` included, so nothing is dropped. None when the current generation
    /// was built as configured already.
    pub fn reembed(&self, progress: &(dyn Fn(usize, usize) + Sync)) -> Result<Option<IngestReport>, IngestError> {
        let dir = self.current_dir()?;
        if self.built_as_configured(&read_manifest(&dir)?) {
            return Ok(None);
        }
        // The model that built the vectors need not be at hand any more.
        let store = self.current_record_store()?;
        let mut stored: Vec<_> = store.records().collect();
        // In the order they were indexed (the store's own order is a hash map's): the same index, the
        // same new generation.
        stored.sort_by_key(|s| (s.chunk_ids.iter().min().copied(), s.record.id.clone()));
        let records = stored.into_iter().map(|s| s.record.clone()).collect();
        // Refused if an ingest or delete moves CURRENT before this one takes the writer lock.
        let options = IngestOptions { rebuild: true, commit_every: 0, replaces: Some(dir) };
        self.ingest(records, &[], &options, progress).map(Some)
    }

    /// Loads the generation `CURRENT` names, built with the configured embedding model (one built with
    /// another is refused, naming both models and `curator reembed`): what evaluation, training and the
    /// command line search, so that a figure is always the configured model's.
    pub fn load_generation(&self) -> Result<Generation, IndexError> {
        let dir = self.current_dir()?;
        let generation = Generation::load(&dir, self.embedder.identity())?;
        self.set_served_embedder(self.embedder());
        Ok(generation)
    }

    /// Loads the generation `CURRENT` names with the embedding model that built it, when the model cache
    /// holds it: what a server serves, so that it answers from an index built with the fetched model
    /// until the same records embedded with the fine-tuned one are switched in (`curator reembed`).
    pub fn load_served_generation(&self) -> Result<Generation, IndexError> {
        let dir = self.current_dir()?;
        let generation = self.load_generation_at(&dir)?;
        self.set_served_embedder(self.embedder_for(&generation));
        Ok(generation)
    }

    fn set_served_embedder(&self, embedder: Arc<Embedder>) {
        *self.served_embedder.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = embedder;
    }

    /// Loads the generation in `dir` as [`Curator::load_served_generation`] does.
    pub fn load_generation_at(&self, dir: &Path) -> Result<Generation, IndexError> {
        let built_with = read_manifest(dir)?.embedding;
        let embedder = self.embedder_matching(&built_with).unwrap_or_else(|| self.embedder());
        Generation::load(dir, embedder.identity())
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
            // Without a reranker loaded, retrieval skips the step (and says so: `reranked`).
            rerank: (mode == Mode::Hybrid && rerank.enabled)
                .then_some(RerankRequest { depth: rerank.depth, first_stage_share: rerank.first_stage_share }),
            years_from_query: self.settings.retrieval.years_from_query,
            diversify: self.settings.retrieval.diversify,
            maker_boost: self.settings.retrieval.maker_boost,
            bm25_drop_stopwords: self.settings.retrieval.bm25_drop_stopwords,
            exact_dense: false,
        }
    }

    /// What an answer and the answer gate retrieve: hybrid, as `request` would, undiversified, without the
    /// maker boost, and with the question's stopwords in the BM25 query or not as `answer` settings say
    /// (the gate is fitted on lists made so).
    pub fn answer_request(&self, query: &str, k: Option<usize>, filters: Filters) -> SearchRequest {
        let bm25_drop_stopwords = self.settings.answer.bm25_drop_stopwords;
        SearchRequest { diversify: false, maker_boost: 0.0, bm25_drop_stopwords, ..self.request(query, Mode::Hybrid, k, filters) }
    }

    /// The evidence `records` records may give the model, as `answer` settings say.
    pub fn evidence_budget(&self, records: usize) -> Budget {
        let answer = &self.settings.answer;
        Budget { records, tokens: answer.evidence_budget_tokens, margin: (answer.evidence_margin > 0.0).then_some(answer.evidence_margin) }
    }

    pub fn search(&self, generation: &Generation, request: &SearchRequest) -> Result<SearchResponse, SearchError> {
        self.search_with(&self.scoring(), generation, request)
    }

    /// [`Curator::search`] with a given scoring, so that one request reranks with the model its gate was
    /// fitted for.
    pub fn search_with(&self, scoring: &Scoring, generation: &Generation, request: &SearchRequest) -> Result<SearchResponse, SearchError> {
        search(generation, &self.embedder_for(generation), scoring.reranker.as_deref(), request)
    }
}

/// The configured cross-encoder, or why reranking is off, in one sentence.
fn load_reranker(models: &ModelCache, settings: &Settings) -> (Option<Arc<Reranker>>, String) {
    if !settings.rerank.enabled {
        return (None, "reranking is off: rerank.enabled = false".to_string());
    }
    match Reranker::load(models, &settings.rerank) {
        Ok(r) => {
            let status = format!("reranking on: {} (top {})", r.identity().path.display(), settings.rerank.depth);
            (Some(Arc::new(r)), status)
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
}

/// The gate fitted for the scorer named `key`, or why there is none; notes the file's state in `on_disk`.
fn load_gate(models: &ModelCache, settings: &Settings, key: &str, on_disk: &mut OnDisk) -> (Option<Arc<Gate>>, String) {
    let path = gate_path(&models.dir, key);
    on_disk.gate = file_state(&path);
    if !settings.answer.gate {
        return (None, "answer gate off: answer.gate = false; the relevance threshold decides".to_string());
    }
    if on_disk.gate.is_none() {
        return (None, format!("answer gate off: none fitted for {key}; `curator gate train` fits one (scripts/run.sh does); the relevance threshold decides"));
    }
    match Gate::load(&path) {
        Ok(gate) => {
            let mut status = format!("answer gate on: {} ({}, threshold {:.3})", path.display(), gate.classifier.name(), gate.threshold);
            // A gate fitted on BM25 lists made the other way reads features it was not fitted on.
            let fitted = gate.fitted_settings().is_some_and(|s| s.bm25_drop_stopwords);
            if fitted != settings.answer.bm25_drop_stopwords {
                status.push_str(&format!(
                    "; it was fitted with answer.bm25_drop_stopwords = {fitted}, which is now {}: `curator gate train` fits it again",
                    settings.answer.bm25_drop_stopwords
                ));
            }
            (Some(Arc::new(gate)), status)
        }
        Err(e) => (None, format!("answer gate off: {e}; the relevance threshold decides")),
    }
}
