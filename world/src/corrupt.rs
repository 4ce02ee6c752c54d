//! The corruption model: responses of a chosen quality, from exact to irrelevant,
//! so judge training data spans the whole 0-5 range.
use crate::families::FILLER;
use crate::{Answer, Task};
use rand::seq::SliceRandom;
use rand::Rng;

const CHATTER_PRE: &[&str] = &["The answer is", "Sure, here it is:", "Here you go:", "Answer:", "I think it is"];
const CHATTER_POST: &[&str] = &["I hope this helps.", "Done.", "That is all.", "Easy."];

fn chatter(rng: &mut impl Rng, core: &str) -> String {
    if rng.gen_bool(0.5) {
        format!("{} {core}", CHATTER_PRE.choose(rng).unwrap_or(&""))
    } else {
        format!("{core} {}", CHATTER_POST.choose(rng).unwrap_or(&""))
    }
}

/// `core` followed by a sign-off ("I hope this helps."): the extraneous text that human
/// seed answers often carry, and that costs the rubric's fifth point.
pub fn sign_off(rng: &mut impl Rng, core: &str) -> String {
    format!("{core} {}", CHATTER_POST.choose(rng).unwrap_or(&"Done."))
}

/// Splits a response into its core and whether it carried the world's chatter (a lead-in
/// such as "The answer is" or a sign-off such as "I hope this helps."): content and form
/// apart, e.g. to tell an answer that is right but signed off from one that is wrong.
pub fn strip_chatter(response: &str) -> (&str, bool) {
    let mut core = response.trim();
    let mut found = false;
    for p in CHATTER_POST {
        if let Some(c) = core.strip_suffix(p) {
            (core, found) = (c.trim_end(), true);
        }
    }
    for p in CHATTER_PRE {
        if let Some(c) = core.strip_prefix(p) {
            (core, found) = (c.trim_start(), true);
        }
    }
    (core, found)
}

fn filler(rng: &mut impl Rng, n: usize) -> String {
    (0..n.max(1)).map(|_| *FILLER.choose(rng).unwrap_or(&"well")).collect::<Vec<_>>().join(" ")
}

/// Model-like mistakes on a list answer: one to three edits, each a word from outside
/// the input, a repeated input word, a dropped item, an inserted input word, or two
/// neighbours swapped. This is what small models get wrong, so a judge trained on it
/// must check a response against the instruction rather than its surface.
pub fn plausible_errors(task: &Task, items: &[String], rng: &mut impl Rng) -> Vec<String> {
    let upper = items.first().is_some_and(|w| w.chars().all(|c| !c.is_lowercase()) && w.chars().any(|c| c.is_alphabetic()));
    let case = |w: &str| if upper { w.to_uppercase() } else { w.to_string() };
    let outside: Vec<&str> = crate::vocab::WORDS.iter().copied().filter(|w| !task.relevant.iter().any(|r| r.eq_ignore_ascii_case(w))).collect();
    let mut xs = items.to_vec();
    for _ in 0..rng.gen_range(1..=3) {
        let i = rng.gen_range(0..xs.len().max(1));
        match rng.gen_range(0..5) {
            0 if !xs.is_empty() => xs[i] = case(outside.choose(rng).unwrap_or(&"sun")),
            1 if !xs.is_empty() => xs[i] = case(task.relevant.choose(rng).map(String::as_str).unwrap_or("sun")),
            2 if xs.len() > 1 => {
                xs.remove(i);
            }
            3 => xs.insert(i.min(xs.len()), case(task.relevant.choose(rng).map(String::as_str).unwrap_or("sun"))),
            _ if xs.len() > 1 => {
                let j = i.min(xs.len() - 2);
                xs.swap(j, j + 1);
            }
            _ => {}
        }
    }
    if xs.is_empty() {
        xs.push(case(outside.choose(rng).unwrap_or(&"sun")));
    }
    xs
}

