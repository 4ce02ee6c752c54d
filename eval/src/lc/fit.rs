//! One model's length-controlled win rate, fitted as AlpacaEval fits a new model.
//!
//! With the difficulty fixed, the model's rows (weight 1) and the gamed baselines' rows
//! (weight λ/2 each) fit `tanh(std_delta_len) + instruction_difficulty +
//! not_gamed_baseline − 1` by [`fit_cv`]; the LC win rate is the mean over the model's
//! rows of the prediction at zero length difference. Rows are looked up in the
//! difficulty by their position in the annotations (AlpacaEval's `reset_index()`), so a
//! model that skipped instructions uses the difficulty of the ones after them: the
//! published LC of six such models is reproduced only this way.
use super::gamed::length_feature;
use super::logistic::{default_cs, fit_cv, Example};
use super::{Coefficients, Difficulty, Gamed, Glm};
use crate::alpaca::Annotation;
use std::path::Path;

/// The baseline every LC win rate is against.
pub const BASELINE: &str = "gpt4_1106_preview";
/// AlpacaEval's `n_splits`.
pub const FOLDS: usize = 5;

/// One judged pair, as the GLM sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LcRow {
    /// AlpacaEval's preference (1 = baseline wins, 2 = model wins, 0 a draw); `None` if unjudged.
    pub preference: Option<f64>,
    /// Characters (code points) of the baseline's and the model's output.
    pub len_1: usize,
    pub len_2: usize,
}

/// A model's judged pairs in annotation order.
#[derive(Debug, Clone, PartialEq)]
pub struct LcInput {
    pub model: String,
    /// The baseline judged against itself (its LC is 50 by construction).
    pub is_baseline: bool,
    pub rows: Vec<LcRow>,
}

impl LcInput {
    pub fn from_annotations(model: &str, ann: &[Annotation]) -> Self {
        let rows = ann.iter().map(|a| LcRow { preference: a.preference.map(|p| p.0), len_1: a.output_1.chars().count(), len_2: a.output_2.chars().count() }).collect();
        let is_baseline = !ann.is_empty() && ann.iter().all(|a| a.generator_1 == a.generator_2);
        Self { model: model.into(), is_baseline, rows }
    }
}

/// A fitted model: its coefficients, the chosen penalty strength and the LC win rate.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LcFit {
    pub model: String,
    pub glm: Glm,
    /// The `C` cross-validation chose (`None` for the baseline, which is not fitted).
    pub c: Option<f64>,
    pub lc_win_rate: f64,
}

/// Everything the per-model fit needs from an alpaca_eval checkout.
#[derive(Debug, Clone)]
pub struct LcContext {
    pub coefficients: Coefficients,
    pub difficulty: Difficulty,
    pub gamed: Gamed,
}

impl LcContext {
    /// Reads the coefficients, recovers the difficulty and builds the gamed rows from
    /// the checkout at `dir`.
    pub fn load(dir: &Path) -> crate::Result<Self> {
        let coefficients = Coefficients::read(&dir.join(super::difficulty::WEIGHTS))?;
        let difficulty = Difficulty::from_alpaca_eval(dir, &coefficients)?;
        let gamed = Gamed::load(dir, &coefficients, &difficulty)?;
        Ok(Self { coefficients, difficulty, gamed })
    }

    /// Fits `input` (see the module docs).
    pub fn fit(&self, input: &LcInput) -> crate::Result<LcFit> {
        let d = &self.difficulty.values;
        if input.rows.len() > d.len() {
            return Err(crate::Error::Invalid(format!("{}: {} rows, more than AlpacaEval's {} instructions", input.model, input.rows.len(), d.len())));
        }
        if input.is_baseline {
            return Ok(LcFit { model: input.model.clone(), glm: Glm::from_array([0.0; 3]), c: None, lc_win_rate: 50.0 });
        }
        let x = length_feature(&input.rows.iter().map(|r| (r.len_1, r.len_2)).collect::<Vec<_>>());
        let mut ex = self.gamed.rows.clone();
        for ((r, x), di) in input.rows.iter().zip(&x).zip(d) {
            if let Some(p) = r.preference {
                let p = if p == 0.0 { 1.5 } else { p };
                ex.push(Example { x: [*x, *di, 1.0], p: p - 1.0, weight: 1.0 });
            }
        }
        let cv = fit_cv(&ex, &default_cs(), FOLDS);
        let glm = Glm::from_array(cv.coef);
        Ok(LcFit { model: input.model.clone(), glm, c: Some(cv.c), lc_win_rate: glm.lc_win_rate(d, input.rows.len()) })
    }
}

/// Why a set of outputs gets no LC win rate.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum NoLc {
    #[error("{unknown} of {total} instructions are not AlpacaEval's (e.g. {example:?}): LC needs AlpacaEval's instruction set")]
    NotAlpacaEval { unknown: usize, total: usize, example: String },
    #[error("the baseline is `{0}`, not `{BASELINE}`: AlpacaEval's difficulty and gamed rows are for that baseline")]
    Baseline(String),
}

/// `ann` (any order, baseline as `output_1`) reordered into AlpacaEval's instruction
/// order, when every instruction is AlpacaEval's and the baseline is [`BASELINE`].
pub fn align(model: &str, ann: &[Annotation], difficulty: &Difficulty) -> Result<LcInput, NoLc> {
    let index = difficulty.index();
    let unknown: Vec<&Annotation> = ann.iter().filter(|a| !index.contains_key(a.instruction.as_str())).collect();
    if let Some(first) = unknown.first() {
        return Err(NoLc::NotAlpacaEval { unknown: unknown.len(), total: ann.len(), example: first.instruction.chars().take(60).collect() });
    }
    if let Some(a) = ann.iter().find(|a| a.generator_1 != BASELINE) {
        return Err(NoLc::Baseline(a.generator_1.clone()));
    }
    let mut sorted: Vec<&Annotation> = ann.iter().collect();
    sorted.sort_by_key(|a| index[a.instruction.as_str()]);
    let owned: Vec<Annotation> = sorted.into_iter().cloned().collect();
    Ok(LcInput::from_annotations(model, &owned))
}

/// One line for a report: the LC win rate of `ann` (model as `output_2`), or why there
/// is none. `dir` is the alpaca_eval checkout.
pub fn lc_line(dir: &Path, model: &str, ann: &[Annotation]) -> String {
    let ctx = match LcContext::load(dir) {
        Ok(c) => c,
        Err(e) => return format!("LC win rate: none (no usable alpaca_eval checkout: {e}; set ALPACA_EVAL_DIR)"),
    };
    match align(model, ann, &ctx.difficulty).map_err(|e| e.to_string()).and_then(|input| ctx.fit(&input).map_err(|e| e.to_string())) {
        Ok(f) => format!(
            "LC win rate {:.2}% (AlpacaEval's GLM: length {:.4}, difficulty {:.4}, bias {:.4}, C {}; gamed rows from {:?})",
            f.lc_win_rate, f.glm.length, f.glm.difficulty, f.glm.bias, f.c.map_or("-".into(), |c| format!("{c:.4}")), ctx.gamed.source
        ),
        Err(e) => format!("LC win rate: none ({e})"),
    }
}
