//! The fused training kernels (`engine::ops`) against the same maths written with candle's
//! basic ops in f64: values and gradients within 1e-4, each op alone and the whole model.
mod common;
use candle_core::{DType, Device, Tensor, Var, D};
use common::*;
use engine::Checkpoint;

const TOL: f64 = 1e-4;

/// Largest |a - b| relative to max(1, |b|) over all elements.
fn close(a: &Tensor, b: &Tensor, what: &str) {
    let a = a.to_dtype(DType::F64).unwrap().flatten_all().unwrap().to_vec1::<f64>().unwrap();
    let b = b.to_dtype(DType::F64).unwrap().flatten_all().unwrap().to_vec1::<f64>().unwrap();
    assert_eq!(a.len(), b.len(), "{what}: sizes differ");
    let worst = a.iter().zip(&b).map(|(x, y)| (x - y).abs() / y.abs().max(1.0)).fold(0.0, f64::max);
    assert!(worst < TOL, "{what}: fused and plain differ by {worst:e}");
}

/// Runs `f` on f32 inputs (fused) and `reference` on f64 copies; compares the outputs and
/// the gradients of `sum(out * w)` with respect to every input marked differentiable.
fn check(
    name: &str,
    inputs: &[Tensor],
    differentiable: &[bool],
    f: impl Fn(&[Tensor]) -> candle_core::Result<Tensor>,
    reference: impl Fn(&[Tensor]) -> candle_core::Result<Tensor>,
) {
    let run = |dtype: DType, g: &dyn Fn(&[Tensor]) -> candle_core::Result<Tensor>| {
        let vars: Vec<Option<Var>> = inputs
            .iter()
            .zip(differentiable)
            .map(|(x, &d)| d.then(|| Var::from_tensor(&x.to_dtype(dtype).unwrap()).unwrap()))
            .collect();
        let xs: Vec<Tensor> = inputs
            .iter()
            .zip(&vars)
            .map(|(x, v)| match v {
                Some(v) => v.as_tensor().clone(),
                None if x.dtype() == DType::U32 => x.clone(),
                None => x.to_dtype(dtype).unwrap(),
            })
            .collect();
        let out = g(&xs).unwrap();
        let w = randn(out.dims(), 99).to_dtype(dtype).unwrap();
        let grads = (&out * &w).unwrap().sum_all().unwrap().backward().unwrap();
        let gs: Vec<Option<Tensor>> = vars.iter().map(|v| v.as_ref().map(|v| grads.get(v).expect("gradient").clone())).collect();
        (out, gs)
    };
    let (out, grads) = run(DType::F32, &f);
    let (want, want_grads) = run(DType::F64, &reference);
    assert_eq!(out.dtype(), DType::F32);
    close(&out, &want, &format!("{name} value"));
    for (i, (g, w)) in grads.iter().zip(&want_grads).enumerate() {
        if let (Some(g), Some(w)) = (g, w) {
            close(g, w, &format!("{name} gradient of input {i}"));
        }
    }
}

#[test]
fn causal_softmax_matches_scale_mask_softmax() {
    for (t, s) in [(7, 7), (3, 9)] {
        let x = randn(&[2, 3, t, s], 1);
        let scale = 0.35;
        check(
            "causal_softmax",
            &[x],
            &[true],
            |xs| engine::ops::causal_softmax(&xs[0], scale),
            |xs| {
                let mask: Vec<f64> = (0..t).flat_map(|i| (0..s).map(move |j| if j > i + s - t { -1e30 } else { 0.0 })).collect();
                let mask = Tensor::from_vec(mask, (t, s), &Device::Cpu)?;
                candle_nn::ops::softmax(&(&xs[0] * scale)?.broadcast_add(&mask)?, D::Minus1)
            },
        );
    }
}

#[test]
fn causal_attention_matches_matmul_softmax_matmul() {
    // Values in about [-2, 2] at scale 0.35: the probabilities are far from uniform.
    // The last two cross the kernel's 64-row blocks (queries and keys; more keys than queries).
    for (t, s, b, h) in [(7, 7, 2, 3), (3, 9, 2, 3), (150, 150, 1, 2), (70, 200, 1, 2)] {
        let d = 8;
        let (q, k, v) = (randn(&[b, h, t, d], 11), randn(&[b, h, s, d], 12), randn(&[b, h, s, d], 13));
        let scale = 0.35;
        check(
            "causal_attention",
            &[q, k, v],
            &[true, true, true],
            |xs| engine::ops::causal_attention(&xs[0], &xs[1], &xs[2], scale),
            |xs| {
                let mask: Vec<f64> = (0..t).flat_map(|i| (0..s).map(move |j| if j > i + s - t { -1e30 } else { 0.0 })).collect();
                let mask = Tensor::from_vec(mask, (t, s), &Device::Cpu)?;
                let scores = (xs[0].matmul(&xs[1].t()?)? * scale)?.broadcast_add(&mask)?;
                candle_nn::ops::softmax(&scores, D::Minus1)?.matmul(&xs[2])
            },
        );
    }
}

