//! Stage 1, new prompts by self-instruction: 8-shot prompting (6 seed instructions,
//! 2 generated earlier) of a prompt generator, then Self-Instruct's filters.
use crate::config::{IterateConfig, PromptGenerator};
use engine::{Generator, SampleParams, Tokenizer};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use world::records::PromptRecord;
use world::{Split, World};

/// Words for ROUGE-L as the `rouge_score` package makes them: lower case, runs of letters and digits.
pub fn rouge_tokens(s: &str) -> Vec<String> {
    s.to_lowercase().split(|c: char| !c.is_ascii_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_string).collect()
}

/// ROUGE-L F-measure between two token sequences (longest common subsequence).
pub fn rouge_l<T: PartialEq>(a: &[T], b: &[T]) -> f64 {
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let mut prev = vec![0usize; b.len() + 1];
    let mut cur = vec![0usize; b.len() + 1];
    for x in a {
        for (j, y) in b.iter().enumerate() {
            cur[j + 1] = if x == y { prev[j] + 1 } else { cur[j].max(prev[j + 1]) };
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    let lcs = prev[b.len()] as f64;
    let (p, r) = (lcs / a.len() as f64, lcs / b.len() as f64);
    if lcs == 0.0 {
        0.0
    } else {
        2.0 * p * r / (p + r)
    }
}

/// ROUGE tokens of `s` as ids, so comparisons are integer compares.
pub fn intern(vocab: &mut HashMap<String, u32>, s: &str) -> Vec<u32> {
    rouge_tokens(s)
        .into_iter()
        .map(|w| {
            let next = vocab.len() as u32;
            *vocab.entry(w).or_insert(next)
        })
        .collect()
}

/// Why a generated prompt was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rejection {
    Duplicate,
    TooShort,
    TooLong,
    BannedWord,
    TooSimilar,
}

/// The filter decision for one prompt against the pool so far (a pure function).
pub fn check(prompt: &str, pool: &[Vec<u32>], seen: &HashSet<String>, vocab: &mut HashMap<String, u32>, cfg: &IterateConfig) -> Result<Vec<u32>, Rejection> {
    let words = prompt.split_whitespace().count();
    if seen.contains(prompt.trim()) {
        return Err(Rejection::Duplicate);
    }
    if words < cfg.min_words {
        return Err(Rejection::TooShort);
    }
    if words > cfg.max_words {
        return Err(Rejection::TooLong);
    }
    let lower = prompt.to_lowercase();
    if cfg.banned_words.iter().any(|b| lower.contains(&b.to_lowercase())) {
        return Err(Rejection::BannedWord);
    }
    let ids = intern(vocab, prompt);
    if pool.iter().any(|p| rouge_l(&ids, p) >= cfg.rouge_threshold) {
        return Err(Rejection::TooSimilar);
    }
    Ok(ids)
}

/// The 8-shot prompt given to a model generator: 6 seed instructions, 2 generated ones.
pub fn few_shot(seed: &[String], generated: &[String], rng: &mut ChaCha8Rng) -> String {
    let mut shots: Vec<&String> = seed.choose_multiple(rng, 6).collect();
    shots.extend(generated.choose_multiple(rng, 2));
    shots.shuffle(rng);
    let mut s = String::from("Come up with a new task.\n");
    for x in shots {
        s.push_str(&format!("Task: {x}\n"));
    }
    s.push_str("Task:");
    s
}

/// Statistics of one prompt-generation stage.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PromptStats {
    pub generated: usize,
    pub kept: usize,
    pub rejected: HashMap<String, usize>,
}

