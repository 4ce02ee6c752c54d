//! `bench matmul`: square f32 matmul GFLOP/s, the machine's reachable peak for the
//! model FLOP/s ratio.
use crate::args::Matmul;
use anyhow::Result;
use candle_core::{Device, Tensor};
use serde_json::{json, Value};
use std::time::Instant;

/// `n × n` by `n × n` products for at least `seconds` (and 3 products), after 3 warm-ups.
pub fn run(a: &Matmul) -> Result<Value> {
    let Matmul { n, seconds } = *a;
    let x = Tensor::randn(0f32, 1.0, (n, n), &Device::Cpu)?;
    let y = Tensor::randn(0f32, 1.0, (n, n), &Device::Cpu)?;
    for _ in 0..3 {
        x.matmul(&y)?;
    }
    let (t0, mut k) = (Instant::now(), 0usize);
    while k < 3 || t0.elapsed().as_secs_f64() < seconds {
        x.matmul(&y)?;
        k += 1;
    }
    let gflops = 2.0 * (n as f64).powi(3) * k as f64 / t0.elapsed().as_secs_f64() / 1e9;
    Ok(json!({"matmul_gflops": gflops, "n": n}))
}
