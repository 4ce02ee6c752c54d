//! The run folder's JSON files as typed records. These mirror what `srlm` and
//! `srlm-eval` write (trainer's `IterSummary`, DPO progress, eval's `Summary`)
//! without depending on those crates, so reading a run never builds candle.
//! Fields added later are `#[serde(default)]`, so older runs still read. A number
//! that was NaN when written is `null` in JSON and reads back as NaN.
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Named metrics of one step (`loss`, `rewards/accuracies`, ...).
pub type Metrics = BTreeMap<String, f64>;

/// `iter_<t>/summary.json`: what iteration t did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct IterSummary {
    pub iteration: usize,
    pub prompts_generated: usize,
    pub prompts_kept: usize,
    pub candidates: usize,
    pub parse_failures: usize,
    pub unscored: usize,
    pub pairs: usize,
    #[serde(deserialize_with = "nan::f64")]
    pub mean_self_score: f64,
    pub self_score_hist: [usize; 6],
    #[serde(deserialize_with = "nan::f64")]
    pub mean_len_candidates: f64,
    #[serde(deserialize_with = "nan::f64")]
    pub mean_len_chosen: f64,
    #[serde(deserialize_with = "nan::f64")]
    pub mean_len_rejected: f64,
    #[serde(deserialize_with = "nan::f64")]
    pub grader_mean_candidates: f64,
    #[serde(deserialize_with = "nan::f64")]
    pub pairs_agreeing_with_grader: f64,
    #[serde(deserialize_with = "nan::f64")]
    pub pairs_tied_by_grader: f64,
    #[serde(deserialize_with = "nan::f64")]
    pub pairs_against_grader: f64,
    #[serde(deserialize_with = "nan::map")]
    pub dpo_valid: Metrics,
    pub dpo_best_step: usize,
    #[serde(deserialize_with = "nan::map")]
    pub seconds: BTreeMap<String, f64>,
}

/// `iter_<t>/dpo.json` (and `m1.train.json`): training progress.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TrainLog {
    pub step: usize,
    #[serde(deserialize_with = "nan::steps")]
    pub train: Vec<(usize, Metrics)>,
    #[serde(deserialize_with = "nan::steps")]
    pub valid: Vec<(usize, Metrics)>,
    pub best: Option<(usize, f64)>,
}

/// One comparison of `eval/summary.json`'s `head_to_head` (`"M2_vs_M1"`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct HeadToHead {
    pub win: usize,
    pub tie: usize,
    pub loss: usize,
    #[serde(deserialize_with = "nan::f64")]
    pub win_rate: f64,
    #[serde(deserialize_with = "nan::f64")]
    pub standard_error: f64,
    #[serde(deserialize_with = "nan::f64")]
    pub net: f64,
}

/// A model as a judge of the held-out EFT set, against the grader (the paper's Table 4).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct JudgeMetrics {
    #[serde(deserialize_with = "nan::f64")]
    pub pairwise_accuracy: f64,
    pub five_best: Option<f64>,
    #[serde(deserialize_with = "nan::f64")]
    pub exact_match: f64,
    #[serde(deserialize_with = "nan::f64")]
    pub spearman: f64,
    #[serde(deserialize_with = "nan::f64")]
    pub kendall_tau: f64,
    #[serde(deserialize_with = "nan::f64")]
    pub tie_rate: f64,
    #[serde(deserialize_with = "nan::f64")]
    pub coverage: f64,
    pub n_pairs: usize,
    pub n_groups: usize,
}

/// `eval/summary.json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EvalSummary {
    pub models: Vec<String>,
    #[serde(deserialize_with = "nan::map")]
    pub grader_score: BTreeMap<String, f64>,
    pub head_to_head: BTreeMap<String, HeadToHead>,
    pub judge: BTreeMap<String, JudgeMetrics>,
    #[serde(deserialize_with = "nan::map")]
    pub avg_length: BTreeMap<String, f64>,
    #[serde(deserialize_with = "nan::map")]
    pub avg_words: BTreeMap<String, f64>,
    pub self_scores: BTreeMap<String, [usize; 6]>,
    /// M_t judging its own candidates of iteration t, against the grader.
    pub self_judge: BTreeMap<String, JudgeMetrics>,
    /// Share of each model's test responses meeting each of the five rubric criteria.
    pub criteria: BTreeMap<String, [f64; 5]>,
    /// Share of each model's test responses whose content (chatter stripped) is the reference.
    #[serde(deserialize_with = "nan::map")]
    pub content_right: BTreeMap<String, f64>,
    /// Share of each model's test responses carrying chatter (a sign-off or lead-in).
    #[serde(deserialize_with = "nan::map")]
    pub chatter: BTreeMap<String, f64>,
}

impl EvalSummary {
    /// `(a, b)` of each head-to-head key `"a_vs_b"`, with its row.
    pub fn comparisons(&self) -> Vec<(String, String, &HeadToHead)> {
        self.head_to_head
            .iter()
            .filter_map(|(k, h)| k.split_once("_vs_").map(|(a, b)| (a.to_string(), b.to_string(), h)))
            .collect()
    }
}

/// One line of `eval/judge_scores.jsonl`: a model's score of one held-out EFT response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JudgeScore {
    pub model: String,
    /// The instruction group (responses to the same instruction share it).
    pub group: usize,
    pub family: String,
    /// Response length in words.
    pub words: usize,
    /// The world's grader score (0-5), the stand-in for a human label.
    #[serde(deserialize_with = "nan::f64")]
    pub grader: f64,
    /// The model's averaged judge score; `None` when no judge sample could be read.
    pub score: Option<f64>,
}

/// One line of `eval/test_scores.jsonl`: a model's greedy answer to a test prompt, graded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestScore {
    pub model: String,
    pub prompt_id: usize,
    pub family: String,
    pub words: usize,
    #[serde(deserialize_with = "nan::f64")]
    pub grader: f64,
}

/// `null` (how serde_json writes NaN) read back as NaN.
mod nan {
    use super::Metrics;
    use serde::{Deserialize, Deserializer};
    use std::collections::BTreeMap;

    pub fn f64<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
    }

    pub fn map<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, f64>, D::Error> {
        Ok(BTreeMap::<String, Option<f64>>::deserialize(d)?.into_iter().map(|(k, v)| (k, v.unwrap_or(f64::NAN))).collect())
    }

    pub fn steps<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<(usize, Metrics)>, D::Error> {
        Ok(Vec::<(usize, BTreeMap<String, Option<f64>>)>::deserialize(d)?
            .into_iter()
            .map(|(s, m)| (s, m.into_iter().map(|(k, v)| (k, v.unwrap_or(f64::NAN))).collect()))
            .collect())
    }
}
