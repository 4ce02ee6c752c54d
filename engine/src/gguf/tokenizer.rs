//! The tokenizer a GGUF file describes: byte-level BPE from `tokenizer.ggml.tokens` and
//! `.merges`, control and user-defined tokens as special tokens, and the pre-tokenizer
//! llama.cpp selects by `tokenizer.ggml.pre`:
//! - `smollm`: digits split one by one, then GPT-2's split (as SmolLM2's own
//!   `tokenizer.json`; transformers' GGUF conversion leaves digits unsplit, which changes
//!   ids for numbers of two or more digits);
//! - `gpt-2` (also read as `gpt2`, `default`): GPT-2's split;
//! - `llama-bpe` (Llama 3): digits in groups of up to three;
//! - `qwen2`: single digits, NFC-normalised.
use super::Gguf;
use crate::template::{ChatTemplate, JinjaTemplate};
use crate::{Result, Tokenizer};
use tokenizers::models::bpe::BPE;
use tokenizers::normalizers::unicode::NFC;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::digits::Digits;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::pre_tokenizers::split::{Split, SplitPattern};
use tokenizers::pre_tokenizers::PreTokenizerWrapper;
use tokenizers::{AddedToken, SplitDelimiterBehavior};

/// The pre-tokenizers llama.cpp names, as far as the engine implements them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PreTokenizer {
    Gpt2,
    SmolLm,
    Llama3,
    Qwen2,
}

const LLAMA3_REGEX: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
const QWEN2_REGEX: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

impl PreTokenizer {
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "gpt-2" | "gpt2" | "default" => Self::Gpt2,
            "smollm" => Self::SmolLm,
            "llama-bpe" | "llama3" | "smaug-bpe" => Self::Llama3,
            "qwen2" => Self::Qwen2,
            _ => return None,
        })
    }

    /// llama.cpp's name (`tokenizer.ggml.pre`).
    pub fn name(&self) -> &'static str {
        match self {
            Self::Gpt2 => "gpt-2",
            Self::SmolLm => "smollm",
            Self::Llama3 => "llama-bpe",
            Self::Qwen2 => "qwen2",
        }
    }

    /// The pre-tokenizer a Hugging Face tokenizer's `pre_tokenizer` JSON is, with whether
    /// it puts a space before the text (`add_prefix_space`); `None` if it is none of these.
    pub fn detect(pre: &serde_json::Value) -> Option<(Self, bool)> {
        let byte_level = |v: &serde_json::Value| v["type"] == "ByteLevel";
        let prefix = |v: &serde_json::Value| v["add_prefix_space"] == true;
        match pre["type"].as_str()? {
            "ByteLevel" if pre["use_regex"] != false => Some((Self::Gpt2, prefix(pre))),
            "Sequence" => match pre["pretokenizers"].as_array()?.as_slice() {
                [d, b] if d["type"] == "Digits" && d["individual_digits"] == true && byte_level(b) && b["use_regex"] != false => Some((Self::SmolLm, prefix(b))),
                [s, b] if s["type"] == "Split" && byte_level(b) && b["use_regex"] == false => match s["pattern"]["Regex"].as_str()? {
                    LLAMA3_REGEX => Some((Self::Llama3, prefix(b))),
                    QWEN2_REGEX => Some((Self::Qwen2, prefix(b))),
                    _ => None,
                },
                _ => None,
            },
            _ => None,
        }
    }

    fn wrapper(&self, prefix_space: bool) -> Result<PreTokenizerWrapper> {
        let split = |re: &str| -> Result<PreTokenizerWrapper> {
            Ok(Split::new(SplitPattern::Regex(re.into()), SplitDelimiterBehavior::Isolated, false).map_err(|e| crate::Error::Tokenizer(e.to_string()))?.into())
        };
        let byte_level = |regex: bool| -> PreTokenizerWrapper { ByteLevel::new(prefix_space, true, regex).into() };
        Ok(match self {
            Self::Gpt2 => byte_level(true),
            Self::SmolLm => Sequence::new(vec![Digits::new(true).into(), byte_level(true)]).into(),
            Self::Llama3 => Sequence::new(vec![split(LLAMA3_REGEX)?, byte_level(false)]).into(),
            Self::Qwen2 => Sequence::new(vec![split(QWEN2_REGEX)?, byte_level(false)]).into(),
        })
    }
}

