//! The decoder: every weight gets a gradient that matches finite differences, and
//! the training path, the fast path and candle-transformers' Llama agree.
mod common;
use engine::model::Track;
use candle_core::{DType, Device, IndexOp, Tensor};
use common::*;
use engine::model::{step_inputs, KvCache};
use engine::{Checkpoint, Config};

#[test]
fn every_parameter_gets_a_gradient() -> anyhow::Result<()> {
    for tied in [false, true] {
        let tok = tiny_tokenizer();
        let mut cfg = tiny_config(tok.vocab_size());
        cfg.tie_word_embeddings = tied;
        let ck = Checkpoint::init(&cfg, tok, 1, &Device::Cpu)?;
        let x = ids(2, 9, cfg.vocab_size, 1);
        let loss = ck.model.forward(&x)?.sqr()?.mean_all()?;
        let grads = loss.backward()?;
        let vars = ck.varmap.data().lock().unwrap();
        assert_eq!(vars.len(), engine::checkpoint::tensor_names(&cfg).len());
        for (name, var) in vars.iter() {
            let g = grads.get(var).unwrap_or_else(|| panic!("no gradient for {name} (tied={tied})"));
            let n = g.abs()?.sum_all()?.to_scalar::<f32>()?;
            assert!(n > 0.0 && n.is_finite(), "zero or non-finite gradient for {name}: {n}");
        }
    }
    Ok(())
}

#[test]
fn gradients_match_finite_differences() -> anyhow::Result<()> {
    // f64 weights so central differences are accurate to ~1e-8.
    let tok = tiny_tokenizer();
    let mut cfg = tiny_config(tok.vocab_size());
    cfg.attention_bias = true;
    let ck32 = Checkpoint::init(&cfg, tok.clone(), 3, &Device::Cpu)?;
    let tensors = ck32.tensors()?;
    let ck = Checkpoint::from_tensors(&cfg, tensors, tok, DType::F64, &Device::Cpu, "t".as_ref())?;
    let x = ids(2, 6, cfg.vocab_size, 2);
    let w = Tensor::randn(0f64, 1.0, (2, 6, cfg.vocab_size), &Device::Cpu)?;
    let loss_of = |m: &engine::Llama| -> f64 {
        (m.forward(&x).unwrap() * &w).unwrap().sum_all().unwrap().to_scalar::<f64>().unwrap()
    };
    let loss = (ck.model.forward(&x)? * &w)?.sum_all()?;
    let grads = loss.backward()?;
    let vars = ck.varmap.data().lock().unwrap().clone();
    let mut checked = 0;
    for name in [
        "model.embed_tokens.weight",
        "model.layers.0.self_attn.q_proj.weight",
        "model.layers.0.self_attn.k_proj.bias",
        "model.layers.1.self_attn.v_proj.weight",
        "model.layers.1.self_attn.o_proj.weight",
        "model.layers.0.mlp.gate_proj.weight",
        "model.layers.1.mlp.down_proj.weight",
        "model.layers.0.input_layernorm.weight",
        "model.norm.weight",
        "lm_head.weight",
    ] {
        let var = &vars[name];
        let g = grads.get(var).unwrap().flatten_all()?.to_vec1::<f64>()?;
        let orig = var.as_tensor().copy()?;
        let flat = orig.flatten_all()?.to_vec1::<f64>()?;
        for &i in &[0usize, flat.len() / 3, flat.len() - 1] {
            let eps = 1e-5;
            let mut p = flat.clone();
            p[i] += eps;
            var.set(&Tensor::from_vec(p.clone(), orig.shape(), &Device::Cpu)?)?;
            let up = loss_of(&ck.model);
            p[i] -= 2.0 * eps;
            var.set(&Tensor::from_vec(p, orig.shape(), &Device::Cpu)?)?;
            let down = loss_of(&ck.model);
            var.set(&orig)?;
            let fd = (up - down) / (2.0 * eps);
            let tol = 1e-5 + 1e-4 * fd.abs();
            assert!((fd - g[i]).abs() < tol, "{name}[{i}]: autograd {} vs finite difference {fd}", g[i]);
            checked += 1;
        }
    }
    assert_eq!(checked, 30);
    Ok(())
}

/// Runs the fast path over `x` in one prefill, returning `(b, t, v)` logits.
fn fast_logits(ck: &Checkpoint, x: &Tensor) -> Tensor {
    let (b, t) = x.dims2().unwrap();
    let ok = vec![vec![true; t]; b];
    let (pos, bias) = step_inputs(&vec![vec![]; b], &vec![0; b], &ok, &Device::Cpu, DType::F32).unwrap();
    let mut cache = KvCache::new(ck.config().num_hidden_layers);
    ck.model.forward_cached(x, &pos, &bias, &mut cache, true).unwrap()
}

