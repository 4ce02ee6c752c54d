//! The grader at every score level, for every family, plus hand-checked cases.
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use world::{corrupt, grade, Answer, Family, Task};

fn task(family: Family, reference_items: &[&str], relevant: &[&str]) -> Task {
    let items: Vec<String> = reference_items.iter().map(|s| s.to_string()).collect();
    Task::items(family, "instr".into(), items, " ", relevant.iter().map(|s| s.to_string()).collect(), 1)
}

#[test]
fn reverse_by_hand() {
    // Reverse the list: cat dog sun  ->  sun dog cat
    let t = task(Family::Reverse, &["sun", "dog", "cat"], &["cat", "dog", "sun"]);
    let cases = [
        ("sun dog cat", 5, [true; 5]),
        ("The answer is sun dog cat", 4, [true, true, true, true, false]),
        ("cat dog sun", 3, [true, true, true, false, false]),
        ("sun dog", 2, [true, true, false, false, false]),
        ("cat cat dog", 2, [true, true, false, false, false]),
        ("cat", 1, [true, false, false, false, false]),
        ("weather nice okay", 0, [false; 5]),
        ("", 0, [false; 5]),
        // right words drowned in filler: not relevant, but the content criteria still count
        ("maybe well okay stuff sun dog cat hello random", 3, [false, true, true, true, false]),
    ];
    for (resp, score, crit) in cases {
        let g = grade(&t, resp);
        assert_eq!((g.score, g.criteria), (score, crit), "{resp:?}: {}", g.justification);
    }
}

#[test]
fn numbers_by_hand() {
    // Convert 3 km to m -> "3000 m"
    let t = Task::number(Family::Convert, "Convert 3 km to m.".into(), 3000, Some("m"), vec!["3".into(), "km".into()], 1);
    for (resp, score) in [
        ("3000 m", 5),
        ("It is 3000 m.", 4),
        ("3000", 3),  // exact number but no unit: not complete
        ("3100 m", 3), // within 10%
        ("2000 m", 2), // within 50%
        ("3 m", 1),
        ("hello", 0),
    ] {
        assert_eq!(grade(&t, resp).score, score, "{resp}");
    }
    let j = grade(&t, "3100 m").justification;
    assert_eq!(j, "Relevant, covers a substantial part, basic elements right, incomplete or out of order, not exact.");
}

#[test]
fn every_family_reaches_every_score() {
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    for fam in Family::ALL {
        let mut seen = [false; 6];
        for _ in 0..400 {
            let d = (rand::Rng::gen_range(&mut rng, 1..=3)) as u8;
            let t = fam.sample(&mut rng, d);
            assert_eq!(grade(&t, &t.reference).score, 5, "{fam:?}: reference of {:?} not perfect", t.instruction);
            for level in 0..=5 {
                let r = corrupt(&t, level, &mut rng);
                seen[grade(&t, &r).score as usize] = true;
            }
            if seen.iter().all(|s| *s) {
                break;
            }
        }
        assert!(seen.iter().all(|s| *s), "{fam:?} reaches only {seen:?}");
    }
}

#[test]
fn reference_solvers_are_right() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    for _ in 0..50 {
        let t = Family::SortNumbers.sample(&mut rng, 3);
        let Answer::Items(items) = &t.answer else { panic!() };
        let v: Vec<i64> = items.iter().map(|x| x.parse().unwrap()).collect();
        assert!(v.windows(2).all(|w| w[0] <= w[1]), "{v:?}");
        let t = Family::Arithmetic.sample(&mut rng, 2);
        let expr: Vec<&str> = t.instruction.split(|c: char| !c.is_ascii_digit() && c != '+' && c != '-').filter(|s| !s.is_empty()).collect();
        let Answer::Number { value, .. } = t.answer else { panic!() };
        let (a, op, b): (i64, &str, i64) = (expr[0].parse().unwrap(), expr[1], expr[2].parse().unwrap());
        assert_eq!(if op == "+" { a + b } else { a - b }, value, "{}", t.instruction);
    }
}

#[test]
fn splits_are_stable_and_hold_out_families() {
    let mut cfg = world::SplitConfig::default();
    let s = cfg.split_of(Family::Reverse, "Reverse the list: cat dog sun");
    assert_eq!(s, cfg.split_of(Family::Reverse, "Reverse the list: cat dog sun"));
    cfg.held_out_families = vec![Family::Filter];
    let w = world::World { families: Family::SINGLE.to_vec(), split: cfg, ..Default::default() };
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let mut counts = std::collections::HashMap::new();
    for _ in 0..300 {
        let t = w.sample(&mut rng, world::Split::Train);
        assert_ne!(t.family, Family::Filter);
        *counts.entry(t.family).or_insert(0) += 1;
        assert_eq!(w.split.split_of(t.family, &t.instruction), world::Split::Train);
    }
    assert_eq!(counts.len(), 13);
}
