//! `bench parity`: what `benchmarks/check_smollm2.py` compares with transformers: the
//! token ids of every instruction, and for the first `n` instructions under the chat
//! template the prompt ids, every position's logits (raw little-endian f32,
//! `logits_<i>.f32`, shape (t, v)) and the greedy continuation.
use anyhow::Result;
use candle_core::{Device, Tensor};
use std::path::Path;

pub fn run(model: &str, instructions: &Path, n: usize, max_new_tokens: usize, out: &Path) -> Result<()> {
    let ck = engine::Runtime::default().load(model)?;
    let rows: Vec<serde_json::Value> = serde_json::from_str(&std::fs::read_to_string(instructions)?)?;
    let texts: Vec<String> = rows.iter().filter_map(|r| r["instruction"].as_str().map(str::to_string)).collect();
    std::fs::create_dir_all(out)?;
    let tokenized: Vec<Vec<u32>> = texts.iter().map(|t| ck.tokenizer.encode(t)).collect::<engine::Result<_>>()?;
    let params = engine::SampleParams { temperature: 0.0, top_p: 1.0, max_new_tokens, stop: vec![] };
    let mut prompts = vec![];
    for (i, text) in texts.iter().take(n).enumerate() {
        let p = ck.tokenizer.encode_prompt(text)?;
        let x = Tensor::new(p.as_slice(), &Device::Cpu)?.unsqueeze(0)?;
        let logits = ck.model.forward(&x)?.squeeze(0)?.flatten_all()?.to_vec1::<f32>()?;
        let bytes: Vec<u8> = logits.iter().flat_map(|f| f.to_le_bytes()).collect();
        std::fs::write(out.join(format!("logits_{i}.f32")), bytes)?;
        let g = engine::generate(&ck.model, &ck.tokenizer, std::slice::from_ref(&p), 1, &params, &[0])?;
        prompts.push(serde_json::json!({ "instruction": text, "ids": p, "greedy": g[0].tokens, "vocab": ck.config().vocab_size }));
    }
    let j = serde_json::json!({ "tokenized": tokenized, "texts": texts, "prompts": prompts, "eos_ids": ck.tokenizer.eos_ids });
    std::fs::write(out.join("ours.json"), j.to_string())?;
    println!("wrote {}", out.display());
    Ok(())
}
