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
    cfg.model_type = "qwen2".into();
    let ck = Checkpoint::init(&cfg, tok, 12, &Device::Cpu)?;
    assert!(ck.tensors()?.contains_key("model.layers.0.self_attn.q_proj.bias"));
    let ids: Vec<u32> = (0..32).map(|i| (i * 17 % 290) as u32).collect();
    let (back, _) = round_trip(&ck, GgufType::F32, dir.path())?;
    assert_eq!(back.config().model_type, "qwen2");
    assert_eq!(max_abs_diff(&logits(&ck, &ids), &logits(&back, &ids)), 0.0);
    Ok(())
}

#[test]
fn what_cannot_be_exported_is_named() {
    let ck = tiny_model(13);
    let mut cfg = ck.config().clone();
    cfg.model_type = "gemma".into();
    let t = ck.tensors().unwrap();
    let other = Checkpoint::from_tensors(&cfg, t, ck.tokenizer.clone(), DType::F32, &Device::Cpu, std::path::Path::new("<x>"));
    // Refused when the model is built, or else by the export; either names it.
    let e = match other {
        Err(e) => e.to_string(),
        Ok(other) => export(&other, &tempfile::tempdir().unwrap().path().join("x.gguf"), GgufType::F32).unwrap_err().to_string(),
    };
    assert!(e.contains("gemma"), "{e}");
}
