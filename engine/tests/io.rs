//! Checkpoints, the hub cache, the tokenizer, log-probs and sampling.
mod common;
use engine::model::Track;
use candle_core::{DType, Device, Tensor};
use common::*;
use engine::hub::HubModel;
use engine::logprob::{sequence_logprobs, token_logprobs, SeqBatch};
use engine::{generate, Checkpoint, SampleParams};

#[test]
fn checkpoint_round_trips_exactly_in_hf_layout() -> anyhow::Result<()> {
    let ck = tiny_model(11);
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("m1");
    ck.save(&path)?;
    for f in ["config.json", "model.safetensors", "tokenizer.json", "generation_config.json"] {
        assert!(path.join(f).exists(), "{f} missing");
    }
    let cfg: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path.join("config.json"))?)?;
    assert_eq!(cfg["architectures"][0], "LlamaForCausalLM");
    assert_eq!(cfg["model_type"], "llama");
    let back = Checkpoint::load(&path, DType::F32, &Device::Cpu)?;
    let (a, b) = (ck.tensors()?, back.tensors()?);
    assert_eq!(a.len(), b.len());
    for (name, t) in &a {
        assert_eq!(max_abs_diff(t, &b[name]), 0.0, "{name} changed");
    }
    // Overwriting an existing checkpoint leaves no temporary directories behind.
    back.save(&path)?;
    let names: Vec<_> = std::fs::read_dir(dir.path())?.map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, vec![std::ffi::OsString::from("m1")]);
    Ok(())
}

#[test]
fn loading_reports_missing_tensors_and_bad_json_by_file() -> anyhow::Result<()> {
    let ck = tiny_model(12);
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("m");
    ck.save(&path)?;
    let mut t = ck.tensors()?;
    t.remove("model.norm.weight");
    candle_core::safetensors::save(&t, path.join("model.safetensors"))?;
    let err = Checkpoint::load(&path, DType::F32, &Device::Cpu).err().unwrap().to_string();
    assert!(err.contains("model.norm.weight") && err.contains(&path.display().to_string()), "{err}");
    std::fs::write(path.join("config.json"), "{\n \"hidden_size\": 32,\n oops\n}")?;
    let err = Checkpoint::load(&path, DType::F32, &Device::Cpu).err().unwrap().to_string();
    assert!(err.contains("config.json") && err.contains("line 3"), "{err}");
    Ok(())
}

/// Writes `files` into a hub-cache layout for `repo` at a fake commit, like huggingface_hub does.
fn write_cache(cache: &std::path::Path, repo: &str, src: &std::path::Path, files: &[&str]) {
    let folder = cache.join(format!("models--{}", repo.replace('/', "--")));
    let commit = "0123456789abcdef0123456789abcdef01234567";
    std::fs::create_dir_all(folder.join("refs")).unwrap();
    std::fs::write(folder.join("refs/main"), commit).unwrap();
    let snap = folder.join("snapshots").join(commit);
    std::fs::create_dir_all(&snap).unwrap();
    for f in files {
        std::fs::copy(src.join(f), snap.join(f)).unwrap();
    }
}

#[test]
fn hub_cache_loads_offline_and_names_what_is_missing() -> anyhow::Result<()> {
    let ck = tiny_model(13);
    let tmp = tempfile::tempdir()?;
    let src = tmp.path().join("src");
    ck.save(&src)?;
    let cache = tmp.path().join("hub");
    write_cache(&cache, "tiny-org/tiny-llama", &src, &["config.json", "tokenizer.json", "model.safetensors"]);
    let mut hub = HubModel::new("tiny-org/tiny-llama");
    hub.cache_dir = cache.clone();
    let dir = hub.snapshot_dir()?;
    let loaded = Checkpoint::load(&dir, DType::F32, &Device::Cpu)?;
    let x = Tensor::new(&[[1u32, 2, 3]], &Device::Cpu)?;
    assert_eq!(max_abs_diff(&ck.model.forward(&x)?, &loaded.model.forward(&x)?), 0.0);

    // A repo with no weights: the error names repo, revision, file and cache path.
    write_cache(&cache, "tiny-org/no-weights", &src, &["config.json", "tokenizer.json"]);
    let mut hub = HubModel::new("tiny-org/no-weights");
    hub.cache_dir = cache.clone();
    let err = hub.snapshot_dir().err().unwrap().to_string();
    for part in ["tiny-org/no-weights", "main", "model.safetensors.index.json", &cache.display().to_string()] {
        assert!(err.contains(part), "`{part}` not in: {err}");
    }
    Ok(())
}

#[test]
fn tokenizer_round_trips_text_and_special_tokens() -> anyhow::Result<()> {
    let tok = tiny_tokenizer();
    assert_eq!(tok.template, engine::ChatTemplate::Embedded);
    let text = "Reverse the word apple12. The answer is elppa12. ünïcödé ✓";
    assert_eq!(tok.decode(&tok.encode(text)?)?, text);
    let (p, r) = tok.encode_pair("Sort 3 1 2", "1 2 3")?;
    assert_eq!(*r.last().unwrap(), tok.eos_ids[0]);
    assert_eq!(p[0], tok.inner.token_to_id("<|user|>").unwrap());
    let dir = tempfile::tempdir()?;
    tok.save(&dir.path().join("tokenizer.json"))?;
    let back = engine::Tokenizer::from_file(&dir.path().join("tokenizer.json"))?;
    assert_eq!(back.encode(text)?, tok.encode(text)?);
    Ok(())
}

