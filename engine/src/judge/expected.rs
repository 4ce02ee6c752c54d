//! Expected-score judging (as G-Eval, Liu et al. 2023): instead of sampling a score, read
//! the model's probabilities of the score tokens `0`..`5` right after `Score:` and take
//! their probability-weighted mean. A weak judge that rarely writes a parsable score still
//! gives one, and the score is continuous (fewer ties between candidates).
//!
//! Through a server ([`Generator::top_logprobs`]), the justification is the server's greedy
//! text and the score is read from the server's top log-probabilities of the token after
//! `Score:` ([`TOP_LOGPROBS`] of them): the score tokens among them, the same two spellings
//! as here. Here, the whole vocabulary's probabilities are read from M_t's logits.
use super::{Judge, JudgeFailure, JudgePrompt, Judgment};
use crate::sample::SampleParams;
use crate::{Checkpoint, Generator};
use candle_core::{Device, Tensor};
use serde::{Deserialize, Serialize};

/// How the judge gets to `Score:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExpectedMode {
    /// The model writes its justification greedily first (up to `Score:`, which is added
    /// when it stops without one), then the score is read.
    Justified,
    /// `Score:` directly after the judge prompt, no justification.
    Direct,
}

/// The marker after which the score tokens are read.
pub const MARKER: &str = "Score:";

/// Judges with a model's score-token probabilities.
pub struct ExpectedJudge<'a> {
    pub model: &'a Checkpoint,
    /// Writes the justification and, if it can, gives the score tokens' probabilities
    /// (the model itself, or a server serving it).
    pub generator: &'a dyn Generator,
    pub name: String,
    pub prompt: JudgePrompt,
    pub mode: ExpectedMode,
    /// Longest justification (for [`ExpectedMode::Justified`]).
    pub max_new_tokens: usize,
    pub batch_size: usize,
}

/// Token ids that spell each score 0..=5, with and without a leading space, where the
/// tokenizer has them as one token.
pub fn score_tokens(tok: &crate::Tokenizer) -> crate::Result<Vec<(u32, f64)>> {
    let mut out = vec![];
    for k in 0..=5u32 {
        for text in [format!("{k}"), format!(" {k}")] {
            let ids = tok.encode(&text)?;
            if let [id] = ids[..] {
                if !out.iter().any(|(i, _)| *i == id) {
                    out.push((id, k as f64));
                }
            }
        }
    }
    if !(0..=5).all(|k| out.iter().any(|(_, s)| *s == k as f64)) {
        return Err(crate::Error::Invalid("the tokenizer has no single token for some score 0..5".into()));
    }
    Ok(out)
}

/// Where the score is read: right after `Score:` when a space and a digit are one token,
/// else after `Score: ` (tokenizers that split digits off, as SmolLM2's, spell "Score: 4"
/// with the space as its own token; read after `Score:`, the next token is that space and
/// the score tokens get almost no mass).
pub fn score_marker(tok: &crate::Tokenizer) -> crate::Result<String> {
    Ok(if tok.encode(" 4")?.len() == 1 { MARKER.to_string() } else { format!("{MARKER} ") })
}

/// How many top log-probabilities are asked of a server (vLLM's default ceiling).
pub const TOP_LOGPROBS: usize = 20;

/// The expected score and the probability mass on score tokens, from a server's top
/// next tokens (text, log-probability): `k` and ` k` for k in 0..=5.
pub fn expected_score_from_top(top: &[(String, f64)]) -> (f64, f64) {
    let (mut mass, mut sum) = (0.0, 0.0);
    for (text, lp) in top {
        let t = text.strip_prefix(' ').unwrap_or(text);
        if let [d @ b'0'..=b'5'] = t.as_bytes() {
            let p = lp.exp();
            mass += p;
            sum += p * (d - b'0') as f64;
        }
    }
    (if mass > 0.0 { sum / mass } else { f64::NAN }, mass)
}

/// The expected score and the probability mass on score tokens, from next-token logits.
pub fn expected_score(logits: &[f32], scores: &[(u32, f64)]) -> (f64, f64) {
    let max = logits.iter().cloned().fold(f32::NEG_INFINITY, f32::max) as f64;
    let z: f64 = logits.iter().map(|l| (*l as f64 - max).exp()).sum();
    let (mut mass, mut sum) = (0.0, 0.0);
    for (id, s) in scores {
        let p = (logits[*id as usize] as f64 - max).exp() / z;
        mass += p;
        sum += p * s;
    }
    (if mass > 0.0 { sum / mass } else { f64::NAN }, mass)
}

