//! A remote judge behind an OpenAI-compatible `/v1/chat/completions` endpoint.
//!
//! The API key is read from the environment variable the config names, sent only in
//! the `Authorization` header and never logged. Each call has a timeout and is retried
//! with backoff; a call that still fails is a typed `JudgeFailure::Backend`, never a tie
//! or a made-up score. Plain `http://` works out of the box; `https://` needs the
//! `tls` feature of this crate.
use engine::judge::{aggregate, parse_score, Judge, JudgeFailure, JudgePrompt, Judgment};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Where and how to call the remote judge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RemoteConfig {
    /// e.g. `https://api.openai.com/v1` or `http://127.0.0.1:8000/v1`.
    pub base_url: String,
    pub model: String,
    /// Name of the environment variable that holds the API key (empty: no key).
    pub api_key_env: String,
    pub prompt: JudgePrompt,
    /// Judgments sampled per response and averaged.
    pub samples: usize,
    pub temperature: f64,
    pub max_tokens: usize,
    pub timeout_secs: u64,
    /// Attempts per call beyond the first.
    pub retries: usize,
}

impl Default for RemoteConfig {
    fn default() -> Self {
        Self {
            base_url: "http://127.0.0.1:8000/v1".into(),
            model: "gpt-4".into(),
            api_key_env: "OPENAI_API_KEY".into(),
            prompt: JudgePrompt::Paper,
            samples: 1,
            temperature: 0.0,
            max_tokens: 256,
            timeout_secs: 60,
            retries: 3,
        }
    }
}

/// A judge that scores each response by asking the endpoint of its [`RemoteConfig`].
pub struct RemoteJudge {
    pub cfg: RemoteConfig,
    agent: ureq::Agent,
    /// Pause before the first retry (doubles each time).
    pub backoff: Duration,
}

#[derive(Deserialize)]
struct ChatResponse {
    choices: Vec<Choice>,
}
#[derive(Deserialize)]
struct Choice {
    message: Message,
}
#[derive(Deserialize)]
struct Message {
    content: String,
}

impl RemoteJudge {
    /// Refuses an `api_key_env` naming an unset variable before any request (set it to
    /// `""` for a server without a key).
    pub fn new(cfg: RemoteConfig) -> crate::Result<Self> {
        engine::backend::api_key("judge.api_key_env", &cfg.api_key_env)?;
        let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(cfg.timeout_secs)).build();
        Ok(Self { cfg, agent, backoff: Duration::from_millis(500) })
    }

    /// One chat completion; the error says what failed without echoing the key.
    fn complete(&self, content: &str) -> Result<String, String> {
        let url = format!("{}/chat/completions", self.cfg.base_url.trim_end_matches('/'));
        let body = serde_json::json!({
            "model": self.cfg.model,
            "messages": [{"role": "user", "content": content}],
            "temperature": self.cfg.temperature,
            "max_tokens": self.cfg.max_tokens,
        });
        let key = engine::backend::api_key("judge.api_key_env", &self.cfg.api_key_env).map_err(|e| e.to_string())?;
        engine::backend::post_json(&self.agent, &url, key.as_deref(), &body, self.cfg.retries, self.backoff, |resp| match resp.into_json::<ChatResponse>() {
            Ok(r) => r.choices.into_iter().next().map(|c| c.message.content).ok_or_else(|| "response has no choices".to_string()),
            Err(e) => Err(format!("unreadable response: {e}")),
        })
    }
}

impl Judge for RemoteJudge {
    /// The backend, model, prompt text and sampling: the judgment cache keys on all of them.
    fn name(&self) -> String {
        let prompt = self.cfg.prompt.template().unwrap_or_default();
        format!(
            "remote:{}|{}|prompt {:016x}|t {} max {}",
            self.cfg.base_url,
            self.cfg.model,
            world::split::stable_hash(&prompt),
            self.cfg.temperature,
            self.cfg.max_tokens
        )
    }

    fn judge(&mut self, items: &[(String, String)]) -> Vec<Result<Judgment, JudgeFailure>> {
        let template = match self.cfg.prompt.template() {
            Ok(t) => t,
            Err(e) => return items.iter().map(|_| Err(JudgeFailure::Backend(e.to_string()))).collect(),
        };
        items
            .iter()
            .map(|(i, r)| {
                let prompt = engine::judge::fill(&template, i, r);
                let mut samples = vec![];
                let mut texts = vec![];
                for _ in 0..self.cfg.samples.max(1) {
                    let text = self.complete(&prompt).map_err(JudgeFailure::Backend)?;
                    samples.push(parse_score(&text, 5.0));
                    texts.push(text);
                }
                aggregate(samples, texts)
            })
            .collect()
    }
}
