//! `bench llamacpp`: a model's greedy answers from our engine against llama.cpp's server
//! (llama-cpp-python) on the same prompts: the GGUF file as given, and our F32 export of
//! the weights we loaded from it. Where the two differ, our top-2 logit gap at the first
//! token they part at tells a float near-tie from a real difference. Writes a JSON summary.
use anyhow::Result;
use candle_core::Device;
use engine::backend::{OpenAiCompletions, OpenAiConfig, Server, ServeConfig};
use engine::{Checkpoint, Generator, SampleParams};
use std::path::Path;

/// Serves `gguf` with llama.cpp and compares its greedy answers to `ours` (prompt ids, our generations).
fn compare(python: &Path, gguf: &Path, ck: &Checkpoint, prompts: &[Vec<u32>], ours: &[engine::Generation], params: &SampleParams, log: &Path) -> Result<serde_json::Value> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let serve = ServeConfig {
        command: format!("{} -m llama_cpp.server --model {{gguf}} --port {{port}} --n_ctx 2048 --n_threads 2", python.display()),
        port,
        gguf_type: engine::gguf::GgufType::F32,
        startup_timeout_secs: 300,
    };
    let api = OpenAiConfig {
        base_url: format!("http://127.0.0.1:{port}/v1"),
        concurrency: 1,
        retries: 0,
        extra_body: serde_json::json!({ "repeat_penalty": 1.0 }).as_object().cloned().unwrap_or_default(),
        ..Default::default()
    };
    let _server = Server::start(&serve, gguf, gguf, &api.base_url, log)?;
    let client = OpenAiCompletions::new(api, ck.tokenizer.clone())?;
    let t0 = std::time::Instant::now();
    let theirs = client.generate(prompts, 1, params, &vec![0; prompts.len()])?;
    let secs = t0.elapsed().as_secs_f64();
    let mut same = 0;
    let mut differ = vec![];
    for ((g, t), p) in ours.iter().zip(&theirs).zip(prompts) {
        let t = t.as_ref().map_err(|e| anyhow::anyhow!("{e}"))?;
        if g.text.trim() == t.trim() {
            same += 1;
        } else {
            let (k, gap) = engine::backend::divergence(ck, p, &g.tokens, t)?;
            differ.push(serde_json::json!({ "ours": g.text.trim(), "llama_cpp": t.trim(), "at_token": k, "our_top2_gap": gap }));
        }
    }
    println!("{}: {same} of {} greedy answers identical ({secs:.1} s through the server)", gguf.display(), prompts.len());
    Ok(serde_json::json!({ "gguf": gguf.display().to_string(), "prompts": prompts.len(), "identical": same, "differing": differ, "server_seconds": secs }))
}

pub fn run(model: &Path, python: &Path, instructions: &Path, n: usize, max_new_tokens: usize, out: &Path) -> Result<()> {
    let ck = Checkpoint::load(model, candle_core::DType::F32, &Device::Cpu)?;
    let rows: Vec<serde_json::Value> = serde_json::from_str(&std::fs::read_to_string(instructions)?)?;
    let texts: Vec<String> = rows.iter().filter_map(|r| r["instruction"].as_str().map(str::to_string)).take(n).collect();
    let prompts: Vec<Vec<u32>> = texts.iter().map(|t| ck.tokenizer.encode_prompt(t)).collect::<engine::Result<_>>()?;
    let params = SampleParams { temperature: 0.0, top_p: 1.0, max_new_tokens, stop: vec![] };
    let ours = engine::generate(&ck.model, &ck.tokenizer, &prompts, 1, &params, &vec![0; prompts.len()])?;
    let dir = out.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut results = vec![];
    if model.extension().is_some_and(|e| e == "gguf") {
        results.push(compare(python, model, &ck, &prompts, &ours, &params, &dir.join("server_as_given.log"))?);
    }
    let export = dir.join("export_f32.gguf");
    engine::gguf::export(&ck, &export, engine::gguf::GgufType::F32)?;
    results.push(compare(python, &export, &ck, &prompts, &ours, &params, &dir.join("server_export.log"))?);
    let summary = serde_json::json!({ "model": model.display().to_string(), "max_new_tokens": max_new_tokens, "results": results });
    engine::fsutil::write_atomic(out, serde_json::to_string_pretty(&summary)?.as_bytes())?;
    println!("wrote {}", out.display());
    Ok(())
}
