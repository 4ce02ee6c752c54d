//! AlpacaEval 2's length-controlled win rate.
//!
//! Per model, a logistic GLM on each instruction i:
//! `logit P(model beats baseline) = γ·tanh(Δlen_i / sd(Δlen)) + β·difficulty_i + θ`,
//! fitted to the (soft) preferences with an L1 penalty; the LC win rate is the mean
//! predicted probability with the length term set to 0: `100·mean_i σ(β·difficulty_i + θ)`.
//!
//! AlpacaEval's per-instruction `difficulty` comes from a joint fit over its whole
//! leaderboard and is not published in a repository. We estimate it from the
//! annotations at hand with the same kind of joint fit: every model shares
//! `difficulty_i`, each has its own `θ_m` and `γ_m`,
//! `logit p_mi = θ_m + γ_m·tanh(Δlen_mi / sd_m) + difficulty_i`, L2-penalised
//! (λ = [`DIFFICULTY_L2`]) so instructions seen by few models stay near 0,
//! solved by block-coordinate Newton. With few models the estimate is noisy, which
//! is the main source of distance to the published LC values.
use crate::alpaca::Annotation;
use std::collections::HashMap;

/// L2 penalty on each instruction's difficulty in the joint fit.
pub const DIFFICULTY_L2: f64 = 1.0;
/// L1 penalty (per example, on γ and β, not on θ) of the per-model GLM.
pub const GLM_L1: f64 = 1e-3;

/// One model's annotations reduced to what the GLM needs.
#[derive(Debug, Clone)]
pub struct LcInput {
    pub model: String,
    /// (instruction, soft preference in 0..1, length difference model − baseline in characters)
    pub rows: Vec<(String, f64, f64)>,
}

impl LcInput {
    pub fn from_annotations(model: &str, ann: &[Annotation]) -> Self {
        let rows = ann
            .iter()
            .filter_map(|a| {
                let p = a.preference?.value() - 1.0;
                let d = a.output_2.chars().count() as f64 - a.output_1.chars().count() as f64;
                Some((a.instruction.clone(), p, d))
            })
            .collect();
        Self { model: model.into(), rows }
    }

