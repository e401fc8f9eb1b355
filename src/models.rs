//! Where the model files live in the model cache (filled by scripts/fetch-models.sh), and the one-time
//! loading of ONNX Runtime. Nothing here downloads: model hubs are unreachable on the target machines.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The file layout of the model cache. Names match scripts/fetch-models.sh.
#[derive(Debug, Clone)]
pub struct ModelCache {
    pub dir: PathBuf,
}

impl ModelCache {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        ModelCache { dir: dir.into() }
    }

    pub fn onnxruntime_library(&self) -> PathBuf {
        self.dir.join("onnxruntime/libonnxruntime.so.1.24.4")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("{what} not found at {path}; run scripts/fetch-models.sh (or set CURATOR_PATHS_MODEL_DIR)")]
    Missing { what: &'static str, path: PathBuf },
    #[error("cannot read {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("ONNX Runtime at {path} could not be loaded: {why}")]
    Runtime { path: PathBuf, why: String },
    #[error("model {path} could not be loaded: {why}")]
    Load { path: PathBuf, why: String },
    #[error("inference failed: {0}")]
    Inference(String),
}

pub(crate) fn read_model_file(path: &Path, what: &'static str) -> Result<Vec<u8>, ModelError> {
    if !path.is_file() {
        return Err(ModelError::Missing { what, path: path.to_path_buf() });
    }
    std::fs::read(path).map_err(|source| ModelError::Io { path: path.to_path_buf(), source })
}

static ORT_ENVIRONMENT: OnceLock<Result<ort::environment::Environment, String>> = OnceLock::new();

/// Loads ONNX Runtime from `library` once per process and returns its environment.
///
/// ort panics inside `dlopen` when the library is missing, so the file is checked first.
pub fn onnxruntime(library: &Path) -> Result<ort::environment::Environment, ModelError> {
    if !library.is_file() {
        return Err(ModelError::Missing { what: "ONNX Runtime shared library", path: library.to_path_buf() });
    }
    let env = ORT_ENVIRONMENT.get_or_init(|| {
        ort::init_from(library)
            .map_err(|e| e.to_string())?
            .with_name("curator")
            .build()
            .map_err(|e| e.to_string())
    });
    env.clone().map_err(|why| ModelError::Runtime { path: library.to_path_buf(), why })
}

/// The ONNX Runtime session entry that lets its intra-op threads spin after a call (`spin`) or not. On 2
/// cores shared with llama.cpp, spinning threads slow the prompt evaluation that follows reranking.
pub fn spinning(spin: bool) -> (&'static str, &'static str) {
    ("session.intra_op.allow_spinning", if spin { "1" } else { "0" })
}
