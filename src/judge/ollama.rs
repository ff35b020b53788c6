//! A model served by Ollama, asked through the `ollama-rs` crate (`POST /api/chat`).
//!
//! The answer is constrained by Ollama's structured output (`format` = the answer's JSON
//! schema, with the option ids as an enum; Ollama ≥ 0.5), sampled at temperature 0, and
//! validated again with [`parse_answer`] whatever the server claims.

use std::time::Duration;

use ollama_rs::error::OllamaError;
use ollama_rs::generation::chat::request::ChatMessageRequest;
use ollama_rs::generation::chat::ChatMessage;
use ollama_rs::generation::parameters::{FormatType, JsonStructure};
use ollama_rs::models::ModelOptions;
use ollama_rs::Ollama;

use super::http;
use super::llm::{answer_schema, parse_answer, Answer, LlmError, Model, Question, MAX_ANSWER_TOKENS};

/// Where Ollama listens when `OLLAMA_HOST` is not set.
pub const DEFAULT_OLLAMA_HOST: &str = "http://127.0.0.1:11434";

/// A model on an Ollama server.
///
/// Blocking: each call runs on a current-thread tokio runtime owned by the client (see
/// the `http` module's notes); do not call it from inside an async runtime.
pub struct OllamaModel {
    client: Ollama,
    endpoint: String,
    model: String,
    timeout: Duration,
    runtime: tokio::runtime::Runtime,
}

impl std::fmt::Debug for OllamaModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OllamaModel").field("endpoint", &self.endpoint).field("model", &self.model).field("timeout", &self.timeout).finish_non_exhaustive()
    }
}

impl OllamaModel {
    /// A client for `model` (e.g. `qwen2.5-coder:7b`) on the server named by the
    /// `OLLAMA_HOST` environment variable, or [`DEFAULT_OLLAMA_HOST`]. Each call gives up
    /// after `timeout`. Nothing is sent until the first question.
    pub fn new(model: &str, timeout: Duration) -> Result<Self, LlmError> {
        let host = ollama_host(std::env::var("OLLAMA_HOST").ok().as_deref())?;
        Self::with_endpoint(&host, model, timeout)
    }

    /// A client for `model` on the server at `endpoint` (`http://host:port`).
    pub fn with_endpoint(endpoint: &str, model: &str, timeout: Duration) -> Result<Self, LlmError> {
        let url = http::parse_url(endpoint, "the Ollama endpoint")?;
        let client = Ollama::builder().url(url.clone()).reqwest_client(http::client(&url, timeout)?).build();
        Ok(OllamaModel { client, endpoint: url.as_str().trim_end_matches('/').to_string(), model: model.to_string(), timeout, runtime: http::runtime()? })
    }

    /// The server's base URL, as used.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The request sent for `question` (public for tests and `--explain`-like output).
    pub fn request(&self, question: &Question) -> Result<ChatMessageRequest, LlmError> {
        self.chat_request(&question.system, &question.prompt, answer_schema(question), MAX_ANSWER_TOKENS)
    }

    fn chat_request(&self, system: &str, prompt: &str, schema: serde_json::Value, max_tokens: u32) -> Result<ChatMessageRequest, LlmError> {
        let schema: JsonStructure =
            serde_json::from_value(schema).map_err(|e| LlmError::Config(format!("the answer schema is not accepted by ollama-rs: {e}")))?;
        let mut messages = Vec::with_capacity(2);
        if !system.is_empty() {
            messages.push(ChatMessage::system(system.to_string()));
        }
        messages.push(ChatMessage::user(prompt.to_string()));
        Ok(ChatMessageRequest::new(self.model.clone(), messages)
            .format(FormatType::StructuredJson(Box::new(schema)))
            .options(ModelOptions::default().temperature(0.0).num_predict(max_tokens as i32)))
    }

    fn map_error(&self, e: OllamaError) -> LlmError {
        match e {
            OllamaError::ReqwestError(e) => http::transport_error(&e, &self.endpoint, self.timeout),
            // ollama-rs reports a non-2xx answer as its body, without the status:
            // Ollama's errors are `{"error": "..."}`.
            OllamaError::Other(body) => {
                let message = serde_json::from_str::<serde_json::Value>(&body)
                    .ok()
                    .and_then(|v| v.get("error").and_then(|m| m.as_str()).map(str::to_string))
                    .unwrap_or(body);
                if is_model_missing(&message) {
                    LlmError::ModelMissing { model: self.model.clone(), hint: format!(" (run: ollama pull {})", self.model) }
                } else {
                    LlmError::Server(format!("Ollama at {} answered: {}", self.endpoint, http::clip(&message, 300)))
                }
            }
            OllamaError::InternalError(e) => LlmError::Server(http::clip(&e.message, 300)),
            OllamaError::JsonError(e) => LlmError::Server(format!(
                "{} did not answer like Ollama's /api/chat ({e}); for an OpenAI-compatible server use the openai client",
                self.endpoint
            )),
            other => LlmError::Server(http::error_chain(&other)),
        }
    }
}

