//! Answers from any model to a list of instructions, outside a run: batched, with a
//! progress bar (`srlm generate`, IFEval), and an interactive chat (`srlm chat`).
use crate::{Error, Result};
use engine::{generate, generate_with, Checkpoint, SampleParams};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

/// Answers every instruction in order, `batch_size` at a time; the token budget of a
/// batch is clamped to the model's context. Row `i` is sampled with seed `seed + i`.
pub fn answer_all(ck: &Checkpoint, instructions: &[String], params: &SampleParams, batch_size: usize, seed: u64, label: &str) -> Result<Vec<String>> {
    let bar = indicatif::ProgressBar::new(instructions.len() as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template(&format!("{label} {{bar:40}} {{pos}}/{{len}} [{{elapsed_precise}} < {{eta_precise}}]"))
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let bs = batch_size.max(1);
    let mut out = Vec::with_capacity(instructions.len());
    for (b, chunk) in instructions.chunks(bs).enumerate() {
        let ids = chunk.iter().map(|i| ck.tokenizer.encode_prompt(i)).collect::<engine::Result<Vec<_>>>()?;
        let longest = ids.iter().map(Vec::len).max().unwrap_or(0);
        let room = ck.config().max_position_embeddings.saturating_sub(longest);
        if room == 0 {
            return Err(Error::Config(format!("an instruction of batch {b} fills the model's whole context ({longest} tokens)")));
        }
        let params = SampleParams { max_new_tokens: params.max_new_tokens.min(room), ..params.clone() };
        let seeds: Vec<u64> = (0..chunk.len() as u64).map(|i| seed.wrapping_add((b * bs) as u64 + i)).collect();
        out.extend(generate(&ck.model, &ck.tokenizer, &ids, 1, &params, &seeds)?.into_iter().map(|g| g.text.trim().to_string()));
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();
    Ok(out)
}

/// Instructions from a JSONL file (`instruction` or `prompt` per line) or a JSON array
/// (AlpacaEval's `model_outputs.json` / eval set: `instruction`); errors name file and line.
pub fn read_instructions(path: &Path) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::Io { path: path.into(), source: e })?;
    let field = |v: &serde_json::Value, loc: &str| -> Result<String> {
        v.get("instruction").or_else(|| v.get("prompt")).and_then(|x| x.as_str()).map(str::to_string).ok_or_else(|| Error::Config(format!("{}: {loc}: no string `instruction` or `prompt`", path.display())))
    };
    if text.trim_start().starts_with('[') {
        let arr: Vec<serde_json::Value> = serde_json::from_str(&text).map_err(|e| Error::Config(format!("{}: line {}: {e}", path.display(), e.line())))?;
        return arr.iter().enumerate().map(|(i, v)| field(v, &format!("element {i}"))).collect();
    }
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            let v: serde_json::Value = serde_json::from_str(l).map_err(|e| Error::Config(format!("{}: line {}: {e}", path.display(), i + 1)))?;
            field(&v, &format!("line {}", i + 1))
        })
        .collect()
}

