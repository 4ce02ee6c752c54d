//! A [`Checkpoint`] from a GGUF file.
use super::{config, tokenizer, weights, Architecture, Gguf};
use crate::{Checkpoint, Result};
use candle_core::{DType, Device};
use std::path::Path;

/// Loads `path`: config and tokenizer from the metadata, every tensor dequantized (and
/// Q/K un-permuted) into trainable weights of `dtype` on `dev`.
pub fn load(path: &Path, dtype: DType, dev: &Device) -> Result<Checkpoint> {
    let mut g = Gguf::open(path)?;
    let arch = Architecture::from_gguf(&g)?;
    let cfg = config::config(&g, arch)?;
    let tok = tokenizer::tokenizer(&g)?;
    // A token without an embedding row would index past the table.
    if tok.vocab_size() > cfg.vocab_size {
        return Err(g.err("tokenizer.ggml.tokens", format!("{} tokens, but the model embeds {}", tok.vocab_size(), cfg.vocab_size)));
    }
    let tensors = weights::read_all(&mut g, &cfg, arch)?;
    Checkpoint::from_tensors(&cfg, tensors, tok, dtype, dev, path)
}
