//! The leaderboard reproduces AlpacaEval's published numbers from its own annotations
//! (`../shared/data/alpaca_eval`, or `ALPACA_EVAL_DIR`).
use eval::leaderboard::{build, read_csv, Row};
use std::path::PathBuf;

fn alpaca_dir() -> PathBuf {
    let d = std::env::var("ALPACA_EVAL_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/alpaca_eval"));
    assert!(d.join("results").exists(), "AlpacaEval data not found at {} (set ALPACA_EVAL_DIR)", d.display());
    d
}

fn published(csv: &str) -> Vec<(String, Vec<String>, Vec<String>)> {
    let path = alpaca_dir().join("src/alpaca_eval/leaderboards").join(csv);
    let (header, rows) = read_csv(&path).unwrap();
    rows.into_iter().map(|r| (r[0].clone(), header.clone(), r)).collect()
}

fn col(header: &[String], row: &[String], name: &str) -> f64 {
    let i = header.iter().position(|h| h == name).unwrap_or_else(|| panic!("no column {name}"));
    row[i].parse().unwrap_or(f64::NAN)
}

fn check(rows: &[Row], csv: &str, expect_models: usize) -> Vec<(String, f64, f64)> {
    let pubd = published(csv);
    let mut lc = vec![];
    for r in rows {
        let (_, h, p) = pubd.iter().find(|(m, _, _)| *m == r.model).unwrap_or_else(|| panic!("{} not published in {csv}", r.model));
        let w = &r.win;
        for (name, ours) in [("win_rate", w.win_rate), ("standard_error", w.standard_error), ("discrete_win_rate", w.discrete_win_rate)] {
            assert!((ours - col(h, p, name)).abs() < 1e-6, "{} {name}: ours {ours}, published {}", r.model, col(h, p, name));
        }
        for (name, ours) in [("n_wins", w.n_wins), ("n_wins_base", w.n_wins_base), ("n_draws", w.n_draws), ("n_total", w.n_total), ("avg_length", r.avg_length)] {
            assert_eq!(ours as f64, col(h, p, name), "{} {name}", r.model);
        }
        if let Some(ours) = r.length_controlled_winrate {
            lc.push((r.model.clone(), ours, col(h, p, "length_controlled_winrate")));
        }
    }
    assert_eq!(rows.len(), expect_models);
    lc
}

#[test]
fn alpaca_eval_2_leaderboard_matches_published() {
    let ctx = eval::lc::LcContext::load(&alpaca_dir()).unwrap();
    let rows = build(&alpaca_dir().join("results"), "weighted_alpaca_eval_gpt4_turbo", Some(&ctx)).unwrap();
    let lc = check(&rows, "data_AlpacaEval_2/weighted_alpaca_eval_gpt4_turbo_leaderboard.csv", 8);
    let mut worst: f64 = 0.0;
    for (m, ours, theirs) in &lc {
        println!("LC {m:32} ours {ours:7.3} published {theirs:7.3} distance {:+.3}", ours - theirs);
        worst = worst.max((ours - theirs).abs());
    }
    println!("worst LC distance {worst:.3} points");
    // The baseline against itself is exactly 50.
    let base = lc.iter().find(|x| x.0 == "gpt4_1106_preview").unwrap();
    assert!((base.1 - 50.0).abs() < 1e-12);
    assert!(worst < eval::lc::checks::REFIT_TOLERANCE, "LC distance {worst} exceeds {}", eval::lc::checks::REFIT_TOLERANCE);
}

#[test]
fn alpaca_eval_1_leaderboard_matches_published() {
    let rows = build(&alpaca_dir().join("results"), "alpaca_eval_gpt4", None).unwrap();
    check(&rows, "data_AlpacaEval/alpaca_eval_gpt4_leaderboard.csv", 2);
}

#[test]
fn preferences_may_be_strings_and_bad_ones_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("annotations.json");
    std::fs::write(&p, r#"[{"instruction":"i","output_1":"a","generator_1":"x","output_2":"b","generator_2":"y","annotator":"z","preference":"2.0"},
{"instruction":"i","output_1":"a","generator_1":"x","output_2":"b","generator_2":"y","annotator":"z","preference":"high"}]"#).unwrap();
    let err = eval::alpaca::read_json_array::<eval::alpaca::Annotation>(&p).unwrap_err().to_string();
    assert!(err.contains("annotations.json") && err.contains("element 1") && err.contains("high"), "{err}");
}
