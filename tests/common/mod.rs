//! What the end-to-end tests share: commands isolated in a temporary folder, copies and
//! listings of crate folders, and a fake model server on loopback (one thread, canned
//! replies, bounded in requests and lifetime; nothing leaves 127.0.0.1).
#![allow(dead_code)] // each test binary uses part of it

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::Value;

/// One request as the server read it.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Recorded {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("request body is not JSON ({e}): {}", self.body))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The text of the last message (the user prompt), in either wire format.
    pub fn user_prompt(&self) -> String {
        let body = self.json();
        let messages = body["messages"].as_array().expect("messages");
        messages.last().expect("a message")["content"].as_str().expect("text content").to_string()
    }
}

/// What the server answers.
pub struct Reply {
    pub status: u16,
    pub body: String,
    pub delay: Duration,
    /// Says `Connection: keep-alive` instead of `close`, and keeps the connection open
    /// (idle, unread) until the server stops, as a real server does.
    pub keep_alive: bool,
}

impl Reply {
    pub fn ok(body: String) -> Reply {
        Reply { status: 200, body, delay: Duration::ZERO, keep_alive: false }
    }
    pub fn status(status: u16, body: String) -> Reply {
        Reply { status, ..Reply::ok(body) }
    }
}

pub type Handler = dyn Fn(usize, &Recorded) -> Reply + Send + 'static;

/// A one-thread HTTP/1.1 server on 127.0.0.1: each connection carries one request, gets
/// the handler's reply and is closed. It serves at most `MAX_REQUESTS` requests and stops
/// after `LIFETIME` at the latest, or when dropped.
pub struct FakeServer {
    pub url: String,
    stop: Arc<AtomicBool>,
    requests: Arc<Mutex<Vec<Recorded>>>,
    thread: Option<JoinHandle<()>>,
}

pub const MAX_REQUESTS: usize = 8;
pub const LIFETIME: Duration = Duration::from_secs(30);

impl FakeServer {
    pub fn start(handler: impl Fn(usize, &Recorded) -> Reply + Send + 'static) -> FakeServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let stop = Arc::new(AtomicBool::new(false));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let thread = {
            let (stop, requests) = (stop.clone(), requests.clone());
            let handler: Box<Handler> = Box::new(handler);
            std::thread::spawn(move || {
                let started = Instant::now();
                let mut served = 0;
                let mut kept_alive = Vec::new();
                while served < MAX_REQUESTS && !stop.load(Ordering::SeqCst) && started.elapsed() < LIFETIME {
                    match listener.accept() {
                        Ok((stream, _)) => {
                            if let Some((request, open)) = serve(stream, served, &*handler) {
                                requests.lock().unwrap().push(request);
                                kept_alive.extend(open);
                            }
                            served += 1;
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => std::thread::sleep(Duration::from_millis(5)),
                        Err(e) => panic!("accept: {e}"),
                    }
                }
            })
        };
        FakeServer { url, stop, requests, thread: Some(thread) }
    }

    /// Stops the server and returns what it was asked.
    pub fn finish(mut self) -> Vec<Recorded> {
        self.shutdown();
        self.requests.lock().unwrap().clone()
    }

    pub fn shutdown(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            thread.join().expect("the fake server thread panicked");
        }
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Reads one request, answers it; returns the request and, for a kept-alive reply, the
/// still open connection.
pub fn serve(mut stream: TcpStream, index: usize, handler: &Handler) -> Option<(Recorded, Option<TcpStream>)> {
    stream.set_nonblocking(false).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    let header_end = loop {
        if let Some(i) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return None,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
        }
        assert!(raw.len() < 1 << 20, "request headers too large");
    };
    let head = String::from_utf8_lossy(&raw[..header_end]).to_string();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next().unwrap_or("").split(' ');
    let (method, path) = (request_line.next().unwrap_or("").to_string(), request_line.next().unwrap_or("").to_string());
    let headers: Vec<(String, String)> = lines.filter_map(|l| l.split_once(':')).map(|(n, v)| (n.trim().to_string(), v.trim().to_string())).collect();
    let length: usize = headers.iter().find(|(n, _)| n.eq_ignore_ascii_case("content-length")).map(|(_, v)| v.parse().unwrap()).unwrap_or(0);
    while raw.len() < header_end + length {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return None,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
        }
    }
    let body = String::from_utf8_lossy(&raw[header_end..header_end + length]).to_string();
    let request = Recorded { method, path, headers, body };
    let reply = handler(index, &request);
    std::thread::sleep(reply.delay);
    let reason = match reply.status {
        200 => "OK",
        401 => "Unauthorized",
        404 => "Not Found",
        _ => "Internal Server Error",
    };
    let response = format!(
        "HTTP/1.1 {} {reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: {}\r\nConnection: {}\r\n\r\n{}",
        reply.status,
        reply.body.len(),
        if reply.keep_alive { "keep-alive" } else { "close" },
        reply.body
    );
    // The client may have given up (the slow case): a failed write is expected then.
    let _ = stream.write_all(response.as_bytes());
    let _ = stream.flush();
    Some((request, reply.keep_alive.then_some(stream)))
}

