//! Projections through 8-bit or 4-bit weights in llama.cpp's block formats, for decoding.
//!
//! Decoding a 135M model one token at a time is bound by memory: f32 weights move 538 MB
//! per token, 4-bit blocks ~100 MB. A [`QuantWeight`] keeps each `(out, in)` weight row as
//! blocks of 32 weights with their scale: Q8_0 (`w = d·q`, q an i8) or Q4_1
//! (`w = d·q + m`, q in 0..16), ggml's layouts and reference quantizers, so quantizing the
//! dequantized tensors of a Q8_0 or Q4_1 GGUF file gives back its blocks. Each input row is
//! quantized per block to 8 bits (llama.cpp's Q8_1: `d`, and `s = d·Σq` for Q4_1's offset),
//! and a block's dot product is an exact integer sum (AVX2 `maddubs`), scaled in f32.
//!
//! Same numbers on every machine and thread count: the AVX2 kernel keeps 8 lane
//! accumulators (lane `j` of a block holds its elements `4j..4j+4`), each fused
//! multiply-added once per block, then summed in a fixed order; the portable kernel does
//! exactly that with `f32::mul_add`. Rows of the output are split across rayon's threads,
//! each output element computed whole by one thread. Inference only: no backward.
//!
//! Shapes: m rows, k inputs, n outputs.
use super::f32s;
use candle_core::{CpuStorage, CustomOp1, Layout, Result, Shape, Tensor};
use half::f16;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Weights per block (one scale).
pub const QK: usize = 32;

/// A block format of the weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum QuantKind {
    /// 8-bit: `w = d·q`, 34 bytes per 32 weights.
    #[value(name = "q8_0")]
    #[serde(rename = "q8_0")]
    Q8_0,
    /// 4-bit with an offset: `w = d·q + m`, 20 bytes per 32 weights.
    #[value(name = "q4_1")]
    #[serde(rename = "q4_1")]
    Q4_1,
}

impl std::fmt::Display for QuantKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Q8_0 => "q8_0",
            Self::Q4_1 => "q4_1",
        })
    }
}

/// ggml's `block_q8_0`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub(crate) struct BlockQ8_0 {
    d: u16,
    qs: [i8; QK],
}

/// ggml's `block_q4_1`: element `j < 16` in the low nibble of `qs[j]`, `j ≥ 16` in the high
/// nibble of `qs[j - 16]`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub(crate) struct BlockQ4_1 {
    d: u16,
    m: u16,
    qs: [u8; QK / 2],
}

#[derive(Debug, Clone)]
enum Blocks {
    Q8_0(Vec<BlockQ8_0>),
    Q4_1(Vec<BlockQ4_1>),
}

/// A linear weight `(n, k)` (out, in) as rows of quantized blocks.
#[derive(Debug, Clone)]
pub struct QuantWeight {
    n: usize,
    k: usize,
    blocks: Blocks,
}

/// Inputs quantized per block of 32: scale `d`, `s = d·Σq`, and the i8 values.
struct QRows {
    d: Vec<f32>,
    s: Vec<f32>,
    qs: Vec<i8>,
}

fn f16_bits(x: f32) -> u16 {
    f16::from_f32(x).to_bits()
}

fn f32_of(bits: u16) -> f32 {
    f16::from_bits(bits).to_f32()
}

/// ggml's `quantize_row_q8_0_ref` for one block.
fn q8_0_block(x: &[f32]) -> BlockQ8_0 {
    let amax = x.iter().fold(0f32, |a, v| a.max(v.abs()));
    let d = amax / 127.0;
    let id = if d != 0.0 { 1.0 / d } else { 0.0 };
    let mut qs = [0i8; QK];
    for (q, v) in qs.iter_mut().zip(x) {
        *q = (v * id).round() as i8;
    }
    BlockQ8_0 { d: f16_bits(d), qs }
}

