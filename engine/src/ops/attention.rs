//! Causal attention for training as one op: `o = softmax(scale · q·kᵀ + causal mask) · v`,
//! `q: (b, h, t, d)`, `k, v: (b, h, s, d)`, `t <= s` (query i sees keys `j <= i + s - t`).
//!
//! Built from a matmul, [`super::causal_softmax`] and a matmul, autograd keeps the scores
//! and the probabilities, two `(b, h, t, s)` tensors a layer, until the backward pass ends
//! (candle frees nothing as it goes). This op keeps only its inputs and output; the
//! backward recomputes one `(t, s)` block of probabilities at a time (one matmul more):
//! `dv = pᵀ·do`, `dp = do·vᵀ`, `ds = scale · p ⊙ (dp - rowsum(do ⊙ o))`, `dq = ds·k`,
//! `dk = dsᵀ·q`. Each `(b, h)` slice is independent (rayon across them, gemm inside).
use super::f32s;
use candle_core::{CpuStorage, CustomOp3, Layout, Result, Shape, Storage, StorageRef, Tensor};
use rayon::prelude::*;

struct CausalAttention {
    scale: f32,
}

/// `softmax(scale · q·kᵀ + causal) · v` for f32 CPU tensors, differentiable in q, k and v.
pub fn causal_attention(q: &Tensor, k: &Tensor, v: &Tensor, scale: f64) -> Result<Tensor> {
    q.contiguous()?.apply_op3(&k.contiguous()?, &v.contiguous()?, CausalAttention { scale: scale as f32 })
}

/// `(b·h, t, s, d)` of `q: (b, h, t, d)` and `k: (b, h, s, d)`, checked against `v`.
fn dims(q: &Shape, k: &Shape, v: &Shape) -> Result<(usize, usize, usize, usize)> {
    let ((b, h, t, d), (kb, kh, s, kd)) = (q.dims4()?, k.dims4()?);
    if (kb, kh, kd) != (b, h, d) || v.dims4()? != (b, h, s, d) || t > s {
        candle_core::bail!("causal_attention: expects q (b, h, t, d), k and v (b, h, s, d), t <= s; got {q:?}, {k:?}, {v:?}");
    }
    Ok((b * h, t, s, d))
}

/// `c (m, n) = a · b` with `a`, `b` given by (row stride, column stride) over their data.
/// SAFETY: the strides address only elements inside `a` and `b`; `c` holds `m · n`.
#[allow(clippy::too_many_arguments)]
unsafe fn matmul(c: &mut [f32], m: usize, n: usize, k: usize, a: &[f32], a_rs: usize, a_cs: usize, b: &[f32], b_rs: usize, b_cs: usize) {
    debug_assert!(c.len() >= m * n);
    super::gemm(c, n, m, n, k, a, a_rs, a_cs, b, b_rs, b_cs, false)
}

