//! Stage 5, DPO (Rafailov et al., 2023): M_{t+1} trained from M_t on the pairs, with
//! M_t as the frozen reference. Reference log-probabilities are computed once before
//! training, so no second model is held in memory.
use crate::config::{DpoConfig, DpoLoss};
use crate::pairs::Pair;
use crate::train::{train, Metrics, Progress};
use crate::Result;
use candle_core::{Device, Tensor};
use engine::logprob::{sequence_logprobs, SeqBatch};
use engine::{Checkpoint, Llama, Tokenizer};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Summed response log-probabilities of a pair's two responses.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PairLogps {
    pub chosen: f64,
    pub rejected: f64,
}

/// `log σ(x) = −softplus(−x)`, smooth everywhere: `softplus(y) = log(1 + e^y)` for
/// `y ≤ 20` and `y` beyond (where they agree to 2e-9). A kinked form such as
/// `relu(y) + log(1 + e^{−|y|})` has the wrong subgradient at 0, which is exactly
/// where every pair starts (policy = reference).
fn log_sigmoid(x: &Tensor) -> candle_core::Result<Tensor> {
    let y = x.neg()?;
    let small = (y.clamp(-80.0, 20.0)?.exp()? + 1.0)?.log()?;
    let softplus = y.gt(20.0)?.where_cond(&y, &small)?;
    softplus.neg()
}

/// The DPO loss of a batch from policy and reference log-probs, all `(b)`, and the
/// chosen responses' token counts `(b)` (for the NLL term); returns the scalar loss and
/// TRL's metrics (`rewards/chosen`, `rewards/rejected`, `rewards/accuracies`,
/// `rewards/margins`, `logps/chosen`, `logps/rejected`, and `nll/chosen` per token).
pub fn dpo_loss(pc: &Tensor, pr: &Tensor, rc: &Tensor, rr: &Tensor, chosen_tokens: &Tensor, loss: &DpoLoss) -> candle_core::Result<(Tensor, Metrics)> {
    // h = log π(y_w)/π_ref(y_w) - log π(y_l)/π_ref(y_l)   (the paper's Eq. 7 argument)
    let chosen = (pc - rc)?;
    let rejected = (pr - rr)?;
    let h = (&chosen - &rejected)?;
    // Per-token negative log-likelihood of the chosen responses, (b).
    let nll = (pc.neg()? / chosen_tokens.clamp(1.0, f64::MAX)?)?;
    let (value, beta) = match loss {
        DpoLoss::Sigmoid { beta } => (log_sigmoid(&(&h * *beta)?)?.neg()?.mean_all()?, *beta),
        DpoLoss::Ipo { tau } => ((&h - 1.0 / (2.0 * tau))?.sqr()?.mean_all()?, *tau),
        DpoLoss::SigmoidNll { beta, alpha } => ((log_sigmoid(&(&h * *beta)?)?.neg()?.mean_all()? + (nll.mean_all()? * *alpha)?)?, *beta),
    };
    let rc_ = (&chosen * beta)?.detach().to_vec1::<f32>()?;
    let rr_ = (&rejected * beta)?.detach().to_vec1::<f32>()?;
    let n = rc_.len().max(1) as f64;
    let mean = |v: &[f32]| v.iter().map(|x| *x as f64).sum::<f64>() / n;
    let mut m = Metrics::new();
    m.insert("rewards/chosen".into(), mean(&rc_));
    m.insert("rewards/rejected".into(), mean(&rr_));
    m.insert("rewards/accuracies".into(), rc_.iter().zip(&rr_).filter(|(a, b)| a > b).count() as f64 / n);
    m.insert("rewards/margins".into(), mean(&rc_) - mean(&rr_));
    m.insert("logps/chosen".into(), mean(&pc.detach().to_vec1::<f32>()?));
    m.insert("logps/rejected".into(), mean(&pr.detach().to_vec1::<f32>()?));
    m.insert("nll/chosen".into(), mean(&nll.detach().to_vec1::<f32>()?));
    Ok((value, m))
}

