//! The dot products of [`super::quant`]: inputs quantized per block of 32 to 8 bits, and one
//! weight row (or two) against up to four input rows, as exact integer sums per block scaled
//! in f32. The AVX2 kernels and the portable one give the same bits (8 lane accumulators, one
//! fused multiply-add per block each, summed in one fixed order).
use super::quant::{f32_of, BlockQ4_1, BlockQ8_0, QK};

/// Inputs quantized per block of 32: scale `d`, `s = d·Σq`, and the i8 values.
pub(super) struct QRows {
    pub(super) d: Vec<f32>,
    pub(super) s: Vec<f32>,
    pub(super) qs: Vec<i8>,
}

/// `x` rounded to the nearest integer, ties to even (exact for |x| < 2²²; inputs here are
/// at most 127 in magnitude).
fn round_even(x: f32) -> f32 {
    const MAGIC: f32 = 12_582_912.0; // 1.5 · 2²³
    (x + MAGIC) - MAGIC
}

/// Every row of `x (m, k)` quantized per block of 32 (llama.cpp's `quantize_row_q8_1`,
/// rounding ties to even as its AVX2 version does, the scales kept in f32). `paired` lays
/// each row's blocks out two by two for the Q4_1 kernel ([`pair_offset`]); otherwise they
/// are in order.
pub(super) fn quantize_rows(x: &[f32], m: usize, k: usize, paired: bool) -> QRows {
    let (blocks, nb) = (m * k / QK, k / QK);
    let mut a = QRows { d: Vec::with_capacity(blocks), s: Vec::with_capacity(blocks), qs: vec![0; m * k] };
    for (ab, xb) in x.chunks_exact(QK).enumerate() {
        let amax = xb.iter().fold(0f32, |acc, v| acc.max(v.abs()));
        let d = amax / 127.0;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };
        let mut sum = 0i32;
        for (e, v) in xb.iter().enumerate() {
            let q = round_even(v * id) as i8;
            sum += q as i32;
            a.qs[if paired { pair_offset(ab, e, nb) } else { ab * QK + e }] = q;
        }
        a.d.push(d);
        a.s.push(d * sum as f32);
    }
    a
}

/// Where element `e` of block `ab` (`nb` blocks a row) lies in a paired layout: blocks
/// `2p, 2p + 1` of a row as `[2p: 0..16][2p+1: 0..16][2p: 16..32][2p+1: 16..32]` (the
/// low and high nibbles of their two Q4_1 blocks loaded as one vector); a row's last block,
/// when `nb` is odd, in order.
pub(super) fn pair_offset(ab: usize, e: usize, nb: usize) -> usize {
    let (row, b) = (ab / nb, ab % nb);
    if nb % 2 == 1 && b == nb - 1 {
        return ab * QK + e;
    }
    let base = (row * nb + b - b % 2) * QK;
    base + (e / 16) * QK + (b % 2) * 16 + e % 16
}

/// How far ahead of the block in use the weight stream is prefetched.
#[cfg(target_arch = "x86_64")]
const PREFETCH_BYTES: usize = 1024;

#[derive(Clone, Copy)]
pub(super) enum Weights<'a> {
    Q8_0(&'a [BlockQ8_0]),
    Q4_1(&'a [BlockQ4_1]),
}

/// `W` weight rows against `R` input rows: `[weight row][input row]`.
pub(super) fn dot<const R: usize, const W: usize>(w: [Weights; W], a: &QRows, nb: usize, rows: [usize; R]) -> [[f32; R]; W] {
    #[cfg(target_arch = "x86_64")]
    {
        if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") && is_x86_feature_detected!("f16c") {
            let kinds_match = w.iter().all(|x| matches!(x, Weights::Q8_0(_))) || w.iter().all(|x| matches!(x, Weights::Q4_1(_)));
            let lens_ok = w.iter().all(|x| match x {
                Weights::Q8_0(b) => b.len() == nb,
                Weights::Q4_1(b) => b.len() == nb,
            });
            assert!(kinds_match && lens_ok && rows.iter().all(|&i| (i + 1) * nb <= a.d.len()));
            // SAFETY: the CPU has AVX2, FMA and F16C; the assert bounds every block read.
            return unsafe { dot_avx2(w, a, nb, rows) };
        }
    }
    w.map(|w| dot_portable(w, a, nb, rows))
}

