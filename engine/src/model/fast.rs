//! The inference path: fused kernels and a KV cache over the training weights.
//!
//! Each row of a batch carries its own positions and key mask, so prompts of
//! different lengths are left-padded and decoded together.
use super::llama::{embed, project, Llama};
use super::rope;
use crate::ops::{decode_attention, KvSource, PanelWeight, QuantKind, QuantWeight};
use candle_core::{Module, Tensor};
use candle_nn::Linear;

/// Keys and values of every layer seen so far: `(b, k, s, d)` each.
///
/// Two ways to grow: [`KvCache::new`] concatenates each step (every step copies the
/// whole cache: O(s) per step); [`KvCache::with_capacity`] allocates `(b, k, cap, d)`
/// buffers at the first step and writes each step in place, handing attention a view
/// of the first `s` positions (no copy). Sampling knows `prompt + max_new_tokens` and
/// uses the second. Rows that begin alike either copy the common part
/// ([`KvCache::repeat_rows`]) or read it in place ([`KvCache::share_rows`], the packed
/// path): a judge template's rubric once for all its prompts, a prompt once for its samples.
#[derive(Debug, Default)]
pub struct KvCache {
    layers: Vec<Option<Layer>>,
    /// Positions per buffer; 0 = grow by concatenation.
    capacity: usize,
    /// Positions read in place by groups of consecutive rows, before the rows' own in
    /// `layers`, outermost first ([`KvCache::share_rows`]).
    prefix: Vec<Prefix>,
}

/// Keys and values `(b / rows_per, k, len, d)` per layer, each row read by `rows_per` rows.
#[derive(Debug)]
struct Prefix {
    layers: Vec<(Tensor, Tensor)>,
    rows_per: usize,
    len: usize,
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
        Self { layers: (0..num_layers).map(|_| None).collect(), capacity: 0, prefix: Vec::new() }
    }
    /// A cache of `capacity` positions per row, written in place.
    pub fn with_capacity(num_layers: usize, capacity: usize) -> Self {
        Self { capacity, ..Self::new(num_layers) }
    }
    /// Number of cached positions `s` (shared ones included).
    pub fn len(&self) -> usize {
        self.own_len() + self.prefix.iter().map(|p| p.len).sum::<usize>()
    }
    /// Positions in the rows' own buffers (after the shared ones).
    fn own_len(&self) -> usize {
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
    /// Makes every row the shared prefix of `n` rows (`(b, ..) -> (b*n, ..)`, row-major)
    /// without copying it: the new rows' own positions go to fresh buffers (the rest of the
    /// capacity), and attention reads the prefix once per group instead of once per row.
    /// May be applied again (a rubric shared by prompts, then each prompt by its samples).
    /// [`Llama::forward_packed`]'s one-token steps (f32, CPU) read it in place; steps of
    /// several tokens, and the plain path, copy the shared positions out per layer.
    pub fn share_rows(self, n: usize) -> candle_core::Result<Self> {
        let own = self.own_len();
        let layers = self
            .layers
            .into_iter()
            .map(|l| match l {
                Some(l) => Ok((l.k.narrow(2, 0, l.len)?, l.v.narrow(2, 0, l.len)?)),
                None => candle_core::bail!("share_rows needs every layer filled"),
            })
            .collect::<candle_core::Result<Vec<_>>>()?;
        let capacity = if self.capacity == 0 { 0 } else { self.capacity - own };
        let mut prefix = self.prefix;
        for p in &mut prefix {
            p.rows_per *= n;
        }
        prefix.push(Prefix { layers, rows_per: n, len: own });
        Ok(Self { layers: (0..prefix[0].layers.len()).map(|_| None).collect(), capacity, prefix })
    }
    /// Layer `i`'s shared keys and values, outermost first, and how many rows share each row.
    fn shared(&self, i: usize) -> impl Iterator<Item = (&Tensor, &Tensor, usize)> {
        self.prefix.iter().map(move |p| (&p.layers[i].0, &p.layers[i].1, p.rows_per))
    }
    /// Layer `i`'s positions as the fused attention reads them in place: the shared ones,
    /// outermost first, then the rows' own `(k, v)`.
    fn sources<'a>(&'a self, i: usize, k: &'a Tensor, v: &'a Tensor) -> Vec<KvSource<'a>> {
        let mut s: Vec<KvSource> = self.shared(i).map(|(k, v, rows_per)| KvSource { k, v, rows_per }).collect();
        s.push(KvSource { k, v, rows_per: 1 });
        s
    }
    /// Layer `i`'s keys and values for every row, shared positions first: `(k, v)` of
    /// `(b, k, s, d)`, copying the shared ones out (for a step of several tokens).
    fn full(&self, i: usize, k: Tensor, v: Tensor) -> candle_core::Result<(Tensor, Tensor)> {
        if self.prefix.is_empty() {
            return Ok((k, v));
        }
        let b = k.dim(0)?;
        let spread = |x: &Tensor, n: usize| -> candle_core::Result<Tensor> {
            let (r, kh, s, d) = x.dims4()?;
            x.unsqueeze(1)?.broadcast_as((r, n, kh, s, d))?.reshape((b, kh, s, d))
        };
        let (mut ks, mut vs) = (vec![], vec![]);
        for (pk, pv, n) in self.shared(i) {
            ks.push(spread(pk, n)?);
            vs.push(spread(pv, n)?);
        }
        ks.push(k);
        vs.push(v);
        Ok((Tensor::cat(&ks, 2)?, Tensor::cat(&vs, 2)?))
    }
    /// Repeats every row `n` times along the batch (`(b, ..) -> (b*n, ..)`, row-major),
    /// so a prompt prefilled once serves `n` samples. The copy owns new buffers.
    pub fn repeat_rows(&self, n: usize) -> candle_core::Result<Self> {
        if !self.prefix.is_empty() {
            candle_core::bail!("repeat_rows on a cache whose rows are shared");
        }
        let rep = |x: &Tensor| -> candle_core::Result<Tensor> {
            let (b, k, s, d) = x.dims4()?;
            x.unsqueeze(1)?.broadcast_as((b, n, k, s, d))?.reshape((b * n, k, s, d))?.contiguous()
        };
        let layers = self
            .layers
            .iter()
            .map(|l| l.as_ref().map(|l| Ok::<_, candle_core::Error>(Layer { k: rep(&l.k)?, v: rep(&l.v)?, len: l.len })).transpose())
            .collect::<candle_core::Result<Vec<_>>>()?;
        Ok(Self { layers, capacity: self.capacity, prefix: Vec::new() })
    }
}

