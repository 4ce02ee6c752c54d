//! Long stages in resumable chunks: each chunk's output is its own atomically
//! written JSONL part, so a killed run redoes at most the chunks in flight.
use records::RunDir;
use crate::Result;
use indicatif::{ProgressBar, ProgressStyle};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// Maps `f` over `items` in chunks of `chunk`, `workers` chunks at a time, keeping
/// finished chunks as `{dir}/part_NNNNN.jsonl` in `run`, and returns all outputs in order.
#[allow(clippy::too_many_arguments)]
pub fn chunked<I: Sync, T: Serialize + DeserializeOwned + Send>(
    run: &RunDir,
    dir: &str,
    label: &str,
    items: &[I],
    chunk: usize,
    workers: usize,
    f: impl Fn(usize, &[I]) -> Result<Vec<T>> + Sync,
) -> Result<Vec<T>> {
    let chunks: Vec<(usize, &[I])> = items.chunks(chunk.max(1)).enumerate().collect();
    let part = |c: usize| format!("{dir}/part_{c:05}.jsonl");
    let bar = ProgressBar::new(items.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{prefix:>12} {bar:30} {pos}/{len} [{elapsed_precise}<{eta_precise}, {per_sec}]")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_prefix(label.to_string());
    let pending: Vec<&(usize, &[I])> = chunks.iter().filter(|(c, _)| !run.exists(&part(*c))).collect();
    bar.inc((items.len() - pending.iter().map(|(_, x)| x.len()).sum::<usize>()) as u64);
    // Work through pending chunks `workers` at a time; each chunk is saved when done.
    for group in pending.chunks(workers.max(1)) {
        let results = crate::parallel::map(workers, group, |(c, xs)| -> Result<()> {
            let out = f(*c, xs)?;
            run.write_jsonl(&part(*c), &out)?;
            bar.inc(xs.len() as u64);
            Ok(())
        });
        results.into_iter().collect::<Result<Vec<()>>>()?;
    }
    bar.finish_and_clear();
    let mut all = Vec::with_capacity(items.len());
    for (c, _) in &chunks {
        all.extend(run.read_jsonl::<T>(&part(*c))?);
    }
    Ok(all)
}
