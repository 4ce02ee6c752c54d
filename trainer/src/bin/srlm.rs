//! `srlm`: the self-rewarding trainer.
//!
//! ```text
//! srlm seed     # tokenizer + seed IFT/EFT data into runs/<name>/seed
//! srlm sft      # M1 (IFT+EFT) and the SFT baseline (IFT only)
//! srlm iterate  # seed + sft if needed, then M1 -> M2 -> ... (resumable)
//! srlm fork --from <run>   # a new run (--name) from <run>'s seed data and SFT models
//! srlm config   # print the resolved config
//! srlm chat --model <gguf | checkpoint folder | hub id>          # interactive, streamed
//! srlm generate --model ... --prompts <jsonl | json> --out model_outputs.json
//! srlm export --model runs/default/m3 --out m3.gguf --type q8_0   # for llama.cpp
//! ```
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use trainer::answer::{GenerateArgs, ModelArgs};
use trainer::run_args::RunArgs;
use trainer::{RunConfig, RunDir};

#[derive(Parser)]
#[command(version, about = "Self-rewarding language models: seed data, SFT, iterated self-judged DPO")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Subcommand)]
enum Cmd {
    #[command(flatten)]
    Run(RunCmd),
    /// Chat with a model, its own chat template, tokens streamed (`/reset`; empty line ends).
    Chat(ModelArgs),
    /// Write a model as a GGUF file (F32, F16 or Q8_0 matrices) that llama.cpp serves.
    Export {
        /// A `.gguf` file, a Hugging Face checkpoint folder (e.g. runs/default/m3), or a hub id.
        #[arg(long)]
        model: String,
        /// The GGUF file to write.
        #[arg(long)]
        out: PathBuf,
        /// How weight matrices are stored.
        #[arg(long, value_enum, default_value = "f16")]
        r#type: engine::gguf::GgufType,
    },
    /// Answer every instruction of a file; writes AlpacaEval's `model_outputs.json` format.
    Generate(GenerateArgs),
}

/// The commands on a run folder (`--name`), with the run's config.
#[derive(Subcommand)]
enum RunCmd {
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
    match cli.cmd {
        Cmd::Chat(model) => trainer::answer::chat_on_terminal(&model)?,
        Cmd::Generate(args) => trainer::answer::generate_outputs(&args)?,
        Cmd::Export { model, out, r#type } => {
            engine::gguf::export(&engine::Runtime::default().load(&model)?, &out, r#type)?;
            eprintln!("wrote {} ({:?}, {} bytes)", out.display(), r#type, std::fs::metadata(&out)?.len());
        }
        Cmd::Run(cmd) => on_run(cmd, &cli.run.resolve()?)?,
    }
    Ok(())
}

/// One command on the run folder of `cfg`.
fn on_run(cmd: RunCmd, cfg: &RunConfig) -> anyhow::Result<()> {
    let run = RunDir::new(&cfg.runs_dir, &cfg.name);
    // One process per run folder (printing the config needs none).
    // (A fork makes its folder whole by renaming; it holds the run it reads from.)
    let _lock = if matches!(cmd, RunCmd::Config | RunCmd::Fork { .. }) { None } else { Some(run.lock()?) };
    match cmd {
        RunCmd::Config => print!("{}", cfg.to_toml()?),
        RunCmd::Seed => trainer::iterate::seed(cfg, &run)?,
        RunCmd::Sft => trainer::iterate::sft(cfg, &run)?,
        RunCmd::Iterate => trainer::iterate::run(cfg, &run)?,
        RunCmd::Fork { from } => {
            trainer::fork::fork_after_sft(&RunDir::new(&cfg.runs_dir, &from), &run, cfg)?;
            eprintln!("{} starts from {from}'s SFT models; continue with `srlm --name {} <same --set options> iterate`", run.root.display(), cfg.name);
        }
    }
    Ok(())
}
