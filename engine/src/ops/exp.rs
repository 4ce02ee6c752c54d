//! `e^x` for f32, eight at a time, for the softmaxes of inference (attention over the KV
//! cache, sampling) and the log-softmax over a large vocabulary.
//!
//! libm's `expf` is a call per element, never vectorised, and slow on underflow (every masked
//! or far-below-the-max score goes through its error path: it set `errno` for ~2% of a judge
//! prefill's time). This is Cephes' `expf`: `x = n·ln 2 + r` with `|r| ≤ ln 2 / 2`, a
//! degree-7 polynomial for `e^r` and `2^n` built in the exponent bits; within 2 ulp of the
//! true value (tested against f64). Only multiplies, adds and selects, with no fused
//! multiply-add, so the AVX2 build and the portable one give the same bits on any machine.
//! Results below the smallest normal f32 (x < -87.34) are 0; above f32::MAX, infinity.
const LOG2E: f32 = std::f32::consts::LOG2_E;
/// 1.5 · 2²³: adding it rounds a float of magnitude < 2²² to an integer (in the low bits).
const ROUND: f32 = 12_582_912.0;
/// ln 2 in two parts, the first with few enough bits that `n · LN2_HI` is exact.
const LN2_HI: f32 = 0.693_359_4;
const LN2_LO: f32 = -2.121_944_4e-4;
/// Below this, e^x is not a normal f32: 0.
const MIN_X: f32 = -87.336_54;
/// Above this, e^x overflows f32.
const MAX_X: f32 = 88.722_83;

/// Cephes' coefficients of `(e^r - 1 - r) / r²`, highest power first.
const P: [f32; 6] = [1.987_569_2e-4, 1.398_2e-3, 8.333_452e-3, 4.166_579_6e-2, 1.666_666_5e-1, 5.000_000_1e-1];

/// `e^x` (see the module doc for accuracy and range).
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    let xc = if x > MAX_X { MAX_X } else if x < MIN_X { MIN_X } else { x };
    let t = xc * LOG2E + ROUND;
    let nf = t - ROUND;
    let r = (xc - nf * LN2_HI) - nf * LN2_LO;
    let mut p = P[0];
    for c in &P[1..] {
        p = p * r + c;
    }
    let e = (p * r) * r + r + 1.0;
    // 2ⁿ as two normal factors (n is in [-126, 128]).
    let n = (t.to_bits() as i32).wrapping_sub(ROUND.to_bits() as i32);
    let (n1, n2) = (n >> 1, n - (n >> 1));
    let y = e * f32::from_bits(((n1 + 127) << 23) as u32) * f32::from_bits(((n2 + 127) << 23) as u32);
    if x < MIN_X {
        0.0
    } else if x > MAX_X {
        f32::INFINITY
    } else if x.is_nan() {
        x
    } else {
        y
    }
}

/// `xs[i] = e^(xs[i] - shift)` in place; returns their sum, added in eight lanes and then
/// in a fixed order (the same on every machine).
pub fn exp_sum(xs: &mut [f32], shift: f32) -> f32 {
    #[cfg(target_arch = "x86_64")]
    {
        if is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2.
            return unsafe { exp_sum_avx2(xs, shift) };
        }
    }
    exp_sum_lanes(xs, shift)
}

/// `xs[i] = xs[i] · scale + bias[i]` in place (the scaled, biased scores of a softmax);
/// returns the largest. The max is exact in any order: eight lanes give the one value.
pub fn scale_add_max(xs: &mut [f32], scale: f32, bias: &[f32]) -> f32 {
    assert!(bias.len() >= xs.len());
    #[cfg(target_arch = "x86_64")]
    {
        if is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2.
            return unsafe { scale_add_max_avx2(xs, scale, bias) };
        }
    }
    scale_add_max_lanes(xs, scale, bias)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn scale_add_max_avx2(xs: &mut [f32], scale: f32, bias: &[f32]) -> f32 {
    scale_add_max_lanes(xs, scale, bias)
}

#[inline(always)]
fn scale_add_max_lanes(xs: &mut [f32], scale: f32, bias: &[f32]) -> f32 {
    let split = xs.len() - xs.len() % 8;
    let mut m = [f32::NEG_INFINITY; 8];
    for (c, b) in xs[..split].chunks_exact_mut(8).zip(bias[..split].chunks_exact(8)) {
        for l in 0..8 {
            let v = c[l] * scale + b[l];
            c[l] = v;
            m[l] = if v > m[l] { v } else { m[l] };
        }
    }
    let mut max = m.into_iter().fold(f32::NEG_INFINITY, f32::max);
    for (x, &b) in xs[split..].iter_mut().zip(&bias[split..]) {
        *x = *x * scale + b;
        max = max.max(*x);
    }
    max
}