/// The 8 lane sums of one Q8_0 block's integer products (lane `j`: elements `4j..4j+4`)
/// and the block's weight scale.
fn block_lanes(w: Weights, b: usize, y: &[i8]) -> ([i32; 8], f32, f32) {
    let mut lanes = [0i32; 8];
    match w {
        Weights::Q8_0(bs) => {
            for (e, (&q, &v)) in bs[b].qs.iter().zip(y).enumerate() {
                lanes[e / 4] += q as i32 * v as i32;
            }
            (lanes, f32_of(bs[b].d), 0.0)
        }
        Weights::Q4_1(_) => unreachable!("Q4_1 blocks go two by two"),
    }
}

/// The lanes summed in the AVX2 kernel's order.
fn hsum(l: [f32; 8]) -> f32 {
    let s = [l[0] + l[4], l[1] + l[5], l[2] + l[6], l[3] + l[7]];
    (s[0] + s[2]) + (s[1] + s[3])
}

fn dot_portable<const R: usize>(w: Weights, a: &QRows, nb: usize, rows: [usize; R]) -> [f32; R] {
    let mut out = [0f32; R];
    for (o, &i) in out.iter_mut().zip(&rows) {
        let (mut acc, mut summ) = ([0f32; 8], 0f32);
        match w {
            Weights::Q8_0(_) => {
                for b in 0..nb {
                    let ab = i * nb + b;
                    let (lanes, d, _) = block_lanes(w, b, &a.qs[ab * QK..(ab + 1) * QK]);
                    let scale = d * a.d[ab];
                    for (acc, l) in acc.iter_mut().zip(lanes) {
                        *acc = scale.mul_add(l as f32, *acc);
                    }
                }
            }
            Weights::Q4_1(bs) => {
                // Blocks two by two: lanes 0-3 the first's, 4-7 the second's, lane j
                // elements 4j..4j+4 and 16+4j..16+4j+4; an odd last block alone.
                let mut b = 0;
                while b < nb {
                    let two = b + 1 < nb;
                    for l in 0..8 {
                        let (bb, j) = if two { (b + l / 4, l % 4) } else { (b, l) };
                        let ab = i * nb + bb;
                        let halves: &[usize] = if two { &[0, 16] } else { &[0] };
                        let mut sum = 0i32;
                        for e in halves.iter().flat_map(|h| h + 4 * j..h + 4 * j + 4) {
                            let q = if e < 16 { bs[bb].qs[e] & 15 } else { bs[bb].qs[e - 16] >> 4 };
                            sum += q as i32 * a.qs[pair_offset(ab, e, nb)] as i32;
                        }
                        acc[l] = (f32_of(bs[bb].d) * a.d[ab]).mul_add(sum as f32, acc[l]);
                    }
                    for bb in b..b + if two { 2 } else { 1 } {
                        summ = f32_of(bs[bb].m).mul_add(a.s[i * nb + bb], summ);
                    }
                    b += if two { 2 } else { 1 };
                }
            }
        }
        *o = hsum(acc) + summ;
    }
    out
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn dot_avx2<const R: usize, const W: usize>(w: [Weights; W], a: &QRows, nb: usize, rows: [usize; R]) -> [[f32; R]; W] {
    match w[0] {
        Weights::Q8_0(_) => q8_0_avx2(w.map(|w| if let Weights::Q8_0(b) = w { b } else { unreachable!() }), a, nb, rows),
        Weights::Q4_1(_) => q4_1_avx2(w.map(|w| if let Weights::Q4_1(b) = w { b } else { unreachable!() }), a, nb, rows),
    }
}

/// The sum of the 8 lanes in [`hsum`]'s order, plus `extra`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn finish(acc: std::arch::x86_64::__m256, extra: f32) -> f32 {
    let mut l = [0f32; 8];
    std::arch::x86_64::_mm256_storeu_ps(l.as_mut_ptr(), acc);
    hsum(l) + extra
}

