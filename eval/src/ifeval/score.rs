//! Strict and loose evaluation, prompt- and instruction-level accuracy, per-type
//! accuracy, and the summary written to `summary.json`.
use super::checks::check;
use super::data::Prompt;
use super::registry::Instruction;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Strict checks the response as given; loose also accepts any of the eight variants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Strict,
    Loose,
}

/// One prompt's verdicts, in Google's output format (`eval_results_*.jsonl`; fields
/// in the order Google's `write_outputs` emits them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PromptResult {
    pub follow_all_instructions: bool,
    pub follow_instruction_list: Vec<bool>,
    pub instruction_id_list: Vec<String>,
    pub prompt: String,
    pub response: String,
}

/// The eight loose variants: the response, without its first line, its last line or
/// both (each trimmed), each with and without `*` characters.
pub fn loose_variants(response: &str) -> Vec<String> {
    let lines: Vec<&str> = response.split('\n').collect();
    let n = lines.len();
    let first = lines[1.min(n)..].join("\n").trim().to_string();
    let last = lines[..n.saturating_sub(1)].join("\n").trim().to_string();
    let both = if n >= 2 { lines[1..n - 1].join("\n").trim().to_string() } else { String::new() };
    let mut out = vec![response.to_string(), response.replace('*', "")];
    for v in [first, last, both] {
        out.push(v);
    }
    for i in 2..5 {
        let no_star = out[i].replace('*', "");
        out.push(no_star);
    }
    out
}

/// Whether `response` follows `ins` under `mode` (an all-blank text never does).
pub fn follows(ins: &Instruction, response: &str, mode: Mode) -> bool {
    let ok = |r: &str| !r.trim().is_empty() && check(ins, r);
    match mode {
        Mode::Strict => ok(response),
        Mode::Loose => loose_variants(response).iter().any(|r| ok(r)),
    }
}

/// Every prompt's verdicts; `responses[i]` answers `prompts[i]`.
pub fn evaluate(prompts: &[Prompt], responses: &[&str], mode: Mode) -> Vec<PromptResult> {
    prompts
        .iter()
        .zip(responses)
        .map(|(p, r)| {
            let list: Vec<bool> = p.instructions.iter().map(|ins| follows(ins, r, mode)).collect();
            PromptResult {
                follow_all_instructions: list.iter().all(|&b| b),
                follow_instruction_list: list,
                instruction_id_list: p.instruction_ids.clone(),
                prompt: p.prompt.clone(),
                response: r.to_string(),
            }
        })
        .collect()
}

/// Followed out of total.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Count {
    pub followed: usize,
    pub total: usize,
}

impl Count {
    fn add(&mut self, ok: bool) {
        self.followed += ok as usize;
        self.total += 1;
    }
    /// Percent followed (0 when empty).
    pub fn percent(&self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            100.0 * self.followed as f64 / self.total as f64
        }
    }
}

/// Accuracy of one mode: prompt level (all instructions followed), instruction level,
/// per instruction id and per category (the id's part before `:`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Accuracy {
    pub prompt: Count,
    pub instruction: Count,
    pub by_type: BTreeMap<String, Count>,
    pub by_category: BTreeMap<String, Count>,
}

pub fn accuracy(results: &[PromptResult]) -> Accuracy {
    let mut a = Accuracy::default();
    for r in results {
        a.prompt.add(r.follow_all_instructions);
        for (id, &ok) in r.instruction_id_list.iter().zip(&r.follow_instruction_list) {
            a.instruction.add(ok);
            a.by_type.entry(id.clone()).or_default().add(ok);
            let cat = id.split(':').next().unwrap_or(id);
            a.by_category.entry(cat.to_string()).or_default().add(ok);
        }
    }
    a
}

/// `summary.json`: the four headline figures in percent, then the counts behind them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub prompt_level_strict: f64,
    pub instruction_level_strict: f64,
    pub prompt_level_loose: f64,
    pub instruction_level_loose: f64,
    pub strict: Accuracy,
    pub loose: Accuracy,
    /// Per instruction id: percent followed, strict and loose.
    pub per_type: BTreeMap<String, TypeAccuracy>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TypeAccuracy {
    pub total: usize,
    pub strict: f64,
    pub loose: f64,
}

impl Summary {
    pub fn new(strict: Accuracy, loose: Accuracy) -> Self {
        let per_type = strict
            .by_type
            .iter()
            .map(|(id, s)| {
                let l = loose.by_type.get(id).copied().unwrap_or_default();
                (id.clone(), TypeAccuracy { total: s.total, strict: s.percent(), loose: l.percent() })
            })
            .collect();
        Summary {
            prompt_level_strict: strict.prompt.percent(),
            instruction_level_strict: strict.instruction.percent(),
            prompt_level_loose: loose.prompt.percent(),
            instruction_level_loose: loose.instruction.percent(),
            strict,
            loose,
            per_type,
        }
    }

    /// The four figures with their counts, one per line.
    pub fn table(&self) -> String {
        let row = |name: &str, c: &Count| format!("{name:<26} {:6.2}  ({}/{})\n", c.percent(), c.followed, c.total);
        [
            row("prompt-level strict", &self.strict.prompt),
            row("instruction-level strict", &self.strict.instruction),
            row("prompt-level loose", &self.loose.prompt),
            row("instruction-level loose", &self.loose.instruction),
        ]
        .concat()
    }
}
