//! AdamW's update of one f32 CPU weight in place, with its two moments: one pass over
//! memory and nothing allocated (a fresh weight and moments per step would page in three
//! new copies of the model's size every step).
use candle_core::{bail, CpuStorage, InplaceOp2, Layout, Result};
use rayon::prelude::*;
use std::cell::RefCell;

/// One step's scalars, each rounded to f32 as candle's tensor ops round them.
#[derive(Debug, Clone, Copy)]
pub struct AdamWScalars {
    /// β₁ and 1 - β₁.
    pub b1: f32,
    pub c1: f32,
    /// β₂ and 1 - β₂.
    pub b2: f32,
    pub c2: f32,
    /// 1 / (1 - β₁ᵗ) and 1 / (1 - β₂ᵗ).
    pub ib1: f32,
    pub ib2: f32,
    pub eps: f32,
    /// 1 - lr · weight decay.
    pub decay: f32,
    pub lr: f32,
}

/// The in-place op on a weight, its gradient the source; the moments `m` and `v` (the
/// optimiser's own vectors, the weight's length) are updated with it.
pub struct AdamWStep<'a> {
    pub k: AdamWScalars,
    pub moments: RefCell<(&'a mut [f32], &'a mut [f32])>,
}

impl InplaceOp2 for AdamWStep<'_> {
    fn name(&self) -> &'static str {
        "adamw-step"
    }

    fn cpu_fwd(&self, s1: &mut CpuStorage, l1: &Layout, s2: &CpuStorage, l2: &Layout) -> Result<()> {
        let g = super::f32s(s2, l2, "adamw-step")?;
        let CpuStorage::F32(all) = s1 else { bail!("adamw-step: expects an f32 weight") };
        let Some((a, b)) = l1.contiguous_offsets() else { bail!("adamw-step: expects a contiguous weight") };
        let w = &mut all[a..b];
        let mut moments = self.moments.borrow_mut();
        let (m, v) = &mut *moments;
        if g.len() != w.len() || m.len() != w.len() || v.len() != w.len() {
            bail!("adamw-step: weight {}, gradient {}, moments {} and {}", w.len(), g.len(), m.len(), v.len());
        }
        let AdamWScalars { b1, c1, b2, c2, ib1, ib2, eps, decay, lr } = self.k;
        const CHUNK: usize = 1 << 16;
        w.par_chunks_mut(CHUNK).zip(m.par_chunks_mut(CHUNK)).zip(v.par_chunks_mut(CHUNK)).zip(g.par_chunks(CHUNK)).for_each(
            |(((w, m), v), g)| {
                for j in 0..w.len() {
                    let gj = g[j];
                    // The tensor ops' sequence (see `AdamW::update_plain`), `+ 0.0` where
                    // candle's affine adds its zero bias.
                    let mj = (m[j] * b1 + 0.0) + (gj * c1 + 0.0);
                    let vj = (v[j] * b2 + 0.0) + ((gj * gj) * c2 + 0.0);
                    let denom = (vj * ib2 + 0.0).sqrt() * 1.0 + eps;
                    let update = (mj * ib1 + 0.0) / denom;
                    m[j] = mj;
                    v[j] = vj;
                    w[j] = (w[j] * decay + 0.0) - (update * lr + 0.0);
                }
            },
        );
        Ok(())
    }
}