/// ggml's `quantize_row_q4_1_ref` for one block.
fn q4_1_block(x: &[f32]) -> BlockQ4_1 {
    let (min, max) = x.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    let d = (max - min) / 15.0;
    let id = if d != 0.0 { 1.0 / d } else { 0.0 };
    let mut qs = [0u8; QK / 2];
    for (j, q) in qs.iter_mut().enumerate() {
        let lo = (((x[j] - min) * id + 0.5) as u8).min(15);
        let hi = (((x[j + QK / 2] - min) * id + 0.5) as u8).min(15);
        *q = lo | (hi << 4);
    }
    BlockQ4_1 { d: f16_bits(d), m: f16_bits(min), qs }
}

impl QuantWeight {
    /// Quantizes a Hugging Face linear weight `w: (n, k)` (out, in); `k` must be a multiple
    /// of 32.
    pub fn quantize(w: &Tensor, kind: QuantKind) -> Result<Self> {
        let (n, k) = w.dims2()?;
        if k % QK != 0 {
            candle_core::bail!("{kind} needs a weight's input size to be a multiple of {QK}, not {k}");
        }
        let data = w.to_dtype(candle_core::DType::F32)?.flatten_all()?.to_vec1::<f32>()?;
        let chunks = data.chunks_exact(QK);
        let blocks = match kind {
            QuantKind::Q8_0 => Blocks::Q8_0(chunks.map(q8_0_block).collect()),
            QuantKind::Q4_1 => Blocks::Q4_1(chunks.map(q4_1_block).collect()),
        };
        Ok(Self { n, k, blocks })
    }

    pub fn kind(&self) -> QuantKind {
        match self.blocks {
            Blocks::Q8_0(_) => QuantKind::Q8_0,
            Blocks::Q4_1(_) => QuantKind::Q4_1,
        }
    }

    /// The weight dequantized: `(n, k)` f32.
    pub fn dequantize(&self) -> Result<Tensor> {
        let mut out = Vec::with_capacity(self.n * self.k);
        match &self.blocks {
            Blocks::Q8_0(bs) => bs.iter().for_each(|b| out.extend(b.qs.iter().map(|&q| q as f32 * f32_of(b.d)))),
            Blocks::Q4_1(bs) => bs.iter().for_each(|b| {
                let (d, m) = (f32_of(b.d), f32_of(b.m));
                out.extend(b.qs.iter().map(|&q| (q & 15) as f32 * d + m));
                out.extend(b.qs.iter().map(|&q| (q >> 4) as f32 * d + m));
            }),
        }
        Tensor::from_vec(out, (self.n, self.k), &candle_core::Device::Cpu)
    }

    /// The blocks as stored in a GGUF file (for checking against one).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = vec![];
        match &self.blocks {
            Blocks::Q8_0(bs) => bs.iter().for_each(|b| {
                out.extend(b.d.to_le_bytes());
                out.extend(b.qs.iter().map(|&q| q as u8));
            }),
            Blocks::Q4_1(bs) => bs.iter().for_each(|b| {
                out.extend(b.d.to_le_bytes());
                out.extend(b.m.to_le_bytes());
                out.extend(b.qs);
            }),
        }
        out
    }

    /// `x: (m, k)` (f32, CPU) -> `x · Wᵀ: (m, n)`.
    pub fn matmul(&self, x: &Tensor) -> Result<Tensor> {
        x.contiguous()?.apply_op1_no_bwd(self)
    }
}

impl CustomOp1 for QuantWeight {
    fn name(&self) -> &'static str {
        "quant-matmul"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let x = f32s(s, l, self.name())?;
        let (m, k) = l.shape().dims2()?;
        if k != self.k {
            candle_core::bail!("quant-matmul: x has {k} columns, the weight {}", self.k);
        }
        Ok((CpuStorage::F32(self.matmul_rows(x, m)), Shape::from((m, self.n))))
    }
}