    /// `tanh(Δlen / sd(Δlen))` per row (sample sd); all 0 when lengths never differ.
    pub fn length_feature(&self) -> Vec<f64> {
        let d: Vec<f64> = self.rows.iter().map(|r| r.2).collect();
        let n = d.len().max(2) as f64;
        let mean = d.iter().sum::<f64>() / n;
        let sd = (d.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
        d.iter().map(|x| if sd > 0.0 { (x / sd).tanh() } else { 0.0 }).collect()
    }
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// Per-instruction difficulty from a joint fit over all models (see the module docs).
pub fn estimate_difficulty(inputs: &[LcInput]) -> HashMap<String, f64> {
    // A model compared with itself (no length differences, all draws) says nothing
    // about instructions; it would only pull every difficulty toward one value.
    let inputs: Vec<&LcInput> = inputs.iter().filter(|m| m.length_feature().iter().any(|f| *f != 0.0)).collect();
    let l2 = DIFFICULTY_L2;
    let feats: Vec<Vec<f64>> = inputs.iter().map(|m| m.length_feature()).collect();
    let mut diff: HashMap<String, f64> = HashMap::new();
    for m in &inputs {
        for r in &m.rows {
            diff.entry(r.0.clone()).or_insert(0.0);
        }
    }
    let mut theta = vec![0.0; inputs.len()];
    let mut gamma = vec![0.0; inputs.len()];
    for _ in 0..100 {
        // models given difficulties: 2×2 Newton steps on (θ, γ)
        for (k, m) in inputs.iter().enumerate() {
            for _ in 0..3 {
                let (mut g0, mut g1, mut h00, mut h01, mut h11) = (0.0, 0.0, 1e-6, 0.0, 1e-6);
                for (r, f) in m.rows.iter().zip(&feats[k]) {
                    let p = sigmoid(theta[k] + gamma[k] * f + diff[&r.0]);
                    let w = p * (1.0 - p);
                    g0 += p - r.1;
                    g1 += (p - r.1) * f;
                    h00 += w;
                    h01 += w * f;
                    h11 += w * f * f;
                }
                let det = h00 * h11 - h01 * h01;
                if det.abs() < 1e-12 {
                    break;
                }
                theta[k] -= (h11 * g0 - h01 * g1) / det;
                gamma[k] -= (h00 * g1 - h01 * g0) / det;
            }
        }
        // difficulties given models: one Newton step each, L2-penalised
        let mut grad: HashMap<&str, (f64, f64)> = HashMap::new();
        for (k, m) in inputs.iter().enumerate() {
            for (r, f) in m.rows.iter().zip(&feats[k]) {
                let p = sigmoid(theta[k] + gamma[k] * f + diff[&r.0]);
                let e = grad.entry(r.0.as_str()).or_insert((0.0, 0.0));
                e.0 += p - r.1;
                e.1 += p * (1.0 - p);
            }
        }
        for (ins, (g, h)) in grad {
            let d = diff.get_mut(ins).expect("seen");
            *d -= (g + l2 * *d) / (h + l2);
        }
    }
    diff
}

/// A model's fitted GLM and its LC win rate.
#[derive(Debug, Clone, PartialEq)]
pub struct LcFit {
    pub model: String,
    /// Coefficients in AlpacaEval's order: tanh(std_delta_len), instruction_difficulty, not_gamed_baseline.
    pub coef: [f64; 3],
    pub lc_win_rate: f64,
}

/// Fits one model's GLM by coordinate descent with soft-thresholding (L1 on γ, β).
pub fn fit_model(input: &LcInput, difficulty: &HashMap<String, f64>) -> LcFit {
    let len = input.length_feature();
    let x: Vec<[f64; 3]> = input.rows.iter().zip(&len).map(|(r, f)| [*f, difficulty.get(&r.0).copied().unwrap_or(0.0), 1.0]).collect();
    let y: Vec<f64> = input.rows.iter().map(|r| r.1).collect();
    let n = x.len().max(1) as f64;
    let mut w = [0.0f64; 3];
    for _ in 0..300 {
        for j in 0..3 {
            let (mut g, mut h) = (0.0, 1e-9);
            for (xi, yi) in x.iter().zip(&y) {
                let p = sigmoid(w[0] * xi[0] + w[1] * xi[1] + w[2] * xi[2]);
                g += (p - yi) * xi[j] / n;
                h += p * (1.0 - p) * xi[j] * xi[j] / n;
            }
            let z = h * w[j] - g;
            let lambda = if j == 2 { 0.0 } else { GLM_L1 };
            w[j] = z.signum() * (z.abs() - lambda).max(0.0) / h;
        }
    }
    let lc = 100.0 * x.iter().map(|xi| sigmoid(w[1] * xi[1] + w[2])).sum::<f64>() / n;
    LcFit { model: input.model.clone(), coef: w, lc_win_rate: lc }
}

/// Difficulty from all inputs, then each model's GLM.
pub fn fit_all(inputs: &[LcInput]) -> Vec<LcFit> {
    let difficulty = estimate_difficulty(inputs);
    inputs.iter().map(|m| fit_model(m, &difficulty)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Data generated from known coefficients is recovered, and the LC rate equals
    /// the mean of σ(β·d + θ) computed by hand for those coefficients.
    #[test]
    fn recovers_known_coefficients() {
        let d: Vec<f64> = (0..400).map(|i| ((i * 37) % 100) as f64 / 25.0 - 2.0).collect();
        let rows: Vec<(String, f64, f64)> = (0..400)
            .map(|i| {
                let dl = (((i * 53) % 200) as f64 - 100.0) * 10.0;
                (format!("q{i}"), 0.0, dl)
            })
            .collect();
        let mut input = LcInput { model: "m".into(), rows };
        let f = input.length_feature();
        let (g, b, t) = (-1.5, 1.0, -0.5);
        for (i, r) in input.rows.iter_mut().enumerate() {
            r.1 = sigmoid(g * f[i] + b * d[i] + t); // soft labels = exact probabilities
        }
        let diff: HashMap<String, f64> = (0..400).map(|i| (format!("q{i}"), d[i])).collect();
        let fit = fit_model(&input, &diff);
        assert!((fit.coef[0] - g).abs() < 0.05 && (fit.coef[1] - b).abs() < 0.05 && (fit.coef[2] - t).abs() < 0.05, "{:?}", fit.coef);
        let want = 100.0 * d.iter().map(|di| sigmoid(b * di + t)).sum::<f64>() / 400.0;
        assert!((fit.lc_win_rate - want).abs() < 0.5, "{} vs {want}", fit.lc_win_rate);
    }
}
