//! GGUF tensors as the engine's Hugging Face-named weights.
//!
//! Every tensor is dequantized through candle (F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1,
//! Q8_0 and the K-quants). llama.cpp's converter stores Llama's Q and K weights with
//! the rows of each head permuted for its interleaved rotary layout,
//! `W.reshape(h, 2, d/2, in).swapaxes(1, 2)`; [`unpermute`] undoes it.
use super::{Architecture, Gguf};
use crate::model::Config;
use crate::Result;
use candle_core::{Device, Tensor};
use std::collections::HashMap;

/// Whole tensor names, llama.cpp's and Hugging Face's.
const FIXED: [(&str, &str); 3] = [("token_embd.weight", "model.embed_tokens.weight"), ("output_norm.weight", "model.norm.weight"), ("output.weight", "lm_head.weight")];

/// Per-layer parts (`blk.N.<part>.<kind>` and `model.layers.N.<part>.<kind>`), llama.cpp's
/// and Hugging Face's.
const LAYER_PARTS: [(&str, &str); 9] = [
    ("attn_norm", "input_layernorm"),
    ("ffn_norm", "post_attention_layernorm"),
    ("attn_q", "self_attn.q_proj"),
    ("attn_k", "self_attn.k_proj"),
    ("attn_v", "self_attn.v_proj"),
    ("attn_output", "self_attn.o_proj"),
    ("ffn_gate", "mlp.gate_proj"),
    ("ffn_up", "mlp.up_proj"),
    ("ffn_down", "mlp.down_proj"),
];

/// A name from one naming to the other: `to_hf` maps llama.cpp's to Hugging Face's.
fn rename(name: &str, to_hf: bool) -> Option<String> {
    let pick = |(g, h): &(&'static str, &'static str)| if to_hf { (*g, *h) } else { (*h, *g) };
    if let Some((_, to)) = FIXED.iter().map(pick).find(|(from, _)| *from == name) {
        return Some(to.into());
    }
    let (from_prefix, to_prefix) = if to_hf { ("blk.", "model.layers.") } else { ("model.layers.", "blk.") };
    let (layer, tail) = name.strip_prefix(from_prefix)?.split_once('.')?;
    let layer: usize = layer.parse().ok()?;
    let (part, kind) = tail.rsplit_once('.')?;
    let (_, to) = LAYER_PARTS.iter().map(pick).find(|(from, _)| *from == part)?;
    Some(format!("{to_prefix}{layer}.{to}.{kind}"))
}

/// The Hugging Face name of a GGUF tensor name, or `None` for tensors the engine does
/// not use (e.g. `rope_freqs.weight`).
pub fn hf_name(name: &str) -> Option<String> {
    rename(name, true)
}

/// llama.cpp's name of a Hugging Face tensor name (the inverse of [`hf_name`]).
pub fn gguf_name(hf: &str) -> Option<String> {
    rename(hf, false)
}

/// llama.cpp's permutation of Q/K rows (its `convert_hf_to_gguf.py` `permute`), for `h`
/// heads: `(h, 2, d/2, ..)` → `(h, d/2, 2, ..)`. Works on weights `(out, in)` and biases `(out)`.
pub fn permute(t: &Tensor, h: usize) -> Result<Tensor> {
    let dims = t.dims().to_vec();
    let half = dims[0] / h / 2;
    let mut shape = vec![h, 2, half];
    shape.extend_from_slice(&dims[1..]);
    Ok(t.reshape(shape)?.transpose(1, 2)?.contiguous()?.reshape(dims)?)
}

/// The inverse of [`permute`]: `(h, d/2, 2, ..)` → `(h, 2, d/2, ..)`.
pub fn unpermute(t: &Tensor, h: usize) -> Result<Tensor> {
    let dims = t.dims().to_vec();
    let half = dims[0] / h / 2;
    let mut shape = vec![h, half, 2];
    shape.extend_from_slice(&dims[1..]);
    Ok(t.reshape(shape)?.transpose(1, 2)?.contiguous()?.reshape(dims)?)
}

/// Every tensor the model uses, dequantized to f32 on the CPU, in Hugging Face naming
/// and layout.
pub fn read_all(g: &mut Gguf, cfg: &Config, arch: Architecture) -> Result<HashMap<String, Tensor>> {
    let names: Vec<String> = g.content.tensor_infos.keys().cloned().collect();
    let mut out = HashMap::new();
    for name in names {
        let Some(hf) = hf_name(&name) else { continue };
        let t = g.tensor(&name)?.dequantize(&Device::Cpu)?;
        let t = match (arch.permuted_qk(), hf.contains(".q_proj."), hf.contains(".k_proj.")) {
            (true, true, _) => unpermute(&t, cfg.num_attention_heads)?,
            (true, _, true) => unpermute(&t, cfg.num_kv_heads())?,
            _ => t,
        };
        out.insert(hf, t);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_inverse_of_the_loaders() {
        for hf in [
            "model.embed_tokens.weight",
            "model.norm.weight",
            "lm_head.weight",
            "model.layers.3.self_attn.q_proj.weight",
            "model.layers.0.self_attn.k_proj.bias",
            "model.layers.11.mlp.down_proj.weight",
            "model.layers.2.post_attention_layernorm.weight",
        ] {
            let g = gguf_name(hf).unwrap();
            assert_eq!(hf_name(&g).as_deref(), Some(hf), "{g}");
        }
        assert_eq!(gguf_name("model.layers.0.self_attn.rotary_emb.inv_freq"), None);
    }

    #[test]
    fn names_map_to_hugging_face() {
        assert_eq!(hf_name("blk.12.attn_q.weight").unwrap(), "model.layers.12.self_attn.q_proj.weight");
        assert_eq!(hf_name("blk.0.attn_k.bias").unwrap(), "model.layers.0.self_attn.k_proj.bias");
        assert_eq!(hf_name("blk.3.ffn_norm.weight").unwrap(), "model.layers.3.post_attention_layernorm.weight");
        assert_eq!(hf_name("token_embd.weight").unwrap(), "model.embed_tokens.weight");
        assert_eq!(hf_name("rope_freqs.weight"), None);
    }

    /// Hand computation: one head of dimension 4, rows [r0, r1, r2, r3] (halves [r0, r1],
    /// [r2, r3]) are stored interleaved as [r0, r2, r1, r3].
    #[test]
    fn permutation_interleaves_the_halves_and_unpermute_undoes_it() {
        let w = Tensor::arange(0f32, 8.0, &Device::Cpu).unwrap().reshape((4, 2)).unwrap();
        let p = permute(&w, 1).unwrap();
        assert_eq!(p.to_vec2::<f32>().unwrap(), vec![vec![0., 1.], vec![4., 5.], vec![2., 3.], vec![6., 7.]]);
        let w2 = Tensor::arange(0f32, 24.0, &Device::Cpu).unwrap().reshape((12, 2)).unwrap();
        let back = unpermute(&permute(&w2, 3).unwrap(), 3).unwrap();
        assert_eq!(back.to_vec2::<f32>().unwrap(), w2.to_vec2::<f32>().unwrap());
    }
}
