//! Where a model comes from, from one string: a `.gguf` file, a Hugging Face checkpoint
//! folder, or a hub repo id (`org/name`, from the local hub cache).
use crate::hub::HubModel;
use crate::{Checkpoint, Result};
use candle_core::{DType, Device};
use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelSource {
    Gguf(PathBuf),
    Folder(PathBuf),
    Hub(String),
}

impl ModelSource {
    /// An existing path is a file or folder; `org/name` that is not a path is a hub id.
    pub fn parse(s: &str) -> Self {
        let p = PathBuf::from(s);
        if p.extension().is_some_and(|e| e == "gguf") {
            Self::Gguf(p)
        } else if p.exists() || s.starts_with('.') || s.starts_with('/') || s.split('/').count() != 2 {
            Self::Folder(p)
        } else {
            Self::Hub(s.to_string())
        }
    }

    pub fn load(&self, dtype: DType, dev: &Device) -> Result<Checkpoint> {
        match self {
            Self::Gguf(p) => crate::gguf::load(p, dtype, dev),
            Self::Folder(p) => Checkpoint::load(p, dtype, dev),
            Self::Hub(id) => Checkpoint::load(&HubModel::new(id).snapshot_dir()?, dtype, dev),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_are_told_apart() {
        assert_eq!(ModelSource::parse("models/x.gguf"), ModelSource::Gguf("models/x.gguf".into()));
        assert_eq!(ModelSource::parse("HuggingFaceTB/SmolLM2-135M-Instruct"), ModelSource::Hub("HuggingFaceTB/SmolLM2-135M-Instruct".into()));
        assert_eq!(ModelSource::parse("runs/default/m1"), ModelSource::Folder("runs/default/m1".into()));
        assert_eq!(ModelSource::parse("./org/name"), ModelSource::Folder("./org/name".into()));
    }
}
