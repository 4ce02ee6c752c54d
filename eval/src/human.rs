//! Judges against human judgments on public data (`srlm-eval agreement`): GPT-4 against
//! MT-Bench's human votes, and any judge against Open Assistant's ranked replies (the
//! paper's Table 4 metrics, with how many judgments could be read and how many pairs tied).
use crate::agreement::{human_agreement, judge_metrics, Item, JudgeMetrics};
use crate::datasets::{load_mtbench, load_oa_ranked, OaGroup};
use crate::judges::JudgeBackend;
use crate::Result;
use engine::judge::{Judge, JudgeFailure};
use records::HumanJudgeRow;
use std::path::PathBuf;

/// `srlm-eval agreement`: the public human judgments to measure on, and optionally a judge.
#[derive(Debug, Clone, clap::Args)]
pub struct AgreementArgs {
    /// MT-Bench `human_vs_gpt4pair_slim.csv`: GPT-4 vs human per turn.
    #[arg(long)]
    pub mtbench: Option<PathBuf>,
    /// Open Assistant `en_100_tree.jsonl`: Table 4 metrics of a response-length judge
    /// (and of `--judge`).
    #[arg(long)]
    pub oa: Option<PathBuf>,
    /// TOML with a `[judge]` table (`type = "checkpoint"` or `"remote"`, as for
    /// `compare`) to measure against the Open Assistant rankings.
    #[arg(long)]
    pub judge: Option<PathBuf>,
    /// Only the first this many Open Assistant reply groups.
    #[arg(long)]
    pub groups: Option<usize>,
}

/// Runs `srlm-eval agreement`, printing each result as it is ready: GPT-4's agreement
/// with the MT-Bench humans per turn; on Open Assistant, the length judge's Table 4
/// metrics, then `--judge`'s (built by [`JudgeBackend::pointwise`]).
pub fn run(args: &AgreementArgs, rt: &engine::Runtime) -> Result<()> {
    if let Some(p) = &args.mtbench {
        let votes = load_mtbench(p)?;
        for turn in [1, 2] {
            let v: Vec<_> = votes.iter().filter(|x| x.turn == turn).map(|x| (x.human, x.gpt4)).collect();
            let a = human_agreement(&v);
            println!("turn {turn}: GPT-4 vs human agreement {:.1}% with ties (n={}), {:.1}% without ties (n={})", 100.0 * a.with_ties, a.n_with_ties, 100.0 * a.without_ties, a.n_without_ties);
        }
    }
    let Some(p) = &args.oa else { return Ok(()) };
    let mut ranked = load_oa_ranked(p)?;
    ranked.truncate(args.groups.unwrap_or(usize::MAX));
    println!("length judge on {} Open Assistant reply groups: {:#?}", ranked.len(), length_judge(&ranked));
    if let Some(j) = &args.judge {
        let backend = JudgeBackend::read(j)?;
        let name = format!("{backend:?}");
        let mut slot = None;
        let mut judge = backend.pointwise(rt, None, &mut slot)?;
        let a = judge_against_humans(judge.as_mut(), &ranked);
        println!("{name} on the same groups: {} replies, parse rate {:.3}\n{:#?}", a.judged, a.parse_rate, a.metrics);
    }
    Ok(())
}

/// The response-length judge (the longer reply scores higher) against the human ranks:
/// the baseline a judge has to beat.
pub fn length_judge(groups: &[OaGroup]) -> JudgeMetrics {
    let items: Vec<Item> = groups
        .iter()
        .enumerate()
        .flat_map(|(g, x)| x.replies.iter().map(move |(t, r)| Item { group: g, gold: -(*r as f64), pred: Some(t.chars().count() as f64) }))
        .collect();
    judge_metrics(&items)
}

/// Scores every reply of `groups` with `judge` (reply against the message it answers)
/// and compares the scores with the human ranks (rank 0 best).
pub fn judge_against_humans(judge: &mut dyn Judge, groups: &[OaGroup]) -> HumanJudgeRow {
    let items: Vec<(String, String)> = groups.iter().flat_map(|g| g.replies.iter().map(|(r, _)| (g.prompt.clone(), r.clone()))).collect();
    let results = judge.judge(&items);
    let too_long = results.iter().filter(|r| matches!(r, Err(JudgeFailure::PromptTooLong { .. }))).count();
    let scores: Vec<Option<f64>> = results.iter().map(|r| r.as_ref().ok().map(|j| j.score)).collect();
    against_humans(groups, &scores, too_long)
}

/// Per-reply scores (in `groups`' order; `None`: the judgment failed) against the human
/// ranks: the Table 4 metrics, and the parse rate over the judgments whose prompt fit
/// (`too_long` of the failures did not).
pub fn against_humans(groups: &[OaGroup], scores: &[Option<f64>], too_long: usize) -> HumanJudgeRow {
    let gold = groups.iter().enumerate().flat_map(|(g, x)| x.replies.iter().map(move |(_, rank)| (g, -(*rank as f64))));
    let rows: Vec<Item> = gold.zip(scores).map(|((group, gold), pred)| Item { group, gold, pred: *pred }).collect();
    let ok = scores.iter().filter(|s| s.is_some()).count();
    HumanJudgeRow { metrics: judge_metrics(&rows), judged: scores.len(), parse_rate: ok as f64 / (scores.len() - too_long).max(1) as f64, too_long }
}