/// Writes `text` at `root/rel`, creating the folders on the way.
pub fn write_file(root: &Path, rel: &str, text: impl AsRef<[u8]>) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// `cargo-migrate edition ARGS` on the crate in `dir`, colors off, building into
/// `dir/target`.
pub fn edition_in(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_cargo-migrate"))
        .args(["edition", "--color", "never", "--manifest-path"])
        .arg(dir.join("Cargo.toml"))
        .args(args)
        .env("CARGO_TARGET_DIR", dir.join("target"))
        .output()
        .unwrap()
}

/// Runs git in `root/dir`, isolated in `root` (see [`isolate`]); its trimmed stdout.
pub fn git_in(root: &Path, dir: &str, args: &[&str]) -> String {
    let mut cmd = Command::new("git");
    isolate(&mut cmd, root);
    let out = cmd.arg("-C").arg(root.join(dir)).args(args).output().unwrap();
    assert!(out.status.success(), "git {args:?} in {dir}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Makes `root/dir` a git repository on `main` with everything in it committed.
pub fn commit_all(root: &Path, dir: &str) {
    git_in(root, dir, &["init", "-q", "-b", "main"]);
    git_in(root, dir, &["add", "-A"]);
    git_in(root, dir, &["commit", "-q", "-m", "initial"]);
}

/// A copy of `examples/edition-demo` at `root/rel`.
pub fn demo_at(root: &Path, rel: &str) {
    copy_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/edition-demo"), &root.join(rel));
}

/// The sweep tests' fleet under `root/repos`: two git checkouts of the demo (`alpha`,
/// `beta`), a plain folder of it (`plain`), a repository with two workspaces, one nested,
/// and a test fixture's manifest that is no workspace (`multi`), and one without a
/// Cargo.toml (`empty`). Returns the five folders.
pub fn sweep_fleet(root: &Path) -> Vec<PathBuf> {
    demo_at(root, "repos/alpha");
    commit_all(root, "repos/alpha");
    demo_at(root, "repos/beta");
    commit_all(root, "repos/beta");
    demo_at(root, "repos/plain");
    write_file(root, "repos/multi/Cargo.toml", "[workspace]\nmembers = [\"app\"]\nresolver = \"2\"\n");
    write_file(root, "repos/multi/app/Cargo.toml", "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n");
    write_file(root, "repos/multi/app/src/lib.rs", "pub fn gen() -> u32 {\n    4\n}\n");
    // A manifest under a member's folder: a test fixture, not a workspace.
    write_file(root, "repos/multi/app/tests/fixtures/broken/Cargo.toml", "this is not toml [\n");
    write_file(root, "repos/multi/tools/Cargo.toml", "[package]\nname = \"tools\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n");
    write_file(
        root,
        "repos/multi/tools/src/main.rs",
        "extern \"C\" {\n    fn abs(x: i32) -> i32;\n}\n\nfn main() {\n    println!(\"{}\", unsafe { abs(-1) });\n}\n",
    );
    commit_all(root, "repos/multi");
    write_file(root, "repos/empty/README.md", "no Rust here\n");
    ["alpha", "beta", "plain", "multi", "empty"].iter().map(|n| root.join("repos").join(n)).collect()
}

/// Whether a copy of a crate leaves this entry out: build output and VCS data.
pub fn skipped(name: &std::ffi::OsStr) -> bool {
    name == ".git" || name == "target" || name == "Cargo.lock"
}

/// Copies a crate's folder, without build output or VCS data.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if skipped(&entry.file_name()) {
            continue;
        }
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// A fresh copy of `tests/fixtures/NAME` in a temporary folder (kept while the guard lives).
pub fn fixture_copy(name: &str) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join(name);
    copy_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name), &dest);
    (tmp, dest)
}

