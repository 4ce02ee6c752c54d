//! Byte-level BPE tokenizers (trained here, or read from `tokenizer.json`) and chat templates.
use crate::{Error, Result};
use std::path::Path;
use tokenizers::models::bpe::{BpeTrainerBuilder, BPE};
use tokenizers::models::TrainerWrapper;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::AddedToken;

pub use crate::template::{ASSISTANT, EOS, PAD, USER};

pub use crate::template::{ChatTemplate, JinjaTemplate};

/// A tokenizer with its chat template and end-of-sequence ids.
#[derive(Debug, Clone)]
pub struct Tokenizer {
    pub inner: tokenizers::Tokenizer,
    pub template: ChatTemplate,
    /// Ids that end generation.
    pub eos_ids: Vec<u32>,
    /// Id used to fill padding (never attended to, never trained on).
    pub pad_id: u32,
    /// The pre-tokenizer puts a space before every text it encodes (the embedded
    /// tokenizer's byte-level BPE); `decode` takes it off again.
    pub prefix_space: bool,
}

fn tk_err(e: impl std::fmt::Display) -> Error {
    Error::Tokenizer(e.to_string())
}

impl Tokenizer {
    pub fn from_inner(inner: tokenizers::Tokenizer) -> Result<Self> {
        let template = ChatTemplate::detect(&inner);
        Self::with_template(inner, template)
    }

    /// A tokenizer with a given chat template (e.g. the model's own Jinja template).
    pub fn with_template(inner: tokenizers::Tokenizer, template: ChatTemplate) -> Result<Self> {
        let eot = inner.token_to_id(template.end_of_turn());
        let mut eos_ids: Vec<u32> = eot.into_iter().collect();
        for extra in ["</s>", "<|end_of_text|>", "<|endoftext|>"] {
            if let Some(id) = inner.token_to_id(extra) {
                if !eos_ids.contains(&id) {
                    eos_ids.push(id);
                }
            }
        }
        if eos_ids.is_empty() {
            return Err(Error::Tokenizer(format!(
                "no end-of-turn token `{}` in the vocabulary",
                template.end_of_turn()
            )));
        }
        let pad_id = inner.token_to_id(PAD).or_else(|| inner.token_to_id("<unk>")).unwrap_or(eos_ids[0]);
        let prefix_space = inner.encode("x", false).ok().and_then(|e| inner.decode(e.get_ids(), true).ok()).is_some_and(|t| t == " x");
        Ok(Self { inner, template, eos_ids, pad_id, prefix_space })
    }

    pub fn from_file(path: &Path) -> Result<Self> {
        let inner = tokenizers::Tokenizer::from_file(path)
            .map_err(|e| Error::Tokenizer(format!("{}: {e}", path.display())))?;
        Self::from_inner(inner)
    }

    /// Trains a byte-level BPE of `vocab_size` tokens (special tokens included) on `texts`.
    pub fn train<S: AsRef<str> + Send>(texts: impl Iterator<Item = S> + Send, vocab_size: usize) -> Result<Self> {
        let specials = [PAD, EOS, USER, ASSISTANT].map(|s| AddedToken::from(s.to_string(), true)).to_vec();
        let mut trainer: TrainerWrapper = BpeTrainerBuilder::new()
            .vocab_size(vocab_size)
            .min_frequency(2)
            .show_progress(false)
            .special_tokens(specials)
            .initial_alphabet(ByteLevel::alphabet().into_iter().collect())
            .build()
            .into();
        let mut tk = tokenizers::Tokenizer::new(BPE::default());
        // A space before every encoded text, so a word is one token wherever it stands: the
        // first word of a response is the same token as that word inside the instruction
        // (copying a word from the prompt is then copying a token, not respelling it).
        tk.with_pre_tokenizer(Some(ByteLevel::default().add_prefix_space(true)));
        tk.with_decoder(Some(ByteLevel::default()));
        tk.train(&mut trainer, texts).map_err(tk_err)?;
        Self::from_inner(tk)
    }

    pub fn save(&self, path: &Path) -> Result<()> {
        let json = self.inner.to_string(false).map_err(tk_err)?;
        Ok(crate::fsutil::write_atomic(path, json.as_bytes())?)
    }

    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }

    /// Text to ids; special-token text (`<|eos|>`) becomes its id.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        Ok(self.inner.encode(text, false).map_err(tk_err)?.get_ids().to_vec())
    }

    /// Ids to text, special tokens dropped.
    pub fn decode(&self, ids: &[u32]) -> Result<String> {
        let text = self.inner.decode(ids, true).map_err(tk_err)?;
        Ok(match text.strip_prefix(' ') {
            Some(t) if self.prefix_space => t.to_string(),
            _ => text,
        })
    }

    /// Prompt ids of an instruction under the chat template.
    pub fn encode_prompt(&self, instruction: &str) -> Result<Vec<u32>> {
        self.encode(&self.template.prompt(instruction)?)
    }

    /// Prompt ids and response ids (end-of-turn appended) of one example.
    pub fn encode_pair(&self, instruction: &str, response: &str) -> Result<(Vec<u32>, Vec<u32>)> {
        let p = self.encode_prompt(instruction)?;
        let mut r = self.encode(response)?;
        r.push(self.eos_ids[0]);
        Ok((p, r))
    }
}
