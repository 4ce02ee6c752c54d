//! Win rates as AlpacaEval computes them, and head-to-head win/tie/loss.
use crate::alpaca::Preference;
use serde::{Deserialize, Serialize};

/// AlpacaEval's leaderboard record for one model against the baseline (`output_1`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WinRate {
    /// 100 · mean(preference − 1).
    pub win_rate: f64,
    /// 100 · sample standard error (n − 1) of preference − 1.
    pub standard_error: f64,
    pub n_wins: usize,
    pub n_wins_base: usize,
    pub n_draws: usize,
    pub n_total: usize,
    /// 100 · (wins + draws / 2) / total.
    pub discrete_win_rate: f64,
}

/// From preferences on the 1..2 scale (1.5 a draw); missing verdicts are skipped.
pub fn win_rate(prefs: &[f64]) -> WinRate {
    let n = prefs.len();
    let n_wins = prefs.iter().filter(|p| **p > 1.5).count();
    let n_wins_base = prefs.iter().filter(|p| **p < 1.5).count();
    let n_draws = n - n_wins - n_wins_base;
    let x: Vec<f64> = prefs.iter().map(|p| p - 1.0).collect();
    let mean = x.iter().sum::<f64>() / n.max(1) as f64;
    let var = x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n.max(2) - 1) as f64;
    WinRate {
        win_rate: 100.0 * mean,
        standard_error: 100.0 * (var / n.max(1) as f64).sqrt(),
        n_wins,
        n_wins_base,
        n_draws,
        n_total: n,
        discrete_win_rate: 100.0 * (n_wins as f64 + 0.5 * n_draws as f64) / n.max(1) as f64,
    }
}

/// Head-to-head counts of A against B.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct HeadToHead {
    pub win: usize,
    pub tie: usize,
    pub loss: usize,
}

impl HeadToHead {
    /// Pairs counted.
    pub fn total(&self) -> usize {
        self.win + self.tie + self.loss
    }
    /// Win minus loss, in points of 100.
    pub fn net(&self) -> f64 {
        100.0 * (self.win as f64 - self.loss as f64) / self.total().max(1) as f64
    }
    /// Win rate with ties counted half, in percent.
    pub fn win_rate(&self) -> f64 {
        100.0 * (self.win as f64 + 0.5 * self.tie as f64) / self.total().max(1) as f64
    }
    /// Standard error of the win rate (ties half), in percent: AlpacaEval's, over one
    /// preference per verdict (wins, then ties, then losses).
    pub fn standard_error(&self) -> f64 {
        let prefs: Vec<f64> = [(Verdict::A, self.win), (Verdict::Tie, self.tie), (Verdict::B, self.loss)]
            .into_iter()
            .flat_map(|(v, n)| std::iter::repeat_n(v.preference().value(), n))
            .collect();
        win_rate(&prefs).standard_error
    }
}

impl std::fmt::Display for HeadToHead {
    /// `win 3 tie 1 loss 1; win rate 70.0% ± 20.0 (ties half)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "win {} tie {} loss {}; win rate {:.1}% ± {:.1} (ties half)", self.win, self.tie, self.loss, self.win_rate(), self.standard_error())
    }
}

/// A verdict on a pair of responses, A against B: which won, or a tie. Judges' head-to-head
/// verdicts, the votes of humans and of GPT-4 in MT-Bench, and one order of a pairwise
/// judge's presentation are all verdicts. Serialized as `"a"`, `"b"`, `"tie"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    A,
    B,
    Tie,
}

impl Verdict {
    /// The verdict of a judge shown the two responses in order: the first when
    /// `first_preferred`, else the second.
    pub fn first_if(first_preferred: bool) -> Verdict {
        if first_preferred {
            Verdict::A
        } else {
            Verdict::B
        }
    }

    /// The same verdict with A and B swapped (a verdict on B-then-A read back as A vs B).
    pub fn flipped(self) -> Verdict {
        match self {
            Verdict::A => Verdict::B,
            Verdict::B => Verdict::A,
            Verdict::Tie => Verdict::Tie,
        }
    }

    /// AlpacaEval's preference from A's side, B being the baseline (`output_1`) and A the
    /// model (`output_2`): A's win is 2, a tie 1.5, B's win 1. The one place a verdict
    /// becomes a number: annotations and win-rate standard errors both come from here.
    pub fn preference(self) -> Preference {
        match self {
            Verdict::A => Preference::SECOND,
            Verdict::B => Preference::FIRST,
            Verdict::Tie => Preference::DRAW,
        }
    }
}

/// Combines the verdicts from both orders (the second already flipped back to A/B):
/// they must agree, else it is a tie.
pub fn both_orders(first: Verdict, second_flipped_back: Verdict) -> Verdict {
    if first == second_flipped_back {
        first
    } else {
        Verdict::Tie
    }
}

/// Counts verdicts from A's side: A's wins, ties, and B's wins as A's losses.
pub fn tally(verdicts: impl IntoIterator<Item = Verdict>) -> HeadToHead {
    let mut h = HeadToHead::default();
    for v in verdicts {
        match v {
            Verdict::A => h.win += 1,
            Verdict::B => h.loss += 1,
            Verdict::Tie => h.tie += 1,
        }
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn win_rate_by_hand() {
        // prefs 2, 1, 1.5, 2: x = 1, 0, .5, 1; mean .625; var = (.140625+.390625+.015625+.140625)/3 = .229167
        let w = win_rate(&[2.0, 1.0, 1.5, 2.0]);
        assert!((w.win_rate - 62.5).abs() < 1e-12);
        assert!((w.standard_error - 100.0 * (0.6875f64 / 3.0 / 4.0).sqrt()).abs() < 1e-9);
        assert_eq!((w.n_wins, w.n_wins_base, w.n_draws, w.n_total), (2, 1, 1, 4));
        assert!((w.discrete_win_rate - 62.5).abs() < 1e-12);
        let h = HeadToHead { win: 3, tie: 1, loss: 1 };
        assert!((h.net() - 40.0).abs() < 1e-12 && (h.win_rate() - 70.0).abs() < 1e-12);
        assert_eq!(both_orders(Verdict::A, Verdict::A), Verdict::A);
        assert_eq!(both_orders(Verdict::A, Verdict::B), Verdict::Tie);
    }

    #[test]
    fn verdicts_map_to_alpaca_preferences() {
        assert_eq!([Verdict::A, Verdict::Tie, Verdict::B].map(|v| v.preference().value()), [2.0, 1.5, 1.0]);
        assert_eq!([Verdict::A, Verdict::Tie, Verdict::B].map(Verdict::flipped), [Verdict::B, Verdict::Tie, Verdict::A]);
        assert_eq!((Verdict::first_if(true), Verdict::first_if(false)), (Verdict::A, Verdict::B));
        // The standard error from counts is the one from the preferences they stand for.
        let h = HeadToHead { win: 3, tie: 1, loss: 1 };
        assert_eq!(h.standard_error(), win_rate(&[2.0, 2.0, 2.0, 1.5, 1.0]).standard_error);
        assert_eq!(h.to_string(), "win 3 tie 1 loss 1; win rate 70.0% ± 20.0 (ties half)");
        assert_eq!(serde_json::to_string(&[Verdict::A, Verdict::B, Verdict::Tie]).unwrap(), r#"["a","b","tie"]"#);
    }
}
