//! What an iteration's self-judgments and pairs look like, for its summary: counts, the
//! self-score histogram, response lengths, and the world's grader on the same candidates
//! and pairs. The grader's view is a diagnostic only; the loop never sees it.
use crate::pairs::Pair;
use crate::selfjudge::Judged;
use records::IterSummary;
use std::cmp::Ordering;
use std::collections::HashMap;
use world::records::PromptRecord;

fn words(s: &str) -> f64 {
    s.split_whitespace().count() as f64
}

/// The mean, 0 when empty.
fn mean(xs: impl Iterator<Item = f64>) -> f64 {
    let (s, n) = xs.fold((0.0, 0usize), |(s, n), x| (s + x, n + 1));
    if n == 0 { 0.0 } else { s / n as f64 }
}

/// Fills `sum`'s fields about stage 3 and 4: [`self_judgments`], then [`grader_view`].
pub fn record(sum: &mut IterSummary, prompts: &[PromptRecord], judged: &[Judged], pairs: &[Pair]) {
    self_judgments(sum, judged, pairs);
    grader_view(sum, prompts, judged, pairs);
}

/// Candidates, unparsable judge samples, unscored candidates, pairs, the self-scores'
/// mean and histogram, and mean lengths in words of candidates, chosen and rejected.
pub fn self_judgments(sum: &mut IterSummary, judged: &[Judged], pairs: &[Pair]) {
    let scores: Vec<f64> = judged.iter().flat_map(|j| j.scores.iter().flatten().copied()).collect();
    sum.candidates = judged.iter().map(|j| j.responses.len()).sum();
    sum.parse_failures = judged.iter().flat_map(|j| &j.parse_failures).sum();
    sum.unscored = judged.iter().flat_map(|j| &j.scores).filter(|s| s.is_none()).count();
    sum.pairs = pairs.len();
    sum.mean_self_score = mean(scores.iter().copied());
    for s in &scores {
        sum.self_score_hist[(s.round() as usize).min(5)] += 1;
    }
    sum.mean_len_candidates = mean(judged.iter().flat_map(|j| j.responses.iter().map(|r| words(r))));
    sum.mean_len_chosen = mean(pairs.iter().map(|p| words(&p.chosen)));
    sum.mean_len_rejected = mean(pairs.iter().map(|p| words(&p.rejected)));
}

/// The world's grader on the candidates (mean score) and on the pairs (shares it orders
/// as the self-judgments do, ties, and orders the other way). Prompts without a task
/// (not from the world) count in none of them.
pub fn grader_view(sum: &mut IterSummary, prompts: &[PromptRecord], judged: &[Judged], pairs: &[Pair]) {
    let tasks: HashMap<usize, &world::Task> = prompts.iter().filter_map(|p| p.task.as_ref().map(|t| (p.id, t))).collect();
    sum.grader_mean_candidates = mean(judged.iter().flat_map(|j| {
        let t = tasks.get(&j.prompt_id).copied();
        j.responses.iter().filter_map(move |r| t.map(|t| world::grade(t, r).score as f64))
    }));
    let graded: Vec<Ordering> = pairs
        .iter()
        .filter_map(|p| {
            let t = tasks.get(&p.prompt_id)?;
            Some(world::grade(t, &p.chosen).score.cmp(&world::grade(t, &p.rejected).score))
        })
        .collect();
    let share = |o: Ordering| mean(graded.iter().map(|g| (*g == o) as u8 as f64));
    sum.pairs_agreeing_with_grader = share(Ordering::Greater);
    sum.pairs_tied_by_grader = share(Ordering::Equal);
    sum.pairs_against_grader = share(Ordering::Less);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn judged(id: usize, responses: &[&str], scores: &[Option<f64>]) -> Judged {
        let n = responses.len();
        Judged { prompt_id: id, instruction: String::new(), responses: responses.iter().map(|r| r.to_string()).collect(), scores: scores.to_vec(), parse_failures: vec![1; n], judgments: vec![String::new(); n] }
    }

    fn pair(id: usize, chosen: &str, rejected: &str) -> Pair {
        Pair { prompt_id: id, prompt: String::new(), chosen: chosen.into(), rejected: rejected.into(), chosen_score: 0.0, rejected_score: 0.0 }
    }

    /// Counts, means and histogram by hand; the grader's view against `world::grade`.
    #[test]
    fn summary_fields_by_hand() {
        let task = world::Task::items(world::Family::Reverse, "Reverse: b a".into(), vec!["a".into(), "b".into()], " ", vec![], 1);
        let (good, bad) = (task.reference.clone(), "no idea at all".to_string());
        let prompts = vec![PromptRecord { id: 0, instruction: task.instruction.clone(), task: Some(task.clone()) }, PromptRecord { id: 1, instruction: "free".into(), task: None }];
        let judged = vec![judged(0, &[&good, &bad], &[Some(4.6), Some(1.2)]), judged(1, &["x y", "z"], &[None, Some(3.0)])];
        let pairs = vec![pair(0, &good, &bad), pair(0, &bad, &good), pair(0, &good, &good), pair(1, "x y", "z")];
        let mut sum = IterSummary::default();
        record(&mut sum, &prompts, &judged, &pairs);
        assert_eq!((sum.candidates, sum.parse_failures, sum.unscored, sum.pairs), (4, 4, 1, 4));
        assert!((sum.mean_self_score - (4.6 + 1.2 + 3.0) / 3.0).abs() < 1e-12);
        assert_eq!(sum.self_score_hist, [0, 1, 0, 1, 0, 1]);
        let len_good = good.split_whitespace().count() as f64;
        assert_eq!(sum.mean_len_candidates, (len_good + 4.0 + 2.0 + 1.0) / 4.0);
        assert_eq!(sum.mean_len_chosen, (len_good + 4.0 + len_good + 2.0) / 4.0);
        // Only prompt 0 has a task: its two candidates and three pairs.
        let (g, b) = (world::grade(&task, &good).score, world::grade(&task, &bad).score);
        assert!(g > b, "the reference outscores {bad:?}");
        assert_eq!(sum.grader_mean_candidates, (g as f64 + b as f64) / 2.0);
        assert_eq!((sum.pairs_agreeing_with_grader, sum.pairs_tied_by_grader, sum.pairs_against_grader), (1.0 / 3.0, 1.0 / 3.0, 1.0 / 3.0));
    }
}
