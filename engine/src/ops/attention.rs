//! Causal attention for training as one op: `o = softmax(scale · q·kᵀ + causal mask) · v`,
//! `q: (b, h, t, d)`, `k, v: (b, h, s, d)`, `t <= s` (query i sees keys `j <= i + s - t`).
//!
//! Built from a matmul, [`super::causal_softmax`] and a matmul, autograd keeps the scores
//! and the probabilities, two `(b, h, t, s)` tensors a layer, until the backward pass ends
//! (candle frees nothing as it goes). This op keeps its inputs and output, and either the
//! probabilities ([`causal_attention_keeping`], for training through the layer tape, whose
//! backward frees each layer's graph as it goes) or nothing more: the backward then
//! recomputes one `(t, s)` block of probabilities at a time (one matmul more). Then
//! `dv = pᵀ·do`, `dp = do·vᵀ`, `ds = scale · p ⊙ (dp - rowsum(do ⊙ o))`, `dq = ds·k`,
//! `dk = dsᵀ·q`. Each `(b, h)` slice is independent (rayon across them); inside one, the
//! products are [`tiles`]' (gemm's bits, each right-hand operand packed once per slice) and
//! skip the masked upper triangle a block of 64 queries or keys at a time.
use super::f32s;
use super::tiles::{self, Panels};
use candle_core::{CpuStorage, CustomOp3, Layout, Result, Shape, Storage, StorageRef, Tensor};
use rayon::prelude::*;
use std::sync::Mutex;

struct CausalAttention {
    scale: f32,
    /// Where the forward pass leaves its probabilities `(b·h, t, s)` for the backward pass,
    /// when asked to ([`causal_attention_keeping`]); else the backward recomputes them.
    kept: Option<Mutex<Option<Vec<f32>>>>,
}

/// `softmax(scale · q·kᵀ + causal) · v` for f32 CPU tensors, differentiable in q, k and v.
pub fn causal_attention(q: &Tensor, k: &Tensor, v: &Tensor, scale: f64) -> Result<Tensor> {
    q.contiguous()?.apply_op3(&k.contiguous()?, &v.contiguous()?, CausalAttention { scale: scale as f32, kept: None })
}

/// [`causal_attention`] keeping its probabilities for the backward pass, for training: one
/// `(b, h, t, s)` tensor more from the forward pass until this op's backward has run, and
/// there one product, the exponentials and the softmax's sums less (the same numbers).
pub fn causal_attention_keeping(q: &Tensor, k: &Tensor, v: &Tensor, scale: f64) -> Result<Tensor> {
    let op = CausalAttention { scale: scale as f32, kept: Some(Mutex::new(None)) };
    q.contiguous()?.apply_op3(&k.contiguous()?, &v.contiguous()?, op)
}

/// [`causal_attention_keeping`]'s forward outside a graph: the output and the probabilities
/// that [`causal_attention_bwd`] reads.
pub(crate) fn causal_attention_probs(q: &Tensor, k: &Tensor, v: &Tensor, scale: f64) -> Result<(Tensor, Vec<f32>)> {
    let op = CausalAttention { scale: scale as f32, kept: Some(Mutex::new(None)) };
    let o = q.contiguous()?.apply_op3_no_bwd(&k.contiguous()?, &v.contiguous()?, &op)?;
    let probs = op.kept.and_then(|k| k.into_inner().ok().flatten()).unwrap_or_default();
    Ok((o, probs))
}

/// The backward of [`causal_attention_probs`]' output `o`: `(dq, dk, dv)` for its gradient `g`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn causal_attention_bwd(q: &Tensor, k: &Tensor, v: &Tensor, o: &Tensor, probs: Vec<f32>, g: &Tensor, scale: f64) -> Result<(Tensor, Tensor, Tensor)> {
    let op = CausalAttention { scale: scale as f32, kept: Some(Mutex::new(Some(probs))) };
    match op.bwd(q, k, v, o, g)? {
        (Some(dq), Some(dk), Some(dv)) => Ok((dq, dk, dv)),
        _ => candle_core::bail!("causal-attention-bwd: no gradient"),
    }
}

/// `(b·h, t, s, d)` of `q: (b, h, t, d)` and `k: (b, h, s, d)`, checked against `v`.
fn dims(q: &Shape, k: &Shape, v: &Shape) -> Result<(usize, usize, usize, usize)> {
    let ((b, h, t, d), (kb, kh, s, kd)) = (q.dims4()?, k.dims4()?);
    if (kb, kh, kd) != (b, h, d) || v.dims4()? != (b, h, s, d) || t > s {
        candle_core::bail!("causal_attention: expects q (b, h, t, d), k and v (b, h, s, d), t <= s; got {q:?}, {k:?}, {v:?}");
    }
    Ok((b * h, t, s, d))
}

