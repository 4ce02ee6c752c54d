//! `dpo.backend = { type = "trl" }`: M_{t+1} trained by TRL's `DPOTrainer` in the project's
//! Python environment instead of this engine, for models and GPU counts this engine does
//! not train. The loop writes a job (the pairs as token ids, cut as [`SeqBatch`] cuts them;
//! the batch of each step; the learning rate of each step; the loss and the optimiser),
//! runs `trl_dpo.py` (ours, embedded here and written beside the job) on it, and reads the
//! checkpoint of the lowest validation loss back as M_{t+1}. Resumable: the script resumes
//! from its last Hugging Face checkpoint.
//!
//! [`SeqBatch`]: engine::logprob::SeqBatch
use crate::config::{DpoConfig, DpoLoss};
use crate::pairs::Pair;
use crate::train::{batch_indices, Progress};
use crate::{Error, Result};
use engine::logprob::fit;
use engine::schedule::warmup_cosine;
use engine::Tokenizer;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The script, written into the job's folder at each run (so the run folder says what ran).
pub const SCRIPT: &str = include_str!("../python/trl_dpo.py");

/// What trains M_{t+1} by DPO.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case", tag = "type", deny_unknown_fields)]
pub enum DpoBackend {
    /// This engine (`trainer::dpo::train_dpo`).
    #[default]
    Local,
    /// TRL's `DPOTrainer` (`trl_dpo.py`), with the loop's pairs, batches, learning rates,
    /// loss and optimiser settings. Where TRL defines a loss differently from this engine it
    /// keeps its own definition: its IPO divides the log-ratios by the response lengths, its
    /// `sft` term (`sigmoid_nll`) averages the NLL over the batch's tokens, and its AdamW
    /// exempts biases and norm weights from weight decay.
    Trl {
        /// Python with `trl` installed (`make check-trl` sets up `.venv`).
        #[serde(default = "default_python")]
        python: PathBuf,
        /// A launcher run instead of `python` (the script and the job are appended), e.g.
        /// `["accelerate", "launch", "--num_processes", "8"]` for several GPUs.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        launcher: Vec<String>,
        /// More `DPOConfig` arguments, e.g. `{ bf16 = true, gradient_checkpointing = true,
        /// deepspeed = "ds_zero3.json" }`.
        #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
        args: serde_json::Map<String, serde_json::Value>,
    },
}

fn default_python() -> PathBuf {
    ".venv/bin/python".into()
}

impl DpoBackend {
    pub fn is_local(&self) -> bool {
        matches!(self, DpoBackend::Local)
    }

    /// The program and its leading arguments (the script and the job follow).
    fn command(&self) -> Option<(PathBuf, Vec<String>)> {
        match self {
            DpoBackend::Local => None,
            DpoBackend::Trl { python, launcher, .. } => Some(match launcher.split_first() {
                Some((prog, rest)) => (prog.into(), rest.to_vec()),
                None => (python.clone(), vec![]),
            }),
        }
    }

    /// Checks, before any work, that the program exists (a launcher is looked up on `PATH`
    /// when it runs) and that `args` do not set what the loop sets.
    pub fn validate(&self) -> std::result::Result<(), String> {
        let DpoBackend::Trl { python, launcher, args } = self else { return Ok(()) };
        if launcher.is_empty() && !python.exists() {
            return Err(format!(
                "`dpo.backend.python` = {:?}: no such file (run `make check-trl` to set up .venv with trl, or point it at a Python that has trl)",
                python.display().to_string()
            ));
        }
        if let Some(k) = args.keys().find(|k| SET_BY_THE_LOOP.contains(&k.as_str())) {
            return Err(format!("`dpo.backend.args.{k}`: the loop sets it from `dpo` (see the config's `dpo.loss` and `dpo.train`)"));
        }
        Ok(())
    }
}

/// `DPOConfig` arguments the job sets from the loop's config.
const SET_BY_THE_LOOP: &[&str] = &[
    "beta",
    "loss_type",
    "loss_weights",
    "learning_rate",
    "lr_scheduler_type",
    "weight_decay",
    "max_grad_norm",
    "max_steps",
    "per_device_train_batch_size",
    "output_dir",
    "seed",
];

/// One pair as token ids, cut to the model's length as our DPO cuts it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdPair {
    pub prompt_ids: Vec<u32>,
    pub chosen_ids: Vec<u32>,
    pub rejected_ids: Vec<u32>,
}

