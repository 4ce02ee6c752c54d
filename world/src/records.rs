//! The JSONL records the pipeline writes and reads.
use crate::Task;
use serde::{Deserialize, Serialize};

/// Instruction-following seed example (IFT).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IftExample {
    pub instruction: String,
    pub response: String,
    pub family: String,
}

/// Judge (evaluation-fine-tuning) example (EFT): the judge prompt and its target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EftExample {
    /// Items of one instruction share a group (the ranking unit of judge metrics).
    pub group: usize,
    pub instruction: String,
    pub response: String,
    /// The rendered judge prompt.
    pub prompt: String,
    /// Justification ending in `Score: N`.
    pub target: String,
    /// The grader's score.
    pub score: u8,
    pub family: String,
}

/// A prompt with the world task behind it when known. The loop itself only ever
/// reads `instruction`; `task` lets evaluation and logs grade responses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PromptRecord {
    pub id: usize,
    pub instruction: String,
    #[serde(default)]
    pub task: Option<Task>,
}
