//! What each stage of the loop depends on (`stages::*`), recorded by the run folder's
//! stage markers ([`records::Provenance`]): the config values and inputs it reads.
use crate::config::RunConfig;
use records::RunDir;
use crate::Result;
pub use records::provenance::{digest, digest_path, Provenance};

/// The iterate section without `iterations` (more iterations may be asked of a run).
fn iterate_recipe(cfg: &RunConfig) -> crate::config::IterateConfig {
    crate::config::IterateConfig { iterations: 0, ..cfg.iterate.clone() }
}

/// What each stage depends on. Kept to what the stage reads, so that a fork (same SFT,
/// other loop settings) reuses seed data and SFT models; see [`crate::fork::sft_differences`].
pub mod stages {
    use super::*;

    fn judge_prompt(cfg: &RunConfig) -> Result<String> {
        Ok(digest(cfg.judge.prompt.template()?.as_bytes()))
    }

    /// `seed/`: the tokenizer and the seed IFT/EFT data.
    pub fn seed(cfg: &RunConfig) -> Result<Provenance> {
        Ok(Provenance::default()
            .config("seed", &cfg.seed)?
            .config("world", &cfg.world)?
            .config("data", &cfg.data)?
            .config("model.vocab_size", &cfg.model.vocab_size)?
            .digest("judge prompt", judge_prompt(cfg)?))
    }

    fn sft_common(cfg: &RunConfig, run: &RunDir) -> Result<Provenance> {
        Ok(Provenance::default()
            .config("seed", &cfg.seed)?
            .config("model", &cfg.model)?
            .config("sft", &cfg.sft)?
            .input(run, "seed/tokenizer.json")?
            .input(run, "seed/ift.jsonl")?
            .input(run, "seed/ift_valid.jsonl")?)
    }

    /// The SFT baseline: IFT only.
    pub fn sft_baseline(cfg: &RunConfig, run: &RunDir) -> Result<Provenance> {
        sft_common(cfg, run)
    }

    /// The EFT training set (seed EFT, mixed with the baseline's own samples if configured).
    pub fn eft_mixed(cfg: &RunConfig, run: &RunDir) -> Result<Provenance> {
        let mut p = Provenance::default()
            .config("seed", &cfg.seed)?
            .config("data", &cfg.data)?
            .input(run, "seed/eft_train.jsonl")?;
        if cfg.data.eft_model_fraction > 0.0 {
            p = p
                .config("iterate.max_new_tokens", &cfg.iterate.max_new_tokens)?
                .config("iterate.batch_size", &cfg.iterate.batch_size)?
                .input(run, "seed/eft_train_tasks.jsonl")?
                .input(run, "sft_baseline")?
                .digest("judge prompt", judge_prompt(cfg)?);
        }
        Ok(p)
    }

    /// M1: IFT + EFT.
    pub fn m1(cfg: &RunConfig, run: &RunDir) -> Result<Provenance> {
        Ok(sft_common(cfg, run)?.input(run, "seed/eft_valid.jsonl")?.input(run, "seed/eft_train_mixed.jsonl")?)
    }

    /// Checks every stage record in the run folder (done or begun) against this config,
    /// writing nothing: run before a run folder's `config.toml` is (re)written, so that a run
    /// whose config file was lost, or whose backend changed kind mid-stage, is refused
    /// before anything changes.
    pub fn check_recorded(cfg: &RunConfig, run: &RunDir) -> Result<()> {
        type Spec = fn(&RunConfig, &RunDir) -> Result<Provenance>;
        let specs: [(&str, Spec); 4] = [
            ("seed/seed", |c, _| seed(c)),
            ("sft_baseline", sft_baseline),
            ("seed/eft_mixed", eft_mixed),
            ("m1", m1),
        ];
        for (stage, spec) in specs {
            if run.has_record(stage) {
                run.check_stage(stage, &spec(cfg, run)?)?;
            }
        }
        type LoopSpec = fn(&RunConfig, &RunDir, usize, &str) -> Result<Provenance>;
        let mut t = 1;
        while run.model(t).join("model.safetensors").exists() {
            let it = run.iter(t);
            let loop_specs: [(String, LoopSpec); 4] =
                [(format!("{it}/prompts"), prompts), (format!("{it}/candidates"), candidates), (format!("{it}/judgments"), judgments), (format!("m{}", t + 1), dpo)];
            if !loop_specs.iter().any(|(s, _)| run.has_record(s)) {
                break;
            }
            let m_t = digest_path(&run.model(t))?;
            for (stage, spec) in loop_specs {
                if run.has_record(&stage) {
                    run.check_stage(&stage, &spec(cfg, run, t, &m_t)?)?;
                }
            }
            t += 1;
        }
        Ok(())
    }

