//! The Llama-architecture decoder, differentiable end to end.
//!
//! Shapes: b batch, t tokens, e hidden, h query heads, k key/value heads,
//! d head size, v vocabulary. Weights live in a `VarMap` under Hugging Face
//! names (`model.layers.0.self_attn.q_proj.weight`, ...), so a saved
//! `VarMap` is a `model.safetensors` that transformers loads.
//!
//! `forward` is the training path: plain candle ops that all have a backward,
//! and full `(b, t, v)` logits. The inference path over the same weights
//! (fused kernels, KV cache) is in `fast.rs`.
use super::rope::{self, Rope};
use super::tape::Track;
use super::Config;
use crate::ops::QuantKind;
use candle_core::{DType, Device, Module, Tensor, D};
use candle_nn::{Init, Linear, VarBuilder};

const INIT_STD: f64 = 0.02;

fn linear(vb: &VarBuilder, i: usize, o: usize, bias: bool, name: &str) -> candle_core::Result<Linear> {
    let vb = vb.pp(name);
    let w = vb.get_with_hints((o, i), "weight", Init::Randn { mean: 0.0, stdev: INIT_STD })?;
    let b = if bias { Some(vb.get_with_hints(o, "bias", Init::Const(0.0))?) } else { None };
    Ok(Linear::new(w, b))
}

fn norm_weight(vb: &VarBuilder, e: usize, name: &str) -> candle_core::Result<Tensor> {
    vb.pp(name).get_with_hints(e, "weight", Init::Const(1.0))
}

#[derive(Debug, Clone)]
pub struct Attention {
    pub(crate) q_proj: Linear,
    pub(crate) k_proj: Linear,
    pub(crate) v_proj: Linear,
    pub(crate) o_proj: Linear,
    pub(crate) h: usize,
    pub(crate) k: usize,
    pub(crate) d: usize,
}

impl Attention {
    pub fn load(vb: VarBuilder, cfg: &Config) -> candle_core::Result<Self> {
        let (e, h, k, d) = (cfg.hidden_size, cfg.num_attention_heads, cfg.num_kv_heads(), cfg.head_dim());
        Ok(Self {
            q_proj: linear(&vb, e, h * d, cfg.qkv_bias(), "q_proj")?,
            k_proj: linear(&vb, e, k * d, cfg.qkv_bias(), "k_proj")?,
            v_proj: linear(&vb, e, k * d, cfg.qkv_bias(), "v_proj")?,
            o_proj: linear(&vb, h * d, e, cfg.o_bias(), "o_proj")?,
            h,
            k,
            d,
        })
    }

    /// Projects `x: (b, t, e)` to q `(b, h, t, d)`, k and v `(b, k, t, d)`, before RoPE.
    pub(crate) fn qkv(&self, x: &Tensor) -> candle_core::Result<(Tensor, Tensor, Tensor)> {
        self.qkv_by(x, |x, lin, _| lin.forward(x))
    }

    /// [`Attention::qkv`] with each projection done by `proj(x, layer, j)`, `j` = 0, 1, 2 for
    /// q, k, v (the decoding path passes the layers' packed copies).
    pub(crate) fn qkv_by(
        &self,
        x: &Tensor,
        proj: impl Fn(&Tensor, &Linear, usize) -> candle_core::Result<Tensor>,
    ) -> candle_core::Result<(Tensor, Tensor, Tensor)> {
        let (b, t, _) = x.dims3()?;
        let heads = |y: Tensor, n: usize| y.reshape((b, t, n, self.d))?.transpose(1, 2);
        Ok((heads(proj(x, &self.q_proj, 0)?, self.h)?, heads(proj(x, &self.k_proj, 1)?, self.k)?, heads(proj(x, &self.v_proj, 2)?, self.k)?))
    }

    /// `(b, k, s, d)` -> `(b, h, s, d)` by repeating each key/value head.
    pub(crate) fn repeat_kv(&self, x: Tensor) -> candle_core::Result<Tensor> {
        let n_rep = self.h / self.k;
        if n_rep == 1 {
            return Ok(x);
        }
        let (b, k, s, d) = x.dims4()?;
        x.unsqueeze(2)?.broadcast_as((b, k, n_rep, s, d))?.reshape((b, k * n_rep, s, d))
    }