/// The f32 data of a locked contiguous CPU tensor.
fn cpu<'a>(g: &'a (StorageRef<'_>, &Layout)) -> Result<&'a [f32]> {
    match &*g.0 {
        Storage::Cpu(c) => f32s(c, g.1, "causal-attention-bwd"),
        _ => candle_core::bail!("causal-attention-bwd: expects CPU tensors"),
    }
}

impl CausalAttention {
    /// The probabilities `p (t, s)` of one `(b, h)` slice: `q (t, d)`, `k (s, d)`.
    fn probs(&self, p: &mut [f32], q: &[f32], k: &[f32], t: usize, s: usize, d: usize) {
        // SAFETY: q is (t, d) and k (s, d) row-major; kᵀ is k with its strides swapped.
        unsafe { matmul(p, t, s, d, q, d, 1, k, 1, d) };
        for (i, row) in p.chunks_exact_mut(s).enumerate() {
            let seen = i + s - t + 1;
            let (vis, masked) = row.split_at_mut(seen);
            let max = vis.iter().fold(f32::NEG_INFINITY, |m, &x| m.max(x)) * self.scale;
            super::expf::exp_scaled(vis, self.scale, max);
            let sum = vis.iter().fold(0f32, |s, &x| s + x);
            let inv = 1.0 / sum;
            vis.iter_mut().for_each(|x| *x *= inv);
            masked.fill(0.0);
        }
    }
}

impl CustomOp3 for CausalAttention {
    fn name(&self) -> &'static str {
        "causal-attention"
    }

    fn cpu_fwd(&self, s1: &CpuStorage, l1: &Layout, s2: &CpuStorage, l2: &Layout, s3: &CpuStorage, l3: &Layout) -> Result<(CpuStorage, Shape)> {
        let (n, t, s, d) = dims(l1.shape(), l2.shape(), l3.shape())?;
        let (q, k, v) = (f32s(s1, l1, self.name())?, f32s(s2, l2, self.name())?, f32s(s3, l3, self.name())?);
        let mut o = vec![0f32; n * t * d];
        o.par_chunks_mut(t * d).enumerate().for_each_init(
            || vec![0f32; t * s],
            |p, (i, o)| {
                self.probs(p, &q[i * t * d..][..t * d], &k[i * s * d..][..s * d], t, s, d);
                // SAFETY: p is (t, s), v (s, d), o (t, d), all row-major.
                unsafe { matmul(o, t, d, s, p, s, 1, &v[i * s * d..][..s * d], d, 1) };
            },
        );
        Ok((CpuStorage::F32(o), l1.shape().clone()))
    }

    fn bwd(&self, q: &Tensor, k: &Tensor, v: &Tensor, o: &Tensor, g: &Tensor) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let g = g.contiguous()?;
        let (n, t, s, d) = dims(q.shape(), k.shape(), v.shape())?;
        let (mut dq, mut dk, mut dv) = (vec![0f32; n * t * d], vec![0f32; n * s * d], vec![0f32; n * s * d]);
        {
            let guards = [q, k, v, o, &g].map(|x| x.storage_and_layout());
            let (q, k, v, o, g) = (cpu(&guards[0])?, cpu(&guards[1])?, cpu(&guards[2])?, cpu(&guards[3])?, cpu(&guards[4])?);
            dq.par_chunks_mut(t * d).zip(dk.par_chunks_mut(s * d)).zip(dv.par_chunks_mut(s * d)).enumerate().for_each_init(
                || (vec![0f32; t * s], vec![0f32; t * s]),
                |(p, dp), (i, ((dq, dk), dv))| {
                    let (q, k, v) = (&q[i * t * d..][..t * d], &k[i * s * d..][..s * d], &v[i * s * d..][..s * d]);
                    let (o, g) = (&o[i * t * d..][..t * d], &g[i * t * d..][..t * d]);
                    self.probs(p, q, k, t, s, d);
                    // SAFETY: every operand below is row-major with the sizes named; a
                    // transpose is the same data with its strides swapped.
                    unsafe {
                        matmul(dv, s, d, t, p, 1, s, g, d, 1); // pᵀ (s, t) · g (t, d)
                        matmul(dp, t, s, d, g, d, 1, v, 1, d); // g (t, d) · vᵀ (d, s)
                    }
                    for (row, ((pr, dpr), (orow, grow))) in p.chunks_exact(s).zip(dp.chunks_exact_mut(s)).zip(o.chunks_exact(d).zip(g.chunks_exact(d))).enumerate() {
                        let di: f32 = orow.iter().zip(grow).map(|(a, b)| a * b).sum();
                        let seen = row + s - t + 1;
                        for (x, &pv) in dpr[..seen].iter_mut().zip(&pr[..seen]) {
                            *x = self.scale * pv * (*x - di);
                        }
                        dpr[seen..].fill(0.0);
                    }
                    unsafe {
                        matmul(dq, t, d, s, dp, s, 1, k, d, 1); // ds (t, s) · k (s, d)
                        matmul(dk, s, d, t, dp, 1, s, q, d, 1); // dsᵀ (s, t) · q (t, d)
                    }
                },
            );
        }
        let dev = q.device();
        Ok((
            Some(Tensor::from_vec(dq, q.shape(), dev)?),
            Some(Tensor::from_vec(dk, k.shape(), dev)?),
            Some(Tensor::from_vec(dv, v.shape(), dev)?),
        ))
    }
}
