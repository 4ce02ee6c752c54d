//! Files of a run: atomic output (a temporary file beside the target, fsync, rename),
//! directory swaps, and the one JSON / JSONL reader and writer, whose errors name the
//! file and line.
use crate::{Error, Result};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The temporary path used while `path` is being written.
pub fn tmp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(format!(".tmp{}", std::process::id()));
    path.with_file_name(name)
}

/// Writes `bytes` to `path` so that readers see the old file or the whole new one.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(dir) = path.parent() {
        if !dir.as_os_str().is_empty() {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        }
    }
    let tmp = tmp_path(path);
    let written = std::fs::File::create(&tmp).and_then(|mut f| {
        f.write_all(bytes)?;
        f.sync_all()
    });
    if let Err(e) = written {
        // A full disk, say: the half-written temp file goes, the old file stays.
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io(&tmp, e));
    }
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
}

/// Replaces directory `dst` by the fully written directory `src` (two renames;
/// a crash in between leaves `dst.old`, which [`finish_dir_swap`] completes).
pub fn swap_dir(src: &Path, dst: &Path) -> Result<()> {
    let old = old_path(dst);
    if dst.exists() {
        if old.exists() {
            std::fs::remove_dir_all(&old).map_err(|e| Error::io(&old, e))?;
        }
        std::fs::rename(dst, &old).map_err(|e| Error::io(dst, e))?;
    }
    std::fs::rename(src, dst).map_err(|e| Error::io(dst, e))?;
    if old.exists() {
        std::fs::remove_dir_all(&old).map_err(|e| Error::io(&old, e))?;
    }
    Ok(())
}

/// Whether `name` is one of [`tmp_path`]'s names (`<target>.tmp<pid>`).
pub fn is_tmp_name(name: &str) -> bool {
    name.rfind(".tmp").is_some_and(|i| {
        let pid = &name[i + 4..];
        i > 0 && !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit())
    })
}

/// Removes the temporary files and folders ([`tmp_path`]) under `root` that a killed or
/// failed process left behind; call it only while holding the folder exclusively. Returns
/// how many were removed. `.old` folders are left to [`finish_dir_swap`], which may need them.
pub fn remove_stale_temps(root: &Path) -> Result<usize> {
    let mut removed = 0;
    let Ok(entries) = std::fs::read_dir(root) else { return Ok(0) };
    for e in entries {
        let e = e.map_err(|err| Error::io(root, err))?;
        let path = e.path();
        let is_dir = e.file_type().map_err(|err| Error::io(&path, err))?.is_dir();
        if is_tmp_name(&e.file_name().to_string_lossy()) {
            let r = if is_dir { std::fs::remove_dir_all(&path) } else { std::fs::remove_file(&path) };
            r.map_err(|err| Error::io(&path, err))?;
            removed += 1;
        } else if is_dir {
            removed += remove_stale_temps(&path)?;
        }
    }
    Ok(removed)
}

fn old_path(dst: &Path) -> PathBuf {
    let mut name = dst.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".old");
    dst.with_file_name(name)
}

/// After a crash between the two renames of [`swap_dir`], puts `dst.old` back.
pub fn finish_dir_swap(dst: &Path) -> Result<()> {
    let old = old_path(dst);
    if !dst.exists() && old.exists() {
        std::fs::rename(&old, dst).map_err(|e| Error::io(dst, e))?;
    } else if dst.exists() && old.exists() {
        std::fs::remove_dir_all(&old).map_err(|e| Error::io(&old, e))?;
    }
    Ok(())
}

/// Reads a JSONL file; a bad line is an error naming the file, line and field.
pub fn read_jsonl<T: DeserializeOwned>(path: &Path) -> Result<Vec<T>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    parse_jsonl(&text, path)
}

/// JSONL text read from `path` (named in errors); blank lines are skipped.
pub fn parse_jsonl<T: DeserializeOwned>(text: &str, path: &Path) -> Result<Vec<T>> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| serde_json::from_str(l).map_err(|e| Error::Parse { path: path.into(), line: i + 1, msg: e.to_string() }))
        .collect()
}

/// Writes `items` as JSONL (one compact JSON value a line), atomically.
pub fn write_jsonl<T: Serialize>(path: &Path, items: &[T]) -> Result<()> {
    let mut s = String::new();
    for it in items {
        s.push_str(&serde_json::to_string(it).map_err(|e| Error::Serialize { path: path.into(), msg: e.to_string() })?);
        s.push('\n');
    }
    write_atomic(path, s.as_bytes())
}

/// Reads a JSON file; an error names the file and line.
pub fn read_json<T: DeserializeOwned>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    serde_json::from_str(&text).map_err(|e| Error::Parse { path: path.into(), line: e.line(), msg: e.to_string() })
}

/// Writes `v` as pretty-printed JSON, atomically.
pub fn write_json<T: Serialize>(path: &Path, v: &T) -> Result<()> {
    let s = serde_json::to_string_pretty(v).map_err(|e| Error::Serialize { path: path.into(), msg: e.to_string() })?;
    write_atomic(path, s.as_bytes())
}

#[cfg(test)]
mod stale_tests {
    use super::*;

    #[test]
    fn stale_temps_go_and_everything_else_stays() {
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        std::fs::create_dir_all(r.join("iter_1/m2.tmp456")).unwrap();
        std::fs::write(r.join("iter_1/m2.tmp456/model.safetensors"), b"x").unwrap();
        std::fs::write(r.join("config.toml.tmp123"), b"x").unwrap();
        std::fs::write(r.join("config.toml"), b"keep").unwrap();
        std::fs::create_dir_all(r.join("m1.old")).unwrap();
        std::fs::write(r.join("notes.tmpfile"), b"keep").unwrap();
        std::fs::write(r.join("x.tmp"), b"keep").unwrap();
        assert_eq!(remove_stale_temps(r).unwrap(), 2);
        assert!(!r.join("iter_1/m2.tmp456").exists() && !r.join("config.toml.tmp123").exists());
        for keep in ["config.toml", "m1.old", "notes.tmpfile", "x.tmp", "iter_1"] {
            assert!(r.join(keep).exists(), "{keep} removed");
        }
    }
}
