//! An OpenAI-compatible `/v1/completions` endpoint as a [`Generator`]. Prompts are sent
//! as text: the token ids decoded with their special tokens kept, which a server with
//! the same vocabulary tokenizes back into the same ids (for the embedded models' prefix
//! space too: the decoded text carries the spaces the tokenizer put in). One request per
//! continuation, up to `concurrency` at a time, each with a timeout and retries with
//! backoff; a request that still fails is a typed failure of its continuation.
use super::Generator;
use crate::sample::SampleParams;
use crate::{Error, Result, Tokenizer};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Where and how to call the server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OpenAiConfig {
    /// e.g. `http://127.0.0.1:8080/v1`.
    pub base_url: String,
    /// The model name the server expects.
    pub model: String,
    /// Environment variable holding the API key ("" for a server without one).
    pub api_key_env: String,
    /// Requests in flight at once (1..=256).
    pub concurrency: usize,
    /// Seconds per request (1..=86400).
    pub timeout_secs: u64,
    /// Attempts per request beyond the first (0..=100).
    pub retries: usize,
    /// Fields added to every request body as given, for a server's own sampling options
    /// (llama.cpp's Python server applies `repeat_penalty = 1.1` unless sent `1.0`).
    pub extra_body: serde_json::Map<String, serde_json::Value>,
}

impl Default for OpenAiConfig {
    fn default() -> Self {
        Self { base_url: "http://127.0.0.1:8080/v1".into(), model: "m".into(), api_key_env: String::new(), concurrency: 4, timeout_secs: 300, retries: 2, extra_body: Default::default() }
    }
}

impl OpenAiConfig {
    /// Every field in its range; the error names the key (under `prefix`) and the value.
    pub fn validate(&self, prefix: &str) -> std::result::Result<(), String> {
        check_endpoint(prefix, &self.base_url, &self.model, self.timeout_secs, self.retries)?;
        if !(1..=256).contains(&self.concurrency) {
            return Err(format!("`{prefix}.concurrency` = {}: must be in 1..=256", self.concurrency));
        }
        Ok(())
    }
}

/// The fields every OpenAI-compatible endpoint config has, in range; the error names the
/// key under `prefix`, the value and what is allowed.
pub fn check_endpoint(prefix: &str, base_url: &str, model: &str, timeout_secs: u64, retries: usize) -> std::result::Result<(), String> {
    let bad = |k: &str, v: &dyn std::fmt::Display, allowed: &str| Err(format!("`{prefix}.{k}` = {v}: {allowed}"));
    if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
        return bad("base_url", &format!("{base_url:?}"), "must start with http:// or https://");
    }
    if model.trim().is_empty() {
        return bad("model", &"\"\"", "must name the server's model");
    }
    if !(1..=86_400).contains(&timeout_secs) {
        return bad("timeout_secs", &timeout_secs, "must be in 1..=86400");
    }
    if retries > 100 {
        return bad("retries", &retries, "must be in 0..=100");
    }
    Ok(())
}

/// The value of the API-key variable `env` (`None` when `env` is empty, for a server
/// without a key); an unset variable is an error naming `key` (the config key) and `env`.
pub fn api_key(key: &str, env: &str) -> Result<Option<String>> {
    if env.is_empty() {
        return Ok(None);
    }
    std::env::var(env)
        .map(Some)
        .map_err(|_| Error::Invalid(format!("`{key}` = {env:?}: that environment variable is not set (export it, or set it to \"\" for a server without a key)")))
}

/// POSTs `body` as JSON to `url` with the bearer `key`, and reads the response with
/// `read`. 429, 5xx, transport errors and responses `read` refuses are retried `retries`
/// times with doubling `backoff`; other HTTP errors are final. The error names the URL,
/// never the key.
pub fn post_json<R>(
    agent: &ureq::Agent,
    url: &str,
    key: Option<&str>,
    body: &serde_json::Value,
    retries: usize,
    backoff: Duration,
    mut read: impl FnMut(ureq::Response) -> std::result::Result<R, String>,
) -> std::result::Result<R, String> {
    let mut last = String::new();
    for attempt in 0..=retries {
        if attempt > 0 {
            std::thread::sleep(backoff * 2u32.pow(attempt as u32 - 1));
        }
        let mut req = agent.post(url).set("Content-Type", "application/json");
        if let Some(k) = key {
            req = req.set("Authorization", &format!("Bearer {k}"));
        }
        match req.send_json(body.clone()) {
            Ok(resp) => match read(resp) {
                Ok(r) => return Ok(r),
                Err(e) => last = e,
            },
            Err(ureq::Error::Status(code, _)) if code == 429 || code >= 500 => last = format!("HTTP {code}"),
            Err(ureq::Error::Status(code, r)) => return Err(format!("HTTP {code} from {url}: {}", r.into_string().unwrap_or_default().chars().take(200).collect::<String>())),
            Err(e) => last = e.kind().to_string(),
        }
    }
    Err(format!("{url}: {last} after {} attempts", retries + 1))
}

/// The client; `tokenizer` is the served model's (to turn prompt ids into text).
pub struct OpenAiCompletions {
    pub cfg: OpenAiConfig,
    pub tokenizer: Tokenizer,
    key: Option<String>,
    agent: ureq::Agent,
    /// Pause before the first retry (doubles each time).
    pub backoff: Duration,
}

#[derive(Deserialize)]
struct CompletionResponse {
    choices: Vec<Choice>,
}
#[derive(Deserialize)]
struct Choice {
    #[serde(default)]
    index: usize,
    text: String,
    #[serde(default)]
    logprobs: Option<Logprobs>,
}
/// The legacy completions API's `logprobs`: per generated token, its top alternatives.
#[derive(Deserialize)]
struct Logprobs {
    #[serde(default)]
    top_logprobs: Vec<Option<std::collections::BTreeMap<String, f64>>>,
}

