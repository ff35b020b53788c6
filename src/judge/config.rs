//! Which model the judge asks, as one value: the `--llm` flags resolved once, then turned
//! into a client by [`ModelConfig::connect`]. Every operation (the edition judge, pack
//! choices, `--repair`) takes the same `ModelConfig`.

use std::time::Duration;

use super::cache::{ReplayModel, VerdictCache};
use super::llm::{LlmError, Model};
use super::ollama::OllamaModel;
use super::openai::OpenAiModel;

/// The default model for Ollama: a small code model.
pub const DEFAULT_OLLAMA_MODEL: &str = "qwen2.5-coder:7b";
/// The default URL of an OpenAI-compatible server (llama.cpp's `llama-server`).
pub const DEFAULT_OPENAI_URL: &str = "http://127.0.0.1:8080";

/// The kind of model server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LlmKind {
    /// An Ollama server.
    #[default]
    Ollama,
    /// An OpenAI-compatible `/v1/chat/completions` endpoint.
    Openai,
    /// Only verdicts cached by earlier runs: no server, reproducible.
    Replay,
    /// No model: undecided sites keep today's behaviour, marked needs-review.
    None,
}

/// The model the judge asks, and how.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ModelConfig {
    /// The kind of server.
    pub kind: LlmKind,
    /// The model's name (default: [`DEFAULT_OLLAMA_MODEL`] for Ollama and replay).
    pub name: Option<String>,
    /// The server's URL (default: `$OLLAMA_HOST` or Ollama's port; [`DEFAULT_OPENAI_URL`]).
    pub url: Option<String>,
    /// How long one answer may take.
    pub timeout: Duration,
    /// The environment variable holding an API key (OpenAI-compatible servers).
    pub api_key_env: Option<String>,
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig { kind: LlmKind::Ollama, name: None, url: None, timeout: Duration::from_secs(60), api_key_env: None }
    }
}

/// Why the model flags cannot make a client.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// `--llm openai` without a model name.
    #[error("--llm openai needs --model NAME (the name the server serves, e.g. llama-server's --alias)")]
    OpenAiNeedsName,
    /// A URL or API key the client refuses.
    #[error(transparent)]
    Client(#[from] LlmError),
}

impl ModelConfig {
    /// No model at all.
    pub fn none() -> Self {
        ModelConfig { kind: LlmKind::None, ..ModelConfig::default() }
    }

    /// The client for this configuration (`None` for [`LlmKind::None`]); replay reads
    /// `cache`. A server that is down is found out only when a site needs it.
    pub fn connect(&self, cache: &VerdictCache) -> Result<Option<Box<dyn Model>>, ConfigError> {
        let timeout = self.timeout.max(Duration::from_secs(1));
        let name = || self.name.clone().unwrap_or_else(|| DEFAULT_OLLAMA_MODEL.to_string());
        Ok(match self.kind {
            LlmKind::None => None,
            LlmKind::Ollama => Some(Box::new(match &self.url {
                Some(url) => OllamaModel::with_endpoint(url, &name(), timeout)?,
                None => OllamaModel::new(&name(), timeout)?,
            })),
            LlmKind::Openai => {
                let model_name = self.name.clone().ok_or(ConfigError::OpenAiNeedsName)?;
                let mut model = OpenAiModel::new(self.url.as_deref().unwrap_or(DEFAULT_OPENAI_URL), &model_name, timeout)?;
                if let Some(var) = &self.api_key_env {
                    model = model.with_api_key_env(var)?;
                }
                Some(Box::new(model))
            }
            LlmKind::Replay => Some(Box::new(ReplayModel::new(cache.clone(), &name()))),
        })
    }
}
