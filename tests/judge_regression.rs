//! CI regression check on judge accuracy: a small judge (the smoke profile with more
//! judge data and steps, trained deterministically here in about a minute) judges the
//! fixed held-out EFT set of its run; the check fails when pairwise accuracy or exact
//! match falls below `tests/judge_baseline.json`. The same check is run on broken judges
//! of the same items and must fail every one: 200 judges at chance (random scores, with
//! and without ties) and one that always says 3. A baseline a broken judge meets checks
//! nothing. Raising or lowering the
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
    // 480 held-out responses, 120 groups: chance is narrow enough to lie well below the bound.
    c.data.eft_eval = 480;
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
    let judge_with = |score: &mut dyn FnMut() -> f64| judge_metrics(&eft.iter().map(|e| Item { group: e.group, gold: e.score as f64, pred: Some(score()) }).collect::<Vec<_>>());
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
    let chance: Vec<JudgeMetrics> = (0..200)
        .map(|k| if k % 2 == 0 { judge_with(&mut || rng.gen_range(0..=5) as f64) } else { judge_with(&mut || rng.gen::<f64>() * 5.0) })
        .collect();
    let three = judge_with(&mut || 3.0);
    let best = |f: fn(&JudgeMetrics) -> f64| chance.iter().map(f).fold(f64::NEG_INFINITY, f64::max);
    println!("trained M1: pairwise accuracy {:.4}, exact match {:.4}, coverage {:.3}", m.pairwise_accuracy, m.exact_match, m.coverage);
    println!("  chance (best of 200): pairwise accuracy {:.4}, exact match {:.4}", best(|j| j.pairwise_accuracy), best(|j| j.exact_match));
    println!("  baseline: pairwise accuracy {:.4}, exact match {:.4}", b.pairwise_accuracy, b.exact_match);
    check(m, &b).unwrap();
    for (k, j) in chance.iter().enumerate() {
        assert!(check(j, &b).is_err(), "chance judge {k} meets the baseline: {j:?}");
    }
    assert!(check(&three, &b).is_err(), "a constant judge meets the baseline");
    // Each bound bites on its own: no chance judge reaches either.
    assert!(best(|j| j.pairwise_accuracy) < b.pairwise_accuracy && best(|j| j.exact_match) < b.exact_match, "a bound at or below chance");
}
