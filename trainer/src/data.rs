//! Seed data, as in the paper: IFT (instruction -> reference response) and EFT
//! (judge prompt -> justification ending in `Score: N`), plus held-out test prompts;
//! and the tokenizer, trained on the world's text.
use crate::config::{DataConfig, EftStyle, RunConfig};
use records::RunDir;
use crate::Result;
use engine::judge::JudgePrompt;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::HashSet;
use world::records::{EftExample, IftExample, PromptRecord};
use world::{corrupt, grade, Split, World};

/// The EFT target for a graded response: the grader's justification, then the score.
/// With `expected`, the justification opens with the task's expected answer, so a judge
/// trained on it works the task out before it compares (a chain of thought).
/// A constrained task has many right answers, so its justification never states one: it
/// checks the response item by item and constraint by constraint (the grader's own checks).
pub fn eft_target(task: &world::Task, response: &str, g: &world::Grade, expected: bool, style: EftStyle) -> String {
    let justification = match style {
        EftStyle::Terse => g.justification.clone(),
        EftStyle::English => world::explain(task, response, g),
    };
    if expected && task.has_single_answer() {
        format!("Expected: {}. {justification} Score: {}", task.reference, g.score)
    } else {
        format!("{justification} Score: {}", g.score)
    }
}

/// IFT examples from `split`, distinct instructions: the reference is the response, with a
/// sign-off appended to a `sign_off` share of them (seed answers of mixed quality).
pub fn make_ift(w: &World, rng: &mut ChaCha8Rng, n: usize, split: Split, sign_off: f64) -> Vec<IftExample> {
    let tasks: Vec<world::Task> = make_prompts(w, rng, n, split).into_iter().filter_map(|p| p.task).collect();
    tasks
        .into_iter()
        .map(|t| {
            let response = if sign_off > 0.0 && rng.gen_bool(sign_off.min(1.0)) { world::sign_off(rng, &t.reference) } else { t.reference };
            IftExample { instruction: t.instruction, response, family: t.family.name().into() }
        })
        .collect()
}

/// EFT examples from `split`: `per_group` corrupted responses per instruction, each
/// labelled by the grader. With `d.rebalance_eft`, every score 0-5 gets an equal share.
pub fn make_eft(
    w: &World,
    rng: &mut ChaCha8Rng,
    n: usize,
    split: Split,
    per_group: usize,
    d: &DataConfig,
    prompt: &JudgePrompt,
) -> Result<(Vec<EftExample>, Vec<PromptRecord>)> {
    let rebalance = d.rebalance_eft;
    let template = prompt.template()?;
    let quota = n.div_ceil(6);
    let mut counts = [0usize; 6];
    let mut out: Vec<EftExample> = Vec::with_capacity(n);
    let mut group = 0;
    let mut tasks = vec![];
    while out.len() < n {
        // A world too small to fill every score's quota: stop rebalancing rather than loop.
        let rebalance = rebalance && group < n.max(100) * 20;
        let t = w.sample(rng, split);
        tasks.push(PromptRecord { id: group, instruction: t.instruction.clone(), task: Some(t.clone()) });
        let mut levels: Vec<u8> = (0..=5).collect();
        rand::seq::SliceRandom::shuffle(levels.as_mut_slice(), rng);
        let mut added = 0;
        let mut seen = HashSet::new();
        for level in levels.into_iter().cycle().take(per_group * 3) {
            if added == per_group || out.len() == n {
                break;
            }
            let response = corrupt(&t, level, rng);
            let g = grade(&t, &response);
            if !seen.insert(response.clone()) || (rebalance && counts[g.score as usize] >= quota) {
                continue;
            }
            counts[g.score as usize] += 1;
            out.push(EftExample {
                group,
                prompt: engine::judge::fill(&template, &t.instruction, &response),
                target: eft_target(&t, &response, &g, d.eft_expected, d.eft_style),
                instruction: t.instruction.clone(),
                response,
                score: g.score,
                family: t.family.name().into(),
            });
            added += 1;
        }
        group += 1;
    }
    Ok((out, tasks))
}

/// Distinct prompts of `split`; fewer than `n` when the world runs out of new instructions
/// (no new one in 1,000 draws).
pub fn make_prompts(w: &World, rng: &mut ChaCha8Rng, n: usize, split: Split) -> Vec<PromptRecord> {
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(n);
    let mut misses = 0;
    while out.len() < n && misses < 1000 {
        let t = w.sample(rng, split);
        misses += 1;
        if seen.contains(&t.instruction) {
            continue;
        }
        misses = 0;
        seen.insert(t.instruction.clone());
        out.push(PromptRecord { id: out.len(), instruction: t.instruction.clone(), task: Some(t) });
    }
    out
}

