//! One typed configuration per run: profiles of commented defaults, a TOML file on
//! top, `key=value` overrides on top of that; saved into the run folder before step 0.
use crate::{Error, Result};
pub use crate::config_eval::EvalConfig;
use engine::judge::{JudgePrompt, Scoring};
use serde::{Deserialize, Serialize};
pub use crate::dpo_trl::DpoBackend;
pub use crate::profile::{Profile, SMOLLM2_GGUF};
pub use crate::serve::Backend;
use std::path::{Path, PathBuf};
use world::World;

/// Size of the embedded model (a Llama, trained from scratch).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModelConfig {
    /// BPE vocabulary size, special tokens included.
    pub vocab_size: usize,
    /// Hidden size e.
    pub hidden_size: usize,
    /// SwiGLU inner size.
    pub intermediate_size: usize,
    pub num_layers: usize,
    pub num_heads: usize,
    /// Key/value heads (grouped-query attention when fewer than `num_heads`).
    pub num_kv_heads: usize,
    /// Longest sequence, prompt and response together.
    pub max_len: usize,
    /// M0: a model (checkpoint folder, `.gguf` file, or hub id `org/name` from the local
    /// cache) that SFT starts from, with its own tokenizer and chat template; the size fields
    /// above are then the model's own and unused, except `max_len` (the training and
    /// generation cut). Unset: a model trained from scratch with a tokenizer trained on
    /// the world.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub init: Option<String>,
}

impl Default for ModelConfig {
    fn default() -> Self {
        Self { vocab_size: 1024, hidden_size: 128, intermediate_size: 344, num_layers: 4, num_heads: 4, num_kv_heads: 4, max_len: 192, init: None }
    }
}

/// Seed data sizes (the paper: 3,200 IFT, 1,630 EFT train, 541 EFT evaluation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DataConfig {
    /// Instruction-following examples (instruction -> reference response).
    pub ift: usize,
    /// Judge examples for training (judge prompt -> justification + score).
    pub eft_train: usize,
    /// Held-out judge examples (from test prompts) for measuring judges.
    pub eft_eval: usize,
    /// Held-out test prompts for head-to-head evaluation.
    pub test_prompts: usize,
    /// Rebalance EFT so that every score 0-5 is equally common.
    pub rebalance_eft: bool,
    /// Share of EFT training examples whose responses are sampled from the SFT baseline
    /// (real model mistakes, as the paper's EFT holds real model responses), the rest from
    /// the corruption model. 0 means corruption only.
    pub eft_model_fraction: f64,
    /// EFT justifications open with the task's expected answer ("Expected: ..."), so the
    /// judge works the task out before comparing the response with it (a chain of thought;
    /// the paper's EFT justifications are free text, and its profile leaves this off).
    pub eft_expected: bool,
    /// Share of seed IFT responses that end with a sign-off ("I hope this helps."), as human
    /// seed answers carry extraneous text: the SFT model learns it, the rubric's fifth point
    /// ("no extraneous text") penalises it, and a judge can see it. 0 gives clean seed data.
    pub ift_sign_off: f64,
    /// How EFT justifications are written: `terse` (`bat yes, pear no. 2 of 3 items. ...`,
    /// for the embedded model) or `english` (whole sentences, check by check, for a
    /// pretrained model such as SmolLM2).
    #[serde(skip_serializing_if = "EftStyle::is_terse")]
    pub eft_style: EftStyle,
}

/// How EFT justifications are written (both end in `Score: N`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EftStyle {
    /// Check by check in short tokens, what a model trained from scratch learns fastest.
    #[default]
    Terse,
    /// Check by check in sentences, for a pretrained model's English.
    English,
}

impl EftStyle {
    pub fn is_terse(&self) -> bool {
        *self == EftStyle::Terse
    }
}

impl Default for DataConfig {
    fn default() -> Self {
        // The paper's seed sizes (3,200 IFT, 1,630 EFT) are the `paper` profile's. A model trained
        // from scratch memorises 3,200 examples (the SFT baseline's validation loss rose after
        // step 1,600 of 2,500); the world is free to sample, so the default draws more.
        Self { ift: 20000, eft_train: 8000, eft_eval: 541, test_prompts: 256, rebalance_eft: true, eft_model_fraction: 0.0, eft_expected: true, ift_sign_off: 0.75, eft_style: EftStyle::Terse }
    }
}

