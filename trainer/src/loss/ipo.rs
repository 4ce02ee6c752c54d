//! IPO (Azar et al., 2023, "A General Theoretical Paradigm to Understand Learning from
//! Human Preferences"): a squared loss that pulls the margin to a target
//! instead of pushing it without bound:
//!
//! `L = mean_b (h − 1/(2τ))²`, `dL/dh = 2 (h − 1/(2τ)) / b`.
//!
//! Rewards: IPO has no implicit reward scale (τ sets the target margin, it does not
//! scale the log-ratios as DPO's β does), so `rewards/*` are the unscaled log-ratios
//! (scale 1) and `rewards/margins` is the mean `h` to compare with the target `1/(2τ)`.
use super::{LogRatios, PreferenceLoss};
use candle_core::{Result, Tensor};

/// `(h − 1/(2τ))²`, mean over the batch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ipo {
    /// Regularisation τ: the margin's target is `1/(2τ)`.
    pub tau: f64,
}

impl PreferenceLoss for Ipo {
    fn value(&self, r: &LogRatios) -> Result<Tensor> {
        (&r.h - 1.0 / (2.0 * self.tau))?.sqr()?.mean_all()
    }

    fn reward_scale(&self) -> f64 {
        1.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loss::{one_pair, PreferenceBatch};
    use candle_core::{Device, Var};

    /// By hand: h = 2, τ = 0.1: (2 − 1/(2·0.1))² = 9.
    #[test]
    fn ipo_loss_by_hand() -> Result<()> {
        let (l, _) = Ipo { tau: 0.1 }.loss(&one_pair(-1.0, -3.0, -2.0, -2.0, 2.0))?;
        assert!((l.to_scalar::<f32>()? - 9.0).abs() < 1e-4);
        Ok(())
    }

    /// Rewards are the log-ratios themselves, whatever τ: +1 and −1 nat, margin 2.
    #[test]
    fn ipo_rewards_are_unscaled_log_ratios() -> Result<()> {
        for tau in [0.1, 0.5, 2.0] {
            let (_, m) = Ipo { tau }.loss(&one_pair(-1.0, -3.0, -2.0, -2.0, 2.0))?;
            assert_eq!(m["rewards/chosen"], 1.0, "τ = {tau}");
            assert_eq!(m["rewards/rejected"], -1.0, "τ = {tau}");
            assert_eq!(m["rewards/margins"], 2.0, "τ = {tau}");
            assert_eq!(m["rewards/accuracies"], 1.0, "τ = {tau}");
            assert_eq!(m["logps/chosen"], -1.0);
            assert_eq!(m["logps/rejected"], -3.0);
            assert_eq!(m["nll/chosen"], 0.5);
        }
        Ok(())
    }

    /// d/dpc at h = 2, τ = 0.1: 2 (2 − 5) = −6.
    #[test]
    fn gradient_of_ipo_loss_by_hand() -> Result<()> {
        let pc = Var::new(&[-1.0f32], &Device::Cpu)?;
        let t = |x: f32| Tensor::new(&[x], &Device::Cpu);
        let batch = PreferenceBatch { policy_chosen: pc.as_tensor().clone(), policy_rejected: t(-3.0)?, ref_chosen: t(-2.0)?, ref_rejected: t(-2.0)?, chosen_tokens: t(2.0)? };
        let (l, _) = Ipo { tau: 0.1 }.loss(&batch)?;
        let g = l.backward()?.get(&pc).unwrap().to_vec1::<f32>()?;
        assert!((g[0] + 6.0).abs() < 1e-4, "{g:?}");
        Ok(())
    }
}
