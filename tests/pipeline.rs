//! The loop end to end on the smoke profile, then its evaluation.
mod common;
use common::*;
use trainer::RunDir;

#[test]
fn smoke_loop_and_eval_write_everything_a_user_reads() {
    let d = fresh_copy();
    let mut cfg = smoke_config(d.path());
    cfg.iterate.iterations = 1;
    let run = RunDir::new(&cfg.runs_dir, &cfg.name);
    trainer::iterate::run(&cfg, &run).unwrap();
    for f in ["config.toml", "seed/ift.jsonl", "seed/eft_train.jsonl", "seed/eft_eval.jsonl", "m1/model.safetensors", "sft_baseline/config.json",
              "iter_1/prompts.jsonl", "iter_1/pairs_trl.jsonl", "iter_1/summary.json", "m2/model.safetensors"] {
        assert!(run.exists(f), "{f} missing");
    }
    // TRL's DPO format: prompt / chosen / rejected, and chosen was scored higher.
    let pairs: Vec<trainer::pairs::Pair> = run.read_jsonl("iter_1/pairs.jsonl").unwrap();
    assert!(!pairs.is_empty());
    assert!(pairs.iter().all(|p| p.chosen_score > p.rejected_score && p.chosen != p.rejected));
    let trl = std::fs::read_to_string(run.path("iter_1/pairs_trl.jsonl")).unwrap();
    let first: serde_json::Value = serde_json::from_str(trl.lines().next().unwrap()).unwrap();
    assert_eq!(first.as_object().unwrap().keys().collect::<Vec<_>>(), ["chosen", "prompt", "rejected"]);
    // Same seed and config: the same pairs again (determinism).
    let d2 = fresh_copy();
    let mut cfg2 = smoke_config(d2.path());
    cfg2.iterate.iterations = 1;
    let run2 = RunDir::new(&cfg2.runs_dir, &cfg2.name);
    trainer::iterate::run(&cfg2, &run2).unwrap();
    assert_eq!(std::fs::read(run.path("iter_1/pairs.jsonl")).unwrap(), std::fs::read(run2.path("iter_1/pairs.jsonl")).unwrap());

    let s = eval::run::evaluate(&run, &cfg).unwrap();
    assert_eq!(s.models, ["SFT", "M1", "M2"]);
    for k in ["M1_vs_SFT", "M2_vs_SFT", "M2_vs_M1"] {
        let h = &s.head_to_head[k];
        assert_eq!(h.win + h.tie + h.loss, 16, "{k}");
    }
    for f in ["eval/report.md", "eval/summary.json", "eval/win_rates.png", "eval/judge_metrics.png", "eval/length.png", "eval/self_scores.png",
              "eval/M2/model_outputs.json", "eval/annotations/M2_vs_M1/annotations.json"] {
        assert!(run.exists(f), "{f} missing");
    }
    let md = std::fs::read_to_string(run.path("eval/report.md")).unwrap();
    assert!(md.contains("M2 vs M1") && md.contains("pairwise acc."));
    // A changed config is refused for an existing run instead of mixing recipes.
    let mut other = cfg.clone();
    other.seed = 99;
    let err = trainer::iterate::run(&other, &run).unwrap_err().to_string();
    assert!(err.contains("config.toml"), "{err}");
}
