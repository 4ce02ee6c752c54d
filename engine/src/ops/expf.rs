//! libm's `expf` bit for bit, eight at a time, for the training kernels (attention's
//! softmax, SwiGLU's sigmoid).
//!
//! Training keeps libm's numbers: a from-scratch run's trajectory moves with the rounding of
//! its exponentials (switching these kernels to [`super::exp`]'s polynomial moved the judge
//! regression test's exact match from 0.148 to 0.098). glibc's `expf` on a CPU with FMA
//! (`__expf_fma`, ARM's optimized-routines algorithm) is a fixed sequence of double-precision
//! operations: `k = round(x · 32/ln 2)` and `r = x · 32/ln 2 - k` (one fused multiply-add
//! each, by adding and subtracting 1.5 · 2⁵²), `2^(k/32)` from a 32-entry table and the
//! exponent bits, a cubic in `r` (three fused multiply-adds), one product, one rounding to
//! f32. The same operations in AVX2 give the same bits, four doubles at a time. Lanes with
//! `|x| ≥ 88` (overflow, underflow, infinities, NaN: glibc's special cases) go to libm.
//!
//! Used only where it agrees with this process's libm: glibc on x86-64 with AVX2 and FMA,
//! and a sample of values checked at first use; elsewhere each element calls libm.

/// glibc's `__exp2f_data.tab`: `2^(i/32)`'s bits less `i << 47`.
const T: [u64; 32] = [
    0x3ff0000000000000, 0x3fefd9b0d3158574, 0x3fefb5586cf9890f, 0x3fef9301d0125b51, 0x3fef72b83c7d517b, 0x3fef54873168b9aa, 0x3fef387a6e756238, 0x3fef1e9df51fdee1,
    0x3fef06fe0a31b715, 0x3feef1a7373aa9cb, 0x3feedea64c123422, 0x3feece086061892d, 0x3feebfdad5362a27, 0x3feeb42b569d4f82, 0x3feeab07dd485429, 0x3feea47eb03a5585,
    0x3feea09e667f3bcd, 0x3fee9f75e8ec5f74, 0x3feea11473eb0187, 0x3feea589994cce13, 0x3feeace5422aa0db, 0x3feeb737b0cdc5e5, 0x3feec49182a3f090, 0x3feed503b23e255d,
    0x3feee89f995ad3ad, 0x3feeff76f2fb5e47, 0x3fef199bdd85529c, 0x3fef3720dcef9069, 0x3fef5818dcfba487, 0x3fef7c97337b9b5f, 0x3fefa4afa2a490da, 0x3fefd0765b6e4540,
];
/// 32 / ln 2.
const INV_LN2_N: u64 = 0x40471547652b82fe;
/// 1.5 · 2⁵²: adding it rounds to an integer, kept in the low bits.
const SHIFT: u64 = 0x4338000000000000;
/// The cubic's coefficients (for `r` scaled by 32/ln 2).
const C: [u64; 3] = [0x3ebc6af84b912394, 0x3f2ebfce50fac4f3, 0x3f962e42ff0c52d6];
/// `|x|`'s bits from which glibc takes its special-case path (|x| ≥ 88).
const SPECIAL: u32 = 0x42b0_0000;

/// glibc's algorithm in scalar code (`f64::mul_add` is the fused multiply-add), for `|x| < 88`.
#[cfg(test)]
fn expf_glibc(x: f32) -> f32 {
    let f = f64::from_bits;
    let xd = x as f64;
    let kds = f(INV_LN2_N).mul_add(xd, f(SHIFT));
    let ki = kds.to_bits();
    let kd = kds - f(SHIFT);
    let r = f(INV_LN2_N).mul_add(xd, -kd);
    let s = f(T[(ki & 31) as usize].wrapping_add(ki << 47));
    let z = f(C[0]).mul_add(r, f(C[1]));
    let r2 = r * r;
    let y = f(C[2]).mul_add(r, 1.0);
    (z.mul_add(r2, y) * s) as f32
}

/// Whether [`exp_scaled`] and [`expf8`] take the vector path (see the module doc).
pub(crate) fn vectorised() -> bool {
    static OK: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *OK.get_or_init(|| {
        #[cfg(all(target_arch = "x86_64", target_env = "gnu"))]
        {
            if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
                let mut xs: Vec<f32> = (0..4096).map(|i| (i as f32 - 2048.0) * 0.0431 + (i % 7) as f32 * 1e-3).collect();
                let want: Vec<u32> = xs.iter().map(|x| x.exp().to_bits()).collect();
                // SAFETY: the CPU has AVX2 and FMA. (x · 1 - 0 is x.)
                unsafe { exp_scaled_avx2(&mut xs, 1.0, 0.0) };
                return xs.iter().map(|x| x.to_bits()).eq(want);
            }
        }
        false
    })
}

