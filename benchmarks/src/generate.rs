//! `bench generate` and `bench kv-cache`: sampled generation tokens/s end to end, and the
//! decode step alone through each kind of KV cache.
use crate::args::{Generate, KvCache as KvCacheArgs};
use crate::common::{checkpoint, checkpoint_on, ids, prompts, sampling};
use anyhow::Result;
use candle_core::{DType, Device, Tensor};
use engine::model::{step_inputs, KvCache, Packed};
use serde_json::{json, Value};
use std::time::Instant;

/// `repeats` timed fixed-length generations (after one warm-up) of `batch` prompts, one
/// sample each.
pub fn run(a: &Generate) -> Result<Value> {
    let Generate { model: ref m, place, batch, prompt_tokens, new_tokens, repeats } = *a;
    let mut ck = checkpoint_on(m, &place)?;
    ck.tokenizer.eos_ids.clear(); // fixed length: never stop early
    let prompts = prompts(batch, prompt_tokens, m.vocab);
    let params = sampling(new_tokens);
    let seeds: Vec<u64> = (0..batch as u64).collect();
    let _ = engine::generate(&ck.model, &ck.tokenizer, &prompts, 1, &params, &seeds)?;
    let t0 = Instant::now();
    let mut n = 0;
    for _ in 0..repeats {
        n += engine::generate(&ck.model, &ck.tokenizer, &prompts, 1, &params, &seeds)?.iter().map(|g| g.tokens.len()).sum::<usize>();
    }
    Ok(json!({"generate_tokens_per_s": n as f64 / t0.elapsed().as_secs_f64(), "tokens": n}))
}

/// Decode tokens/s of a cache grown by concatenation, a preallocated one, and a preallocated
/// one through the packed weights and fused attention, over `repeats` rounds (after one
/// warm-up).
pub fn kv_cache(a: &KvCacheArgs) -> Result<Value> {
    let KvCacheArgs { model: ref m, batch, prompt_tokens, new_tokens, repeats } = *a;
    let ck = checkpoint(m)?;
    let dev = Device::Cpu;
    let layers = ck.config().num_hidden_layers;
    let x = Tensor::from_vec(ids(batch, prompt_tokens, m.vocab), (batch, prompt_tokens), &dev)?;
    let packed = ck.model.pack()?;
    // Prefill, then `new_tokens` single-token steps (through the packed weights and
    // fused attention, or the plain path); returns decode seconds.
    let decode = |mut cache: KvCache, packed: Option<&Packed>| -> Result<f64> {
        let forward = |x: &Tensor, pos: &Tensor, bias: &Tensor, cache: &mut KvCache| {
            ck.model.forward_packed(packed, x, pos, bias, cache, false)
        };
        let ok = vec![vec![true; prompt_tokens]; batch];
        let (pos, bias) = step_inputs(&vec![vec![]; batch], &vec![0; batch], &ok, &dev, DType::F32)?;
        forward(&x, &pos, &bias, &mut cache)?;
        let next = Tensor::from_vec(vec![5u32; batch], (batch, 1), &dev)?;
        let t0 = Instant::now();
        for i in 0..new_tokens {
            let key_ok = vec![vec![true; prompt_tokens + i]; batch];
            let p: Vec<u32> = vec![(prompt_tokens + i) as u32; batch];
            let (pos, bias) = step_inputs(&key_ok, &p, &vec![vec![true]; batch], &dev, DType::F32)?;
            forward(&next, &pos, &bias, &mut cache)?;
        }
        Ok(t0.elapsed().as_secs_f64())
    };
    let (mut concat, mut pre, mut fast) = (0.0, 0.0, 0.0);
    let cap = prompt_tokens + new_tokens;
    decode(KvCache::new(layers), None)?; // warm-up
    for _ in 0..repeats {
        concat += decode(KvCache::new(layers), None)?;
        pre += decode(KvCache::with_capacity(layers, cap), None)?;
        fast += decode(KvCache::with_capacity(layers, cap), Some(&packed))?;
    }
    let n = (batch * new_tokens * repeats) as f64;
    Ok(json!({"preallocated_tokens_per_s": n / pre, "concatenated_tokens_per_s": n / concat,
        "packed_tokens_per_s": n / fast}))
}
