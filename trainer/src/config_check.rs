//! One validation of a whole run config before any work: every numeric field in its
//! documented range (NaN and infinities refused), cross-field rules, run names that are
//! one safe path component, judge templates with their placeholders. An error names the
//! key, the value and what is allowed.
use crate::config::{DpoLoss, RunConfig, TrainConfig};
use crate::{Error, Result};

fn bad(key: &str, value: impl std::fmt::Display, allowed: &str) -> Error {
    Error::Config(format!("`{key}` = {value}: {allowed}"))
}

/// `lo <= x <= hi` for counts.
fn count(key: &str, x: usize, lo: usize, hi: usize) -> Result<()> {
    if x < lo || x > hi {
        return Err(bad(key, x, &format!("must be in {lo}..={hi}")));
    }
    Ok(())
}

/// A finite real in `[lo, hi]`, or `(lo, hi]` when `open_lo`.
fn real(key: &str, x: f64, lo: f64, hi: f64, open_lo: bool) -> Result<()> {
    let ok = x.is_finite() && x <= hi && if open_lo { x > lo } else { x >= lo };
    if !ok {
        return Err(bad(key, x, &format!("must be a finite number in {}{lo}, {hi}]", if open_lo { "(" } else { "[" })));
    }
    Ok(())
}

/// A run name: one path component of letters, digits, `_`, `-` and `.` (not `.` or `..`).
pub fn check_run_name(name: &str) -> Result<()> {
    let safe = !name.is_empty()
        && name.len() <= 100
        && name != "."
        && name != ".."
        && name.chars().all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c));
    if !safe {
        return Err(bad("name", format!("{name:?}"), "must be one folder name of letters, digits, `_`, `-` or `.` (at most 100)"));
    }
    Ok(())
}

fn check_train(prefix: &str, t: &TrainConfig) -> Result<()> {
    let k = |f: &str| format!("{prefix}.{f}");
    count(&k("steps"), t.steps, 1, 10_000_000)?;
    count(&k("batch_size"), t.batch_size, 1, 65_536)?;
    real(&k("lr"), t.lr, 0.0, 1.0, true)?;
    count(&k("warmup"), t.warmup, 0, t.steps)?;
    real(&k("min_lr_ratio"), t.min_lr_ratio, 0.0, 1.0, false)?;
    real(&k("weight_decay"), t.weight_decay, 0.0, 1.0, false)?;
    real(&k("grad_clip"), t.grad_clip, 0.0, 1e6, true)?;
    count(&k("eval_every"), t.eval_every, 1, usize::MAX)?;
    count(&k("ckpt_every"), t.ckpt_every, 1, usize::MAX)?;
    count(&k("shards"), t.shards, 1, 256)
}