/// Writes `seed/`: tokenizer, IFT and EFT (train, valid, eval) and test prompts. Idempotent.
pub fn write_seed(cfg: &RunConfig, run: &RunDir) -> Result<()> {
    let made_by = crate::provenance::stages::seed(cfg)?;
    if run.stage("seed/seed", &made_by)? {
        return Ok(());
    }
    let w = &cfg.world;
    let d = &cfg.data;
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let prompt = &cfg.judge.prompt;
    let ift = make_ift(w, &mut rng, d.ift, Split::Train, d.ift_sign_off);
    let ift_valid = make_ift(w, &mut rng, (d.ift / 20).max(8), Split::Valid, d.ift_sign_off);
    let (eft, eft_tasks) = make_eft(w, &mut rng, d.eft_train, Split::Train, 2, d, prompt)?;
    let (eft_valid, _) = make_eft(w, &mut rng, (d.eft_train / 20).max(8), Split::Valid, 2, d, prompt)?;
    // Held-out judge set: groups of 4 responses to one test instruction.
    let (eft_eval, _) = make_eft(w, &mut rng, d.eft_eval, Split::Test, 4, d, prompt)?;
    let test = make_prompts(w, &mut rng, d.test_prompts, Split::Test);
    // Tokenizer corpus: the world's text, all splits, and the chat/judge templates.
    let mut corpus: Vec<String> = vec![];
    corpus.extend(ift.iter().map(|e| format!("{}\n{}", e.instruction, e.response)));
    corpus.extend(eft.iter().map(|e| format!("{}\n{}", e.prompt, e.target)));
    corpus.extend(test.iter().map(|p| p.instruction.clone()));
    for _ in 0..d.ift.max(500) {
        let split = [Split::Train, Split::Valid, Split::Test][rng.gen_range(0..3)];
        let t = w.sample(&mut rng, split);
        corpus.push(format!("{}\n{}", t.instruction, t.reference));
    }
    let tok = match &cfg.model.init {
        // M0's own tokenizer, recorded with the seed data.
        Some(_) => seed_tokenizer(cfg, run)?,
        None => engine::Tokenizer::train(corpus.iter(), cfg.model.vocab_size)?,
    };
    tok.save(&run.path("seed/tokenizer.json"))?;
    run.write_jsonl("seed/ift.jsonl", &ift)?;
    run.write_jsonl("seed/ift_valid.jsonl", &ift_valid)?;
    run.write_jsonl("seed/eft_train.jsonl", &eft)?;
    run.write_jsonl("seed/eft_train_tasks.jsonl", &eft_tasks)?;
    run.write_jsonl("seed/eft_valid.jsonl", &eft_valid)?;
    run.write_jsonl("seed/eft_eval.jsonl", &eft_eval)?;
    run.write_jsonl("seed/test_prompts.jsonl", &test)?;
    let hist = |xs: &[EftExample]| xs.iter().fold([0usize; 6], |mut h, e| { h[e.score as usize] += 1; h });
    run.write_json("seed/stats.json", &serde_json::json!({
        "ift": ift.len(), "eft_train": eft.len(), "eft_eval": eft_eval.len(), "test_prompts": test.len(),
        "eft_train_scores": hist(&eft), "eft_eval_scores": hist(&eft_eval),
    }))?;
    Ok(run.finish("seed/seed", &made_by)?)
}

/// The run's tokenizer: M0's (with its chat template) when the run starts from a model
/// (`model.init`), else the one trained on the world (`seed/tokenizer.json`).
pub fn seed_tokenizer(cfg: &RunConfig, run: &RunDir) -> Result<engine::Tokenizer> {
    Ok(match &cfg.model.init {
        Some(src) => cfg.runtime.load(src)?.tokenizer,
        None => engine::Tokenizer::from_file(&run.path("seed/tokenizer.json"))?,
    })
}

#[cfg(test)]
mod tests {
    use super::eft_target;
    use crate::config::EftStyle;
    use rand::SeedableRng;

    #[test]
    fn eft_target_states_the_expected_answer_and_ends_in_a_parsable_score() {
        let task = world::Family::Reverse.sample(&mut rand_chacha::ChaCha8Rng::seed_from_u64(3), 1);
        let response = "cat";
        let g = world::grade(&task, response);
        let plain = eft_target(&task, response, &g, false, EftStyle::Terse);
        let cot = eft_target(&task, response, &g, true, EftStyle::Terse);
        let english = eft_target(&task, response, &g, false, EftStyle::English);
        assert_eq!(engine::judge::parse_score(&english, 5.0).unwrap(), g.score as f64, "{english}");
        assert!(english.contains(&format!("{} of 5 points.", g.score)), "{english}");
        assert_eq!(cot, format!("Expected: {}. {plain}", task.reference));
        assert!(!plain.contains(&task.reference), "{plain}");
        for t in [plain, cot] {
            assert_eq!(engine::judge::parse_score(&t, 5.0).unwrap(), g.score as f64, "{t}");
        }
    }
}
