//! Judges for evaluation: the world's grader, any checkpoint with the paper's prompt
//! (engine's `LlmJudge`) or the pairwise prompt, a remote API, and a disk cache; each built
//! from its config (sampling included) by [`JudgeBackend::build`], all behind
//! [`HeadToHeadJudge`].
use engine::judge::{Judge, JudgeFailure, Judgment};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use world::Task;

/// Which judge evaluates, chosen by config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type", deny_unknown_fields)]
pub enum JudgeBackend {
    /// The world's programmatic grader (the embedded default's ground truth).
    Grader,
    /// A checkpoint (folder or `.gguf`) as an LLM judge with a judge prompt, K samples
    /// averaged, or its expected score (`scoring = { expected = "justified" }`).
    Checkpoint {
        path: std::path::PathBuf,
        prompt: engine::judge::JudgePrompt,
        samples: usize,
        #[serde(default)]
        scoring: engine::judge::Scoring,
        /// How each judgment is sampled (default: temperature 0.7, top-p 0.9, 64 tokens).
        #[serde(default)]
        sampling: JudgeSampling,
    },
    /// A checkpoint with the pairwise prompt (`Preferred: A|B`), both orders.
    CheckpointPairwise {
        path: std::path::PathBuf,
        /// How each verdict is sampled (default: greedy, 64 tokens; fields left out keep
        /// these defaults).
        #[serde(default = "JudgeSampling::greedy", deserialize_with = "JudgeSampling::over_greedy")]
        sampling: JudgeSampling,
    },
    /// An OpenAI-compatible chat-completions endpoint.
    Remote(crate::remote::RemoteConfig),
}

impl JudgeBackend {
    /// Reads a judge TOML file (a `[judge]` table); a value of the wrong type names its key,
    /// and the judge is validated before any work.
    pub fn read(path: &std::path::Path) -> crate::Result<Self> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct File {
            judge: JudgeBackend,
        }
        let text = std::fs::read_to_string(path).map_err(|e| crate::Error::io(path, e))?;
        let f: File = serde_path_to_error::deserialize(toml::Deserializer::new(&text)).map_err(|e| {
            let line = e.inner().span().map_or(0, |s| text[..s.start.min(text.len())].matches('\n').count() + 1);
            crate::Error::Parse { path: path.into(), loc: format!("line {line}, key `{}`", e.path()), msg: e.inner().message().to_string() }
        })?;
        f.judge.validate().map_err(|m| crate::Error::Parse { path: path.into(), loc: "[judge]".into(), msg: m })?;
        Ok(f.judge)
    }

    /// The judge this backend describes, whichever kind, as a head-to-head judge: every
    /// judge `srlm-eval compare` uses is built here. A checkpoint is loaded (with `rt`) into
    /// `slot`, which the judge borrows; the grader needs the world's prompts
    /// (`test_prompts.jsonl`); a pointwise judge's judgments are cached in `cache` when given.
    pub fn build<'a>(self, rt: &engine::Runtime, grader_prompts: Option<&std::path::Path>, slot: &'a mut Option<engine::Checkpoint>, cache: Option<std::path::PathBuf>) -> crate::Result<Box<dyn HeadToHeadJudge + 'a>> {
        Ok(match self {
            JudgeBackend::CheckpointPairwise { path, sampling } => {
                let model = slot.insert(rt.load(&path.to_string_lossy())?);
                let name = format!("pairwise:{}|{sampling:?}", path.display());
                Box::new(crate::pairwise::PairwiseLlmJudge { name, model, params: sampling.params(), seed: sampling.seed, batch_size: sampling.batch_size })
            }
            pointwise => {
                let judge = pointwise.pointwise(rt, grader_prompts, slot)?;
                match cache {
                    Some(c) => Box::new(CachedJudge::new(judge, c)?),
                    None => Box::new(judge),
                }
            }
        })
    }

    /// The pointwise judge this backend describes (see [`JudgeBackend::build`]); a pairwise
    /// checkpoint is not a pointwise judge.
    pub fn pointwise<'a>(self, rt: &engine::Runtime, grader_prompts: Option<&std::path::Path>, slot: &'a mut Option<engine::Checkpoint>) -> crate::Result<Box<dyn Judge + 'a>> {
        Ok(match self {
            JudgeBackend::Grader => {
                let p = grader_prompts.ok_or_else(|| crate::Error::Invalid("the grader judges only the world's prompts (with `compare --prompts <test_prompts.jsonl>`)".into()))?;
                Box::new(GraderJudge::read(p)?)
            }
            JudgeBackend::Checkpoint { path, prompt, samples, scoring, sampling } => {
                let ck = slot.insert(rt.load(&path.to_string_lossy())?);
                engine::judge::model_judge(ck, checkpoint_spec(&path, prompt, scoring, samples, &sampling))
            }
            JudgeBackend::Remote(cfg) => Box::new(crate::remote::RemoteJudge::new(cfg)?),
            JudgeBackend::CheckpointPairwise { path, .. } => {
                return Err(crate::Error::Invalid(format!("{}: a pairwise judge compares two responses; it cannot score one (use it with `compare`)", path.display())))
            }
        })
    }

    /// Every field in its range; an error names the key, the value and what is allowed.
    pub fn validate(&self) -> Result<(), String> {
        let bad = |k: &str, v: &dyn std::fmt::Display, allowed: &str| Err(format!("`judge.{k}` = {v}: {allowed}"));
        let prompt = |p: &engine::judge::JudgePrompt| -> Result<(), String> {
            let t = p.template().map_err(|e| format!("`judge.prompt`: {e}"))?;
            match engine::judge::JudgePrompt::missing_placeholder(&t) {
                Some(ph) => bad("prompt", &format!("{p:?}"), &format!("the template must contain {ph}")),
                None => Ok(()),
            }
        };
        match self {
            JudgeBackend::Grader => Ok(()),
            JudgeBackend::Checkpoint { path, prompt: p, samples, sampling, .. } => {
                if !path.exists() {
                    return bad("path", &path.display(), "no such checkpoint folder or GGUF file");
                }
                if !(1..=64).contains(samples) {
                    return bad("samples", samples, "must be in 1..=64");
                }
                sampling.validate()?;
                prompt(p)
            }
            JudgeBackend::CheckpointPairwise { path, .. } if !path.exists() => bad("path", &path.display(), "no such checkpoint folder or GGUF file"),
            JudgeBackend::CheckpointPairwise { sampling, .. } => sampling.validate(),
            JudgeBackend::Remote(r) => {
                engine::backend::check_endpoint("judge", &r.base_url, &r.model, r.timeout_secs, r.retries)?;
                if !(1..=64).contains(&r.samples) {
                    return bad("samples", &r.samples, "must be in 1..=64");
                }
                if !(r.temperature.is_finite() && (0.0..=2.0).contains(&r.temperature)) {
                    return bad("temperature", &r.temperature, "must be a finite number in [0, 2]");
                }
                if !(1..=1_000_000).contains(&r.max_tokens) {
                    return bad("max_tokens", &r.max_tokens, "must be in 1..=1000000");
                }
                prompt(&r.prompt)
            }
        }
    }
}

