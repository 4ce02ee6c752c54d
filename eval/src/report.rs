//! `report.md`: the paper's tables on a run, with the plots embedded.
use records::EvalSummary;
use crate::Result;
use trainer::RunDir;

fn f(x: f64) -> String {
    if x.is_finite() { format!("{x:.3}") } else { "–".into() }
}

/// Writes the PNG plots and `eval/report.md`.
/// `lc_note` says whether the run's outputs have an AlpacaEval LC win rate, or why not.
pub fn write(run: &RunDir, s: &EvalSummary, lc_note: &str) -> Result<()> {
    let dir = run.path("eval");
    let models = &s.models;
    // The same figures the notebooks draw.
    let png = |name: &str, f: analysis::Figure| f.png(&dir.join(name)).map_err(|e| crate::Error::Invalid(e.to_string()));
    png("win_rates.png", analysis::figures::win_rates(s))?;
    png("judge_metrics.png", analysis::figures::judge_metrics(s))?;
    png("length.png", analysis::figures::lengths(s))?;
    png("self_scores.png", analysis::figures::self_scores(s))?;
    png("gain_vs_judge.png", analysis::figures::gain_vs_judge(&crate::families::gain_points(&s.by_family, &s.own_judging)))?;

    let mut md = String::from("# Self-rewarding run: evaluation\n\n");
    md.push_str(&format!("Run folder: `{}`. Test prompts are held out from training; the world's grader stands in for human/GPT-4 judgments.\n\n", run.root.display()));
    md.push_str("## Instruction following (grader, 0-5)\n\n| model | mean grader score | mean length (chars) | mean words |\n|---|---|---|---|\n");
    for m in models {
        md.push_str(&format!("| {m} | {} | {:.1} | {:.1} |\n", f(s.grader_score[m]), s.avg_length[m], s.avg_words[m]));
    }
    md.push_str("\n### Content and form (share of test responses)\n\nCriteria 1-4 are content; the fifth (exact, no extraneous text) is also form. *Content right*: the answer with any chatter stripped is the reference; *chatter*: it carries a sign-off or lead-in.\n\n| model | 1 relevant | 2 substantial | 3 basic elements | 4 complete, in order | 5 exact | content right | chatter |\n|---|---|---|---|---|---|---|---|\n");
    for (m, c) in models.iter().filter_map(|m| s.criteria.get(m).map(|c| (m, c))) {
        let get = |x: &std::collections::BTreeMap<String, f64>| x.get(m).copied().map_or("–".into(), f);
        md.push_str(&format!("| {m} | {} | {} | {} |\n", c.iter().map(|x| format!("{x:.3}")).collect::<Vec<_>>().join(" | "), get(&s.content_right), get(&s.chatter)));
    }
    md.push_str(&families(s));
    md.push_str("\n## Head to head (grader scores each response alone; equal scores = tie)\n\n| comparison | win | tie | loss | win rate % (ties half) | s.e. | win − loss |\n|---|---|---|---|---|---|---|\n");
    for (k, h) in &s.head_to_head {
        md.push_str(&format!("| {} | {} | {} | {} | {:.1} | {:.1} | {:+.1} |\n", k.replace("_vs_", " vs "), h.win, h.tie, h.loss, h.win_rate, h.standard_error, h.net));
    }
    md.push_str(&format!("\nAlpacaEval 2.0 (length-controlled) {lc_note}\n"));
    md.push_str("\n![win rates](win_rates.png)\n\n## Each model as a judge (held-out EFT, against the grader)\n\n");
    md.push_str("Pairwise accuracy counts judge ties as misses; correlations are per instruction, averaged.\n\n| model | pairwise acc. | 5-best | exact match | Spearman | Kendall τ | judge ties | coverage |\n|---|---|---|---|---|---|---|---|\n");
    for m in models {
        if let Some(j) = s.judge.get(m) {
            md.push_str(&format!(
                "| {m} | {} | {} | {} | {} | {} | {} | {} |\n",
                f(j.pairwise_accuracy),
                j.five_best.map_or("–".into(), f),
                f(j.exact_match),
                f(j.spearman),
                f(j.kendall_tau),
                f(j.tie_rate),
                f(j.coverage)
            ));
        }
    }
    md.push_str("\n### Each model judging its own candidates (the scores the loop trained on)\n\n");
    md.push_str("The same metrics over iteration t's candidates (N per prompt), self-scores against the grader's: how much of the grader's order the pairs could carry.\n\n| judge | pairwise acc. | judge ties | Spearman | pairs | prompts |\n|---|---|---|---|---|---|\n");
    for (m, j) in &s.self_judge {
        md.push_str(&format!("| {m} | {} | {} | {} | {} | {} |\n", f(j.pairwise_accuracy), f(j.tie_rate), f(j.spearman), j.n_pairs, j.n_groups));
    }
    md.push_str(&own_judging(s));
    md.push_str(&public(s));
    md.push_str("\n![judge metrics](judge_metrics.png)\n\n## Length\n\n![length](length.png)\n\n## Self-rewarding: scores M_t gave its own candidates\n\n| iteration model | 0 | 1 | 2 | 3 | 4 | 5 |\n|---|---|---|---|---|---|---|\n");
    for (k, h) in &s.self_scores {
        md.push_str(&format!("| {k} | {} |\n", h.iter().map(|c| c.to_string()).collect::<Vec<_>>().join(" | ")));
    }
    md.push_str("\n![self scores](self_scores.png)\n\nAlpacaEval-format files: `eval/<model>/model_outputs.json` and `eval/annotations/<A>_vs_<B>/annotations.json`.\n");
    Ok(engine::fsutil::write_atomic(&dir.join("report.md"), md.as_bytes())?)
}

