//! Notebook 2, judge analysis: each model's agreement with the grader, the
//! confusion of its scores against the grader's, and its length and position biases.
use super::{f64s, frame, mean, pe, pearson, read_csv, read_jsonl, strs, DataFrame};
use crate::charts::{Figure, Plot, Series};
use crate::{Result, RunFolder};
use polars::prelude::{ChunkCompareEq, Column};
use std::path::Path;

/// The paper's Table 4 metrics per model (held-out EFT set, grader as the label).
pub fn judge_metrics(run: &RunFolder) -> Result<DataFrame> {
    let s = run.eval_summary()?;
    let ms: Vec<String> = s.models.iter().filter(|m| s.judge.contains_key(*m)).cloned().collect();
    let g = |f: &dyn Fn(&records::JudgeMetrics) -> f64| ms.iter().map(|m| f(&s.judge[m])).collect::<Vec<f64>>();
    frame("judge metrics", vec![
        Column::new("model".into(), ms.clone()),
        Column::new("pairwise_accuracy".into(), g(&|j| j.pairwise_accuracy)),
        Column::new("five_best".into(), g(&|j| j.five_best.unwrap_or(f64::NAN))),
        Column::new("exact_match".into(), g(&|j| j.exact_match)),
        Column::new("spearman".into(), g(&|j| j.spearman)),
        Column::new("kendall_tau".into(), g(&|j| j.kendall_tau)),
        Column::new("tie_rate".into(), g(&|j| j.tie_rate)),
        Column::new("coverage".into(), g(&|j| j.coverage)),
    ])
}

/// Pairwise accuracy, exact match and correlations per model, as lines.
pub fn agreement_chart(metrics: &DataFrame) -> Result<Figure> {
    let p = Path::new("judge metrics");
    let x = strs(metrics, p, "model")?;
    let series = [("pairwise_accuracy", "pairwise accuracy"), ("exact_match", "exact match"), ("spearman", "Spearman"), ("kendall_tau", "Kendall tau")]
        .iter()
        .map(|(c, l)| Ok(Series::new(*l, f64s(metrics, p, c)?)))
        .collect::<Result<Vec<_>>>()?;
    Ok(Figure::new("Each model as a judge, against the grader (held-out EFT)", Plot::Lines { x, series, y_range: (-0.2, 1.0) }).axes("model", ""))
}

/// Every held-out EFT response as each model scored it (`eval/judge_scores.jsonl`).
pub fn judge_scores(run: &RunFolder) -> Result<DataFrame> {
    read_jsonl(&run.require("eval/judge_scores.jsonl", "run `make eval`")?)
}

/// The rows of one model.
pub fn for_model(df: &DataFrame, model: &str) -> Result<DataFrame> {
    let p = Path::new("judge scores");
    let mask = super::column(df, p, "model")?.str().map_err(|e| pe(p, e))?.equal(model);
    df.filter(&mask).map_err(|e| pe(p, e))
}

/// Counts of (grader score, rounded judge score), 6×6: `m[grader][score]`.
/// Rows without a judge score are left out.
pub fn confusion(df: &DataFrame, score_col: &str, grader_col: &str) -> Result<Vec<Vec<f64>>> {
    let p = Path::new("confusion");
    let (s, g) = (f64s(df, p, score_col)?, f64s(df, p, grader_col)?);
    let mut m = vec![vec![0.0; 6]; 6];
    for (s, g) in s.iter().zip(&g).filter(|(s, g)| s.is_finite() && g.is_finite()) {
        m[g.round().clamp(0.0, 5.0) as usize][s.round().clamp(0.0, 5.0) as usize] += 1.0;
    }
    Ok(m)
}

/// The confusion matrix as a heatmap, grader score down (5 at the top), judge score across.
pub fn confusion_chart(title: &str, m: &[Vec<f64>]) -> Figure {
    let rows: Vec<String> = (0..=5).rev().map(|g| format!("grader {g}")).collect();
    let cols: Vec<String> = (0..=5).map(|s| s.to_string()).collect();
    let values: Vec<Vec<f64>> = (0..=5).rev().map(|g| m[g].clone()).collect();
    Figure::new(title, Plot::Heatmap { rows, cols, values, digits: 0 }).axes("judge score (rounded)", "").size(620, 460)
}

/// Length bias per model: correlation of the judge's score with response length
/// (words), beside the grader's on the same responses; and the mean judge minus grader
/// score on the longer and the shorter half of the responses.
pub fn length_bias(df: &DataFrame) -> Result<DataFrame> {
    let p = Path::new("judge scores");
    let (model, words, grader, score) = (strs(df, p, "model")?, f64s(df, p, "words")?, f64s(df, p, "grader")?, f64s(df, p, "score")?);
    // Models in order of first appearance.
    let mut uniq: Vec<String> = vec![];
    for n in &model {
        if !uniq.contains(n) {
            uniq.push(n.clone());
        }
    }
    let mut sorted = words.clone();
    sorted.sort_by(|a, b| a.total_cmp(b));
    let median = sorted.get(sorted.len() / 2).copied().unwrap_or(0.0);
    let (mut judge_r, mut grader_r, mut long_gap, mut short_gap) = (vec![], vec![], vec![], vec![]);
    for m in &uniq {
        let idx: Vec<usize> = (0..model.len()).filter(|i| &model[*i] == m).collect();
        let pick = |v: &[f64]| idx.iter().map(|i| v[*i]).collect::<Vec<f64>>();
        let (w, g, s) = (pick(&words), pick(&grader), pick(&score));
        judge_r.push(pearson(&s, &w));
        grader_r.push(pearson(&g, &w));
        let gap = |long: bool| mean(w.iter().zip(&s).zip(&g).filter(|((w, _), _)| (**w > median) == long).map(|((_, s), g)| s - g));
        long_gap.push(gap(true));
        short_gap.push(gap(false));
    }
    frame("length bias", vec![
        Column::new("model".into(), uniq),
        Column::new("corr_judge_words".into(), judge_r),
        Column::new("corr_grader_words".into(), grader_r),
        Column::new("judge_minus_grader_long".into(), long_gap),
        Column::new("judge_minus_grader_short".into(), short_gap),
    ])
}

/// Position bias on real pairwise verdicts: MT-Bench's GPT-4 pair judge and the humans
/// on the same pairs (`human_vs_gpt4pair_slim.csv`). For each, the share of decided
/// verdicts that went to the answer shown first (`model_a`); the humans' share is what
/// the data's order alone gives, the judge's excess over it is its position bias.
/// (Our own pointwise judges see one response at a time, so they have none.)
pub fn mtbench_position_bias(csv: &Path) -> Result<DataFrame> {
    let df = read_csv(csv)?;
    let share = |col: &str| -> Result<(f64, u32)> {
        let v = strs(&df, csv, col)?;
        let decided: Vec<&String> = v.iter().filter(|x| *x == "model_a" || *x == "model_b").collect();
        let first = decided.iter().filter(|x| **x == "model_a").count();
        Ok((first as f64 / decided.len().max(1) as f64, decided.len() as u32))
    };
    let (h, hn) = share("human_winner")?;
    let (g, gn) = share("gpt4_pair_winner")?;
    frame("position bias", vec![
        Column::new("judge".into(), vec!["human".to_string(), "gpt4_pair".to_string()]),
        Column::new("decided".into(), vec![hn, gn]),
        Column::new("first_position_share".into(), vec![h, g]),
    ])
}