impl ExpectedJudge<'_> {
    fn judge_chunk(&self, items: &[(String, String)]) -> crate::Result<Vec<Result<Judgment, JudgeFailure>>> {
        let tok = &self.model.tokenizer;
        let template = self.prompt.template()?;
        let prompts = items.iter().map(|(i, r)| tok.encode_prompt(&super::fill(&template, i, r))).collect::<crate::Result<Vec<_>>>()?;
        let justifications: Vec<String> = match self.mode {
            ExpectedMode::Direct => vec![String::new(); items.len()],
            ExpectedMode::Justified => {
                let params = SampleParams { temperature: 0.0, top_p: 1.0, max_new_tokens: self.max_new_tokens, stop: vec![MARKER.into()] };
                let texts = self.generator.generate(&prompts, 1, &params, &vec![0; prompts.len()])?;
                let texts = texts.into_iter().collect::<Result<Vec<String>, String>>();
                let texts = texts.map_err(|e| crate::Error::Invalid(format!("judge justification from {}: {e}", self.generator.identity())))?;
                // Up to `Score:` as the model wrote it (its own space or line break before the
                // marker); a justification cut by the token budget gets a line break.
                texts.into_iter().map(|t| if t.ends_with(char::is_whitespace) { t } else { t + "\n" }).collect()
            }
        };
        let marker = score_marker(tok)?;
        let room = self.model.config().max_position_embeddings;
        let mut seqs = Vec::with_capacity(items.len());
        for (p, j) in prompts.iter().zip(&justifications) {
            let mut ids = p.clone();
            ids.extend(tok.encode(&format!("{}{marker}", if j.trim().is_empty() { "" } else { j }))?);
            seqs.push(ids);
        }
        let fits: Vec<Vec<u32>> = seqs.iter().filter(|s| s.len() <= room).cloned().collect();
        let mut served = self.generator.top_logprobs(&fits, TOP_LOGPROBS)?.map(|v| v.into_iter());
        // Reading the whole vocabulary needs a single token for each score.
        let scores = if served.is_none() { score_tokens(tok)? } else { vec![] };
        let mut out = Vec::with_capacity(items.len());
        for (ids, j) in seqs.iter().zip(&justifications) {
            if ids.len() > room {
                out.push(Err(JudgeFailure::PromptTooLong { tokens: ids.len(), room }));
                continue;
            }
            let (score, mass) = match served.as_mut() {
                Some(it) => {
                    let top = it.next().unwrap_or_else(|| Err("no answer".into()));
                    let top = top.map_err(|e| crate::Error::Invalid(format!("score probabilities from {}: {e}", self.generator.identity())))?;
                    expected_score_from_top(&top)
                }
                None => {
                    let x = Tensor::new(ids.as_slice(), self.model.model.device())?.unsqueeze(0)?;
                    let logits = self.model.model.forward(&x)?;
                    let last = logits.squeeze(0)?.get(ids.len() - 1)?.to_device(&Device::Cpu)?.to_dtype(candle_core::DType::F32)?;
                    let last: Vec<f32> = last.to_vec1()?;
                    expected_score(&last, &scores)
                }
            };
            if !(mass > 1e-6) {
                out.push(Err(JudgeFailure::NoValidScore(vec![super::ScoreError::Missing])));
                continue;
            }
            out.push(Ok(Judgment { score, samples: vec![Ok(score)], texts: vec![format!("{j}{MARKER} (expected {score:.3}, score-token mass {mass:.3})")] }));
        }
        Ok(out)
    }
}

impl Judge for ExpectedJudge<'_> {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn judge(&mut self, items: &[(String, String)]) -> Vec<Result<Judgment, JudgeFailure>> {
        super::in_chunks(items, self.batch_size, |c| self.judge_chunk(c))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hand computation: logits 0 everywhere except scores 2 (ln 3) and 4 (ln 1 = 0, one
    /// of the zeros): p(2) = 3/(3 + 9 others), so among score tokens 2 has weight 3, the
    /// other five weight 1: expected (0+1+3·2+3+4+5)/8 = 19/8.
    /// A server's top tokens by hand: " 4" p = 0.5, "2" p = 0.25, "Score" and "45" are not
    /// score tokens: expected (0.5·4 + 0.25·2) / 0.75 = 10/3, mass 0.75.
    #[test]
    fn expected_score_from_a_servers_top_tokens_by_hand() {
        let top: Vec<(String, f64)> = [(" 4", 0.5f64), ("2", 0.25), ("Score", 0.1), ("45", 0.1), (" 7", 0.05)].iter().map(|(t, p)| (t.to_string(), p.ln())).collect();
        let (s, mass) = expected_score_from_top(&top);
        assert!((s - 10.0 / 3.0).abs() < 1e-12 && (mass - 0.75).abs() < 1e-12, "{s} {mass}");
        let (s, mass) = expected_score_from_top(&[("x".into(), 0.0)]);
        assert!(s.is_nan() && mass == 0.0);
    }

    #[test]
    fn expected_score_by_hand() {
        let mut logits = vec![0f32; 10];
        logits[2] = 3f32.ln();
        let scores: Vec<(u32, f64)> = (0..6).map(|k| (k as u32, k as f64)).collect();
        let (s, mass) = expected_score(&logits, &scores);
        assert!((s - 19.0 / 8.0).abs() < 1e-6, "{s}");
        assert!((mass - 8.0 / 12.0).abs() < 1e-6, "{mass}");
    }
}
