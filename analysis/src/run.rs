//! One run folder (`runs/<name>/`), read-only: where each output lives and typed
//! readers that name the file and line of anything malformed.
use crate::records::{EvalSummary, IterSummary, JudgeScore, TestScore, TrainLog};
use crate::{Error, Result};
use serde::de::DeserializeOwned;
use std::path::{Path, PathBuf};

/// A run folder written by `srlm iterate` (and `srlm-eval run`).
#[derive(Debug, Clone, PartialEq)]
pub struct RunFolder {
    pub root: PathBuf,
}

impl RunFolder {
    /// Opens a run folder; it must hold the `config.toml` every run saves first.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self> {
        let root = root.into();
        let cfg = root.join("config.toml");
        if !cfg.exists() {
            return Err(Error::Missing { path: cfg, hint: "not a run folder: run `make iterate` (or set SRLM_RUN to a run folder)".into() });
        }
        Ok(Self { root })
    }

    /// The run named by `$SRLM_RUN`, else `runs/default` of this workspace.
    pub fn from_env() -> Result<Self> {
        Self::open(crate::paths::run())
    }

    /// The run's name (its folder name).
    pub fn name(&self) -> String {
        self.root.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    /// Finished iterations, in order: t such that `iter_<t>/summary.json` exists.
    pub fn iterations(&self) -> Vec<usize> {
        (1..).take_while(|t| self.path(&format!("iter_{t}/summary.json")).exists()).collect()
    }

    pub fn iter_summary(&self, t: usize) -> Result<IterSummary> {
        self.read_json(&format!("iter_{t}/summary.json"), "run `make iterate`")
    }

    /// DPO progress of iteration t (M_t -> M_{t+1}).
    pub fn dpo_log(&self, t: usize) -> Result<TrainLog> {
        self.read_json(&format!("iter_{t}/dpo.json"), "run `make iterate`")
    }

    pub fn eval_summary(&self) -> Result<EvalSummary> {
        self.read_json("eval/summary.json", "run `make eval`")
    }

    pub fn judge_scores(&self) -> Result<Vec<JudgeScore>> {
        self.read_jsonl("eval/judge_scores.jsonl", "run `make eval`")
    }

    pub fn test_scores(&self) -> Result<Vec<TestScore>> {
        self.read_jsonl("eval/test_scores.jsonl", "run `make eval`")
    }

    /// The path of a file that must exist, or an error saying which command makes it.
    pub fn require(&self, rel: &str, hint: &str) -> Result<PathBuf> {
        let p = self.path(rel);
        if p.exists() {
            Ok(p)
        } else {
            Err(Error::Missing { path: p, hint: hint.into() })
        }
    }

    pub fn read_json<T: DeserializeOwned>(&self, rel: &str, hint: &str) -> Result<T> {
        let p = self.require(rel, hint)?;
        let text = std::fs::read_to_string(&p).map_err(|e| Error::io(&p, e))?;
        serde_json::from_str(&text).map_err(|e| Error::Parse { path: p, loc: format!("line {} column {}", e.line(), e.column()), msg: e.to_string() })
    }

    pub fn read_jsonl<T: DeserializeOwned>(&self, rel: &str, hint: &str) -> Result<Vec<T>> {
        let p = self.require(rel, hint)?;
        read_jsonl(&p)
    }
}

/// Reads a JSONL file with serde; a bad line is named with its number.
pub fn read_jsonl<T: DeserializeOwned>(p: &Path) -> Result<Vec<T>> {
    let text = std::fs::read_to_string(p).map_err(|e| Error::io(p, e))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| serde_json::from_str(l).map_err(|e| Error::Parse { path: p.into(), loc: format!("line {}", i + 1), msg: e.to_string() }))
        .collect()
}

/// Writes a file through a temporary file and a rename, creating parent folders.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let tmp = dir.join(format!(".{}.tmp", path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()));
    std::fs::write(&tmp, bytes).map_err(|e| Error::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
}
