//! The model engine shared by the trainer and the evaluator: a Llama-family
//! decoder on candle that trains (full logits, gradients everywhere) and samples
//! fast (fused kernels, KV cache), its tokenizer and chat template, Hugging Face
//! checkpoints, hub-cache loading, sequence log-probabilities and sampling.
pub mod alloc;
pub mod backend;
pub mod checkpoint;
pub mod error;
pub mod fsutil;
pub mod gguf;
pub mod hub;
pub mod judge;
pub mod logprob;
pub mod model;
pub mod ops;
pub mod optim;
pub mod runtime;
pub mod sample;
pub mod schedule;
pub mod source;
pub mod template;
pub mod tokenizer;

pub use backend::Generator;
pub use checkpoint::Checkpoint;
pub use error::{Error, Result};
pub use model::{Config, Llama, ModelType};
pub use runtime::{DeviceKind, Precision, Runtime};
pub use sample::{generate, generate_with, Generation, SampleParams};
pub use source::ModelSource;
pub use template::{ChatTemplate, JinjaTemplate};
pub use tokenizer::Tokenizer;

/// The device the engine runs on: CUDA when built with the `cuda` feature and
/// one is present, else the CPU.
pub fn default_device() -> candle_core::Device {
    #[cfg(feature = "cuda")]
    if let Ok(d) = candle_core::Device::new_cuda(0) {
        return d;
    }
    candle_core::Device::Cpu
}