/// Everything `trl_dpo.py` reads (`job.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrlJob {
    /// M_t's checkpoint folder (policy and reference).
    pub model: PathBuf,
    /// Where the script keeps its state and writes `best/` and `progress.json`.
    pub work: PathBuf,
    pub pad_id: u32,
    pub train: Vec<IdPair>,
    pub valid: Vec<IdPair>,
    /// Indices into `train` of each step's batch (the local backend's order).
    pub batches: Vec<Vec<usize>>,
    /// Learning rate of each step (warmup and cosine decay, as the local backend's).
    pub lrs: Vec<f64>,
    /// TRL's `loss_type` list and `loss_weights`, and β.
    pub loss_type: Vec<String>,
    pub loss_weights: Option<Vec<f64>>,
    pub beta: f64,
    pub weight_decay: f64,
    pub max_grad_norm: f64,
    pub batch_size: usize,
    /// Validation (and best-checkpoint selection) every this many steps and after the last.
    pub eval_every: usize,
    /// Resumable checkpoint every this many steps.
    pub ckpt_every: usize,
    pub seed: u64,
    /// CPU threads for torch.
    pub threads: usize,
    /// Further `DPOConfig` arguments.
    pub args: serde_json::Map<String, serde_json::Value>,
}

/// TRL's `loss_type`, `loss_weights` and β for our loss.
pub fn trl_loss(loss: &DpoLoss) -> (Vec<String>, Option<Vec<f64>>, f64) {
    match *loss {
        DpoLoss::Sigmoid { beta } => (vec!["sigmoid".into()], None, beta),
        DpoLoss::Ipo { tau } => (vec!["ipo".into()], None, tau),
        DpoLoss::SigmoidNll { beta, alpha } => (vec!["sigmoid".into(), "sft".into()], Some(vec![1.0, alpha]), beta),
    }
}

fn ids(tok: &Tokenizer, pairs: &[Pair], max_len: usize) -> Result<Vec<IdPair>> {
    pairs
        .iter()
        .map(|p| {
            let (prompt, chosen) = tok.encode_pair(&p.prompt, &p.chosen)?;
            let (prompt_r, rejected) = tok.encode_pair(&p.prompt, &p.rejected)?;
            // TRL concatenates one prompt with both responses: cut the prompt by the
            // longer sequence, so neither sequence is longer than ours.
            let (pc, c) = fit(&prompt, &chosen, max_len);
            let (pr, r) = fit(&prompt_r, &rejected, max_len);
            let prompt_ids = if pc.len() <= pr.len() { pc } else { pr };
            let keep = |resp: Vec<u32>| resp[..resp.len().min((max_len + 1).saturating_sub(prompt_ids.len()))].to_vec();
            Ok(IdPair { chosen_ids: keep(c), rejected_ids: keep(r), prompt_ids })
        })
        .collect()
}

/// The job for DPO on `train`/`valid` (pure: same inputs, same job). Batches and learning
/// rates are the local backend's (`crate::train::batch_indices`, `warmup_cosine`).
pub fn job(cfg: &DpoConfig, tok: &Tokenizer, train: &[Pair], valid: &[Pair], max_len: usize, seed: u64, model: &Path, work: &Path, threads: usize) -> Result<TrlJob> {
    let DpoBackend::Trl { args, .. } = &cfg.backend else {
        return Err(Error::Config("dpo.backend: not `trl`".into()));
    };
    let train_ids = ids(tok, train, max_len)?;
    let lengths: Vec<usize> = train_ids.iter().map(|p| p.prompt_ids.len() + p.chosen_ids.len().max(p.rejected_ids.len())).collect();
    let t = &cfg.train;
    let (loss_type, loss_weights, beta) = trl_loss(&cfg.loss);
    Ok(TrlJob {
        model: model.to_path_buf(),
        work: work.to_path_buf(),
        pad_id: tok.pad_id,
        valid: ids(tok, valid, max_len)?,
        batches: (0..t.steps).map(|s| batch_indices(&lengths, t.batch_size, seed, s)).collect(),
        lrs: (0..t.steps).map(|s| warmup_cosine(s, t.warmup, t.steps, t.lr, t.min_lr_ratio)).collect(),
        train: train_ids,
        loss_type,
        loss_weights,
        beta,
        weight_decay: t.weight_decay,
        max_grad_norm: t.grad_clip,
        batch_size: t.batch_size,
        eval_every: t.eval_every.max(1),
        ckpt_every: t.ckpt_every.max(1),
        seed,
        threads: threads.max(1),
        args: args.clone(),
    })
}

