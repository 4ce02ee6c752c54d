//! Judges behind the trait: the grader, the disk cache, both-order comparison.
use engine::judge::{Judge, JudgeFailure, Judgment};
use eval::alpaca::ModelOutput;
use eval::judges::{CachedJudge, GraderJudge};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Scores a response by its length (capped at 5) and counts how many items it judged.
struct Counting(Arc<AtomicUsize>);
impl Judge for Counting {
    fn name(&self) -> String {
        "len".into()
    }
    fn judge(&mut self, items: &[(String, String)]) -> Vec<Result<Judgment, JudgeFailure>> {
        self.0.fetch_add(items.len(), Ordering::SeqCst);
        items.iter().map(|(_, r)| Ok(Judgment { score: (r.len() as f64).min(5.0), samples: vec![], texts: vec![] })).collect()
    }
}

fn outs(gen: &str, xs: &[(&str, &str)]) -> Vec<ModelOutput> {
    xs.iter().map(|(i, o)| ModelOutput { instruction: i.to_string(), output: o.to_string(), generator: gen.into(), dataset: "t".into() }).collect()
}

#[test]
fn cache_never_rejudges_and_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cache.jsonl");
    let calls = Arc::new(AtomicUsize::new(0));
    let items = vec![("q1".to_string(), "abc".to_string()), ("q2".to_string(), "abcdefg".to_string())];
    let mut j = CachedJudge::new(Box::new(Counting(calls.clone())), path.clone()).unwrap();
    let first: Vec<f64> = j.judge(&items).into_iter().map(|r| r.unwrap().score).collect();
    assert_eq!(first, [3.0, 5.0]);
    j.judge(&items);
    assert_eq!(calls.load(Ordering::SeqCst), 2, "cached items were judged again");
    let mut j2 = CachedJudge::new(Box::new(Counting(calls.clone())), path).unwrap();
    let again: Vec<f64> = j2.judge(&items).into_iter().map(|r| r.unwrap().score).collect();
    assert_eq!(again, first);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[test]
fn grader_head_to_head_in_both_orders() {
    let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(3);
    let tasks: Vec<world::Task> = (0..3).map(|_| world::Family::Reverse.sample(&mut rng, 1)).collect();
    let a: Vec<(&str, &str)> = vec![(&tasks[0].instruction, &tasks[0].reference), (&tasks[1].instruction, "cat"), (&tasks[2].instruction, &tasks[2].reference)];
    let b: Vec<(&str, &str)> = vec![(&tasks[0].instruction, "hello"), (&tasks[1].instruction, &tasks[1].reference), (&tasks[2].instruction, &tasks[2].reference)];
    let mut g = GraderJudge { tasks: tasks.iter().map(|t| (t.instruction.clone(), t.clone())).collect() };
    let c = eval::compare::compare_outputs(&outs("A", &a), &outs("B", &b), &mut g).unwrap();
    let (h, ann) = (c.tally, c.annotations);
    assert_eq!((h.win, h.tie, h.loss), (1, 1, 1));
    assert!(c.failures.is_empty());
    assert_eq!(ann[0].preference.unwrap().value(), 2.0); // A is output_2 and won
    assert_eq!(ann[1].preference.unwrap().value(), 1.0);
    assert_eq!(ann[2].preference.unwrap().value(), 1.5);
    // An instruction B never answered is an error naming it.
    let err = eval::compare::compare_outputs(&outs("A", &[("unseen", "x")]), &outs("B", &b), &mut g).unwrap_err().to_string();
    assert!(err.contains("unseen"), "{err}");
}

#[test]
fn pairwise_llm_judge_runs_both_orders_and_reports_position_bias() {
    // An untrained tiny model: its verdicts are noise, but every pair gets a verdict, an
    // order disagreement becomes a tie, and failures are counted rather than guessed.
    let text: Vec<String> = (0..50).map(|i| format!("Preferred: A Preferred: B response {i}")).collect();
    let tok = engine::Tokenizer::train(text.iter(), 300).unwrap();
    let cfg = engine::Config::llama(tok.vocab_size(), 16, 32, 1, 2, 2, 512);
    let ck = engine::Checkpoint::init(&cfg, tok, 1, &candle_core::Device::Cpu).unwrap();
    let j = eval::pairwise::PairwiseLlmJudge { name: "tiny".into(), model: &ck, params: engine::SampleParams { temperature: 1.0, top_p: 1.0, max_new_tokens: 6, stop: vec![] }, seed: 3, batch_size: 4 };
    let triples: Vec<(String, String, String)> = (0..6).map(|i| (format!("q{i}"), "a".to_string(), "b".to_string())).collect();
    let r = j.compare(&triples).unwrap();
    assert_eq!(r.verdicts.len(), 6);
    // 6 pairs × 2 orders; a pair with an unreadable verdict is left out, never a tie.
    let left_out = r.verdicts.iter().filter(|v| v.is_err()).count();
    assert!(left_out <= r.failures && (r.failures == 0) == (left_out == 0), "{r:?}");
    if r.failures == 12 {
        assert_eq!(left_out, 6);
        assert_eq!(r.position_bias, 0.0);
    }
    assert!((0.0..=1.0).contains(&r.position_bias));
    assert_eq!(j.compare(&triples).unwrap(), r, "seeded: the same verdicts again");
}