/// Isolates `cmd` in the test's temporary folder `tmp`: cargo builds into `tmp/target`,
/// git finds no repository above `tmp` and uses a configuration of its own there, and
/// output has no colour and no log.
pub fn isolate<'a>(cmd: &'a mut Command, tmp: &Path) -> &'a mut Command {
    cmd.env("CARGO_TARGET_DIR", tmp.join("target"))
        .env("CARGO_TERM_COLOR", "never")
        .env("GIT_CEILING_DIRECTORIES", tmp)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", tmp.join("gitconfig"))
        .env("GIT_AUTHOR_NAME", "cargo-migrate test")
        .env("GIT_AUTHOR_EMAIL", "test@example.com")
        .env("GIT_COMMITTER_NAME", "cargo-migrate test")
        .env("GIT_COMMITTER_EMAIL", "test@example.com")
        .env_remove("CARGO_MIGRATE_LOG")
        // Snapshots of help and usage text: clap's default width, no forced colour.
        .env_remove("COLUMNS")
        .env_remove("CLICOLOR_FORCE")
}

/// Every file under `dir` by relative path (`/`-separated), without build output and VCS
/// data; `Cargo.lock` too when `with_lock`.
pub fn files(dir: &Path, with_lock: bool) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, with_lock: bool, out: &mut BTreeMap<String, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name();
            if skipped(&name) && !(with_lock && name == "Cargo.lock") {
                continue;
            }
            if entry.file_type().unwrap().is_dir() {
                walk(root, &entry.path(), with_lock, out);
            } else {
                let rel = entry.path().strip_prefix(root).unwrap().to_string_lossy().replace('\\', "/");
                out.insert(rel, std::fs::read(entry.path()).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, with_lock, &mut out);
    out
}

