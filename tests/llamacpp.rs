//! Against a real llama.cpp server (llama-cpp-python's, built from PyPI into
//! `.venv-llamacpp` by `make test`): M1 exported to GGUF and served by llama.cpp gives our
//! engine's greedy outputs; the loop samples its candidates and self-judgments through a
//! server it starts and stops; a server that is gone is a typed failure that leaves the
//! stage to resume, not wrong data. Results into `target/llamacpp/summary.json`.
mod common;
use common::*;
use engine::backend::{OpenAiCompletions, OpenAiConfig, Server, ServeConfig};
use engine::gguf::GgufType;
use engine::{Checkpoint, Generator, SampleParams};
use std::path::{Path, PathBuf};
use trainer::config::Backend;
use trainer::RunDir;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn python() -> PathBuf {
    let p = root().join(".venv-llamacpp/bin/python");
    assert!(p.exists(), "{} missing: `make .venv-llamacpp/.ok` installs llama-cpp-python[server] (make test does)", p.display());
    p
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn serve(port: u16) -> ServeConfig {
    ServeConfig {
        command: format!("{} -m llama_cpp.server --model {{gguf}} --port {{port}} --n_ctx 0 --n_threads 1", python().display()),
        port,
        gguf_type: GgufType::F32,
        startup_timeout_secs: 120,
    }
}

fn api(port: u16) -> OpenAiConfig {
    // llama-cpp-python's server penalises repeats (1.1) unless told otherwise; the engine does not.
    let extra_body = serde_json::json!({ "repeat_penalty": 1.0 }).as_object().unwrap().clone();
    OpenAiConfig { base_url: format!("http://127.0.0.1:{port}/v1"), model: "m".into(), api_key_env: String::new(), concurrency: 2, timeout_secs: 120, retries: 0, extra_body }
}

fn test_prompts(run: &Path) -> Vec<String> {
    let recs: Vec<world::records::PromptRecord> = records::read_jsonl(&run.join("seed/test_prompts.jsonl")).unwrap();
    recs.into_iter().map(|p| p.instruction).take(16).collect()
}

fn write_summary(key: &str, value: serde_json::Value) {
    let p = root().join("target/llamacpp/summary.json");
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    let mut all: serde_json::Map<String, serde_json::Value> = std::fs::read(&p).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default();
    all.insert(key.into(), value);
    engine::fsutil::write_atomic(&p, serde_json::to_string_pretty(&all).unwrap().as_bytes()).unwrap();
}

#[test]
fn llama_cpp_serving_our_export_gives_our_greedy_outputs() {
    let run = sft_done().join("smoke");
    let ck = Checkpoint::load(&run.join("m1"), candle_core::DType::F32, &candle_core::Device::Cpu).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let gguf = dir.path().join("m1.gguf");
    engine::gguf::export(&ck, &gguf, GgufType::F32).unwrap();
    let port = free_port();
    let _server = Server::start(&serve(port), &gguf, &run.join("m1"), &api(port).base_url, &dir.path().join("server.log")).unwrap();
    let client = OpenAiCompletions::new(api(port), ck.tokenizer.clone()).unwrap();
    let prompts = test_prompts(&run);
    let ids: Vec<Vec<u32>> = prompts.iter().map(|p| ck.tokenizer.encode_prompt(p).unwrap()).collect();
    let greedy = SampleParams { temperature: 0.0, top_p: 1.0, max_new_tokens: 24, stop: vec![] };
    let seeds = vec![0; ids.len()];
    let gens = engine::generate(&ck.model, &ck.tokenizer, &ids, 1, &greedy, &seeds).unwrap();
    let theirs: Vec<String> = client.generate(&ids, 1, &greedy, &seeds).unwrap().into_iter().map(|r| r.unwrap()).collect();
    // Where the two differ, our top-2 logit gap at the first token they part at: a float
    // near-tie (llama.cpp's f32 kernels sum in another order) or a real difference.
    let mut same = 0;
    let mut differ = vec![];
    for ((g, t), p) in gens.iter().zip(&theirs).zip(&ids) {
        if g.text.trim() == t.trim() {
            same += 1;
            continue;
        }
        let (k, gap) = engine::backend::divergence(&ck, p, &g.tokens, t).unwrap();
        differ.push(serde_json::json!({ "ours": g.text.trim(), "llama_cpp": t.trim(), "at_token": k, "our_top2_gap": gap }));
    }
    write_summary("greedy_m1_f32", serde_json::json!({ "prompts": ids.len(), "identical": same, "differing": differ }));
    assert!(gens.iter().any(|g| !g.text.trim().is_empty()), "M1 answered nothing");
    assert!(same * 4 >= ids.len() * 3, "only {same} of {} greedy outputs identical: {differ:?}", ids.len());
    for d in &differ {
        assert!(d["our_top2_gap"].as_f64().unwrap() < 1e-2, "a difference that is not a near-tie: {d}");
    }
}

#[test]
fn the_loop_samples_and_judges_through_a_server_it_starts_and_a_dead_one_is_a_resumable_failure() {
    let runs = fresh_copy();
    let mut cfg = smoke_config(runs.path());
    cfg.iterate.iterations = 1;
    let run = RunDir::new(&cfg.runs_dir, &cfg.name);
    // Nothing serves this port: the candidates stage fails with its cause and writes nothing.
    let dead = free_port();
    cfg.backend = Backend::Openai { api: api(dead), serve: None };
    let e = trainer::iterate::run(&cfg, &run).unwrap_err().to_string();
    assert!(e.contains(&format!("127.0.0.1:{dead}")) && e.contains("candidates"), "{e}");
    assert!(!run.is_done("iter_1/candidates") && !run.exists("iter_1/candidates.jsonl"));
    // The same run, resumed with a server the loop starts for M1, completes.
    let port = free_port();
    cfg.backend = Backend::Openai { api: api(port), serve: Some(serve(port)) };
    let t0 = std::time::Instant::now();
    trainer::iterate::run(&cfg, &run).unwrap();
    let secs = t0.elapsed().as_secs_f64();
    let sets: Vec<trainer::candidates::CandidateSet> = run.read_jsonl("iter_1/candidates.jsonl").unwrap();
    let judged: Vec<trainer::selfjudge::Judged> = run.read_jsonl("iter_1/judgments.jsonl").unwrap();
    assert_eq!(sets.iter().map(|s| s.responses.len()).sum::<usize>(), cfg.iterate.new_prompts * cfg.iterate.n_candidates);
    let scored = judged.iter().flat_map(|j| &j.scores).filter(|s| s.is_some()).count();
    assert!(run.is_done("m2") && scored > 0, "no self-judgment through the server was scored");
    assert!(run.exists("iter_1/work/m1.gguf"), "M1 was not exported for the server");
    // The server was stopped after the stages: its port is free again.
    assert!(std::net::TcpListener::bind(("127.0.0.1", port)).is_ok(), "the server outlived its stages");
    let s: trainer::iterate::IterSummary = run.read_json("iter_1/summary.json").unwrap();
    write_summary("loop_through_llamacpp", serde_json::json!({ "candidates": s.candidates, "unscored": s.unscored, "parse_failures": s.parse_failures, "pairs": s.pairs, "seconds": secs }));
}
