//! Responses of a chosen quality to a constrained task, for judge training data: a right
//! response, then mistakes of the kinds a small model makes (an item outside the
//! category, a repeat, one too few or too many, a broken case, separator, order or
//! closing word, a forbidden word, a sign-off). The label is always the grader's.
use super::{Category, Constraint, Format, Source, Spec};
use crate::families::FILLER;
use rand::seq::SliceRandom;
use rand::Rng;

/// A response being corrupted: items as written, how they are joined, the closing word.
struct Draft {
    items: Vec<String>,
    format: Format,
    end: Option<String>,
    chatter: Option<(bool, &'static str)>,
}

/// Share of responses below score 4 that carry a sign-off or lead-in.
pub const CHATTER_BELOW_4: f64 = 0.5;

const PRE: &[&str] = &["The answer is", "Sure, here it is:", "Here you go:"];
const POST: &[&str] = &["I hope this helps.", "Done.", "That is all.", "Easy."];

impl Draft {
    fn render(&self) -> String {
        let body = self.format.render(&self.items);
        let core = match &self.end {
            Some(w) => format!("{body} {w}").trim().to_string(),
            None => body,
        };
        match self.chatter {
            Some((true, p)) => format!("{p} {core}"),
            Some((false, p)) => format!("{core} {p}"),
            None => core,
        }
    }
}

fn written(spec: &Spec, w: &str) -> String {
    spec.case().map_or(w.to_string(), |c| c.apply(w))
}

/// A word that is not admissible: from another category, or an input word outside it.
fn outsider(spec: &Spec, rng: &mut impl Rng) -> String {
    let pool: Vec<String> = match &spec.source {
        Source::Pick { input, category } => input.iter().filter(|w| !category.contains(w)).cloned().collect(),
        Source::Category(c) => Category::ALL.iter().filter(|x| *x != c).flat_map(|x| x.words().iter().map(|w| w.to_string())).collect(),
        Source::AnyWord => crate::vocab::WORDS.iter().filter(|w| Category::of(w).is_none()).map(|w| w.to_string()).collect(),
    };
    pool.choose(rng).cloned().unwrap_or_else(|| "sun".into())
}

/// An admissible word that breaks a per-item constraint, if there is one.
fn breaker(spec: &Spec, rng: &mut impl Rng) -> Option<String> {
    let valid = spec.valid_items();
    let wrong: Vec<String> = spec.source.members().into_iter().filter(|w| !valid.contains(w)).collect();
    wrong.choose(rng).cloned()
}

/// One content mistake: an outsider, a repeat, a dropped or an extra item.
fn content_error(spec: &Spec, d: &mut Draft, rng: &mut impl Rng) {
    let n = d.items.len();
    match rng.gen_range(0..4) {
        0 if n > 0 => {
            let i = rng.gen_range(0..n);
            d.items[i] = written(spec, &outsider(spec, rng));
        }
        1 if n > 1 => {
            let i = rng.gen_range(1..n);
            d.items[i] = d.items[i - 1].clone();
        }
        2 if n > 1 => {
            d.items.remove(rng.gen_range(0..n));
        }
        _ => {
            let extra = spec.source.members().into_iter().find(|w| !d.items.iter().any(|x| x.eq_ignore_ascii_case(w)));
            let w = extra.unwrap_or_else(|| outsider(spec, rng));
            d.items.insert(rng.gen_range(0..=n), written(spec, &w));
        }
    }
}

/// One broken constraint (or a sign-off when nothing can break).
fn constraint_error(spec: &Spec, d: &mut Draft, rng: &mut impl Rng) {
    let Some(c) = spec.constraints.choose(rng) else {
        d.chatter = Some((false, POST.choose(rng).copied().unwrap_or("Done.")));
        return;
    };
    let n = d.items.len();
    match c {
        Constraint::StartsWith(_) | Constraint::Avoid(_) => {
            if let (Some(w), true) = (breaker(spec, rng), n > 0) {
                d.items[rng.gen_range(0..n)] = written(spec, &w);
            }
        }
        Constraint::Forbidden(w) if n > 0 => d.items[rng.gen_range(0..n)] = written(spec, w),
        Constraint::Case(_) if n > 0 => {
            let all = rng.gen_bool(0.5);
            let i = rng.gen_range(0..n);
            for (k, x) in d.items.iter_mut().enumerate() {
                if all || k == i {
                    *x = x.to_lowercase();
                }
            }
        }
        Constraint::Format(f) => {
            let others: Vec<Format> = Format::ALL.into_iter().filter(|x| x != f).collect();
            d.format = *others.choose(rng).unwrap_or(&Format::Commas);
        }
        Constraint::Alphabetical if n > 1 => {
            d.items.sort_by_key(|w| std::cmp::Reverse(w.to_lowercase()));
        }
        Constraint::EndWith(_) => {
            d.end = if rng.gen_bool(0.5) { None } else { Some(["over", "end", "stop", "now", "done"].choose(rng).unwrap_or(&"end").to_string()).filter(|w| Some(w.as_str()) != spec.end_word()) };
        }
        _ => {}
    }
}

/// A lead-in or a sign-off.
fn sign(rng: &mut impl Rng) -> (bool, &'static str) {
    if rng.gen_bool(0.5) {
        (true, PRE.choose(rng).copied().unwrap_or("Answer:"))
    } else {
        (false, POST.choose(rng).copied().unwrap_or("Done."))
    }
}

/// A response aimed at quality `level` (0..=5) for `spec`, built on a right response of
/// random valid items; the aim is loose.
pub fn corrupt(spec: &Spec, level: u8, rng: &mut impl Rng) -> String {
    let mut valid = spec.valid_items();
    valid.shuffle(rng);
    valid.truncate(spec.count);
    let mut items = valid.clone();
    if spec.constraints.contains(&Constraint::Alphabetical) {
        items.sort();
    }
    let mut d = Draft {
        items: items.iter().map(|w| written(spec, w)).collect(),
        format: spec.format().unwrap_or(Format::Commas),
        end: spec.end_word().map(str::to_string),
        chatter: None,
    };
    debug_assert_eq!(d.render(), spec.render(&valid), "the undamaged draft is a right response");
    match level {
        5 => {}
        4 => d.chatter = Some(sign(rng)),
        3 => constraint_error(spec, &mut d, rng),
        2 => {
            content_error(spec, &mut d, rng);
            if rng.gen_bool(0.3) {
                constraint_error(spec, &mut d, rng);
            }
        }
        1 => {
            let n = d.items.len();
            let keep = rng.gen_range(0..n.max(1));
            for (k, x) in d.items.iter_mut().enumerate() {
                if k != keep {
                    *x = written(spec, &outsider(spec, rng));
                }
            }
            if rng.gen_bool(0.3) {
                d.items.truncate(1);
            }
        }
        _ => {
            let n = rng.gen_range(1..=spec.count + 1);
            d.items = (0..n).map(|_| if rng.gen_bool(0.5) { FILLER.choose(rng).unwrap_or(&"well").to_string() } else { outsider(spec, rng) }).collect();
        }
    }
    // Chatter is as common on wrong responses as it is rare on right ones: with it half the
    // time below 4, a judge that cannot read the content learns from the surface alone that
    // chatter lowers the score, as the rubric says. (At a quarter of the time, chatter marked
    // right responses (score 4) more often than wrong ones, a judge blind to content preferred
    // it, and the loop taught M1 to sign off: chatter 0% -> 66% -> 95%, M2 vs M1 -16.8.)
    if level <= 3 && rng.gen_bool(CHATTER_BELOW_4) {
        d.chatter = Some(sign(rng));
    }
    d.render()
}
