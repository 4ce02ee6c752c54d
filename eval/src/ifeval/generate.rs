//! Generating IFEval responses with a checkpoint the engine loads: each prompt through
//! the model's chat template, greedy by default, in batches, with a progress bar; the
//! responses are written in Google's response format and then scored.
use super::data::{write_responses, Prompt, ResponseLine};
use super::files::score_into;
use super::score::Summary;
use crate::Result;
use engine::{Checkpoint, SampleParams};
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

/// Answers every prompt with `ck` (its chat template), writes `<out>/responses.jsonl`
/// (Google's format), then scores it into `out`.
pub fn generate_and_score(ck: &Checkpoint, prompts: &[Prompt], out: &Path, opts: &GenOptions) -> Result<Summary> {
    let params = SampleParams { temperature: opts.temperature, top_p: opts.top_p, max_new_tokens: opts.max_new_tokens, stop: vec![] };
    let texts: Vec<String> = prompts.iter().map(|p| p.prompt.clone()).collect();
    let answers = trainer::answer::answer_all(ck, &texts, &params, opts.batch_size, opts.seed, "ifeval")?;
    write_and_score(prompts, answers, out)
}

/// Writes `<out>/responses.jsonl` (Google's format) for `answers` to `prompts`, in order,
/// then scores them into `out`.
pub fn write_and_score(prompts: &[Prompt], answers: Vec<String>, out: &Path) -> Result<Summary> {
    let rows: Vec<ResponseLine> = prompts.iter().zip(answers).map(|(p, response)| ResponseLine { prompt: p.prompt.clone(), response }).collect();
    write_responses(&out.join(RESPONSES_FILE), &rows)?;
    let responses: Vec<&str> = rows.iter().map(|r| r.response.as_str()).collect();
    score_into(prompts, &responses, out)
}