/// An interactive chat on `input`/`output`: each line is a user turn, the answer streams
/// as it is generated; `/reset` forgets the conversation, an empty line or EOF ends it.
/// Models with their own (Jinja) template see the whole conversation; the built-in
/// templates are single-turn, so they see the last message only. Returns the
/// conversation since the last `/reset`; turn `k` (lines counted from 0) samples with seed
/// `seed + k`.
pub fn chat(ck: &Checkpoint, params: &SampleParams, seed: u64, input: &mut dyn BufRead, output: &mut dyn Write) -> Result<Vec<(String, String)>> {
    let io = |e: std::io::Error| Error::Config(format!("chat: {e}"));
    let mut history: Vec<(String, String)> = vec![];
    let mut line = String::new();
    for turn in 0u64.. {
        write!(output, "> ").and_then(|_| output.flush()).map_err(io)?;
        line.clear();
        if input.read_line(&mut line).map_err(io)? == 0 || line.trim().is_empty() {
            break;
        }
        if line.trim() == "/reset" {
            history.clear();
            continue;
        }
        history.push(("user".into(), line.trim().to_string()));
        let text = match &ck.tokenizer.template {
            engine::ChatTemplate::Jinja(j) => j.render(&history.iter().map(|(r, c)| (r.as_str(), c.as_str())).collect::<Vec<_>>(), true)?,
            t => t.prompt(line.trim())?,
        };
        let ids = ck.tokenizer.encode(&text)?;
        let room = ck.config().max_position_embeddings.saturating_sub(ids.len());
        if room == 0 {
            writeln!(output, "(the conversation fills the context; /reset)").map_err(io)?;
            history.pop();
            continue;
        }
        let p = SampleParams { max_new_tokens: params.max_new_tokens.min(room), ..params.clone() };
        let (mut tokens, mut shown) = (vec![], 0usize);
        let mut stream = |_: usize, t: u32| {
            tokens.push(t);
            // Print what the tokens so far decode to beyond what is shown (whole characters).
            if let Ok(s) = ck.tokenizer.decode(&tokens) {
                if s.len() > shown && s.is_char_boundary(shown) && !s.ends_with('\u{fffd}') {
                    let _ = write!(output, "{}", &s[shown..]);
                    let _ = output.flush();
                    shown = s.len();
                }
            }
        };
        let g = generate_with(&ck.model, &ck.tokenizer, &[ids], 1, &p, &[seed.wrapping_add(turn)], &mut stream)?;
        writeln!(output).map_err(io)?;
        history.push(("assistant".into(), g[0].text.trim().to_string()));
    }
    Ok(history)
}

/// A model to load and how to sample from it (`srlm chat`, `srlm generate`).
#[derive(Debug, Clone, clap::Args)]
pub struct ModelArgs {
    /// A `.gguf` file, a Hugging Face checkpoint folder, or a hub id (from the local cache).
    #[arg(long)]
    pub model: String,
    /// Most new tokens per answer.
    #[arg(long, default_value_t = 512)]
    pub max_new_tokens: usize,
    /// 0 is greedy.
    #[arg(long, default_value_t = 0.0)]
    pub temperature: f64,
    /// Nucleus sampling: the smallest set of tokens whose probabilities reach this.
    #[arg(long, default_value_t = 1.0)]
    pub top_p: f64,
    /// Seed of the sampling (answer or chat turn `i` samples with `seed + i`).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Where the model runs.
    #[arg(long, value_enum, default_value = "cpu")]
    pub device: engine::DeviceKind,
    /// The weights' precision in memory.
    #[arg(long, value_enum, default_value = "f32")]
    pub dtype: engine::Precision,
    /// Decode on the CPU through weights quantized to these blocks (faster, not the same
    /// numbers); unset: f32.
    #[arg(long, value_enum)]
    pub decode_weights: Option<engine::ops::QuantKind>,
}

impl ModelArgs {
    /// The model and its sampling parameters.
    pub fn load(&self) -> Result<(Checkpoint, SampleParams)> {
        let ck = engine::Runtime { device: self.device, dtype: self.dtype, decode_weights: self.decode_weights }.load(&self.model)?;
        Ok((ck, SampleParams { temperature: self.temperature, top_p: self.top_p, max_new_tokens: self.max_new_tokens, stop: vec![] }))
    }
}

/// `srlm chat`: [`chat`] with `args`' model on the terminal.
pub fn chat_on_terminal(args: &ModelArgs) -> Result<()> {
    let (ck, params) = args.load()?;
    eprintln!("{} ({} parameters); empty line ends, /reset forgets", args.model, ck.config().num_parameters());
    chat(&ck, &params, args.seed, &mut std::io::stdin().lock(), &mut std::io::stdout())?;
    Ok(())
}

/// `srlm generate`: a model, the instructions it answers, and where the answers go.
#[derive(Debug, Clone, clap::Args)]
pub struct GenerateArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// JSONL (`instruction` or `prompt` per line) or a JSON array (AlpacaEval's set).
    #[arg(long)]
    pub prompts: PathBuf,
    /// Where to write the outputs (AlpacaEval's `model_outputs.json` format).
    #[arg(long)]
    pub out: PathBuf,
    /// Instructions per batch.
    #[arg(long, default_value_t = 16)]
    pub batch_size: usize,
    /// `generator` field of the outputs (default: the model argument).
    #[arg(long)]
    pub generator: Option<String>,
}

