//! Stage 2, candidates: N responses per prompt sampled from M_t, batched, the
//! prompt prefilled once for its N samples.
use crate::config::IterateConfig;
use crate::{Error, Result};
use engine::{Generator, SampleParams, Tokenizer};
use world::records::PromptRecord;

pub use records::CandidateSet;

/// A stable per-sample seed: the same prompt, sample index and seed give the same text,
/// whatever batch the prompt falls in.
pub fn sample_seed(seed: u64, stage: u64, id: usize, k: usize) -> u64 {
    let mut h = seed ^ stage.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    for x in [id as u64, k as u64] {
        h = (h ^ x).wrapping_mul(0x100_0000_01b3).rotate_left(17);
    }
    h
}

/// Samples `cfg.n_candidates` responses for each of `prompts` with `generator` (M_t, or a
/// server serving it; `tok` is M_t's tokenizer). A failed request fails the chunk with its
/// cause (the stage resumes there), never an empty or made-up response.
pub fn sample(generator: &dyn Generator, tok: &Tokenizer, prompts: &[PromptRecord], cfg: &IterateConfig, seed: u64) -> Result<Vec<CandidateSet>> {
    let ids = prompts.iter().map(|p| tok.encode_prompt(&p.instruction)).collect::<engine::Result<Vec<_>>>()?;
    let n = cfg.n_candidates;
    let seeds: Vec<u64> = prompts.iter().flat_map(|p| (0..n).map(move |k| sample_seed(seed, 2, p.id, k))).collect();
    let params = SampleParams { temperature: cfg.temperature, top_p: cfg.top_p, max_new_tokens: cfg.max_new_tokens, stop: vec![] };
    let gens = generator
        .generate(&ids, n, &params, &seeds)?
        .into_iter()
        .collect::<std::result::Result<Vec<String>, String>>()
        .map_err(|e| Error::Stage(format!("candidates from {}: {e}", generator.identity())))?;
    Ok(prompts
        .iter()
        .zip(gens.chunks(n))
        .map(|(p, g)| CandidateSet { prompt_id: p.id, instruction: p.instruction.clone(), responses: g.iter().map(|x| x.trim().to_string()).collect() })
        .collect())
}