#[test]
fn sequence_logprobs_sum_response_tokens_only() -> anyhow::Result<()> {
    let ck = tiny_model(14);
    let pairs = vec![(vec![5u32, 6, 7], vec![8u32, 9]), (vec![5u32], vec![10u32, 11, 12, 13])];
    let batch = SeqBatch::new(&pairs, ck.tokenizer.pad_id, 64, &Device::Cpu)?;
    assert_eq!(batch.n_tokens, 6);
    let lp = sequence_logprobs(&ck.model, &batch, Track::Off)?.to_vec1::<f32>()?;
    // Hand computation row by row from an unpadded forward and a log-softmax.
    for (r, (p, resp)) in pairs.iter().enumerate() {
        let full: Vec<u32> = p.iter().chain(resp).copied().collect();
        let n = full.len();
        let logits = ck.model.forward(&Tensor::from_vec(full.clone(), (1, n), &Device::Cpu)?)?;
        let ls = candle_nn::ops::log_softmax(&logits, 2)?.squeeze(0)?.to_vec2::<f32>()?;
        let want: f32 = (p.len()..n).map(|j| ls[j - 1][full[j] as usize]).sum();
        assert!((lp[r] - want).abs() < 1e-4, "row {r}: {} vs {want}", lp[r]);
    }
    // token_logprobs against a two-token hand example: logits [0, ln 3] -> p = [1/4, 3/4].
    let logits = Tensor::new(&[[[0f32, 3f32.ln()]]], &Device::Cpu)?;
    let t = token_logprobs(&logits, &Tensor::new(&[[1u32]], &Device::Cpu)?)?.to_vec2::<f32>()?;
    assert!((t[0][0] - 0.75f32.ln()).abs() < 1e-6);
    Ok(())
}

#[test]
fn sampling_is_seeded_batched_and_left_padded_correctly() -> anyhow::Result<()> {
    let ck = tiny_model(15);
    let tok = &ck.tokenizer;
    let prompts = vec![tok.encode_prompt("Reverse the word apple3.")?, tok.encode_prompt("Sort")?];
    assert_ne!(prompts[0].len(), prompts[1].len());
    let params = SampleParams { temperature: 1.0, top_p: 0.9, max_new_tokens: 12, stop: vec![] };
    let a = generate(&ck.model, tok, &prompts, 2, &params, &[1, 2, 3, 4])?;
    let b = generate(&ck.model, tok, &prompts, 2, &params, &[1, 2, 3, 4])?;
    assert_eq!(a, b, "same seeds, same text");
    assert_eq!(a.len(), 4);
    // A row's sample does not depend on its batch mates or on padding.
    let alone = generate(&ck.model, tok, &prompts[1..], 1, &params, &[3])?;
    assert_eq!(alone[0].tokens, a[2].tokens);
    let c = generate(&ck.model, tok, &prompts, 2, &params, &[9, 10, 11, 12])?;
    assert_ne!(a, c, "other seeds, other text");
    // Greedy equals the argmax of the training path, step by step.
    let greedy = SampleParams { temperature: 0.0, max_new_tokens: 5, ..params.clone() };
    let g = generate(&ck.model, tok, &prompts[..1], 1, &greedy, &[0])?;
    let mut seq = prompts[0].clone();
    for &t in &g[0].tokens {
        let logits = ck.model.forward(&Tensor::from_vec(seq.clone(), (1, seq.len()), &Device::Cpu)?)?;
        let last = logits.squeeze(0)?.get(seq.len() - 1)?.argmax(0)?.to_scalar::<u32>()?;
        assert_eq!(last, t);
        seq.push(t);
    }
    // Stop strings cut the text and end the row.
    let first = tok.decode(&a[0].tokens[..1])?;
    if !first.trim().is_empty() {
        let stop = SampleParams { stop: vec![first.clone()], ..params };
        let s = generate(&ck.model, tok, &prompts[..1], 1, &stop, &[1])?;
        assert_eq!(s[0].finish, engine::sample::Finish::Stop);
        assert!(!s[0].text.contains(&first));
    }
    Ok(())
}

/// Prompts with a long common beginning (a judge template's rubric) prefill it once and
/// share it: every row samples what it samples alone (where nothing is shared), prompts of
/// different lengths included.
#[test]
fn a_shared_prompt_prefix_samples_as_each_prompt_alone() -> anyhow::Result<()> {
    let ck = tiny_model(16);
    let tok = &ck.tokenizer;
    let rubric = "Score it: a point if relevant, one if useful. ";
    let prompts: Vec<Vec<u32>> = ["Sort", "Reverse the word apple3.", "Count the letters in banana and say how many."]
        .iter()
        .map(|t| tok.encode_prompt(&format!("{rubric}{t}")))
        .collect::<engine::Result<_>>()?;
    let common = prompts[0].iter().zip(&prompts[1]).take_while(|(a, b)| a == b).count();
    assert!(common >= 32, "the prompts share {common} tokens");
    let params = SampleParams { temperature: 1.0, top_p: 0.9, max_new_tokens: 10, stop: vec![] };
    let together = generate(&ck.model, tok, &prompts, 2, &params, &[1, 2, 3, 4, 5, 6])?;
    for (i, p) in prompts.iter().enumerate() {
        let alone = generate(&ck.model, tok, std::slice::from_ref(p), 2, &params, &[2 * i as u64 + 1, 2 * i as u64 + 2])?;
        assert_eq!(alone[0].tokens, together[2 * i].tokens, "prompt {i}, sample 0");
        assert_eq!(alone[1].tokens, together[2 * i + 1].tokens, "prompt {i}, sample 1");
    }
    Ok(())
}
