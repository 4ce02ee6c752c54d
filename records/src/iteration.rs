//! What one iteration of the loop writes into `iter_<t>/`: the candidates, their
//! self-judgments, the preference pairs, DPO's progress and the iteration's summary.
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Named metrics of one step (`loss`, `rewards/accuracies`, ...).
pub type Metrics = BTreeMap<String, f64>;

/// The N sampled responses of one prompt (`candidates.jsonl`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CandidateSet {
    pub prompt_id: usize,
    pub instruction: String,
    pub responses: Vec<String>,
}

/// The candidates of one prompt with their self-assigned scores (`judgments.jsonl`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Judged {
    pub prompt_id: usize,
    pub instruction: String,
    pub responses: Vec<String>,
    /// Mean valid score per response; `None` when every sample failed to parse.
    pub scores: Vec<Option<f64>>,
    /// Samples per response whose score could not be read.
    pub parse_failures: Vec<usize>,
    /// The first judgment text per response, for inspection.
    pub judgments: Vec<String>,
}

/// A preference pair (`pairs.jsonl`: TRL's DPO format plus where it came from).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pair {
    pub prompt_id: usize,
    pub prompt: String,
    pub chosen: String,
    pub rejected: String,
    pub chosen_score: f64,
    pub rejected_score: f64,
}

/// Training progress (`iter_<t>/dpo.json`, `work/*/progress.json`): resumable state and
/// the curves.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    /// Steps completed.
    pub step: usize,
    /// Training metrics per step (`loss`, `lr`, `grad_norm`, and the loss's own).
    #[serde(deserialize_with = "crate::nan::steps")]
    pub train: Vec<(usize, Metrics)>,
    /// Validation metrics (`loss` and the loss's own) after the given step.
    #[serde(deserialize_with = "crate::nan::steps")]
    pub valid: Vec<(usize, Metrics)>,
    /// Step and validation loss of the best checkpoint so far.
    pub best: Option<(usize, f64)>,
}

/// What one iteration did, printed at its end and saved as `iter_<t>/summary.json`.
/// Fields added later read as their defaults from older runs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct IterSummary {
    pub iteration: usize,
    pub prompts_generated: usize,
    pub prompts_kept: usize,
    pub candidates: usize,
    /// Judge samples whose score could not be read.
    pub parse_failures: usize,
    /// Candidates left without any valid judgment (excluded from pairs).
    pub unscored: usize,
    pub pairs: usize,
    #[serde(deserialize_with = "crate::nan::f64")]
    pub mean_self_score: f64,
    /// Self-scores rounded to the nearest integer, counts for 0..=5.
    pub self_score_hist: [usize; 6],
    #[serde(deserialize_with = "crate::nan::f64")]
    pub mean_len_candidates: f64,
    #[serde(deserialize_with = "crate::nan::f64")]
    pub mean_len_chosen: f64,
    #[serde(deserialize_with = "crate::nan::f64")]
    pub mean_len_rejected: f64,
    /// The world's grader on the same candidates (diagnostic; the loop never sees it).
    #[serde(deserialize_with = "crate::nan::f64")]
    pub grader_mean_candidates: f64,
    /// Fraction of pairs whose chosen response the grader also scores higher.
    #[serde(deserialize_with = "crate::nan::f64")]
    pub pairs_agreeing_with_grader: f64,
    /// Fraction of pairs the grader scores equal, and the fraction it scores the other way.
    #[serde(deserialize_with = "crate::nan::f64")]
    pub pairs_tied_by_grader: f64,
    #[serde(deserialize_with = "crate::nan::f64")]
    pub pairs_against_grader: f64,
    /// DPO validation metrics of the kept checkpoint.
    #[serde(deserialize_with = "crate::nan::map")]
    pub dpo_valid: Metrics,
    pub dpo_best_step: usize,
    /// Seconds per stage (of this process; a resumed stage counts its last part).
    #[serde(deserialize_with = "crate::nan::map")]
    pub seconds: BTreeMap<String, f64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A NaN is written as `null` and read back as NaN; a record from before a field
    /// existed reads with its default; the order of the fields written is the declared one.
    #[test]
    fn undefined_numbers_and_older_records_read_back() {
        let s = IterSummary { iteration: 2, mean_self_score: f64::NAN, dpo_valid: [("loss".to_string(), f64::NAN)].into(), ..Default::default() };
        let json = serde_json::to_string(&s).unwrap();
        assert!(json.starts_with(r#"{"iteration":2,"prompts_generated":0"#) && json.contains(r#""mean_self_score":null"#), "{json}");
        let back: IterSummary = serde_json::from_str(&json).unwrap();
        assert!(back.mean_self_score.is_nan() && back.dpo_valid["loss"].is_nan());
        let old: IterSummary = serde_json::from_str(r#"{"iteration": 1, "pairs": 7}"#).unwrap();
        assert_eq!((old.iteration, old.pairs, old.pairs_tied_by_grader), (1, 7, 0.0));
        let p = Progress { step: 3, train: vec![(1, [("loss".to_string(), f64::NAN)].into())], ..Default::default() };
        let back: Progress = serde_json::from_str(&serde_json::to_string(&p).unwrap()).unwrap();
        assert!(back.train[0].1["loss"].is_nan() && back.step == 3);
    }
}
