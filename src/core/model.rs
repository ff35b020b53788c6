//! The data that flows between pipeline stages: plain values, no syntax trees.
//!
//! A [`Change`] is what a rule proposes: byte-range [`Edit`]s on the original text of
//! one file, plus its provenance (rule id, reason, [`Safety`], [`Decider`]). Everything
//! downstream (plan, emit, apply, verify) works on these values only.

use std::ops::Range;

use serde::Serialize;

/// One replacement of a byte range of the original text. An empty range is an insertion.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, schemars::JsonSchema)]
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

    /// Whether this is an insertion that belongs to the token after it: the `r#` of a raw
    /// identifier. It goes last among insertions at its offset, and it conflicts with a
    /// replacement that starts there (the identifier is replaced: the re-check finds it
    /// again in the new text).
    pub fn binds_forward(&self) -> bool {
        self.range.is_empty() && self.replacement == "r#"
    }
}

/// How far a change can be trusted (cf. ruff's fix applicability).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, schemars::JsonSchema)]
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
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, schemars::JsonSchema)]
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
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, schemars::JsonSchema)]
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
    /// Combines an outer status with an inner one: inactive wins (code inside code that
    /// is not compiled is not compiled, whatever a macro around it does), then unknown.
    pub fn and(self, inner: CfgStatus) -> CfgStatus {
        match (self, inner) {
            (CfgStatus::Inactive, _) | (_, CfgStatus::Inactive) => CfgStatus::Inactive,
            _ => self.max(inner),
        }
    }
}

/// A change proposed for one file: the edits and their provenance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
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
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Level {
    /// Something the user should know but that changes nothing (a skipped package).
    Note,
    /// Something left for the user to do by hand, or a change that was not made.
    Warning,
    /// A file or package the run could not process.
    Error,
}

impl Level {
    /// As printed before a message: `note`, `warning`, `error`.
    pub fn label(self) -> &'static str {
        match self {
            Level::Note => "note",
            Level::Warning => "warning",
            Level::Error => "error",
        }
    }
}

/// A message about the run that is not a change: an unparseable file, a conflict,
/// a site the rules found but cannot rewrite.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, schemars::JsonSchema)]
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
    /// Where it is, as printed before its message: `FILE:LINE: `, `FILE: ` or nothing;
    /// `prefix` goes before the file (a workspace's folder inside a repository).
    pub fn place(&self, prefix: &str) -> String {
        match (&self.file, self.line) {
            (Some(f), Some(l)) => format!("{prefix}{f}:{l}: "),
            (Some(f), None) => format!("{prefix}{f}: "),
            _ => String::new(),
        }
    }

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

/// A place where the right rewrite depends on intent: a question, the code, and options
/// (each a set of edits). One option keeps today's behaviour exactly: the conservative one.
/// The judge turns a site into a [`Verdict`] and, if the chosen option edits, a [`Change`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Site {
    /// Rule or lint that raised it.
    pub rule: &'static str,
    /// File, relative to the workspace root.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// Whether the current configuration compiles it.
    pub cfg: CfgStatus,
    /// The question, in one or two sentences.
    pub question: String,
    /// The code of the site (e.g. the whole `if let`), as written.
    pub code: String,
    /// Code the judge may read around it: the enclosing function, `Drop` impls involved.
    pub context: Vec<String>,
    /// The options.
    pub options: Vec<SiteOption>,
    /// Index of the option that keeps today's behaviour exactly.
    pub conservative: usize,
    /// What the rule knows about the site, for heuristics.
    pub evidence: Evidence,
}

/// One answer to a site's question.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SiteOption {
    /// Short stable id (`keep-if-let`, `rewrite-to-match`): what a model answers.
    pub id: String,
    /// When to pick it.
    pub when: String,
    /// The edits it makes (none: the code stays as it is).
    pub edits: Vec<Edit>,
}

