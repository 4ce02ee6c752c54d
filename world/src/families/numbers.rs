//! Families over numbers.
use super::{list_len, phrase};
use crate::vocab::{numbers, pick, strs, words, NAMES, THINGS};
use super::Family;
use crate::Task;
use rand::Rng;

fn max_for(d: u8) -> i64 {
    [10, 50, 100][(d - 1) as usize]
}

pub fn sort_numbers(rng: &mut impl Rng, d: u8) -> Task {
    let xs = numbers(rng, list_len(d), max_for(d));
    let forms = ["Sort these numbers from smallest to largest: {}", "Put these numbers in increasing order: {}"];
    let ins = phrase(rng, &forms, &strs(&xs).join(" "));
    let mut ans = xs.clone();
    ans.sort();
    Task::items(Family::SortNumbers, ins, strs(&ans), " ", strs(&xs), d)
}

pub fn arithmetic(rng: &mut impl Rng, d: u8) -> Task {
    let m = max_for(d);
    let (a, b) = (rng.gen_range(0..m), rng.gen_range(0..m));
    let (expr, v) = if rng.gen_bool(0.5) { (format!("{a} + {b}"), a + b) } else { (format!("{} - {}", a.max(b), a.min(b)), a.max(b) - a.min(b)) };
    let forms = ["What is {}?", "Compute {}.", "Calculate {}."];
    let ins = phrase(rng, &forms, &expr);
    Task::number(Family::Arithmetic, ins, v, None, strs(&[a, b]), d)
}

pub fn count(rng: &mut impl Rng, d: u8) -> Task {
    let n = list_len(d) + rng.gen_range(0..2);
    let xs = words(rng, n);
    let forms = ["How many words are in this list: {}?", "Count the words: {}"];
    let ins = phrase(rng, &forms, &xs.join(" "));
    Task::number(Family::Count, ins, n as i64, None, xs, d)
}

pub fn compare(rng: &mut impl Rng, d: u8) -> Task {
    let xs = numbers(rng, 2, max_for(d) + 10);
    let larger = rng.gen_bool(0.5);
    let v = if larger { xs[0].max(xs[1]) } else { xs[0].min(xs[1]) };
    let word = if larger { "larger" } else { "smaller" };
    let ins = phrase(rng, &[&format!("Which number is {word}: {{}}?"), &format!("Name the {word} number of {{}}.")], &format!("{} or {}", xs[0], xs[1]));
    Task::number(Family::Compare, ins, v, None, strs(&xs), d)
}

pub fn convert(rng: &mut impl Rng, d: u8) -> Task {
    let x = rng.gen_range(1..max_for(d).min(20));
    let (from, to, k) = [("km", "m", 1000), ("m", "cm", 100), ("kg", "g", 1000), ("hours", "minutes", 60), ("minutes", "seconds", 60)]
        [rng.gen_range(0..5)];
    let forms = ["Convert {} to {to}.", "How many {to} are in {}?"];
    let forms: Vec<String> = forms.iter().map(|f| f.replace("{to}", to)).collect();
    let forms: Vec<&str> = forms.iter().map(|s| s.as_str()).collect();
    let ins = phrase(rng, &forms, &format!("{x} {from}"));
    Task::number(Family::Convert, ins, x * k, Some(to), vec![x.to_string(), from.to_string()], d)
}

pub fn word_problem(rng: &mut impl Rng, d: u8) -> Task {
    let m = max_for(d).min(30);
    let (name, thing) = (pick(rng, NAMES), pick(rng, THINGS));
    let (a, b) = (rng.gen_range(1..m), rng.gen_range(1..m));
    let (ins, v) = if rng.gen_bool(0.5) {
        (format!("{name} has {a} {thing} and gets {b} more. How many {thing} does {name} have now?"), a + b)
    } else {
        let (hi, lo) = (a.max(b), a.min(b));
        (format!("{name} has {hi} {thing} and gives away {lo}. How many {thing} are left?"), hi - lo)
    };
    Task::number(Family::WordProblem, ins, v, Some(thing), vec![a.to_string(), b.to_string(), name.to_string()], d)
}

pub fn filter(rng: &mut impl Rng, d: u8) -> Task {
    let m = max_for(d);
    let xs = numbers(rng, list_len(d) + 1, m);
    let cut = m / 2;
    let ans: Vec<i64> = xs.iter().copied().filter(|x| *x > cut).collect();
    if ans.is_empty() {
        return filter(rng, d); // redraw: keep at least one item above the cut
    }
    let ins = phrase(rng, &["Keep only the numbers greater than {}", "List the numbers above {}"], &format!("{cut}: {}", strs(&xs).join(" ")));
    Task::items(Family::Filter, ins, strs(&ans), " ", strs(&xs), d)
}
