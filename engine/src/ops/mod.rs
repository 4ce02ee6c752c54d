//! Fused CPU kernels for the training path, each with its backward written by hand, and
//! inference-only kernels for decoding (panel matmuls, quantized matmuls, attention over the
//! KV cache).
//!
//! Built from candle's basic ops, softmax, RMSNorm, RoPE, SwiGLU and the log-softmax
//! gather each take several passes over memory forwards and more backwards (every
//! intermediate is a new tensor). Each op here is one pass each way, as a candle custom op
//! whose `bwd` is itself one fused pass. They run on f32 CPU tensors; the model falls back
//! to the plain ops elsewhere (CUDA, other dtypes), and `engine/tests/fused_ops.rs` checks values
//! and gradients against the plain ops (1e-4).
//!
//! Shapes: b batch, h heads, t queries, s keys, d head size, e hidden, v vocabulary, n rows.
pub(crate) mod adamw;
mod attention;
mod decode_attention;
pub(crate) mod exp;
mod expf;
mod head_kernels;
mod heads;
mod linear;
mod panels;
mod prefill_attention;
mod quant;
mod quant_dot;
mod rmsnorm;
mod rope;
mod softmax;
mod swiglu;
mod tiles;
mod xent;

pub use attention::{causal_attention, causal_attention_keeping};
pub(crate) use attention::{causal_attention_bwd, causal_attention_probs};
pub(crate) use heads::{merge_heads_bwd, split_heads_bwd};
pub(crate) use linear::linear_bwd;
pub(crate) use rmsnorm::rms_norm_bwd;
pub(crate) use swiglu::swiglu_bwd;
pub use decode_attention::{decode_attention, KvSource};
pub use heads::{merge_heads, split_heads};
pub use linear::linear;
pub use panels::PanelWeight;
pub use prefill_attention::prefill_attention;
pub use quant::{QuantKind, QuantWeight};
pub use rmsnorm::rms_norm;
pub use rope::rope;
pub use softmax::causal_softmax;
pub use swiglu::swiglu;
pub use xent::token_logprobs;

use candle_core::{bail, CpuStorage, DType, Layout, Result, Tensor, WithDType};

/// Whether the fused kernels can run on `x` (f32 on the CPU).
pub fn fusable(x: &Tensor) -> bool {
    x.device().is_cpu() && x.dtype() == DType::F32
}

/// The data of a contiguous CPU tensor argument of element type `T`.
pub(crate) fn data<'a, T: WithDType>(s: &'a CpuStorage, l: &Layout, op: &str) -> Result<&'a [T]> {
    let all = s.as_slice::<T>().map_err(|e| candle_core::Error::Msg(format!("{op}: {e}")))?;
    match l.contiguous_offsets() {
        Some((a, b)) => Ok(&all[a..b]),
        None => bail!("{op}: expects a contiguous tensor"),
    }
}

/// The f32 data of a contiguous CPU tensor argument.
pub(crate) fn f32s<'a>(s: &'a CpuStorage, l: &Layout, op: &str) -> Result<&'a [f32]> {
    data(s, l, op)
}

/// The u32 data of a contiguous CPU tensor argument.
pub(crate) fn u32s<'a>(s: &'a CpuStorage, l: &Layout, op: &str) -> Result<&'a [u32]> {
    data(s, l, op)
}

/// Runs `task` for each of `items`: on rayon's threads when `big` and rayon has more than
/// one, else in order on this thread. Handing work to a pool of one thread gains nothing
/// and costs a wake-up and a wait per call: with `RAYON_NUM_THREADS=1`, about a sixth of a
/// batch-16 decode step through quantized weights (measured with perf, 2-core AMD EPYC).
pub(crate) fn for_each_task<I: Send>(items: impl Iterator<Item = I>, big: bool, task: impl Fn(I) + Sync + Send) {
    use rayon::prelude::*;
    if big && rayon::current_num_threads() > 1 {
        items.collect::<Vec<_>>().into_par_iter().for_each(task);
    } else {
        items.for_each(task);
    }
}

/// The sum of eight lanes in AVX2's pairwise order, `((l0 + l1) + (l2 + l3)) + ((l4 + l5) +
/// (l6 + l7))`: the one order the vector kernels and their portable paths share.
#[inline(always)]
pub(crate) fn sum8(a: &[f32; 8]) -> f32 {
    ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]))
}

