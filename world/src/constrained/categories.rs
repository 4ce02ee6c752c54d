//! The words of the constrained families: four categories, each with several words per
//! first letter, so "three animals that start with b" has more than one right answer.

/// A category of words that an instruction can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Animal,
    Colour,
    Food,
    Tool,
}

impl Category {
    pub const ALL: [Category; 4] = [Category::Animal, Category::Colour, Category::Food, Category::Tool];

    /// The category's plural noun as instructions say it.
    pub fn plural(&self) -> &'static str {
        match self {
            Category::Animal => "animals",
            Category::Colour => "colours",
            Category::Food => "foods",
            Category::Tool => "tools",
        }
    }

    /// Its members, lower case, sorted.
    pub fn words(&self) -> &'static [&'static str] {
        match self {
            Category::Animal => &[
                "bat", "bear", "bee", "cat", "cow", "crab", "deer", "dog", "duck", "fox", "frog", "goat", "hen", "horse", "lion", "owl", "pig",
                "rat", "seal", "sheep", "wolf", "yak",
            ],
            Category::Colour => &[
                "black", "blue", "brown", "cyan", "gold", "gray", "green", "lime", "orange", "pink", "purple", "red", "rose", "silver", "tan",
                "teal", "white", "yellow",
            ],
            Category::Food => &[
                "apple", "bean", "bread", "cake", "cheese", "corn", "egg", "fig", "grape", "honey", "lemon", "milk", "nut", "pear", "pie",
                "plum", "rice", "soup", "tea",
            ],
            Category::Tool => &[
                "axe", "brush", "chisel", "drill", "hammer", "hoe", "hook", "knife", "ladder", "nail", "needle", "pen", "pin", "rake", "rasp",
                "rope", "saw", "shovel", "spade", "wrench",
            ],
        }
    }

    /// Whether `word` (any case) is a member.
    pub fn contains(&self, word: &str) -> bool {
        let w = word.to_lowercase();
        self.words().iter().any(|x| *x == w)
    }

    /// The category `word` belongs to, if any.
    pub fn of(word: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|c| c.contains(word))
    }

    /// Members starting with `letter`.
    pub fn starting_with(&self, letter: char) -> Vec<&'static str> {
        self.words().iter().copied().filter(|w| w.starts_with(letter)).collect()
    }

    /// First letters with at least `n` members.
    pub fn letters_with(&self, n: usize) -> Vec<char> {
        let mut out: Vec<char> = self.words().iter().filter_map(|w| w.chars().next()).collect();
        out.dedup();
        out.retain(|c| self.starting_with(*c).len() >= n);
        out
    }
}

/// Every word of every category, sorted.
pub fn all_words() -> Vec<&'static str> {
    let mut v: Vec<&str> = Category::ALL.iter().flat_map(|c| c.words().iter().copied()).collect();
    v.sort();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_are_disjoint_sorted_and_have_letters_for_three() {
        let all = all_words();
        let mut dedup = all.clone();
        dedup.dedup();
        assert_eq!(all.len(), dedup.len(), "a word in two categories");
        for c in Category::ALL {
            let mut s = c.words().to_vec();
            s.sort();
            assert_eq!(s, c.words(), "{c:?} not sorted");
            assert!(c.letters_with(3).len() >= 2, "{c:?}: {:?}", c.letters_with(3));
            assert!(c.words().iter().all(|w| w.chars().all(|ch| ch.is_ascii_lowercase())));
        }
        assert_eq!(Category::of("Bee"), Some(Category::Animal));
        assert_eq!(Category::of("sun"), None);
    }
}