/// Inference copies of the projection weights, packed for decoding a few rows at a time
/// ([`crate::ops::PanelWeight`]) or quantized ([`crate::ops::QuantWeight`]).
///
/// A decode step multiplies `(b, e)` by each weight; candle's CPU matmul re-packs the
/// weight on every such call. Steps of at most [`PANEL_ROWS`] rows use the packed copy;
/// longer ones (prefill) the plain matmul, which amortises its packing. When decoding
/// through quantized weights ([`Llama::set_decode_quant`]), steps of at most [`quant_rows`]
/// rows use those. Costs one copy of the weights (and the quantized one) while it lives;
/// [`crate::sample::generate`] builds one per call on CPU.
#[derive(Debug)]
pub struct Packed {
    layers: Vec<PackedBlock>,
    lm_head: DecodeWeight,
}

#[derive(Debug)]
struct PackedBlock {
    q: DecodeWeight,
    k: DecodeWeight,
    v: DecodeWeight,
    o: DecodeWeight,
    gate: DecodeWeight,
    up: DecodeWeight,
    down: DecodeWeight,
}

/// One projection's inference copy: panels, and quantized blocks when decoding through them.
#[derive(Debug)]
struct DecodeWeight {
    panel: PanelWeight,
    quant: Option<QuantWeight>,
}

impl DecodeWeight {
    fn new(w: &Tensor, quant: Option<QuantKind>) -> candle_core::Result<Self> {
        Ok(Self { panel: PanelWeight::from_out_in(w)?, quant: quant.map(|kind| QuantWeight::quantize(w, kind)).transpose()? })
    }
}

/// Most rows of a step that goes through weights quantized as `kind` (when there are
/// some); longer steps use the f32 panels or, past [`PANEL_ROWS`], candle's matmul. The
/// integer kernels move a fifth (Q4_1) to a quarter (Q8_0) of f32's bytes but do more work
/// per weight. Measured one projection at a time on SmolLM2-135M's shapes (2-core AMD EPYC,
/// AVX2, one thread), quantized against panels: the 30 layers' Q4_1 projections 3.7× as
/// fast at 1 row, 1.5× at 16, 1.4× at 32, 1.15× at 64 and 128; the Q8_0 output head 2.0× at
/// 8 rows, 1.25× at 16, 1.14× at 32, 0.98× at 64.
pub const fn quant_rows(kind: QuantKind) -> usize {
    match kind {
        QuantKind::Q8_0 => 32,
        QuantKind::Q4_1 => 64,
    }
}

/// Most rows (`b·t`) of a step that goes through the packed weights. Measured per
/// projection (2-core AMD EPYC, AVX2, one thread, hidden 256 / 688): packed 2.5-3.5× faster
/// than candle's matmul at 4-8 rows, 1.9× at 16, 1.2× at 96, even from 128 rows on.
pub const PANEL_ROWS: usize = 128;

/// Most bytes of one prefill's attention scores at a time (glibc serves larger buffers from
/// fresh pages; [`crate::alloc::keep_freed_memory`] keeps smaller ones for reuse).
const ATTENTION_CHUNK_BYTES: usize = 16 << 20;

