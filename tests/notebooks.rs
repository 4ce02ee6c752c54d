//! Every notebook's code, built as Rust (see `notebook_extract.rs`) and run against
//! a smoke run folder: a cell that no longer compiles or fails fails this test.
mod common;
#[path = "notebook_extract.rs"]
mod notebook_extract;
mod generated {
    include!(concat!(env!("OUT_DIR"), "/notebooks.rs"));
}
use common::*;
use trainer::RunDir;

#[test]
fn extraction_drops_evcxr_commands_and_checks_shown_values() {
    let nb = r##"{"cells": [
        {"cell_type": "markdown", "source": ["# title"]},
        {"cell_type": "code", "source": [":dep analysis = { path = \"../analysis\" }\n", "let x = 2;\n", "x + 1"]},
        {"cell_type": "code", "source": "for i in 0..2 {\n    let _ = i;\n}\n// done"}
    ]}"##;
    let code = notebook_extract::extract("t.ipynb", "nb_t", nb).unwrap();
    assert!(!code.contains(":dep"), "{code}");
    assert!(code.contains("let x = 2;") && code.contains("__show(&(x + 1));"), "{code}");
    assert!(code.contains("t.ipynb: cell 2") && code.contains("t.ipynb: cell 3") && !code.contains("cell 1\""), "{code}");
    // A cell ending in a block or a comment is not wrapped.
    assert!(code.contains("    }\n    // done\n"), "{code}");
    assert!(notebook_extract::extract("bad.ipynb", "f", "{\"cells\": 3}").unwrap_err().contains("bad.ipynb"));
}

#[test]
fn every_notebook_runs_against_a_smoke_run() {
    let d = fresh_copy();
    let mut cfg = smoke_config(d.path());
    cfg.iterate.iterations = 1;
    let run = RunDir::new(&cfg.runs_dir, &cfg.name);
    trainer::iterate::run(&cfg, &run).unwrap();
    let summary = eval::run::evaluate(&run, &cfg).unwrap();
    // The analysis crate reads, through the records crate, what the trainer and eval wrote.
    let folder = analysis::RunFolder::open(&run.root).unwrap();
    let it: trainer::iterate::IterSummary = run.read_json("iter_1/summary.json").unwrap();
    let read = folder.iter_summary(1).unwrap();
    assert_eq!((read.pairs, read.candidates, read.self_score_hist, read.dpo_best_step), (it.pairs, it.candidates, it.self_score_hist, it.dpo_best_step));
    assert_eq!((read.mean_self_score, read.seconds.clone()), (it.mean_self_score, it.seconds.clone()));
    let es = folder.eval_summary().unwrap();
    assert_eq!(es.models, summary.models);
    for (k, h) in &summary.head_to_head {
        assert_eq!((es.head_to_head[k].win, es.head_to_head[k].tie, es.head_to_head[k].loss), (h.win, h.tie, h.loss), "{k}");
    }
    assert_eq!(folder.judge_scores().unwrap().len(), summary.models.len() * cfg.data.eft_eval, "one judge row per model and EFT item");
    let out = tempfile::tempdir().unwrap();
    std::env::set_var("SRLM_RUN", &run.root);
    std::env::set_var("SRLM_NOTEBOOK_OUT", out.path());
    let names: Vec<&str> = generated::NOTEBOOKS.iter().map(|n| n.0).collect();
    assert_eq!(names, ["1_iteration_overview", "2_judge_analysis", "3_win_rates"]);
    for (name, f) in generated::NOTEBOOKS {
        f().unwrap_or_else(|e| panic!("notebooks/{name}.ipynb failed: {e}"));
    }
    for png in [
        "iteration_overview/pairs.png",
        "iteration_overview/pair_quality.png",
        "iteration_overview/dpo.png",
        "iteration_overview/self_scores.png",
        "iteration_overview/lengths.png",
        "iteration_overview/self_vs_grader.png",
        "judge_analysis/agreement.png",
        "judge_analysis/confusion_SFT.png",
        "judge_analysis/confusion_M2.png",
        "win_rates/net_matrix.png",
        "win_rates/win_rates.png",
        "win_rates/alpaca.png",
    ] {
        let p = out.path().join(png);
        let len = std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0);
        assert!(len > 2000, "{} missing or empty ({len} bytes)", p.display());
    }
}
