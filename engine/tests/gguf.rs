//! GGUF files load with the logits of the same weights from safetensors: a tiny model
//! written here (no download) with Q4_1 and Q8_0 matrices, Q/K rows permuted the way
//! llama.cpp's converter stores them, tied embeddings, and the tokenizer in the metadata.
mod common;
use candle_core::quantized::gguf_file::{self, Value};
use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{DType, Device, Tensor};
use common::*;
use engine::gguf::weights::{gguf_name, permute};
use engine::{Checkpoint, Config};
use std::collections::HashMap;
use std::path::Path;

const TEMPLATE: &str = "{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\n' + m['content'] + '<|im_end|>\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

fn config(vocab: usize) -> Config {
    // hidden 64 (two 32-wide quantization blocks), 4 query heads over 2 key/value heads
    let mut c = Config::llama(vocab, 64, 96, 2, 4, 2, 256);
    c.tie_word_embeddings = true;
    c.rope_theta = 50_000.0;
    c.rms_norm_eps = 1e-6;
    c
}

struct Written {
    reference: HashMap<String, Tensor>,
    tokens: Vec<String>,
}

/// Writes `ck` as a GGUF file at `path` (with `arch` and `pre` as given) and returns the
/// dequantized weights in Hugging Face layout (what the file holds).
fn write_gguf(ck: &Checkpoint, path: &Path, arch: &str, pre: &str) -> Written {
    let cfg = ck.config();
    let mut qtensors = vec![];
    let mut reference = HashMap::new();
    let mut names: Vec<(String, Tensor)> = ck.tensors().unwrap().into_iter().collect();
    names.sort_by(|a, b| a.0.cmp(&b.0));
    for (i, (name, w)) in names.iter().enumerate() {
        let (g, q) = if w.rank() == 2 {
            let dtype = if name.contains("embed") || i % 2 == 0 { GgmlDType::Q8_0 } else { GgmlDType::Q4_1 };
            let stored = if name.contains("q_proj") {
                permute(w, cfg.num_attention_heads).unwrap()
            } else if name.contains("k_proj") {
                permute(w, cfg.num_kv_heads()).unwrap()
            } else {
                w.clone()
            };
            let q = QTensor::quantize(&stored, dtype).unwrap();
            reference.insert(name.clone(), QTensor::quantize(w, dtype).unwrap().dequantize(&Device::Cpu).unwrap());
            (gguf_name(name).unwrap(), q)
        } else {
            reference.insert(name.clone(), w.clone());
            (gguf_name(name).unwrap(), QTensor::quantize(w, GgmlDType::F32).unwrap())
        };
        qtensors.push((g, q));
    }
    let vocab = ck.tokenizer.inner.get_vocab(true);
    let mut tokens: Vec<(String, u32)> = vocab.into_iter().collect();
    tokens.sort_by_key(|t| t.1);
    let tokens: Vec<String> = tokens.into_iter().map(|t| t.0).collect();
    let json: serde_json::Value = serde_json::from_str(&ck.tokenizer.inner.to_string(false).unwrap()).unwrap();
    let merges: Vec<String> = json["model"]["merges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| match m {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Array(p) => format!("{} {}", p[0].as_str().unwrap(), p[1].as_str().unwrap()),
            _ => panic!("merge {m}"),
        })
        .collect();
    let special = |t: &str| t.starts_with("<|") && t.ends_with("|>");
    let eos = tokens.iter().position(|t| t == "<|eos|>").unwrap() as u32;
    let s = |x: &str| Value::String(x.into());
    let u = |x: usize| Value::U32(x as u32);
    let meta: Vec<(String, Value)> = vec![
        ("general.architecture".into(), s(arch)),
        (format!("{arch}.block_count"), u(cfg.num_hidden_layers)),
        (format!("{arch}.context_length"), u(cfg.max_position_embeddings)),
        (format!("{arch}.embedding_length"), u(cfg.hidden_size)),
        (format!("{arch}.feed_forward_length"), u(cfg.intermediate_size)),
        (format!("{arch}.attention.head_count"), u(cfg.num_attention_heads)),
        (format!("{arch}.attention.head_count_kv"), u(cfg.num_kv_heads())),
        (format!("{arch}.rope.freq_base"), Value::F32(cfg.rope_theta as f32)),
        (format!("{arch}.attention.layer_norm_rms_epsilon"), Value::F32(cfg.rms_norm_eps as f32)),
        ("tokenizer.ggml.model".into(), s("gpt2")),
        ("tokenizer.ggml.pre".into(), s(pre)),
        ("tokenizer.ggml.tokens".into(), Value::Array(tokens.iter().map(|t| s(t)).collect())),
        ("tokenizer.ggml.token_type".into(), Value::Array(tokens.iter().map(|t| Value::I32(if special(t) { 3 } else { 1 })).collect())),
        ("tokenizer.ggml.merges".into(), Value::Array(merges.iter().map(|m| s(m)).collect())),
        ("tokenizer.ggml.eos_token_id".into(), Value::U32(eos)),
        ("tokenizer.chat_template".into(), s(TEMPLATE)),
    ];
    let meta_refs: Vec<(&str, &Value)> = meta.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let tensor_refs: Vec<(&str, &QTensor)> = qtensors.iter().map(|(n, q)| (n.as_str(), q)).collect();
    let mut f = std::fs::File::create(path).unwrap();
    gguf_file::write(&mut f, &meta_refs, &tensor_refs).unwrap();
    Written { reference, tokens }
}