/// How a model judge samples its judgments: part of the judge's config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JudgeSampling {
    /// 0 is greedy.
    pub temperature: f64,
    pub top_p: f64,
    /// Longest judgment in tokens.
    pub max_new_tokens: usize,
    /// Seed of the first item's sampling (each item's derives from it).
    pub seed: u64,
    /// Items generated together.
    pub batch_size: usize,
}

impl Default for JudgeSampling {
    fn default() -> Self {
        Self { temperature: 0.7, top_p: 0.9, max_new_tokens: 64, seed: 0, batch_size: 16 }
    }
}

impl JudgeSampling {
    /// Greedy, 64 tokens: the pairwise judge's default.
    pub fn greedy() -> Self {
        Self { temperature: 0.0, top_p: 1.0, ..Self::default() }
    }
    /// Deserializes the fields given over [`JudgeSampling::greedy`].
    fn over_greedy<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Given {
            temperature: Option<f64>,
            top_p: Option<f64>,
            max_new_tokens: Option<usize>,
            seed: Option<u64>,
            batch_size: Option<usize>,
        }
        let g = Given::deserialize(d)?;
        let b = Self::greedy();
        Ok(Self {
            temperature: g.temperature.unwrap_or(b.temperature),
            top_p: g.top_p.unwrap_or(b.top_p),
            max_new_tokens: g.max_new_tokens.unwrap_or(b.max_new_tokens),
            seed: g.seed.unwrap_or(b.seed),
            batch_size: g.batch_size.unwrap_or(b.batch_size),
        })
    }

    pub fn params(&self) -> engine::SampleParams {
        engine::SampleParams { temperature: self.temperature, top_p: self.top_p, max_new_tokens: self.max_new_tokens, stop: vec![] }
    }
    fn validate(&self) -> Result<(), String> {
        let bad = |k: &str, v: &dyn std::fmt::Display, allowed: &str| Err(format!("`judge.sampling.{k}` = {v}: {allowed}"));
        if !(self.temperature.is_finite() && (0.0..=2.0).contains(&self.temperature)) {
            return bad("temperature", &self.temperature, "must be a finite number in [0, 2]");
        }
        if !(self.top_p > 0.0 && self.top_p <= 1.0) {
            return bad("top_p", &self.top_p, "must be in (0, 1]");
        }
        if !(1..=4096).contains(&self.max_new_tokens) {
            return bad("max_new_tokens", &self.max_new_tokens, "must be in 1..=4096");
        }
        if !(1..=1024).contains(&self.batch_size) {
            return bad("batch_size", &self.batch_size, "must be in 1..=1024");
        }
        Ok(())
    }
}