/// The judge: prompt and sampling of LLM-as-a-Judge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JudgeConfig {
    /// `paper`, `condensed`, or `{ file = "path" }`.
    pub prompt: JudgePrompt,
    /// Judgments sampled per response and averaged (the paper: 3).
    pub samples: usize,
    pub temperature: f64,
    pub top_p: f64,
    /// Longest judgment (justification and score).
    pub max_new_tokens: usize,
    /// `"sampled"` (parse `Score: N` of each sample, the paper) or `{ expected = "justified" }`
    /// / `{ expected = "direct" }` (the probability-weighted mean of the score tokens).
    pub scoring: Scoring,
}

impl Default for JudgeConfig {
    fn default() -> Self {
        // 64 tokens: the expected answer, the five criteria and the score (95% of EFT targets
        // fit in 49 tokens, the longest in 61).
        Self { prompt: JudgePrompt::Condensed, samples: 3, temperature: 0.7, top_p: 0.9, max_new_tokens: 64, scoring: Scoring::Sampled }
    }
}

/// An optimisation schedule (SFT and DPO each have one).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainConfig {
    /// Optimiser steps.
    pub steps: usize,
    /// Sequences per step.
    pub batch_size: usize,
    /// Peak learning rate.
    pub lr: f64,
    /// Linear warmup steps.
    pub warmup: usize,
    /// Final learning rate as a fraction of the peak (cosine decay).
    pub min_lr_ratio: f64,
    pub weight_decay: f64,
    /// Gradient clipping by global norm.
    pub grad_clip: f64,
    /// Validation every this many steps (and at the end).
    pub eval_every: usize,
    /// Resumable checkpoint every this many steps.
    pub ckpt_every: usize,
    /// Parts each batch is split into for data parallelism (each part on its own thread
    /// while threads last). Parts are weighted by their tokens or pairs, so any count
    /// trains the same objective; a fixed count gives the same numbers on any machine.
    pub shards: usize,
    /// Sequences (or pairs) per forward of validation and of DPO's reference log-probs
    /// (no gradients, but the whole forward is held): 0 means `batch_size`. A large model
    /// with long sequences needs fewer.
    #[serde(skip_serializing_if = "is_zero")]
    pub eval_batch_size: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl TrainConfig {
    /// Sequences (or pairs) per forward of validation and reference log-probs.
    pub fn eval_rows(&self) -> usize {
        if self.eval_batch_size == 0 { self.batch_size } else { self.eval_batch_size }
    }
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self { steps: 1000, batch_size: 32, lr: 3e-3, warmup: 50, min_lr_ratio: 0.1, weight_decay: 0.01, grad_clip: 1.0, eval_every: 200, ckpt_every: 200, shards: 2, eval_batch_size: 0 }
    }
}

/// Where new prompts come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PromptGenerator {
    /// A fixed generator, as the paper's fixed Llama 2-Chat 70B: the world's own instruction sampler.
    World,
    /// The current model M_t, 8-shot prompted.
    Model,
}

/// The DPO loss.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum DpoLoss {
    /// `-log σ(β·margin)` (Rafailov et al. 2023), the paper's choice.
    Sigmoid { beta: f64 },
    /// `(margin - 1/(2τ))²` (Azar et al. 2023).
    Ipo { tau: f64 },
    /// The sigmoid loss plus `α ·` the chosen response's per-token NLL (Pang et al. 2024,
    /// "Iterative Reasoning Preference Optimization"): keeps the chosen responses likely
    /// while the margin grows.
    SigmoidNll { beta: f64, alpha: f64 },
}

/// One self-rewarding iteration M_t -> M_{t+1}.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IterateConfig {
    /// Iterations to run after SFT (M1 -> M2 -> M3 is 2).
    pub iterations: usize,
    /// New prompts asked of the generator per iteration, before filtering.
    pub new_prompts: usize,
    pub generator: PromptGenerator,
    /// ROUGE-L similarity at or above which a new prompt is dropped (Self-Instruct: 0.7).
    pub rouge_threshold: f64,
    /// Word bounds of a kept prompt.
    pub min_words: usize,
    pub max_words: usize,
    /// Prompts containing any of these words are dropped.
    pub banned_words: Vec<String>,
    /// Candidates sampled per prompt (the paper: 4).
    pub n_candidates: usize,
    pub temperature: f64,
    pub top_p: f64,
    /// Longest candidate response.
    pub max_new_tokens: usize,
    /// Prompts per sampling batch (also the unit of resume).
    pub batch_size: usize,
    /// Offset of the loop's randomness (new prompts, candidates, judgments, DPO order) from
    /// the run's seed, which also fixes the seed data and SFT: vary it to repeat the loop on
    /// the same M1 (with `srlm fork`). 0 keeps the run's seed.
    pub seed: u64,
}

