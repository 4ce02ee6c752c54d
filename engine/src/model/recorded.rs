//! A fused layer's training pass with its backward written out, for the layer tape.
//!
//! candle's backward pass gives every node's gradient a zero tensor and adds the first
//! contribution into it: an allocation, a fill and a pass over memory for each of a
//! layer's ~25 activation-sized gradients (4% of a 3.4M train step in perf). A recorded
//! layer runs the same kernels forward outside any graph, keeps what its backward reads,
//! and its backward calls the same ops' backward functions in the order candle's backward
//! visits the nodes, summing each gradient's contributions in candle's order; only the
//! zero tensors go. The gradients are candle's bits (tested against the whole graph).
//!
//! Layers the fused kernels run, without biases: the others keep candle's graph. Repeated
//! key/value heads (grouped-query attention) are summed back as candle's broadcast backward
//! sums them (the same `sum_keepdim`).
use super::llama::Block;
use crate::ops;
use candle_core::{Result, Tensor};

/// What a recorded layer's backward reads (see the module docs).
pub(crate) struct LayerRecord {
    /// The layer's input as the graph knows it (the tape's leaf), for its gradient's key.
    input: Tensor,
    /// The weights, in the order [`LayerRecord::backward`] returns their gradients.
    weights: [Tensor; 9],
    x: Tensor,
    hn1: Tensor,
    q: Tensor,
    /// k and v repeated to the query heads (what the attention read).
    k: Tensor,
    v: Tensor,
    y: Tensor,
    probs: Vec<f32>,
    merged: Tensor,
    x2: Tensor,
    hn2: Tensor,
    g: Tensor,
    u: Tensor,
    h: Tensor,
    cos: Tensor,
    sin: Tensor,
    /// Key/value heads (before repeating).
    kv: usize,
    eps: f32,
    scale: f64,
}

/// `g: (b, h, s, d)`, the gradient of `kv` heads each repeated `h / kv` times, summed back
/// to `(b, kv, s, d)` as candle's backward of `repeat_kv` does it.
fn unrepeat(g: Tensor, kv: usize) -> Result<Tensor> {
    let (b, h, s, d) = g.dims4()?;
    if h == kv {
        return Ok(g);
    }
    g.reshape((b, kv, h / kv, s, d))?.sum_keepdim(2)?.reshape((b, kv, s, d))
}

impl Block {
    /// Whether [`Block::forward_recorded`] takes `x`.
    pub(crate) fn recordable(&self, x: &Tensor) -> bool {
        let a = &self.self_attn;
        let lins = [&a.q_proj, &a.k_proj, &a.v_proj, &a.o_proj, &self.mlp.gate_proj, &self.mlp.up_proj, &self.mlp.down_proj];
        ops::fusable(x) && x.is_contiguous() && lins.iter().all(|l| l.bias().is_none())
    }

    /// The layer on `x: (b, t, e)` (the tape's leaf), as the fused graph computes it (the
    /// same kernels, the same bits), without a graph: the output and its record.
    pub(crate) fn forward_recorded(&self, x: &Tensor, cos: &Tensor, sin: &Tensor, eps: f32) -> Result<(Tensor, LayerRecord)> {
        let (a, m) = (&self.self_attn, &self.mlp);
        let weights = [&self.input_layernorm, a.q_proj.weight(), a.k_proj.weight(), a.v_proj.weight(), a.o_proj.weight(), &self.post_attention_layernorm, m.gate_proj.weight(), m.up_proj.weight(), m.down_proj.weight()].map(|w| w.clone());
        let [w1, wq, wk, wv, wo, w2, wg, wu, wd] = weights.clone().map(|w| w.detach());
        let scale = 1.0 / (a.d as f64).sqrt();
        let xd = x.detach();
        let hn1 = ops::rms_norm(&xd, &w1, eps)?;
        let q = ops::split_heads(&ops::linear(&hn1, &wq)?, a.h, Some((cos, sin)))?;
        let k = ops::split_heads(&ops::linear(&hn1, &wk)?, a.k, Some((cos, sin)))?;
        let v = ops::split_heads(&ops::linear(&hn1, &wv)?, a.k, None)?;
        let (k, v) = (a.repeat_kv(k)?.contiguous()?, a.repeat_kv(v)?.contiguous()?);
        let (y, probs) = ops::causal_attention_probs(&q, &k, &v, scale)?;
        let merged = ops::merge_heads(&y)?;
        let x2 = (&xd + ops::linear(&merged, &wo)?)?;
        let hn2 = ops::rms_norm(&x2, &w2, eps)?;
        let (g, u) = (ops::linear(&hn2, &wg)?, ops::linear(&hn2, &wu)?);
        let h = ops::swiglu(&g, &u)?;
        let out = (&x2 + ops::linear(&h, &wd)?)?;
        let (cos, sin) = (cos.clone(), sin.clone());
        Ok((out, LayerRecord { input: x.clone(), weights, x: xd, hn1, q, k, v, y, probs, merged, x2, hn2, g, u, h, cos, sin, kv: a.k, eps, scale }))
    }
}

