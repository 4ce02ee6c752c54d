//! The run folder: every file the pipeline reads or writes goes through here.
//!
//! Layout: `config.toml`, `seed/` (tokenizer and seed data), `m1/`, `sft_baseline/`
//! (checkpoints), `work/` (resumable state), `iter_<t>/` (one per iteration: prompts,
//! candidates, judgments, pairs, `dpo.json`, `summary.json`), `m<t>/` (M_t), `eval/`.
//! Each stage leaves `<stage>.begun` while it runs and `<stage>.done` when it is finished,
//! both holding its [`Provenance`].
use crate::evaluation::{EvalSummary, JudgeScore, TestScore};
use crate::iteration::{IterSummary, Progress};
use crate::provenance::Provenance;
use crate::{Error, Result};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct RunDir {
    pub root: PathBuf,
}

/// The exclusive hold of one process on a run folder, released when dropped (or when the
/// process dies: the OS drops the lock with the file).
#[derive(Debug)]
pub struct RunLock {
    _file: std::fs::File,
}

impl RunDir {
    /// Takes the run folder for this process, or refuses naming the process that holds it;
    /// once held, temporary files an earlier process left behind are removed.
    pub fn lock(&self) -> Result<RunLock> {
        use std::io::{Read, Seek, Write};
        std::fs::create_dir_all(&self.root).map_err(|e| Error::io(&self.root, e))?;
        let path = self.root.join(".lock");
        let mut file = std::fs::OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&path).map_err(|e| Error::io(&path, e))?;
        match file.try_lock() {
            Ok(()) => {
                file.set_len(0).and_then(|_| file.rewind()).and_then(|_| write!(file, "{}", std::process::id())).map_err(|e| Error::io(&path, e))?;
                // Held alone now: what a killed or failed process left half-written goes.
                let n = crate::fs::remove_stale_temps(&self.root)?;
                if n > 0 {
                    tracing::info!("removed {n} temporary files left in {} by an earlier process", self.root.display());
                }
                Ok(RunLock { _file: file })
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut pid = String::new();
                let _ = file.read_to_string(&mut pid);
                Err(Error::Refused(format!("run folder {} is in use by another process (pid {}); wait for it to finish or stop it", self.root.display(), pid.trim())))
            }
            Err(std::fs::TryLockError::Error(e)) => Err(Error::io(&path, e)),
        }
    }

    pub fn new(runs_dir: &Path, name: &str) -> Self {
        Self { root: runs_dir.join(name) }
    }
    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }
    /// Folder of iteration `t` (which turns M_t into M_{t+1}).
    pub fn iter(&self, t: usize) -> String {
        format!("iter_{t}")
    }
    /// Checkpoint folder of model M_t (`m1` is the SFT model).
    pub fn model(&self, t: usize) -> PathBuf {
        self.root.join(format!("m{t}"))
    }
    pub fn exists(&self, rel: &str) -> bool {
        self.path(rel).exists()
    }

    pub fn write_bytes(&self, rel: &str, bytes: &[u8]) -> Result<()> {
        crate::fs::write_atomic(&self.path(rel), bytes)
    }

    pub fn write_jsonl<T: Serialize>(&self, rel: &str, items: &[T]) -> Result<()> {
        crate::fs::write_jsonl(&self.path(rel), items)
    }

    /// Reads JSONL; a bad line is an error naming the file, line and field.
    pub fn read_jsonl<T: DeserializeOwned>(&self, rel: &str) -> Result<Vec<T>> {
        crate::fs::read_jsonl(&self.path(rel))
    }

    pub fn write_json<T: Serialize>(&self, rel: &str, v: &T) -> Result<()> {
        crate::fs::write_json(&self.path(rel), v)
    }

    pub fn read_json<T: DeserializeOwned>(&self, rel: &str) -> Result<T> {
        crate::fs::read_json(&self.path(rel))
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

    /// Whether a stage finished (its marker file exists), whatever made it.
    pub fn is_done(&self, stage: &str) -> bool {
        self.path(&format!("{stage}.done")).exists()
    }

    /// Whether `stage` is done, made by `now`; when not, records that it begins with `now`.
    /// Refused, saying what changed, when the stage was finished or begun (partial output
    /// kept for resuming) with other config values or inputs. A marker from before
    /// provenance was recorded (empty) counts as done, with a warning.
    pub fn stage(&self, stage: &str, now: &Provenance) -> Result<bool> {
        self.stage_record(stage, now, true)
    }

    /// Checks `stage`'s record, if it has one, against `now`, writing nothing.
    pub fn check_stage(&self, stage: &str, now: &Provenance) -> Result<()> {
        self.stage_record(stage, now, false).map(|_| ())
    }

    /// Whether `stage` has a record (done or begun).
    pub fn has_record(&self, stage: &str) -> bool {
        self.is_done(stage) || self.exists(&format!("{stage}.begun"))
    }

    fn stage_record(&self, stage: &str, now: &Provenance, begin: bool) -> Result<bool> {
        for (suffix, what) in [("done", "made"), ("begun", "begun")] {
            let rel = format!("{stage}.{suffix}");
            if !self.exists(&rel) {
                continue;
            }
            let p = self.path(&rel);
            let text = std::fs::read_to_string(&p).map_err(|e| Error::io(&p, e))?;
            if text.trim().is_empty() {
                tracing::warn!("{}: made before stages recorded their inputs; reused unchecked", p.display());
                return Ok(suffix == "done");
            }
            let was: Provenance = serde_json::from_str(&text).map_err(|e| Error::Parse { path: p.clone(), line: e.line(), msg: e.to_string() })?;
            let changes = now.changes(&was);
            if !changes.is_empty() {
                return Err(Error::Refused(format!(
                    "{stage} in {} was {what} from other inputs than this run would use now:\n  {}\n\
                     Resuming would mix them. Use another --name, or restore what changed, or delete {} and what follows it to redo it.",
                    self.root.display(),
                    changes.join("\n  "),
                    stage
                )));
            }
            if suffix == "done" {
                return Ok(true);
            }
            if begin {
                tracing::info!("stage {stage} resumes");
            }
            return Ok(false);
        }
        if begin {
            self.write_json(&format!("{stage}.begun"), now)?;
            tracing::info!("stage {stage} begins");
        }
        Ok(false)
    }

    /// Marks `stage` done, made by `by` (its `.done` marker holds the record).
    pub fn finish(&self, stage: &str, by: &Provenance) -> Result<()> {
        self.write_json(&format!("{stage}.done"), by)?;
        let begun = self.path(&format!("{stage}.begun"));
        match std::fs::remove_file(&begun) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::io(&begun, e)),
            _ => Ok(()),
        }
    }
}

