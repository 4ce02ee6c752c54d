//! Attention of one new token per row over its KV cache, in one pass.
//!
//! A decode step's attention is, per row and head, a `(1, d) · (d, s)` product, a softmax
//! over `s` and a `(1, s) · (s, d)` product. As candle ops that is two batched matmuls of
//! `b·h` tiny products each (one gemm call per product), a scale, a bias add and a softmax,
//! each a new tensor. Here it is one loop per row and head, reading the cache where it lies
//! (the preallocated cache's strided view), query heads sharing key/value heads by index
//! (no repeat). Inference only: no backward.
//!
//! Shapes: b rows, h query heads, k key/value heads, s cached positions, d head size.
use super::f32s;
use candle_core::{CpuStorage, CustomOp3, Layout, Result, Shape, Tensor};

struct DecodeAttention<'a> {
    scale: f32,
    /// Additive `(b, s)`: 0 = attend, large negative = masked.
    bias: &'a [f32],
}

/// `softmax(q kᵀ · scale + bias) v` for `q: (b, h, 1, d)`, `k, v: (b, k, s, d)` (any
/// strides with `d` contiguous), `bias: (b, s)` additive -> `(b, h, 1, d)` (f32, CPU).
pub fn decode_attention(q: &Tensor, k: &Tensor, v: &Tensor, bias: &[f32], scale: f32) -> Result<Tensor> {
    q.contiguous()?.apply_op3_no_bwd(k, v, &DecodeAttention { scale, bias })
}

/// Strides of a 4-D layout whose last dim is contiguous, with its start offset.
fn strides4(l: &Layout, what: &str) -> Result<([usize; 3], usize)> {
    let s = l.stride();
    if s.len() != 4 || s[3] != 1 {
        candle_core::bail!("decode-attention: {what} needs 4 dims with the last contiguous, has strides {s:?}");
    }
    Ok(([s[0], s[1], s[2]], l.start_offset()))
}

impl CustomOp3 for DecodeAttention<'_> {
    fn name(&self) -> &'static str {
        "decode-attention"
    }

    fn cpu_fwd(
        &self,
        sq: &CpuStorage,
        lq: &Layout,
        sk: &CpuStorage,
        lk: &Layout,
        sv: &CpuStorage,
        lv: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let q = f32s(sq, lq, self.name())?;
        let (b, h, t, d) = lq.shape().dims4()?;
        let (bk, kh, s, dk) = lk.shape().dims4()?;
        if t != 1 || bk != b || dk != d || lv.shape() != lk.shape() || h % kh != 0 || self.bias.len() != b * s {
            candle_core::bail!(
                "decode-attention: q {:?}, k {:?}, v {:?}, bias of {} do not fit",
                lq.shape(),
                lk.shape(),
                lv.shape(),
                self.bias.len()
            );
        }
        let (kd, vd) = (sk.as_slice::<f32>()?, sv.as_slice::<f32>()?);
        let ((ks, ko), (vs, vo)) = (strides4(lk, "k")?, strides4(lv, "v")?);
        let dims = Dims { b, h, kh, s, d, ks, ko, vs, vo };
        let mut out = vec![0f32; b * h * d];
        #[cfg(target_arch = "x86_64")]
        {
            if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
                // SAFETY: the CPU has AVX2 and FMA.
                unsafe { attend_avx2(&dims, q, kd, vd, self.bias, self.scale, &mut out) };
                return Ok((CpuStorage::F32(out), Shape::from((b, h, 1, d))));
            }
        }
        attend(&dims, q, kd, vd, self.bias, self.scale, &mut out);
        Ok((CpuStorage::F32(out), Shape::from((b, h, 1, d))))
    }
}

/// Sizes, and the cache views' strides and offsets.
struct Dims {
    b: usize,
    h: usize,
    kh: usize,
    s: usize,
    d: usize,
    ks: [usize; 3],
    ko: usize,
    vs: [usize; 3],
    vo: usize,
}

