//! Notebook 3, win rates: the run's head-to-head results as tables and a matrix,
//! and AlpacaEval-style tables with the published leaderboard beside our models.
use super::{f64s, frame, read_csv, strs, DataFrame};
use crate::charts::{Figure, Plot, Series};
use crate::{Result, RunFolder};
use polars::prelude::Column;
use std::path::{Path, PathBuf};

/// Every head-to-head comparison of the run under the grader (`a` against `b`).
pub fn head_to_head(run: &RunFolder) -> Result<DataFrame> {
    let s = run.eval_summary()?;
    let c = s.comparisons();
    frame("head to head", vec![
        Column::new("a".into(), c.iter().map(|x| x.0.clone()).collect::<Vec<_>>()),
        Column::new("b".into(), c.iter().map(|x| x.1.clone()).collect::<Vec<_>>()),
        Column::new("win".into(), c.iter().map(|x| x.2.win as u32).collect::<Vec<_>>()),
        Column::new("tie".into(), c.iter().map(|x| x.2.tie as u32).collect::<Vec<_>>()),
        Column::new("loss".into(), c.iter().map(|x| x.2.loss as u32).collect::<Vec<_>>()),
        Column::new("win_rate".into(), c.iter().map(|x| x.2.win_rate).collect::<Vec<_>>()),
        Column::new("standard_error".into(), c.iter().map(|x| x.2.standard_error).collect::<Vec<_>>()),
        Column::new("net".into(), c.iter().map(|x| x.2.net).collect::<Vec<_>>()),
    ])
}

/// Win minus loss (points) of the row model against the column model; NaN on the
/// diagonal and where the run has no comparison.
pub fn net_matrix(run: &RunFolder) -> Result<(Vec<String>, Vec<Vec<f64>>)> {
    let s = run.eval_summary()?;
    let ms = s.models.clone();
    let m = ms
        .iter()
        .map(|a| {
            ms.iter()
                .map(|b| {
                    if let Some(h) = s.head_to_head.get(&format!("{a}_vs_{b}")) {
                        h.net
                    } else if let Some(h) = s.head_to_head.get(&format!("{b}_vs_{a}")) {
                        -h.net
                    } else {
                        f64::NAN
                    }
                })
                .collect()
        })
        .collect();
    Ok((ms, m))
}

pub fn net_matrix_chart(models: &[String], m: &[Vec<f64>]) -> Figure {
    Figure::new("Head to head: win − loss of the row model (points, grader)", Plot::Heatmap { rows: models.to_vec(), cols: models.to_vec(), values: m.to_vec(), digits: 1 })
        .axes("against", "")
        .size(620, 460)
}

/// Each iteration's model against the SFT baseline and against the model before it
/// (the same chart as `make eval`'s report).
pub fn win_rate_chart(run: &RunFolder) -> Result<Figure> {
    Ok(crate::figures::win_rates(&run.eval_summary()?))
}

/// The AlpacaEval 2.0 leaderboard CSV (GPT-4 Turbo annotator) in an alpaca_eval checkout.
pub fn alpaca_leaderboard_csv(alpaca_eval: &Path) -> PathBuf {
    alpaca_eval.join("src/alpaca_eval/leaderboards/data_AlpacaEval_2/weighted_alpaca_eval_gpt4_turbo_leaderboard.csv")
}

/// The published leaderboard, read with polars: model, win rate, s.e., LC win rate, length.
pub fn alpaca_leaderboard(csv: &Path) -> Result<DataFrame> {
    let df = read_csv(csv)?;
    let first = df.get_column_names().first().map(|n| n.to_string()).unwrap_or_default();
    let names = strs(&df, csv, &first)?;
    frame("alpaca leaderboard", vec![
        Column::new("model".into(), names),
        Column::new("win_rate".into(), f64s(&df, csv, "win_rate")?),
        Column::new("standard_error".into(), f64s(&df, csv, "standard_error")?),
        Column::new("lc_win_rate".into(), f64s(&df, csv, "length_controlled_winrate")?),
        Column::new("avg_length".into(), f64s(&df, csv, "avg_length")?),
        Column::new("n_total".into(), f64s(&df, csv, "n_total")?),
    ])
}

/// An AlpacaEval-style table: the `top` leaderboard models by LC win rate (against
/// GPT-4 Turbo on AlpacaEval's 805 instructions), then this run's models (against the
/// SFT baseline on the world's test prompts, grader as annotator). The `baseline` and
/// `annotator` columns say which is which: the two halves are not on one scale.
pub fn alpaca_table(run: &RunFolder, leaderboard: &DataFrame, top: usize) -> Result<DataFrame> {
    let p = Path::new("alpaca leaderboard");
    let (names, wr, se, lc, len) = (strs(leaderboard, p, "model")?, f64s(leaderboard, p, "win_rate")?, f64s(leaderboard, p, "standard_error")?, f64s(leaderboard, p, "lc_win_rate")?, f64s(leaderboard, p, "avg_length")?);
    let mut order: Vec<usize> = (0..names.len()).collect();
    order.sort_by(|a, b| lc[*b].total_cmp(&lc[*a]));
    order.truncate(top);
    let mut rows: Vec<(String, String, String, f64, f64, f64, f64)> =
        order.iter().map(|i| (names[*i].clone(), "gpt4_turbo".into(), "weighted_alpaca_eval_gpt4_turbo".into(), wr[*i], se[*i], lc[*i], len[*i])).collect();
    let s = run.eval_summary()?;
    for m in s.models.iter().filter(|m| *m != "SFT") {
        if let Some(h) = s.head_to_head.get(&format!("{m}_vs_SFT")) {
            rows.push((format!("{}/{m}", run.name()), "SFT".into(), "world_grader".into(), h.win_rate, h.standard_error, f64::NAN, s.avg_length.get(m).copied().unwrap_or(f64::NAN)));
        }
    }
    frame("alpaca table", vec![
        Column::new("model".into(), rows.iter().map(|r| r.0.clone()).collect::<Vec<_>>()),
        Column::new("baseline".into(), rows.iter().map(|r| r.1.clone()).collect::<Vec<_>>()),
        Column::new("annotator".into(), rows.iter().map(|r| r.2.clone()).collect::<Vec<_>>()),
        Column::new("win_rate".into(), rows.iter().map(|r| r.3).collect::<Vec<_>>()),
        Column::new("standard_error".into(), rows.iter().map(|r| r.4).collect::<Vec<_>>()),
        Column::new("lc_win_rate".into(), rows.iter().map(|r| r.5).collect::<Vec<_>>()),
        Column::new("avg_length".into(), rows.iter().map(|r| r.6).collect::<Vec<_>>()),
    ])
}

/// Win rate (and LC win rate where known) of each row of an AlpacaEval-style table.
pub fn alpaca_chart(table: &DataFrame) -> Result<Figure> {
    let p = Path::new("alpaca table");
    let x: Vec<String> = strs(table, p, "model")?.iter().map(|n| n.chars().take(18).collect()).collect();
    let series = vec![Series::new("win rate", f64s(table, p, "win_rate")?), Series::new("LC win rate", f64s(table, p, "lc_win_rate")?)];
    Ok(Figure::new("AlpacaEval-style win rates (leaderboard vs GPT-4 Turbo; run vs its SFT)", Plot::Bars { x, series, y_max: 100.0 }).axes("", "%").size(1000, 460))
}