/// Facts about a site that heuristics read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Evidence {
    /// Nothing beyond the code.
    None,
    /// An `if let` whose scrutinee's temporaries are dropped before `else` in Rust 2024.
    IfLetRescope {
        /// Byte ranges (in the file) of the temporaries with a destructor: every value the
        /// lint labels.
        temporaries: Vec<std::ops::Range<usize>>,
        /// Where each destructor involved is defined.
        destructors: Vec<Destructor>,
    },
    /// A `pub use` of items the new release of a library removed, which a pack's shim can
    /// stand in for: the crate's public API (options: keep it through the shim, or drop it).
    ReExport {
        /// The re-exported names, as the crate's users see them.
        items: Vec<String>,
    },
    /// A tail expression whose temporaries are dropped before the block's locals in 2024.
    TailExprDropOrder {
        /// Where each destructor involved is defined.
        destructors: Vec<Destructor>,
    },
    /// A pack rule's call whose receiver has the rule's type only under a `#[cfg]`: its
    /// options split the code by that cfg (the other configurations keep it as written),
    /// or leave it.
    CfgDependent {
        /// The cfg predicate under which the receiver has the rule's type
        /// (`feature = "preserve_order"`).
        predicate: String,
        /// The features the predicate names: the builds `--verify` checks both ways.
        features: Vec<String>,
        /// Why, in one sentence: the name that decides the type, where it is defined.
        why: String,
        /// Whether the pack's rule itself offers a choice (then the split does not settle
        /// which option: the rule's own question remains).
        choice: bool,
    },
}

impl Evidence {
    /// The destructors a drop-order site involves (none for other evidence).
    pub fn destructors(&self) -> &[Destructor] {
        match self {
            Evidence::IfLetRescope { destructors, .. } | Evidence::TailExprDropOrder { destructors } => destructors,
            Evidence::None | Evidence::ReExport { .. } | Evidence::CfgDependent { .. } => &[],
        }
    }
}

/// Where a destructor comes from, as the compiler points at it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Destructor {
    /// What kind of type it is.
    pub origin: DropOrigin,
    /// The file the compiler points at (std source path, registry path, or workspace file).
    pub location: String,
    /// 1-based line there.
    pub line: usize,
    /// Whether the value is a temporary of the site's expression (the `if let` scrutinee's,
    /// a tail expression's `#1`), rather than a local variable of the block (a tail
    /// expression's `x`, dropped after the temporaries in Rust 2024 and before them in 2021).
    pub temporary: bool,
}

/// Kinds of destructors, from the compiler's pointer to the `Drop` impl.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DropOrigin {
    /// `std::sync::MutexGuard` (or a `Mutex` guard of parking_lot, spin, tokio...).
    MutexGuard,
    /// A read or write guard of an `RwLock`.
    RwLockGuard,
    /// `Ref` / `RefMut` of a `RefCell`.
    RefCellBorrow,
    /// Memory only: `Vec`, `String`, `Box`, `Rc`, `Arc`, collections.
    Memory,
    /// A type of this workspace with its own `Drop` impl.
    Workspace,
    /// Anything else (a dependency's or std's type of another kind).
    Other,
}

/// How a site was decided.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Verdict {
    /// Rule or lint of the site.
    pub rule: &'static str,
    /// File of the site.
    pub file: String,
    /// Line of the site.
    pub line: usize,
    /// The chosen option's id.
    pub option: String,
    /// Whether it is the conservative option.
    pub conservative: bool,
    /// Who decided.
    pub decided_by: Decider,
    /// Why, in one line.
    pub reason: String,
    /// Safety of the resulting change (judged, or needs-review for a fallback).
    pub safety: Safety,
}

/// Why a site a rule or lint saw was left as it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum UnchangedReason {
    /// The judge chose an option that edits nothing, and the code is right as it is.
    JudgedToKeep,
    /// Its change overlaps another change and could not be applied with it.
    Conflict,
    /// The compiler reports it in code that a macro of another crate expands: the fix
    /// would belong in that crate.
    ForeignMacro,
    /// No automatic fix: a person has to decide (a lint without a suggestion, a judge
    /// site kept as it is for review).
    NeedsReview,
    /// The compiler phase did not run (`--no-compiler`, or the crate does not build): the
    /// type-aware lints it would have checked.
    CompilerSkipped,
    /// The rule or lint is left out by `--only` / `--skip`.
    Filtered,
    /// A file of its package could not be processed: the package's changes land together
    /// or not at all.
    HeldBack,
    /// Written, then taken back by `--verify` because the build got worse.
    Reverted,
}

impl UnchangedReason {
    /// Every reason, in the order the summary counts them.
    pub const ALL: [UnchangedReason; 8] = [
        UnchangedReason::JudgedToKeep,
        UnchangedReason::NeedsReview,
        UnchangedReason::Conflict,
        UnchangedReason::ForeignMacro,
        UnchangedReason::CompilerSkipped,
        UnchangedReason::Filtered,
        UnchangedReason::HeldBack,
        UnchangedReason::Reverted,
    ];

