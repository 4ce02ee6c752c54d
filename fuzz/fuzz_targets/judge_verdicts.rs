//! The judges' verdict parsers on any text: a score is finite and in 0..=5, or a typed
//! failure; never a panic.
#![no_main]
use engine::judge::{parse_preference, parse_score};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Ok(s) = parse_score(text, 5.0) {
        assert!(s.is_finite() && (0.0..=5.0).contains(&s), "score {s} from {text:?}");
    }
    let _ = parse_preference(text);
});
