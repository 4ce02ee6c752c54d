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
        let url = format!("{}/models", base_url.trim_end_matches('/'));
        let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(2)).build();
        // Whatever already answers there is not the server about to serve this M_t (one left
        // by another run, say): the stage would silently use the wrong model.
        if agent.get(&url).call().is_ok() {
            return Err(Error::Invalid(format!(
                "something already answers {url}: it would be used instead of the server this stage starts for its model; stop it or set backend.serve.port (and base_url) to a free port"
            )));
        }
        let out = std::fs::File::create(log).map_err(|e| Error::io(log, e))?;
        let err = out.try_clone().map_err(|e| Error::io(log, e))?;
        let mut cmd = Command::new("sh");
        cmd.arg("-c").arg(format!("exec {command}")).stdin(Stdio::null()).stdout(out).stderr(err);
        die_with_parent(&mut cmd);
        let child = cmd.spawn().map_err(|e| Error::Invalid(format!("server command `{command}`: {e}")))?;
        let mut server = Server { child, command };
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

/// The server is killed when the thread that started it ends, however it ends (a run
/// killed with SIGKILL runs no destructor): otherwise it would outlive the run, keep its
/// port, and answer the resumed run with the old model. Linux only (`PR_SET_PDEATHSIG`);
/// elsewhere the port check in [`Server::start`] still refuses a leftover server.
pub fn die_with_parent(cmd: &mut Command) {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::process::CommandExt;
        // SAFETY: prctl is async-signal-safe and touches no memory of the parent.
        unsafe {
            cmd.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = cmd;
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}
