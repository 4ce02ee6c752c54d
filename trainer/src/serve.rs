//! Where the loop samples (the `backend` config) and the generator of its sampling stages:
//! M_t itself, or an OpenAI-compatible server serving M_t (exported to GGUF and started
//! for the stages when configured).
use crate::config::RunConfig;
use records::RunDir;
use crate::Result;
use engine::backend::{OpenAiCompletions, Server};
use engine::{Checkpoint, Generator};
use serde::{Deserialize, Serialize};

/// Where the loop's new prompts (when M_t writes them), candidates and sampled
/// self-judgments are generated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case", tag = "type", deny_unknown_fields)]
pub enum Backend {
    /// This engine on M_t.
    #[default]
    Local,
    /// An OpenAI-compatible `/v1/completions` server (vLLM, llama.cpp, TGI, SGLang). With
    /// `serve`, the loop exports M_t and starts the server for the stages, then stops it;
    /// without, it must already be serving the current M_t. Expected-score judging reads
    /// the server's top log-probabilities (`logprobs`) after `Score:`.
    Openai {
        api: engine::backend::OpenAiConfig,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        serve: Option<engine::backend::ServeConfig>,
    },
}

impl Backend {
    /// `local` or `openai`: what the results depend on (where the server is and how it is
    /// called may change between resumes).
    pub fn kind(&self) -> &'static str {
        match self {
            Backend::Local => "local",
            Backend::Openai { .. } => "openai",
        }
    }
}

/// A server connection for iteration `t`, with the server process if the loop started it.
pub struct Remote {
    pub client: OpenAiCompletions,
    pub server: Option<Server>,
}

/// Connects to the configured server for M_t (starting it if `serve` says how); `None`
/// for the local backend.
pub fn connect(cfg: &RunConfig, run: &RunDir, t: usize, model: &Checkpoint) -> Result<Option<Remote>> {
    let Backend::Openai { api, serve } = &cfg.backend else { return Ok(None) };
    let client = OpenAiCompletions::new(api.clone(), model.tokenizer.clone())?;
    let server = match serve {
        None => None,
        Some(sv) => {
            let gguf = run.path(&format!("{}/work/m{t}.gguf", run.iter(t)));
            engine::gguf::export(model, &gguf, sv.gguf_type)?;
            let log = run.path(&format!("{}/work/server.log", run.iter(t)));
            tracing::info!("starting the server for M{t}");
            Some(Server::start(sv, &gguf, &run.model(t), &api.base_url, &log)?)
        }
    };
    Ok(Some(Remote { client, server }))
}

/// What generates: the remote client if there is one, else the model.
pub fn generator<'a>(remote: &'a Option<Remote>, model: &'a Checkpoint) -> &'a dyn Generator {
    match remote {
        Some(r) => &r.client,
        None => model,
    }
}
