//! `bench dpo`: the first DPO step's time and the process's peak resident memory growth
//! over the first two (the second runs with the optimiser's state already allocated).
use crate::args::Dpo;
use crate::common::{checkpoint, ids};
use anyhow::Result;
use candle_core::{DType, Device, Tensor};
use engine::logprob::SeqBatch;
use engine::model::{Tape, Track};
use engine::optim::{AdamW, AdamWParams};
use serde_json::{json, Value};
use std::time::Instant;

/// A field of /proc/self/status in KiB (`VmRSS` now, `VmHWM` the peak so far); 0 where
/// there is no /proc.
pub fn rss_kib(field: &str) -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Policy forward on `pairs` chosen and `pairs` rejected rows of `seq` tokens (a 16-token
/// prompt, the rest response), sigmoid loss (β = 0.1) against fixed reference log-probs,
/// backward (layer by layer, as the trainer does it), AdamW.
pub fn run(a: &Dpo) -> Result<Value> {
    let Dpo { model: ref m, pairs, seq } = *a;
    let ck = checkpoint(m)?;
    let dev = Device::Cpu;
    let v = ids(2 * pairs, seq + 1, m.vocab);
    // rows 0..pairs chosen, pairs..2·pairs rejected; a 16-token prompt, the rest response
    let rows: Vec<(Vec<u32>, Vec<u32>)> = v.chunks(seq + 1).map(|r| (r[..16].to_vec(), r[16..].to_vec())).collect();
    let b = SeqBatch::new(&rows, 0, seq, &dev)?;
    // Growth from here: optimiser state, activations, gradients (PyTorch's side
    // measures the same span, its AdamW state created lazily inside the step).
    let before = rss_kib("VmRSS");
    let vars = ck.varmap.data().lock().unwrap().clone();
    let mut opt = AdamW::new(&vars, AdamWParams { lr: 1e-6, ..Default::default() })?;
    let reference = Tensor::zeros(2 * pairs, DType::F32, &dev)?; // precomputed, as in the trainer
    let mut step = || -> Result<()> {
        let tape = Tape::new();
        let lp = (engine::logprob::sequence_logprobs(&ck.model, &b, Track::Layers(&tape))? - &reference)?;
        let margin = (lp.narrow(0, 0, pairs)? - lp.narrow(0, pairs, pairs)?)?;
        // -log σ(β·margin) = softplus(-β·margin)
        let z = (margin * -0.1)?;
        let loss = (z.exp()? + 1.0)?.log()?.mean_all()?;
        let grads = tape.backward(&loss)?;
        drop(loss);
        opt.step(&grads, 1e-6)?;
        Ok(())
    };
    let t0 = Instant::now();
    step()?;
    let secs = t0.elapsed().as_secs_f64();
    step()?;
    let peak = rss_kib("VmHWM");
    Ok(json!({"dpo_step_s": secs, "peak_growth_mib": (peak.saturating_sub(before)) as f64 / 1024.0,
        "rss_before_mib": before as f64 / 1024.0}))
}
