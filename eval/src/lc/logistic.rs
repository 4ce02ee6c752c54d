//! L1-penalised logistic regression on soft labels, and the cross-validation that picks
//! its strength, as AlpacaEval fits its length-controlled GLM with scikit-learn.
//!
//! AlpacaEval duplicates each row (label 1 with weight `s·p`, label 0 with weight
//! `s·(1 − p)`) and calls `LogisticRegressionCV(penalty="l1", solver="liblinear",
//! fit_intercept=False, cv=GroupKFold(5))`. The duplicated problem is exactly the
//! soft-label one solved here: minimise `‖w‖₁ + C·Σᵢ sᵢ·CE(pᵢ, σ(w·xᵢ))`. liblinear
//! stops at a relative tolerance of 1e-4; this solver (proximal Newton with a coordinate
//! descent inner loop, as liblinear's newGLMNET) runs to 1e-12, so coefficients agree
//! with scikit-learn's to its tolerance (tests against values scikit-learn printed).

/// Features per row: `tanh(std_delta_len)`, `instruction_difficulty`, `not_gamed_baseline`.
pub const FEATURES: usize = 3;

/// One row of the fit: features, soft label in `0..=1`, sample weight, CV group.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Example {
    pub x: [f64; FEATURES],
    pub p: f64,
    pub weight: f64,
}

/// scikit-learn's default grid of `LogisticRegressionCV(Cs=10)`: `logspace(-4, 4, 10)`.
pub fn default_cs() -> Vec<f64> {
    (0..10).map(|k| 10f64.powf(-4.0 + 8.0 * k as f64 / 9.0)).collect()
}

/// σ(z), stable at both ends (AlpacaEval's `exp(-logaddexp(0, -z))`).
pub(crate) fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

fn dot(w: &[f64; FEATURES], x: &[f64; FEATURES]) -> f64 {
    w.iter().zip(x).map(|(a, b)| a * b).sum()
}

/// Soft cross-entropy `−p·ln σ(z) − (1 − p)·ln(1 − σ(z))`, computed stably.
fn soft_ce(z: f64, p: f64) -> f64 {
    // ln(1 + e^z) − p·z
    let softplus = if z > 0.0 { z + (-z).exp().ln_1p() } else { z.exp().ln_1p() };
    softplus - p * z
}

/// `‖w‖₁ + C·Σ sᵢ·CE` (the objective liblinear minimises).
pub fn objective(ex: &[Example], w: &[f64; FEATURES], c: f64) -> f64 {
    w.iter().map(|v| v.abs()).sum::<f64>() + c * ex.iter().map(|e| e.weight * soft_ce(dot(w, &e.x), e.p)).sum::<f64>()
}

/// The minimiser of [`objective`] at strength `c` (larger `c`, weaker penalty).
pub fn fit_l1(ex: &[Example], c: f64) -> [f64; FEATURES] {
    let lambda = 1.0 / c;
    let mut w = [0.0; FEATURES];
    // Work with F(w) = Σ s·CE + λ‖w‖₁, i.e. the objective divided by c.
    let f = |w: &[f64; FEATURES]| objective(ex, w, c) / c;
    let mut fw = f(&w);
    for _ in 0..200 {
        let (mut g, mut h) = ([0.0; FEATURES], [[0.0; FEATURES]; FEATURES]);
        for e in ex {
            let q = sigmoid(dot(&w, &e.x));
            let (r, v) = (e.weight * (q - e.p), e.weight * q * (1.0 - q));
            for j in 0..FEATURES {
                g[j] += r * e.x[j];
                for k in 0..FEATURES {
                    h[j][k] += v * e.x[j] * e.x[k];
                }
            }
        }
        // Inner problem: min_d g·d + ½ dᵀHd + λ‖w + d‖₁ by coordinate descent.
        let mut d = [0.0; FEATURES];
        for _ in 0..1000 {
            let mut change: f64 = 0.0;
            for j in 0..FEATURES {
                if h[j][j] <= 0.0 {
                    continue;
                }
                let hd: f64 = (0..FEATURES).filter(|k| *k != j).map(|k| h[j][k] * d[k]).sum();
                // minimise over u = w_j + d_j: ½ H_jj u² + (g_j + hd − H_jj w_j) u + λ|u|
                let b = g[j] + hd - h[j][j] * w[j];
                let u = -(b.signum() * (b.abs() - lambda).max(0.0)) / h[j][j];
                let nd = u - w[j];
                change = change.max((nd - d[j]).abs());
                d[j] = nd;
            }
            if change < 1e-15 {
                break;
            }
        }
        let l1 = |v: &[f64; FEATURES]| v.iter().map(|x| x.abs()).sum::<f64>();
        let wd: [f64; FEATURES] = std::array::from_fn(|j| w[j] + d[j]);
        let delta = g.iter().zip(&d).map(|(a, b)| a * b).sum::<f64>() + lambda * (l1(&wd) - l1(&w));
        if delta > -1e-14 * fw.abs().max(1.0) {
            break;
        }
        let mut t = 1.0;
        loop {
            let cand: [f64; FEATURES] = std::array::from_fn(|j| w[j] + t * d[j]);
            let fc = f(&cand);
            if fc <= fw + 0.01 * t * delta || t < 1e-10 {
                w = cand;
                fw = fc;
                break;
            }
            t *= 0.5;
        }
    }
    w
}