/// Query rows a block: each block's products stop at the last key its last row sees, so
/// the masked upper triangle is (mostly) never computed (5/8 of the full products at 4
/// blocks). Dropping products of masked (zero) probabilities changes no sum's bits while
/// a sum fits one of gemm's k-blocks (≥ 512 terms): the terms left out are exact zeros
/// at the end (or, for the key-side products, the start) of each sum.
const BLOCK: usize = 64;

/// The row blocks `[r0, r1)` of `t` queries, each with `nv`, how many keys its last row sees.
fn row_blocks(t: usize, s: usize) -> impl Iterator<Item = (usize, usize, usize)> {
    (0..t).step_by(BLOCK).map(move |r0| {
        let r1 = (r0 + BLOCK).min(t);
        (r0, r1, r1 + s - t)
    })
}

/// The key blocks `[c0, c1)` of `s` keys, each with `i0`, the first of `t` queries that sees any.
fn key_blocks(t: usize, s: usize) -> impl Iterator<Item = (usize, usize, usize)> {
    (0..s).step_by(BLOCK).map(move |c0| (c0, (c0 + BLOCK).min(s), c0.saturating_sub(s - t)))
}

/// The f32 data of a locked contiguous CPU tensor.
fn cpu<'a>(g: &'a (StorageRef<'_>, &Layout)) -> Result<&'a [f32]> {
    match &*g.0 {
        Storage::Cpu(c) => f32s(c, g.1, "causal-attention-bwd"),
        _ => candle_core::bail!("causal-attention-bwd: expects CPU tensors"),
    }
}

impl CausalAttention {
    /// The probabilities `p (t, s)` of one `(b, h)` slice: `q (t, d)`, `kt` kᵀ `(d, s)`.
    fn probs(&self, p: &mut [f32], q: &[f32], kt: &Panels, t: usize, s: usize, d: usize) {
        for (r0, r1, nv) in row_blocks(t, s) {
            // SAFETY: q is (t, d) row-major, p (t, s).
            unsafe { tiles::matmul(&mut p[r0 * s..], s, r1 - r0, nv, d, &q[r0 * d..], d, 1, kt, 0) };
        }
        // Rows ROWS at a time: each row's sum runs in order, as one row alone would, and
        // the rows' additions interleave (one row's chain waits on each add's latency).
        for (g, rows) in p.chunks_mut(ROWS * s).enumerate() {
            let first = g * ROWS + s - t + 1; // keys the group's first row sees
            let mut seen = [0usize; ROWS];
            for (r, row) in rows.chunks_exact_mut(s).enumerate() {
                seen[r] = first + r;
                let vis = &mut row[..seen[r]];
                super::expf::exp_scaled(vis, self.scale, max(vis) * self.scale);
            }
            let n = rows.len() / s;
            let mut sums = [0f32; ROWS];
            for j in 0..first {
                for (r, sum) in sums.iter_mut().enumerate().take(n) {
                    *sum += rows[r * s + j];
                }
            }
            for (r, row) in rows.chunks_exact_mut(s).enumerate() {
                let (vis, masked) = row.split_at_mut(seen[r]);
                let sum = vis[first..].iter().fold(sums[r], |s, &x| s + x);
                let inv = 1.0 / sum;
                vis.iter_mut().for_each(|x| *x *= inv);
                masked.fill(0.0);
            }
        }
    }

    /// Slice `i`'s forward: its probabilities into `p (t, s)`, its output into `o (t, d)`.
    #[allow(clippy::too_many_arguments)]
    fn slice<'a>(&self, i: usize, (q, k, v): (&'a [f32], &'a [f32], &'a [f32]), o: &mut [f32], p: &mut [f32], (kt, vp): &mut (Panels<'a>, Panels<'a>), (t, s, d): (usize, usize, usize)) {
        kt.pack(&k[i * s * d..][..s * d], d, s, 1, d); // kᵀ (d, s)
        vp.pack(&v[i * s * d..][..s * d], s, d, d, 1); // v (s, d)
        self.probs(p, &q[i * t * d..][..t * d], kt, t, s, d);
        for (r0, r1, nv) in row_blocks(t, s) {
            // SAFETY: p is (t, s) and o (t, d), row-major.
            unsafe { tiles::matmul(&mut o[r0 * d..], d, r1 - r0, d, nv, &p[r0 * s..], s, 1, vp, 0) };
        }
    }
}

/// Rows of probabilities whose sums interleave.
const ROWS: usize = 8;

/// The largest of `xs` (-inf for none), eight lanes at a time: the same value as a fold in
/// order (the largest is the largest in any order).
fn max(xs: &[f32]) -> f32 {
    let mut lanes = [f32::NEG_INFINITY; 8];
    let mut chunks = xs.chunks_exact(8);
    for c in &mut chunks {
        for (m, &x) in lanes.iter_mut().zip(c) {
            *m = m.max(x);
        }
    }
    lanes.iter().chain(chunks.remainder()).fold(f32::NEG_INFINITY, |m, &x| m.max(x))
}

