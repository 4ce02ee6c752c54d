//! An AlpacaEval leaderboard from a folder laid out like alpaca_eval's `results/`:
//! `<model>/<annotator>/annotations.json` and `<model>/model_outputs.json`.
use crate::alpaca::{read_json_array, Annotation, ModelOutput};
use crate::lc::{LcContext, LcInput};
use crate::winrate::{win_rate, WinRate};
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// `srlm-eval leaderboard`: the `results/` folder, its annotator, and the CSV to write.
#[derive(Debug, Clone, clap::Args)]
pub struct LeaderboardArgs {
    /// Folder laid out as `<model>/<annotator>/annotations.json`.
    #[arg(long)]
    pub results: PathBuf,
    /// The annotator whose judgments rank the models (its folder under each model).
    #[arg(long, default_value = "weighted_alpaca_eval_gpt4_turbo")]
    pub annotator: String,
    /// Where to write the CSV.
    #[arg(long)]
    pub out: PathBuf,
    /// Skip the length-controlled GLM.
    #[arg(long)]
    pub no_lc: bool,
    /// alpaca_eval checkout for the LC fit (difficulty, coefficients); default: the
    /// folder above `--results`.
    #[arg(long)]
    pub alpaca_eval_dir: Option<PathBuf>,
}

/// Runs `srlm-eval leaderboard`: [`build`]s the leaderboard (with the LC fit unless
/// `--no-lc`), writes it as CSV to `--out` and prints it.
pub fn run(args: &LeaderboardArgs) -> Result<()> {
    let dir = args.alpaca_eval_dir.clone().unwrap_or_else(|| args.results.join(".."));
    let ctx = if args.no_lc { None } else { Some(LcContext::load(&dir)?) };
    let csv = to_csv(&build(&args.results, &args.annotator, ctx.as_ref())?);
    engine::fsutil::write_atomic(&args.out, csv.as_bytes())?;
    print!("{csv}");
    eprintln!("wrote {}", args.out.display());
    Ok(())
}

/// One leaderboard row with AlpacaEval's columns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    pub model: String,
    #[serde(flatten)]
    pub win: WinRate,
    /// Mean length of the model's outputs in characters, truncated as AlpacaEval prints it.
    pub avg_length: usize,
    pub length_controlled_winrate: Option<f64>,
}

/// Characters as Python's `len` counts them (code points).
pub fn chars(s: &str) -> usize {
    s.chars().count()
}

/// Models under `results` with an `annotator` folder, sorted by name.
pub fn models_with(results: &Path, annotator: &str) -> Result<Vec<String>> {
    let mut out = vec![];
    let rd = std::fs::read_dir(results).map_err(|e| Error::io(results, e))?;
    for e in rd {
        let e = e.map_err(|e| Error::io(results, e))?;
        if e.path().join(annotator).join("annotations.json").exists() {
            out.push(e.file_name().to_string_lossy().to_string());
        }
    }
    out.sort();
    Ok(out)
}

/// The leaderboard of every model judged by `annotator`, best first. With `lc`, each
/// model's length-controlled win rate is fitted as AlpacaEval fits it ([`crate::lc`]).
pub fn build(results: &Path, annotator: &str, lc: Option<&LcContext>) -> Result<Vec<Row>> {
    let models = models_with(results, annotator)?;
    let mut rows = vec![];
    for m in &models {
        let ann: Vec<Annotation> = read_json_array(&results.join(m).join(annotator).join("annotations.json"))?;
        let prefs: Vec<f64> = ann.iter().filter_map(|a| a.preference.map(|p| p.value())).collect();
        let outs_path = results.join(m).join("model_outputs.json");
        let avg_length = if outs_path.exists() {
            let outs: Vec<ModelOutput> = read_json_array(&outs_path)?;
            (outs.iter().map(|o| chars(&o.output)).sum::<usize>() as f64 / outs.len().max(1) as f64) as usize
        } else {
            (ann.iter().map(|a| chars(&a.output_2)).sum::<usize>() as f64 / ann.len().max(1) as f64) as usize
        };
        let length_controlled_winrate = match lc {
            Some(ctx) => Some(ctx.fit(&LcInput::from_annotations(m, &ann))?.lc_win_rate),
            None => None,
        };
        rows.push(Row { model: m.clone(), win: win_rate(&prefs), avg_length, length_controlled_winrate });
    }
    rows.sort_by(|a, b| b.win.win_rate.total_cmp(&a.win.win_rate));
    Ok(rows)
}

/// CSV with AlpacaEval's header (first column the model name).
pub fn to_csv(rows: &[Row]) -> String {
    let mut s = String::from(",win_rate,standard_error,n_wins,n_wins_base,n_draws,n_total,discrete_win_rate,avg_length,length_controlled_winrate\n");
    for r in rows {
        let w = &r.win;
        s.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{}\n",
            csv_field(&r.model),
            w.win_rate,
            w.standard_error,
            w.n_wins,
            w.n_wins_base,
            w.n_draws,
            w.n_total,
            w.discrete_win_rate,
            r.avg_length,
            r.length_controlled_winrate.map(|v| v.to_string()).unwrap_or_default()
        ));
    }
    s
}

/// One CSV field, quoted when it holds a comma, quote or newline.
pub(crate) fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Parses a CSV file into header and rows (quoted fields supported).
pub fn read_csv(path: &Path) -> Result<(Vec<String>, Vec<Vec<String>>)> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    parse_csv(&text, path)
}

/// CSV text read from `path` (named in errors) into header and rows.
pub fn parse_csv(text: &str, path: &Path) -> Result<(Vec<String>, Vec<Vec<String>>)> {
    let mut rows = vec![];
    let mut field = String::new();
    let mut row = vec![];
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => row.push(std::mem::take(&mut field)),
            ('\n', false) => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            ('\r', false) => {}
            (c, _) => field.push(c),
        }
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    if rows.is_empty() {
        return Err(Error::Parse { path: path.into(), loc: "line 1".into(), msg: "empty CSV".into() });
    }
    let header = rows.remove(0);
    Ok((header, rows))
}
