//! The two products of one attention head over cached positions, for head sizes `D` that are
//! multiples of 8: a query's scores against `n` keys, and the probability-weighted sum of
//! `n` values. AVX2 + FMA code where the CPU has it; elsewhere the same arithmetic in the same
//! order (`f32::mul_add` is the same fused multiply-add), so every machine gets the same bits.
//!
//! Scores take eight keys at a time (eight sums in flight), each in eight lanes summed as
//! `((l0 + l1) + (l2 + l3)) + ((l4 + l5) + (l6 + l7))`, the order of AVX2's pairwise adds.

/// Keys or values: `n` rows of `D`, `step` apart, from the start of `data`.
#[derive(Clone, Copy)]
pub struct Rows<'a> {
    pub data: &'a [f32],
    pub step: usize,
    pub n: usize,
}

impl Rows<'_> {
    fn row(&self, i: usize, d: usize) -> &[f32] {
        &self.data[i * self.step..][..d]
    }
}

/// `p[i] = q · k_i` for the `k.n` keys (`q` has `D` values, `p` at least `k.n`).
pub fn scores<const D: usize>(q: &[f32], k: Rows, p: &mut [f32]) {
    assert!(D % 8 == 0 && D <= 128 && q.len() >= D && p.len() >= k.n);
    if k.n > 0 {
        assert!(k.data.len() >= (k.n - 1) * k.step + D);
    }
    #[cfg(target_arch = "x86_64")]
    {
        if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            // SAFETY: the CPU has AVX2 and FMA; the asserts bound every access.
            return unsafe { scores_avx2::<D>(q, k, p) };
        }
    }
    for i in 0..k.n {
        p[i] = super::sum8(&lanes::<D>(q, k.row(i, D)));
    }
}

/// `acc += Σ_i (p[i] · scale) v_i` for the `v.n` values (`acc` has `D`).
pub fn weighted<const D: usize>(p: &[f32], scale: f32, v: Rows, acc: &mut [f32]) {
    assert!(D % 8 == 0 && D <= 128 && acc.len() >= D && p.len() >= v.n);
    if v.n > 0 {
        assert!(v.data.len() >= (v.n - 1) * v.step + D);
    }
    #[cfg(target_arch = "x86_64")]
    {
        if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            // SAFETY: the CPU has AVX2 and FMA; the asserts bound every access.
            return unsafe { weighted_avx2::<D>(p, scale, v, acc) };
        }
    }
    for i in 0..v.n {
        let w = p[i] * scale;
        for (a, &x) in acc[..D].iter_mut().zip(v.row(i, D)) {
            *a = w.mul_add(x, *a);
        }
    }
}

/// The eight lanes of `q · k`: lane `l` sums `q[c·8 + l] · k[c·8 + l]` over `c` in order.
#[inline(always)]
fn lanes<const D: usize>(q: &[f32], k: &[f32]) -> [f32; 8] {
    let mut a = [0f32; 8];
    for c in 0..D / 8 {
        for l in 0..8 {
            a[l] = q[c * 8 + l].mul_add(k[c * 8 + l], a[l]);
        }
    }
    a
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn scores_avx2<const D: usize>(q: &[f32], k: Rows, p: &mut [f32]) {
    use std::arch::x86_64::*;
    let (qp, kp) = (q.as_ptr(), k.data.as_ptr());
    let mut i = 0;
    while i + 8 <= k.n {
        let mut a = [_mm256_setzero_ps(); 8];
        for c in 0..D / 8 {
            let qc = _mm256_loadu_ps(qp.add(c * 8));
            for (r, a) in a.iter_mut().enumerate() {
                *a = _mm256_fmadd_ps(qc, _mm256_loadu_ps(kp.add((i + r) * k.step + c * 8)), *a);
            }
        }
        // [x01 + x23 | x45 + x67] of keys 0..3 and of keys 4..7, then each key's halves added.
        let lo = _mm256_hadd_ps(_mm256_hadd_ps(a[0], a[1]), _mm256_hadd_ps(a[2], a[3]));
        let hi = _mm256_hadd_ps(_mm256_hadd_ps(a[4], a[5]), _mm256_hadd_ps(a[6], a[7]));
        let sums = _mm256_add_ps(_mm256_permute2f128_ps::<0x20>(lo, hi), _mm256_permute2f128_ps::<0x31>(lo, hi));
        _mm256_storeu_ps(p.as_mut_ptr().add(i), sums);
        i += 8;
    }
    for i in i..k.n {
        let mut a = _mm256_setzero_ps();
        for c in 0..D / 8 {
            a = _mm256_fmadd_ps(_mm256_loadu_ps(qp.add(c * 8)), _mm256_loadu_ps(kp.add(i * k.step + c * 8)), a);
        }
        let mut l = [0f32; 8];
        _mm256_storeu_ps(l.as_mut_ptr(), a);
        p[i] = super::sum8(&l);
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn weighted_avx2<const D: usize>(p: &[f32], scale: f32, v: Rows, acc: &mut [f32]) {
    use std::arch::x86_64::*;
    let mut a = [_mm256_setzero_ps(); 16];
    for (c, x) in a.iter_mut().take(D / 8).enumerate() {
        *x = _mm256_loadu_ps(acc.as_ptr().add(c * 8));
    }
    let vp = v.data.as_ptr();
    for i in 0..v.n {
        let w = _mm256_set1_ps(p[i] * scale);
        let row = vp.add(i * v.step);
        for c in 0..D / 8 {
            a[c] = _mm256_fmadd_ps(w, _mm256_loadu_ps(row.add(c * 8)), a[c]);
        }
    }
    for (c, x) in a.iter().take(D / 8).enumerate() {
        _mm256_storeu_ps(acc.as_mut_ptr().add(c * 8), *x);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fill(n: usize, seed: u32) -> Vec<f32> {
        (0..n).map(|i| ((i as u32).wrapping_mul(2654435761).wrapping_add(seed) >> 8) as f32 / (1u32 << 24) as f32 * 4.0 - 2.0).collect()
    }

    /// The dispatched kernels against the portable arithmetic, bit for bit, and against f64
    /// sums, for odd key counts (the one-at-a-time tail) and strided rows.
    fn check<const D: usize>() {
        for n in [0usize, 1, 3, 8, 9, 21] {
            let (step, q) = (D + 8, fill(D, 1));
            let k = fill(n.max(1) * step, 2);
            let rows = Rows { data: &k, step, n };
            let mut p = vec![0f32; n];
            scores::<D>(&q, rows, &mut p);
            for i in 0..n {
                assert_eq!(p[i].to_bits(), crate::ops::sum8(&lanes::<D>(&q, rows.row(i, D))).to_bits(), "D {D} n {n} key {i}");
                let want: f64 = q.iter().zip(rows.row(i, D)).map(|(&a, &b)| a as f64 * b as f64).sum();
                assert!((p[i] as f64 - want).abs() < 1e-4, "D {D} n {n} key {i}: {} vs {want}", p[i]);
            }
            let mut acc = fill(D, 3);
            let mut plain = acc.clone();
            weighted::<D>(&p, 0.25, rows, &mut acc);
            for i in 0..n {
                for (a, &x) in plain.iter_mut().zip(rows.row(i, D)) {
                    *a = (p[i] * 0.25).mul_add(x, *a);
                }
            }
            assert_eq!(acc, plain, "D {D} n {n}");
        }
    }

    #[test]
    fn kernels_match_the_portable_arithmetic() {
        check::<8>();
        check::<32>();
        check::<64>();
        check::<128>();
    }
}
