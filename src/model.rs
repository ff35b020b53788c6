//! The data that flows between pipeline stages: plain values, no syntax trees.
//!
//! A [`Change`] is what a rule proposes: byte-range [`Edit`]s on the original text of
//! one file, plus its provenance (rule id, reason, [`Safety`], [`Decider`]). Everything
//! downstream (plan, emit, apply, verify) works on these values only.

use std::ops::Range;

use serde::Serialize;

/// One replacement of a byte range of the original text. An empty range is an insertion.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Edit {
    /// Byte range in the original text of the file.
    pub range: Range<usize>,
    /// The text that replaces it.
    pub replacement: String,
}

impl Ord for Edit {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.range.start, self.range.end, &self.replacement).cmp(&(other.range.start, other.range.end, &other.replacement))
    }
}

impl PartialOrd for Edit {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Edit {
    /// Inserts `text` at byte offset `at`.
    pub fn insert(at: usize, text: impl Into<String>) -> Self {
        Edit { range: at..at, replacement: text.into() }
    }

    /// Replaces `range` with `text`.
    pub fn replace(range: Range<usize>, text: impl Into<String>) -> Self {
        Edit { range, replacement: text.into() }
    }
}

/// How far a change can be trusted (cf. ruff's fix applicability).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Safety {
    /// Keeps the program's behaviour; applied without a second look.
    Safe,
    /// Chosen between options by a heuristic, a model or a user; the reason says why.
    Judged,
    /// Compiles and keeps behaviour as far as the tool can tell, but asks a human to check
    /// something it cannot (a `// SAFETY:` obligation, a semantic choice).
    NeedsReview,
}

impl Safety {
    /// The label used in diffs, JSON and summaries.
    pub fn label(self) -> &'static str {
        match self {
            Safety::Safe => "safe",
            Safety::Judged => "judged",
            Safety::NeedsReview => "needs-review",
        }
    }
}

/// Who decided that a change is made the way it is.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind", content = "name")]
pub enum Decider {
    /// The rule itself: a deterministic rewrite.
    Rule,
    /// A heuristic of the judge.
    Heuristic,
    /// A language model, by name.
    Llm(String),
    /// The user, through a recorded answer.
    User,
    /// The compiler's own suggestion, under the named build configuration.
    Compiler(String),
}

impl std::fmt::Display for Decider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Decider::Rule => f.write_str("rule"),
            Decider::Heuristic => f.write_str("heuristic"),
            Decider::Llm(model) => write!(f, "llm:{model}"),
            Decider::User => f.write_str("user"),
            Decider::Compiler(config) => write!(f, "compiler ({config})"),
        }
    }
}

/// Whether the code a change touches is compiled by the current configuration
/// (host target, default features, `cfg(test)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CfgStatus {
    /// Compiled on this machine with the default configuration.
    Active,
    /// Behind a `#[cfg]` that is off here: `cargo fix` never sees this code.
    Inactive,
    /// Behind a condition the tool cannot evaluate (e.g. inside a macro invocation).
    Unknown,
}

impl CfgStatus {
    /// Combines an outer status with an inner one: inactive wins, then unknown.
    pub fn and(self, inner: CfgStatus) -> CfgStatus {
        self.max(inner)
    }
}

/// A change proposed for one file: the edits and their provenance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Change {
    /// Id of the rule that proposed it, e.g. `unsafe-extern-blocks`.
    pub rule: &'static str,
    /// One line: why this change is needed and what it does.
    pub reason: String,
    /// How far to trust it.
    pub safety: Safety,
    /// Who decided.
    pub decided_by: Decider,
    /// Path of the file, relative to the workspace root, with `/` separators.
    pub file: String,
    /// 1-based line of the first edit in the original text.
    pub line: usize,
    /// Whether the touched code is compiled by the current configuration.
    pub cfg: CfgStatus,
    /// The edits, sorted by range, non-overlapping.
    pub edits: Vec<Edit>,
}

impl Change {
    /// Byte range covering all edits.
    pub fn span(&self) -> Range<usize> {
        let start = self.edits.iter().map(|e| e.range.start).min().unwrap_or(0);
        let end = self.edits.iter().map(|e| e.range.end).max().unwrap_or(0);
        start..end
    }
}

/// How serious a [`Diagnostic`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Level {
    /// Something the user should know but that changes nothing (a skipped package).
    Note,
    /// Something left for the user to do by hand, or a change that was not made.
    Warning,
    /// A file or package the run could not process.
    Error,
}

/// A message about the run that is not a change: an unparseable file, a conflict,
/// a site the rules found but cannot rewrite.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Diagnostic {
    /// How serious it is.
    pub level: Level,
    /// File it concerns, relative to the workspace root, if any.
    pub file: Option<String>,
    /// 1-based line, if known.
    pub line: Option<usize>,
    /// Rule it concerns, if any.
    pub rule: Option<&'static str>,
    /// What happened.
    pub message: String,
}

impl Diagnostic {
    /// A diagnostic about a file at a line.
    pub fn at(level: Level, file: &str, line: Option<usize>, message: impl Into<String>) -> Self {
        Diagnostic { level, file: Some(file.to_string()), line, rule: None, message: message.into() }
    }

    /// A diagnostic about the run as a whole.
    pub fn general(level: Level, message: impl Into<String>) -> Self {
        Diagnostic { level, file: None, line: None, rule: None, message: message.into() }
    }

    /// Attaches the rule this diagnostic is about.
    pub fn with_rule(mut self, rule: &'static str) -> Self {
        self.rule = Some(rule);
        self
    }
}
