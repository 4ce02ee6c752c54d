//! The constrained families: a content request in one of several phrasings, with one
//! to three constraints (more at higher difficulty), each a sentence of its own unless
//! the family states it in the request.
use super::{Case, Category, Constraint, Format, Source, Spec};
use crate::{Family, Task};
use rand::seq::SliceRandom;
use rand::Rng;

const END_WORDS: &[&str] = &["over", "end", "stop", "now"];

fn pick<'a>(rng: &mut impl Rng, xs: &[&'a str]) -> &'a str {
    xs[rng.gen_range(0..xs.len())]
}

/// The sentence that asks for one constraint.
fn sentence(rng: &mut impl Rng, c: &Constraint) -> String {
    let forms: &[&str] = match c {
        Constraint::StartsWith(_) => &["Each must start with the letter {}.", "All of them start with {}."],
        Constraint::Avoid(_) => &["None may contain the letter {}.", "Do not use the letter {}."],
        Constraint::Case(Case::Upper) => &["Write them in capital letters.", "Use upper case."],
        Constraint::Case(Case::Title) => &["Capitalise each one.", "Start each with a capital letter."],
        Constraint::Format(Format::Semicolons) => &["Separate them with semicolons.", "Use semicolons between them."],
        Constraint::Format(Format::Numbered) => &["Number them.", "Write them as a numbered list."],
        Constraint::Format(Format::Commas) => &["Separate them with commas.", "Use commas between them."],
        Constraint::Format(Format::Spaces) => &["Separate them with spaces only.", "Use no commas."],
        Constraint::Alphabetical => &["Put them in alphabetical order.", "Sort them alphabetically."],
        Constraint::Forbidden(_) => &["Do not include {}.", "Leave out {}."],
        Constraint::EndWith(_) => &["End with the word {}.", "Finish your answer with {}."],
    };
    let arg = match c {
        Constraint::StartsWith(l) | Constraint::Avoid(l) => l.to_string(),
        Constraint::Forbidden(w) | Constraint::EndWith(w) => w.clone(),
        _ => String::new(),
    };
    pick(rng, forms).replace("{}", &arg)
}

/// Which kind a constraint is (at most one of each kind per instruction).
fn kind(c: &Constraint) -> u8 {
    match c {
        Constraint::StartsWith(_) => 0,
        Constraint::Avoid(_) => 1,
        Constraint::Case(_) => 2,
        Constraint::Format(_) => 3,
        Constraint::Alphabetical => 4,
        Constraint::Forbidden(_) => 5,
        Constraint::EndWith(_) => 6,
    }
}

/// A random extra constraint that `spec` can still meet, or `None`.
fn extra(rng: &mut impl Rng, spec: &Spec, picked_from_input: bool) -> Option<Constraint> {
    let c = match rng.gen_range(0..6) {
        0 => Constraint::Case(*[Case::Upper, Case::Title].choose(rng)?),
        1 => Constraint::Format(*[Format::Semicolons, Format::Numbered, Format::Spaces].choose(rng)?),
        2 => Constraint::Alphabetical,
        3 => Constraint::EndWith(pick(rng, END_WORDS).to_string()),
        4 if !picked_from_input => {
            let valid = spec.valid_items();
            Constraint::Forbidden(valid.choose(rng)?.clone())
        }
        _ if !picked_from_input => {
            let members = spec.source.members();
            let w = members.choose(rng)?;
            Constraint::StartsWith(w.chars().next()?)
        }
        _ => return None,
    };
    if spec.constraints.iter().any(|x| kind(x) == kind(&c)) {
        return None;
    }
    let mut s2 = spec.clone();
    s2.constraints.push(c.clone());
    (s2.valid_items().len() >= spec.count).then_some(c)
}

