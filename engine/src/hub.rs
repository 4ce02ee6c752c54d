//! Real models by Hugging Face repo id, from the local hub cache (offline by default).
//!
//! The cache is the one `huggingface_hub` writes: `$HF_HUB_CACHE`, else
//! `$HF_HOME/hub`, else `~/.cache/huggingface/hub`, laid out as
//! `models--{org}--{name}/{refs/<revision>, snapshots/<commit>/<file>}`.
use crate::{Error, Result};
use hf_hub::{Cache, Repo, RepoType};
use std::path::{Path, PathBuf};

/// Where a model comes from and whether the network may be used.
#[derive(Debug, Clone)]
pub struct HubModel {
    pub repo: String,
    pub revision: String,
    pub cache_dir: PathBuf,
    /// Fetch missing files from the hub (needs the `download` feature).
    pub allow_network: bool,
}

/// The hub cache directory the environment selects.
pub fn default_cache_dir() -> PathBuf {
    if let Ok(p) = std::env::var("HF_HUB_CACHE") {
        return PathBuf::from(p);
    }
    if let Ok(p) = std::env::var("HF_HOME") {
        return PathBuf::from(p).join("hub");
    }
    Cache::default().path().clone()
}

impl HubModel {
    pub fn new(repo: &str) -> Self {
        Self { repo: repo.into(), revision: "main".into(), cache_dir: default_cache_dir(), allow_network: false }
    }

    fn repo(&self) -> Repo {
        Repo::with_revision(self.repo.clone(), RepoType::Model, self.revision.clone())
    }

    /// The cached path of `file`, fetching it first when the network is allowed.
    pub fn get(&self, file: &str) -> Result<PathBuf> {
        let cache = Cache::new(self.cache_dir.clone());
        if let Some(p) = cache.repo(self.repo()).get(file) {
            return Ok(p);
        }
        // A commit hash as revision has no `refs/` entry: look in its snapshot directly.
        let direct = self
            .cache_dir
            .join(self.repo().folder_name())
            .join("snapshots")
            .join(&self.revision)
            .join(file);
        if direct.exists() {
            return Ok(direct);
        }
        if self.allow_network {
            return self.download(file);
        }
        Err(Error::NotInCache {
            repo: self.repo.clone(),
            revision: self.revision.clone(),
            file: file.into(),
            cache: self.cache_dir.clone(),
        })
    }

    #[cfg(feature = "download")]
    fn download(&self, file: &str) -> Result<PathBuf> {
        let api = hf_hub::api::sync::ApiBuilder::new()
            .with_cache_dir(self.cache_dir.clone())
            .build()
            .map_err(|e| Error::Download { repo: self.repo.clone(), file: file.into(), msg: e.to_string() })?;
        api.repo(self.repo())
            .get(file)
            .map_err(|e| Error::Download { repo: self.repo.clone(), file: file.into(), msg: e.to_string() })
    }

    #[cfg(not(feature = "download"))]
    fn download(&self, file: &str) -> Result<PathBuf> {
        Err(Error::Download {
            repo: self.repo.clone(),
            file: file.into(),
            msg: "this build has no network client; rebuild with `--features engine/download`".into(),
        })
    }

    /// Resolves every file a checkpoint needs and returns the snapshot directory holding them.
    pub fn snapshot_dir(&self) -> Result<PathBuf> {
        let cfg = self.get("config.json")?;
        self.get("tokenizer.json")?;
        let dir = cfg.parent().map(Path::to_path_buf).unwrap_or_default();
        match self.get("model.safetensors") {
            Ok(_) => {}
            Err(Error::NotInCache { .. }) => {
                self.get("model.safetensors.index.json")?;
                for f in crate::checkpoint::weight_files(&dir)? {
                    let name = f.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
                    self.get(&name)?;
                }
            }
            Err(e) => return Err(e),
        }
        Ok(dir)
    }
}
