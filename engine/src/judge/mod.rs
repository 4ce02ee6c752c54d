//! LLM-as-a-Judge: prompts from files, a score parser with typed failures, and a
//! small trait that every judge (a model, the world's grader, a remote API) implements.
mod llm;
mod prompt;
mod score;

pub use llm::LlmJudge;
pub use prompt::{fill, render_pairwise, JudgePrompt};
pub use score::{parse_preference, parse_score, ScoreError};

use serde::{Deserialize, Serialize};

/// A judge's score of one response: the mean of its valid samples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Judgment {
    /// Mean of the valid sampled scores, in 0..=5.
    pub score: f64,
    /// Each sample's parsed score or why it failed.
    pub samples: Vec<Result<f64, ScoreError>>,
    /// The judge's raw text of each sample (empty for non-text judges).
    #[serde(default)]
    pub texts: Vec<String>,
}

/// Why a judge gave no score.
#[derive(Debug, Clone, PartialEq, thiserror::Error, Serialize, Deserialize)]
pub enum JudgeFailure {
    #[error("no sample gave a valid score: {0:?}")]
    NoValidScore(Vec<ScoreError>),
    #[error("judge prompt of {tokens} tokens leaves no room in the context ({room} tokens before the judgment)")]
    PromptTooLong { tokens: usize, room: usize },
    #[error("judge backend failed: {0}")]
    Backend(String),
}

/// A pointwise judge: scores responses to instructions, in batches.
pub trait Judge {
    /// A stable name, used in caches and reports.
    fn name(&self) -> String;
    /// Scores each `(instruction, response)`; one result per item, in order.
    fn judge(&mut self, items: &[(String, String)]) -> Vec<Result<Judgment, JudgeFailure>>;
}

/// Averages sampled scores; `Err` when none is valid.
pub fn aggregate(samples: Vec<Result<f64, ScoreError>>, texts: Vec<String>) -> Result<Judgment, JudgeFailure> {
    let ok: Vec<f64> = samples.iter().filter_map(|s| s.as_ref().ok().copied()).collect();
    if ok.is_empty() {
        return Err(JudgeFailure::NoValidScore(samples.into_iter().filter_map(|s| s.err()).collect()));
    }
    let score = ok.iter().sum::<f64>() / ok.len() as f64;
    Ok(Judgment { score, samples, texts })
}
