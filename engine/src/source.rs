//! Where a model comes from, from one string: a `.gguf` file, a Hugging Face checkpoint
//! folder, or a hub repo id (`org/name`, from the local hub cache).
use crate::hub::HubModel;
use crate::{Checkpoint, Result};
use candle_core::{DType, Device};
use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelSource {
    /// A `.gguf` file or a checkpoint folder ([`Checkpoint::load`] tells them apart).
    Path(PathBuf),
    Hub(String),
}

impl ModelSource {
    /// A `.gguf` name, an existing path, or anything not shaped `org/name` is a path;
    /// `org/name` that does not exist here is a hub id.
    pub fn parse(s: &str) -> Self {
        let p = PathBuf::from(s);
        if p.extension().is_some_and(|e| e == "gguf") || p.exists() || s.starts_with('.') || s.starts_with('/') || s.split('/').count() != 2 {
            Self::Path(p)
        } else {
            Self::Hub(s.to_string())
        }
    }

    pub fn load(&self, dtype: DType, dev: &Device) -> Result<Checkpoint> {
        match self {
            Self::Path(p) => Checkpoint::load(p, dtype, dev),
            Self::Hub(id) => Checkpoint::load(&HubModel::new(id).snapshot_dir()?, dtype, dev),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_are_told_apart() {
        assert_eq!(ModelSource::parse("models/x.gguf"), ModelSource::Path("models/x.gguf".into()));
        assert_eq!(ModelSource::parse("HuggingFaceTB/SmolLM2-135M-Instruct"), ModelSource::Hub("HuggingFaceTB/SmolLM2-135M-Instruct".into()));
        assert_eq!(ModelSource::parse("runs/default/m1"), ModelSource::Path("runs/default/m1".into()));
        assert_eq!(ModelSource::parse("./org/name"), ModelSource::Path("./org/name".into()));
    }
}
