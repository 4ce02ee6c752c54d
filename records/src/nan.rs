//! `null` (how serde_json writes NaN) read back as NaN, for the records' numbers that
//! may be undefined (a mean over nothing, an accuracy without pairs).
use crate::iteration::Metrics;
use serde::{Deserialize, Deserializer};
use std::collections::BTreeMap;

pub fn f64<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

pub fn map<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, f64>, D::Error> {
    Ok(BTreeMap::<String, Option<f64>>::deserialize(d)?.into_iter().map(|(k, v)| (k, v.unwrap_or(f64::NAN))).collect())
}

pub fn steps<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<(usize, Metrics)>, D::Error> {
    Ok(Vec::<(usize, BTreeMap<String, Option<f64>>)>::deserialize(d)?
        .into_iter()
        .map(|(s, m)| (s, m.into_iter().map(|(k, v)| (k, v.unwrap_or(f64::NAN))).collect()))
        .collect())
}
