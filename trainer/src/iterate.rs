//! The loop of the paper's Figure 1: M_t creates prompts' responses, judges them,
//! and M_{t+1} is trained by DPO on the resulting preference pairs.
use crate::candidates::{self, CandidateSet};
use crate::config::RunConfig;
use crate::pairs;
use crate::rundir::RunDir;
use crate::selfjudge::{self, Judged};
use crate::train::Metrics;
use crate::provenance::{digest_path, stages};
use crate::{dpo, prompts, stage, Error, Result};
use engine::Checkpoint;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::time::Instant;
use world::records::{IftExample, PromptRecord};

/// Saves the resolved config into the run folder before any work; refuses to
/// continue a run whose saved config differs (resuming must not change the recipe).
pub fn prepare(cfg: &RunConfig, run: &RunDir) -> Result<()> {
    cfg.validate()?;
    let text = cfg.to_toml()?;
    let p = run.path("config.toml");
    if p.exists() {
        let old = std::fs::read_to_string(&p).map_err(|e| Error::io(&p, e))?;
        let old_cfg: RunConfig = toml::from_str(&old).map_err(|e| Error::Config(format!("{}: {}", p.display(), e.message())))?;
        let mut a = old_cfg.clone();
        let mut b = cfg.clone();
        // More iterations may be asked of a finished run, a run folder may be moved or
        // renamed, and the backend may change (the records of the stages that sample say
        // whether a begun stage may continue on it); nothing else may change.
        for c in [&mut a, &mut b] {
            c.iterate.iterations = 0;
            c.runs_dir = Default::default();
            c.name = String::new();
            c.backend = Default::default();
        }
        if a != b {
            return Err(Error::Config(format!(
                "{} was made with another config; use another --name or delete the run folder",
                p.display()
            )));
        }
    }
    if let crate::config::Backend::Openai { api, .. } = &cfg.backend {
        engine::backend::api_key("backend.api.api_key_env", &api.api_key_env)?;
    }
    // What is recorded must have been made by this config (the file may have been lost).
    crate::provenance::stages::check_recorded(cfg, run)?;
    crate::parallel::one_thread_per_job();
    run.write_bytes("config.toml", text.as_bytes())
}

/// What one iteration did, printed at its end and saved as `iter_<t>/summary.json`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct IterSummary {
    pub iteration: usize,
    pub prompts_generated: usize,
    pub prompts_kept: usize,
    pub candidates: usize,
    /// Judge samples whose score could not be read.
    pub parse_failures: usize,
    /// Candidates left without any valid judgment (excluded from pairs).
    pub unscored: usize,
    pub pairs: usize,
    pub mean_self_score: f64,
    /// Self-scores rounded to the nearest integer, counts for 0..=5.
    pub self_score_hist: [usize; 6],
    pub mean_len_candidates: f64,
    pub mean_len_chosen: f64,
    pub mean_len_rejected: f64,
    /// The world's grader on the same candidates (diagnostic; the loop never sees it).
    pub grader_mean_candidates: f64,
    /// Fraction of pairs whose chosen response the grader also scores higher.
    pub pairs_agreeing_with_grader: f64,
    /// Fraction of pairs the grader scores equal, and the fraction it scores the other way.
    #[serde(default)]
    pub pairs_tied_by_grader: f64,
    #[serde(default)]
    pub pairs_against_grader: f64,
    /// DPO validation metrics of the kept checkpoint.
    pub dpo_valid: Metrics,
    pub dpo_best_step: usize,
    /// Seconds per stage (of this process; a resumed stage counts its last part).
    pub seconds: BTreeMap<String, f64>,
}

fn words(s: &str) -> f64 {
    s.split_whitespace().count() as f64
}

fn mean(xs: impl Iterator<Item = f64>) -> f64 {
    let (s, n) = xs.fold((0.0, 0usize), |(s, n), x| (s + x, n + 1));
    if n == 0 { 0.0 } else { s / n as f64 }
}