    /// Iteration `t`'s new prompts, made with M_t (`model`: its digest).
    pub fn prompts(cfg: &RunConfig, run: &RunDir, t: usize, model: &str) -> Result<Provenance> {
        let mut p = Provenance::default()
            .config("seed", &cfg.seed)?
            .config("world", &cfg.world)?
            .config("iterate", &iterate_recipe(cfg))?
            .digest(&format!("m{t}"), model.to_string())
            .input(run, "seed/ift.jsonl")?;
        for s in 1..t {
            p = p.input(run, &format!("{}/prompts.jsonl", run.iter(s)))?;
        }
        // M_t writing them through a server: recorded, so that a begun stage does not
        // continue on another kind of backend (runs made here before servers could write
        // prompts, all local, keep their records).
        if cfg.iterate.generator == crate::config::PromptGenerator::Model && cfg.backend.kind() != "local" {
            p = p.config("backend", &cfg.backend.kind())?;
        }
        Ok(p)
    }

    /// Iteration `t`'s candidates.
    pub fn candidates(cfg: &RunConfig, run: &RunDir, t: usize, model: &str) -> Result<Provenance> {
        let ic = &cfg.iterate;
        Ok(Provenance::default()
            .config("seed", &cfg.seed)?
            .config("iterate.seed", &ic.seed)?
            .config("iterate.n_candidates", &ic.n_candidates)?
            .config("iterate.temperature", &ic.temperature)?
            .config("iterate.top_p", &ic.top_p)?
            .config("iterate.max_new_tokens", &ic.max_new_tokens)?
            .config("iterate.batch_size", &ic.batch_size)?
            .config("backend", &cfg.backend.kind())?
            .digest(&format!("m{t}"), model.to_string())
            .input(run, &format!("{}/prompts.jsonl", run.iter(t)))?)
    }

    /// Iteration `t`'s self-judgments.
    pub fn judgments(cfg: &RunConfig, run: &RunDir, t: usize, model: &str) -> Result<Provenance> {
        let ic = &cfg.iterate;
        Ok(Provenance::default()
            .config("seed", &cfg.seed)?
            .config("iterate.seed", &ic.seed)?
            .config("iterate.n_candidates", &ic.n_candidates)?
            .config("iterate.batch_size", &ic.batch_size)?
            .config("judge", &cfg.judge)?
            .config("backend", &cfg.backend.kind())?
            .digest("judge prompt", judge_prompt(cfg)?)
            .digest(&format!("m{t}"), model.to_string())
            .input(run, &format!("{}/candidates.jsonl", run.iter(t)))?)
    }

    /// M_{t+1}: DPO from M_t on iteration `t`'s judgments.
    pub fn dpo(cfg: &RunConfig, run: &RunDir, t: usize, model: &str) -> Result<Provenance> {
        Ok(Provenance::default()
            .config("seed", &cfg.seed)?
            .config("iterate.seed", &cfg.iterate.seed)?
            .config("model.max_len", &cfg.model.max_len)?
            .config("dpo", &cfg.dpo)?
            .digest(&format!("m{t}"), model.to_string())
            .input(run, &format!("{}/judgments.jsonl", run.iter(t)))?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_name_each_key_and_input() {
        let a = Provenance::default().config("sft", &serde_json::json!({"steps": 250, "lr": 0.001})).unwrap().digest("m1", "aa".repeat(32));
        let mut b = Provenance::default().config("sft", &serde_json::json!({"steps": 300, "lr": 0.001})).unwrap().digest("m1", "bb".repeat(32));
        assert_eq!(b.changes(&a), ["sft.steps: 250 -> 300", "m1: other content (sha256 aaaaaaaaaaaa -> bbbbbbbbbbbb)"]);
        assert!(a.changes(&a).is_empty());
        b = b.digest("seed/ift.jsonl", "cc".into());
        assert!(b.changes(&a).contains(&"seed/ift.jsonl: a new input".to_string()));
        assert!(a.changes(&b).contains(&"seed/ift.jsonl: no longer an input".to_string()));
    }

    #[test]
    fn a_folder_digest_covers_names_and_contents_but_not_temp_files() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("a"), b"1").unwrap();
        std::fs::write(d.path().join("b"), b"2").unwrap();
        let h = digest_path(d.path()).unwrap();
        std::fs::write(d.path().join("b.tmp123"), b"junk").unwrap();
        assert_eq!(digest_path(d.path()).unwrap(), h);
        std::fs::write(d.path().join("b"), b"3").unwrap();
        assert_ne!(digest_path(d.path()).unwrap(), h);
        std::fs::write(d.path().join("b"), b"2").unwrap();
        std::fs::rename(d.path().join("b"), d.path().join("c")).unwrap();
        assert_ne!(digest_path(d.path()).unwrap(), h);
        // sha256("abc"), FIPS 180-2's example.
        assert_eq!(digest(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