/// `x: (b, t, in)` times a packed weight -> `(b, t, out)`: the quantized one for steps of at
/// most [`quant_rows`] rows, the panels for at most [`PANEL_ROWS`]; `None` otherwise (the
/// caller's plain matmul).
fn panel_matmul(x: &Tensor, w: Option<&DecodeWeight>) -> candle_core::Result<Option<Tensor>> {
    let (b, t, i) = x.dims3()?;
    let Some(w) = w else { return Ok(None) };
    let y = match &w.quant {
        Some(q) if b * t <= quant_rows(q.kind()) => q.matmul(&x.reshape((b * t, i))?)?,
        _ if b * t <= PANEL_ROWS => w.panel.matmul(&x.reshape((b * t, i))?)?,
        _ => return Ok(None),
    };
    Ok(Some(y.reshape((b, t, ()))?))
}

/// `x: (b, t, in)` through `lin`, by its packed copy when there is one and few rows.
fn linear(x: &Tensor, lin: &Linear, packed: Option<&DecodeWeight>) -> candle_core::Result<Tensor> {
    match (panel_matmul(x, packed)?, lin.bias()) {
        (None, _) => lin.forward(x),
        (Some(y), Some(bias)) => y.broadcast_add(bias),
        (Some(y), None) => Ok(y),
    }
}

impl Llama {
    /// The projection weights packed into panels, or quantized when
    /// [`Llama::set_decode_quant`] says so, for [`Llama::forward_packed`].
    pub fn pack(&self) -> candle_core::Result<Packed> {
        let t = |w: &Tensor| DecodeWeight::new(w, self.decode_quant);
        let layers = self
            .layers
            .iter()
            .map(|l| {
                let (a, m) = (&l.self_attn, &l.mlp);
                Ok(PackedBlock {
                    q: t(a.q_proj.weight())?,
                    k: t(a.k_proj.weight())?,
                    v: t(a.v_proj.weight())?,
                    o: t(a.o_proj.weight())?,
                    gate: t(m.gate_proj.weight())?,
                    up: t(m.up_proj.weight())?,
                    down: t(m.down_proj.weight())?,
                })
            })
            .collect::<candle_core::Result<Vec<_>>>()?;
        Ok(Packed { layers, lm_head: DecodeWeight::new(&self.lm_head, self.decode_quant.map(|_| self.decode_head))? })
    }

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
        self.forward_packed(None, ids, positions, bias, cache, all_logits)
    }

    /// [`Llama::forward_cached`], through the packed weights of [`Llama::pack`] when given
    /// (the same numbers, faster on CPU at small batch), which also reads a cache whose rows
    /// are shared ([`KvCache::share_rows`]) in one-token steps.
    pub fn forward_packed(
        &self,
        packed: Option<&Packed>,
        ids: &Tensor,
        positions: &Tensor,
        bias: &Tensor,
        cache: &mut KvCache,
        all_logits: bool,
    ) -> candle_core::Result<Tensor> {
        let (b, t) = ids.dims2()?;
        let (cos, sin) = self.rope.tables(positions)?;
        let eps = self.cfg.rms_norm_eps as f32;
        // Inference: every step detaches from the weights (candle variables), so that the
        // result does not hold the graph of every intermediate of every layer (a judge
        // prefill's attention scores and MLP activations would all live until the logits
        // are dropped: gigabytes, each freshly paged in).
        let mut x = embed(&self.embed_tokens, ids)?.detach();
        // The packed path's one-token steps use the fused attention over the cache, which
        // takes the bias `(b, 1, 1, s)` as a flat `(b, s)`.
        let one_query_bias = match packed {
            Some(_) if t == 1 && crate::ops::fusable(&x) => Some(bias.to_dtype(candle_core::DType::F32)?.flatten_all()?.to_vec1::<f32>()?),
            _ => None,
        };
        for (i, layer) in self.layers.iter().enumerate() {
            let p = packed.map(|p| &p.layers[i]);
            let hn = candle_nn::ops::rms_norm(&x, &layer.input_layernorm, eps)?;
            let a = &layer.self_attn;
            let (q, k, v) = a.qkv_by(&hn, |x, lin, j| linear(x, lin, p.map(|p| [&p.q, &p.k, &p.v][j])))?;
            let q = rope::apply_fast(&q, &cos, &sin)?;
            let k = rope::apply_fast(&k, &cos, &sin)?;
            let (k, v) = cache.append(i, k.detach(), v.contiguous()?.detach())?;
            let scale = 1.0 / (a.d as f64).sqrt();
            let y = match &one_query_bias {
                // (b, h, 1, d) -> (b, 1, h·d): a plain reshape, t being 1
                Some(bias) => {
                    let sources = cache.sources(i, &k, &v);
                    decode_attention(&q, &sources, bias, scale as f32)?.reshape((b, t, a.h * a.d))?
                }
                // Several tokens a row, f32 on the CPU: one fused pass reading the cache in place.
                None if crate::ops::fusable(&q) => {
                    let sources = cache.sources(i, &k, &v);
                    crate::ops::prefill_attention(&q, &sources, bias, scale as f32)?.transpose(1, 2)?.reshape((b, t, a.h * a.d))?
                }
                None => {
                    let (k, v) = cache.full(i, k, v)?;
                    prefill_attention(&q, &k, &v, bias, scale)?.reshape((b, t, a.h * a.d))?
                }
            };
            x = (x + linear(&y, &a.o_proj, p.map(|p| &p.o))?)?;
            let hn = candle_nn::ops::rms_norm(&x, &layer.post_attention_layernorm, eps)?;
            let mlp = mlp_in_chunks(&hn, self.cfg.intermediate_size, |x| {
                layer.mlp.forward_by(x, |x, lin, j| linear(x, lin, p.map(|p| [&p.gate, &p.up, &p.down][j])))
            })?;
            x = (&x + mlp)?.detach();
        }
        let x = if all_logits { x } else { x.narrow(1, t - 1, 1)? };
        let x = candle_nn::ops::rms_norm(&x.contiguous()?, &self.norm, eps)?;
        let logits = match panel_matmul(&x, packed.map(|p| &p.lm_head))? {
            Some(logits) => logits,
            None => project(&x, &self.lm_head)?,
        };
        if all_logits {
            Ok(logits.detach())
        } else {
            Ok(logits.squeeze(1)?.detach())
        }
    }
}

