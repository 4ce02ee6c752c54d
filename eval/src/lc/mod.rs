//! AlpacaEval 2's length-controlled (LC) win rate, computed as AlpacaEval computes it.
//!
//! Per model, a logistic GLM `logit P(model beats baseline) = γ·tanh(std_delta_len) +
//! β·difficulty_i + θ`; the LC win rate is `100·mean_i σ(β·difficulty_i + θ)`.
//! - [`difficulty`]: the 805 per-instruction difficulties, recovered from a checkout.
//! - [`coefficients`]: the published per-model coefficients and the LC they give.
//! - [`logistic`]: the L1, soft-label, cross-validated fit (scikit-learn's, checked).
//! - [`gamed`]: the length-gamed baselines' rows every fit is regularised toward.
//! - [`fit`]: a new model's fit, and whether a set of outputs can have an LC at all.
//! - [`checks`]: both reproductions of the published leaderboard.
pub mod checks;
pub mod coefficients;
pub mod difficulty;
pub mod fit;
pub mod gamed;
pub mod logistic;

pub use coefficients::{Coefficients, Glm};
pub use difficulty::Difficulty;
pub use fit::{align, lc_line, LcContext, LcFit, LcInput, LcRow, NoLc, BASELINE};
pub use gamed::{Gamed, GamedSource};

pub(crate) use logistic::sigmoid;
