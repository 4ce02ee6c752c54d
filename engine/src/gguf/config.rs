//! A GGUF file's metadata as the engine's model [`Config`].
//!
//! llama.cpp names keys by architecture (`{arch}.block_count`, ...). Llama and Mistral
//! are both `llama` there; Qwen2 is `qwen2` (q/k/v biases, Q/K not permuted).
use super::Gguf;
use crate::model::{Config, TokenIds};
use crate::Result;

/// The architectures the engine runs, as `general.architecture` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Architecture {
    /// Llama 1-3 and Mistral (llama.cpp files Mistral as `llama`).
    Llama,
    Qwen2,
}

impl Architecture {
    pub fn from_gguf(g: &Gguf) -> Result<Self> {
        match g.string("general.architecture")?.as_str() {
            "llama" => Ok(Self::Llama),
            "qwen2" => Ok(Self::Qwen2),
            other => Err(g.err("general.architecture", format!("`{other}` is not supported (supported: llama, qwen2)"))),
        }
    }

    /// The key prefix of the architecture's hyper-parameters.
    pub fn prefix(&self) -> &'static str {
        match self {
            Self::Llama => "llama",
            Self::Qwen2 => "qwen2",
        }
    }

    /// Whether llama.cpp's converter permuted the rows of Q and K for its rotary layout
    /// (Llama yes; Qwen2 uses the NeoX layout, which is Hugging Face's, and is not permuted).
    pub fn permuted_qk(&self) -> bool {
        matches!(self, Self::Llama)
    }
}

/// The model config a GGUF file's metadata describes.
pub fn config(g: &Gguf, arch: Architecture) -> Result<Config> {
    let p = arch.prefix();
    let key = |k: &str| format!("{p}.{k}");
    let hidden = g.usize(&key("embedding_length"))?;
    let heads = g.usize(&key("attention.head_count"))?;
    let kv_heads = g.usize_or(&key("attention.head_count_kv"), heads)?;
    let vocab = match g.usize(&key("vocab_size")) {
        Ok(v) => v,
        Err(_) => g.array_len("tokenizer.ggml.tokens")?,
    };
    let mut cfg = Config::llama(
        vocab,
        hidden,
        g.usize(&key("feed_forward_length"))?,
        g.usize(&key("block_count"))?,
        heads,
        kv_heads,
        g.usize_or(&key("context_length"), 2048)?,
    );
    if arch == Architecture::Qwen2 {
        cfg.model_type = crate::model::ModelType::Qwen2;
        cfg.architectures = vec!["Qwen2ForCausalLM".into()];
    }
    let head_dim = g.usize_or(&key("attention.key_length"), hidden / heads)?;
    if head_dim != hidden / heads {
        cfg.head_dim = Some(head_dim);
    }
    let rope_dims = g.usize_or(&key("rope.dimension_count"), head_dim)?;
    if rope_dims != head_dim {
        return Err(g.err(&key("rope.dimension_count"), format!("partial rotary embeddings ({rope_dims} of {head_dim} dimensions) are not supported")));
    }
    cfg.rms_norm_eps = g.f64_or(&key("attention.layer_norm_rms_epsilon"), 1e-5)?;
    cfg.rope_theta = g.f64_or(&key("rope.freq_base"), 10_000.0)?;
    if g.has(&key("rope.scaling.type")) {
        return Err(g.err(&key("rope.scaling.type"), "RoPE scaling from GGUF metadata is not supported".into()));
    }
    cfg.tie_word_embeddings = !g.has_tensor("output.weight");
    cfg.bos_token_id = g.u32_opt("tokenizer.ggml.bos_token_id")?;
    cfg.eos_token_id = g.u32_opt("tokenizer.ggml.eos_token_id")?.map(TokenIds::One);
    cfg.pad_token_id = g.u32_opt("tokenizer.ggml.padding_token_id")?;
    cfg.validate()?;
    Ok(cfg)
}
