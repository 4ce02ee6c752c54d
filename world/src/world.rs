//! The world: which families, at which difficulties, split how; draws tasks per split.
use crate::{Family, Split, SplitConfig, Task};
use rand::Rng;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct World {
    /// Families the world draws from.
    pub families: Vec<Family>,
    /// Lowest difficulty drawn (1..=3).
    pub min_difficulty: u8,
    /// Highest difficulty drawn (1..=3).
    pub max_difficulty: u8,
    /// How prompts are split.
    pub split: SplitConfig,
}

impl Default for World {
    fn default() -> Self {
        // The constrained families, two of them held out entirely (test prompts only).
        Self {
            families: Family::CONSTRAINED.to_vec(),
            min_difficulty: 1,
            max_difficulty: 3,
            split: SplitConfig { held_out_families: vec![Family::LetterWords, Family::AvoidItems], ..SplitConfig::default() },
        }
    }
}

impl World {
    /// Draws a task whose instruction falls in `split`: a family uniformly among those the
    /// split holds, then tasks of it until one falls in the split. (Drawing tasks of any
    /// family until one falls in the split would fill the test split with held-out families,
    /// all of whose prompts are test prompts.)
    pub fn sample(&self, rng: &mut impl Rng, split: Split) -> Task {
        let fams: Vec<Family> = self
            .families
            .iter()
            .copied()
            .filter(|f| split == Split::Test || !self.split.held_out_families.contains(f))
            .collect();
        let f = fams[rng.gen_range(0..fams.len())];
        loop {
            let d = rng.gen_range(self.min_difficulty..=self.max_difficulty);
            let t = f.sample(rng, d);
            if self.split.split_of(f, &t.instruction) == split {
                return t;
            }
        }
    }

}
