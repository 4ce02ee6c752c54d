//! One run folder (`runs/<name>/`), read-only, through the `records` crate's [`RunDir`]:
//! where each output lives and typed readers that name the file and line of anything
//! malformed, or the command that makes a missing file.
use crate::Result;
use records::RunDir;
use serde::de::DeserializeOwned;
use std::path::PathBuf;

/// A run folder written by `srlm iterate` (and `srlm-eval run`); derefs to [`RunDir`]
/// (`iter_summary`, `dpo_log`, `eval_summary`, `judge_scores`, `test_scores`, ...).
#[derive(Debug, Clone)]
pub struct RunFolder(RunDir);

impl RunFolder {
    /// Opens a run folder; it must hold the `config.toml` every run saves first.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self> {
        Ok(Self(RunDir::open(root)?))
    }

    /// The run named by `$SRLM_RUN`, else `runs/default` of this workspace.
    pub fn from_env() -> Result<Self> {
        Self::open(crate::paths::run())
    }

    /// A JSONL file that must exist (`hint`: the command that makes it), one record a line.
    pub fn read_jsonl<T: DeserializeOwned>(&self, rel: &str, hint: &str) -> Result<Vec<T>> {
        Ok(records::read_jsonl(&self.0.require(rel, hint)?)?)
    }
}

impl std::ops::Deref for RunFolder {
    type Target = RunDir;
    fn deref(&self) -> &RunDir {
        &self.0
    }
}
