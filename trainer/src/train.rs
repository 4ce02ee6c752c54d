//! The optimisation loop shared by SFT and DPO: batches by step, AdamW with warmup +
//! cosine, clipping, validation, resumable state, best-checkpoint selection.
//!
//! Reads top to bottom like nanoGPT's: evaluate and checkpoint, forward, backward,
//! clip, step, log.
use crate::config::TrainConfig;
use crate::{Error, Result};
use candle_core::Tensor;
use engine::optim::{clip_grad_norm, AdamW, AdamWParams};
use engine::schedule::warmup_cosine;
use engine::model::{Tape, Track};
use engine::{Checkpoint, Llama};
use indicatif::{ProgressBar, ProgressStyle};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use std::path::Path;

pub use records::{Metrics, Progress};

/// The batches of one epoch: a seeded permutation, cut into windows of 16
/// batches, each window sorted by length (so a batch pads little), then the
/// batches shuffled. `lengths[i]` is example i's token count.
pub fn epoch_batches(lengths: &[usize], batch: usize, seed: u64, epoch: usize) -> Vec<Vec<usize>> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed ^ (epoch as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    let mut perm: Vec<usize> = (0..lengths.len()).collect();
    perm.shuffle(&mut rng);
    let mut batches: Vec<Vec<usize>> = vec![];
    for window in perm.chunks(batch * 16) {
        let mut w = window.to_vec();
        w.sort_by_key(|&i| lengths[i]);
        batches.extend(w.chunks(batch).map(|c| c.to_vec()));
    }
    batches.shuffle(&mut rng);
    batches
}

/// Example indices of step `step` (epochs follow one another).
pub fn batch_indices(lengths: &[usize], batch: usize, seed: u64, step: usize) -> Vec<usize> {
    let per_epoch = lengths.len().div_ceil(batch.max(1)).max(1);
    epoch_batches(lengths, batch, seed, step / per_epoch).swap_remove(step % per_epoch)
}

fn save_state(ck: &Checkpoint, opt: &AdamW, progress: &Progress, dir: &Path) -> Result<()> {
    let tmp = engine::fsutil::tmp_path(dir);
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(|e| Error::io(&tmp, e))?;
    }
    ck.save(&tmp.join("model"))?;
    opt.save(&tmp.join("optim.safetensors"))?;
    let json = serde_json::to_vec(progress).map_err(|e| Error::Stage(e.to_string()))?;
    engine::fsutil::write_atomic(&tmp.join("progress.json"), &json)?;
    Ok(engine::fsutil::swap_dir(&tmp, dir)?)
}

/// What a loss function returns for one shard of a batch: its mean loss, its metrics
/// (means over the shard) and its weight, the count the mean is over (response tokens
/// for SFT, pairs for DPO).
pub type ShardLoss = (Tensor, Metrics, f64);

