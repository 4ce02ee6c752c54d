//! Default locations, relative to this workspace (so they hold wherever the
//! notebooks or tests run from), each overridable by an environment variable.
use std::path::PathBuf;

/// The workspace root (the folder holding `runs/`, `target/` and `notebooks/`).
pub fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn var_or(name: &str, default: PathBuf) -> PathBuf {
    std::env::var_os(name).map(PathBuf::from).unwrap_or(default)
}

/// The run the notebooks analyse: `$SRLM_RUN`, else `runs/default`.
pub fn run() -> PathBuf {
    var_or("SRLM_RUN", workspace().join("runs/default"))
}

/// Where notebooks write their PNG files: `$SRLM_NOTEBOOK_OUT`, else `target/notebooks`.
pub fn out_dir() -> PathBuf {
    var_or("SRLM_NOTEBOOK_OUT", workspace().join("target/notebooks"))
}

/// The public evaluation data beside the project: `$SRLM_SHARED_DATA`, else `../shared/data`.
pub fn shared_data() -> PathBuf {
    var_or("SRLM_SHARED_DATA", workspace().join("../shared/data"))
}

/// A checkout of alpaca_eval (its `results/` and leaderboards): `$ALPACA_EVAL_DIR`,
/// else `shared_data()/alpaca_eval`.
pub fn alpaca_eval() -> PathBuf {
    var_or("ALPACA_EVAL_DIR", shared_data().join("alpaca_eval"))
}
