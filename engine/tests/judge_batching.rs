//! A checkpoint judge batches items of similar length together (each batch is padded to
//! its longest prompt) and still returns every item's own judgment, in the items' order.
mod common;
use common::*;
use engine::backend::Generator;
use engine::judge::{Judge, JudgePrompt, LlmJudge};
use engine::{Checkpoint, SampleParams};
use std::sync::Mutex;

/// The checkpoint, recording the prompt lengths of each generation call.
struct Recording<'a> {
    ck: &'a Checkpoint,
    calls: Mutex<Vec<Vec<usize>>>,
}

impl Generator for Recording<'_> {
    fn generate(&self, prompts: &[Vec<u32>], n: usize, params: &SampleParams, seeds: &[u64]) -> engine::Result<Vec<Result<String, String>>> {
        self.calls.lock().unwrap().push(prompts.iter().map(|p| p.len()).collect());
        self.ck.generate(prompts, n, params, seeds)
    }
    fn identity(&self) -> String {
        "recording".into()
    }
}

#[test]
fn judge_batches_by_length_and_answers_in_order() {
    let ck = tiny_model(5);
    // A short template: the tiny model's context is 128 tokens.
    let dir = tempfile::tempdir().unwrap();
    let template = dir.path().join("judge.txt");
    std::fs::write(&template, "Reverse {instruction} -> {response}. Score:").unwrap();
    let items: Vec<(String, String)> = ["a b c d e f g h i j k l", "a", "a b c d e f", "a b", "a b c d e f g h i j", "a b c"]
        .iter()
        .enumerate()
        .map(|(i, s)| (format!("task {i}: {s}"), format!("answer {s}")))
        .collect();
    let run = |batch_size: usize| {
        let gen = Recording { ck: &ck, calls: Mutex::new(vec![]) };
        let mut judge = LlmJudge {
            model: &ck,
            generator: &gen,
            name: "tiny".into(),
            prompt: JudgePrompt::File(template.clone()),
            samples: 2,
            params: SampleParams { temperature: 1.0, top_p: 1.0, max_new_tokens: 5, stop: vec![] },
            seed: 11,
            batch_size,
        };
        let out = judge.judge(&items);
        (out, gen.calls.into_inner().unwrap())
    };
    let (alone, _) = run(1);
    let (batched, calls) = run(2);
    assert_eq!(calls.len(), 3);
    // Sorted by length: each call's prompts are no longer than the next call's.
    for w in calls.windows(2) {
        assert!(w[0].iter().max() <= w[1].iter().min(), "calls {calls:?}");
    }
    let texts = |r: &[Result<engine::judge::Judgment, engine::judge::JudgeFailure>]| -> Vec<Vec<String>> {
        r.iter().map(|j| j.as_ref().map(|j| j.texts.clone()).unwrap_or_else(|e| vec![e.to_string()])).collect()
    };
    assert_eq!(texts(&batched), texts(&alone), "each item's judgment whatever its batch, in the items' order");
    assert!(texts(&alone).iter().flatten().any(|t| !t.is_empty()), "the judge wrote something");
}
