//! DPO's sigmoid loss (Rafailov et al., 2023, Eq. 7), the paper's choice:
//!
//! `L = mean_b −log σ(β h)`, `dL/dh = −β σ(−β h) / b`.
//!
//! Rewards are DPO's implicit rewards `β · log π/π_ref` (scale β).
use super::{log_sigmoid, LogRatios, PreferenceLoss};
use candle_core::{Result, Tensor};

/// `−log σ(β h)`, mean over the batch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sigmoid {
    /// Strength of the pull towards the reference (DPO's β).
    pub beta: f64,
}

impl Sigmoid {
    /// `mean_b −log σ(β h)` `()` of the margins `h` `(b)`.
    pub fn mean(&self, h: &Tensor) -> Result<Tensor> {
        log_sigmoid(&(h * self.beta)?)?.neg()?.mean_all()
    }
}

impl PreferenceLoss for Sigmoid {
    fn value(&self, r: &LogRatios) -> Result<Tensor> {
        self.mean(&r.h)
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

    /// By hand: chosen moves +1 nat over the reference, rejected −1, so h = 2.
    /// β = 0.1: loss = log(1 + e^{−0.2}) = 0.598138869; rewards ±0.1.
    #[test]
    fn sigmoid_loss_by_hand() -> Result<()> {
        let (l, m) = Sigmoid { beta: 0.1 }.loss(&one_pair(-1.0, -3.0, -2.0, -2.0, 2.0))?;
        assert!((l.to_scalar::<f32>()? - 0.598_138_87).abs() < 1e-6);
        assert!((m["rewards/chosen"] - 0.1).abs() < 1e-6 && (m["rewards/rejected"] + 0.1).abs() < 1e-6);
        assert!((m["rewards/margins"] - 0.2).abs() < 1e-6);
        assert_eq!(m["rewards/accuracies"], 1.0);
        assert_eq!(m["logps/chosen"], -1.0);
        assert_eq!(m["nll/chosen"], 0.5);
        // Large margins stay finite: −log σ(−500) = 500 without overflow.
        let (l, _) = Sigmoid { beta: 1.0 }.loss(&one_pair(-500.0, 0.0, 0.0, 0.0, 2.0))?;
        assert!((l.to_scalar::<f32>()? - 500.0).abs() < 1e-3);
        Ok(())
    }

    /// d/dpc of −log σ(β(pc − pr)) at pc = pr: −β σ(0) = −β/2.
    #[test]
    fn gradient_of_sigmoid_loss_by_hand() -> Result<()> {
        let pc = Var::new(&[0.0f32], &Device::Cpu)?;
        let z = Tensor::new(&[0.0f32], &Device::Cpu)?;
        let one = Tensor::new(&[1.0f32], &Device::Cpu)?;
        let batch = PreferenceBatch { policy_chosen: pc.as_tensor().clone(), policy_rejected: z.clone(), ref_chosen: z.clone(), ref_rejected: z, chosen_tokens: one };
        let (l, _) = Sigmoid { beta: 0.5 }.loss(&batch)?;
        let g = l.backward()?.get(&pc).unwrap().to_vec1::<f32>()?;
        assert!((g[0] + 0.25).abs() < 1e-6, "{g:?}");
        Ok(())
    }
}
