//! `bench train`: train-step (forward + backward + AdamW) and forward tokens/s, and the
//! model FLOP/s the train step reaches.
use crate::args::Train;
use crate::common::{checkpoint_on, ids};
use anyhow::Result;
use candle_core::Tensor;
use engine::logprob::{sft_loss, SeqBatch};
use engine::model::{Tape, Track};
use engine::optim::{AdamW, AdamWParams};
use engine::Config;
use serde_json::{json, Value};
use std::time::Instant;

/// Model FLOPs per trained token (forward + backward = 3 × forward): 6 per weight of the
/// matmuls (the embedding lookup is not one) and 12·t·e per layer for attention scores and
/// values over a `t`-token sequence, counted as full (b, h, t, t) products as PyTorch eager
/// computes them.
pub fn train_flops_per_token(cfg: &Config, t: usize) -> f64 {
    let (e, l) = (cfg.hidden_size as f64, cfg.num_hidden_layers as f64);
    // An untied embedding table is a lookup; a tied one is also the output head (a matmul).
    let lookup = if cfg.tie_word_embeddings { 0 } else { cfg.vocab_size * cfg.hidden_size };
    let matmul_weights = (cfg.num_parameters() - lookup) as f64;
    6.0 * matmul_weights + 12.0 * l * t as f64 * e
}

/// `steps` timed train steps and forwards (after 2 warm-up steps and 1 warm-up forward) on
/// `batch` rows of `seq` tokens.
pub fn run(a: &Train) -> Result<Value> {
    let Train { model: ref m, place, batch, seq, steps } = *a;
    let ck = checkpoint_on(m, &place)?;
    let dev = ck.model.device().clone();
    let v = ids(batch, seq + 1, m.vocab);
    let pairs: Vec<(Vec<u32>, Vec<u32>)> = v.chunks(seq + 1).map(|r| (vec![r[0]], r[1..].to_vec())).collect();
    let b = SeqBatch::new(&pairs, 0, seq, &dev)?;
    let vars = ck.varmap.data().lock().unwrap().clone();
    let mut opt = AdamW::new(&vars, AdamWParams { lr: 1e-4, ..Default::default() })?;
    let mut step = || -> Result<()> {
        // As the trainer does it: the backward pass frees each layer's activations as it goes.
        let tape = Tape::new();
        let loss = sft_loss(&ck.model, &b, Track::Layers(&tape))?;
        let g = tape.backward(&loss)?;
        drop(loss);
        opt.step(&g, 1e-4)?;
        Ok(())
    };
    step()?;
    step()?;
    dev.synchronize()?;
    let t0 = Instant::now();
    for _ in 0..steps {
        step()?;
    }
    dev.synchronize()?; // a GPU queues its work: time it done
    let train = (batch * seq * steps) as f64 / t0.elapsed().as_secs_f64();
    let x = Tensor::from_vec(ids(batch, seq, m.vocab), (batch, seq), &dev)?;
    let _ = ck.model.forward(&x)?;
    dev.synchronize()?;
    let t0 = Instant::now();
    for _ in 0..steps {
        let _ = ck.model.forward(&x)?;
    }
    dev.synchronize()?;
    let fwd = (batch * seq * steps) as f64 / t0.elapsed().as_secs_f64();
    let params = ck.config().num_parameters();
    let flops = train_flops_per_token(ck.config(), seq);
    Ok(json!({"train_tokens_per_s": train, "forward_tokens_per_s": fwd, "parameters": params,
        "train_flops_per_token": flops, "train_gflops": train * flops / 1e9}))
}
