//! The run folder's JSONL readers on any text, as every record type the loop reads back:
//! records or an error naming the line; never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::path::Path;
use trainer::rundir::parse_jsonl;

fuzz_target!(|text: &str| {
    let p = Path::new("fuzz.jsonl");
    let _ = parse_jsonl::<world::records::PromptRecord>(text, p);
    let _ = parse_jsonl::<world::records::IftExample>(text, p);
    let _ = parse_jsonl::<world::records::EftExample>(text, p);
    let _ = parse_jsonl::<trainer::candidates::CandidateSet>(text, p);
    let _ = parse_jsonl::<trainer::selfjudge::Judged>(text, p);
    let _ = parse_jsonl::<trainer::pairs::Pair>(text, p);
    if let Err(e) = parse_jsonl::<serde_json::Value>(text, p) {
        assert!(e.to_string().contains("fuzz.jsonl: line "), "{e}");
    }
});
