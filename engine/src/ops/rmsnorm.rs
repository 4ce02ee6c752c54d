//! RMSNorm with its weight, `x: (.., e)`, `w: (e)` -> `(.., e)`.
//!
//! `y = x · r · w` with `r = 1 / sqrt(mean(x²) + eps)` per row.
//! Backward, per row with `u = g ⊙ w`: `dx = r · u - x · r³ · (u·x) / e`;
//! `dw = Σ_rows g ⊙ x · r`.
use super::f32s;
use candle_core::{CpuStorage, CustomOp2, CustomOp3, Layout, Result, Shape, Tensor};

struct RmsNorm {
    eps: f32,
}

/// RMSNorm of the last dim of `x` scaled by `w` (f32, CPU).
pub fn rms_norm(x: &Tensor, w: &Tensor, eps: f32) -> Result<Tensor> {
    x.contiguous()?.apply_op2(&w.contiguous()?, RmsNorm { eps })
}

fn inv_rms(xr: &[f32], eps: f32) -> f32 {
    let ss: f32 = xr.iter().map(|v| v * v).sum();
    1.0 / (ss / xr.len() as f32 + eps).sqrt()
}

/// [`rms_norm`]'s backward outside a graph: `(dx, dw)` for the output gradient `g`.
pub(crate) fn rms_norm_bwd(x: &Tensor, w: &Tensor, g: &Tensor, eps: f32) -> Result<(Tensor, Tensor)> {
    match (RmsNorm { eps }).bwd(x, w, g, g)? {
        (Some(dx), Some(dw)) => Ok((dx, dw)),
        _ => candle_core::bail!("rms-norm-bwd: no gradient"),
    }
}

impl CustomOp2 for RmsNorm {
    fn name(&self) -> &'static str {
        "rms-norm"
    }

    fn cpu_fwd(&self, s1: &CpuStorage, l1: &Layout, s2: &CpuStorage, l2: &Layout) -> Result<(CpuStorage, Shape)> {
        let (x, w) = (f32s(s1, l1, self.name())?, f32s(s2, l2, self.name())?);
        let e = w.len();
        if l1.shape().dims().last() != Some(&e) {
            candle_core::bail!("rms-norm: x {:?} and weight ({e}) disagree", l1.shape());
        }
        let mut out = vec![0f32; x.len()];
        for (xr, yr) in x.chunks_exact(e).zip(out.chunks_exact_mut(e)) {
            let r = inv_rms(xr, self.eps);
            for ((y, &xv), &wv) in yr.iter_mut().zip(xr).zip(w) {
                *y = xv * r * wv;
            }
        }
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }

    fn bwd(&self, x: &Tensor, w: &Tensor, _y: &Tensor, g: &Tensor) -> Result<(Option<Tensor>, Option<Tensor>)> {
        // One pass computes both: rows 0..n of the result are dx, row n is dw.
        let e = w.dim(0)?;
        let both = x.apply_op3_no_bwd(w, &g.contiguous()?, &RmsNormBwd { eps: self.eps })?;
        let rows = x.elem_count() / e;
        let dx = both.narrow(0, 0, rows)?.reshape(x.shape())?;
        let dw = both.narrow(0, rows, 1)?.squeeze(0)?;
        Ok((Some(dx), Some(dw)))
    }
}

struct RmsNormBwd {
    eps: f32,
}

impl CustomOp3 for RmsNormBwd {
    fn name(&self) -> &'static str {
        "rms-norm-bwd"
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
        let (x, w, g) = (f32s(s1, l1, self.name())?, f32s(s2, l2, self.name())?, f32s(s3, l3, self.name())?);
        let e = w.len();
        let rows = x.len() / e;
        let mut out = vec![0f32; x.len() + e];
        let (dx, dw) = out.split_at_mut(x.len());
        for ((xr, gr), dr) in x.chunks_exact(e).zip(g.chunks_exact(e)).zip(dx.chunks_exact_mut(e)) {
            let r = inv_rms(xr, self.eps);
            let ux: f32 = gr.iter().zip(w).zip(xr).map(|((gv, wv), xv)| gv * wv * xv).sum();
            let k = r * r * r * ux / e as f32;
            for (j, d) in dr.iter_mut().enumerate() {
                *d = r * gr[j] * w[j] - xr[j] * k;
                dw[j] += gr[j] * xr[j] * r;
            }
        }
        Ok((CpuStorage::F32(out), Shape::from((rows + 1, e))))
    }
}
