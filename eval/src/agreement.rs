//! Judge agreement: the paper's Table 4 metrics against gold scores or human ranks,
//! human pairwise agreement with and without ties, and length and position bias.
//!
//! Conventions (the paper leaves them open):
//! - pairwise accuracy counts pairs of one instruction's responses whose gold order is
//!   strict; a tie in the judge's scores counts as a miss (the tie rate is reported);
//! - exact match needs the judge's order of the whole group to equal the gold order,
//!   ties matching ties;
//! - 5-best: of the responses the judge scores 5 (all samples 5), the share that gold
//!   ranks best in their group;
//! - Spearman (average ranks) and Kendall's tau-b are computed per group and averaged
//!   over groups where both are defined (neither side constant).
use crate::winrate::Verdict;
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::collections::BTreeMap;

/// One judged response: its group (instruction), gold quality (higher is better) and
/// the judge's score (`None` when the judge failed).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Item {
    pub group: usize,
    pub gold: f64,
    pub pred: Option<f64>,
}

pub use records::JudgeMetrics;

fn groups(items: &[Item]) -> BTreeMap<usize, Vec<Item>> {
    let mut g: BTreeMap<usize, Vec<Item>> = BTreeMap::new();
    for it in items {
        g.entry(it.group).or_default().push(*it);
    }
    g
}

fn sign(x: f64) -> Ordering {
    x.partial_cmp(&0.0).unwrap_or(Ordering::Equal)
}

/// Average ranks (1-based), ties sharing the mean of their positions.
pub fn ranks(xs: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..xs.len()).collect();
    idx.sort_by(|&a, &b| xs[a].total_cmp(&xs[b]));
    let mut r = vec![0.0; xs.len()];
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && xs[idx[j + 1]] == xs[idx[i]] {
            j += 1;
        }
        let avg = (i + j) as f64 / 2.0 + 1.0;
        for k in i..=j {
            r[idx[k]] = avg;
        }
        i = j + 1;
    }
    r
}

fn pearson(a: &[f64], b: &[f64]) -> Option<f64> {
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let cov: f64 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = a.iter().map(|x| (x - ma).powi(2)).sum();
    let vb: f64 = b.iter().map(|y| (y - mb).powi(2)).sum();
    if va == 0.0 || vb == 0.0 {
        None
    } else {
        Some(cov / (va * vb).sqrt())
    }
}

pub fn spearman(a: &[f64], b: &[f64]) -> Option<f64> {
    pearson(&ranks(a), &ranks(b))
}

/// Kendall's tau-b.
pub fn kendall_tau_b(a: &[f64], b: &[f64]) -> Option<f64> {
    let (mut c, mut d, mut ta, mut tb) = (0f64, 0f64, 0f64, 0f64);
    for i in 0..a.len() {
        for j in i + 1..a.len() {
            let (x, y) = (sign(a[i] - a[j]), sign(b[i] - b[j]));
            match (x, y) {
                (Ordering::Equal, Ordering::Equal) => {}
                (Ordering::Equal, _) => ta += 1.0,
                (_, Ordering::Equal) => tb += 1.0,
                _ if x == y => c += 1.0,
                _ => d += 1.0,
            }
        }
    }
    let denom = ((c + d + ta) * (c + d + tb)).sqrt();
    if denom == 0.0 || c + d + ta == 0.0 || c + d + tb == 0.0 {
        None
    } else {
        Some((c - d) / denom)
    }
}

/// The paper's Table 4 metrics of a judge on graded groups.
pub fn judge_metrics(items: &[Item]) -> JudgeMetrics {
    let (mut pairs, mut correct, mut ties) = (0usize, 0usize, 0usize);
    let (mut exact, mut exact_n) = (0usize, 0usize);
    let (mut five, mut five_best) = (0usize, 0usize);
    let (mut sp, mut kt) = (vec![], vec![]);
    for g in groups(items).values() {
        let best = g.iter().map(|i| i.gold).fold(f64::NEG_INFINITY, f64::max);
        for it in g {
            if it.pred.is_some_and(|p| p >= 5.0 - 1e-9) {
                five += 1;
                five_best += (it.gold == best) as usize;
            }
        }
        let scored: Vec<(f64, f64)> = g.iter().filter_map(|i| i.pred.map(|p| (i.gold, p))).collect();
        let mut all_match = true;
        for i in 0..scored.len() {
            for j in i + 1..scored.len() {
                let (gs, ps) = (sign(scored[i].0 - scored[j].0), sign(scored[i].1 - scored[j].1));
                all_match &= gs == ps;
                if gs != Ordering::Equal {
                    pairs += 1;
                    correct += (gs == ps) as usize;
                    ties += (ps == Ordering::Equal) as usize;
                }
            }
        }
        if scored.len() >= 2 && scored.len() == g.len() {
            exact_n += 1;
            exact += all_match as usize;
        }
        let (gold, pred): (Vec<f64>, Vec<f64>) = scored.iter().copied().unzip();
        if gold.len() >= 2 {
            sp.extend(spearman(&gold, &pred));
            kt.extend(kendall_tau_b(&gold, &pred));
        }
    }
    let mean = |v: &[f64]| if v.is_empty() { f64::NAN } else { v.iter().sum::<f64>() / v.len() as f64 };
    JudgeMetrics {
        pairwise_accuracy: correct as f64 / pairs.max(1) as f64,
        five_best: (five > 0).then(|| five_best as f64 / five as f64),
        exact_match: exact as f64 / exact_n.max(1) as f64,
        spearman: mean(&sp),
        kendall_tau: mean(&kt),
        tie_rate: ties as f64 / pairs.max(1) as f64,
        coverage: items.iter().filter(|i| i.pred.is_some()).count() as f64 / items.len().max(1) as f64,
        n_pairs: pairs,
        n_groups: groups(items).len(),
    }
}

