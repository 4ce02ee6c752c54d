//! Two systems' outputs on one prompt set, judged pair by pair by a pointwise judge
//! (each response scored alone, so presentation order cannot matter; pairwise judges
//! run both orders in `crate::pairwise`).
use crate::alpaca::{Annotation, ModelOutput, Preference};
use crate::judges::compare;
use crate::winrate::{tally, HeadToHead, Verdict};
use crate::{Error, Result};
use engine::judge::{Judge, JudgeFailure};

/// A head-to-head under a judge: the tally of the judged pairs, AlpacaEval annotations
/// (B as `output_1`, A as `output_2`; a pair that could not be judged has a `null`
/// preference), and each failed pair's instruction with its cause.
#[derive(Debug, Clone)]
pub struct Comparison {
    pub tally: HeadToHead,
    pub annotations: Vec<Annotation>,
    pub failures: Vec<(String, JudgeFailure)>,
}

/// Compares A's outputs with B's (matched by instruction) under `judge`, from A's side.
/// A failed judgment is counted in `failures` and left out of the tally: never a tie.
pub fn compare_outputs(a: &[ModelOutput], b: &[ModelOutput], judge: &mut dyn Judge) -> Result<Comparison> {
    let by_ins: std::collections::HashMap<&str, &ModelOutput> = b.iter().map(|o| (o.instruction.as_str(), o)).collect();
    let mut triples = vec![];
    let mut pairs = vec![];
    for x in a {
        let y = by_ins.get(x.instruction.as_str()).ok_or_else(|| Error::Invalid(format!("instruction {:?} of {} has no output from {}", x.instruction, x.generator, b.first().map_or("B", |o| o.generator.as_str()))))?;
        triples.push((x.instruction.clone(), x.output.clone(), y.output.clone()));
        pairs.push((x, *y));
    }
    let verdicts = compare(judge, &triples);
    let annotations = pairs
        .iter()
        .zip(&verdicts)
        .map(|((x, y), v)| Annotation {
            instruction: x.instruction.clone(),
            output_1: y.output.clone(),
            generator_1: y.generator.clone(),
            output_2: x.output.clone(),
            generator_2: x.generator.clone(),
            annotator: judge.name(),
            preference: v.as_ref().ok().map(|v| match v {
                Verdict::A => Preference::SECOND,
                Verdict::B => Preference::FIRST,
                Verdict::Tie => Preference::DRAW,
            }),
        })
        .collect();
    let failures = pairs.iter().zip(&verdicts).filter_map(|((x, _), v)| v.as_ref().err().map(|e| (x.instruction.clone(), e.clone()))).collect();
    Ok(Comparison { tally: tally(verdicts.into_iter().flatten()), annotations, failures })
}
