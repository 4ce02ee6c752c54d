//! `bench dpo-trace`: our DPO (`trainer::dpo::train_dpo`, one shard) for a few steps on a
//! checkpoint and a `pairs.jsonl`, with everything `benchmarks/check_trl.py` needs to run
//! TRL's `DPOTrainer` on the same inputs: the token ids of every pair, the reference
//! log-probs, the batch of each step, the per-step metrics and the final weights.
use crate::args::{DpoTrace, TraceDtype, TraceLoss};
use anyhow::{Context, Result};
use candle_core::{DType, Device};
use engine::Checkpoint;
use serde_json::json;
use trainer::config::{DpoConfig, DpoLoss, TrainConfig};
use trainer::dpo::{pair_lengths, reference_logps, train_dpo, DpoRun, RefPairs};
use trainer::pairs::Pair;
use trainer::train::batch_indices;

/// Writes `out/trace.json` and the trained checkpoint `out/model/`.
pub fn run(a: &DpoTrace) -> Result<()> {
    let text = std::fs::read_to_string(&a.pairs).with_context(|| a.pairs.display().to_string())?;
    let pairs: Vec<Pair> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(serde_json::from_str)
        .collect::<serde_json::Result<_>>()
        .with_context(|| a.pairs.display().to_string())?;
    let dtype = match a.dtype {
        TraceDtype::F32 => DType::F32,
        TraceDtype::F64 => DType::F64,
    };
    let mut ck = Checkpoint::load(&a.model, dtype, &Device::Cpu)?;
    let tok = ck.tokenizer.clone();
    let loss = match a.loss {
        TraceLoss::Sigmoid => DpoLoss::Sigmoid { beta: a.beta },
        TraceLoss::SigmoidNll => DpoLoss::SigmoidNll { beta: a.beta, alpha: a.alpha },
        TraceLoss::Ipo => DpoLoss::Ipo { tau: a.beta },
    };
    // One evaluation, after the last step, so the kept ("best") weights are the last ones.
    let train = TrainConfig {
        steps: a.steps,
        batch_size: a.batch,
        lr: a.lr,
        warmup: a.warmup,
        min_lr_ratio: a.min_lr_ratio,
        weight_decay: a.weight_decay,
        grad_clip: a.grad_clip,
        eval_every: a.steps + 1,
        ckpt_every: a.steps,
        shards: 1,
        eval_batch_size: 0,
    };
    let cfg = DpoConfig { loss, train, valid_fraction: 0.0, backend: Default::default() };
    let reference = reference_logps(&ck, &pairs, a.max_len, a.batch)?;
    let lengths = pair_lengths(&tok, &pairs)?;
    let batches: Vec<Vec<usize>> = (0..a.steps).map(|s| batch_indices(&lengths, a.batch, a.seed, s)).collect();
    let work = a.out.join("work");
    if work.exists() {
        std::fs::remove_dir_all(&work)?; // a fresh run, not a resumed one
    }
    let set = RefPairs { pairs: &pairs, reference: &reference };
    let run = DpoRun { cfg: &cfg, train: set, valid: set, max_len: a.max_len, seed: a.seed, work: &work, threads: 1 };
    let progress = train_dpo(&mut ck, &run)?;
    ck.save(&a.out.join("model"))?;
    std::fs::remove_dir_all(&work)?;
    let ids = pairs
        .iter()
        .map(|p| {
            let ((prompt, chosen), (_, rejected)) = (tok.encode_pair(&p.prompt, &p.chosen)?, tok.encode_pair(&p.prompt, &p.rejected)?);
            Ok(json!({"prompt_ids": prompt, "chosen_ids": chosen, "rejected_ids": rejected}))
        })
        .collect::<engine::Result<Vec<_>>>()?;
    let steps: Vec<_> = progress.train.iter().map(|(_, m)| m).collect();
    let trace = json!({
        "config": {"loss": format!("{:?}", cfg.loss), "beta": a.beta, "alpha": a.alpha, "steps": a.steps, "batch": a.batch,
            "lr": a.lr, "warmup": a.warmup, "min_lr_ratio": a.min_lr_ratio, "weight_decay": a.weight_decay,
            "grad_clip": a.grad_clip, "seed": a.seed, "max_len": a.max_len, "pad_id": tok.pad_id},
        "pairs": ids,
        "reference": reference,
        "batches": batches,
        "steps": steps,
    });
    std::fs::write(a.out.join("trace.json"), serde_json::to_string(&trace)?)?;
    println!("wrote {}", a.out.display());
    Ok(())
}
