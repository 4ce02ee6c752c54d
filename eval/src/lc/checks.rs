//! Both reproductions of the published LC win rates, as tables.
//! - [`from_coefficients`]: every leaderboard model with published coefficients, LC from
//!   those coefficients and the recovered difficulty.
//! - [`refit`]: the models of `alpaca_eval_lc/` (reduced annotations), each fitted anew
//!   as AlpacaEval fits a new model, beside the published LC and coefficients.
use super::fit::{LcContext, LcInput, LcRow};
use super::Glm;
use crate::leaderboard::{csv_field, read_csv};
use crate::winrate::win_rate;
use crate::{Error, Result};
use std::collections::BTreeMap;
use std::path::Path;

/// AlpacaEval 2.0's leaderboard in a checkout.
pub const LEADERBOARD: &str = "src/alpaca_eval/leaderboards/data_AlpacaEval_2/weighted_alpaca_eval_gpt4_turbo_leaderboard.csv";
/// Distance under which a reproduced LC counts as equal (from the coefficients).
pub const EXACT: f64 = 1e-6;

/// One model's LC: ours beside the published one.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct CheckRow {
    pub model: String,
    pub ours: f64,
    pub published: f64,
    /// `ours − published`.
    pub distance: f64,
    /// Why it differs, where known; otherwise empty.
    pub note: String,
    /// Our plain win rate and the published one (refit only).
    pub win_rate: Option<(f64, f64)>,
    /// Our coefficients, the published ones, and the chosen C (refit only).
    pub fitted: Option<(Glm, Option<Glm>, f64)>,
}

/// The published leaderboard: model → (win_rate, n_total, length_controlled_winrate).
pub fn published(dir: &Path) -> Result<BTreeMap<String, (f64, usize, f64)>> {
    let path = dir.join(LEADERBOARD);
    let (header, rows) = read_csv(&path)?;
    let col = |name: &str| header.iter().position(|h| h == name).ok_or_else(|| Error::Parse { path: path.clone(), loc: "header".into(), msg: format!("no column `{name}`") });
    let (w, n, lc) = (col("win_rate")?, col("n_total")?, col("length_controlled_winrate")?);
    let mut out = BTreeMap::new();
    for (i, r) in rows.iter().enumerate() {
        let bad = |k: &str| Error::Parse { path: path.clone(), loc: format!("line {}", i + 2), msg: format!("`{k}` is not a number") };
        let wr: f64 = r[w].parse().map_err(|_| bad("win_rate"))?;
        let nt: f64 = r[n].parse().map_err(|_| bad("n_total"))?;
        let l: f64 = r[lc].parse().map_err(|_| bad("length_controlled_winrate"))?;
        out.insert(r[0].clone(), (wr, nt as usize, l));
    }
    Ok(out)
}

/// LC of every leaderboard model from its published coefficients and the recovered
/// difficulty, averaged over the model's rows by row position: `rows` gives the count of
/// the models whose annotations are at hand, the others are taken as complete (805;
/// `n_total` cannot tell skipped instructions from unjudged rows). Models without
/// coefficients are listed with NaN; every distance above [`EXACT`] gets its likely reason.
pub fn from_coefficients(dir: &Path, ctx: &LcContext, rows: &BTreeMap<String, usize>) -> Result<Vec<CheckRow>> {
    let d = &ctx.difficulty.values;
    let mut out = vec![];
    for (model, (_, n_total, lc)) in published(dir)? {
        let row = match ctx.coefficients.get(&model) {
            None => CheckRow { model, ours: f64::NAN, published: lc, distance: f64::NAN, note: "no published coefficients (added to the leaderboard after the weights file)".into(), win_rate: None, fitted: None },
            Some(g) => {
                let n = rows.get(&model).copied().unwrap_or(d.len());
                let ours = g.lc_win_rate(d, n);
                let distance = ours - lc;
                let note = if distance.abs() < EXACT {
                    if n < d.len() { format!("{n} rows: averaged over its own rows, difficulty by row position") } else { String::new() }
                } else if n_total < n && (g.lc_win_rate(d, n_total) - lc).abs() < EXACT {
                    format!("equal within {EXACT:e} over its first {n_total} rows (n_total): likely skipped instructions, annotations not at hand to confirm")
                } else {
                    "likely refitted after the leaderboard's LC was computed (the weights file keeps the last fit)".into()
                };
                CheckRow { model, ours, published: lc, distance, note, win_rate: None, fitted: None }
            }
        };
        out.push(row);
    }
    Ok(out)
}

