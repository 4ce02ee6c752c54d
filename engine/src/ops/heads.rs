//! Attention heads out of and back into a projection's rows, with RoPE, for training:
//! [`split_heads`] `(b, t, n·d)` -> `(b, n, t, d)` (rotated by the position tables or not),
//! [`merge_heads`] `(b, n, t, d)` -> `(b, t, n·d)`.
//!
//! Built from candle's ops, splitting is a reshape, a transpose, a copy and the rope kernel,
//! four graph nodes (candle's backward fills a zero tensor and adds into it for each, one
//! of them through a transposed view) where this is one; merging is two. The backward of a
//! split is a merge rotated the other way and the other way round; the rotation is
//! [`super::rope`]'s, the same expressions, so the numbers are its bits (tested).
use super::f32s;
use candle_core::{CpuStorage, CustomOp3, Layout, Result, Shape, Tensor};

#[derive(Clone, Copy, PartialEq)]
enum Dir {
    /// `(b, t, n·d)` -> `(b, n, t, d)`.
    Split,
    /// `(b, n, t, d)` -> `(b, t, n·d)`.
    Merge,
}

struct Heads {
    dir: Dir,
    n: usize,
    /// +1 rotates forwards, -1 backwards (the inverse), 0 copies.
    sign: f32,
}

/// `y: (b, t, n·d)` -> `(b, n, t, d)`, each row rotated by RoPE's `cos, sin: (b, t, d/2)`
/// when given (f32, CPU), differentiable in `y`.
pub fn split_heads(y: &Tensor, n: usize, rope: Option<(&Tensor, &Tensor)>) -> Result<Tensor> {
    let (b, t, _) = y.dims3()?;
    let (cos, sin, sign) = tables(rope, b, t, y)?;
    y.contiguous()?.apply_op3(&cos, &sin, Heads { dir: Dir::Split, n, sign })
}

/// The op's `(cos, sin, sign)`: RoPE's tables and +1, or placeholders of their shape (never
/// read) and 0.
fn tables(rope: Option<(&Tensor, &Tensor)>, b: usize, t: usize, like: &Tensor) -> Result<(Tensor, Tensor, f32)> {
    Ok(match rope {
        Some((c, s)) => (c.contiguous()?, s.contiguous()?, 1.0),
        None => (Tensor::zeros((b, t, 0), like.dtype(), like.device())?, Tensor::zeros((b, t, 0), like.dtype(), like.device())?, 0.0),
    })
}

/// `o: (b, n, t, d)` -> `(b, t, n·d)` (f32, CPU), differentiable.
pub fn merge_heads(o: &Tensor) -> Result<Tensor> {
    let (b, n, t, _) = o.dims4()?;
    let none = Tensor::zeros((b, t, 0), o.dtype(), o.device())?;
    o.contiguous()?.apply_op3(&none, &none, Heads { dir: Dir::Merge, n, sign: 0.0 })
}

/// [`split_heads`]'s backward outside a graph: the gradient of `y (b, t, n·d)` for that of
/// its heads `g (b, n, t, d)` (RoPE undone with the same tables).
pub(crate) fn split_heads_bwd(g: &Tensor, rope: Option<(&Tensor, &Tensor)>) -> Result<Tensor> {
    let (b, n, t, _) = g.dims4()?;
    let (cos, sin, sign) = tables(rope, b, t, g)?;
    g.contiguous()?.apply_op3_no_bwd(&cos, &sin, &Heads { dir: Dir::Merge, n, sign: -sign })
}

/// [`merge_heads`]'s backward outside a graph: the gradient of `o (b, n, t, d)` for that of
/// the merged `g (b, t, n·d)`.
pub(crate) fn merge_heads_bwd(g: &Tensor, n: usize) -> Result<Tensor> {
    let (b, t, _) = g.dims3()?;
    let none = Tensor::zeros((b, t, 0), g.dtype(), g.device())?;
    g.contiguous()?.apply_op3_no_bwd(&none, &none, &Heads { dir: Dir::Split, n, sign: 0.0 })
}

impl Heads {
    /// `(b, t, n, d)` of the op's input shape.
    fn dims(&self, x: &Shape) -> Result<(usize, usize, usize, usize)> {
        match self.dir {
            Dir::Split => {
                let (b, t, nd) = x.dims3()?;
                if self.n == 0 || nd % self.n != 0 {
                    candle_core::bail!("split_heads: {nd} columns are not {} heads", self.n);
                }
                Ok((b, t, self.n, nd / self.n))
            }
            Dir::Merge => {
                let (b, n, t, d) = x.dims4()?;
                Ok((b, t, n, d))
            }
        }
    }
}

impl CustomOp3 for Heads {
    fn name(&self) -> &'static str {
        match self.dir {
            Dir::Split => "split-heads",
            Dir::Merge => "merge-heads",
        }
    }

    fn cpu_fwd(&self, s1: &CpuStorage, l1: &Layout, s2: &CpuStorage, l2: &Layout, s3: &CpuStorage, l3: &Layout) -> Result<(CpuStorage, Shape)> {
        let (b, t, n, d) = self.dims(l1.shape())?;
        let half = d / 2;
        let (x, cos, sin) = (f32s(s1, l1, self.name())?, f32s(s2, l2, self.name())?, f32s(s3, l3, self.name())?);
        if self.sign != 0.0 && (d % 2 != 0 || l2.shape().dims() != [b, t, half] || l3.shape().dims() != [b, t, half]) {
            candle_core::bail!("{}: x {:?}, cos {:?}, sin {:?} disagree", self.name(), l1.shape(), l2.shape(), l3.shape());
        }
        let mut out = vec![0f32; x.len()];
        for bi in 0..b {
            for ti in 0..t {
                let (c, s) = if self.sign != 0.0 { (&cos[(bi * t + ti) * half..][..half], &sin[(bi * t + ti) * half..][..half]) } else { (&[][..], &[][..]) };
                for hi in 0..n {
                    // The row (bi, ti, hi) of the (b, t, n·d) side, (bi, hi, ti) of the other.
                    let bt = ((bi * t + ti) * n + hi) * d;
                    let bh = ((bi * n + hi) * t + ti) * d;
                    let (src, dst) = if self.dir == Dir::Split { (bt, bh) } else { (bh, bt) };
                    let (xr, yr) = (&x[src..][..d], &mut out[dst..][..d]);
                    if self.sign == 0.0 {
                        yr.copy_from_slice(xr);
                    } else {
                        super::rope::rotate(xr, yr, c, s, self.sign);
                    }
                }
            }
        }
        let shape = match self.dir {
            Dir::Split => Shape::from((b, n, t, d)),
            Dir::Merge => Shape::from((b, t, n * d)),
        };
        Ok((CpuStorage::F32(out), shape))
    }

    fn bwd(&self, _x: &Tensor, cos: &Tensor, sin: &Tensor, _y: &Tensor, g: &Tensor) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let back = Heads { dir: if self.dir == Dir::Split { Dir::Merge } else { Dir::Split }, n: self.n, sign: -self.sign };
        let dx = g.contiguous()?.apply_op3_no_bwd(cos, sin, &back)?;
        Ok((Some(dx), None, None))
    }
}