#[test]
fn rms_norm_matches_plain() {
    let x = randn(&[2, 5, 16], 2);
    let w = randn(&[16], 3);
    check("rms_norm", &[x, w], &[true, true], |xs| engine::ops::rms_norm(&xs[0], &xs[1], 1e-5), |xs| {
        // x / sqrt(mean(x²) + eps) * w
        let r = ((xs[0].sqr()?.mean_keepdim(D::Minus1)? + 1e-5)?.sqrt())?;
        xs[0].broadcast_div(&r)?.broadcast_mul(&xs[1])
    });
}

#[test]
fn rope_matches_rotate_half() {
    let (b, h, t, d) = (2, 3, 5, 8);
    let x = randn(&[b, h, t, d], 4);
    let cos = randn(&[b, t, d / 2], 5);
    let sin = randn(&[b, t, d / 2], 6);
    check("rope", &[x, cos, sin], &[true, false, false], |xs| engine::ops::rope(&xs[0], &xs[1], &xs[2]), |xs| {
        let (x, cos, sin) = (&xs[0], &xs[1], &xs[2]);
        let c = Tensor::cat(&[cos, cos], D::Minus1)?.unsqueeze(1)?;
        let s = Tensor::cat(&[sin, sin], D::Minus1)?.unsqueeze(1)?;
        let x1 = x.narrow(D::Minus1, 0, d / 2)?;
        let x2 = x.narrow(D::Minus1, d / 2, d / 2)?;
        x.broadcast_mul(&c)? + Tensor::cat(&[&x2.neg()?, &x1], D::Minus1)?.broadcast_mul(&s)?
    });
}

#[test]
fn swiglu_matches_silu_times_up() {
    let a = randn(&[3, 4, 10], 7);
    let u = randn(&[3, 4, 10], 8);
    check("swiglu", &[a, u], &[true, true], |xs| engine::ops::swiglu(&xs[0], &xs[1]), |xs| xs[0].silu()? * &xs[1]);
}

#[test]
fn token_logprobs_matches_log_softmax_gather() {
    // A small vocabulary (libm's exp) and a large one (the vectorised exp).
    for (b, t, v) in [(2, 6, 11), (2, 3, engine::logprob::RESPONSE_ONLY_VOCAB + 5)] {
        let logits = (randn(&[b, t, v], 9) * 3.0).unwrap();
        let targets = Tensor::from_vec((0..(b * t) as u32).map(|i| (i * 7) % v as u32).collect::<Vec<_>>(), (b, t), &Device::Cpu).unwrap();
        check(
            "token_logprobs",
            &[logits, targets],
            &[true, false],
            |xs| engine::ops::token_logprobs(&xs[0], &xs[1]),
            |xs| candle_nn::ops::log_softmax(&xs[0], D::Minus1)?.gather(&xs[1].unsqueeze(D::Minus1)?, D::Minus1)?.squeeze(D::Minus1),
        );
    }
    let (b, t, v) = (2, 6, 11);
    // The public entry point takes the fused path on f32 CPU tensors and agrees with the plain one.
    let logits = (randn(&[b, t, v], 10) * 3.0).unwrap();
    let targets = Tensor::from_vec((0..(b * t) as u32).map(|i| (i * 5) % v as u32).collect::<Vec<_>>(), (b, t), &Device::Cpu).unwrap();
    let fused = engine::logprob::token_logprobs(&logits, &targets).unwrap();
    let plain = engine::logprob::token_logprobs_plain(&logits, &targets).unwrap();
    close(&fused, &plain, "token_logprobs entry point");
}