/// Input rows per kernel call (their accumulators in registers).
const MR: usize = 4;
/// Weight rows per kernel call (each input block loaded once for all). 2 measured no faster
/// than 1 on the 2-core AVX2 machine (the accumulators spill), so 1; the kernels take either.
const NW: usize = 1;
/// Inputs multiplied per pass over the weights (their blocks stay in cache).
const M_TILE: usize = 64;
/// Output rows per parallel task.
const N_TASK: usize = 64;

/// The output `(m, n)`, written by tasks that own disjoint columns.
#[derive(Clone, Copy)]
struct Out(*mut f32);
// SAFETY: every task writes only its own columns `j0..j1` of the output.
unsafe impl Send for Out {}
unsafe impl Sync for Out {}

impl Out {
    /// Writes `v` at `i`. SAFETY: `i` is inside the output and owned by the caller's task.
    unsafe fn write(&self, i: usize, v: f32) {
        *self.0.add(i) = v;
    }
}

impl QuantWeight {
    fn matmul_rows(&self, x: &[f32], m: usize) -> Vec<f32> {
        let (n, k) = (self.n, self.k);
        let a = quantize_rows(x, m, k);
        let mut y = vec![0f32; m * n];
        let out = Out(y.as_mut_ptr());
        let run = |j0: usize| {
            let j1 = (j0 + N_TASK).min(n);
            for i0 in (0..m).step_by(M_TILE) {
                let i1 = (i0 + M_TILE).min(m);
                let mut j = j0;
                while j < j1 {
                    let w = (j1 - j).min(NW);
                    let mut i = i0;
                    while i < i1 {
                        let r = (i1 - i).min(MR);
                        let res = self.dot_rows(j, w, &a, i, r);
                        for (dj, row) in res.iter().enumerate().take(w) {
                            for (di, v) in row.iter().enumerate().take(r) {
                                // SAFETY: (i + di, j + dj) is inside (m, n), in this task's columns.
                                unsafe { out.write((i + di) * n + j + dj, *v) };
                            }
                        }
                        i += r;
                    }
                    j += w;
                }
            }
        };
        // Small products on this thread: a parallel split costs more than it saves.
        if m * n * k < 1 << 20 {
            (0..n).step_by(N_TASK).for_each(run);
        } else {
            (0..n).step_by(N_TASK).collect::<Vec<_>>().into_par_iter().for_each(run);
        }
        y
    }

    /// Outputs `j..j + w` (`w ≤ NW`) for input rows `i..i + r` (`r ≤ MR`):
    /// `[weight row][input row]`, the first `w × r` filled.
    fn dot_rows(&self, j: usize, w: usize, a: &QRows, i: usize, r: usize) -> [[f32; MR]; NW] {
        let nb = self.k / QK;
        let row = |j: usize| match &self.blocks {
            Blocks::Q8_0(bs) => Weights::Q8_0(&bs[j * nb..(j + 1) * nb]),
            Blocks::Q4_1(bs) => Weights::Q4_1(&bs[j * nb..(j + 1) * nb]),
        };
        let mut out = [[0f32; MR]; NW];
        macro_rules! go {
            ($w:literal, $r:literal) => {{
                let ws: [Weights; $w] = std::array::from_fn(|d| row(j + d));
                let res = dot::<$r, $w>(ws, a, nb, std::array::from_fn(|d| i + d));
                for (o, v) in out.iter_mut().zip(res) {
                    o[..$r].copy_from_slice(&v);
                }
            }};
        }
        match (w, r) {
            (1, 1) => go!(1, 1),
            (1, 2) => go!(1, 2),
            (1, 3) => go!(1, 3),
            (1, _) => go!(1, 4),
            (_, 1) => go!(2, 1),
            (_, 2) => go!(2, 2),
            (_, 3) => go!(2, 3),
            (_, _) => go!(2, 4),
        }
        out
    }
}

/// `x` rounded to the nearest integer, ties to even (exact for |x| < 2²²; inputs here are
/// at most 127 in magnitude).
fn round_even(x: f32) -> f32 {
    const MAGIC: f32 = 12_582_912.0; // 1.5 · 2²³
    (x + MAGIC) - MAGIC
}

