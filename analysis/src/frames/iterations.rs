//! Notebook 1, the iteration overview: what each iteration kept, how it scored its
//! own candidates, how DPO trained, and how responses grew.
use super::{f64_lists, frame, mean, read_jsonl, str_lists, DataFrame};
use crate::charts::{max_of, Figure, Plot, Series};
use crate::{Result, RunFolder};
use polars::prelude::Column;
use world::records::PromptRecord;

fn col<T>(name: &str, v: Vec<T>) -> Column
where
    polars::prelude::Series: polars::prelude::NamedFrom<Vec<T>, [T]>,
{
    Column::new(name.into(), v)
}

/// One row per finished iteration t (M_t -> M_{t+1}), from `iter_<t>/summary.json`.
pub fn iterations(run: &RunFolder) -> Result<DataFrame> {
    let ts = run.iterations();
    let s = ts.iter().map(|t| run.iter_summary(*t)).collect::<records::Result<Vec<_>>>()?;
    let g = |f: &dyn Fn(&records::IterSummary) -> f64| s.iter().map(f).collect::<Vec<f64>>();
    let m = |k: &'static str| move |x: &records::IterSummary| x.dpo_valid.get(k).copied().unwrap_or(f64::NAN);
    frame("iterations", vec![
        col("iteration", ts.iter().map(|t| *t as u32).collect()),
        col("prompts_kept", s.iter().map(|x| x.prompts_kept as u32).collect()),
        col("candidates", s.iter().map(|x| x.candidates as u32).collect()),
        col("parse_failures", s.iter().map(|x| x.parse_failures as u32).collect()),
        col("pairs", s.iter().map(|x| x.pairs as u32).collect()),
        col("mean_self_score", g(&|x| x.mean_self_score)),
        col("grader_mean", g(&|x| x.grader_mean_candidates)),
        col("pairs_agree", g(&|x| x.pairs_agreeing_with_grader)),
        col("pairs_tied", g(&|x| x.pairs_tied_by_grader)),
        col("pairs_against", g(&|x| x.pairs_against_grader)),
        col("words_candidates", g(&|x| x.mean_len_candidates)),
        col("words_chosen", g(&|x| x.mean_len_chosen)),
        col("words_rejected", g(&|x| x.mean_len_rejected)),
        col("dpo_reward_accuracy", g(&m("rewards/accuracies"))),
        col("dpo_reward_margin", g(&m("rewards/margins"))),
        col("dpo_best_step", s.iter().map(|x| x.dpo_best_step as u32).collect()),
        col("seconds", g(&|x| x.seconds.values().sum())),
    ])
}

/// DPO curves of every iteration: one row per (iteration, split, step).
pub fn dpo_curves(run: &RunFolder) -> Result<DataFrame> {
    let (mut it, mut split, mut step, mut loss, mut acc, mut margin) = (vec![], vec![], vec![], vec![], vec![], vec![]);
    for t in run.iterations() {
        let log = run.dpo_log(t)?;
        for (name, rows) in [("train", &log.train), ("valid", &log.valid)] {
            for (s, m) in rows {
                let g = |k: &str| m.get(k).copied().unwrap_or(f64::NAN);
                it.push(t as u32);
                split.push(name.to_string());
                step.push(*s as u32);
                loss.push(g("loss"));
                acc.push(g("rewards/accuracies"));
                margin.push(g("rewards/margins"));
            }
        }
    }
    frame("dpo curves", vec![col("iteration", it), col("split", split), col("step", step), col("loss", loss), col("reward_accuracy", acc), col("reward_margin", margin)])
}

/// Every candidate of iteration t: its self-score (mean of the judge samples; null
/// when none could be read) beside the world grader's score, which the loop never sees.
/// `judgments.jsonl` is read with polars; the tasks (for grading) from `prompts.jsonl`.
pub fn candidates(run: &RunFolder, t: usize) -> Result<DataFrame> {
    let jp = run.require(&format!("iter_{t}/judgments.jsonl"), "run `make iterate`")?;
    let df = read_jsonl(&jp)?;
    let ids = super::f64s(&df, &jp, "prompt_id")?;
    let responses = str_lists(&df, &jp, "responses")?;
    let scores = f64_lists(&df, &jp, "scores")?;
    let prompts: Vec<PromptRecord> = run.read_jsonl(&format!("iter_{t}/prompts.jsonl"), "run `make iterate`")?;
    let tasks: std::collections::HashMap<usize, &world::Task> = prompts.iter().filter_map(|p| p.task.as_ref().map(|k| (p.id, k))).collect();
    let (mut pid, mut fam, mut cand, mut words, mut selfs, mut grader) = (vec![], vec![], vec![], vec![], vec![], vec![]);
    for ((id, rs), ss) in ids.iter().zip(&responses).zip(&scores) {
        let id = *id as usize;
        let task = tasks.get(&id);
        for (k, r) in rs.iter().enumerate() {
            pid.push(id as u32);
            fam.push(task.map_or(String::new(), |t| t.family.name().to_string()));
            cand.push(k as u32);
            words.push(r.split_whitespace().count() as u32);
            selfs.push(ss.get(k).copied().filter(|v| v.is_finite()));
            grader.push(task.map(|t| world::grade(t, r).score as f64));
        }
    }
    frame("candidates", vec![col("prompt_id", pid), col("family", fam), col("candidate", cand), col("words", words), col("self_score", selfs), col("grader", grader)])
}

