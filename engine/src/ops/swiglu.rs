//! SwiGLU's gate, `silu(a) ⊙ u` for `a, u` of one shape.
//!
//! With `σ = sigmoid(a)`: `da = g ⊙ u ⊙ σ (1 + a (1 - σ))`, `du = g ⊙ a σ`.
//! Eight at a time where libm's `expf` is ([`super::expf`]), with the scalar code's
//! operations in its order: the same bits.
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

/// [`swiglu`]'s backward outside a graph: `(da, du)` for the output gradient `g`.
pub(crate) fn swiglu_bwd(a: &Tensor, u: &Tensor, g: &Tensor) -> Result<(Tensor, Tensor)> {
    match Swiglu.bwd(a, u, g, g)? {
        (Some(da), Some(du)) => Ok((da, du)),
        _ => candle_core::bail!("swiglu-bwd: no gradient"),
    }
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
        let mut out = vec![0f32; a.len()];
        let done = vector::fwd(a, u, &mut out);
        for ((o, &av), &uv) in out[done..].iter_mut().zip(&a[done..]).zip(&u[done..]) {
            *o = av * sigmoid(av) * uv;
        }
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
        for i in vector::bwd(a, u, g, da, du)..n {
            let s = sigmoid(a[i]);
            da[i] = g[i] * u[i] * s * (1.0 + a[i] * (1.0 - s));
            du[i] = g[i] * a[i] * s;
        }
        Ok((CpuStorage::F32(out), Shape::from((2, n))))
    }
}

/// The AVX2 loops: each returns how many leading elements it did (a multiple of eight, or
/// none where [`super::expf::vectorised`] does not hold); the scalar code does the rest.
mod vector {
    #[cfg(target_arch = "x86_64")]
    use std::arch::x86_64::*;

    pub(super) fn fwd(a: &[f32], u: &[f32], out: &mut [f32]) -> usize {
        #[cfg(target_arch = "x86_64")]
        if super::super::expf::vectorised() {
            // SAFETY: AVX2 and FMA checked; every slice holds `out.len()` elements.
            return unsafe { fwd_avx2(a, u, out) };
        }
        let _ = (a, u, out);
        0
    }

    pub(super) fn bwd(a: &[f32], u: &[f32], g: &[f32], da: &mut [f32], du: &mut [f32]) -> usize {
        #[cfg(target_arch = "x86_64")]
        if super::super::expf::vectorised() {
            // SAFETY: as above, every slice holds `da.len()` elements.
            return unsafe { bwd_avx2(a, u, g, da, du) };
        }
        let _ = (a, u, g, da, du);
        0
    }

    /// `1 / (1 + e^-a)`.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    unsafe fn sigmoid8(a: __m256) -> __m256 {
        let one = _mm256_set1_ps(1.0);
        let neg = _mm256_xor_ps(a, _mm256_set1_ps(-0.0));
        _mm256_div_ps(one, _mm256_add_ps(one, super::super::expf::expf8(neg)))
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn fwd_avx2(a: &[f32], u: &[f32], out: &mut [f32]) -> usize {
        let n = out.len() / 8 * 8;
        for i in (0..n).step_by(8) {
            let av = _mm256_loadu_ps(a.as_ptr().add(i));
            let y = _mm256_mul_ps(_mm256_mul_ps(av, sigmoid8(av)), _mm256_loadu_ps(u.as_ptr().add(i)));
            _mm256_storeu_ps(out.as_mut_ptr().add(i), y);
        }
        n
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn bwd_avx2(a: &[f32], u: &[f32], g: &[f32], da: &mut [f32], du: &mut [f32]) -> usize {
        let n = da.len() / 8 * 8;
        let one = _mm256_set1_ps(1.0);
        for i in (0..n).step_by(8) {
            let (av, uv, gv) = (_mm256_loadu_ps(a.as_ptr().add(i)), _mm256_loadu_ps(u.as_ptr().add(i)), _mm256_loadu_ps(g.as_ptr().add(i)));
            let s = sigmoid8(av);
            // g · u · s · (1 + a · (1 - s)) and g · a · s, left to right as the scalar code.
            let d = _mm256_mul_ps(_mm256_mul_ps(_mm256_mul_ps(gv, uv), s), _mm256_add_ps(one, _mm256_mul_ps(av, _mm256_sub_ps(one, s))));
            _mm256_storeu_ps(da.as_mut_ptr().add(i), d);
            _mm256_storeu_ps(du.as_mut_ptr().add(i), _mm256_mul_ps(_mm256_mul_ps(gv, av), s));
        }
        n
    }
}
