//! Loaders for the public judgment data used to prove the agreement metrics.
use crate::winrate::Verdict;
use crate::leaderboard::read_csv;
use crate::{Error, Result};
use std::path::Path;

/// One MT-Bench vote: a human's and GPT-4's verdict on the same pair of answers.
#[derive(Debug, Clone, PartialEq)]
pub struct MtBenchVote {
    pub question_id: u32,
    pub turn: u32,
    pub human: Verdict,
    pub gpt4: Verdict,
}

fn vote(s: &str) -> Option<Verdict> {
    match s.trim() {
        "model_a" => Some(Verdict::A),
        "model_b" => Some(Verdict::B),
        s if s.starts_with("tie") => Some(Verdict::Tie), // "tie", "tie (inconsistent)"
        _ => None,
    }
}

/// Reads `human_vs_gpt4pair_slim.csv`; a bad row names its line and column.
pub fn load_mtbench(path: &Path) -> Result<Vec<MtBenchVote>> {
    let (header, rows) = read_csv(path)?;
    let col = |n: &str| header.iter().position(|h| h == n).ok_or_else(|| Error::Parse { path: path.into(), loc: "line 1".into(), msg: format!("no column `{n}`") });
    let (q, t, h, g) = (col("question_id")?, col("turn")?, col("human_winner")?, col("gpt4_pair_winner")?);
    rows.iter()
        .enumerate()
        .filter(|(_, r)| r.len() > 1)
        .map(|(i, r)| {
            let bad = |c: &str| Error::Parse { path: path.into(), loc: format!("line {}", i + 2), msg: format!("bad `{c}`: {:?}", r) };
            Ok(MtBenchVote {
                question_id: r[q].parse().map_err(|_| bad("question_id"))?,
                turn: r[t].parse().map_err(|_| bad("turn"))?,
                human: vote(&r[h]).ok_or_else(|| bad("human_winner"))?,
                gpt4: vote(&r[g]).ok_or_else(|| bad("gpt4_pair_winner"))?,
            })
        })
        .collect()
}

/// One Open Assistant message with two or more human-ranked replies.
#[derive(Debug, Clone, PartialEq)]
pub struct OaGroup {
    /// The message the replies answer (only that message, not the conversation above it).
    pub prompt: String,
    /// `(reply text, rank)`, rank 0 = best.
    pub replies: Vec<(String, u32)>,
}

/// The human-ranked reply groups of Open Assistant message trees (`rank` 0 = best):
/// per group, `(reply text, rank)`. Only groups with two or more ranked replies.
pub fn load_oa_groups(path: &Path) -> Result<Vec<Vec<(String, u32)>>> {
    Ok(load_oa_ranked(path)?.into_iter().map(|g| g.replies).collect())
}

/// [`load_oa_groups`] with the message each group answers.
pub fn load_oa_ranked(path: &Path) -> Result<Vec<OaGroup>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let mut out = vec![];
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let v: serde_json::Value = serde_json::from_str(line).map_err(|e| Error::Parse { path: path.into(), loc: format!("line {}", i + 1), msg: e.to_string() })?;
        walk(&v["prompt"], &mut out);
    }
    Ok(out)
}

fn walk(msg: &serde_json::Value, out: &mut Vec<OaGroup>) {
    let replies = msg["replies"].as_array().cloned().unwrap_or_default();
    let ranked: Vec<(String, u32)> = replies
        .iter()
        .filter_map(|r| {
            let rank = match &r["rank"] {
                serde_json::Value::String(s) => s.parse().ok()?,
                serde_json::Value::Number(n) => n.as_u64()? as u32,
                _ => return None,
            };
            Some((r["text"].as_str()?.to_string(), rank))
        })
        .collect();
    if ranked.len() >= 2 {
        out.push(OaGroup { prompt: msg["text"].as_str().unwrap_or_default().to_string(), replies: ranked });
    }
    for r in &replies {
        walk(r, out);
    }
}
