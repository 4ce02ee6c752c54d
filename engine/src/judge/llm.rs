//! A checkpoint used as a judge: the judge prompt, K sampled judgments, scores averaged.
use super::{aggregate, Judge, JudgeFailure, JudgePrompt, Judgment};
use crate::backend::Generator;
use crate::sample::SampleParams;
use crate::Checkpoint;

/// Judges with a model (M_t judging its own candidates, or any checkpoint in eval).
pub struct LlmJudge<'a> {
    /// The model's tokenizer and context length.
    pub model: &'a Checkpoint,
    /// What samples the judgments: the model itself, or a server serving it.
    pub generator: &'a dyn Generator,
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

/// Item indices ordered by the length of instruction and response (ties in order).
fn by_length(items: &[(String, String)]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..items.len()).collect();
    order.sort_by_key(|&i| items[i].0.len() + items[i].1.len());
    order
}

impl LlmJudge<'_> {
    fn judge_chunk(&self, items: &[(String, String)]) -> crate::Result<Vec<Result<Judgment, JudgeFailure>>> {
        let tok = &self.model.tokenizer;
        let template = self.prompt.template()?;
        let prompts = items
            .iter()
            .map(|(i, r)| tok.encode_prompt(&super::fill(&template, i, r)))
            .collect::<crate::Result<Vec<_>>>()?;
        // A judge prompt that does not fit the context fails alone, typed.
        let room = self.model.config().max_position_embeddings.saturating_sub(self.params.max_new_tokens);
        let fits: Vec<usize> = (0..items.len()).filter(|&i| prompts[i].len() <= room).collect();
        let k = self.samples.max(1);
        let ok_prompts: Vec<Vec<u32>> = fits.iter().map(|&i| prompts[i].clone()).collect();
        let seeds: Vec<u64> = fits
            .iter()
            .flat_map(|&i| (0..k).map(move |j| item_seed(self.seed, &items[i].0, &items[i].1, j)))
            .collect();
        // A failed request fails the chunk (each item a typed backend failure), never a score.
        let gens = self
            .generator
            .generate(&ok_prompts, k, &self.params, &seeds)?
            .into_iter()
            .collect::<Result<Vec<String>, String>>()
            .map_err(|e| crate::Error::Invalid(format!("{}: {e}", self.generator.identity())))?;
        let mut judged = fits.iter().zip(gens.chunks(k));
        let mut next = judged.next();
        let mut out = Vec::with_capacity(items.len());
        for (i, p) in prompts.iter().enumerate() {
            match next {
                Some((&j, g)) if j == i => {
                    let samples = g.iter().map(|x| super::parse_score(x, 5.0)).collect();
                    out.push(aggregate(samples, g.to_vec()));
                    next = judged.next();
                }
                _ => out.push(Err(JudgeFailure::PromptTooLong { tokens: p.len(), room })),
            }
        }
        Ok(out)
    }
}

impl Judge for LlmJudge<'_> {
    fn name(&self) -> String {
        self.name.clone()
    }

    /// Batches items of similar length together (a batch is padded to its longest prompt;
    /// seeds follow each item's text, so the results are those of any other batching) and
    /// returns the results in the items' order.
    fn judge(&mut self, items: &[(String, String)]) -> Vec<Result<Judgment, JudgeFailure>> {
        let order = by_length(items);
        let sorted: Vec<(String, String)> = order.iter().map(|&i| items[i].clone()).collect();
        let results = super::in_chunks(&sorted, self.batch_size, |c| self.judge_chunk(c));
        let mut out: Vec<Option<Result<Judgment, JudgeFailure>>> = (0..items.len()).map(|_| None).collect();
        for (&i, r) in order.iter().zip(results) {
            out[i] = Some(r);
        }
        out.into_iter().map(|r| r.expect("every item judged once")).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::by_length;

    #[test]
    fn items_are_ordered_by_length_ties_kept_in_order() {
        let items: Vec<(String, String)> = [("abc", "de"), ("a", "b"), ("abcd", "e"), ("", "ab"), ("xyz", "")]
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        assert_eq!(by_length(&items), vec![1, 3, 4, 0, 2]);
    }
}
