//! Attention of one new token per row over its KV cache, in one pass.
//!
//! A decode step's attention is, per row and head, a `(1, d) · (d, s)` product, a softmax
//! over `s` and a `(1, s) · (s, d)` product. As candle ops that is two batched matmuls of
//! `b·h` tiny products each (one gemm call per product), a scale, a bias add and a softmax,
//! each a new tensor. Here it is one loop per row and head, reading the cache where it lies
//! (the preallocated cache's strided view), query heads sharing key/value heads by index
//! (no repeat). The cached positions may come from several sources in order, each shared by
//! a number of consecutive rows: a prompt's keys once for its N samples, then each sample's
//! own. Inference only: no backward.
//!
//! Shapes: b rows, h query heads, k key/value heads, s cached positions, d head size.
use super::head_kernels::{self, Rows};
use candle_core::{Layout, Result, Storage, Tensor};

/// Cached keys and values `k, v: (b / rows_per, k, s, d)` (any strides with `d`
/// contiguous), row `r` of the batch reading row `r / rows_per`.
pub struct KvSource<'a> {
    pub k: &'a Tensor,
    pub v: &'a Tensor,
    pub rows_per: usize,
}

/// `softmax(q kᵀ · scale + bias) v` for `q: (b, h, 1, d)` over the positions of `sources`
/// in order, `bias: (b, s)` additive over all of them -> `(b, h, 1, d)` (f32, CPU).
pub fn decode_attention(q: &Tensor, sources: &[KvSource], bias: &[f32], scale: f32) -> Result<Tensor> {
    let q = q.contiguous()?;
    let (b, h, t, d) = q.dims4()?;
    let (qs, ql) = q.storage_and_layout();
    let qd = &cpu_f32(&qs, "q")?[ql.start_offset()..][..b * h * d];
    let guards: Vec<_> = sources.iter().map(|s| (s.k.storage_and_layout(), s.v.storage_and_layout())).collect();
    if t != 1 {
        candle_core::bail!("decode-attention: expects one query per row, q is {:?}", q.shape());
    }
    let (srcs, total) = gather(sources, &guards, (b, h, d), "decode-attention")?;
    if bias.len() != b * total {
        candle_core::bail!("decode-attention: bias of {} for {b} rows × {total} positions", bias.len());
    }
    let dims = Dims { b, h, d, total };
    let mut out = vec![0f32; b * h * d];
    #[cfg(target_arch = "x86_64")]
    {
        if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            // SAFETY: the CPU has AVX2 and FMA.
            unsafe { attend_avx2(&dims, qd, &srcs, bias, scale, &mut out) };
            return Tensor::from_vec(out, (b, h, 1, d), q.device());
        }
    }
    attend(&dims, qd, &srcs, bias, scale, &mut out);
    Tensor::from_vec(out, (b, h, 1, d), q.device())
}

/// Each source's data, strides and sharing, checked against `(b, h, d)` of the queries, and
/// the positions over all of them.
/// `guards` are the sources' locked key and value storages.
pub(super) fn gather<'a, G: std::ops::Deref<Target = Storage>>(
    sources: &[KvSource],
    guards: &'a [((G, &Layout), (G, &Layout))],
    (b, h, d): (usize, usize, usize),
    op: &str,
) -> Result<(Vec<Src<'a>>, usize)> {
    let mut srcs = Vec::with_capacity(sources.len());
    let mut total = 0;
    for (src, ((ks, kl), (vs, vl))) in sources.iter().zip(guards) {
        let (rows, kh, s, dk) = kl.shape().dims4()?;
        if dk != d || vl.shape() != kl.shape() || h % kh != 0 || src.rows_per == 0 || rows * src.rows_per != b {
            candle_core::bail!(
                "{op}: queries of {b} rows, {h} heads of {d} do not fit keys {:?} / values {:?} shared by {} rows",
                kl.shape(),
                vl.shape(),
                src.rows_per
            );
        }
        let ((kst, ko), (vst, vo)) = (strides4(kl, "k")?, strides4(vl, "v")?);
        srcs.push(Src { k: &cpu_f32(ks, "k")?[ko..], v: &cpu_f32(vs, "v")?[vo..], ks: kst, vs: vst, kh, s, rows_per: src.rows_per });
        total += s;
    }
    Ok((srcs, total))
}

pub(super) fn cpu_f32<'a>(s: &'a Storage, what: &str) -> Result<&'a [f32]> {
    match s {
        Storage::Cpu(c) => c.as_slice::<f32>(),
        _ => candle_core::bail!("decode-attention: {what} is not an f32 CPU tensor"),
    }
}

