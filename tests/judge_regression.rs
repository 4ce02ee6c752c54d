//! CI regression check on judge accuracy: the smoke M1 (trained deterministically here
//! in seconds) judges the fixed held-out EFT set of the smoke run; the test fails when
//! pairwise accuracy or exact match falls below `tests/judge_baseline.json`.
//! Raising or lowering the baseline is a deliberate, reviewed change of that file.
mod common;
use common::*;
use trainer::RunDir;

#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct Baseline {
    pairwise_accuracy: f64,
    exact_match: f64,
}

#[test]
fn smoke_judge_does_not_regress() {
    let d = fresh_copy();
    let cfg = smoke_config(d.path());
    let run = RunDir::new(&cfg.runs_dir, &cfg.name);
    let s = eval::run::evaluate(&run, &cfg).unwrap();
    let m = &s.judge["M1"];
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/judge_baseline.json")).unwrap();
    let b: Baseline = serde_json::from_str(&text).unwrap();
    println!("smoke M1 as judge: pairwise accuracy {:.4}, exact match {:.4} (baseline {:.4}, {:.4})", m.pairwise_accuracy, m.exact_match, b.pairwise_accuracy, b.exact_match);
    assert!(m.coverage > 0.0, "the judge produced no readable score");
    assert!(m.pairwise_accuracy >= b.pairwise_accuracy - 1e-9, "pairwise accuracy {} below baseline {}", m.pairwise_accuracy, b.pairwise_accuracy);
    assert!(m.exact_match >= b.exact_match - 1e-9, "exact match {} below baseline {}", m.exact_match, b.exact_match);
}