fn encode(tok: &Tokenizer, pairs: &[Pair]) -> Result<Vec<((Vec<u32>, Vec<u32>), (Vec<u32>, Vec<u32>))>> {
    Ok(pairs
        .iter()
        .map(|p| Ok((tok.encode_pair(&p.prompt, &p.chosen)?, tok.encode_pair(&p.prompt, &p.rejected)?)))
        .collect::<engine::Result<Vec<_>>>()?)
}

type Encoded = ((Vec<u32>, Vec<u32>), (Vec<u32>, Vec<u32>));

/// Token counts `(b)` of the chosen responses.
fn chosen_tokens(rows: &[&Encoded], dev: &Device) -> candle_core::Result<Tensor> {
    Tensor::new(rows.iter().map(|r| r.0 .1.len() as f32).collect::<Vec<_>>(), dev)
}

/// Policy log-probs `(b)` of chosen and rejected, in one forward over `2b` rows.
fn policy_logps(model: &Llama, rows: &[&Encoded], pad: u32, max_len: usize, dev: &Device) -> Result<(Tensor, Tensor)> {
    let b = rows.len();
    let seqs: Vec<(Vec<u32>, Vec<u32>)> = rows.iter().map(|r| r.0.clone()).chain(rows.iter().map(|r| r.1.clone())).collect();
    let batch = SeqBatch::new(&seqs, pad, max_len, dev)?;
    let lp = sequence_logprobs(model, &batch)?;
    Ok((lp.narrow(0, 0, b)?, lp.narrow(0, b, b)?))
}

/// Reference log-probs of `pairs` under `model` (no gradients kept).
pub fn reference_logps(model: &Checkpoint, pairs: &[Pair], max_len: usize, batch: usize) -> Result<Vec<PairLogps>> {
    let enc = encode(&model.tokenizer, pairs)?;
    let mut out = vec![];
    for chunk in enc.chunks(batch.max(1)) {
        let rows: Vec<&Encoded> = chunk.iter().collect();
        let (c, r) = policy_logps(&model.model, &rows, model.tokenizer.pad_id, max_len, model.model.device())?;
        for (c, r) in c.to_vec1::<f32>()?.into_iter().zip(r.to_vec1::<f32>()?) {
            out.push(PairLogps { chosen: c as f64, rejected: r as f64 });
        }
    }
    Ok(out)
}

