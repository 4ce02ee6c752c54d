//! Batched sampling with a KV cache: left-padded prompts of different lengths,
//! temperature, top-p, a token budget, stop strings, EOS, and one seeded RNG per row.
use crate::model::{step_inputs, KvCache, Llama};
use crate::tokenizer::Tokenizer;
use crate::Result;
use candle_core::{DType, Tensor};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// How to sample.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SampleParams {
    /// Softmax temperature; 0 means greedy.
    pub temperature: f64,
    /// Nucleus sampling: keep the smallest set of tokens whose probability reaches this.
    pub top_p: f64,
    /// Most tokens to generate per sequence.
    pub max_new_tokens: usize,
    /// Generation ends at the first of these strings, which is cut from the text.
    #[serde(default)]
    pub stop: Vec<String>,
}

impl Default for SampleParams {
    fn default() -> Self {
        Self { temperature: 0.7, top_p: 0.9, max_new_tokens: 128, stop: vec![] }
    }
}

/// Why a sequence ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Finish {
    Eos,
    Stop,
    Length,
}

/// One sampled continuation.
#[derive(Debug, Clone, PartialEq)]
pub struct Generation {
    pub text: String,
    pub tokens: Vec<u32>,
    pub finish: Finish,
}

/// Picks a token from one row of logits.
pub fn sample_token(logits: &[f32], params: &SampleParams, rng: &mut ChaCha8Rng) -> u32 {
    if params.temperature <= 0.0 {
        return argmax(logits);
    }
    let inv_t = 1.0 / params.temperature as f32;
    let max = logits.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
    let mut e: Vec<f32> = logits.iter().map(|&l| (l - max) * inv_t).collect();
    let total = crate::ops::exp::exp_sum(&mut e, 0.0);
    let mut probs: Vec<(u32, f32)> = e.iter().enumerate().map(|(i, &p)| (i as u32, p / total)).collect();
    if params.top_p < 1.0 {
        nucleus(&mut probs, params.top_p as f32);
    }
    let mass: f32 = probs.iter().map(|p| p.1).sum();
    let mut u = rng.gen::<f32>() * mass;
    for (id, p) in &probs {
        if u < *p {
            return *id;
        }
        u -= p;
    }
    probs.last().map(|p| p.0).unwrap_or(0)
}

