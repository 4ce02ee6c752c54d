//! The frames over a run folder written by hand, with values checked by hand.
#![cfg(feature = "frames")]
use analysis::frames::{self, f64s, strs};
use analysis::RunFolder;
use std::path::Path;

const TASK: &str = r#"{"family":"uppercase","instruction":"Convert to upper case: sun hat rose","answer":{"items":["SUN","HAT","ROSE"]},"reference":"SUN HAT ROSE","relevant":["sun","hat","rose","SUN","HAT","ROSE"],"difficulty":1}"#;

fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

fn fixture() -> (tempfile::TempDir, RunFolder) {
    let d = tempfile::tempdir().unwrap();
    let r = d.path();
    write(r, "config.toml", "name = \"fx\"\n");
    for t in [1, 2] {
        write(r, &format!("iter_{t}/summary.json"), &format!(
            r#"{{"iteration":{t},"prompts_kept":10,"candidates":40,"pairs":{},"mean_self_score":3.0,"pairs_agreeing_with_grader":0.5,
               "dpo_valid":{{"rewards/accuracies":0.{t},"rewards/margins":0.2}},"dpo_best_step":50,"seconds":{{"a":1.5,"b":2.0}}}}"#, 5 * t));
        write(r, &format!("iter_{t}/dpo.json"), r#"{"step":2,"train":[[0,{"loss":0.69}],[1,{"loss":0.6}]],"valid":[[1,{"loss":0.65,"rewards/accuracies":0.7}]],"best":[1,0.65]}"#);
    }
    write(r, "iter_2/prompts.jsonl", &format!("{{\"id\":7,\"instruction\":\"Convert to upper case: sun hat rose\",\"task\":{TASK}}}\n"));
    write(r, "iter_2/judgments.jsonl", r#"{"prompt_id":7,"instruction":"Convert to upper case: sun hat rose","responses":["SUN HAT ROSE","hat"],"scores":[4.6,null],"parse_failures":[0,3],"judgments":[]}"#);
    write(r, "eval/summary.json", r#"{"models":["SFT","M1","M2"],"head_to_head":{"M1_vs_SFT":{"win":3,"tie":1,"loss":1,"win_rate":70.0,"standard_error":5.0,"net":40.0},
        "M2_vs_M1":{"win":1,"tie":1,"loss":3,"win_rate":30.0,"standard_error":5.0,"net":-40.0}},
        "judge":{"SFT":{"pairwise_accuracy":0.5,"spearman":null},"M1":{"pairwise_accuracy":0.6,"five_best":0.25}},"avg_length":{"M1":12.0}}"#);
    // M1 judges four responses: (words, grader, score) = (1,1,1.2) (2,2,2.6) (3,3,2.9) (4,4,None).
    let mut js = String::new();
    for (w, g, s) in [(1, 1.0, "1.2"), (2, 2.0, "2.6"), (3, 3.0, "2.9"), (4, 4.0, "null")] {
        js.push_str(&format!("{{\"model\":\"M1\",\"group\":0,\"family\":\"count\",\"words\":{w},\"grader\":{g},\"score\":{s}}}\n"));
    }
    js.push_str("{\"model\":\"SFT\",\"group\":0,\"family\":\"count\",\"words\":9,\"grader\":0.0,\"score\":5.0}\n");
    write(r, "eval/judge_scores.jsonl", &js);
    let run = RunFolder::open(r).unwrap();
    (d, run)
}

#[test]
fn iterations_and_dpo_curves() {
    let (_d, run) = fixture();
    let it = frames::iterations::iterations(&run).unwrap();
    let p = Path::new("t");
    assert_eq!(f64s(&it, p, "iteration").unwrap(), [1.0, 2.0]);
    assert_eq!(f64s(&it, p, "pairs").unwrap(), [5.0, 10.0]);
    assert_eq!(f64s(&it, p, "dpo_reward_accuracy").unwrap(), [0.1, 0.2]);
    assert_eq!(f64s(&it, p, "seconds").unwrap(), [3.5, 3.5]);
    let c = frames::iterations::dpo_curves(&run).unwrap();
    assert_eq!(c.height(), 6, "2 iterations x (2 train + 1 valid)");
    assert_eq!(strs(&c, p, "split").unwrap()[2], "valid");
    // Charts over the frame: one bar per iteration.
    assert!(frames::iterations::pairs_chart(&it).unwrap().svg().unwrap().0.contains("M2 → M3"));
}

#[test]
fn candidates_carry_self_and_grader_scores() {
    let (_d, run) = fixture();
    let c = frames::iterations::candidates(&run, 2).unwrap();
    let p = Path::new("t");
    assert_eq!(f64s(&c, p, "candidate").unwrap(), [0.0, 1.0]);
    let selfs = f64s(&c, p, "self_score").unwrap();
    assert_eq!(selfs[0], 4.6);
    assert!(selfs[1].is_nan(), "an unscored candidate stays null, never a made-up score");
    let g = f64s(&c, p, "grader").unwrap();
    assert_eq!(g[0], 5.0, "the reference answer meets all five criteria");
    assert!(g[1] < 5.0);
    assert_eq!(strs(&c, p, "family").unwrap(), ["uppercase", "uppercase"]);
    // Counts: grader 5 / self 5 (4.6 rounds up); the null score is left out.
    let m = frames::judge::confusion(&c, "self_score", "grader").unwrap();
    assert_eq!(m[5][5], 1.0);
    assert_eq!(m.iter().flatten().sum::<f64>(), 1.0);
    assert!(frames::iterations::candidates(&run, 1).unwrap_err().to_string().contains("judgments.jsonl"));
}

#[test]
fn judge_tables_by_hand() {
    let (_d, run) = fixture();
    let p = Path::new("t");
    let m = frames::judge::judge_metrics(&run).unwrap();
    assert_eq!(strs(&m, p, "model").unwrap(), ["SFT", "M1"], "M2 has no judge row");
    assert!(f64s(&m, p, "five_best").unwrap()[0].is_nan());
    assert!(f64s(&m, p, "spearman").unwrap()[0].is_nan(), "null (a NaN when written) reads as NaN");
    let s = frames::judge::judge_scores(&run).unwrap();
    let m1 = frames::judge::for_model(&s, "M1").unwrap();
    assert_eq!(m1.height(), 4);
    let c = frames::judge::confusion(&m1, "score", "grader").unwrap();
    assert_eq!((c[1][1], c[2][3], c[3][3]), (1.0, 1.0, 1.0));
    let lb = frames::judge::length_bias(&s).unwrap();
    assert_eq!(strs(&lb, p, "model").unwrap(), ["M1", "SFT"]);
    // words 1,2,3 vs scores 1.2,2.6,2.9: r = 1.7 / sqrt(2 * 1.6466667);
    // numpy.corrcoef([1,2,3],[1.2,2.6,2.9]) = 0.9367659069225724.
    let r = f64s(&lb, p, "corr_judge_words").unwrap()[0];
    assert!((r - 0.936_765_906_922_572_4).abs() < 1e-12, "{r}");
    // Median words over all rows (1,2,3,4,9) is 3: long = {4 (no score)}, short = {1,2,3}:
    // mean(0.2, 0.6, -0.1) = 0.2333.
    let short = f64s(&lb, p, "judge_minus_grader_short").unwrap()[0];
    assert!((short - 0.7 / 3.0).abs() < 1e-12, "{short}");
    assert!(f64s(&lb, p, "judge_minus_grader_long").unwrap()[0].is_nan());
}

#[test]
fn jsonl_types_come_from_every_line() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("s.jsonl");
    let mut text: String = (0..300).map(|_| "{\"score\":null}\n").collect();
    text.push_str("{\"score\":1.5}\n");
    std::fs::write(&p, text).unwrap();
    let df = frames::read_jsonl(&p).unwrap();
    let v = f64s(&df, &p, "score").unwrap();
    assert_eq!((v.len(), v[300]), (301, 1.5));
    assert!(v[0].is_nan());
    let e = frames::read_jsonl(&d.path().join("none.jsonl")).unwrap_err().to_string();
    assert!(e.contains("none.jsonl"), "{e}");
}

