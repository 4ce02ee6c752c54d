//! Per task family: how each model follows instructions (mean grader score, all
//! constraints met, content right where a family has a single answer) and how each M_t
//! judged its own candidates (pairwise accuracy over the pairs it does not tie, AUC of
//! right against wrong candidates of one prompt, tie rate). The paper's mechanism says
//! gains follow judge quality; these are the numbers that show whether they do.
use std::collections::BTreeMap;

/// The key of the row over every family.
pub const ALL: &str = "all";

pub use records::FamilyStats;

/// One candidate as the loop saw it: the grader's score, whether it meets every
/// requirement, and the judge's mean self-score (`None`: every judgment failed).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Candidate {
    pub grader: f64,
    pub right: bool,
    pub judge: Option<f64>,
    /// Whether the judgment's item list is the response's (constrained tasks only).
    pub read: Option<bool>,
}

pub use records::OwnJudging;

/// Scores one judge over groups of candidates (one group per prompt).
pub fn own_judging<'a>(groups: impl IntoIterator<Item = &'a [Candidate]>) -> OwnJudging {
    let (mut pairs, mut ties, mut agree, mut auc_n, mut auc_sum) = (0usize, 0usize, 0usize, 0usize, 0.0);
    let (mut read, mut readable) = (0usize, 0usize);
    for g in groups {
        for c in g.iter().filter_map(|c| c.read) {
            readable += 1;
            read += c as usize;
        }
        for (i, a) in g.iter().enumerate() {
            for b in &g[i + 1..] {
                let (Some(ja), Some(jb)) = (a.judge, b.judge) else { continue };
                if a.grader != b.grader {
                    pairs += 1;
                    if ja == jb {
                        ties += 1;
                    } else if (ja > jb) == (a.grader > b.grader) {
                        agree += 1;
                    }
                }
                if a.right != b.right {
                    let (r, w) = if a.right { (ja, jb) } else { (jb, ja) };
                    auc_n += 1;
                    auc_sum += if r > w { 1.0 } else if r == w { 0.5 } else { 0.0 };
                }
            }
        }
    }
    let div = |a: f64, b: usize| if b == 0 { None } else { Some(a / b as f64) };
    OwnJudging {
        pairs,
        tie_rate: div(ties as f64, pairs),
        accuracy: div(agree as f64, pairs - ties),
        auc: div(auc_sum, auc_n),
        auc_pairs: auc_n,
        read_rate: div(read as f64, readable),
    }
}

/// [`own_judging`] per family and over all (`ALL`), from `(family, group)` rows.
pub fn own_judging_by_family(groups: &[(String, Vec<Candidate>)]) -> BTreeMap<String, OwnJudging> {
    let mut out = BTreeMap::new();
    let mut fams: Vec<&String> = groups.iter().map(|g| &g.0).collect();
    fams.sort();
    fams.dedup();
    for f in fams {
        out.insert(f.clone(), own_judging(groups.iter().filter(|g| &g.0 == f).map(|g| g.1.as_slice())));
    }
    out.insert(ALL.into(), own_judging(groups.iter().map(|g| g.1.as_slice())));
    out
}

/// Points of the gain-against-judge chart: for each iteration t and family the judge
/// saw, (label, M_t's own-candidate accuracy on the family, grader-score gain of
/// M_{t+1} over M_t on its test prompts).
pub fn gain_points(stats: &BTreeMap<String, FamilyStats>, judging: &BTreeMap<String, BTreeMap<String, OwnJudging>>) -> Vec<(String, f64, f64)> {
    let mut pts = vec![];
    for (m, fams) in judging {
        let Some(t) = m.strip_prefix('M').and_then(|x| x.parse::<usize>().ok()) else { continue };
        let next = format!("M{}", t + 1);
        for (f, j) in fams {
            let Some(s) = stats.get(f).filter(|_| f != ALL) else { continue };
            if let (Some(a), Some(b)) = (s.grader_score.get(m), s.grader_score.get(&next)) {
                if let Some(acc) = j.accuracy {
                    pts.push((format!("{f} ({m})"), acc, b - a));
                }
            }
        }
    }
    pts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(grader: f64, judge: Option<f64>) -> Candidate {
        Candidate { grader, right: grader >= 4.0, judge, read: Some(grader > 2.0) }
    }

    #[test]
    fn own_judging_by_hand() {
        // Grader 5, 3, 3, 1; judge 4, 4, 2, None.
        let g = [c(5.0, Some(4.0)), c(3.0, Some(4.0)), c(3.0, Some(2.0)), c(1.0, None)];
        let j = own_judging([&g[..]]);
        // Strict grader pairs with both scored: (5,3a) tie, (5,3b) agree; 3a-3b equal grader.
        assert_eq!(j.pairs, 2);
        assert_eq!(j.tie_rate, Some(0.5));
        assert_eq!(j.accuracy, Some(1.0));
        // Right (5) against wrong (3a: tie 0.5, 3b: higher 1): AUC 0.75 over 2 pairs.
        assert_eq!((j.auc, j.auc_pairs), (Some(0.75), 2));
        // Read right: the three candidates graded above 2 of the four.
        assert_eq!(j.read_rate, Some(0.75));
        // A judge that reverses the grader.
        let g2 = [c(5.0, Some(1.0)), c(1.0, Some(5.0))];
        let j2 = own_judging([&g2[..]]);
        assert_eq!((j2.accuracy, j2.auc, j2.tie_rate), (Some(0.0), Some(0.0), Some(0.0)));
        // Nothing to compare: no figure, not a number that looks like a result.
        let j3 = own_judging([&g2[..1]]);
        assert_eq!((j3.accuracy, j3.auc, j3.pairs), (None, None, 0));
    }

    #[test]
    fn judging_per_family_and_gain_points() {
        let rows = vec![
            ("a".to_string(), vec![c(5.0, Some(5.0)), c(2.0, Some(1.0))]),
            ("b".to_string(), vec![c(5.0, Some(1.0)), c(2.0, Some(3.0))]),
        ];
        let by = own_judging_by_family(&rows);
        assert_eq!(by["a"].accuracy, Some(1.0));
        assert_eq!(by["b"].accuracy, Some(0.0));
        assert_eq!(by[ALL].accuracy, Some(0.5));
        let mut stats = BTreeMap::new();
        for (f, m1, m2) in [("a", 2.0, 3.0), ("b", 2.5, 2.0)] {
            let s = FamilyStats { grader_score: [("M1".to_string(), m1), ("M2".to_string(), m2)].into(), ..Default::default() };
            stats.insert(f.to_string(), s);
        }
        let judging = BTreeMap::from([("M1".to_string(), by)]);
        let pts = gain_points(&stats, &judging);
        assert_eq!(pts, vec![("a (M1)".to_string(), 1.0, 1.0), ("b (M1)".to_string(), 0.0, -0.5)]);
    }
}
