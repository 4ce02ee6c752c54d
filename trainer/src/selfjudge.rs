//! Stage 3, self-judging: M_t scores each of its own candidates with the judge
//! prompt, K samples averaged (or its expected score, as `judge.scoring` says). A candidate with no valid judgment gets no score.
use crate::candidates::{sample_seed, CandidateSet};
use crate::config::JudgeConfig;
use crate::{Error, Result};
use engine::judge::{model_judge_on, JudgeFailure, ModelJudgeSpec};
use engine::{Checkpoint, Generator, SampleParams};

pub use records::Judged;

/// M_t (`model`; its sampled judgments from `generator`) scores `sets`. A backend that
/// failed (a request, the server) fails the chunk with its cause, so the stage resumes
/// there: never counted as unparsable judgments.
pub fn judge(model: &Checkpoint, generator: &dyn Generator, sets: &[CandidateSet], cfg: &JudgeConfig, batch: usize, seed: u64) -> Result<Vec<Judged>> {
    let spec = ModelJudgeSpec {
        name: "self".into(),
        prompt: cfg.prompt.clone(),
        scoring: cfg.scoring,
        samples: cfg.samples,
        params: SampleParams { temperature: cfg.temperature, top_p: cfg.top_p, max_new_tokens: cfg.max_new_tokens, stop: vec![] },
        seed: sample_seed(seed, 3, 0, 0),
        batch_size: batch,
    };
    let mut judge = model_judge_on(model, generator, spec);
    let items: Vec<(String, String)> =
        sets.iter().flat_map(|s| s.responses.iter().map(move |r| (s.instruction.clone(), r.clone()))).collect();
    let results = judge.judge(&items);
    if let Some(Err(e)) = results.iter().find(|r| matches!(r, Err(JudgeFailure::Backend(_)))) {
        return Err(Error::Stage(format!("self-judging: {e}")));
    }
    let mut it = results.into_iter();
    Ok(sets
        .iter()
        .map(|s| {
            let mut j = Judged { prompt_id: s.prompt_id, instruction: s.instruction.clone(), responses: s.responses.clone(), scores: vec![], parse_failures: vec![], judgments: vec![] };
            for _ in &s.responses {
                match it.next() {
                    Some(Ok(jd)) => {
                        j.parse_failures.push(jd.samples.iter().filter(|x| x.is_err()).count());
                        j.judgments.push(jd.texts.first().cloned().unwrap_or_default());
                        j.scores.push(Some(jd.score));
                    }
                    Some(Err(e)) => {
                        j.parse_failures.push(cfg.samples);
                        j.judgments.push(e.to_string());
                        j.scores.push(None);
                    }
                    None => j.scores.push(None),
                }
            }
            j
        })
        .collect())
}
