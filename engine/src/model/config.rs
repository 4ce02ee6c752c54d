//! Hugging Face `config.json` for the Llama family (Llama 1-3, Mistral, Qwen2).
use serde::{Deserialize, Serialize};

/// Llama-3 style RoPE frequency scaling (`rope_scaling` with `rope_type = "llama3"`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RopeScaling {
    /// "llama3" applies the scaling; anything else (e.g. "default") leaves frequencies alone.
    #[serde(alias = "type")]
    pub rope_type: String,
    pub factor: f64,
    #[serde(default = "one")]
    pub low_freq_factor: f64,
    #[serde(default = "four")]
    pub high_freq_factor: f64,
    #[serde(default = "eight_k")]
    pub original_max_position_embeddings: usize,
}
fn one() -> f64 {
    1.0
}
fn four() -> f64 {
    4.0
}
fn eight_k() -> usize {
    8192
}

/// One token id or several (Llama 3 lists several EOS ids).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum TokenIds {
    One(u32),
    Many(Vec<u32>),
}

impl TokenIds {
    pub fn to_vec(&self) -> Vec<u32> {
        match self {
            TokenIds::One(i) => vec![*i],
            TokenIds::Many(v) => v.clone(),
        }
    }
}

/// The model families the engine runs (`config.json`'s `model_type`); another value is
/// refused when the config is read, naming the field and the supported ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelType {
    #[default]
    Llama,
    /// Llama's architecture (sliding-window attention is not used at our lengths).
    Mistral,
    /// Llama with q/k/v biases.
    Qwen2,
}

impl ModelType {
    /// The name `config.json` uses.
    pub fn name(&self) -> &'static str {
        match self {
            ModelType::Llama => "llama",
            ModelType::Mistral => "mistral",
            ModelType::Qwen2 => "qwen2",
        }
    }
}

/// The model configuration, read from and written to `config.json` unchanged in meaning.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Config {
    /// Llama, Mistral or Qwen2 (absent: Llama).
    #[serde(default)]
    pub model_type: ModelType,
    #[serde(default)]
    pub architectures: Vec<String>,
    pub hidden_size: usize,
    pub intermediate_size: usize,
    pub vocab_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    /// Grouped-query attention: fewer key/value heads than query heads.
    #[serde(default)]
    pub num_key_value_heads: Option<usize>,
    /// Defaults to hidden_size / num_attention_heads.
    #[serde(default)]
    pub head_dim: Option<usize>,
    #[serde(default = "eps")]
    pub rms_norm_eps: f64,
    #[serde(default = "theta")]
    pub rope_theta: f64,
    #[serde(default)]
    pub rope_scaling: Option<RopeScaling>,
    #[serde(default = "max_pos")]
    pub max_position_embeddings: usize,
    #[serde(default)]
    pub tie_word_embeddings: bool,
    /// Llama's flag: biases on q, k, v and o projections.
    #[serde(default)]
    pub attention_bias: bool,
    #[serde(default)]
    pub bos_token_id: Option<u32>,
    #[serde(default)]
    pub eos_token_id: Option<TokenIds>,
    #[serde(default)]
    pub pad_token_id: Option<u32>,
    #[serde(default = "silu")]
    pub hidden_act: String,
    #[serde(default)]
    pub torch_dtype: Option<String>,
}
fn eps() -> f64 {
    1e-5
}
fn theta() -> f64 {
    10_000.0
}
fn max_pos() -> usize {
    2048
}
fn silu() -> String {
    "silu".into()
}

impl Config {
    /// A Llama config with the given sizes and the defaults of `LlamaConfig`.
    pub fn llama(
        vocab_size: usize,
        hidden_size: usize,
        intermediate_size: usize,
        num_hidden_layers: usize,
        num_attention_heads: usize,
        num_key_value_heads: usize,
        max_position_embeddings: usize,
    ) -> Self {
        Self {
            model_type: ModelType::Llama,
            architectures: vec!["LlamaForCausalLM".into()],
            hidden_size,
            intermediate_size,
            vocab_size,
            num_hidden_layers,
            num_attention_heads,
            num_key_value_heads: Some(num_key_value_heads),
            head_dim: None,
            rms_norm_eps: 1e-5,
            rope_theta: 10_000.0,
            rope_scaling: None,
            max_position_embeddings,
            tie_word_embeddings: false,
            attention_bias: false,
            bos_token_id: None,
            eos_token_id: None,
            pad_token_id: None,
            hidden_act: "silu".into(),
            torch_dtype: Some("float32".into()),
        }
    }

    pub fn head_dim(&self) -> usize {
        self.head_dim.unwrap_or(self.hidden_size / self.num_attention_heads)
    }
    pub fn num_kv_heads(&self) -> usize {
        self.num_key_value_heads.unwrap_or(self.num_attention_heads)
    }
    /// Qwen2 always has q/k/v biases (and none on o); Llama has all four when `attention_bias`.
    pub fn qkv_bias(&self) -> bool {
        self.attention_bias || self.model_type == ModelType::Qwen2
    }
    pub fn o_bias(&self) -> bool {
        self.attention_bias && self.model_type != ModelType::Qwen2
    }

    /// Checks what the engine supports, once, up front.
    pub fn validate(&self) -> crate::Result<()> {
        let bad = |m: String| Err(crate::Error::Unsupported(m));
        if self.hidden_act != "silu" {
            return bad(format!("hidden_act `{}` (supported: silu)", self.hidden_act));
        }
        if self.num_attention_heads % self.num_kv_heads() != 0 {
            return bad(format!(
                "num_attention_heads {} is not a multiple of num_key_value_heads {}",
                self.num_attention_heads,
                self.num_kv_heads()
            ));
        }
        if self.head_dim() % 2 != 0 {
            return bad(format!("odd head_dim {}", self.head_dim()));
        }
        Ok(())
    }

    /// Number of parameters (weights and biases), tied embeddings counted once.
    pub fn num_parameters(&self) -> usize {
        let (hd, h, kv) = (self.head_dim(), self.num_attention_heads, self.num_kv_heads());
        let e = self.hidden_size;
        let mut attn = e * h * hd + 2 * e * kv * hd + h * hd * e;
        if self.qkv_bias() {
            attn += h * hd + 2 * kv * hd;
        }
        if self.o_bias() {
            attn += e;
        }
        let mlp = 3 * e * self.intermediate_size;
        let layer = attn + mlp + 2 * e;
        let head = if self.tie_word_embeddings { 0 } else { self.vocab_size * e };
        self.vocab_size * e + self.num_hidden_layers * layer + e + head
    }
}