/// The models of `lc_inputs` (the `alpaca_eval_lc_inputs.csv` reduction), by generator,
/// rows in annotation order.
pub fn read_lc_inputs(path: &Path) -> Result<Vec<LcInput>> {
    let (header, rows) = read_csv(path)?;
    let col = |name: &str| header.iter().position(|h| h == name).ok_or_else(|| Error::Parse { path: path.into(), loc: "header".into(), msg: format!("no column `{name}`") });
    let (g, b, p, l1, l2, ar) = (col("generator")?, col("baseline")?, col("preference")?, col("len_1")?, col("len_2")?, col("annotation_row")?);
    let mut by: BTreeMap<String, (bool, Vec<(usize, LcRow)>)> = BTreeMap::new();
    for (i, r) in rows.iter().enumerate() {
        let loc = format!("line {}", i + 2);
        let num = |j: usize, k: &str| r.get(j).and_then(|f| f.parse::<usize>().ok()).ok_or_else(|| Error::Parse { path: path.into(), loc: loc.clone(), msg: format!("`{k}` is not a count") });
        let preference = match r.get(p).map(String::as_str) {
            Some("") | None => None,
            Some(f) => Some(f.parse::<f64>().map_err(|_| Error::Parse { path: path.into(), loc: loc.clone(), msg: format!("`preference` = `{f}` is not a number") })?),
        };
        let e = by.entry(r[g].clone()).or_default();
        e.0 = r[g] == r[b];
        e.1.push((num(ar, "annotation_row")?, LcRow { preference, len_1: num(l1, "len_1")?, len_2: num(l2, "len_2")? }));
    }
    Ok(by
        .into_iter()
        .map(|(model, (is_baseline, mut rows))| {
            rows.sort_by_key(|r| r.0);
            LcInput { model, is_baseline, rows: rows.into_iter().map(|r| r.1).collect() }
        })
        .collect())
}

/// Every model of `inputs` fitted anew, beside the leaderboard (models not on it get
/// NaN as published).
pub fn refit(dir: &Path, inputs: &[LcInput], ctx: &LcContext) -> Result<Vec<CheckRow>> {
    let pubd = published(dir)?;
    let mut out = vec![];
    for input in inputs {
        let fit = ctx.fit(input)?;
        let prefs: Vec<f64> = input.rows.iter().filter_map(|r| r.preference).collect();
        let (pwr, plc) = pubd.get(&input.model).map_or((f64::NAN, f64::NAN), |x| (x.0, x.2));
        let note = if plc.is_nan() { "not on the leaderboard".into() } else { String::new() };
        out.push(CheckRow {
            model: input.model.clone(),
            ours: fit.lc_win_rate,
            published: plc,
            distance: fit.lc_win_rate - plc,
            note,
            win_rate: Some((win_rate(&prefs).win_rate, pwr)),
            fitted: Some((fit.glm, ctx.coefficients.get(&input.model).copied(), fit.c.unwrap_or(f64::NAN))),
        });
    }
    Ok(out)
}

/// CSV with `model,ours,published,distance`, then the extra columns a check has.
pub fn to_csv(rows: &[CheckRow]) -> String {
    let refit = rows.iter().any(|r| r.fitted.is_some());
    let mut s = String::from("model,ours,published,distance");
    if refit {
        s.push_str(",win_rate_ours,win_rate_published,C,length,difficulty,bias,length_published,difficulty_published,bias_published");
    }
    s.push_str(",note\n");
    for r in rows {
        s.push_str(&format!("{},{},{},{}", csv_field(&r.model), r.ours, r.published, r.distance));
        if refit {
            let (wo, wp) = r.win_rate.unwrap_or((f64::NAN, f64::NAN));
            let nan = Glm { length: f64::NAN, difficulty: f64::NAN, bias: f64::NAN };
            let (g, p, c) = r.fitted.unwrap_or((nan, None, f64::NAN));
            let p = p.unwrap_or(nan);
            s.push_str(&format!(",{wo},{wp},{c},{},{},{},{},{},{}", g.length, g.difficulty, g.bias, p.length, p.difficulty, p.bias));
        }
        s.push_str(&format!(",{}\n", csv_field(&r.note)));
    }
    s
}

