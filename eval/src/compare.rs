//! Two systems' outputs on one prompt set, judged pair by pair (`srlm-eval compare`).
//! A pointwise judge scores each response alone, so presentation order cannot matter; a
//! pairwise judge runs both orders (`crate::pairwise`).
use crate::alpaca::{read_json_array, write_json_array, Annotation, ModelOutput};
use crate::judges::{HeadToHeadJudge, JudgeBackend, Verdicts};
use crate::winrate::{tally, HeadToHead};
use crate::{Error, Result};
use engine::judge::JudgeFailure;
use std::path::PathBuf;

/// `srlm-eval compare`: two `model_outputs.json` files, the judge between them and
/// where the results go.
#[derive(Debug, Clone, clap::Args)]
pub struct CompareArgs {
    /// A's `model_outputs.json`: the model whose win rate is reported (AlpacaEval's `output_2`).
    #[arg(long)]
    pub a: PathBuf,
    /// B's `model_outputs.json`: the baseline (AlpacaEval's `output_1`).
    #[arg(long)]
    pub b: PathBuf,
    /// TOML file with a `[judge]` table (see eval::judges::JudgeBackend); default: the grader.
    #[arg(long)]
    pub judge: Option<PathBuf>,
    /// World prompts (`test_prompts.jsonl`) the grader needs.
    #[arg(long)]
    pub prompts: Option<PathBuf>,
    /// Judgment cache (JSONL); re-running never re-judges.
    #[arg(long, default_value = "target/judge_cache.jsonl")]
    pub cache: PathBuf,
    /// Where to write AlpacaEval annotations.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// alpaca_eval checkout for the LC win rate, reported when A's prompts are
    /// AlpacaEval's and B is `gpt4_1106_preview` (default: `ALPACA_EVAL_DIR`, else
    /// ../shared/data/alpaca_eval).
    #[arg(long)]
    pub alpaca_eval_dir: Option<PathBuf>,
    /// Exit 0 even when some pairs could not be judged (they are still left out).
    #[arg(long)]
    pub allow_failures: bool,
}

/// A head-to-head under a judge: the tally of the judged pairs, AlpacaEval annotations
/// (B as `output_1`, A as `output_2`; a pair that could not be judged has a `null`
/// preference), and each failed pair's instruction with its cause.
#[derive(Debug, Clone)]
pub struct Comparison {
    pub tally: HeadToHead,
    pub annotations: Vec<Annotation>,
    pub failures: Vec<(String, JudgeFailure)>,
    /// A pairwise judge's share of single-order verdicts for the response shown first.
    pub position_bias: Option<f64>,
}

/// Each of A's outputs with B's output to the same instruction; an A output that B
/// never answered is returned as the error.
fn matched<'o>(a: &'o [ModelOutput], b: &'o [ModelOutput]) -> std::result::Result<Vec<(&'o ModelOutput, &'o ModelOutput)>, &'o ModelOutput> {
    let by_ins: std::collections::HashMap<&str, &ModelOutput> = b.iter().map(|o| (o.instruction.as_str(), o)).collect();
    a.iter().map(|x| by_ins.get(x.instruction.as_str()).map(|y| (x, *y)).ok_or(x)).collect()
}

/// `(instruction, A's output, B's output)` per pair.
fn triples(pairs: &[(&ModelOutput, &ModelOutput)]) -> Vec<(String, String, String)> {
    pairs.iter().map(|(x, y)| (x.instruction.clone(), x.output.clone(), y.output.clone())).collect()
}

/// Compares A's outputs with B's (matched by instruction) under `judge`, pointwise or
/// pairwise, from A's side. A failed judgment is counted in `failures` and left out of the
/// tally: never a tie.
pub fn compare_outputs(a: &[ModelOutput], b: &[ModelOutput], judge: &mut dyn HeadToHeadJudge) -> Result<Comparison> {
    let pairs = matched(a, b).map_err(|x| Error::Invalid(format!("instruction {:?} of {} has no output from {}", x.instruction, x.generator, b.first().map_or("B", |o| o.generator.as_str()))))?;
    let Verdicts { verdicts, position_bias } = judge.verdicts(&triples(&pairs));
    let annotations = pairs
        .iter()
        .zip(&verdicts)
        .map(|((x, y), v)| Annotation {
            instruction: x.instruction.clone(),
            output_1: y.output.clone(),
            generator_1: y.generator.clone(),
            output_2: x.output.clone(),
            generator_2: x.generator.clone(),
            annotator: judge.annotator(),
            preference: v.as_ref().ok().map(|v| v.preference()),
        })
        .collect();
    let failures = pairs.iter().zip(&verdicts).filter_map(|((x, _), v)| v.as_ref().err().map(|e| (x.instruction.clone(), e.clone()))).collect();
    Ok(Comparison { tally: tally(verdicts.into_iter().flatten()), annotations, failures, position_bias })
}

/// Runs `srlm-eval compare`: builds the judge the arguments name (the grader by
/// default; pointwise judgments cached in `--cache`), judges A against B and prints the
/// head-to-head, a pairwise judge's position bias, and the LC win rate where it applies;
/// writes the annotations to `--out`. Pairs that could not be judged are an error unless
/// `--allow-failures`.
pub fn run(args: &CompareArgs, rt: &engine::Runtime) -> Result<()> {
    let backend = match &args.judge {
        None => JudgeBackend::Grader,
        Some(p) => JudgeBackend::read(p)?,
    };
    let a: Vec<ModelOutput> = read_json_array(&args.a)?;
    let b: Vec<ModelOutput> = read_json_array(&args.b)?;
    let mut slot = None;
    let mut judge = backend.build(rt, args.prompts.as_deref(), &mut slot, Some(args.cache.clone()))?;
    let c = compare_outputs(&a, &b, judge.as_mut())?;
    let (h, ann) = (c.tally, c.annotations);
    let bias = c.position_bias.map_or(String::new(), |p| format!("; position bias {:.1}% first", 100.0 * p));
    println!("{} vs {}: {h}; {} of {} pairs not judged{bias}", args.a.display(), args.b.display(), c.failures.len(), ann.len());
    for (ins, e) in c.failures.iter().take(5) {
        eprintln!("not judged: {:?}: {e}", ins.chars().take(60).collect::<String>());
    }
    if c.position_bias.is_some() && h.total() == 0 && !ann.is_empty() {
        return Err(Error::Invalid(format!(
            "no readable verdict from {} in {} pairs (causes above): is the judge trained on its prompt?",
            judge.annotator(),
            ann.len()
        )));
    }
    let dir = crate::lc::difficulty::alpaca_eval_dir(args.alpaca_eval_dir.clone());
    println!("{}", crate::lc::lc_line(&dir, &a.first().map_or(String::new(), |o| o.generator.clone()), &ann));
    if let Some(o) = &args.out {
        write_json_array(o, &ann)?;
    }
    if !c.failures.is_empty() && !args.allow_failures {
        return Err(Error::Invalid(format!(
            "{} of {} pairs could not be judged (causes above; they are left out, never ties); pass --allow-failures to accept a partial comparison",
            c.failures.len(),
            ann.len()
        )));
    }
    Ok(())
}
