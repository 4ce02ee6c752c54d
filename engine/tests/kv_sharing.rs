//! Rows that share the beginning of their KV cache read it in place (`KvCache::share_rows`)
//! and decode as if each had its own copy (`KvCache::repeat_rows`).
mod common;
use candle_core::{DType, Device, Tensor};
use common::*;
use engine::model::{step_inputs, KvCache, Packed};
use engine::{Checkpoint, Config};

/// `steps` one-token steps of every row, the plain path on copies against the packed path
/// on a shared cache: each step's logits and the caches' lengths agree. `key_ok` (the keys
/// each row may read) and `next_pos` (its next position) advance with it. Row `r`'s token at
/// step `s` is `(r·a + s·b + c) mod v` for `mix = (a, b, c)`.
fn decode_alike(
    ck: &Checkpoint,
    packed: &Packed,
    (plain, shared): (&mut KvCache, &mut KvCache),
    (key_ok, next_pos): (&mut Vec<Vec<bool>>, &mut Vec<u32>),
    steps: u32,
    (a, b, c): (u32, u32, u32),
) -> anyhow::Result<()> {
    let (n, v) = (next_pos.len(), ck.model.config().vocab_size as u32);
    for step in 0..steps {
        let next = Tensor::from_vec((0..n as u32).map(|r| (r * a + step * b + c) % v).collect(), (n, 1), &Device::Cpu)?;
        let (pos, bias) = step_inputs(key_ok, next_pos, &vec![vec![true]; n], &Device::Cpu, DType::F32)?;
        let want = ck.model.forward_cached(&next, &pos, &bias, plain, false)?;
        let got = ck.model.forward_packed(Some(packed), &next, &pos, &bias, shared, false)?;
        let d = max_abs_diff(&want, &got);
        assert!(d < 1e-4, "step {step}: {d}");
        assert_eq!(shared.len(), plain.len());
        key_ok.iter_mut().for_each(|r| r.push(true));
        next_pos.iter_mut().for_each(|p| *p += 1);
    }
    Ok(())
}

/// Samples reading their prompt's cache in place (`share_rows`, the packed path) decode like
/// samples given their own copies (`repeat_rows`, the plain path): 2 prompts (one
/// left-padded) × 3 samples, each sample its own tokens, two steps; head sizes 8 and 32.
#[test]
fn shared_prompt_cache_decodes_like_repeated_rows() -> anyhow::Result<()> {
    let tok = tiny_tokenizer();
    let v = tok.vocab_size();
    for cfg in [tiny_config(v), Config::llama(v, 64, 96, 2, 2, 1, 128)] {
        let ck = Checkpoint::init(&cfg, tok.clone(), 11, &Device::Cpu)?;
        let packed = ck.model.pack()?;
        let (b, t, n, layers) = (2, 6, 3, cfg.num_hidden_layers);
        let x = ids(b, t, v, 3);
        let ok: Vec<Vec<bool>> = (0..b).map(|r| (0..t).map(|j| r == 0 || j >= 2).collect()).collect();
        let (pos, bias) = step_inputs(&vec![vec![]; b], &vec![0; b], &ok, &Device::Cpu, DType::F32)?;
        let mut plain = KvCache::with_capacity(layers, t + 3);
        let mut shared = KvCache::with_capacity(layers, t + 3);
        ck.model.forward_cached(&x, &pos, &bias, &mut plain, false)?;
        ck.model.forward_packed(Some(&packed), &x, &pos, &bias, &mut shared, false)?;
        let (mut plain, mut shared) = (plain.repeat_rows(n)?, shared.share_rows(n)?);
        let mut key_ok: Vec<Vec<bool>> = ok.iter().flat_map(|r| vec![r.clone(); n]).collect();
        let mut next_pos: Vec<u32> = (0..b * n).map(|r| if r < n { t as u32 } else { t as u32 - 2 }).collect();
        decode_alike(&ck, &packed, (&mut plain, &mut shared), (&mut key_ok, &mut next_pos), 2, (37, 11, 5))?;
        // The plain path reads a shared cache too (copying the shared positions out).
        let (pos, bias) = step_inputs(&key_ok, &next_pos, &vec![vec![true]; b * n], &Device::Cpu, DType::F32)?;
        let next = Tensor::from_vec(vec![1u32; b * n], (b * n, 1), &Device::Cpu)?;
        let want = ck.model.forward_cached(&next, &pos, &bias, &mut plain, false)?;
        let got = ck.model.forward_cached(&next, &pos, &bias, &mut shared, false)?;
        assert!(max_abs_diff(&want, &got) < 1e-4);
    }
    Ok(())
}

/// Two levels of sharing, as a judge's batch: a common prefix (the rubric) prefilled once and
/// read in place by 2 prompts, whose own tokens (one prompt left-padded) are prefilled in one
/// multi-token step, then each prompt read in place by its 3 samples; every step's logits as
/// with copies (`repeat_rows`, the plain path). Grouped query heads (4 heads, 2 and 1 KV heads).
#[test]
fn nested_shared_prefixes_decode_like_copies() -> anyhow::Result<()> {
    let tok = tiny_tokenizer();
    let v = tok.vocab_size();
    for cfg in [Config::llama(v, 64, 96, 2, 4, 2, 128), Config::llama(v, 64, 96, 2, 4, 1, 128)] {
        let ck = Checkpoint::init(&cfg, tok.clone(), 5, &Device::Cpu)?;
        let packed = ck.model.pack()?;
        let (p, b, t, n, layers) = (7, 2, 5, 3, cfg.num_hidden_layers);
        let cap = p + t + 3;
        let prefix = ids(1, p, v, 9);
        let (pos, bias) = step_inputs(&[vec![]], &[0], &[vec![true; p]], &Device::Cpu, DType::F32)?;
        let mut plain = KvCache::with_capacity(layers, cap);
        let mut shared = KvCache::with_capacity(layers, cap);
        ck.model.forward_cached(&prefix, &pos, &bias, &mut plain, false)?;
        ck.model.forward_packed(Some(&packed), &prefix, &pos, &bias, &mut shared, false)?;
        let (mut plain, mut shared) = (plain.repeat_rows(b)?, shared.share_rows(b)?);
        let rest = ids(b, t, v, 4);
        let ok: Vec<Vec<bool>> = (0..b).map(|r| (0..t).map(|j| r == 0 || j >= 2).collect()).collect();
        let (pos, bias) = step_inputs(&vec![vec![true; p]; b], &vec![p as u32; b], &ok, &Device::Cpu, DType::F32)?;
        let want = ck.model.forward_cached(&rest, &pos, &bias, &mut plain, false)?;
        let got = ck.model.forward_packed(Some(&packed), &rest, &pos, &bias, &mut shared, false)?;
        let d = max_abs_diff(&want, &got);
        assert!(d < 1e-4 && want.abs()?.sum_all()?.to_scalar::<f32>()? > 0.0, "prefill after a shared prefix: {d}");
        let (mut plain, mut shared) = (plain.repeat_rows(n)?, shared.share_rows(n)?);
        assert_eq!(shared.len(), plain.len());
        let mut key_ok: Vec<Vec<bool>> = ok.iter().flat_map(|r| vec![[vec![true; p], r.clone()].concat(); n]).collect();
        let mut next_pos: Vec<u32> = (0..b * n).map(|r| if r < n { (p + t) as u32 } else { (p + t - 2) as u32 }).collect();
        decode_alike(&ck, &packed, (&mut plain, &mut shared), (&mut key_ok, &mut next_pos), 3, (31, 7, 2))?;
        assert_eq!(shared.len(), plain.len());
    }
    Ok(())
}
