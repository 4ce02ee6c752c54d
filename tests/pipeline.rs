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
    assert_eq!(first.as_object().unwrap().keys().collect::<Vec<_>>(), ["prompt", "chosen", "rejected"]);
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
    // The score is the number of criteria met, so the shares add up to the mean score;
    // an exact response meets every criterion, so "exact" is never the most common.
    for m in &s.models {
        let c = s.criteria[m];
        assert!((c.iter().sum::<f64>() - s.grader_score[m]).abs() < 1e-9, "{m}: {c:?} vs {}", s.grader_score[m]);
        assert!(c[..4].iter().all(|x| c[4] <= *x), "{m}: {c:?}");
        // An exact answer is right content without chatter (content right: single-answer
        // families only, none in the smoke world).
        assert!(s.content_right.get(m).is_none_or(|r| *r >= c[4] - 1e-12) && (0.0..=1.0).contains(&s.chatter[m]), "{m}");
        // Per family: the "all" row is the overall score; families add up to it.
        let all = &s.by_family[eval::families::ALL];
        assert!((all.grader_score[m] - s.grader_score[m]).abs() < 1e-9 && (all.all_met[m] - c[3]).abs() < 1e-9);
        let weighted: f64 = s.by_family.iter().filter(|(f, _)| *f != eval::families::ALL).map(|(_, x)| x.grader_score[m] * x.prompts as f64).sum();
        assert!((weighted / all.prompts as f64 - s.grader_score[m]).abs() < 1e-9);
    }
    assert_eq!(s.by_family[eval::families::ALL].prompts, 16);
    assert!(s.by_family.iter().any(|(_, x)| x.held_out), "the held-out family has test prompts");
    let own = &s.own_judging["M1"][eval::families::ALL];
    assert!(own.pairs > 0 && own.accuracy.is_some_and(|a| (0.0..=1.0).contains(&a)), "{own:?}");
    // M1 judged its own candidates in iteration 1: one group per prompt with candidates.
    let sj = &s.self_judge["M1"];
    let judged: Vec<trainer::selfjudge::Judged> = run.read_jsonl("iter_1/judgments.jsonl").unwrap();
    assert_eq!(sj.n_groups, judged.len());
    let scores: Vec<&Option<f64>> = judged.iter().flat_map(|j| &j.scores).collect();
    let scored = scores.iter().filter(|s| s.is_some()).count() as f64 / scores.len() as f64;
    assert!((sj.coverage - scored).abs() < 1e-12 && (0.0..=1.0).contains(&sj.pairwise_accuracy), "{sj:?}");
    let md = std::fs::read_to_string(run.path("eval/report.md")).unwrap();
    assert!(md.contains("M2 vs M1") && md.contains("pairwise acc.") && md.contains("judging its own candidates") && md.contains("5 exact") && md.contains("content right") && md.contains("judging its own candidates, per family"));
    // A changed config is refused for an existing run instead of mixing recipes.
    let mut other = cfg.clone();
    other.seed = 99;
    let err = trainer::iterate::run(&other, &run).unwrap_err().to_string();
    assert!(err.contains("config.toml"), "{err}");
}

