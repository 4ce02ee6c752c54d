//! The one-node training ops (`engine::ops::{linear, split_heads, merge_heads}`) give the
//! bits of the candle graphs they replace (and the attention that keeps its probabilities
//! the bits of the one that recomputes them): values and gradients, at sizes that cross gemm's
//! blocks. The whole model's gradients then stay what they were (the tape test checks the
//! layer-by-layer pass; these check each op).
mod common;
use candle_core::{Module, Tensor, Var};
use candle_nn::Linear;
use common::randn;

/// `f`'s output and the gradients of `sum(out · r)` with respect to each input.
fn run(inputs: &[Tensor], f: impl Fn(&[Tensor]) -> candle_core::Result<Tensor>) -> Vec<Vec<u32>> {
    let vars: Vec<Var> = inputs.iter().map(|x| Var::from_tensor(x).unwrap()).collect();
    let xs: Vec<Tensor> = vars.iter().map(|v| v.as_tensor().clone()).collect();
    let out = f(&xs).unwrap();
    let r = randn(out.dims(), 99);
    let grads = (&out * &r).unwrap().sum_all().unwrap().backward().unwrap();
    let bits = |t: &Tensor| t.flatten_all().unwrap().to_vec1::<f32>().unwrap().iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    let mut all = vec![bits(&out)];
    all.extend(vars.iter().map(|v| bits(grads.get(v).expect("gradient"))));
    all
}

fn same_bits(name: &str, inputs: &[Tensor], ours: impl Fn(&[Tensor]) -> candle_core::Result<Tensor>, candle: impl Fn(&[Tensor]) -> candle_core::Result<Tensor>) {
    let (a, b) = (run(inputs, ours), run(inputs, candle));
    for (i, (x, y)) in a.iter().zip(&b).enumerate() {
        let what = if i == 0 { "value".to_string() } else { format!("gradient of input {}", i - 1) };
        assert_eq!(x.len(), y.len(), "{name}: {what}: sizes differ");
        let diff = x.iter().zip(y).filter(|(p, q)| p != q).count();
        assert_eq!(diff, 0, "{name}: {what}: {diff} of {} elements differ from candle's", x.len());
    }
}

#[test]
fn linear_gives_candle_nns_bits() {
    // 3 × 150 rows, 70 in, 90 out: more rows and columns than one gemm block; 2 rows (the
    // weight gradient on gemm's two-term path).
    for (shape, o) in [(vec![3, 150, 70], 90), (vec![37, 70], 90), (vec![2, 5, 16], 1), (vec![2, 70], 90)] {
        let i = *shape.last().unwrap();
        let (x, w) = (randn(&shape, 1), randn(&[o, i], 2));
        same_bits("linear", &[x, w], |v| engine::ops::linear(&v[0], &v[1]), |v| Linear::new(v[1].clone(), None).forward(&v[0]));
    }
}

#[test]
fn split_heads_gives_the_reshape_transpose_rope_bits() {
    let (b, t, n, d) = (2, 7, 3, 8);
    let (y, cos, sin) = (randn(&[b, t, n * d], 3), randn(&[b, t, d / 2], 4), randn(&[b, t, d / 2], 5));
    let heads = |y: &Tensor| y.reshape((b, t, n, d))?.transpose(1, 2)?.contiguous();
    same_bits("split_heads with rope", std::slice::from_ref(&y), |v| engine::ops::split_heads(&v[0], n, Some((&cos, &sin))), |v| engine::ops::rope(&heads(&v[0])?, &cos, &sin));
    same_bits("split_heads", &[y], |v| engine::ops::split_heads(&v[0], n, None), |v| heads(&v[0]));
}

#[test]
fn merge_heads_gives_the_transpose_reshape_bits() {
    let (b, n, t, d) = (2, 3, 7, 8);
    let o = randn(&[b, n, t, d], 6);
    same_bits("merge_heads", &[o], |v| engine::ops::merge_heads(&v[0]), |v| v[0].transpose(1, 2)?.reshape((b, t, n * d)));
}

