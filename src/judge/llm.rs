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
}

/// A model the judge can ask.
pub trait Model: Send + Sync {
    /// Name as shown in provenance (`llm:NAME`) and used in cache keys.
    fn name(&self) -> String;

    /// Asks one question. Implementations constrain the answer to the option ids
    /// (JSON schema / format) where the server supports it, and must still validate it
    /// with [`parse_answer`].
    fn ask(&self, question: &Question) -> Result<Answer, LlmError>;
}

impl LlmError {
    /// Whether asking again in this run is pointless (no server, no model).
    pub fn is_fatal_for_run(&self) -> bool {
        matches!(self, LlmError::Unreachable { .. } | LlmError::ModelMissing { .. })
    }
}

/// Asks once, and once more if the answer was invalid.
pub fn ask_with_retry(model: &dyn Model, question: &Question) -> Result<Answer, LlmError> {
    match model.ask(question) {
        Err(LlmError::Invalid(_)) => model.ask(question),
        other => other,
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
}