/// Seed of iteration `t`'s randomness: the run's seed, the loop's offset (a large odd
/// multiplier keeps offsets' streams apart from the iterations'), and the iteration.
pub fn loop_seed(run_seed: u64, offset: u64, t: usize) -> u64 {
    run_seed.wrapping_add(offset.wrapping_mul(1_000_003)).wrapping_add(1000 * t as u64)
}

/// Turns M_t into M_{t+1}: prompts, candidates, self-judging, pairs, DPO. `m_t` is M_t's
/// digest ([`digest_path`] of its folder), recorded in each stage's provenance; the caller
/// marks `m{t+1}` done with [`stages::dpo`] once it has saved the summary.
pub fn iteration(cfg: &RunConfig, run: &RunDir, t: usize, m_t: &str) -> Result<IterSummary> {
    let it = run.iter(t);
    let f = |name: &str| format!("{it}/{name}");
    let seed = loop_seed(cfg.seed, cfg.iterate.seed, t);
    let workers = cfg.workers();
    let ic = &cfg.iterate;
    let mut sum = IterSummary { iteration: t, ..Default::default() };
    let model = Checkpoint::load(&run.model(t), cfg.runtime.dtype(), &cfg.runtime.device()?)?;
    let mut clock = Instant::now();
    let mut lap = |sum: &mut IterSummary, stage: &str| {
        sum.seconds.insert(stage.into(), clock.elapsed().as_secs_f64());
        clock = Instant::now();
    };

    // 1. New prompts by self-instruction.
    let by = stages::prompts(cfg, run, t, m_t)?;
    if !run.stage(&f("prompts"), &by)? {
        let seed_ins: Vec<String> = run.read_jsonl::<IftExample>("seed/ift.jsonl")?.into_iter().map(|e| e.instruction).collect();
        let mut earlier = vec![];
        for s in 1..t {
            earlier.extend(run.read_jsonl::<PromptRecord>(&format!("{}/prompts.jsonl", run.iter(s)))?.into_iter().map(|p| p.instruction));
        }
        let (prompts, stats) = prompts::new_prompts(ic, &cfg.world, &model, &seed_ins, &earlier, seed)?;
        run.write_jsonl(&f("prompts.jsonl"), &prompts)?;
        run.write_json(&f("prompt_stats.json"), &stats)?;
        run.finish(&f("prompts"), &by)?;
    }
    let prompts: Vec<PromptRecord> = run.read_jsonl(&f("prompts.jsonl"))?;
    let stats: prompts::PromptStats = run.read_json(&f("prompt_stats.json"))?;
    sum.prompts_generated = stats.generated;
    sum.prompts_kept = stats.kept;
    lap(&mut sum, "prompts");

    // 2. Candidates from M_t (or a server serving it, started for stages 2 and 3).
    let by = stages::candidates(cfg, run, t, m_t)?;
    let remote = if run.is_done(&f("candidates")) && run.is_done(&f("judgments")) { None } else { crate::serve::connect(cfg, run, t, &model)? };
    let generator = crate::serve::generator(&remote, &model);
    let sets: Vec<CandidateSet> = if run.stage(&f("candidates"), &by)? {
        run.read_jsonl(&f("candidates.jsonl"))?
    } else {
        let sets = stage::chunked(run, &f("candidates"), "candidates", &prompts, ic.batch_size, workers, |_, xs| {
            candidates::sample(generator, &model.tokenizer, xs, ic, seed)
        })?;
        run.write_jsonl(&f("candidates.jsonl"), &sets)?;
        run.finish(&f("candidates"), &by)?;
        sets
    };
    lap(&mut sum, "candidates");

    // 3. M_t judges its own candidates.
    let by = stages::judgments(cfg, run, t, m_t)?;
    let judged: Vec<Judged> = if run.stage(&f("judgments"), &by)? {
        run.read_jsonl(&f("judgments.jsonl"))?
    } else {
        let per_chunk = (ic.batch_size / ic.n_candidates.max(1)).max(1);
        let j = stage::chunked(run, &f("judgments"), "self-judge", &sets, per_chunk, workers, |_, xs| {
            selfjudge::judge(&model, generator, xs, &cfg.judge, ic.batch_size, seed)
        })?;
        run.write_jsonl(&f("judgments.jsonl"), &j)?;
        run.finish(&f("judgments"), &by)?;
        j
    };
    drop(remote);
    lap(&mut sum, "self-judge");

    // 4. Pairs: best vs worst, ties dropped.
    let all_pairs = pairs::build(&judged);
    run.write_jsonl(&f("pairs.jsonl"), &all_pairs)?;
    let trl: Vec<serde_json::Value> = all_pairs
        .iter()
        .map(|p| serde_json::json!({"prompt": p.prompt, "chosen": p.chosen, "rejected": p.rejected}))
        .collect();
    run.write_jsonl(&f("pairs_trl.jsonl"), &trl)?;
    let scores: Vec<f64> = judged.iter().flat_map(|j| j.scores.iter().flatten().copied()).collect();
    sum.candidates = judged.iter().map(|j| j.responses.len()).sum();
    sum.parse_failures = judged.iter().flat_map(|j| &j.parse_failures).sum();
    sum.unscored = judged.iter().flat_map(|j| &j.scores).filter(|s| s.is_none()).count();
    sum.pairs = all_pairs.len();
    sum.mean_self_score = mean(scores.iter().copied());
    for s in &scores {
        sum.self_score_hist[(s.round() as usize).min(5)] += 1;
    }
    sum.mean_len_candidates = mean(judged.iter().flat_map(|j| j.responses.iter().map(|r| words(r))));
    sum.mean_len_chosen = mean(all_pairs.iter().map(|p| words(&p.chosen)));
    sum.mean_len_rejected = mean(all_pairs.iter().map(|p| words(&p.rejected)));
    let tasks: HashMap<usize, &world::Task> = prompts.iter().filter_map(|p| p.task.as_ref().map(|t| (p.id, t))).collect();
    sum.grader_mean_candidates = mean(judged.iter().flat_map(|j| {
        let t = tasks.get(&j.prompt_id).copied();
        j.responses.iter().filter_map(move |r| t.map(|t| world::grade(t, r).score as f64))
    }));
    let graded: Vec<std::cmp::Ordering> = all_pairs
        .iter()
        .filter_map(|p| {
            let t = tasks.get(&p.prompt_id)?;
            Some(world::grade(t, &p.chosen).score.cmp(&world::grade(t, &p.rejected).score))
        })
        .collect();
    let share = |o: std::cmp::Ordering| mean(graded.iter().map(|g| (*g == o) as u8 as f64));
    sum.pairs_agreeing_with_grader = share(std::cmp::Ordering::Greater);
    sum.pairs_tied_by_grader = share(std::cmp::Ordering::Equal);
    sum.pairs_against_grader = share(std::cmp::Ordering::Less);
    lap(&mut sum, "pairs");

    // 5. DPO from M_t against M_t, reference log-probs computed once.
    let (train_pairs, valid_pairs) = pairs::split(&all_pairs, cfg.dpo.valid_fraction);
    if train_pairs.is_empty() || valid_pairs.is_empty() {
        return Err(Error::Stage(format!(
            "iteration {t}: {} training and {} validation pairs; nothing to train on (judge scores all tied?)",
            train_pairs.len(),
            valid_pairs.len()
        )));
    }
    run.stage(&format!("m{}", t + 1), &stages::dpo(cfg, run, t, m_t)?)?;
    let max_len = cfg.model.max_len;
    let bs = cfg.dpo.train.batch_size;
    let train_ref = stage::chunked(run, &f("ref_logps_train"), "reference", &train_pairs, bs * 4, workers, |_, xs| {
        dpo::reference_logps(&model, xs, max_len, bs)
    })?;
    let valid_ref = stage::chunked(run, &f("ref_logps_valid"), "reference", &valid_pairs, bs * 4, workers, |_, xs| {
        dpo::reference_logps(&model, xs, max_len, bs)
    })?;
    let mut policy = model.deep_clone()?;
    drop(model);
    let progress = dpo::train_dpo(&mut policy, &cfg.dpo, &train_pairs, &train_ref, &valid_pairs, &valid_ref, max_len, seed, &run.path(&f("work/dpo")), workers)?;
    policy.save(&run.model(t + 1))?;
    run.write_json(&f("dpo.json"), &progress)?;
    if let Some((step, _)) = progress.best {
        sum.dpo_best_step = step;
        sum.dpo_valid = progress.valid.iter().find(|(s, _)| *s == step).map(|v| v.1.clone()).unwrap_or_default();
    }
    lap(&mut sum, "dpo");
    Ok(sum)
}

