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
    score_first(prompts, 0, responses, out)
}

/// [`score_files`] on the first `limit` prompts only (0: all).
pub fn score_first(prompts: &Path, limit: usize, responses: &Path, out: &Path) -> Result<Summary> {
    let prompts = first(read_prompts(prompts)?, limit);
    let map = read_responses(responses)?;
    let rs = responses_for(&prompts, &map)?;
    score_into(&prompts, &rs, out)
}

/// `srlm-eval ifeval`: score responses to Google's prompts (or generate them with
/// `--model`), writing `summary.json` and `eval_results_{strict,loose}.jsonl` into `--out`.
#[derive(Debug, Clone, clap::Args)]
pub struct IfevalArgs {
    /// Google's prompt file (`input_data.jsonl`: key, prompt, instruction_id_list, kwargs).
    #[arg(long)]
    pub prompts: std::path::PathBuf,
    /// Responses in Google's format (`prompt`, `response` per line), matched by prompt text.
    #[arg(long, conflicts_with = "model", required_unless_present = "model")]
    pub responses: Option<std::path::PathBuf>,
    /// A model the engine loads (`.gguf`, checkpoint folder, hub id): answer the prompts
    /// with its chat template, write `<out>/responses.jsonl`, then score.
    #[arg(long)]
    pub model: Option<String>,
    /// Output folder.
    #[arg(long)]
    pub out: std::path::PathBuf,
    /// With --model: most new tokens per response (clamped to the model's context).
    #[arg(long, default_value_t = 512)]
    pub max_new_tokens: usize,
    /// With --model: sampling temperature (0 is greedy).
    #[arg(long, default_value_t = 0.0)]
    pub temperature: f64,
    /// With --model: prompts per batch.
    #[arg(long, default_value_t = 8)]
    pub batch_size: usize,
    /// Only the first this many prompts (0: all), e.g. to compare with a run's
    /// `eval.ifeval_limit`.
    #[arg(long, default_value_t = 0)]
    pub limit: usize,
}

fn first(mut prompts: Vec<super::Prompt>, limit: usize) -> Vec<super::Prompt> {
    if limit > 0 {
        prompts.truncate(limit);
    }
    prompts
}

/// Scores the given responses, or generates them with the model first; prints the table.
pub fn run(args: &IfevalArgs, rt: &engine::Runtime) -> Result<Summary> {
    let s = match (&args.responses, &args.model) {
        (Some(r), _) => score_first(&args.prompts, args.limit, r, &args.out)?,
        (None, Some(m)) => {
            let opts = super::GenOptions { max_new_tokens: args.max_new_tokens, temperature: args.temperature, batch_size: args.batch_size, ..Default::default() };
            let ck = rt.load(m)?;
            super::generate_and_score(&ck, &first(read_prompts(&args.prompts)?, args.limit), &args.out, &opts)?
        }
        (None, None) => return Err(Error::Invalid("give --responses or --model".into())),
    };
    print!("{}", s.table());
    eprintln!("wrote {}", args.out.join("summary.json").display());
    Ok(s)
}