impl RunConfig {
    /// Checks every field; the first violation is the error.
    pub fn validate(&self) -> Result<()> {
        check_run_name(&self.name)?;
        if let Some(src) = &self.model.init {
            if let engine::ModelSource::Path(p) = engine::ModelSource::parse(src) {
                if !p.exists() {
                    return Err(bad("model.init", format!("{src:?}"), "no such checkpoint folder or .gguf file (nor a hub id `org/name`)"));
                }
            }
        }
        self.runtime.validate().map_err(|e| Error::Config(e.to_string()))?;
        count("workers", self.workers, 0, 1024)?;
        let w = &self.world;
        if w.families.is_empty() {
            return Err(bad("world.families", "[]", "must name at least one family"));
        }
        count("world.min_difficulty", w.min_difficulty as usize, 1, 3)?;
        count("world.max_difficulty", w.max_difficulty as usize, w.min_difficulty as usize, 3)
            .map_err(|_| bad("world.max_difficulty", w.max_difficulty, &format!("must be in world.min_difficulty ({})..=3", w.min_difficulty)))?;
        if w.families.iter().all(|f| w.split.held_out_families.contains(f)) {
            return Err(bad("world.split.held_out_families", format!("{:?}", w.split.held_out_families), "must leave at least one family of world.families for training"));
        }
        count("world.split.valid_percent", w.split.valid_percent as usize, 1, 50)?;
        count("world.split.test_percent", w.split.test_percent as usize, 1, 50)?;
        let m = &self.model;
        count("model.vocab_size", m.vocab_size, 300, 1 << 20)?;
        count("model.num_heads", m.num_heads, 1, 256)?;
        count("model.num_kv_heads", m.num_kv_heads, 1, m.num_heads)?;
        if m.num_heads % m.num_kv_heads != 0 {
            return Err(bad("model.num_kv_heads", m.num_kv_heads, &format!("must divide model.num_heads ({})", m.num_heads)));
        }
        count("model.hidden_size", m.hidden_size, 2 * m.num_heads, 1 << 16)?;
        if m.hidden_size % (2 * m.num_heads) != 0 {
            return Err(bad("model.hidden_size", m.hidden_size, &format!("must be a multiple of 2 × model.num_heads ({}): an even head size", 2 * m.num_heads)));
        }
        count("model.intermediate_size", m.intermediate_size, 1, 1 << 18)?;
        count("model.num_layers", m.num_layers, 1, 256)?;
        count("model.max_len", m.max_len, 16, 1 << 17)?;
        let d = &self.data;
        count("data.ift", d.ift, 1, 100_000_000)?;
        count("data.eft_train", d.eft_train, 6, 100_000_000)?;
        count("data.eft_eval", d.eft_eval, 8, 100_000_000)?;
        count("data.test_prompts", d.test_prompts, 1, 100_000_000)?;
        real("data.eft_model_fraction", d.eft_model_fraction, 0.0, 1.0, false)?;
        real("data.ift_sign_off", d.ift_sign_off, 0.0, 1.0, false)?;
        let j = &self.judge;
        count("judge.samples", j.samples, 1, 64)?;
        real("judge.temperature", j.temperature, 0.0, 10.0, false)?;
        real("judge.top_p", j.top_p, 0.0, 1.0, true)?;
        count("judge.max_new_tokens", j.max_new_tokens, 1, m.max_len - 1)?;
        let template = j.prompt.template().map_err(|e| Error::Config(format!("`judge.prompt`: {e}")))?;
        if let Some(ph) = engine::judge::JudgePrompt::missing_placeholder(&template) {
            return Err(bad("judge.prompt", format!("{:?}", j.prompt), &format!("the template must contain {ph}")));
        }
        if let crate::config::Backend::Openai { api, serve } = &self.backend {
            api.validate("backend.api").map_err(Error::Config)?;
            if let Some(sv) = serve {
                if !(sv.command.contains("{gguf}") || sv.command.contains("{hf_dir}")) {
                    return Err(bad("backend.serve.command", format!("{:?}", sv.command), "must serve M_t: contain {gguf} or {hf_dir}"));
                }
                count("backend.serve.port", sv.port as usize, 1, 65_535)?;
                count("backend.serve.startup_timeout_secs", sv.startup_timeout_secs as usize, 1, 3600)?;
            }
        }
        check_train("sft", &self.sft)?;
        let e = &self.eval;
        count("eval.ifeval_max_new_tokens", e.ifeval_max_new_tokens, 1, 1_000_000)?;
        count("eval.alpaca_max_new_tokens", e.alpaca_max_new_tokens, 1, 1_000_000)?;
        count("eval.batch_size", e.batch_size, 1, 65_536)?;
        let i = &self.iterate;
        count("iterate.iterations", i.iterations, 0, 1000)?;
        count("iterate.new_prompts", i.new_prompts, 1, 100_000_000)?;
        real("iterate.rouge_threshold", i.rouge_threshold, 0.0, 1.0, true)?;
        count("iterate.min_words", i.min_words, 1, i.max_words)?;
        count("iterate.max_words", i.max_words, i.min_words, 100_000)?;
        count("iterate.n_candidates", i.n_candidates, 2, 256)?;
        real("iterate.temperature", i.temperature, 0.0, 10.0, false)?;
        real("iterate.top_p", i.top_p, 0.0, 1.0, true)?;
        count("iterate.max_new_tokens", i.max_new_tokens, 1, m.max_len - 1)?;
        count("iterate.batch_size", i.batch_size, 1, 65_536)?;
        match self.dpo.loss {
            DpoLoss::Sigmoid { beta } => real("dpo.loss.beta", beta, 0.0, 1e3, true)?,
            DpoLoss::Ipo { tau } => real("dpo.loss.tau", tau, 0.0, 1e3, true)?,
            DpoLoss::SigmoidNll { beta, alpha } => {
                real("dpo.loss.beta", beta, 0.0, 1e3, true)?;
                real("dpo.loss.alpha", alpha, 0.0, 1e3, false)?;
            }
        }
        check_train("dpo.train", &self.dpo.train)?;
        real("dpo.valid_fraction", self.dpo.valid_fraction, 0.0, 0.5, true)?;
        self.dpo.backend.validate().map_err(Error::Config)
    }
}

