//! Embedding: text to 384-dimensional unit vectors with all-MiniLM-L6-v2 (int8 ONNX, mean pooling), as
//! fetched or as fine-tuned on museum data by scripts/train-embedding.sh (`embedding.model_dir`).
//!
//! The model's identity (name and file checksum) is stamped into every index generation: vectors from two
//! different models must never be compared, so a generation built with another model is refused.

use std::path::Path;
use std::sync::Mutex;

use fastembed::{InitOptionsUserDefined, Pooling, TextEmbedding, TokenizerFiles, UserDefinedEmbeddingModel};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::config::EmbeddingSettings;
use crate::models::{onnxruntime, read_model_file, ModelCache, ModelError};
use crate::records::hex;

pub const EMBEDDING_MODEL_ID: &str = "sentence-transformers/all-MiniLM-L6-v2 int8 ONNX, mean pooling";
pub const DIMENSIONS: usize = 384;
/// MiniLM was trained on 256-token inputs; longer ones are truncated by the tokenizer.
pub const MAX_INPUT_TOKENS: usize = 256;

/// Which model made a set of vectors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmbeddingIdentity {
    pub model_id: String,
    pub sha256: String,
    pub dimensions: usize,
}

pub struct Embedder {
    // fastembed's `embed` takes `&mut self`: one session, one caller at a time. Two sessions of the same
    // model, so that a question's embedding never waits behind an ingest's thousands of chunks (issue 11:
    // the lock was held for a whole group of 1,024 records while searches waited).
    interactive: Mutex<TextEmbedding>,
    bulk: Mutex<TextEmbedding>,
    tokenizer: tokenizers::Tokenizer,
    identity: EmbeddingIdentity,
    batch_size: usize,
}

impl Embedder {
    pub fn load(cache: &ModelCache, settings: &EmbeddingSettings) -> Result<Embedder, ModelError> {
        let environment = onnxruntime(&cache.onnxruntime_library())?;
        let dir = settings.dir_in(&cache.dir);
        let onnx_path = dir.join("model.onnx");
        let onnx = read_model_file(&onnx_path, "embedding model")?;
        let identity = identity_of(&dir, &onnx)?;
        let file = |name: &str| read_model_file(&dir.join(name), "embedding tokenizer file");
        let tokenizer_json = file("tokenizer.json")?;
        let tokenizer_files = TokenizerFiles {
            tokenizer_file: tokenizer_json.clone(),
            config_file: file("config.json")?,
            special_tokens_map_file: file("special_tokens_map.json")?,
            tokenizer_config_file: file("tokenizer_config.json")?,
        };
        let model = UserDefinedEmbeddingModel::new(onnx, tokenizer_files).with_pooling(Pooling::Mean);
        let mut options = InitOptionsUserDefined::new().with_environment(environment).with_max_length(MAX_INPUT_TOKENS);
        if settings.threads > 0 {
            options = options.with_intra_threads(settings.threads);
        }
        let (key, value) = crate::models::spinning(settings.spin);
        options = options.with_session_config(key, value);
        let load_error = |why: String| ModelError::Load { path: onnx_path.clone(), why };
        let interactive = TextEmbedding::try_new_from_user_defined(model.clone(), options.clone()).map_err(|e| load_error(e.to_string()))?;
        let bulk = TextEmbedding::try_new_from_user_defined(model, options).map_err(|e| load_error(e.to_string()))?;
        let tokenizer = tokenizers::Tokenizer::from_bytes(&tokenizer_json).map_err(|e| load_error(e.to_string()))?;
        Ok(Embedder {
            interactive: Mutex::new(interactive),
            bulk: Mutex::new(bulk),
            tokenizer,
            identity,
            batch_size: settings.batch_size,
        })
    }

    /// The identity of the model in `dir` (its checksum and manifest name), without loading it.
    pub fn identity_in(dir: &Path) -> Result<EmbeddingIdentity, ModelError> {
        identity_of(dir, &read_model_file(&dir.join("model.onnx"), "embedding model")?)
    }

    pub fn identity(&self) -> &EmbeddingIdentity {
        &self.identity
    }

    /// The model's own tokenizer: chunk sizes are counted in its tokens.
    pub fn tokenizer(&self) -> &tokenizers::Tokenizer {
        &self.tokenizer
    }

    /// Embeds many `texts` (an ingest's chunks) on the bulk session. Output order = input order.
    pub fn embed_bulk(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, ModelError> {
        self.embed_on(&self.bulk, texts)
    }

    /// Embeds a few `texts` at question time (evidence, citation checks) on the interactive session.
    pub fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, ModelError> {
        self.embed_on(&self.interactive, texts)
    }

    fn embed_on(&self, session: &Mutex<TextEmbedding>, texts: &[&str]) -> Result<Vec<Vec<f32>>, ModelError> {
        // Sorting by length keeps each batch's padding (to its longest text) small.
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| texts[i].len());
        let mut out = vec![Vec::new(); texts.len()];
        let mut model = session.lock().map_err(|_| ModelError::Inference("embedding model lock poisoned".into()))?;
        for batch in order.chunks(self.batch_size) {
            let batch_texts: Vec<&str> = batch.iter().map(|&i| texts[i]).collect();
            let vectors = model
                .embed(&batch_texts, Some(self.batch_size))
                .map_err(|e| ModelError::Inference(e.to_string()))?;
            for (&i, v) in batch.iter().zip(vectors) {
                out[i] = unit(v);
            }
        }
        Ok(out)
    }

    pub fn embed_one(&self, text: &str) -> Result<Vec<f32>, ModelError> {
        self.embed(&[text])?.pop().ok_or_else(|| ModelError::Inference("no vector returned".into()))
    }
}

/// `v` scaled to length 1 (a zero vector stays zero).
pub fn unit(mut v: Vec<f32>) -> Vec<f32> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
    v
}

/// The model's name: the `name` in its folder's manifest.json (a model curator trained,
/// scripts/train-embedding.sh), else the fetched all-MiniLM-L6-v2's.
/// The identity of the model whose ONNX file in `dir` holds `onnx`.
fn identity_of(dir: &Path, onnx: &[u8]) -> Result<EmbeddingIdentity, ModelError> {
    Ok(EmbeddingIdentity { model_id: model_name(dir)?, sha256: hex(&Sha256::digest(onnx)), dimensions: DIMENSIONS })
}

fn model_name(dir: &Path) -> Result<String, ModelError> {
    let path = dir.join("manifest.json");
    if !path.is_file() {
        return Ok(EMBEDDING_MODEL_ID.to_string());
    }
    let manifest: serde_json::Value = serde_json::from_slice(&read_model_file(&path, "embedding model manifest")?)
        .map_err(|e| ModelError::Load { path: path.clone(), why: e.to_string() })?;
    manifest["name"].as_str().map(str::to_string).ok_or_else(|| ModelError::Load { path, why: "no \"name\"".into() })
}

/// Cosine similarity of two unit vectors.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}
