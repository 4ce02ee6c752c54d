use std::path::PathBuf;

/// What can go wrong reading a run folder or drawing a chart.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Records(#[from] records::Error),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    /// A file that is there but cannot be read as expected: `loc` names the line or field.
    #[error("{path}: {loc}: {msg}")]
    Parse { path: PathBuf, loc: String, msg: String },
    /// A file the analysis needs is not there; `hint` says which command makes it.
    #[error("{path} not found; {hint}")]
    Missing { path: PathBuf, hint: String },
    #[error("chart `{title}`: {msg}")]
    Chart { title: String, msg: String },
    #[cfg(feature = "frames")]
    #[error("{path}: {source}")]
    Polars { path: PathBuf, source: polars::error::PolarsError },
}

impl Error {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io { path: path.into(), source }
    }
}

pub type Result<T> = std::result::Result<T, Error>;
