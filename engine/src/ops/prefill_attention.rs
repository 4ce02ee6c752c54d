//! Attention of several new tokens per row over their KV cache (a prefill), in one pass per
//! row and key/value head.
//!
//! As candle ops a prefill's attention is a batched matmul, a scale, a bias add, a softmax
//! and a matmul, each a new `(b, h, t, s)` tensor, after copying every shared prefix out of
//! the cache (`KvCache::full`). Here each row and key/value head takes its `g` query heads
//! as one `(g·t, d)` block, a few hundred query rows at a time: the scores come from one
//! gemm per cache source (read in place, strided, shared rows by index), the softmax is one
//! pass with the vectorised [`super::exp`] (masked scores underflow to 0 without libm's slow
//! path), and one gemm per source accumulates the output. Inference only: no backward.
//!
//! Shapes: b rows, h query heads, k key/value heads (g = h / k), t new tokens, s cached
//! positions over all sources, d head size.
use super::decode_attention::{cpu_f32, gather, KvSource, Src};
use super::{exp, gemm};
use candle_core::{Result, Tensor};
use rayon::prelude::*;

/// Query rows per block: the score block `(rows, s)` stays about 1 MiB.
const BLOCK_SCORES: usize = 1 << 18;

/// `softmax(q kᵀ · scale + bias) v` for `q: (b, h, t, d)` over the positions of `sources` in
/// order, `bias: (b, 1, t, s)` additive over all of them -> `(b, h, t, d)` (f32, CPU).
pub fn prefill_attention(q: &Tensor, sources: &[KvSource], bias: &Tensor, scale: f32) -> Result<Tensor> {
    let (q, bias) = (q.contiguous()?, bias.contiguous()?);
    let (b, h, t, d) = q.dims4()?;
    let (qs, ql) = q.storage_and_layout();
    let qd = &cpu_f32(&qs, "q")?[ql.start_offset()..][..b * h * t * d];
    let guards: Vec<_> = sources.iter().map(|s| (s.k.storage_and_layout(), s.v.storage_and_layout())).collect();
    let (srcs, total) = gather(sources, &guards, (b, h, d), "prefill-attention")?;
    if bias.dims() != [b, 1, t, total] {
        candle_core::bail!("prefill-attention: bias {:?} for {b} rows × {t} queries × {total} positions", bias.shape());
    }
    let (bs, bl) = bias.storage_and_layout();
    let bd = &cpu_f32(&bs, "bias")?[bl.start_offset()..][..b * t * total];
    let kh = srcs.first().map_or(h, |s| s.kh);
    if srcs.iter().any(|s| s.kh != kh) || total == 0 {
        candle_core::bail!("prefill-attention: sources disagree on key/value heads, or hold no position");
    }
    let g = h / kh;
    let mut out = vec![0f32; b * h * t * d];
    let rows = (BLOCK_SCORES / total).clamp(1, g * t);
    out.par_chunks_mut(g * t * d).enumerate().for_each_init(
        || vec![0f32; rows * total],
        |p, (task, o)| {
            let (bi, c) = (task / kh, task % kh);
            let head = Head { srcs: &srcs, bi, c, d, t, total, scale };
            let qb = &qd[task * g * t * d..][..g * t * d];
            for r0 in (0..g * t).step_by(rows) {
                let n = rows.min(g * t - r0);
                head.block(&qb[r0 * d..][..n * d], r0, &bd[bi * t * total..][..t * total], &mut p[..n * total], &mut o[r0 * d..][..n * d]);
            }
        },
    );
    Tensor::from_vec(out, (b, h, t, d), q.device())
}

/// One row `bi` and key/value head `c` of the sources.
struct Head<'a> {
    srcs: &'a [Src<'a>],
    bi: usize,
    c: usize,
    d: usize,
    t: usize,
    total: usize,
    scale: f32,
}

impl Head<'_> {
    /// Rows `r0..r0 + n` of the `(g·t, d)` query block `q` (query position `r % t`), their
    /// scores and probabilities in `p (n, total)`, their output in `o (n, d)`.
    fn block(&self, q: &[f32], r0: usize, bias: &[f32], p: &mut [f32], o: &mut [f32]) {
        let (n, d, total) = (q.len() / self.d, self.d, self.total);
        let mut off = 0;
        for s in self.srcs {
            let k = &s.k[(self.bi / s.rows_per) * s.ks[0] + self.c * s.ks[1]..];
            // SAFETY: q is (n, d) row-major, k's rows are ks[2] apart with d contiguous and
            // s.s of them inside the view, p is (n, total) with room for columns off..off + s.
            unsafe { gemm(&mut p[off..], total, n, s.s, d, q, d, 1, k, 1, s.ks[2], false) };
            off += s.s;
        }
        for (i, row) in p.chunks_exact_mut(total).enumerate() {
            let qi = (r0 + i) % self.t;
            let max = exp::scale_add_max(row, self.scale, &bias[qi * total..][..total]);
            let inv = 1.0 / exp::exp_sum(row, max);
            row.iter_mut().for_each(|x| *x *= inv);
        }
        let mut off = 0;
        for (j, s) in self.srcs.iter().enumerate() {
            let v = &s.v[(self.bi / s.rows_per) * s.vs[0] + self.c * s.vs[1]..];
            // SAFETY: p's columns off..off + s.s (row stride total), v (s.s, d) with rows
            // vs[2] apart, o (n, d) row-major.
            unsafe { gemm(o, d, n, d, s.s, &p[off..], total, 1, v, s.vs[2], 1, j > 0) };
            off += s.s;
        }
    }
}
