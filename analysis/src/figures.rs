//! The run-level charts of `eval/summary.json`, drawn the same way by `make eval`'s
//! report and by the notebooks (no polars needed).
use crate::charts::{max_of, Figure, Plot, Series};
use records::EvalSummary;

/// Each iteration's model against the SFT baseline and against the model before it.
pub fn win_rates(s: &EvalSummary) -> Figure {
    let ms: Vec<String> = s.models.iter().filter(|m| m.starts_with('M')).cloned().collect();
    let get = |k: String| s.head_to_head.get(&k).map_or(f64::NAN, |h| h.win_rate);
    let vs_sft = ms.iter().map(|m| get(format!("{m}_vs_SFT"))).collect();
    let vs_prev = ms.iter().enumerate().map(|(i, m)| if i == 0 { f64::NAN } else { get(format!("{m}_vs_{}", ms[i - 1])) }).collect();
    Figure::new("Win rate under the grader (ties half)", Plot::Lines { x: ms, series: vec![Series::new("vs SFT baseline", vs_sft), Series::new("vs previous model", vs_prev)], y_range: (0.0, 100.0) })
        .axes("model", "%")
}

/// Pairwise accuracy, exact match and correlations of each model as a judge.
pub fn judge_metrics(s: &EvalSummary) -> Figure {
    let metric = |f: fn(&records::JudgeMetrics) -> f64| s.models.iter().map(|m| s.judge.get(m).map_or(f64::NAN, f)).collect::<Vec<_>>();
    let series = vec![
        Series::new("pairwise accuracy", metric(|j| j.pairwise_accuracy)),
        Series::new("exact match", metric(|j| j.exact_match)),
        Series::new("Spearman", metric(|j| j.spearman)),
        Series::new("Kendall tau", metric(|j| j.kendall_tau)),
    ];
    Figure::new("Each model as a judge, against the grader (held-out EFT)", Plot::Lines { x: s.models.clone(), series, y_range: (-0.2, 1.0) }).axes("model", "")
}

/// Mean response length (characters) of each model's test answers.
pub fn lengths(s: &EvalSummary) -> Figure {
    let chars: Vec<f64> = s.models.iter().map(|m| s.avg_length.get(m).copied().unwrap_or(f64::NAN)).collect();
    let y = max_of(&chars) * 1.2;
    Figure::new("Mean response length (characters)", Plot::Bars { x: s.models.clone(), series: vec![Series::new("length", chars)], y_max: y }).axes("model", "")
}

/// Counts of the rounded scores each M_t gave its own candidates.
pub fn self_scores(s: &EvalSummary) -> Figure {
    let series: Vec<Series> = s.self_scores.iter().map(|(k, h)| Series::new(k.as_str(), h.iter().map(|c| *c as f64).collect())).collect();
    let y = max_of(series.iter().flat_map(|s| s.values.iter())) * 1.2;
    let x: Vec<String> = (0..=5).map(|i| i.to_string()).collect();
    Figure::new("Self-assigned scores of candidates, per iteration", Plot::Bars { x, series, y_max: y }).axes("self-score (rounded)", "candidates")
}

/// Per-family gain against the judge's accuracy on its own candidates: one point per
/// iteration t and family, at (M_t's pairwise accuracy over untied pairs of its own
/// candidates, grader-score gain of M_{t+1} over M_t on the family's test prompts).
pub fn gain_vs_judge(points: &[(String, f64, f64)]) -> Figure {
    let ys = points.iter().map(|p| p.2.abs());
    let y = ys.fold(0.1f64, f64::max) * 1.2;
    Figure::new(
        "Per-family gain against self-judge accuracy",
        Plot::Scatter { points: points.to_vec(), x_range: (0.0, 1.0), y_range: (-y, y) },
    )
    .axes("M_t pairwise accuracy on its own candidates (untied pairs)", "grader score M_{t+1} - M_t")
}
