//! A fingerprint of training's bits: for three small Llamas (multi-head at t 256; grouped
//! keys and values at t 137; 700-token rows, whose attention sums split), the loss, every
//! gradient and the weights after 3 AdamW steps through the layer tape, hashed. Run it
//! before and after a change to the training kernels that means to keep their numbers (and
//! with `RAYON_NUM_THREADS=1` and `2`): the lines must match (std's hasher, so compare lines
//! from one toolchain).
//!
//! `cargo run --release -p engine --example gradient_bits`
use candle_core::Device;
use engine::logprob::{sft_loss, SeqBatch};
use engine::model::{Tape, Track};
use engine::optim::{AdamW, AdamWParams};
use engine::{Checkpoint, Config, Tokenizer};
use std::hash::{Hash, Hasher};
fn main() -> anyhow::Result<()> {
    let text: Vec<String> = (0..400).map(|i| format!("word{i} the quick brown fox {} jumps over {}", i * 7, i % 13)).collect();
    for &(hidden, inter, heads, kv, b, seq) in &[(256, 688, 4, 4, 2, 256), (128, 300, 4, 2, 3, 137), (64, 200, 2, 2, 2, 700)] {
        let tok = Tokenizer::train(text.iter(), 512)?;
        let cfg = Config::llama(512, hidden, inter, 2, heads, kv, 1024);
        let ck = Checkpoint::init(&cfg, tok, 0, &Device::Cpu)?;
        let ids: Vec<u32> = (0..b * (seq + 1)).map(|i| ((i * 7919 + 13) % 504 + 4) as u32).collect();
        let pairs: Vec<(Vec<u32>, Vec<u32>)> = ids.chunks(seq + 1).map(|r| (vec![r[0]], r[1..].to_vec())).collect();
        let batch = SeqBatch::new(&pairs, 0, seq, &Device::Cpu)?;
        let vars = ck.varmap.data().lock().unwrap().clone();
        let mut names: Vec<_> = vars.keys().cloned().collect();
        names.sort();
        let mut opt = AdamW::new(&vars, AdamWParams { lr: 1e-3, ..Default::default() })?;
        let mut h = std::collections::hash_map::DefaultHasher::new();
        for _ in 0..3 {
            let tape = Tape::new();
            let loss = sft_loss(&ck.model, &batch, Track::Layers(&tape))?;
            loss.to_vec0::<f32>()?.to_bits().hash(&mut h);
            let g = tape.backward(&loss)?;
            for n in &names {
                if let Some(t) = g.get(vars[n].as_tensor()) {
                    for x in t.flatten_all()?.to_vec1::<f32>()? { x.to_bits().hash(&mut h) }
                }
            }
            opt.step(&g, 1e-3)?;
        }
        for n in &names { for x in vars[n].as_tensor().flatten_all()?.to_vec1::<f32>()? { x.to_bits().hash(&mut h) } }
        println!("({hidden}, {inter}, {heads}/{kv}, b{b} t{seq}): {:016x}", h.finish());
    }
    Ok(())
}
