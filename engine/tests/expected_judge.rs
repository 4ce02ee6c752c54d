//! Expected-score judging on a model whose next-token probabilities are known: every
//! block's output is zeroed, so the last hidden state is the normalised embedding and the
//! logits are whatever the output layer is set to, at every position.
mod common;
use candle_core::{DType, Device, Tensor};
use common::*;
use engine::judge::{model_judge, score_marker, score_tokens, ExpectedMode, JudgePrompt, ModelJudgeSpec, Scoring};
use engine::{Checkpoint, SampleParams};
use std::path::Path;

/// The tiny corpus with enough merges that every score `0`..`5` is one token.
fn tokenizer() -> engine::Tokenizer {
    let corpus: Vec<String> = (0..300).map(|i| format!("Reverse the word apple{i}. Score: {}", i % 6)).collect();
    engine::Tokenizer::train(corpus.iter(), 420).unwrap()
}

/// A model whose logits are `target` (per token id) at every position.
fn constant_logits_model(target: &[f32]) -> Checkpoint {
    let tok = tokenizer();
    let mut cfg = tiny_config(tok.vocab_size());
    cfg.max_position_embeddings = 4096;
    let ck = Checkpoint::init(&cfg, tok, 1, &Device::Cpu).unwrap();
    let (v, e) = (cfg.vocab_size, cfg.hidden_size);
    let mut t = ck.tensors().unwrap();
    for (name, w) in t.iter_mut() {
        if name.contains("o_proj") || name.contains("down_proj") {
            *w = w.zeros_like().unwrap();
        }
    }
    // Embeddings all ones: after RMSNorm (eps 1e-5) the hidden state is 1/sqrt(1 + eps).
    t.insert("model.embed_tokens.weight".into(), Tensor::ones((v, e), DType::F32, &Device::Cpu).unwrap());
    let h = 1.0 / (1.0f64 + cfg.rms_norm_eps).sqrt();
    let rows: Vec<f32> = target.iter().flat_map(|c| std::iter::repeat((*c as f64 / (e as f64 * h)) as f32).take(e)).collect();
    t.insert("lm_head.weight".into(), Tensor::from_vec(rows, (v, e), &Device::Cpu).unwrap());
    Checkpoint::from_tensors(&cfg, t, ck.tokenizer.clone(), DType::F32, &Device::Cpu, Path::new("<constant>")).unwrap()
}

#[test]
fn expected_score_reads_the_score_token_probabilities() {
    let tok = tokenizer();
    let scores = score_tokens(&tok).unwrap();
    // Every token of score k gets logit ln(k + 1); all other tokens 0.
    let mut target = vec![0f32; tok.vocab_size()];
    for (id, k) in &scores {
        target[*id as usize] = ((k + 1.0) as f32).ln();
    }
    let ck = constant_logits_model(&target);
    // By hand: p(token of score k) ∝ k + 1, so E = Σ n_k (k+1) k / Σ n_k (k+1), n_k the
    // number of tokens that spell k.
    let n = |k: f64| scores.iter().filter(|(_, s)| *s == k).count() as f64;
    let (num, den) = (0..6).map(|k| k as f64).fold((0.0, 0.0), |(a, b), k| (a + n(k) * (k + 1.0) * k, b + n(k) * (k + 1.0)));
    let want = num / den;
    for mode in [ExpectedMode::Direct, ExpectedMode::Justified] {
        let spec = ModelJudgeSpec {
            name: "expected".into(),
            prompt: JudgePrompt::Condensed,
            scoring: Scoring::Expected(mode),
            samples: 1,
            params: SampleParams { temperature: 0.0, top_p: 1.0, max_new_tokens: 5, stop: vec![] },
            seed: 0,
            batch_size: 2,
        };
        let mut judge = model_judge(&ck, spec);
        let items = vec![("Reverse the word apple1".to_string(), "elppa1".to_string()), ("Sort 3 1 2".to_string(), "1 2 3".to_string())];
        for r in judge.judge(&items) {
            let j = r.unwrap();
            assert!((j.score - want).abs() < 1e-4, "{mode:?}: {} vs {want}", j.score);
        }
    }
    // A model that puts no mass on score tokens gives a typed failure, not a score.
    let mut target = vec![0f32; tok.vocab_size()];
    for (id, _) in &scores {
        target[*id as usize] = -40.0;
    }
    let ck = constant_logits_model(&target);
    let spec = ModelJudgeSpec { name: "e".into(), prompt: JudgePrompt::Condensed, scoring: Scoring::Expected(ExpectedMode::Direct), samples: 1, params: SampleParams::default(), seed: 0, batch_size: 1 };
    let r = model_judge(&ck, spec).judge(&[("a".into(), "b".into())]);
    assert!(r[0].is_err(), "{:?}", r[0]);
}

#[test]
fn the_score_is_read_after_the_space_where_space_and_digit_are_two_tokens() {
    // Merged: " 4" is one token, read right after "Score:".
    assert_eq!(score_marker(&tokenizer()).unwrap(), "Score:");
    // No merges at all (byte-level alphabet only): " 4" is two tokens, read after "Score: ".
    let corpus: Vec<String> = (0..50).map(|i| format!("Score: {}", i % 6)).collect();
    let bytes = engine::Tokenizer::train(corpus.iter(), 1).unwrap();
    assert!(bytes.encode(" 4").unwrap().len() == 2);
    assert_eq!(score_marker(&bytes).unwrap(), "Score: ");
}
