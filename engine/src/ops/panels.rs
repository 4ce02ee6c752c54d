//! Projections of a few rows for decoding: `x (m, k) · W (k, n)` against weights packed
//! once into panels of 8 output columns.
//!
//! A decode step multiplies a handful of rows (one per sequence) by each weight matrix.
//! candle's CPU matmul re-packs the `(out, in)` weight on every such call, and on the
//! transposed `(in, out)` copy its unpacked kernel strides across cache lines; either way
//! it is far from the FMA peak at m = 8. Here `W` is stored as `⌈n/8⌉` panels, each `k × 8`
//! contiguous, so a block of up to 8 rows streams every panel once, front to back, with
//! the block's accumulators in registers (AVX2 + FMA where the CPU has them, plain Rust
//! elsewhere). Inference only: no backward.
//!
//! Shapes: m rows, k inputs, n outputs.
use super::f32s;
use candle_core::{CpuStorage, CustomOp1, Layout, Result, Shape, Tensor};

/// Output columns per panel (one AVX2 register of f32).
const NR: usize = 8;

/// A weight matrix `(k, n)` in panels: panel `j` holds columns `8j..8j+8` as `k` rows of 8
/// (zero-padded past `n`).
#[derive(Debug, Clone)]
pub struct PanelWeight {
    k: usize,
    n: usize,
    data: Vec<f32>,
}

impl PanelWeight {
    /// Packs a Hugging Face linear weight `w: (n, k)` (out, in), so that
    /// [`PanelWeight::matmul`] computes `x · wᵀ`.
    pub fn from_out_in(w: &Tensor) -> Result<Self> {
        let (n, k) = w.dims2()?;
        let rows: Vec<Vec<f32>> = w.to_dtype(candle_core::DType::F32)?.to_vec2()?;
        let panels = n.div_ceil(NR);
        let mut data = vec![0f32; panels * k * NR];
        for (col, row) in rows.iter().enumerate() {
            let (j, c) = (col / NR, col % NR);
            for (kk, &v) in row.iter().enumerate() {
                data[j * k * NR + kk * NR + c] = v;
            }
        }
        Ok(Self { k, n, data })
    }

    /// `x: (m, k)` (f32, CPU) -> `x · W: (m, n)`.
    pub fn matmul(&self, x: &Tensor) -> Result<Tensor> {
        x.contiguous()?.apply_op1_no_bwd(self)
    }
}

impl CustomOp1 for PanelWeight {
    fn name(&self) -> &'static str {
        "panel-matmul"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let x = f32s(s, l, self.name())?;
        let (m, k) = l.shape().dims2()?;
        if k != self.k {
            candle_core::bail!("panel-matmul: x has {k} columns, the weight {} rows", self.k);
        }
        Ok((CpuStorage::F32(matmul(x, m, k, &self.data, self.n)), Shape::from((m, self.n))))
    }
}

/// Bytes of panels that every block of rows reads in turn while they stay in the core's
/// L2 cache (512 KiB on the AMD EPYC measured; most x86 cores have at least 256 KiB).
const GROUP_BYTES: usize = 160 << 10;

/// `x (m, k)` row-major times the panels of a `(k, n)` matrix -> `(m, n)` row-major.
///
/// The panels go in groups of about [`GROUP_BYTES`], and every block of rows reads a group
/// before the next is loaded: at 32 rows the weights stream from memory once per step, not
/// once per block of 6 rows. Each output is summed over `k` in the same order either way.
fn matmul(x: &[f32], m: usize, k: usize, w: &[f32], n: usize) -> Vec<f32> {
    let mut y = vec![0f32; m * n];
    let panels = n.div_ceil(NR);
    // A multiple of 8 panels, so that every block's panels-at-a-time divides it.
    let group = ((GROUP_BYTES / (k * NR * 4).max(1)) / 8 * 8).max(8);
    for p0 in (0..panels).step_by(group) {
        let p1 = (p0 + group).min(panels);
        let mut r0 = 0;
        while r0 < m {
            let mr = (m - r0).min(6);
            let (xs, ys) = (&x[r0 * k..(r0 + mr) * k], &mut y[r0 * n..(r0 + mr) * n]);
            // The last block of rows asks for the next group's panels while it works on
            // this group's (from the cache by then): the next group's first block finds
            // them there instead of waiting on memory.
            let ahead = if r0 > 0 && r0 + mr == m && p1 < panels { group * k * NR } else { 0 };
            // Fewer rows, more panels at once: every block keeps ≥ 5 independent
            // accumulator chains (FMA latency) within the 16 vector registers.
            match mr {
                6 => rows::<6, 2>(xs, k, w, ys, n, p0..p1, ahead),
                5 => rows::<5, 2>(xs, k, w, ys, n, p0..p1, ahead),
                4 => rows::<4, 2>(xs, k, w, ys, n, p0..p1, ahead),
                3 => rows::<3, 4>(xs, k, w, ys, n, p0..p1, ahead),
                2 => rows::<2, 4>(xs, k, w, ys, n, p0..p1, ahead),
                _ => rows::<1, 8>(xs, k, w, ys, n, p0..p1, ahead),
            }
            r0 += mr;
        }
    }
    y
}

