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
    /// Chat with a model, its own chat template, tokens streamed (`/reset`; empty line ends).
    Chat {
        #[command(flatten)]
        model: ModelArgs,
    },
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
    Generate {
        #[command(flatten)]
        model: ModelArgs,
        /// JSONL (`instruction` or `prompt` per line) or a JSON array (AlpacaEval's set).
        #[arg(long)]
        prompts: PathBuf,
        /// Where to write the outputs (AlpacaEval's `model_outputs.json` format).
        #[arg(long)]
        out: PathBuf,
        /// Instructions per batch.
        #[arg(long, default_value_t = 16)]
        batch_size: usize,
        /// `generator` field of the outputs (default: the model argument).
        #[arg(long)]
        generator: Option<String>,
    },
}

/// A model to load and how to sample from it.
#[derive(Args)]
struct ModelArgs {
    /// A `.gguf` file, a Hugging Face checkpoint folder, or a hub id (from the local cache).
    #[arg(long)]
    model: String,
    /// Most new tokens per answer.
    #[arg(long, default_value_t = 512)]
    max_new_tokens: usize,
    /// 0 is greedy.
    #[arg(long, default_value_t = 0.0)]
    temperature: f64,
    #[arg(long, default_value_t = 1.0)]
    top_p: f64,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    #[arg(long, value_enum, default_value = "cpu")]
    device: engine::DeviceKind,
    #[arg(long, value_enum, default_value = "f32")]
    dtype: engine::Precision,
}

impl ModelArgs {
    fn load(&self) -> anyhow::Result<(engine::Checkpoint, engine::SampleParams)> {
        let ck = engine::Runtime { device: self.device, dtype: self.dtype }.load(&self.model)?;
        Ok((ck, engine::SampleParams { temperature: self.temperature, top_p: self.top_p, max_new_tokens: self.max_new_tokens, stop: vec![] }))
    }
}

fn main() -> anyhow::Result<()> {
    engine::alloc::keep_freed_memory();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match &cli.cmd {
        Cmd::Chat { model } => {
            let (ck, params) = model.load()?;
            eprintln!("{} ({} parameters); empty line ends, /reset forgets", model.model, ck.config().num_parameters());
            trainer::answer::chat(&ck, &params, model.seed, &mut std::io::stdin().lock(), &mut std::io::stdout())?;
            return Ok(());
        }
        Cmd::Export { model, out, r#type } => {
            let ck = engine::Runtime::default().load(model)?;
            engine::gguf::export(&ck, out, *r#type)?;
            eprintln!("wrote {} ({:?}, {} bytes)", out.display(), r#type, std::fs::metadata(out)?.len());
            return Ok(());
        }
        Cmd::Generate { model, prompts, out, batch_size, generator } => {
            let (ck, params) = model.load()?;
            let instructions = trainer::answer::read_instructions(prompts)?;
            let answers = trainer::answer::answer_all(&ck, &instructions, &params, *batch_size, model.seed, "generate")?;
            let name = generator.clone().unwrap_or_else(|| model.model.clone());
            let rows: Vec<serde_json::Value> = instructions.iter().zip(&answers).map(|(i, o)| serde_json::json!({ "instruction": i, "output": o, "generator": name, "dataset": "" })).collect();
            engine::fsutil::write_atomic(out, serde_json::to_string_pretty(&rows)?.as_bytes())?;
            eprintln!("wrote {} outputs to {}", rows.len(), out.display());
            return Ok(());
        }
        _ => {}
    }
    let mut sets = cli.run.overrides.clone();
    if let Some(n) = &cli.run.name {
        sets.push(format!("name=\"{n}\""));
    }
    if let Some(i) = cli.run.iters {
        sets.push(format!("iterate.iterations={i}"));
    }
    let cfg = RunConfig::resolve(cli.run.profile, cli.run.config.as_deref(), &sets)?;
    let run = RunDir::new(&cfg.runs_dir, &cfg.name);
    // One process per run folder (printing the config needs none).
    // (A fork makes its folder whole by renaming; it holds the run it reads from.)
    let _lock = match &cli.cmd {
        Cmd::Config | Cmd::Fork { .. } => None,
        _ => Some(run.lock()?),
    };
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
        Cmd::Chat { .. } | Cmd::Generate { .. } | Cmd::Export { .. } => unreachable!("handled before the run config"),
        Cmd::Fork { from } => {
            trainer::fork::fork_after_sft(&RunDir::new(&cfg.runs_dir, &from), &run, &cfg)?;
            eprintln!("{} starts from {from}'s SFT models; continue with `srlm --name {} <same --set options> iterate`", run.root.display(), cfg.name);
        }
    }
    Ok(())
}