    /// The id used in JSON and SARIF (`judged-to-keep`).
    pub fn id(self) -> &'static str {
        match self {
            UnchangedReason::JudgedToKeep => "judged-to-keep",
            UnchangedReason::Conflict => "conflict",
            UnchangedReason::ForeignMacro => "foreign-macro",
            UnchangedReason::NeedsReview => "needs-review",
            UnchangedReason::CompilerSkipped => "compiler-skipped",
            UnchangedReason::Filtered => "filtered",
            UnchangedReason::HeldBack => "held-back",
            UnchangedReason::Reverted => "reverted",
        }
    }

    /// As a person reads it in the summary (`judged to keep`).
    pub fn label(self) -> &'static str {
        match self {
            UnchangedReason::JudgedToKeep => "judged to keep",
            UnchangedReason::Conflict => "conflict",
            UnchangedReason::ForeignMacro => "inside a macro from another crate",
            UnchangedReason::NeedsReview => "needs review",
            UnchangedReason::CompilerSkipped => "compiler phase skipped",
            UnchangedReason::Filtered => "--only/--skip",
            UnchangedReason::HeldBack => "package held back",
            UnchangedReason::Reverted => "reverted by --verify",
        }
    }
}

/// A site a rule or lint saw and did not change, with why: what the "not changed" report
/// lists. Made where the decision is made (the judge, the plan, the compiler phase, the
/// filter, the pipeline, verify), never read back from a message.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, schemars::JsonSchema)]
pub struct Unchanged {
    /// File, relative to the workspace root; none for what concerns the run (a lint the
    /// skipped compiler phase would have checked).
    pub file: Option<String>,
    /// 1-based line, if known.
    pub line: Option<usize>,
    /// Rule id or compiler lint name.
    pub rule: &'static str,
    /// Why it was left as it is.
    pub reason: UnchangedReason,
    /// One line: what was seen, and what was decided or would have been done.
    pub detail: String,
    /// Who decided to keep it, for a judge's verdict.
    pub decided_by: Option<Decider>,
}

impl Unchanged {
    /// A site at `file:line` of `rule`.
    pub fn at(rule: &'static str, file: &str, line: Option<usize>, reason: UnchangedReason, detail: impl Into<String>) -> Unchanged {
        Unchanged { file: Some(file.to_string()), line, rule, reason, detail: detail.into(), decided_by: None }
    }

    /// The change `change` would have made, left out for `reason`.
    pub fn of_change(change: &Change, reason: UnchangedReason) -> Unchanged {
        Unchanged::at(change.rule, &change.file, Some(change.line), reason, change.reason.clone())
    }
}

/// The question of an `if let` whose scrutinee's temporaries Rust 2024 drops before
/// `else` (rustc's `if_let_rescope` sites and the `if-let-guard-method` rule's).
pub const IF_LET_RESCOPE_QUESTION: &str = "In Rust 2024 the temporaries of this `if let` scrutinee are dropped before the `else` branch runs (in 2021: after the whole `if let`). Keep `if let` with the new drop order, or rewrite to `match` to keep the 2021 order?";

/// The options of such a site: keep `if let` (no edit), or `edits`, the rewrite to a
/// `match` that keeps the 2021 order (the conservative one, index 1).
pub fn if_let_rescope_options(edits: Vec<Edit>) -> Vec<SiteOption> {
    vec![
        SiteOption {
            id: "keep-if-let".into(),
            when: "the else branch does not need the temporary (a lock guard, a borrow) alive; this also fixes a deadlock or a borrow panic when else takes the same lock or borrow again".into(),
            edits: Vec::new(),
        },
        SiteOption { id: "rewrite-to-match".into(), when: "the else branch relies on the temporary's destructor not having run yet (its Drop has effects that else observes)".into(), edits },
    ]
}

/// The JSON Schema of `T` as the repository checks it in (the pack format, the
/// `--format json` document): pretty-printed, newline-terminated.
pub fn schema_text<T: schemars::JsonSchema>() -> String {
    let schema = schemars::schema_for!(T);
    let mut text = serde_json::to_string_pretty(&schema).expect("a schema serializes");
    text.push('\n');
    text
}

/// See [`checked_in::assert_fresh`] (test support).
#[cfg(test)]
pub(crate) use checked_in::assert_fresh as assert_checked_in;

/// Test support: the files generated from the code and checked in (schemas).
#[cfg(test)]
mod checked_in {
    /// Fails unless the file `rel` (from the repository root) holds `fresh`; `BLESS=1`
    /// rewrites it first. `how` says which test to run with `BLESS=1`.
    pub(crate) fn assert_fresh(rel: &str, fresh: &str, how: &str) {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
        if std::env::var_os("BLESS").is_some() {
            std::fs::write(&path, fresh).unwrap();
        }
        let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(checked_in == fresh, "{rel} is stale: run `BLESS=1 {how}` and commit it");
    }
}
