//! Cross-encoder reranking: scores (query, chunk) pairs jointly, which a bi-encoder cannot.
//!
//! Any BERT-style cross-encoder exported to ONNX with a `logits` output of shape [batch, 1] works (loaded
//! through fastembed's user-defined reranker); curator trains its own (scripts/train-reranker.py), since no
//! pretrained one can be fetched here. The model directory holds the ONNX file and the tokenizer files.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use fastembed::{RerankInitOptionsUserDefined, TextRerank, TokenizerFiles, UserDefinedRerankingModel};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::config::RerankSettings;
use crate::models::{onnxruntime, read_model_file, ModelCache, ModelError};
use crate::records::hex;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RerankerIdentity {
    pub path: PathBuf,
    pub sha256: String,
}

/// The cross-encoder's logit as a probability of relevance (what abstention and the pages show).
pub fn probability(logit: f32) -> f32 {
    1.0 / (1.0 + (-logit).exp())
}

pub struct Reranker {
    model: Mutex<TextRerank>,
    identity: RerankerIdentity,
    batch_size: usize,
}

impl Reranker {
    /// The configured model directory: `rerank.model_dir`, or the trained model in the model cache.
    pub fn model_dir(cache: &ModelCache, settings: &RerankSettings) -> PathBuf {
        settings.dir_in(&cache.dir)
    }

    pub fn load(cache: &ModelCache, settings: &RerankSettings) -> Result<Reranker, ModelError> {
        let environment = onnxruntime(&cache.onnxruntime_library())?;
        let dir = Self::model_dir(cache, settings);
        Self::load_from(&dir, &settings.onnx_file, settings, environment)
    }

    fn load_from(
        dir: &Path,
        onnx_file: &str,
        settings: &RerankSettings,
        environment: ort::environment::Environment,
    ) -> Result<Reranker, ModelError> {
        let onnx_path = dir.join(onnx_file);
        let onnx = read_model_file(&onnx_path, "reranker model")?;
        let sha256 = hex(&Sha256::digest(&onnx));
        let file = |name: &str| read_model_file(&dir.join(name), "reranker tokenizer file");
        let tokenizer_files = TokenizerFiles {
            tokenizer_file: file("tokenizer.json")?,
            config_file: file("config.json")?,
            special_tokens_map_file: file("special_tokens_map.json")?,
            tokenizer_config_file: file("tokenizer_config.json")?,
        };
        let mut options = RerankInitOptionsUserDefined::default();
        options.environment = Some(environment);
        options.max_length = settings.max_tokens;
        if settings.threads > 0 {
            options.intra_threads = Some(settings.threads);
        }
        let (key, value) = crate::models::spinning(settings.spin);
        options = options.with_session_config(key, value);
        let model = TextRerank::try_new_from_user_defined(UserDefinedRerankingModel::new(onnx, tokenizer_files), options)
            .map_err(|e| ModelError::Load { path: onnx_path.clone(), why: e.to_string() })?;
        Ok(Reranker {
            model: Mutex::new(model),
            identity: RerankerIdentity { path: onnx_path, sha256 },
            batch_size: settings.batch_size.max(1),
        })
    }

    pub fn identity(&self) -> &RerankerIdentity {
        &self.identity
    }

    /// One relevance score (the model's logit) per text, in input order.
    pub fn score(&self, query: &str, texts: &[&str]) -> Result<Vec<f32>, ModelError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let mut model = self.model.lock().map_err(|_| ModelError::Inference("reranker lock poisoned".into()))?;
        let results = model
            .rerank(query, texts, false, Some(self.batch_size))
            .map_err(|e| ModelError::Inference(e.to_string()))?;
        let mut scores = vec![f32::NEG_INFINITY; texts.len()];
        for r in results {
            if let Some(slot) = scores.get_mut(r.index) {
                *slot = r.score;
            }
        }
        Ok(scores)
    }
}
