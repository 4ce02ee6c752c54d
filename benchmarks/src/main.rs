//! `bench`: times the engine on the benchmark Llama and prints one JSON object.
//!
//! ```text
//! bench train    --hidden 256 --layers 4 --heads 4 --intermediate 688 --vocab 512 --batch 8 --seq 256
//! bench generate --batch 8 --new-tokens 128
//! bench judge    --prompts 32 --samples 3 --prompt-tokens 120 --new-tokens 40
//! bench dpo      --pairs 8 --seq 256
//! bench matmul   --n 1024
//! bench write-checkpoint --out DIR   # a random checkpoint + ids + our logits, for check_transformers.py
//! ```
use anyhow::Result;
use candle_core::{DType, Device, Tensor};
mod llamacpp;
mod parity;
use clap::{Args, Parser, Subcommand};
use engine::logprob::{sft_loss, SeqBatch};
use engine::optim::{AdamW, AdamWParams};
use engine::model::{step_inputs, KvCache};
use engine::{Checkpoint, Config, SampleParams, Tokenizer};
use std::time::Instant;

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Args, Clone)]
struct Model {
    #[arg(long, default_value_t = 256)]
    hidden: usize,
    #[arg(long, default_value_t = 4)]
    layers: usize,
    #[arg(long, default_value_t = 4)]
    heads: usize,
    #[arg(long, default_value_t = 688)]
    intermediate: usize,
    #[arg(long, default_value_t = 512)]
    vocab: usize,
}

#[derive(Subcommand)]
enum Cmd {
    /// Train-step (forward + backward + AdamW) and forward tokens/s.
    Train {
        #[command(flatten)]
        m: Model,
        #[arg(long, default_value_t = 8)]
        batch: usize,
        #[arg(long, default_value_t = 256)]
        seq: usize,
        /// Timed steps (after 2 warm-up steps).
        #[arg(long, default_value_t = 10)]
        steps: usize,
    },
    /// Sampled generation tokens/s (KV cache, temperature 0.7, top-p 0.9), fixed length.
    Generate {
        #[command(flatten)]
        m: Model,
        #[arg(long, default_value_t = 1)]
        batch: usize,
        #[arg(long, default_value_t = 16)]
        prompt_tokens: usize,
        #[arg(long, default_value_t = 128)]
        new_tokens: usize,
        #[arg(long, default_value_t = 3)]
        repeats: usize,
    },
    /// Decode steps through the KV cache, preallocated (written in place) against grown by
    /// concatenation, same model and inputs: the judge-scoring shape by default (many rows,
    /// long prompt, short output). Prints tokens/s of both, and of the preallocated cache
    /// through the packed weights and fused attention (`Llama::forward_packed`).
    KvCache {
        #[command(flatten)]
        m: Model,
        #[arg(long, default_value_t = 96)]
        batch: usize,
        #[arg(long, default_value_t = 120)]
        prompt_tokens: usize,
        #[arg(long, default_value_t = 40)]
        new_tokens: usize,
        #[arg(long, default_value_t = 3)]
        repeats: usize,
    },
    /// The judge-scoring path: `prompts` judge prompts of `prompt_tokens` tokens, each
    /// prefilled once and sampled `samples` times for `new_tokens` tokens (the paper's K = 3).
    Judge {
        #[command(flatten)]
        m: Model,
        #[arg(long, default_value_t = 32)]
        prompts: usize,
        #[arg(long, default_value_t = 3)]
        samples: usize,
        #[arg(long, default_value_t = 120)]
        prompt_tokens: usize,
        #[arg(long, default_value_t = 40)]
        new_tokens: usize,
        #[arg(long, default_value_t = 2)]
        repeats: usize,
    },
    /// One DPO step (policy forward on `pairs` chosen and rejected rows of `seq` tokens,
    /// sigmoid loss against fixed reference log-probs, backward, AdamW); prints its time and
    /// the process's peak resident memory growth over the step.
    Dpo {
        #[command(flatten)]
        m: Model,
        #[arg(long, default_value_t = 8)]
        pairs: usize,
        #[arg(long, default_value_t = 256)]
        seq: usize,
    },
    /// Square f32 matmul GFLOP/s (the machine's reachable peak for the FLOP/s ratio).
    Matmul {
        #[arg(long, default_value_t = 1024)]
        n: usize,
        #[arg(long, default_value_t = 2.0)]
        seconds: f64,
    },
    /// Our token ids, logits and greedy continuations of a real model, for
    /// `benchmarks/check_smollm2.py` to compare with transformers.
    Parity {
        /// A `.gguf` file, checkpoint folder or hub id.
        #[arg(long)]
        model: String,
        #[command(flatten)]
        p: Greedy,
    },
    /// Greedy answers from our engine against llama.cpp's server on the same GGUF file and
    /// on our F32 export of it; writes a JSON summary (`make check-llamacpp`).
    Llamacpp {
        /// A `.gguf` file or checkpoint folder.
        #[arg(long)]
        model: std::path::PathBuf,
        /// The Python with llama-cpp-python[server] (`make .venv-llamacpp/.ok`).
        #[arg(long, default_value = ".venv-llamacpp/bin/python")]
        python: std::path::PathBuf,
        #[command(flatten)]
        p: Greedy,
    },
    /// Writes a random checkpoint, token ids and our logits for a transformers comparison.
    WriteCheckpoint {
        #[command(flatten)]
        m: Model,
        #[arg(long)]
        out: std::path::PathBuf,
    },
}

