//! The inference path: fused kernels and a KV cache over the training weights.
//!
//! Each row of a batch carries its own positions and key mask, so prompts of
//! different lengths are left-padded and decoded together.
use super::llama::{embed, project, Llama};
use super::rope;
use candle_core::{Module, Tensor};

/// Keys and values of every layer seen so far: `(b, k, s, d)` each.
///
/// Two ways to grow: [`KvCache::new`] concatenates each step (every step copies the
/// whole cache: O(s) per step); [`KvCache::with_capacity`] allocates `(b, k, cap, d)`
/// buffers at the first step and writes each step in place, handing attention a view
/// of the first `s` positions (no copy). Sampling knows `prompt + max_new_tokens` and
/// uses the second.
#[derive(Debug, Default)]
pub struct KvCache {
    layers: Vec<Option<Layer>>,
    /// Positions per buffer; 0 = grow by concatenation.
    capacity: usize,
}

#[derive(Debug)]
struct Layer {
    k: Tensor,
    v: Tensor,
    /// Positions written.
    len: usize,
}

impl KvCache {
    pub fn new(num_layers: usize) -> Self {
        Self { layers: (0..num_layers).map(|_| None).collect(), capacity: 0 }
    }
    /// A cache of `capacity` positions per row, written in place.
    pub fn with_capacity(num_layers: usize, capacity: usize) -> Self {
        Self { capacity, ..Self::new(num_layers) }
    }
    /// Number of cached positions `s`.
    pub fn len(&self) -> usize {
        match self.layers.first() {
            Some(Some(l)) => l.len,
            _ => 0,
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    fn append(&mut self, i: usize, k: Tensor, v: Tensor) -> candle_core::Result<(Tensor, Tensor)> {
        let t = k.dim(2)?;
        let layer = match (self.layers[i].take(), self.capacity) {
            (None, 0) => Layer { len: t, k, v },
            (Some(p), 0) => Layer { k: Tensor::cat(&[&p.k, &k], 2)?, v: Tensor::cat(&[&p.v, &v], 2)?, len: p.len + t },
            (prev, cap) => {
                let prev = match prev {
                    Some(p) => p,
                    None => {
                        let (b, kh, _, d) = k.dims4()?;
                        let z = || Tensor::zeros((b, kh, cap, d), k.dtype(), k.device());
                        Layer { k: z()?, v: z()?, len: 0 }
                    }
                };
                if prev.len + t > cap {
                    candle_core::bail!("KV cache of {cap} positions cannot take {} more after {}", t, prev.len)
                }
                prev.k.slice_set(&k.contiguous()?, 2, prev.len)?;
                prev.v.slice_set(&v.contiguous()?, 2, prev.len)?;
                Layer { len: prev.len + t, ..prev }
            }
        };
        let out = if self.capacity == 0 { (layer.k.clone(), layer.v.clone()) } else { (layer.k.narrow(2, 0, layer.len)?, layer.v.narrow(2, 0, layer.len)?) };
        self.layers[i] = Some(layer);
        Ok(out)
    }
    /// Repeats every row `n` times along the batch (`(b, ..) -> (b*n, ..)`, row-major),
    /// so a prompt prefilled once serves `n` samples. The copy owns new buffers.
    pub fn repeat_rows(&self, n: usize) -> candle_core::Result<Self> {
        let rep = |x: &Tensor| -> candle_core::Result<Tensor> {
            let (b, k, s, d) = x.dims4()?;
            x.unsqueeze(1)?.broadcast_as((b, n, k, s, d))?.reshape((b * n, k, s, d))?.contiguous()
        };
        let layers = self
            .layers
            .iter()
            .map(|l| l.as_ref().map(|l| Ok::<_, candle_core::Error>(Layer { k: rep(&l.k)?, v: rep(&l.v)?, len: l.len })).transpose())
            .collect::<candle_core::Result<Vec<_>>>()?;
        Ok(Self { layers, capacity: self.capacity })
    }
}

impl Llama {
    /// Inference step. `ids, positions: (b, t)` (u32); `bias: (b, 1, t, s + t)` additive
    /// (0 = attend, large negative = masked) over the cached and new keys.
    /// Returns logits `(b, t, v)` when `all_logits`, else the last position's `(b, v)`.
    pub fn forward_cached(
        &self,
        ids: &Tensor,
        positions: &Tensor,
        bias: &Tensor,
        cache: &mut KvCache,
        all_logits: bool,
    ) -> candle_core::Result<Tensor> {
        let (b, t) = ids.dims2()?;
        let (cos, sin) = self.rope.tables(positions)?;
        let eps = self.cfg.rms_norm_eps as f32;
        let mut x = embed(&self.embed_tokens, ids)?;
        for (i, layer) in self.layers.iter().enumerate() {
            let hn = candle_nn::ops::rms_norm(&x, &layer.input_layernorm, eps)?;
            let a = &layer.self_attn;
            let (q, k, v) = a.qkv(&hn)?;
            let q = rope::apply_fast(&q, &cos, &sin)?;
            let k = rope::apply_fast(&k, &cos, &sin)?;
            let (k, v) = cache.append(i, k, v.contiguous()?)?;
            let k = a.repeat_kv(k)?;
            let v = a.repeat_kv(v)?;
            let scale = 1.0 / (a.d as f64).sqrt();
            let att = (q.matmul(&k.t()?)? * scale)?.broadcast_add(bias)?;
            let att = candle_nn::ops::softmax_last_dim(&att)?;
            let y = att.matmul(&v)?.transpose(1, 2)?.reshape((b, t, a.h * a.d))?;
            x = (x + a.o_proj.forward(&y)?)?;
            let hn = candle_nn::ops::rms_norm(&x, &layer.post_attention_layernorm, eps)?;
            x = (&x + layer.mlp.forward(&hn)?)?;
        }
        let x = if all_logits { x } else { x.narrow(1, t - 1, 1)? };
        let x = candle_nn::ops::rms_norm(&x.contiguous()?, &self.norm, eps)?;
        let logits = project(&x, &self.lm_head)?;
        if all_logits {
            Ok(logits)
        } else {
            logits.squeeze(1)
        }
    }
}

/// Builds positions `(b, t)` and the additive bias `(b, 1, t, s + t)` for `t` new tokens
/// per row, given which of the `s` cached keys of each row are real (`key_ok`, b×s)
/// and each row's next position `next_pos` (b). New tokens attend causally to each other.
pub fn step_inputs(
    key_ok: &[Vec<bool>],
    next_pos: &[u32],
    new_ok: &[Vec<bool>],
    dev: &candle_core::Device,
    dtype: candle_core::DType,
) -> candle_core::Result<(Tensor, Tensor)> {
    let b = key_ok.len();
    let s = key_ok.first().map_or(0, |r| r.len());
    let t = new_ok.first().map_or(0, |r| r.len());
    let mut pos = Vec::with_capacity(b * t);
    let mut bias = Vec::with_capacity(b * t * (s + t));
    for r in 0..b {
        let mut p = next_pos[r];
        for i in 0..t {
            pos.push(p);
            if new_ok[r][i] {
                p += 1;
            }
            for j in 0..s {
                bias.push(if key_ok[r][j] { 0.0 } else { super::NEG });
            }
            for j in 0..t {
                // a padding query still attends to itself so no row is all masked
                let ok = j == i || (j < i && new_ok[r][j]);
                bias.push(if ok { 0.0 } else { super::NEG });
            }
        }
    }
    let pos = Tensor::from_vec(pos, (b, t), dev)?;
    let bias = Tensor::from_vec(bias, (b, 1, t, s + t), dev)?.to_dtype(dtype)?;
    Ok((pos, bias))
}