/// Draws one task of a constrained `family` at difficulty 1-3: items asked for 2-4
/// (1 + difficulty), constraints 1 to min(3, difficulty + 1). The content requests:
/// `NameItems` "Name 3 animals."; `PickItems` "Which of these are animals? ...";
/// `LetterItems` "Name 3 animals that start with b."; `SortedItems` "List 3 animals in
/// alphabetical order."; `LetterWords` "Write 3 words that start with b." (any category);
/// `AvoidItems` "Name 3 animals without the letter o."
pub fn sample(family: Family, rng: &mut impl Rng, d: u8) -> Task {
    use Family as F;
    let n = 1 + d as usize;
    let cat = *Category::ALL.choose(rng).unwrap_or(&Category::Animal);
    let (mut spec, request, inline) = match family {
        F::NameItems | F::SortedItems => {
            let sorted = family == F::SortedItems;
            let forms: &[&str] = if sorted { &["List {n} {c} in alphabetical order.", "Name {n} {c}, sorted alphabetically."] } else { &["Name {n} {c}.", "List {n} {c}.", "Give me {n} {c}."] };
            let cons = if sorted { vec![Constraint::Alphabetical] } else { vec![] };
            (Spec { source: Source::Category(cat), count: n, constraints: cons }, pick(rng, forms).to_string(), sorted as usize)
        }
        F::LetterItems | F::LetterWords => {
            let (source, plural) = if family == F::LetterWords { (Source::AnyWord, "words") } else { (Source::Category(cat), cat.plural()) };
            let mut letters: Vec<char> = match family {
                F::LetterWords => {
                    let mut v: Vec<char> = super::all_words().iter().filter_map(|w| w.chars().next()).collect();
                    v.dedup();
                    v
                }
                _ => cat.letters_with(n),
            };
            let with = |l: char| source.members().iter().filter(|w| w.starts_with(l)).count();
            letters.retain(|l| with(*l) >= n);
            let l = match letters.choose(rng) {
                Some(l) => *l,
                // Too few words for any letter at this count: the best letter, fewer items.
                None => cat.words().iter().filter_map(|w| w.chars().next()).max_by_key(|l| (with(*l), *l)).unwrap_or('b'),
            };
            let n = n.min(with(l));
            let forms: &[&str] = &["Name {n} {c} that start with {l}.", "Write {n} {c} beginning with the letter {l}."];
            let req = pick(rng, forms).replace("{c}", plural).replace("{l}", &l.to_string());
            (Spec { source, count: n, constraints: vec![Constraint::StartsWith(l)] }, req, 1)
        }
        F::AvoidItems => {
            let letters: Vec<char> = "aeiorstn".chars().filter(|l| cat.words().iter().filter(|w| !w.contains(*l)).count() > n + 1).collect();
            let l = *letters.choose(rng).unwrap_or(&'z');
            let forms: &[&str] = &["Name {n} {c} without the letter {l}.", "List {n} {c} that do not contain {l}."];
            let req = pick(rng, forms).replace("{l}", &l.to_string());
            (Spec { source: Source::Category(cat), count: n, constraints: vec![Constraint::Avoid(l)] }, req, 1)
        }
        _ => {
            // PickItems (the single-answer families never come here).
            debug_assert_eq!(family, F::PickItems, "not a constrained family");
            let members: Vec<String> = cat.words().choose_multiple(rng, n).map(|w| w.to_string()).collect();
            let others: Vec<&str> = Category::ALL.iter().filter(|c| **c != cat).flat_map(|c| c.words().iter().copied()).collect();
            let mut input: Vec<String> = members.clone();
            input.extend(others.choose_multiple(rng, 2 + d as usize).map(|w| w.to_string()));
            input.shuffle(rng);
            let forms: &[&str] = &["Write the {c} from this list: {xs}.", "Which of these are {c}? {xs}."];
            let req = pick(rng, forms).replace("{xs}", &input.join(" "));
            (Spec { source: Source::Pick { category: cat, input }, count: n, constraints: vec![] }, req, 0)
        }
    };
    let picked = matches!(spec.source, Source::Pick { .. });
    let want = rng.gen_range(1..=(d as usize + 1).min(3));
    for _ in 0..12 {
        if spec.constraints.len() >= want {
            break;
        }
        if let Some(c) = extra(rng, &spec, picked) {
            spec.constraints.push(c);
        }
    }
    let n = spec.count;
    let mut instruction = request.replace("{n}", &n.to_string()).replace("{c}", cat.plural());
    for c in spec.constraints.iter().skip(inline) {
        instruction.push(' ');
        instruction.push_str(&sentence(rng, c));
    }
    let mut valid = spec.valid_items();
    valid.shuffle(rng);
    valid.truncate(n);
    if picked {
        // The members in the order the input gives them.
        let Source::Pick { input, .. } = &spec.source else { unreachable!() };
        valid = input.iter().filter(|w| valid.contains(w)).cloned().collect();
    }
    let reference = spec.render(&valid);
    let mut relevant: Vec<String> = spec.source.members();
    if let Source::Pick { input, .. } = &spec.source {
        relevant.extend(input.iter().cloned());
    }
    Task::constrained(family, instruction, spec, reference, relevant, d)
}