/// [`exp`] of eight lanes: the same operations in the same order, so the same bits.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn exp8(x: std::arch::x86_64::__m256) -> std::arch::x86_64::__m256 {
    use std::arch::x86_64::*;
    let xc = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(MIN_X)), _mm256_set1_ps(MAX_X));
    let round = _mm256_set1_ps(ROUND);
    let t = _mm256_add_ps(_mm256_mul_ps(xc, _mm256_set1_ps(LOG2E)), round);
    let nf = _mm256_sub_ps(t, round);
    let r = _mm256_sub_ps(_mm256_sub_ps(xc, _mm256_mul_ps(nf, _mm256_set1_ps(LN2_HI))), _mm256_mul_ps(nf, _mm256_set1_ps(LN2_LO)));
    let mut p = _mm256_set1_ps(P[0]);
    for c in &P[1..] {
        p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(*c));
    }
    let e = _mm256_add_ps(_mm256_add_ps(_mm256_mul_ps(_mm256_mul_ps(p, r), r), r), _mm256_set1_ps(1.0));
    let n = _mm256_sub_epi32(_mm256_castps_si256(t), _mm256_castps_si256(round));
    let n1 = _mm256_srai_epi32::<1>(n);
    let n2 = _mm256_sub_epi32(n, n1);
    let bias = _mm256_set1_epi32(127);
    let s1 = _mm256_castsi256_ps(_mm256_slli_epi32::<23>(_mm256_add_epi32(n1, bias)));
    let s2 = _mm256_castsi256_ps(_mm256_slli_epi32::<23>(_mm256_add_epi32(n2, bias)));
    let y = _mm256_mul_ps(_mm256_mul_ps(e, s1), s2);
    let y = _mm256_blendv_ps(y, _mm256_setzero_ps(), _mm256_cmp_ps::<_CMP_LT_OQ>(x, _mm256_set1_ps(MIN_X)));
    let y = _mm256_blendv_ps(y, _mm256_set1_ps(f32::INFINITY), _mm256_cmp_ps::<_CMP_GT_OQ>(x, _mm256_set1_ps(MAX_X)));
    _mm256_blendv_ps(y, x, _mm256_cmp_ps::<_CMP_UNORD_Q>(x, x))
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn exp_sum_avx2(xs: &mut [f32], shift: f32) -> f32 {
    use std::arch::x86_64::*;
    let mut acc = _mm256_setzero_ps();
    let sh = _mm256_set1_ps(shift);
    let mut chunks = xs.chunks_exact_mut(8);
    for c in &mut chunks {
        let y = exp8(_mm256_sub_ps(_mm256_loadu_ps(c.as_ptr()), sh));
        _mm256_storeu_ps(c.as_mut_ptr(), y);
        acc = _mm256_add_ps(acc, y);
    }
    let mut lanes = [0f32; 8];
    _mm256_storeu_ps(lanes.as_mut_ptr(), acc);
    let mut tail = 0f32;
    for x in chunks.into_remainder() {
        *x = exp(*x - shift);
        tail += *x;
    }
    super::sum8(&lanes) + tail
}

#[inline(always)]
fn exp_sum_lanes(xs: &mut [f32], shift: f32) -> f32 {
    let mut acc = [0f32; 8];
    let mut chunks = xs.chunks_exact_mut(8);
    for c in &mut chunks {
        for (a, x) in acc.iter_mut().zip(c.iter_mut()) {
            *x = exp(*x - shift);
            *a += *x;
        }
    }
    let mut tail = 0f32;
    for x in chunks.into_remainder() {
        *x = exp(*x - shift);
        tail += *x;
    }
    super::sum8(&acc) + tail
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Distance in units in the last place between two finite f32 of one sign.
    fn ulps(a: f32, b: f32) -> u32 {
        (a.to_bits() as i64 - b.to_bits() as i64).unsigned_abs() as u32
    }

    #[test]
    fn within_two_ulp_of_f64_over_the_normal_range() {
        let mut worst = 0;
        let n = 2_000_000;
        for i in 0..=n {
            let x = MIN_X + (MAX_X - MIN_X) * i as f32 / n as f32;
            let want = (x as f64).exp() as f32;
            if want.is_normal() {
                worst = worst.max(ulps(exp(x), want));
            }
        }
        assert!(worst <= 2, "{worst} ulp");
        for x in [0.0f32, -0.0, 1.0, -1.0, 1e-8, -1e-8, 0.5, -0.34657359] {
            assert!(ulps(exp(x), (x as f64).exp() as f32) <= 1, "{x}");
        }
        assert_eq!(exp(0.0), 1.0);
    }

    #[test]
    fn edges_underflow_overflow_and_nan() {
        for x in [-87.4f32, -100.0, -1e9, f32::MIN, f32::NEG_INFINITY] {
            assert_eq!(exp(x), 0.0, "{x}");
        }
        for x in [88.8f32, 1e9, f32::INFINITY] {
            assert_eq!(exp(x), f32::INFINITY, "{x}");
        }
        assert!(exp(f32::NAN).is_nan());
        let top = exp(88.7);
        assert!(top.is_finite() && ulps(top, (88.7f32 as f64).exp() as f32) <= 2);
    }

    #[test]
    fn vector_paths_match_the_portable_ones_bit_for_bit() {
        for len in [0usize, 1, 7, 8, 9, 33, 1000] {
            let xs: Vec<f32> = (0..len).map(|i| ((i * 37 % 101) as f32 - 70.0) * 0.9).collect();
            let mut fast = xs.clone();
            let sum = exp_sum(&mut fast, 3.0);
            let mut plain = xs.clone();
            assert_eq!(sum.to_bits(), exp_sum_lanes(&mut plain, 3.0).to_bits());
            assert_eq!(fast, plain);
            for (y, x) in fast.iter().zip(&xs) {
                assert_eq!(y.to_bits(), exp(x - 3.0).to_bits());
            }
            let want: f64 = xs.iter().map(|&x| (x as f64 - 3.0).exp()).sum();
            assert!((sum as f64 - want).abs() <= 1e-6 * want.max(1e-30), "{len}: {sum} vs {want}");
            let mut scaled = xs.clone();
            let bias: Vec<f32> = (0..len).map(|i| (i % 3) as f32).collect();
            let max = scale_add_max(&mut scaled, 0.5, &bias);
            for (i, (y, x)) in scaled.iter().zip(&xs).enumerate() {
                assert_eq!(*y, x * 0.5 + bias[i]);
            }
            assert_eq!(max, scaled.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b)));
        }
    }
}
