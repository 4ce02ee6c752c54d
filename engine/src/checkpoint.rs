//! A model with its tokenizer and weights, saved and loaded in Hugging Face format:
//! `config.json`, `model.safetensors`, `tokenizer.json`, `generation_config.json`.
use crate::model::{Config, Llama};
use crate::tokenizer::Tokenizer;
use crate::{fsutil, Error, Result};
use candle_core::{DType, Device, Tensor, Var};
use candle_nn::{VarBuilder, VarMap};
use rand::{Rng, SeedableRng};
use std::collections::HashMap;
use std::path::Path;

/// Trainable weights (`VarMap`), the model built on them, and the tokenizer.
pub struct Checkpoint {
    pub varmap: VarMap,
    pub model: Llama,
    pub tokenizer: Tokenizer,
}

/// Names and shapes of every tensor the config needs, in Hugging Face naming.
pub fn tensor_names(cfg: &Config) -> Vec<(String, Vec<usize>)> {
    let (v, e, i) = (cfg.vocab_size, cfg.hidden_size, cfg.intermediate_size);
    let (h, k, d) = (cfg.num_attention_heads, cfg.num_kv_heads(), cfg.head_dim());
    let mut out = vec![("model.embed_tokens.weight".to_string(), vec![v, e])];
    for l in 0..cfg.num_hidden_layers {
        let p = format!("model.layers.{l}");
        for (n, o, inp) in [("q_proj", h * d, e), ("k_proj", k * d, e), ("v_proj", k * d, e), ("o_proj", e, h * d)] {
            out.push((format!("{p}.self_attn.{n}.weight"), vec![o, inp]));
            let bias = if n == "o_proj" { cfg.o_bias() } else { cfg.qkv_bias() };
            if bias {
                out.push((format!("{p}.self_attn.{n}.bias"), vec![o]));
            }
        }
        for (n, o, inp) in [("gate_proj", i, e), ("up_proj", i, e), ("down_proj", e, i)] {
            out.push((format!("{p}.mlp.{n}.weight"), vec![o, inp]));
        }
        out.push((format!("{p}.input_layernorm.weight"), vec![e]));
        out.push((format!("{p}.post_attention_layernorm.weight"), vec![e]));
    }
    out.push(("model.norm.weight".to_string(), vec![e]));
    if !cfg.tie_word_embeddings {
        out.push(("lm_head.weight".to_string(), vec![v, e]));
    }
    out
}

/// Seeded initial value of one tensor: norms 1, biases 0, weights N(0, 0.02²).
fn init_tensor(name: &str, shape: &[usize], rng: &mut rand_chacha::ChaCha8Rng, dev: &Device) -> Result<Tensor> {
    let n: usize = shape.iter().product();
    let data: Vec<f32> = if name.ends_with("norm.weight") {
        vec![1.0; n]
    } else if name.ends_with(".bias") {
        vec![0.0; n]
    } else {
        (0..n)
            .map(|_| {
                // Box-Muller
                let u1: f32 = rng.gen_range(f32::EPSILON..1.0);
                let u2: f32 = rng.gen();
                0.02 * (-2.0 * u1.ln()).sqrt() * (2.0 * std::f32::consts::PI * u2).cos()
            })
            .collect()
    };
    Ok(Tensor::from_vec(data, shape, dev)?)
}

impl Checkpoint {
    /// Builds a model on the given weights (`name -> tensor`), which must hold every tensor
    /// of [`tensor_names`]; `origin` names where they came from in errors.
    pub fn from_tensors(
        cfg: &Config,
        mut tensors: HashMap<String, Tensor>,
        tokenizer: Tokenizer,
        dtype: DType,
        dev: &Device,
        origin: &Path,
    ) -> Result<Self> {
        cfg.validate()?;
        let varmap = VarMap::new();
        {
            let mut data = varmap.data().lock().map_err(|_| Error::Invalid("poisoned VarMap".into()))?;
            for (name, shape) in tensor_names(cfg) {
                let t = tensors.remove(&name).ok_or_else(|| Error::MissingTensor {
                    path: origin.to_path_buf(),
                    name: name.clone(),
                    shape: shape.clone(),
                })?;
                if t.dims() != shape.as_slice() {
                    return Err(Error::Invalid(format!(
                        "{}: tensor `{name}` has shape {:?}, config.json implies {shape:?}",
                        origin.display(),
                        t.dims()
                    )));
                }
                let t = t.to_dtype(dtype)?.to_device(dev)?;
                data.insert(name, Var::from_tensor(&t)?);
            }
        }
        let vb = VarBuilder::from_varmap(&varmap, dtype, dev);
        let model = Llama::load(vb, cfg)?;
        Ok(Self { varmap, model, tokenizer })
    }

    /// A freshly initialised model; the same seed gives the same weights.
    pub fn init(cfg: &Config, tokenizer: Tokenizer, seed: u64, dev: &Device) -> Result<Self> {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let mut tensors = HashMap::new();
        for (name, shape) in tensor_names(cfg) {
            let t = init_tensor(&name, &shape, &mut rng, dev)?;
            tensors.insert(name, t);
        }
        Self::from_tensors(cfg, tensors, tokenizer, DType::F32, dev, Path::new("<init>"))
    }

    pub fn config(&self) -> &Config {
        self.model.config()
    }

