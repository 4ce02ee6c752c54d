//! The grader's justification in English sentences, for judges that start from a pretrained
//! model (the `english` EFT style): the same checks as [`crate::grade`]'s terse one, in the
//! same order (each item read, the count, each constraint, extraneous text), then the
//! rubric's five points with a yes or no each, so the score is a count of what was read.
use crate::constrained::{check, Checked, Spec};
use crate::task::{Answer, Task};

const POINTS: [&str; 5] = [
    "relevant to the instruction",
    "covers a substantial part of it",
    "gets the basic elements right",
    "complete (every requirement met)",
    "exact, with no extraneous text",
];

/// Items named one by one; longer lists end in "and N more".
const SHOWN: usize = 5;

fn yes(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

/// The rubric's five points, e.g. `Relevant to the instruction: yes. ... 3 of 5 points.`
fn points(criteria: &[bool; 5]) -> String {
    let mut s: Vec<String> = criteria.iter().zip(POINTS).map(|(c, p)| format!("{}{}: {}.", p[..1].to_uppercase(), &p[1..], yes(*c))).collect();
    s.push(format!("{} of 5 points.", criteria.iter().filter(|c| **c).count()));
    s.join(" ")
}

fn constrained(spec: &Spec, c: &Checked, criteria: &[bool; 5]) -> String {
    let mut s = String::new();
    if c.items.is_empty() {
        s.push_str("The response lists no items.");
    } else {
        let shown: Vec<String> = c.items.iter().zip(&c.member).take(SHOWN).map(|(w, m)| format!("{w} ({})", if *m { "allowed" } else { "not allowed or repeated" })).collect();
        let more = if c.items.len() > SHOWN { format!(" and {} more", c.items.len() - SHOWN) } else { String::new() };
        s.push_str(&format!("The response lists {} item{}: {}{more}.", c.items.len(), if c.items.len() == 1 { "" } else { "s" }, shown.join(", ")));
    }
    s.push_str(&format!(" The instruction asks for {}, so the count is {}.", spec.count, if c.items.len() == spec.count { "right" } else { "wrong" }));
    for (con, v) in &c.verdicts {
        let label = con.label();
        if v.len() == 1 && !con.per_item() {
            s.push_str(&format!(" \"{label}\": {}.", yes(v[0])));
        } else if v.is_empty() {
            s.push_str(&format!(" \"{label}\": no items to check."));
        } else {
            let vs: Vec<&str> = v.iter().take(SHOWN).map(|x| yes(*x)).collect();
            s.push_str(&format!(" \"{label}\" for each item: {}.", vs.join(", ")));
        }
    }
    s.push_str(if c.chatter { " It adds text around the answer." } else { " It adds no text around the answer." });
    s.push(' ');
    s.push_str(&points(criteria));
    s
}

/// The English justification of `g`, [`crate::grade`]'s grade of `response` to `task`.
pub fn explain(task: &Task, response: &str, g: &crate::Grade) -> String {
    match &task.answer {
        Answer::Constrained(spec) => constrained(spec, &check(spec, response), &g.criteria),
        _ => points(&g.criteria),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn says_each_check_and_counts_the_points_to_the_graders_score() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let mut seen = 0;
        for _ in 0..200 {
            let task = crate::Family::NameItems.sample(&mut rng, 2);
            let Answer::Constrained(spec) = &task.answer else { continue };
            for response in [task.reference.clone(), crate::corrupt(&task, 2, &mut rng), crate::corrupt(&task, 4, &mut rng), format!("Sure! {}", task.reference), String::new()] {
                let g = crate::grade(&task, &response);
                let e = explain(&task, &response, &g);
                assert!(e.ends_with(&format!("{} of 5 points.", g.score)), "{e}");
                assert_eq!(e.matches(": yes.").count() + e.matches(": no.").count() >= 5, true, "{e}");
                let c = check(spec, &response);
                assert!(e.contains(&format!("asks for {}", spec.count)), "{e}");
                if let Some(first) = c.items.first() {
                    assert!(e.contains(&format!("{first} (")), "names the items it read: {e}");
                }
                assert_eq!(e.contains("adds text around"), c.chatter, "{e}");
                seen += 1;
            }
        }
        assert!(seen >= 40, "{seen} constrained responses checked");
    }

    #[test]
    fn by_hand() {
        let p = points(&[true, true, false, false, false]);
        assert_eq!(
            p,
            "Relevant to the instruction: yes. Covers a substantial part of it: yes. Gets the basic elements right: no. \
             Complete (every requirement met): no. Exact, with no extraneous text: no. 2 of 5 points."
        );
    }
}
