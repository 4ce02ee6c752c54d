//! The self-rewarding loop (Yuan et al., 2024). Read in pipeline order:
//! `data` (seed IFT/EFT) -> `sft` (M1) -> per iteration: `prompts` (self-instruction)
//! -> `candidates` -> `selfjudge` -> `pairs` -> `dpo` -> M_{t+1}; `iterate` ties them.
pub mod config;
pub mod data;
pub mod error;
pub mod iterate;
pub mod parallel;
pub mod rundir;
pub mod sft;
pub mod train;

pub use config::{Profile, RunConfig};
pub use error::{Error, Result};
pub use rundir::RunDir;
