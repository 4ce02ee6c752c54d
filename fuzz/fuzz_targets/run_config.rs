//! The run config reader on any TOML text (file then overrides): a config that passed
//! validation, whose saved TOML reads back to the same config; or an error; never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::path::Path;
use trainer::{Profile, RunConfig};

fuzz_target!(|text: &str| {
    // The first line, if it looks like `key=value`, is also tried as a --set override.
    let first = text.lines().next().unwrap_or_default().to_string();
    let overrides: Vec<String> = if first.contains('=') { vec![first] } else { vec![] };
    for profile in [Profile::Smoke, Profile::Default] {
        if let Ok(cfg) = RunConfig::resolve_text(profile, Some((Path::new("fuzz.toml"), text)), &overrides) {
            let saved = cfg.to_toml().expect("a valid config serialises");
            let back: RunConfig = toml::from_str(&saved).expect("the saved config reads back");
            assert!(back == cfg, "config changed through its saved TOML");
            back.validate().expect("the saved config validates");
        }
    }
});
