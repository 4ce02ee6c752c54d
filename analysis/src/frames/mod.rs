//! polars DataFrames over a run folder, and the charts the notebooks draw from them.
//! JSONL and CSV files are read by polars' own readers; the small JSON summaries
//! by serde ([`crate::records`]) and turned into frames here.
pub mod iterations;
pub mod judge;
pub mod winrates;

use crate::{Error, Result};
pub use polars::prelude::DataFrame;
use polars::prelude::*;
use std::path::Path;

/// Reads a JSON-lines file into a DataFrame with polars' reader. Column types are
/// inferred from every line, not the first hundred: a column that starts with nulls
/// (a judge with no readable scores listed first) keeps its real type.
pub fn read_jsonl(path: &Path) -> Result<DataFrame> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    JsonReader::new(file).with_json_format(JsonFormat::JsonLines).infer_schema_len(None).finish().map_err(|e| pe(path, e))
}

/// Reads a CSV file (with a header row) into a DataFrame with polars' reader.
pub fn read_csv(path: &Path) -> Result<DataFrame> {
    if !path.exists() {
        return Err(Error::Missing { path: path.into(), hint: "get the data (see README, \"Notebooks\")".into() });
    }
    CsvReadOptions::default()
        .with_has_header(true)
        .try_into_reader_with_file_path(Some(path.into()))
        .and_then(|r| r.finish())
        .map_err(|e| pe(path, e))
}

pub(crate) fn pe(path: &Path, source: PolarsError) -> Error {
    Error::Polars { path: path.into(), source }
}

/// A column by name, found by scanning the columns rather than through the frame's
/// cached, hashed schema: in evcxr every cell is its own library with its own copy of
/// polars' hash seeds, so a frame made in one cell and looked up by name in a later
/// one would report the column "not found".
pub fn column<'a>(df: &'a DataFrame, path: &Path, name: &str) -> Result<&'a Column> {
    df.columns()
        .iter()
        .find(|c| c.name().as_str() == name)
        .ok_or_else(|| Error::Parse { path: path.into(), loc: format!("column `{name}`"), msg: format!("not among {:?}", df.get_column_names()) })
}

/// A column as `f64`s (integers cast), nulls as NaN; the error names file and column.
pub fn f64s(df: &DataFrame, path: &Path, name: &str) -> Result<Vec<f64>> {
    let c = column(df, path, name)?;
    let c = c.cast(&DataType::Float64).map_err(|e| pe(path, e))?;
    Ok(c.f64().map_err(|e| pe(path, e))?.iter().map(|v| v.unwrap_or(f64::NAN)).collect())
}

/// A string column, nulls as empty strings.
pub fn strs(df: &DataFrame, path: &Path, name: &str) -> Result<Vec<String>> {
    let c = column(df, path, name)?;
    Ok(c.str().map_err(|e| pe(path, e))?.iter().map(|v| v.unwrap_or_default().to_string()).collect())
}

/// A list-of-numbers column, each row's list as `f64`s (nulls NaN).
pub fn f64_lists(df: &DataFrame, path: &Path, name: &str) -> Result<Vec<Vec<f64>>> {
    let c = column(df, path, name)?;
    let l = c.list().map_err(|e| pe(path, e))?;
    l.amortized_iter()
        .map(|row| match row {
            None => Ok(vec![]),
            Some(s) => {
                let s = s.as_ref().cast(&DataType::Float64).map_err(|e| pe(path, e))?;
                Ok(s.f64().map_err(|e| pe(path, e))?.iter().map(|v| v.unwrap_or(f64::NAN)).collect())
            }
        })
        .collect()
}

/// A list-of-strings column.
pub fn str_lists(df: &DataFrame, path: &Path, name: &str) -> Result<Vec<Vec<String>>> {
    let c = column(df, path, name)?;
    let l = c.list().map_err(|e| pe(path, e))?;
    l.amortized_iter()
        .map(|row| match row {
            None => Ok(vec![]),
            Some(s) => Ok(s.as_ref().str().map_err(|e| pe(path, e))?.iter().map(|v| v.unwrap_or_default().to_string()).collect()),
        })
        .collect()
}

/// Builds a frame from named columns (a thin wrapper over polars' constructor that
/// names the table in its error).
pub fn frame(what: &str, columns: Vec<Column>) -> Result<DataFrame> {
    DataFrame::new_infer_height(columns).map_err(|e| pe(Path::new(what), e))
}

/// Mean of the finite values (NaN when there is none).
pub fn mean(xs: impl IntoIterator<Item = f64>) -> f64 {
    let (s, n) = xs.into_iter().filter(|x| x.is_finite()).fold((0.0, 0usize), |(s, n), x| (s + x, n + 1));
    if n == 0 { f64::NAN } else { s / n as f64 }
}

/// Pearson correlation of paired finite values (NaN when undefined).
pub fn pearson(a: &[f64], b: &[f64]) -> f64 {
    let pts: Vec<(f64, f64)> = a.iter().zip(b).filter(|(x, y)| x.is_finite() && y.is_finite()).map(|(x, y)| (*x, *y)).collect();
    let n = pts.len() as f64;
    if pts.len() < 2 {
        return f64::NAN;
    }
    let (mx, my) = (pts.iter().map(|p| p.0).sum::<f64>() / n, pts.iter().map(|p| p.1).sum::<f64>() / n);
    let cov: f64 = pts.iter().map(|(x, y)| (x - mx) * (y - my)).sum();
    let vx: f64 = pts.iter().map(|(x, _)| (x - mx).powi(2)).sum();
    let vy: f64 = pts.iter().map(|(_, y)| (y - my).powi(2)).sum();
    if vx == 0.0 || vy == 0.0 { f64::NAN } else { cov / (vx * vy).sqrt() }
}
