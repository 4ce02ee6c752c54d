//! Our checkpoints exported to GGUF read back through our GGUF loader: the same config,
//! the same tokens for the same text, the same chat prompt, and logits identical at F32
//! (close at F16 and Q8_0, each file smaller than the last); Qwen2's biases and Llama's
//! Q/K permutation survive the round trip.
mod common;
use candle_core::{DType, Device, Tensor};
use common::*;
use engine::gguf::{export, GgufType};
use engine::Checkpoint;

fn logits(ck: &Checkpoint, ids: &[u32]) -> Tensor {
    let x = Tensor::new(ids, &Device::Cpu).unwrap().unsqueeze(0).unwrap();
    ck.model.forward(&x).unwrap()
}

const TEXTS: [&str; 4] = ["Reverse the word apple7.", "<|user|>\nSort 3 1 2\n<|assistant|>\n1 2 3<|eos|>", "Score: 4", "  two  spaces, then elppa12 "];

fn round_trip(ck: &Checkpoint, ty: GgufType, dir: &std::path::Path) -> anyhow::Result<(Checkpoint, u64)> {
    let path = dir.join(format!("m_{ty:?}.gguf"));
    export(ck, &path, ty)?;
    let size = std::fs::metadata(&path)?.len();
    Ok((Checkpoint::load(&path, DType::F32, &Device::Cpu)?, size))
}

#[test]
fn exported_gguf_reads_back_with_the_same_model_and_tokenizer() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let ck = tiny_model(11);
    let ids: Vec<u32> = (0..48).map(|i| (i * 53 % 290) as u32).collect();
    let want = logits(&ck, &ids);
    let mut sizes = vec![];
    for (ty, tol) in [(GgufType::F32, 0.0), (GgufType::F16, 2e-2), (GgufType::Q8_0, 6e-2)] {
        let (back, size) = round_trip(&ck, ty, dir.path())?;
        sizes.push(size);
        let mut cfg = back.config().clone();
        cfg.eos_token_id = ck.config().eos_token_id.clone();
        cfg.pad_token_id = ck.config().pad_token_id;
        assert_eq!(&cfg, ck.config(), "{ty:?}: config");
        let d = max_abs_diff(&want, &logits(&back, &ids));
        assert!(d <= tol, "{ty:?}: logits differ by {d} (allowed {tol})");
        let (t0, t1) = (&ck.tokenizer, &back.tokenizer);
        for text in TEXTS {
            assert_eq!(t1.encode(text)?, t0.encode(text)?, "{ty:?}: tokens of {text:?}");
            assert_eq!(t1.decode(&t1.encode(text)?)?, t0.decode(&t0.encode(text)?)?);
        }
        assert_eq!(t1.template.prompt("Name two fruits.")?, t0.template.prompt("Name two fruits.")?);
        assert_eq!(t1.template.end_of_turn(), t0.template.end_of_turn());
        assert_eq!((t1.eos_ids.clone(), t1.pad_id), (t0.eos_ids.clone(), t0.pad_id));
    }
    assert!(sizes[0] > sizes[1] && sizes[1] > sizes[2], "sizes F32/F16/Q8_0 {sizes:?}");
    Ok(())
}

#[test]
fn qwen2_biases_and_unpermuted_qk_round_trip() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let tok = tiny_tokenizer();
    let mut cfg = tiny_config(tok.vocab_size());
    cfg.model_type = engine::ModelType::Qwen2;
    let ck = Checkpoint::init(&cfg, tok, 12, &Device::Cpu)?;
    assert!(ck.tensors()?.contains_key("model.layers.0.self_attn.q_proj.bias"));
    let ids: Vec<u32> = (0..32).map(|i| (i * 17 % 290) as u32).collect();
    let (back, _) = round_trip(&ck, GgufType::F32, dir.path())?;
    assert_eq!(back.config().model_type, engine::ModelType::Qwen2);
    assert_eq!(max_abs_diff(&logits(&ck, &ids), &logits(&back, &ids)), 0.0);
    Ok(())
}

/// Every family the engine can hold exports (the type says which); another family is
/// refused when its checkpoint is read, naming it, before anything is built or written.
#[test]
fn a_family_the_engine_lacks_is_named_when_read() {
    let ck = tiny_model(13);
    let dir = tempfile::tempdir().unwrap();
    ck.save(dir.path()).unwrap();
    let cfg_path = dir.path().join("config.json");
    let mut cfg: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&cfg_path).unwrap()).unwrap();
    cfg["model_type"] = "gemma".into();
    std::fs::write(&cfg_path, cfg.to_string()).unwrap();
    let Err(e) = Checkpoint::load(dir.path(), DType::F32, &Device::Cpu) else { panic!("a gemma config.json was read") };
    let e = e.to_string();
    assert!(e.contains("gemma") && e.contains("config.json"), "{e}");
}
