//! The engine's one error type.
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
    #[error(transparent)]
    Records(#[from] records::Error),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: line {line}: {msg}")]
    Parse { path: PathBuf, line: usize, msg: String },
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    #[error("{path}: missing tensor `{name}` (expected shape {shape:?})")]
    MissingTensor { path: PathBuf, name: String, shape: Vec<usize> },
    #[error(
        "model file `{file}` of `{repo}` (revision `{revision}`) is not in the Hugging Face cache at {cache}; \
         download it first (e.g. `huggingface-cli download {repo} {file}`), point HF_HOME at a cache that has it, \
         or pass --allow-network to fetch it"
    )]
    NotInCache { repo: String, revision: String, file: String, cache: PathBuf },
    #[error("network access to the Hugging Face hub failed for `{repo}`/`{file}`: {msg}")]
    Download { repo: String, file: String, msg: String },
    #[error("{path}: GGUF key `{key}`: {msg}")]
    Gguf { path: PathBuf, key: String, msg: String },
    #[error("unsupported model: {0}")]
    Unsupported(String),
    #[error("invalid argument: {0}")]
    Invalid(String),
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io { path: path.into(), source }
    }
}
