//! AlpacaEval 2.0's length-controlled win rate equals AlpacaEval's own: from the published
//! coefficients (with the difficulty recovered from the checkout) and refitted per model.
//! Data: `../shared/data/alpaca_eval` (or `ALPACA_EVAL_DIR`) and `../shared/data/alpaca_eval_lc`.
use eval::alpaca::{read_json_array, Annotation};
use eval::lc::checks::{self, EXACT, REFIT_TOLERANCE};
use eval::lc::{lc_line, LcContext};
use std::collections::BTreeMap;
use std::path::PathBuf;

fn shared() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data")
}

fn alpaca_dir() -> PathBuf {
    let d = std::env::var("ALPACA_EVAL_DIR").map(PathBuf::from).unwrap_or_else(|_| shared().join("alpaca_eval"));
    assert!(d.join("results").exists(), "AlpacaEval data not found at {} (set ALPACA_EVAL_DIR)", d.display());
    d
}

fn lc_inputs() -> Vec<eval::lc::LcInput> {
    checks::read_lc_inputs(&shared().join("alpaca_eval_lc/alpaca_eval_lc_inputs.csv")).unwrap()
}

#[test]
fn difficulty_sources_agree() {
    let ctx = LcContext::load(&alpaca_dir()).unwrap();
    let d = &ctx.difficulty;
    println!("difficulty: sources differ by {:.2e}, instruction 0 at {:.2e}", d.source_disagreement, d.reference_offset);
    assert_eq!(d.values.len(), 805);
    assert!(d.source_disagreement < 1e-7, "{}", d.source_disagreement);
    assert!(d.reference_offset < 1e-8, "{}", d.reference_offset);
    // A real spread of difficulties, not a constant.
    let (lo, hi) = d.values.iter().fold((f64::MAX, f64::MIN), |(a, b), v| (a.min(*v), b.max(*v)));
    assert!(hi - lo > 2.0, "{lo}..{hi}");
}

#[test]
fn lc_from_published_coefficients_equals_the_leaderboard() {
    let ctx = LcContext::load(&alpaca_dir()).unwrap();
    let rows: BTreeMap<String, usize> = lc_inputs().iter().map(|m| (m.model.clone(), m.rows.len())).collect();
    let table = checks::from_coefficients(&alpaca_dir(), &ctx, &rows).unwrap();
    let exact = table.iter().filter(|r| r.distance.abs() < EXACT).count();
    for r in table.iter().filter(|r| !r.ours.is_nan() && !(r.distance.abs() < EXACT)) {
        println!("{:40} ours {:.6} published {:.6} distance {:+.2e}: {}", r.model, r.ours, r.published, r.distance, r.note);
        assert!(!r.note.is_empty(), "{} differs with no reason given", r.model);
    }
    println!("{exact} of {} leaderboard models within {EXACT:e}", table.len());
    assert!(exact >= 195, "only {exact} models equal the published LC");
    // The six models that skipped instructions match only by row position.
    for m in ["alpaca-7b_concise", "alpaca-7b_verbose", "gpt35_turbo_instruct", "minotaur-13b", "phi-2", "text_davinci_001"] {
        let r = table.iter().find(|r| r.model == m).unwrap();
        assert!(r.distance.abs() < EXACT && r.note.contains("row position"), "{m}: {r:?}");
    }
}

#[test]
fn refitted_lc_is_within_half_a_point_of_the_leaderboard() {
    let ctx = LcContext::load(&alpaca_dir()).unwrap();
    let table = checks::refit(&alpaca_dir(), &lc_inputs(), &ctx).unwrap();
    assert_eq!(table.len(), 58);
    let on_board: Vec<_> = table.iter().filter(|r| !r.published.is_nan()).collect();
    assert_eq!(on_board.len(), 57);
    let mut distances = vec![];
    for r in &table {
        let (g, p, c) = r.fitted.unwrap();
        let (wo, wp) = r.win_rate.unwrap();
        println!("{:36} LC ours {:7.3} published {:7.3} distance {:+.3}  C {c:9.3}  coef {:.4} {:.4} {:.4}  published {:?}", r.model, r.ours, r.published, r.distance, g.length, g.difficulty, g.bias, p.map(|p| (p.length, p.difficulty, p.bias)));
        if !r.published.is_nan() {
            assert!((wo - wp).abs() < EXACT, "{} win rate {wo} vs {wp}", r.model);
            distances.push(r.distance.abs());
        }
    }
    let close = distances.iter().filter(|d| **d < REFIT_TOLERANCE).count();
    distances.sort_by(f64::total_cmp);
    let median = distances[distances.len() / 2];
    println!("{close} of {} within {REFIT_TOLERANCE}; median distance {median:.3}, worst {:.3}", distances.len(), distances.last().unwrap());
    assert!(close * 10 >= distances.len() * 9, "only {close} of {} within {REFIT_TOLERANCE}", distances.len());
    assert!(median < 0.15, "median distance {median}");
    // The baseline against itself is 50 by construction.
    assert_eq!(table.iter().find(|r| r.model == "gpt4_1106_preview").unwrap().ours, 50.0);
}

/// `compare`'s LC line: a model's annotations in any order on AlpacaEval's instructions
/// get the same LC as in set order; other prompts or another baseline get none, saying why.
#[test]
fn compare_reports_lc_only_for_alpaca_eval_prompts() {
    let dir = alpaca_dir();
    let path = dir.join("results/alpaca-7b/weighted_alpaca_eval_gpt4_turbo/annotations.json");
    let ann: Vec<Annotation> = read_json_array(&path).unwrap();
    let in_order = lc_line(&dir, "alpaca-7b", &ann);
    let mut shuffled = ann.clone();
    shuffled.reverse();
    shuffled.swap(3, 400);
    assert_eq!(lc_line(&dir, "alpaca-7b", &shuffled), in_order);
    let value: f64 = in_order.strip_prefix("LC win rate ").and_then(|s| s.split('%').next()).and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("{in_order}"));
    assert!((value - 5.875).abs() < REFIT_TOLERANCE, "{in_order}");

    let mut other = ann.clone();
    other[7].instruction = "Join these words with commas: zoo jam red".into();
    let line = lc_line(&dir, "alpaca-7b", &other);
    assert!(line.starts_with("LC win rate: none") && line.contains("not AlpacaEval's") && line.contains("1 of 805"), "{line}");

    let mut base = ann;
    base.iter_mut().for_each(|a| a.generator_1 = "gpt4".into());
    let line = lc_line(&dir, "alpaca-7b", &base);
    assert!(line.starts_with("LC win rate: none") && line.contains("`gpt4`"), "{line}");

    let line = lc_line(&dir.join("no-such-folder"), "alpaca-7b", &other);
    assert!(line.starts_with("LC win rate: none") && line.contains("no-such-folder"), "{line}");
}
