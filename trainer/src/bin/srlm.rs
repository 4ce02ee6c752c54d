//! `srlm`: the self-rewarding trainer.
//!
//! ```text
//! srlm seed     # tokenizer + seed IFT/EFT data into runs/<name>/seed
//! srlm sft      # M1 (IFT+EFT) and the SFT baseline (IFT only)
//! srlm iterate  # seed + sft if needed, then M1 -> M2 -> ... (resumable)
//! srlm fork --from <run>   # a new run (--name) from <run>'s seed data and SFT models
//! srlm config   # print the resolved config
//! ```
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use trainer::{Profile, RunConfig, RunDir};

#[derive(Parser)]
#[command(version, about = "Self-rewarding language models: seed data, SFT, iterated self-judged DPO")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Args)]
struct RunArgs {
    /// Starting values: default (embedded, minutes on 2 CPU cores), paper, or smoke (seconds).
    #[arg(long, value_enum, default_value = "default", global = true)]
    profile: Profile,
    /// TOML file overriding the profile (see `srlm config` for every key).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// Override one key, e.g. `--set sft.steps=200 --set iterate.n_candidates=4`.
    #[arg(long = "set", global = true)]
    overrides: Vec<String>,
    /// Run name (folder under runs_dir); overrides the config's `name`.
    #[arg(long, global = true)]
    name: Option<String>,
    /// Iterations to run (overrides `iterate.iterations`).
    #[arg(long, global = true)]
    iters: Option<usize>,
}

#[derive(Subcommand)]
enum Cmd {
    /// Write the tokenizer and seed data.
    Seed,
    /// Train M1 and the SFT baseline.
    Sft,
    /// Run the whole loop: seed, SFT, then the iterations.
    Iterate,
    /// Start a new run (`--name`) from another run's seed data, M1 and SFT baseline, to
    /// compare loop settings (`--set judge...`, `dpo...`, `iterate...`) on the same M1; then
    /// run `iterate` on it with the same options. Refused if SFT settings differ.
    Fork {
        /// The run whose SFT stage to reuse (a folder under runs_dir).
        #[arg(long)]
        from: String,
    },
    /// Print the resolved configuration as TOML.
    Config,
}

fn main() -> anyhow::Result<()> {
    engine::alloc::keep_freed_memory();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let mut sets = cli.run.overrides.clone();
    if let Some(n) = &cli.run.name {
        sets.push(format!("name=\"{n}\""));
    }
    if let Some(i) = cli.run.iters {
        sets.push(format!("iterate.iterations={i}"));
    }
    let cfg = RunConfig::resolve(cli.run.profile, cli.run.config.as_deref(), &sets)?;
    let run = RunDir::new(&cfg.runs_dir, &cfg.name);
    match cli.cmd {
        Cmd::Config => print!("{}", cfg.to_toml()?),
        Cmd::Seed => {
            trainer::iterate::prepare(&cfg, &run)?;
            trainer::data::write_seed(&cfg, &run)?;
        }
        Cmd::Sft => {
            trainer::iterate::prepare(&cfg, &run)?;
            trainer::data::write_seed(&cfg, &run)?;
            trainer::sft::run_sft(&cfg, &run)?;
        }
        Cmd::Iterate => trainer::iterate::run(&cfg, &run)?,
        Cmd::Fork { from } => {
            trainer::fork::fork_after_sft(&RunDir::new(&cfg.runs_dir, &from), &run, &cfg)?;
            eprintln!("{} starts from {from}'s SFT models; continue with `srlm --name {} <same --set options> iterate`", run.root.display(), cfg.name);
        }
    }
    Ok(())
}
