//! Any judge against human rankings (Open Assistant's ranked replies): the paper's
//! Table 4 metrics, with how many judgments could be read and how many pairs tied.
use crate::agreement::{judge_metrics, Item, JudgeMetrics};
use crate::datasets::OaGroup;
use engine::judge::Judge;
use serde::Serialize;

/// A judge's agreement with the human rankings.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HumanAgreement {
    pub metrics: JudgeMetrics,
    /// Replies judged.
    pub judged: usize,
    /// Share of replies whose judgment gave a score (the rest are excluded, never scored).
    pub parse_rate: f64,
}

/// Scores every reply of `groups` with `judge` (reply against the message it answers)
/// and compares the scores with the human ranks (rank 0 best).
pub fn judge_against_humans(judge: &mut dyn Judge, groups: &[OaGroup]) -> HumanAgreement {
    let items: Vec<(String, String)> = groups.iter().flat_map(|g| g.replies.iter().map(|(r, _)| (g.prompt.clone(), r.clone()))).collect();
    let results = judge.judge(&items);
    let mut it = results.iter();
    let mut rows = vec![];
    for (gi, g) in groups.iter().enumerate() {
        for (_, rank) in &g.replies {
            let pred = it.next().and_then(|r| r.as_ref().ok()).map(|j| j.score);
            rows.push(Item { group: gi, gold: -(*rank as f64), pred });
        }
    }
    let ok = rows.iter().filter(|r| r.pred.is_some()).count();
    HumanAgreement { metrics: judge_metrics(&rows), judged: rows.len(), parse_rate: ok as f64 / rows.len().max(1) as f64 }
}
