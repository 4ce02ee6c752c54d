//! Supervised fine-tuning: cross-entropy on response tokens only.
//! M1 trains on IFT + EFT; the SFT baseline on IFT only.
use crate::config::RunConfig;
use crate::rundir::RunDir;
use crate::train::{train, Metrics, Progress};
use crate::Result;
use engine::logprob::{sft_loss, SeqBatch};
use engine::{Checkpoint, Config, Tokenizer};
use world::records::{EftExample, IftExample};

/// Tokenised (prompt, response) pairs.
pub type Pairs = Vec<(Vec<u32>, Vec<u32>)>;

pub fn encode_ift(tok: &Tokenizer, xs: &[IftExample]) -> Result<Pairs> {
    Ok(xs.iter().map(|e| tok.encode_pair(&e.instruction, &e.response)).collect::<engine::Result<_>>()?)
}
pub fn encode_eft(tok: &Tokenizer, xs: &[EftExample]) -> Result<Pairs> {
    Ok(xs.iter().map(|e| tok.encode_pair(&e.prompt, &e.target)).collect::<engine::Result<_>>()?)
}

/// The embedded model's architecture for a run.
pub fn model_config(cfg: &RunConfig, vocab: usize) -> Config {
    let m = &cfg.model;
    Config::llama(vocab, m.hidden_size, m.intermediate_size, m.num_layers, m.num_heads, m.num_kv_heads, m.max_len)
}

/// Mean response-token loss over `data`, in batches.
pub fn eval_loss(model: &engine::Llama, data: &Pairs, pad: u32, max_len: usize, bs: usize) -> Result<f64> {
    let (mut sum, mut n) = (0f64, 0usize);
    for chunk in data.chunks(bs.max(1)) {
        let b = SeqBatch::new(chunk, pad, max_len, model.device())?;
        let l = sft_loss(model, &b)?.to_scalar::<f32>()? as f64;
        sum += l * b.n_tokens as f64;
        n += b.n_tokens;
    }
    Ok(sum / n.max(1) as f64)
}

/// Trains one SFT model from a seeded random init and saves it to `out` (e.g. `m1`).
pub fn train_sft(cfg: &RunConfig, run: &RunDir, out: &str, train_data: Pairs, valid: Pairs) -> Result<Progress> {
    let tok = Tokenizer::from_file(&run.path("seed/tokenizer.json"))?;
    let mc = model_config(cfg, tok.vocab_size());
    let pad = tok.pad_id;
    let mut ck = Checkpoint::init(&mc, tok, cfg.seed, &engine::default_device())?;
    let max_len = cfg.model.max_len;
    let dev = ck.model.device().clone();
    let bs = cfg.sft.batch_size;
    let progress = train(
        &mut ck,
        &cfg.sft,
        &train_data.iter().map(|(p, r)| p.len() + r.len()).collect::<Vec<_>>(),
        cfg.seed,
        &run.path(&format!("work/{out}")),
        out,
        false,
        cfg.workers(),
        |m, idx| {
            let rows: Pairs = idx.iter().map(|&i| train_data[i].clone()).collect();
            let b = SeqBatch::new(&rows, pad, max_len, &dev)?;
            Ok((sft_loss(m, &b)?, Metrics::new()))
        },
        |m| Ok(Metrics::from([("loss".to_string(), eval_loss(m, &valid, pad, max_len, bs)?)])),
    )?;
    ck.save(&run.path(out))?;
    run.write_json(&format!("{out}.train.json"), &progress)?;
    Ok(progress)
}

/// Makes M1 (IFT + EFT) and the SFT baseline (IFT only), each skipped when done.
pub fn run_sft(cfg: &RunConfig, run: &RunDir) -> Result<()> {
    let tok = Tokenizer::from_file(&run.path("seed/tokenizer.json"))?;
    let ift = encode_ift(&tok, &run.read_jsonl("seed/ift.jsonl")?)?;
    let ift_valid = encode_ift(&tok, &run.read_jsonl("seed/ift_valid.jsonl")?)?;
    let eft = encode_eft(&tok, &run.read_jsonl("seed/eft_train.jsonl")?)?;
    let eft_valid = encode_eft(&tok, &run.read_jsonl("seed/eft_valid.jsonl")?)?;
    let m1 = |_: ()| -> Result<()> {
        if !run.is_done("m1") {
            let train_data: Pairs = ift.iter().chain(eft.iter()).cloned().collect();
            let valid: Pairs = ift_valid.iter().chain(eft_valid.iter()).cloned().collect();
            train_sft(cfg, run, "m1", train_data, valid)?;
            run.mark_done("m1")?;
        }
        Ok(())
    };
    let baseline = |_: ()| -> Result<()> {
        if !run.is_done("sft_baseline") {
            train_sft(cfg, run, "sft_baseline", ift.clone(), ift_valid.clone())?;
            run.mark_done("sft_baseline")?;
        }
        Ok(())
    };
    // One after the other, each using every core through data parallelism.
    m1(())?;
    baseline(())
}