/// An output of `cargo-migrate` as a snapshot shows it, the same on every machine, run
/// and toolchain; every snapshot goes through it:
/// - the repository becomes `[REPO]`, cargo's home `[CARGO_HOME]`, and a test's
///   temporary folder (`<temp dir>/<random name>`) `[ROOT]`;
/// - measured durations (`in 0.42s`, `1.2s`, `350ms`) become `[TIME]`, and a loopback
///   port the system assigned (32768 and up) `[PORT]`;
/// - cargo's progress lines (`Compiling`, `Checking`, `Finished`, lock and index
///   messages) are dropped;
/// - a diagnostic rustc rendered keeps its first line and its ` --> file:line:col`; the
///   code frame, notes, help and suggested edits under it (which change with the
///   toolchain) become one `[rustc's code frame and notes]` line.
pub fn redact(output: &str) -> String {
    // Cargo right-aligns its status word to 12 columns: `   Compiling mini v0.9.0 (..)`.
    const CARGO_PROGRESS: [&str; 10] = ["Compiling", "Checking", "Finished", "Blocking", "Locking", "Updating", "Downloading", "Downloaded", "Adding", "Fresh"];
    let progress = |line: &str| CARGO_PROGRESS.iter().any(|p| line.strip_prefix(&" ".repeat(12 - p.len())).is_some_and(|l| l.starts_with(&format!("{p} "))));
    let lines: Vec<&str> = output.split_inclusive('\n').filter(|line| !progress(line)).collect();
    let frame = |line: &str| {
        let t = line.trim_start();
        let numbered = t.trim_start_matches(|c: char| c.is_ascii_digit());
        t.starts_with('|')
            || t.starts_with("= ")
            || t.starts_with("::: ")
            || t.trim_end() == "..."
            || (numbered.len() < t.len() && numbered.starts_with(' ') && numbered.trim_start().starts_with(['|', '+', '-', '~']))
            || (line.starts_with(' ') && t.starts_with("--> "))
    };
    let mut text = String::new();
    let mut in_diagnostic = false;
    for (i, line) in lines.iter().enumerate() {
        let t = line.trim_start();
        let sub = (t.starts_with("help: ") || t.starts_with("note: ")) && lines.get(i + 1).is_some_and(|next| frame(next));
        if in_diagnostic && (frame(line) || sub) {
            if !text.ends_with("[rustc's code frame and notes]\n") {
                text.push_str("  [rustc's code frame and notes]\n");
            }
            continue;
        }
        in_diagnostic = line.starts_with(' ') && t.starts_with("--> ");
        text.push_str(line);
    }
    // Longest first: the repository or cargo's home may lie inside the temporary folder.
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf();
    let cargo_home = std::env::var_os("CARGO_HOME").map(PathBuf::from).or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo")));
    for (path, name) in [(Some(repo), "[REPO]"), (cargo_home, "[CARGO_HOME]")] {
        for path in path.into_iter().flat_map(|p| [std::fs::canonicalize(&p).ok(), Some(p)]).flatten() {
            text = text.replace(&path.display().to_string(), name);
        }
    }
    let tmp = std::env::temp_dir();
    for tmp in [std::fs::canonicalize(&tmp).ok(), Some(tmp)].into_iter().flatten() {
        let prefix = format!("{}/", tmp.display().to_string().trim_end_matches('/'));
        let mut out = String::new();
        let mut rest = text.as_str();
        while let Some(at) = rest.find(&prefix) {
            out.push_str(&rest[..at]);
            out.push_str("[ROOT]");
            rest = &rest[at + prefix.len()..];
            rest = &rest[rest.find(|c: char| c == '/' || c.is_whitespace() || "\"'`:;,)]".contains(c)).unwrap_or(rest.len())..];
        }
        out.push_str(rest);
        text = out;
    }
    // Numbers that start a word: a duration when a unit follows, a port after a loopback host.
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(at) = rest.find(|c: char| c.is_ascii_digit()) {
        let starts_word = !rest[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == '.');
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        let (number, after) = rest.split_at(len);
        let unit = ["ms", "s"].into_iter().find(|u| after.starts_with(u) && !after[u.len()..].starts_with(|c: char| c.is_alphanumeric()));
        let loopback = ["127.0.0.1:", "localhost:", "[::1]:"].iter().any(|h| out.ends_with(h));
        match unit {
            // A measured duration: `0.42s`, `12ms` (a whole number of seconds is a setting).
            Some(unit) if starts_word && !number.ends_with('.') && (unit == "ms" || number.contains('.')) => {
                out.push_str("[TIME]");
                rest = &after[unit.len()..];
            }
            _ if starts_word && loopback && number.parse::<u32>().is_ok_and(|port| port >= 32768) => {
                out.push_str("[PORT]");
                rest = after;
            }
            _ => {
                out.push_str(number);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The executables `scripts/setup-validators.sh` installs (from PyPI, into
/// `target/validators`, once) and prints as `name=path` lines: `kubernetes-validate`,
/// `actionlint`, `shellcheck`, and `python` (with PyYAML and `jsonschema`). The script
/// runs once per test binary; a validator that cannot be installed fails the test.
pub fn validator(name: &str) -> PathBuf {
    static LINES: OnceLock<String> = OnceLock::new();
    let stdout = LINES.get_or_init(|| {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/setup-validators.sh");
        let out = Command::new("bash").arg(script).stdin(std::process::Stdio::null()).output().expect("run bash");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(out.status.success(), "scripts/setup-validators.sh failed ({}):\n{stdout}{}", out.status, String::from_utf8_lossy(&out.stderr));
        stdout
    });
    let path = stdout
        .lines()
        .find_map(|l| l.strip_prefix(name).and_then(|l| l.strip_prefix('=')))
        .unwrap_or_else(|| panic!("setup-validators.sh printed no `{name}=` line:\n{stdout}"));
    let path = PathBuf::from(path);
    assert!(path.is_file(), "{name}: {} is not a file", path.display());
    path
}