/// Generates and filters until `cfg.new_prompts` are kept (or 10x as many were tried).
/// `pool` holds the seed and earlier prompts, which new ones must not resemble. With
/// `PromptGenerator::Model`, `generator` writes them (M_t, or a server serving it; `tok`
/// is M_t's tokenizer); a failed request fails the stage with its cause.
#[allow(clippy::too_many_arguments)]
pub fn new_prompts(
    cfg: &IterateConfig,
    world: &World,
    generator: &dyn Generator,
    tok: &Tokenizer,
    seed_instructions: &[String],
    earlier: &[String],
    seed: u64,
) -> crate::Result<(Vec<PromptRecord>, PromptStats)> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut vocab: HashMap<String, u32> = HashMap::new();
    let mut pool: Vec<Vec<u32>> = vec![];
    let mut seen: HashSet<String> = HashSet::new();
    for p in seed_instructions.iter().chain(earlier) {
        pool.push(intern(&mut vocab, p));
        seen.insert(p.trim().to_string());
    }
    let mut out: Vec<PromptRecord> = vec![];
    let mut stats = PromptStats::default();
    let mut generated_text: Vec<String> = earlier.to_vec();
    while out.len() < cfg.new_prompts && stats.generated < cfg.new_prompts * 10 {
        let (instruction, task) = match cfg.generator {
            PromptGenerator::World => {
                let t = world.sample(&mut rng, Split::Train);
                (t.instruction.clone(), Some(t))
            }
            PromptGenerator::Model => {
                let p = few_shot(seed_instructions, &generated_text, &mut rng);
                let ids = tok.encode_prompt(&p)?;
                let params = SampleParams { temperature: 1.0, top_p: 0.95, max_new_tokens: 48, stop: vec!["\n".into()] };
                let g = generator.generate(&[ids], 1, &params, &[rand::Rng::gen(&mut rng)])?;
                let text = g.into_iter().next().unwrap_or_else(|| Err("no answer".into()));
                let text = text.map_err(|e| crate::Error::Stage(format!("self-instruction (prompts) from {}: {e}", generator.identity())))?;
                (text.trim().to_string(), None)
            }
        };
        stats.generated += 1;
        match check(&instruction, &pool, &seen, &mut vocab, cfg) {
            Ok(ids) => {
                pool.push(ids);
                seen.insert(instruction.trim().to_string());
                generated_text.push(instruction.clone());
                out.push(PromptRecord { id: out.len(), instruction, task });
            }
            Err(r) => *stats.rejected.entry(format!("{r:?}")).or_default() += 1,
        }
    }
    stats.kept = out.len();
    Ok((out, stats))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rouge_l_by_hand() {
        // LCS("the cat sat", "the cat ran") = 2; P = R = 2/3; F = 2/3
        let a = rouge_tokens("The cat sat.");
        let b = rouge_tokens("the cat ran");
        assert!((rouge_l(&a, &b) - 2.0 / 3.0).abs() < 1e-12);
        // LCS = 3 of 4 and 3 of 6: P = 3/4, R = 1/2, F = 2*(3/8)/(5/4) = 0.6
        let a = rouge_tokens("a b c d");
        let b = rouge_tokens("a x b y c z");
        assert!((rouge_l(&a, &b) - 0.6).abs() < 1e-12);
        assert_eq!(rouge_l::<String>(&[], &b), 0.0);
    }

    #[test]
    fn filters_name_their_reason() {
        let cfg = IterateConfig { rouge_threshold: 0.7, ..IterateConfig::default() };
        let mut vocab = HashMap::new();
        let pool_text = ["Reverse the list: cat dog sun moon"];
        let pool: Vec<Vec<u32>> = pool_text.iter().map(|p| intern(&mut vocab, p)).collect();
        let seen: HashSet<String> = pool_text.iter().map(|s| s.to_string()).collect();
        let c = |p: &str, vocab: &mut HashMap<String, u32>| check(p, &pool, &seen, vocab, &cfg).err();
        assert_eq!(c("Reverse the list: cat dog sun moon", &mut vocab), Some(Rejection::Duplicate));
        assert_eq!(c("Sort", &mut vocab), Some(Rejection::TooShort));
        assert_eq!(c("Reverse the list: cat dog sun fish", &mut vocab), Some(Rejection::TooSimilar));
        assert_eq!(c("Draw a picture of cat dog", &mut vocab), Some(Rejection::BannedWord));
        assert_eq!(c("What is 12 + 7?", &mut vocab), None);
    }
}
