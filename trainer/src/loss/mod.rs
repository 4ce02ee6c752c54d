//! Preference losses for DPO, one file each, behind [`PreferenceLoss`].
//!
//! Every loss is a function of the same per-pair log-ratios (all `(b)`):
//! `chosen = log π(y_w|x) − log π_ref(y_w|x)`, `rejected = log π(y_l|x) − log π_ref(y_l|x)`
//! and `h = chosen − rejected`, the argument of the paper's Eq. 7 (Rafailov et al., 2023).
//!
//! Metrics keep TRL's names: `rewards/chosen`, `rewards/rejected` (batch means of
//! `scale · chosen`, `scale · rejected`), `rewards/margins` (their difference),
//! `rewards/accuracies` (share of pairs with the chosen reward above the rejected),
//! `logps/chosen`, `logps/rejected` (policy log-probs) and `nll/chosen` (the chosen
//! responses' per-token negative log-likelihood). Each loss sets its own reward scale:
//! β for the sigmoid losses (DPO's implicit reward `β · log π/π_ref`), 1 for IPO.
//!
//! The config's [`DpoLoss`] names a loss and its parameters; [`DpoLoss::build`] makes it.
pub mod ipo;
pub mod log_sigmoid;
pub mod sigmoid;
pub mod sigmoid_nll;

pub use ipo::Ipo;
pub use log_sigmoid::log_sigmoid;
pub use sigmoid::Sigmoid;
pub use sigmoid_nll::SigmoidNll;

use crate::config::DpoLoss;
use crate::train::Metrics;
use candle_core::{Result, Tensor};

/// A batch of `b` pairs as a preference loss sees it; every tensor is `(b)`, f32.
#[derive(Debug, Clone)]
pub struct PreferenceBatch {
    /// Summed response log-probs of the chosen responses under the policy.
    pub policy_chosen: Tensor,
    /// The same for the rejected responses.
    pub policy_rejected: Tensor,
    /// Summed response log-probs of the chosen responses under the frozen reference.
    pub ref_chosen: Tensor,
    /// The same for the rejected responses.
    pub ref_rejected: Tensor,
    /// Token counts of the chosen responses (for the per-token NLL).
    pub chosen_tokens: Tensor,
}

/// The per-pair quantities every loss is made of, all `(b)`.
#[derive(Debug, Clone)]
pub struct LogRatios<'a> {
    /// The batch they come from.
    pub batch: &'a PreferenceBatch,
    /// `log π(y_w) − log π_ref(y_w)`.
    pub chosen: Tensor,
    /// `log π(y_l) − log π_ref(y_l)`.
    pub rejected: Tensor,
    /// `h = chosen − rejected`.
    pub h: Tensor,
    /// Per-token negative log-likelihood of the chosen responses under the policy.
    pub nll: Tensor,
}

impl<'a> LogRatios<'a> {
    /// The log-ratios of `batch`.
    pub fn new(batch: &'a PreferenceBatch) -> Result<Self> {
        let chosen = (&batch.policy_chosen - &batch.ref_chosen)?;
        let rejected = (&batch.policy_rejected - &batch.ref_rejected)?;
        let h = (&chosen - &rejected)?;
        let nll = (batch.policy_chosen.neg()? / batch.chosen_tokens.clamp(1.0, f64::MAX)?)?;
        Ok(Self { batch, chosen, rejected, h, nll })
    }

    /// TRL's metrics (see the module doc), rewards being `scale ·` the log-ratios.
    pub fn metrics(&self, scale: f64) -> Result<Metrics> {
        let rc = (&self.chosen * scale)?.detach().to_vec1::<f32>()?;
        let rr = (&self.rejected * scale)?.detach().to_vec1::<f32>()?;
        let n = rc.len().max(1) as f64;
        let mean = |v: &[f32]| v.iter().map(|x| *x as f64).sum::<f64>() / n;
        let mut m = Metrics::new();
        m.insert("rewards/chosen".into(), mean(&rc));
        m.insert("rewards/rejected".into(), mean(&rr));
        m.insert("rewards/accuracies".into(), rc.iter().zip(&rr).filter(|(a, b)| a > b).count() as f64 / n);
        m.insert("rewards/margins".into(), mean(&rc) - mean(&rr));
        m.insert("logps/chosen".into(), mean(&self.batch.policy_chosen.detach().to_vec1::<f32>()?));
        m.insert("logps/rejected".into(), mean(&self.batch.policy_rejected.detach().to_vec1::<f32>()?));
        m.insert("nll/chosen".into(), mean(&self.nll.detach().to_vec1::<f32>()?));
        Ok(m)
    }
}

