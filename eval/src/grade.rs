//! Any model's outputs on the world's prompts, under the world's grader: the mean score
//! and how often every requirement is met, overall and per task family (how a real model
//! such as SmolLM2 fares on the embedded default's test prompts).
use crate::alpaca::ModelOutput;
use crate::{Error, Result};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use world::records::PromptRecord;

/// Grader statistics of one set of outputs.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct GradeStats {
    pub n: usize,
    /// Mean grader score (0..=5).
    pub score: f64,
    /// Share of outputs meeting every requirement (the rubric's fourth criterion).
    pub all_met: f64,
}

/// Overall (key `all`) and per family.
/// [`grade_outputs`] on files: AlpacaEval-format outputs and world prompts (JSONL); an
/// output whose instruction is not among the prompts is an error naming the file and element.
pub fn grade_files(outputs: &std::path::Path, prompts: &std::path::Path) -> Result<BTreeMap<String, GradeStats>> {
    let outs: Vec<ModelOutput> = crate::alpaca::read_json_array(outputs)?;
    let recs: Vec<PromptRecord> = records::read_jsonl(prompts)?;
    let known: std::collections::HashSet<&str> = recs.iter().filter(|p| p.task.is_some()).map(|p| p.instruction.as_str()).collect();
    if let Some(i) = outs.iter().position(|o| !known.contains(o.instruction.as_str())) {
        let head: String = outs[i].instruction.chars().take(60).collect();
        return Err(Error::Parse { path: outputs.into(), loc: format!("element {i}"), msg: format!("instruction {head:?} is not one of the world's prompts in {}", prompts.display()) });
    }
    grade_outputs(&outs, &recs)
}

pub fn grade_outputs(outputs: &[ModelOutput], prompts: &[PromptRecord]) -> Result<BTreeMap<String, GradeStats>> {
    let tasks: HashMap<&str, &world::Task> = prompts.iter().filter_map(|p| p.task.as_ref().map(|t| (p.instruction.as_str(), t))).collect();
    let mut sums: BTreeMap<String, (usize, f64, f64)> = BTreeMap::new();
    for o in outputs {
        let task = tasks.get(o.instruction.as_str()).ok_or_else(|| Error::Invalid(format!("instruction {:?} is not one of the world's prompts given", o.instruction.chars().take(60).collect::<String>())))?;
        let g = world::grade(task, &o.output);
        for key in [task.family.name(), crate::families::ALL] {
            let e = sums.entry(key.to_string()).or_default();
            *e = (e.0 + 1, e.1 + g.score as f64, e.2 + g.criteria[3] as u8 as f64);
        }
    }
    Ok(sums.into_iter().map(|(k, (n, s, m))| (k, GradeStats { n, score: s / n as f64, all_met: m / n as f64 })).collect())
}

/// `srlm-eval grade`: any model's outputs on the world's prompts under the world's grader.
#[derive(Debug, Clone, clap::Args)]
pub struct GradeArgs {
    /// The outputs to grade (AlpacaEval's `model_outputs.json` format).
    #[arg(long)]
    pub outputs: std::path::PathBuf,
    /// The world prompts they answer (`runs/<name>/seed/test_prompts.jsonl`).
    #[arg(long)]
    pub prompts: std::path::PathBuf,
}

/// Grades the files and prints one row per family (and `all`).
pub fn run(args: &GradeArgs) -> Result<()> {
    let stats = grade_files(&args.outputs, &args.prompts)?;
    println!("{:16} {:>5} {:>6} {:>8}", "family", "n", "score", "all met");
    for (f, g) in stats {
        println!("{f:16} {:5} {:6.2} {:8.3}", g.n, g.score, g.all_met);
    }
    Ok(())
}
