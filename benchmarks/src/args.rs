//! Each `bench` subcommand's arguments: the benchmark Llama's shape, shared by the timed
//! subcommands, and the sizes of what each one times.
use clap::Args;
use std::path::PathBuf;

/// The benchmark Llama's shape: a random init and a tokenizer trained on synthetic text.
#[derive(Args, Clone)]
pub struct Model {
    #[arg(long, default_value_t = 256)]
    pub hidden: usize,
    #[arg(long, default_value_t = 4)]
    pub layers: usize,
    #[arg(long, default_value_t = 4)]
    pub heads: usize,
    #[arg(long, default_value_t = 688)]
    pub intermediate: usize,
    #[arg(long, default_value_t = 512)]
    pub vocab: usize,
}

#[derive(Args)]
pub struct Train {
    #[command(flatten)]
    pub model: Model,
    #[arg(long, default_value_t = 8)]
    pub batch: usize,
    #[arg(long, default_value_t = 256)]
    pub seq: usize,
    /// Timed steps (after 2 warm-up steps).
    #[arg(long, default_value_t = 10)]
    pub steps: usize,
}

#[derive(Args)]
pub struct Generate {
    #[command(flatten)]
    pub model: Model,
    #[arg(long, default_value_t = 1)]
    pub batch: usize,
    #[arg(long, default_value_t = 16)]
    pub prompt_tokens: usize,
    #[arg(long, default_value_t = 128)]
    pub new_tokens: usize,
    #[arg(long, default_value_t = 3)]
    pub repeats: usize,
}

#[derive(Args)]
pub struct KvCache {
    #[command(flatten)]
    pub model: Model,
    #[arg(long, default_value_t = 96)]
    pub batch: usize,
    #[arg(long, default_value_t = 120)]
    pub prompt_tokens: usize,
    #[arg(long, default_value_t = 40)]
    pub new_tokens: usize,
    #[arg(long, default_value_t = 3)]
    pub repeats: usize,
}

#[derive(Args)]
pub struct Judge {
    #[command(flatten)]
    pub model: Model,
    #[arg(long, default_value_t = 32)]
    pub prompts: usize,
    #[arg(long, default_value_t = 3)]
    pub samples: usize,
    #[arg(long, default_value_t = 120)]
    pub prompt_tokens: usize,
    #[arg(long, default_value_t = 40)]
    pub new_tokens: usize,
    #[arg(long, default_value_t = 2)]
    pub repeats: usize,
}

#[derive(Args)]
pub struct Dpo {
    #[command(flatten)]
    pub model: Model,
    #[arg(long, default_value_t = 8)]
    pub pairs: usize,
    #[arg(long, default_value_t = 256)]
    pub seq: usize,
}

#[derive(Args)]
pub struct Matmul {
    #[arg(long, default_value_t = 1024)]
    pub n: usize,
    #[arg(long, default_value_t = 2.0)]
    pub seconds: f64,
}

#[derive(Args)]
pub struct Parity {
    /// A `.gguf` file, checkpoint folder or hub id.
    #[arg(long)]
    pub model: String,
    #[command(flatten)]
    pub p: Greedy,
}

#[derive(Args)]
pub struct Llamacpp {
    /// A `.gguf` file or checkpoint folder.
    #[arg(long)]
    pub model: PathBuf,
    /// The Python with llama-cpp-python[server] (`make .venv-llamacpp/.ok`).
    #[arg(long, default_value = ".venv-llamacpp/bin/python")]
    pub python: PathBuf,
    #[command(flatten)]
    pub p: Greedy,
}

#[derive(Args)]
pub struct WriteCheckpoint {
    #[command(flatten)]
    pub model: Model,
    #[arg(long)]
    pub out: PathBuf,
}

/// Greedy continuations of the first `n` instructions of a file.
#[derive(Args)]
pub struct Greedy {
    /// AlpacaEval-style JSON array with `instruction` fields.
    #[arg(long)]
    pub instructions: PathBuf,
    /// Instructions continued (and, for `parity`, whose logits are written).
    #[arg(long, default_value_t = 20)]
    pub n: usize,
    #[arg(long, default_value_t = 64)]
    pub max_new_tokens: usize,
    #[arg(long)]
    pub out: PathBuf,
}
