//! Learning-rate schedules: pure functions of the step.

/// Linear warmup from 0 to `peak` over `warmup` steps, then cosine decay to
/// `peak * min_ratio` at `total` steps (nanoGPT's `get_lr`).
pub fn warmup_cosine(step: usize, warmup: usize, total: usize, peak: f64, min_ratio: f64) -> f64 {
    let min_lr = peak * min_ratio;
    if step < warmup {
        return peak * (step + 1) as f64 / warmup as f64;
    }
    if step >= total {
        return min_lr;
    }
    let progress = (step - warmup) as f64 / (total - warmup).max(1) as f64;
    min_lr + 0.5 * (1.0 + (std::f64::consts::PI * progress).cos()) * (peak - min_lr)
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn warmup_then_cosine() {
        // warmup: 1/10, 2/10, ... of peak
        assert!((warmup_cosine(0, 10, 110, 1.0, 0.1) - 0.1).abs() < 1e-12);
        assert!((warmup_cosine(9, 10, 110, 1.0, 0.1) - 1.0).abs() < 1e-12);
        // halfway through decay: (1 + cos(pi/2))/2 = 0.5 -> 0.1 + 0.5*0.9
        assert!((warmup_cosine(60, 10, 110, 1.0, 0.1) - 0.55).abs() < 1e-12);
        assert!((warmup_cosine(110, 10, 110, 1.0, 0.1) - 0.1).abs() < 1e-12);
        assert!((warmup_cosine(500, 10, 110, 1.0, 0.1) - 0.1).abs() < 1e-12);
    }
}