#[cfg(test)]
mod tests {
    use crate::{Profile, RunConfig};

    #[test]
    fn every_profile_is_valid() {
        for p in [Profile::Default, Profile::Paper, Profile::Smoke, Profile::Smollm2, Profile::Smollm2Gpu] {
            let mut c = RunConfig::profile(p);
            // (the SmolLM2 file is fetched by `make smollm2`, not by tests)
            c.model.init = None;
            if !cfg!(feature = "cuda") {
                c.runtime = Default::default(); // the GPU profile's CUDA runtime needs a CUDA build
            }
            c.validate().unwrap();
        }
    }

    #[test]
    fn bad_values_are_refused_naming_the_key() {
        let cases: &[(&str, &str)] = &[
            ("iterate.n_candidates=0", "iterate.n_candidates"),
            ("iterate.n_candidates=1", "iterate.n_candidates"),
            ("dpo.train.batch_size=0", "dpo.train.batch_size"),
            ("sft.batch_size=0", "sft.batch_size"),
            ("model.hidden_size=0", "model.hidden_size"),
            ("model.hidden_size=100", "model.hidden_size"),
            ("model.num_kv_heads=3", "model.num_kv_heads"),
            ("world.min_difficulty=3", "world.max_difficulty"),
            ("world.families=[]", "world.families"),
            ("iterate.temperature=-1.0", "iterate.temperature"),
            ("judge.temperature=nan", "judge.temperature"),
            ("judge.temperature=inf", "judge.temperature"),
            ("judge.top_p=1.5", "judge.top_p"),
            ("judge.samples=0", "judge.samples"),
            ("judge.max_new_tokens=192", "judge.max_new_tokens"),
            ("dpo.loss.beta=0.0", "dpo.loss.beta"),
            ("dpo.valid_fraction=1.5", "dpo.valid_fraction"),
            ("dpo.train.steps=0", "dpo.train.steps"),
            ("sft.warmup=5000", "sft.warmup"),
            ("sft.shards=0", "sft.shards"),
            ("sft.lr=0.0", "sft.lr"),
            ("data.ift_sign_off=2.0", "data.ift_sign_off"),
            ("iterate.min_words=50", "iterate.min_words"),
            ("name=\"../escape\"", "name"),
            ("name=\"/abs/dir\"", "name"),
            ("name=\"\"", "name"),
            ("'judge.prompt={file=\"/nonexistent/judge.txt\"}'", "judge.prompt"),
            ("dpo.backend={type=\"trl\",python=\"/no/such/python\"}", "dpo.backend.python"),
            ("dpo.backend={type=\"trl\",launcher=[\"accelerate\"],args={learning_rate=1.0}}", "dpo.backend.args.learning_rate"),
        ];
        for (set, key) in cases {
            let set = set.trim_matches('\'');
            let err = RunConfig::resolve(Profile::Default, None, &[set.to_string()]).unwrap_err().to_string();
            assert!(err.contains(&format!("`{key}`")), "{set}: {err}");
        }
        // A template file without its placeholders.
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("judge.txt");
        std::fs::write(&f, "Score it. Score: <points>").unwrap();
        let err = RunConfig::resolve(Profile::Default, None, &[format!("judge.prompt={{file={:?}}}", f)]).unwrap_err().to_string();
        assert!(err.contains("`judge.prompt`") && err.contains("{instruction}"), "{err}");
    }
}
