//! Supervised fine-tuning: cross-entropy on response tokens only.
//! M1 trains on IFT + EFT; the SFT baseline on IFT only.
use crate::config::RunConfig;
use crate::provenance::stages;
use records::RunDir;
use crate::train::{train, Keep, Metrics, Progress, TrainRun};
use crate::Result;
use engine::logprob::{sft_loss, SeqBatch};
use engine::model::Track;
use engine::{Checkpoint, Config, Tokenizer};
use world::records::{EftExample, IftExample, PromptRecord};

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
        let l = sft_loss(model, &b, Track::Off)?.to_scalar::<f32>()? as f64;
        sum += l * b.n_tokens as f64;
        n += b.n_tokens;
    }
    Ok(sum / n.max(1) as f64)
}

/// Trains one SFT model, from M0 (`model.init`) or a seeded random init, and saves it to
/// `out` (e.g. `m1`).
pub fn train_sft(cfg: &RunConfig, run: &RunDir, out: &str, train_data: Pairs, valid: Pairs) -> Result<Progress> {
    let mut ck = match &cfg.model.init {
        Some(src) => cfg.runtime.load(src)?,
        None => {
            let tok = Tokenizer::from_file(&run.path("seed/tokenizer.json"))?;
            let mc = model_config(cfg, tok.vocab_size());
            Checkpoint::init(&mc, tok, cfg.seed, &cfg.runtime.device()?)?
        }
    };
    let pad = ck.tokenizer.pad_id;
    let max_len = cfg.model.max_len;
    let dev = ck.model.device().clone();
    let bs = cfg.sft.eval_rows();
    let lengths: Vec<usize> = train_data.iter().map(|(p, r)| p.len() + r.len()).collect();
    let work = run.path(&format!("work/{out}"));
    let spec = TrainRun { cfg: &cfg.sft, lengths: &lengths, seed: cfg.seed, work: &work, label: out, keep: Keep::Last, threads: cfg.workers() };
    let progress = train(
        &mut ck,
        &spec,
        |m, track, idx| {
            let rows: Pairs = idx.iter().map(|&i| train_data[i].clone()).collect();
            let b = SeqBatch::new(&rows, pad, max_len, &dev)?;
            Ok((sft_loss(m, &b, track)?, Metrics::new(), b.n_tokens as f64))
        },
        |m| Ok(Metrics::from([("loss".to_string(), eval_loss(m, &valid, pad, max_len, bs)?)])),
    )?;
    ck.save(&run.path(out))?;
    run.write_json(&format!("{out}.train.json"), &progress)?;
    Ok(progress)
}

/// EFT examples whose responses the SFT baseline wrote: two samples (temperature 1)
/// for each EFT training instruction, labelled by the grader.
pub fn model_eft(cfg: &RunConfig, run: &RunDir) -> Result<Vec<EftExample>> {
    let ck = Checkpoint::load(&run.path("sft_baseline"), cfg.runtime.dtype(), &cfg.runtime.device()?)?;
    let template = cfg.judge.prompt.template()?;
    let tasks: Vec<world::Task> = run.read_jsonl::<PromptRecord>("seed/eft_train_tasks.jsonl")?.into_iter().filter_map(|p| p.task).collect();
    let params = engine::SampleParams { temperature: 1.0, top_p: 1.0, max_new_tokens: cfg.iterate.max_new_tokens, stop: vec![] };
    let per = 2;
    crate::stage::chunked(run, "seed/eft_model", "EFT samples", &tasks, cfg.iterate.batch_size, cfg.workers(), |c, ts| {
        let ids = ts.iter().map(|t| ck.tokenizer.encode_prompt(&t.instruction)).collect::<engine::Result<Vec<_>>>()?;
        let seeds: Vec<u64> = (0..ts.len() * per).map(|k| crate::candidates::sample_seed(cfg.seed, 7, c, k)).collect();
        let gens = engine::generate(&ck.model, &ck.tokenizer, &ids, per, &params, &seeds)?;
        let mut v = vec![];
        for (k, (t, g)) in ts.iter().zip(gens.chunks(per)).enumerate() {
            for x in g {
                let response = x.text.trim().to_string();
                let gr = world::grade(t, &response);
                v.push(EftExample {
                    group: c * cfg.iterate.batch_size + k,
                    prompt: engine::judge::fill(&template, &t.instruction, &response),
                    target: crate::data::eft_target(t, &response, &gr, cfg.data.eft_expected, cfg.data.eft_style),
                    instruction: t.instruction.clone(),
                    response,
                    score: gr.score,
                    family: t.family.name().into(),
                });
            }
        }
        Ok(v)
    })
}

