//! Evaluating a self-rewarding run (`make eval`): each model's responses to the
//! held-out test prompts, head-to-head under the grader, each model as a judge on the
//! held-out EFT set, lengths and self-score distributions; written to `<run>/eval/`,
//! with one row per graded answer (`test_scores.jsonl`) and per judged EFT response
//! (`judge_scores.jsonl`) for the notebooks.
use crate::agreement::{judge_metrics, Item, JudgeMetrics};
use crate::families::{own_judging_by_family, Candidate, OwnJudging, ALL};
use crate::alpaca::{write_json_array, Annotation, ModelOutput};
use crate::judges::{compare, GraderJudge};
use crate::winrate::{tally, HeadToHead, Verdict};
use crate::Result;
use engine::{generate, Checkpoint, SampleParams};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use trainer::{RunConfig, RunDir};
use records::{JudgeScore, TestScore};
use world::records::{EftExample, PromptRecord};

use records::{EvalSummary, HeadToHeadRow};

impl From<HeadToHead> for HeadToHeadRow {
    fn from(h: HeadToHead) -> Self {
        Self { win: h.win, tie: h.tie, loss: h.loss, win_rate: h.win_rate(), standard_error: h.standard_error(), net: h.net() }
    }
}

/// The models of a run that exist, as sources [`engine::Runtime::load`] reads:
/// `("M0", model.init)` when the run starts from a model, `("SFT", sft_baseline)`,
/// `("M1", m1)`, ...
pub fn models(run: &RunDir, cfg: &RunConfig) -> Vec<(String, String)> {
    let mut out = vec![];
    if let Some(src) = &cfg.model.init {
        out.push(("M0".to_string(), src.clone()));
    }
    if run.is_done("sft_baseline") {
        out.push(("SFT".to_string(), run.path("sft_baseline").display().to_string()));
    }
    let mut t = 1;
    while run.is_done(&format!("m{t}")) {
        out.push((format!("M{t}"), run.model(t).display().to_string()));
        t += 1;
    }
    out
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Output {
    prompt_id: usize,
    response: String,
}

/// Greedy responses of one model to the test prompts (resumable chunks).
fn outputs(run: &RunDir, cfg: &RunConfig, name: &str, ck: &Checkpoint, prompts: &[PromptRecord]) -> Result<Vec<String>> {
    let params = SampleParams { temperature: 0.0, top_p: 1.0, max_new_tokens: cfg.iterate.max_new_tokens, stop: vec![] };
    let rows = trainer::stage::chunked(run, &format!("eval/outputs/{name}"), &format!("{name} answers"), prompts, cfg.iterate.batch_size, cfg.workers(), |_, xs| {
        let ids = xs.iter().map(|p| ck.tokenizer.encode_prompt(&p.instruction)).collect::<engine::Result<Vec<_>>>()?;
        let gens = generate(&ck.model, &ck.tokenizer, &ids, 1, &params, &vec![0; xs.len()])?;
        Ok(xs.iter().zip(gens).map(|(p, g)| Output { prompt_id: p.id, response: g.text.trim().to_string() }).collect::<Vec<_>>())
    })?;
    Ok(rows.into_iter().map(|o| o.response).collect())
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct JudgeRow {
    score: Option<f64>,
}

/// The run's judge (prompt, scoring, samples, sampling) as model `name`, for chunk `c`.
pub fn judge_spec(cfg: &RunConfig, name: &str, c: usize) -> engine::judge::ModelJudgeSpec {
    engine::judge::ModelJudgeSpec {
        name: name.into(),
        prompt: cfg.judge.prompt.clone(),
        scoring: cfg.judge.scoring,
        samples: cfg.judge.samples,
        params: SampleParams { temperature: cfg.judge.temperature, top_p: cfg.judge.top_p, max_new_tokens: cfg.judge.max_new_tokens, stop: vec![] },
        seed: cfg.seed ^ 0xe7a1 ^ c as u64,
        batch_size: cfg.iterate.batch_size,
    }
}

/// One model's scores of the held-out EFT responses (resumable chunks).
fn judge_eft(run: &RunDir, cfg: &RunConfig, name: &str, ck: &Checkpoint, eft: &[EftExample]) -> Result<Vec<Option<f64>>> {
    let rows = trainer::stage::chunked(run, &format!("eval/judge/{name}"), &format!("{name} judges"), eft, cfg.iterate.batch_size, cfg.workers(), |c, xs| {
        let mut j = engine::judge::model_judge(ck, judge_spec(cfg, name, c));
        let items: Vec<(String, String)> = xs.iter().map(|e| (e.instruction.clone(), e.response.clone())).collect();
        Ok(j.judge(&items).into_iter().map(|r| JudgeRow { score: r.ok().map(|j| j.score) }).collect::<Vec<_>>())
    })?;
    Ok(rows.into_iter().map(|r| r.score).collect())
}

/// Iteration `t`'s self-scores of the candidates against the grader's scores of the same
/// candidates, one group per prompt: the Table 4 metrics, and [`OwnJudging`] per family.
fn self_judge(run: &RunDir, t: usize) -> Result<(JudgeMetrics, BTreeMap<String, OwnJudging>)> {
    let it = run.iter(t);
    let prompts: Vec<PromptRecord> = run.read_jsonl(&format!("{it}/prompts.jsonl"))?;
    let judged: Vec<trainer::selfjudge::Judged> = run.read_jsonl(&format!("{it}/judgments.jsonl"))?;
    let tasks: HashMap<usize, &world::Task> = prompts.iter().filter_map(|p| p.task.as_ref().map(|t| (p.id, t))).collect();
    let mut items: Vec<Item> = vec![];
    let mut groups: Vec<(String, Vec<Candidate>)> = vec![];
    for j in &judged {
        let Some(task) = tasks.get(&j.prompt_id) else { continue };
        let mut g = vec![];
        for (k, (r, s)) in j.responses.iter().zip(&j.scores).enumerate() {
            let gr = world::grade(task, r);
            items.push(Item { group: j.prompt_id, gold: gr.score as f64, pred: *s });
            let read = match (&task.answer, j.judgments.get(k)) {
                (world::Answer::Constrained(spec), Some(text)) => Some(world::constrained::echoed_items(text) == world::constrained::check(spec, r).items),
                _ => None,
            };
            g.push(Candidate { grader: gr.score as f64, right: gr.criteria[3], judge: *s, read });
        }
        groups.push((task.family.name().to_string(), g));
    }
    Ok((judge_metrics(&items), own_judging_by_family(&groups)))
}

/// Runs the whole evaluation of a run and writes `eval/summary.json`, AlpacaEval files,
/// plots and `eval/report.md`.
/// Evaluates the run `name` under `runs_dir` with the config it was made with: the name
/// must be one safe folder name, the folder must exist and hold a valid `config.toml`,
/// and no other process may be using it. `overrides` (`eval.key=value`) change what is
/// measured, never how the models were made.
pub fn evaluate_named(runs_dir: &std::path::Path, name: &str, overrides: &[String]) -> Result<(RunDir, EvalSummary)> {
    trainer::config_check::check_run_name(name)?;
    if let Some(o) = overrides.iter().find(|o| !o.trim_start().starts_with("eval.")) {
        return Err(crate::Error::Invalid(format!("override `{o}`: only `eval.` keys may be set when evaluating (the models are made already)")));
    }
    let run = RunDir::new(runs_dir, name);
    if !run.root.is_dir() {
        return Err(crate::Error::Invalid(format!("no run folder {}; run `make iterate RUN={name}` first", run.root.display())));
    }
    let _lock = run.lock()?;
    let cfg_path = run.path("config.toml");
    let text = std::fs::read_to_string(&cfg_path).map_err(|e| crate::Error::io(&cfg_path, e))?;
    let cfg = RunConfig::resolve_text(trainer::Profile::Default, Some((&cfg_path, &text)), overrides)?;
    let s = evaluate(&run, &cfg)?;
    Ok((run, s))
}

pub fn evaluate(run: &RunDir, cfg: &RunConfig) -> Result<EvalSummary> {
    trainer::parallel::one_thread_per_job();
    let prompts: Vec<PromptRecord> = run.read_jsonl("seed/test_prompts.jsonl")?;
    let eft: Vec<EftExample> = trainer::EvalConfig::first(&run.read_jsonl::<EftExample>("seed/eft_eval.jsonl")?, cfg.eval.eft_limit);
    // The public sets first: a bad file fails before any model is loaded.
    let public = crate::run_public::PublicSets::read(&cfg.eval)?;
    let models = models(run, cfg);
    if models.is_empty() {
        return Err(crate::Error::Invalid(format!("no trained models in {}; run `make iterate` first", run.root.display())));
    }
    let mut s = EvalSummary { models: models.iter().map(|m| m.0.clone()).collect(), ..Default::default() };
    let mut responses: HashMap<String, Vec<String>> = HashMap::new();
    let tasks: HashMap<String, world::Task> = prompts.iter().filter_map(|p| p.task.clone().map(|t| (p.instruction.clone(), t))).collect();
    let mut grader = GraderJudge { tasks };
    let (mut test_rows, mut judge_rows) = (vec![], vec![]);
    if let Some(groups) = &public.oa {
        s.oa_length_baseline = Some(crate::human::length_judge(groups));
    }
    for (name, src) in &models {
        let ck = cfg.runtime.load(src)?;
        let out = outputs(run, cfg, name, &ck, &prompts)?;
        // One grading per answer: the score, each criterion, and content apart from chatter.
        let (mut scores, mut met, mut right, mut single, mut chatter) = (vec![], [0.0; 5], 0.0, 0usize, 0.0);
        // Per family (and "all"): sums of score, all-met, content right; prompts; single-answer prompts.
        let mut fam: BTreeMap<String, (f64, f64, f64, usize, usize)> = BTreeMap::new();
        for (p, r) in prompts.iter().zip(&out) {
            let Some(task) = &p.task else { continue };
            let g = world::grade(task, r);
            test_rows.push(TestScore { model: name.clone(), prompt_id: p.id, family: task.family.name().into(), words: r.split_whitespace().count(), grader: g.score as f64 });
            scores.push(g.score as f64);
            met.iter_mut().zip(g.criteria).for_each(|(m, c)| *m += c as u8 as f64);
            let (core, chat) = world::strip_chatter(r);
            let is_right = task.has_single_answer() && core == task.reference;
            right += is_right as u8 as f64;
            single += task.has_single_answer() as usize;
            chatter += chat as u8 as f64;
            for key in [task.family.name(), ALL] {
                let e = fam.entry(key.to_string()).or_default();
                *e = (e.0 + g.score as f64, e.1 + g.criteria[3] as u8 as f64, e.2 + is_right as u8 as f64, e.3 + 1, e.4 + task.has_single_answer() as usize);
            }
        }
        let n = scores.len().max(1) as f64;
        s.grader_score.insert(name.clone(), scores.iter().sum::<f64>() / n);
        s.criteria.insert(name.clone(), met.map(|m| m / n));
        if single > 0 {
            s.content_right.insert(name.clone(), right / single as f64);
        }
        s.chatter.insert(name.clone(), chatter / n);
        for (f, (score, all_met, right, k, single)) in fam {
            let held_out = world::Family::from_name(&f).is_some_and(|x| cfg.world.split.held_out_families.contains(&x));
            let e = s.by_family.entry(f).or_default();
            (e.held_out, e.prompts) = (held_out, k);
            e.grader_score.insert(name.clone(), score / k as f64);
            e.all_met.insert(name.clone(), all_met / k as f64);
            if single > 0 {
                e.content_right.insert(name.clone(), right / single as f64);
            }
        }
        s.avg_length.insert(name.clone(), out.iter().map(|r| r.chars().count() as f64).sum::<f64>() / out.len().max(1) as f64);
        s.avg_words.insert(name.clone(), out.iter().map(|r| r.split_whitespace().count() as f64).sum::<f64>() / out.len().max(1) as f64);
        let preds = judge_eft(run, cfg, name, &ck, &eft)?;
        let items: Vec<Item> = eft.iter().zip(&preds).map(|(e, p)| Item { group: e.group, gold: e.score as f64, pred: *p }).collect();
        judge_rows.extend(eft.iter().zip(&preds).map(|(e, p)| JudgeScore {
            model: name.clone(),
            group: e.group,
            family: e.family.clone(),
            words: e.response.split_whitespace().count(),
            grader: e.score as f64,
            score: *p,
        }));
        s.judge.insert(name.clone(), judge_metrics(&items));
        let mo: Vec<ModelOutput> = prompts
            .iter()
            .zip(&out)
            .map(|(p, r)| ModelOutput { instruction: p.instruction.clone(), output: r.clone(), generator: name.clone(), dataset: "srlm_world_test".into() })
            .collect();
        write_json_array(&run.path(&format!("eval/{name}/model_outputs.json")), &mo)?;
        responses.insert(name.clone(), out);
        if let Some(p) = &public.ifeval {
            s.ifeval.insert(name.clone(), crate::run_public::ifeval(run, cfg, name, &ck, p)?);
        }
        if let Some(g) = &public.oa {
            s.oa_judge.insert(name.clone(), crate::run_public::oa_judge(run, cfg, name, &ck, g)?);
        }
        if let Some(a) = &public.alpaca {
            crate::run_public::alpaca_outputs(run, cfg, name, &ck, a)?;
        }
    }
    // Head to head: every later model against every earlier one and against SFT.
    let names: Vec<String> = s.models.clone();
    let mut last_pair: Option<(String, Vec<Annotation>)> = None;
    for (i, a) in names.iter().enumerate() {
        for b in names.iter().take(i) {
            let pairs: Vec<(String, String, String)> = prompts
                .iter()
                .enumerate()
                .map(|(k, p)| (p.instruction.clone(), responses[a][k].clone(), responses[b][k].clone()))
                .collect();
            let verdicts: Vec<Verdict> = compare(&mut grader, &pairs).into_iter().collect::<std::result::Result<_, _>>().map_err(|e| crate::Error::Invalid(format!("the grader could not judge a test prompt: {e}")))?;
            let key = format!("{a}_vs_{b}");
            let ann: Vec<Annotation> = pairs
                .iter()
                .zip(&verdicts)
                .map(|((ins, ra, rb), v)| Annotation {
                    instruction: ins.clone(),
                    output_1: rb.clone(),
                    generator_1: b.clone(),
                    output_2: ra.clone(),
                    generator_2: a.clone(),
                    annotator: "world_grader".into(),
                    // output_1 is b's: the grader's verdict "a" prefers the second output.
                    preference: Some(v.preference()),
                })
                .collect();
            write_json_array(&run.path(&format!("eval/annotations/{key}/annotations.json")), &ann)?;
            last_pair = Some((a.clone(), ann));
            s.head_to_head.insert(key, tally(verdicts).into());
        }
    }
    // Whether the outputs could have AlpacaEval's LC win rate (the world's prompts cannot).
    let lc_note = match &last_pair {
        Some((a, ann)) => crate::lc::lc_line(&crate::lc::difficulty::alpaca_eval_dir(None), a, ann),
        None => "none (fewer than two models)".into(),
    };
    let mut t = 1;
    while run.exists(&format!("iter_{t}/summary.json")) {
        let it = run.iter_summary(t)?;
        s.self_scores.insert(format!("M{t}"), it.self_score_hist);
        let (metrics, by_family) = self_judge(run, t)?;
        s.self_judge.insert(format!("M{t}"), metrics);
        s.own_judging.insert(format!("M{t}"), by_family);
        t += 1;
    }
    run.write_jsonl("eval/test_scores.jsonl", &test_rows)?;
    run.write_jsonl("eval/judge_scores.jsonl", &judge_rows)?;
    run.write_json("eval/summary.json", &s)?;
    crate::report::write(run, &s, &lc_note)?;
    Ok(s)
}
