//! Settings: config.toml with defaults that work, every value overridable by `CURATOR_<SECTION>_<KEY>`.
//!
//! The repository's config.toml is compiled in as the defaults, so the binary runs anywhere; a config file
//! given with `--config` (or `CURATOR_CONFIG`, or ./config.toml) is laid over it, then the environment.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

const DEFAULTS: &str = include_str!("../config.toml");

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("config file {path} is not valid TOML: {source}")]
    Parse { path: PathBuf, source: Box<toml::de::Error> },
    #[error("environment variable {var}={value:?}: expected {expected}")]
    Env { var: String, value: String, expected: &'static str },
    #[error("unknown setting {0} (see config.toml for the settings that exist)")]
    Unknown(String),
    #[error("invalid settings: {0}")]
    Invalid(String),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub paths: PathSettings,
    pub chunking: ChunkingSettings,
    pub embedding: EmbeddingSettings,
    pub hnsw: HnswSettings,
    pub retrieval: RetrievalSettings,
    pub rerank: RerankSettings,
    pub generation: GenerationSettings,
    pub answer: AnswerSettings,
    pub server: ServerSettings,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PathSettings {
    pub data_dir: String,
    pub model_dir: String,
    pub prompt_dir: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ChunkingSettings {
    pub max_tokens: usize,
    pub overlap_tokens: usize,
    /// Whether the embedding model reads a record's dimensions and credit line (BM25 and the reranker
    /// always do). An index manifest written before this setting existed has none: its vectors read them.
    #[serde(default = "embedded_bookkeeping_before_the_setting")]
    pub embed_bookkeeping: bool,
}

fn embedded_bookkeeping_before_the_setting() -> bool {
    true
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmbeddingSettings {
    pub model_dir: String,
    pub batch_size: usize,
    pub threads: usize,
    pub spin: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct HnswSettings {
    pub max_connections: usize,
    pub ef_construction: usize,
    pub ef_search: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetrievalSettings {
    pub k: usize,
    pub candidates: usize,
    pub fusion: String,
    pub rrf_k: f32,
    pub bm25_weight: f32,
    pub dense_weight: f32,
    pub blend_dense_share: f32,
    pub blend_dense_share_unmatched: f32,
    pub blend_full_match: f32,
    pub years_from_query: bool,
    pub diversify: bool,
    pub maker_boost: f32,
    pub bm25_drop_stopwords: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RerankSettings {
    pub enabled: bool,
    pub model_dir: String,
    pub onnx_file: String,
    pub depth: usize,
    pub max_tokens: usize,
    pub batch_size: usize,
    pub threads: usize,
    pub spin: bool,
    pub first_stage_share: f32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenerationSettings {
    pub model: String,
    pub context_tokens: u32,
    pub threads: usize,
    pub flash_attention: bool,
    pub max_answer_tokens: usize,
    pub temperature: f32,
    pub seed: u32,
    pub repeat_penalty: f32,
    pub queue_depth: usize,
    pub deadline_seconds: f64,
}

/// Most sources an answer may rest on (`answer.sources`, or a request's `k`): more would not fit the
/// model's context with room to answer.
pub const MAX_SOURCES: usize = 20;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnswerSettings {
    pub sources: usize,
    pub evidence_budget_tokens: usize,
    /// Cross-encoder logits below the best evidence unit beyond which a unit is not given (0: no margin).
    pub evidence_margin: f32,
    pub constrain_citations: bool,
    pub max_sentences: usize,
    pub history_budget_tokens: usize,
    pub gate: bool,
    /// Whether an answer's (and the gate's) BM25 query leaves out stopwords and question words, as
    /// `retrieval.bm25_drop_stopwords` does for search.
    pub bm25_drop_stopwords: bool,
    pub abstain_below: f32,
    pub abstain_below_dense: f32,
    pub support_lexical: f32,
    pub support_semantic: f32,
    pub repair_citations: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    pub bind: String,
    pub api_key: String,
    pub read_key: String,
    pub max_body_bytes: usize,
    pub max_question_chars: usize,
    pub rate_limit_per_second: u32,
    pub rate_limit_burst: u32,
    pub max_concurrent_requests: usize,
}

/// The fetched all-MiniLM-L6-v2 (scripts/fetch-models.sh), in the model cache.
pub const FETCHED_EMBEDDING_DIR: &str = "all-minilm-l6-v2-int8";
/// The one fine-tuned on museum data (scripts/train-embedding.sh), in the model cache.
pub const TUNED_EMBEDDING_DIR: &str = "embedding-tuned";

impl EmbeddingSettings {
    /// The embedding model's folder: `embedding.model_dir`; else the fine-tuned model in the model cache
    /// once it is trained (it wins on museum and mood queries, README "Embedding model"), and the fetched
    /// all-MiniLM-L6-v2 until then.
    pub fn dir_in(&self, model_dir: &Path) -> PathBuf {
        non_empty(&self.model_dir).unwrap_or_else(|| {
            let tuned = model_dir.join(TUNED_EMBEDDING_DIR);
            if tuned.join("model.onnx").is_file() { tuned } else { model_dir.join(FETCHED_EMBEDDING_DIR) }
        })
    }

    /// Where a model that built an index may be: the configured folder as it resolves now, then the
    /// fine-tuned and the fetched model's.
    pub fn candidate_dirs(&self, model_dir: &Path) -> Vec<PathBuf> {
        let mut dirs = vec![self.dir_in(model_dir)];
        for dir in [model_dir.join(TUNED_EMBEDDING_DIR), model_dir.join(FETCHED_EMBEDDING_DIR)] {
            if !dirs.contains(&dir) {
                dirs.push(dir);
            }
        }
        dirs
    }
}

impl RerankSettings {
    /// The cross-encoder's folder: `rerank.model_dir`, or the trained model's place in the model cache.
    pub fn dir_in(&self, model_dir: &Path) -> PathBuf {
        non_empty(&self.model_dir).unwrap_or_else(|| model_dir.join("reranker"))
    }
}

impl Settings {
    /// Defaults, then `file` (if given), then `CURATOR_*` environment variables.
    pub fn load(file: Option<&Path>) -> Result<Settings, ConfigError> {
        Self::load_with_env(file, |name| std::env::var(name).ok())
    }

    /// As [`Settings::load`], reading the environment through `env` (tests pass their own).
    pub fn load_with_env(file: Option<&Path>, env: impl Fn(&str) -> Option<String>) -> Result<Settings, ConfigError> {
        let mut table: toml::Table = DEFAULTS.parse().map_err(|source| ConfigError::Parse {
            path: PathBuf::from("config.toml (built in)"),
            source: Box::new(source),
        })?;
        if let Some(path) = file {
            let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.to_path_buf(), source })?;
            let overlay: toml::Table = text
                .parse()
                .map_err(|source| ConfigError::Parse { path: path.to_path_buf(), source: Box::new(source) })?;
            merge(&mut table, overlay, "")?;
        }
        apply_env(&mut table, &env)?;
        let settings: Settings = toml::Value::Table(table)
            .try_into()
            .map_err(|e: toml::de::Error| ConfigError::Invalid(e.to_string()))?;
        settings.check()?;
        Ok(settings)
    }

    fn check(&self) -> Result<(), ConfigError> {
        let c = &self.chunking;
        if c.max_tokens < 32 || c.max_tokens > 512 {
            return Err(ConfigError::Invalid(format!("chunking.max_tokens {} must be in 32..=512", c.max_tokens)));
        }
        if c.overlap_tokens * 2 >= c.max_tokens {
            return Err(ConfigError::Invalid("chunking.overlap_tokens must be less than half of max_tokens".into()));
        }
        if self.embedding.batch_size == 0 || self.retrieval.k == 0 || self.retrieval.candidates == 0 {
            return Err(ConfigError::Invalid("batch_size, k and candidates must be at least 1".into()));
        }
        let r = &self.retrieval;
        if r.fusion != "rrf" && r.fusion != "blend" {
            return Err(ConfigError::Invalid(format!("retrieval.fusion {:?} must be \"rrf\" or \"blend\"", r.fusion)));
        }
        if !(0.0..=1.0).contains(&r.blend_dense_share) || !(0.0..=1.0).contains(&r.blend_dense_share_unmatched) || !(0.0..=1.0).contains(&r.blend_full_match) || r.bm25_weight < 0.0 || r.dense_weight < 0.0 || r.rrf_k <= 0.0 {
            return Err(ConfigError::Invalid("retrieval weights must be non-negative, rrf_k positive, blend_dense_share, blend_dense_share_unmatched and blend_full_match in 0..=1".into()));
        }
        if self.rerank.depth == 0 || self.rerank.max_tokens < 16 || !(0.0..=1.0).contains(&self.rerank.first_stage_share) {
            return Err(ConfigError::Invalid("rerank.depth must be at least 1, max_tokens at least 16, first_stage_share in 0..=1".into()));
        }
        if self.hnsw.max_connections == 0 || self.hnsw.max_connections > 256 {
            return Err(ConfigError::Invalid("hnsw.max_connections must be in 1..=256".into()));
        }
        let g = &self.generation;
        // A NaN deadline passes every comparison, and one past a day overflows the clock: both are refused.
        let deadline_ok = g.deadline_seconds.is_finite() && g.deadline_seconds > 0.0 && g.deadline_seconds <= 86_400.0;
        if g.context_tokens < 512 || g.max_answer_tokens == 0 || !deadline_ok || !(g.temperature >= 0.0) {
            return Err(ConfigError::Invalid(
                "generation.context_tokens must be at least 512, max_answer_tokens at least 1, deadline_seconds a number of seconds in (0, 86400], temperature non-negative".into(),
            ));
        }
        let a = &self.answer;
        if !(a.evidence_margin >= 0.0) {
            return Err(ConfigError::Invalid(format!("answer.evidence_margin must be 0 (no margin) or more, not {}", a.evidence_margin)));
        }
        if a.sources == 0 || a.sources > MAX_SOURCES || a.evidence_budget_tokens + a.history_budget_tokens + g.max_answer_tokens + 256 > g.context_tokens as usize {
            return Err(ConfigError::Invalid(format!(
                "answer.sources must be in 1..={MAX_SOURCES}, and evidence_budget_tokens + history_budget_tokens + generation.max_answer_tokens + 256 must fit in generation.context_tokens ({})",
                g.context_tokens
            )));
        }
        if self.server.max_question_chars == 0 || self.server.max_body_bytes < 1024 {
            return Err(ConfigError::Invalid("server.max_question_chars must be at least 1 and max_body_bytes at least 1024".into()));
        }
        let server = &self.server;
        if server.max_concurrent_requests == 0 || (server.rate_limit_per_second > 0 && server.rate_limit_burst == 0) {
            return Err(ConfigError::Invalid(
                "server.max_concurrent_requests must be at least 1, and rate_limit_burst at least 1 while rate_limit_per_second is on".into(),
            ));
        }
        Ok(())
    }

    /// The GGUF file that writes answers.
    pub fn llm_path(&self) -> PathBuf {
        let model = Path::new(&self.generation.model);
        if model.is_absolute() { model.to_path_buf() } else { self.model_dir().join("llm").join(model) }
    }

    pub fn data_dir(&self) -> PathBuf {
        non_empty(&self.paths.data_dir).unwrap_or_else(|| base_dir("XDG_DATA_HOME", ".local/share").join("curator"))
    }

    pub fn model_dir(&self) -> PathBuf {
        non_empty(&self.paths.model_dir).unwrap_or_else(|| base_dir("XDG_CACHE_HOME", ".cache").join("curator/models"))
    }

    /// Every setting as `section.key = value`, for start-up logs.
    pub fn describe(&self) -> Vec<String> {
        let mut lines = Vec::new();
        if let Ok(toml::Value::Table(sections)) = toml::Value::try_from(self) {
            for (section, values) in sections {
                if let toml::Value::Table(values) = values {
                    for (key, value) in values {
                        // A secret is never printed: only whether it is set.
                        if section == "server" && key == "api_key" {
                            let set = if self.server.api_key.is_empty() { "(empty: ingest over HTTP off)" } else { "(set)" };
                            lines.push(format!("{section}.{key} = {set}"));
                        } else if section == "server" && key == "read_key" {
                            let set = if self.server.read_key.is_empty() { "(empty: asking and searching are open)" } else { "(set)" };
                            lines.push(format!("{section}.{key} = {set}"));
                        } else if let toml::Value::Float(f) = value {
                            // The settings are f32: printed through f64 they read 0.02500000037252903.
                            lines.push(format!("{section}.{key} = {}", f as f32));
                        } else {
                            lines.push(format!("{section}.{key} = {value}"));
                        }
                    }
                }
            }
        }
        lines.push(format!("(resolved) data_dir = {}", self.data_dir().display()));
        lines.push(format!("(resolved) model_dir = {}", self.model_dir().display()));
        // What scripts/prepare.sh looks for before training one; empty when reranking is off.
        let reranker_file = self.rerank.dir_in(&self.model_dir()).join(&self.rerank.onnx_file);
        lines.push(format!("(resolved) reranker_file = {}", if self.rerank.enabled { reranker_file.display().to_string() } else { String::new() }));
        lines.push(format!("(resolved) embedding_dir = {}", self.embedding.dir_in(&self.model_dir()).display()));
        // What scripts/prepare.sh trains when it is missing; empty when `embedding.model_dir` names a model.
        let tuned = self.model_dir().join(TUNED_EMBEDDING_DIR);
        lines.push(format!("(resolved) tuned_embedding_dir = {}", if self.embedding.model_dir.trim().is_empty() { tuned.display().to_string() } else { String::new() }));
        lines
    }
}

fn non_empty(s: &str) -> Option<PathBuf> {
    (!s.trim().is_empty()).then(|| PathBuf::from(s.trim()))
}

fn base_dir(xdg_var: &str, home_relative: &str) -> PathBuf {
    if let Some(dir) = std::env::var_os(xdg_var).filter(|v| !v.is_empty()) {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("."));
    home.join(home_relative)
}

/// Lays `overlay` over `base`; a key the defaults do not have is an error, not silently ignored.
fn merge(base: &mut toml::Table, overlay: toml::Table, prefix: &str) -> Result<(), ConfigError> {
    for (key, value) in overlay {
        let name = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o, &name)?,
            (Some(slot), value) => *slot = value,
            (None, _) => return Err(ConfigError::Unknown(name)),
        }
    }
    Ok(())
}

/// `CURATOR_*` variables that are not settings, and not typos: the binary's own (CONFIG, LOG) and the scripts'.
const SCRIPT_VARIABLES: [&str; 18] = [
    "CURATOR_CORPUS", "CURATOR_SHARED", "CURATOR_QUERY", "CURATOR_SERVE", "CURATOR_TRAIN_RERANKER", "CURATOR_FIT_GATE",
    "CURATOR_TRAIN_VENV", "CURATOR_TEST_VENV", "CURATOR_MODEL_DIR", "CURATOR_TEST_THREADS", "CURATOR_SCREENSHOTS",
    "CURATOR_URL", "CURATOR_API_KEY", "CURATOR_SCHEMA_EXAMPLES", "CURATOR_SCHEMA_ANSWER_EXAMPLES", "CURATOR_CONFIG",
    "CURATOR_LOG", "CURATOR_FAULT_AT",
];

/// The `CURATOR_*` names among `names` that are neither a setting nor a script's variable: most likely a
/// typo (`CURATOR_RERANK_DEPHT`), which would otherwise be ignored without a word while a typo in
/// config.toml is refused.
pub fn unknown_env_vars(names: impl Iterator<Item = String>) -> Vec<String> {
    let Ok(table) = DEFAULTS.parse::<toml::Table>() else { return Vec::new() };
    let mut known: std::collections::HashSet<String> = SCRIPT_VARIABLES.iter().map(|v| v.to_string()).collect();
    for (section, values) in &table {
        if let toml::Value::Table(values) = values {
            known.extend(values.keys().map(|key| format!("CURATOR_{}_{}", section.to_uppercase(), key.to_uppercase())));
        }
    }
    let mut unknown: Vec<String> = names.filter(|n| n.starts_with("CURATOR_") && !known.contains(n)).collect();
    unknown.sort();
    unknown
}

fn apply_env(table: &mut toml::Table, env: &impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
    for (section, values) in table.iter_mut() {
        let toml::Value::Table(values) = values else { continue };
        for (key, slot) in values.iter_mut() {
            let var = format!("CURATOR_{}_{}", section.to_uppercase(), key.to_uppercase());
            let Some(raw) = env(&var) else { continue };
            let bad = |expected| ConfigError::Env { var: var.clone(), value: raw.clone(), expected };
            *slot = match slot {
                toml::Value::Integer(_) => toml::Value::Integer(raw.trim().parse().map_err(|_| bad("an integer"))?),
                toml::Value::Float(_) => toml::Value::Float(raw.trim().parse().map_err(|_| bad("a number"))?),
                toml::Value::Boolean(_) => toml::Value::Boolean(raw.trim().parse().map_err(|_| bad("true or false"))?),
                _ => toml::Value::String(raw.clone()),
            };
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_settings_print_as_written() {
        let settings = Settings::load_with_env(None, |_| None).unwrap();
        let lines = settings.describe();
        assert!(lines.contains(&"answer.abstain_below_dense = 0.025".to_string()), "{lines:?}");
        assert!(!lines.iter().any(|l| l.contains("0000000")), "{lines:?}");
    }

    #[test]
    fn the_default_embedding_model_is_the_fine_tuned_one_once_it_is_trained_and_the_fetched_one_until_then() {
        let models = tempfile::tempdir().unwrap();
        let settings = Settings::load_with_env(None, |_| None).unwrap().embedding;
        assert_eq!(settings.dir_in(models.path()), models.path().join(FETCHED_EMBEDDING_DIR));
        // A folder the training is still writing into (no model file yet) is not a model.
        let tuned = models.path().join(TUNED_EMBEDDING_DIR);
        std::fs::create_dir(&tuned).unwrap();
        assert_eq!(settings.dir_in(models.path()), models.path().join(FETCHED_EMBEDDING_DIR));
        std::fs::write(tuned.join("model.onnx"), b"weights").unwrap();
        assert_eq!(settings.dir_in(models.path()), tuned);
        assert_eq!(settings.candidate_dirs(models.path()), [tuned.clone(), models.path().join(FETCHED_EMBEDDING_DIR)]);
        // A model named in the settings is the one, whatever has been trained.
        let named = EmbeddingSettings { model_dir: "/srv/models/mine".into(), ..settings };
        assert_eq!(named.dir_in(models.path()), Path::new("/srv/models/mine"));
        assert_eq!(named.candidate_dirs(models.path())[0], Path::new("/srv/models/mine"));
    }

    #[test]
    fn a_mistyped_environment_variable_is_named() {
        let names = ["CURATOR_RERANK_DEPHT", "CURATOR_RERANK_DEPTH", "CURATOR_CORPUS", "HOME"].map(String::from);
        assert_eq!(unknown_env_vars(names.into_iter()), ["CURATOR_RERANK_DEPHT"]);
    }

    #[test]
    fn a_nan_or_huge_deadline_is_refused_at_start_up() {
        // Regression: a NaN deadline passed the check and panicked when the first answer was asked.
        for bad in ["nan", "inf", "1e300", "-1"] {
            let err = Settings::load_with_env(None, |v| (v == "CURATOR_GENERATION_DEADLINE_SECONDS").then(|| bad.to_string()));
            assert!(err.is_err(), "deadline {bad} was accepted");
        }
    }

    #[test]
    fn the_api_key_and_the_read_key_are_never_described() {
        // Regression: `curator settings` and every command with -v printed server.api_key in clear.
        for (variable, setting) in [("CURATOR_SERVER_API_KEY", "server.api_key"), ("CURATOR_SERVER_READ_KEY", "server.read_key")] {
            let s = Settings::load_with_env(None, |v| (v == variable).then(|| "hunter2-secret".to_string())).unwrap();
            let described = s.describe().join("\n");
            assert!(!described.contains("hunter2-secret"), "{described}");
            assert!(described.contains(&format!("{setting} = (set)")), "{described}");
        }
    }

    #[test]
    fn built_in_defaults_load() {
        let s = Settings::load_with_env(None, |_| None).unwrap();
        assert!(s.chunking.max_tokens >= 32);
    }

    #[test]
    fn environment_overrides_the_file() {
        let s = Settings::load_with_env(None, |v| (v == "CURATOR_CHUNKING_MAX_TOKENS").then(|| "200".to_string())).unwrap();
        assert_eq!(s.chunking.max_tokens, 200);
    }

    #[test]
    fn a_malformed_environment_value_names_the_variable() {
        let err = Settings::load_with_env(None, |v| (v == "CURATOR_HNSW_EF_SEARCH").then(|| "lots".to_string())).unwrap_err();
        assert!(err.to_string().contains("CURATOR_HNSW_EF_SEARCH"), "{err}");
    }

    #[test]
    fn more_sources_than_an_answer_may_rest_on_are_refused_at_start_up() {
        let err = Settings::load_with_env(None, |v| (v == "CURATOR_ANSWER_SOURCES").then(|| "21".to_string())).unwrap_err();
        assert!(err.to_string().contains("answer.sources must be in 1..=20"), "{err}");
    }

    #[test]
    fn an_unknown_key_in_a_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "[chunking]\nmax_tokenz = 3\n").unwrap();
        let err = Settings::load_with_env(Some(&path), |_| None).unwrap_err();
        assert!(err.to_string().contains("chunking.max_tokenz"), "{err}");
    }
}
