//! The generator of the loop's sampling stages: M_t itself, or an OpenAI-compatible
//! server serving M_t (exported to GGUF and started for the stages when configured).
use crate::config::{Backend, RunConfig};
use crate::rundir::RunDir;
use crate::Result;
use engine::backend::{OpenAiCompletions, Server};
use engine::{Checkpoint, Generator};

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
