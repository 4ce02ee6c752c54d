//! Judge prompts, kept as files under `prompts/` and compiled in; a custom file may replace them.
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

const PAPER: &str = include_str!("../../../prompts/judge_paper.txt");
const CONDENSED: &str = include_str!("../../../prompts/judge_condensed.txt");
const PAIRWISE: &str = include_str!("../../../prompts/judge_pairwise.txt");

/// Which LLM-as-a-Judge prompt to use.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JudgePrompt {
    /// The paper's additive 5-point prompt (its Figure 2), verbatim.
    Paper,
    /// The same five criteria and `Score: <points>` ending, short enough for small contexts.
    Condensed,
    /// A template file with `{instruction}` and `{response}` placeholders.
    File(PathBuf),
}

impl JudgePrompt {
    pub fn template(&self) -> crate::Result<String> {
        match self {
            JudgePrompt::Paper => Ok(PAPER.to_string()),
            JudgePrompt::Condensed => Ok(CONDENSED.trim_end().to_string()),
            JudgePrompt::File(p) => std::fs::read_to_string(p).map_err(|e| crate::Error::io(p, e)),
        }
    }

    /// The placeholder a template lacks (`{instruction}` or `{response}`), if any: without
    /// them every judge prompt would be the same text.
    pub fn missing_placeholder(template: &str) -> Option<&'static str> {
        ["{instruction}", "{response}"].into_iter().find(|ph| !template.contains(ph))
    }

    /// The judge's instruction for one (instruction, response) pair.
    pub fn render(&self, instruction: &str, response: &str) -> crate::Result<String> {
        Ok(fill(&self.template()?, instruction, response))
    }
}

/// Fills a pointwise template.
pub fn fill(template: &str, instruction: &str, response: &str) -> String {
    template.replace("{instruction}", instruction).replace("{response}", response)
}

/// The pairwise template filled with two responses.
pub fn render_pairwise(instruction: &str, a: &str, b: &str) -> String {
    PAIRWISE.trim_end().replace("{instruction}", instruction).replace("{response_a}", a).replace("{response_b}", b)
}
