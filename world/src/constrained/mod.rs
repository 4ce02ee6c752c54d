//! Constrained, many-answer families: a content request ("name three animals") with one
//! to three constraints that can be checked by reading the response (first letter, a
//! letter to avoid, case, separators, order, a forbidden word, a closing word). Many
//! responses are right, and a judge decides each rubric criterion item by item, without
//! working out an answer first: the generation–verification gap self-rewarding needs.
mod categories;
pub mod check;
mod corrupt;
mod families;

pub use categories::{all_words, Category};
pub use check::{check, echoed_items, parse_items, Checked};
pub use corrupt::corrupt;
pub use families::sample;

use serde::{Deserialize, Serialize};

/// What the items of a response must be.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// Members of a category.
    Category(Category),
    /// Any word of any category.
    AnyWord,
    /// The members of a category among the words the instruction gives.
    Pick { category: Category, input: Vec<String> },
}

impl Source {
    /// Whether `word` (any case) is an admissible item.
    pub fn admits(&self, word: &str) -> bool {
        match self {
            Source::Category(c) => c.contains(word),
            Source::AnyWord => Category::of(word).is_some(),
            Source::Pick { category, input } => category.contains(word) && input.iter().any(|w| w.eq_ignore_ascii_case(word)),
        }
    }

    /// Every admissible item, lower case.
    pub fn members(&self) -> Vec<String> {
        match self {
            Source::Category(c) => c.words().iter().map(|w| w.to_string()).collect(),
            Source::AnyWord => all_words().into_iter().map(str::to_string).collect(),
            Source::Pick { category, input } => input.iter().filter(|w| category.contains(w)).cloned().collect(),
        }
    }
}

/// Letter case of every item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Case {
    /// `BAT`
    Upper,
    /// `Bat`
    Title,
}

impl Case {
    pub fn apply(&self, w: &str) -> String {
        match self {
            Case::Upper => w.to_uppercase(),
            Case::Title => {
                let mut c = w.chars();
                c.next().map(|f| f.to_uppercase().chain(c.flat_map(char::to_lowercase)).collect()).unwrap_or_default()
            }
        }
    }
    pub fn holds(&self, w: &str) -> bool {
        self.apply(w) == w
    }
    pub fn name(&self) -> &'static str {
        match self {
            Case::Upper => "upper case",
            Case::Title => "capitalised",
        }
    }
}

/// How the items are written out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// `bat, bee, cow`
    Commas,
    /// `bat; bee; cow`
    Semicolons,
    /// `1. bat 2. bee 3. cow`
    Numbered,
    /// `bat bee cow`
    Spaces,
}

impl Format {
    pub const ALL: [Format; 4] = [Format::Commas, Format::Semicolons, Format::Numbered, Format::Spaces];

    /// The items written in this format.
    pub fn render(&self, items: &[String]) -> String {
        match self {
            Format::Commas => items.join(", "),
            Format::Semicolons => items.join("; "),
            Format::Spaces => items.join(" "),
            Format::Numbered => items.iter().enumerate().map(|(i, w)| format!("{}. {w}", i + 1)).collect::<Vec<_>>().join(" "),
        }
    }
    pub fn name(&self) -> &'static str {
        match self {
            Format::Commas => "commas",
            Format::Semicolons => "semicolons",
            Format::Numbered => "numbered",
            Format::Spaces => "spaces",
        }
    }
}

/// One requirement beyond the content request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Constraint {
    /// Every item starts with this letter.
    StartsWith(char),
    /// No item contains this letter.
    Avoid(char),
    Case(Case),
    Format(Format),
    /// Items in alphabetical order.
    Alphabetical,
    /// This word is not among the items.
    Forbidden(String),
    /// The response ends with this word.
    EndWith(String),
}

impl Constraint {
    /// Whether it is decided item by item.
    pub fn per_item(&self) -> bool {
        matches!(self, Constraint::StartsWith(_) | Constraint::Avoid(_) | Constraint::Case(_) | Constraint::Forbidden(_))
    }

    /// Whether one item (as written) meets it; `None` for constraints on the whole response.
    pub fn item_holds(&self, item: &str) -> Option<bool> {
        let lower = item.to_lowercase();
        match self {
            Constraint::StartsWith(l) => Some(lower.starts_with(*l)),
            Constraint::Avoid(l) => Some(!lower.contains(*l)),
            Constraint::Case(c) => Some(c.holds(item)),
            Constraint::Forbidden(w) => Some(lower != *w),
            _ => None,
        }
    }

    /// Short name, as judge targets say it ("start with b", "semicolons").
    pub fn label(&self) -> String {
        match self {
            Constraint::StartsWith(l) => format!("start with {l}"),
            Constraint::Avoid(l) => format!("no {l}"),
            Constraint::Case(c) => c.name().to_string(),
            Constraint::Format(f) => f.name().to_string(),
            Constraint::Alphabetical => "alphabetical".into(),
            Constraint::Forbidden(w) => format!("not {w}"),
            Constraint::EndWith(w) => format!("end with {w}"),
        }
    }
}

/// Everything a constrained instruction asks for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Spec {
    pub source: Source,
    /// Items the response must hold.
    pub count: usize,
    /// One to three constraints.
    pub constraints: Vec<Constraint>,
}

impl Spec {
    pub fn format(&self) -> Option<Format> {
        self.constraints.iter().find_map(|c| if let Constraint::Format(f) = c { Some(*f) } else { None })
    }
    pub fn case(&self) -> Option<Case> {
        self.constraints.iter().find_map(|c| if let Constraint::Case(x) = c { Some(*x) } else { None })
    }
    pub fn end_word(&self) -> Option<&str> {
        self.constraints.iter().find_map(|c| if let Constraint::EndWith(w) = c { Some(w.as_str()) } else { None })
    }

    /// Admissible items (lower case) that meet every per-item constraint.
    pub fn valid_items(&self) -> Vec<String> {
        self.source
            .members()
            .into_iter()
            .filter(|w| self.constraints.iter().filter(|c| !matches!(c, Constraint::Case(_))).all(|c| c.item_holds(w).unwrap_or(true)))
            .collect()
    }

    /// A right response made of `items` (lower case, distinct, valid): ordered, cased,
    /// formatted and closed as the constraints say.
    pub fn render(&self, items: &[String]) -> String {
        let mut xs: Vec<String> = items.to_vec();
        if self.constraints.contains(&Constraint::Alphabetical) {
            xs.sort();
        }
        if let Some(c) = self.case() {
            xs = xs.iter().map(|w| c.apply(w)).collect();
        }
        let body = self.format().unwrap_or(Format::Commas).render(&xs);
        match self.end_word() {
            Some(w) => format!("{body} {w}"),
            None => body,
        }
    }
}
