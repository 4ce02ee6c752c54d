//! A checkpoint used as a judge: the judge prompt, K sampled judgments, scores averaged.
use super::{aggregate, Judge, JudgeFailure, JudgePrompt, Judgment};
use crate::sample::{generate, SampleParams};
use crate::Checkpoint;

/// Judges with a model (M_t judging its own candidates, or any checkpoint in eval).
pub struct LlmJudge<'a> {
    pub model: &'a Checkpoint,
    pub name: String,
    pub prompt: JudgePrompt,
    /// Judgments sampled per response and averaged (the paper uses 3).
    pub samples: usize,
    pub params: SampleParams,
    /// Seeds are derived from this and each item's text, so results do not depend on batching.
    pub seed: u64,
    /// Responses scored per forward batch.
    pub batch_size: usize,
}

fn item_seed(seed: u64, instruction: &str, response: &str, k: usize) -> u64 {
    let mut h: u64 = seed ^ 0x9e3779b97f4a7c15;
    for b in instruction.bytes().chain([0u8]).chain(response.bytes()) {
        h ^= b as u64;
        h = h.wrapping_mul(0x100000001b3);
    }
    h.wrapping_add(k as u64 * 0x9e3779b97f4a7c15)
}

impl LlmJudge<'_> {
    fn judge_chunk(&self, items: &[(String, String)]) -> crate::Result<Vec<Result<Judgment, JudgeFailure>>> {
        let tok = &self.model.tokenizer;
        let template = self.prompt.template()?;
        let prompts = items
            .iter()
            .map(|(i, r)| tok.encode_prompt(&super::fill(&template, i, r)))
            .collect::<crate::Result<Vec<_>>>()?;
        let k = self.samples.max(1);
        let seeds: Vec<u64> = items.iter().flat_map(|(i, r)| (0..k).map(move |j| item_seed(self.seed, i, r, j))).collect();
        let gens = generate(&self.model.model, tok, &prompts, k, &self.params, &seeds)?;
        Ok(gens
            .chunks(k)
            .map(|g| {
                let samples = g.iter().map(|x| super::parse_score(&x.text, 5.0)).collect();
                aggregate(samples, g.iter().map(|x| x.text.clone()).collect())
            })
            .collect())
    }
}

impl Judge for LlmJudge<'_> {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn judge(&mut self, items: &[(String, String)]) -> Vec<Result<Judgment, JudgeFailure>> {
        let mut out = Vec::with_capacity(items.len());
        for chunk in items.chunks(self.batch_size.max(1)) {
            match self.judge_chunk(chunk) {
                Ok(v) => out.extend(v),
                Err(e) => out.extend(chunk.iter().map(|_| Err(JudgeFailure::Backend(e.to_string())))),
            }
        }
        out
    }
}
