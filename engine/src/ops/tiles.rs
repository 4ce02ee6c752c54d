//! The attention's small products with gemm's bits, each operand packed once per slice.
//!
//! The training attention multiplies 64-row blocks of one `(b, h)` slice at a time
//! (`(64, ≤ s) · (≤ s, d)` and the like): at `t = 256, d = 64` a 3.4M model made ~2,000
//! such gemm calls a step, and each packed its right-hand operand again (the same `kᵀ` for
//! every row block): packing and per-call setup took a quarter of the attention's time
//! (perf, 2-core AMD EPYC). Here the right-hand operand is packed once per slice into
//! [`Panels`] (sixteen columns a panel, each panel's rows contiguous, so that a panel sits
//! in L1 without the conflicts of a power-of-two row stride), and the left one is read in
//! place, an element at a time.
//!
//! The bits are gemm's: gemm's kernels give every output element one accumulator, start it
//! at zero and fuse-multiply-add the terms into it in order, a span of at most 512 terms at
//! a time ([`super::k_spans`]), then write it (or add it to the result so far). This does
//! the same, six rows by sixteen columns a tile (twelve AVX2 accumulators, or sixteen-lane
//! arrays of `mul_add` without AVX2 and FMA), and tests check it against gemm bit for bit
//! (for the products gemm makes on its other paths, summing in other orders, it calls gemm:
//! one row or column, at most two terms, at most 256 outputs).

/// Sixteen columns a panel.
const NR: usize = 16;

/// A `(k, n)` right-hand operand in panels of [`NR`] columns: panel `j` holds columns
/// `16j..16j + 16` of every row, row after row (the last panel padded with zeros).
/// It keeps the operand itself too, for the products gemm makes on its other paths.
#[derive(Default)]
pub(crate) struct Panels<'a> {
    data: Vec<f32>,
    k: usize,
    n: usize,
    /// The operand and its (row stride, column stride).
    src: (&'a [f32], usize, usize),
}

impl<'a> Panels<'a> {
    /// Packs `b (k, n)`, given by (row stride, column stride), reusing this buffer.
    pub(crate) fn pack(&mut self, b: &'a [f32], k: usize, n: usize, b_rs: usize, b_cs: usize) {
        assert!(k == 0 || n == 0 || b.len() > (k - 1) * b_rs + (n - 1) * b_cs, "tiles::Panels: ({k}, {n}) with strides ({b_rs}, {b_cs}) outside {} elements", b.len());
        // The last panel's padding is never written out: whatever it holds is left there.
        self.data.resize(n.div_ceil(NR) * k * NR, 0.0);
        (self.k, self.n, self.src) = (k, n, (b, b_rs, b_cs));
        for (j, panel) in self.data.chunks_exact_mut(k * NR).enumerate() {
            let cols = (n - j * NR).min(NR);
            let b = &b[j * NR * b_cs..];
            if b_cs == 1 {
                for (p, row) in panel.chunks_exact_mut(NR).enumerate() {
                    match cols {
                        NR => row.copy_from_slice(&b[p * b_rs..][..NR]), // a fixed-size copy, inlined
                        _ => row[..cols].copy_from_slice(&b[p * b_rs..][..cols]),
                    }
                }
            } else if b_rs == 1 {
                // A transposed operand: each column is contiguous.
                for x in 0..cols {
                    for (p, &v) in b[x * b_cs..][..k].iter().enumerate() {
                        panel[p * NR + x] = v;
                    }
                }
            } else {
                for (p, row) in panel.chunks_exact_mut(NR).enumerate() {
                    for (x, out) in row[..cols].iter_mut().enumerate() {
                        *out = b[p * b_rs + x * b_cs];
                    }
                }
            }
        }
    }
}

/// `c (m, n) = a (m, k) · b[r0..r0 + k, ..n]`: `a` given by (row stride, column stride),
/// `c`'s rows `c_rs` apart. Overwrites `c`, with the bits gemm gives the same product.
/// SAFETY: `a`'s strides address only elements inside it; `c` holds `(m - 1)·c_rs + n`.
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn matmul(c: &mut [f32], c_rs: usize, m: usize, n: usize, k: usize, a: &[f32], a_rs: usize, a_cs: usize, b: &Panels, r0: usize) {
    matmul_on(Kernel::fastest(), c, c_rs, m, n, k, a, a_rs, a_cs, b, r0)
}

