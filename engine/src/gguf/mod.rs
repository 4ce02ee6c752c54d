//! GGUF files (llama.cpp's format): config from the metadata, weights dequantized to the
//! engine's layout, the tokenizer and chat template from the metadata.
//! - [`file`]: the file and typed metadata accessors.
//! - [`config`]: the architecture and hyper-parameters.
//! - [`weights`]: tensor names, dequantization and Q/K un-permutation.
//! - [`tokenizer`]: the BPE tokenizer and its pre-tokenizer.
//! - [`load`]: a [`crate::Checkpoint`] from a `.gguf` file.
//! - [`export`]: a [`crate::Checkpoint`] to a `.gguf` file llama.cpp serves.
pub mod config;
pub mod export;
pub mod file;
pub mod load;
pub mod tokenizer;
pub mod weights;

pub use config::Architecture;
pub use export::{export, GgufType};
pub use file::Gguf;
pub use load::load;