/// Greedy continuations of the first `n` instructions of a file.
#[derive(Args)]
struct Greedy {
    /// AlpacaEval-style JSON array with `instruction` fields.
    #[arg(long)]
    instructions: std::path::PathBuf,
    /// Instructions continued (and, for `parity`, whose logits are written).
    #[arg(long, default_value_t = 20)]
    n: usize,
    #[arg(long, default_value_t = 64)]
    max_new_tokens: usize,
    #[arg(long)]
    out: std::path::PathBuf,
}

fn tokenizer(vocab: usize) -> Result<Tokenizer> {
    let text: Vec<String> = (0..400).map(|i| format!("word{i} the quick brown fox {} jumps over {}", i * 7, i % 13)).collect();
    Ok(Tokenizer::train(text.iter(), vocab)?)
}

fn model(m: &Model) -> Result<Checkpoint> {
    let tok = tokenizer(m.vocab)?;
    let cfg = Config::llama(m.vocab, m.hidden, m.intermediate, m.layers, m.heads, m.heads, 1024);
    Ok(Checkpoint::init(&cfg, tok, 0, &engine::default_device())?)
}

/// Model FLOPs per trained token (forward + backward = 3 × forward): 6 per weight of the
/// matmuls (the embedding lookup is not one) and 12·t·e per layer for attention scores and
/// values over a `t`-token sequence, counted as full (b, h, t, t) products as PyTorch eager
/// computes them.
fn train_flops_per_token(cfg: &Config, t: usize) -> f64 {
    let (e, l) = (cfg.hidden_size as f64, cfg.num_hidden_layers as f64);
    // An untied embedding table is a lookup; a tied one is also the output head (a matmul).
    let lookup = if cfg.tie_word_embeddings { 0 } else { cfg.vocab_size * cfg.hidden_size };
    let matmul_weights = (cfg.num_parameters() - lookup) as f64;
    6.0 * matmul_weights + 12.0 * l * t as f64 * e
}

/// A field of /proc/self/status in KiB (`VmRSS` now, `VmHWM` the peak so far); 0 where
/// there is no /proc.
fn rss_kib(field: &str) -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn ids(b: usize, t: usize, v: usize) -> Vec<u32> {
    (0..b * t).map(|i| ((i * 7919 + 13) % (v - 8) + 4) as u32).collect()
}

