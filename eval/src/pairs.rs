//! Per task family: how the world's grader sees the preference pairs an iteration's
//! self-judging chose (`srlm-eval pairs`): does the chosen response grade above the
//! rejected one?
use crate::Result;
use records::{Pair, RunDir};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use world::records::PromptRecord;

/// `srlm-eval pairs`: the run and the iteration whose pairs to grade.
#[derive(Debug, Clone, clap::Args)]
pub struct PairsArgs {
    /// Run name under runs_dir.
    #[arg(long, default_value = "default")]
    pub name: String,
    /// Folder holding runs.
    #[arg(long, default_value = "runs")]
    pub runs_dir: PathBuf,
    /// The iteration whose pairs to grade (`iter_<t>/pairs.jsonl`).
    #[arg(long, default_value_t = 1)]
    pub iteration: usize,
}

/// The grader's view of one family's pairs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PairCounts {
    /// The chosen response grades above the rejected one.
    pub agree: usize,
    /// Both grade the same.
    pub tie: usize,
    /// The chosen response grades below the rejected one.
    pub against: usize,
}

impl PairCounts {
    /// Pairs counted.
    pub fn total(&self) -> usize {
        self.agree + self.tie + self.against
    }
}

/// Grades both responses of each pair whose prompt has a world task, counted per family
/// (pairs of self-instructed prompts without a task are left out).
pub fn grade_pairs(prompts: &[PromptRecord], pairs: &[Pair]) -> BTreeMap<String, PairCounts> {
    let tasks: HashMap<usize, &world::Task> = prompts.iter().filter_map(|p| p.task.as_ref().map(|t| (p.id, t))).collect();
    let mut by: BTreeMap<String, PairCounts> = BTreeMap::new();
    for p in pairs {
        let Some(t) = tasks.get(&p.prompt_id) else { continue };
        let (c, r) = (world::grade(t, &p.chosen).score, world::grade(t, &p.rejected).score);
        let e = by.entry(t.family.name().to_string()).or_default();
        match c.cmp(&r) {
            std::cmp::Ordering::Greater => e.agree += 1,
            std::cmp::Ordering::Equal => e.tie += 1,
            std::cmp::Ordering::Less => e.against += 1,
        }
    }
    by
}

/// The counts as the text table `srlm-eval pairs` prints.
pub fn table(by: &BTreeMap<String, PairCounts>) -> String {
    let mut s = format!("{:14} {:>6} {:>6} {:>6} {:>6}\n", "family", "agree", "tie", "against", "pairs");
    for (f, c) in by {
        s.push_str(&format!("{f:14} {:6} {:6} {:6} {:6}\n", c.agree, c.tie, c.against, c.total()));
    }
    s
}

/// Runs `srlm-eval pairs`: reads the iteration's prompts and pairs, grades them and
/// prints the per-family table.
pub fn run(args: &PairsArgs) -> Result<()> {
    let run = RunDir::new(&args.runs_dir, &args.name);
    let it = run.iter(args.iteration);
    let prompts: Vec<PromptRecord> = run.read_jsonl(&format!("{it}/prompts.jsonl"))?;
    let pairs: Vec<Pair> = run.read_jsonl(&format!("{it}/pairs.jsonl"))?;
    print!("{}", table(&grade_pairs(&prompts, &pairs)));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_columns_agree_tie_against_total() {
        let by = BTreeMap::from([("lists".to_string(), PairCounts { agree: 5, tie: 2, against: 1 })]);
        assert_eq!(table(&by), "family          agree    tie against  pairs\nlists               5      2      1      8\n");
    }
}