#[test]
fn a_fork_starts_from_the_same_sft_models_and_refuses_another_sft_recipe() {
    let d = fresh_copy();
    let src_cfg = smoke_config(d.path());
    let src = RunDir::new(&src_cfg.runs_dir, &src_cfg.name);
    let mut cfg = src_cfg.clone();
    cfg.name = "beta".into();
    cfg.iterate.iterations = 1;
    cfg.dpo.loss = trainer::config::DpoLoss::Sigmoid { beta: 0.2 };
    let dst = RunDir::new(&cfg.runs_dir, &cfg.name);
    // Another SFT recipe is refused and leaves no folder behind.
    let mut other = cfg.clone();
    other.sft.steps += 1;
    let err = trainer::fork::fork_after_sft(&src, &dst, &other).unwrap_err().to_string();
    assert!(err.contains("sft"), "{err}");
    assert!(!dst.root.exists());

    trainer::fork::fork_after_sft(&src, &dst, &cfg).unwrap();
    assert!(trainer::fork::fork_after_sft(&src, &dst, &cfg).is_err(), "forking over an existing run");
    trainer::iterate::run(&cfg, &dst).unwrap();
    // M1 is the source's, not trained again (training would leave its state under work/).
    for f in ["m1/model.safetensors", "sft_baseline/model.safetensors", "seed/eft_train.jsonl"] {
        assert_eq!(std::fs::read(src.path(f)).unwrap(), std::fs::read(dst.path(f)).unwrap(), "{f}");
    }
    assert!(!dst.exists("work/m1") && dst.is_done("m2"));
    let saved: trainer::RunConfig = toml::from_str(&std::fs::read_to_string(dst.path("config.toml")).unwrap()).unwrap();
    assert_eq!(saved.dpo.loss, cfg.dpo.loss);
}