fn x_labels(df: &DataFrame) -> Result<Vec<String>> {
    Ok(super::f64s(df, std::path::Path::new("iterations"), "iteration")?.iter().map(|t| format!("M{t} → M{}", t + 1.0)).collect())
}

fn series(df: &DataFrame, cols: &[(&str, &str)]) -> Result<Vec<Series>> {
    cols.iter().map(|(c, label)| Ok(Series::new(*label, super::f64s(df, std::path::Path::new("iterations"), c)?))).collect()
}

/// Pairs kept per iteration, and how the grader sees them (agree / tie / against).
pub fn pairs_chart(df: &DataFrame) -> Result<Figure> {
    let x = x_labels(df)?;
    let s = series(df, &[("pairs", "pairs")])?;
    let y = max_of(&s[0].values) * 1.2;
    Ok(Figure::new("Preference pairs per iteration", Plot::Bars { x, series: s, y_max: y }).axes("iteration", "pairs"))
}

/// The share of pairs whose chosen response the grader also prefers, ties, and against.
pub fn pair_quality_chart(df: &DataFrame) -> Result<Figure> {
    let x = x_labels(df)?;
    let s = series(df, &[("pairs_agree", "grader agrees"), ("pairs_tied", "grader ties"), ("pairs_against", "grader disagrees")])?;
    Ok(Figure::new("Self-judged pairs as the grader sees them", Plot::Bars { x, series: s, y_max: 1.0 }).axes("iteration", "share of pairs"))
}

/// DPO validation reward accuracy and margin of the kept checkpoint.
pub fn dpo_chart(df: &DataFrame) -> Result<Figure> {
    let x = x_labels(df)?;
    let s = series(df, &[("dpo_reward_accuracy", "reward accuracy"), ("dpo_reward_margin", "reward margin")])?;
    let hi = s.iter().flat_map(|s| s.values.iter()).copied().filter(|v| v.is_finite()).fold(1.0, f64::max);
    let lo = s.iter().flat_map(|s| s.values.iter()).copied().filter(|v| v.is_finite()).fold(0.0, f64::min);
    Ok(Figure::new("DPO on validation pairs (kept checkpoint)", Plot::Lines { x, series: s, y_range: (lo, hi * 1.05) }).axes("iteration", ""))
}

/// Mean response length (words) of candidates, chosen and rejected responses.
pub fn length_chart(df: &DataFrame) -> Result<Figure> {
    let x = x_labels(df)?;
    let s = series(df, &[("words_candidates", "candidates"), ("words_chosen", "chosen"), ("words_rejected", "rejected")])?;
    let y = max_of(s.iter().flat_map(|s| s.values.iter())) * 1.3;
    Ok(Figure::new("Response length per iteration", Plot::Bars { x, series: s, y_max: y }).axes("iteration", "mean words"))
}

/// Self-score distribution (rounded to 0..=5) of each iteration's candidates.
pub fn self_score_chart(cands: &[(usize, DataFrame)]) -> Result<Figure> {
    let x: Vec<String> = (0..=5).map(|i| i.to_string()).collect();
    let mut series = vec![];
    for (t, df) in cands {
        let v = super::f64s(df, std::path::Path::new("candidates"), "self_score")?;
        let mut h = [0.0f64; 6];
        for s in v.iter().filter(|s| s.is_finite()) {
            h[s.round().clamp(0.0, 5.0) as usize] += 1.0;
        }
        let n: f64 = h.iter().sum::<f64>().max(1.0);
        series.push(Series::new(format!("M{t}"), h.iter().map(|c| c / n).collect()));
    }
    let y = max_of(series.iter().flat_map(|s| s.values.iter())) * 1.2;
    Ok(Figure::new("Scores each model gave its own candidates", Plot::Bars { x, series, y_max: y }).axes("self-score (rounded)", "share of candidates"))
}

/// Mean grader and self-score per family for one iteration's candidates.
pub fn by_family(cands: &DataFrame) -> Result<DataFrame> {
    let p = std::path::Path::new("candidates");
    let fam = super::strs(cands, p, "family")?;
    let selfs = super::f64s(cands, p, "self_score")?;
    let grader = super::f64s(cands, p, "grader")?;
    let mut names: Vec<String> = fam.clone();
    names.sort();
    names.dedup();
    let pick = |v: &[f64], f: &str| mean(v.iter().zip(&fam).filter(|(_, g)| *g == f).map(|(x, _)| *x));
    frame("by family", vec![
        col("family", names.clone()),
        col("candidates", names.iter().map(|f| fam.iter().filter(|g| *g == f).count() as u32).collect()),
        col("mean_self_score", names.iter().map(|f| pick(&selfs, f)).collect()),
        col("mean_grader", names.iter().map(|f| pick(&grader, f)).collect()),
    ])
}

/// [`candidates`] of every finished iteration, with its t.
pub fn candidates_all(run: &RunFolder) -> Result<Vec<(usize, DataFrame)>> {
    run.iterations().into_iter().map(|t| Ok((t, candidates(run, t)?))).collect()
}

/// Self-score against grader score on the candidates of the last iteration: does the
/// model, judging itself, rank its candidates as the grader would?
pub fn self_vs_grader_chart(cands: &[(usize, DataFrame)]) -> Result<Figure> {
    let Some((t, df)) = cands.last() else {
        return Err(crate::Error::Missing { path: "iter_1/judgments.jsonl".into(), hint: "no finished iteration; run `make iterate`".into() });
    };
    let m = super::judge::confusion(df, "self_score", "grader")?;
    Ok(super::judge::confusion_chart(&format!("M{t} judging its own candidates vs the grader (counts)"), &m))
}
