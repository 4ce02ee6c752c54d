//! What `make eval` measures beyond the world's test prompts: public benchmarks of each
//! model of a run (IFEval, Open Assistant's human rankings, AlpacaEval outputs). Off by
//! default (the embedded default's models are not English speakers); the SmolLM2 profiles
//! turn them on. Changing them never touches a trained stage.
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// The `[eval]` table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EvalConfig {
    /// Google's IFEval prompts (`input_data.jsonl`); absent: no IFEval.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ifeval_prompts: Option<PathBuf>,
    /// Only the first this many IFEval prompts (0: all 541).
    pub ifeval_limit: usize,
    /// Longest IFEval response (greedy).
    pub ifeval_max_new_tokens: usize,
    /// Open Assistant's ranked replies (`en_100_tree.jsonl`): each model as a judge
    /// against the human ranks (the paper's Table 4); absent: not measured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oa: Option<PathBuf>,
    /// Only the first this many Open Assistant reply groups (0: all).
    pub oa_groups: usize,
    /// AlpacaEval's instructions (any `model_outputs.json` of its results, or the eval
    /// set): each model's greedy outputs written as `eval/<model>/alpaca_eval/model_outputs.json`
    /// for an external judge; absent: not written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alpaca_instructions: Option<PathBuf>,
    /// Only the first this many AlpacaEval instructions (0: all 805).
    pub alpaca_limit: usize,
    /// Longest AlpacaEval output (greedy).
    pub alpaca_max_new_tokens: usize,
    /// Only the first this many held-out EFT examples (`seed/eft_eval.jsonl`) are judged
    /// by each model (0: all).
    pub eft_limit: usize,
    /// Sequences per generation batch of these benchmarks.
    pub batch_size: usize,
}

impl Default for EvalConfig {
    fn default() -> Self {
        Self {
            ifeval_prompts: None,
            ifeval_limit: 0,
            ifeval_max_new_tokens: 512,
            oa: None,
            oa_groups: 0,
            alpaca_instructions: None,
            alpaca_limit: 0,
            alpaca_max_new_tokens: 512,
            eft_limit: 0,
            batch_size: 16,
        }
    }
}

impl EvalConfig {
    pub fn is_default(&self) -> bool {
        *self == Self::default()
    }

    /// `(key, file)` of every benchmark turned on.
    pub fn files(&self) -> Vec<(&'static str, &PathBuf)> {
        [("eval.ifeval_prompts", &self.ifeval_prompts), ("eval.oa", &self.oa), ("eval.alpaca_instructions", &self.alpaca_instructions)]
            .into_iter()
            .filter_map(|(k, p)| p.as_ref().map(|p| (k, p)))
            .collect()
    }

    /// First `limit` of `xs` (0: all).
    pub fn first<T: Clone>(xs: &[T], limit: usize) -> Vec<T> {
        xs[..if limit == 0 { xs.len() } else { limit.min(xs.len()) }].to_vec()
    }
}

#[cfg(test)]
mod tests {
    use crate::{Profile, RunConfig};

    #[test]
    fn eval_keys_are_set_from_the_command_line_and_checked_by_name() {
        // Left out of a default config, so older runs' files stay as they were...
        assert!(!RunConfig::default().to_toml().unwrap().contains("[eval]"));
        // ...yet an override still reaches them.
        let c = RunConfig::resolve_text(Profile::Default, None, &["eval.ifeval_limit=5".into(), "eval.oa=\"x.jsonl\"".into()]).unwrap();
        assert_eq!((c.eval.ifeval_limit, c.eval.oa.as_deref()), (5, Some(std::path::Path::new("x.jsonl"))));
        let e = RunConfig::resolve_text(Profile::Default, None, &["eval.ifeval_limt=5".into()]).unwrap_err().to_string();
        assert!(e.contains("ifeval_limt"), "{e}");
        let e = RunConfig::resolve_text(Profile::Default, None, &["eval.batch_size=0".into()]).unwrap_err().to_string();
        assert!(e.contains("eval.batch_size"), "{e}");
        // The SmolLM2 profile measures the public benchmarks; its GPU twin all of them.
        let cpu = RunConfig::profile(Profile::Smollm2).eval;
        assert_eq!(cpu.files().len(), 3);
        assert_eq!(RunConfig::profile(Profile::Smollm2Gpu).eval.ifeval_limit, 0);
    }

    #[test]
    fn first_takes_a_prefix_and_zero_means_all() {
        let xs = [1, 2, 3];
        assert_eq!(super::EvalConfig::first(&xs, 0), [1, 2, 3]);
        assert_eq!(super::EvalConfig::first(&xs, 2), [1, 2]);
        assert_eq!(super::EvalConfig::first(&xs, 9), [1, 2, 3]);
    }
}