impl CustomOp3 for CausalAttention {
    fn name(&self) -> &'static str {
        "causal-attention"
    }

    fn cpu_fwd(&self, s1: &CpuStorage, l1: &Layout, s2: &CpuStorage, l2: &Layout, s3: &CpuStorage, l3: &Layout) -> Result<(CpuStorage, Shape)> {
        let (n, t, s, d) = dims(l1.shape(), l2.shape(), l3.shape())?;
        let (q, k, v) = (f32s(s1, l1, self.name())?, f32s(s2, l2, self.name())?, f32s(s3, l3, self.name())?);
        let mut o = vec![0f32; n * t * d];
        let slice = |i: usize, o: &mut [f32], p: &mut [f32], w: &mut _| self.slice(i, (q, k, v), o, p, w, (t, s, d));
        let panels = || (Panels::default(), Panels::default());
        match &self.kept {
            Some(kept) => {
                let mut all = vec![0f32; n * t * s];
                o.par_chunks_mut(t * d).zip(all.par_chunks_mut(t * s)).enumerate().for_each_init(panels, |w, (i, (o, p))| slice(i, o, p, w));
                *kept.lock().expect("kept probabilities") = Some(all);
            }
            None => o.par_chunks_mut(t * d).enumerate().for_each_init(|| (vec![0f32; t * s], panels()), |(p, w), (i, o)| slice(i, o, p, w)),
        }
        Ok((CpuStorage::F32(o), l1.shape().clone()))
    }

    fn bwd(&self, q: &Tensor, k: &Tensor, v: &Tensor, o: &Tensor, g: &Tensor) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let g = g.contiguous()?;
        let (n, t, s, d) = dims(q.shape(), k.shape(), v.shape())?;
        let (mut dq, mut dk, mut dv) = (vec![0f32; n * t * d], vec![0f32; n * s * d], vec![0f32; n * s * d]);
        // The forward's probabilities, where it kept them (taken: freed when this returns).
        let kept = self.kept.as_ref().and_then(|k| k.lock().expect("kept probabilities").take()).filter(|p| p.len() == n * t * s);
        {
            let guards = [q, k, v, o, &g].map(|x| x.storage_and_layout());
            let (q, k, v, o, g) = (cpu(&guards[0])?, cpu(&guards[1])?, cpu(&guards[2])?, cpu(&guards[3])?, cpu(&guards[4])?);
            dq.par_chunks_mut(t * d).zip(dk.par_chunks_mut(s * d)).zip(dv.par_chunks_mut(s * d)).enumerate().for_each_init(
                || (vec![0f32; t * s], vec![0f32; t * s], [(); 5].map(|_| Panels::default())),
                |(scratch, dp, [kt, vt, gp, kp, qp]), (i, ((dq, dk), dv))| {
                    let (q, k, v) = (&q[i * t * d..][..t * d], &k[i * s * d..][..s * d], &v[i * s * d..][..s * d]);
                    let (o, g) = (&o[i * t * d..][..t * d], &g[i * t * d..][..t * d]);
                    vt.pack(v, d, s, 1, d); // vᵀ (d, s)
                    gp.pack(g, t, d, d, 1); // g (t, d)
                    kp.pack(k, s, d, d, 1); // k (s, d)
                    qp.pack(q, t, d, d, 1); // q (t, d)
                    let p: &[f32] = match &kept {
                        Some(all) => &all[i * t * s..][..t * s],
                        None => {
                            kt.pack(k, d, s, 1, d); // kᵀ (d, s)
                            self.probs(scratch, q, kt, t, s, d);
                            scratch
                        }
                    };
                    // SAFETY: p, dp are (t, s) row-major, dq (t, d), dk and dv (s, d); a
                    // transposed left operand is its data with strides swapped.
                    unsafe {
                        for (c0, c1, i0) in key_blocks(t, s) {
                            tiles::matmul(&mut dv[c0 * d..], d, c1 - c0, d, t - i0, &p[i0 * s + c0..], 1, s, gp, i0); // pᵀ (s, t) · g (t, d)
                        }
                        for (r0, r1, nv) in row_blocks(t, s) {
                            tiles::matmul(&mut dp[r0 * s..], s, r1 - r0, nv, d, &g[r0 * d..], d, 1, vt, 0); // g (t, d) · vᵀ (d, s)
                        }
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
                        for (r0, r1, nv) in row_blocks(t, s) {
                            tiles::matmul(&mut dq[r0 * d..], d, r1 - r0, d, nv, &dp[r0 * s..], s, 1, kp, 0); // ds (t, s) · k (s, d)
                        }
                        for (c0, c1, i0) in key_blocks(t, s) {
                            tiles::matmul(&mut dk[c0 * d..], d, c1 - c0, d, t - i0, &dp[i0 * s + c0..], 1, s, qp, i0); // dsᵀ (s, t) · q (t, d)
                        }
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