/// Verdicts on `(instruction, A, B)` triples, from A's side.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdicts {
    /// Per triple, or why there is none (never a tie).
    pub verdicts: Vec<Result<crate::winrate::Verdict, JudgeFailure>>,
    /// Share of single-order verdicts that picked the response shown first, for judges that
    /// see both responses; `None` for pointwise judges, where order cannot matter.
    pub position_bias: Option<f64>,
}

/// Every judge as a head-to-head: pointwise judges (grader, checkpoint, expected score,
/// remote: through [`compare`], each response scored once) and pairwise ones (both orders).
/// A new judge is one [`JudgeBackend`] variant and one implementation of this trait (or of
/// engine's pointwise `Judge`, which implements it).
pub trait HeadToHeadJudge {
    /// A stable name: the annotations' `annotator`.
    fn annotator(&self) -> String;
    /// Judges each `(instruction, A, B)`.
    fn verdicts(&mut self, triples: &[(String, String, String)]) -> Verdicts;
}

impl<J: Judge + ?Sized> HeadToHeadJudge for J {
    fn annotator(&self) -> String {
        self.name()
    }
    fn verdicts(&mut self, triples: &[(String, String, String)]) -> Verdicts {
        Verdicts { verdicts: compare(self, triples), position_bias: None }
    }
}

/// The world's grader as a judge: knows the task behind each instruction.
pub struct GraderJudge {
    pub tasks: HashMap<String, Task>,
}

impl GraderJudge {
    /// The grader of the world prompts in `prompts` (`test_prompts.jsonl`); prompts
    /// without a task are left out.
    pub fn read(prompts: &std::path::Path) -> crate::Result<Self> {
        let recs: Vec<world::records::PromptRecord> = records::read_jsonl(prompts)?;
        Ok(GraderJudge { tasks: recs.into_iter().filter_map(|r| r.task.map(|t| (r.instruction, t))).collect() })
    }
}

impl Judge for GraderJudge {
    fn name(&self) -> String {
        "grader".into()
    }
    fn judge(&mut self, items: &[(String, String)]) -> Vec<Result<Judgment, JudgeFailure>> {
        items
            .iter()
            .map(|(i, r)| {
                let t = self.tasks.get(i).ok_or_else(|| JudgeFailure::Backend(format!("no world task for instruction {i:?}")))?;
                let g = world::grade(t, r);
                Ok(Judgment { score: g.score as f64, samples: vec![Ok(g.score as f64)], texts: vec![g.justification] })
            })
            .collect()
    }
}

/// A checkpoint judge's identity for the judgment cache: the model file or folder (path,
/// size and modification time of its weights), the full prompt text, the scoring and
/// the sampling settings.
pub fn checkpoint_identity(path: &std::path::Path, prompt: &engine::judge::JudgePrompt, scoring: engine::judge::Scoring, samples: usize, params: &engine::SampleParams) -> String {
    let weights = if path.is_dir() { path.join("model.safetensors") } else { path.to_path_buf() };
    let stamp = std::fs::metadata(&weights).ok().map(|m| (m.len(), m.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok()).map_or(0, |d| d.as_secs())));
    let text = prompt.template().unwrap_or_default();
    format!(
        "checkpoint:{}|{stamp:?}|prompt {:016x}|{scoring:?}|samples {samples}|t {} p {} max {}",
        path.display(),
        world::split::stable_hash(&text),
        params.temperature,
        params.top_p,
        params.max_new_tokens
    )
}

/// A checkpoint judge with its config's sampling, named by [`checkpoint_identity`].
pub fn checkpoint_spec(path: &std::path::Path, prompt: engine::judge::JudgePrompt, scoring: engine::judge::Scoring, samples: usize, sampling: &JudgeSampling) -> engine::judge::ModelJudgeSpec {
    let params = sampling.params();
    let name = checkpoint_identity(path, &prompt, scoring, samples, &params);
    engine::judge::ModelJudgeSpec { name, prompt, scoring, samples, params, seed: sampling.seed, batch_size: sampling.batch_size }
}

