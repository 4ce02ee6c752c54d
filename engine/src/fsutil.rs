//! The run folder's file helpers live in the `records` crate (one atomic writer, one
//! JSONL reader); re-exported here for the engine's checkpoint and optimiser files.
pub use records::fs::*;
