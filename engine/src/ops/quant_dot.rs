//! The dot products of [`super::quant`]: inputs quantized per block of 32 to 8 bits, and one
//! weight row (or two) against up to four input rows, as exact integer sums per block scaled
//! in f32. The AVX2 kernels and the portable one give the same bits (8 lane accumulators, one
//! or two fused multiply-adds per block each, summed in [`super::sum8`]'s order).
use super::quant::{f32_of, BlockQ4_1, BlockQ8_0, QK};

/// Bytes of a group in the Q4_1 kernel's input layout ([`quantize_rows`]).
const GROUP_BYTES: usize = 128;

/// Inputs quantized per block of 32 (one scale `d` each), and the i8 values in one of two
/// layouts. In order (`paired` false, for Q8_0): `k` values a row. Paired (for Q4_1): a
/// row as groups of two blocks (a row's odd last block alone), [`GROUP_BYTES`] each, all a
/// kernel reads for the group at one place: the 64 values as `[b: 0..16][b+1: 0..16][b:
/// 16..32][b+1: 16..32]` (the low and high nibbles of the two Q4_1 blocks load as one
/// vector each; a lone block's 32 in order, then 32 unused), then two vectors of 8 f32
/// (native byte order) for the 8 accumulator lanes: each lane's block scale `d`, and the
/// block's `Σq` divided by the lanes it spans (4 of a pair's, or 8: exact), so that the
/// weight offset's term `m·d·Σq` adds up across the lanes.
pub(super) struct QRows {
    pub(super) d: Vec<f32>,
    pub(super) qs: Vec<i8>,
    pub(super) paired: bool,
}

/// Groups of a row of `nb` blocks in the paired layout: pairs, and an odd last block alone.
fn groups(nb: usize) -> usize {
    nb.div_ceil(2)
}

/// The 8 f32 lanes stored at `at` (native byte order).
fn lane_floats(qs: &[i8], at: usize) -> [f32; 8] {
    std::array::from_fn(|l| f32::from_ne_bytes(std::array::from_fn(|i| qs[at + 4 * l + i] as u8)))
}

/// `x` rounded to the nearest integer, ties to even (exact for |x| < 2²²; inputs here are
/// at most 127 in magnitude).
fn round_even(x: f32) -> f32 {
    const MAGIC: f32 = 12_582_912.0; // 1.5 · 2²³
    (x + MAGIC) - MAGIC
}

/// One block of 32 inputs quantized (llama.cpp's `quantize_row_q8_1`, rounding ties to even
/// as its AVX2 version does, the scale kept in f32): the scale, the values and their sum.
fn quantize_block(xb: &[f32]) -> (f32, [i8; QK], i32) {
    #[cfg(target_arch = "x86_64")]
    {
        if is_x86_feature_detected!("avx2") {
            assert_eq!(xb.len(), QK);
            // SAFETY: the CPU has AVX2; `xb` holds 32 values.
            return unsafe { quantize_block_avx2(xb) };
        }
    }
    quantize_block_portable(xb)
}

fn quantize_block_portable(xb: &[f32]) -> (f32, [i8; QK], i32) {
    let amax = xb.iter().fold(0f32, |acc, v| acc.max(v.abs()));
    let d = amax / 127.0;
    let id = if d != 0.0 { 1.0 / d } else { 0.0 };
    let q: [i8; QK] = std::array::from_fn(|e| round_even(xb[e] * id) as i8);
    (d, q, q.iter().map(|&v| v as i32).sum())
}

