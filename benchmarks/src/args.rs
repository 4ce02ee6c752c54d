//! Each `bench` subcommand's arguments: the benchmark Llama's shape, shared by the timed
//! subcommands, and the sizes of what each one times.
use clap::Args;
use engine::{DeviceKind, Precision, Runtime};
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
    /// Key/value heads (grouped-query attention); unset: `heads`.
    #[arg(long)]
    pub kv_heads: Option<usize>,
    /// The output head is the embedding table (SmolLM2, Qwen2-0.5B).
    #[arg(long)]
    pub tied: bool,
}

/// Where a timed subcommand runs, for the GPU rows (`benchmarks/cuda.py`).
#[derive(Args, Clone, Copy)]
pub struct Place {
    /// `cpu`, or `cuda` (a build with `--features engine/cuda`).
    #[arg(long, value_enum, default_value_t = DeviceKind::Cpu)]
    pub device: DeviceKind,
    /// The weights' and activations' type: `f32`, or `bf16` / `f16` on CUDA.
    #[arg(long, value_enum, default_value_t = Precision::F32)]
    pub dtype: Precision,
}

impl Place {
    /// The engine's runtime for these settings, refused before any work where the build
    /// cannot run them.
    pub fn runtime(&self) -> engine::Result<Runtime> {
        let r = Runtime { device: self.device, dtype: self.dtype, decode_weights: None };
        r.validate()?;
        Ok(r)
    }
}

#[derive(Args)]
pub struct Train {
    #[command(flatten)]
    pub model: Model,
    #[command(flatten)]
    pub place: Place,
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
    #[command(flatten)]
    pub place: Place,
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

/// The loss of `dpo-trace` (β is DPO's β, and IPO's τ as in TRL).
#[derive(clap::ValueEnum, Clone, Copy)]
pub enum TraceLoss {
    Sigmoid,
    SigmoidNll,
    Ipo,
}

#[derive(Args)]
pub struct DpoTrace {
    /// Checkpoint folder (the policy's start and the frozen reference).
    #[arg(long)]
    pub model: PathBuf,
    /// Preference pairs, JSON lines with prompt, chosen, rejected (`iter_<t>/pairs.jsonl`).
    #[arg(long)]
    pub pairs: PathBuf,
    /// Output folder: `trace.json` and the trained checkpoint `model/`.
    #[arg(long)]
    pub out: PathBuf,
    #[arg(long, value_enum, default_value_t = TraceLoss::Sigmoid)]
    pub loss: TraceLoss,
    #[arg(long, default_value_t = 0.1)]
    pub beta: f64,
    /// Weight of the chosen responses' NLL (`sigmoid-nll` only).
    #[arg(long, default_value_t = 1.0)]
    pub alpha: f64,
    #[arg(long, default_value_t = 10)]
    pub steps: usize,
    #[arg(long, default_value_t = 4)]
    pub batch: usize,
    #[arg(long, default_value_t = 1e-3)]
    pub lr: f64,
    #[arg(long, default_value_t = 0)]
    pub warmup: usize,
    /// 1 is a constant learning rate.
    #[arg(long, default_value_t = 1.0)]
    pub min_lr_ratio: f64,
    #[arg(long, default_value_t = 0.0)]
    pub weight_decay: f64,
    #[arg(long, default_value_t = 1.0)]
    pub grad_clip: f64,
    /// Seed of the batch order.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    #[arg(long, default_value_t = 1024)]
    pub max_len: usize,
    /// Weights' dtype: f32 (the comparison) or f64 (to tell rounding from a real difference;
    /// log-probs and loss stay f32).
    #[arg(long, value_enum, default_value_t = TraceDtype::F32)]
    pub dtype: TraceDtype,
}

#[derive(clap::ValueEnum, Clone, Copy)]
pub enum TraceDtype {
    F32,
    F64,
}

#[derive(Args)]
pub struct DecodeGguf {
    /// A `.gguf` file or checkpoint folder.
    #[arg(long)]
    pub model: PathBuf,
    /// Decode through weights quantized to this block format (unset: f32).
    #[arg(long, value_enum)]
    pub quant: Option<engine::ops::QuantKind>,
    /// The output head's block format with `--quant` (the engine's default: q8_0, as
    /// llama.cpp's files keep it).
    #[arg(long, value_enum, default_value = "q8_0")]
    pub head: engine::ops::QuantKind,
    /// Prompt length of the prefill measurement (one prompt).
    #[arg(long, default_value_t = 128)]
    pub prefill_tokens: usize,
    /// Prompt length of the decode measurements.
    #[arg(long, default_value_t = 16)]
    pub prompt_tokens: usize,
    /// Tokens decoded per row after the prefill.
    #[arg(long, default_value_t = 64)]
    pub new_tokens: usize,
    /// Batch sizes decoded (greedy, one row per prompt).
    #[arg(long, value_delimiter = ',', default_value = "1,16")]
    pub batches: Vec<usize>,
    /// Timed runs per figure (the best is kept), after one warm-up.
    #[arg(long, default_value_t = 2)]
    pub repeats: usize,
    /// AlpacaEval-style JSON with `instruction` fields: greedy answers quantized vs f32.
    #[arg(long)]
    pub instructions: Option<PathBuf>,
    /// Instructions compared.
    #[arg(long, default_value_t = 20)]
    pub n: usize,
    #[arg(long, default_value_t = 64)]
    pub max_new_tokens: usize,
}

#[derive(Args)]
pub struct Iteration {
    /// A `.gguf` file, checkpoint folder or hub id; unset: the random benchmark Llama of
    /// `--hidden` etc., saved under `--out/model` for the peer.
    #[arg(long)]
    pub model: Option<PathBuf>,
    #[command(flatten)]
    pub size: Model,
    /// Context of the random model.
    #[arg(long, default_value_t = 2048)]
    pub context: usize,
    /// Decode through quantized weights (CPU).
    #[arg(long, value_enum)]
    pub decode_weights: Option<engine::ops::QuantKind>,
    /// AlpacaEval-style JSON with `instruction` fields: the first `--prompts` are the prompts.
    #[arg(long)]
    pub instructions: PathBuf,
    #[arg(long, default_value_t = 32)]
    pub prompts: usize,
    /// Candidates per prompt.
    #[arg(long, default_value_t = 4)]
    pub candidates: usize,
    /// Tokens per candidate (fixed).
    #[arg(long, default_value_t = 64)]
    pub max_new_tokens: usize,
    /// Tokens per judgment (fixed).
    #[arg(long, default_value_t = 64)]
    pub judge_max_new_tokens: usize,
    /// The judge prompt template (`{instruction}`, `{response}`).
    #[arg(long, default_value = "prompts/judge_paper.txt")]
    pub judge_prompt: PathBuf,
    /// Rows per generation call (prompts × candidates, or judge prompts).
    #[arg(long, default_value_t = 32)]
    pub batch: usize,
    /// Pairs per DPO step.
    #[arg(long, default_value_t = 4)]
    pub dpo_batch: usize,
    /// Workers (one thread each), as the loop's `workers`.
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Folder for the prompt ids, the random model and DPO's work.
    #[arg(long)]
    pub out: PathBuf,
}