impl OpenAiCompletions {
    /// Refuses an invalid config, or an `api_key_env` naming an unset variable, before any request.
    pub fn new(cfg: OpenAiConfig, tokenizer: Tokenizer) -> Result<Self> {
        cfg.validate("backend.api").map_err(Error::Invalid)?;
        let key = api_key("backend.api.api_key_env", &cfg.api_key_env)?;
        let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(cfg.timeout_secs)).build();
        Ok(Self { cfg, tokenizer, key, agent, backoff: Duration::from_millis(500) })
    }

    /// The text a server tokenizes back into `ids`.
    pub fn prompt_text(&self, ids: &[u32]) -> Result<String> {
        self.tokenizer.inner.decode(ids, false).map_err(|e| Error::Tokenizer(e.to_string()))
    }

    /// One request for `n` continuations of `prompt`.
    fn complete(&self, prompt: &str, n: usize, params: &SampleParams, seed: u64) -> std::result::Result<Vec<String>, String> {
        let url = format!("{}/completions", self.cfg.base_url.trim_end_matches('/'));
        let mut stop: Vec<String> = self.tokenizer.eos_ids.iter().filter_map(|&i| self.tokenizer.inner.id_to_token(i)).collect();
        stop.extend(params.stop.iter().cloned());
        let mut body = serde_json::json!({
            "model": self.cfg.model,
            "prompt": prompt,
            "max_tokens": params.max_new_tokens,
            "temperature": params.temperature,
            "top_p": params.top_p,
            "n": n,
            "seed": seed % (1u64 << 31),
            "stop": stop,
        });
        if let Some(b) = body.as_object_mut() {
            b.extend(self.cfg.extra_body.clone());
        }
        post_json(&self.agent, &url, self.key.as_deref(), &body, self.cfg.retries, self.backoff, |resp| match resp.into_json::<CompletionResponse>() {
            Ok(mut r) if r.choices.len() == n => {
                r.choices.sort_by_key(|c| c.index);
                Ok(r.choices.into_iter().map(|c| c.text).collect())
            }
            Ok(r) => Err(format!("{} choices for n = {n}", r.choices.len())),
            Err(e) => Err(format!("unreadable response: {e}")),
        })
    }

    /// One greedy token after `prompt` with the server's `top` log-probabilities for it.
    fn next_token_logprobs(&self, prompt: &str, top: usize) -> std::result::Result<Vec<(String, f64)>, String> {
        let url = format!("{}/completions", self.cfg.base_url.trim_end_matches('/'));
        let mut body = serde_json::json!({
            "model": self.cfg.model,
            "prompt": prompt,
            "max_tokens": 1,
            "temperature": 0.0,
            "logprobs": top,
        });
        if let Some(b) = body.as_object_mut() {
            b.extend(self.cfg.extra_body.clone());
        }
        post_json(&self.agent, &url, self.key.as_deref(), &body, self.cfg.retries, self.backoff, |resp| match resp.into_json::<CompletionResponse>() {
            Ok(r) => match r.choices.into_iter().next().and_then(|c| c.logprobs).and_then(|l| l.top_logprobs.into_iter().next().flatten()) {
                Some(m) => Ok(m.into_iter().collect()),
                None => Err("no logprobs in the response (the server must support the completions API's `logprobs`)".into()),
            },
            Err(e) => Err(format!("unreadable response: {e}")),
        })
    }

    /// `f(j)` for j in 0..total, up to `concurrency` at a time, results in order.
    fn in_parallel<T: Send>(&self, total: usize, f: impl Fn(usize) -> std::result::Result<T, String> + Sync) -> Result<Vec<std::result::Result<T, String>>> {
        let next = std::sync::atomic::AtomicUsize::new(0);
        let results: std::sync::Mutex<Vec<std::result::Result<T, String>>> = std::sync::Mutex::new((0..total).map(|_| Err("not requested".into())).collect());
        std::thread::scope(|s| {
            for _ in 0..self.cfg.concurrency.min(total) {
                s.spawn(|| loop {
                    let j = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if j >= total {
                        break;
                    }
                    let r = f(j);
                    results.lock().expect("results lock")[j] = r;
                });
            }
        });
        results.into_inner().map_err(|_| Error::Invalid("a request thread panicked".into()))
    }
}

impl Generator for OpenAiCompletions {
    /// One request per continuation (`n` = 1, the continuation's own seed): servers differ
    /// in how they honour `n` (llama.cpp's Python server returns one choice).
    fn generate(&self, prompts: &[Vec<u32>], n: usize, params: &SampleParams, seeds: &[u64]) -> Result<Vec<std::result::Result<String, String>>> {
        let texts = prompts.iter().map(|p| self.prompt_text(p)).collect::<Result<Vec<_>>>()?;
        self.in_parallel(texts.len() * n, |j| self.complete(&texts[j / n], 1, params, seeds.get(j).copied().unwrap_or(j as u64)).map(|mut v| v.remove(0)))
    }

    fn top_logprobs(&self, prompts: &[Vec<u32>], top: usize) -> Result<Option<Vec<std::result::Result<Vec<(String, f64)>, String>>>> {
        let texts = prompts.iter().map(|p| self.prompt_text(p)).collect::<Result<Vec<_>>>()?;
        Ok(Some(self.in_parallel(texts.len(), |j| self.next_token_logprobs(&texts[j], top))?))
    }

    fn identity(&self) -> String {
        format!("openai:{}|{}", self.cfg.base_url, self.cfg.model)
    }
}
