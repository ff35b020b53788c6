//! The judge's language models: a question with a fixed set of option ids goes in, one of
//! those ids and a one-line reason come out, or an error. Nothing else a model says is
//! ever used (the tool disposes).

use std::time::Duration;

/// What the judge asks a model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Question {
    /// Instructions: the role, the rules of the answer.
    pub system: String,
    /// The site: the question, the code, the options with when-to-pick text.
    pub prompt: String,
    /// The ids the answer must pick from.
    pub option_ids: Vec<String>,
}

/// A model's valid answer.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Answer {
    /// One of the question's option ids.
    pub option: String,
    /// One line: why.
    pub reason: String,
}

/// Why a model gave no usable answer.
#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    /// The server cannot be reached (not installed, not running).
    #[error("cannot reach the model server at {url}: {message}")]
    Unreachable {
        /// The endpoint.
        url: String,
        /// What the client said.
        message: String,
    },
    /// The server answered that the model is not there.
    #[error("model `{model}` is not available on the server{hint}")]
    ModelMissing {
        /// The model name.
        model: String,
        /// How to get it, e.g. ` (run: ollama pull MODEL)`.
        hint: String,
    },
    /// No answer within the time limit.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// An answer that is not a JSON object with a valid option id and a reason.
    #[error("invalid answer: {0}")]
    Invalid(String),
    /// Anything else the server reported.
    #[error("model server error: {0}")]
    Server(String),
    /// `--llm replay`: the verdict cache has no answer for this question.
    #[error("no cached verdict of model `{model}` for this site (key {key}); replay answers only from the verdict cache: run once with a model to record one")]
    NotCached {
        /// The model whose verdicts are replayed.
        model: String,
        /// The cache key that was looked up.
        key: String,
    },
    /// The client cannot be set up as asked (a bad URL, an API key variable that is
    /// not set).
    #[error("model client configuration: {0}")]
    Config(String),
}

impl LlmError {
    /// True when asking again during this run is pointless: the server is down, the model
    /// is not there, or the client is misconfigured. The caller should then stop asking
    /// for the rest of the run (one warning, the conservative option everywhere).
    /// A timeout, an invalid answer, a server-side failure or a cache miss concern one
    /// question only.
    pub fn is_fatal_for_run(&self) -> bool {
        match self {
            LlmError::Unreachable { .. } | LlmError::ModelMissing { .. } | LlmError::Config(_) => true,
            LlmError::Timeout(_) | LlmError::Invalid(_) | LlmError::Server(_) | LlmError::NotCached { .. } => false,
        }
    }
}

/// Version of the way questions are put to a model and answers read back. It is part of
/// every verdict cache key: bump it when the prompt format, the schema or the validation
/// changes, so that verdicts recorded under the old protocol are not replayed.
pub const PROMPT_VERSION: &str = "1";

/// The most tokens a client lets the model generate for one answer. The answer is
/// `{"option": ID, "reason": TEXT}` with the reason at most 300 characters (the schema's
/// `maxLength`): about 100 tokens of prose plus the JSON around it. A model that rambles
/// past it is cut off, its JSON is incomplete and the answer is rejected.
pub const MAX_ANSWER_TOKENS: u32 = 150;

/// A model the judge can ask.
pub trait Model: Send + Sync {
    /// Name as shown in provenance (`llm:NAME`) and used in cache keys.
    fn name(&self) -> String;

    /// Asks one question. Implementations constrain the answer to the option ids
    /// (JSON schema / format) where the server supports it, and must still validate it
    /// with [`parse_answer`].
    fn ask(&self, question: &Question) -> Result<Answer, LlmError>;

    /// Asks for a JSON document that follows `schema` (repair mode: proposed code) and
    /// returns its raw text, at most `max_tokens` long. The caller validates it. Models
    /// that cannot (a replay of cached verdicts) say so.
    fn complete_json(&self, system: &str, prompt: &str, schema: &serde_json::Value, max_tokens: u32) -> Result<String, LlmError> {
        let _ = (system, prompt, schema, max_tokens);
        Err(LlmError::Config(format!("`{}` cannot propose code", self.name())))
    }

    /// What the user can do when the server cannot be reached ([`LlmError::Unreachable`]),
    /// shown once per run with the judge's warning.
    fn unreachable_hint(&self) -> String {
        "start the model server, or pass --llm none".to_string()
    }
}