impl Default for IterateConfig {
    fn default() -> Self {
        Self {
            iterations: 2,
            new_prompts: 1000,
            generator: PromptGenerator::World,
            // Self-Instruct uses 0.7 (the paper profile keeps it). The world's instructions are
            // short and share their words, so a similarity filter keeps mostly the families
            // with long instructions: at 0.9, 70% of the kept prompts were `pick_items` (its
            // word lists make each instruction unlike the others). The world's sampler is the
            // fixed generator and keeps its own family balance; 1.0 drops exact repeats only.
            rouge_threshold: 1.0,
            min_words: 3,
            max_words: 40,
            banned_words: vec!["image".into(), "graph".into(), "picture".into(), "file".into(), "map".into(), "draw".into(), "plot".into(), "go to".into(), "video".into()],
            n_candidates: 4,
            temperature: 0.7,
            top_p: 0.9,
            max_new_tokens: 24,
            batch_size: 32,
            seed: 0,
        }
    }
}

/// DPO training.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DpoConfig {
    pub loss: DpoLoss,
    pub train: TrainConfig,
    /// Fraction of pairs held out to pick the checkpoint.
    pub valid_fraction: f64,
    /// What trains: this engine (`local`, the default) or TRL's `DPOTrainer`
    /// (`{ type = "trl", python = ".venv/bin/python" }`).
    #[serde(skip_serializing_if = "DpoBackend::is_local")]
    pub backend: DpoBackend,
}

impl Default for DpoConfig {
    fn default() -> Self {
        Self {
            // The embedded default adds the chosen responses' NLL to DPO (measured: on the
            // same M1 pairs, M2 vs M1 −21.5 with the plain sigmoid loss, −3.9 with it);
            // the `paper` profile uses the paper's plain sigmoid loss.
            loss: DpoLoss::SigmoidNll { beta: 0.1, alpha: 1.0 },
            train: TrainConfig { steps: 150, batch_size: 16, lr: 3e-4, warmup: 10, min_lr_ratio: 0.1, weight_decay: 0.0, grad_clip: 1.0, eval_every: 50, ckpt_every: 50, shards: 2, eval_batch_size: 0 },
            valid_fraction: 0.1,
            backend: DpoBackend::Local,
        }
    }
}

/// Everything a run needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RunConfig {
    /// Run name: outputs go to `<runs_dir>/<name>/`.
    pub name: String,
    /// Folder holding all runs.
    pub runs_dir: PathBuf,
    /// Seed of all randomness: same seed and config, same data, pairs and models.
    pub seed: u64,
    /// Independent jobs run side by side (SFT of M1 and the baseline, sampling chunks),
    /// each on one thread (candle's small kernels scale poorly across threads).
    /// 0: one per CPU core.
    pub workers: usize,
    /// The synthetic world: families, difficulty, splits.
    pub world: World,
    pub model: ModelConfig,
    pub data: DataConfig,
    pub judge: JudgeConfig,
    /// SFT of M1 (IFT + EFT) and of the SFT baseline (IFT only).
    pub sft: TrainConfig,
    pub iterate: IterateConfig,
    pub dpo: DpoConfig,
    /// Device (`cpu`, `cuda`) and precision (`f32`; `bf16`, `f16` on CUDA) of every model.
    pub runtime: engine::Runtime,
    /// What samples candidates and self-judgments: this engine (`local`) or an
    /// OpenAI-compatible server serving M_t (`openai`).
    pub backend: Backend,
    /// Public benchmarks `make eval` runs on each model (IFEval, Open Assistant, AlpacaEval
    /// outputs); left out at its default (none).
    #[serde(skip_serializing_if = "EvalConfig::is_default")]
    pub eval: EvalConfig,
}

impl Default for RunConfig {
    fn default() -> Self {
        Self {
            name: "default".into(),
            runs_dir: "runs".into(),
            seed: 0,
            workers: 0,
            // Difficulty 3 (5-item lists, numbers to 100) is out of reach of a model
            // trained for minutes; the paper profile keeps it.
            world: World { max_difficulty: 2, ..World::default() },
            model: ModelConfig::default(),
            data: DataConfig::default(),
            judge: JudgeConfig::default(),
            // 2,000 steps of 32: about 2 epochs of the 28,000 seed examples.
            sft: TrainConfig { steps: 2000, ..TrainConfig::default() },
            iterate: IterateConfig::default(),
            dpo: DpoConfig::default(),
            runtime: engine::Runtime::default(),
            backend: Backend::Local,
            eval: EvalConfig::default(),
        }
    }
}

