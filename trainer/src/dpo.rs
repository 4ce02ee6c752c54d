//! Stage 5, DPO (Rafailov et al., 2023): M_{t+1} trained from M_t on the pairs, with
//! M_t as the frozen reference. Reference log-probabilities are computed once before
//! training, so no second model is held in memory.
use crate::config::DpoConfig;
use crate::loss::PreferenceBatch;
use crate::pairs::Pair;
use crate::train::{train, Keep, Metrics, Progress, TrainRun};
use crate::Result;
use candle_core::{Device, Tensor};
use engine::logprob::{sequence_logprobs, SeqBatch};
use engine::model::Track;
use engine::{Checkpoint, Llama, Tokenizer};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Summed response log-probabilities of a pair's two responses.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PairLogps {
    /// Of the chosen response.
    pub chosen: f64,
    /// Of the rejected response.
    pub rejected: f64,
}

/// A pair tokenised: (prompt, chosen) and (prompt, rejected) token ids.
type Encoded = ((Vec<u32>, Vec<u32>), (Vec<u32>, Vec<u32>));

fn encode(tok: &Tokenizer, pairs: &[Pair]) -> Result<Vec<Encoded>> {
    Ok(pairs
        .iter()
        .map(|p| Ok((tok.encode_pair(&p.prompt, &p.chosen)?, tok.encode_pair(&p.prompt, &p.rejected)?)))
        .collect::<engine::Result<Vec<_>>>()?)
}

/// Token count of each pair's longer sequence (prompt + response), what the batches
/// group by.
fn lengths(enc: &[Encoded]) -> Vec<usize> {
    enc.iter().map(|(c, r)| (c.0.len() + c.1.len()).max(r.0.len() + r.1.len())).collect()
}

/// The token counts [`train_dpo`] groups `pairs` into batches by (with
/// [`crate::train::batch_indices`], step by step).
pub fn pair_lengths(tok: &Tokenizer, pairs: &[Pair]) -> Result<Vec<usize>> {
    Ok(lengths(&encode(tok, pairs)?))
}

/// Token counts `(b)` of the chosen responses.
fn chosen_tokens(rows: &[&Encoded], dev: &Device) -> candle_core::Result<Tensor> {
    Tensor::new(rows.iter().map(|r| r.0 .1.len() as f32).collect::<Vec<_>>(), dev)
}

/// Policy log-probs `(b)` of chosen and rejected, in one forward over `2b` rows.
fn policy_logps(model: &Llama, track: Track, rows: &[&Encoded], pad: u32, max_len: usize, dev: &Device) -> Result<(Tensor, Tensor)> {
    let b = rows.len();
    let seqs: Vec<(Vec<u32>, Vec<u32>)> = rows.iter().map(|r| r.0.clone()).chain(rows.iter().map(|r| r.1.clone())).collect();
    let batch = SeqBatch::new(&seqs, pad, max_len, dev)?;
    let lp = sequence_logprobs(model, &batch, track)?;
    Ok((lp.narrow(0, 0, b)?, lp.narrow(0, b, b)?))
}

/// Reference log-probs of `pairs` under `model` (no gradients kept).
pub fn reference_logps(model: &Checkpoint, pairs: &[Pair], max_len: usize, batch: usize) -> Result<Vec<PairLogps>> {
    let enc = encode(&model.tokenizer, pairs)?;
    let mut out = vec![];
    for chunk in enc.chunks(batch.max(1)) {
        let rows: Vec<&Encoded> = chunk.iter().collect();
        let (c, r) = policy_logps(&model.model, Track::Off, &rows, model.tokenizer.pad_id, max_len, model.model.device())?;
        for (c, r) in c.to_vec1::<f32>()?.into_iter().zip(r.to_vec1::<f32>()?) {
            out.push(PairLogps { chosen: c as f64, rejected: r as f64 });
        }
    }
    Ok(out)
}

/// Pairs with their reference log-probs (one per pair, in the same order).
#[derive(Debug, Clone, Copy)]
pub struct RefPairs<'a> {
    /// The preference pairs.
    pub pairs: &'a [Pair],
    /// Their summed response log-probs under the frozen reference M_t.
    pub reference: &'a [PairLogps],
}

/// One DPO run: everything [`train_dpo`] needs besides the policy.
#[derive(Debug, Clone, Copy)]
pub struct DpoRun<'a> {
    /// The loss and the optimisation.
    pub cfg: &'a DpoConfig,
    /// What to train on.
    pub train: RefPairs<'a>,
    /// What picks the checkpoint (lowest loss).
    pub valid: RefPairs<'a>,
    /// Longest sequence in tokens; longer ones are cut.
    pub max_len: usize,
    /// Seed of the batch order.
    pub seed: u64,
    /// Folder of the resumable state.
    pub work: &'a Path,
    /// Threads the shards of a batch run on.
    pub threads: usize,
}

/// Trains `policy` (a copy of M_t) by DPO; keeps the checkpoint with the lowest
/// validation loss. Resumable through `run.work`.
pub fn train_dpo(policy: &mut Checkpoint, run: &DpoRun) -> Result<Progress> {
    let DpoRun { cfg, train: train_set, valid: valid_set, max_len, seed, work, threads } = *run;
    let tok = policy.tokenizer.clone();
    let pad = tok.pad_id;
    let enc = encode(&tok, train_set.pairs)?;
    let venc = encode(&tok, valid_set.pairs)?;
    let dev = policy.model.device().clone();
    let lengths = lengths(&enc);
    let loss = cfg.loss.build();
    // The loss's inputs for the pairs `idx` of `rows`: policy log-probs in one forward,
    // reference log-probs from `reference`.
    let batch = |m: &Llama, track: Track, rows: &[&Encoded], reference: &[PairLogps], idx: &[usize]| -> Result<PreferenceBatch> {
        let (policy_chosen, policy_rejected) = policy_logps(m, track, rows, pad, max_len, &dev)?;
        let ref_chosen = Tensor::new(idx.iter().map(|&i| reference[i].chosen as f32).collect::<Vec<_>>(), &dev)?;
        let ref_rejected = Tensor::new(idx.iter().map(|&i| reference[i].rejected as f32).collect::<Vec<_>>(), &dev)?;
        Ok(PreferenceBatch { policy_chosen, policy_rejected, ref_chosen, ref_rejected, chosen_tokens: chosen_tokens(rows, &dev)? })
    };
    let bs = cfg.train.eval_rows();
    let spec = TrainRun { cfg: &cfg.train, lengths: &lengths, seed, work, label: "dpo", keep: Keep::BestValid, threads };
    train(
        policy,
        &spec,
        |m, track, idx| {
            let rows: Vec<&Encoded> = idx.iter().map(|&i| &enc[i]).collect();
            let (l, m) = loss.loss(&batch(m, track, &rows, train_set.reference, idx)?)?;
            Ok((l, m, rows.len() as f64))
        },
        |m| {
            let mut sums = Metrics::new();
            let mut n = 0usize;
            let all: Vec<usize> = (0..venc.len()).collect();
            for idx in all.chunks(bs.max(1)) {
                let rows: Vec<&Encoded> = idx.iter().map(|&i| &venc[i]).collect();
                let (l, mut mt) = loss.loss(&batch(m, Track::Off, &rows, valid_set.reference, idx)?)?;
                mt.insert("loss".into(), l.to_scalar::<f32>()? as f64);
                for (k, v) in mt {
                    *sums.entry(k).or_default() += v * idx.len() as f64;
                }
                n += idx.len();
            }
            Ok(sums.into_iter().map(|(k, v)| (k, v / n.max(1) as f64)).collect())
        },
    )
}
