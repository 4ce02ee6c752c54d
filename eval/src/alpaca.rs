//! AlpacaEval's file formats: `model_outputs.json` and `annotations.json`.
use crate::{Error, Result};
use serde::{Deserialize, Deserializer, Serialize};
use std::path::Path;

/// One row of `model_outputs.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelOutput {
    pub instruction: String,
    pub output: String,
    pub generator: String,
    #[serde(default)]
    pub dataset: String,
}

/// A pairwise verdict: 1 = `output_1` wins, 2 = `output_2` wins, 1.5 = draw;
/// weighted annotators give values in between. AlpacaEval writes 0 for a draw too.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(transparent)]
pub struct Preference(pub f64);

impl Preference {
    pub const FIRST: Preference = Preference(1.0);
    pub const SECOND: Preference = Preference(2.0);
    pub const DRAW: Preference = Preference(1.5);

    /// The value on AlpacaEval's 1..2 scale, a 0 read as a draw.
    pub fn value(&self) -> f64 {
        if self.0 == 0.0 {
            1.5
        } else {
            self.0
        }
    }
}

impl<'de> Deserialize<'de> for Preference {
    /// Accepts a number or a numeric string (`"1.0000001827"`).
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum NumOrStr {
            N(f64),
            S(String),
        }
        let v = match NumOrStr::deserialize(d)? {
            NumOrStr::N(n) => n,
            NumOrStr::S(s) => s.trim().parse().map_err(|_| serde::de::Error::custom(format!("preference `{s}` is not a number")))?,
        };
        if !(v == 0.0 || (1.0..=2.0).contains(&v)) {
            return Err(serde::de::Error::custom(format!("preference {v} outside 1..=2 (or 0 for a draw)")));
        }
        Ok(Preference(v))
    }
}

/// One row of `annotations.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Annotation {
    pub instruction: String,
    pub output_1: String,
    pub generator_1: String,
    pub output_2: String,
    pub generator_2: String,
    #[serde(default)]
    pub annotator: String,
    /// `None` when the annotator gave no verdict (`null`).
    pub preference: Option<Preference>,
}

/// Reads a JSON array file; a bad element is reported with its index and the field.
pub fn read_json_array<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Vec<T>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    parse_json_array(&text, path)
}

/// JSON-array text read from `path` (named in errors).
pub fn parse_json_array<T: serde::de::DeserializeOwned>(text: &str, path: &Path) -> Result<Vec<T>> {
    let values: Vec<serde_json::Value> =
        serde_json::from_str(text).map_err(|e| Error::Parse { path: path.into(), loc: format!("line {}", e.line()), msg: e.to_string() })?;
    values
        .into_iter()
        .enumerate()
        .map(|(i, v)| serde_json::from_value(v).map_err(|e| Error::Parse { path: path.into(), loc: format!("element {i}"), msg: e.to_string() }))
        .collect()
}

/// Writes `rows` as a pretty-printed JSON array (AlpacaEval's file layout), atomically.
pub fn write_json_array<T: Serialize>(path: &Path, rows: &[T]) -> Result<()> {
    let s = serde_json::to_string_pretty(rows).map_err(|e| Error::Invalid(e.to_string()))?;
    Ok(engine::fsutil::write_atomic(path, s.as_bytes())?)
}