/// Wraps a judge with an on-disk cache keyed by judge name + instruction + response,
/// so re-running never re-judges.
pub struct CachedJudge<J: Judge + ?Sized> {
    pub path: std::path::PathBuf,
    cache: HashMap<String, Judgment>,
    pub inner: Box<J>,
}

fn key(judge: &str, i: &str, r: &str) -> String {
    let h = world::split::stable_hash(&format!("{judge}\u{1}{i}\u{1}{r}"));
    format!("{h:016x}")
}

impl<J: Judge + ?Sized> CachedJudge<J> {
    /// Wraps `inner`, starting from the judgments already cached at `path` (if any).
    pub fn new(inner: Box<J>, path: std::path::PathBuf) -> crate::Result<Self> {
        let cache = if path.exists() {
            records::read_jsonl::<(String, Judgment)>(&path)?.into_iter().collect()
        } else {
            HashMap::new()
        };
        Ok(Self { inner, path, cache })
    }
    fn save(&self) -> crate::Result<()> {
        let mut rows: Vec<(&String, &Judgment)> = self.cache.iter().collect();
        rows.sort_by(|a, b| a.0.cmp(b.0));
        let mut s = String::new();
        for r in rows {
            s.push_str(&serde_json::to_string(&r).map_err(|e| crate::Error::Invalid(e.to_string()))?);
            s.push('\n');
        }
        Ok(engine::fsutil::write_atomic(&self.path, s.as_bytes())?)
    }
}

impl<J: Judge + ?Sized> Judge for CachedJudge<J> {
    fn name(&self) -> String {
        self.inner.name()
    }
    fn judge(&mut self, items: &[(String, String)]) -> Vec<Result<Judgment, JudgeFailure>> {
        let name = self.inner.name();
        let missing: Vec<(String, String)> =
            items.iter().filter(|(i, r)| !self.cache.contains_key(&key(&name, i, r))).cloned().collect();
        if missing.is_empty() {
            return items.iter().map(|(i, r)| Ok(self.cache[&key(&name, i, r)].clone())).collect();
        }
        let fresh = self.inner.judge(&missing);
        let mut failed: HashMap<String, JudgeFailure> = HashMap::new();
        let mut added = 0;
        for ((i, r), res) in missing.iter().zip(fresh) {
            match res {
                Ok(j) => {
                    self.cache.insert(key(&name, i, r), j);
                    added += 1;
                }
                Err(e) => {
                    failed.insert(key(&name, i, r), e);
                }
            }
        }
        // Failures are never cached, so a cache with nothing new is left as it was.
        if added > 0 {
            if let Err(e) = self.save() {
                tracing::warn!("judgment cache {} not saved: {e}", self.path.display());
            }
        }
        items
            .iter()
            .map(|(i, r)| {
                let k = key(&name, i, r);
                match self.cache.get(&k) {
                    Some(j) => Ok(j.clone()),
                    None => Err(failed.remove(&k).unwrap_or(JudgeFailure::Backend("not judged".into()))),
                }
            })
            .collect()
    }
}

/// Pointwise scores compared as a head-to-head verdict. A pointwise judge scores each
/// response alone, so the order of presentation cannot change its verdict: each response
/// is judged once (the swapped order would repeat identical work). Pairwise judges, where
/// order matters, are judged in both orders in `crate::pairwise`. A failed judgment on
/// either side is that pair's failure (with its cause), never a tie.
pub fn compare<J: Judge + ?Sized>(judge: &mut J, pairs: &[(String, String, String)]) -> Vec<Result<crate::winrate::Verdict, JudgeFailure>> {
    use crate::winrate::Verdict;
    let items: Vec<(String, String)> = pairs.iter().flat_map(|(i, a, b)| [(i.clone(), a.clone()), (i.clone(), b.clone())]).collect();
    let scores = judge.judge(&items);
    scores
        .chunks(2)
        .map(|ab| match (&ab[0], &ab[1]) {
            (Ok(a), Ok(b)) if a.score > b.score => Ok(Verdict::A),
            (Ok(a), Ok(b)) if a.score < b.score => Ok(Verdict::B),
            (Ok(_), Ok(_)) => Ok(Verdict::Tie),
            (Err(e), _) | (_, Err(e)) => Err(e.clone()),
        })
        .collect()
}