#[test]
fn attention_keeping_its_probabilities_gives_the_recomputing_bits() {
    // More keys than queries, rows and keys across the 64-row blocks, 700 keys (sums split).
    for (b, h, t, s, d) in [(2, 3, 7, 7, 8), (1, 2, 70, 200, 16), (1, 1, 150, 700, 4)] {
        let (q, k, v) = (randn(&[b, h, t, d], 7), randn(&[b, h, s, d], 8), randn(&[b, h, s, d], 9));
        same_bits("causal_attention_keeping", &[q, k, v], |x| engine::ops::causal_attention_keeping(&x[0], &x[1], &x[2], 0.3), |x| engine::ops::causal_attention(&x[0], &x[1], &x[2], 0.3));
    }
}

#[test]
fn shape_mistakes_are_errors() {
    let x = randn(&[2, 3, 12], 7);
    assert!(engine::ops::linear(&x, &randn(&[4, 5], 8)).is_err(), "12 inputs against a weight of 5");
    assert!(engine::ops::split_heads(&x, 5, None).is_err(), "12 columns are not 5 heads");
    let bad = randn(&[2, 3, 3], 9);
    assert!(engine::ops::split_heads(&x, 3, Some((&bad, &bad))).is_err(), "tables of the wrong width");
}

/// Spans of at most 512 terms, as `engine::ops::linear` sums an `(m, n, k)` product on every
/// machine: balanced, or 512 and a rest where `m, n ≤ 64` (gemm's own split on an 8-way
/// 32 KB L1d; a 12-way 48 KB one would split at 1024).
fn spans(m: usize, n: usize, k: usize) -> Vec<(usize, usize)> {
    let kc = if k <= 512 { k } else if m <= 64 && n <= 64 { 512 } else { k.div_ceil(k.div_ceil(512)) };
    (0..k).step_by(kc).map(|s| (s, kc.min(k - s))).collect()
}

/// `Σ` over `spans` of `a[:, span] · b[span, :]`, each a candle matmul of at most 512 terms
/// (which gemm never splits, on any machine), added in order.
fn by_spans(a: &Tensor, b: &Tensor) -> Tensor {
    let ((m, k), n) = (a.dims2().unwrap(), b.dim(1).unwrap());
    let mut sum: Option<Tensor> = None;
    for (s, len) in spans(m, n, k) {
        let p = a.narrow(1, s, len).unwrap().contiguous().unwrap().matmul(&b.narrow(0, s, len).unwrap().contiguous().unwrap()).unwrap();
        sum = Some(match sum {
            None => p,
            Some(acc) => (acc + p).unwrap(),
        });
    }
    sum.unwrap()
}

#[test]
fn linear_splits_long_sums_the_same_way_on_every_machine() {
    // Sums over the inputs (1,100 terms: three balanced spans) and, in the weight's gradient,
    // over the rows (700 rows of a 30 × 20 product: 512 and a rest; 600 of an 80 × 70 one:
    // two of 300).
    for (rows, i, o) in [(100, 1100, 90), (700, 30, 20), (600, 80, 70)] {
        let (x, w, r) = (randn(&[rows, i], 11), randn(&[o, i], 12), randn(&[rows, o], 13));
        let (xv, wv) = (Var::from_tensor(&x).unwrap(), Var::from_tensor(&w).unwrap());
        let y = engine::ops::linear(xv.as_tensor(), wv.as_tensor()).unwrap();
        let grads = (&y * &r).unwrap().sum_all().unwrap().backward().unwrap();
        let bits = |t: &Tensor| t.flatten_all().unwrap().to_vec1::<f32>().unwrap().iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        let want_y = by_spans(&x, &w.t().unwrap());
        assert_eq!(bits(&y), bits(&want_y), "value, {rows} × {i} -> {o}");
        // dw = (xᵀ · r)ᵀ: the sum runs over the rows.
        let want_dw = by_spans(&x.t().unwrap(), &r).t().unwrap();
        assert_eq!(bits(grads.get(&wv).unwrap()), bits(&want_dw), "weight gradient, {rows} × {i} -> {o}");
        let want_dx = by_spans(&r, &w);
        assert_eq!(bits(grads.get(&xv).unwrap()), bits(&want_dx), "input gradient, {rows} × {i} -> {o}");
    }
}
