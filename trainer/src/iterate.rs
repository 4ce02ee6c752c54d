//! The loop of the paper's Figure 1: M_t creates prompts' responses, judges them,
//! and M_{t+1} is trained by DPO on the resulting preference pairs.
use crate::candidates::{self, CandidateSet};
use crate::config::RunConfig;
use crate::pairs::{self, Pair};
use records::RunDir;
use crate::selfjudge::{self, Judged};
use crate::provenance::{digest_path, stages};
use crate::dpo::{DpoRun, RefPairs};
use crate::train::Progress;
use crate::{diagnostics, dpo, dpo_trl, prompts, stage, Error, Result};
use engine::{Checkpoint, Generator};
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
        // renamed, and the backends may change (the records of the stages that sample and
        // of DPO say whether a begun stage may continue on them), as may what `make eval`
        // measures; nothing else may change.
        for c in [&mut a, &mut b] {
            c.iterate.iterations = 0;
            c.runs_dir = Default::default();
            c.name = String::new();
            c.backend = Default::default();
            c.dpo.backend = Default::default();
            c.eval = Default::default();
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
    Ok(run.write_bytes("config.toml", text.as_bytes())?)
}

pub use records::IterSummary;

/// Seed of iteration `t`'s randomness: the run's seed, the loop's offset (a large odd
/// multiplier keeps offsets' streams apart from the iterations'), and the iteration.
pub fn loop_seed(run_seed: u64, offset: u64, t: usize) -> u64 {
    run_seed.wrapping_add(offset.wrapping_mul(1_000_003)).wrapping_add(1000 * t as u64)
}

/// Turns M_t into M_{t+1}, the paper's Figure 1: self-instruction creation (new prompts,
/// candidate responses, M_t judging them), then instruction-following training (pairs,
/// DPO). `m_t` is M_t's digest ([`digest_path`] of its folder), recorded in each stage's
/// provenance; the caller marks `m{t+1}` done with [`stages::dpo`] once it has saved the
/// summary.
pub fn iteration(cfg: &RunConfig, run: &RunDir, t: usize, m_t: &str) -> Result<IterSummary> {
    let it = Iteration { cfg, run, t, m_t, seed: loop_seed(cfg.seed, cfg.iterate.seed, t) };
    let mut sum = IterSummary { iteration: t, ..Default::default() };
    let model = cfg.runtime.load_dir(&run.model(t))?;
    let mut clock = Instant::now();
    let mut lap = |sum: &mut IterSummary, stage: &str| {
        sum.seconds.insert(stage.into(), clock.elapsed().as_secs_f64());
        clock = Instant::now();
    };

    // M_t generates (here, or a server serving it, started for the stages that sample).
    let remote = if it.sampled() { None } else { crate::serve::connect(cfg, run, t, &model)? };
    let generator = crate::serve::generator(&remote, &model);

    // 1. New prompts by self-instruction.
    let (prompts, stats) = it.new_prompts(generator, &model)?;
    sum.prompts_generated = stats.generated;
    sum.prompts_kept = stats.kept;
    lap(&mut sum, "prompts");

    // 2. Candidates from M_t.
    let sets = it.candidates(generator, &model, &prompts)?;
    lap(&mut sum, "candidates");

    // 3. M_t judges its own candidates.
    let judged = it.self_judge(&model, generator, &sets)?;
    drop(remote);
    lap(&mut sum, "self-judge");

    // 4. Pairs: best vs worst, ties dropped; what they look like to the world's grader.
    let all_pairs = it.pairs(&judged)?;
    diagnostics::record(&mut sum, &prompts, &judged, &all_pairs);
    lap(&mut sum, "pairs");

    // 5. DPO from M_t against M_t: M_{t+1}.
    let progress = it.dpo(model, &all_pairs)?;
    if let Some((step, _)) = progress.best {
        sum.dpo_best_step = step;
        sum.dpo_valid = progress.valid.iter().find(|(s, _)| *s == step).map(|v| v.1.clone()).unwrap_or_default();
    }
    lap(&mut sum, "dpo");
    Ok(sum)
}