    /// Training path. `x: (b, t, e)`, `cos, sin: (b, t, d/2)`. `mask`: the additive causal
    /// mask `(1|b, 1, t, t)` for candle's ops, or `None` for the fused kernels (causal by index).
    /// `keep`: the fused attention keeps its probabilities for the backward pass.
    fn forward(&self, x: &Tensor, cos: &Tensor, sin: &Tensor, mask: Option<&Tensor>, keep: bool) -> candle_core::Result<Tensor> {
        let scale = 1.0 / (self.d as f64).sqrt();
        let Some(mask) = mask else {
            // The fused kernels: each projection, its split into heads (with RoPE), the
            // attention (which keeps no (b, h, t, t) tensor for the backward pass) and the
            // merge of its heads are one graph node each.
            use crate::ops::{causal_attention, causal_attention_keeping, merge_heads, split_heads};
            let q = split_heads(&train_linear(x, &self.q_proj)?, self.h, Some((cos, sin)))?;
            let k = split_heads(&train_linear(x, &self.k_proj)?, self.k, Some((cos, sin)))?;
            let v = split_heads(&train_linear(x, &self.v_proj)?, self.k, None)?;
            let attend = if keep { causal_attention_keeping } else { causal_attention };
            let y = attend(&q, &self.repeat_kv(k)?, &self.repeat_kv(v)?, scale)?;
            return train_linear(&merge_heads(&y)?, &self.o_proj);
        };
        let (b, t, _) = x.dims3()?;
        let (q, k, v) = self.qkv(x)?;
        let q = rope::apply_slow(&q.contiguous()?, cos, sin)?;
        let k = rope::apply_slow(&k.contiguous()?, cos, sin)?;
        let k = self.repeat_kv(k)?;
        let v = self.repeat_kv(v.contiguous()?)?;
        let att = (q.matmul(&k.t()?)? * scale)?.broadcast_add(mask)?;
        let y = candle_nn::ops::softmax(&att, D::Minus1)?.matmul(&v)?; // (b, h, t, d)
        let y = y.transpose(1, 2)?.reshape((b, t, self.h * self.d))?;
        self.o_proj.forward(&y)
    }
}

#[derive(Debug, Clone)]
pub struct Mlp {
    pub(crate) gate_proj: Linear,
    pub(crate) up_proj: Linear,
    pub(crate) down_proj: Linear,
}

impl Mlp {
    pub fn load(vb: VarBuilder, cfg: &Config) -> candle_core::Result<Self> {
        let (e, i) = (cfg.hidden_size, cfg.intermediate_size);
        Ok(Self {
            gate_proj: linear(&vb, e, i, false, "gate_proj")?,
            up_proj: linear(&vb, e, i, false, "up_proj")?,
            down_proj: linear(&vb, i, e, false, "down_proj")?,
        })
    }
}

impl Mlp {
    /// [`Mlp::forward`] with each projection done by `proj(x, layer, j)`, `j` = 0, 1, 2 for
    /// gate, up, down (the decoding path passes the layers' packed copies).
    pub(crate) fn forward_by(
        &self,
        x: &Tensor,
        proj: impl Fn(&Tensor, &Linear, usize) -> candle_core::Result<Tensor>,
    ) -> candle_core::Result<Tensor> {
        let (g, u) = (proj(x, &self.gate_proj, 0)?, proj(x, &self.up_proj, 1)?);
        let h = if crate::ops::fusable(x) { crate::ops::swiglu(&g, &u)? } else { (g.silu()? * u)? };
        proj(&h, &self.down_proj, 2)
    }
}

impl Module for Mlp {
    /// SwiGLU: `down(silu(gate(x)) * up(x))`, `(b, t, e) -> (b, t, e)`.
    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        self.forward_by(x, |x, lin, _| train_linear(x, lin))
    }
}

#[derive(Debug, Clone)]
pub struct Block {
    pub(crate) input_layernorm: Tensor,
    pub(crate) self_attn: Attention,
    pub(crate) post_attention_layernorm: Tensor,
    pub(crate) mlp: Mlp,
}

