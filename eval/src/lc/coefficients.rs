//! AlpacaEval's published per-model GLM coefficients, and the LC win rate they give.
use super::sigmoid;
use crate::leaderboard::read_csv;
use crate::{Error, Result};
use std::collections::BTreeMap;
use std::path::Path;

/// One model's GLM: `logit P(model beats baseline) = length·tanh(std_delta_len) +
/// difficulty·instruction_difficulty + bias·not_gamed_baseline`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Glm {
    pub length: f64,
    pub difficulty: f64,
    pub bias: f64,
}

impl Glm {
    /// In AlpacaEval's column order (`np.tanh(std_delta_len)`, `instruction_difficulty`,
    /// `not_gamed_baseline.astype(float)`).
    pub fn from_array(c: [f64; 3]) -> Self {
        Self { length: c[0], difficulty: c[1], bias: c[2] }
    }

    /// The LC win rate: `100·mean σ(bias + difficulty·d)` over the first `n` difficulties,
    /// AlpacaEval's average over a model's own rows, looked up by row position.
    pub fn lc_win_rate(&self, difficulty: &[f64], n: usize) -> f64 {
        let n = n.min(difficulty.len());
        100.0 * difficulty[..n].iter().map(|d| sigmoid(self.bias + self.difficulty * d)).sum::<f64>() / n.max(1) as f64
    }
}

/// The published coefficients, by model.
#[derive(Debug, Clone, Default)]
pub struct Coefficients(pub BTreeMap<String, Glm>);

impl Coefficients {
    /// Reads AlpacaEval's weights CSV (first column the model, then the three coefficients).
    pub fn read(path: &Path) -> Result<Self> {
        let (header, rows) = read_csv(path)?;
        let want = ["np.tanh(std_delta_len)", "instruction_difficulty", "not_gamed_baseline.astype(float)"];
        let col = |name: &str| {
            header.iter().position(|h| h == name).ok_or_else(|| Error::Parse { path: path.into(), loc: "header".into(), msg: format!("no column `{name}`") })
        };
        let cols = [col(want[0])?, col(want[1])?, col(want[2])?];
        let mut out = BTreeMap::new();
        for (i, r) in rows.iter().enumerate() {
            if r.iter().all(|f| f.is_empty()) {
                continue;
            }
            let mut c = [0.0; 3];
            for (k, &j) in cols.iter().enumerate() {
                let f = r.get(j).map(String::as_str).unwrap_or("");
                c[k] = f.parse().map_err(|_| Error::Parse { path: path.into(), loc: format!("line {}", i + 2), msg: format!("`{}` = `{f}` is not a number", want[k]) })?;
            }
            out.insert(r[0].clone(), Glm::from_array(c));
        }
        Ok(Self(out))
    }

    pub fn get(&self, model: &str) -> Option<&Glm> {
        self.0.get(model)
    }
}