/// Agreement of a judge with humans on the same pairs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HumanAgreement {
    /// Share of votes where judge and human agree, ties included as a third outcome.
    pub with_ties: f64,
    pub n_with_ties: usize,
    /// The same over votes where neither said tie.
    pub without_ties: f64,
    pub n_without_ties: usize,
}

/// Agreement of `(human, judge)` verdicts on the same pairs.
pub fn human_agreement(votes: &[(Verdict, Verdict)]) -> HumanAgreement {
    let agree = votes.iter().filter(|(h, j)| h == j).count();
    let strict: Vec<&(Verdict, Verdict)> = votes.iter().filter(|(h, j)| *h != Verdict::Tie && *j != Verdict::Tie).collect();
    let agree_strict = strict.iter().filter(|(h, j)| h == j).count();
    HumanAgreement {
        with_ties: agree as f64 / votes.len().max(1) as f64,
        n_with_ties: votes.len(),
        without_ties: agree_strict as f64 / strict.len().max(1) as f64,
        n_without_ties: strict.len(),
    }
}

/// Share of decided pairs where the judge preferred the longer response
/// (`(len_a, len_b, vote)`; equal lengths are skipped).
pub fn length_bias(pairs: &[(usize, usize, Verdict)]) -> f64 {
    let decided: Vec<_> = pairs.iter().filter(|(a, b, v)| a != b && *v != Verdict::Tie).collect();
    let longer = decided.iter().filter(|(a, b, v)| (a > b) == (*v == Verdict::A)).count();
    longer as f64 / decided.len().max(1) as f64
}

/// Share of decided verdicts that went to the response shown first (0.5 = no bias).
pub fn position_bias(first_position_won: &[bool]) -> f64 {
    first_position_won.iter().filter(|x| **x).count() as f64 / first_position_won.len().max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    fn it(group: usize, gold: f64, pred: Option<f64>) -> Item {
        Item { group, gold, pred }
    }

    #[test]
    fn table4_metrics_by_hand() {
        // group 0: gold 3 > 2 > 1, judge 5, 4, 4 -> pairs (3,2) ok, (3,1) ok, (2,1) tie: 2/3;
        //          not an exact match; the 5 went to the best.
        // group 1: gold 1 < 2, judge 2 < 5 -> 1/1, exact; the 5 went to the best.
        let items = [it(0, 3.0, Some(5.0)), it(0, 2.0, Some(4.0)), it(0, 1.0, Some(4.0)), it(1, 1.0, Some(2.0)), it(1, 2.0, Some(5.0))];
        let m = judge_metrics(&items);
        assert!((m.pairwise_accuracy - 3.0 / 4.0).abs() < 1e-12);
        assert!((m.tie_rate - 1.0 / 4.0).abs() < 1e-12);
        assert!((m.exact_match - 0.5).abs() < 1e-12);
        assert_eq!(m.five_best, Some(1.0));
        // group 0: spearman of (3,2,1) vs (5,4,4): ranks (3,2,1) vs (3,1.5,1.5) -> 0.8660254;
        // group 1: 1. Mean 0.9330127.
        assert!((m.spearman - (0.866_025_403_784_438_6 + 1.0) / 2.0).abs() < 1e-9, "{}", m.spearman);
        // tau-b group 0: c = 2, d = 0, ties in judge only = 1: 2/sqrt(3*2) = 0.8164966; group 1: 1
        assert!((m.kendall_tau - (0.816_496_580_927_726 + 1.0) / 2.0).abs() < 1e-9, "{}", m.kendall_tau);
        assert_eq!((m.n_pairs, m.n_groups), (4, 2));
    }

    #[test]
    fn failures_lower_coverage_not_scores() {
        let m = judge_metrics(&[it(0, 2.0, Some(1.0)), it(0, 1.0, None)]);
        assert_eq!(m.n_pairs, 0);
        assert_eq!(m.coverage, 0.5);
    }

    #[test]
    fn human_agreement_and_biases() {
        use Verdict::{Tie, A, B};
        let v = [(A, A), (B, A), (Tie, Tie), (A, Tie)];
        let h = human_agreement(&v);
        assert!((h.with_ties - 0.5).abs() < 1e-12 && h.n_without_ties == 2 && (h.without_ties - 0.5).abs() < 1e-12);
        assert!((length_bias(&[(10, 5, A), (10, 5, B), (3, 9, B), (4, 4, A)]) - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(position_bias(&[true, true, false, true]), 0.75);
    }
}
