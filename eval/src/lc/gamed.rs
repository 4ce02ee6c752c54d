//! The length-gamed baselines AlpacaEval regularises every per-model fit toward.
//!
//! AlpacaEval adds to each model's rows those of `gpt4_1106_preview_verbose` and
//! `gpt4_1106_preview_concise` (the baseline prompted to be long or short), with
//! `not_gamed_baseline = 0` and weight λ/2 each (λ = 0.2): length alone should explain
//! their preferences, which pulls the model's length slope toward the truth.
//! AlpacaEval downloads these rows (`df_gamed.csv`) from a data hub. Here they come from:
//! 1. [`GamedSource::Annotations`]: the gamed models' `weighted_alpaca_eval_gpt4_turbo`
//!    annotations in the checkout (a full clone of alpaca_eval has them): AlpacaEval's rows.
//! 2. [`GamedSource::Expected`]: when those are absent (the project's `../shared/data`
//!    holds neither), their output lengths (`eval/data/alpaca_eval_gamed_lengths.csv`,
//!    counted from the checkout's `model_outputs.json`) with each row's label set to the
//!    gamed model's own published GLM prediction. The soft-label loss is linear in the
//!    label, so this is the expected contribution of the missing preferences under their
//!    published fit; it reproduces the published LC of the 56 models at hand within 0.31
//!    points, against up to 13.7 without the gamed rows.
use super::logistic::Example;
use super::{Coefficients, Difficulty};
use crate::alpaca::{read_json_array, Annotation};
use crate::{Error, Result};
use std::path::Path;

/// The two gamed baselines.
pub const GAMED: [&str; 2] = ["gpt4_1106_preview_verbose", "gpt4_1106_preview_concise"];
/// AlpacaEval's `regularize_to_baseline_lambda` (split evenly between the two).
pub const LAMBDA: f64 = 0.2;
/// Output lengths (code points) of the baseline and both gamed models per instruction.
const LENGTHS: &str = include_str!("../../data/alpaca_eval_gamed_lengths.csv");

/// Where the gamed rows came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum GamedSource {
    Annotations,
    Expected,
}

/// The regularisation rows, ready for the fit.
#[derive(Debug, Clone)]
pub struct Gamed {
    pub source: GamedSource,
    pub rows: Vec<Example>,
}

fn annotations_path(dir: &Path, model: &str) -> std::path::PathBuf {
    dir.join("results").join(model).join("weighted_alpaca_eval_gpt4_turbo/annotations.json")
}

