//! Chat templates: how an instruction is laid out before the model's response.
//! The embedded models keep their own fixed layout; real models bring theirs as Jinja
//! (Hugging Face's `chat_template`, GGUF's `tokenizer.chat_template`), rendered with
//! minijinja and Python's string methods (`minijinja-contrib`'s pycompat).
use crate::{Error, Result};

/// Special tokens of the embedded models, in id order.
pub const PAD: &str = "<|pad|>";
pub const EOS: &str = "<|eos|>";
pub const USER: &str = "<|user|>";
pub const ASSISTANT: &str = "<|assistant|>";

/// A model's own Jinja chat template with the tokens it refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JinjaTemplate {
    pub source: String,
    pub bos_token: String,
    pub eos_token: String,
}

/// How an instruction and its response are laid out as one token sequence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChatTemplate {
    /// `<|user|>\n{instruction}\n<|assistant|>\n{response}<|eos|>` (the embedded models).
    Embedded,
    /// Llama 2 chat: `[INST] {instruction} [/INST] {response}</s>`.
    Llama2,
    /// Llama 3 instruct headers, ending a turn with `<|eot_id|>`.
    Llama3,
    /// ChatML (Qwen2): `<|im_start|>user ... <|im_end|>`.
    ChatMl,
    /// The model's own template; a response ends with `eos_token`.
    Jinja(Box<JinjaTemplate>),
}

impl JinjaTemplate {
    /// Renders `messages` (role, content) as the model expects, ending where the
    /// assistant's reply begins when `add_generation_prompt`.
    pub fn render(&self, messages: &[(&str, &str)], add_generation_prompt: bool) -> Result<String> {
        let mut env = minijinja::Environment::new();
        minijinja_contrib::add_to_environment(&mut env);
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        env.add_function("raise_exception", |msg: String| -> std::result::Result<String, minijinja::Error> {
            Err(minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, msg))
        });
        let err = |e: minijinja::Error| Error::Invalid(format!("chat template: {e:#}"));
        env.add_template("chat", &self.source).map_err(err)?;
        let msgs: Vec<minijinja::Value> = messages.iter().map(|(r, c)| minijinja::context! { role => *r, content => *c }).collect();
        env.get_template("chat").map_err(err)?.render(minijinja::context! {
            messages => msgs,
            add_generation_prompt => add_generation_prompt,
            bos_token => &self.bos_token,
            eos_token => &self.eos_token,
        }).map_err(err)
    }
}

impl ChatTemplate {
    /// The prompt text up to where the response begins.
    pub fn prompt(&self, instruction: &str) -> Result<String> {
        Ok(match self {
            ChatTemplate::Embedded => format!("{USER}\n{instruction}\n{ASSISTANT}\n"),
            ChatTemplate::Llama2 => format!("<s>[INST] {instruction} [/INST] "),
            ChatTemplate::Llama3 => format!(
                "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n{instruction}<|eot_id|>\
                 <|start_header_id|>assistant<|end_header_id|>\n\n"
            ),
            ChatTemplate::ChatMl => format!("<|im_start|>user\n{instruction}<|im_end|>\n<|im_start|>assistant\n"),
            ChatTemplate::Jinja(j) => j.render(&[("user", instruction)], true)?,
        })
    }

    /// The token text that ends a response.
    pub fn end_of_turn(&self) -> &str {
        match self {
            ChatTemplate::Embedded => EOS,
            ChatTemplate::Llama2 => "</s>",
            ChatTemplate::Llama3 => "<|eot_id|>",
            ChatTemplate::ChatMl => "<|im_end|>",
            ChatTemplate::Jinja(j) => &j.eos_token,
        }
    }

    /// Picks the template from the special tokens the vocabulary has.
    pub fn detect(tok: &tokenizers::Tokenizer) -> Self {
        let has = |s: &str| tok.token_to_id(s).is_some();
        if has(ASSISTANT) {
            ChatTemplate::Embedded
        } else if has("<|im_start|>") {
            ChatTemplate::ChatMl
        } else if has("<|start_header_id|>") {
            ChatTemplate::Llama3
        } else {
            ChatTemplate::Llama2
        }
    }
}

/// The chat template of a Hugging Face `tokenizer_config.json` (`chat_template` as a
/// string, or the `default` of a list of named templates), if the file has one.
pub fn from_tokenizer_config(path: &std::path::Path) -> Result<Option<ChatTemplate>> {
    if !path.exists() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| Error::Parse { path: path.into(), line: e.line(), msg: e.to_string() })?;
    let source = match &v["chat_template"] {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Array(named) => match named.iter().find(|t| t["name"] == "default").and_then(|t| t["template"].as_str()) {
            Some(s) => s.to_string(),
            None => return Err(Error::Parse { path: path.into(), line: 0, msg: "`chat_template` lists no `default` template".into() }),
        },
        serde_json::Value::Null => return Ok(None),
        other => return Err(Error::Parse { path: path.into(), line: 0, msg: format!("`chat_template` is {other}, not a string") }),
    };
    // Tokens are strings or AddedToken objects (`{"content": ...}`).
    let token = |k: &str| v[k].as_str().or_else(|| v[k]["content"].as_str()).unwrap_or_default().to_string();
    let eos_token = token("eos_token");
    if eos_token.is_empty() {
        return Err(Error::Parse { path: path.into(), line: 0, msg: "`eos_token` missing (the chat template needs it)".into() });
    }
    Ok(Some(ChatTemplate::Jinja(Box::new(JinjaTemplate { source, bos_token: token("bos_token"), eos_token }))))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SmolLM2-135M-Instruct's template (from its GGUF): ChatML with a default system turn.
    const SMOLLM2: &str = "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

    #[test]
    fn renders_a_models_own_template() {
        let t = ChatTemplate::Jinja(Box::new(JinjaTemplate { source: SMOLLM2.into(), bos_token: "<|im_start|>".into(), eos_token: "<|im_end|>".into() }));
        assert_eq!(
            t.prompt("Hi there").unwrap(),
            "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n"
        );
        assert_eq!(t.end_of_turn(), "<|im_end|>");
    }

    /// Python string methods (`.strip()`), `raise_exception` and the BOS variable work as
    /// in transformers; a template error is an error, not a wrong prompt.
    #[test]
    fn python_methods_and_errors() {
        let src = "{{ bos_token }}{% for m in messages %}{% if m['role'] == 'system' %}{{ raise_exception('no system') }}{% endif %}[{{ m['content'].strip() }}]{% endfor %}";
        let j = JinjaTemplate { source: src.into(), bos_token: "<s>".into(), eos_token: "</s>".into() };
        assert_eq!(j.render(&[("user", "  hi  ")], true).unwrap(), "<s>[hi]");
        let e = j.render(&[("system", "x")], true).unwrap_err().to_string();
        assert!(e.contains("no system"), "{e}");
        let bad = JinjaTemplate { source: "{% for %}".into(), bos_token: String::new(), eos_token: String::new() };
        assert!(bad.render(&[("user", "x")], true).is_err());
    }
}
