//! Greedy (or sampled) answers from any model the engine loads, to instructions given on
//! the command line, with the model's chat template:
//! `cargo run --release -p engine --example generate -- models/SmolLM2-135M-Instruct.Q4_1.gguf "What is 2+2?"`
use anyhow::Result;
use clap::Parser;
use std::path::PathBuf;

#[derive(Parser)]
struct Args {
    /// A `.gguf` file or a Hugging Face checkpoint folder.
    model: PathBuf,
    /// Instructions, answered as one batch.
    instructions: Vec<String>,
    /// Most new tokens per answer.
    #[arg(long, default_value_t = 64)]
    max_new_tokens: usize,
    /// 0 is greedy.
    #[arg(long, default_value_t = 0.0)]
    temperature: f64,
}

fn main() -> Result<()> {
    let a = Args::parse();
    let t = std::time::Instant::now();
    let ck = engine::Checkpoint::load(&a.model, candle_core::DType::F32, &engine::default_device())?;
    eprintln!("loaded {} ({} parameters) in {:.1} s", a.model.display(), ck.config().num_parameters(), t.elapsed().as_secs_f64());
    let prompts: Vec<Vec<u32>> = a.instructions.iter().map(|i| ck.tokenizer.encode_prompt(i)).collect::<engine::Result<_>>()?;
    let params = engine::SampleParams { temperature: a.temperature, top_p: 1.0, max_new_tokens: a.max_new_tokens, stop: vec![] };
    let t = std::time::Instant::now();
    let out = engine::generate(&ck.model, &ck.tokenizer, &prompts, 1, &params, &vec![0; prompts.len()])?;
    let n: usize = out.iter().map(|g| g.tokens.len()).sum();
    for (i, g) in a.instructions.iter().zip(&out) {
        println!("### {i}\n{}\n", g.text);
    }
    eprintln!("{n} tokens in {:.2} s ({:.1} tokens/s)", t.elapsed().as_secs_f64(), n as f64 / t.elapsed().as_secs_f64());
    Ok(())
}
