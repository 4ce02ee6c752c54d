//! What can go wrong reading or writing a run folder.
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    /// A file that is there but cannot be read as a record: the line (1-based) and why.
    #[error("{path}: line {line}: {msg}")]
    Parse { path: PathBuf, line: usize, msg: String },
    /// A file that is not there; `hint` says which command makes it.
    #[error("{path} not found; {hint}")]
    Missing { path: PathBuf, hint: String },
    /// The run folder is held by another process, or a stage's record refuses a resume.
    #[error("{0}")]
    Refused(String),
    /// A record that cannot be written as JSON.
    #[error("{path}: {msg}")]
    Serialize { path: PathBuf, msg: String },
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io { path: path.into(), source }
    }
}
