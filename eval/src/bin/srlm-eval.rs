//! `srlm-eval`: evaluation of self-rewarding runs and AlpacaEval leaderboards.
//!
//! ```text
//! srlm-eval run [--name default]                # runs/<name>/eval/{report.md,summary.json,*.png}
//! srlm-eval leaderboard --results DIR --annotator NAME --out leaderboard.csv
//! srlm-eval agreement --mtbench CSV | --oa JSONL
//! ```
use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser)]
#[command(version, about = "Win rates, judge agreement and reports")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Evaluate a self-rewarding run (models, judges, head-to-head) and write its report.
    Run {
        /// Run name under runs_dir.
        #[arg(long, default_value = "default")]
        name: String,
        /// Folder holding runs.
        #[arg(long, default_value = "runs")]
        runs_dir: PathBuf,
    },
    /// Build an AlpacaEval leaderboard CSV from a `results/` folder.
    Leaderboard {
        /// Folder laid out as `<model>/<annotator>/annotations.json`.
        #[arg(long)]
        results: PathBuf,
        #[arg(long, default_value = "weighted_alpaca_eval_gpt4_turbo")]
        annotator: String,
        /// Where to write the CSV.
        #[arg(long)]
        out: PathBuf,
        /// Skip the length-controlled GLM.
        #[arg(long)]
        no_lc: bool,
    },
    /// Judge-vs-human agreement on public data.
    Agreement {
        /// MT-Bench `human_vs_gpt4pair_slim.csv`: GPT-4 vs human per turn.
        #[arg(long)]
        mtbench: Option<PathBuf>,
        /// Open Assistant `en_100_tree.jsonl`: Table 4 metrics of a response-length judge.
        #[arg(long)]
        oa: Option<PathBuf>,
    },
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().cmd {
        Cmd::Run { name, runs_dir } => {
            let run = trainer::RunDir::new(&runs_dir, &name);
            let cfg_path = run.path("config.toml");
            let text = std::fs::read_to_string(&cfg_path).map_err(|e| anyhow::anyhow!("{}: {e} (run `make iterate` first)", cfg_path.display()))?;
            let cfg: trainer::RunConfig = toml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", cfg_path.display()))?;
            let s = eval::run::evaluate(&run, &cfg)?;
            println!("{}", serde_json::to_string_pretty(&s)?);
            eprintln!("report: {}", run.path("eval/report.md").display());
        }
        Cmd::Leaderboard { results, annotator, out, no_lc } => {
            let rows = eval::leaderboard::build(&results, &annotator, !no_lc)?;
            engine::fsutil::write_atomic(&out, eval::leaderboard::to_csv(&rows).as_bytes())?;
            print!("{}", eval::leaderboard::to_csv(&rows));
            eprintln!("wrote {}", out.display());
        }
        Cmd::Agreement { mtbench, oa } => {
            if let Some(p) = mtbench {
                let votes = eval::datasets::load_mtbench(&p)?;
                for turn in [1, 2] {
                    let v: Vec<_> = votes.iter().filter(|x| x.turn == turn).map(|x| (x.human, x.gpt4)).collect();
                    let a = eval::agreement::human_agreement(&v);
                    println!("turn {turn}: GPT-4 vs human agreement {:.1}% with ties (n={}), {:.1}% without ties (n={})", 100.0 * a.with_ties, a.n_with_ties, 100.0 * a.without_ties, a.n_without_ties);
                }
            }
            if let Some(p) = oa {
                let groups = eval::datasets::load_oa_groups(&p)?;
                let items: Vec<_> = groups.iter().enumerate().flat_map(|(g, rs)| rs.iter().map(move |(t, r)| eval::agreement::Item { group: g, gold: -(*r as f64), pred: Some(t.chars().count() as f64) })).collect();
                println!("length judge on {} Open Assistant reply groups: {:#?}", groups.len(), eval::agreement::judge_metrics(&items));
            }
        }
    }
    Ok(())
}
