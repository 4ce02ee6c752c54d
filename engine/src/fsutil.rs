//! Atomic file output: write a temporary file beside the target, fsync, rename.
use crate::{Error, Result};
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
