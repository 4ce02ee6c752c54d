//! What `srlm-eval run` writes into `eval/`: the summary of the paper's tables
//! (`summary.json`) and the per-item scores behind them (`judge_scores.jsonl`,
//! `test_scores.jsonl`). Numbers that were NaN when written are `null` in JSON and read
//! back as NaN; fields added later read as their defaults from older runs.
use crate::nan;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Everything `make eval` reports, as in `summary.json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EvalSummary {
    /// Model names in order: SFT (the baseline), M1, M2, ...
    pub models: Vec<String>,
    /// Mean grader score (0-5) of each model's responses to the test prompts.
    #[serde(deserialize_with = "nan::map")]
    pub grader_score: BTreeMap<String, f64>,
    /// `"M2_vs_M1"` etc.: wins of the first, ties, losses under the grader.
    pub head_to_head: BTreeMap<String, HeadToHeadRow>,
    /// Each model as a judge of the held-out EFT set, against the grader.
    pub judge: BTreeMap<String, JudgeMetrics>,
    /// Mean response length in characters.
    #[serde(deserialize_with = "nan::map")]
    pub avg_length: BTreeMap<String, f64>,
    /// Mean response length in words.
    #[serde(deserialize_with = "nan::map")]
    pub avg_words: BTreeMap<String, f64>,
    /// Self-assigned scores in each iteration, counts of rounded scores 0..=5.
    pub self_scores: BTreeMap<String, [usize; 6]>,
    /// M_t as the judge of its own candidates in iteration t (the scores the loop used),
    /// against the grader: the signal the pairs could carry. Keyed `"M1"`, `"M2"`, ...
    pub self_judge: BTreeMap<String, JudgeMetrics>,
    /// Share of each model's test responses meeting each rubric criterion (relevant,
    /// substantial, basic elements right, complete and in order, exact): criteria 1-4
    /// are content, the fifth is also form (no extraneous text).
    pub criteria: BTreeMap<String, [f64; 5]>,
    /// Content and form apart: the share of each model's test responses whose content,
    /// chatter stripped, is the reference, and the share carrying chatter (a sign-off or
    /// lead-in, which the rubric's fifth point penalises).
    /// Over single-answer prompts only (absent when the world has none).
    #[serde(deserialize_with = "nan::map")]
    pub content_right: BTreeMap<String, f64>,
    #[serde(deserialize_with = "nan::map")]
    pub chatter: BTreeMap<String, f64>,
    /// Per task family, and over every family (`"all"`): grader score, all requirements
    /// met, content right (single-answer families), per model.
    pub by_family: BTreeMap<String, FamilyStats>,
    /// M_t judging its own candidates of iteration t against the grader, per family and
    /// over every family (`"all"`): accuracy over untied pairs, AUC, tie rate.
    pub own_judging: BTreeMap<String, BTreeMap<String, OwnJudging>>,
    /// IFEval per model (runs with `[eval] ifeval_prompts`).
    pub ifeval: BTreeMap<String, IfevalFigures>,
    /// Each model as a judge of Open Assistant's ranked replies against the human ranks
    /// (runs with `[eval] oa`), and the response-length judge on the same replies.
    pub oa_judge: BTreeMap<String, HumanJudgeRow>,
    pub oa_length_baseline: Option<JudgeMetrics>,
}

/// One model's IFEval figures, in percent, greedy responses.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct IfevalFigures {
    /// Prompts answered (the first `eval.ifeval_limit`).
    pub prompts: usize,
    pub prompt_strict: f64,
    pub instruction_strict: f64,
    pub prompt_loose: f64,
    pub instruction_loose: f64,
    /// Per instruction id: `(instances, strict %, loose %)`.
    pub per_type: BTreeMap<String, (usize, f64, f64)>,
}

/// A model as a judge against human ranks: the paper's Table 4 metrics over the replies
/// it scored, how many it was asked, and the share that ended in a readable score.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct HumanJudgeRow {
    pub metrics: JudgeMetrics,
    pub judged: usize,
    #[serde(deserialize_with = "nan::f64")]
    pub parse_rate: f64,
    /// Judgments that failed because the judge prompt did not fit the context: counted in
    /// `judged`, left out of `parse_rate` (which is over the judgments that fit).
    pub too_long: usize,
}

impl EvalSummary {
    /// `(a, b)` of each head-to-head key `"a_vs_b"`, with its row.
    pub fn comparisons(&self) -> Vec<(String, String, &HeadToHeadRow)> {
        self.head_to_head
            .iter()
            .filter_map(|(k, h)| k.split_once("_vs_").map(|(a, b)| (a.to_string(), b.to_string(), h)))
            .collect()
    }
}

/// One comparison of `head_to_head` (`"M2_vs_M1"`): the first model's wins, ties and losses.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct HeadToHeadRow {
    pub win: usize,
    pub tie: usize,
    pub loss: usize,
    /// Ties counted half, percent.
    #[serde(deserialize_with = "nan::f64")]
    pub win_rate: f64,
    #[serde(deserialize_with = "nan::f64")]
    pub standard_error: f64,
    /// Win minus loss, points.
    #[serde(deserialize_with = "nan::f64")]
    pub net: f64,
}

/// A judge against gold labels (the paper's Table 4): pairwise accuracy, 5-best, exact
/// match, Spearman, Kendall's τ-b.
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
    /// Share of strict gold pairs the judge scored equal.
    #[serde(deserialize_with = "nan::f64")]
    pub tie_rate: f64,
    /// Share of items the judge scored at all.
    #[serde(deserialize_with = "nan::f64")]
    pub coverage: f64,
    pub n_pairs: usize,
    pub n_groups: usize,
}

/// One family's instruction following, per model.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FamilyStats {
    /// Kept out of training entirely (test prompts only).
    pub held_out: bool,
    /// Test prompts of the family.
    pub prompts: usize,
    /// Mean grader score (0-5).
    #[serde(deserialize_with = "nan::map")]
    pub grader_score: BTreeMap<String, f64>,
    /// Share of responses meeting every requirement (rubric criterion 4: content and
    /// every constraint).
    #[serde(deserialize_with = "nan::map")]
    pub all_met: BTreeMap<String, f64>,
    /// Share of responses whose content, chatter stripped, is the one right answer;
    /// empty for families with many right answers.
    #[serde(deserialize_with = "nan::map")]
    pub content_right: BTreeMap<String, f64>,
}

/// How a judge ordered candidates against the grader, within each prompt.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OwnJudging {
    /// Pairs of one prompt's candidates that the grader orders strictly (both scored).
    pub pairs: usize,
    /// Of those, the share the judge scores equal (`None`: no pair).
    pub tie_rate: Option<f64>,
    /// Of those the judge does not tie, the share it orders as the grader does.
    pub accuracy: Option<f64>,
    /// Right against wrong candidates of one prompt: P(self-score of the right one is
    /// higher), ties half (`None`: no such pair).
    pub auc: Option<f64>,
    /// Right/wrong pairs behind `auc`.
    pub auc_pairs: usize,
    /// Share of judgments whose item list is exactly the response's items: whether the judge
    /// read what it judged (constrained tasks; `None` without any).
    #[serde(default)]
    pub read_rate: Option<f64>,
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
