//! The sigmoid loss plus the chosen responses' per-token NLL (Pang et al., 2024,
//! "Iterative Reasoning Preference Optimization"); keeps the chosen responses likely
//! while the margin grows:
//!
//! `L = mean_b −log σ(β h) + α · mean_b nll_w`, `nll_w = −log π(y_w|x) / |y_w|`.
//!
//! Rewards are DPO's implicit rewards `β · log π/π_ref` (scale β).
use super::{LogRatios, PreferenceLoss, Sigmoid};
use candle_core::{Result, Tensor};

/// `−log σ(β h) + α · nll_w`, mean over the batch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SigmoidNll {
    /// DPO's β.
    pub beta: f64,
    /// Weight of the per-token NLL of the chosen responses.
    pub alpha: f64,
}

impl PreferenceLoss for SigmoidNll {
    fn value(&self, r: &LogRatios) -> Result<Tensor> {
        Sigmoid { beta: self.beta }.mean(&r.h)? + (r.nll.mean_all()? * self.alpha)?
    }

    fn reward_scale(&self) -> f64 {
        self.beta
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loss::{one_pair, PreferenceBatch};
    use candle_core::{Device, Var};

    /// By hand: h = 2 as in the sigmoid test, α = 1, chosen of 2 tokens at −1 nat:
    /// 0.598138869 + 1/2 = 1.098138869; rewards still scaled by β.
    #[test]
    fn sigmoid_nll_loss_by_hand() -> Result<()> {
        let (l, m) = SigmoidNll { beta: 0.1, alpha: 1.0 }.loss(&one_pair(-1.0, -3.0, -2.0, -2.0, 2.0))?;
        assert!((l.to_scalar::<f32>()? - 1.098_138_9).abs() < 1e-6);
        assert!((m["rewards/chosen"] - 0.1).abs() < 1e-6 && (m["rewards/margins"] - 0.2).abs() < 1e-6);
        assert_eq!(m["nll/chosen"], 0.5);
        Ok(())
    }

    /// d/dpc at pc = pr = 0, chosen of 2 tokens: −β/2 (sigmoid) − α/2 (NLL).
    #[test]
    fn gradient_of_sigmoid_nll_loss_by_hand() -> Result<()> {
        let pc = Var::new(&[0.0f32], &Device::Cpu)?;
        let z = Tensor::new(&[0.0f32], &Device::Cpu)?;
        let two = Tensor::new(&[2.0f32], &Device::Cpu)?;
        let batch = PreferenceBatch { policy_chosen: pc.as_tensor().clone(), policy_rejected: z.clone(), ref_chosen: z.clone(), ref_rejected: z, chosen_tokens: two };
        let (l, _) = SigmoidNll { beta: 0.5, alpha: 0.6 }.loss(&batch)?;
        let g = l.backward()?.get(&pc).unwrap().to_vec1::<f32>()?;
        assert!((g[0] - (-0.25 - 0.3)).abs() < 1e-6, "{g:?}");
        Ok(())
    }
}
