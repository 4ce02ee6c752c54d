//! Projections through 8-bit or 4-bit weights in llama.cpp's block formats, for decoding.
//!
//! Decoding a 135M model one token at a time is bound by memory: f32 weights move 538 MB
//! per token, 4-bit blocks ~100 MB. A [`QuantWeight`] keeps each `(out, in)` weight row as
//! blocks of 32 weights with their scale: Q8_0 (`w = d·q`, q an i8) or Q4_1
//! (`w = d·q + m`, q in 0..16), ggml's layouts and reference quantizers, so quantizing the
//! dequantized tensors of a Q8_0 or Q4_1 GGUF file gives back its blocks. Each input row is
//! quantized per block to 8 bits (llama.cpp's Q8_1: a scale, and `Σq` for Q4_1's offset),
//! and a block's dot product is an exact integer sum (AVX2 `maddubs`), scaled in f32
//! ([`super::quant_dot`]).
//!
//! Same numbers on every machine and thread count: the AVX2 kernels keep 8 lane
//! accumulators, each fused multiply-added once per block (Q8_0) or pair of blocks (Q4_1),
//! then summed in [`super::sum8`]'s order; the portable kernels do exactly that with
//! `f32::mul_add`. Rows of the output are split across rayon's threads (when it has more
//! than one), each output element computed whole by one thread. Inference only: no backward.
//!
//! Shapes: m rows, k inputs, n outputs.
use super::f32s;
use super::quant_dot::{dot_span, quantize_rows, QRows, Weights};
use candle_core::{CpuStorage, CustomOp1, Layout, Result, Shape, Tensor};
use half::f16;
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
    pub(super) d: u16,
    pub(super) qs: [i8; QK],
}

/// ggml's `block_q4_1`: element `j < 16` in the low nibble of `qs[j]`, `j ≥ 16` in the high
/// nibble of `qs[j - 16]`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub(crate) struct BlockQ4_1 {
    pub(super) d: u16,
    pub(super) m: u16,
    pub(super) qs: [u8; QK / 2],
}

#[derive(Debug, Clone)]
pub(super) enum Blocks {
    Q8_0(Vec<BlockQ8_0>),
    Q4_1(Vec<BlockQ4_1>),
}

/// A linear weight `(n, k)` (out, in) as rows of quantized blocks.
#[derive(Debug, Clone)]
pub struct QuantWeight {
    n: usize,
    k: usize,
    pub(super) blocks: Blocks,
}

fn f16_bits(x: f32) -> u16 {
    f16::from_f32(x).to_bits()
}

pub(super) fn f32_of(bits: u16) -> f32 {
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
/// Most weight rows per kernel call (each input block loaded once for all). Used for
/// products of at most 2 input rows, where one accumulator chain per output would wait on
/// the FMA latency; with more rows the chains are already independent (and more would spill).
const NW: usize = 2;
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
        let a = quantize_rows(x, m, k, matches!(self.blocks, Blocks::Q4_1(_)));
        let mut y = vec![0f32; m * n];
        let out = Out(y.as_mut_ptr());
        let run = |j0: usize| {
            let j1 = (j0 + N_TASK).min(n);
            let mut buf = [[0f32; MR]; N_TASK];
            let nw = if m <= 2 { NW } else { 1 };
            for i in (0..m).step_by(MR) {
                let r = (m - i).min(MR);
                self.span(j0..j1, nw, &a, i, r, &mut buf[..j1 - j0]);
                for (dj, row) in buf[..j1 - j0].iter().enumerate() {
                    for (di, v) in row.iter().enumerate().take(r) {
                        // SAFETY: (i + di, j0 + dj) is inside (m, n), in this task's columns.
                        unsafe { out.write((i + di) * n + j0 + dj, *v) };
                    }
                }
            }
        };
        // Small products on this thread: a parallel split costs more than it saves.
        super::for_each_task((0..n).step_by(N_TASK), m * n * k >= 1 << 20, run);
        y
    }

    /// Outputs `js` for input rows `i..i + r` (`r ≤ MR`, and `r ≤ 2` when `w` is 2), `w ≤ NW`
    /// weight rows at a time:
    /// `out[output][input row]`, the first `r` filled.
    fn span(&self, js: std::ops::Range<usize>, w: usize, a: &QRows, i: usize, r: usize, out: &mut [[f32; MR]]) {
        let nb = self.k / QK;
        let ws = match &self.blocks {
            Blocks::Q8_0(bs) => Weights::Q8_0(&bs[js.start * nb..js.end * nb]),
            Blocks::Q4_1(bs) => Weights::Q4_1(&bs[js.start * nb..js.end * nb]),
        };
        macro_rules! go {
            ($w:literal, $r:literal) => {
                dot_span::<$r, $w, MR>(ws, a, nb, std::array::from_fn(|d| i + d), out)
            };
        }
        match (w, r) {
            (1, 1) => go!(1, 1),
            (1, 2) => go!(1, 2),
            (1, 3) => go!(1, 3),
            (1, _) => go!(1, 4),
            (_, 1) => go!(2, 1),
            (_, _) => go!(2, 2),
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use candle_core::Device;

    /// Deterministic values in [-1, 1) (xorshift).
    pub(in crate::ops) fn rand(n: usize, seed: u32) -> Vec<f32> {
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
            for m in [1, 2, 3, 4, 5, 70] {
                let (n, k) = (37, 96);
                let w = Tensor::from_vec(rand(n * k, 7), (n, k), &Device::Cpu).unwrap();
                let x = rand(m * k, 11);
                let q = QuantWeight::quantize(&w, kind).unwrap();
                let wd: Vec<f32> = q.dequantize().unwrap().flatten_all().unwrap().to_vec1().unwrap();
                let a = quantize_rows(&x, m, k, false);
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