#[test]
fn training_fast_and_candle_transformers_paths_agree() -> anyhow::Result<()> {
    use candle_transformers::models::llama as ct;
    for (tied, scaled) in [(false, false), (true, true)] {
        let tok = tiny_tokenizer();
        let mut cfg = tiny_config(tok.vocab_size());
        cfg.tie_word_embeddings = tied;
        if scaled {
            cfg.rope_theta = 500_000.0;
            cfg.rope_scaling = Some(engine::model::RopeScaling {
                rope_type: "llama3".into(),
                factor: 8.0,
                low_freq_factor: 1.0,
                high_freq_factor: 4.0,
                original_max_position_embeddings: 16,
            });
        }
        let ck = Checkpoint::init(&cfg, tok, 5, &Device::Cpu)?;
        let x = ids(2, 11, cfg.vocab_size, 3);
        let train = ck.model.forward(&x)?;
        let fast = fast_logits(&ck, &x);
        assert_eq!(train.dims(), &[2, 11, cfg.vocab_size]);
        let d = max_abs_diff(&train, &fast);
        assert!(d < 1e-4, "training vs fast path: {d}");

        // candle-transformers' Llama on the very same tensors: last-position logits.
        let json = serde_json::to_string(&cfg)?;
        let ct_cfg: ct::LlamaConfig = serde_json::from_str(&json)?;
        let ct_cfg = ct_cfg.into_config(false);
        let vb = candle_nn::VarBuilder::from_tensors(ck.tensors()?, DType::F32, &Device::Cpu);
        let theirs = ct::Llama::load(vb, &ct_cfg)?;
        for row in 0..2 {
            let mut cache = ct::Cache::new(false, DType::F32, &ct_cfg, &Device::Cpu)?;
            let xr = x.i(row..row + 1)?;
            let their = theirs.forward(&xr, 0, &mut cache)?.squeeze(0)?;
            let ours = train.i((row, 10))?;
            let d = max_abs_diff(&ours, &their);
            assert!(d < 1e-4, "ours vs candle-transformers (tied={tied}, scaled={scaled}): {d}");
        }
    }
    Ok(())
}

#[test]
fn cached_decoding_matches_full_forward_with_left_padding() -> anyhow::Result<()> {
    let ck = tiny_model(7);
    let v = ck.config().vocab_size;
    // Row 0 has 8 tokens; row 1 has 5 real tokens, left-padded by 3.
    let full = ids(2, 8, v, 4);
    let rows = full.to_vec2::<u32>()?;
    let r1 = rows[1][3..].to_vec();
    let mut x = rows[0].clone();
    x.extend(std::iter::repeat(0).take(3).chain(r1.iter().copied()));
    let x = Tensor::from_vec(x, (2, 8), &Device::Cpu)?;
    let ok = vec![vec![true; 8], (0..8).map(|j| j >= 3).collect::<Vec<_>>()];
    let layers = ck.config().num_hidden_layers;
    // Both caches: grown by concatenation, and preallocated (8 + 1 positions) and written in place.
    for (mut cache, preallocated) in [(KvCache::new(layers), false), (KvCache::with_capacity(layers, 9), true)] {
        let (pos, bias) = step_inputs(&vec![vec![]; 2], &[0, 0], &ok, &Device::Cpu, DType::F32)?;
        let last = ck.model.forward_cached(&x, &pos, &bias, &mut cache, false)?;
        // One more token per row through the cache.
        let next = Tensor::new(&[[5u32], [6u32]], &Device::Cpu)?;
        let (pos, bias) = step_inputs(&ok, &[8, 5], &[vec![true], vec![true]], &Device::Cpu, DType::F32)?;
        let step = ck.model.forward_cached(&next, &pos, &bias, &mut cache, false)?;
        assert_eq!(cache.len(), 9);
        // Reference: each row alone, unpadded, through the training path.
        for (r, (seq, tok)) in [(rows[0].clone(), 5u32), (r1.clone(), 6u32)].into_iter().enumerate() {
            let n = seq.len();
            let mut s = seq.clone();
            s.push(tok);
            let logits = ck.model.forward(&Tensor::from_vec(s, (1, n + 1), &Device::Cpu)?)?;
            assert!(max_abs_diff(&logits.i((0, n - 1))?, &last.i(r)?) < 1e-4, "prefill row {r}");
            assert!(max_abs_diff(&logits.i((0, n))?, &step.i(r)?) < 1e-4, "cached step row {r}");
        }
        // A full preallocated cache refuses more, with a message, instead of writing past its end.
        if preallocated {
            let (pos, bias) = step_inputs(&vec![vec![true; 9]; 2], &[9, 6], &[vec![true], vec![true]], &Device::Cpu, DType::F32)?;
            let err = ck.model.forward_cached(&next, &pos, &bias, &mut cache, false).unwrap_err().to_string();
            assert!(err.contains("KV cache of 9 positions"), "{err}");
        }
    }
    Ok(())
}

