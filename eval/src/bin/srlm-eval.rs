//! `srlm-eval`: evaluation of self-rewarding runs and AlpacaEval leaderboards.
//!
//! ```text
//! srlm-eval run [--name default]                # runs/<name>/eval/{report.md,summary.json,*.png}
//! srlm-eval leaderboard --results DIR --annotator NAME --out leaderboard.csv
//! srlm-eval alpaca-lc [--alpaca-eval-dir DIR] [--lc-inputs CSV] --out DIR   # LC vs the leaderboard
//! srlm-eval compare --a A/model_outputs.json --b B/model_outputs.json [--judge judge.toml] [--out annotations.json]
//! srlm-eval grade --outputs model_outputs.json --prompts runs/<name>/seed/test_prompts.jsonl
//! srlm-eval pairs [--name default] [--iteration 1]   # grader vs the self-judged pairs, per family
//! srlm-eval agreement --mtbench CSV | --oa JSONL [--judge judge.toml]
//! srlm-eval ifeval --prompts input_data.jsonl (--responses R.jsonl | --model CKPT) --out DIR
//! ```
use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser)]
#[command(version, about = "Win rates, judge agreement and reports")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
    /// Device of every model a command loads (`cuda` needs a CUDA build).
    #[arg(long, value_enum, default_value = "cpu", global = true)]
    device: engine::DeviceKind,
    /// Precision of those models (`bf16`, `f16` on CUDA only).
    #[arg(long, value_enum, default_value = "f32", global = true)]
    dtype: engine::Precision,
    /// Decode those models on the CPU through weights quantized to these blocks (faster, not
    /// the same numbers); unset: f32.
    #[arg(long, value_enum, global = true)]
    decode_weights: Option<engine::ops::QuantKind>,
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
        /// `eval.key=value`: what to measure beyond the run's own config (e.g.
        /// `eval.ifeval_limit=100`); only `eval.` keys (the models are made already).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        overrides: Vec<String>,
    },
    /// Build an AlpacaEval leaderboard CSV from a `results/` folder.
    Leaderboard(eval::leaderboard::LeaderboardArgs),
    /// AlpacaEval 2.0's LC win rate reproduced two ways: from the published per-model
    /// coefficients, and refitted from reduced annotations; writes
    /// `lc_from_coefficients.csv` and `lc_refit.csv` (model, ours, published, distance).
    AlpacaLc {
        /// alpaca_eval checkout (default: `ALPACA_EVAL_DIR`, else ../shared/data/alpaca_eval).
        #[arg(long)]
        alpaca_eval_dir: Option<PathBuf>,
        /// `alpaca_eval_lc_inputs.csv`: judged pairs reduced to what LC needs.
        #[arg(long, default_value = "../shared/data/alpaca_eval_lc/alpaca_eval_lc_inputs.csv")]
        lc_inputs: PathBuf,
        /// Folder for the two CSVs.
        #[arg(long, default_value = "target/alpaca_eval")]
        out: PathBuf,
    },
    /// Head-to-head of two `model_outputs.json` files under a judge chosen by a TOML file
    /// (`type = "grader"` with --prompts, `type = "checkpoint"`, or `type = "remote"`).
    Compare(eval::compare::CompareArgs),
    /// Any model's outputs (`model_outputs.json`, e.g. from `srlm generate`) on the world's
    /// prompts under the world's grader, overall and per family.
    Grade(eval::grade::GradeArgs),
    /// Per task family: how the grader sees the self-judged pairs of an iteration.
    Pairs(eval::pairs::PairsArgs),
    /// Judge-vs-human agreement on public data.
    Agreement(eval::human::AgreementArgs),
    /// IFEval: score responses to Google's prompts (or generate them with --model), writing
    /// summary.json and eval_results_{strict,loose}.jsonl into --out.
    Ifeval(eval::ifeval::IfevalArgs),
}

fn main() -> anyhow::Result<()> {
    engine::alloc::keep_freed_memory();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let rt = engine::Runtime { device: cli.device, dtype: cli.dtype, decode_weights: cli.decode_weights };
    match cli.cmd {
        Cmd::Run { name, runs_dir, overrides } => {
            let (run, s) = eval::run::evaluate_named(&runs_dir, &name, &overrides)?;
            println!("{}", serde_json::to_string_pretty(&s)?);
            eprintln!("report: {}", run.path("eval/report.md").display());
        }
        Cmd::Leaderboard(args) => eval::leaderboard::run(&args)?,
        Cmd::AlpacaLc { alpaca_eval_dir, lc_inputs, out } => {
            let dir = eval::lc::difficulty::alpaca_eval_dir(alpaca_eval_dir);
            let s = eval::lc::checks::run(&dir, &lc_inputs, &out)?;
            print!("{s}");
        }
        Cmd::Compare(args) => eval::compare::run(&args, &rt)?,
        Cmd::Grade(args) => eval::grade::run(&args)?,
        Cmd::Pairs(args) => eval::pairs::run(&args)?,
        Cmd::Agreement(args) => eval::human::run(&args, &rt)?,
        Cmd::Ifeval(args) => {
            eval::ifeval::files::run(&args, &rt)?;
        }
    }
    Ok(())
}
