//! What made a stage's output: the config values and the inputs (files, checkpoints, the
//! judge prompt's text) it depends on. Recorded in the stage's `.begun` marker when it
//! starts and its `.done` marker when it ends; a resumed run compares them with what it
//! would use now and refuses a mismatch, saying what changed, instead of reusing output
//! made from something else (a deleted `config.toml`, a swapped tokenizer, another M_t).
use crate::rundir::RunDir;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::Path;

/// The record of one stage's making.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    /// Config values the stage depends on, by key path (`sft.steps` -> 250).
    pub config: BTreeMap<String, Value>,
    /// Inputs by name (a run-folder path, or `judge prompt`) -> SHA-256 of their content.
    pub inputs: BTreeMap<String, String>,
}

/// SHA-256 of bytes, hex.
pub fn digest(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// SHA-256 of a file's content, or of a folder's files (names and contents, in name order).
pub fn digest_path(path: &Path) -> Result<String> {
    let mut h = Sha256::new();
    hash_into(&mut h, path, Path::new(""))?;
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

fn hash_into(h: &mut Sha256, path: &Path, rel: &Path) -> Result<()> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if meta.is_dir() {
        let mut names: Vec<_> = std::fs::read_dir(path)
            .map_err(|e| Error::io(path, e))?
            .map(|e| e.map(|e| e.file_name()).map_err(|e| Error::io(path, e)))
            .collect::<Result<_>>()?;
        names.sort();
        for n in names {
            // Temporary files of an interrupted write are not content.
            if !crate::fs::is_tmp_name(&n.to_string_lossy()) {
                hash_into(h, &path.join(&n), &rel.join(&n))?;
            }
        }
    } else {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        h.update(rel.to_string_lossy().as_bytes());
        h.update((bytes.len() as u64).to_le_bytes());
        h.update(&bytes);
    }
    Ok(())
}

impl Provenance {
    /// Adds a config value under `key`, flattened to one entry per leaf (`sft.steps`, ...).
    pub fn config<T: Serialize>(mut self, key: &str, v: &T) -> Result<Self> {
        let v = serde_json::to_value(v).map_err(|e| Error::Serialize { path: key.into(), msg: e.to_string() })?;
        flatten(key, v, &mut self.config);
        Ok(self)
    }

    /// Adds a run-folder input (file or folder) by its path relative to the run.
    pub fn input(mut self, run: &RunDir, rel: &str) -> Result<Self> {
        self.inputs.insert(rel.to_string(), digest_path(&run.path(rel))?);
        Ok(self)
    }

    /// Adds an input known by its digest.
    pub fn digest(mut self, name: &str, digest: String) -> Self {
        self.inputs.insert(name.to_string(), digest);
        self
    }

    /// What differs from `was` (the record of the earlier making), one line per key or input.
    pub fn changes(&self, was: &Provenance) -> Vec<String> {
        let show = |v: Option<&Value>| v.map_or("(absent)".to_string(), |v| v.to_string());
        let mut out = vec![];
        let keys: std::collections::BTreeSet<&String> = self.config.keys().chain(was.config.keys()).collect();
        for k in keys {
            let (old, new) = (was.config.get(k), self.config.get(k));
            if old != new {
                out.push(format!("{k}: {} -> {}", show(old), show(new)));
            }
        }
        let names: std::collections::BTreeSet<&String> = self.inputs.keys().chain(was.inputs.keys()).collect();
        for n in names {
            match (was.inputs.get(n), self.inputs.get(n)) {
                (Some(a), Some(b)) if a != b => out.push(format!("{n}: other content (sha256 {} -> {})", &a[..12.min(a.len())], &b[..12.min(b.len())])),
                (None, Some(_)) => out.push(format!("{n}: a new input")),
                (Some(_), None) => out.push(format!("{n}: no longer an input")),
                _ => {}
            }
        }
        out
    }
}

fn flatten(key: &str, v: Value, out: &mut BTreeMap<String, Value>) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, v) in m {
                flatten(&format!("{key}.{k}"), v, out);
            }
        }
        v => {
            out.insert(key.to_string(), v);
        }
    }
}
