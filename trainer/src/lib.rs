//! The self-rewarding loop (Yuan et al., 2024). Read in pipeline order:
//! `data` (seed IFT/EFT) -> `sft` (M1) -> per iteration: `prompts` (self-instruction)
//! -> `candidates` -> `selfjudge` -> `pairs` -> `dpo` -> M_{t+1}; `iterate` ties them;
//! `fork` starts a new run from another's SFT models.
pub mod answer;
pub mod candidates;
pub mod config;
pub mod config_check;
pub mod config_eval;
pub mod data;
pub mod diagnostics;
pub mod dpo;
pub mod dpo_trl;
pub mod error;
pub mod fork;
pub mod iterate;
pub mod loss;
pub mod pairs;
pub mod parallel;
pub mod profile;
pub mod prompts;
pub mod provenance;
pub mod run_args;
pub mod selfjudge;
pub mod serve;
pub mod sft;
pub mod stage;
pub mod train;

pub use config::{Profile, RunConfig};
pub use config_eval::EvalConfig;
pub use error::{Error, Result};
pub use records::RunDir;
