//! `bench iteration`: one self-rewarding iteration at a fixed small size, through the
//! trainer's own stages (`candidates::sample`, `selfjudge::judge`, `pairs::build`,
//! `dpo::reference_logps` and `dpo::train_dpo`), each stage timed; `benchmarks/iteration_peer.py`
//! runs the same iteration with transformers' `generate` and TRL's `DPOTrainer`.
//!
//! Same work on both sides: the same prompt token ids (written to `--out` for the peer),
//! fixed-length candidates and judgments (end-of-turn ignored), one sampled judgment per
//! candidate with the paper's prompt, and one pair per prompt (best against worst where
//! the judge separated them, else the first two candidates: a random-weight model's
//! judgments do not parse), DPO for one epoch with the reference log-probs computed first.
use crate::args::Iteration;
use anyhow::{Context, Result};
use engine::judge::JudgePrompt;
use serde_json::{json, Value};
use std::time::Instant;
use engine::judge::Scoring;
use trainer::config::{DpoConfig, DpoLoss, IterateConfig, JudgeConfig, TrainConfig};
use trainer::dpo::{self, DpoRun, RefPairs};
use trainer::{candidates, pairs, parallel, selfjudge};
use world::records::PromptRecord;

/// One pair per prompt: the judge's best against its worst, else candidates 0 and 1.
fn one_pair_each(judged: &[records::Judged]) -> Vec<records::Pair> {
    let chosen = pairs::build(judged);
    judged
        .iter()
        .map(|j| {
            chosen.iter().find(|p| p.prompt_id == j.prompt_id).cloned().unwrap_or_else(|| records::Pair {
                prompt_id: j.prompt_id,
                prompt: j.instruction.clone(),
                chosen: j.responses[0].clone(),
                rejected: j.responses[1].clone(),
                chosen_score: f64::NAN,
                rejected_score: f64::NAN,
            })
        })
        .collect()
}

