//! A run killed (SIGKILL) at seeded random moments across every stage (seed data, SFT of
//! the baseline and of M1, new prompts, candidates, self-judging, DPO, evaluation) and
//! started again with the same command after each kill ends with the same files, byte for
//! byte, as an uninterrupted run.
mod common;
use common::*;
use rand::{Rng, SeedableRng};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};
use trainer::RunDir;

/// The stages in order: name, the file whose appearance ends it, and the run folder's
/// name for it (logged as `stage <name> begins|resumes` when a process starts on it).
const STAGES: [(&str, &str, &str); 8] = [
    ("seed", "seed/seed.done", "seed/seed"),
    ("sft baseline", "sft_baseline.done", "sft_baseline"),
    ("sft m1", "m1.done", "m1"),
    ("prompts", "iter_1/prompts.done", "iter_1/prompts"),
    ("candidates", "iter_1/candidates.done", "iter_1/candidates"),
    ("self-judging", "iter_1/judgments.done", "iter_1/judgments"),
    ("dpo", "m2.done", "m2"),
    ("eval", "eval/summary.json", "eval"),
];

/// Entry point of the child process the test kills: the whole smoke run from nothing (seed,
/// SFT, one iteration) and its evaluation, on `SRLM_CHILD_RUNS`.
#[test]
fn child_entry() {
    let Ok(dir) = std::env::var("SRLM_CHILD_RUNS") else { return };
    let mut cfg = smoke_config(Path::new(&dir));
    cfg.iterate.iterations = 1;
    let run = RunDir::new(&cfg.runs_dir, &cfg.name);
    tracing_subscriber::fmt().with_writer(std::io::stderr).with_env_filter("info").init();
    let _lock = run.lock().expect("lock");
    trainer::iterate::run(&cfg, &run).expect("child run");
    eprintln!("stage eval begins");
    eval::run::evaluate(&run, &cfg).expect("child eval");
}

fn spawn(runs: &Path) -> Child {
    let log = std::fs::File::create(runs.with_extension("log")).unwrap();
    Command::new(std::env::current_exe().unwrap())
        .args(["child_entry", "--exact", "--nocapture", "--test-threads=1"])
        .env("SRLM_CHILD_RUNS", runs)
        .stdout(std::process::Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap()
}

/// Waits for the child; panics with its log if it failed.
fn finished(child: &mut Child, runs: &Path) -> bool {
    match child.try_wait().unwrap() {
        None => false,
        Some(status) => {
            let log = std::fs::read_to_string(runs.with_extension("log")).unwrap_or_default();
            assert!(status.success(), "child failed ({status}):\n{log}");
            true
        }
    }
}

/// The first stage whose end marker is missing (`STAGES.len()` when all are there).
fn current_stage(run: &Path) -> usize {
    STAGES.iter().position(|(_, m, _)| !run.join(m).exists()).unwrap_or(STAGES.len())
}

/// Runs the child to the end, returning the seconds each stage took.
fn uninterrupted(runs: &Path) -> Vec<f64> {
    let mut child = spawn(runs);
    let run = runs.join("smoke");
    let (t0, mut last, mut stage) = (Instant::now(), Instant::now(), 0);
    let mut secs = vec![0.0; STAGES.len()];
    loop {
        while stage < STAGES.len() && run.join(STAGES[stage].1).exists() {
            secs[stage] = last.elapsed().as_secs_f64();
            last = Instant::now();
            stage += 1;
        }
        if finished(&mut child, runs) {
            assert_eq!(current_stage(&run), STAGES.len(), "the run ended before its last stage");
            return secs;
        }
        assert!(t0.elapsed() < Duration::from_secs(600), "child hung");
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Starts the child and kills it `delay` after it begins (or resumes) stage `s`, or as
/// soon as that stage ends if it ends sooner (a resumed stage has less left to do); returns
/// the stage it was in when killed, or None if it finished first or was past `s`.
fn kill_in_stage(runs: &Path, s: usize, delay: Duration) -> Option<usize> {
    let run = runs.join("smoke");
    if current_stage(&run) > s {
        return None;
    }
    let mut child = spawn(runs);
    let t0 = Instant::now();
    let mut begun: Option<Instant> = None;
    let said = |what: &str| std::fs::read_to_string(runs.with_extension("log")).unwrap_or_default().contains(&format!("stage {} {what}", STAGES[s].2));
    loop {
        if begun.is_none() && (said("begins") || said("resumes")) {
            begun = Some(Instant::now());
        }
        if begun.is_some_and(|b| b.elapsed() >= delay || run.join(STAGES[s].1).exists()) {
            child.kill().unwrap();
            child.wait().unwrap();
            return Some(current_stage(&run));
        }
        if finished(&mut child, runs) {
            return None;
        }
        assert!(t0.elapsed() < Duration::from_secs(600), "child hung");
        std::thread::sleep(Duration::from_micros(500));
    }
}

/// Every file of a run folder (relative path -> bytes), leaving out the lock, per-stage
/// wall-clock seconds (the one field that measures the process rather than the result)
/// and the runs folder's own path (in `config.toml` and the report).
fn files(dir: &Path) -> std::collections::BTreeMap<PathBuf, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut std::collections::BTreeMap<PathBuf, Vec<u8>>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            let rel = p.strip_prefix(root).unwrap().to_path_buf();
            if p.is_dir() {
                walk(root, &p, out);
            } else if rel != Path::new(".lock") {
                let mut bytes = std::fs::read(&p).unwrap();
                if rel.file_name().is_some_and(|n| n == "summary.json") && rel.starts_with("iter_1") {
                    let mut v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
                    v.as_object_mut().unwrap().remove("seconds");
                    bytes = serde_json::to_vec(&v).unwrap();
                }
                // config.toml and the report name the runs folder, which differs between the runs.
                if let Ok(text) = std::str::from_utf8(&bytes) {
                    let runs = root.parent().unwrap().display().to_string();
                    bytes = text.replace(&runs, "<runs>").into_bytes();
                }
                out.insert(rel, bytes);
            }
        }
    }
    let mut out = Default::default();
    walk(dir, dir, &mut out);
    out
}

