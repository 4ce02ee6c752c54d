//! Optimisation helpers around candle-nn's AdamW: gradient clipping by global norm.
use candle_core::backprop::GradStore;
use candle_core::Var;

/// Scales the gradients of `vars` in place so their global L2 norm is at most
/// `max_norm`; returns the norm before clipping (PyTorch's `clip_grad_norm_`).
pub fn clip_grad_norm(vars: &[Var], grads: &mut GradStore, max_norm: f64) -> candle_core::Result<f64> {
    let mut sq = 0f64;
    for v in vars {
        if let Some(g) = grads.get(v) {
            sq += g.sqr()?.sum_all()?.to_dtype(candle_core::DType::F64)?.to_scalar::<f64>()?;
        }
    }
    let norm = sq.sqrt();
    if norm > max_norm && norm.is_finite() {
        let scale = max_norm / (norm + 1e-6);
        for v in vars {
            if let Some(g) = grads.remove(v) {
                grads.insert(v, (g * scale)?);
            }
        }
    }
    Ok(norm)
}
