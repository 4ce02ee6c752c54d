//! LLM-as-a-Judge: prompts from files, a score parser with typed failures, and a
//! small trait that every judge (a model, the world's grader, a remote API) implements.
//! A model judges by sampling (`LlmJudge`) or by its score-token probabilities
//! (`ExpectedJudge`); [`Scoring`] chooses.
mod expected;
mod llm;
mod prompt;
mod score;

pub use expected::{expected_score, expected_score_from_top, score_marker, score_tokens, ExpectedJudge, ExpectedMode, MARKER, TOP_LOGPROBS};
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

impl<J: Judge + ?Sized> Judge for Box<J> {
    fn name(&self) -> String {
        (**self).name()
    }
    fn judge(&mut self, items: &[(String, String)]) -> Vec<Result<Judgment, JudgeFailure>> {
        (**self).judge(items)
    }
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

/// How a model's judgment becomes a score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Scoring {
    /// Sampled judgments, each parsed for `Score: N`, averaged (the paper).
    #[default]
    Sampled,
    /// The probability-weighted mean of the score tokens after `Score:` ([`ExpectedJudge`]).
    Expected(ExpectedMode),
}

/// What a model judge needs beyond the model: the prompt, the scoring, sampling.
#[derive(Debug, Clone)]
pub struct ModelJudgeSpec {
    pub name: String,
    pub prompt: JudgePrompt,
    pub scoring: Scoring,
    /// Samples per response (sampled scoring).
    pub samples: usize,
    pub params: crate::SampleParams,
    pub seed: u64,
    pub batch_size: usize,
}

/// The judge `spec` describes, on `model`.
pub fn model_judge<'a>(model: &'a crate::Checkpoint, spec: ModelJudgeSpec) -> Box<dyn Judge + 'a> {
    model_judge_on(model, model, spec)
}

/// [`model_judge`] whose sampled judgments come from `generator` (a server serving
/// `model`); expected-score judging reads `model`'s own probabilities.
pub fn model_judge_on<'a>(model: &'a crate::Checkpoint, generator: &'a dyn crate::Generator, spec: ModelJudgeSpec) -> Box<dyn Judge + 'a> {
    match spec.scoring {
        Scoring::Sampled => Box::new(LlmJudge { model, generator, name: spec.name, prompt: spec.prompt, samples: spec.samples, params: spec.params, seed: spec.seed, batch_size: spec.batch_size }),
        Scoring::Expected(mode) => Box::new(ExpectedJudge { model, generator, name: spec.name, prompt: spec.prompt, mode, max_new_tokens: spec.params.max_new_tokens, batch_size: spec.batch_size }),
    }
}

/// Runs `judge_chunk` over `items` in chunks of `batch_size`; a chunk whose judge fails as
/// a whole gives each of its items that typed failure.
pub fn in_chunks(
    items: &[(String, String)],
    batch_size: usize,
    mut judge_chunk: impl FnMut(&[(String, String)]) -> crate::Result<Vec<Result<Judgment, JudgeFailure>>>,
) -> Vec<Result<Judgment, JudgeFailure>> {
    let mut out = Vec::with_capacity(items.len());
    for chunk in items.chunks(batch_size.max(1)) {
        match judge_chunk(chunk) {
            Ok(v) => out.extend(v),
            Err(e) => out.extend(chunk.iter().map(|_| Err(JudgeFailure::Backend(e.to_string())))),
        }
    }
    out
}