/// A preference loss: a scalar from the log-ratios, and the metrics to log with it.
pub trait PreferenceLoss: Sync {
    /// The batch's mean loss `()`.
    fn value(&self, r: &LogRatios) -> Result<Tensor>;

    /// The factor that turns a log-ratio into this loss's reward in the metrics.
    fn reward_scale(&self) -> f64;

    /// The loss `()` of `batch` and its metrics.
    fn loss(&self, batch: &PreferenceBatch) -> Result<(Tensor, Metrics)> {
        let r = LogRatios::new(batch)?;
        Ok((self.value(&r)?, r.metrics(self.reward_scale())?))
    }
}

impl DpoLoss {
    /// The loss this config names, with its parameters.
    pub fn build(&self) -> Box<dyn PreferenceLoss> {
        match *self {
            DpoLoss::Sigmoid { beta } => Box::new(Sigmoid { beta }),
            DpoLoss::Ipo { tau } => Box::new(Ipo { tau }),
            DpoLoss::SigmoidNll { beta, alpha } => Box::new(SigmoidNll { beta, alpha }),
        }
    }
}

/// One pair on the CPU: policy log-probs `pc`, `pr`, reference `rc`, `rr`, and a chosen
/// response of `n` tokens.
#[cfg(test)]
pub(crate) fn one_pair(pc: f32, pr: f32, rc: f32, rr: f32, n: f32) -> PreferenceBatch {
    let t = |x: f32| Tensor::new(&[x], &candle_core::Device::Cpu).unwrap();
    PreferenceBatch { policy_chosen: t(pc), policy_rejected: t(pr), ref_chosen: t(rc), ref_rejected: t(rr), chosen_tokens: t(n) }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The config names the same loss as the struct it builds: same value, same metrics.
    #[test]
    fn config_builds_the_named_loss() -> Result<()> {
        let b = one_pair(-1.0, -3.0, -2.0, -2.5, 3.0);
        let cases: [(DpoLoss, Box<dyn PreferenceLoss>); 3] = [
            (DpoLoss::Sigmoid { beta: 0.3 }, Box::new(Sigmoid { beta: 0.3 })),
            (DpoLoss::Ipo { tau: 0.2 }, Box::new(Ipo { tau: 0.2 })),
            (DpoLoss::SigmoidNll { beta: 0.3, alpha: 0.7 }, Box::new(SigmoidNll { beta: 0.3, alpha: 0.7 })),
        ];
        for (cfg, direct) in cases {
            let (l1, m1) = cfg.build().loss(&b)?;
            let (l2, m2) = direct.loss(&b)?;
            assert_eq!(l1.to_scalar::<f32>()?, l2.to_scalar::<f32>()?, "{cfg:?}");
            assert_eq!(m1, m2, "{cfg:?}");
        }
        Ok(())
    }

    /// Metrics by hand: log-ratios +1 (chosen) and −0.5 (rejected), scale 2.
    #[test]
    fn metrics_by_hand() -> Result<()> {
        let b = one_pair(-1.0, -3.0, -2.0, -2.5, 4.0);
        let m = LogRatios::new(&b)?.metrics(2.0)?;
        assert_eq!(m["rewards/chosen"], 2.0);
        assert_eq!(m["rewards/rejected"], -1.0);
        assert_eq!(m["rewards/margins"], 3.0);
        assert_eq!(m["rewards/accuracies"], 1.0);
        assert_eq!(m["logps/chosen"], -1.0);
        assert_eq!(m["logps/rejected"], -3.0);
        assert_eq!(m["nll/chosen"], 0.25);
        Ok(())
    }
}
