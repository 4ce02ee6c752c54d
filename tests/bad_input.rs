//! A catalogue of bad input and faults against `srlm` and `srlm-eval`, run as a user runs
//! them (the release binaries, in a scratch folder holding a finished smoke run). Each
//! case asserts: a failing exit status that is not a panic's (101), no panic message,
//! an error that names the key, file, line or field at fault, and that nothing already
//! written changed (every file of the scratch folder hashed before and after).
mod common;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// `target/<profile>/`, where cargo put this test and the binaries (`make test` builds them first).
fn bin(name: &str) -> PathBuf {
    let dir = std::env::current_exe().unwrap().parent().unwrap().parent().unwrap().to_path_buf();
    let p = dir.join(name);
    assert!(p.exists(), "{} missing: build it first (`cargo build --release --bins -p trainer -p eval`, as `make test` does)", p.display());
    p
}

/// A scratch folder with `runs/smoke`: seed, SFT, one iteration and its evaluation, made once.
fn fixture() -> &'static Path {
    static F: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    &F.get_or_init(|| {
        let d = tempfile::tempdir().unwrap();
        let ok = |c: &mut Command| {
            let out = c.current_dir(d.path()).env("RUST_BACKTRACE", "0").output().unwrap();
            assert!(out.status.success(), "fixture: {}", String::from_utf8_lossy(&out.stderr));
        };
        ok(Command::new(bin("srlm")).args(["--profile", "smoke", "iterate"]));
        ok(Command::new(bin("srlm-eval")).args(["run", "--name", "smoke"]));
        let p = d.path().to_path_buf();
        (d, p)
    })
    .1
}

