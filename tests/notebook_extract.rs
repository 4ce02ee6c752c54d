//! Turns an evcxr notebook into a Rust function, so `make test` can build and run
//! every notebook's code without Jupyter. Used by `build.rs` and tested in
//! `notebooks.rs`.
//!
//! The notebooks' dialect, and what becomes of it:
//! - lines starting with `:` are evcxr commands (`:dep`, `:cache`) and are dropped
//!   (the test crate depends on the same crates);
//! - all code cells, in order, become the body of one function (so a variable of one
//!   cell is seen by the next, as in the kernel), each preceded by a line that
//!   names the notebook and cell on stderr;
//! - a cell whose last line is an expression (no `;`, not closing a block) shows
//!   that value in the kernel; here the value is formatted with `Debug`, so a
//!   failing display fails the test too.

/// The Rust function `fn_name` running the code cells of `ipynb` (the file's JSON);
/// `label` names the notebook in messages.
pub fn extract(label: &str, fn_name: &str, ipynb: &str) -> Result<String, String> {
    let v: serde_json::Value = serde_json::from_str(ipynb).map_err(|e| format!("{label}: not a notebook: {e}"))?;
    let cells = v["cells"].as_array().ok_or_else(|| format!("{label}: no `cells` array"))?;
    let mut body = String::new();
    for (i, c) in cells.iter().enumerate() {
        if c["cell_type"] != "code" {
            continue;
        }
        let src = match &c["source"] {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Array(a) => a.iter().map(|l| l.as_str().unwrap_or_default()).collect(),
            _ => return Err(format!("{label}: cell {}: `source` is neither text nor lines", i + 1)),
        };
        let mut lines: Vec<String> = src.lines().filter(|l| !l.trim_start().starts_with(':')).map(str::to_string).collect();
        if let Some(k) = lines.iter().rposition(|l| !l.trim().is_empty() && !l.trim_start().starts_with("//")) {
            let last = lines[k].trim_end().to_string();
            if !(last.ends_with(';') || last.ends_with('}')) {
                lines[k] = format!("__show(&({}));", last.trim());
            }
        }
        body.push_str(&format!("    eprintln!(\"{label}: cell {}\");\n", i + 1));
        for l in lines {
            body.push_str("    ");
            body.push_str(&l);
            body.push('\n');
        }
    }
    Ok(format!(
        "#[allow(unused_variables, unused_imports, clippy::all)]\npub fn {fn_name}() -> Result<(), Box<dyn std::error::Error>> {{\n    fn __show<T: std::fmt::Debug>(x: &T) {{\n        let _ = format!(\"{{x:?}}\");\n    }}\n{body}    Ok(())\n}}\n"
    ))
}
