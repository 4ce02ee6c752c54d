//! `log σ(x)`, smooth everywhere, for the sigmoid losses.
//!
//! `log σ(x) = −softplus(−x)` with `softplus(y) = log(1 + e^y)` for `y ≤ 20` and `y`
//! beyond (where they agree to 2e-9). A kinked form such as
//! `relu(y) + log(1 + e^{−|y|})` has the wrong subgradient at 0, which is exactly where
//! every pair starts (policy = reference).
use candle_core::{Result, Tensor};

/// `log σ(x)` elementwise, any shape.
pub fn log_sigmoid(x: &Tensor) -> Result<Tensor> {
    let y = x.neg()?;
    let small = (y.clamp(-80.0, 20.0)?.exp()? + 1.0)?.log()?;
    let softplus = y.gt(20.0)?.where_cond(&y, &small)?;
    softplus.neg()
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    /// Against `ln(1 / (1 + e^{−x}))` in f64, and finite far out on both sides.
    #[test]
    fn log_sigmoid_by_hand() -> Result<()> {
        let xs = [-500.0f32, -30.0, -2.0, 0.0, 0.5, 3.0, 30.0, 500.0];
        let got = log_sigmoid(&Tensor::new(&xs, &Device::Cpu)?)?.to_vec1::<f32>()?;
        for (x, g) in xs.iter().zip(got) {
            let want = -(-(*x as f64)).exp().ln_1p();
            let want = if want.is_finite() { want } else { *x as f64 };
            assert!((g as f64 - want).abs() <= 1e-6 * want.abs().max(1.0), "log σ({x}) = {g}, not {want}");
        }
        Ok(())
    }

    /// d/dx log σ(x) = σ(−x): 1/2 at 0 (no kink), about 1 far below 0 and 0 far above.
    #[test]
    fn gradient_is_smooth_at_zero() -> Result<()> {
        let x = Var::new(&[0.0f32, -40.0, 40.0], &Device::Cpu)?;
        let g = log_sigmoid(x.as_tensor())?.sum_all()?.backward()?.get(&x).unwrap().to_vec1::<f32>()?;
        assert!((g[0] - 0.5).abs() < 1e-7 && (g[1] - 1.0).abs() < 1e-6 && g[2].abs() < 1e-6, "{g:?}");
        Ok(())
    }
}