/// Every file under `dir` but lock files (their content is the holder's pid).
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                out.insert(p.strip_prefix(root).unwrap().to_path_buf(), b"<dir>".to_vec());
                walk(root, &p, out);
            } else if p.file_name().is_some_and(|n| n != ".lock") {
                out.insert(p.strip_prefix(root).unwrap().to_path_buf(), std::fs::read(&p).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// One case: the binary, its arguments (`{dir}` is the scratch folder), a change made to
/// the scratch copy first, and what the error must mention.
struct Case {
    name: &'static str,
    bin: &'static str,
    args: Vec<String>,
    setup: fn(&Path),
    expect: Vec<&'static str>,
}

fn case(name: &'static str, bin: &'static str, args: &[&str], expect: &[&'static str]) -> Case {
    Case { name, bin, args: args.iter().map(|s| s.to_string()).collect(), setup: |_| {}, expect: expect.to_vec() }
}

fn with(mut c: Case, setup: fn(&Path)) -> Case {
    c.setup = setup;
    c
}

fn write(dir: &Path, rel: &str, text: &str) {
    std::fs::write(dir.join(rel), text).unwrap();
}

fn smoke(args: &[&str]) -> Vec<String> {
    let mut v = vec!["--profile".to_string(), "smoke".into()];
    v.extend(args.iter().map(|s| s.to_string()));
    v
}

/// Runs one case in a fresh copy of the fixture; returns what went wrong, if anything.
fn run_case(c: &Case) -> Option<String> {
    let d = tempfile::tempdir().unwrap();
    common::copy_dir(fixture(), d.path());
    (c.setup)(d.path());
    let before = snapshot(d.path());
    let args: Vec<String> = c.args.iter().map(|a| a.replace("{dir}", &d.path().display().to_string())).collect();
    let out = Command::new(bin(c.bin))
        .args(&args)
        .current_dir(d.path())
        .env("RUST_BACKTRACE", "0")
        .env_remove("SRLM_TEST_UNSET_KEY")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    let mut problems = vec![];
    match out.status.code() {
        Some(0) => problems.push("exited 0 (accepted)".to_string()),
        Some(101) | None => problems.push(format!("status {:?}", out.status)),
        _ => {}
    }
    if err.contains("panicked") {
        problems.push("panicked".into());
    }
    for e in &c.expect {
        let e = e.replace("{dir}", &d.path().display().to_string());
        if !err.contains(&e) {
            problems.push(format!("message lacks {e:?}"));
        }
    }
    let after = snapshot(d.path());
    let changed: Vec<_> = before.keys().chain(after.keys()).filter(|k| before.get(*k) != after.get(*k)).collect();
    if !changed.is_empty() {
        problems.push(format!("changed {changed:?}"));
    }
    (!problems.is_empty()).then(|| format!("{}: {} (stderr: {})", c.name, problems.join("; "), err.trim()))
}

fn catalogue() -> Vec<Case> {
    let it = |extra: &[&str]| -> Vec<String> {
        let mut v = smoke(extra);
        v.push("iterate".into());
        v
    };
    let srlm = |name, extra: &[&str], expect: &[&'static str]| Case { name, bin: "srlm", args: it(extra), setup: |_| {}, expect: expect.to_vec() };
    vec![
        // The config: ranges, NaN, cross-field rules, types, unknown keys, files.
        srlm("zero candidates", &["--set", "iterate.n_candidates=0"], &["`iterate.n_candidates` = 0"]),
        srlm("one candidate", &["--set", "iterate.n_candidates=1"], &["`iterate.n_candidates` = 1"]),
        srlm("zero DPO batch", &["--set", "dpo.train.batch_size=0"], &["`dpo.train.batch_size` = 0"]),
        srlm("zero SFT batch", &["--set", "sft.batch_size=0"], &["`sft.batch_size` = 0"]),
        srlm("zero hidden size", &["--set", "model.hidden_size=0"], &["`model.hidden_size` = 0"]),
        srlm("min above max difficulty", &["--set", "world.min_difficulty=3"], &["world.min_difficulty", "max_difficulty"]),
        srlm("negative temperature", &["--set", "iterate.temperature=-1.0"], &["`iterate.temperature` = -1"]),
        srlm("top_p above 1", &["--set", "iterate.top_p=1.5"], &["`iterate.top_p` = 1.5"]),
        srlm("beta 0", &["--set", "dpo.loss.beta=0.0"], &["`dpo.loss.beta` = 0"]),
        srlm("zero judge samples", &["--set", "judge.samples=0"], &["`judge.samples` = 0"]),
        srlm("valid fraction above 1", &["--set", "dpo.valid_fraction=1.5"], &["`dpo.valid_fraction` = 1.5"]),
        srlm("zero DPO steps", &["--set", "dpo.train.steps=0"], &["`dpo.train.steps` = 0"]),
        srlm("NaN judge temperature", &["--set", "judge.temperature=nan"], &["`judge.temperature` = NaN"]),
        srlm("infinite learning rate", &["--set", "sft.lr=inf"], &["`sft.lr` = inf"]),
        srlm("warmup beyond steps", &["--set", "sft.warmup=100000"], &["`sft.warmup` = 100000"]),
        srlm("string for a count", &["--set", "sft.steps=\"abc\""], &["`sft.steps`", "expected usize"]),
        srlm("negative count", &["--set", "sft.steps=-3"], &["`sft.steps`"]),
        srlm("unknown key", &["--set", "sft.stepz=3"], &["`sft.stepz`"]),
        srlm("unknown loss", &["--set", "dpo.loss.type=\"hinge2\""], &["`dpo.loss", "hinge2"]),
        srlm("override without =", &["--set", "sft.steps"], &["`sft.steps` is not key=value"]),
        srlm("missing config file", &["--config", "nope.toml"], &["nope.toml"]),
        with(srlm("config file syntax", &["--config", "bad.toml"], &["bad.toml", "line 2"]), |d| write(d, "bad.toml", "[sft]\nsteps = = 3\n")),
        with(srlm("config file unknown key", &["--config", "bad.toml"], &["bad.toml", "colour"]), |d| write(d, "bad.toml", "[world]\ncolour = 1\n")),
        with(srlm("judge template without placeholders", &["--set", "judge.prompt={file=\"judge.txt\"}"], &["`judge.prompt`", "{instruction}"]), |d| {
            write(d, "judge.txt", "Rate it. Score: N\n")
        }),
        srlm("judge template missing", &["--set", "judge.prompt={file=\"nope.txt\"}"], &["`judge.prompt`", "nope.txt"]),
        srlm("server backend with a bad URL", &["--set", "backend={type=\"openai\", api={base_url=\"ftp://x\", model=\"m\"}}"], &["`backend.api.base_url`", "ftp://x"]),
        srlm("served model without its file", &["--set", "backend={type=\"openai\", api={model=\"m\"}, serve={command=\"llama-server --port {port}\"}}"], &["`backend.serve.command`", "{gguf}"]),
        srlm("server backend key unset", &["--set", "backend={type=\"openai\", api={model=\"m\", api_key_env=\"SRLM_TEST_UNSET_KEY\"}}"], &["SRLM_TEST_UNSET_KEY"]),
        // Run names.
        srlm("name escaping runs_dir", &["--name", "../escape"], &["`name`", "../escape"]),
        srlm("absolute name", &["--name", "/tmp/abs"], &["`name`", "/tmp/abs"]),
        srlm("empty name", &["--name", ""], &["`name`"]),
        srlm("name with a space", &["--name", "a b"], &["`name`"]),
        // The run folder: another recipe, lost config, swapped or damaged files, a second process.
        srlm("resume with another config", &["--set", "sft.steps=251"], &["config.toml", "another config"]),
        with(srlm("config lost, another model size", &["--set", "model.hidden_size=32"], &["sft_baseline", "model.hidden_size: 64 -> 32"]), |d| {
            std::fs::remove_file(d.join("runs/smoke/config.toml")).unwrap()
        }),
        with(srlm("tokenizer from another run", &[], &["sft_baseline", "seed/tokenizer.json: other content"]), |d| {
            // Same vocabulary size, other content: two token ids swapped.
            let p = d.join("runs/smoke/seed/tokenizer.json");
            let mut t: serde_json::Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
            let vocab = t["model"]["vocab"].as_object_mut().unwrap();
            let keys: Vec<String> = vocab.keys().skip(100).take(2).cloned().collect();
            let (a, b) = (vocab[&keys[0]].clone(), vocab[&keys[1]].clone());
            vocab.insert(keys[0].clone(), b);
            vocab.insert(keys[1].clone(), a);
            std::fs::write(p, serde_json::to_vec(&t).unwrap()).unwrap();
        }),
        with(srlm("seed data edited", &[], &["seed/ift.jsonl: other content"]), |d| {
            let p = d.join("runs/smoke/seed/ift.jsonl");
            let t = std::fs::read_to_string(&p).unwrap();
            std::fs::write(p, t.replacen('a', "b", 1)).unwrap();
        }),
        with(srlm("M1 weights damaged", &[], &["iter_1/prompts", "m1: other content"]), |d| {
            let p = d.join("runs/smoke/m1/model.safetensors");
            let mut b = std::fs::read(&p).unwrap();
            let n = b.len() - 1;
            b[n] ^= 1;
            std::fs::write(p, b).unwrap();
        }),
        with(srlm("stage record damaged", &[], &["m2.done", "line 1"]), |d| write(d, "runs/smoke/m2.done", "{\"config\": ")),
        with(srlm("summary damaged", &[], &["iter_1/summary.json", "line"]), |d| write(d, "runs/smoke/iter_1/summary.json", "{\"iteration\": 1,")),
        with(srlm("run folder in use", &[], &["in use", "pid"]), |d| {
            // Another process holds the lock (flock(1) stands in for a second srlm).
            let lock = d.join("runs/smoke/.lock");
            let child = Command::new("flock").arg(&lock).args(["sleep", "5"]).spawn().expect("flock(1)");
            std::mem::forget(child);
            std::thread::sleep(std::time::Duration::from_millis(300));
        }),
        case("fork from a missing run", "srlm", &["--profile", "smoke", "--name", "f", "fork", "--from", "nothere"], &["no run folder", "nothere"]),
        case("generate with a missing model", "srlm", &["generate", "--model", "nope.gguf", "--prompts", "p.jsonl", "--out", "o.json"], &["nope.gguf"]),
        with(case("chat with a truncated GGUF", "srlm", &["chat", "--model", "cut.gguf"], &["cut.gguf"]), |d| {
            std::fs::write(d.join("cut.gguf"), b"GGUF\x03\x00\x00\x00\x05").unwrap()
        }),
        // Evaluation: run names and folders, output files, judge files, IFEval files.
        case("eval name escaping", "srlm-eval", &["run", "--name", "../x"], &["`name`", "../x"]),
        case("eval of a missing run", "srlm-eval", &["run", "--name", "nothere"], &["no run folder", "nothere"]),
        with(case("eval with a damaged config", "srlm-eval", &["run", "--name", "smoke"], &["config.toml", "line"]), |d| {
            write(d, "runs/smoke/config.toml", "seed = [\n")
        }),
        case("eval override of a training key", "srlm-eval", &["run", "--name", "smoke", "--set", "sft.steps=3"], &["sft.steps=3", "only `eval.` keys"]),
        case("eval benchmark file missing", "srlm-eval", &["run", "--name", "smoke", "--set", "eval.oa=\"no_oa.jsonl\""], &["`eval.oa`", "no_oa.jsonl"]),
        case("eval unknown eval key", "srlm-eval", &["run", "--name", "smoke", "--set", "eval.ifeval_limt=3"], &["ifeval_limt"]),
        case("compare a missing outputs file", "srlm-eval", &["compare", "--a", "nope.json", "--b", "nope2.json"], &["nope.json"]),
        with(case("compare malformed JSON", "srlm-eval", &["compare", "--a", "a.json", "--b", "a.json"], &["a.json", "line 3"]), |d| {
            write(d, "a.json", "[\n{\"instruction\": \"x\",\n \"output\" 3}]")
        }),
        with(case("compare an output without its field", "srlm-eval", &["compare", "--a", "a.json", "--b", "a.json"], &["a.json", "element 1", "output"]), |d| {
            write(d, "a.json", r#"[{"instruction": "x", "output": "y", "generator": "g"}, {"instruction": "x", "generator": "g"}]"#)
        }),
        with(case("remote judge with an unset key", "srlm-eval", &["compare", "--a", "a.json", "--b", "a.json", "--judge", "j.toml"], &["SRLM_TEST_UNSET_KEY"]), |d| {
            write(d, "a.json", r#"[{"instruction": "x", "output": "y", "generator": "g"}]"#);
            write(d, "j.toml", "[judge]\ntype = \"remote\"\nbase_url = \"http://127.0.0.1:9/v1\"\nmodel = \"m\"\napi_key_env = \"SRLM_TEST_UNSET_KEY\"\n");
        }),
        with(case("remote judge unreachable", "srlm-eval", &["compare", "--a", "a.json", "--b", "b.json", "--judge", "j.toml", "--cache", "cache.jsonl"], &["could not be judged", "127.0.0.1:9"]), |d| {
            write(d, "a.json", r#"[{"instruction": "x", "output": "y", "generator": "g"}]"#);
            write(d, "b.json", r#"[{"instruction": "x", "output": "z", "generator": "h"}]"#);
            write(d, "j.toml", "[judge]\ntype = \"remote\"\nbase_url = \"http://127.0.0.1:9/v1\"\nmodel = \"m\"\napi_key_env = \"\"\nretries = 0\ntimeout_secs = 2\n");
        }),
        with(case("judge file unknown key", "srlm-eval", &["compare", "--a", "a.json", "--b", "a.json", "--judge", "j.toml"], &["j.toml", "colour"]), |d| {
            write(d, "a.json", "[]");
            write(d, "j.toml", "[judge]\ntype = \"remote\"\ncolour = 1\n");
        }),
        with(case("judge file NaN temperature", "srlm-eval", &["compare", "--a", "a.json", "--b", "a.json", "--judge", "j.toml"], &["j.toml", "`judge.temperature` = NaN"]), |d| {
            write(d, "a.json", "[]");
            write(d, "j.toml", "[judge]\ntype = \"remote\"\napi_key_env = \"\"\ntemperature = nan\n");
        }),
        with(case("judge file missing checkpoint", "srlm-eval", &["compare", "--a", "a.json", "--b", "a.json", "--judge", "j.toml"], &["j.toml", "`judge.path`", "nope"]), |d| {
            write(d, "a.json", "[]");
            write(d, "j.toml", "[judge]\ntype = \"checkpoint\"\npath = \"nope\"\nprompt = \"paper\"\nsamples = 1\n");
        }),
        with(case("IFEval unknown instruction", "srlm-eval", &["ifeval", "--prompts", "p.jsonl", "--responses", "r.jsonl", "--out", "out"], &["p.jsonl", "line 2", "nope:nothing"]), |d| {
            write(d, "p.jsonl", "{\"key\": 1, \"prompt\": \"a\", \"instruction_id_list\": [], \"kwargs\": []}\n{\"key\": 2, \"prompt\": \"b\", \"instruction_id_list\": [\"nope:nothing\"], \"kwargs\": [{}]}\n");
            write(d, "r.jsonl", "");
        }),
        with(case("IFEval bad argument", "srlm-eval", &["ifeval", "--prompts", "p.jsonl", "--responses", "r.jsonl", "--out", "out"], &["p.jsonl", "line 1", "num_words"]), |d| {
            write(d, "p.jsonl", "{\"key\": 1, \"prompt\": \"a\", \"instruction_id_list\": [\"length_constraints:number_words\"], \"kwargs\": [{\"relation\": \"at least\", \"num_words\": \"many\"}]}\n");
            write(d, "r.jsonl", "");
        }),
        with(case("IFEval response missing", "srlm-eval", &["ifeval", "--prompts", "p.jsonl", "--responses", "r.jsonl", "--out", "out"], &["no response for prompt key 7"]), |d| {
            write(d, "p.jsonl", "{\"key\": 7, \"prompt\": \"a\", \"instruction_id_list\": [], \"kwargs\": []}\n");
            write(d, "r.jsonl", "{\"prompt\": \"other\", \"response\": \"x\"}\n");
        }),
        case("agreement with a missing file", "srlm-eval", &["agreement", "--mtbench", "nope.csv"], &["nope.csv"]),
        with(case("grade outputs for unknown prompts", "srlm-eval", &["grade", "--outputs", "a.json", "--prompts", "runs/smoke/seed/test_prompts.jsonl"], &["a.json", "element 0", "not one of"]), |d| {
            write(d, "a.json", r#"[{"instruction": "not a world prompt", "output": "y", "generator": "g"}]"#)
        }),
    ]
}

#[test]
fn every_bad_input_gets_a_clear_error_and_changes_nothing() {
    let cases = catalogue();
    assert!(cases.len() >= 40, "the catalogue has {} cases", cases.len());
    let failures: Vec<String> = cases.iter().filter_map(run_case).collect();
    assert!(failures.is_empty(), "{} of {} cases failed:\n{}", failures.len(), cases.len(), failures.join("\n"));
}
