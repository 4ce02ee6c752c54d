//! Google's IFEval file formats: prompts (`input_data.jsonl`: `key`, `prompt`,
//! `instruction_id_list`, `kwargs`) and responses (`prompt`, `response`), matched by
//! exact prompt text.
use super::registry::Instruction;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::path::Path;

/// One line of `input_data.jsonl`, as stored.
#[derive(Debug, Clone, Deserialize)]
struct PromptLine {
    key: i64,
    prompt: String,
    instruction_id_list: Vec<String>,
    kwargs: Vec<Map<String, Value>>,
}

/// A prompt with its parsed instructions.
#[derive(Debug, Clone)]
pub struct Prompt {
    pub key: i64,
    pub prompt: String,
    /// Instruction ids as in the file (`keywords:existence`, ...).
    pub instruction_ids: Vec<String>,
    pub instructions: Vec<Instruction>,
}

/// One line of a response file (Google's `input_response_data_*.jsonl`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ResponseLine {
    pub prompt: String,
    pub response: String,
}

fn parse_err(path: &Path, loc: String, msg: impl Into<String>) -> Error {
    Error::Parse { path: path.to_path_buf(), loc, msg: msg.into() }
}

/// Reads and parses a prompt file; an unknown instruction or a bad argument is an
/// error naming the line, the key, the instruction and the field.
pub fn read_prompts(path: &Path) -> Result<Vec<Prompt>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    parse_prompts(&text, path)
}

/// Prompt-file text read from `path` (named in errors).
pub fn parse_prompts(text: &str, path: &Path) -> Result<Vec<Prompt>> {
    let mut out = vec![];
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let loc = format!("line {}", i + 1);
        let p: PromptLine = serde_json::from_str(line).map_err(|e| parse_err(path, loc.clone(), e.to_string()))?;
        if p.kwargs.len() != p.instruction_id_list.len() {
            let msg = format!("{} instruction ids but {} kwargs", p.instruction_id_list.len(), p.kwargs.len());
            return Err(parse_err(path, format!("{loc} (key {})", p.key), msg));
        }
        let instructions = p
            .instruction_id_list
            .iter()
            .zip(&p.kwargs)
            .map(|(id, kw)| {
                Instruction::parse(id, kw, &p.prompt).map_err(|m| parse_err(path, format!("{loc} (key {}), {id}", p.key), m))
            })
            .collect::<Result<Vec<_>>>()?;
        out.push(Prompt { key: p.key, prompt: p.prompt, instruction_ids: p.instruction_id_list, instructions });
    }
    Ok(out)
}

/// Reads a response file into prompt text -> response (a later line wins, as in
/// Google's dictionary).
pub fn read_responses(path: &Path) -> Result<HashMap<String, String>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    parse_responses(&text, path)
}

/// Response-file text read from `path` (named in errors).
pub fn parse_responses(text: &str, path: &Path) -> Result<HashMap<String, String>> {
    let rows: Vec<ResponseLine> = records::parse_jsonl(text, path)?;
    Ok(rows.into_iter().map(|r| (r.prompt, r.response)).collect())
}

/// Each prompt's response, in prompt order; a prompt without a response is an error
/// naming its key and text.
pub fn responses_for<'a>(prompts: &[Prompt], responses: &'a HashMap<String, String>) -> Result<Vec<&'a str>> {
    prompts
        .iter()
        .map(|p| {
            responses.get(&p.prompt).map(String::as_str).ok_or_else(|| {
                let head: String = p.prompt.chars().take(80).collect();
                Error::Invalid(format!("no response for prompt key {} ({head:?}...)", p.key))
            })
        })
        .collect()
}

/// Writes responses in Google's response format, one JSON object per line.
pub fn write_responses(path: &Path, rows: &[ResponseLine]) -> Result<()> {
    write_jsonl(path, rows)
}

/// Writes `rows` as JSON lines, atomically.
pub fn write_jsonl<T: Serialize>(path: &Path, rows: &[T]) -> Result<()> {
    let mut text = String::new();
    for r in rows {
        text.push_str(&serde_json::to_string(r).map_err(|e| Error::Invalid(format!("{}: {e}", path.display())))?);
        text.push('\n');
    }
    Ok(engine::fsutil::write_atomic(path, text.as_bytes())?)
}