/// The one-screen summary of an iteration.
pub fn render_summary(s: &IterSummary) -> String {
    let g = |k: &str| s.dpo_valid.get(k).copied().unwrap_or(f64::NAN);
    let secs: Vec<String> = s.seconds.iter().map(|(k, v)| format!("{k} {v:.0}s")).collect();
    format!(
        "== iteration {t}: M{t} -> M{t1} ==\n\
         prompts        {kept} kept of {gen} generated\n\
         candidates     {c} ({pf} judge samples unparsable, {un} candidates unscored)\n\
         self-scores    mean {ms:.2}, histogram 0..5 {h:?}\n\
         grader view    candidates mean {gm:.2}; pairs the grader agrees with {pa:.1}%, ties {pt:.1}%, disagrees {pd:.1}%\n\
         pairs          {p} (mean words chosen {lc:.1}, rejected {lr:.1}, all {la:.1})\n\
         DPO (valid)    loss {dl:.4}, reward accuracy {ra:.1}%, margin {mg:.3} at step {bs}\n\
         time           {secs}\n",
        t = s.iteration,
        t1 = s.iteration + 1,
        kept = s.prompts_kept,
        gen = s.prompts_generated,
        c = s.candidates,
        pf = s.parse_failures,
        un = s.unscored,
        ms = s.mean_self_score,
        h = s.self_score_hist,
        gm = s.grader_mean_candidates,
        pa = 100.0 * s.pairs_agreeing_with_grader,
        pt = 100.0 * s.pairs_tied_by_grader,
        pd = 100.0 * s.pairs_against_grader,
        p = s.pairs,
        lc = s.mean_len_chosen,
        lr = s.mean_len_rejected,
        la = s.mean_len_candidates,
        dl = g("loss"),
        ra = 100.0 * g("rewards/accuracies"),
        mg = g("rewards/margins"),
        bs = s.dpo_best_step,
        secs = secs.join(", "),
    )
}

