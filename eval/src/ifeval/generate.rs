//! Generating IFEval responses with a checkpoint the engine loads: each prompt through
//! the model's chat template, greedy by default, in batches, with a progress bar; the
//! responses are written in Google's response format and then scored.
use super::data::{read_prompts, write_responses, ResponseLine};
use super::files::score_into;
use super::score::Summary;
use crate::Result;
use candle_core::DType;
use engine::{generate, Checkpoint, SampleParams};
use std::path::Path;

/// How to generate.
#[derive(Debug, Clone)]
pub struct GenOptions {
    pub max_new_tokens: usize,
    /// 0 is greedy.
    pub temperature: f64,
    pub top_p: f64,
    pub batch_size: usize,
    pub seed: u64,
}

impl Default for GenOptions {
    fn default() -> Self {
        Self { max_new_tokens: 512, temperature: 0.0, top_p: 1.0, batch_size: 8, seed: 0 }
    }
}

/// Name of the response file written into the output folder.
pub const RESPONSES_FILE: &str = "responses.jsonl";

/// Loads `checkpoint`, answers every prompt of `prompts`, writes
/// `<out>/responses.jsonl` (Google's format), then scores it into `out`.
pub fn generate_and_score(checkpoint: &Path, prompts: &Path, out: &Path, opts: &GenOptions) -> Result<Summary> {
    let prompts = read_prompts(prompts)?;
    let ck = Checkpoint::load(checkpoint, DType::F32, &engine::default_device())?;
    let params = SampleParams { temperature: opts.temperature, top_p: opts.top_p, max_new_tokens: opts.max_new_tokens, stop: vec![] };
    let bar = indicatif::ProgressBar::new(prompts.len() as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("ifeval {bar:40} {pos}/{len} prompts [{elapsed_precise} < {eta_precise}]")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let mut rows = Vec::with_capacity(prompts.len());
    for (b, chunk) in prompts.chunks(opts.batch_size.max(1)).enumerate() {
        let ids = chunk.iter().map(|p| ck.tokenizer.encode_prompt(&p.prompt)).collect::<engine::Result<Vec<_>>>()?;
        let start = (b * opts.batch_size.max(1)) as u64;
        let seeds: Vec<u64> = (0..chunk.len() as u64).map(|i| opts.seed.wrapping_add(start + i)).collect();
        // The engine refuses a prompt plus budget beyond the model's context: clamp.
        let longest = ids.iter().map(Vec::len).max().unwrap_or(0);
        let room = ck.model.config().max_position_embeddings.saturating_sub(longest);
        let params = SampleParams { max_new_tokens: params.max_new_tokens.min(room), ..params.clone() };
        let gens = generate(&ck.model, &ck.tokenizer, &ids, 1, &params, &seeds)?;
        rows.extend(chunk.iter().zip(gens).map(|(p, g)| ResponseLine { prompt: p.prompt.clone(), response: g.text.trim().to_string() }));
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();
    write_responses(&out.join(RESPONSES_FILE), &rows)?;
    let responses: Vec<&str> = rows.iter().map(|r| r.response.as_str()).collect();
    score_into(&prompts, &responses, out)
}