/// llama.cpp's token types that are special: control (3) and user-defined (4).
fn is_special(token_type: i64) -> bool {
    matches!(token_type, 3 | 4)
}

/// The tokenizer (with the model's chat template when the file has one).
pub fn tokenizer(g: &Gguf) -> Result<Tokenizer> {
    let model = g.string("tokenizer.ggml.model")?;
    if model != "gpt2" {
        return Err(g.err("tokenizer.ggml.model", format!("`{model}` is not supported (supported: gpt2, byte-level BPE)")));
    }
    let pre_name = g.string_opt("tokenizer.ggml.pre")?.unwrap_or_else(|| "default".into());
    let pre = PreTokenizer::from_name(&pre_name)
        .ok_or_else(|| g.err("tokenizer.ggml.pre", format!("`{pre_name}` is not supported (supported: smollm, gpt-2, gpt2, default, llama-bpe, qwen2)")))?;
    let tokens = g.strings("tokenizer.ggml.tokens")?;
    let merges: Vec<(String, String)> = g
        .strings("tokenizer.ggml.merges")?
        .into_iter()
        .enumerate()
        .map(|(i, m)| m.split_once(' ').map(|(a, b)| (a.to_string(), b.to_string())).ok_or_else(|| g.err("tokenizer.ggml.merges", format!("element {i} `{m}` is not `a b`"))))
        .collect::<Result<_>>()?;
    let vocab: tokenizers::models::bpe::Vocab = tokens.iter().enumerate().map(|(i, t)| (t.clone(), i as u32)).collect();
    let bpe = BPE::builder().vocab_and_merges(vocab, merges).build().map_err(|e| g.err("tokenizer.ggml.merges", e.to_string()))?;
    let mut inner = tokenizers::Tokenizer::new(bpe);
    if pre == PreTokenizer::Qwen2 {
        inner.with_normalizer(Some(NFC)).map_err(|e| crate::Error::Tokenizer(e.to_string()))?;
    }
    // A space before the text (the embedded models' tokenizers), as the engine's export writes it.
    let prefix_space = g.bool_or("tokenizer.ggml.add_space_prefix", false)?;
    inner.with_pre_tokenizer(Some(pre.wrapper(prefix_space)?));
    inner.with_decoder(Some(ByteLevel::default()));
    let types = if g.has("tokenizer.ggml.token_type") { g.ints("tokenizer.ggml.token_type")? } else { vec![] };
    let specials: Vec<AddedToken> = tokens.iter().zip(&types).filter(|(_, t)| is_special(**t)).map(|(tok, _)| AddedToken::from(tok.clone(), true)).collect();
    inner.add_special_tokens(specials).map_err(|e| g.err("tokenizer.ggml.token_type", e.to_string()))?;
    let token = |key: &str| -> Result<Option<String>> {
        Ok(match g.u32_opt(key)? {
            Some(id) => Some(tokens.get(id as usize).cloned().ok_or_else(|| g.err(key, format!("id {id} outside the {} tokens", tokens.len())))?),
            None => None,
        })
    };
    let (bos, eos) = (token("tokenizer.ggml.bos_token_id")?, token("tokenizer.ggml.eos_token_id")?);
    let template = match g.string_opt("tokenizer.chat_template")? {
        Some(source) => {
            let eos_token = eos.clone().ok_or_else(|| g.err("tokenizer.ggml.eos_token_id", "missing (the chat template needs it)".into()))?;
            ChatTemplate::Jinja(Box::new(JinjaTemplate { source, bos_token: bos.unwrap_or_default(), eos_token }))
        }
        None => ChatTemplate::detect(&inner),
    };
    let mut tk = Tokenizer::with_template(inner, template)?;
    if let Some(pad) = g.u32_opt("tokenizer.ggml.padding_token_id")? {
        tk.pad_id = pad;
    }
    Ok(tk)
}
