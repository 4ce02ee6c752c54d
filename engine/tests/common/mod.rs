//! Helpers shared by the engine tests: a tiny config, tokenizer and model.
#![allow(dead_code)]
use engine::{Checkpoint, Config, Tokenizer};

pub fn tiny_config(vocab: usize) -> Config {
    // hidden 32, 2 layers, 4 query heads sharing 2 key/value heads (GQA), head size 8
    Config::llama(vocab, 32, 48, 2, 4, 2, 128)
}

pub fn tiny_tokenizer() -> Tokenizer {
    let corpus: Vec<String> = (0..200)
        .map(|i| format!("Reverse the word apple{i}. The answer is elppa{i}. Sort 3 1 2 -> 1 2 3. Score: {}", i % 6))
        .collect();
    Tokenizer::train(corpus.iter(), 300).expect("train tokenizer")
}

pub fn tiny_model(seed: u64) -> Checkpoint {
    let tok = tiny_tokenizer();
    let cfg = tiny_config(tok.vocab_size());
    Checkpoint::init(&cfg, tok, seed, &candle_core::Device::Cpu).expect("init")
}

pub fn max_abs_diff(a: &candle_core::Tensor, b: &candle_core::Tensor) -> f32 {
    (a - b).unwrap().abs().unwrap().flatten_all().unwrap().max(0).unwrap().to_scalar::<f32>().unwrap()
}

/// `(b, t)` token ids spread over the vocabulary, different per `seed`.
pub fn ids(b: usize, t: usize, vocab: usize, seed: u32) -> candle_core::Tensor {
    let v: Vec<u32> = (0..b * t).map(|i| (i as u32 * 7919 + seed * 104729) % vocab as u32).collect();
    candle_core::Tensor::from_vec(v, (b, t), &candle_core::Device::Cpu).unwrap()
}

/// A fixed pseudo-random fill (no global RNG state), values in about [-2, 2].
pub fn randn(shape: &[usize], seed: u64) -> candle_core::Tensor {
    let n: usize = shape.iter().product();
    let v: Vec<f32> = (0..n)
        .map(|i| {
            let x = (i as u64 + 1).wrapping_mul(6364136223846793005).wrapping_add(seed.wrapping_mul(1442695040888963407));
            ((x >> 33) as f64 / (1u64 << 31) as f64 * 4.0 - 2.0) as f32
        })
        .collect();
    candle_core::Tensor::from_vec(v, shape, &candle_core::Device::Cpu).unwrap()
}