/// Each of `R` vectors' eight lanes summed in [`sum8`]'s order, four vectors at a time by
/// horizontal adds: `hadd(hadd(a, b), hadd(c, d))` holds each vector's `(l0 + l1) + (l2 +
/// l3)` in the low half and `(l4 + l5) + (l6 + l7)` in the high one, and the halves add up.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
pub(crate) unsafe fn sum8_avx2<const R: usize>(v: [std::arch::x86_64::__m256; R]) -> [f32; R] {
    use std::arch::x86_64::*;
    let mut out = [0f32; R];
    for c in (0..R).step_by(4) {
        let g = |t: usize| if c + t < R { v[c + t] } else { _mm256_setzero_ps() };
        let h = _mm256_hadd_ps(_mm256_hadd_ps(g(0), g(1)), _mm256_hadd_ps(g(2), g(3)));
        let mut l = [0f32; 4];
        _mm_storeu_ps(l.as_mut_ptr(), _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps::<1>(h)));
        out[c..].iter_mut().zip(l).for_each(|(o, x)| *o = x);
    }
    out
}

/// The spans `(start, len)` of `0..k` over which an `(m, n, k)` product sums, each in one
/// pass, the next added to the result so far.
///
/// gemm splits sums of more than 512 terms itself, at a length it derives from the L1
/// cache's geometry for all but small products: 512 here (8-way 32 KB L1d), 1024 on a 12-way
/// 48 KB L1d. The same sum then rounds differently on another machine. Calling it once per
/// span of at most 512 terms (which it never splits), with the spans gemm takes on this
/// machine (balanced spans; 512 and a rest where `m, n ≤ 64`), keeps these bits and makes
/// them every machine's. One-row products (gemm's vector path) stay whole, and `k = 0` is one
/// empty span (gemm then writes `c` or zeros).
pub(crate) fn k_spans(m: usize, n: usize, k: usize) -> impl Iterator<Item = (usize, usize)> {
    let kc = if k <= 512 || m <= 1 {
        k.max(1)
    } else if m <= 64 && n <= 64 {
        512
    } else {
        k.div_ceil(k.div_ceil(512))
    };
    (0..k.max(1)).step_by(kc).map(move |s| (s, kc.min(k - s)))
}

/// Whether gemm sums one span of an `(m, n, len)` product on its tile kernels: one
/// accumulator an element, from zero, one fused multiply-add a term, in order (so the same
/// bits with `m` and `n` swapped, and [`tiles`]' bits). Its vector paths (one row or column,
/// at most two terms) and its horizontal kernel (at most 256 outputs) sum in other orders.
pub(crate) fn on_tiles(m: usize, n: usize, len: usize) -> bool {
    m > 1 && n > 1 && len > 2 && m * n > 256
}

/// `c (m, n) (+)= a (m, k) · b (k, n)`, each given by (row stride, column stride); `c`'s rows
/// are `c_rs` apart. Adds to `c` when `add`, else overwrites it. Sums over [`k_spans`];
/// `threads > 1` splits the rows and columns between threads (the same bits).
/// SAFETY: the strides address only elements inside `a`, `b` and `c`.
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn gemm_threads(c: *mut f32, c_rs: usize, m: usize, n: usize, k: usize, a: &[f32], a_rs: usize, a_cs: usize, b: &[f32], b_rs: usize, b_cs: usize, add: bool, threads: usize) {
    let par = if threads > 1 { gemm::Parallelism::Rayon(threads) } else { gemm::Parallelism::None };
    for (s, len) in k_spans(m, n, k) {
        let more = add || s > 0;
        gemm::gemm(
            m,
            n,
            len,
            c,
            1,
            c_rs as isize,
            more,
            a.as_ptr().add(s * a_cs),
            a_cs as isize,
            a_rs as isize,
            b.as_ptr().add(s * b_rs),
            b_cs as isize,
            b_rs as isize,
            if more { 1.0 } else { 0.0 },
            1.0,
            false,
            false,
            false,
            par,
        );
    }
}

/// [`gemm_threads`] on one thread into a slice.
/// SAFETY: as [`gemm_threads`].
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn gemm(c: &mut [f32], c_rs: usize, m: usize, n: usize, k: usize, a: &[f32], a_rs: usize, a_cs: usize, b: &[f32], b_rs: usize, b_cs: usize, add: bool) {
    gemm_threads(c.as_mut_ptr(), c_rs, m, n, k, a, a_rs, a_cs, b, b_rs, b_cs, add, 1)
}
