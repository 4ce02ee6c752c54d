//! Token and sequence log-probabilities under a loss mask: the building block of SFT and DPO.
use crate::model::Llama;
use candle_core::{DType, Device, Tensor, D};

/// `(prompt, response)` cut to at most `max_len + 1` tokens together, as [`SeqBatch`] cuts
/// them: the prompt loses its start first; the response is cut at its end only when no
/// prompt is left.
pub fn fit(prompt: &[u32], response: &[u32], max_len: usize) -> (Vec<u32>, Vec<u32>) {
    let excess = (prompt.len() + response.len()).saturating_sub(max_len + 1);
    let cut = excess.min(prompt.len());
    let r_keep = response.len().min(max_len + 1);
    (prompt[cut..].to_vec(), response[..r_keep].to_vec())
}

/// A right-padded batch of prompt+response sequences, shifted for next-token prediction.
#[derive(Debug, Clone)]
pub struct SeqBatch {
    /// `(b, t)` u32 input ids.
    pub ids: Tensor,
    /// `(b, t)` u32 next-token targets.
    pub targets: Tensor,
    /// `(b, t)` f32: 1 where the target is a response token, else 0.
    pub mask: Tensor,
    /// Number of response tokens in the batch.
    pub n_tokens: usize,
}

impl SeqBatch {
    /// Builds a batch from `(prompt, response)` id pairs. Sequences longer than
    /// `max_len + 1` tokens lose the start of their prompt (the response is kept whole
    /// when it fits).
    pub fn new(pairs: &[(Vec<u32>, Vec<u32>)], pad_id: u32, max_len: usize, dev: &Device) -> candle_core::Result<Self> {
        let mut rows = Vec::with_capacity(pairs.len());
        for (p, r) in pairs {
            let (p, r) = fit(p, r, max_len);
            let plen = p.len();
            rows.push(([p, r].concat(), plen));
        }
        let t = rows.iter().map(|(f, _)| f.len().saturating_sub(1)).max().unwrap_or(0).max(1);
        let b = rows.len();
        let mut ids = vec![pad_id; b * t];
        let mut targets = vec![pad_id; b * t];
        let mut mask = vec![0f32; b * t];
        let mut n_tokens = 0;
        for (i, (full, plen)) in rows.iter().enumerate() {
            for j in 0..full.len().saturating_sub(1) {
                ids[i * t + j] = full[j];
                targets[i * t + j] = full[j + 1];
                // target j+1 is a response token when j + 1 >= plen
                if j + 1 >= *plen {
                    mask[i * t + j] = 1.0;
                    n_tokens += 1;
                }
            }
        }
        Ok(Self {
            ids: Tensor::from_vec(ids, (b, t), dev)?,
            targets: Tensor::from_vec(targets, (b, t), dev)?,
            mask: Tensor::from_vec(mask, (b, t), dev)?,
            n_tokens,
        })
    }
}

/// Log-probability of each target: `logits (b, t, v)`, `targets (b, t)` -> `(b, t)` f32.
///
/// Computed as `logit[target] - logsumexp(logits)`, with the max subtracted
/// (and held constant) for stability.
pub fn token_logprobs(logits: &Tensor, targets: &Tensor) -> candle_core::Result<Tensor> {
    if crate::ops::fusable(logits) {
        return crate::ops::token_logprobs(logits, targets);
    }
    token_logprobs_plain(logits, targets)
}

/// [`token_logprobs`] from candle's basic ops (any device and dtype; the reference the
/// fused kernel is tested against).
pub fn token_logprobs_plain(logits: &Tensor, targets: &Tensor) -> candle_core::Result<Tensor> {
    let logits = logits.to_dtype(DType::F32)?;
    let max = logits.max_keepdim(D::Minus1)?.detach();
    let shifted = logits.broadcast_sub(&max)?;
    let lse = shifted.exp()?.sum_keepdim(D::Minus1)?.log()?; // (b, t, 1)
    let picked = shifted.gather(&targets.unsqueeze(D::Minus1)?.contiguous()?, D::Minus1)?;
    (picked - lse)?.squeeze(D::Minus1)
}

/// Summed response log-probability of each sequence, `(b)`.
pub fn sequence_logprobs(model: &Llama, batch: &SeqBatch) -> candle_core::Result<Tensor> {
    let logits = model.forward(&batch.ids)?;
    (token_logprobs(&logits, &batch.targets)? * &batch.mask)?.sum(1)
}

/// Mean negative log-likelihood per response token (the SFT loss), a scalar.
pub fn sft_loss(model: &Llama, batch: &SeqBatch) -> candle_core::Result<Tensor> {
    let logits = model.forward(&batch.ids)?;
    let lp = (token_logprobs(&logits, &batch.targets)? * &batch.mask)?.sum_all()?;
    lp.neg()? / batch.n_tokens.max(1) as f64
}
