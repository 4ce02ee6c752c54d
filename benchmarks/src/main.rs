//! `bench`: times the engine on the benchmark Llama and prints one JSON object.
//!
//! ```text
//! bench train    --hidden 256 --layers 4 --heads 4 --intermediate 688 --vocab 512 --batch 8 --seq 256
//! bench generate --batch 8 --new-tokens 128
//! bench judge    --prompts 32 --samples 3 --prompt-tokens 120 --new-tokens 40
//! bench dpo      --pairs 8 --seq 256
//! bench matmul   --n 1024
//! bench decode-gguf --model smollm2.gguf --quant q4_1 --batches 1,16
//! bench write-checkpoint --out DIR   # a random checkpoint + ids + our logits, for check_transformers.py
//! bench dpo-trace --model DIR --pairs pairs.jsonl --out DIR   # our DPO, step by step, for check_trl.py
//! ```
//!
//! Each subcommand is one function in the module named for what it measures; the timed ones
//! return the JSON object printed here, on the last line of stdout.
use anyhow::Result;
use clap::{Parser, Subcommand};

mod args;
mod common;
mod decode_gguf;
mod dpo;
mod dpo_trace;
mod generate;
mod iteration;
mod judge;
mod llamacpp;
mod matmul;
mod parity;
mod train;
mod write_checkpoint;

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Train-step (forward + backward + AdamW) and forward tokens/s.
    Train(args::Train),
    /// Sampled generation tokens/s (KV cache, temperature 0.7, top-p 0.9), fixed length.
    Generate(args::Generate),
    /// Decode steps through the KV cache, preallocated (written in place) against grown by
    /// concatenation, same model and inputs: the judge-scoring shape by default (many rows,
    /// long prompt, short output). Prints tokens/s of both, and of the preallocated cache
    /// through the packed weights and fused attention (`Llama::forward_packed`).
    KvCache(args::KvCache),
    /// The judge-scoring path: `prompts` judge prompts of `prompt_tokens` tokens, each
    /// prefilled once and sampled `samples` times for `new_tokens` tokens (the paper's K = 3).
    Judge(args::Judge),
    /// One DPO step (policy forward on `pairs` chosen and rejected rows of `seq` tokens,
    /// sigmoid loss against fixed reference log-probs, backward, AdamW); prints its time and
    /// the process's peak resident memory growth over the step.
    Dpo(args::Dpo),
    /// Square f32 matmul GFLOP/s (the machine's reachable peak for the FLOP/s ratio).
    Matmul(args::Matmul),
    /// Our token ids, logits and greedy continuations of a real model, for
    /// `benchmarks/check_smollm2.py` to compare with transformers.
    Parity(args::Parity),
    /// Greedy answers from our engine against llama.cpp's server on the same GGUF file and
    /// on our F32 export of it; writes a JSON summary (`make check-llamacpp`).
    Llamacpp(args::Llamacpp),
    /// A real model's prefill and greedy decode tokens/s, f32 or through quantized weights
    /// (`--quant`), for `benchmarks/llamacpp_speed.py`'s comparison with llama.cpp.
    DecodeGguf(args::DecodeGguf),
    /// One self-rewarding iteration through the trainer's stages (candidates, self-judging,
    /// pairs, DPO), each timed, for `benchmarks/iteration_peer.py`'s transformers + TRL run.
    Iteration(args::Iteration),
    /// Writes a random checkpoint, token ids and our logits for a transformers comparison.
    WriteCheckpoint(args::WriteCheckpoint),
    /// Our DPO for a few steps: token ids, reference log-probs, batches, per-step metrics and
    /// final weights, for `benchmarks/check_trl.py` to rerun in TRL's `DPOTrainer`.
    DpoTrace(args::DpoTrace),
}

fn main() -> Result<()> {
    engine::alloc::keep_freed_memory();
    let json = match Cli::parse().cmd {
        Cmd::Train(a) => train::run(&a)?,
        Cmd::Generate(a) => generate::run(&a)?,
        Cmd::KvCache(a) => generate::kv_cache(&a)?,
        Cmd::Judge(a) => judge::run(&a)?,
        Cmd::Dpo(a) => dpo::run(&a)?,
        Cmd::Matmul(a) => matmul::run(&a)?,
        Cmd::DecodeGguf(a) => decode_gguf::run(&a)?,
        Cmd::Iteration(a) => iteration::run(&a)?,
        Cmd::Parity(a) => return parity::run(&a.model, &a.p.instructions, a.p.n, a.p.max_new_tokens, &a.p.out),
        Cmd::Llamacpp(a) => return llamacpp::run(&a.model, &a.python, &a.p.instructions, a.p.n, a.p.max_new_tokens, &a.p.out),
        Cmd::WriteCheckpoint(a) => return write_checkpoint::run(&a),
        Cmd::DpoTrace(a) => return dpo_trace::run(&a),
    };
    println!("{json}");
    Ok(())
}
