//! Public benchmarks of a run's models (`[eval]` in the run's config): IFEval on Google's
//! prompts (greedy, scored by [`crate::ifeval`]), each model as a judge of Open Assistant's
//! human-ranked replies (the paper's Table 4), and greedy outputs for AlpacaEval's
//! instructions in its `model_outputs.json` format. Generation and judging go in resumable
//! chunks under `eval/<model>/`, so a stopped `make eval` picks up where it was.
use crate::alpaca::{write_json_array, ModelOutput};
use crate::datasets::OaGroup;
use crate::ifeval::data::Prompt;
use crate::Result;
use engine::judge::JudgeFailure;
use engine::{Checkpoint, SampleParams};
use records::{HumanJudgeRow, IfevalFigures};
use serde::{Deserialize, Serialize};
use trainer::{EvalConfig, RunConfig, RunDir};

/// The benchmarks' inputs, read (and checked) once before any model is loaded.
pub struct PublicSets {
    pub ifeval: Option<Vec<Prompt>>,
    pub oa: Option<Vec<OaGroup>>,
    pub alpaca: Option<Vec<String>>,
}

impl PublicSets {
    /// Reads every file `[eval]` names; a missing or malformed one is an error naming
    /// its key and file.
    pub fn read(e: &EvalConfig) -> Result<Self> {
        let named = |key: &str, err: crate::Error| crate::Error::Invalid(format!("`{key}`: {err}"));
        let ifeval = match &e.ifeval_prompts {
            Some(p) => Some(EvalConfig::first(&crate::ifeval::data::read_prompts(p).map_err(|x| named("eval.ifeval_prompts", x))?, e.ifeval_limit)),
            None => None,
        };
        let oa = match &e.oa {
            Some(p) => Some(EvalConfig::first(&crate::datasets::load_oa_ranked(p).map_err(|x| named("eval.oa", x))?, e.oa_groups)),
            None => None,
        };
        let alpaca = match &e.alpaca_instructions {
            Some(p) => Some(EvalConfig::first(&trainer::answer::read_instructions(p).map_err(|x| named("eval.alpaca_instructions", x.into()))?, e.alpaca_limit)),
            None => None,
        };
        Ok(Self { ifeval, oa, alpaca })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Answer {
    response: String,
}

/// Greedy answers to `instructions` through the model's chat template, in resumable
/// chunks under `dir`; a batch's token budget is clamped to the model's context.
fn answers(run: &RunDir, cfg: &RunConfig, dir: &str, label: &str, ck: &Checkpoint, instructions: &[String], max_new_tokens: usize) -> Result<Vec<String>> {
    let params = SampleParams { temperature: 0.0, top_p: 1.0, max_new_tokens, stop: vec![] };
    // One chunk per core (evaluation runs one thread per job).
    let rows = trainer::stage::chunked(run, dir, label, instructions, cfg.eval.batch_size, cfg.workers(), |c, xs| {
        let out = trainer::answer::answer_all(ck, xs, &params, xs.len(), c as u64, label)?;
        Ok(out.into_iter().map(|response| Answer { response }).collect::<Vec<_>>())
    })?;
    Ok(rows.into_iter().map(|a| a.response).collect())
}

/// IFEval of one model: responses in Google's format and the scores under
/// `eval/<name>/ifeval/`.
pub fn ifeval(run: &RunDir, cfg: &RunConfig, name: &str, ck: &Checkpoint, prompts: &[Prompt]) -> Result<IfevalFigures> {
    let texts: Vec<String> = prompts.iter().map(|p| p.prompt.clone()).collect();
    let out = answers(run, cfg, &format!("eval/{name}/ifeval/parts"), &format!("{name} IFEval"), ck, &texts, cfg.eval.ifeval_max_new_tokens)?;
    let s = crate::ifeval::generate::write_and_score(prompts, out, &run.path(&format!("eval/{name}/ifeval")))?;
    Ok(IfevalFigures {
        prompts: prompts.len(),
        prompt_strict: s.prompt_level_strict,
        instruction_strict: s.instruction_level_strict,
        prompt_loose: s.prompt_level_loose,
        instruction_loose: s.instruction_level_loose,
        per_type: s.per_type.iter().map(|(k, t)| (k.clone(), (t.total, t.strict, t.loose))).collect(),
    })
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Judgment {
    score: Option<f64>,
    /// The failure's text when there is no score.
    failure: Option<String>,
    too_long: bool,
}

/// Judge prompts per forward on Open Assistant: its replies run to ~1,000 tokens, and 16 such
/// prompts at 135M parameters were killed at 24 GB (measured on the SmolLM2 profile).
const OA_JUDGE_BATCH: usize = 4;

/// One model as a judge (the run's judge settings) of every reply in `groups`, against
/// the human ranks; judgments under `eval/<name>/oa/`.
pub fn oa_judge(run: &RunDir, cfg: &RunConfig, name: &str, ck: &Checkpoint, groups: &[OaGroup]) -> Result<HumanJudgeRow> {
    let items: Vec<(usize, String, String, u32)> =
        groups.iter().enumerate().flat_map(|(g, x)| x.replies.iter().map(move |(r, rank)| (g, x.prompt.clone(), r.clone(), *rank))).collect();
    let rows = trainer::stage::chunked(run, &format!("eval/{name}/oa"), &format!("{name} judges OA"), &items, cfg.iterate.batch_size, cfg.workers(), |c, xs| {
        let spec = engine::judge::ModelJudgeSpec { batch_size: OA_JUDGE_BATCH, ..crate::run::judge_spec(cfg, name, c) };
        let mut j = engine::judge::model_judge(ck, spec);
        let pairs: Vec<(String, String)> = xs.iter().map(|(_, p, r, _)| (p.clone(), r.clone())).collect();
        Ok(j.judge(&pairs)
            .into_iter()
            .map(|r| match r {
                Ok(x) => Judgment { score: Some(x.score), failure: None, too_long: false },
                Err(e) => Judgment { score: None, too_long: matches!(e, JudgeFailure::PromptTooLong { .. }), failure: Some(e.to_string()) },
            })
            .collect::<Vec<_>>())
    })?;
    let scores: Vec<Option<f64>> = rows.iter().map(|j| j.score).collect();
    Ok(crate::human::against_humans(groups, &scores, rows.iter().filter(|j| j.too_long).count()))
}

/// One model's greedy outputs to AlpacaEval's instructions, written as
/// `eval/<name>/alpaca_eval/model_outputs.json`.
pub fn alpaca_outputs(run: &RunDir, cfg: &RunConfig, name: &str, ck: &Checkpoint, instructions: &[String]) -> Result<()> {
    let out = answers(run, cfg, &format!("eval/{name}/alpaca_eval/parts"), &format!("{name} AlpacaEval"), ck, instructions, cfg.eval.alpaca_max_new_tokens)?;
    let mo: Vec<ModelOutput> = instructions
        .iter()
        .zip(out)
        .map(|(i, o)| ModelOutput { instruction: i.clone(), output: o, generator: format!("{}_{name}", cfg.name), dataset: "alpaca_eval".into() })
        .collect();
    write_json_array(&run.path(&format!("eval/{name}/alpaca_eval/model_outputs.json")), &mo)
}