/// The same numbers as [`quantize_block_portable`] for finite inputs: the maximum is exact
/// in any order, `cvtps` rounds ties to even as [`round_even`] does, and the values are at
/// most 127 in magnitude (no saturation either way).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn quantize_block_avx2(xb: &[f32]) -> (f32, [i8; QK], i32) {
    use std::arch::x86_64::*;
    let v: [__m256; 4] = std::array::from_fn(|i| _mm256_loadu_ps(xb.as_ptr().add(8 * i)));
    let sign = _mm256_set1_ps(-0.0);
    let abs = v.map(|x| _mm256_andnot_ps(sign, x));
    let m8 = _mm256_max_ps(_mm256_max_ps(abs[0], abs[1]), _mm256_max_ps(abs[2], abs[3]));
    let m4 = _mm_max_ps(_mm256_castps256_ps128(m8), _mm256_extractf128_ps::<1>(m8));
    let m2 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    let amax = _mm_cvtss_f32(_mm_max_ss(m2, _mm_movehdup_ps(m2)));
    let d = amax / 127.0;
    let id = _mm256_set1_ps(if d != 0.0 { 1.0 / d } else { 0.0 });
    let q = v.map(|x| _mm256_cvtps_epi32(_mm256_mul_ps(x, id)));
    let sum = _mm256_add_epi32(_mm256_add_epi32(q[0], q[1]), _mm256_add_epi32(q[2], q[3]));
    let mut lanes = [0i32; 8];
    _mm256_storeu_si256(lanes.as_mut_ptr() as *mut __m256i, sum);
    // packs work within 128-bit halves: the permute puts the 8 groups of 4 back in order.
    let packed = _mm256_packs_epi16(_mm256_packs_epi32(q[0], q[1]), _mm256_packs_epi32(q[2], q[3]));
    let ordered = _mm256_permutevar8x32_epi32(packed, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    let mut out = [0i8; QK];
    _mm256_storeu_si256(out.as_mut_ptr() as *mut __m256i, ordered);
    (d, out, lanes.iter().sum())
}

/// Every row of `x (m, k)` quantized per block of 32 ([`quantize_block`]), laid out in order
/// or `paired` ([`QRows`]).
pub(super) fn quantize_rows(x: &[f32], m: usize, k: usize, paired: bool) -> QRows {
    let nb = k / QK;
    let row_bytes = if paired { groups(nb) * GROUP_BYTES } else { k };
    let mut a = QRows { d: Vec::with_capacity(m * nb), qs: vec![0; m * row_bytes], paired };
    let mut s = vec![0f32; nb];
    for (xr, row) in x.chunks_exact(k).zip(a.qs.chunks_exact_mut(row_bytes)) {
        for (b, xb) in xr.chunks_exact(QK).enumerate() {
            let (d, q, sum) = quantize_block(xb);
            if !paired {
                row[b * QK..(b + 1) * QK].copy_from_slice(&q);
            } else if nb % 2 == 1 && b == nb - 1 {
                row[(b / 2) * GROUP_BYTES..][..QK].copy_from_slice(&q);
            } else {
                let at = (b / 2) * GROUP_BYTES + (b % 2) * 16;
                row[at..at + 16].copy_from_slice(&q[..16]);
                row[at + 32..at + 48].copy_from_slice(&q[16..]);
            }
            a.d.push(d);
            s[b] = sum as f32;
        }
        if paired {
            let row_d = &a.d[a.d.len() - nb..];
            for g in 0..groups(nb) {
                let blocks = if 2 * g + 1 < nb { 2 } else { 1 };
                let lanes = 8 / blocks;
                let lane = |l: usize| 2 * g + l / lanes;
                let at = g * GROUP_BYTES + 64;
                for l in 0..8 {
                    let (dv, sv) = (row_d[lane(l)].to_ne_bytes(), (s[lane(l)] / lanes as f32).to_ne_bytes());
                    row[at + 4 * l..at + 4 * l + 4].iter_mut().zip(dv).for_each(|(o, v)| *o = v as i8);
                    row[at + 32 + 4 * l..at + 32 + 4 * l + 4].iter_mut().zip(sv).for_each(|(o, v)| *o = v as i8);
                }
            }
        }
    }
    a
}

/// How far ahead of the block in use the weight stream is prefetched.
#[cfg(target_arch = "x86_64")]
const PREFETCH_BYTES: usize = 1024;