impl RunConfig {
    /// Profile, then the TOML file, then `key.path=value` overrides (values in TOML syntax;
    /// bare words are strings). Unknown keys are errors that name the key.
    pub fn resolve(profile: Profile, file: Option<&Path>, overrides: &[String]) -> Result<Self> {
        let text = match file {
            Some(f) => Some(std::fs::read_to_string(f).map_err(|e| Error::io(f, e))?),
            None => None,
        };
        Self::resolve_text(profile, file.zip(text.as_deref()), overrides)
    }

    /// [`resolve`](Self::resolve) with the TOML file's text already read (`(path, text)`;
    /// the path names it in errors).
    pub fn resolve_text(profile: Profile, file: Option<(&Path, &str)>, overrides: &[String]) -> Result<Self> {
        let mut tree = toml::Value::try_from(Self::profile(profile)).map_err(|e| Error::Config(e.to_string()))?;
        if let Some((f, text)) = file {
            let v: toml::Value = text.parse::<toml::Table>().map(toml::Value::Table).map_err(|e| Error::Parse {
                path: f.into(),
                line: e.span().map_or(0, |s| text[..s.start].lines().count().max(1)),
                msg: e.message().to_string(),
            })?;
            merge(&mut tree, v);
        }
        for o in overrides {
            let (key, val) = o.split_once('=').ok_or_else(|| Error::Config(format!("override `{o}` is not key=value")))?;
            let val: toml::Value = format!("v = {val}")
                .parse::<toml::Table>()
                .ok()
                .and_then(|mut t| t.remove("v"))
                .unwrap_or_else(|| toml::Value::String(val.to_string()));
            set_path(&mut tree, key.trim(), val)?;
        }
        let text = toml::to_string(&tree).map_err(|e| Error::Config(e.to_string()))?;
        let cfg: Self = serde_path_to_error::deserialize(toml::Deserializer::new(&text)).map_err(|e| {
            let at = file.map(|(f, _)| format!(" (in {} or overrides)", f.display())).unwrap_or_default();
            Error::Config(format!("`{}`: {}{at}", e.path(), e.inner().message()))
        })?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Workers to use: `workers`, or the number of CPU cores.
    pub fn workers(&self) -> usize {
        if self.workers > 0 {
            self.workers
        } else {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        }
    }

    pub fn to_toml(&self) -> Result<String> {
        toml::to_string_pretty(self).map_err(|e| Error::Config(e.to_string()))
    }
}

fn merge(base: &mut toml::Value, top: toml::Value) {
    match (base, top) {
        (toml::Value::Table(b), toml::Value::Table(t)) => {
            for (k, v) in t {
                match b.get_mut(&k) {
                    Some(bv) if bv.is_table() && v.is_table() => merge(bv, v),
                    _ => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (b, t) => *b = t,
    }
}

/// Keys left out of a saved config at their default (so older runs' configs and stage
/// records stay as they were), which an override may still set.
/// A key under an optional table (`eval.`) may be set too; its table is made when absent,
/// and its name is checked when the config is read.
const OPTIONAL_KEYS: &[&str] = &["model.init", "runtime.decode_weights", "dpo.backend", "data.eft_style", "sft.eval_batch_size", "dpo.train.eval_batch_size"];
const OPTIONAL_TABLES: &[&str] = &["eval"];

fn set_path(tree: &mut toml::Value, key: &str, val: toml::Value) -> Result<()> {
    let mut cur = tree;
    let parts: Vec<&str> = key.split('.').collect();
    for (i, p) in parts.iter().enumerate() {
        let table = cur.as_table_mut().ok_or_else(|| Error::Config(format!("`{key}`: `{p}` is not a table")))?;
        if i + 1 == parts.len() {
            if !table.contains_key(*p) && !OPTIONAL_KEYS.contains(&key) && !OPTIONAL_TABLES.contains(&parts[0]) {
                return Err(Error::Config(format!("unknown config key `{key}`")));
            }
            table.insert(p.to_string(), val);
            return Ok(());
        }
        if i == 0 && OPTIONAL_TABLES.contains(p) && !table.contains_key(*p) {
            table.insert(p.to_string(), toml::Value::Table(Default::default()));
        }
        cur = table.get_mut(*p).ok_or_else(|| Error::Config(format!("unknown config key `{key}`")))?;
    }
    Ok(())
}