/// scikit-learn's `GroupKFold(k)` fold of each of `n` groups of equal size: the groups
/// are dealt from the last to the first, each to the lightest fold (`(n − 1 − g) mod k`).
pub fn group_fold(n: usize, k: usize, g: usize) -> usize {
    (n - 1 - g) % k
}

/// AlpacaEval's CV score of `w` on `ex`: the mean over rows of `s·CE`, predictions
/// clipped to `[1e-15, 1 − 1e-15]` (a loss: lower is better).
pub fn soft_log_loss(ex: &[Example], w: &[f64; FEATURES]) -> f64 {
    let eps = 1e-15;
    let sum: f64 = ex
        .iter()
        .map(|e| {
            let q = sigmoid(dot(w, &e.x)).clamp(eps, 1.0 - eps);
            -e.weight * (e.p * q.ln() + (1.0 - e.p) * (1.0 - q).ln())
        })
        .sum();
    sum / ex.len().max(1) as f64
}

/// The outcome of [`fit_cv`]: the chosen strength, the mean CV loss of every strength
/// tried, and the coefficients refitted on all rows at the chosen one.
#[derive(Debug, Clone, PartialEq)]
pub struct CvFit {
    pub c: f64,
    pub cv_loss: Vec<f64>,
    pub coef: [f64; FEATURES],
}

