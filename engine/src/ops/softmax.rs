//! Scaled causal softmax over attention scores, `(b, h, t, s)` -> `(b, h, t, s)`.
//!
//! `p = softmax(scale · x + causal mask)`, where query i (of the last t of s positions)
//! sees keys `j <= i + s - t`; masked entries get probability exactly 0. This replaces
//! scale, mask add and softmax (five kernels) and their backwards.
//! Backward: `dx = scale · p ⊙ (g - Σ_j g_j p_j)`.
use super::f32s;
use candle_core::{CpuStorage, CustomOp1, CustomOp2, Layout, Result, Shape, Tensor};

struct CausalSoftmax {
    scale: f32,
}

/// Softmax of `scale · x` over the last dim, causal; `x: (.., t, s)` f32, `t <= s`.
pub fn causal_softmax(x: &Tensor, scale: f64) -> Result<Tensor> {
    x.contiguous()?.apply_op1(CausalSoftmax { scale: scale as f32 })
}

fn dims(shape: &Shape) -> Result<(usize, usize)> {
    let d = shape.dims();
    if d.len() < 2 || d[d.len() - 2] > d[d.len() - 1] {
        candle_core::bail!("causal_softmax: expects (.., t, s) with t <= s, got {shape:?}");
    }
    Ok((d[d.len() - 2], d[d.len() - 1]))
}

impl CustomOp1 for CausalSoftmax {
    fn name(&self) -> &'static str {
        "causal-softmax"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let x = f32s(s, l, self.name())?;
        let (t, n) = dims(l.shape())?;
        let mut out = vec![0f32; x.len()];
        for (row, (xr, yr)) in x.chunks_exact(n).zip(out.chunks_exact_mut(n)).enumerate() {
            let seen = (row % t) + n - t + 1; // keys 0..seen are visible
            let (xr, yr) = (&xr[..seen], &mut yr[..seen]);
            let max = xr.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v)) * self.scale;
            yr.copy_from_slice(xr);
            super::expf::exp_scaled(yr, self.scale, max);
            let sum = yr.iter().fold(0f32, |s, &y| s + y);
            let inv = 1.0 / sum;
            yr.iter_mut().for_each(|y| *y *= inv);
        }
        Ok((CpuStorage::F32(out), l.shape().clone()))
    }

    fn bwd(&self, _x: &Tensor, p: &Tensor, g: &Tensor) -> Result<Option<Tensor>> {
        Ok(Some(p.apply_op2_no_bwd(&g.contiguous()?, &SoftmaxBwd { scale: self.scale })?))
    }
}

struct SoftmaxBwd {
    scale: f32,
}

impl CustomOp2 for SoftmaxBwd {
    fn name(&self) -> &'static str {
        "causal-softmax-bwd"
    }

    fn cpu_fwd(&self, s1: &CpuStorage, l1: &Layout, s2: &CpuStorage, l2: &Layout) -> Result<(CpuStorage, Shape)> {
        let (p, g) = (f32s(s1, l1, self.name())?, f32s(s2, l2, self.name())?);
        let n = *l1.shape().dims().last().unwrap_or(&1);
        let mut out = vec![0f32; p.len()];
        for ((pr, gr), dr) in p.chunks_exact(n).zip(g.chunks_exact(n)).zip(out.chunks_exact_mut(n)) {
            let dot: f32 = pr.iter().zip(gr).map(|(a, b)| a * b).sum();
            for ((d, &pv), &gv) in dr.iter_mut().zip(pr).zip(gr) {
                *d = self.scale * pv * (gv - dot);
            }
        }
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }
}
