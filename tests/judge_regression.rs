//! CI regression check on judge accuracy: a small judge (the smoke profile with more
//! judge data and steps, trained deterministically here in about a minute) judges the
//! fixed held-out EFT set of its run; the check fails when pairwise accuracy or exact
//! match falls below `tests/judge_baseline.json`. The same check is run on two broken
//! judges on the same items, a random one and one that always says 3, and must fail
//! them: a baseline a broken judge meets checks nothing. Raising or lowering the
//! baseline is a deliberate, reviewed change of that file.
use eval::agreement::{judge_metrics, Item, JudgeMetrics};
use rand::{Rng, SeedableRng};
use trainer::{Profile, RunConfig, RunDir};
use world::records::EftExample;

#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct Baseline {
    pairwise_accuracy: f64,
    exact_match: f64,
}

/// The smoke profile with a judge strong enough for both bounds to mean something.
fn judge_config(runs: &std::path::Path) -> RunConfig {
    let mut c = RunConfig::profile(Profile::Smoke);
    c.runs_dir = runs.to_path_buf();
    c.name = "judge".into();
    c.iterate.iterations = 0;
    c.model.hidden_size = 96;
    c.data.ift = 300;
    c.data.eft_train = 1600;
    c.data.eft_eval = 192;
    c.sft.steps = 1500;
    c.judge.max_new_tokens = 64;
    c
}

fn check(m: &JudgeMetrics, b: &Baseline) -> Result<(), String> {
    if m.coverage <= 0.0 {
        return Err("the judge produced no readable score".into());
    }
    if m.pairwise_accuracy < b.pairwise_accuracy - 1e-9 {
        return Err(format!("pairwise accuracy {:.4} below baseline {:.4}", m.pairwise_accuracy, b.pairwise_accuracy));
    }
    if m.exact_match < b.exact_match - 1e-9 {
        return Err(format!("exact match {:.4} below baseline {:.4}", m.exact_match, b.exact_match));
    }
    Ok(())
}

#[test]
fn trained_judge_meets_the_baseline_and_broken_judges_do_not() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/judge_baseline.json")).unwrap();
    let b: Baseline = serde_json::from_str(&text).unwrap();
    let d = tempfile::tempdir().unwrap();
    let cfg = judge_config(d.path());
    let run = RunDir::new(&cfg.runs_dir, &cfg.name);
    trainer::iterate::run(&cfg, &run).unwrap();
    let s = eval::run::evaluate(&run, &cfg).unwrap();
    let m = &s.judge["M1"];
    let eft: Vec<EftExample> = run.read_jsonl("seed/eft_eval.jsonl").unwrap();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
    let random = judge_metrics(&eft.iter().map(|e| Item { group: e.group, gold: e.score as f64, pred: Some(rng.gen_range(0..=5) as f64) }).collect::<Vec<_>>());
    let three = judge_metrics(&eft.iter().map(|e| Item { group: e.group, gold: e.score as f64, pred: Some(3.0) }).collect::<Vec<_>>());
    for (name, j) in [("trained M1", m), ("random", &random), ("always 3", &three)] {
        println!("{name:>10}: pairwise accuracy {:.4}, exact match {:.4}, coverage {:.3}", j.pairwise_accuracy, j.exact_match, j.coverage);
    }
    println!("  baseline: pairwise accuracy {:.4}, exact match {:.4}", b.pairwise_accuracy, b.exact_match);
    check(m, &b).unwrap();
    assert!(check(&random, &b).is_err(), "a random judge meets the baseline");
    assert!(check(&three, &b).is_err(), "a constant judge meets the baseline");
}
