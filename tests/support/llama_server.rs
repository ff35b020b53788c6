//! A real local model server for the tests and the judge's benchmark: installs llama.cpp's
//! `llama-server` and Qwen2.5-Coder-0.5B-Instruct with `scripts/setup-llm.sh` (the first
//! run builds the server, 5–12 minutes; later runs only verify) and serves the model on
//! loopback until dropped. `CARGO_MIGRATE_LLM_DIR` installs into another directory than
//! the script's default `target/llm` (e.g. to share one install between work trees).
//!
//! Shared by `tests/llm_real.rs` and `benches/judge_eval.rs` through `#[path]`.
#![allow(dead_code)] // each includer uses part of it

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The name the model is served under (`--alias`), which clients pass as the model.
pub const ALIAS: &str = "qwen2.5-coder-0.5b";
/// How long the server may take to answer `/health` after it was started.
pub const HEALTH_DEADLINE: Duration = Duration::from_secs(60);

/// The running `llama-server`; killed when dropped, also when the caller panics.
pub struct Server {
    child: Option<Child>,
    log: PathBuf,
    /// The loopback port it listens on.
    pub port: u16,
}

impl Server {
    /// Stops the server (idempotent).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// What the server wrote so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Its base URL, `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Runs `scripts/setup-llm.sh` (into `CARGO_MIGRATE_LLM_DIR` when set) and returns the
/// paths of the server binary and the model file. Panics, with the script's own messages
/// above, if the install fails.
pub fn install() -> (PathBuf, PathBuf) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut command = Command::new("bash");
    command.arg(root.join("scripts/setup-llm.sh")).current_dir(root).stderr(Stdio::inherit());
    if let Some(dir) = std::env::var_os("CARGO_MIGRATE_LLM_DIR") {
        command.arg(dir);
    }
    let started = Instant::now();
    let output = command.output().expect("run scripts/setup-llm.sh");
    assert!(output.status.success(), "step 1 of 3, install: scripts/setup-llm.sh failed ({}); its messages above name the step", output.status);
    let stdout = String::from_utf8(output.stdout).unwrap();
    let value = |name: &str| {
        let line = stdout.lines().find_map(|l| l.strip_prefix(&format!("{name}="))).unwrap_or_else(|| panic!("no `{name}=` line in: {stdout}"));
        PathBuf::from(line.trim())
    };
    let (server, model) = (value("server"), value("model"));
    eprintln!("setup-llm.sh: {:.1?} (server {}, model {})", started.elapsed(), server.display(), model.display());
    assert!(server.is_file() && model.is_file(), "{} / {}", server.display(), model.display());
    (server, model)
}

/// A port on loopback that nothing listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// `GET /health` on loopback: true when the server answers 200.
pub fn healthy(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else { return false };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    if stream.write_all(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").is_err() {
        return false;
    }
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    response.starts_with("HTTP/1.1 200")
}

/// Starts `server` with `model` on a free loopback port, one slot of `context` tokens, as
/// many threads as cores, serving it as `alias`; waits until `/health` answers. The
/// server's output goes to `log_dir/llama-server.log`. Panics (with the log) if it exits
/// or is not ready within [`HEALTH_DEADLINE`].
pub fn start(server: &Path, model: &Path, alias: &str, context: u32, log_dir: &Path) -> Server {
    let port = free_port();
    let log = log_dir.join("llama-server.log");
    let log_file = std::fs::File::create(&log).unwrap();
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
    let child = Command::new(server)
        .arg("-m")
        .arg(model)
        .args(["--host", "127.0.0.1", "--port", &port.to_string(), "-c", &context.to_string(), "-t", &threads.to_string()])
        .args(["--parallel", "1", "--alias", alias])
        .stdin(Stdio::null())
        .stdout(log_file.try_clone().unwrap())
        .stderr(log_file)
        .spawn()
        .unwrap_or_else(|e| panic!("start {}: {e}", server.display()));
    let mut running = Server { child: Some(child), log, port };
    let started = Instant::now();
    loop {
        if healthy(port) {
            eprintln!("llama-server ready on port {port} after {:.1?}", started.elapsed());
            return running;
        }
        if let Some(status) = running.child.as_mut().unwrap().try_wait().unwrap() {
            panic!("step 2 of 3, start: llama-server exited ({status}) before it was ready.{}\n{}", exit_hint(status, server), running.log());
        }
        if started.elapsed() > HEALTH_DEADLINE {
            let log = running.log();
            running.stop();
            panic!("step 2 of 3, start: llama-server not ready after {HEALTH_DEADLINE:?}:\n{log}");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// What an early exit of the server most likely means, for the panic message.
fn exit_hint(status: std::process::ExitStatus, server: &Path) -> String {
    use std::os::unix::process::ExitStatusExt;
    match status.signal() {
        Some(4) => format!(
            " SIGILL: {} was built with CPU instructions this machine cannot execute. \
             scripts/setup-llm.sh builds portably (the flags it used are in llama-build-flags beside \
             the venv) and rebuilds when they change; delete that directory to force a rebuild.",
            server.display()
        ),
        Some(signal) => format!(" Killed by signal {signal}."),
        None => String::new(),
    }
}
