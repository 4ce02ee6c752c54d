//! Token and sequence log-probabilities under a loss mask: the building block of SFT and DPO.
use crate::model::{Llama, Track};
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
    /// Flat index `row * t + position` of each response target, row by row.
    pub response_at: Vec<u32>,
    /// Row of each entry of `response_at`.
    pub response_row: Vec<u32>,
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
        let (mut response_at, mut response_row) = (vec![], vec![]);
        for (i, (full, plen)) in rows.iter().enumerate() {
            for j in 0..full.len().saturating_sub(1) {
                ids[i * t + j] = full[j];
                targets[i * t + j] = full[j + 1];
                // target j+1 is a response token when j + 1 >= plen
                if j + 1 >= *plen {
                    mask[i * t + j] = 1.0;
                    n_tokens += 1;
                    response_at.push((i * t + j) as u32);
                    response_row.push(i as u32);
                }
            }
        }
        Ok(Self {
            ids: Tensor::from_vec(ids, (b, t), dev)?,
            targets: Tensor::from_vec(targets, (b, t), dev)?,
            mask: Tensor::from_vec(mask, (b, t), dev)?,
            n_tokens,
            response_at,
            response_row,
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

/// Log-probability of each response target `(n)`, in `batch.response_at` order. Only the
/// response positions go through the head: a long prompt costs no `(t, v)` logits (nor
/// their gradients), which is most of the memory of a step at a large vocabulary.
pub fn response_logprobs(model: &Llama, batch: &SeqBatch, track: Track) -> candle_core::Result<Tensor> {
    let dev = batch.ids.device();
    let n = batch.response_at.len();
    if n == 0 {
        return Tensor::zeros(0, DType::F32, dev);
    }
    let x = model.hidden(&batch.ids, track)?;
    let (b, t, e) = x.dims3()?;
    let at = Tensor::new(batch.response_at.as_slice(), dev)?;
    let rows = x.reshape((b * t, e))?.index_select(&at, 0)?; // (n, e)
    let logits = model.head(&rows)?.unsqueeze(0)?; // (1, n, v)
    let targets = batch.targets.flatten_all()?.index_select(&at, 0)?.unsqueeze(0)?;
    token_logprobs(&logits, &targets)?.squeeze(0)
}

/// Vocabularies from which training runs the head on response positions only
/// ([`response_logprobs`]); below it, the full `(b, t, v)` logits are cheap and the path
/// stays the one earlier runs were made with (the two agree to float rounding, tested, but
/// rounding moves a from-scratch training trajectory).
pub const RESPONSE_ONLY_VOCAB: usize = 8192;

fn response_only(model: &Llama) -> bool {
    model.config().vocab_size >= RESPONSE_ONLY_VOCAB
}

/// Summed response log-probability of each sequence, `(b)`. `track`: what the backward
/// pass needs ([`Track::Off`] where there is none).
pub fn sequence_logprobs(model: &Llama, batch: &SeqBatch, track: Track) -> candle_core::Result<Tensor> {
    if !response_only(model) {
        let logits = model.forward_with(&batch.ids, track)?;
        return (token_logprobs(&logits, &batch.targets)? * &batch.mask)?.sum(1);
    }
    let (b, n) = (batch.ids.dim(0)?, batch.response_row.len());
    if n == 0 {
        return Tensor::zeros(b, DType::F32, batch.ids.device());
    }
    let lp = response_logprobs(model, batch, track)?;
    // (b, n) one-hot rows times (n, 1): each row's sum, differentiably.
    let mut sel = vec![0f32; b * n];
    for (k, &r) in batch.response_row.iter().enumerate() {
        sel[r as usize * n + k] = 1.0;
    }
    Tensor::from_vec(sel, (b, n), lp.device())?.matmul(&lp.unsqueeze(1)?)?.squeeze(1)
}

/// Mean negative log-likelihood per response token (the SFT loss), a scalar.
pub fn sft_loss(model: &Llama, batch: &SeqBatch, track: Track) -> candle_core::Result<Tensor> {
    let lp = if response_only(model) {
        response_logprobs(model, batch, track)?.sum_all()?
    } else {
        (token_logprobs(&model.forward_with(&batch.ids, track)?, &batch.targets)? * &batch.mask)?.sum_all()?
    };
    lp.neg()? / batch.n_tokens.max(1) as f64
}
