//! Shared by the end-to-end tests: a smoke run folder with seed data and SFT done,
//! made once per test binary and copied for each use.
#![allow(dead_code)]
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use trainer::{Profile, RunConfig, RunDir};

pub fn smoke_config(runs_dir: &Path) -> RunConfig {
    let mut c = RunConfig::profile(Profile::Smoke);
    c.runs_dir = runs_dir.to_path_buf();
    c.iterate.iterations = 0;
    c
}

static BASE: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();

/// A runs folder holding `smoke/` after seed data and SFT.
pub fn sft_done() -> &'static Path {
    &BASE
        .get_or_init(|| {
            let dir = tempfile::tempdir().expect("tempdir");
            let cfg = smoke_config(dir.path());
            let run = RunDir::new(&cfg.runs_dir, &cfg.name);
            trainer::iterate::run(&cfg, &run).expect("smoke SFT");
            let p = dir.path().to_path_buf();
            (dir, p)
        })
        .1
}

pub fn copy_dir(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    for e in std::fs::read_dir(src).unwrap() {
        let e = e.unwrap();
        let to = dst.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to);
        } else {
            std::fs::copy(e.path(), to).unwrap();
        }
    }
}

/// A fresh copy of the SFT-done runs folder.
pub fn fresh_copy() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    copy_dir(sft_done(), d.path());
    d
}
