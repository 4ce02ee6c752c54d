//! The command-line flags that pick a run and its config (`srlm`'s global options), and
//! the [`RunConfig`] they resolve to: a profile, then a TOML file, then single keys.
use crate::config::{Profile, RunConfig};
use crate::Result;
use std::path::PathBuf;

/// Which run, and how its config is made.
#[derive(Debug, Clone, clap::Args)]
pub struct RunArgs {
    /// Starting values: default (embedded, minutes on 2 CPU cores), paper, or smoke (seconds).
    #[arg(long, value_enum, default_value = "default", global = true)]
    pub profile: Profile,
    /// TOML file overriding the profile (see `srlm config` for every key).
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    /// Override one key, e.g. `--set sft.steps=200 --set iterate.n_candidates=4`.
    #[arg(long = "set", global = true)]
    pub overrides: Vec<String>,
    /// Run name (folder under runs_dir); overrides the config's `name`.
    #[arg(long, global = true)]
    pub name: Option<String>,
    /// Iterations to run (overrides `iterate.iterations`).
    #[arg(long, global = true)]
    pub iters: Option<usize>,
}

impl RunArgs {
    /// The overrides in the order they apply: `--set` ones, then `--name`, then `--iters`.
    pub fn all_overrides(&self) -> Vec<String> {
        let mut sets = self.overrides.clone();
        sets.extend(self.name.as_ref().map(|n| format!("name=\"{n}\"")));
        sets.extend(self.iters.map(|i| format!("iterate.iterations={i}")));
        sets
    }

    /// The resolved, validated config ([`RunConfig::resolve`]).
    pub fn resolve(&self) -> Result<RunConfig> {
        RunConfig::resolve(self.profile, self.config.as_deref(), &self.all_overrides())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        run: RunArgs,
    }

    /// `--name` and `--iters` win over `--set` and the profile.
    #[test]
    fn name_and_iters_are_the_last_overrides() {
        let cli = Cli::parse_from(["srlm", "--profile", "smoke", "--set", "name=\"a\"", "--set", "iterate.iterations=5", "--name", "b", "--iters", "2"]);
        assert_eq!(cli.run.all_overrides(), ["name=\"a\"", "iterate.iterations=5", "name=\"b\"", "iterate.iterations=2"]);
        let cfg = cli.run.resolve().unwrap();
        assert_eq!((cfg.name.as_str(), cfg.iterate.iterations), ("b", 2));
    }
}
