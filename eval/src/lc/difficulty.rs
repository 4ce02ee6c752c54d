//! AlpacaEval's 805 instruction difficulties, recovered from an alpaca_eval checkout.
//!
//! AlpacaEval downloads its difficulty vector from a data hub. The checkout holds what
//! recovers it: the per-model GLM coefficients (`metrics/weights/.../baseline_gpt4_1106_preview.csv`)
//! and two annotation files that carry AlpacaEval's own prediction at zero length
//! difference, `glm_preference_i = σ(b_m + w_m·difficulty_i)` (vicuna-7b-v1.5 and
//! vicuna-13b-v1.5, nested one folder deeper). Inverting each gives
//! `difficulty_i = (logit(glm_preference_i) − b_m) / w_m`; instruction 0 is the reference
//! level (0). The two sources are averaged; their largest difference is reported.
use super::Coefficients;
use crate::alpaca::{read_json_array, ModelOutput};
use crate::{Error, Result};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The GLM's coefficients file in an alpaca_eval checkout.
pub const WEIGHTS: &str = "src/alpaca_eval/metrics/weights/weighted_alpaca_eval_gpt4_turbo/length_controlled_v1/baseline_gpt4_1106_preview.csv";
/// The baseline's outputs: the order of AlpacaEval's 805 instructions.
pub const BASELINE_OUTPUTS: &str = "results/gpt4_1106_preview/model_outputs.json";
/// The annotation files carrying `glm_preference`, by model.
pub const SOURCES: [(&str, &str); 2] = [
    ("vicuna-7b-v1.5", "results/vicuna-7b-v1.5/weighted_alpaca_eval_gpt4_turbo/weighted_alpaca_eval_gpt4_turbo/annotations.json"),
    ("vicuna-13b-v1.5", "results/vicuna-13b-v1.5/weighted_alpaca_eval_gpt4_turbo/weighted_alpaca_eval_gpt4_turbo/annotations.json"),
];

/// The difficulty of each AlpacaEval instruction, in the set's order.
#[derive(Debug, Clone, PartialEq)]
pub struct Difficulty {
    /// The 805 instructions, in AlpacaEval's order.
    pub instructions: Vec<String>,
    /// `difficulty[i]` of instruction `i`.
    pub values: Vec<f64>,
    /// Largest |difference| between the two sources' values.
    pub source_disagreement: f64,
    /// Largest |value| the sources give instruction 0 (the reference level, 0 by definition).
    pub reference_offset: f64,
}

#[derive(Deserialize)]
struct GlmRow {
    instruction: String,
    glm_preference: Option<f64>,
}

fn logit(p: f64) -> f64 {
    (p / (1.0 - p)).ln()
}

impl Difficulty {
    /// Recovers the difficulty from the checkout at `dir` (see the module docs).
    pub fn from_alpaca_eval(dir: &Path, coefficients: &Coefficients) -> Result<Self> {
        let outputs: Vec<ModelOutput> = read_json_array(&dir.join(BASELINE_OUTPUTS))?;
        let instructions: Vec<String> = outputs.into_iter().map(|o| o.instruction).collect();
        let mut per_source = vec![];
        for (model, rel) in SOURCES {
            let path = dir.join(rel);
            let rows: Vec<GlmRow> = read_json_array(&path)?;
            if rows.len() != instructions.len() {
                return Err(Error::Parse { path, loc: "whole file".into(), msg: format!("{} rows, the instruction set has {}", rows.len(), instructions.len()) });
            }
            let c = coefficients.get(model).ok_or_else(|| Error::Parse { path: dir.join(WEIGHTS), loc: format!("model {model}"), msg: "no coefficients (needed to invert its glm_preference)".into() })?;
            let mut values = vec![];
            for (i, (r, ins)) in rows.iter().zip(&instructions).enumerate() {
                let bad = |msg: String| Error::Parse { path: path.clone(), loc: format!("element {i}"), msg };
                if r.instruction != *ins {
                    return Err(bad(format!("instruction differs from {BASELINE_OUTPUTS} at the same position")));
                }
                let g = r.glm_preference.ok_or_else(|| bad("no glm_preference".into()))?;
                if !(g > 0.0 && g < 1.0) {
                    return Err(bad(format!("glm_preference {g} outside (0, 1)")));
                }
                values.push((logit(g) - c.bias) / c.difficulty);
            }
            per_source.push(values);
        }
        let n = instructions.len();
        let values: Vec<f64> = (0..n).map(|i| per_source.iter().map(|v| v[i]).sum::<f64>() / per_source.len() as f64).collect();
        let source_disagreement = (0..n).map(|i| (per_source[0][i] - per_source[1][i]).abs()).fold(0.0, f64::max);
        let reference_offset = per_source.iter().map(|v| v[0].abs()).fold(0.0, f64::max);
        Ok(Self { instructions, values, source_disagreement, reference_offset })
    }

    /// Position of each instruction text in the set.
    pub fn index(&self) -> BTreeMap<&str, usize> {
        self.instructions.iter().enumerate().map(|(i, s)| (s.as_str(), i)).collect()
    }
}

/// The default alpaca_eval checkout, beside the project.
pub const DEFAULT_DIR: &str = "../shared/data/alpaca_eval";

/// Where the alpaca_eval checkout is: `explicit`, else `ALPACA_EVAL_DIR`, else [`DEFAULT_DIR`].
pub fn alpaca_eval_dir(explicit: Option<PathBuf>) -> PathBuf {
    explicit.or_else(|| std::env::var_os("ALPACA_EVAL_DIR").map(PathBuf::from)).unwrap_or_else(|| PathBuf::from(DEFAULT_DIR))
}
