//! Grading a constrained response by reading it: the items it lists, each checked
//! against the source and the per-item constraints, then count, format, order, the
//! closing word and extraneous text. The justification says each check in that order;
//! it is what the judge is trained to write.
use super::{Constraint, Spec};
use crate::families::FILLER;
use crate::grader::Grade;

/// Every check of one response.
#[derive(Debug, Clone, PartialEq)]
pub struct Checked {
    /// The items as written, in order.
    pub items: Vec<String>,
    /// Per item: admissible (a member of the source) and not a repeat of an earlier item.
    pub member: Vec<bool>,
    /// Per constraint: its verdict per item (per-item constraints) or one verdict.
    pub verdicts: Vec<(Constraint, Vec<bool>)>,
    /// A sign-off or lead-in around the answer.
    pub chatter: bool,
    /// Filler words among the items.
    pub filler: usize,
}

impl Checked {
    pub fn count_ok(&self, spec: &Spec) -> bool {
        self.items.len() == spec.count
    }
    /// Every constraint met.
    pub fn constraints_ok(&self) -> bool {
        self.verdicts.iter().all(|(_, v)| v.iter().all(|x| *x))
    }
    /// The content request met: the right number of distinct admissible items.
    pub fn content_ok(&self, spec: &Spec) -> bool {
        self.count_ok(spec) && self.member.iter().all(|x| *x)
    }
}

/// The items of a list body: words split at whitespace, commas and semicolons, with
/// list numbers (`1.`) and end punctuation dropped.
pub fn parse_items(body: &str) -> Vec<String> {
    body.split(|c: char| c.is_whitespace() || c == ',' || c == ';')
        .filter(|w| !(w.len() >= 2 && w.ends_with(['.', ')']) && w[..w.len() - 1].chars().all(|c| c.is_ascii_digit())))
        .map(|w| w.trim_matches(|c: char| ".!?:\"'()*".contains(c)))
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// Runs every check of `spec` on `response`.
pub fn check(spec: &Spec, response: &str) -> Checked {
    let (core, chatter) = crate::strip_chatter(response);
    // The closing word, when asked for, is not an item.
    let (body, ends) = match spec.end_word() {
        Some(w) => match core.rsplit_once(char::is_whitespace) {
            Some((b, last)) if last.trim_matches(|c: char| ".!".contains(c)) == w => (b.trim_end(), true),
            _ if core == w => ("", true),
            _ => (core, false),
        },
        None => (core, true),
    };
    let items = parse_items(body);
    let member: Vec<bool> = items
        .iter()
        .enumerate()
        .map(|(i, w)| spec.source.admits(w) && !items[..i].iter().any(|x| x.eq_ignore_ascii_case(w)))
        .collect();
    let verdicts = spec
        .constraints
        .iter()
        .map(|c| {
            let v = if c.per_item() {
                items.iter().map(|w| c.item_holds(w).unwrap_or(true)).collect()
            } else {
                vec![match c {
                    Constraint::Format(f) => body == f.render(&items) && !items.is_empty(),
                    Constraint::Alphabetical => items.windows(2).all(|p| p[0].to_lowercase() <= p[1].to_lowercase()),
                    Constraint::EndWith(_) => ends,
                    _ => true,
                }]
            };
            (c.clone(), v)
        })
        .collect();
    let filler = items.iter().filter(|w| FILLER.contains(&w.to_lowercase().as_str())).count();
    Checked { items, member, verdicts, chatter, filler }
}

fn yes(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

/// Items named in a justification; longer lists end in "...".
const SHOWN: usize = 5;

/// The check-by-check justification, e.g. `bat yes, pear no. 2 of 3 items. start with b:
/// yes no. semicolons: yes. extra text: no.`
pub fn justify(spec: &Spec, c: &Checked) -> String {
    let mut s = String::new();
    if c.items.is_empty() {
        s.push_str("no items.");
    } else {
        let shown: Vec<String> = c.items.iter().zip(&c.member).take(SHOWN).map(|(w, m)| format!("{w} {}", yes(*m))).collect();
        s.push_str(&shown.join(", "));
        s.push_str(if c.items.len() > SHOWN { ", ..." } else { "." });
    }
    s.push_str(&format!(" {} of {} items.", c.items.len(), spec.count));
    for (con, v) in &c.verdicts {
        let vs: Vec<&str> = v.iter().take(SHOWN).map(|x| yes(*x)).collect();
        let vs = if vs.is_empty() { "none".to_string() } else { vs.join(" ") };
        s.push_str(&format!(" {}: {vs}.", con.label()));
    }
    s.push_str(&format!(" extra text: {}.", yes(c.chatter)));
    s
}

/// The items a judgment names in its first sentence, the way [`justify`] writes them
/// (`bat yes, pear no.`): what the judge read the response as. Empty when the judgment
/// does not open with an item list.
pub fn echoed_items(judgment: &str) -> Vec<String> {
    let first = judgment.trim_start().split('.').next().unwrap_or("");
    first
        .split(',')
        .filter_map(|part| match part.trim().rsplit_once(' ') {
            Some((item, "yes" | "no")) if !item.is_empty() && !item.contains(' ') => Some(item.to_string()),
            _ => None,
        })
        .collect()
}

/// The additive rubric on a constrained response: 1 relevant (an admissible item, not
/// mostly filler); 2 a substantial part (at least half the items asked for, distinct and
/// admissible); 3 the basic elements (exactly the items asked for, all admissible and
/// distinct); 4 complete (and every constraint met); 5 exact (and no extraneous text).
pub fn grade(spec: &Spec, response: &str) -> Grade {
    let c = check(spec, response);
    let members = c.member.iter().filter(|x| **x).count();
    let relevant = members > 0 && c.filler * 2 < c.items.len();
    let substantial = members > 0 && members * 2 >= spec.count;
    let basic = c.content_ok(spec);
    let complete = basic && c.constraints_ok();
    let exact = complete && !c.chatter;
    let criteria = [relevant, substantial, basic, complete, exact];
    Grade { score: criteria.iter().filter(|x| **x).count() as u8, criteria, justification: justify(spec, &c) }
}