/// Q4_1 blocks two at a time against inputs in [`pair_offset`]'s layout: one 32-byte load
/// holds both blocks' nibbles, so each pair costs two `maddubs` per input row instead of
/// each block two.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn q4_1_avx2<const R: usize, const W: usize>(w: [&[BlockQ4_1]; W], a: &QRows, nb: usize, rows: [usize; R]) -> [[f32; R]; W] {
    use std::arch::x86_64::*;
    let ones = _mm256_set1_epi16(1);
    let low = _mm256_set1_epi8(0x0F);
    let mut acc = [[_mm256_setzero_ps(); R]; W];
    let mut summ = [[0f32; R]; W];
    let qs: [*const i8; R] = rows.map(|i| a.qs.as_ptr().add(i * nb * QK));
    let ds: [*const f32; R] = rows.map(|i| a.d.as_ptr().add(i * nb));
    let ss: [*const f32; R] = rows.map(|i| a.s.as_ptr().add(i * nb));
    let wp: [*const BlockQ4_1; W] = w.map(|w| w.as_ptr());
    let dm = |blk: &BlockQ4_1| {
        let v = _mm_cvtph_ps(_mm_cvtsi32_si128(blk.d as i32 | ((blk.m as i32) << 16)));
        (_mm_cvtss_f32(v), _mm_cvtss_f32(_mm_shuffle_ps(v, v, 1)))
    };
    let mut b = 0;
    while b + 1 < nb {
        // The weights stream from memory once per step: ask for them ahead of use.
        _mm_prefetch::<_MM_HINT_T0>((wp[W - 1].add(b) as *const i8).add(PREFETCH_BYTES));
        let mut lo = [_mm256_setzero_si256(); W];
        let mut hi = [_mm256_setzero_si256(); W];
        let mut dw = [[0f32; 2]; W];
        let mut mw = [[0f32; 2]; W];
        for v in 0..W {
            let (b0, b1) = (&*wp[v].add(b), &*wp[v].add(b + 1));
            let t = _mm256_set_m128i(_mm_loadu_si128(b1.qs.as_ptr() as *const __m128i), _mm_loadu_si128(b0.qs.as_ptr() as *const __m128i));
            lo[v] = _mm256_and_si256(t, low);
            hi[v] = _mm256_and_si256(_mm256_srli_epi16(t, 4), low);
            let ((d0, m0), (d1, m1)) = (dm(b0), dm(b1));
            dw[v] = [d0, d1];
            mw[v] = [m0, m1];
        }
        for t in 0..R {
            let ylo = _mm256_loadu_si256(qs[t].add(b * QK) as *const __m256i);
            let yhi = _mm256_loadu_si256(qs[t].add(b * QK + QK) as *const __m256i);
            let (a0, a1) = (*ds[t].add(b), *ds[t].add(b + 1));
            let (s0, s1) = (*ss[t].add(b), *ss[t].add(b + 1));
            for v in 0..W {
                // i16 sums of at most 2·2·15·127: no saturation.
                let p = _mm256_add_epi16(_mm256_maddubs_epi16(lo[v], ylo), _mm256_maddubs_epi16(hi[v], yhi));
                let lanes = _mm256_cvtepi32_ps(_mm256_madd_epi16(p, ones));
                let scale = _mm256_set_m128(_mm_set1_ps(dw[v][1] * a1), _mm_set1_ps(dw[v][0] * a0));
                acc[v][t] = _mm256_fmadd_ps(scale, lanes, acc[v][t]);
                summ[v][t] = mw[v][1].mul_add(s1, mw[v][0].mul_add(s0, summ[v][t]));
            }
        }
        b += 2;
    }
    if b < nb {
        let mut qx = [_mm256_setzero_si256(); W];
        let mut dmw = [(0f32, 0f32); W];
        for v in 0..W {
            let blk = &*wp[v].add(b);
            let t = _mm_loadu_si128(blk.qs.as_ptr() as *const __m128i);
            qx[v] = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(t, 4), t), low);
            dmw[v] = dm(blk);
        }
        for t in 0..R {
            let qy = _mm256_loadu_si256(qs[t].add(b * QK) as *const __m256i);
            let (ad, as_) = (*ds[t].add(b), *ss[t].add(b));
            for v in 0..W {
                let lanes = _mm256_cvtepi32_ps(_mm256_madd_epi16(_mm256_maddubs_epi16(qx[v], qy), ones));
                acc[v][t] = _mm256_fmadd_ps(_mm256_set1_ps(dmw[v].0 * ad), lanes, acc[v][t]);
                summ[v][t] = dmw[v].1.mul_add(as_, summ[v][t]);
            }
        }
    }
    let mut out = [[0f32; R]; W];
    for v in 0..W {
        for t in 0..R {
            out[v][t] = finish(acc[v][t], summ[v][t]);
        }
    }
    out
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn q8_0_avx2<const R: usize, const W: usize>(w: [&[BlockQ8_0]; W], a: &QRows, nb: usize, rows: [usize; R]) -> [[f32; R]; W] {
    use std::arch::x86_64::*;
    let ones = _mm256_set1_epi16(1);
    let mut acc = [[_mm256_setzero_ps(); R]; W];
    let qs: [*const i8; R] = rows.map(|i| a.qs.as_ptr().add(i * nb * QK));
    let ds: [*const f32; R] = rows.map(|i| a.d.as_ptr().add(i * nb));
    let wp: [*const BlockQ8_0; W] = w.map(|w| w.as_ptr());
    for b in 0..nb {
        _mm_prefetch::<_MM_HINT_T0>((wp[W - 1].add(b) as *const i8).add(PREFETCH_BYTES));
        let mut qx = [_mm256_setzero_si256(); W];
        let mut ux = [_mm256_setzero_si256(); W];
        let mut dw = [0f32; W];
        for v in 0..W {
            let blk = &*wp[v].add(b);
            dw[v] = _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(blk.d as i32)));
            qx[v] = _mm256_loadu_si256(blk.qs.as_ptr() as *const __m256i);
            ux[v] = _mm256_sign_epi8(qx[v], qx[v]);
        }
        for t in 0..R {
            let qy = _mm256_loadu_si256(qs[t].add(b * QK) as *const __m256i);
            let ad = *ds[t].add(b);
            for v in 0..W {
                // |x| against y with x's sign: maddubs takes one unsigned side.
                let y = _mm256_sign_epi8(qy, qx[v]);
                let lanes = _mm256_cvtepi32_ps(_mm256_madd_epi16(_mm256_maddubs_epi16(ux[v], y), ones));
                acc[v][t] = _mm256_fmadd_ps(_mm256_set1_ps(dw[v] * ad), lanes, acc[v][t]);
            }
        }
    }
    let mut out = [[0f32; R]; W];
    for v in 0..W {
        for t in 0..R {
            out[v][t] = finish(acc[v][t], 0.0);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::quant::{Blocks, QuantKind, QuantWeight};
    use candle_core::{Device, Tensor};

    use crate::ops::quant::tests::rand;

    /// The AVX2 kernel and the portable one agree to the bit (same lanes, same order).
    #[test]
    fn kernels_agree_bitwise() {
        let (n, k, m) = (5, 160, 4); // 5 blocks a row: two pairs and an odd one
        let w = Tensor::from_vec(rand(n * k, 3), (n, k), &Device::Cpu).unwrap();
        let x = rand(m * k, 5);
        for kind in [QuantKind::Q8_0, QuantKind::Q4_1] {
            let a = quantize_rows(&x, m, k, kind == QuantKind::Q4_1);
            let q = QuantWeight::quantize(&w, kind).unwrap();
            let nb = k / QK;
            let row = |j: usize| match &q.blocks {
                Blocks::Q8_0(bs) => Weights::Q8_0(&bs[j * nb..(j + 1) * nb]),
                Blocks::Q4_1(bs) => Weights::Q4_1(&bs[j * nb..(j + 1) * nb]),
            };
            for j in 0..n - 1 {
                let (p0, p1) = (dot_portable(row(j), &a, nb, [0, 1, 2, 3]), dot_portable(row(j + 1), &a, nb, [0, 1, 2, 3]));
                let one = dot::<4, 1>([row(j)], &a, nb, [0, 1, 2, 3]);
                let two = dot::<3, 2>([row(j), row(j + 1)], &a, nb, [1, 2, 3]);
                assert_eq!(p0.map(f32::to_bits), one[0].map(f32::to_bits), "{kind} row {j}");
                assert_eq!(p0[1..].iter().map(|x| x.to_bits()).collect::<Vec<_>>(), two[0].map(f32::to_bits), "{kind} row {j}, 2 rows");
                assert_eq!(p1[1..].iter().map(|x| x.to_bits()).collect::<Vec<_>>(), two[1].map(f32::to_bits), "{kind} row {}, 2 rows", j + 1);
            }
        }
    }
}