#[derive(Clone, Copy)]
pub(super) enum Weights<'a> {
    Q8_0(&'a [BlockQ8_0]),
    Q4_1(&'a [BlockQ4_1]),
}

/// Weight rows `0..out.len()` of `w` (`nb` blocks each) against the `R` input rows `rows`,
/// `W` weight rows at a time (the last ones one by one): `out[weight row][input row]`, the
/// first `R` of each filled. One call for a whole span of outputs, so that the dispatch is
/// paid once.
pub(super) fn dot_span<const R: usize, const W: usize, const MR: usize>(w: Weights, a: &QRows, nb: usize, rows: [usize; R], out: &mut [[f32; MR]]) {
    let (len, paired) = match w {
        Weights::Q8_0(b) => (b.len(), false),
        Weights::Q4_1(b) => (b.len(), true),
    };
    let row_bytes = if paired { groups(nb) * GROUP_BYTES } else { nb * QK };
    assert!(R <= MR && len == out.len() * nb && a.paired == paired && rows.iter().all(|&i| (i + 1) * row_bytes <= a.qs.len() && (i + 1) * nb <= a.d.len()));
    #[cfg(target_arch = "x86_64")]
    {
        if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") && is_x86_feature_detected!("f16c") {
            // SAFETY: the CPU has AVX2, FMA and F16C; the assert bounds every block read.
            unsafe { span_avx2::<R, W, MR>(w, a, nb, rows, out) };
            return;
        }
    }
    for (j, o) in out.iter_mut().enumerate() {
        let row = match w {
            Weights::Q8_0(b) => Weights::Q8_0(&b[j * nb..(j + 1) * nb]),
            Weights::Q4_1(b) => Weights::Q4_1(&b[j * nb..(j + 1) * nb]),
        };
        o[..R].copy_from_slice(&dot_portable(row, a, nb, rows));
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn span_avx2<const R: usize, const W: usize, const MR: usize>(w: Weights, a: &QRows, nb: usize, rows: [usize; R], out: &mut [[f32; MR]]) {
    match w {
        Weights::Q8_0(bs) => q8_0_avx2::<R, W, MR>(bs, a, nb, rows, out),
        Weights::Q4_1(bs) => q4_1_avx2::<R, W, MR>(bs, a, nb, rows, out),
    }
}

/// One weight row against input rows `rows`, in the AVX2 kernels' lanes and order.
fn dot_portable<const R: usize>(w: Weights, a: &QRows, nb: usize, rows: [usize; R]) -> [f32; R] {
    rows.map(|i| {
        let mut acc = [0f32; 8];
        match w {
            Weights::Q8_0(bs) => {
                // Lane j: elements 4j..4j+4.
                for (b, blk) in bs.iter().enumerate() {
                    let ab = i * nb + b;
                    let mut lanes = [0i32; 8];
                    for (e, (&q, &y)) in blk.qs.iter().zip(&a.qs[ab * QK..(ab + 1) * QK]).enumerate() {
                        lanes[e / 4] += q as i32 * y as i32;
                    }
                    let scale = f32_of(blk.d) * a.d[ab];
                    for (acc, l) in acc.iter_mut().zip(lanes) {
                        *acc = scale.mul_add(l as f32, *acc);
                    }
                }
            }
            Weights::Q4_1(bs) => {
                // A group's byte q of the first 32 holds block b + q/16's element q % 16 (its
                // low nibble), of the next 32 its element 16 + q % 16 (high nibble); a lone
                // block's byte q its element q. Lane l sums bytes 4l..4l+4 of each half.
                let row = i * groups(nb) * GROUP_BYTES;
                let nibble = |b: usize, e: usize| if e < 16 { bs[b].qs[e] & 15 } else { bs[b].qs[e - 16] >> 4 };
                for g in 0..groups(nb) {
                    let (b, two) = (2 * g, 2 * g + 1 < nb);
                    let at = row + g * GROUP_BYTES;
                    let (dv, sv) = (lane_floats(&a.qs, at + 64), lane_floats(&a.qs, at + 96));
                    for l in 0..8 {
                        let mut sum = 0i32;
                        for q in 4 * l..4 * l + 4 {
                            if two {
                                let bb = b + q / 16;
                                sum += nibble(bb, q % 16) as i32 * a.qs[at + q] as i32;
                                sum += nibble(bb, 16 + q % 16) as i32 * a.qs[at + 32 + q] as i32;
                            } else {
                                sum += nibble(b, q) as i32 * a.qs[at + q] as i32;
                            }
                        }
                        let blk = &bs[if two { b + l / 4 } else { b }];
                        let t = f32_of(blk.d).mul_add(sum as f32, f32_of(blk.m) * sv[l]);
                        acc[l] = dv[l].mul_add(t, acc[l]);
                    }
                }
            }
        }
        super::sum8(&acc)
    })
}

/// Q4_1 blocks two at a time against inputs in the paired layout: one 32-byte load holds
/// both blocks' low nibbles, one their high ones, so a pair costs two `maddubs` per input
/// row. Weight rows `W` at a time (the last ones one by one), `out[weight row][input
/// row]` as [`dot_span`]. Per input row and pair, each lane: `acc = d_x·(d_w·Σ + m·sv) + acc`, one fused
/// multiply-add on the accumulator's chain.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn q4_1_avx2<const R: usize, const W: usize, const MR: usize>(bs: &[BlockQ4_1], a: &QRows, nb: usize, rows: [usize; R], out: &mut [[f32; MR]]) {
    use std::arch::x86_64::*;
    let ones = _mm256_set1_epi16(1);
    let low = _mm256_set1_epi8(0x0F);
    let base: [*const i8; R] = rows.map(|i| a.qs.as_ptr().add(i * groups(nb) * GROUP_BYTES));
    // Two blocks' `d` and `m` (f16) to [d0 ×4, d1 ×4] and [m0 ×4, m1 ×4].
    let scales = |b0: &BlockQ4_1, b1: &BlockQ4_1| {
        let bits = |b: &BlockQ4_1| b.d as i32 | ((b.m as i32) << 16);
        let h = _mm256_cvtph_ps(_mm_set_epi32(0, bits(b1), 0, bits(b0)));
        (_mm256_permute_ps::<0x00>(h), _mm256_permute_ps::<0x55>(h))
    };
    let full = out.len() / W * W;
    for j in (0..full).step_by(W) {
        let wp: [*const BlockQ4_1; W] = std::array::from_fn(|v| bs.as_ptr().add((j + v) * nb));
        let mut acc = [[_mm256_setzero_ps(); R]; W];
        let mut g = 0;
        while 2 * g + 1 < nb {
            // The weights stream from memory once per step: ask for them ahead of use.
            _mm_prefetch::<_MM_HINT_T0>((wp[W - 1].add(2 * g) as *const i8).add(PREFETCH_BYTES));
            let mut lo = [_mm256_setzero_si256(); W];
            let mut hi = [_mm256_setzero_si256(); W];
            let mut dw = [_mm256_setzero_ps(); W];
            let mut mw = [_mm256_setzero_ps(); W];
            for v in 0..W {
                let (b0, b1) = (&*wp[v].add(2 * g), &*wp[v].add(2 * g + 1));
                let t = _mm256_set_m128i(_mm_loadu_si128(b1.qs.as_ptr() as *const __m128i), _mm_loadu_si128(b0.qs.as_ptr() as *const __m128i));
                lo[v] = _mm256_and_si256(t, low);
                hi[v] = _mm256_and_si256(_mm256_srli_epi16::<4>(t), low);
                (dw[v], mw[v]) = scales(b0, b1);
            }
            for t in 0..R {
                let p = base[t].add(g * GROUP_BYTES);
                let (ylo, yhi) = (_mm256_loadu_si256(p as *const __m256i), _mm256_loadu_si256(p.add(32) as *const __m256i));
                let (dx, sx) = (_mm256_loadu_ps(p.add(64) as *const f32), _mm256_loadu_ps(p.add(96) as *const f32));
                for v in 0..W {
                    // i16 sums of at most 2·2·15·127: no saturation.
                    let prod = _mm256_add_epi16(_mm256_maddubs_epi16(lo[v], ylo), _mm256_maddubs_epi16(hi[v], yhi));
                    let lanes = _mm256_cvtepi32_ps(_mm256_madd_epi16(prod, ones));
                    let inner = _mm256_fmadd_ps(dw[v], lanes, _mm256_mul_ps(mw[v], sx));
                    acc[v][t] = _mm256_fmadd_ps(dx, inner, acc[v][t]);
                }
            }
            g += 1;
        }
        if 2 * g < nb {
            // A row's odd last block alone: its low nibbles then its high ones, in one vector.
            let mut qx = [_mm256_setzero_si256(); W];
            let mut dw = [_mm256_setzero_ps(); W];
            let mut mw = [_mm256_setzero_ps(); W];
            for v in 0..W {
                let blk = &*wp[v].add(2 * g);
                let t = _mm_loadu_si128(blk.qs.as_ptr() as *const __m128i);
                qx[v] = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16::<4>(t), t), low);
                (dw[v], mw[v]) = scales(blk, blk);
            }
            for t in 0..R {
                let p = base[t].add(g * GROUP_BYTES);
                let qy = _mm256_loadu_si256(p as *const __m256i);
                let (dx, sx) = (_mm256_loadu_ps(p.add(64) as *const f32), _mm256_loadu_ps(p.add(96) as *const f32));
                for v in 0..W {
                    let lanes = _mm256_cvtepi32_ps(_mm256_madd_epi16(_mm256_maddubs_epi16(qx[v], qy), ones));
                    let inner = _mm256_fmadd_ps(dw[v], lanes, _mm256_mul_ps(mw[v], sx));
                    acc[v][t] = _mm256_fmadd_ps(dx, inner, acc[v][t]);
                }
            }
        }
        for (o, r) in out[j..j + W].iter_mut().zip(acc) {
            o[..R].copy_from_slice(&super::sum8_avx2(r));
        }
    }
    if full < out.len() {
        q4_1_avx2::<R, 1, MR>(&bs[full * nb..], a, nb, rows, &mut out[full..]);
    }
}

