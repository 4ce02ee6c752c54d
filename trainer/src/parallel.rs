//! Using both cores: independent jobs side by side, each single-threaded.
//!
//! On a 2-core machine candle runs a small model faster on one thread than on two
//! (its thread barriers spin), so the loop parallelises across jobs instead.

/// Makes candle's kernels single-threaded unless the user chose a thread count.
pub fn one_thread_per_job() {
    if std::env::var_os("RAYON_NUM_THREADS").is_none() {
        // Set before any worker thread exists (called at the start of a run).
        std::env::set_var("RAYON_NUM_THREADS", "1");
    }
}

/// Maps `f` over `items` with up to `workers` threads, keeping order.
pub fn map<T: Sync, R: Send>(workers: usize, items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    if workers < 2 || items.len() < 2 {
        return items.iter().map(f).collect();
    }
    let chunk = items.len().div_ceil(workers);
    std::thread::scope(|s| {
        let f = &f;
        let handles: Vec<_> = items.chunks(chunk).map(|c| s.spawn(move || c.iter().map(f).collect::<Vec<R>>())).collect();
        handles
            .into_iter()
            .flat_map(|h| match h.join() {
                Ok(r) => r,
                Err(p) => std::panic::resume_unwind(p),
            })
            .collect()
    })
}
