//! A [`Checkpoint`] written as a GGUF file that llama.cpp (and anything reading GGUF)
//! serves: the architecture's hyper-parameters, the byte-level BPE tokenizer with its
//! pre-tokenizer and special tokens, the chat template as Jinja, and the weights in
//! llama.cpp's names and layout (Llama's Q/K rows permuted), as F32, F16 or Q8_0.
use super::tokenizer::PreTokenizer;
use super::weights::{gguf_name, permute};
use super::Architecture;
use crate::model::{ModelType, TokenIds};
use crate::template::{ChatTemplate, ASSISTANT, EOS, USER};
use crate::{fsutil, Checkpoint, Error, Result};
use candle_core::quantized::gguf_file::{self, Value};
use candle_core::quantized::{GgmlDType, QTensor};
use std::path::Path;

/// How the weight matrices are stored (norms and biases stay F32, as llama.cpp keeps them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum GgufType {
    F32,
    F16,
    /// 8-bit blocks of 32 with one f16 scale (llama.cpp's Q8_0); a matrix whose rows are
    /// not a multiple of 32 long stays F16.
    #[value(name = "q8_0")]
    #[serde(rename = "q8_0")]
    Q8_0,
}

impl GgufType {
    /// llama.cpp's `general.file_type` (its `LLAMA_FTYPE_*`).
    fn file_type(&self) -> u32 {
        match self {
            Self::F32 => 0,
            Self::F16 => 1,
            Self::Q8_0 => 7,
        }
    }
}

/// The tokenizer as GGUF metadata: tokens in id order, their types (control for special
/// tokens), merges, the pre-tokenizer's llama.cpp name and whether a space is put before
/// the text.
fn tokenizer_metadata(ck: &Checkpoint) -> Result<Vec<(String, Value)>> {
    let inner = &ck.tokenizer.inner;
    let json: serde_json::Value = serde_json::from_str(&inner.to_string(false).map_err(|e| Error::Tokenizer(e.to_string()))?)
        .map_err(|e| Error::Tokenizer(e.to_string()))?;
    if json["model"]["type"] != "BPE" {
        return Err(Error::Invalid(format!("GGUF export: a {} tokenizer cannot be exported (byte-level BPE only)", json["model"]["type"])));
    }
    let (pre, prefix_space) = PreTokenizer::detect(&json["pre_tokenizer"])
        .ok_or_else(|| Error::Invalid(format!("GGUF export: pre-tokenizer {} has no llama.cpp name", json["pre_tokenizer"])))?;
    let mut vocab: Vec<(String, u32)> = inner.get_vocab(true).into_iter().collect();
    vocab.sort_by_key(|t| t.1);
    if vocab.iter().enumerate().any(|(i, (_, id))| *id as usize != i) {
        return Err(Error::Invalid("GGUF export: token ids are not contiguous".into()));
    }
    let special: std::collections::HashSet<String> =
        json["added_tokens"].as_array().into_iter().flatten().filter(|t| t["special"] == true).filter_map(|t| t["content"].as_str().map(String::from)).collect();
    let merges = json["model"]["merges"]
        .as_array()
        .ok_or_else(|| Error::Tokenizer("BPE without merges".into()))?
        .iter()
        .map(|m| match m {
            serde_json::Value::String(s) => Ok(s.clone()),
            serde_json::Value::Array(p) if p.len() == 2 => Ok(format!("{} {}", p[0].as_str().unwrap_or_default(), p[1].as_str().unwrap_or_default())),
            other => Err(Error::Tokenizer(format!("merge {other}"))),
        })
        .collect::<Result<Vec<String>>>()?;
    let s = |x: &str| Value::String(x.to_string());
    let tok = &ck.tokenizer;
    let mut meta = vec![
        ("tokenizer.ggml.model".to_string(), s("gpt2")),
        ("tokenizer.ggml.pre".into(), s(pre.name())),
        ("tokenizer.ggml.tokens".into(), Value::Array(vocab.iter().map(|(t, _)| s(t)).collect())),
        ("tokenizer.ggml.token_type".into(), Value::Array(vocab.iter().map(|(t, _)| Value::I32(if special.contains(t) { 3 } else { 1 })).collect())),
        ("tokenizer.ggml.merges".into(), Value::Array(merges.iter().map(|m| s(m)).collect())),
        ("tokenizer.ggml.add_space_prefix".into(), Value::Bool(prefix_space)),
        ("tokenizer.ggml.add_bos_token".into(), Value::Bool(false)),
        ("tokenizer.ggml.eos_token_id".into(), Value::U32(tok.eos_ids[0])),
        ("tokenizer.ggml.padding_token_id".into(), Value::U32(tok.pad_id)),
    ];
    if let Some(bos) = ck.config().bos_token_id {
        meta.push(("tokenizer.ggml.bos_token_id".into(), Value::U32(bos)));
    }
    let template = match &tok.template {
        ChatTemplate::Jinja(j) => j.source.clone(),
        ChatTemplate::Embedded => embedded_jinja(),
        other => return Err(Error::Invalid(format!("GGUF export: the {other:?} template has no Jinja form here"))),
    };
    meta.push(("tokenizer.chat_template".into(), s(&template)));
    Ok(meta)
}

