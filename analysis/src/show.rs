//! Inline display in evcxr notebooks: a value with an `evcxr_display` method is
//! shown as rich output (here, SVG) instead of its `Debug` text.
use crate::{Error, Result};
use std::path::Path;

/// An SVG document (a rendered chart).
#[derive(Debug, Clone, PartialEq)]
pub struct Svg(pub String);

impl Svg {
    /// Called by evcxr when a cell's value is an `Svg`: prints the MIME bundle it reads.
    pub fn evcxr_display(&self) {
        println!("EVCXR_BEGIN_CONTENT image/svg+xml\n{}\nEVCXR_END_CONTENT", self.0);
    }

    /// Writes the SVG to a file (atomically).
    pub fn save(&self, path: &Path) -> Result<()> {
        Ok(records::write_atomic(path, self.0.as_bytes())?)
    }

    /// Number of drawn elements of a kind (`"rect"`, `"polyline"`, `"text"`), for tests.
    pub fn count(&self, element: &str) -> usize {
        self.0.matches(&format!("<{element}")).count()
    }
}

impl std::fmt::Display for Svg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

pub(crate) fn chart_err(title: &str) -> impl Fn(String) -> Error + '_ {
    move |msg| Error::Chart { title: title.to_string(), msg }
}
