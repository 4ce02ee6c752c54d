//! Log-probability of each target token, `logits: (.., v)`, `targets: (..)` u32 -> `(..)`.
//!
//! `lp = x[target] - logsumexp(x)`, one pass per row (max, sum of exponentials, pick).
//! Backward: `dx = g · (onehot(target) - softmax(x))`, the softmax recomputed in the
//! same pass (nothing of size `v` is kept between forward and backward).
use super::{exp, f32s, u32s};
use candle_core::{CpuStorage, CustomOp2, CustomOp3, Layout, Result, Shape, Tensor};

struct TokenLogprobs;

/// Log-softmax of `logits` gathered at `targets` (f32 logits, u32 targets, CPU).
pub fn token_logprobs(logits: &Tensor, targets: &Tensor) -> Result<Tensor> {
    logits.contiguous()?.apply_op2(&targets.contiguous()?, TokenLogprobs)
}

/// Whether rows of `v` logits take the vectorised [`exp`] (a large vocabulary, where the
/// exponentials are a visible part of a step). Below [`crate::logprob::RESPONSE_ONLY_VOCAB`]
/// the op keeps libm's `expf`: the numbers earlier from-scratch runs were trained with
/// (rounding moves a training trajectory).
fn vectorised(v: usize) -> bool {
    v >= crate::logprob::RESPONSE_ONLY_VOCAB
}

/// `(logsumexp, Σ e^(x - max))` of a row. Vectorised, `scratch` (the row's length) is left
/// holding each `e^(x - max)`.
fn lse(row: &[f32], scratch: &mut [f32]) -> (f32, f32) {
    let max = row.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
    let sum = if vectorised(row.len()) {
        scratch.copy_from_slice(row);
        exp::exp_sum(scratch, max)
    } else {
        row.iter().map(|&v| (v - max).exp()).sum()
    };
    (max + sum.ln(), sum)
}

fn check(l1: &Layout, l2: &Layout) -> Result<usize> {
    let d = l1.shape().dims();
    let v = *d.last().unwrap_or(&0);
    if d.len() < 1 || l2.shape().dims() != &d[..d.len() - 1] {
        candle_core::bail!("token-logprobs: logits {:?} and targets {:?} disagree", l1.shape(), l2.shape());
    }
    Ok(v)
}

impl CustomOp2 for TokenLogprobs {
    fn name(&self) -> &'static str {
        "token-logprobs"
    }

    fn cpu_fwd(&self, s1: &CpuStorage, l1: &Layout, s2: &CpuStorage, l2: &Layout) -> Result<(CpuStorage, Shape)> {
        let (x, tg) = (f32s(s1, l1, self.name())?, u32s(s2, l2, self.name())?);
        let v = check(l1, l2)?;
        let mut out = Vec::with_capacity(tg.len());
        let mut scratch = vec![0f32; v];
        for (row, &t) in x.chunks_exact(v).zip(tg) {
            let Some(&picked) = row.get(t as usize) else {
                candle_core::bail!("token-logprobs: target {t} outside the vocabulary of {v}");
            };
            out.push(picked - lse(row, &mut scratch).0);
        }
        Ok((CpuStorage::F32(out), l2.shape().clone()))
    }

    fn bwd(&self, x: &Tensor, t: &Tensor, _y: &Tensor, g: &Tensor) -> Result<(Option<Tensor>, Option<Tensor>)> {
        Ok((Some(x.apply_op3_no_bwd(t, &g.contiguous()?, &TokenLogprobsBwd)?), None))
    }
}

struct TokenLogprobsBwd;

impl CustomOp3 for TokenLogprobsBwd {
    fn name(&self) -> &'static str {
        "token-logprobs-bwd"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (x, tg, g) = (f32s(s1, l1, self.name())?, u32s(s2, l2, self.name())?, f32s(s3, l3, self.name())?);
        let v = check(l1, l2)?;
        let mut out = vec![0f32; x.len()];
        for (((row, dr), &t), &gv) in x.chunks_exact(v).zip(out.chunks_exact_mut(v)).zip(tg).zip(g) {
            if gv == 0.0 {
                continue; // masked token: no gradient
            }
            let (l, sum) = lse(row, dr);
            if vectorised(v) {
                // dr holds e^(x - max); softmax is that over its sum.
                let k = -gv / sum;
                dr.iter_mut().for_each(|d| *d *= k);
            } else {
                for (d, &xv) in dr.iter_mut().zip(row) {
                    *d = -gv * (xv - l).exp();
                }
            }
            if let Some(d) = dr.get_mut(t as usize) {
                *d += gv;
            }
        }
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }
}