impl Block {
    pub fn load(vb: VarBuilder, cfg: &Config) -> candle_core::Result<Self> {
        Ok(Self {
            input_layernorm: norm_weight(&vb, cfg.hidden_size, "input_layernorm")?,
            self_attn: Attention::load(vb.pp("self_attn"), cfg)?,
            post_attention_layernorm: norm_weight(&vb, cfg.hidden_size, "post_attention_layernorm")?,
            mlp: Mlp::load(vb.pp("mlp"), cfg)?,
        })
    }
}

/// The decoder with its language-model head.
#[derive(Debug, Clone)]
pub struct Llama {
    pub(crate) embed_tokens: Tensor,
    pub(crate) layers: Vec<Block>,
    pub(crate) norm: Tensor,
    /// `(v, e)`; the embedding matrix itself when tied.
    pub(crate) lm_head: Tensor,
    pub(crate) rope: Rope,
    pub(crate) cfg: Config,
    /// Decoding (on CPU) through weights quantized to this block format instead of f32
    /// ([`Llama::pack`]); the training path always uses the f32 weights.
    pub(crate) decode_quant: Option<QuantKind>,
    /// The output head's block format when decoding through quantized weights: Q8_0 by
    /// default, as llama.cpp's quantizer keeps it (a 4-bit head moves a sixth fewer bytes
    /// of SmolLM2 and parts greedy answers at logit gaps up to ~1, measured).
    pub(crate) decode_head: QuantKind,
}

impl Llama {
    /// Builds the model from `vb`, creating (randomly initialised) variables
    /// that are not there yet when `vb` is backed by a `VarMap`.
    pub fn load(vb: VarBuilder, cfg: &Config) -> crate::Result<Self> {
        cfg.validate()?;
        let (v, e) = (cfg.vocab_size, cfg.hidden_size);
        let m = vb.pp("model");
        let embed_tokens =
            m.pp("embed_tokens").get_with_hints((v, e), "weight", Init::Randn { mean: 0.0, stdev: INIT_STD })?;
        let layers = (0..cfg.num_hidden_layers)
            .map(|i| Block::load(m.pp(format!("layers.{i}")), cfg))
            .collect::<candle_core::Result<Vec<_>>>()?;
        let norm = norm_weight(&m, e, "norm")?;
        let lm_head = if cfg.tie_word_embeddings {
            embed_tokens.clone()
        } else {
            vb.pp("lm_head").get_with_hints((v, e), "weight", Init::Randn { mean: 0.0, stdev: INIT_STD })?
        };
        let rope = Rope::new(cfg, vb.dtype(), vb.device())?;
        Ok(Self { embed_tokens, layers, norm, lm_head, rope, cfg: cfg.clone(), decode_quant: None, decode_head: QuantKind::Q8_0 })
    }

    pub fn config(&self) -> &Config {
        &self.cfg
    }
    /// Decodes through weights quantized to `kind` (`None`: the f32 weights). Faster on CPU
    /// where decoding is bound by memory traffic, and not the same numbers: see
    /// [`crate::ops::QuantWeight`].
    pub fn set_decode_quant(&mut self, kind: Option<QuantKind>) {
        self.decode_quant = kind;
    }
    pub fn decode_quant(&self) -> Option<QuantKind> {
        self.decode_quant
    }
    /// The output head's format under [`Llama::set_decode_quant`] (default Q8_0).
    pub fn set_decode_head(&mut self, kind: QuantKind) {
        self.decode_head = kind;
    }
    pub fn device(&self) -> &Device {
        self.embed_tokens.device()
    }
    pub fn dtype(&self) -> DType {
        self.embed_tokens.dtype()
    }

    /// Additive causal mask `(1, 1, t, t)`: 0 on and below the diagonal, a large negative above.
    pub fn causal_mask(t: usize, dtype: DType, dev: &Device) -> candle_core::Result<Tensor> {
        let m: Vec<f32> = (0..t).flat_map(|i| (0..t).map(move |j| if j > i { super::NEG } else { 0.0 })).collect();
        Tensor::from_vec(m, (1, 1, t, t), dev)?.to_dtype(dtype)
    }

    /// Training path: token ids `(b, t)` (u32) -> logits `(b, t, v)`.
    ///
    /// Positions are `0..t` in every row, so batches are right-padded: padding
    /// sits after the real tokens and never influences them.
    pub fn forward(&self, ids: &Tensor) -> candle_core::Result<Tensor> {
        self.forward_with(ids, Track::Graph)
    }

