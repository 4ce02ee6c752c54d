//! The constrained families' grader at every score level, by hand, per constraint kind;
//! and the sampled families: references perfect, corruptions reaching every score.
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use world::constrained::{parse_items, Case, Category, Constraint, Format, Source, Spec};
use world::{corrupt, grade, Family, Task};

fn task(spec: Spec) -> Task {
    let reference = spec.render(&spec.valid_items()[..spec.count]);
    Task::constrained(world::Family::PickItems, "instr".into(), spec.clone(), reference, spec.source.members(), 1)
}

fn assert_scores(t: &Task, cases: &[(&str, u8)]) {
    for (resp, score) in cases {
        let g = grade(t, resp);
        assert_eq!(g.score, *score, "{resp:?}: {}", g.justification);
        assert_eq!(g.score as usize, g.criteria.iter().filter(|c| **c).count());
    }
}

#[test]
fn letter_case_and_separator_by_hand() {
    // Name 3 animals that start with b. Use upper case. Separate them with semicolons.
    let t = task(Spec {
        source: Source::Category(Category::Animal),
        count: 3,
        constraints: vec![Constraint::StartsWith('b'), Constraint::Case(Case::Upper), Constraint::Format(Format::Semicolons)],
    });
    assert_scores(&t, &[
        ("BAT; BEE; BEAR", 5),
        ("BEAR; BAT; BEE", 5), // any order when none is asked for
        ("BAT; BEE; BEAR I hope this helps.", 4),
        ("The answer is BAT; BEE; BEAR", 4),
        ("BAT; BEE; COW", 3),  // an animal, but not with b
        ("bat; bee; bear", 3), // lower case
        ("BAT; bee; BEAR", 3),
        ("BAT, BEE, BEAR", 3), // commas
        ("BAT; BEE", 2),       // one item short
        ("BAT; BEE; BEE", 2),  // a repeat is not a third item
        ("BAT; BEE; BEAR; BAT", 2),
        ("BAT; PEAR; RED", 1), // one animal of three
        ("PEAR; RED", 0),
        ("", 0),
        ("I hope this helps.", 0),
        ("maybe well okay BAT", 0), // mostly filler, one animal of three
    ]);
    let g = grade(&t, "BAT; BEE; COW Done.");
    assert_eq!(g.justification, "BAT yes, BEE yes, COW yes. 3 of 3 items. start with b: yes yes no. upper case: yes yes yes. semicolons: yes. extra text: yes.");
    assert_eq!(g.criteria, [true, true, true, false, false]);
    // What a judgment says it read, back from its first sentence.
    assert_eq!(world::constrained::echoed_items(&g.justification), ["BAT", "BEE", "COW"]);
    assert_eq!(world::constrained::echoed_items(" no items. 0 of 3 items. Score: 0"), Vec::<String>::new());
}

#[test]
fn picking_from_the_input_order_numbering_and_closing_word_by_hand() {
    // Which of these are foods? apple cow pear red fig. Sort them. Number them. End with over.
    let input: Vec<String> = ["apple", "cow", "pear", "red", "fig"].iter().map(|s| s.to_string()).collect();
    let t = task(Spec {
        source: Source::Pick { category: Category::Food, input },
        count: 3,
        constraints: vec![Constraint::Alphabetical, Constraint::EndWith("over".into()), Constraint::Format(Format::Numbered)],
    });
    assert_eq!(t.reference, "1. apple 2. fig 3. pear over");
    assert_scores(&t, &[
        ("1. apple 2. fig 3. pear over", 5),
        ("Here you go: 1. apple 2. fig 3. pear over", 4),
        ("1. apple 2. fig 3. pear over Done.", 4),
        ("1. pear 2. fig 3. apple over", 3), // not sorted
        ("1. apple 2. fig 3. pear", 3),       // no closing word
        ("1. apple 2. fig 3. pear end", 2),   // a wrong closing word reads as a fourth item
        ("apple, fig, pear over", 3),         // not numbered
        ("1. apple 2. fig 3. plum over", 2),  // plum is a food, but not in the list
        ("1. apple 2. cow 3. red over", 1),
        ("1. cow 2. red over", 0),
    ]);
    assert_eq!(parse_items("1. apple 2. fig 3. pear"), ["apple", "fig", "pear"]);
}

#[test]
fn avoided_letter_and_forbidden_word_by_hand() {
    // Name 2 colours without the letter e. Do not include pink.
    let t = task(Spec {
        source: Source::Category(Category::Colour),
        count: 2,
        constraints: vec![Constraint::Avoid('e'), Constraint::Forbidden("pink".into())],
    });
    assert_scores(&t, &[
        ("gold, tan", 5),
        ("Gold, Tan", 5), // no case asked for
        ("gold tan", 5),  // nor a separator
        ("gold, tan Easy.", 4),
        ("pink, gold", 3),
        ("green, gold", 3),
        ("gold", 2),
        ("gold, fig", 2),
        ("fig, owl", 0),
    ]);
}

#[test]
fn sampled_constrained_tasks_have_perfect_references_and_reach_every_score() {
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    for fam in Family::CONSTRAINED {
        assert!(fam.is_constrained());
        let mut seen = [0usize; 6];
        let mut constraints = 0;
        for i in 0..300 {
            let t = fam.sample(&mut rng, 1 + (i % 3) as u8);
            let g = grade(&t, &t.reference);
            assert_eq!(g.score, 5, "{fam:?}: {:?} -> {:?}: {}", t.instruction, t.reference, g.justification);
            assert!(!t.has_single_answer());
            let world::Answer::Constrained(spec) = &t.answer else { panic!() };
            assert!((1..=3).contains(&spec.constraints.len()) || spec.constraints.is_empty() && fam == Family::PickItems, "{}", t.instruction);
            constraints += spec.constraints.len();
            for level in 0..=5 {
                seen[grade(&t, &corrupt(&t, level, &mut rng)).score as usize] += 1;
            }
        }
        assert!(seen.iter().all(|n| *n >= 20), "{fam:?}: {seen:?}");
        assert!(constraints as f64 / 300.0 > 1.3, "{fam:?}: {constraints} constraints over 300 tasks");
    }
}

#[test]
fn many_answers_are_right() {
    // Distinct perfect responses to one instruction: the world has many right answers.
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let t = Family::NameItems.sample(&mut rng, 2);
    let mut right = std::collections::HashSet::new();
    for _ in 0..100 {
        let r = corrupt(&t, 5, &mut rng);
        assert_eq!(grade(&t, &r).score, 5, "{r}");
        right.insert(r);
    }
    assert!(right.len() >= 10, "{} distinct right answers to {:?}", right.len(), t.instruction);
}

#[test]
fn chatter_does_not_mark_right_responses() {
    // Over EFT-like data (every aimed level equally often), responses with chatter must not
    // score higher on average than responses without: otherwise a judge that cannot read the
    // content learns that chatter means a good answer, and the loop teaches signing off.
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let (mut with, mut without) = ((0.0, 0usize), (0.0, 0usize));
    for i in 0..3000 {
        let t = Family::CONSTRAINED[i % 4].sample(&mut rng, 1 + (i % 2) as u8);
        let r = corrupt(&t, (i % 6) as u8, &mut rng);
        let (_, chat) = world::strip_chatter(&r);
        let s = grade(&t, &r).score as f64;
        let acc = if chat { &mut with } else { &mut without };
        *acc = (acc.0 + s, acc.1 + 1);
    }
    let (a, b) = (with.0 / with.1 as f64, without.0 / without.1 as f64);
    assert!(a < b, "mean score with chatter {a:.2} vs without {b:.2}");
}