/// A prefill long and wide enough that its MLP runs in chunks of positions (intermediates
/// over 16 MiB: 2 × 200 positions × 16,384) gives the training path's logits at every position.
#[test]
fn chunked_prefill_mlp_matches_the_training_forward() -> anyhow::Result<()> {
    let tok = tiny_tokenizer();
    let cfg = Config::llama(tok.vocab_size(), 32, 16384, 1, 2, 2, 256);
    let ck = Checkpoint::init(&cfg, tok, 3, &Device::Cpu)?;
    let x = ids(2, 200, cfg.vocab_size, 6);
    let (pos, bias) = step_inputs(&vec![vec![]; 2], &[0, 0], &vec![vec![true; 200]; 2], &Device::Cpu, DType::F32)?;
    let got = ck.model.forward_cached(&x, &pos, &bias, &mut KvCache::with_capacity(1, 200), true)?;
    let want = ck.model.forward(&x)?;
    let d = max_abs_diff(&want, &got);
    assert!(d < 1e-4 && want.abs()?.sum_all()?.to_scalar::<f32>()? > 0.0, "{d}");
    Ok(())
}

/// The packed decode path (panel matmuls for steps of few rows, `Llama::pack`) gives the
/// plain cached path's logits: prefill and decode steps, a step with more rows than
/// `PANEL_ROWS` (plain matmul inside the packed path), a left-padded row, GQA, untied head,
/// q/k/v biases non-zero.
#[test]
fn packed_decoding_matches_the_plain_cached_path() -> anyhow::Result<()> {
    let tok = tiny_tokenizer();
    // head size 8 (the kernel's general loop) and 32 (its unrolled one), both with GQA
    let v = tok.vocab_size();
    for mut cfg in [tiny_config(v), Config::llama(v, 64, 96, 2, 2, 1, 128)] {
        packed_matches_plain(&tok, &mut cfg)?;
    }
    Ok(())
}

fn packed_matches_plain(tok: &engine::Tokenizer, cfg: &mut Config) -> anyhow::Result<()> {
    cfg.attention_bias = true;
    cfg.tie_word_embeddings = false;
    let init = Checkpoint::init(cfg, tok.clone(), 5, &Device::Cpu)?;
    let mut tensors = init.tensors()?;
    for (name, t) in tensors.iter_mut() {
        if name.ends_with("bias") {
            *t = Tensor::randn(0f32, 0.5, t.shape(), &Device::Cpu)?;
        } else if name.contains("q_proj") || name.contains("k_proj") {
            // attention scores of order 1, so the softmax weights differ across keys
            *t = (&*t * 20.0)?;
        }
    }
    let ck = Checkpoint::from_tensors(cfg, tensors, tok.clone(), DType::F32, &Device::Cpu, "t".as_ref())?;
    let packed = ck.model.pack()?;
    let v = cfg.vocab_size;
    let layers = cfg.num_hidden_layers;
    for (b, t) in [(3, 7), (1, 5), (20, 8)] {
        assert_eq!(b * t > engine::model::PANEL_ROWS, b == 20, "the shapes cover both sides of PANEL_ROWS");
        let x = ids(b, t, v, b as u32);
        // row 0 left-padded by 2: masked keys in every step
        let ok: Vec<Vec<bool>> = (0..b).map(|r| (0..t).map(|j| r != 0 || j >= 2).collect()).collect();
        let (pos, bias) = step_inputs(&vec![vec![]; b], &vec![0; b], &ok, &Device::Cpu, DType::F32)?;
        let mut plain_cache = KvCache::with_capacity(layers, t + 1);
        let mut packed_cache = KvCache::with_capacity(layers, t + 1);
        let plain = ck.model.forward_cached(&x, &pos, &bias, &mut plain_cache, true)?;
        let fast = ck.model.forward_packed(Some(&packed), &x, &pos, &bias, &mut packed_cache, true)?;
        let d = max_abs_diff(&plain, &fast);
        assert!(d < 1e-4, "prefill b {b} t {t}: {d}");
        let next = ids(b, 1, v, 9);
        let next_pos: Vec<u32> = (0..b).map(|r| if r == 0 { t as u32 - 2 } else { t as u32 }).collect();
        let (pos, bias) = step_inputs(&ok, &next_pos, &vec![vec![true]; b], &Device::Cpu, DType::F32)?;
        let plain = ck.model.forward_cached(&next, &pos, &bias, &mut plain_cache, false)?;
        let fast = ck.model.forward_packed(Some(&packed), &next, &pos, &bias, &mut packed_cache, false)?;
        let d = max_abs_diff(&plain, &fast);
        assert!(d < 1e-4 && plain.max_keepdim(1)?.abs()?.sum_all()?.to_scalar::<f32>()? > 0.0, "decode b {b}: {d}");
    }
    Ok(())
}

