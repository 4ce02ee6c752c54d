//! Stage 4, pairs: per prompt, the highest- vs the lowest-scored candidate; ties dropped.
use crate::selfjudge::Judged;

pub use records::Pair;

/// Indices of (best, worst) among the scored responses, or `None` when fewer than two
/// are scored, all scores tie, or best and worst are the same text. First index wins ties.
pub fn select(responses: &[String], scores: &[Option<f64>]) -> Option<(usize, usize)> {
    let scored: Vec<(usize, f64)> = scores.iter().enumerate().filter_map(|(i, s)| s.map(|v| (i, v))).collect();
    if scored.len() < 2 {
        return None;
    }
    let best = scored.iter().fold(scored[0], |b, x| if x.1 > b.1 { *x } else { b });
    let worst = scored.iter().fold(scored[0], |w, x| if x.1 < w.1 { *x } else { w });
    if best.1 <= worst.1 || responses[best.0] == responses[worst.0] {
        return None;
    }
    Some((best.0, worst.0))
}

pub fn build(judged: &[Judged]) -> Vec<Pair> {
    judged
        .iter()
        .filter_map(|j| {
            let (b, w) = select(&j.responses, &j.scores)?;
            Some(Pair {
                prompt_id: j.prompt_id,
                prompt: j.instruction.clone(),
                chosen: j.responses[b].clone(),
                rejected: j.responses[w].clone(),
                chosen_score: j.scores[b]?,
                rejected_score: j.scores[w]?,
            })
        })
        .collect()
}

/// Splits pairs into training and validation by a stable hash of the prompt; when
/// there are two or more pairs, each side gets at least one.
pub fn split(pairs: &[Pair], valid_fraction: f64) -> (Vec<Pair>, Vec<Pair>) {
    let key = |p: &Pair| world::split::stable_hash(&p.prompt) % 1000;
    let cut = (valid_fraction * 1000.0) as u64;
    let (mut valid, mut train): (Vec<Pair>, Vec<Pair>) = pairs.iter().cloned().partition(|p| key(p) < cut);
    if pairs.len() >= 2 {
        if valid.is_empty() {
            let i = (0..train.len()).min_by_key(|&i| key(&train[i])).unwrap_or(0);
            valid.push(train.remove(i));
        } else if train.is_empty() {
            let i = (0..valid.len()).max_by_key(|&i| key(&valid[i])).unwrap_or(0);
            train.push(valid.remove(i));
        }
    }
    (train, valid)
}

#[cfg(test)]
mod tests {
    use super::*;
    fn s(xs: &[&str]) -> Vec<String> {
        xs.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn best_vs_worst_ties_and_failures() {
        let r = s(&["a", "b", "c", "d"]);
        assert_eq!(select(&r, &[Some(3.0), Some(5.0), Some(1.0), Some(4.0)]), Some((1, 2)));
        // all tied: no pair
        assert_eq!(select(&r, &[Some(3.0); 4]), None);
        // unscored candidates are ignored, never treated as 0
        assert_eq!(select(&r, &[None, Some(2.0), None, Some(4.0)]), Some((3, 1)));
        assert_eq!(select(&r, &[None, Some(2.0), None, None]), None);
        // equal best scores: the first wins
        assert_eq!(select(&r, &[Some(5.0), Some(5.0), Some(1.0), Some(1.0)]), Some((0, 2)));
        // same text at both ends carries no preference
        assert_eq!(select(&s(&["x", "x"]), &[Some(5.0), Some(1.0)]), None);
    }

    #[test]
    fn split_is_stable_and_never_leaves_a_side_empty() {
        let mk = |i: usize| Pair { prompt_id: i, prompt: format!("p{i}"), chosen: "a".into(), rejected: "b".into(), chosen_score: 5.0, rejected_score: 1.0 };
        let ps: Vec<Pair> = (0..200).map(mk).collect();
        let (t, v) = split(&ps, 0.1);
        assert_eq!(t.len() + v.len(), 200);
        assert!(v.len() > 5 && v.len() < 40, "{}", v.len());
        assert_eq!(split(&ps, 0.1), (t, v));
        let (t, v) = split(&ps[..2], 0.1);
        assert_eq!((t.len(), v.len()), (1, 1));
        let (t, v) = split(&ps[..1], 0.1);
        assert_eq!(t.len() + v.len(), 1);
    }
}