/// Forward and backward of one batch split into `shards` parts, run on up to `threads`
/// threads (candle single-threaded in each). Losses, gradients and metrics are combined
/// weighted by each part's weight (sum, then divide once), so the step is the same
/// objective for any shard count, and the same numbers for any thread count.
pub fn data_parallel_step(
    model: &Llama,
    idx: &[usize],
    shards: usize,
    threads: usize,
    vars: &[candle_core::Var],
    loss_fn: &(impl Fn(&Llama, Track, &[usize]) -> Result<ShardLoss> + Sync),
) -> Result<(f64, Metrics, candle_core::backprop::GradStore)> {
    let n = shards.clamp(1, idx.len().max(1));
    let parts: Vec<&[usize]> = idx.chunks(idx.len().div_ceil(n)).collect();
    let results = crate::parallel::map(threads.min(parts.len()), &parts, |p| -> Result<_> {
        // Layer by layer: each layer's activations are freed once its gradients are out.
        let tape = Tape::new();
        let (loss, m, w) = loss_fn(model, Track::Layers(&tape), p)?;
        // Each part's gradient comes out already scaled by its weight.
        let grads = tape.backward(&(&loss * w)?)?;
        Ok((loss.to_scalar::<f32>()? as f64, m, w, grads))
    });
    let mut it = results.into_iter();
    let (l0, m0, w0, mut grads) = it.next().ok_or_else(|| Error::Stage("empty batch".into()))??;
    let (mut l, mut wsum) = (l0 * w0, w0);
    let mut m: Metrics = m0.into_iter().map(|(k, v)| (k, v * w0)).collect();
    for r in it {
        let (l2, m2, w2, g2) = r?;
        l += l2 * w2;
        wsum += w2;
        for (key, v) in m2 {
            *m.entry(key).or_default() += v * w2;
        }
        for v in vars {
            if let Some(g) = g2.get(v) {
                let sum = match grads.get(v) {
                    Some(g1) => (g1 + g)?,
                    None => g.clone(),
                };
                grads.insert(v, sum);
            }
        }
    }
    if wsum <= 0.0 {
        return Err(Error::Stage("a batch with no weight (no response tokens?)".into()));
    }
    for v in vars {
        if let Some(g) = grads.remove(v) {
            grads.insert(v, (g / wsum)?);
        }
    }
    m.values_mut().for_each(|x| *x /= wsum);
    Ok((l / wsum, m, grads))
}

/// Which weights a training run ends with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// The last step's.
    Last,
    /// Those of the lowest validation loss (kept under `work/best` as they are found).
    BestValid,
}

/// One training run: everything [`train`] needs besides the model and the two closures.
#[derive(Debug, Clone, Copy)]
pub struct TrainRun<'a> {
    /// Steps, batch size, optimiser, schedule, evaluation and checkpoint intervals.
    pub cfg: &'a TrainConfig,
    /// Token count of each training example (batches group similar lengths).
    pub lengths: &'a [usize],
    /// Seed of the batch order.
    pub seed: u64,
    /// Folder of the resumable state (`state/`) and the best checkpoint (`best/`).
    pub work: &'a Path,
    /// Name in the progress bar, the log and errors.
    pub label: &'a str,
    /// Which weights to end with.
    pub keep: Keep,
    /// Threads the shards of a batch run on (the numbers do not depend on it).
    pub threads: usize,
}