/// Seed data, SFT, then `cfg.iterate.iterations` self-rewarding iterations.
pub fn run(cfg: &RunConfig, run: &RunDir) -> Result<()> {
    prepare(cfg, run)?;
    crate::data::write_seed(cfg, run)?;
    crate::sft::run_sft(cfg, run)?;
    for t in 1..=cfg.iterate.iterations {
        let next = format!("m{}", t + 1);
        let summary_path = format!("{}/summary.json", run.iter(t));
        // (`prepare` has checked the records of what is done.)
        if !run.is_done(&next) {
            let m_t = digest_path(&run.model(t))?;
            let s = iteration(cfg, run, t, &m_t)?;
            run.write_json(&summary_path, &s)?;
            run.finish(&next, &stages::dpo(cfg, run, t, &m_t)?)?;
        }
        let s: IterSummary = run.read_json(&summary_path)?;
        eprint!("{}", render_summary(&s));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::loop_seed;

    #[test]
    fn loop_seed_keeps_the_run_seed_at_offset_zero_and_separates_offsets() {
        // offset 0: the seeds runs made before the offset existed
        assert_eq!(loop_seed(0, 0, 1), 1000);
        assert_eq!(loop_seed(7, 0, 2), 2007);
        let mut seen = std::collections::HashSet::new();
        for offset in 0..20 {
            for t in 1..=10 {
                assert!(seen.insert(loop_seed(0, offset, t)), "offset {offset} iteration {t} repeats a seed");
            }
        }
    }
}
