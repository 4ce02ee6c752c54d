//! A task instance: an instruction, its reference answer and how to grade it.
use serde::{Deserialize, Serialize};

/// What a correct response contains.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Answer {
    /// A sequence of words (order matters), e.g. a reversed list.
    Items(Vec<String>),
    /// A number, with an optional unit word after it.
    Number { value: i64, unit: Option<String> },
    /// Any response that meets a constrained request: many are right.
    Constrained(crate::constrained::Spec),
}

/// One instruction of the world with everything needed to solve and grade it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Task {
    /// Its family (serialized by name, e.g. `reverse`).
    pub family: crate::Family,
    pub instruction: String,
    /// The expected answer content.
    pub answer: Answer,
    /// The exact, expert response: the answer and nothing else.
    pub reference: String,
    /// Words that make a response relevant to this instruction (inputs and answers).
    pub relevant: Vec<String>,
    /// The difficulty knob the task was made with (list length, number size), 1..=3.
    pub difficulty: u8,
}

impl Task {
    pub fn items(family: crate::Family, instruction: String, items: Vec<String>, sep: &str, relevant: Vec<String>, d: u8) -> Self {
        let reference = items.join(sep);
        let mut relevant = relevant;
        relevant.extend(items.iter().cloned());
        Self { family, instruction, answer: Answer::Items(items), reference, relevant, difficulty: d }
    }

    /// A constrained task; `reference` is one right response of many.
    pub fn constrained(family: crate::Family, instruction: String, spec: crate::constrained::Spec, reference: String, relevant: Vec<String>, d: u8) -> Self {
        Self { family, instruction, answer: Answer::Constrained(spec), reference, relevant, difficulty: d }
    }

    /// Whether one response is right (a single-answer task: it is the answer).
    pub fn has_single_answer(&self) -> bool {
        !matches!(self.answer, Answer::Constrained(_))
    }

    pub fn number(family: crate::Family, instruction: String, value: i64, unit: Option<&str>, relevant: Vec<String>, d: u8) -> Self {
        let reference = match unit {
            Some(u) => format!("{value} {u}"),
            None => value.to_string(),
        };
        let mut relevant = relevant;
        if let Some(u) = unit {
            relevant.push(u.to_string());
        }
        Self {
            family,
            instruction,
            answer: Answer::Number { value, unit: unit.map(str::to_string) },
            reference,
            relevant,
            difficulty: d,
        }
    }
}