fn opt(x: Option<f64>) -> String {
    x.map_or("–".into(), f)
}

/// Per family: mean grader score, share with every requirement met, content right.
fn families(s: &EvalSummary) -> String {
    let mut md = String::from("\n### Per family (test prompts)\n\nEach cell: mean grader score / share meeting every requirement (rubric criterion 4) / content right (single-answer families only). *held out*: no training prompt of the family, in SFT or the loop.\n\n");
    md.push_str(&format!("| family | prompts | {} |\n|---|---|{}\n", s.models.join(" | "), "---|".repeat(s.models.len())));
    for (fam, st) in &s.by_family {
        let name = if st.held_out { format!("{fam} (held out)") } else { fam.clone() };
        let cells: Vec<String> = s
            .models
            .iter()
            .map(|m| {
                let right = st.content_right.get(m).map_or(String::new(), |r| format!(" / {r:.2}"));
                format!("{} / {}{right}", opt(st.grader_score.get(m).copied()), opt(st.all_met.get(m).copied()))
            })
            .collect();
        md.push_str(&format!("| {name} | {} | {} |\n", st.prompts, cells.join(" | ")));
    }
    md
}

/// M_t judging its own candidates, per family.
fn own_judging(s: &EvalSummary) -> String {
    let mut md = String::from("\n### Each M_t judging its own candidates, per family\n\nAccuracy over the candidate pairs the grader orders strictly and the judge does not tie; AUC: a right candidate (every requirement met) scored above a wrong one of the same prompt, ties half; ties: share of the grader's strict pairs the judge scored equal. *Read*: share of judgments whose item list is exactly the response's items (did the judge read what it judged). This is the generation–verification gap the loop lives on: where accuracy is near 0.5, the pairs carry no signal.\n\n| judge | family | accuracy (untied) | AUC | ties | read | pairs |\n|---|---|---|---|---|---|---|\n");
    for (m, fams) in &s.own_judging {
        for (fam, j) in fams {
            md.push_str(&format!("| {m} | {fam} | {} | {} | {} | {} | {} |\n", opt(j.accuracy), opt(j.auc), opt(j.tie_rate), opt(j.read_rate), j.pairs));
        }
    }
    md.push_str("\n![gain against judge accuracy](gain_vs_judge.png)\n");
    md
}

/// IFEval and the judges against Open Assistant's human ranks (runs with `[eval]`).
fn public(s: &EvalSummary) -> String {
    let mut md = String::new();
    let ms: Vec<&String> = s.models.iter().filter(|m| s.ifeval.contains_key(*m)).collect();
    if !ms.is_empty() {
        md.push_str("\n## IFEval (Google's prompts, greedy; percent)\n\n| model | prompts | prompt strict | instruction strict | prompt loose | instruction loose |\n|---|---|---|---|---|---|\n");
        for m in &ms {
            let x = &s.ifeval[*m];
            md.push_str(&format!("| {m} | {} | {:.1} | {:.1} | {:.1} | {:.1} |\n", x.prompts, x.prompt_strict, x.instruction_strict, x.prompt_loose, x.instruction_loose));
        }
        md.push_str(&format!("\n### IFEval per instruction type (loose, percent; instances in brackets)\n\n| type | {} |\n|---|{}\n", ms.iter().map(|m| m.as_str()).collect::<Vec<_>>().join(" | "), "---|".repeat(ms.len())));
        for (ty, (n, _, _)) in &s.ifeval[ms[0]].per_type {
            let cells: Vec<String> = ms.iter().map(|m| s.ifeval[*m].per_type.get(ty).map_or("–".into(), |t| format!("{:.1}", t.2))).collect();
            md.push_str(&format!("| {ty} ({n}) | {} |\n", cells.join(" | ")));
        }
    }
    if !s.oa_judge.is_empty() {
        md.push_str("\n## Each model as a judge of Open Assistant's ranked replies (against the human ranks; the paper's Table 4)\n\n");
        md.push_str("Parse rate: judgments ending in a readable score, over those whose prompt fit the context; failures are excluded, never scored.\n\n| judge | replies | too long | parse rate | pairwise acc. | 5-best | exact match | Spearman | Kendall τ | judge ties |\n|---|---|---|---|---|---|---|---|---|---|\n");
        let row = |name: &str, j: &records::JudgeMetrics, extra: String| {
            format!("| {name} | {extra} | {} | {} | {} | {} | {} | {} |\n", f(j.pairwise_accuracy), j.five_best.map_or("–".into(), f), f(j.exact_match), f(j.spearman), f(j.kendall_tau), f(j.tie_rate))
        };
        for m in s.models.iter().filter(|m| s.oa_judge.contains_key(*m)) {
            let h = &s.oa_judge[m];
            md.push_str(&row(m, &h.metrics, format!("{} | {} | {}", h.judged, h.too_long, f(h.parse_rate))));
        }
        if let Some(l) = &s.oa_length_baseline {
            md.push_str(&row("length (longer is better)", l, "– | – | –".into()));
        }
    }
    md
}
