//! `srlm-eval`: evaluation of self-rewarding runs and AlpacaEval leaderboards.
//!
//! ```text
//! srlm-eval run [--name default]                # runs/<name>/eval/{report.md,summary.json,*.png}
//! srlm-eval leaderboard --results DIR --annotator NAME --out leaderboard.csv
//! srlm-eval alpaca-lc [--alpaca-eval-dir DIR] [--lc-inputs CSV] --out DIR   # LC vs the leaderboard
//! srlm-eval agreement --mtbench CSV | --oa JSONL
//! srlm-eval ifeval --prompts input_data.jsonl (--responses R.jsonl | --model CKPT) --out DIR
//! ```
use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser)]
#[command(version, about = "Win rates, judge agreement and reports")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
    /// Device of every model a command loads (`cuda` needs a CUDA build).
    #[arg(long, value_enum, default_value = "cpu", global = true)]
    device: engine::DeviceKind,
    /// Precision of those models (`bf16`, `f16` on CUDA only).
    #[arg(long, value_enum, default_value = "f32", global = true)]
    dtype: engine::Precision,
}

#[derive(Subcommand)]
enum Cmd {
    /// Evaluate a self-rewarding run (models, judges, head-to-head) and write its report.
    Run {
        /// Run name under runs_dir.
        #[arg(long, default_value = "default")]
        name: String,
        /// Folder holding runs.
        #[arg(long, default_value = "runs")]
        runs_dir: PathBuf,
    },
    /// Build an AlpacaEval leaderboard CSV from a `results/` folder.
    Leaderboard {
        /// Folder laid out as `<model>/<annotator>/annotations.json`.
        #[arg(long)]
        results: PathBuf,
        #[arg(long, default_value = "weighted_alpaca_eval_gpt4_turbo")]
        annotator: String,
        /// Where to write the CSV.
        #[arg(long)]
        out: PathBuf,
        /// Skip the length-controlled GLM.
        #[arg(long)]
        no_lc: bool,
        /// alpaca_eval checkout for the LC fit (difficulty, coefficients); default: the
        /// folder above `--results`.
        #[arg(long)]
        alpaca_eval_dir: Option<PathBuf>,
    },
    /// AlpacaEval 2.0's LC win rate reproduced two ways: from the published per-model
    /// coefficients, and refitted from reduced annotations; writes
    /// `lc_from_coefficients.csv` and `lc_refit.csv` (model, ours, published, distance).
    AlpacaLc {
        /// alpaca_eval checkout (default: `ALPACA_EVAL_DIR`, else ../shared/data/alpaca_eval).
        #[arg(long)]
        alpaca_eval_dir: Option<PathBuf>,
        /// `alpaca_eval_lc_inputs.csv`: judged pairs reduced to what LC needs.
        #[arg(long, default_value = "../shared/data/alpaca_eval_lc/alpaca_eval_lc_inputs.csv")]
        lc_inputs: PathBuf,
        /// Folder for the two CSVs.
        #[arg(long, default_value = "target/alpaca_eval")]
        out: PathBuf,
    },
    /// Head-to-head of two `model_outputs.json` files under a judge chosen by a TOML file
    /// (`type = "grader"` with --prompts, `type = "checkpoint"`, or `type = "remote"`).
    Compare {
        #[arg(long)]
        a: PathBuf,
        #[arg(long)]
        b: PathBuf,
        /// TOML file with a `[judge]` table (see eval::judges::JudgeBackend); default: the grader.
        #[arg(long)]
        judge: Option<PathBuf>,
        /// World prompts (`test_prompts.jsonl`) the grader needs.
        #[arg(long)]
        prompts: Option<PathBuf>,
        /// Judgment cache (JSONL); re-running never re-judges.
        #[arg(long, default_value = "target/judge_cache.jsonl")]
        cache: PathBuf,
        /// Where to write AlpacaEval annotations.
        #[arg(long)]
        out: Option<PathBuf>,
        /// alpaca_eval checkout for the LC win rate, reported when A's prompts are
        /// AlpacaEval's and B is `gpt4_1106_preview` (default: `ALPACA_EVAL_DIR`, else
        /// ../shared/data/alpaca_eval).
        #[arg(long)]
        alpaca_eval_dir: Option<PathBuf>,
        /// Exit 0 even when some pairs could not be judged (they are still left out).
        #[arg(long)]
        allow_failures: bool,
    },
    /// Any model's outputs (`model_outputs.json`, e.g. from `srlm generate`) on the world's
    /// prompts under the world's grader, overall and per family.
    Grade {
        #[arg(long)]
        outputs: PathBuf,
        /// The world prompts they answer (`runs/<name>/seed/test_prompts.jsonl`).
        #[arg(long)]
        prompts: PathBuf,
    },
    /// Per task family: how the grader sees the self-judged pairs of an iteration.
    Pairs {
        #[arg(long, default_value = "default")]
        name: String,
        #[arg(long, default_value = "runs")]
        runs_dir: PathBuf,
        #[arg(long, default_value_t = 1)]
        iteration: usize,
    },
    /// Judge-vs-human agreement on public data.
    Agreement {
        /// MT-Bench `human_vs_gpt4pair_slim.csv`: GPT-4 vs human per turn.
        #[arg(long)]
        mtbench: Option<PathBuf>,
        /// Open Assistant `en_100_tree.jsonl`: Table 4 metrics of a response-length judge
        /// (and of `--judge`).
        #[arg(long)]
        oa: Option<PathBuf>,
        /// TOML with a `[judge]` table (`type = "checkpoint"` or `"remote"`, as for
        /// `compare`) to measure against the Open Assistant rankings.
        #[arg(long)]
        judge: Option<PathBuf>,
        /// Only the first this many Open Assistant reply groups.
        #[arg(long)]
        groups: Option<usize>,
    },
    /// IFEval: score responses to Google's prompts (or generate them with --model), writing
    /// summary.json and eval_results_{strict,loose}.jsonl into --out.
    Ifeval {
        /// Google's prompt file (`input_data.jsonl`: key, prompt, instruction_id_list, kwargs).
        #[arg(long)]
        prompts: PathBuf,
        /// Responses in Google's format (`prompt`, `response` per line), matched by prompt text.
        #[arg(long, conflicts_with = "model", required_unless_present = "model")]
        responses: Option<PathBuf>,
        /// A model the engine loads (`.gguf`, checkpoint folder, hub id): answer the prompts
        /// with its chat template, write `<out>/responses.jsonl`, then score.
        #[arg(long)]
        model: Option<String>,
        /// Output folder.
        #[arg(long)]
        out: PathBuf,
        /// With --model: most new tokens per response (clamped to the model's context).
        #[arg(long, default_value_t = 512)]
        max_new_tokens: usize,
        /// With --model: sampling temperature (0 is greedy).
        #[arg(long, default_value_t = 0.0)]
        temperature: f64,
        /// With --model: prompts per batch.
        #[arg(long, default_value_t = 8)]
        batch_size: usize,
    },
}