/// Trains `policy` (a copy of M_t) by DPO; keeps the checkpoint with the lowest
/// validation loss. Resumable through `work`.
#[allow(clippy::too_many_arguments)]
pub fn train_dpo(
    policy: &mut Checkpoint,
    cfg: &DpoConfig,
    train_pairs: &[Pair],
    train_ref: &[PairLogps],
    valid_pairs: &[Pair],
    valid_ref: &[PairLogps],
    max_len: usize,
    seed: u64,
    work: &Path,
    threads: usize,
) -> Result<Progress> {
    let tok = policy.tokenizer.clone();
    let pad = tok.pad_id;
    let enc = encode(&tok, train_pairs)?;
    let venc = encode(&tok, valid_pairs)?;
    let dev = policy.model.device().clone();
    let lengths: Vec<usize> = enc.iter().map(|(c, r)| (c.0.len() + c.1.len()).max(r.0.len() + r.1.len())).collect();
    let refs = |xs: &[PairLogps], idx: &[usize]| -> candle_core::Result<(Tensor, Tensor)> {
        let c: Vec<f32> = idx.iter().map(|&i| xs[i].chosen as f32).collect();
        let r: Vec<f32> = idx.iter().map(|&i| xs[i].rejected as f32).collect();
        Ok((Tensor::new(c, &dev)?, Tensor::new(r, &dev)?))
    };
    let bs = cfg.train.batch_size;
    train(
        policy,
        &cfg.train,
        &lengths,
        seed,
        work,
        "dpo",
        true,
        threads,
        |m, idx| {
            let rows: Vec<&Encoded> = idx.iter().map(|&i| &enc[i]).collect();
            let (pc, pr) = policy_logps(m, &rows, pad, max_len, &dev)?;
            let (rc, rr) = refs(train_ref, idx)?;
            let (l, m) = dpo_loss(&pc, &pr, &rc, &rr, &chosen_tokens(&rows, &dev)?, &cfg.loss)?;
            Ok((l, m, rows.len() as f64))
        },
        |m| {
            let mut sums = Metrics::new();
            let mut n = 0usize;
            let all: Vec<usize> = (0..venc.len()).collect();
            for idx in all.chunks(bs.max(1)) {
                let rows: Vec<&Encoded> = idx.iter().map(|&i| &venc[i]).collect();
                let (pc, pr) = policy_logps(m, &rows, pad, max_len, &dev)?;
                let (rc, rr) = refs(valid_ref, idx)?;
                let (l, mut mt) = dpo_loss(&pc, &pr, &rc, &rr, &chosen_tokens(&rows, &dev)?, &cfg.loss)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    /// By hand: chosen moves +1 nat over the reference, rejected -1, so h = 2.
    /// Sigmoid, β = 0.1: loss = log(1 + e^{-0.2}) = 0.598138869; rewards ±0.1.
    /// IPO, τ = 0.1: (2 - 1/(2·0.1))² = 9.
    /// Sigmoid + NLL, α = 1, chosen of 2 tokens: 0.598138869 + 1/2 = 1.098138869.
    #[test]
    fn dpo_loss_by_hand() -> candle_core::Result<()> {
        let d = Device::Cpu;
        let t = |x: f32| Tensor::new(&[x], &d).unwrap();
        let n = t(2.0);
        let (l, m) = dpo_loss(&t(-1.0), &t(-3.0), &t(-2.0), &t(-2.0), &n, &DpoLoss::Sigmoid { beta: 0.1 })?;
        assert!((l.to_scalar::<f32>()? - 0.598_138_87).abs() < 1e-6);
        assert!((m["rewards/chosen"] - 0.1).abs() < 1e-6 && (m["rewards/rejected"] + 0.1).abs() < 1e-6);
        assert!((m["rewards/margins"] - 0.2).abs() < 1e-6);
        assert_eq!(m["rewards/accuracies"], 1.0);
        assert_eq!(m["logps/chosen"], -1.0);
        assert_eq!(m["nll/chosen"], 0.5);
        let (l, _) = dpo_loss(&t(-1.0), &t(-3.0), &t(-2.0), &t(-2.0), &n, &DpoLoss::Ipo { tau: 0.1 })?;
        assert!((l.to_scalar::<f32>()? - 9.0).abs() < 1e-4);
        let (l, _) = dpo_loss(&t(-1.0), &t(-3.0), &t(-2.0), &t(-2.0), &n, &DpoLoss::SigmoidNll { beta: 0.1, alpha: 1.0 })?;
        assert!((l.to_scalar::<f32>()? - 1.098_138_87).abs() < 1e-6);
        // Large margins stay finite: log σ(-100·0.1·...) without overflow.
        let (l, _) = dpo_loss(&t(-500.0), &t(0.0), &t(0.0), &t(0.0), &n, &DpoLoss::Sigmoid { beta: 1.0 })?;
        assert!((l.to_scalar::<f32>()? - 500.0).abs() < 1e-3);
        Ok(())
    }

    #[test]
    fn gradient_of_sigmoid_loss_by_hand() -> candle_core::Result<()> {
        // d/dpc of -log σ(β(pc - pr)) at pc = pr: -β·σ(0)·... = -β/2
        let pc = candle_core::Var::new(&[0.0f32], &Device::Cpu)?;
        let z = Tensor::new(&[0.0f32], &Device::Cpu)?;
        let one = Tensor::new(&[1.0f32], &Device::Cpu)?;
        let (l, _) = dpo_loss(pc.as_tensor(), &z, &z, &z, &one, &DpoLoss::Sigmoid { beta: 0.5 })?;
        let g = l.backward()?.get(&pc).unwrap().to_vec1::<f32>()?;
        assert!((g[0] + 0.25).abs() < 1e-6, "{g:?}");
        Ok(())
    }
}