#[test]
fn win_rate_tables() {
    let (_d, run) = fixture();
    let p = Path::new("t");
    let h = frames::winrates::head_to_head(&run).unwrap();
    assert_eq!(strs(&h, p, "a").unwrap(), ["M1", "M2"]);
    let (models, m) = frames::winrates::net_matrix(&run).unwrap();
    assert_eq!(models, ["SFT", "M1", "M2"]);
    assert_eq!((m[1][0], m[0][1], m[2][1], m[1][2]), (40.0, -40.0, -40.0, 40.0));
    assert!(m[2][0].is_nan() && m[0][0].is_nan());
}

#[test]
fn real_alpaca_eval_leaderboard_and_mtbench_position_bias() {
    let shared = analysis::paths::shared_data();
    let csv = frames::winrates::alpaca_leaderboard_csv(&shared.join("alpaca_eval"));
    assert!(csv.exists(), "{} is needed (see ../shared/data/README.md)", csv.display());
    let lb = frames::winrates::alpaca_leaderboard(&csv).unwrap();
    let p = Path::new("t");
    assert_eq!(lb.height(), 223);
    let names = strs(&lb, p, "model").unwrap();
    let i = names.iter().position(|n| n == "NullModel").unwrap();
    assert!((f64s(&lb, p, "lc_win_rate").unwrap()[i] - 86.45780691307947).abs() < 1e-9);
    let (_d, run) = fixture();
    let t = frames::winrates::alpaca_table(&run, &lb, 5).unwrap();
    assert_eq!(t.height(), 6, "5 leaderboard rows and M1 vs SFT");
    assert_eq!(strs(&t, p, "baseline").unwrap()[5], "SFT");
    // MT-Bench: the humans' and GPT-4's share of decided verdicts for the first answer
    // (counted with the csv module of Python's standard library).
    let pb = frames::judge::mtbench_position_bias(&shared.join("mtbench_human_judgments_derived/human_vs_gpt4pair_slim.csv")).unwrap();
    let share = f64s(&pb, p, "first_position_share").unwrap();
    let n = f64s(&pb, p, "decided").unwrap();
    assert_eq!(n, [HUMAN_DECIDED, GPT4_DECIDED]);
    assert!((share[0] - HUMAN_FIRST / HUMAN_DECIDED).abs() < 1e-12 && (share[1] - GPT4_FIRST / GPT4_DECIDED).abs() < 1e-12);
}

const HUMAN_DECIDED: f64 = 1334.0;
const HUMAN_FIRST: f64 = 294.0;
const GPT4_DECIDED: f64 = 1313.0;
const GPT4_FIRST: f64 = 169.0;
