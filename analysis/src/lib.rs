//! Analysis of self-rewarding run folders.
//!
//! Without features: the run folder read through the `records` crate ([`RunFolder`]),
//! and charts rendered to inline SVG or PNG ([`charts`]); `srlm-eval`'s report draws
//! with these. With the `frames` feature: polars DataFrames over the same folder
//! ([`frames`]), which the notebooks in `notebooks/` show and plot.
pub mod charts;
pub mod error;
pub mod figures;
pub mod paths;
pub mod run;
pub mod show;

#[cfg(feature = "frames")]
pub mod frames;

pub use charts::{Figure, Plot};
pub use error::{Error, Result};
pub use run::RunFolder;
pub use show::Svg;