/// Fails on responses containing "boom" (as a closed port or an unreadable score would).
struct Flaky;
impl Judge for Flaky {
    fn name(&self) -> String {
        "flaky".into()
    }
    fn judge(&mut self, items: &[(String, String)]) -> Vec<Result<Judgment, JudgeFailure>> {
        items.iter().map(|(_, r)| if r.contains("boom") { Err(JudgeFailure::Backend("connection refused".into())) } else { Ok(Judgment { score: r.len() as f64, samples: vec![], texts: vec![] }) }).collect()
    }
}

/// A pair whose judgment failed is counted with its cause and left out: not a tie, not
/// a score, and its annotation's preference is null.
#[test]
fn failed_judgments_are_failures_not_ties() {
    let a = vec![("q1", "long answer"), ("q2", "boom"), ("q3", "x")];
    let b = vec![("q1", "short"), ("q2", "fine"), ("q3", "boom too")];
    let c = eval::compare::compare_outputs(&outs("A", &a), &outs("B", &b), &mut Flaky).unwrap();
    assert_eq!((c.tally.win, c.tally.tie, c.tally.loss), (1, 0, 0));
    assert_eq!(c.failures.len(), 2);
    assert!(c.failures.iter().all(|(_, e)| e.to_string().contains("connection refused")));
    assert_eq!(c.failures[0].0, "q2");
    assert!(c.annotations[1].preference.is_none() && c.annotations[2].preference.is_none());
    assert!(c.annotations[0].preference.is_some());
}

/// The judgment cache keys on everything that changes a judgment: prompt text, scoring,
/// samples, sampling settings and the model's weights.
#[test]
fn checkpoint_identity_changes_with_prompt_sampling_and_weights() {
    use engine::judge::{JudgePrompt, Scoring};
    let dir = tempfile::tempdir().unwrap();
    let w = dir.path().join("m.gguf");
    std::fs::write(&w, b"one").unwrap();
    let p = engine::SampleParams { temperature: 0.7, top_p: 0.9, max_new_tokens: 64, stop: vec![] };
    let id = |prompt: &JudgePrompt, scoring, samples, p: &engine::SampleParams| eval::judges::checkpoint_identity(&w, prompt, scoring, samples, p);
    let base = id(&JudgePrompt::Paper, Scoring::Sampled, 3, &p);
    assert_eq!(base, id(&JudgePrompt::Paper, Scoring::Sampled, 3, &p));
    assert_ne!(base, id(&JudgePrompt::Condensed, Scoring::Sampled, 3, &p));
    assert_ne!(base, id(&JudgePrompt::Paper, Scoring::Expected(engine::judge::ExpectedMode::Direct), 3, &p));
    assert_ne!(base, id(&JudgePrompt::Paper, Scoring::Sampled, 1, &p));
    assert_ne!(base, id(&JudgePrompt::Paper, Scoring::Sampled, 3, &engine::SampleParams { temperature: 1.0, ..p.clone() }));
    std::fs::write(&w, b"other weights").unwrap();
    assert_ne!(base, id(&JudgePrompt::Paper, Scoring::Sampled, 3, &p));
}

#[test]
fn a_pairwise_judge_is_built_from_its_config_with_its_sampling_and_judges_behind_the_one_trait() {
    let dir = tempfile::tempdir().unwrap();
    let text: Vec<String> = (0..50).map(|i| format!("Preferred: A Preferred: B response {i}")).collect();
    let tok = engine::Tokenizer::train(text.iter(), 300).unwrap();
    let cfg = engine::Config::llama(tok.vocab_size(), 16, 32, 1, 2, 2, 512);
    let ck_dir = dir.path().join("ck");
    engine::Checkpoint::init(&cfg, tok, 1, &candle_core::Device::Cpu).unwrap().save(&ck_dir).unwrap();
    let toml_path = dir.path().join("judge.toml");
    let write = |sampling: &str| std::fs::write(&toml_path, format!("[judge]\ntype = \"checkpoint_pairwise\"\npath = {:?}\nsampling = {sampling}\n", ck_dir.display().to_string())).unwrap();
    write("{ temperature = 1.0, max_new_tokens = 5, seed = 7 }");
    let backend = eval::judges::JudgeBackend::read(&toml_path).unwrap();
    let eval::judges::JudgeBackend::CheckpointPairwise { sampling, .. } = &backend else { panic!("{backend:?}") };
    assert_eq!((sampling.temperature, sampling.top_p, sampling.max_new_tokens, sampling.seed), (1.0, 1.0, 5, 7), "unset fields keep the pairwise defaults");
    let mut slot = None;
    let mut judge = backend.build(&engine::Runtime::default(), None, &mut slot, None).unwrap();
    let triples: Vec<(String, String, String)> = (0..4).map(|i| (format!("q{i}"), "a".to_string(), "b".to_string())).collect();
    let v = judge.verdicts(&triples);
    assert_eq!(v.verdicts.len(), 4);
    assert!(v.position_bias.is_some(), "a pairwise judge reports its position bias");
    assert!(judge.annotator().contains("pairwise"), "{}", judge.annotator());
    // A pointwise judge behind the same trait reports none.
    let mut g = GraderJudge { tasks: Default::default() };
    let pv = eval::judges::HeadToHeadJudge::verdicts(&mut g, &triples);
    assert!(pv.position_bias.is_none() && pv.verdicts.iter().all(|r| r.is_err()), "no task: failures, not ties");
    // A bad sampling value is refused when the file is read, naming its key.
    write("{ temperature = -1.0 }");
    let err = eval::judges::JudgeBackend::read(&toml_path).unwrap_err().to_string();
    assert!(err.contains("judge.sampling.temperature"), "{err}");
}