/// AlpacaEval's `model_outputs.json` rows: `instruction`, `output`, `generator` and an
/// empty `dataset`, in the instructions' order.
pub fn model_outputs(instructions: &[String], answers: &[String], generator: &str) -> Vec<serde_json::Value> {
    instructions.iter().zip(answers).map(|(i, o)| serde_json::json!({ "instruction": i, "output": o, "generator": generator, "dataset": "" })).collect()
}

/// `srlm generate`: answers every instruction of `args.prompts` ([`answer_all`]) and
/// writes them to `args.out` as [`model_outputs`].
pub fn generate_outputs(args: &GenerateArgs) -> Result<()> {
    let (ck, params) = args.model.load()?;
    let instructions = read_instructions(&args.prompts)?;
    let answers = answer_all(&ck, &instructions, &params, args.batch_size, args.model.seed, "generate")?;
    let rows = model_outputs(&instructions, &answers, args.generator.as_deref().unwrap_or(&args.model.model));
    let text = serde_json::to_string_pretty(&rows).map_err(|e| Error::Stage(e.to_string()))?;
    engine::fsutil::write_atomic(&args.out, text.as_bytes())?;
    eprintln!("wrote {} outputs to {}", rows.len(), args.out.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> Checkpoint {
        let corpus: Vec<String> = (0..100).map(|i| format!("Name item {i}: apple pear fig")).collect();
        let tok = engine::Tokenizer::train(corpus.iter(), 300).unwrap();
        let cfg = engine::Config::llama(tok.vocab_size(), 16, 32, 1, 2, 2, 64);
        Checkpoint::init(&cfg, tok, 3, &candle_core::Device::Cpu).unwrap()
    }

    #[test]
    fn instructions_from_jsonl_and_json_with_named_errors() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.jsonl");
        std::fs::write(&p, "{\"instruction\": \"one\"}\n\n{\"prompt\": \"two\"}\n").unwrap();
        assert_eq!(read_instructions(&p).unwrap(), vec!["one", "two"]);
        let p = dir.path().join("b.json");
        std::fs::write(&p, r#"[{"instruction": "x", "output": "y"}]"#).unwrap();
        assert_eq!(read_instructions(&p).unwrap(), vec!["x"]);
        let p = dir.path().join("c.jsonl");
        std::fs::write(&p, "{\"instruction\": \"one\"}\n{\"text\": 3}\n").unwrap();
        let e = read_instructions(&p).unwrap_err().to_string();
        assert!(e.contains("c.jsonl") && e.contains("line 2"), "{e}");
    }

    /// AlpacaEval's fields, in its order, one row per instruction.
    #[test]
    fn model_outputs_in_alpaca_eval_format() {
        let rows = model_outputs(&["a".into(), "b".into()], &["x".into(), "y".into()], "m");
        assert_eq!(serde_json::to_string(&rows[1]).unwrap(), r#"{"instruction":"b","output":"y","generator":"m","dataset":""}"#);
        assert_eq!(rows.len(), 2);
    }

    /// Batched answers equal one-by-one answers (row seeds do not depend on batching),
    /// and the chat answers each line, streams what `generate` returns, and stops at an
    /// empty line.
    #[test]
    fn batched_answers_and_chat() {
        let ck = tiny();
        let params = SampleParams { temperature: 1.0, top_p: 1.0, max_new_tokens: 6, stop: vec![] };
        let ins: Vec<String> = ["Name item 1", "Name item 22", "apple"].iter().map(|s| s.to_string()).collect();
        let all = answer_all(&ck, &ins, &params, 3, 9, "t").unwrap();
        let one: Vec<String> = (0..3).flat_map(|i| answer_all(&ck, &ins[i..i + 1], &params, 1, 9 + i as u64, "t").unwrap()).collect();
        assert_eq!(all, one);
        let mut out = vec![];
        let h = chat(&ck, &params, 9, &mut "Name item 1\n/reset\napple\n\nnot read\n".as_bytes(), &mut out).unwrap();
        // After /reset only the third line's turn remains; it was sampled with seed 9 + 2,
        // as `answer_all` samples "apple" (row 2 of seed 9).
        assert_eq!(h, vec![("user".to_string(), "apple".to_string()), ("assistant".to_string(), all[2].clone())]);
        let text = String::from_utf8_lossy(&out);
        assert!(text.starts_with("> ") && text.ends_with("> "), "{text}");
    }
}
