//! Scoring response files end to end: read Google's formats, evaluate strict and
//! loose, write `summary.json`, `eval_results_strict.jsonl` and
//! `eval_results_loose.jsonl` (atomically) into an output folder.
use super::data::{read_prompts, read_responses, responses_for, write_jsonl, Prompt};
use super::score::{accuracy, evaluate, Mode, Summary};
use crate::{Error, Result};
use std::path::Path;

/// Scores `responses` (prompt text -> response) against `prompts` and writes the three
/// result files into `out`.
pub fn score_into(prompts: &[Prompt], responses: &[&str], out: &Path) -> Result<Summary> {
    let strict = evaluate(prompts, responses, Mode::Strict);
    let loose = evaluate(prompts, responses, Mode::Loose);
    write_jsonl(&out.join("eval_results_strict.jsonl"), &strict)?;
    write_jsonl(&out.join("eval_results_loose.jsonl"), &loose)?;
    let summary = Summary::new(accuracy(&strict), accuracy(&loose));
    let json = serde_json::to_string_pretty(&summary).map_err(|e| Error::Invalid(format!("summary.json: {e}")))?;
    engine::fsutil::write_atomic(&out.join("summary.json"), json.as_bytes())?;
    Ok(summary)
}

/// `srlm-eval ifeval --prompts P --responses R --out DIR`: reads both files (every
/// prompt must have a response), scores and writes the results.
pub fn score_files(prompts: &Path, responses: &Path, out: &Path) -> Result<Summary> {
    let prompts = read_prompts(prompts)?;
    let map = read_responses(responses)?;
    let rs = responses_for(&prompts, &map)?;
    score_into(&prompts, &rs, out)
}
