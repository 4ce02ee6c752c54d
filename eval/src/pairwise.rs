//! A checkpoint as a pairwise judge: the pairwise prompt (`prompts/judge_pairwise.txt`),
//! `Preferred: A|B` parsed, each pair judged in both orders (B-then-A flipped back;
//! disagreement is a tie), with position bias measured on the single-order verdicts.
use crate::winrate::{both_orders, Verdict};
use engine::judge::{parse_preference, render_pairwise, JudgeFailure};
use engine::{generate, Checkpoint, SampleParams};

impl crate::judges::HeadToHeadJudge for PairwiseLlmJudge<'_> {
    fn annotator(&self) -> String {
        self.name.clone()
    }
    fn verdicts(&mut self, triples: &[(String, String, String)]) -> crate::judges::Verdicts {
        match self.compare(triples) {
            Ok(r) => crate::judges::Verdicts { verdicts: r.verdicts, position_bias: Some(r.position_bias) },
            // a failure of the whole batch is each pair's, with its cause
            Err(e) => crate::judges::Verdicts { verdicts: triples.iter().map(|_| Err(JudgeFailure::Backend(e.to_string()))).collect(), position_bias: None },
        }
    }
}

/// A checkpoint prompted to pick the better of two responses.
pub struct PairwiseLlmJudge<'a> {
    /// Named in annotations and messages.
    pub name: String,
    pub model: &'a Checkpoint,
    /// Sampling of each verdict (`Preferred: A|B` needs few tokens).
    pub params: SampleParams,
    /// Seed of the first prompt's sampling; each prompt's seed derives from it.
    pub seed: u64,
    /// Prompts generated together.
    pub batch_size: usize,
}

/// Verdicts in both orders and how often the first-shown response won.
#[derive(Debug, Clone, PartialEq)]
pub struct PairwiseResult {
    /// Per pair, or why either order's verdict could not be read (a failure is never
    /// counted as a tie).
    pub verdicts: Vec<Result<Verdict, JudgeFailure>>,
    /// Share of parsed single-order verdicts that picked the response shown first.
    pub position_bias: f64,
    /// Single-order judgments that could not be read.
    pub failures: usize,
}

impl<'a> PairwiseLlmJudge<'a> {
    /// One order: `true` when the first response is preferred.
    fn one_order(&self, triples: &[(String, String, String)]) -> crate::Result<Vec<Result<bool, JudgeFailure>>> {
        let tok = &self.model.tokenizer;
        let room = self.model.config().max_position_embeddings.saturating_sub(self.params.max_new_tokens);
        let mut out = vec![];
        for (c, chunk) in triples.chunks(self.batch_size.max(1)).enumerate() {
            let prompts = chunk.iter().map(|(i, a, b)| tok.encode_prompt(&render_pairwise(i, a, b))).collect::<engine::Result<Vec<_>>>()?;
            let fits: Vec<usize> = (0..prompts.len()).filter(|&k| prompts[k].len() <= room).collect();
            let ok: Vec<Vec<u32>> = fits.iter().map(|&k| prompts[k].clone()).collect();
            let seeds: Vec<u64> = fits.iter().map(|&k| self.seed ^ ((c * self.batch_size.max(1) + k) as u64).wrapping_mul(0x9e37_79b9)).collect();
            let gens = generate(&self.model.model, tok, &ok, 1, &self.params, &seeds)?;
            let mut g = fits.iter().zip(gens);
            let mut next = g.next();
            for (k, p) in prompts.iter().enumerate() {
                match next {
                    Some((&j, ref x)) if j == k => {
                        out.push(parse_preference(&x.text).map_err(|e| JudgeFailure::NoValidScore(vec![e])));
                        next = g.next();
                    }
                    _ => out.push(Err(JudgeFailure::PromptTooLong { tokens: p.len(), room })),
                }
            }
        }
        Ok(out)
    }

    /// Judges `(instruction, a, b)` triples in both orders.
    pub fn compare(&self, triples: &[(String, String, String)]) -> crate::Result<PairwiseResult> {
        let first = self.one_order(triples)?;
        let swapped: Vec<(String, String, String)> = triples.iter().map(|(i, a, b)| (i.clone(), b.clone(), a.clone())).collect();
        let second = self.one_order(&swapped)?;
        let (mut firsts, mut decided, mut failures) = (0usize, 0usize, 0usize);
        let verdicts = first
            .iter()
            .zip(&second)
            .map(|(x, y)| {
                for r in [x, y] {
                    match r {
                        Ok(p) => {
                            decided += 1;
                            firsts += *p as usize;
                        }
                        Err(_) => failures += 1,
                    }
                }
                match (x, y) {
                    // the second order showed B first: its verdict is flipped back to A vs B
                    (Ok(x), Ok(y)) => Ok(both_orders(Verdict::first_if(*x), Verdict::first_if(*y).flipped())),
                    (Err(e), _) | (_, Err(e)) => Err(e.clone()),
                }
            })
            .collect();
        Ok(PairwiseResult { verdicts, position_bias: firsts as f64 / decided.max(1) as f64, failures })
    }
}
