//! `bench write-checkpoint`: a random checkpoint, token ids and our logits, for
//! `benchmarks/check_transformers.py` to compare with transformers.
use crate::args::WriteCheckpoint;
use crate::common::{checkpoint, ids};
use anyhow::Result;
use candle_core::{Device, Tensor};

/// Saves the checkpoint to `out`, and beside it `reference_logits.json`: 2 rows of 17 ids
/// and our logits over them, flattened from shape (2, 17, vocab).
pub fn run(a: &WriteCheckpoint) -> Result<()> {
    let WriteCheckpoint { model: ref m, ref out } = *a;
    let ck = checkpoint(m)?;
    ck.save(out)?;
    let x = ids(2, 17, m.vocab);
    let t = Tensor::from_vec(x.clone(), (2, 17), &Device::Cpu)?;
    let logits = ck.model.forward(&t)?.flatten_all()?.to_vec1::<f32>()?;
    let j = serde_json::json!({"ids": x, "shape": [2, 17, m.vocab], "logits": logits});
    std::fs::write(out.join("reference_logits.json"), j.to_string())?;
    println!("wrote {}", out.display());
    Ok(())
}