/// `tanh((len_1 − len_2) / sd)`, sd the sample standard deviation of `len_1 − len_2`
/// (no centring), as AlpacaEval standardises each model's length difference.
pub fn length_feature(lens: &[(usize, usize)]) -> Vec<f64> {
    let delta: Vec<f64> = lens.iter().map(|(a, b)| *a as f64 - *b as f64).collect();
    let n = delta.len() as f64;
    let mean = delta.iter().sum::<f64>() / n;
    let sd = (delta.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    delta.iter().map(|x| if sd > 0.0 { (x / sd).tanh() } else { 0.0 }).collect()
}

impl Gamed {
    pub fn load(dir: &Path, coefficients: &Coefficients, difficulty: &Difficulty) -> Result<Self> {
        let weight = LAMBDA / GAMED.len() as f64;
        let d = &difficulty.values;
        if GAMED.iter().all(|m| annotations_path(dir, m).exists()) {
            let mut rows = vec![];
            for m in GAMED {
                let path = annotations_path(dir, m);
                let ann: Vec<Annotation> = read_json_array(&path)?;
                if ann.len() > d.len() {
                    return Err(Error::Parse { path, loc: "whole file".into(), msg: format!("{} rows, more than the {} instructions", ann.len(), d.len()) });
                }
                let lens: Vec<(usize, usize)> = ann.iter().map(|a| (a.output_1.chars().count(), a.output_2.chars().count())).collect();
                for ((a, x), di) in ann.iter().zip(length_feature(&lens)).zip(d) {
                    if let Some(p) = a.preference {
                        rows.push(Example { x: [x, *di, 0.0], p: p.value() - 1.0, weight });
                    }
                }
            }
            return Ok(Self { source: GamedSource::Annotations, rows });
        }
        let mut lens = vec![vec![]; GAMED.len()];
        for (i, line) in LENGTHS.lines().skip(1).enumerate() {
            let v: Vec<usize> = line.split(',').map(|f| f.parse().expect("embedded lengths file is integers")).collect();
            assert_eq!(v[0], i, "embedded lengths file in instruction order");
            for (k, l) in lens.iter_mut().enumerate() {
                l.push((v[1], v[2 + k]));
            }
        }
        if lens[0].len() != d.len() {
            return Err(Error::Invalid(format!("the gamed baselines' lengths cover {} instructions, the difficulty {}", lens[0].len(), d.len())));
        }
        let mut rows = vec![];
        for (m, l) in GAMED.iter().zip(&lens) {
            let glm = coefficients.get(m).ok_or_else(|| Error::Invalid(format!("no published coefficients for the gamed baseline {m}")))?;
            for (x, di) in length_feature(l).into_iter().zip(d) {
                let p = super::sigmoid(glm.length * x + glm.difficulty * di + glm.bias);
                rows.push(Example { x: [x, *di, 0.0], p, weight });
            }
        }
        Ok(Self { source: GamedSource::Expected, rows })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn difficulty(n: usize) -> Difficulty {
        Difficulty { instructions: (0..n).map(|i| format!("q{i}")).collect(), values: (0..n).map(|i| i as f64 / 2.0).collect(), source_disagreement: 0.0, reference_offset: 0.0 }
    }

    /// With the gamed models' annotations in the checkout, their rows are AlpacaEval's:
    /// standardised length difference, difficulty by row position, `not_gamed_baseline`
    /// 0, the judge's preference as label (unjudged rows left out), weight λ/2.
    #[test]
    fn rows_from_annotations() {
        let dir = tempfile::tempdir().unwrap();
        let (lens, prefs) = ([(10, 30), (20, 5), (7, 7)], ["1.25", "null", "2.0"]);
        for m in GAMED {
            let rows: Vec<String> = lens
                .iter()
                .zip(prefs)
                .enumerate()
                .map(|(i, ((a, b), p))| format!(r#"{{"instruction":"q{i}","output_1":"{}","generator_1":"gpt4_1106_preview","output_2":"{}","generator_2":"{m}","preference":{p}}}"#, "a".repeat(*a), "é".repeat(*b)))
                .collect();
            let path = annotations_path(dir.path(), m);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, format!("[{}]", rows.join(","))).unwrap();
        }
        let g = Gamed::load(dir.path(), &Coefficients::default(), &difficulty(3)).unwrap();
        assert_eq!(g.source, GamedSource::Annotations);
        assert_eq!(g.rows.len(), 4);
        // Δ = (−20, 15, 0); sd (n − 1) = sqrt((400 + 225 + 0 − 3·(−5/3)²)/2)
        let sd = ((400.0f64 + 225.0 - 3.0 * (5.0f64 / 3.0).powi(2)) / 2.0).sqrt();
        let want = [((-20.0 / sd).tanh(), 0.0, 0.25), ((0.0f64).tanh(), 1.0, 1.0)];
        for (r, (x, d, p)) in g.rows[..2].iter().zip(want) {
            assert!((r.x[0] - x).abs() < 1e-12 && r.x[1] == d && r.x[2] == 0.0 && r.p == p && r.weight == 0.1, "{r:?}");
        }
    }

    /// Without them: every instruction of both gamed models, labelled by their published GLM.
    #[test]
    fn expected_rows_without_annotations() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = Coefficients::default();
        c.0.insert(GAMED[0].into(), super::super::Glm { length: -1.0, difficulty: 0.5, bias: 0.2 });
        c.0.insert(GAMED[1].into(), super::super::Glm { length: -2.0, difficulty: 1.0, bias: -0.3 });
        let d = difficulty(805);
        let g = Gamed::load(dir.path(), &c, &d).unwrap();
        assert_eq!((g.source, g.rows.len()), (GamedSource::Expected, 2 * 805));
        for (k, r) in g.rows.iter().enumerate() {
            let (glm, i) = (c.get(GAMED[k / 805]).unwrap(), k % 805);
            assert_eq!(r.x[1], d.values[i]);
            let want = super::super::sigmoid(glm.length * r.x[0] + glm.difficulty * d.values[i] + glm.bias);
            assert!((r.p - want).abs() < 1e-15 && r.x[2] == 0.0 && r.weight == 0.1);
        }
        // The verbose model is longer than the baseline on 655 instructions (x < 0), the
        // concise one shorter on 774 (x > 0), as counted from the lengths file.
        assert_eq!(g.rows[..805].iter().filter(|r| r.x[0] < 0.0).count(), 655);
        assert_eq!(g.rows[805..].iter().filter(|r| r.x[0] > 0.0).count(), 774);
        // A checkout whose difficulty covers another instruction set is refused.
        assert!(Gamed::load(dir.path(), &c, &difficulty(10)).is_err());
    }
}