/// The tile kernels: the same numbers on every one.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kernel {
    /// Twelve AVX2 accumulators (x86-64 with AVX2 and FMA).
    #[cfg(target_arch = "x86_64")]
    Avx2,
    /// Sixteen-lane arrays of `mul_add`: any CPU.
    Portable,
}

impl Kernel {
    fn fastest() -> Self {
        #[cfg(target_arch = "x86_64")]
        if super::expf::vectorised() {
            return Kernel::Avx2;
        }
        Kernel::Portable
    }

    /// `R` rows by one panel.
    #[inline(always)]
    unsafe fn tile<const R: usize>(self, args: Args) {
        match self {
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2 => avx2::tile::<R>(args),
            Kernel::Portable => portable::<R>(args),
        }
    }
}

/// [`matmul`] on the given kernel.
#[allow(clippy::too_many_arguments)]
unsafe fn matmul_on(kernel: Kernel, c: &mut [f32], c_rs: usize, m: usize, n: usize, k: usize, a: &[f32], a_rs: usize, a_cs: usize, b: &Panels, r0: usize) {
    assert!(r0 + k <= b.k && n <= b.n, "tiles::matmul: rows {r0}..{} and {n} columns of a ({}, {}) operand", r0 + k, b.k, b.n);
    debug_assert!(m == 0 || n == 0 || c.len() >= (m - 1) * c_rs + n);
    debug_assert!(m == 0 || k == 0 || a.len() > (m - 1) * a_rs + (k - 1) * a_cs);
    for (s, len) in super::k_spans(m, n, k) {
        if !super::on_tiles(m, n, len) {
            // gemm's other paths sum in other orders: gemm itself for those.
            let (src, rs, cs) = b.src;
            super::gemm(c, c_rs, m, n, len, &a[s * a_cs..], a_rs, a_cs, &src[(r0 + s) * rs..], rs, cs, s > 0);
            continue;
        }
        for j in 0..n.div_ceil(NR) {
            let panel = b.data.as_ptr().add(j * b.k * NR + (r0 + s) * NR);
            let (cj, cols) = (c.as_mut_ptr().add(j * NR), (n - j * NR).min(NR));
            let mut i = 0;
            while i < m {
                let rows = (m - i).min(6);
                let args = (cj.add(i * c_rs), c_rs, cols, len, a.as_ptr().add(i * a_rs + s * a_cs), a_rs, a_cs, panel, s > 0);
                match rows {
                    6 => kernel.tile::<6>(args),
                    5 => kernel.tile::<5>(args),
                    4 => kernel.tile::<4>(args),
                    3 => kernel.tile::<3>(args),
                    2 => kernel.tile::<2>(args),
                    _ => kernel.tile::<1>(args),
                }
                i += rows;
            }
        }
    }
}

/// `(c, c_rs, columns to write, terms, a, a_rs, a_cs, panel rows, add)`.
type Args = (*mut f32, usize, usize, usize, *const f32, usize, usize, *const f32, bool);

/// Writes (or adds) `R` rows of sixteen accumulated lanes, the first `cols` of each.
#[inline(always)]
unsafe fn store<const R: usize>(acc: &[[f32; NR]; R], c: *mut f32, c_rs: usize, cols: usize, add: bool) {
    for (r, acc) in acc.iter().enumerate() {
        for (x, &v) in acc.iter().enumerate().take(cols) {
            let dst = c.add(r * c_rs + x);
            *dst = if add { *dst + v } else { v };
        }
    }
}

