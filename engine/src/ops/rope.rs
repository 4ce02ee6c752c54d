//! Rotary position embedding (rotate-half layout), `x: (b, h, t, d)` with
//! `cos, sin: (b, t, d/2)` -> `(b, h, t, d)`.
//!
//! `y₁ = x₁ cos - x₂ sin`, `y₂ = x₂ cos + x₁ sin` (halves of the last dim). The map is a
//! rotation, so its backward is the rotation by the opposite angle: the same kernel with
//! `sin` negated. No gradient flows to the tables.
use super::f32s;
use candle_core::{CpuStorage, CustomOp3, Layout, Result, Shape, Tensor};

struct Rope {
    /// +1 forwards, -1 for the backward (inverse rotation).
    sign: f32,
}

/// RoPE on `x: (b, h, t, d)` (f32, CPU) with position tables `cos, sin: (b, t, d/2)`.
pub fn rope(x: &Tensor, cos: &Tensor, sin: &Tensor) -> Result<Tensor> {
    x.contiguous()?.apply_op3(&cos.contiguous()?, &sin.contiguous()?, Rope { sign: 1.0 })
}

/// `y = x` rotated by `sign ·` the angles of `cos, s` (each half `x`'s length).
#[inline]
pub(super) fn rotate(x: &[f32], y: &mut [f32], cos: &[f32], sin: &[f32], sign: f32) {
    let half = cos.len();
    let (x1, x2) = x.split_at(half);
    let (y1, y2) = y.split_at_mut(half);
    for j in 0..half {
        let sj = sign * sin[j];
        y1[j] = x1[j] * cos[j] - x2[j] * sj;
        y2[j] = x2[j] * cos[j] + x1[j] * sj;
    }
}

impl CustomOp3 for Rope {
    fn name(&self) -> &'static str {
        "rope-rotate-half"
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
        let (x, cos, sin) = (f32s(s1, l1, self.name())?, f32s(s2, l2, self.name())?, f32s(s3, l3, self.name())?);
        let (b, h, t, d) = l1.shape().dims4()?;
        let half = d / 2;
        if d % 2 != 0 || l2.shape().dims() != [b, t, half] || l3.shape().dims() != [b, t, half] {
            candle_core::bail!("rope: x {:?}, cos {:?}, sin {:?} disagree", l1.shape(), l2.shape(), l3.shape());
        }
        let mut out = vec![0f32; x.len()];
        for (r, (xr, yr)) in x.chunks_exact(d).zip(out.chunks_exact_mut(d)).enumerate() {
            // row r is (bi, hi, ti); the tables are indexed by (bi, ti)
            let (bi, ti) = (r / (h * t), r % t);
            let c = &cos[(bi * t + ti) * half..][..half];
            let s = &sin[(bi * t + ti) * half..][..half];
            rotate(xr, yr, c, s, self.sign);
        }
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }

    fn bwd(
        &self,
        _x: &Tensor,
        cos: &Tensor,
        sin: &Tensor,
        _y: &Tensor,
        g: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let dx = g.contiguous()?.apply_op3_no_bwd(cos, sin, &Rope { sign: -self.sign })?;
        Ok((Some(dx), None, None))
    }
}