pub fn run(a: &Iteration) -> Result<Value> {
    let ck = match &a.model {
        Some(path) => engine::Runtime { decode_weights: a.decode_weights, ..Default::default() }.load(&path.to_string_lossy())?,
        None => {
            let m = &a.size;
            let cfg = engine::Config::llama(m.vocab, m.hidden, m.intermediate, m.layers, m.heads, m.heads, a.context);
            engine::Checkpoint::init(&cfg, crate::common::tokenizer(m.vocab)?, 0, &candle_core::Device::Cpu)?
        }
    };
    // Generation through a view whose tokenizer has no end of turn: fixed lengths, as the
    // peer's min_new_tokens (the weights are shared, not copied).
    let mut gen = engine::Checkpoint { varmap: ck.varmap.clone(), model: ck.model.clone(), tokenizer: ck.tokenizer.clone() };
    gen.tokenizer.eos_ids.clear();
    let rows: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(&a.instructions).with_context(|| a.instructions.display().to_string())?)?;
    let prompts: Vec<PromptRecord> = rows
        .iter()
        .filter_map(|r| r["instruction"].as_str())
        .take(a.prompts)
        .enumerate()
        .map(|(id, s)| PromptRecord { id, instruction: s.to_string(), task: None })
        .collect();
    let ids = prompts.iter().map(|p| ck.tokenizer.encode_prompt(&p.instruction)).collect::<engine::Result<Vec<_>>>()?;
    std::fs::create_dir_all(&a.out)?;
    if a.model.is_none() {
        ck.save(&a.out.join("model"))?;
    }
    let template = std::fs::read_to_string(&a.judge_prompt).with_context(|| a.judge_prompt.display().to_string())?;
    std::fs::write(a.out.join("prompts.json"), json!({ "ids": ids, "instructions": prompts.iter().map(|p| &p.instruction).collect::<Vec<_>>(), "judge_template": template }).to_string())?;

    let threads = a.threads.max(1);
    let ic = IterateConfig { n_candidates: a.candidates, temperature: 0.7, top_p: 0.9, max_new_tokens: a.max_new_tokens, batch_size: a.batch, ..Default::default() };
    let jc = JudgeConfig { prompt: JudgePrompt::File(a.judge_prompt.clone()), samples: 1, temperature: 0.7, top_p: 0.9, max_new_tokens: a.judge_max_new_tokens, scoring: Scoring::Sampled };
    // The loop's chunks, one worker per thread (as `stage::chunked` with `workers`).
    let chunk = |n: usize| n.div_ceil(threads).min(a.batch.max(1)).max(1);
    let t_all = Instant::now();
    let t0 = Instant::now();
    let prompt_chunks: Vec<Vec<PromptRecord>> = prompts.chunks(chunk(prompts.len())).map(|c| c.to_vec()).collect();
    let sets: Vec<_> = parallel::map(threads, &prompt_chunks, |c| candidates::sample(&gen, &gen.tokenizer, c, &ic, 1)).into_iter().collect::<trainer::Result<Vec<_>>>()?.concat();
    let candidates_s = t0.elapsed().as_secs_f64();

    let t0 = Instant::now();
    let set_chunks: Vec<Vec<_>> = sets.chunks(chunk(sets.len())).map(|c| c.to_vec()).collect();
    let judged: Vec<_> = parallel::map(threads, &set_chunks, |c| selfjudge::judge(&gen, &gen, c, &jc, a.batch, 1)).into_iter().collect::<trainer::Result<Vec<_>>>()?.concat();
    let judge_s = t0.elapsed().as_secs_f64();
    let parsed = judged.iter().flat_map(|j| &j.scores).filter(|s| s.is_some()).count();
    let all = one_pair_each(&judged);

    let t0 = Instant::now();
    let max_len = ck.config().max_position_embeddings;
    let steps = all.len().div_ceil(a.dpo_batch);
    let cfg = DpoConfig {
        loss: DpoLoss::Sigmoid { beta: 0.1 },
        train: TrainConfig { steps, batch_size: a.dpo_batch, lr: 5e-6, warmup: 0, min_lr_ratio: 1.0, weight_decay: 0.0, grad_clip: 1.0, eval_every: steps, ckpt_every: steps, shards: threads, eval_batch_size: 0 },
        valid_fraction: 0.0,
        ..Default::default()
    };
    // The loop always validates; here one pair, so the training set is every pair as the peer's.
    let valid = &all[..1];
    let reference = dpo::reference_logps(&ck, &all, max_len, a.dpo_batch)?;
    let valid_ref = dpo::reference_logps(&ck, valid, max_len, a.dpo_batch)?;
    let mut policy = ck.deep_clone()?;
    let work = a.out.join("dpo_work");
    let _ = std::fs::remove_dir_all(&work);
    let spec = DpoRun {
        cfg: &cfg,
        train: RefPairs { pairs: &all, reference: &reference },
        valid: RefPairs { pairs: valid, reference: &valid_ref },
        max_len,
        seed: 1,
        work: &work,
        threads,
    };
    dpo::train_dpo(&mut policy, &spec)?;
    let dpo_s = t0.elapsed().as_secs_f64();
    // Timed stages end here; the token count below is for the report only.
    let total_s = t_all.elapsed().as_secs_f64();
    let judge_tokens: usize = judged.iter().flat_map(|j| j.responses.iter().map(move |r| (j, r))).map(|(j, r)| {
        let text = template.replace("{instruction}", &j.instruction).replace("{response}", r);
        ck.tokenizer.encode_prompt(&text).map(|x| x.len()).unwrap_or(0)
    }).sum();
    Ok(json!({
        "candidates_s": candidates_s, "judge_s": judge_s, "dpo_s": dpo_s, "total_s": total_s,
        "candidates": sets.len() * a.candidates, "judgments_parsed": parsed, "pairs": all.len(), "dpo_steps": steps,
        "mean_prompt_tokens": ids.iter().map(|x| x.len()).sum::<usize>() as f64 / ids.len().max(1) as f64,
        "mean_judge_prompt_tokens": judge_tokens as f64 / (sets.len() * a.candidates).max(1) as f64,
    }))
}