impl<M: Model + ?Sized> Model for Box<M> {
    fn name(&self) -> String {
        (**self).name()
    }
    fn ask(&self, question: &Question) -> Result<Answer, LlmError> {
        (**self).ask(question)
    }
    fn complete_json(&self, system: &str, prompt: &str, schema: &serde_json::Value, max_tokens: u32) -> Result<String, LlmError> {
        (**self).complete_json(system, prompt, schema, max_tokens)
    }
    fn unreachable_hint(&self) -> String {
        (**self).unreachable_hint()
    }
}

impl<M: Model + ?Sized> Model for std::sync::Arc<M> {
    fn name(&self) -> String {
        (**self).name()
    }
    fn ask(&self, question: &Question) -> Result<Answer, LlmError> {
        (**self).ask(question)
    }
    fn complete_json(&self, system: &str, prompt: &str, schema: &serde_json::Value, max_tokens: u32) -> Result<String, LlmError> {
        (**self).complete_json(system, prompt, schema, max_tokens)
    }
    fn unreachable_hint(&self) -> String {
        (**self).unreachable_hint()
    }
}

impl<M: Model + ?Sized> Model for &M {
    fn name(&self) -> String {
        (**self).name()
    }
    fn ask(&self, question: &Question) -> Result<Answer, LlmError> {
        (**self).ask(question)
    }
    fn complete_json(&self, system: &str, prompt: &str, schema: &serde_json::Value, max_tokens: u32) -> Result<String, LlmError> {
        (**self).complete_json(system, prompt, schema, max_tokens)
    }
    fn unreachable_hint(&self) -> String {
        (**self).unreachable_hint()
    }
}

/// Asks `model` once, and once more if the answer was [`LlmError::Invalid`]; never again
/// on any other error (unreachable, missing model, timeout, server error: a second try
/// would only double the wait). The second question is the first one with a note saying
/// why the previous answer was rejected (at temperature 0 the very same question would
/// most likely get the very same answer). The second outcome is returned as it is.
pub fn ask_with_retry(model: &dyn Model, question: &Question) -> Result<Answer, LlmError> {
    match model.ask(question) {
        Err(LlmError::Invalid(why)) => {
            tracing::debug!(model = %model.name(), %why, "invalid answer, asking once more");
            model.ask(&question.with_correction(&why))
        }
        other => other,
    }
}

impl Question {
    /// This question with a note after the prompt saying why a previous answer was
    /// rejected and what a valid answer looks like. Used by [`ask_with_retry`].
    pub fn with_correction(&self, why: &str) -> Question {
        let mut prompt = self.prompt.clone();
        prompt.push_str(&format!(
            "\n\nYour previous answer was rejected: {}\nAnswer with exactly one JSON object \
             {{\"option\": ID, \"reason\": ONE_LINE}} where ID is one of {:?}, and nothing else.",
            clip(why),
            self.option_ids
        ));
        Question { system: self.system.clone(), prompt, option_ids: self.option_ids.clone() }
    }
}

/// Validates a model's raw text answer against the question: a JSON object with `option`
/// (one of the offered ids) and `reason` (non-empty). Anything else is rejected.
pub fn parse_answer(raw: &str, question: &Question) -> Result<Answer, LlmError> {
    let answer: Answer = serde_json::from_str(raw.trim()).map_err(|e| LlmError::Invalid(format!("not the expected JSON ({e}): {}", clip(raw))))?;
    if !question.option_ids.contains(&answer.option) {
        return Err(LlmError::Invalid(format!("`{}` is not one of the options {:?}", clip(&answer.option), question.option_ids)));
    }
    let reason = answer.reason.lines().next().unwrap_or("").trim().to_string();
    if reason.is_empty() {
        return Err(LlmError::Invalid("no reason given".into()));
    }
    Ok(Answer { option: answer.option, reason: clip(&reason) })
}

/// The JSON schema every answer must follow, with the option ids as an enum.
pub fn answer_schema(question: &Question) -> serde_json::Value {
    serde_json::json!({
        "type": "object",
        "properties": {
            "option": { "type": "string", "enum": question.option_ids },
            "reason": { "type": "string", "maxLength": 300 }
        },
        "required": ["option", "reason"],
        "additionalProperties": false
    })
}