/// Ollama says `model "NAME" not found, try pulling it first` (older: `model 'NAME' not
/// found`).
fn is_model_missing(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("model") && m.contains("not found")
}

impl Model for OllamaModel {
    fn name(&self) -> String {
        self.model.clone()
    }

    fn ask(&self, question: &Question) -> Result<Answer, LlmError> {
        let request = self.request(question)?;
        let response =
            http::block_on_with_deadline(&self.runtime, self.timeout, async { self.client.send_chat_messages(request).await.map_err(|e| self.map_error(e)) })?;
        parse_answer(&response.message.content, question)
    }

    fn complete_json(&self, system: &str, prompt: &str, schema: &serde_json::Value, max_tokens: u32) -> Result<String, LlmError> {
        let request = self.chat_request(system, prompt, schema.clone(), max_tokens)?;
        let response =
            http::block_on_with_deadline(&self.runtime, self.timeout, async { self.client.send_chat_messages(request).await.map_err(|e| self.map_error(e)) })?;
        Ok(response.message.content)
    }

    fn unreachable_hint(&self) -> String {
        format!("start it with `ollama serve` and `ollama pull {}`, or pass --llm none", self.model)
    }
}

/// The server URL an `OLLAMA_HOST` value names, read the way the `ollama` command reads
/// it: unset or empty → [`DEFAULT_OLLAMA_HOST`]; no scheme → `http` and port 11434
/// (`0.0.0.0`, `myhost`, `myhost:8080`, `[::1]:11434`); `http://host` → port 80;
/// `https://host` → port 443; a path is kept (a server behind a reverse proxy).
pub fn ollama_host(value: Option<&str>) -> Result<String, LlmError> {
    let value = value.map(str::trim).unwrap_or("");
    if value.is_empty() {
        return Ok(DEFAULT_OLLAMA_HOST.to_string());
    }
    let (scheme, rest, default_port) = match value.split_once("://") {
        None => ("http", value, 11434),
        Some((s, rest)) if s.eq_ignore_ascii_case("http") => ("http", rest, 80),
        Some((s, rest)) if s.eq_ignore_ascii_case("https") => ("https", rest, 443),
        Some((s, _)) => return Err(LlmError::Config(format!("OLLAMA_HOST `{value}`: unsupported scheme `{s}`"))),
    };
    let (hostport, path) = match rest.split_once('/') {
        Some((h, p)) => (h, p.trim_end_matches('/')),
        None => (rest, ""),
    };
    let has_port = if hostport.starts_with('[') { hostport.contains("]:") } else { hostport.contains(':') };
    let hostport = match (hostport, has_port) {
        ("", _) => format!("127.0.0.1:{default_port}"),
        (h, true) => h.to_string(),
        (h, false) => format!("{h}:{default_port}"),
    };
    let url = if path.is_empty() { format!("{scheme}://{hostport}") } else { format!("{scheme}://{hostport}/{path}") };
    http::parse_url(&url, "OLLAMA_HOST")?;
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ollama_host_is_read_like_the_ollama_command_reads_it() {
        let host = |v: Option<&str>| ollama_host(v).unwrap();
        assert_eq!(host(None), "http://127.0.0.1:11434");
        assert_eq!(host(Some("  ")), "http://127.0.0.1:11434");
        assert_eq!(host(Some("0.0.0.0")), "http://0.0.0.0:11434");
        assert_eq!(host(Some("gpu-box")), "http://gpu-box:11434");
        assert_eq!(host(Some("gpu-box:8080")), "http://gpu-box:8080");
        assert_eq!(host(Some("[::1]")), "http://[::1]:11434");
        assert_eq!(host(Some("[::1]:9")), "http://[::1]:9");
        assert_eq!(host(Some("http://gpu-box")), "http://gpu-box:80");
        assert_eq!(host(Some("https://models.example.com/ollama/")), "https://models.example.com:443/ollama");
        assert!(matches!(ollama_host(Some("ftp://x")), Err(LlmError::Config(_))));
    }

    #[test]
    fn model_missing_is_recognised_in_both_wordings() {
        assert!(is_model_missing(r#"model "qwen2.5-coder:7b" not found, try pulling it first"#));
        assert!(is_model_missing("model 'llama3' not found"));
        assert!(!is_model_missing("File Not Found"));
        assert!(!is_model_missing("out of memory"));
    }
}
