//! Families over lists of words.
use super::{list_len, phrase};
use crate::vocab::words;
use super::Family;
use crate::Task;
use rand::Rng;

pub fn reverse(rng: &mut impl Rng, d: u8) -> Task {
    let xs = words(rng, list_len(d));
    let forms = ["Reverse the list: {}", "Write these words in reverse order: {}", "Put this list backwards: {}"];
    let ins = phrase(rng, &forms, &xs.join(" "));
    let ans: Vec<String> = xs.iter().rev().cloned().collect();
    Task::items(Family::Reverse, ins, ans, " ", xs, d)
}

pub fn sort_words(rng: &mut impl Rng, d: u8) -> Task {
    let xs = words(rng, list_len(d));
    let forms = ["Sort these words alphabetically: {}", "Put these words in alphabetical order: {}"];
    let ins = phrase(rng, &forms, &xs.join(" "));
    let mut ans = xs.clone();
    ans.sort();
    Task::items(Family::SortWords, ins, ans, " ", xs, d)
}

pub fn dedup(rng: &mut impl Rng, d: u8) -> Task {
    let xs = words(rng, list_len(d));
    // repeat some words at random places
    let mut with_dups = xs.clone();
    for _ in 0..d {
        let w = xs[rng.gen_range(0..xs.len())].clone();
        let at = rng.gen_range(0..=with_dups.len());
        with_dups.insert(at, w);
    }
    let mut ans: Vec<String> = vec![];
    for w in &with_dups {
        if !ans.contains(w) {
            ans.push(w.clone());
        }
    }
    let forms = ["Remove the duplicates from: {}", "List each word once, keeping the order: {}"];
    let ins = phrase(rng, &forms, &with_dups.join(" "));
    Task::items(Family::Dedup, ins, ans, " ", with_dups, d)
}

pub fn uppercase(rng: &mut impl Rng, d: u8) -> Task {
    let xs = words(rng, list_len(d));
    let forms = ["Write in capital letters: {}", "Convert to upper case: {}"];
    let ins = phrase(rng, &forms, &xs.join(" "));
    let ans: Vec<String> = xs.iter().map(|w| w.to_uppercase()).collect();
    Task::items(Family::Uppercase, ins, ans, " ", xs, d)
}

pub fn extract(rng: &mut impl Rng, d: u8) -> Task {
    let xs = words(rng, list_len(d));
    let ords = ["first", "second", "third", "fourth", "fifth"];
    let i = rng.gen_range(0..xs.len() - 1);
    let j = rng.gen_range(i + 1..xs.len());
    let which = format!("{} and {}", ords[i], if j == xs.len() - 1 { "last" } else { ords[j] });
    let forms = [format!("What are the {which} words of: {{}}"), format!("Give the {which} items of the list: {{}}")];
    let forms: Vec<&str> = forms.iter().map(|s| s.as_str()).collect();
    let ins = phrase(rng, &forms, &xs.join(" "));
    Task::items(Family::Extract, ins, vec![xs[i].clone(), xs[j].clone()], " ", xs, d)
}

pub fn join(rng: &mut impl Rng, d: u8) -> Task {
    let xs = words(rng, list_len(d));
    let forms = ["Join these words with commas: {}", "Write this list separated by commas: {}"];
    let ins = phrase(rng, &forms, &xs.join(" "));
    Task::items(Family::Join, ins, xs.clone(), ", ", xs, d)
}

pub fn reverse_upper(rng: &mut impl Rng, d: u8) -> Task {
    let xs = words(rng, list_len(d));
    let forms = ["Reverse the list and write it in capital letters: {}", "Write these words backwards in upper case: {}"];
    let ins = phrase(rng, &forms, &xs.join(" "));
    let ans: Vec<String> = xs.iter().rev().map(|w| w.to_uppercase()).collect();
    Task::items(Family::ReverseUpper, ins, ans, " ", xs, d)
}

/// Words that no task is about: irrelevant text for corrupted responses.
pub const FILLER: &[&str] = &["maybe", "well", "hello", "today", "weather", "nice", "thing", "okay", "random", "stuff"];