/// Trains `ck` for `run.cfg.steps` steps over examples of the given token `run.lengths`.
///
/// `loss_fn(model, track, indices)` returns the batch loss and extra metrics, its forward
/// recording what `track` asks (the layer-by-layer tape of [`data_parallel_step`]); `eval_fn(model)`
/// returns validation metrics including `loss`. State is saved under `run.work` every
/// `cfg.ckpt_every` steps and a restarted call continues from it exactly. With
/// [`Keep::BestValid`], `ck` ends holding the weights of the lowest validation loss. Each
/// batch is split into `cfg.shards` parts run on up to `run.threads` threads (data
/// parallelism; the numbers do not depend on `threads`).
pub fn train(
    ck: &mut Checkpoint,
    run: &TrainRun,
    loss_fn: impl Fn(&Llama, Track, &[usize]) -> Result<ShardLoss> + Sync,
    mut eval_fn: impl FnMut(&Llama) -> Result<Metrics>,
) -> Result<Progress> {
    let TrainRun { cfg, lengths, seed, work, label, keep, threads } = *run;
    let keep_best = keep == Keep::BestValid;
    if lengths.is_empty() {
        return Err(Error::Stage(format!("{label}: no training examples")));
    }
    let state = work.join("state");
    let best_dir = work.join("best");
    engine::fsutil::finish_dir_swap(&state)?;
    let params = AdamWParams { lr: cfg.lr, weight_decay: cfg.weight_decay, ..Default::default() };
    let mut progress = Progress::default();
    if state.join("progress.json").exists() {
        *ck = Checkpoint::load(&state.join("model"), ck.model.dtype(), ck.model.device())?;
        let p = state.join("progress.json");
        let text = std::fs::read(&p).map_err(|e| Error::io(&p, e))?;
        progress = serde_json::from_slice(&text).map_err(|e| Error::Parse { path: p, line: e.line(), msg: e.to_string() })?;
    }
    let vars = ck.varmap.data().lock().map_err(|_| Error::Stage("poisoned VarMap".into()))?.clone();
    let mut opt = AdamW::new(&vars, params)?;
    if progress.step > 0 {
        opt.load(&state.join("optim.safetensors"))?;
    }
    let all_vars = opt.vars();
    let bar = ProgressBar::new(cfg.steps as u64).with_position(progress.step as u64);
    bar.set_style(
        ProgressStyle::with_template("{prefix:>12} {bar:30} {pos}/{len} [{elapsed_precise}<{eta_precise}, {per_sec}] {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_prefix(label.to_string());
    while progress.step < cfg.steps {
        let step = progress.step;
        let idx = batch_indices(lengths, cfg.batch_size, seed, step);
        let lr = warmup_cosine(step, cfg.warmup, cfg.steps, cfg.lr, cfg.min_lr_ratio);
        let (l, mut m, mut grads) = data_parallel_step(&ck.model, &idx, cfg.shards, threads, &all_vars, &loss_fn)?;
        let norm = clip_grad_norm(&all_vars, &mut grads, cfg.grad_clip)?;
        opt.step(&grads, lr)?;
        if !l.is_finite() {
            return Err(Error::Stage(format!("{label}: loss is {l} at step {step}; lower the learning rate")));
        }
        m.insert("loss".into(), l);
        m.insert("lr".into(), lr);
        m.insert("grad_norm".into(), norm);
        bar.set_message(format!("loss {l:.4}"));
        progress.train.push((step, m));
        progress.step += 1;
        bar.inc(1);
        let s = progress.step;
        if s % cfg.eval_every.max(1) == 0 || s == cfg.steps {
            let v = eval_fn(&ck.model)?;
            let vl = v.get("loss").copied().unwrap_or(f64::INFINITY);
            if keep_best && progress.best.is_none_or(|(_, b)| vl < b) {
                progress.best = Some((s, vl));
                ck.save(&best_dir)?;
            }
            tracing::info!("{label} step {s}: valid {v:?}");
            progress.valid.push((s, v));
        }
        if s % cfg.ckpt_every.max(1) == 0 || s == cfg.steps {
            save_state(ck, &opt, &progress, &state)?;
        }
    }
    bar.finish_and_clear();
    if keep_best && best_dir.exists() {
        *ck = Checkpoint::load(&best_dir, ck.model.dtype(), ck.model.device())?;
    }
    Ok(progress)
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn batches_cover_each_epoch_once_group_lengths_and_are_seeded() {
        let lengths: Vec<usize> = (0..100).map(|i| (i * 37) % 50).collect();
        let a: Vec<usize> = (0..10).flat_map(|s| batch_indices(&lengths, 10, 7, s)).collect();
        let mut sorted = a.clone();
        sorted.sort();
        assert_eq!(sorted, (0..100).collect::<Vec<_>>());
        assert_eq!(batch_indices(&lengths, 10, 7, 3), batch_indices(&lengths, 10, 7, 3));
        assert_ne!(a, (0..10).flat_map(|s| batch_indices(&lengths, 10, 8, s)).collect::<Vec<_>>());
        // the next epoch is another order
        assert_ne!(batch_indices(&lengths, 10, 7, 0), batch_indices(&lengths, 10, 7, 10));
        // length-grouped: a batch spans far less than the whole range of lengths
        let spread: usize = (0..10).map(|s| {
            let b = batch_indices(&lengths, 10, 7, s);
            b.iter().map(|&i| lengths[i]).max().unwrap() - b.iter().map(|&i| lengths[i]).min().unwrap()
        }).sum();
        assert!(spread < 10 * 15, "spread {spread}");
    }
}
