//! The run folder (`runs/<name>/`) as one type, [`RunDir`], and the records it holds:
//! what the loop writes per iteration ([`iteration`]), what the evaluation writes
//! ([`evaluation`]), each stage's record of what made it ([`Provenance`]). The trainer,
//! the evaluation and the analysis all read and write runs through this crate; it does
//! not depend on candle, so reading a run builds nothing heavy.
pub mod error;
pub mod evaluation;
pub mod fs;
pub mod iteration;
mod nan;
pub mod provenance;
pub mod rundir;

pub use error::{Error, Result};
pub use evaluation::{EvalSummary, FamilyStats, HeadToHeadRow, HumanJudgeRow, IfevalFigures, JudgeMetrics, JudgeScore, OwnJudging, TestScore};
pub use fs::{parse_jsonl, read_json, read_jsonl, write_atomic, write_json, write_jsonl};
pub use iteration::{CandidateSet, IterSummary, Judged, Metrics, Pair, Progress};
pub use provenance::{digest, digest_path, Provenance};
pub use rundir::{RunDir, RunLock};