/// Typed readers of the finished outputs (for the evaluation, the analysis and the
/// notebooks); a missing file says which command makes it.
impl RunDir {
    /// Opens an existing run folder: it must hold the `config.toml` every run saves first.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self> {
        let root = root.into();
        let cfg = root.join("config.toml");
        if !cfg.exists() {
            return Err(Error::Missing { path: cfg, hint: "not a run folder: run `make iterate` (or set SRLM_RUN to a run folder)".into() });
        }
        Ok(Self { root })
    }

    /// The run's name (its folder name).
    pub fn name(&self) -> String {
        self.root.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
    }

    /// Finished iterations, in order: t such that `iter_<t>/summary.json` exists.
    pub fn iterations(&self) -> Vec<usize> {
        (1..).take_while(|t| self.path(&format!("iter_{t}/summary.json")).exists()).collect()
    }

    /// What iteration t did (`iter_<t>/summary.json`).
    pub fn iter_summary(&self, t: usize) -> Result<IterSummary> {
        crate::fs::read_json(&self.require(&format!("iter_{t}/summary.json"), ITERATE)?)
    }

    /// DPO progress of iteration t (M_t -> M_{t+1}), `iter_<t>/dpo.json`.
    pub fn dpo_log(&self, t: usize) -> Result<Progress> {
        crate::fs::read_json(&self.require(&format!("iter_{t}/dpo.json"), ITERATE)?)
    }

    /// `eval/summary.json`.
    pub fn eval_summary(&self) -> Result<EvalSummary> {
        crate::fs::read_json(&self.require("eval/summary.json", EVAL)?)
    }

    /// `eval/judge_scores.jsonl`: each model's score of each held-out EFT response.
    pub fn judge_scores(&self) -> Result<Vec<JudgeScore>> {
        crate::fs::read_jsonl(&self.require("eval/judge_scores.jsonl", EVAL)?)
    }

    /// `eval/test_scores.jsonl`: each model's graded answer to each test prompt.
    pub fn test_scores(&self) -> Result<Vec<TestScore>> {
        crate::fs::read_jsonl(&self.require("eval/test_scores.jsonl", EVAL)?)
    }
}

const ITERATE: &str = "run `make iterate`";
const EVAL: &str = "run `make eval`";

#[cfg(test)]
mod lock_tests {
    use super::*;

    /// A second hold on the same run folder is refused naming the holder; after the first
    /// is released the folder can be taken again.
    #[test]
    fn one_process_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let run = RunDir::new(dir.path(), "r");
        std::fs::create_dir_all(&run.root).unwrap();
        std::fs::write(run.root.join("summary.json.tmp99"), b"half").unwrap();
        let held = run.lock().unwrap();
        assert!(!run.root.join("summary.json.tmp99").exists(), "a stale temp file survived");
        let e = run.lock().unwrap_err().to_string();
        assert!(e.contains("in use") && e.contains(&std::process::id().to_string()), "{e}");
        drop(held);
        run.lock().unwrap();
    }
}

#[cfg(test)]
mod reader_tests {
    use super::*;

    /// Readers name what is wrong: a folder without `config.toml`, a missing output with
    /// the command that makes it, a bad JSONL line with its number.
    #[test]
    fn readers_name_the_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let e = RunDir::open(dir.path()).unwrap_err().to_string();
        assert!(e.contains("config.toml") && e.contains("not a run folder"), "{e}");
        std::fs::write(dir.path().join("config.toml"), "").unwrap();
        let run = RunDir::open(dir.path()).unwrap();
        let e = run.eval_summary().unwrap_err().to_string();
        assert!(e.contains("eval/summary.json") && e.contains("make eval"), "{e}");
        run.write_bytes("eval/test_scores.jsonl", b"{\"model\":\"M1\",\"prompt_id\":1,\"family\":\"count\",\"words\":2,\"grader\":5.0}\n\n{\"model\":3}\n").unwrap();
        let e = run.test_scores().unwrap_err().to_string();
        assert!(e.contains("test_scores.jsonl: line 3"), "{e}");
        assert!(run.iterations().is_empty());
        run.write_json("iter_1/summary.json", &IterSummary { iteration: 1, ..Default::default() }).unwrap();
        assert_eq!((run.iterations(), run.iter_summary(1).unwrap().iteration), (vec![1], 1));
    }
}