impl LayerRecord {
    /// The layer's input (the tape's leaf).
    pub(crate) fn input(&self) -> &Tensor {
        &self.input
    }

    /// The gradients of the layer's input and of its weights (as `(weight, gradient)`) for
    /// that of its output `dy`.
    pub(crate) fn backward(self, dy: &Tensor) -> Result<(Tensor, Vec<(Tensor, Tensor)>)> {
        let [w1, wq, wk, wv, wo, w2, wg, wu, wd] = self.weights.clone().map(|w| w.detach());
        let eps = self.eps;
        // candle visits the output's sum, then down, SwiGLU, up, gate, the second norm, the
        // first sum, o, the heads' merge, the attention, then v, k and q, and the first norm.
        let (dh, dwd) = ops::linear_bwd(&self.h, &wd, dy)?;
        let (dg, du) = ops::swiglu_bwd(&self.g, &self.u, &dh)?;
        let (dn2_u, dwu) = ops::linear_bwd(&self.hn2, &wu, &du)?;
        let (dn2_g, dwg) = ops::linear_bwd(&self.hn2, &wg, &dg)?;
        let (dx2_norm, dw2) = ops::rms_norm_bwd(&self.x2, &w2, &(dn2_u + dn2_g)?, eps)?;
        let dx2 = (dy + dx2_norm)?;
        let (dmerged, dwo) = ops::linear_bwd(&self.merged, &wo, &dx2)?;
        let dyh = ops::merge_heads_bwd(&dmerged, self.q.dim(1)?)?;
        let (dq, dk, dv) = ops::causal_attention_bwd(&self.q, &self.k, &self.v, &self.y, self.probs, &dyh, self.scale)?;
        // Repeated key/value heads: each group summed back, as candle's broadcast backward.
        let (dk, dv) = (unrepeat(dk, self.kv)?, unrepeat(dv, self.kv)?);
        let rope = Some((&self.cos, &self.sin));
        let (dn1_v, dwv) = ops::linear_bwd(&self.hn1, &wv, &ops::split_heads_bwd(&dv, None)?)?;
        let (dn1_k, dwk) = ops::linear_bwd(&self.hn1, &wk, &ops::split_heads_bwd(&dk, rope)?)?;
        let (dn1_q, dwq) = ops::linear_bwd(&self.hn1, &wq, &ops::split_heads_bwd(&dq, rope)?)?;
        let dn1 = ((dn1_v + dn1_k)? + dn1_q)?;
        let (dx_norm, dw1) = ops::rms_norm_bwd(&self.x, &w1, &dn1, eps)?;
        let dx = (dx2 + dx_norm)?;
        let grads = [dw1, dwq, dwk, dwv, dwo, dw2, dwg, dwu, dwd];
        Ok((dx, self.weights.into_iter().zip(grads).collect()))
    }
}

#[cfg(test)]
mod tests {
    use crate::model::Config;
    use crate::{Checkpoint, Tokenizer};
    use candle_core::{DType, Device, Tensor};

    /// Which layers the tape records (the tape test checks the gradients of both kinds).
    #[test]
    fn records_fused_layers_without_biases() {
        let text: Vec<String> = (0..50).map(|i| format!("word{i} and more words {i}")).collect();
        let tok = Tokenizer::train(text.iter(), 300).unwrap();
        let x = Tensor::zeros((1, 3, 32), DType::F32, &Device::Cpu).unwrap();
        for kv in [4, 2] {
            let cfg = Config::llama(tok.vocab_size(), 32, 48, 1, 4, kv, 64);
            let ck = Checkpoint::init(&cfg, tok.clone(), 0, &Device::Cpu).unwrap();
            let layer = &ck.model.layers[0];
            assert!(layer.recordable(&x), "{kv} key/value heads");
            assert!(!layer.recordable(&x.to_dtype(DType::F64).unwrap()), "f64 takes candle's ops");
        }
    }
}
