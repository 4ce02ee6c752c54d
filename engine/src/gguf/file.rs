//! A GGUF file opened for reading: typed metadata accessors whose errors name the key.
use crate::{Error, Result};
use candle_core::quantized::gguf_file::{Content, Value};
use candle_core::quantized::QTensor;
use candle_core::Device;
use std::path::{Path, PathBuf};

/// An open GGUF file: its metadata and tensor table (tensor data is read on demand).
pub struct Gguf {
    pub path: PathBuf,
    pub content: Content,
    file: std::fs::File,
}

impl Gguf {
    pub fn open(path: &Path) -> Result<Self> {
        let mut file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        let content = Content::read(&mut file).map_err(|e| Error::Gguf { path: path.into(), key: "<header>".into(), msg: e.to_string() })?;
        Ok(Self { path: path.into(), content, file })
    }

    /// An error about `key` of this file.
    pub fn err(&self, key: &str, msg: String) -> Error {
        Error::Gguf { path: self.path.clone(), key: key.into(), msg }
    }

    pub fn has(&self, key: &str) -> bool {
        self.content.metadata.contains_key(key)
    }

    pub fn has_tensor(&self, name: &str) -> bool {
        self.content.tensor_infos.contains_key(name)
    }

    fn get(&self, key: &str) -> Result<&Value> {
        self.content.metadata.get(key).ok_or_else(|| self.err(key, "missing".into()))
    }

    pub fn string(&self, key: &str) -> Result<String> {
        self.get(key)?.to_string().map(|s| s.clone()).map_err(|e| self.err(key, e.to_string()))
    }

    pub fn string_opt(&self, key: &str) -> Result<Option<String>> {
        if self.has(key) { self.string(key).map(Some) } else { Ok(None) }
    }

    /// Any integer type, as usize.
    pub fn usize(&self, key: &str) -> Result<usize> {
        let v = self.get(key)?;
        let n: i128 = match v {
            Value::U8(x) => *x as i128,
            Value::I8(x) => *x as i128,
            Value::U16(x) => *x as i128,
            Value::I16(x) => *x as i128,
            Value::U32(x) => *x as i128,
            Value::I32(x) => *x as i128,
            Value::U64(x) => *x as i128,
            Value::I64(x) => *x as i128,
            other => return Err(self.err(key, format!("expected an integer, found {other:?}"))),
        };
        usize::try_from(n).map_err(|_| self.err(key, format!("{n} is not a count")))
    }

    pub fn usize_or(&self, key: &str, default: usize) -> Result<usize> {
        if self.has(key) { self.usize(key) } else { Ok(default) }
    }

    pub fn u32_opt(&self, key: &str) -> Result<Option<u32>> {
        if !self.has(key) {
            return Ok(None);
        }
        let n = self.usize(key)?;
        u32::try_from(n).map(Some).map_err(|_| self.err(key, format!("{n} is not a token id")))
    }

    pub fn f64_or(&self, key: &str, default: f64) -> Result<f64> {
        match self.content.metadata.get(key) {
            None => Ok(default),
            // The shortest decimal of the f32 (1e-5, not 9.999999747378752e-6): what the
            // converter was given.
            Some(Value::F32(x)) => Ok(x.to_string().parse().expect("a float's decimal parses")),
            Some(Value::F64(x)) => Ok(*x),
            Some(other) => Err(self.err(key, format!("expected a float, found {other:?}"))),
        }
    }

    pub fn bool_or(&self, key: &str, default: bool) -> Result<bool> {
        match self.content.metadata.get(key) {
            None => Ok(default),
            Some(v) => v.to_bool().map_err(|e| self.err(key, e.to_string())),
        }
    }

    fn array(&self, key: &str) -> Result<&Vec<Value>> {
        self.get(key)?.to_vec().map_err(|e| self.err(key, e.to_string()))
    }

    pub fn array_len(&self, key: &str) -> Result<usize> {
        Ok(self.array(key)?.len())
    }

    pub fn strings(&self, key: &str) -> Result<Vec<String>> {
        self.array(key)?.iter().enumerate().map(|(i, v)| v.to_string().map(|s| s.clone()).map_err(|e| self.err(key, format!("element {i}: {e}")))).collect()
    }

    pub fn ints(&self, key: &str) -> Result<Vec<i64>> {
        self.array(key)?
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::I32(x) => Ok(*x as i64),
                Value::U32(x) => Ok(*x as i64),
                Value::I8(x) => Ok(*x as i64),
                Value::U8(x) => Ok(*x as i64),
                Value::I64(x) => Ok(*x),
                other => Err(self.err(key, format!("element {i}: expected an integer, found {other:?}"))),
            })
            .collect()
    }

    /// The tensor `name` as stored (quantized or not), on the CPU.
    pub fn tensor(&mut self, name: &str) -> Result<QTensor> {
        let path = self.path.clone();
        self.content.tensor(&mut self.file, name, &Device::Cpu).map_err(|e| Error::Gguf { path, key: format!("tensor {name}"), msg: e.to_string() })
    }
}
