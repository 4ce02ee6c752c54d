//! A run killed at any moment and started again with the same command ends with the
//! same pairs and the same final checkpoint as an uninterrupted run.
mod common;
use candle_core::{DType, Device};
use common::*;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};
use trainer::RunDir;

/// Entry point of the child process the test kills: runs one iteration on `SRLM_CHILD_RUNS`.
#[test]
fn child_entry() {
    let Ok(dir) = std::env::var("SRLM_CHILD_RUNS") else { return };
    let mut cfg = smoke_config(Path::new(&dir));
    cfg.iterate.iterations = 1;
    let run = RunDir::new(&cfg.runs_dir, &cfg.name);
    trainer::iterate::run(&cfg, &run).expect("child run");
}

/// Starts the child on `runs`, kills it (SIGKILL) once `marker` exists; false if it finished first.
fn run_and_kill_at(runs: &Path, marker: &str) -> bool {
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(exe)
        .args(["child_entry", "--exact", "--nocapture", "--test-threads=1"])
        .env("SRLM_CHILD_RUNS", runs)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    let target = runs.join("smoke").join(marker);
    loop {
        if target.exists() {
            child.kill().unwrap();
            child.wait().unwrap();
            return true;
        }
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "child failed before {marker}");
            return false;
        }
        assert!(t0.elapsed() < Duration::from_secs(120), "child hung");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn tensors(dir: &Path) -> std::collections::HashMap<String, Vec<f32>> {
    let ck = engine::Checkpoint::load(dir, DType::F32, &Device::Cpu).unwrap();
    ck.tensors().unwrap().into_iter().map(|(k, t)| (k, t.flatten_all().unwrap().to_vec1::<f32>().unwrap())).collect()
}

#[test]
fn killed_run_resumes_to_the_same_pairs_and_checkpoint() {
    // Uninterrupted reference.
    let a = fresh_copy();
    let mut cfg = smoke_config(a.path());
    cfg.iterate.iterations = 1;
    trainer::iterate::run(&cfg, &RunDir::new(&cfg.runs_dir, &cfg.name)).unwrap();

    // Killed inside sampling, inside self-judging, inside DPO, then resumed.
    let b = fresh_copy();
    let mut kills = 0;
    for marker in ["iter_1/candidates/part_00001.jsonl", "iter_1/judgments/part_00000.jsonl", "iter_1/work/dpo/state/progress.json"] {
        kills += run_and_kill_at(b.path(), marker) as usize;
    }
    assert!(kills >= 2, "the child finished before it could be killed");
    assert!(!run_and_kill_at(b.path(), "never-appears"), "resumed run must finish");

    let read = |d: &Path, f: &str| std::fs::read_to_string(d.join("smoke").join(f)).unwrap();
    for f in ["iter_1/prompts.jsonl", "iter_1/candidates.jsonl", "iter_1/judgments.jsonl", "iter_1/pairs.jsonl"] {
        assert_eq!(read(a.path(), f), read(b.path(), f), "{f} differs after resume");
    }
    assert!(!read(a.path(), "iter_1/pairs.jsonl").is_empty(), "the smoke run made no pairs");
    let (ta, tb) = (tensors(&a.path().join("smoke/m2")), tensors(&b.path().join("smoke/m2")));
    assert_eq!(ta.len(), tb.len());
    for (k, v) in &ta {
        assert_eq!(v, &tb[k], "{k} differs after resume");
    }
}