/// Runs `job` with `backend` (the script's output goes to this process's stderr) and returns
/// the folder of the best checkpoint (a Hugging Face folder with M_t's tokenizer) and the
/// training progress in the local backend's format.
pub fn run(backend: &DpoBackend, job: &TrlJob) -> Result<(PathBuf, Progress)> {
    let (prog, lead) = backend.command().ok_or_else(|| Error::Config("dpo.backend: not `trl`".into()))?;
    std::fs::create_dir_all(&job.work).map_err(|e| Error::io(&job.work, e))?;
    let script = job.work.join("trl_dpo.py");
    engine::fsutil::write_atomic(&script, SCRIPT.as_bytes())?;
    let job_path = job.work.join("job.json");
    let text = serde_json::to_vec(job).map_err(|e| Error::Stage(format!("{}: {e}", job_path.display())))?;
    engine::fsutil::write_atomic(&job_path, &text)?;
    tracing::info!("DPO by TRL: {} {} {}", prog.display(), script.display(), job_path.display());
    let mut cmd = std::process::Command::new(&prog);
    cmd.args(&lead).arg(&script).arg(&job_path).env("TOKENIZERS_PARALLELISM", "false");
    // A killed run takes its trainer with it (the rerun resumes from its checkpoint).
    engine::backend::die_with_parent(&mut cmd);
    let status = cmd
        .status()
        .map_err(|e| Error::Stage(format!("dpo.backend (trl): cannot run {}: {e}", prog.display())))?;
    if !status.success() {
        return Err(Error::Stage(format!(
            "dpo.backend (trl): {} {} exited with {status}; its output is above, and a rerun resumes from its last checkpoint in {}",
            prog.display(),
            script.display(),
            job.work.display()
        )));
    }
    let progress: Progress = records::read_json(&job.work.join("progress.json"))?;
    let best = job.work.join("best");
    if !best.join("config.json").exists() || progress.best.is_none() {
        return Err(Error::Stage(format!("dpo.backend (trl): finished without a best checkpoint in {}", best.display())));
    }
    Ok((best, progress))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::TrainConfig;

    fn pair(i: usize) -> Pair {
        Pair {
            prompt_id: i,
            prompt: format!("name {} things", i % 3 + 1),
            chosen: "red, blue".repeat(i % 4 + 1),
            rejected: "no".into(),
            chosen_score: 5.0,
            rejected_score: 1.0,
        }
    }

    fn tok() -> Tokenizer {
        let texts: Vec<String> = (0..8).map(|i| format!("{} {}", pair(i).prompt, pair(i).chosen)).collect();
        Tokenizer::train(texts.iter(), 300).unwrap()
    }

    #[test]
    fn the_job_has_the_local_backends_batches_learning_rates_and_loss() {
        let tok = tok();
        let pairs: Vec<Pair> = (0..10).map(pair).collect();
        let train = TrainConfig { steps: 7, batch_size: 3, lr: 1e-3, warmup: 2, min_lr_ratio: 0.1, ..TrainConfig::default() };
        let cfg = DpoConfig { loss: DpoLoss::SigmoidNll { beta: 0.2, alpha: 0.5 }, train, valid_fraction: 0.1, backend: DpoBackend::Trl { python: "p".into(), launcher: vec![], args: Default::default() } };
        let j = job(&cfg, &tok, &pairs[..8], &pairs[8..], 64, 11, Path::new("m"), Path::new("w"), 2).unwrap();
        let lengths = crate::dpo::pair_lengths(&tok, &pairs[..8]).unwrap();
        assert_eq!(j.batches.len(), 7);
        for (s, b) in j.batches.iter().enumerate() {
            assert_eq!(b, &batch_indices(&lengths, 3, 11, s), "step {s}");
        }
        assert_eq!(j.lrs[0], warmup_cosine(0, 2, 7, 1e-3, 0.1));
        assert!(j.lrs[1] > j.lrs[0] && j.lrs[6] < j.lrs[2], "warmup then decay: {:?}", j.lrs);
        assert_eq!((j.loss_type.clone(), j.loss_weights.clone(), j.beta), (vec!["sigmoid".to_string(), "sft".into()], Some(vec![1.0, 0.5]), 0.2));
        assert_eq!((j.train.len(), j.valid.len()), (8, 2));
        let (p, c) = tok.encode_pair(&pairs[0].prompt, &pairs[0].chosen).unwrap();
        assert_eq!((j.train[0].prompt_ids.clone(), j.train[0].chosen_ids.clone()), (p, c), "uncut when it fits");
    }

    #[test]
    fn long_pairs_are_cut_as_our_dpo_cuts_them() {
        let tok = tok();
        let p = Pair { chosen: "red, blue, ".repeat(30), ..pair(1) };
        let (prompt, chosen) = tok.encode_pair(&p.prompt, &p.chosen).unwrap();
        let max_len = prompt.len() + chosen.len() - 3;
        let got = &ids(&tok, std::slice::from_ref(&p), max_len).unwrap()[0];
        assert!(got.prompt_ids.len() + got.chosen_ids.len() <= max_len + 1);
        assert_eq!(got.chosen_ids, chosen, "the response is kept whole, the prompt loses its start");
        assert_eq!(got.prompt_ids[..], prompt[prompt.len() - got.prompt_ids.len()..]);
    }

    #[test]
    fn bad_backends_are_refused_naming_the_key() {
        let b = DpoBackend::Trl { python: "/no/such/python".into(), launcher: vec![], args: Default::default() };
        assert!(b.validate().unwrap_err().contains("dpo.backend.python"));
        let mut args = serde_json::Map::new();
        args.insert("beta".into(), 0.5.into());
        let b = DpoBackend::Trl { python: "/no".into(), launcher: vec!["accelerate".into()], args };
        assert!(b.validate().unwrap_err().contains("dpo.backend.args.beta"));
        assert!(DpoBackend::Local.validate().is_ok());
    }
}