/// Q8_0 blocks against inputs in order, weight rows `W` at a time (the last ones one by
/// one), `out[weight row][input row]` as [`dot_span`].
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn q8_0_avx2<const R: usize, const W: usize, const MR: usize>(bs: &[BlockQ8_0], a: &QRows, nb: usize, rows: [usize; R], out: &mut [[f32; MR]]) {
    use std::arch::x86_64::*;
    let ones = _mm256_set1_epi16(1);
    let qs: [*const i8; R] = rows.map(|i| a.qs.as_ptr().add(i * nb * QK));
    let ds: [*const f32; R] = rows.map(|i| a.d.as_ptr().add(i * nb));
    let full = out.len() / W * W;
    for j in (0..full).step_by(W) {
        let wp: [*const BlockQ8_0; W] = std::array::from_fn(|v| bs.as_ptr().add((j + v) * nb));
        let mut acc = [[_mm256_setzero_ps(); R]; W];
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
        for (o, r) in out[j..j + W].iter_mut().zip(acc) {
            o[..R].copy_from_slice(&super::sum8_avx2(r));
        }
    }
    if full < out.len() {
        q8_0_avx2::<R, 1, MR>(&bs[full * nb..], a, nb, rows, &mut out[full..]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::quant::{Blocks, QuantKind, QuantWeight};
    use candle_core::{Device, Tensor};

    use crate::ops::quant::tests::rand;

    /// The AVX2 kernels and the portable ones agree to the bit (same lanes, same order), for
    /// one and two weight rows at a time and rows that are not the first.
    #[test]
    fn kernels_agree_bitwise() {
        let (n, k, m) = (32, 4608, 4); // 5 blocks a row: two pairs and an odd one
        let w = Tensor::from_vec(rand(n * k, 3), (n, k), &Device::Cpu).unwrap();
        let x = rand(m * k, 5);
        for kind in [QuantKind::Q8_0, QuantKind::Q4_1] {
            let a = quantize_rows(&x, m, k, kind == QuantKind::Q4_1);
            let q = QuantWeight::quantize(&w, kind).unwrap();
            let nb = k / QK;
            let all = match &q.blocks {
                Blocks::Q8_0(bs) => Weights::Q8_0(bs),
                Blocks::Q4_1(bs) => Weights::Q4_1(bs),
            };
            let row = |j: usize| match &q.blocks {
                Blocks::Q8_0(bs) => Weights::Q8_0(&bs[j * nb..(j + 1) * nb]),
                Blocks::Q4_1(bs) => Weights::Q4_1(&bs[j * nb..(j + 1) * nb]),
            };
            let (mut one, mut two) = (vec![[0f32; 4]; n], vec![[0f32; 4]; n]);
            dot_span::<4, 1, 4>(all, &a, nb, [0, 1, 2, 3], &mut one);
            dot_span::<3, 2, 4>(all, &a, nb, [1, 2, 3], &mut two);
            for j in 0..n {
                let p = dot_portable(row(j), &a, nb, [0, 1, 2, 3]);
                assert_eq!(p.map(f32::to_bits), one[j].map(f32::to_bits), "{kind} row {j}");
                assert_eq!(p[1..].iter().map(|x| x.to_bits()).collect::<Vec<_>>(), two[j][..3].iter().map(|x| x.to_bits()).collect::<Vec<_>>(), "{kind} row {j}, two at a time");
            }
        }
    }

    /// The vector quantizer gives the portable one's scale, values and sum, bit for bit
    /// (ties to even, a zero block, values up to the block's maximum of either sign).
    #[test]
    fn block_quantizers_agree() {
        let mut cases: Vec<Vec<f32>> = (0..50).map(|i| rand(QK, 20 + i).iter().map(|v| v * (i as f32 + 0.5)).collect()).collect();
        cases.push(vec![0.0; QK]);
        // A maximum of 127 makes the scale 1: the other values are exact halves to round.
        cases.push((0..QK).map(|e| if e == 0 { 127.0 } else { [0.5, 1.5, 2.5, -0.5, -3.5][e % 5] }).collect());
        for xb in &cases {
            let (a, b) = (quantize_block(xb), quantize_block_portable(xb));
            assert_eq!((a.0.to_bits(), a.1, a.2), (b.0.to_bits(), b.1, b.2), "{xb:?}");
        }
    }

/// Where element `e` of a row's block `b` lies in the row's paired layout.
    fn paired_byte(b: usize, e: usize, nb: usize) -> usize {
        let within = if nb % 2 == 1 && b == nb - 1 { e } else { (e / 16) * 32 + (b % 2) * 16 + e % 16 };
        (b / 2) * GROUP_BYTES + within
    }

    /// The paired layout holds every quantized input once, and its lane vectors the blocks'
    /// scales and sums (against the in-order layout of the same rows).
    #[test]
    fn paired_layout_places_every_value() {
        let (k, m) = (160, 2);
        let x = rand(m * k, 8);
        let (plain, paired) = (quantize_rows(&x, m, k, false), quantize_rows(&x, m, k, true));
        let nb = k / QK;
        for r in 0..m {
            for b in 0..nb {
                let ab = r * nb + b;
                for e in 0..QK {
                    assert_eq!(paired.qs[r * groups(nb) * GROUP_BYTES + paired_byte(b, e, nb)], plain.qs[ab * QK + e], "row {r} block {b} element {e}");
                }
                let lanes = if b + 1 < nb || nb % 2 == 0 { 4 } else { 8 };
                let at = r * groups(nb) * GROUP_BYTES + (b / 2) * GROUP_BYTES + 64;
                let l = if lanes == 4 { (b % 2) * 4 } else { 0 };
                let sum: i32 = plain.qs[ab * QK..(ab + 1) * QK].iter().map(|&q| q as i32).sum();
                assert_eq!(lane_floats(&paired.qs, at)[l], plain.d[ab]);
                assert_eq!(lane_floats(&paired.qs, at + 32)[l], sum as f32 / lanes as f32);
            }
        }
    }
}
