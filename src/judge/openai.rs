//! A model behind any OpenAI-compatible chat endpoint: llama.cpp's `llama-server`, vLLM,
//! LM Studio, Ollama's own `/v1`, a hosted service.
//!
//! `POST {url}/v1/chat/completions` with `response_format` = the answer's JSON schema
//! (`strict`, the option ids as an enum; llama-server turns it into a grammar, so the
//! answer always parses), temperature 0 and at most [`MAX_ANSWER_TOKENS`] tokens. The
//! answer is validated again with [`parse_answer`] whatever the server claims.

use std::time::Duration;

use super::http;
use super::llm::{answer_schema, parse_answer, Answer, LlmError, Model, Question, MAX_ANSWER_TOKENS};

/// A model on an OpenAI-compatible server.
///
/// Blocking: each call runs on a current-thread tokio runtime owned by the client (see
/// the `http` module's notes); do not call it from inside an async runtime.
pub struct OpenAiModel {
    client: reqwest::Client,
    base: String,
    model: String,
    api_key: Option<String>,
    timeout: Duration,
    runtime: tokio::runtime::Runtime,
}

impl std::fmt::Debug for OpenAiModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiModel")
            .field("base", &self.base)
            .field("model", &self.model)
            .field("api_key", &self.api_key.as_ref().map(|_| "<set>"))
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl OpenAiModel {
    /// A client for `model` on the server at `url` (`http://127.0.0.1:8080`; a trailing
    /// `/v1` is accepted too, as OpenAI-style base URLs carry it). Each call gives up after
    /// `timeout`. Nothing is sent until the first question.
    pub fn new(url: &str, model: &str, timeout: Duration) -> Result<Self, LlmError> {
        let parsed = http::parse_url(url, "the model server URL")?;
        let base = parsed.as_str().trim_end_matches('/');
        let base = base.strip_suffix("/v1").unwrap_or(base).to_string();
        Ok(OpenAiModel { client: http::client(&parsed, timeout)?, base, model: model.to_string(), api_key: None, timeout, runtime: http::runtime()? })
    }

    /// Sends `Authorization: Bearer KEY` with every request, KEY read now from the
    /// environment variable `var`. An unset or empty variable is a configuration error
    /// (the user named it: a silent anonymous request would fail later, less clearly).
    pub fn with_api_key_env(mut self, var: &str) -> Result<Self, LlmError> {
        match std::env::var(var) {
            Ok(key) if !key.trim().is_empty() => {
                self.api_key = Some(key.trim().to_string());
                Ok(self)
            }
            _ => Err(LlmError::Config(format!("the API key variable `{var}` is not set"))),
        }
    }

    /// The chat completions URL this client posts to.
    pub fn chat_url(&self) -> String {
        format!("{}/v1/chat/completions", self.base)
    }

    /// The JSON body sent for `question`.
    pub fn request_body(&self, question: &Question) -> serde_json::Value {
        self.body(&question.system, &question.prompt, "verdict", &answer_schema(question), MAX_ANSWER_TOKENS)
    }

    fn body(&self, system: &str, prompt: &str, name: &str, schema: &serde_json::Value, max_tokens: u32) -> serde_json::Value {
        let mut messages = Vec::with_capacity(2);
        if !system.is_empty() {
            messages.push(serde_json::json!({ "role": "system", "content": system }));
        }
        messages.push(serde_json::json!({ "role": "user", "content": prompt }));
        serde_json::json!({
            "model": self.model,
            "messages": messages,
            "temperature": 0,
            "max_tokens": max_tokens,
            "stream": false,
            "response_format": {
                "type": "json_schema",
                "json_schema": { "name": name, "schema": schema, "strict": true }
            }
        })
    }

    async fn post(&self, body: serde_json::Value) -> Result<(reqwest::StatusCode, String), LlmError> {
        let url = self.chat_url();
        let mut request = self.client.post(&url).json(&body);
        if let Some(key) = &self.api_key {
            request = request.bearer_auth(key);
        }
        let response = request.send().await.map_err(|e| http::transport_error(&e, &self.base, self.timeout))?;
        let status = response.status();
        let text = response.text().await.map_err(|e| http::transport_error(&e, &self.base, self.timeout))?;
        Ok((status, text))
    }

    fn status_error(&self, status: reqwest::StatusCode, body: &str) -> LlmError {
        let message = error_message(body);
        match status.as_u16() {
            404 if message.to_ascii_lowercase().contains("model") => LlmError::ModelMissing {
                model: self.model.clone(),
                hint: format!(
                    " (the names the server serves are listed at {base}/v1/models; llama-server serves its model under the name given with --alias {model})",
                    base = self.base,
                    model = self.model
                ),
            },
            404 => LlmError::Server(format!("{} answered 404 ({}): is it an OpenAI-compatible server?", self.chat_url(), http::clip(&message, 200))),
            401 | 403 => {
                LlmError::Server(format!("{} refused the request (HTTP {status}): {}; does it need an API key?", self.base, http::clip(&message, 200)))
            }
            _ => LlmError::Server(format!("{} answered HTTP {status}: {}", self.base, http::clip(&message, 300))),
        }
    }
}