#[test]
fn fused_model_matches_plain_model_in_f64() -> anyhow::Result<()> {
    // The same weights in f32 (fused kernels) and f64 (candle's basic ops): logits and every
    // parameter's gradient of a masked SFT-style loss agree.
    let tok = tiny_tokenizer();
    let mut cfg = tiny_config(tok.vocab_size());
    cfg.attention_bias = true;
    let ck32 = Checkpoint::init(&cfg, tok.clone(), 5, &Device::Cpu)?;
    let ck64 = Checkpoint::from_tensors(&cfg, ck32.tensors()?, tok, DType::F64, &Device::Cpu, "t".as_ref())?;
    let (b, t) = (3, 10);
    let ids: Vec<u32> = (0..b * t).map(|i| (i as u32 * 7919 + 17) % cfg.vocab_size as u32).collect();
    let x = Tensor::from_vec(ids.clone(), (b, t), &Device::Cpu)?;
    let y = Tensor::from_vec(ids.iter().map(|i| (i * 3 + 1) % cfg.vocab_size as u32).collect::<Vec<_>>(), (b, t), &Device::Cpu)?;
    let mask = Tensor::from_vec((0..b * t).map(|i| (i % 4 != 0) as u32 as f32).collect::<Vec<_>>(), (b, t), &Device::Cpu)?;
    let loss = |ck: &Checkpoint| -> anyhow::Result<(Tensor, candle_core::backprop::GradStore)> {
        let logits = ck.model.forward(&x)?;
        let lp = engine::logprob::token_logprobs(&logits, &y)?;
        let l = (lp.to_dtype(logits.dtype())? * mask.to_dtype(logits.dtype())?)?.sum_all()?.neg()?;
        let g = l.backward()?;
        Ok((logits, g))
    };
    let (l32, g32) = loss(&ck32)?;
    let (l64, g64) = loss(&ck64)?;
    close(&l32, &l64, "logits");
    let (v32, v64) = (ck32.varmap.data().lock().unwrap().clone(), ck64.varmap.data().lock().unwrap().clone());
    assert!(!v32.is_empty());
    for (name, var) in &v32 {
        close(g32.get(var).expect("gradient"), g64.get(&v64[name]).expect("gradient"), name);
    }
    Ok(())
}

/// The fused prefill attention over a cache in two sources (a prefix shared by pairs of rows,
/// read through a strided view, then each row's own positions) against softmax over the
/// expanded, concatenated keys in f64, with grouped heads and a bias masking some positions.
#[test]
fn prefill_attention_matches_softmax_over_the_expanded_cache() -> anyhow::Result<()> {
    use engine::ops::KvSource;
    let (b, h, kh, t, d, share) = (4, 4, 2, 5, 8, 2);
    let (s1, s2) = (6, 8);
    // The prefix as the first s1 of 9 positions (a view with strides, as the cache's).
    let (pk, pv) = (randn(&[b / share, kh, 9, d], 21).narrow(2, 0, s1)?, randn(&[b / share, kh, 9, d], 22).narrow(2, 0, s1)?);
    let (ok, ov) = (randn(&[b, kh, s2, d], 23), randn(&[b, kh, s2, d], 24));
    let q = randn(&[b, h, t, d], 25);
    let total = s1 + s2;
    let bias: Vec<f32> = (0..b * t * total).map(|i| if (i * 7 + i / total) % 5 == 0 { -1e9 } else { 0.0 }).collect();
    let bias = Tensor::from_vec(bias, (b, 1, t, total), &Device::Cpu)?;
    let scale = 0.35;
    let sources = [KvSource { k: &pk, v: &pv, rows_per: share }, KvSource { k: &ok, v: &ov, rows_per: 1 }];
    let got = engine::ops::prefill_attention(&q, &sources, &bias, scale as f32)?;
    // Reference: every row's keys and values in full, each query head's own copy, f64.
    let expand = |p: &Tensor, o: &Tensor| -> candle_core::Result<Tensor> {
        let rows: Vec<Tensor> = (0..b).map(|r| p.narrow(0, r / share, 1)).collect::<candle_core::Result<_>>()?;
        let full = Tensor::cat(&[Tensor::cat(&rows, 0)?, o.clone()], 2)?.to_dtype(DType::F64)?;
        let heads: Vec<Tensor> = (0..h).map(|hi| full.narrow(1, hi / (h / kh), 1)).collect::<candle_core::Result<_>>()?;
        Tensor::cat(&heads, 1)
    };
    let (k, v) = (expand(&pk, &ok)?, expand(&pv, &ov)?);
    let scores = (q.to_dtype(DType::F64)?.matmul(&k.t()?)? * scale)?.broadcast_add(&bias.to_dtype(DType::F64)?)?;
    let want = candle_nn::ops::softmax(&scores, D::Minus1)?.matmul(&v)?;
    close(&got, &want, "prefill_attention");
    Ok(())
}