fn clip(s: &str) -> String {
    const MAX: usize = 300;
    if s.len() <= MAX {
        return s.to_string();
    }
    let mut end = MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// A model that stays failed: after an error that will not go away in this run (no
/// server, no model, a bad configuration) or a question that timed out, every later
/// question fails at once with the same kind of error instead of costing the timeout
/// again. The judge's own breaker covers one judging pass; this one covers every pass of
/// a run (an upgrade judges once per step).
pub struct Sticky<M> {
    inner: M,
    failed: std::sync::Mutex<Option<Failed>>,
}

/// What a [`Sticky`] model remembers of its first lasting failure.
#[derive(Clone, Debug)]
enum Failed {
    /// The message of a fatal error.
    Fatal(String),
    /// The time limit a question ran out of.
    Timeout(Duration),
}

impl<M: Model> Sticky<M> {
    /// Wraps `inner`.
    pub fn new(inner: M) -> Sticky<M> {
        Sticky { inner, failed: std::sync::Mutex::new(None) }
    }

    /// The remembered failure as an error, if any.
    fn check(&self) -> Result<(), LlmError> {
        match self.failed.lock().expect("not poisoned").clone() {
            None => Ok(()),
            Some(Failed::Timeout(limit)) => Err(LlmError::Timeout(limit)),
            Some(Failed::Fatal(why)) => Err(LlmError::Config(format!("{why} (earlier in this run; not asked again)"))),
        }
    }

    /// Remembers a lasting failure.
    fn note<T>(&self, result: Result<T, LlmError>) -> Result<T, LlmError> {
        if let Err(e) = &result {
            let lasting = match e {
                LlmError::Timeout(limit) => Some(Failed::Timeout(*limit)),
                e if e.is_fatal_for_run() => Some(Failed::Fatal(e.to_string())),
                _ => None,
            };
            if let Some(f) = lasting {
                self.failed.lock().expect("not poisoned").get_or_insert(f);
            }
        }
        result
    }
}

impl<M: Model> Model for Sticky<M> {
    fn name(&self) -> String {
        self.inner.name()
    }
    fn ask(&self, question: &Question) -> Result<Answer, LlmError> {
        self.check()?;
        self.note(self.inner.ask(question))
    }
    fn complete_json(&self, system: &str, prompt: &str, schema: &serde_json::Value, max_tokens: u32) -> Result<String, LlmError> {
        self.check()?;
        self.note(self.inner.complete_json(system, prompt, schema, max_tokens))
    }
    fn unreachable_hint(&self) -> String {
        self.inner.unreachable_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q() -> Question {
        Question { system: String::new(), prompt: String::new(), option_ids: vec!["keep".into(), "match".into()] }
    }

    #[test]
    fn only_offered_options_with_a_reason_are_accepted() {
        assert_eq!(parse_answer(r#"{"option":"keep","reason":"lock released early"}"#, &q()).unwrap().option, "keep");
        assert!(parse_answer(r#"{"option":"B","reason":"x"}"#, &q()).is_err());
        assert!(parse_answer(r#"{"option":"keep","reason":""}"#, &q()).is_err());
        assert!(parse_answer("I would keep it", &q()).is_err());
        // An answer that tries to add anything (an edit) is rejected whole.
        assert!(parse_answer(r#"{"option":"keep","reason":"x","edit":"rm -rf /"}"#, &q()).is_err());
    }

    /// A model that times out once stays timed out for the rest of the run, without
    /// being asked again; an invalid answer does not stick.
    #[test]
    fn a_sticky_model_is_not_asked_again_after_a_timeout() {
        struct Slow(std::sync::atomic::AtomicUsize);
        impl Model for Slow {
            fn name(&self) -> String {
                "slow".into()
            }
            fn ask(&self, _: &Question) -> Result<Answer, LlmError> {
                match self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst) {
                    0 => Err(LlmError::Invalid("not JSON".into())),
                    _ => Err(LlmError::Timeout(Duration::from_secs(60))),
                }
            }
        }
        let q = Question { system: String::new(), prompt: String::new(), option_ids: vec!["a".into()] };
        let sticky = Sticky::new(Slow(std::sync::atomic::AtomicUsize::new(0)));
        assert!(matches!(sticky.ask(&q), Err(LlmError::Invalid(_))));
        assert!(matches!(sticky.ask(&q), Err(LlmError::Timeout(_))));
        for _ in 0..3 {
            assert!(matches!(sticky.ask(&q), Err(LlmError::Timeout(_))));
        }
        assert_eq!(sticky.inner.0.load(std::sync::atomic::Ordering::SeqCst), 2, "asked twice, then never again");
    }
}