/// The human part of an error body: OpenAI's `{"error": {"message": ..}}`, the
/// `{"error": ".."}` or `{"message": ..}` of other servers, or the body itself.
fn error_message(body: &str) -> String {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(body) else { return body.to_string() };
    let found = v.pointer("/error/message").or_else(|| v.get("error").filter(|e| e.is_string())).or_else(|| v.get("message")).and_then(|m| m.as_str());
    found.map(str::to_string).unwrap_or_else(|| body.to_string())
}

/// The assistant's text in a chat completion, or why there is none.
fn completion_text(body: &str) -> Result<String, LlmError> {
    let v: serde_json::Value =
        serde_json::from_str(body).map_err(|e| LlmError::Invalid(format!("the server's reply is not JSON ({e}): {}", http::clip(body, 200))))?;
    let choice = v.pointer("/choices/0").ok_or_else(|| LlmError::Invalid(format!("no choice in the reply: {}", http::clip(body, 200))))?;
    match choice.pointer("/message/content").and_then(|c| c.as_str()) {
        Some(text) => Ok(text.to_string()),
        None => {
            let finish = choice.get("finish_reason").and_then(|f| f.as_str()).unwrap_or("unknown");
            Err(LlmError::Invalid(format!("the reply has no text (finish_reason: {finish})")))
        }
    }
}

impl Model for OpenAiModel {
    fn name(&self) -> String {
        self.model.clone()
    }

    fn ask(&self, question: &Question) -> Result<Answer, LlmError> {
        let body = self.request_body(question);
        let (status, text) = http::block_on_with_deadline(&self.runtime, self.timeout, self.post(body))?;
        if !status.is_success() {
            return Err(self.status_error(status, &text));
        }
        parse_answer(&completion_text(&text)?, question)
    }

    fn complete_json(&self, system: &str, prompt: &str, schema: &serde_json::Value, max_tokens: u32) -> Result<String, LlmError> {
        let body = self.body(system, prompt, "proposal", schema, max_tokens);
        let (status, text) = http::block_on_with_deadline(&self.runtime, self.timeout, self.post(body))?;
        if !status.is_success() {
            return Err(self.status_error(status, &text));
        }
        completion_text(&text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_url_accepts_a_trailing_v1() {
        let d = Duration::from_secs(1);
        for url in ["http://127.0.0.1:8080", "http://127.0.0.1:8080/", "http://127.0.0.1:8080/v1", "http://127.0.0.1:8080/v1/"] {
            assert_eq!(OpenAiModel::new(url, "m", d).unwrap().chat_url(), "http://127.0.0.1:8080/v1/chat/completions", "{url}");
        }
        assert!(matches!(OpenAiModel::new("localhost:8080", "m", d), Err(LlmError::Config(_))));
    }

    #[test]
    fn error_messages_are_found_in_the_usual_shapes() {
        assert_eq!(error_message(r#"{"error":{"message":"The model `x` does not exist.","code":404}}"#), "The model `x` does not exist.");
        assert_eq!(error_message(r#"{"object":"error","message":"The model `x` does not exist."}"#), "The model `x` does not exist.");
        assert_eq!(error_message(r#"{"error":"model not found"}"#), "model not found");
        assert_eq!(error_message("Not Found"), "Not Found");
    }

    #[test]
    fn a_reply_without_text_is_invalid() {
        assert!(matches!(completion_text(r#"{"choices":[]}"#), Err(LlmError::Invalid(_))));
        assert!(
            matches!(completion_text(r#"{"choices":[{"message":{"content":null},"finish_reason":"length"}]}"#), Err(LlmError::Invalid(m)) if m.contains("length"))
        );
        assert_eq!(completion_text(r#"{"choices":[{"message":{"role":"assistant","content":"{}"}}]}"#).unwrap(), "{}");
    }
}
