//! AlpacaEval's files (model outputs, annotations, leaderboard CSVs) on any text: rows or
//! an error naming the line or element; never a panic. Read annotations' preferences also
//! go through the win-rate computation.
#![no_main]
use eval::alpaca::{parse_json_array, Annotation, ModelOutput};
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|text: &str| {
    let p = Path::new("fuzz.json");
    let _ = parse_json_array::<ModelOutput>(text, p);
    if let Ok(rows) = parse_json_array::<Annotation>(text, p) {
        let prefs: Vec<f64> = rows.iter().filter_map(|a| a.preference.as_ref().map(|p| p.0)).collect();
        let _ = eval::winrate::win_rate(&prefs);
    }
    let _ = eval::leaderboard::parse_csv(text, Path::new("fuzz.csv"));
});
