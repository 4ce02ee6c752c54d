//! The programmatic grader: the paper's additive 5-point rubric, criterion by criterion.
//!
//! 1. relevant to the instruction; 2. addresses a substantial part of it;
//! 3. answers its basic elements usefully; 4. complete, direct and well organised;
//! 5. expert and exact, with no extraneous text.
use crate::families::FILLER;
use crate::{Answer, Task};
use serde::{Deserialize, Serialize};

/// The grader's verdict on one response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Grade {
    /// 0..=5: the number of criteria met.
    pub score: u8,
    /// Which of the five criteria the response meets, in rubric order.
    pub criteria: [bool; 5],
    /// One line saying why.
    pub justification: String,
}

const SAYS: [(&str, &str); 5] = [
    ("relevant", "not relevant"),
    ("covers a substantial part", "misses most of the task"),
    ("basic elements right", "basic elements wrong"),
    ("complete and in order", "incomplete or out of order"),
    ("exact", "not exact"),
];

/// Splits a response into words: whitespace and commas separate, end punctuation is dropped.
pub fn words(text: &str) -> Vec<String> {
    text.split(|c: char| c.is_whitespace() || c == ',')
        .map(|w| w.trim_matches(|c: char| ".!?:;\"'()*".contains(c)))
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// Relevant: mentions something the task is about (an input or answer word, or a
/// number for a numeric task) and is not mostly filler.
fn is_relevant(ws: &[String], task: &Task) -> bool {
    let rel: Vec<String> = task.relevant.iter().map(|w| w.to_lowercase()).collect();
    let numeric = matches!(task.answer, Answer::Number { .. });
    let mentions = ws.iter().any(|w| rel.contains(&w.to_lowercase()) || (numeric && w.parse::<i64>().is_ok()));
    let filler = ws.iter().filter(|w| FILLER.contains(&w.to_lowercase().as_str())).count();
    mentions && filler * 2 < ws.len()
}

/// How many of `items` occur in `ws`, counting repeats at most as often as they occur.
fn overlap(ws: &[String], items: &[String]) -> usize {
    let mut pool: Vec<&String> = ws.iter().collect();
    let mut n = 0;
    for it in items {
        if let Some(i) = pool.iter().position(|w| *w == it) {
            pool.swap_remove(i);
            n += 1;
        }
    }
    n
}

fn contains_run(ws: &[String], items: &[String]) -> bool {
    items.is_empty() || ws.windows(items.len()).any(|w| w == items)
}

/// Grades `response` to `task`.
pub fn grade(task: &Task, response: &str) -> Grade {
    if let Answer::Constrained(spec) = &task.answer {
        return crate::constrained::check::grade(spec, response);
    }
    let ws = words(response);
    let exact = response.trim() == task.reference;
    let relevant = !ws.is_empty() && is_relevant(&ws, task);
    let criteria = match &task.answer {
        Answer::Items(items) => {
            let n = items.len();
            let got = overlap(&ws, items);
            [relevant, got * 2 >= n && got > 0, got == n, contains_run(&ws, items), exact]
        }
        Answer::Constrained(_) => unreachable!("graded above"),
        Answer::Number { value, unit } => {
            let nums: Vec<i64> = ws.iter().filter_map(|w| w.parse().ok()).collect();
            let near = |tol: f64| nums.iter().any(|x| ((x - value).abs() as f64) <= tol);
            let v = value.abs() as f64;
            let unit_ok = unit.as_ref().map_or(true, |u| ws.iter().any(|w| w == u));
            [
                relevant && !nums.is_empty(),
                near((0.5 * v).max(5.0)),
                near((0.1 * v).max(1.0)),
                nums.contains(value) && unit_ok,
                exact,
            ]
        }
    };
    let score = criteria.iter().filter(|c| **c).count() as u8;
    Grade { score, criteria, justification: justify(&criteria) }
}

/// The one-line justification of a set of criteria, e.g. "Relevant, covers a substantial part, ...".
pub fn justify(criteria: &[bool; 5]) -> String {
    let parts: Vec<&str> = criteria.iter().zip(SAYS).map(|(c, (yes, no))| if *c { yes } else { no }).collect();
    let mut s = parts.join(", ");
    if let Some(f) = s.get_mut(0..1) {
        f.make_ascii_uppercase();
    }
    s.push('.');
    s
}