/// Strides of a 4-D layout whose last dim is contiguous.
fn strides4(l: &Layout, what: &str) -> Result<([usize; 3], usize)> {
    let s = l.stride();
    if s.len() != 4 || s[3] != 1 {
        candle_core::bail!("decode-attention: {what} needs 4 dims with the last contiguous, has strides {s:?}");
    }
    Ok(([s[0], s[1], s[2]], l.start_offset()))
}

/// Sizes: rows, query heads, head size, positions over all sources.
struct Dims {
    b: usize,
    h: usize,
    d: usize,
    total: usize,
}

/// One source's data from its view's start, strides, key/value heads, positions, sharing.
pub(super) struct Src<'a> {
    pub k: &'a [f32],
    pub v: &'a [f32],
    pub ks: [usize; 3],
    pub vs: [usize; 3],
    pub kh: usize,
    pub s: usize,
    pub rows_per: usize,
}

/// [`attend`] compiled for AVX2 + FMA (the rest of the build targets baseline x86-64).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn attend_avx2(m: &Dims, q: &[f32], srcs: &[Src], bias: &[f32], scale: f32, out: &mut [f32]) {
    attend(m, q, srcs, bias, scale, out)
}

#[inline(always)]
fn attend(m: &Dims, q: &[f32], srcs: &[Src], bias: &[f32], scale: f32, out: &mut [f32]) {
    let (h, d, total) = (m.h, m.d, m.total);
    let mut p = vec![0f32; total];
    let mut segs: Vec<Seg> = Vec::with_capacity(srcs.len());
    for bi in 0..m.b {
        for hi in 0..h {
            segs.clear();
            for s in srcs {
                let (row, kv) = (bi / s.rows_per, hi / (h / s.kh));
                segs.push(Seg {
                    k: &s.k[row * s.ks[0] + kv * s.ks[1]..],
                    v: &s.v[row * s.vs[0] + kv * s.vs[1]..],
                    kstep: s.ks[2],
                    vstep: s.vs[2],
                    s: s.s,
                });
            }
            let head = Head { q: &q[(bi * h + hi) * d..][..d], segs: &segs, bias: &bias[bi * total..(bi + 1) * total], scale };
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

/// One source's positions for one row and head: keys and values from position 0, rows
/// `kstep`/`vstep` apart.
struct Seg<'a> {
    k: &'a [f32],
    v: &'a [f32],
    kstep: usize,
    vstep: usize,
    s: usize,
}

impl Seg<'_> {
    fn key(&self, j: usize, d: usize) -> &[f32] {
        &self.k[j * self.kstep..][..d]
    }
    fn value(&self, j: usize, d: usize) -> &[f32] {
        &self.v[j * self.vstep..][..d]
    }
}

/// One row and head: its query, its positions' sources in order, and the row's bias.
struct Head<'a> {
    q: &'a [f32],
    segs: &'a [Seg<'a>],
    bias: &'a [f32],
    scale: f32,
}

impl Head<'_> {
    /// Softmax in place over the scaled, biased scores in `p`; returns the normaliser.
    #[inline(always)]
    fn softmax(&self, p: &mut [f32]) -> f32 {
        let max = super::exp::scale_add_max(p, self.scale, self.bias);
        super::exp::exp_sum(p, max)
    }

    #[inline(always)]
    fn attend(&self, p: &mut [f32], y: &mut [f32]) {
        let d = self.q.len();
        let mut j = 0;
        for seg in self.segs {
            for i in 0..seg.s {
                p[j] = dot(self.q, seg.key(i, d));
                j += 1;
            }
        }
        let sum = self.softmax(p);
        let mut j = 0;
        for seg in self.segs {
            for i in 0..seg.s {
                let w = p[j] / sum;
                for (yc, &vc) in y.iter_mut().zip(seg.value(i, d)) {
                    *yc += w * vc;
                }
                j += 1;
            }
        }
    }

    /// [`Head::attend`] for a head size known at compile time, through [`head_kernels`]:
    /// eight keys at a time, the output row in registers.
    #[inline(always)]
    fn attend_fixed<const D: usize>(&self, p: &mut [f32], y: &mut [f32]) {
        let mut j = 0;
        for seg in self.segs {
            head_kernels::scores::<D>(self.q, Rows { data: seg.k, step: seg.kstep, n: seg.s }, &mut p[j..]);
            j += seg.s;
        }
        let inv = 1.0 / self.softmax(p);
        let mut acc = [0f32; D];
        let mut j = 0;
        for seg in self.segs {
            head_kernels::weighted::<D>(&p[j..], inv, Rows { data: seg.v, step: seg.vstep, n: seg.s }, &mut acc);
            j += seg.s;
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
