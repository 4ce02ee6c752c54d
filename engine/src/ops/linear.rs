//! A linear layer's product for training as one op: `y = x · wᵀ`, `x: (.., i)`, `w: (o, i)`
//! -> `(.., o)`. Backward: `dx = g · w`, `dw = gᵀ · x`.
//!
//! candle_nn's `Linear` builds it from a reshape, a transpose, a matmul and a reshape: four
//! graph nodes, and candle's backward fills a zero tensor and adds into it for every node
//! (two of them activation-sized), then adds the weight's gradient through a transposed
//! view (a strided add). This op is one node. It makes the gemm calls candle's matmul and
//! its backward make (the same shapes, strides and threads), so its values and gradients
//! are candle's bits (tested); the weight's gradient, which candle computes `(i, o)` and
//! transposes, is computed `(o, i)` at once where gemm's tile kernels sum it (the same sums,
//! term for term). Sums of more than 512 terms are split where gemm splits them on this kind
//! of machine, on every machine ([`super::k_spans`]; tested against products of at most 512
//! terms added in order), so training's bits do not depend on the L1 cache.
use super::f32s;
use candle_core::{CpuStorage, CustomOp2, Layout, Result, Shape, Tensor};

struct LinearOp;

/// `x · wᵀ` for f32 CPU tensors, differentiable in both; `x` contiguous (as candle_nn's
/// `Linear` takes it through one 2-d matmul).
pub fn linear(x: &Tensor, w: &Tensor) -> Result<Tensor> {
    x.apply_op2(&w.contiguous()?, LinearOp)
}

/// `(rows, i, o)` of `x: (.., i)` and `w: (o, i)`.
fn dims(x: &Shape, w: &Shape) -> Result<(usize, usize, usize)> {
    let (o, i) = w.dims2()?;
    match x.dims().last() {
        Some(&xi) if xi == i => Ok((x.elem_count() / i.max(1), i, o)),
        _ => candle_core::bail!("linear: x {x:?} and weight {w:?} disagree"),
    }
}

/// `c (m, n) = a · b`, `a` and `b` given by (row stride, column stride), `c` row-major, as
/// candle's CPU matmul calls gemm (threads as candle picks them), with the sums split where
/// gemm splits them on an 8-way 32 KB L1d, on every machine ([`super::k_spans`]).
/// SAFETY: the strides address only elements inside `a` and `b`.
#[allow(clippy::too_many_arguments)]
unsafe fn matmul(m: usize, n: usize, k: usize, a: &[f32], a_rs: usize, a_cs: usize, b: &[f32], b_rs: usize, b_cs: usize) -> Vec<f32> {
    let threads = candle_core::utils::get_num_threads();
    let mut c: Vec<f32> = Vec::with_capacity(m * n);
    // The first span's pass writes every element of c without reading it (`add` false).
    super::gemm_threads(c.as_mut_ptr(), n, m, n, k, a, a_rs, a_cs, b, b_rs, b_cs, false, threads);
    c.set_len(m * n);
    c
}

/// [`linear`]'s backward outside a graph: `(dx, dw)` for the output gradient `g`.
pub(crate) fn linear_bwd(x: &Tensor, w: &Tensor, g: &Tensor) -> Result<(Tensor, Tensor)> {
    match LinearOp.bwd(x, w, g, g)? {
        (Some(dx), Some(dw)) => Ok((dx, dw)),
        _ => candle_core::bail!("linear-bwd: no gradient"),
    }
}

impl CustomOp2 for LinearOp {
    fn name(&self) -> &'static str {
        "linear"
    }

    fn cpu_fwd(&self, s1: &CpuStorage, l1: &Layout, s2: &CpuStorage, l2: &Layout) -> Result<(CpuStorage, Shape)> {
        let (rows, i, o) = dims(l1.shape(), l2.shape())?;
        let (x, w) = (f32s(s1, l1, self.name())?, f32s(s2, l2, self.name())?);
        // SAFETY: x is (rows, i) and w (o, i) row-major; wᵀ is w with its strides swapped.
        let y = unsafe { matmul(rows, o, i, x, i, 1, w, 1, i) };
        let mut dims = l1.shape().dims().to_vec();
        *dims.last_mut().expect("checked") = o;
        Ok((CpuStorage::F32(y), Shape::from(dims)))
    }

    fn bwd(&self, x: &Tensor, w: &Tensor, _y: &Tensor, g: &Tensor) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let g = g.contiguous()?;
        let (rows, i, o) = dims(x.shape(), w.shape())?;
        let (dx, dw) = {
            let guards = [x, w, &g].map(|t| t.storage_and_layout());
            let cpu = |k: usize| match &*guards[k].0 {
                candle_core::Storage::Cpu(c) => f32s(c, guards[k].1, "linear-bwd"),
                _ => candle_core::bail!("linear-bwd: expects CPU tensors"),
            };
            let (x, w, g) = (cpu(0)?, cpu(1)?, cpu(2)?);
            // SAFETY: g is (rows, o), w (o, i) and x (rows, i), row-major; a transpose is the
            // same data with its strides swapped.
            let dx = unsafe { matmul(rows, i, o, g, o, 1, w, i, 1) };
            // candle's weight gradient is (xᵀ · g) transposed. Each element is the same sum
            // either way round (gemm's kernels: one fused multiply-add a term, in order, in
            // the same spans), so gᵀ · x gives those numbers laid out (o, i) at once; but for
            // the products gemm sums on its other paths (tiny weights, one or two rows).
            if super::k_spans(o, i, rows).all(|(_, len)| super::on_tiles(o, i, len)) {
                (dx, unsafe { matmul(o, i, rows, g, 1, o, x, i, 1) })
            } else {
                let dwt = unsafe { matmul(i, o, rows, x, 1, i, g, o, 1) };
                let mut dw = vec![0f32; o * i];
                for (r, row) in dwt.chunks_exact(o).enumerate() {
                    for (c, &v) in row.iter().enumerate() {
                        dw[c * i + r] = v;
                    }
                }
                (dx, dw)
            }
        };
        let dev = x.device();
        Ok((Some(Tensor::from_vec(dx, x.shape(), dev)?), Some(Tensor::from_vec(dw, w.shape(), dev)?)))
    }
}