/// Every row of `x (m, k)` quantized per block of 32 (llama.cpp's `quantize_row_q8_1`,
/// rounding ties to even as its AVX2 version does, the scales kept in f32).
fn quantize_rows(x: &[f32], m: usize, k: usize) -> QRows {
    let blocks = m * k / QK;
    let mut a = QRows { d: Vec::with_capacity(blocks), s: Vec::with_capacity(blocks), qs: Vec::with_capacity(m * k) };
    for xb in x.chunks_exact(QK) {
        let amax = xb.iter().fold(0f32, |acc, v| acc.max(v.abs()));
        let d = amax / 127.0;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };
        let mut sum = 0i32;
        for v in xb {
            let q = round_even(v * id) as i8;
            sum += q as i32;
            a.qs.push(q);
        }
        a.d.push(d);
        a.s.push(d * sum as f32);
    }
    a
}

#[derive(Clone, Copy)]
enum Weights<'a> {
    Q8_0(&'a [BlockQ8_0]),
    Q4_1(&'a [BlockQ4_1]),
}

/// `W` weight rows against `R` input rows: `[weight row][input row]`.
fn dot<const R: usize, const W: usize>(w: [Weights; W], a: &QRows, nb: usize, rows: [usize; R]) -> [[f32; R]; W] {
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

/// The 8 lane sums of one block's integer products (lane `j`: elements `4j..4j+4`) and the
/// block's weight scale and offset.
fn block_lanes(w: Weights, b: usize, y: &[i8]) -> ([i32; 8], f32, f32) {
    let mut lanes = [0i32; 8];
    match w {
        Weights::Q8_0(bs) => {
            for (e, (&q, &v)) in bs[b].qs.iter().zip(y).enumerate() {
                lanes[e / 4] += q as i32 * v as i32;
            }
            (lanes, f32_of(bs[b].d), 0.0)
        }
        Weights::Q4_1(bs) => {
            for e in 0..QK {
                let q = if e < 16 { bs[b].qs[e] & 15 } else { bs[b].qs[e - 16] >> 4 };
                lanes[e / 4] += q as i32 * y[e] as i32;
            }
            (lanes, f32_of(bs[b].d), f32_of(bs[b].m))
        }
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
        for b in 0..nb {
            let ab = i * nb + b;
            let (lanes, d, m) = block_lanes(w, b, &a.qs[ab * QK..(ab + 1) * QK]);
            let scale = d * a.d[ab];
            for (acc, l) in acc.iter_mut().zip(lanes) {
                *acc = scale.mul_add(l as f32, *acc);
            }
            summ = m.mul_add(a.s[ab], summ);
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
    for b in 0..nb {
        let mut qx = [_mm256_setzero_si256(); W];
        let mut dw = [0f32; W];
        let mut mw = [0f32; W];
        for v in 0..W {
            let blk = &*wp[v].add(b);
            let dm = _mm_cvtph_ps(_mm_cvtsi32_si128(blk.d as i32 | ((blk.m as i32) << 16)));
            let t = _mm_loadu_si128(blk.qs.as_ptr() as *const __m128i);
            qx[v] = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(t, 4), t), low);
            dw[v] = _mm_cvtss_f32(dm);
            mw[v] = _mm_cvtss_f32(_mm_shuffle_ps(dm, dm, 1));
        }
        for t in 0..R {
            let qy = _mm256_loadu_si256(qs[t].add(b * QK) as *const __m256i);
            let (ad, as_) = (*ds[t].add(b), *ss[t].add(b));
            for v in 0..W {
                let lanes = _mm256_cvtepi32_ps(_mm256_madd_epi16(_mm256_maddubs_epi16(qx[v], qy), ones));
                acc[v][t] = _mm256_fmadd_ps(_mm256_set1_ps(dw[v] * ad), lanes, acc[v][t]);
                summ[v][t] = mw[v].mul_add(as_, summ[v][t]);
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
    use candle_core::Device;

    fn rand(n: usize, seed: u32) -> Vec<f32> {
        // xorshift, values in [-1, 1)
        let mut s = seed.max(1);
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 17;
                s ^= s << 5;
                (s as f32 / u32::MAX as f32) * 2.0 - 1.0
            })
            .collect()
    }

    /// Hand computation: a Q4_1 block of 0..31 has min 0, d = 31/15; q = round(x/d).
    #[test]
    fn q4_1_block_matches_ggml_reference() {
        let x: Vec<f32> = (0..32).map(|i| i as f32).collect();
        let b = q4_1_block(&x);
        assert_eq!(f32_of(b.m), 0.0);
        assert!((f32_of(b.d) - 31.0 / 15.0).abs() < 1e-3);
        // x = 1 -> 1·15/31 + 0.5 = 0.98 -> 0; x = 16 -> 8.24 -> 8; x = 31 -> 15
        assert_eq!(b.qs[1] & 15, 0);
        assert_eq!(b.qs[0] >> 4, 8);
        assert_eq!(b.qs[15] >> 4, 15);
    }

    /// Against f64 products of the dequantized weights and the dequantized inputs: the
    /// integer kernels lose nothing beyond the f32 sums.
    #[test]
    fn matmul_matches_dequantized_product() {
        for kind in [QuantKind::Q8_0, QuantKind::Q4_1] {
            for m in [1, 3, 4, 5, 70] {
                let (n, k) = (37, 96);
                let w = Tensor::from_vec(rand(n * k, 7), (n, k), &Device::Cpu).unwrap();
                let x = rand(m * k, 11);
                let q = QuantWeight::quantize(&w, kind).unwrap();
                let wd: Vec<f32> = q.dequantize().unwrap().flatten_all().unwrap().to_vec1().unwrap();
                let a = quantize_rows(&x, m, k);
                let y = q.matmul_rows(&x, m);
                for i in 0..m {
                    for j in 0..n {
                        let want: f64 = (0..k).map(|c| wd[j * k + c] as f64 * (a.qs[i * k + c] as f64 * a.d[i * k / QK + c / QK] as f64)).sum();
                        let got = y[i * n + j] as f64;
                        assert!((got - want).abs() < 1e-4 * (1.0 + want.abs()), "{kind} m{m} ({i},{j}): {got} vs {want}");
                    }
                }
            }
        }
    }

    /// The AVX2 kernel and the portable one agree to the bit (same lanes, same order).
    #[test]
    fn kernels_agree_bitwise() {
        let (n, k, m) = (5, 128, 4);
        let w = Tensor::from_vec(rand(n * k, 3), (n, k), &Device::Cpu).unwrap();
        let x = rand(m * k, 5);
        let a = quantize_rows(&x, m, k);
        for kind in [QuantKind::Q8_0, QuantKind::Q4_1] {
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

    /// Quantizing a dequantized weight gives back its blocks (how a GGUF file's Q4_1 or
    /// Q8_0 tensors come back from the engine's f32 copy).
    #[test]
    fn requantizing_dequantized_blocks_is_exact() {
        let w = Tensor::from_vec(rand(16 * 64, 9), (16, 64), &Device::Cpu).unwrap();
        for kind in [QuantKind::Q8_0, QuantKind::Q4_1] {
            let q = QuantWeight::quantize(&w, kind).unwrap();
            let again = QuantWeight::quantize(&q.dequantize().unwrap(), kind).unwrap();
            assert_eq!(q.to_bytes(), again.to_bytes(), "{kind}");
        }
    }

    #[test]
    fn input_size_not_a_multiple_of_32_is_refused() {
        let w = Tensor::zeros((4, 40), candle_core::DType::F32, &Device::Cpu).unwrap();
        let e = QuantWeight::quantize(&w, QuantKind::Q4_1).unwrap_err().to_string();
        assert!(e.contains("multiple of 32") && e.contains("40"), "{e}");
    }
}