/// The embedded models' layout as a Jinja chat template (what llama.cpp renders).
pub fn embedded_jinja() -> String {
    format!(
        "{{% for m in messages %}}{{% if m['role'] == 'user' %}}{{{{ '{USER}\\n' + m['content'] + '\\n' }}}}\
         {{% elif m['role'] == 'assistant' %}}{{{{ '{ASSISTANT}\\n' + m['content'] + '{EOS}' }}}}{{% endif %}}{{% endfor %}}\
         {{% if add_generation_prompt %}}{{{{ '{ASSISTANT}\\n' }}}}{{% endif %}}"
    )
}

/// Writes `ck` to `path` (atomically) as a GGUF file with matrices stored as `ty`.
pub fn export(ck: &Checkpoint, path: &Path, ty: GgufType) -> Result<()> {
    let cfg = ck.config();
    let arch = match cfg.model_type {
        ModelType::Llama | ModelType::Mistral => Architecture::Llama,
        ModelType::Qwen2 => Architecture::Qwen2,
    };
    let p = arch.prefix();
    let u = |x: usize| Value::U32(x as u32);
    let head_dim = cfg.head_dim.unwrap_or(cfg.hidden_size / cfg.num_attention_heads);
    let name = path.file_stem().map(|s| s.to_string_lossy().to_string()).unwrap_or_default();
    let mut meta: Vec<(String, Value)> = vec![
        ("general.architecture".into(), Value::String(p.into())),
        ("general.name".into(), Value::String(name)),
        ("general.file_type".into(), Value::U32(ty.file_type())),
        (format!("{p}.vocab_size"), u(cfg.vocab_size)),
        (format!("{p}.block_count"), u(cfg.num_hidden_layers)),
        (format!("{p}.context_length"), u(cfg.max_position_embeddings)),
        (format!("{p}.embedding_length"), u(cfg.hidden_size)),
        (format!("{p}.feed_forward_length"), u(cfg.intermediate_size)),
        (format!("{p}.attention.head_count"), u(cfg.num_attention_heads)),
        (format!("{p}.attention.head_count_kv"), u(cfg.num_kv_heads())),
        (format!("{p}.attention.key_length"), u(head_dim)),
        (format!("{p}.attention.value_length"), u(head_dim)),
        (format!("{p}.rope.dimension_count"), u(head_dim)),
        (format!("{p}.rope.freq_base"), Value::F32(cfg.rope_theta as f32)),
        (format!("{p}.attention.layer_norm_rms_epsilon"), Value::F32(cfg.rms_norm_eps as f32)),
    ];
    meta.extend(tokenizer_metadata(ck)?);
    if let Some(TokenIds::Many(ids)) = &cfg.eos_token_id {
        tracing::warn!("GGUF export: {} end-of-turn ids; the file names the first, {}", ids.len(), ck.tokenizer.eos_ids[0]);
    }

    let mut tensors: Vec<(String, QTensor)> = vec![];
    let mut all: Vec<(String, candle_core::Tensor)> = ck.tensors()?.into_iter().collect();
    all.sort_by(|a, b| a.0.cmp(&b.0));
    for (hf, t) in all {
        let g = gguf_name(&hf).ok_or_else(|| Error::Invalid(format!("GGUF export: no llama.cpp name for tensor {hf}")))?;
        let t = t.to_dtype(candle_core::DType::F32)?.to_device(&candle_core::Device::Cpu)?;
        let t = match (arch.permuted_qk(), hf.contains(".q_proj."), hf.contains(".k_proj.")) {
            (true, true, _) => permute(&t, cfg.num_attention_heads)?,
            (true, _, true) => permute(&t, cfg.num_kv_heads())?,
            _ => t,
        };
        let dtype = match (t.rank(), ty) {
            (2, GgufType::F16) => GgmlDType::F16,
            (2, GgufType::Q8_0) if t.dim(1)? % 32 == 0 => GgmlDType::Q8_0,
            (2, GgufType::Q8_0) => GgmlDType::F16,
            _ => GgmlDType::F32,
        };
        tensors.push((g, QTensor::quantize(&t, dtype)?));
    }
    let meta_refs: Vec<(&str, &Value)> = meta.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let tensor_refs: Vec<(&str, &QTensor)> = tensors.iter().map(|(n, q)| (n.as_str(), q)).collect();
    let mut bytes = std::io::Cursor::new(Vec::new());
    gguf_file::write(&mut bytes, &meta_refs, &tensor_refs)?;
    Ok(fsutil::write_atomic(path, &bytes.into_inner())?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_layout_renders_as_the_engine_lays_it_out() {
        let j = crate::template::JinjaTemplate { source: embedded_jinja(), bos_token: String::new(), eos_token: EOS.into() };
        let want = ChatTemplate::Embedded.prompt("Name two fruits.").unwrap();
        assert_eq!(j.render(&[("user", "Name two fruits.")], true).unwrap(), want);
        assert_eq!(j.render(&[("user", "a"), ("assistant", "b")], false).unwrap(), format!("{USER}\na\n{ASSISTANT}\nb{EOS}"));
    }
}