fn main() -> anyhow::Result<()> {
    engine::alloc::keep_freed_memory();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let rt = engine::Runtime { device: cli.device, dtype: cli.dtype };
    match cli.cmd {
        Cmd::Run { name, runs_dir } => {
            let (run, s) = eval::run::evaluate_named(&runs_dir, &name)?;
            println!("{}", serde_json::to_string_pretty(&s)?);
            eprintln!("report: {}", run.path("eval/report.md").display());
        }
        Cmd::Leaderboard { results, annotator, out, no_lc, alpaca_eval_dir } => {
            let dir = alpaca_eval_dir.unwrap_or_else(|| results.join(".."));
            let ctx = if no_lc { None } else { Some(eval::lc::LcContext::load(&dir)?) };
            let rows = eval::leaderboard::build(&results, &annotator, ctx.as_ref())?;
            engine::fsutil::write_atomic(&out, eval::leaderboard::to_csv(&rows).as_bytes())?;
            print!("{}", eval::leaderboard::to_csv(&rows));
            eprintln!("wrote {}", out.display());
        }
        Cmd::AlpacaLc { alpaca_eval_dir, lc_inputs, out } => {
            let dir = eval::lc::difficulty::alpaca_eval_dir(alpaca_eval_dir);
            let s = eval::lc::checks::run(&dir, &lc_inputs, &out)?;
            print!("{s}");
        }
        Cmd::Compare { a, b, judge, prompts, cache, out, alpaca_eval_dir, allow_failures } => {
            use eval::judges::{CachedJudge, JudgeBackend};
            let backend: JudgeBackend = match judge {
                None => JudgeBackend::Grader,
                Some(p) => JudgeBackend::read(&p)?,
            };
            let xa: Vec<eval::alpaca::ModelOutput> = eval::alpaca::read_json_array(&a)?;
            let xb: Vec<eval::alpaca::ModelOutput> = eval::alpaca::read_json_array(&b)?;
            let mut slot = None;
            if let JudgeBackend::CheckpointPairwise { path } = &backend {
                let ck = rt.load(&path.to_string_lossy())?;
                let j = eval::pairwise::PairwiseLlmJudge { model: &ck, params: engine::SampleParams { temperature: 0.0, top_p: 1.0, max_new_tokens: 64, stop: vec![] }, seed: 0, batch_size: 16 };
                let by_ins: std::collections::HashMap<&str, &eval::alpaca::ModelOutput> = xb.iter().map(|o| (o.instruction.as_str(), o)).collect();
                let mut triples = vec![];
                for x in &xa {
                    let y = by_ins.get(x.instruction.as_str()).ok_or_else(|| anyhow::anyhow!("{}: instruction {:?} has no output in {}", a.display(), x.instruction, b.display()))?;
                    triples.push((x.instruction.clone(), x.output.clone(), y.output.clone()));
                }
                let r = j.compare(&triples)?;
                let h = eval::winrate::tally(r.verdicts.iter().flatten().copied());
                if h.total() == 0 {
                    anyhow::bail!("no readable verdict from {} in {} pairs ({} single-order failures): is the model trained on the pairwise prompt?", path.display(), r.verdicts.len(), r.failures);
                }
                println!("{} vs {}: win {} tie {} loss {}; win rate {:.1}% ± {:.1} (ties half); position bias {:.1}% first; {} pairs left out for unreadable verdicts ({} single-order failures)", a.display(), b.display(), h.win, h.tie, h.loss, h.win_rate(), h.standard_error(), 100.0 * r.position_bias, r.verdicts.iter().filter(|v| v.is_none()).count(), r.failures);
                return Ok(());
            }
            let inner = backend.pointwise(&rt, prompts.as_deref(), &mut slot)?;
            let mut j = CachedJudge::new(inner, cache)?;
            let c = eval::compare::compare_outputs(&xa, &xb, &mut j)?;
            let (h, ann) = (c.tally, c.annotations);
            println!("{} vs {}: win {} tie {} loss {}; win rate {:.1}% ± {:.1} (ties half); {} of {} pairs not judged", a.display(), b.display(), h.win, h.tie, h.loss, h.win_rate(), h.standard_error(), c.failures.len(), ann.len());
            for (ins, e) in c.failures.iter().take(5) {
                eprintln!("not judged: {:?}: {e}", ins.chars().take(60).collect::<String>());
            }
            let dir = eval::lc::difficulty::alpaca_eval_dir(alpaca_eval_dir);
            println!("{}", eval::lc::lc_line(&dir, &xa.first().map_or(String::new(), |o| o.generator.clone()), &ann));
            if let Some(o) = out {
                eval::alpaca::write_json_array(&o, &ann)?;
            }
            if !c.failures.is_empty() && !allow_failures {
                anyhow::bail!("{} of {} pairs could not be judged (causes above; they are left out, never ties); pass --allow-failures to accept a partial comparison", c.failures.len(), ann.len());
            }
        }
        Cmd::Grade { outputs, prompts } => {
            let stats = eval::grade::grade_files(&outputs, &prompts)?;
            println!("{:16} {:>5} {:>6} {:>8}", "family", "n", "score", "all met");
            for (f, g) in stats {
                println!("{f:16} {:5} {:6.2} {:8.3}", g.n, g.score, g.all_met);
            }
        }
        Cmd::Pairs { name, runs_dir, iteration } => {
            let run = trainer::RunDir::new(&runs_dir, &name);
            let it = run.iter(iteration);
            let prompts: Vec<world::records::PromptRecord> = run.read_jsonl(&format!("{it}/prompts.jsonl"))?;
            let pairs: Vec<trainer::pairs::Pair> = run.read_jsonl(&format!("{it}/pairs.jsonl"))?;
            let tasks: std::collections::HashMap<usize, world::Task> = prompts.into_iter().filter_map(|p| p.task.map(|t| (p.id, t))).collect();
            let mut by: std::collections::BTreeMap<String, [usize; 3]> = Default::default();
            for p in &pairs {
                let Some(t) = tasks.get(&p.prompt_id) else { continue };
                let (c, r) = (world::grade(t, &p.chosen).score, world::grade(t, &p.rejected).score);
                let e = by.entry(t.family.clone()).or_default();
                e[(c.cmp(&r) as i32 + 1) as usize] += 1;
            }
            println!("{:14} {:>6} {:>6} {:>6} {:>6}", "family", "agree", "tie", "against", "pairs");
            for (f, [lt, eq, gt]) in &by {
                println!("{f:14} {gt:6} {eq:6} {lt:6} {:6}", lt + eq + gt);
            }
        }
        Cmd::Agreement { mtbench, oa, judge, groups } => {
            if let Some(p) = mtbench {
                let votes = eval::datasets::load_mtbench(&p)?;
                for turn in [1, 2] {
                    let v: Vec<_> = votes.iter().filter(|x| x.turn == turn).map(|x| (x.human, x.gpt4)).collect();
                    let a = eval::agreement::human_agreement(&v);
                    println!("turn {turn}: GPT-4 vs human agreement {:.1}% with ties (n={}), {:.1}% without ties (n={})", 100.0 * a.with_ties, a.n_with_ties, 100.0 * a.without_ties, a.n_without_ties);
                }
            }
            if let Some(p) = oa {
                let mut ranked = eval::datasets::load_oa_ranked(&p)?;
                ranked.truncate(groups.unwrap_or(usize::MAX));
                let items: Vec<_> = ranked.iter().enumerate().flat_map(|(g, x)| x.replies.iter().map(move |(t, r)| eval::agreement::Item { group: g, gold: -(*r as f64), pred: Some(t.chars().count() as f64) })).collect();
                println!("length judge on {} Open Assistant reply groups: {:#?}", ranked.len(), eval::agreement::judge_metrics(&items));
                if let Some(j) = judge {
                    let backend = eval::judges::JudgeBackend::read(&j)?;
                    let name = format!("{backend:?}");
                    let mut slot = None;
                    let mut judge = backend.pointwise(&rt, None, &mut slot)?;
                    let a = eval::human::judge_against_humans(judge.as_mut(), &ranked);
                    println!("{name} on the same groups: {} replies, parse rate {:.3}\n{:#?}", a.judged, a.parse_rate, a.metrics);
                }
            }
        }
        Cmd::Ifeval { prompts, responses, model, out, max_new_tokens, temperature, batch_size } => {
            let s = match (responses, model) {
                (Some(r), _) => eval::ifeval::score_files(&prompts, &r, &out)?,
                (None, Some(m)) => {
                    let opts = eval::ifeval::GenOptions { max_new_tokens, temperature, batch_size, ..Default::default() };
                    let ck = rt.load(&m)?;
                    eval::ifeval::generate_and_score(&ck, &prompts, &out, &opts)?
                }
                (None, None) => anyhow::bail!("give --responses or --model"),
            };
            print!("{}", s.table());
            eprintln!("wrote {}", out.join("summary.json").display());
        }
    }
    Ok(())
}
