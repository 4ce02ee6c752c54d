//! IFEval's prompt and response files on any text: parsed prompts (every instruction's
//! arguments checked) or an error naming the line; the parsed prompts are then scored
//! strictly and loosely against responses cut from the same text, so every checker sees
//! fuzzed arguments and fuzzed responses; never a panic.
#![no_main]
use eval::ifeval::{data, evaluate, Mode};
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|text: &str| {
    let p = Path::new("fuzz.jsonl");
    let _ = data::parse_responses(text, p);
    let Ok(prompts) = data::parse_prompts(text, p) else { return };
    // Responses: the prompt text itself, the whole input, and an empty one, in turn.
    let responses: Vec<&str> = prompts
        .iter()
        .enumerate()
        .map(|(i, q)| match i % 3 { 0 => q.prompt.as_str(), 1 => text, _ => "" })
        .collect();
    for mode in [Mode::Strict, Mode::Loose] {
        let results = evaluate(&prompts, &responses, mode);
        assert_eq!(results.len(), prompts.len());
    }
});