/// The tile in plain code: one `mul_add` (a fused multiply-add) a term, as the AVX2 kernel.
#[inline(always)]
unsafe fn portable<const R: usize>((c, c_rs, cols, k, a, a_rs, a_cs, b, add): Args) {
    let mut acc = [[0f32; NR]; R];
    for p in 0..k {
        let bp = std::slice::from_raw_parts(b.add(p * NR), NR);
        for (r, acc) in acc.iter_mut().enumerate() {
            let x = *a.add(r * a_rs + p * a_cs);
            for (acc, &y) in acc.iter_mut().zip(bp) {
                *acc = x.mul_add(y, *acc);
            }
        }
    }
    store(&acc, c, c_rs, cols, add)
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::{Args, NR};
    use std::arch::x86_64::*;

    /// `R` rows by sixteen columns: one accumulator an element, from zero, one fused
    /// multiply-add a term, in order.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn tile<const R: usize>((c, c_rs, cols, k, a, a_rs, a_cs, b, add): Args) {
        let mut acc = [[_mm256_setzero_ps(); 2]; R];
        for p in 0..k {
            let bp = b.add(p * NR);
            let (b0, b1) = (_mm256_loadu_ps(bp), _mm256_loadu_ps(bp.add(8)));
            let ap = a.add(p * a_cs);
            for (r, acc) in acc.iter_mut().enumerate() {
                let x = _mm256_set1_ps(*ap.add(r * a_rs));
                acc[0] = _mm256_fmadd_ps(x, b0, acc[0]);
                acc[1] = _mm256_fmadd_ps(x, b1, acc[1]);
            }
        }
        if cols == NR {
            for (r, acc) in acc.iter().enumerate() {
                for (v, &acc) in acc.iter().enumerate() {
                    let dst = c.add(r * c_rs + 8 * v);
                    _mm256_storeu_ps(dst, if add { _mm256_add_ps(_mm256_loadu_ps(dst), acc) } else { acc });
                }
            }
        } else {
            let mut lanes = [[0f32; NR]; R];
            for (l, acc) in lanes.iter_mut().zip(&acc) {
                _mm256_storeu_ps(l.as_mut_ptr(), acc[0]);
                _mm256_storeu_ps(l.as_mut_ptr().add(8), acc[1]);
            }
            super::store(&lanes, c, c_rs, cols, add)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(n: usize, seed: u32) -> Vec<f32> {
        // Values of mixed sign and magnitude, so that the order of the sums shows in the bits.
        (0..n).map(|i| (((i as u32).wrapping_mul(2654435761).wrapping_add(seed) >> 8) as f32 / 16777216.0 - 0.5) * (1.0 + (i % 7) as f32)).collect()
    }

    /// Against gemm itself, bit for bit, on both kernels: tile edges in both directions,
    /// transposed operands, rows from inside the packed operand, and sums of more than 512
    /// terms (split into spans).
    #[test]
    fn same_bits_as_gemm() {
        for &(m, n, k, r0) in &[(64, 64, 64, 0), (64, 256, 64, 0), (7, 23, 5, 2), (13, 40, 700, 1), (70, 65, 1100, 0), (6, 16, 3, 0), (64, 64, 600, 30), (16, 16, 8, 0), (2, 3, 9, 4), (4, 9, 2, 0), (1, 40, 30, 0), (30, 1, 30, 0), (64, 64, 514, 0), (17, 16, 20, 1)] {
            for &(ta, tb) in &[(false, false), (true, false), (false, true), (true, true)] {
                let a = data(m * k, 1);
                let rows = r0 + k;
                let b = data(rows * n, 2);
                let (a_rs, a_cs) = if ta { (1, m) } else { (k, 1) };
                let (b_rs, b_cs) = if tb { (1, rows) } else { (n, 1) };
                let mut packed = Panels::default();
                packed.pack(&b, rows, n, b_rs, b_cs);
                let c_rs = n + 2;
                let mut theirs = vec![f32::NAN; (m - 1) * c_rs + n];
                unsafe { super::super::gemm(&mut theirs, c_rs, m, n, k, &a, a_rs, a_cs, &b[r0 * b_rs..], b_rs, b_cs, false) };
                for kernel in [Kernel::fastest(), Kernel::Portable] {
                    let mut ours = vec![f32::NAN; (m - 1) * c_rs + n];
                    unsafe { matmul_on(kernel, &mut ours, c_rs, m, n, k, &a, a_rs, a_cs, &packed, r0) };
                    for i in 0..m {
                        for j in 0..n {
                            let (x, y) = (ours[i * c_rs + j], theirs[i * c_rs + j]);
                            assert_eq!(x.to_bits(), y.to_bits(), "{kernel:?} ({m}, {n}, {k}) from row {r0}, transposed {ta} {tb}: c[{i}][{j}] {x} vs gemm {y}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn refuses_rows_outside_the_operand() {
        let mut packed = Panels::default();
        packed.pack(&[1.0; 12], 3, 4, 4, 1);
        let mut c = [0f32; 8];
        let r = std::panic::catch_unwind(move || unsafe { matmul(&mut c, 4, 2, 4, 3, &[1.0; 6], 3, 1, &packed, 1) });
        assert!(r.is_err());
    }
}
