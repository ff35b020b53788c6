//! What the HTTP model clients share: the small runtime each one owns, the `reqwest`
//! client, deadlines, and the mapping of transport failures to [`LlmError`].
//!
//! The clients are blocking ([`Model::ask`](super::llm::Model::ask) is), the HTTP stack
//! is async: each client owns a current-thread tokio runtime and blocks on one request at a
//! time. Several threads may call the same client; they share its runtime (one drives the
//! I/O, the others wait for their own answer), which is all a local server answering one
//! request at a time needs. Do not call a client from inside an async runtime: tokio
//! refuses to block a thread that is running async tasks.

use std::future::Future;
use std::net::IpAddr;
use std::time::Duration;

use super::llm::LlmError;

/// The runtime a client owns: one thread (the caller's), timers and network I/O.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, LlmError> {
    tokio::runtime::Builder::new_current_thread().enable_io().enable_time().build().map_err(|e| LlmError::Config(format!("cannot start the HTTP runtime: {e}")))
}

/// A `reqwest` client for `endpoint`: connection attempts give up after `timeout`, and
/// a loopback endpoint (the usual local model server) never goes through an HTTP proxy
/// named in the environment.
///
/// No connection is kept between calls: the runtime only runs during a call, so an idle
/// pooled connection would not notice that the server went away, and the next question
/// would fail with "connection closed before message completed" instead of a clear
/// [`LlmError::Unreachable`]. A new connection per question costs well under a
/// millisecond on loopback (a TLS handshake on a remote endpoint), against seconds for
/// the model's answer.
pub(crate) fn client(endpoint: &reqwest::Url, timeout: Duration) -> Result<reqwest::Client, LlmError> {
    let mut builder = reqwest::Client::builder().connect_timeout(timeout).pool_max_idle_per_host(0);
    if is_loopback(endpoint) {
        builder = builder.no_proxy();
    }
    builder.build().map_err(|e| LlmError::Config(format!("cannot build the HTTP client: {e}")))
}

fn is_loopback(url: &reqwest::Url) -> bool {
    let Some(host) = url.host_str() else { return false };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    match host.parse::<IpAddr>() {
        Ok(ip) => ip.is_loopback() || ip.is_unspecified(),
        Err(_) => host.eq_ignore_ascii_case("localhost"),
    }
}

/// Parses an endpoint URL, or says which setting is wrong.
pub(crate) fn parse_url(raw: &str, what: &str) -> Result<reqwest::Url, LlmError> {
    let url = reqwest::Url::parse(raw).map_err(|e| LlmError::Config(format!("{what} `{raw}` is not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(LlmError::Config(format!("{what} `{raw}` is not an http(s) URL with a host")));
    }
    Ok(url)
}

/// Runs `call` on `runtime`, giving up after `timeout` (the whole call: connecting,
/// sending, the model's thinking, reading the answer).
pub(crate) fn block_on_with_deadline<T>(
    runtime: &tokio::runtime::Runtime,
    timeout: Duration,
    call: impl Future<Output = Result<T, LlmError>>,
) -> Result<T, LlmError> {
    runtime.block_on(async { tokio::time::timeout(timeout, call).await.unwrap_or(Err(LlmError::Timeout(timeout))) })
}

/// Maps a transport failure: cannot connect → [`LlmError::Unreachable`], deadline →
/// [`LlmError::Timeout`], anything else → [`LlmError::Server`].
pub(crate) fn transport_error(e: &reqwest::Error, url: &str, timeout: Duration) -> LlmError {
    if e.is_connect() {
        LlmError::Unreachable { url: url.to_string(), message: root_cause(e) }
    } else if e.is_timeout() {
        LlmError::Timeout(timeout)
    } else {
        LlmError::Server(error_chain(e))
    }
}

/// An error and its sources on one line (reqwest's own message is only "error sending
/// request"; the cause, e.g. "Connection refused", is in the chain).
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let part = s.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = s.source();
    }
    text
}

/// The innermost cause of an error ("Connection refused (os error 111)"): what a user
/// can act on, without reqwest's and hyper's layers around it.
pub(crate) fn root_cause(e: &dyn std::error::Error) -> String {
    let mut cause = e;
    while let Some(s) = cause.source() {
        cause = s;
    }
    cause.to_string()
}

/// At most `max` characters of a server's text, for error messages.
pub(crate) fn clip(s: &str, max: usize) -> String {
    let s = s.trim();
    match s.char_indices().nth(max) {
        None => s.to_string(),
        Some((end, _)) => format!("{}…", &s[..end]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_endpoints_bypass_proxies() {
        for url in ["http://127.0.0.1:11434", "http://localhost:8080/", "http://[::1]:1", "http://0.0.0.0:11434", "http://127.1.2.3"] {
            assert!(is_loopback(&reqwest::Url::parse(url).unwrap()), "{url}");
        }
        for url in ["http://10.0.0.1:11434", "https://models.example.com"] {
            assert!(!is_loopback(&reqwest::Url::parse(url).unwrap()), "{url}");
        }
    }

    #[test]
    fn urls_must_be_http_with_a_host() {
        assert!(parse_url("http://127.0.0.1:8080", "x").is_ok());
        assert!(matches!(parse_url("127.0.0.1:8080", "x"), Err(LlmError::Config(_))));
        assert!(matches!(parse_url("file:///tmp/x", "x"), Err(LlmError::Config(_))));
    }

    /// `idna_adapter` is pinned to its unicode-rs back end (Cargo.toml): international
    /// host names still become their ASCII form.
    #[test]
    fn international_host_names_are_mapped() {
        let url = parse_url("https://Bücher.example:8080/v1", "x").unwrap();
        assert_eq!(url.host_str(), Some("xn--bcher-kva.example"));
        assert!(matches!(parse_url("http://a\u{202E}b.example", "x"), Err(LlmError::Config(_))));
    }

    #[test]
    fn clip_counts_characters() {
        assert_eq!(clip("  héllo  ", 10), "héllo");
        assert_eq!(clip("ééé", 2), "éé…");
    }
}