/// Mixes model-written EFT examples with corruption-model ones so each score 0-5 keeps
/// an equal share (as far as the pools allow), `model_fraction` of them model-written.
pub fn mix_eft(corrupt: &[EftExample], model: &[EftExample], n: usize, model_fraction: f64) -> Vec<EftExample> {
    let quota = n.div_ceil(6);
    let model_quota = ((quota as f64) * model_fraction).round() as usize;
    let mut counts = [0usize; 6];
    let mut out = vec![];
    for e in model {
        let s = e.score as usize;
        if counts[s] < model_quota {
            counts[s] += 1;
            out.push(e.clone());
        }
    }
    for e in corrupt {
        let s = e.score as usize;
        if counts[s] < quota && out.len() < n {
            counts[s] += 1;
            out.push(e.clone());
        }
    }
    out
}

/// Makes the SFT baseline (IFT only), the EFT training set, and M1 (IFT + EFT), each
/// skipped when done.
pub fn run_sft(cfg: &RunConfig, run: &RunDir) -> Result<()> {
    let tok = crate::data::seed_tokenizer(cfg, run)?;
    let ift_rows: Vec<IftExample> = run.read_jsonl("seed/ift.jsonl")?;
    let ift = encode_ift(&tok, &ift_rows)?;
    let ift_valid = encode_ift(&tok, &run.read_jsonl("seed/ift_valid.jsonl")?)?;
    let eft_valid = encode_eft(&tok, &run.read_jsonl("seed/eft_valid.jsonl")?)?;
    // One after the other, each using every core through data parallelism. The
    // baseline comes first: its own responses become part of M1's judge training data.
    let made_by = stages::sft_baseline(cfg, run)?;
    if !run.stage("sft_baseline", &made_by)? {
        train_sft(cfg, run, "sft_baseline", ift.clone(), ift_valid.clone())?;
        run.finish("sft_baseline", &made_by)?;
    }
    let made_by = stages::eft_mixed(cfg, run)?;
    if !run.stage("seed/eft_mixed", &made_by)? {
        let pool: Vec<EftExample> = run.read_jsonl("seed/eft_train.jsonl")?;
        let mixed = if cfg.data.eft_model_fraction > 0.0 {
            let from_model = model_eft(cfg, run)?;
            mix_eft(&pool, &from_model, cfg.data.eft_train, cfg.data.eft_model_fraction)
        } else {
            pool.into_iter().take(cfg.data.eft_train).collect()
        };
        run.write_jsonl("seed/eft_train_mixed.jsonl", &mixed)?;
        run.finish("seed/eft_mixed", &made_by)?;
    }
    let made_by = stages::m1(cfg, run)?;
    if !run.stage("m1", &made_by)? {
        let eft = encode_eft(&tok, &run.read_jsonl("seed/eft_train_mixed.jsonl")?)?;
        let train_data: Pairs = ift.iter().chain(eft.iter()).cloned().collect();
        let valid: Pairs = ift_valid.iter().chain(eft_valid.iter()).cloned().collect();
        train_sft(cfg, run, "m1", train_data, valid)?;
        run.finish("m1", &made_by)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ex(score: u8, tag: &str) -> EftExample {
        EftExample { group: 0, instruction: tag.into(), response: String::new(), prompt: String::new(), target: String::new(), score, family: String::new() }
    }

    #[test]
    fn mixing_keeps_scores_balanced_and_the_model_share() {
        // 12 examples: quota 2 per score, 1 of each from the model where it has one.
        let model: Vec<EftExample> = [1, 1, 1, 2, 2, 3].iter().map(|s| ex(*s, "model")).collect();
        let corrupt: Vec<EftExample> = (0..6).flat_map(|s| [ex(s, "corrupt"), ex(s, "corrupt"), ex(s, "corrupt")]).collect();
        let m = mix_eft(&corrupt, &model, 12, 0.5);
        assert_eq!(m.len(), 12);
        for s in 0..6u8 {
            assert_eq!(m.iter().filter(|e| e.score == s).count(), 2, "score {s}");
        }
        let from_model: Vec<u8> = m.iter().filter(|e| e.instruction == "model").map(|e| e.score).collect();
        assert_eq!(from_model, [1, 2, 3]);
    }
}
