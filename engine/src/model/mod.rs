//! The Llama-family model: config, RoPE, the differentiable decoder and its fast path.
mod config;
mod fast;
mod llama;
mod recorded;
mod rope;
mod tape;

pub use config::{Config, ModelType, RopeScaling, TokenIds};
pub use fast::{quant_rows, step_inputs, KvCache, Packed, PANEL_ROWS};
pub use llama::{Attention, Block, Llama, Mlp};
pub use rope::{inv_freq, Rope};
pub use tape::{Tape, Track};

/// The additive mask value for a masked attention score: finite, so a fully
/// masked (padding) row yields a finite, ignored output instead of NaN.
pub(crate) const NEG: f32 = -1e9;
