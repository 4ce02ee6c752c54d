//! `bench judge`: the judge-scoring path, judgments/s and (prompt + new) tokens/s.
use crate::args::Judge;
use crate::common::{checkpoint, prompts, sampling};
use anyhow::Result;
use serde_json::{json, Value};
use std::time::Instant;

/// `repeats` timed rounds (after one warm-up) of `prompts` prompts, each prefilled once and
/// sampled `samples` times for exactly `new_tokens` tokens.
pub fn run(a: &Judge) -> Result<Value> {
    let Judge { model: ref m, prompts: n_prompts, samples, prompt_tokens, new_tokens, repeats } = *a;
    let mut ck = checkpoint(m)?;
    ck.tokenizer.eos_ids.clear(); // fixed length: never stop early
    let ps = prompts(n_prompts, prompt_tokens, m.vocab);
    let params = sampling(new_tokens);
    let seeds: Vec<u64> = (0..(n_prompts * samples) as u64).collect();
    let _ = engine::generate(&ck.model, &ck.tokenizer, &ps, samples, &params, &seeds)?;
    let t0 = Instant::now();
    for _ in 0..repeats {
        engine::generate(&ck.model, &ck.tokenizer, &ps, samples, &params, &seeds)?;
    }
    let secs = t0.elapsed().as_secs_f64() / repeats as f64;
    let judgments = (n_prompts * samples) as f64;
    Ok(json!({"judgments_per_s": judgments / secs,
        "prompt_and_new_tokens_per_s": judgments * (prompt_tokens + new_tokens) as f64 / secs}))
}