#[test]
fn a_run_from_a_model_m0_uses_its_tokenizer_and_weights() {
    // M0: a model of another size with a tokenizer trained on other text (its own
    // vocabulary), as a user's checkpoint would be.
    let dir = tempfile::tempdir().unwrap();
    let text: Vec<String> = (0..200).map(|i| format!("List {} colors: red, blue, green. Name {i} animals.", i % 5)).collect();
    let tok = engine::Tokenizer::train(text.iter(), 400).unwrap();
    let cfg0 = engine::Config::llama(tok.vocab_size(), 48, 96, 2, 4, 4, 1024);
    let m0_dir = dir.path().join("m0");
    let m0 = engine::Checkpoint::init(&cfg0, tok, 9, &candle_core::Device::Cpu).unwrap();
    m0.save(&m0_dir).unwrap();
    let mut cfg = smoke_config(&dir.path().join("runs"));
    cfg.model.init = Some(m0_dir.to_string_lossy().into_owned());
    // One SFT step at a tiny learning rate: M1 stays next to where it started.
    cfg.sft = trainer::config::TrainConfig { steps: 1, warmup: 0, lr: 1e-7, eval_every: 1, ckpt_every: 1, ..cfg.sft.clone() };
    let run = RunDir::new(&cfg.runs_dir, &cfg.name);
    trainer::iterate::run(&cfg, &run).unwrap();
    let m1 = engine::Checkpoint::load(&run.model(1), candle_core::DType::F32, &candle_core::Device::Cpu).unwrap();
    assert_eq!(m1.config().hidden_size, 48, "M1 has M0's architecture, not the profile's");
    assert_eq!(m1.tokenizer.inner.get_vocab(true), m0.tokenizer.inner.get_vocab(true), "M1 keeps M0's tokenizer");
    let seed_tok = engine::Tokenizer::from_file(&run.path("seed/tokenizer.json")).unwrap();
    assert_eq!(seed_tok.vocab_size(), m0.tokenizer.vocab_size(), "the seed data are recorded with M0's tokenizer");
    let (a, b) = (m0.tensors().unwrap(), m1.tensors().unwrap());
    let moved = a.iter().map(|(k, x)| (x - &b[k]).unwrap().abs().unwrap().flatten_all().unwrap().max(0).unwrap().to_scalar::<f32>().unwrap()).fold(0f32, f32::max);
    assert!(moved < 1e-4, "M1 starts from M0's weights (moved {moved})");

    // `make eval` on it with the public benchmarks: M0 is evaluated beside the trained models.
    let data = analysis::paths::shared_data();
    let oa_file = data.join("open-assistant/model/model_eval/manual/data/en_100_tree.jsonl");
    let alpaca_file = data.join("alpaca_eval/results/gpt4_1106_preview/model_outputs.json");
    cfg.eval = trainer::EvalConfig {
        ifeval_prompts: Some(data.join("ifeval/26d8ccda/input_data.jsonl")),
        ifeval_limit: 3,
        ifeval_max_new_tokens: 6,
        oa: Some(oa_file.clone()),
        oa_groups: 2,
        alpaca_instructions: Some(alpaca_file.clone()),
        alpaca_limit: 2,
        alpaca_max_new_tokens: 5,
        eft_limit: 5,
        batch_size: 2,
    };
    let s = eval::run::evaluate(&run, &cfg).unwrap();
    assert_eq!(s.models, ["M0", "SFT", "M1"]);
    let groups = eval::datasets::load_oa_ranked(&oa_file).unwrap();
    let replies: usize = groups[..2].iter().map(|g| g.replies.len()).sum();
    for m in &s.models {
        let x = &s.ifeval[m];
        assert_eq!(x.prompts, 3, "{m}");
        assert!(!x.per_type.is_empty() && (0.0..=100.0).contains(&x.prompt_loose) && x.prompt_strict <= x.prompt_loose, "{m}: {x:?}");
        let h = &s.oa_judge[m];
        assert_eq!(h.judged, replies, "{m}: every reply of the first two groups is judged");
        assert!((0.0..=1.0).contains(&h.parse_rate) && h.too_long <= h.judged, "{m}: {h:?}");
        let outs: Vec<eval::alpaca::ModelOutput> = serde_json::from_str(&std::fs::read_to_string(run.path(&format!("eval/{m}/alpaca_eval/model_outputs.json"))).unwrap()).unwrap();
        let want = trainer::answer::read_instructions(&alpaca_file).unwrap();
        assert_eq!(outs.iter().map(|o| o.instruction.clone()).collect::<Vec<_>>(), want[..2]);
        let lines = std::fs::read_to_string(run.path(&format!("eval/{m}/ifeval/responses.jsonl"))).unwrap();
        assert_eq!(lines.lines().count(), 3, "{m}: responses in Google's format");
    }
    assert!(s.oa_length_baseline.is_some());
    let report = std::fs::read_to_string(run.path("eval/report.md")).unwrap();
    assert!(report.contains("## IFEval") && report.contains("Open Assistant"), "{report}");
    // Stopped and started again: the finished chunks are read back, not made again (a
    // marker put into a saved answer comes out in the responses file).
    let part = run.path("eval/M1/ifeval/parts/part_00000.jsonl");
    let text = std::fs::read_to_string(&part).unwrap();
    let mut rows: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    rows[0]["response"] = "MARKER".into();
    std::fs::write(&part, rows.iter().map(|r| format!("{r}\n")).collect::<String>()).unwrap();
    let again = eval::run::evaluate(&run, &cfg).unwrap();
    assert!(std::fs::read_to_string(run.path("eval/M1/ifeval/responses.jsonl")).unwrap().contains("MARKER"));
    assert_eq!(serde_json::to_string(&again.oa_judge).unwrap(), serde_json::to_string(&s.oa_judge).unwrap(), "NaN-safe comparison");
    // A missing benchmark file is refused before any model is loaded, naming its key.
    let mut missing = cfg.clone();
    missing.eval.oa = Some(dir.path().join("no_oa.jsonl"));
    let e = eval::run::evaluate(&run, &missing).unwrap_err().to_string();
    assert!(e.contains("eval.oa") && e.contains("no_oa.jsonl"), "{e}");
    // A missing M0 is refused before any work, naming the key.
    let mut bad = smoke_config(&dir.path().join("runs2"));
    bad.name = "bad".into();
    bad.model.init = Some(dir.path().join("nope").to_string_lossy().into_owned());
    let e = trainer::iterate::run(&bad, &RunDir::new(&bad.runs_dir, &bad.name)).unwrap_err().to_string();
    assert!(e.contains("model.init"), "{e}");
    assert!(!dir.path().join("runs2/bad/seed").exists(), "nothing written");
}