/// [`attend`] compiled for AVX2 + FMA (the rest of the build targets baseline x86-64).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn attend_avx2(m: &Dims, q: &[f32], kd: &[f32], vd: &[f32], bias: &[f32], scale: f32, out: &mut [f32]) {
    attend(m, q, kd, vd, bias, scale, out)
}

#[inline(always)]
fn attend(m: &Dims, q: &[f32], kd: &[f32], vd: &[f32], bias: &[f32], scale: f32, out: &mut [f32]) {
    let (h, s, d) = (m.h, m.s, m.d);
    let n_rep = h / m.kh;
    let mut p = vec![0f32; s];
    for bi in 0..m.b {
        let bias = &bias[bi * s..(bi + 1) * s];
        for hi in 0..h {
            let kv = hi / n_rep;
            let (kbase, vbase) = (m.ko + bi * m.ks[0] + kv * m.ks[1], m.vo + bi * m.vs[0] + kv * m.vs[1]);
            let head = Head {
                q: &q[(bi * h + hi) * d..][..d],
                k: &kd[kbase..],
                v: &vd[vbase..],
                kstep: m.ks[2],
                vstep: m.vs[2],
                bias,
                scale,
            };
            let y = &mut out[(bi * h + hi) * d..][..d];
            // The usual head sizes with the size known at compile time: the products unroll
            // and the output row stays in registers.
            match d {
                32 => head.attend_fixed::<32>(&mut p, y),
                64 => head.attend_fixed::<64>(&mut p, y),
                128 => head.attend_fixed::<128>(&mut p, y),
                _ => head.attend(&mut p, y),
            }
        }
    }
}

/// One row and head: its query, its key/value head's cache from position 0 (rows
/// `kstep`/`vstep` apart), and the row's bias.
struct Head<'a> {
    q: &'a [f32],
    k: &'a [f32],
    v: &'a [f32],
    kstep: usize,
    vstep: usize,
    bias: &'a [f32],
    scale: f32,
}

impl Head<'_> {
    /// Softmax in place over the scaled, biased scores in `p`; returns the normaliser.
    #[inline(always)]
    fn softmax(&self, p: &mut [f32]) -> f32 {
        let mut max = f32::NEG_INFINITY;
        for (pj, &bj) in p.iter_mut().zip(self.bias) {
            *pj = *pj * self.scale + bj;
            max = max.max(*pj);
        }
        let mut sum = 0f32;
        for pj in p.iter_mut() {
            *pj = (*pj - max).exp();
            sum += *pj;
        }
        sum
    }

    #[inline(always)]
    fn attend(&self, p: &mut [f32], y: &mut [f32]) {
        let d = self.q.len();
        for (j, pj) in p.iter_mut().enumerate() {
            *pj = dot(self.q, &self.k[j * self.kstep..][..d]);
        }
        let sum = self.softmax(p);
        for (j, &pj) in p.iter().enumerate() {
            let w = pj / sum;
            for (yc, &vc) in y.iter_mut().zip(&self.v[j * self.vstep..][..d]) {
                *yc += w * vc;
            }
        }
    }

    #[inline(always)]
    fn attend_fixed<const D: usize>(&self, p: &mut [f32], y: &mut [f32]) {
        let q = &self.q[..D];
        for (j, pj) in p.iter_mut().enumerate() {
            let k = &self.k[j * self.kstep..][..D];
            let mut acc = [0f32; 8];
            for c in 0..D / 8 {
                for i in 0..8 {
                    acc[i] += q[c * 8 + i] * k[c * 8 + i];
                }
            }
            *pj = acc.iter().sum::<f32>();
        }
        let sum = self.softmax(p);
        let mut acc = [0f32; D];
        for (j, &pj) in p.iter().enumerate() {
            let w = pj / sum;
            let v = &self.v[j * self.vstep..][..D];
            for c in 0..D {
                acc[c] += w * v[c];
            }
        }
        y[..D].copy_from_slice(&acc);
    }
}

/// Dot product in 8 independent lanes (so it vectorises), then the lanes summed.
#[inline(always)]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca.remainder().iter().zip(cb.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    acc.iter().sum::<f32>() + tail
}
