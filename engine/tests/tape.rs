//! The layer-by-layer backward pass (`Tape`), recorded layers and candle's per-layer graphs
//! alike, gives the whole graph's gradients bit for bit,
//! and a forward without gradients (`Track::Off`) the same numbers as with them.
mod common;
use candle_core::{DType, Device, Tensor};
use common::*;
use engine::logprob::{sequence_logprobs, SeqBatch};
use engine::model::{Tape, Track};
use engine::Checkpoint;

/// A DPO-like loss: `a`'s rows against `b`'s, over one forward pass of both (one chain on
/// the tape, as the trainer's DPO does it) or two (two chains).
fn loss(ck: &Checkpoint, track: Track, a: &[(Vec<u32>, Vec<u32>)], b: &[(Vec<u32>, Vec<u32>)], one_pass: bool) -> anyhow::Result<Tensor> {
    let dev = Device::Cpu;
    let (la, lb) = if one_pass {
        let all = SeqBatch::new(&[a, b].concat(), 0, 12, &dev)?;
        let lp = sequence_logprobs(&ck.model, &all, track)?;
        (lp.narrow(0, 0, a.len())?, lp.narrow(0, a.len(), b.len())?)
    } else {
        let (a, b) = (SeqBatch::new(a, 0, 12, &dev)?, SeqBatch::new(b, 0, 12, &dev)?);
        (sequence_logprobs(&ck.model, &a, track)?, sequence_logprobs(&ck.model, &b, track)?)
    };
    Ok(((la - lb)? * -0.1)?.exp()?.affine(1.0, 1.0)?.log()?.mean_all()?)
}

#[test]
fn the_tape_gives_the_whole_graphs_gradients() -> anyhow::Result<()> {
    // Fused layers are recorded layers (their backward written out), with repeated key/value
    // heads (kv 2) or not (kv 4); f64 layers take candle's graph each.
    let cases = [(false, true, true, 2), (true, true, true, 2), (true, false, true, 2), (false, true, false, 2), (true, true, false, 2), (false, true, true, 4), (true, true, false, 4)];
    for (tied, fused, one_pass, kv) in cases {
        let tok = tiny_tokenizer();
        let mut cfg = tiny_config(tok.vocab_size());
        cfg.num_key_value_heads = Some(kv);
        cfg.tie_word_embeddings = tied;
        let ck32 = Checkpoint::init(&cfg, tok.clone(), 5, &Device::Cpu)?;
        // f64 weights take candle's plain ops instead of the fused f32 kernels.
        let dtype = if fused { DType::F32 } else { DType::F64 };
        let ck = Checkpoint::from_tensors(&cfg, ck32.tensors()?, tok.clone(), dtype, &Device::Cpu, "t".as_ref())?;
        let rows = |s: u32| -> Vec<(Vec<u32>, Vec<u32>)> {
            let v = ids(3, 12, cfg.vocab_size, s).flatten_all().unwrap().to_vec1::<u32>().unwrap();
            v.chunks(12).enumerate().map(|(i, r)| (r[..3].to_vec(), r[3..12 - i].to_vec())).collect()
        };
        let (a, b) = (rows(1), rows(2));
        let whole = loss(&ck, Track::Graph, &a, &b, one_pass)?.backward()?;
        let tape = Tape::new();
        let l = loss(&ck, Track::Layers(&tape), &a, &b, one_pass)?;
        let layered = tape.backward(&l)?;
        let vars = ck.varmap.data().lock().unwrap();
        for (name, var) in vars.iter() {
            let f64s = |g: &candle_core::backprop::GradStore| g.get(var).unwrap().flatten_all()?.to_dtype(DType::F64)?.to_vec1::<f64>();
            let (x, y) = (f64s(&whole)?, f64s(&layered)?);
            assert!(x.iter().any(|&p| p != 0.0), "{name}: all-zero gradient");
            // Two passes through a tied table add its four contributions in another order:
            // the same sum, rounded differently. Everything else is the same bits.
            if tied && !one_pass && name.contains("embed_tokens") {
                let worst = x.iter().zip(&y).map(|(p, q)| (p - q).abs() / p.abs().max(1e-3)).fold(0.0, f64::max);
                assert!(worst < 1e-5, "{name}: relative difference {worst}");
            } else {
                assert!(x.iter().zip(&y).all(|(p, q)| p.to_bits() == q.to_bits()), "{name} differs (tied={tied}, fused={fused}, one pass={one_pass}, kv heads={kv})");
            }
        }
        // No gradients: the same value.
        let off = loss(&ck, Track::Off, &a, &b, one_pass)?;
        assert_eq!(off.to_dtype(DType::F64)?.to_scalar::<f64>()?, l.to_dtype(DType::F64)?.to_scalar::<f64>()?);
    }
    Ok(())
}