/// `xs[i] = (xs[i] · scale - shift).exp()` (a multiply, then a subtract, as scalar code
/// rounds them), libm's bits: a softmax row's exponentials.
pub(crate) fn exp_scaled(xs: &mut [f32], scale: f32, shift: f32) {
    #[cfg(target_arch = "x86_64")]
    if vectorised() {
        // SAFETY: `vectorised` checked for AVX2 and FMA.
        return unsafe { exp_scaled_avx2(xs, scale, shift) };
    }
    xs.iter_mut().for_each(|x| *x = (*x * scale - shift).exp());
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn exp_scaled_avx2(xs: &mut [f32], scale: f32, shift: f32) {
    use std::arch::x86_64::*;
    let (s, m) = (_mm256_set1_ps(scale), _mm256_set1_ps(shift));
    let mut chunks = xs.chunks_exact_mut(8);
    for c in &mut chunks {
        let x = _mm256_sub_ps(_mm256_mul_ps(_mm256_loadu_ps(c.as_ptr()), s), m);
        _mm256_storeu_ps(c.as_mut_ptr(), expf8(x));
    }
    chunks.into_remainder().iter_mut().for_each(|x| *x = (*x * scale - shift).exp());
}

/// Eight `expf`s, libm's bits (call only where [`vectorised`] holds).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
pub(crate) unsafe fn expf8(x: std::arch::x86_64::__m256) -> std::arch::x86_64::__m256 {
    use std::arch::x86_64::*;
    let abs = _mm256_and_si256(_mm256_castps_si256(x), _mm256_set1_epi32(0x7fff_ffff));
    let special = _mm256_movemask_ps(_mm256_castsi256_ps(_mm256_cmpgt_epi32(abs, _mm256_set1_epi32(SPECIAL as i32 - 1))));
    let y = _mm256_set_m128(expf4(_mm256_extractf128_ps::<1>(x)), expf4(_mm256_castps256_ps128(x)));
    if special == 0 {
        return y;
    }
    let (mut xa, mut ya) = ([0f32; 8], [0f32; 8]);
    _mm256_storeu_ps(xa.as_mut_ptr(), x);
    _mm256_storeu_ps(ya.as_mut_ptr(), y);
    for l in 0..8 {
        if special & (1 << l) != 0 {
            ya[l] = xa[l].exp();
        }
    }
    _mm256_loadu_ps(ya.as_ptr())
}

/// Four lanes of [`expf_glibc`].
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn expf4(x: std::arch::x86_64::__m128) -> std::arch::x86_64::__m128 {
    use std::arch::x86_64::*;
    let f = |b: u64| _mm256_set1_pd(f64::from_bits(b));
    let (inv, shift) = (f(INV_LN2_N), f(SHIFT));
    let xd = _mm256_cvtps_pd(x);
    let kds = _mm256_fmadd_pd(inv, xd, shift);
    let ki = _mm256_castpd_si256(kds);
    let kd = _mm256_sub_pd(kds, shift);
    let r = _mm256_fmsub_pd(inv, xd, kd);
    let idx = _mm256_and_si256(ki, _mm256_set1_epi64x(31));
    let t = _mm256_add_epi64(_mm256_i64gather_epi64::<8>(T.as_ptr() as *const i64, idx), _mm256_slli_epi64::<47>(ki));
    let z = _mm256_fmadd_pd(f(C[0]), r, f(C[1]));
    let r2 = _mm256_mul_pd(r, r);
    let y = _mm256_fmadd_pd(f(C[2]), r, _mm256_set1_pd(1.0));
    _mm256_cvtpd_ps(_mm256_mul_pd(_mm256_fmadd_pd(z, r2, y), _mm256_castsi256_pd(t)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every 97th f32 below 88 in magnitude, and the edges around it.
    fn sweep() -> Vec<f32> {
        let mut xs: Vec<f32> = (0..SPECIAL).step_by(97).flat_map(|b| [f32::from_bits(b), -f32::from_bits(b)]).collect();
        xs.extend([0.0, -0.0, 87.99, -87.99, 88.0, -88.0, 88.8, -103.0, -104.0, f32::INFINITY, f32::NEG_INFINITY, f32::NAN, f32::MAX, f32::MIN]);
        xs
    }

    #[test]
    #[cfg(all(target_arch = "x86_64", target_env = "gnu"))]
    fn the_scalar_algorithm_is_glibcs() {
        if !is_x86_feature_detected!("fma") {
            return; // glibc then runs its build without fused operations
        }
        let bad = sweep().into_iter().filter(|x| x.abs() < 88.0).filter(|&x| expf_glibc(x).to_bits() != x.exp().to_bits()).count();
        assert_eq!(bad, 0, "values where the algorithm and libm's expf differ");
    }

    #[test]
    fn exp_scaled_gives_libms_bits() {
        let xs = sweep();
        let mut ys = xs.clone();
        exp_scaled(&mut ys, 1.0, 0.0); // x · 1 - 0 is x
        #[cfg(all(target_arch = "x86_64", target_env = "gnu"))]
        assert_eq!(vectorised(), is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma"), "the vector path's check at first use");
        let bad: Vec<f32> = xs.iter().zip(&ys).filter(|(x, y)| x.exp().to_bits() != y.to_bits() && !(x.is_nan() && y.is_nan())).map(|(x, _)| *x).collect();
        assert!(bad.is_empty(), "{} values differ from libm, e.g. {:?}", bad.len(), &bad[..bad.len().min(5)]);
    }
}
