//! `report.md`: the paper's tables on a run, with the plots embedded.
use analysis::charts::{max_of, Figure, Plot, Series};
use crate::run::Summary;
use crate::Result;
use trainer::RunDir;

fn f(x: f64) -> String {
    if x.is_finite() { format!("{x:.3}") } else { "–".into() }
}

/// Writes the PNG plots and `eval/report.md`.
pub fn write(run: &RunDir, s: &Summary) -> Result<()> {
    let dir = run.path("eval");
    let models = &s.models;
    let get = |m: &std::collections::BTreeMap<String, f64>| models.iter().map(|k| m.get(k).copied().unwrap_or(f64::NAN)).collect::<Vec<_>>();
    // Win rates per iteration: each M_t against SFT and against M_{t-1}.
    let ms: Vec<String> = models.iter().filter(|m| m.starts_with('M')).cloned().collect();
    let vs_sft: Vec<f64> = ms.iter().map(|m| s.head_to_head.get(&format!("{m}_vs_SFT")).map_or(f64::NAN, |h| h.win_rate)).collect();
    let vs_prev: Vec<f64> = ms
        .iter()
        .enumerate()
        .map(|(i, m)| if i == 0 { f64::NAN } else { s.head_to_head.get(&format!("{m}_vs_{}", ms[i - 1])).map_or(f64::NAN, |h| h.win_rate) })
        .collect();
    let png = |name: &str, f: Figure| f.png(&dir.join(name)).map_err(|e| crate::Error::Invalid(e.to_string()));
    png("win_rates.png", Figure::new("Win rate under the grader (ties half), %", Plot::Lines { x: ms.clone(), series: vec![Series::new("vs SFT baseline", vs_sft), Series::new("vs previous model", vs_prev)], y_range: (0.0, 100.0) }))?;
    let metric = |k: &str| models.iter().map(|m| s.judge.get(m).map_or(f64::NAN, |j| match k {
        "pairwise" => j.pairwise_accuracy,
        "exact" => j.exact_match,
        "spearman" => j.spearman,
        _ => j.kendall_tau,
    })).collect::<Vec<_>>();
    let series = vec![
        Series::new("pairwise accuracy", metric("pairwise")),
        Series::new("exact match", metric("exact")),
        Series::new("Spearman", metric("spearman")),
        Series::new("Kendall tau", metric("kendall")),
    ];
    png("judge_metrics.png", Figure::new("Each model as a judge vs the grader (held-out EFT)", Plot::Lines { x: models.clone(), series, y_range: (-0.2, 1.0) }))?;
    let chars = get(&s.avg_length);
    let lmax = max_of(&chars) * 1.2;
    png("length.png", Figure::new("Mean response length (characters)", Plot::Bars { x: models.clone(), series: vec![Series::new("length", chars)], y_max: lmax }))?;
    let hist_names: Vec<String> = s.self_scores.keys().cloned().collect();
    let hist_series: Vec<Series> = hist_names.iter().map(|k| Series::new(k.as_str(), s.self_scores[k].iter().map(|c| *c as f64).collect())).collect();
    let hmax = max_of(hist_series.iter().flat_map(|s| s.values.iter())) * 1.2;
    let scores: Vec<String> = (0..=5).map(|i| i.to_string()).collect();
    png("self_scores.png", Figure::new("Self-assigned scores of candidates, per iteration", Plot::Bars { x: scores, series: hist_series, y_max: hmax }))?;

    let mut md = String::from("# Self-rewarding run: evaluation\n\n");
    md.push_str(&format!("Run folder: `{}`. Test prompts are held out from training; the world's grader stands in for human/GPT-4 judgments.\n\n", run.root.display()));
    md.push_str("## Instruction following (grader, 0-5)\n\n| model | mean grader score | mean length (chars) | mean words |\n|---|---|---|---|\n");
    for m in models {
        md.push_str(&format!("| {m} | {} | {:.1} | {:.1} |\n", f(s.grader_score[m]), s.avg_length[m], s.avg_words[m]));
    }
    md.push_str("\n## Head to head (grader scores each response alone; equal scores = tie)\n\n| comparison | win | tie | loss | win rate % (ties half) | s.e. | win − loss |\n|---|---|---|---|---|---|---|\n");
    for (k, h) in &s.head_to_head {
        md.push_str(&format!("| {} | {} | {} | {} | {:.1} | {:.1} | {:+.1} |\n", k.replace("_vs_", " vs "), h.win, h.tie, h.loss, h.win_rate, h.standard_error, h.net));
    }
    md.push_str("\n![win rates](win_rates.png)\n\n## Each model as a judge (held-out EFT, against the grader)\n\n");
    md.push_str("Pairwise accuracy counts judge ties as misses; correlations are per instruction, averaged.\n\n| model | pairwise acc. | 5-best | exact match | Spearman | Kendall τ | judge ties | coverage |\n|---|---|---|---|---|---|---|---|\n");
    for m in models {
        if let Some(j) = s.judge.get(m) {
            md.push_str(&format!(
                "| {m} | {} | {} | {} | {} | {} | {} | {} |\n",
                f(j.pairwise_accuracy),
                j.five_best.map_or("–".into(), f),
                f(j.exact_match),
                f(j.spearman),
                f(j.kendall_tau),
                f(j.tie_rate),
                f(j.coverage)
            ));
        }
    }
    md.push_str("\n![judge metrics](judge_metrics.png)\n\n## Length\n\n![length](length.png)\n\n## Self-rewarding: scores M_t gave its own candidates\n\n| iteration model | 0 | 1 | 2 | 3 | 4 | 5 |\n|---|---|---|---|---|---|---|\n");
    for (k, h) in &s.self_scores {
        md.push_str(&format!("| {k} | {} |\n", h.iter().map(|c| c.to_string()).collect::<Vec<_>>().join(" | ")));
    }
    md.push_str("\n![self scores](self_scores.png)\n\nAlpacaEval-format files: `eval/<model>/model_outputs.json` and `eval/annotations/<A>_vs_<B>/annotations.json`.\n");
    Ok(engine::fsutil::write_atomic(&dir.join("report.md"), md.as_bytes())?)
}