#[test]
fn killed_at_random_moments_the_run_ends_byte_identical() {
    let a = tempfile::tempdir().unwrap();
    let secs = uninterrupted(a.path());

    // 12 moments: one in each stage, four more in stages drawn by their length; each a
    // uniform fraction of the stage's uninterrupted length after the stage begins.
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(20261202);
    let total: f64 = secs.iter().sum();
    let mut plan: Vec<usize> = (0..STAGES.len()).collect();
    for _ in 0..4 {
        let mut x = rng.gen::<f64>() * total;
        plan.push(secs.iter().position(|d| {
            x -= d;
            x < 0.0
        }).unwrap_or(STAGES.len() - 1));
    }
    plan.sort();
    let b = tempfile::tempdir().unwrap();
    let mut hit = vec![];
    for &planned in &plan {
        // A stage with k kills planned gets each a random moment in its first 1/k (a
        // resumed stage has less left to do); one the run is already past moves to the
        // stage the run is in.
        let s = planned.max(current_stage(&b.path().join("smoke")));
        if s == STAGES.len() {
            break;
        }
        let k = plan.iter().filter(|&&p| p == planned).count() as f64;
        let delay = Duration::from_secs_f64(secs[s] * rng.gen_range(0.05..0.95) / k);
        let at = kill_in_stage(b.path(), s, delay);
        eprintln!("planned in {} after {delay:?}: {}", STAGES[s].0, at.map_or("no kill (finished or past it)", |a| STAGES[a.min(STAGES.len() - 1)].0));
        if let Some(at) = at {
            hit.push(STAGES[at.min(STAGES.len() - 1)].0);
        }
    }
    // Then once more, to the end.
    let mut child = spawn(b.path());
    let t0 = Instant::now();
    while !finished(&mut child, b.path()) {
        assert!(t0.elapsed() < Duration::from_secs(600), "resumed child hung");
        std::thread::sleep(Duration::from_millis(5));
    }
    let stages: BTreeSet<&str> = hit.iter().copied().collect();
    eprintln!("stage seconds {secs:.3?}; killed {} times, in {hit:?}", hit.len());
    assert!(hit.len() >= 10, "only {} kills landed before the run finished: {hit:?}", hit.len());
    assert!(stages.len() >= 4, "kills landed in only {stages:?}");

    let (fa, fb) = (files(&a.path().join("smoke")), files(&b.path().join("smoke")));
    let names = |f: &std::collections::BTreeMap<PathBuf, Vec<u8>>| f.keys().cloned().collect::<Vec<_>>();
    assert_eq!(names(&fa), names(&fb), "the resumed run holds other files");
    for (k, v) in &fa {
        if v != &fb[k] {
            let (ta, tb) = (String::from_utf8_lossy(v), String::from_utf8_lossy(&fb[k]));
            let first = ta.lines().zip(tb.lines()).find(|(x, y)| x != y);
            panic!("{} differs after the kills; first differing line: {first:?}", k.display());
        }
    }
    for must in ["iter_1/pairs.jsonl", "m2/model.safetensors", "eval/summary.json"] {
        assert!(fa.get(Path::new(must)).is_some_and(|v| !v.is_empty()), "{must} missing or empty");
    }
}