/// `mlp` over `x: (b, t, e)` a few hundred positions at a time when its `(b·t, i)`
/// intermediates would pass [`ATTENTION_CHUNK_BYTES`] (a long prefill), for the same
/// reason as the attention's chunks; one call otherwise.
fn mlp_in_chunks(x: &Tensor, i: usize, mlp: impl Fn(&Tensor) -> candle_core::Result<Tensor>) -> candle_core::Result<Tensor> {
    let (b, t, e) = x.dims3()?;
    let rows = (ATTENTION_CHUNK_BYTES / (i * 4).max(1)).max(1);
    if b * t <= rows {
        return mlp(x);
    }
    let flat = x.reshape((1, b * t, e))?;
    let parts = (0..b * t).step_by(rows).map(|r| mlp(&flat.narrow(1, r, rows.min(b * t - r))?)).collect::<candle_core::Result<Vec<_>>>()?;
    Tensor::cat(&parts, 1)?.reshape((b, t, ()))
}

/// `softmax(q kᵀ · scale + bias) v` for several new tokens per row: `q: (b, h, t, d)`,
/// `k, v: (b, k, s, d)`, `bias: (b, 1, t, s)` -> `(b, t, h, d)`. Query heads are grouped
/// under their key/value head (`(b, k, g·t, d)`, a reshape) instead of repeating the keys
/// `g` times. A few rows at a time, so that each score tensor `(rows, h, t, s)` stays under
/// [`ATTENTION_CHUNK_BYTES`]: larger buffers are fresh pages from the OS at every allocation
/// (page faults and zeroing were 15% of a judge prefill).
fn prefill_attention(q: &Tensor, k: &Tensor, v: &Tensor, bias: &Tensor, scale: f64) -> candle_core::Result<Tensor> {
    let (b, h, t, d) = q.dims4()?;
    let (kh, s) = (k.dim(1)?, k.dim(2)?);
    let g = h / kh;
    let q = q.contiguous()?.reshape((b, kh, g * t, d))?;
    let (k, v) = (k.contiguous()?, v.contiguous()?);
    let attend = |r: usize, n: usize| -> candle_core::Result<Tensor> {
        let (q, k, v) = (q.narrow(0, r, n)?, k.narrow(0, r, n)?, v.narrow(0, r, n)?);
        let att = (q.matmul(&k.t()?)? * scale)?.reshape((n, kh, g, t, s))?;
        let att = att.broadcast_add(&bias.narrow(0, r, n)?.unsqueeze(1)?)?;
        let att = candle_nn::ops::softmax_last_dim(&att)?.reshape((n, kh, g * t, s))?;
        att.matmul(&v)
    };
    let rows = (ATTENTION_CHUNK_BYTES / (h * t * s * 4).max(1)).clamp(1, b);
    let y = if rows >= b {
        attend(0, b)?
    } else {
        let parts = (0..b).step_by(rows).map(|r| attend(r, rows.min(b - r))).collect::<candle_core::Result<Vec<_>>>()?;
        Tensor::cat(&parts, 0)?
    };
    y.reshape((b, h, t, d))?.transpose(1, 2)
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

