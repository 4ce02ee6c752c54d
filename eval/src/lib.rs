//! Evaluation: AlpacaEval-compatible win rates (with the length-controlled GLM),
//! judge agreement (the paper's Table 4 metrics, human pairwise agreement, biases),
//! judges behind one trait, and reports of self-rewarding runs.
pub mod agreement;
pub mod alpaca;
pub mod compare;
pub mod datasets;
pub mod error;
pub mod families;
pub mod grade;
pub mod human;
pub mod ifeval;
pub mod judges;
pub mod lc;
pub mod leaderboard;
pub mod pairs;
pub mod pairwise;
pub mod remote;
pub mod report;
pub mod run;
pub mod run_public;
pub mod winrate;

pub use error::{Error, Result};
