//! `bench decode-gguf`: a real model's decoding speed on the CPU, through its f32 weights or
//! quantized ones (`--quant`), the numbers `benchmarks/llamacpp_speed.py` measures for
//! llama.cpp on the same file: prefill tokens/s of one long prompt, and greedy decode
//! tokens/s at each batch size (fixed length, the prefill's time left out). The weights are
//! packed (or quantized) once before timing, as llama.cpp loads its file once; the packing
//! time is printed apart. With `--instructions`, also greedy answers through the quantized
//! weights against the f32 ones.
use crate::args::DecodeGguf;
use crate::common::prompts;
use anyhow::Result;
use candle_core::{DType, Device, Tensor};
use engine::model::{step_inputs, KvCache, Llama, Packed};
use engine::{Checkpoint, SampleParams};
use serde_json::{json, Value};
use std::time::Instant;

/// Greedy decoding of `prompts` (equal lengths) for `new` tokens after the prefill's one:
/// (prefill seconds, decode seconds, tokens per row).
fn greedy(model: &Llama, packed: &Packed, prompts: &[Vec<u32>], new: usize) -> Result<(f64, f64, Vec<Vec<u32>>)> {
    let (b, l) = (prompts.len(), prompts[0].len());
    let dev = Device::Cpu;
    let argmax = |logits: &Tensor| -> Result<Vec<u32>> { Ok(logits.argmax(1)?.to_vec1::<u32>()?) };
    let mut cache = KvCache::with_capacity(model.config().num_hidden_layers, l + new + 1);
    let t0 = Instant::now();
    let ids = Tensor::from_vec(prompts.concat(), (b, l), &dev)?;
    let (pos, bias) = step_inputs(&vec![vec![]; b], &vec![0; b], &vec![vec![true; l]; b], &dev, DType::F32)?;
    let mut next = argmax(&model.forward_packed(Some(packed), &ids, &pos, &bias, &mut cache, false)?)?;
    let prefill = t0.elapsed().as_secs_f64();
    let mut out: Vec<Vec<u32>> = next.iter().map(|&t| vec![t]).collect();
    let t0 = Instant::now();
    for i in 0..new {
        let key_ok = vec![vec![true; l + i]; b];
        let p = vec![(l + i) as u32; b];
        let (pos, bias) = step_inputs(&key_ok, &p, &vec![vec![true]; b], &dev, DType::F32)?;
        let ids = Tensor::from_vec(next, (b, 1), &dev)?;
        next = argmax(&model.forward_packed(Some(packed), &ids, &pos, &bias, &mut cache, false)?)?;
        out.iter_mut().zip(&next).for_each(|(o, &t)| o.push(t));
    }
    Ok((prefill, t0.elapsed().as_secs_f64(), out))
}

/// Greedy answers to the first `n` instructions through `kind`'s weights against the f32
/// path's: how many are identical, and where each other one parts (the f32 path's top-2
/// logit gap there: a near-tie or a real difference).
fn compare(ck: &mut Checkpoint, a: &DecodeGguf, path: &std::path::Path) -> Result<Value> {
    let rows: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(path)?)?;
    let texts: Vec<String> = rows.iter().filter_map(|r| r["instruction"].as_str().map(str::to_string)).take(a.n).collect();
    let prompts: Vec<Vec<u32>> = texts.iter().map(|t| ck.tokenizer.encode_prompt(t)).collect::<engine::Result<_>>()?;
    let params = SampleParams { temperature: 0.0, top_p: 1.0, max_new_tokens: a.max_new_tokens, stop: vec![] };
    let seeds = vec![0; prompts.len()];
    // One prompt at a time: decode steps of one row, which go through the quantized weights
    // (as does a prompt of at most `quant_rows` tokens; longer ones use the f32 weights).
    let quant = ck.model.decode_quant();
    let one_by_one = |ck: &Checkpoint| -> Result<Vec<engine::Generation>> {
        let mut out = vec![];
        for (p, s) in prompts.iter().zip(&seeds) {
            out.extend(engine::generate(&ck.model, &ck.tokenizer, std::slice::from_ref(p), 1, &params, &[*s])?);
        }
        Ok(out)
    };
    ck.model.set_decode_quant(None);
    let plain = one_by_one(ck)?;
    ck.model.set_decode_quant(quant);
    let quantized = one_by_one(ck)?;
    let mut differing = vec![];
    for ((p, f), q) in prompts.iter().zip(&plain).zip(&quantized) {
        if f.tokens != q.tokens {
            let (k, gap) = engine::backend::divergence(ck, p, &f.tokens, &q.text)?;
            differing.push(json!({ "f32": f.text.trim(), "quantized": q.text.trim(), "at_token": k, "f32_top2_gap": gap }));
        }
    }
    Ok(json!({ "prompts": prompts.len(), "max_new_tokens": a.max_new_tokens, "identical": prompts.len() - differing.len(), "differing": differing }))
}

pub fn run(a: &DecodeGguf) -> Result<Value> {
    let mut ck = Checkpoint::load(&a.model, DType::F32, &Device::Cpu)?;
    ck.model.set_decode_quant(a.quant);
    ck.model.set_decode_head(a.head);
    let v = ck.config().vocab_size;
    let t0 = Instant::now();
    let packed = ck.model.pack()?;
    let pack_s = t0.elapsed().as_secs_f64();
    // Prefill: one prompt of `prefill_tokens`, best of `repeats` after a warm-up.
    let long = prompts(1, a.prefill_tokens, v);
    greedy(&ck.model, &packed, &long, 0)?;
    let mut prefill = f64::INFINITY;
    for _ in 0..a.repeats {
        prefill = prefill.min(greedy(&ck.model, &packed, &long, 0)?.0);
    }
    let mut decode = serde_json::Map::new();
    for &b in &a.batches {
        let p = prompts(b, a.prompt_tokens, v);
        greedy(&ck.model, &packed, &p, 4)?;
        let mut best = f64::INFINITY;
        for _ in 0..a.repeats {
            best = best.min(greedy(&ck.model, &packed, &p, a.new_tokens)?.1);
        }
        decode.insert(b.to_string(), json!((b * a.new_tokens) as f64 / best));
    }
    let greedy_check = match &a.instructions {
        Some(path) if a.quant.is_some() => compare(&mut ck, a, path)?,
        _ => Value::Null,
    };
    Ok(json!({
        "model": a.model.display().to_string(),
        "weights": a.quant.map_or("f32".to_string(), |q| q.to_string()),
        "head": a.quant.map_or("f32".to_string(), |_| a.head.to_string()),
        "pack_s": pack_s,
        "prefill_tokens": a.prefill_tokens,
        "prefill_tokens_per_s": a.prefill_tokens as f64 / prefill,
        "decode_tokens_per_s": decode,
        "greedy_vs_f32": greedy_check,
    }))
}
