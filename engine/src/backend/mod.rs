//! Where the loop's token sequences are continued: this engine (a [`Checkpoint`]), or
//! any OpenAI-compatible server (vLLM, llama.cpp, TGI, SGLang) serving the same model
//! ([`openai`]), started and stopped around a stage if asked ([`server`]).
pub mod openai;
pub mod server;

pub use openai::{api_key, check_endpoint, post_json, OpenAiCompletions, OpenAiConfig};
pub use server::{die_with_parent, Server, ServeConfig};

use crate::sample::{generate, SampleParams};
use crate::{Checkpoint, Result};

/// Continues prompts. One continuation's failure (a request that failed after its
/// retries) is that continuation's `Err(cause)`, never text; the whole call fails only
/// for errors that concern every prompt (the model cannot run at all).
pub trait Generator: Sync {
    /// `n` continuations of each prompt (token ids in the model's vocabulary), prompt-major,
    /// with one seed per continuation.
    fn generate(&self, prompts: &[Vec<u32>], n: usize, params: &SampleParams, seeds: &[u64]) -> Result<Vec<std::result::Result<String, String>>>;
    /// What generates (for caches and stage records).
    fn identity(&self) -> String;
    /// The `top` most likely next tokens after each prompt, as (token text, log-probability),
    /// or `None` when the caller should read the model's own logits instead (this engine:
    /// exact over the whole vocabulary). A server gives only its top tokens.
    #[allow(clippy::type_complexity)]
    fn top_logprobs(&self, _prompts: &[Vec<u32>], _top: usize) -> Result<Option<Vec<std::result::Result<Vec<(String, f64)>, String>>>> {
        Ok(None)
    }
}

/// Where another engine's greedy text `theirs` parts from ours (`ours`: our tokens after
/// `prompt`): the index `k` of our first token whose text leaves `theirs`, and our top-2
/// logit gap there. A small gap is a float near-tie; a large one a real difference.
pub fn divergence(ck: &Checkpoint, prompt: &[u32], ours: &[u32], theirs: &str) -> Result<(usize, f32)> {
    let tok = &ck.tokenizer;
    let mut k = ours.len();
    for i in 0..ours.len() {
        if !theirs.trim_start().starts_with(tok.decode(&ours[..=i])?.trim_start()) {
            k = i;
            break;
        }
    }
    let mut ctx = prompt.to_vec();
    ctx.extend(&ours[..k]);
    let x = candle_core::Tensor::new(ctx.as_slice(), ck.model.device())?.unsqueeze(0)?;
    let logits = ck.model.forward(&x)?.squeeze(0)?.get(ctx.len() - 1)?.to_dtype(candle_core::DType::F32)?;
    let mut last: Vec<f32> = logits.to_device(&candle_core::Device::Cpu)?.to_vec1()?;
    last.sort_by(|a, b| b.total_cmp(a));
    Ok((k, last[0] - last[1]))
}

impl Generator for Checkpoint {
    fn generate(&self, prompts: &[Vec<u32>], n: usize, params: &SampleParams, seeds: &[u64]) -> Result<Vec<std::result::Result<String, String>>> {
        Ok(generate(&self.model, &self.tokenizer, prompts, n, params, seeds)?.into_iter().map(|g| Ok(g.text)).collect())
    }
    fn identity(&self) -> String {
        "local".into()
    }
}
