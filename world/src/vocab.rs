//! The words the world's tasks are made of.
use rand::seq::SliceRandom;
use rand::Rng;

pub const WORDS: &[&str] = &[
    "apple", "bird", "cat", "dog", "egg", "fish", "goat", "hat", "ice", "jam", "kite", "lamp", "moon", "nut", "owl",
    "pig", "queen", "rose", "sun", "tree", "van", "wolf", "box", "yak", "zoo", "red", "blue", "green", "gold", "pink",
];
pub const NAMES: &[&str] = &["Tom", "Ann", "Max", "Eva", "Sam", "Lia"];
pub const THINGS: &[&str] = &["apples", "books", "coins", "cards", "pens", "shells"];

/// `n` distinct words in random order.
pub fn words(rng: &mut impl Rng, n: usize) -> Vec<String> {
    WORDS.choose_multiple(rng, n).map(|w| w.to_string()).collect()
}

/// `n` distinct numbers below `max`.
pub fn numbers(rng: &mut impl Rng, n: usize, max: i64) -> Vec<i64> {
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let x = rng.gen_range(0..max);
        if !out.contains(&x) {
            out.push(x);
        }
    }
    out
}

pub fn pick<'a>(rng: &mut impl Rng, xs: &[&'a str]) -> &'a str {
    xs[rng.gen_range(0..xs.len())]
}

pub fn strs(xs: &[i64]) -> Vec<String> {
    xs.iter().map(|x| x.to_string()).collect()
}