#[test]
fn qwen2_and_mistral_configs_build_with_their_biases() -> anyhow::Result<()> {
    let tok = tiny_tokenizer();
    let mut cfg: Config = tiny_config(tok.vocab_size());
    cfg.model_type = engine::ModelType::Qwen2;
    let names: Vec<String> = engine::checkpoint::tensor_names(&cfg).into_iter().map(|n| n.0).collect();
    assert!(names.contains(&"model.layers.0.self_attn.q_proj.bias".to_string()));
    assert!(!names.contains(&"model.layers.0.self_attn.o_proj.bias".to_string()));
    let ck = Checkpoint::init(&cfg, tok.clone(), 1, &Device::Cpu)?;
    let x = ids(1, 4, cfg.vocab_size, 1);
    assert!(max_abs_diff(&ck.model.forward(&x)?, &fast_logits(&ck, &x)) < 1e-4);
    cfg.model_type = engine::ModelType::Mistral;
    assert!(!engine::checkpoint::tensor_names(&cfg).iter().any(|n| n.0.ends_with("bias")));
    // Another family is refused when config.json is read, naming the field and the choices.
    let mut json = serde_json::to_value(&cfg)?;
    json["model_type"] = "gpt2".into();
    let e = serde_json::from_value::<Config>(json).unwrap_err().to_string();
    assert!(e.contains("gpt2") && e.contains("qwen2"), "{e}");
    Ok(())
}

#[test]
fn response_only_logprobs_equal_the_full_logits_path_with_their_gradients() -> anyhow::Result<()> {
    use engine::logprob::{sequence_logprobs, token_logprobs, SeqBatch};
    let tok = tiny_tokenizer();
    let cfg = tiny_config(tok.vocab_size());
    let ck = Checkpoint::init(&cfg, tok, 4, &Device::Cpu)?;
    let v = cfg.vocab_size as u32;
    // Prompts and responses of different lengths (padding), one cut by max_len, one empty response.
    let rows: Vec<(Vec<u32>, Vec<u32>)> = vec![
        ((1..9).map(|i| i % v).collect(), (20..25).map(|i| i % v).collect()),
        ((3..5).map(|i| i % v).collect(), (30..41).map(|i| i % v).collect()),
        ((5..30).map(|i| i % v).collect(), (40..44).map(|i| i % v).collect()),
        ((7..12).map(|i| i % v).collect(), vec![]),
    ];
    let batch = SeqBatch::new(&rows, 0, 20, &Device::Cpu)?;
    // (the tiny vocabulary is below RESPONSE_ONLY_VOCAB: the response-only path directly)
    let ours = {
        let lp = engine::logprob::response_logprobs(&ck.model, &batch, Track::Graph)?;
        let mut sums = vec![];
        for r in 0..4u32 {
            let idx: Vec<u32> = batch.response_row.iter().enumerate().filter(|(_, &x)| x == r).map(|(k, _)| k as u32).collect();
            sums.push(if idx.is_empty() { Tensor::zeros((), DType::F32, &Device::Cpu)? } else { lp.index_select(&Tensor::new(idx.as_slice(), &Device::Cpu)?, 0)?.sum_all()? });
        }
        Tensor::stack(&sums, 0)?
    };
    assert_eq!(sequence_logprobs(&ck.model, &batch, Track::Off)?.dims(), &[4]);
    // The full (b, t, v) logits, masked: the path this replaces.
    let full = (token_logprobs(&ck.model.forward(&batch.ids)?, &batch.targets)? * &batch.mask)?.sum(1)?;
    let (a, b) = (ours.to_vec1::<f32>()?, full.to_vec1::<f32>()?);
    assert_eq!(a[3], 0.0, "no response tokens");
    for (x, y) in a.iter().zip(&b) {
        assert!((x - y).abs() < 1e-4, "{a:?} vs {b:?}");
    }
    // A vocabulary at RESPONSE_ONLY_VOCAB: sequence_logprobs itself takes the response-only path.
    let big = Checkpoint::init(&tiny_config(engine::logprob::RESPONSE_ONLY_VOCAB), tiny_tokenizer(), 4, &Device::Cpu)?;
    let via = sequence_logprobs(&big.model, &batch, Track::Off)?.to_vec1::<f32>()?;
    let full_big = (token_logprobs(&big.model.forward(&batch.ids)?, &batch.targets)? * &batch.mask)?.sum(1)?.to_vec1::<f32>()?;
    for (x, y) in via.iter().zip(&full_big) {
        assert!((x - y).abs() < 1e-4, "{via:?} vs {full_big:?}");
    }
    let weights = Tensor::new(&[1.0f32, -0.5, 2.0, 3.0], &Device::Cpu)?;
    let (ga, gb) = ((ours * &weights)?.sum_all()?.backward()?, (full * &weights)?.sum_all()?.backward()?);
    let vars = ck.varmap.data().lock().unwrap();
    for (name, var) in vars.iter() {
        let d = (ga.get(var).unwrap() - gb.get(var).unwrap())?.abs()?.flatten_all()?.max(0)?.to_scalar::<f32>()?;
        assert!(d < 1e-4, "{name}: gradients differ by {d}");
    }
    Ok(())
}