/// Keeps the smallest set of most probable tokens whose mass reaches `top_p`, most probable
/// first (ties by token id). The nucleus is usually a few dozen of a vocabulary of tens of
/// thousands, so the most probable `k` are selected in linear time and only they are
/// sorted, `k` growing until their mass reaches `top_p`: the same tokens, in the same order,
/// as sorting the whole vocabulary.
fn nucleus(probs: &mut Vec<(u32, f32)>, top_p: f32) {
    let order = |a: &(u32, f32), b: &(u32, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
    let mut k = 64;
    loop {
        if k < probs.len() {
            probs.select_nth_unstable_by(k, order);
        }
        let head = k.min(probs.len());
        probs[..head].sort_by(order);
        let mut cum = 0f32;
        for (i, p) in probs[..head].iter().enumerate() {
            cum += p.1;
            if cum >= top_p {
                probs.truncate(i + 1);
                return;
            }
        }
        if head == probs.len() {
            return;
        }
        k *= 8;
    }
}

fn argmax(xs: &[f32]) -> u32 {
    let mut best = 0;
    for (i, x) in xs.iter().enumerate() {
        if *x > xs[best] {
            best = i;
        }
    }
    best as u32
}

/// Samples `n` continuations of every prompt. Each prompt is prefilled once and
/// its cache shared by its `n` samples; sample `j` of prompt `i` draws from its own
/// RNG seeded with `seeds[i * n + j]`, so a row's text does not depend on its batch.
/// Returns `prompts.len() * n` generations, prompt-major.
pub fn generate(
    model: &Llama,
    tok: &Tokenizer,
    prompts: &[Vec<u32>],
    n: usize,
    params: &SampleParams,
    seeds: &[u64],
) -> Result<Vec<Generation>> {
    generate_with(model, tok, prompts, n, params, seeds, &mut |_, _| {})
}

/// [`generate`], calling `on_token(row, token)` as each row's tokens are chosen (for
/// streaming; end-of-turn tokens are not passed).
pub fn generate_with(
    model: &Llama,
    tok: &Tokenizer,
    prompts: &[Vec<u32>],
    n: usize,
    params: &SampleParams,
    seeds: &[u64],
    on_token: &mut dyn FnMut(usize, u32),
) -> Result<Vec<Generation>> {
    let nb = prompts.len();
    let b = nb * n;
    if seeds.len() != b {
        return Err(crate::Error::Invalid(format!("{} seeds for {} samples", seeds.len(), b)));
    }
    if b == 0 {
        return Ok(vec![]);
    }
    let dev = model.device();
    let max_pos = model.config().max_position_embeddings;
    let l = prompts.iter().map(|p| p.len()).max().unwrap_or(0);
    if l == 0 || l + params.max_new_tokens > max_pos {
        return Err(crate::Error::Invalid(format!(
            "prompt of {l} tokens + {} new exceeds max_position_embeddings {max_pos}, or is empty",
            params.max_new_tokens
        )));
    }
    let mut cache = KvCache::with_capacity(model.config().num_hidden_layers, l + params.max_new_tokens);
    // On CPU few-row steps read the weights packed into panels (`Packed`); CUDA's matmul
    // takes the layers as they are.
    let packed = if dev.is_cpu() { Some(model.pack()?) } else { None };
    let forward = |ids: &Tensor, pos: &Tensor, bias: &Tensor, cache: &mut KvCache| {
        model.forward_packed(packed.as_ref(), ids, pos, bias, cache, false)
    };
    // Prompts that all begin alike (a judge template's rubric) prefill their common prefix
    // once, then each its own rest, left-padded after the prefix: (nb, l - shared).
    let shared = shared_prefix(prompts);
    if shared > 0 {
        let ids = Tensor::new(&prompts[0][..shared], dev)?.unsqueeze(0)?;
        let (pos, bias) = step_inputs(&[vec![]], &[0], &[vec![true; shared]], dev, model.dtype())?;
        forward(&ids, &pos, &bias, &mut cache)?;
        // The packed path reads the prefix in place; the plain one gets copies.
        cache = if packed.is_some() { cache.share_rows(nb)? } else { cache.repeat_rows(nb)? };
    }
    let w = l - shared;
    let mut ids = Vec::with_capacity(nb * w);
    let mut ok = Vec::with_capacity(nb);
    for p in prompts {
        let pad = l - p.len();
        ids.extend(std::iter::repeat(tok.pad_id).take(pad).chain(p[shared..].iter().copied()));
        ok.push((0..w).map(|j| j >= pad).collect::<Vec<bool>>());
    }
    let ids = Tensor::from_vec(ids, (nb, w), dev)?;
    let (pos, bias) = step_inputs(&vec![vec![true; shared]; nb], &vec![shared as u32; nb], &ok, dev, model.dtype())?;
    let logits = forward(&ids, &pos, &bias, &mut cache)?;
    // Every row's keys: the shared prefix, then its own padding and tokens.
    let ok: Vec<Vec<bool>> = ok.into_iter().map(|r| std::iter::repeat(true).take(shared).chain(r).collect()).collect();
    // The packed path's samples read their prompt's cache in place; the plain one copies it.
    let mut cache = match (n > 1, &packed) {
        (false, _) => cache,
        (true, Some(_)) => cache.share_rows(n)?,
        (true, None) => cache.repeat_rows(n)?,
    };
    let mut logits = logits.to_dtype(DType::F32)?.to_vec2::<f32>()?;
    if n > 1 {
        logits = logits.into_iter().flat_map(|r| std::iter::repeat(r).take(n)).collect();
    }
    let mut key_ok: Vec<Vec<bool>> = ok.iter().flat_map(|r| std::iter::repeat(r.clone()).take(n)).collect();
    let mut next_pos: Vec<u32> = prompts.iter().flat_map(|p| std::iter::repeat(p.len() as u32).take(n)).collect();
    let mut rngs: Vec<ChaCha8Rng> = seeds.iter().map(|s| ChaCha8Rng::seed_from_u64(*s)).collect();
    let mut out: Vec<Vec<u32>> = vec![vec![]; b];
    let mut done: Vec<Option<Finish>> = vec![None; b];
    for step in 0..params.max_new_tokens {
        let mut next = vec![tok.pad_id; b];
        for r in 0..b {
            if done[r].is_some() {
                continue;
            }
            let t = sample_token(&logits[r], params, &mut rngs[r]);
            if tok.eos_ids.contains(&t) {
                done[r] = Some(Finish::Eos);
                continue;
            }
            out[r].push(t);
            on_token(r, t);
            next[r] = t;
            if !params.stop.is_empty() && hits_stop(tok, &out[r], &params.stop)? {
                done[r] = Some(Finish::Stop);
            }
        }
        if done.iter().all(|d| d.is_some()) || step + 1 == params.max_new_tokens {
            break;
        }
        let new_ok: Vec<Vec<bool>> = done.iter().map(|d| vec![d.is_none()]).collect();
        let (pos, bias) = step_inputs(&key_ok, &next_pos, &new_ok, dev, model.dtype())?;
        let ids = Tensor::from_vec(next, (b, 1), dev)?;
        logits = forward(&ids, &pos, &bias, &mut cache)?.to_dtype(DType::F32)?.to_vec2()?;
        for r in 0..b {
            key_ok[r].push(new_ok[r][0]);
            if new_ok[r][0] {
                next_pos[r] += 1;
            }
        }
    }
    out.into_iter()
        .zip(done)
        .map(|(tokens, d)| {
            let mut text = tok.decode(&tokens)?;
            let finish = d.unwrap_or(Finish::Length);
            if let Some(cut) = params.stop.iter().filter_map(|s| text.find(s.as_str())).min() {
                text.truncate(cut);
            }
            Ok(Generation { text, tokens, finish })
        })
        .collect()
}

/// Shortest common prefix worth prefilling once: below it the separate prefill costs more
/// than it saves.
const MIN_SHARED_PREFIX: usize = 32;

/// Tokens every prompt begins with, when there are several prompts and at least
/// [`MIN_SHARED_PREFIX`] of them; each prompt keeps at least one token of its own (the
/// prefill's last position gives its first logits). 0: nothing shared.
fn shared_prefix(prompts: &[Vec<u32>]) -> usize {
    let Some((first, rest)) = prompts.split_first() else { return 0 };
    if rest.is_empty() {
        return 0;
    }
    let min_len = prompts.iter().map(|p| p.len()).min().unwrap_or(0);
    let mut n = min_len.saturating_sub(1);
    for p in rest {
        n = n.min(first.iter().zip(p).take_while(|(a, b)| a == b).count());
    }
    if n >= MIN_SHARED_PREFIX { n } else { 0 }
}

fn hits_stop(tok: &Tokenizer, tokens: &[u32], stop: &[String]) -> Result<bool> {
    // Only the tail can hold a stop string that just appeared.
    let longest = stop.iter().map(|s| s.len()).max().unwrap_or(0);
    let tail = &tokens[tokens.len().saturating_sub(longest + 2)..];
    let text = tok.decode(tail)?;
    Ok(stop.iter().any(|s| text.contains(s.as_str())))
}

#[cfg(test)]
mod nucleus_tests {
    use super::nucleus;

    /// The whole vocabulary sorted, then cut: what `nucleus` must equal.
    fn by_full_sort(mut probs: Vec<(u32, f32)>, top_p: f32) -> Vec<(u32, f32)> {
        probs.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        let mut cum = 0f32;
        for i in 0..probs.len() {
            cum += probs[i].1;
            if cum >= top_p {
                probs.truncate(i + 1);
                break;
            }
        }
        probs
    }

    #[test]
    fn nucleus_equals_sorting_the_whole_vocabulary() {
        let mut s = 7u64;
        for (v, peak) in [(50, 1.0f32), (5000, 30.0), (5000, 1.0), (49152, 8.0)] {
            // peaked (small nucleus) and flat (nucleus past the first 64 and 512) distributions,
            // with ties (values on a coarse grid)
            let raw: Vec<f32> = (0..v)
                .map(|_| {
                    s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    let u = (s >> 40) as f32 / (1u64 << 24) as f32;
                    ((u * peak).exp() * 16.0).round() / 16.0
                })
                .collect();
            let total: f32 = raw.iter().sum();
            let probs: Vec<(u32, f32)> = raw.iter().enumerate().map(|(i, x)| (i as u32, x / total)).collect();
            for top_p in [0.1f32, 0.5, 0.9, 0.999] {
                let mut got = probs.clone();
                nucleus(&mut got, top_p);
                assert_eq!(got, by_full_sort(probs.clone(), top_p), "v {v} peak {peak} top_p {top_p}");
            }
        }
    }
}
