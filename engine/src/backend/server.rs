//! An inference server the loop starts for a stage and stops after it: a command
//! template (`{gguf}`, `{hf_dir}`, `{port}` filled in), run with `sh -c exec ...`, ready
//! when `{base_url}/models` answers; stopped (killed) when dropped.
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How to serve M_t.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServeConfig {
    /// e.g. `.venv-llamacpp/bin/python -m llama_cpp.server --model {gguf} --port {port}`
    /// or `vllm serve {hf_dir} --port {port}`.
    pub command: String,
    /// The port filled into `{port}` (and expected in the backend's `base_url`).
    pub port: u16,
    /// How M_t's weight matrices are stored in the GGUF file served (`f32`, `f16`, `q8_0`).
    pub gguf_type: crate::gguf::GgufType,
    /// Seconds to wait for the server to answer (1..=3600).
    pub startup_timeout_secs: u64,
}

impl Default for ServeConfig {
    fn default() -> Self {
        Self {
            command: ".venv-llamacpp/bin/python -m llama_cpp.server --model {gguf} --port {port} --n_ctx 2048".into(),
            port: 8080,
            gguf_type: crate::gguf::GgufType::F32,
            startup_timeout_secs: 120,
        }
    }
}

/// A running server; killed when dropped.
pub struct Server {
    child: Child,
    pub command: String,
}

impl Server {
    /// Starts `cfg.command` for the model at `gguf` / `hf_dir` and waits until
    /// `{base_url}/models` answers; its output goes to `log`.
    pub fn start(cfg: &ServeConfig, gguf: &Path, hf_dir: &Path, base_url: &str, log: &Path) -> Result<Self> {
        let command = cfg
            .command
            .replace("{gguf}", &gguf.display().to_string())
            .replace("{hf_dir}", &hf_dir.display().to_string())
            .replace("{port}", &cfg.port.to_string());
        let out = std::fs::File::create(log).map_err(|e| Error::io(log, e))?;
        let err = out.try_clone().map_err(|e| Error::io(log, e))?;
        let child = Command::new("sh")
            .arg("-c")
            .arg(format!("exec {command}"))
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|e| Error::Invalid(format!("server command `{command}`: {e}")))?;
        let mut server = Server { child, command };
        let url = format!("{}/models", base_url.trim_end_matches('/'));
        let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(2)).build();
        let t0 = Instant::now();
        loop {
            if let Some(status) = server.child.try_wait().map_err(|e| Error::Invalid(e.to_string()))? {
                let tail = std::fs::read_to_string(log).unwrap_or_default();
                let tail: String = tail.lines().rev().take(15).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join("\n");
                return Err(Error::Invalid(format!("server `{}` exited ({status}) before answering; its log {}:\n{tail}", server.command, log.display())));
            }
            if agent.get(&url).call().is_ok() {
                return Ok(server);
            }
            if t0.elapsed() > Duration::from_secs(cfg.startup_timeout_secs) {
                return Err(Error::Invalid(format!("server `{}` did not answer {url} within {} s (log {})", server.command, cfg.startup_timeout_secs, log.display())));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Stops the server now (also done on drop).
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}