fn logits(ck: &Checkpoint, ids: &[u32]) -> Tensor {
    let x = Tensor::new(ids, &Device::Cpu).unwrap().unsqueeze(0).unwrap();
    ck.model.forward(&x).unwrap()
}

#[test]
fn gguf_equals_the_same_weights_from_safetensors() -> anyhow::Result<()> {
    let tok = tiny_tokenizer();
    let ck = Checkpoint::init(&config(tok.vocab_size()), tok, 5, &Device::Cpu)?;
    let dir = tempfile::tempdir()?;
    let gguf = dir.path().join("tiny.gguf");
    let w = write_gguf(&ck, &gguf, "llama", "gpt2");
    let reference = Checkpoint::from_tensors(ck.config(), w.reference, ck.tokenizer.clone(), DType::F32, &Device::Cpu, Path::new("<ref>"))?;
    reference.save(&dir.path().join("ref"))?;
    let from_st = Checkpoint::load(&dir.path().join("ref"), DType::F32, &Device::Cpu)?;
    let from_gguf = Checkpoint::load(&gguf, DType::F32, &Device::Cpu)?;
    let mut want = ck.config().clone();
    want.eos_token_id = Some(engine::model::TokenIds::One(from_gguf.tokenizer.eos_ids[0]));
    assert_eq!(from_gguf.config(), &want, "config from the metadata");
    let ids: Vec<u32> = (0..40).map(|i| (i * 37 % 290) as u32).collect();
    let (a, b) = (logits(&from_st, &ids), logits(&from_gguf, &ids));
    let d = max_abs_diff(&a, &b);
    assert!(d < 1e-5, "logits differ by {d}");
    // Without un-permuting Q and K the logits would differ: the check can fail.
    let mut wrong = from_gguf.tensors()?;
    let q = "model.layers.0.self_attn.q_proj.weight";
    wrong.insert(q.into(), permute(&wrong[q], 4)?);
    let wrong = Checkpoint::from_tensors(ck.config(), wrong, ck.tokenizer.clone(), DType::F32, &Device::Cpu, Path::new("<wrong>"))?;
    assert!(max_abs_diff(&a, &logits(&wrong, &ids)) > 1e-3);
    // The tokenizer: the same vocabulary, control tokens whole, the model's own template.
    let t = &from_gguf.tokenizer;
    assert_eq!(t.vocab_size(), w.tokens.len());
    let p = t.encode_prompt("apple")?;
    let user = w.tokens.iter().position(|x| x == "<|user|>").unwrap();
    assert!(!p.is_empty() && t.template.end_of_turn() == "<|eos|>");
    assert_eq!(t.template.prompt("apple")?, "<|im_start|>user\napple<|im_end|>\n<|im_start|>assistant\n");
    assert_eq!(t.encode("<|user|>")?, vec![user as u32]);
    assert_eq!(t.decode(&t.encode("Reverse the word apple7.")?)?, "Reverse the word apple7.");
    // Saved as a Hugging Face folder, the model keeps its template (tokenizer_config.json).
    from_gguf.save(&dir.path().join("hf"))?;
    let back = Checkpoint::load(&dir.path().join("hf"), DType::F32, &Device::Cpu)?;
    assert_eq!(back.tokenizer.template, from_gguf.tokenizer.template);
    assert_eq!(back.tokenizer.eos_ids, from_gguf.tokenizer.eos_ids);
    assert_eq!(max_abs_diff(&b, &logits(&back, &ids)), 0.0);
    Ok(())
}

#[test]
fn unknown_architecture_and_pre_tokenizer_are_named() -> anyhow::Result<()> {
    let tok = tiny_tokenizer();
    let ck = Checkpoint::init(&config(tok.vocab_size()), tok, 6, &Device::Cpu)?;
    let dir = tempfile::tempdir()?;
    let p = dir.path().join("a.gguf");
    write_gguf(&ck, &p, "falcon", "gpt2");
    let e = Checkpoint::load(&p, DType::F32, &Device::Cpu).err().unwrap().to_string();
    assert!(e.contains("general.architecture") && e.contains("falcon") && e.contains("a.gguf"), "{e}");
    let p = dir.path().join("b.gguf");
    write_gguf(&ck, &p, "llama", "tekken");
    let e = Checkpoint::load(&p, DType::F32, &Device::Cpu).err().unwrap().to_string();
    assert!(e.contains("tokenizer.ggml.pre") && e.contains("tekken"), "{e}");
    let p = dir.path().join("c.gguf");
    std::fs::write(&p, b"GGUF not really")?;
    let e = Checkpoint::load(&p, DType::F32, &Device::Cpu).err().unwrap().to_string();
    assert!(e.contains("c.gguf"), "{e}");
    Ok(())
}
