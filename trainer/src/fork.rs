//! Forking a run after SFT: a new run that starts from an existing run's seed data, M1
//! and SFT baseline, so that loop settings (judge, candidates, pairs, DPO) are compared
//! on the same M1 without training it again (SFT is most of `make iterate`'s time).
use crate::config::RunConfig;
use records::RunDir;
use crate::{Error, Result};
use std::path::Path;

/// What the seed and SFT stages leave in a run folder.
const SFT_OUTPUTS: &[&str] = &["seed", "sft_baseline", "m1", "sft_baseline.done", "m1.done", "sft_baseline.train.json", "m1.train.json"];

/// The config keys that the seed data, M1 and the SFT baseline depend on, where `a` and
/// `b` differ. Empty: a run with config `b` may start from the SFT stage of a run with `a`.
pub fn sft_differences(a: &RunConfig, b: &RunConfig) -> Vec<&'static str> {
    let mut d = vec![];
    let mut check = |differs: bool, key: &'static str| {
        if differs {
            d.push(key);
        }
    };
    check(a.seed != b.seed, "seed");
    check(a.world != b.world, "world");
    check(a.model != b.model, "model");
    check(a.data != b.data, "data");
    check(a.sft != b.sft, "sft");
    // EFT prompts are written with the judge prompt.
    check(a.judge.prompt != b.judge.prompt, "judge.prompt");
    // Model-written EFT responses are sampled with the loop's length and batch size.
    let sampled_eft = a.data.eft_model_fraction > 0.0;
    check(sampled_eft && a.iterate.max_new_tokens != b.iterate.max_new_tokens, "iterate.max_new_tokens");
    check(sampled_eft && a.iterate.batch_size != b.iterate.batch_size, "iterate.batch_size");
    d
}

fn copy_tree(src: &Path, dst: &Path) -> Result<()> {
    if src.is_dir() {
        std::fs::create_dir_all(dst).map_err(|e| Error::io(dst, e))?;
        for entry in std::fs::read_dir(src).map_err(|e| Error::io(src, e))? {
            let entry = entry.map_err(|e| Error::io(src, e))?;
            copy_tree(&entry.path(), &dst.join(entry.file_name()))?;
        }
        Ok(())
    } else {
        std::fs::copy(src, dst).map(|_| ()).map_err(|e| Error::io(src, e))
    }
}

/// Makes `dst`, a run that does not exist yet, from `src`'s seed data and SFT models, with
/// `cfg` (the new run's config, saved as its `config.toml`). Refused when `src` has not
/// finished SFT or trained it with another recipe. The folder appears whole or not at all.
pub fn fork_after_sft(src: &RunDir, dst: &RunDir, cfg: &RunConfig) -> Result<()> {
    if let Some(name) = src.root.file_name() {
        crate::config_check::check_run_name(&name.to_string_lossy())?;
    }
    if !src.root.is_dir() {
        return Err(Error::Stage(format!("no run folder {} to fork from", src.root.display())));
    }
    let _held = src.lock()?;
    if !src.is_done("m1") || !src.is_done("sft_baseline") {
        return Err(Error::Stage(format!("{} has not finished SFT; run `srlm sft` on it first", src.root.display())));
    }
    if dst.root.exists() {
        return Err(Error::Stage(format!("{} exists; fork into a new --name", dst.root.display())));
    }
    let p = src.path("config.toml");
    let text = std::fs::read_to_string(&p).map_err(|e| Error::io(&p, e))?;
    let src_cfg: RunConfig = toml::from_str(&text).map_err(|e| Error::Config(format!("{}: {}", p.display(), e.message())))?;
    let diff = sft_differences(&src_cfg, cfg);
    if !diff.is_empty() {
        return Err(Error::Config(format!(
            "{} trained its SFT models with other values of {}; fork only changes what comes after SFT",
            src.root.display(),
            diff.join(", ")
        )));
    }
    let tmp = engine::fsutil::tmp_path(&dst.root);
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(|e| Error::io(&tmp, e))?;
    }
    for rel in SFT_OUTPUTS {
        copy_tree(&src.path(rel), &tmp.join(rel))?;
    }
    engine::fsutil::write_atomic(&tmp.join("config.toml"), cfg.to_toml()?.as_bytes())?;
    std::fs::rename(&tmp, &dst.root).map_err(|e| Error::io(&dst.root, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{DpoLoss, Profile};

    #[test]
    fn only_what_sft_depends_on_blocks_a_fork() {
        let a = RunConfig::profile(Profile::Default);
        let mut b = a.clone();
        b.name = "other".into();
        b.judge.temperature = 0.0;
        b.judge.samples = 1;
        b.iterate.new_prompts = 3000;
        b.dpo.loss = DpoLoss::Sigmoid { beta: 0.5 };
        assert!(sft_differences(&a, &b).is_empty());
        b.sft.steps += 1;
        b.model.vocab_size = 2048;
        b.judge.prompt = engine::judge::JudgePrompt::Paper;
        assert_eq!(sft_differences(&a, &b), ["model", "sft", "judge.prompt"]);
        // The loop's sampling settings matter only when the EFT data holds model samples.
        let mut c = a.clone();
        c.iterate.max_new_tokens = 99;
        assert!(sft_differences(&a, &c).is_empty());
        let mut a2 = a.clone();
        a2.data.eft_model_fraction = 0.5;
        let mut c2 = a2.clone();
        c2.iterate.max_new_tokens = 99;
        assert_eq!(sft_differences(&a2, &c2), ["iterate.max_new_tokens"]);
    }
}