    /// A deep copy whose weights train independently of `self`'s.
    pub fn deep_clone(&self) -> Result<Self> {
        let tensors = self.tensors()?.into_iter().map(|(n, t)| Ok((n, t.copy()?))).collect::<Result<_>>()?;
        Self::from_tensors(
            self.config(),
            tensors,
            self.tokenizer.clone(),
            self.model.dtype(),
            self.model.device(),
            Path::new("<clone>"),
        )
    }

    /// Current values of every weight by name.
    pub fn tensors(&self) -> Result<HashMap<String, Tensor>> {
        let data = self.varmap.data().lock().map_err(|_| Error::Invalid("poisoned VarMap".into()))?;
        Ok(data.iter().map(|(k, v)| (k.clone(), v.as_tensor().clone())).collect())
    }

    /// Writes the checkpoint directory atomically: into `dir.tmp*`, then renamed over `dir`.
    pub fn save(&self, dir: &Path) -> Result<()> {
        let tmp = fsutil::tmp_path(dir);
        if tmp.exists() {
            std::fs::remove_dir_all(&tmp).map_err(|e| Error::io(&tmp, e))?;
        }
        std::fs::create_dir_all(&tmp).map_err(|e| Error::io(&tmp, e))?;
        let mut cfg = self.config().clone();
        cfg.eos_token_id = Some(crate::model::TokenIds::One(self.tokenizer.eos_ids[0]));
        cfg.pad_token_id = Some(self.tokenizer.pad_id);
        cfg.torch_dtype = Some(dtype_name(self.model.dtype()).into());
        let json = serde_json::to_string_pretty(&cfg).map_err(|e| Error::Invalid(e.to_string()))?;
        fsutil::write_atomic(&tmp.join("config.json"), json.as_bytes())?;
        let gen = serde_json::json!({
            "eos_token_id": self.tokenizer.eos_ids,
            "pad_token_id": self.tokenizer.pad_id,
            "do_sample": true,
            "temperature": 0.7,
            "top_p": 0.9,
        });
        fsutil::write_atomic(&tmp.join("generation_config.json"), gen.to_string().as_bytes())?;
        self.tokenizer.save(&tmp.join("tokenizer.json"))?;
        if let crate::ChatTemplate::Jinja(j) = &self.tokenizer.template {
            let tc = serde_json::json!({ "chat_template": j.source, "bos_token": j.bos_token, "eos_token": j.eos_token });
            fsutil::write_atomic(&tmp.join("tokenizer_config.json"), tc.to_string().as_bytes())?;
        }
        let tensors = self.tensors()?;
        let st = tmp.join("model.safetensors");
        candle_core::safetensors::save(&tensors, &st)?;
        Ok(fsutil::swap_dir(&tmp, dir)?)
    }

    /// Loads a checkpoint directory (single or sharded safetensors), or a `.gguf` file,
    /// onto `dev`.
    pub fn load(dir: &Path, dtype: DType, dev: &Device) -> Result<Self> {
        if dir.is_file() && dir.extension().is_some_and(|e| e == "gguf") {
            return crate::gguf::load(dir, dtype, dev);
        }
        fsutil::finish_dir_swap(dir)?;
        let cfg_path = dir.join("config.json");
        let text = std::fs::read_to_string(&cfg_path).map_err(|e| Error::io(&cfg_path, e))?;
        let cfg: Config = serde_json::from_str(&text).map_err(|e| Error::Parse {
            path: cfg_path.clone(),
            line: e.line(),
            msg: e.to_string(),
        })?;
        let tokenizer = Tokenizer::from_file(&dir.join("tokenizer.json"))?;
        let tokenizer = match crate::template::from_tokenizer_config(&dir.join("tokenizer_config.json"))? {
            Some(t) => Tokenizer::with_template(tokenizer.inner, t)?,
            None => tokenizer,
        };
        let mut tensors = HashMap::new();
        for file in weight_files(dir)? {
            let t = candle_core::safetensors::load(&file, &Device::Cpu)
                .map_err(|e| Error::Invalid(format!("{}: {e}", file.display())))?;
            tensors.extend(t);
        }
        Self::from_tensors(&cfg, tensors, tokenizer, dtype, dev, dir)
    }
}

fn dtype_name(d: DType) -> &'static str {
    match d {
        DType::BF16 => "bfloat16",
        DType::F16 => "float16",
        _ => "float32",
    }
}

/// `model.safetensors`, or the shards listed in `model.safetensors.index.json`.
pub fn weight_files(dir: &Path) -> Result<Vec<std::path::PathBuf>> {
    let single = dir.join("model.safetensors");
    if single.exists() {
        return Ok(vec![single]);
    }
    let index = dir.join("model.safetensors.index.json");
    let text = std::fs::read_to_string(&index).map_err(|e| Error::io(&index, e))?;
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| Error::Parse {
        path: index.clone(),
        line: e.line(),
        msg: e.to_string(),
    })?;
    let map = v.get("weight_map").and_then(|m| m.as_object()).ok_or_else(|| Error::Parse {
        path: index.clone(),
        line: 1,
        msg: "field `weight_map` missing or not an object".into(),
    })?;
    let mut files: Vec<_> = map.values().filter_map(|f| f.as_str()).map(|f| dir.join(f)).collect();
    files.sort();
    files.dedup();
    Ok(files)
}
