//! The task families: each draws an instruction in one of several phrasings at a
//! difficulty, and solves it (the reference answer) as it goes.
mod lists;
pub use lists::FILLER;
mod numbers;

use crate::Task;
use rand::Rng;
use serde::{Deserialize, Serialize};

/// Every family of the world.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    Reverse,
    SortWords,
    SortNumbers,
    Arithmetic,
    Count,
    Dedup,
    Uppercase,
    Extract,
    Compare,
    Join,
    Convert,
    WordProblem,
    ReverseUpper,
    Filter,
    // Constrained, many-answer families (`crate::constrained`).
    NameItems,
    PickItems,
    LetterItems,
    SortedItems,
    LetterWords,
    AvoidItems,
}

impl Family {
    /// The constrained, many-answer families: checks read the response.
    pub const CONSTRAINED: [Family; 6] =
        [Family::NameItems, Family::PickItems, Family::LetterItems, Family::SortedItems, Family::LetterWords, Family::AvoidItems];

    /// The single-answer families: one right answer, computed.
    pub const SINGLE: [Family; 14] = [
        Family::Reverse,
        Family::SortWords,
        Family::SortNumbers,
        Family::Arithmetic,
        Family::Count,
        Family::Dedup,
        Family::Uppercase,
        Family::Extract,
        Family::Compare,
        Family::Join,
        Family::Convert,
        Family::WordProblem,
        Family::ReverseUpper,
        Family::Filter,
    ];

    /// Every family: the single-answer ones, then the constrained ones.
    pub const ALL: [Family; 20] = {
        let mut out = [Family::Reverse; 20];
        let mut i = 0;
        while i < 20 {
            out[i] = if i < 14 { Family::SINGLE[i] } else { Family::CONSTRAINED[i - 14] };
            i += 1;
        }
        out
    };

    pub fn name(&self) -> &'static str {
        match self {
            Family::Reverse => "reverse",
            Family::SortWords => "sort_words",
            Family::SortNumbers => "sort_numbers",
            Family::Arithmetic => "arithmetic",
            Family::Count => "count",
            Family::Dedup => "dedup",
            Family::Uppercase => "uppercase",
            Family::Extract => "extract",
            Family::Compare => "compare",
            Family::Join => "join",
            Family::Convert => "convert",
            Family::WordProblem => "word_problem",
            Family::ReverseUpper => "reverse_upper",
            Family::Filter => "filter",
            Family::NameItems => "name_items",
            Family::PickItems => "pick_items",
            Family::LetterItems => "letter_items",
            Family::SortedItems => "sorted_items",
            Family::LetterWords => "letter_words",
            Family::AvoidItems => "avoid_items",
        }
    }

    /// Whether many responses are right (checks read the response).
    pub fn is_constrained(&self) -> bool {
        Family::CONSTRAINED.contains(self)
    }

    pub fn from_name(s: &str) -> Option<Family> {
        Family::ALL.iter().copied().find(|f| f.name() == s)
    }

    /// Draws one task of this family; `difficulty` is 1 (easy) to 3 (hard).
    pub fn sample(&self, rng: &mut impl Rng, difficulty: u8) -> Task {
        let d = difficulty.clamp(1, 3);
        match self {
            Family::Reverse => lists::reverse(rng, d),
            Family::SortWords => lists::sort_words(rng, d),
            Family::Dedup => lists::dedup(rng, d),
            Family::Uppercase => lists::uppercase(rng, d),
            Family::Extract => lists::extract(rng, d),
            Family::Join => lists::join(rng, d),
            Family::ReverseUpper => lists::reverse_upper(rng, d),
            Family::SortNumbers => numbers::sort_numbers(rng, d),
            Family::Arithmetic => numbers::arithmetic(rng, d),
            Family::Count => numbers::count(rng, d),
            Family::Compare => numbers::compare(rng, d),
            Family::Convert => numbers::convert(rng, d),
            Family::WordProblem => numbers::word_problem(rng, d),
            Family::Filter => numbers::filter(rng, d),
            Family::NameItems | Family::PickItems | Family::LetterItems | Family::SortedItems | Family::LetterWords | Family::AvoidItems => {
                crate::constrained::sample(*self, rng, d)
            }
        }
    }
}

/// List length for a difficulty: 3, 4 or 5 items.
pub(crate) fn list_len(d: u8) -> usize {
    2 + d as usize
}

/// Picks one of several phrasings and fills `{}` with `arg`.
pub(crate) fn phrase(rng: &mut impl Rng, forms: &[&str], arg: &str) -> String {
    forms[rng.gen_range(0..forms.len())].replace("{}", arg)
}