/// A response aimed at quality `level` (0..=5) for `task`. The aim is loose: the
/// label of a corrupted response is always what the grader gives it.
pub fn corrupt(task: &Task, level: u8, rng: &mut impl Rng) -> String {
    if let Answer::Constrained(spec) = &task.answer {
        return crate::constrained::corrupt(spec, level, rng);
    }
    let extra = rng.gen_bool(0.25) && level < 4;
    // Half of the imperfect answers are model-like mistakes, whatever level was aimed at.
    if (1..=3).contains(&level) && rng.gen_bool(0.5) {
        let core = match &task.answer {
            Answer::Items(items) => plausible_errors(task, items, rng).join(if task.reference.contains(", ") { ", " } else { " " }),
            Answer::Constrained(_) => unreachable!("corrupted above"),
            Answer::Number { value, unit } => {
                let span = (value.abs() * 2).max(20);
                let mut x = rng.gen_range(0..=span);
                if x == *value {
                    x += 1;
                }
                match unit {
                    Some(u) => format!("{x} {u}"),
                    None => x.to_string(),
                }
            }
        };
        return if extra { chatter(rng, &core) } else { core };
    }
    let core = match (&task.answer, level) {
        (_, 5) => return task.reference.clone(),
        (_, 4) => return chatter(rng, &task.reference),
        (_, 0) => {
            let n = rng.gen_range(1..5);
            return filler(rng, n);
        }
        (Answer::Items(items), 3) => {
            let mut xs = items.clone();
            if xs.len() > 1 {
                while &xs == items {
                    xs.shuffle(rng);
                }
            } else {
                xs.push(task.relevant.choose(rng).cloned().unwrap_or_default());
                xs.rotate_right(1);
            }
            xs.join(" ")
        }
        (Answer::Items(items), 2) => {
            let keep = (items.len() + 1) / 2;
            let mut xs: Vec<String> = items[..keep].to_vec();
            if rng.gen_bool(0.5) {
                xs.push(filler(rng, 1));
            }
            xs.join(" ")
        }
        (Answer::Items(items), _) => {
            let wrong: Vec<String> = task.relevant.iter().filter(|w| !items.contains(w)).cloned().collect();
            let pool = if wrong.is_empty() { task.relevant.clone() } else { wrong };
            (0..items.len().max(1)).map(|_| pool.choose(rng).cloned().unwrap_or_default()).collect::<Vec<_>>().join(" ")
        }
        (Answer::Constrained(_), _) => unreachable!("corrupted above"),
        (Answer::Number { value, unit }, l) => {
            let v = *value;
            let off = match l {
                3 => [-1, 1][rng.gen_range(0..2)],
                2 => {
                    let span = ((v.abs() as f64 * 0.4) as i64).max(3);
                    let d = rng.gen_range(2..=span.max(2));
                    if rng.gen_bool(0.5) { d } else { -d }
                }
                _ => {
                    let nums: Vec<i64> = task.relevant.iter().filter_map(|w| w.parse().ok()).filter(|x| *x != v).collect();
                    return nums.choose(rng).map(|x| x.to_string()).unwrap_or_else(|| (v + 50).to_string());
                }
            };
            match unit {
                Some(u) if rng.gen_bool(0.5) => format!("{} {u}", v + off),
                _ => (v + off).to_string(),
            }
        }
    };
    if extra {
        chatter(rng, &core)
    } else {
        core
    }
}

#[cfg(test)]
mod tests {
    use super::strip_chatter;

    #[test]
    fn chatter_is_split_from_the_core() {
        assert_eq!(strip_chatter("SUN HAT I hope this helps."), ("SUN HAT", true));
        assert_eq!(strip_chatter(" The answer is 42 "), ("42", true));
        assert_eq!(strip_chatter("Here you go: dog, cat Done."), ("dog, cat", true));
        assert_eq!(strip_chatter("dog cat"), ("dog cat", false));
        // Only whole phrases at either end count.
        assert_eq!(strip_chatter("Done cat"), ("Done cat", false));
    }
}
