//! Train / validation / test splits of the world's prompts, by configuration.
use crate::Family;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Split {
    Train,
    Valid,
    Test,
}

/// How prompts and families are divided.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SplitConfig {
    /// Percent of each family's prompts in the validation split.
    pub valid_percent: u8,
    /// Percent of each family's prompts in the held-out test split.
    pub test_percent: u8,
    /// Families kept out of training entirely: all of their prompts are test prompts.
    pub held_out_families: Vec<Family>,
}

impl Default for SplitConfig {
    fn default() -> Self {
        Self { valid_percent: 10, test_percent: 10, held_out_families: vec![] }
    }
}

/// FNV-1a: a stable hash, the same on every machine and Rust version.
pub fn stable_hash(s: &str) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in s.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x100000001b3);
    }
    h
}

impl SplitConfig {
    /// The split an instruction of `family` belongs to: a pure function of its text.
    pub fn split_of(&self, family: Family, instruction: &str) -> Split {
        if self.held_out_families.contains(&family) {
            return Split::Test;
        }
        let r = (stable_hash(instruction) % 100) as u8;
        if r < self.test_percent {
            Split::Test
        } else if r < self.test_percent + self.valid_percent {
            Split::Valid
        } else {
            Split::Train
        }
    }
}