/// Decoding through quantized weights (`set_decode_quant`): steps of at most `quant_rows`
/// rows go through the integer kernels and stay close to the f32 path (8-bit weights and
/// inputs: within 1% (Q8_0) or 10% (Q4_1, 16 levels per block of random weights) of the
/// logits' range, and not equal, so the kernels ran); steps of more rows are the f32 path's
/// numbers (the prefill's last-position head has b rows, so it is quantized for small b).
#[test]
fn quantized_decoding_stays_close_to_f32() -> anyhow::Result<()> {
    let tok = tiny_tokenizer();
    let v = tok.vocab_size();
    let mut cfg = Config::llama(v, 64, 96, 2, 2, 1, 128);
    cfg.tie_word_embeddings = false;
    let mut ck = Checkpoint::init(&cfg, tok.clone(), 3, &Device::Cpu)?;
    let plain_packed = ck.model.pack()?;
    for kind in [engine::ops::QuantKind::Q8_0, engine::ops::QuantKind::Q4_1] {
        ck.model.set_decode_quant(Some(kind));
        let packed = ck.model.pack()?;
        // Past both kinds' limits: the Q8_0 head's (with Q4_1 layers) and the layers'.
        let past = engine::model::quant_rows(engine::ops::QuantKind::Q8_0).max(engine::model::quant_rows(kind)) + 1;
        for b in [3, past] {
            let t = 6;
            let x = ids(b, t, v, 4);
            let ok = vec![vec![true; t]; b];
            let (pos, bias) = step_inputs(&vec![vec![]; b], &vec![0; b], &ok, &Device::Cpu, DType::F32)?;
            let mut c0 = KvCache::with_capacity(2, t + 1);
            let mut c1 = KvCache::with_capacity(2, t + 1);
            let p0 = ck.model.forward_packed(Some(&plain_packed), &x, &pos, &bias, &mut c0, false)?;
            let p1 = ck.model.forward_packed(Some(&packed), &x, &pos, &bias, &mut c1, false)?;
            let tol = if kind == engine::ops::QuantKind::Q8_0 { 0.01 } else { 0.1 };
            let close = |a: &Tensor, q: &Tensor, what: &str| -> anyhow::Result<()> {
                let range = (a.max_all()?.to_scalar::<f32>()? - a.min_all()?.to_scalar::<f32>()?) as f64;
                let d = max_abs_diff(a, q) as f64;
                if b < past {
                    assert!(d > 0.0 && d < tol * range, "{kind} {what} b {b}: {d} of range {range}");
                } else {
                    assert!(d < 1e-4, "{kind} {what} b {b} (f32 panels): {d}");
                }
                Ok(())
            };
            close(&p0, &p1, "prefill")?;
            let (pos, bias) = step_inputs(&ok, &vec![t as u32; b], &vec![vec![true]; b], &Device::Cpu, DType::F32)?;
            let next = ids(b, 1, v, 8);
            let d0 = ck.model.forward_packed(Some(&plain_packed), &next, &pos, &bias, &mut c0, false)?;
            let d1 = ck.model.forward_packed(Some(&packed), &next, &pos, &bias, &mut c1, false)?;
            close(&d0, &d1, "decode")?;
        }
    }
    Ok(())
}
