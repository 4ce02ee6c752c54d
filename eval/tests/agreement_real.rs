//! Agreement metrics on real human judgments (`../shared/data`).
use eval::agreement::{human_agreement, judge_metrics, Item};
use eval::winrate::Verdict;
use eval::datasets::{load_mtbench, load_oa_groups};
use std::path::PathBuf;

fn shared(rel: &str) -> PathBuf {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data").join(rel);
    assert!(p.exists(), "{} not found: the tests read ../shared/data beside the project", p.display());
    p
}

#[test]
fn mtbench_gpt4_vs_human_agreement_per_turn() {
    let votes = load_mtbench(&shared("mtbench_human_judgments_derived/human_vs_gpt4pair_slim.csv")).unwrap();
    assert_eq!(votes.len(), 1751);
    for turn in [1, 2] {
        let v: Vec<(Verdict, Verdict)> = votes.iter().filter(|x| x.turn == turn).map(|x| (x.human, x.gpt4)).collect();
        let a = human_agreement(&v);
        // Independent count: plain loops over the same votes.
        let (mut same, mut strict, mut strict_same) = (0, 0, 0);
        for (h, g) in &v {
            same += (h == g) as usize;
            if *h != Verdict::Tie && *g != Verdict::Tie {
                strict += 1;
                strict_same += (h == g) as usize;
            }
        }
        assert_eq!(a.n_with_ties, v.len());
        assert_eq!(a.n_without_ties, strict);
        assert!((a.with_ties - same as f64 / v.len() as f64).abs() < 1e-12);
        assert!((a.without_ties - strict_same as f64 / strict as f64).abs() < 1e-12);
        println!("turn {turn}: with ties {:.1}% of {}, without ties {:.1}% of {}", 100.0 * a.with_ties, a.n_with_ties, 100.0 * a.without_ties, a.n_without_ties);
        if turn == 1 {
            assert_eq!((a.n_with_ties, a.n_without_ties), (882, 549));
            assert!((100.0 * a.with_ties - 66.8).abs() < 0.05 && (100.0 * a.without_ties - 85.8).abs() < 0.05);
        }
    }
}

#[test]
fn open_assistant_rankings_through_table4_with_a_length_judge() {
    let groups = load_oa_groups(&shared("open-assistant/model/model_eval/manual/data/en_100_tree.jsonl")).unwrap();
    assert_eq!(groups.len(), 212);
    let items: Vec<Item> = groups
        .iter()
        .enumerate()
        .flat_map(|(g, rs)| rs.iter().map(move |(t, r)| Item { group: g, gold: -(*r as f64), pred: Some(t.chars().count() as f64) }))
        .collect();
    let m = judge_metrics(&items);
    // Hand computation on the first three groups: count pairs where the longer reply is
    // the better-ranked one.
    let first: Vec<Item> = items.iter().copied().filter(|i| i.group < 3).collect();
    let mut pairs = 0;
    let mut ok = 0;
    for g in 0..3 {
        let rs = &groups[g];
        for i in 0..rs.len() {
            for j in 0..rs.len() {
                if rs[i].1 < rs[j].1 {
                    pairs += 1;
                    ok += (rs[i].0.chars().count() > rs[j].0.chars().count()) as usize;
                }
            }
        }
    }
    let m3 = judge_metrics(&first);
    assert_eq!(m3.n_pairs, pairs);
    assert!((m3.pairwise_accuracy - ok as f64 / pairs as f64).abs() < 1e-12);
    println!("OA length judge: {m:?}");
    assert!(m.pairwise_accuracy > 0.3 && m.pairwise_accuracy < 0.8);
    // Every reply is at least 5 characters long, so "scored 5" covers all replies and
    // 5-best is the share of rank-0 replies among them.
    let best = items.iter().filter(|i| i.gold == 0.0).count() as f64 / items.len() as f64;
    assert!((m.five_best.unwrap() - best).abs() < 1e-12);
    assert!(m.spearman.is_finite() && m.kendall_tau.is_finite());
}