/// The stages of iteration `t`, each resumable: skipped when its record says it is done
/// with the same inputs, else (re)made and recorded.
struct Iteration<'a> {
    cfg: &'a RunConfig,
    run: &'a RunDir,
    t: usize,
    /// M_t's digest.
    m_t: &'a str,
    /// The iteration's seed ([`loop_seed`]).
    seed: u64,
}

impl Iteration<'_> {
    /// `iter_<t>/<name>`.
    fn file(&self, name: &str) -> String {
        format!("{}/{name}", self.run.iter(self.t))
    }

    /// Stage 1: new prompts by self-instruction from M_t, and how many were generated and kept.
    fn new_prompts(&self, generator: &dyn Generator, model: &Checkpoint) -> Result<(Vec<PromptRecord>, prompts::PromptStats)> {
        let (cfg, run, t) = (self.cfg, self.run, self.t);
        let by = stages::prompts(cfg, run, t, self.m_t)?;
        if !run.stage(&self.file("prompts"), &by)? {
            let seed_ins: Vec<String> = run.read_jsonl::<IftExample>("seed/ift.jsonl")?.into_iter().map(|e| e.instruction).collect();
            let mut earlier = vec![];
            for s in 1..t {
                earlier.extend(run.read_jsonl::<PromptRecord>(&format!("{}/prompts.jsonl", run.iter(s)))?.into_iter().map(|p| p.instruction));
            }
            let (prompts, stats) = prompts::new_prompts(&cfg.iterate, &cfg.world, generator, &model.tokenizer, &seed_ins, &earlier, self.seed)?;
            run.write_jsonl(&self.file("prompts.jsonl"), &prompts)?;
            run.write_json(&self.file("prompt_stats.json"), &stats)?;
            run.finish(&self.file("prompts"), &by)?;
        }
        Ok((run.read_jsonl(&self.file("prompts.jsonl"))?, run.read_json(&self.file("prompt_stats.json"))?))
    }

    /// Whether every stage that samples from M_t is done (prompts when M_t writes them,
    /// candidates, self-judgments): then no server is needed.
    fn sampled(&self) -> bool {
        let prompts_sampled = self.cfg.iterate.generator == crate::config::PromptGenerator::World || self.run.is_done(&self.file("prompts"));
        prompts_sampled && self.run.is_done(&self.file("candidates")) && self.run.is_done(&self.file("judgments"))
    }

    /// Stage 2: `iterate.n_candidates` responses per prompt from `generator`.
    fn candidates(&self, generator: &dyn Generator, model: &Checkpoint, prompts: &[PromptRecord]) -> Result<Vec<CandidateSet>> {
        let (run, ic) = (self.run, &self.cfg.iterate);
        let by = stages::candidates(self.cfg, run, self.t, self.m_t)?;
        if run.stage(&self.file("candidates"), &by)? {
            return Ok(run.read_jsonl(&self.file("candidates.jsonl"))?);
        }
        let sets = stage::chunked(run, &self.file("candidates"), "candidates", prompts, ic.batch_size, self.cfg.workers(), |_, xs| {
            candidates::sample(generator, &model.tokenizer, xs, ic, self.seed)
        })?;
        run.write_jsonl(&self.file("candidates.jsonl"), &sets)?;
        run.finish(&self.file("candidates"), &by)?;
        Ok(sets)
    }

    /// Stage 3: M_t's scores of its own candidates (judgments sampled from `generator`).
    fn self_judge(&self, model: &Checkpoint, generator: &dyn Generator, sets: &[CandidateSet]) -> Result<Vec<Judged>> {
        let (cfg, run, ic) = (self.cfg, self.run, &self.cfg.iterate);
        let by = stages::judgments(cfg, run, self.t, self.m_t)?;
        if run.stage(&self.file("judgments"), &by)? {
            return Ok(run.read_jsonl(&self.file("judgments.jsonl"))?);
        }
        let per_chunk = (ic.batch_size / ic.n_candidates.max(1)).max(1);
        let judged = stage::chunked(run, &self.file("judgments"), "self-judge", sets, per_chunk, cfg.workers(), |_, xs| {
            selfjudge::judge(model, generator, xs, &cfg.judge, ic.batch_size, self.seed)
        })?;
        run.write_jsonl(&self.file("judgments.jsonl"), &judged)?;
        run.finish(&self.file("judgments"), &by)?;
        Ok(judged)
    }

    /// Stage 4: the preference pairs, written as ours and in TRL's format.
    fn pairs(&self, judged: &[Judged]) -> Result<Vec<Pair>> {
        let all_pairs = pairs::build(judged);
        self.run.write_jsonl(&self.file("pairs.jsonl"), &all_pairs)?;
        let trl: Vec<serde_json::Value> = all_pairs
            .iter()
            .map(|p| serde_json::json!({"prompt": p.prompt, "chosen": p.chosen, "rejected": p.rejected}))
            .collect();
        self.run.write_jsonl(&self.file("pairs_trl.jsonl"), &trl)?;
        Ok(all_pairs)
    }

    /// Stage 5, M_{t+1}: DPO from `model` (M_t) with M_t as the reference, whose log-probs are
    /// computed once; saves M_{t+1} and the training progress.
    fn dpo(&self, model: Checkpoint, all_pairs: &[Pair]) -> Result<Progress> {
        let (cfg, run, t) = (self.cfg, self.run, self.t);
        let (train_pairs, valid_pairs) = pairs::split(all_pairs, cfg.dpo.valid_fraction);
        if train_pairs.is_empty() || valid_pairs.is_empty() {
            return Err(Error::Stage(format!(
                "iteration {t}: {} training and {} validation pairs; nothing to train on (judge scores all tied?)",
                train_pairs.len(),
                valid_pairs.len()
            )));
        }
        run.stage(&format!("m{}", t + 1), &stages::dpo(cfg, run, t, self.m_t)?)?;
        let (max_len, workers) = (cfg.model.max_len, cfg.workers());
        if !cfg.dpo.backend.is_local() {
            // TRL computes its own reference log-probs from M_t's folder.
            let work = run.path(&self.file("work/trl"));
            let job = dpo_trl::job(&cfg.dpo, &model.tokenizer, &train_pairs, &valid_pairs, max_len, self.seed, &run.model(t), &work, workers)?;
            let (best, progress) = dpo_trl::run(&cfg.dpo.backend, &job)?;
            let next = Checkpoint::load(&best, cfg.runtime.dtype(), &cfg.runtime.device()?)?;
            next.save(&run.model(t + 1))?;
            run.write_json(&self.file("dpo.json"), &progress)?;
            return Ok(progress);
        }
        let (bs, chunk) = (cfg.dpo.train.eval_rows(), cfg.dpo.train.batch_size * 4);
        let train_ref = stage::chunked(run, &self.file("ref_logps_train"), "reference", &train_pairs, chunk, workers, |_, xs| {
            dpo::reference_logps(&model, xs, max_len, bs)
        })?;
        let valid_ref = stage::chunked(run, &self.file("ref_logps_valid"), "reference", &valid_pairs, chunk, workers, |_, xs| {
            dpo::reference_logps(&model, xs, max_len, bs)
        })?;
        let mut policy = model.deep_clone()?;
        drop(model);
        let work = run.path(&self.file("work/dpo"));
        let spec = DpoRun {
            cfg: &cfg.dpo,
            train: RefPairs { pairs: &train_pairs, reference: &train_ref },
            valid: RefPairs { pairs: &valid_pairs, reference: &valid_ref },
            max_len,
            seed: self.seed,
            work: &work,
            threads: workers,
        };
        let progress = dpo::train_dpo(&mut policy, &spec)?;
        policy.save(&run.model(t + 1))?;
        run.write_json(&self.file("dpo.json"), &progress)?;
        Ok(progress)
    }
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

/// The run's config (see [`prepare`]) and seed data: tokenizer, IFT and EFT sets.
pub fn seed(cfg: &RunConfig, run: &RunDir) -> Result<()> {
    prepare(cfg, run)?;
    crate::data::write_seed(cfg, run)
}

/// [`seed`], then M1 and the SFT baseline, each skipped when done.
pub fn sft(cfg: &RunConfig, run: &RunDir) -> Result<()> {
    seed(cfg, run)?;
    crate::sft::run_sft(cfg, run)
}

/// Seed data, SFT, then `cfg.iterate.iterations` self-rewarding iterations.
pub fn run(cfg: &RunConfig, run: &RunDir) -> Result<()> {
    sft(cfg, run)?;
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
