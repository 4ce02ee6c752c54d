//! Language identification as Google's checks call it: `langdetect.detect(text)` with
//! `DetectorFactory.seed = 0`, through the `langdetect` crate, a bit-for-bit port of
//! Python's `langdetect` 1.0.9 (same 55 profiles, same Mersenne Twister walk).
use langdetect::{DetectorFactory, Seed};
use std::sync::OnceLock;

fn factory() -> &'static DetectorFactory {
    static F: OnceLock<DetectorFactory> = OnceLock::new();
    F.get_or_init(|| {
        let mut f = DetectorFactory::builtin().clone();
        f.seed = Seed::Int(0);
        f
    })
}

/// The detected ISO 639-1 code (`zh-cn` style for Chinese), or `None` where
/// `langdetect` raises (no features in the text), which Google's checks count as
/// followed.
pub fn detect(text: &str) -> Option<String> {
    factory().detect(text).ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn detects_common_languages_and_none_without_features() {
        assert_eq!(super::detect("This is plainly an English sentence about the weather.").as_deref(), Some("en"));
        assert_eq!(super::detect("Das ist ein ganz normaler deutscher Satz über das Wetter.").as_deref(), Some("de"));
        assert_eq!(super::detect("12345 !!!"), None);
    }
}