/// Distance within which a refitted LC counts as reproduced.
pub const REFIT_TOLERANCE: f64 = 0.5;

/// Both checks: writes `lc_from_coefficients.csv` and `lc_refit.csv` under `out` and
/// returns a printable summary (every distance, the coefficients beside the published).
pub fn run(dir: &Path, lc_inputs: &Path, out: &Path) -> Result<String> {
    use std::fmt::Write;
    let ctx = LcContext::load(dir)?;
    let inputs = read_lc_inputs(lc_inputs)?;
    let rows: BTreeMap<String, usize> = inputs.iter().map(|m| (m.model.clone(), m.rows.len())).collect();
    let coef = from_coefficients(dir, &ctx, &rows)?;
    let refitted = refit(dir, &inputs, &ctx)?;
    engine::fsutil::write_atomic(&out.join("lc_from_coefficients.csv"), to_csv(&coef).as_bytes())?;
    engine::fsutil::write_atomic(&out.join("lc_refit.csv"), to_csv(&refitted).as_bytes())?;
    let mut s = String::new();
    let d = &ctx.difficulty;
    let _ = writeln!(s, "difficulty: {} instructions from {}; the two sources differ by at most {:.2e}; instruction 0 (the reference, 0) at {:.2e}", d.values.len(), dir.display(), d.source_disagreement, d.reference_offset);
    let with = coef.iter().filter(|r| !r.ours.is_nan()).count();
    let exact = coef.iter().filter(|r| r.distance.abs() < EXACT).count();
    let _ = writeln!(s, "\nfrom the published coefficients: {exact} of {} leaderboard models within {EXACT:e} ({with} have coefficients; {} without are left out)", coef.len(), coef.len() - with);
    for r in coef.iter().filter(|r| !r.ours.is_nan() && !(r.distance.abs() < EXACT)) {
        let _ = writeln!(s, "  {:44} ours {:9.5} published {:9.5} distance {:+.2e}  {}", r.model, r.ours, r.published, r.distance, r.note);
    }
    let on_board: Vec<&CheckRow> = refitted.iter().filter(|r| !r.published.is_nan()).collect();
    let win_equal = refitted.iter().filter(|r| r.win_rate.is_some_and(|(o, p)| (o - p).abs() < EXACT)).count();
    let close = on_board.iter().filter(|r| r.distance.abs() < REFIT_TOLERANCE).count();
    let worst = on_board.iter().map(|r| r.distance.abs()).fold(0.0, f64::max);
    let _ = writeln!(s, "\nrefitted ({} models, gamed rows from {:?}): plain win rate equal to the leaderboard's for {win_equal}; LC within {REFIT_TOLERANCE} points for {close} of {} on the leaderboard (worst {worst:.3})", refitted.len(), ctx.gamed.source, on_board.len());
    let _ = writeln!(s, "  {:36} {:>8} {:>8} {:>7} {:>8}  {:>26}  {:>26}", "model", "ours", "publ.", "dist", "C", "ours (len, diff, bias)", "published");
    for r in &refitted {
        let (g, p, c) = r.fitted.expect("refit rows carry their fit");
        let p = p.map_or("-".to_string(), |p| format!("{:8.4} {:8.4} {:8.4}", p.length, p.difficulty, p.bias));
        let _ = writeln!(s, "  {:36} {:8.3} {:8.3} {:+7.3} {:8.3}  {:8.4} {:8.4} {:8.4}  {p}", r.model, r.ours, r.published, r.distance, c, g.length, g.difficulty, g.bias);
    }
    let _ = writeln!(s, "\nwrote {} and {}", out.join("lc_from_coefficients.csv").display(), out.join("lc_refit.csv").display());
    Ok(s)
}