fn main() -> Result<()> {
    engine::alloc::keep_freed_memory();
    match Cli::parse().cmd {
        Cmd::Train { m, batch, seq, steps } => {
            let ck = model(&m)?;
            let dev = Device::Cpu;
            let v = ids(batch, seq + 1, m.vocab);
            let pairs: Vec<(Vec<u32>, Vec<u32>)> = v.chunks(seq + 1).map(|r| (vec![r[0]], r[1..].to_vec())).collect();
            let b = SeqBatch::new(&pairs, 0, seq, &dev)?;
            let vars = ck.varmap.data().lock().unwrap().clone();
            let mut opt = AdamW::new(&vars, AdamWParams { lr: 1e-4, ..Default::default() })?;
            let mut step = || -> Result<()> {
                let loss = sft_loss(&ck.model, &b)?;
                let g = loss.backward()?;
                opt.step(&g, 1e-4)?;
                Ok(())
            };
            step()?;
            step()?;
            let t0 = Instant::now();
            for _ in 0..steps {
                step()?;
            }
            let train = (batch * seq * steps) as f64 / t0.elapsed().as_secs_f64();
            let x = Tensor::from_vec(ids(batch, seq, m.vocab), (batch, seq), &dev)?;
            let _ = ck.model.forward(&x)?;
            let t0 = Instant::now();
            for _ in 0..steps {
                let _ = ck.model.forward(&x)?;
            }
            let fwd = (batch * seq * steps) as f64 / t0.elapsed().as_secs_f64();
            let params = ck.config().num_parameters();
            let flops = train_flops_per_token(ck.config(), seq);
            println!(
                "{}",
                serde_json::json!({"train_tokens_per_s": train, "forward_tokens_per_s": fwd, "parameters": params,
                    "train_flops_per_token": flops, "train_gflops": train * flops / 1e9})
            );
        }
        Cmd::Generate { m, batch, prompt_tokens, new_tokens, repeats } => {
            let mut ck = model(&m)?;
            ck.tokenizer.eos_ids.clear(); // fixed length: never stop early
            let prompts: Vec<Vec<u32>> = ids(batch, prompt_tokens, m.vocab).chunks(prompt_tokens).map(|c| c.to_vec()).collect();
            let params = SampleParams { temperature: 0.7, top_p: 0.9, max_new_tokens: new_tokens, stop: vec![] };
            let seeds: Vec<u64> = (0..batch as u64).collect();
            let _ = engine::generate(&ck.model, &ck.tokenizer, &prompts, 1, &params, &seeds)?;
            let t0 = Instant::now();
            let mut n = 0;
            for _ in 0..repeats {
                n += engine::generate(&ck.model, &ck.tokenizer, &prompts, 1, &params, &seeds)?.iter().map(|g| g.tokens.len()).sum::<usize>();
            }
            println!("{}", serde_json::json!({"generate_tokens_per_s": n as f64 / t0.elapsed().as_secs_f64(), "tokens": n}));
        }
        Cmd::KvCache { m, batch, prompt_tokens, new_tokens, repeats } => {
            let ck = model(&m)?;
            let dev = Device::Cpu;
            let layers = ck.config().num_hidden_layers;
            let x = Tensor::from_vec(ids(batch, prompt_tokens, m.vocab), (batch, prompt_tokens), &dev)?;
            let packed = ck.model.pack()?;
            // Prefill, then `new_tokens` single-token steps (through the packed weights and
            // fused attention, or the plain path); returns decode seconds.
            let decode = |mut cache: KvCache, packed: Option<&engine::model::Packed>| -> Result<f64> {
                let forward = |x: &Tensor, pos: &Tensor, bias: &Tensor, cache: &mut KvCache| {
                    ck.model.forward_packed(packed, x, pos, bias, cache, false)
                };
                let ok = vec![vec![true; prompt_tokens]; batch];
                let (pos, bias) = step_inputs(&vec![vec![]; batch], &vec![0; batch], &ok, &dev, DType::F32)?;
                forward(&x, &pos, &bias, &mut cache)?;
                let next = Tensor::from_vec(vec![5u32; batch], (batch, 1), &dev)?;
                let t0 = Instant::now();
                for i in 0..new_tokens {
                    let key_ok = vec![vec![true; prompt_tokens + i]; batch];
                    let p: Vec<u32> = vec![(prompt_tokens + i) as u32; batch];
                    let (pos, bias) = step_inputs(&key_ok, &p, &vec![vec![true]; batch], &dev, DType::F32)?;
                    forward(&next, &pos, &bias, &mut cache)?;
                }
                Ok(t0.elapsed().as_secs_f64())
            };
            let (mut concat, mut pre, mut fast) = (0.0, 0.0, 0.0);
            let cap = prompt_tokens + new_tokens;
            decode(KvCache::new(layers), None)?; // warm-up
            for _ in 0..repeats {
                concat += decode(KvCache::new(layers), None)?;
                pre += decode(KvCache::with_capacity(layers, cap), None)?;
                fast += decode(KvCache::with_capacity(layers, cap), Some(&packed))?;
            }
            let n = (batch * new_tokens * repeats) as f64;
            println!(
                "{}",
                serde_json::json!({"preallocated_tokens_per_s": n / pre, "concatenated_tokens_per_s": n / concat,
                    "packed_tokens_per_s": n / fast})
            );
        }
        Cmd::Judge { m, prompts, samples, prompt_tokens, new_tokens, repeats } => {
            let mut ck = model(&m)?;
            ck.tokenizer.eos_ids.clear(); // fixed length: never stop early
            let ps: Vec<Vec<u32>> = ids(prompts, prompt_tokens, m.vocab).chunks(prompt_tokens).map(|c| c.to_vec()).collect();
            let params = SampleParams { temperature: 0.7, top_p: 0.9, max_new_tokens: new_tokens, stop: vec![] };
            let seeds: Vec<u64> = (0..(prompts * samples) as u64).collect();
            let _ = engine::generate(&ck.model, &ck.tokenizer, &ps, samples, &params, &seeds)?;
            let t0 = Instant::now();
            for _ in 0..repeats {
                engine::generate(&ck.model, &ck.tokenizer, &ps, samples, &params, &seeds)?;
            }
            let secs = t0.elapsed().as_secs_f64() / repeats as f64;
            let judgments = (prompts * samples) as f64;
            println!(
                "{}",
                serde_json::json!({"judgments_per_s": judgments / secs,
                    "prompt_and_new_tokens_per_s": judgments * (prompt_tokens + new_tokens) as f64 / secs})
            );
        }
        Cmd::Dpo { m, pairs, seq } => {
            let ck = model(&m)?;
            let dev = Device::Cpu;
            let v = ids(2 * pairs, seq + 1, m.vocab);
            // rows 0..pairs chosen, pairs..2·pairs rejected; a 16-token prompt, the rest response
            let rows: Vec<(Vec<u32>, Vec<u32>)> = v.chunks(seq + 1).map(|r| (r[..16].to_vec(), r[16..].to_vec())).collect();
            let b = SeqBatch::new(&rows, 0, seq, &dev)?;
            // Growth from here: optimiser state, activations, gradients (PyTorch's side
            // measures the same span, its AdamW state created lazily inside the step).
            let before = rss_kib("VmRSS");
            let vars = ck.varmap.data().lock().unwrap().clone();
            let mut opt = AdamW::new(&vars, AdamWParams { lr: 1e-6, ..Default::default() })?;
            let reference = Tensor::zeros(2 * pairs, DType::F32, &dev)?; // precomputed, as in the trainer
            let mut step = || -> Result<()> {
                let lp = (engine::logprob::sequence_logprobs(&ck.model, &b)? - &reference)?;
                let margin = (lp.narrow(0, 0, pairs)? - lp.narrow(0, pairs, pairs)?)?;
                // -log σ(β·margin) = softplus(-β·margin)
                let z = (margin * -0.1)?;
                let loss = (z.exp()? + 1.0)?.log()?.mean_all()?;
                opt.step(&loss.backward()?, 1e-6)?;
                Ok(())
            };
            let t0 = Instant::now();
            step()?;
            let secs = t0.elapsed().as_secs_f64();
            let peak = rss_kib("VmHWM");
            println!(
                "{}",
                serde_json::json!({"dpo_step_s": secs, "peak_growth_mib": (peak.saturating_sub(before)) as f64 / 1024.0,
                    "rss_before_mib": before as f64 / 1024.0})
            );
        }
        Cmd::Matmul { n, seconds } => {
            let a = Tensor::randn(0f32, 1.0, (n, n), &Device::Cpu)?;
            let b = Tensor::randn(0f32, 1.0, (n, n), &Device::Cpu)?;
            for _ in 0..3 {
                a.matmul(&b)?;
            }
            let (t0, mut k) = (Instant::now(), 0usize);
            while k < 3 || t0.elapsed().as_secs_f64() < seconds {
                a.matmul(&b)?;
                k += 1;
            }
            let gflops = 2.0 * (n as f64).powi(3) * k as f64 / t0.elapsed().as_secs_f64() / 1e9;
            println!("{}", serde_json::json!({"matmul_gflops": gflops, "n": n}));
        }
        Cmd::Parity { model, p } => parity::run(&model, &p.instructions, p.n, p.max_new_tokens, &p.out)?,
        Cmd::Llamacpp { model, python, p } => llamacpp::run(&model, &python, &p.instructions, p.n, p.max_new_tokens, &p.out)?,
        Cmd::WriteCheckpoint { m, out } => {
            let ck = model(&m)?;
            ck.save(&out)?;
            let x = ids(2, 17, m.vocab);
            let t = Tensor::from_vec(x.clone(), (2, 17), &Device::Cpu)?;
            let logits = ck.model.forward(&t)?.flatten_all()?.to_vec1::<f32>()?;
            let j = serde_json::json!({"ids": x, "shape": [2, 17, m.vocab], "logits": logits});
            std::fs::write(out.join("reference_logits.json"), j.to_string())?;
            println!("wrote {}", out.display());
        }
    }
    Ok(())
}