/// `LogisticRegressionCV` as AlpacaEval calls it: each strength in `cs` scored by
/// `k`-fold group CV (one group per row), the lowest mean loss wins (the first on a
/// tie), then a refit on every row.
pub fn fit_cv(ex: &[Example], cs: &[f64], k: usize) -> CvFit {
    let n = ex.len();
    let k = k.min(n).max(1);
    let folds: Vec<(Vec<Example>, Vec<Example>)> = (0..k)
        .map(|f| {
            let (mut train, mut test) = (vec![], vec![]);
            for (g, e) in ex.iter().enumerate() {
                if group_fold(n, k, g) == f { test.push(*e) } else { train.push(*e) }
            }
            (train, test)
        })
        .collect();
    let cv_loss: Vec<f64> = cs
        .iter()
        .map(|&c| folds.iter().map(|(train, test)| soft_log_loss(test, &fit_l1(train, c))).sum::<f64>() / k as f64)
        .collect();
    let mut best = 0;
    for (i, l) in cv_loss.iter().enumerate() {
        if *l < cv_loss[best] {
            best = i;
        }
    }
    CvFit { c: cs[best], cv_loss, coef: fit_l1(ex, cs[best]) }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The synthetic rows of `eval/data/lc_reference.py` (which printed the reference
    /// values): features from integer formulas, labels from a known GLM plus fixed noise.
    fn data(n: usize) -> Vec<Example> {
        (0..n)
            .map(|i| {
                let x0 = ((((i * 37) % 23) as f64 - 11.0) / 5.0).tanh();
                let x1 = (((i * 53) % 17) as f64 - 8.0) / 4.0;
                let noise = (((i * 29) % 11) as f64 - 5.0) / 10.0;
                let p = sigmoid(-1.5 * x0 + 0.8 * x1 - 0.3 + noise);
                Example { x: [x0, x1, 1.0], p, weight: if i % 7 == 0 { 0.1 } else { 1.0 } }
            })
            .collect()
    }

    fn close(a: &[f64], b: &[f64], tol: f64) -> bool {
        a.iter().zip(b).all(|(x, y)| (x - y).abs() < tol)
    }

    /// Coefficients scikit-learn 1.9.1 printed for the same rows, duplicated AlpacaEval's
    /// way, with `LogisticRegression(penalty="l1", solver="liblinear", fit_intercept=False,
    /// tol=1e-12)`.
    #[test]
    fn equals_liblinear() {
        let ex = data(40);
        assert_eq!(fit_l1(&ex, 0.05), [0.0; 3]);
        let w = fit_l1(&ex, 1.0);
        assert!(close(&w, &[-1.0644712154618374, 0.5566260978571271, -0.1510047046434749], 1e-7), "{w:?}");
        let w = fit_l1(&ex, 100.0);
        assert!(close(&w, &[-1.3989150776033898, 0.7150226704999963, -0.31360909288610817], 1e-7), "{w:?}");
    }

    /// `LogisticRegressionCV(cv=GroupKFold(5))` with AlpacaEval's soft log-loss scorer
    /// (sample weights in the score too): the same chosen C, mean CV scores and refit.
    #[test]
    fn cross_validation_equals_scikit_learn() {
        let cases: [(usize, f64, [f64; 3], [f64; 10]); 3] = [
            (12, 10000.0, [-1.2954650706363318, 0.6868331521046016, -0.3275266399010869], [-0.5891751034759535, -0.5891751034759535, -0.5891751034759535, -0.5891751034759535, -0.5891751034759535, -0.5241267656470907, -0.48937004794819466, -0.48820018454198816, -0.4881212384611919, -0.4881123007278242]),
            (60, 1291.5496650148827, [-1.4680294630808155, 0.7611704698028559, -0.30894110630704963], [-0.5995723111843527, -0.5995723111843527, -0.5995723111843527, -0.5995723111843527, -0.48704716385742375, -0.4495026203988045, -0.4484213891551466, -0.4484041728805027, -0.4484041663667136, -0.4484042029242811]),
            (200, 166.81005372000558, [-1.467412221397243, 0.7599789285275012, -0.29057253331098176], [-0.6026914734968725, -0.6026914734968725, -0.6026914734968725, -0.5772159365054698, -0.4569513691262325, -0.4524942622438289, -0.4524161740866178, -0.4524160127633866, -0.4524161618357928, -0.4524161839332329]),
        ];
        for (n, c, coef, scores) in cases {
            let fit = fit_cv(&data(n), &default_cs(), 5);
            assert!((fit.c - c).abs() < 1e-9 * c, "n={n}: C {} vs {c}", fit.c);
            assert!(close(&fit.coef, &coef, 1e-6), "n={n}: {:?} vs {coef:?}", fit.coef);
            let neg: Vec<f64> = fit.cv_loss.iter().map(|l| -l).collect();
            assert!(close(&neg, &scores, 1e-8), "n={n}: {neg:?} vs {scores:?}");
        }
    }

    #[test]
    fn folds_deal_groups_from_the_last() {
        // GroupKFold(5) over 13 groups: fold 0 holds 2, 7, 12; fold 3 holds 4, 9.
        let f: Vec<usize> = (0..13).map(|g| group_fold(13, 5, g)).collect();
        assert_eq!(f, vec![2, 1, 0, 4, 3, 2, 1, 0, 4, 3, 2, 1, 0]);
    }
}