    /// [`Llama::forward`] recording what `track` asks for the backward pass.
    pub fn forward_with(&self, ids: &Tensor, track: Track) -> candle_core::Result<Tensor> {
        project(&self.hidden(ids, track)?, &self.lm_head)
    }

    /// [`Llama::forward_with`] before the head: the final normed hidden states `(b, t, e)`.
    pub fn hidden(&self, ids: &Tensor, track: Track) -> candle_core::Result<Tensor> {
        let (b, t) = ids.dims2()?;
        let dev = ids.device();
        let pos = Tensor::arange(0u32, t as u32, dev)?.unsqueeze(0)?.broadcast_as((b, t))?.contiguous()?;
        let (cos, sin) = self.rope.tables(&pos)?;
        let mut x = track.start(embed(&self.embed_tokens, ids)?)?; // (b, t, e)
        // The fused kernels apply the causal mask by index; candle's ops need it as a tensor.
        let mask = if crate::ops::fusable(&x) { None } else { Some(Self::causal_mask(t, self.dtype(), dev)?) };
        let eps = self.cfg.rms_norm_eps as f32;
        // The tape frees each layer's graph (and what its attention kept) as its backward
        // pass goes; a whole-model graph, or none, keeps the attention's inputs only.
        let keep = matches!(track, Track::Layers(_));
        for layer in &self.layers {
            if let Some(tape) = track.tape().filter(|_| layer.recordable(&x)) {
                let (out, record) = layer.forward_recorded(&x, &cos, &sin, eps)?;
                x = tape.cut_recorded(out, record)?;
                continue;
            }
            let hn = rms_norm(&x, &layer.input_layernorm, eps)?;
            x = (x + layer.self_attn.forward(&hn, &cos, &sin, mask.as_ref(), keep)?)?;
            let hn = rms_norm(&x, &layer.post_attention_layernorm, eps)?;
            x = track.cut((&x + layer.mlp.forward(&hn)?)?)?;
        }
        rms_norm(&x, &self.norm, eps)
    }

    /// The head on the rows of `x: (n, e)` -> logits `(n, v)`.
    pub fn head(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        if one_node(x) {
            return crate::ops::linear(x, &self.lm_head);
        }
        x.matmul(&self.lm_head.t()?)
    }
}

/// Whether `x · wᵀ` can be the one-node [`crate::ops::linear`].
fn one_node(x: &Tensor) -> bool {
    crate::ops::fusable(x) && x.is_contiguous()
}

/// `lin` on `x` for training: one fused op on contiguous f32 CPU tensors (candle_nn's
/// numbers, one graph node instead of four), else candle_nn's `Linear`.
fn train_linear(x: &Tensor, lin: &Linear) -> candle_core::Result<Tensor> {
    if !one_node(x) {
        return lin.forward(x);
    }
    let y = crate::ops::linear(x, lin.weight())?;
    match lin.bias() {
        Some(bias) => y.broadcast_add(bias),
        None => Ok(y),
    }
}

/// Differentiable RMSNorm over the last dim: fused on f32 CPU tensors, else candle's ops.
fn rms_norm(x: &Tensor, w: &Tensor, eps: f32) -> candle_core::Result<Tensor> {
    if crate::ops::fusable(x) {
        crate::ops::rms_norm(x, w, eps)
    } else {
        candle_nn::ops::rms_norm_slow(x, w, eps)
    }
}

/// Looks up `ids: (b, t)` in the `(v, e)` table -> `(b, t, e)`.
pub(crate) fn embed(table: &Tensor, ids: &Tensor) -> candle_core::Result<Tensor> {
    let (b, t) = ids.dims2()?;
    let e = table.dim(1)?;
    table.index_select(&ids.flatten_all()?, 0)?.reshape((b, t, e))
}

/// `x: (b, t, e)` times the `(v, e)` head -> `(b, t, v)`.
pub(crate) fn project(x: &Tensor, head: &Tensor) -> candle_core::Result<Tensor> {
    if one_node(x) {
        return crate::ops::linear(x, head);
    }
    let (b, t, e) = x.dims3()?;
    x.reshape((b * t, e))?.matmul(&head.t()?)?.reshape((b, t, ()))
}
