//! Where the loop's token sequences are continued: this engine (a [`Checkpoint`]), or
//! any OpenAI-compatible server (vLLM, llama.cpp, TGI, SGLang) serving the same model
//! ([`openai`]), started and stopped around a stage if asked ([`server`]).
pub mod openai;
pub mod server;

pub use openai::{OpenAiCompletions, OpenAiConfig};
pub use server::{Server, ServeConfig};

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
}

impl Generator for Checkpoint {
    fn generate(&self, prompts: &[Vec<u32>], n: usize, params: &SampleParams, seeds: &[u64]) -> Result<Vec<std::result::Result<String, String>>> {
        Ok(generate(&self.model, &self.tokenizer, prompts, n, params, seeds)?.into_iter().map(|g| Ok(g.text)).collect())
    }
    fn identity(&self) -> String {
        "local".into()
    }
}
