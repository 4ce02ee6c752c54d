//! Rotary position embeddings (RoPE), with Llama-3 frequency scaling.
//!
//! Tables are `(max_pos, d/2)`; rows are gathered by position so every sequence
//! in a batch can start at its own offset (left padding, KV-cache steps).
use super::Config;
use candle_core::{DType, Device, Tensor, D};

#[derive(Debug, Clone)]
pub struct Rope {
    /// (max_pos, d/2)
    cos: Tensor,
    /// (max_pos, d/2)
    sin: Tensor,
}

/// Inverse frequencies of RoPE for head size `d`, Llama-3 scaled when configured.
pub fn inv_freq(cfg: &Config) -> Vec<f64> {
    let d = cfg.head_dim();
    let base: Vec<f64> = (0..d).step_by(2).map(|i| 1.0 / cfg.rope_theta.powf(i as f64 / d as f64)).collect();
    match &cfg.rope_scaling {
        Some(s) if s.rope_type == "llama3" => {
            let old = s.original_max_position_embeddings as f64;
            let low_wavelen = old / s.low_freq_factor;
            let high_wavelen = old / s.high_freq_factor;
            base.into_iter()
                .map(|f| {
                    let wavelen = 2.0 * std::f64::consts::PI / f;
                    if wavelen < high_wavelen {
                        f
                    } else if wavelen > low_wavelen {
                        f / s.factor
                    } else {
                        let smooth = (old / wavelen - s.low_freq_factor) / (s.high_freq_factor - s.low_freq_factor);
                        (1.0 - smooth) * f / s.factor + smooth * f
                    }
                })
                .collect()
        }
        _ => base,
    }
}

impl Rope {
    pub fn new(cfg: &Config, dtype: DType, dev: &Device) -> candle_core::Result<Self> {
        let freqs = inv_freq(cfg);
        let half = freqs.len();
        let n = cfg.max_position_embeddings;
        let mut cos = Vec::with_capacity(n * half);
        let mut sin = Vec::with_capacity(n * half);
        for p in 0..n {
            for f in &freqs {
                let a = p as f64 * f;
                cos.push(a.cos() as f32);
                sin.push(a.sin() as f32);
            }
        }
        Ok(Self {
            cos: Tensor::from_vec(cos, (n, half), dev)?.to_dtype(dtype)?,
            sin: Tensor::from_vec(sin, (n, half), dev)?.to_dtype(dtype)?,
        })
    }

    /// Gathers `(b, t, d/2)` cos and sin for positions `(b, t)` (u32).
    pub fn tables(&self, positions: &Tensor) -> candle_core::Result<(Tensor, Tensor)> {
        let (b, t) = positions.dims2()?;
        let flat = positions.flatten_all()?;
        let half = self.cos.dim(1)?;
        let cos = self.cos.index_select(&flat, 0)?.reshape((b, t, half))?;
        let sin = self.sin.index_select(&flat, 0)?.reshape((b, t, half))?;
        Ok((cos, sin))
    }
}

/// Differentiable RoPE (Hugging Face's rotate-half layout) on `x: (b, h, t, d)`
/// with `cos, sin: (b, t, d/2)`.
pub fn apply_slow(x: &Tensor, cos: &Tensor, sin: &Tensor) -> candle_core::Result<Tensor> {
    let cos = Tensor::cat(&[cos, cos], D::Minus1)?.unsqueeze(1)?;
    let sin = Tensor::cat(&[sin, sin], D::Minus1)?.unsqueeze(1)?;
    let d = x.dim(D::Minus1)?;
    let x1 = x.narrow(D::Minus1, 0, d / 2)?;
    let x2 = x.narrow(D::Minus1, d / 2, d / 2)?;
    let rotated = Tensor::cat(&[&x2.neg()?, &x1], D::Minus1)?;
    x.broadcast_mul(&cos)? + rotated.broadcast_mul(&sin)?
}

/// Fused RoPE kernel (no backward) for the inference path; same layout as [`apply_slow`].
pub fn apply_fast(x: &Tensor, cos: &Tensor, sin: &Tensor) -> candle_core::Result<Tensor> {
    candle_nn::rotary_emb::rope(&x.contiguous()?, &cos.contiguous()?, &sin.contiguous()?)
}
