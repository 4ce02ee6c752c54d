//! What the timed subcommands share: the benchmark Llama (random weights, a tokenizer
//! trained on synthetic text), deterministic token ids, and sampling settings.
use crate::args::{Model, Place};
use anyhow::Result;
use candle_core::Device;
use engine::{Checkpoint, Config, Runtime, SampleParams, Tokenizer};

pub fn tokenizer(vocab: usize) -> Result<Tokenizer> {
    let text: Vec<String> = (0..400).map(|i| format!("word{i} the quick brown fox {} jumps over {}", i * 7, i % 13)).collect();
    Ok(Tokenizer::train(text.iter(), vocab)?)
}

/// A randomly initialised checkpoint (seed 0) of the given shape, with a 1024-token context,
/// on the CPU in f32.
pub fn checkpoint(m: &Model) -> Result<Checkpoint> {
    let tok = tokenizer(m.vocab)?;
    let mut cfg = Config::llama(m.vocab, m.hidden, m.intermediate, m.layers, m.heads, m.kv_heads.unwrap_or(m.heads), 1024);
    cfg.tie_word_embeddings = m.tied;
    Ok(Checkpoint::init(&cfg, tok, 0, &Device::Cpu)?)
}

/// [`checkpoint`]'s weights moved to where `place` says, in its dtype.
pub fn checkpoint_on(m: &Model, place: &Place) -> Result<Checkpoint> {
    let rt = place.runtime()?;
    let ck = checkpoint(m)?;
    if rt == Runtime::default() {
        return Ok(ck);
    }
    let origin = std::path::Path::new("<init>");
    let (cfg, tensors) = (ck.config().clone(), ck.tensors()?);
    Ok(Checkpoint::from_tensors(&cfg, tensors, ck.tokenizer, rt.dtype(), &rt.device()?, origin)?)
}

/// `b · t` deterministic token ids in `4..v - 4`.
pub fn ids(b: usize, t: usize, v: usize) -> Vec<u32> {
    (0..b * t).map(|i| ((i * 7919 + 13) % (v - 8) + 4) as u32).collect()
}

/// `n` prompts of `t` tokens each, from [`ids`].
pub fn prompts(n: usize, t: usize, v: usize) -> Vec<Vec<u32>> {
    ids(n, t, v).chunks(t).map(|c| c.to_vec()).collect()
}

/// The sampling of the generation benchmarks: temperature 0.7, top-p 0.9, no stop strings.
pub fn sampling(max_new_tokens: usize) -> SampleParams {
    SampleParams { temperature: 0.7, top_p: 0.9, max_new_tokens, stop: vec![] }
}