/// `MR` rows against the panels in `range`, `NP` panels at a time (then one at a time at
/// the end); the panels `ahead` floats further on are prefetched as they go (0: none).
#[allow(clippy::too_many_arguments)]
fn rows<const MR: usize, const NP: usize>(x: &[f32], k: usize, w: &[f32], y: &mut [f32], n: usize, range: std::ops::Range<usize>, ahead: usize) {
    let mut j = range.start;
    while j + NP <= range.end {
        block::<MR, NP>(x, k, &w[j * k * NR..(j + NP) * k * NR], y, n, j * NR, ahead);
        j += NP;
    }
    while j < range.end {
        block::<MR, 1>(x, k, &w[j * k * NR..(j + 1) * k * NR], y, n, j * NR, ahead);
        j += 1;
    }
}

/// `y[.., col0..col0 + 8·NP] = x · panels`, for `x: MR × k`, `w: NP` panels; prefetches as
/// many bytes `ahead` floats on (0: none).
fn block<const MR: usize, const NP: usize>(x: &[f32], k: usize, w: &[f32], y: &mut [f32], n: usize, col0: usize, ahead: usize) {
    assert!(x.len() >= MR * k && w.len() >= NP * k * NR && y.len() >= MR * n);
    let mut acc = [[[0f32; NR]; NP]; MR];
    #[cfg(target_arch = "x86_64")]
    {
        if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            // SAFETY: the CPU has AVX2 and FMA; the assert above bounds every access (a
            // prefetch reads nothing).
            unsafe { block_avx2::<MR, NP>(x, k, w, &mut acc, ahead) };
            store::<MR, NP>(&acc, y, n, col0);
            return;
        }
    }
    for kk in 0..k {
        for (r, acc_r) in acc.iter_mut().enumerate() {
            let xv = x[r * k + kk];
            for (p, a) in acc_r.iter_mut().enumerate() {
                let wv = &w[p * k * NR + kk * NR..][..NR];
                for c in 0..NR {
                    a[c] += xv * wv[c];
                }
            }
        }
    }
    store::<MR, NP>(&acc, y, n, col0);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn block_avx2<const MR: usize, const NP: usize>(x: &[f32], k: usize, w: &[f32], out: &mut [[[f32; NR]; NP]; MR], ahead: usize) {
    use std::arch::x86_64::*;
    let (xp, wp) = (x.as_ptr(), w.as_ptr());
    let mut acc = [[_mm256_setzero_ps(); NP]; MR];
    for kk in 0..k {
        if ahead > 0 && kk % 2 == 0 {
            // This step's and the next one's rows of each panel (one cache line), a group on.
            for p in 0..NP {
                _mm_prefetch::<_MM_HINT_T0>(wp.wrapping_add(ahead + p * k * NR + kk * NR) as *const i8);
            }
        }
        let mut wv = [_mm256_setzero_ps(); NP];
        for (p, v) in wv.iter_mut().enumerate() {
            *v = _mm256_loadu_ps(wp.add(p * k * NR + kk * NR));
        }
        for (r, acc_r) in acc.iter_mut().enumerate() {
            let xb = _mm256_set1_ps(*xp.add(r * k + kk));
            for (a, v) in acc_r.iter_mut().zip(&wv) {
                *a = _mm256_fmadd_ps(xb, *v, *a);
            }
        }
    }
    for (o, a) in out.iter_mut().zip(&acc) {
        for (op, ap) in o.iter_mut().zip(a) {
            _mm256_storeu_ps(op.as_mut_ptr(), *ap);
        }
    }
}

/// Writes the accumulators into `y`'s columns `col0..`, clipped to `n`.
fn store<const MR: usize, const NP: usize>(acc: &[[[f32; NR]; NP]; MR], y: &mut [f32], n: usize, col0: usize) {
    for (r, acc_r) in acc.iter().enumerate() {
        for (p, a) in acc_r.iter().enumerate() {
            let c = col0 + p * NR;
            if c >= n {
                break;
            }
            let len = (n - c).min(NR);
            y[r * n + c..r * n + c + len].copy_from_slice(&a[..len]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Against a plain triple loop in f64, every row count of the dispatch (1..=8 and a
    /// second block), `n` not a multiple of 8 and not of `8·NP`.
    #[test]
    fn equals_the_plain_product() {
        // A panel is k·8·4 bytes: k 37 gives one group (6 panels), k 1200 groups of 8 (46 panels).
        for (k, n) in [(37, 45), (1200, 45 * 8 + 3)] {
            product_check(k, n);
        }
    }

    fn product_check(k: usize, n: usize) {
        let w: Vec<f32> = (0..n * k).map(|i| ((i * 7919 % 1000) as f32 / 500.0) - 1.0).collect();
        let wt = Tensor::from_vec(w.clone(), (n, k), &candle_core::Device::Cpu).unwrap();
        let pw = PanelWeight::from_out_in(&wt).unwrap();
        for m in 1..=19 {
            let x: Vec<f32> = (0..m * k).map(|i| ((i * 104729 % 1000) as f32 / 500.0) - 1.0).collect();
            let y = matmul(&x, m, k, &pw.data, n);
            for r in 0..m {
                for c in 0..n {
                    let want: f64 = (0..k).map(|i| x[r * k + i] as f64 * w[c * k + i] as f64).sum();
                    assert!((y[r * n + c] as f64 - want).abs() < 1e-4, "m {m} row {r} col {c}: {} vs {want}", y[r * n + c]);
                }
            }
        }
    }
}
