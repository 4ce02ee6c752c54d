//! SwiGLU's gate, `silu(a) ⊙ u` for `a, u` of one shape.
//!
//! With `σ = sigmoid(a)`: `da = g ⊙ u ⊙ σ (1 + a (1 - σ))`, `du = g ⊙ a σ`.
use super::f32s;
use candle_core::{CpuStorage, CustomOp2, CustomOp3, Layout, Result, Shape, Tensor};

struct Swiglu;

/// `silu(a) * u` (f32, CPU), differentiable in both.
pub fn swiglu(a: &Tensor, u: &Tensor) -> Result<Tensor> {
    a.contiguous()?.apply_op2(&u.contiguous()?, Swiglu)
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

impl CustomOp2 for Swiglu {
    fn name(&self) -> &'static str {
        "swiglu"
    }

    fn cpu_fwd(&self, s1: &CpuStorage, l1: &Layout, s2: &CpuStorage, l2: &Layout) -> Result<(CpuStorage, Shape)> {
        let (a, u) = (f32s(s1, l1, self.name())?, f32s(s2, l2, self.name())?);
        if l1.shape() != l2.shape() {
            candle_core::bail!("swiglu: shapes {:?} and {:?} differ", l1.shape(), l2.shape());
        }
        let out: Vec<f32> = a.iter().zip(u).map(|(&av, &uv)| av * sigmoid(av) * uv).collect();
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }

    fn bwd(&self, a: &Tensor, u: &Tensor, _y: &Tensor, g: &Tensor) -> Result<(Option<Tensor>, Option<Tensor>)> {
        // One pass computes both: row 0 of the result is da, row 1 du.
        let both = a.apply_op3_no_bwd(u, &g.contiguous()?, &SwigluBwd)?;
        let da = both.narrow(0, 0, 1)?.reshape(a.shape())?;
        let du = both.narrow(0, 1, 1)?.reshape(a.shape())?;
        Ok((Some(da), Some(du)))
    }
}

struct SwigluBwd;

impl CustomOp3 for SwigluBwd {
    fn name(&self) -> &'static str {
        "swiglu-bwd"
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
        let (a, u, g) = (f32s(s1, l1, self.name())?, f32s(s2, l2, self.name())?, f32s(s3, l3, self.name())?);
        let n = a.len();
        let mut out = vec![0f32; 2 * n];
        let (da, du) = out.split_at_mut(n);
        for i in 0..n {
            let s = sigmoid(a[i]);
            da[i] = g[i] * u[i] * s * (1.0 + a[i] * (1.0 - s));
            du[i] = g[i] * a[i] * s;
        }
        Ok((CpuStorage::F32(out), Shape::from((2, n))))
    }
}
