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
mod head_kernels;
mod panels;
mod prefill_attention;
mod quant;
mod quant_dot;
mod rmsnorm;
mod rope;
mod softmax;
mod swiglu;
mod xent;

pub use attention::causal_attention;
pub use decode_attention::{decode_attention, KvSource};
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

/// The sum of eight lanes in AVX2's pairwise order, `((l0 + l1) + (l2 + l3)) + ((l4 + l5) +
/// (l6 + l7))`: the one order the vector kernels and their portable paths share.
#[inline(always)]
pub(crate) fn sum8(a: &[f32; 8]) -> f32 {
    ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]))
}

/// `c (m, n) (+)= a (m, k) · b (k, n)`, each given by (row stride, column stride); `c`'s rows
/// are `c_rs` apart. Adds to `c` when `add`, else overwrites it.
/// SAFETY: the strides address only elements inside `a`, `b` and `c`.
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn gemm(c: &mut [f32], c_rs: usize, m: usize, n: usize, k: usize, a: &[f32], a_rs: usize, a_cs: usize, b: &[f32], b_rs: usize, b_cs: usize, add: bool) {
    gemm::gemm(
        m,
        n,
        k,
        c.as_mut_ptr(),
        1,
        c_rs as isize,
        add,
        a.as_ptr(),
        a_cs as isize,
        a_rs as isize,
        b.as_ptr(),
        b_cs as isize,
        b_rs as isize,
        if add { 1.0 } else { 0.0 },
        1.0,
        false,
        false,
        false,
        gemm::Parallelism::None,
    );
}
