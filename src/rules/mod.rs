//! The built-in rules. One file per rule, which starts with the rule's declaration
//! (`declare_rule!`: its id, fix safety and summary) and then holds its logic
//! (`impl Rule`). Each rule's documentation lives in `rules/<id>/README.md` at the
//! repository root, is the rule's doc comment, and is what `cargo migrate explain <id>`
//! prints. Fixtures sit beside it.

use crate::core::model::{CfgStatus, Change, Decider, Diagnostic, Edit, Level, Safety};
use crate::core::text::{LineIndex, SourceFile};
use crate::syntax::cfg::CfgRanges;
use crate::syntax::parsed::{FileFacts, Parsed};

/// Declares a built-in rule: a unit struct documented by `rules/<id>/README.md`, its
/// [`RuleMeta`] (the same README as `doc`) as `static META` in the invoking module, where
/// the rule's logic uses it for its changes, and the [`Declared`] impl returning it.
///
/// ```text
/// declare_rule! {
///     pub KeywordGen {
///         id: "keyword-gen",
///         safety: Safe,
///         summary: "rename the identifier `gen` (now a keyword) to `r#gen`",
///     }
/// }
///
/// impl Rule for KeywordGen { /* check_source or check_manifest */ }
/// ```
macro_rules! declare_rule {
    ($vis:vis $name:ident { id: $id:literal, safety: $safety:ident, summary: $summary:literal $(,)? }) => {
        #[cfg_attr(not(doctest), doc = include_str!(concat!("../../rules/", $id, "/README.md")))]
        $vis struct $name;

        static META: $crate::rules::RuleMeta = $crate::rules::RuleMeta {
            id: $id,
            summary: $summary,
            safety: $crate::core::model::Safety::$safety,
            doc: include_str!(concat!("../../rules/", $id, "/README.md")),
        };

        impl $crate::rules::Declared for $name {
            fn meta(&self) -> &'static $crate::rules::RuleMeta {
                &META
            }
        }
    };
}

pub mod companions;
mod expr_fragment;
mod guarded_strings;
pub mod if_let_guard_method;
mod keyword_gen;
mod manifest;
mod unsafe_attributes;
mod unsafe_extern;
mod unsafe_std_functions;

/// What a rule is, for listings, `explain` and provenance.
#[derive(Debug)]
pub struct RuleMeta {
    /// Stable id, kebab-case: what `--only`, `--skip` and `explain` take.
    pub id: &'static str,
    /// One line: what the rule changes.
    pub summary: &'static str,
    /// The safety of its changes (a rule may lower it per change).
    pub safety: Safety,
    /// The full documentation (Markdown): what, why, example, fix safety.
    pub doc: &'static str,
}

impl RuleMeta {
    /// The metadata of a rule made at run time (a pack, a bump), kept for the rest of the
    /// process: changes and reports hold `&'static` references to it.
    pub fn leaked(id: String, summary: String, safety: Safety, doc: String) -> &'static RuleMeta {
        let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
        Box::leak(Box::new(RuleMeta { id: leak(id), summary: leak(summary), safety, doc: leak(doc) }))
    }
}

/// What a rule is: the half of a [`Rule`] that `declare_rule!` writes for a built-in
/// rule. Rules made at run time (a pack, a bump) implement it by hand.
pub trait Declared {
    /// The rule's identity and documentation.
    fn meta(&self) -> &'static RuleMeta;
}

/// A migration rule: a [`Declared`] identity and the checks. Rules are pure: they read
/// one file and return plain data.
pub trait Rule: Declared + Sync {
    /// Checks a Rust source file.
    fn check_source(&self, _cx: &SourceCx<'_>, _out: &mut Findings) {}

    /// Whether the rule finds the same in a large file seen a chunk of whole top-level
    /// items at a time (with [`SourceCx::facts`] of the whole file) as in the whole tree.
    /// A file over [`crate::engine::walk::CheckOptions::chunk_above`] is read in chunks
    /// only when every rule says so: its tree takes about fifty times its size.
    fn reads_chunks(&self) -> bool {
        false
    }

    /// The identifiers without which a Rust file has nothing for this rule (a pack's
    /// crate under its local names; none for a rule of manifests only), if the rule can
    /// say. When every rule of a run can, a file that does not parse and names none of
    /// them is skipped with a warning instead of holding its package back: nothing in it
    /// was going to change (an upgrade of rand, and clap 2's bare `Rc<Fn(..) -> ..>` that
    /// syn does not read).
    fn needs_names(&self) -> Option<Vec<String>> {
        None
    }

    /// Checks a `Cargo.toml`.
    fn check_manifest(&self, _cx: &ManifestCx<'_>, _out: &mut Findings) {}
}

/// Every rule of the Rust 2021 → 2024 migration, in the order they are listed.
pub fn edition_2024() -> &'static [&'static dyn Rule] {
    &[
        &manifest::EditionManifest,
        &companions::EcosystemCompanions,
        &unsafe_extern::UnsafeExternBlocks,
        &unsafe_attributes::UnsafeAttributes,
        &keyword_gen::KeywordGen,
        &unsafe_std_functions::UnsafeStdFunctions,
        &guarded_strings::GuardedStrings,
        &expr_fragment::ExprFragment,
        &if_let_guard_method::IfLetGuardMethod,
    ]
}

/// The rules of a migration to `to`: every rule for 2024; for an earlier edition only the
/// manifest's (the syntactic rules are 2024's; earlier steps come from the compiler).
pub fn for_edition(to: crate::core::edition::Edition) -> Vec<&'static dyn Rule> {
    edition_2024().iter().copied().filter(|r| to == crate::core::edition::Edition::E2024 || r.meta().id == "edition-manifest").collect()
}

/// Looks a rule up by id.
pub fn find(id: &str) -> Option<&'static dyn Rule> {
    edition_2024().iter().copied().find(|r| r.meta().id == id)
}

/// What rules report: changes and diagnostics (sites they cannot rewrite).
#[derive(Debug, Default)]
pub struct Findings {
    /// Proposed changes.
    pub changes: Vec<Change>,
    /// Messages that change nothing.
    pub diagnostics: Vec<Diagnostic>,
    /// Places where the right rewrite depends on intent: for the judge.
    pub sites: Vec<crate::core::model::Site>,
    /// Sites seen and left as they are for a person (`needs-review`: a rewrite the rule
    /// does not make, with what to do by hand); the walk adds what the rules `--only` /
    /// `--skip` leaves out would have changed.
    pub unchanged: Vec<crate::core::model::Unchanged>,
}

/// Everything a rule may read about one Rust file.
pub struct SourceCx<'a> {
    /// The file as read.
    pub file: &'a SourceFile,
    /// Its tokens and syntax tree.
    pub parsed: &'a Parsed,
    /// Line starts, for line numbers and indentation.
    pub lines: &'a LineIndex,
    /// What the whole file says (its `use` map, the methods it defines), also when the
    /// rule sees one chunk of a large file.
    pub facts: &'a FileFacts,
    /// Code behind `cfg` that is off.
    pub cfg: &'a CfgRanges,
}

impl SourceCx<'_> {
    /// The original text.
    pub fn text(&self) -> &str {
        &self.file.text
    }

    /// Byte range of a span in the original text.
    pub fn range(&self, span: proc_macro2::Span) -> std::ops::Range<usize> {
        self.parsed.range(span)
    }

    /// Whether the text contains any of `words`: a rule whose sites must spell one of
    /// them skips files without any, before walking a tree.
    pub fn mentions(&self, words: &[&str]) -> bool {
        words.iter().any(|w| self.text().contains(w))
    }

    /// Calls `f` on every token sequence of the file (the top level and every group:
    /// macro bodies and invocations included).
    pub fn for_each_sequence(&self, f: &mut dyn FnMut(&[proc_macro2::TokenTree])) {
        self.parsed.sequences.iter().for_each(|seq| f(seq));
    }

    /// Builds a change of `rule` from its edits, with line and cfg status filled in.
    pub fn change(&self, rule: &RuleMeta, safety: Safety, reason: impl Into<String>, mut edits: Vec<Edit>) -> Change {
        edits.sort();
        let start = edits.first().map_or(0, |e| e.range.start);
        Change {
            rule: rule.id,
            reason: reason.into(),
            safety,
            decided_by: Decider::Rule,
            file: self.file.display.clone(),
            line: self.lines.line(start),
            cfg: self.file.cfg.and(self.cfg.status_at(start)),
            edits,
        }
    }

    /// A warning about a site at byte `offset`.
    pub fn warning(&self, rule: &RuleMeta, offset: usize, message: impl Into<String>) -> Diagnostic {
        Diagnostic::at(Level::Warning, &self.file.display, Some(self.lines.line(offset)), message).with_rule(rule.id)
    }

    /// A site at byte `offset` the rule leaves as it is for a person to change by hand.
    pub fn needs_review(&self, rule: &RuleMeta, offset: usize, detail: impl Into<String>) -> crate::core::model::Unchanged {
        crate::core::model::Unchanged::at(rule.id, &self.file.display, Some(self.lines.line(offset)), crate::core::model::UnchangedReason::NeedsReview, detail)
    }
}

/// `value` as a TOML string, rendered by `toml_edit` (quotes, escapes: a value never
/// becomes anything but one string). Where the value it replaces (`written`) is a literal
/// string (`'0.8'`) and `value` reads back unchanged as one, that style is kept.
pub fn toml_string(value: &str, written: &str) -> String {
    if written.starts_with('\'') && !written.starts_with("'''") {
        if let Ok(literal) = format!("'{value}'").parse::<toml_edit::Value>() {
            if literal.as_str() == Some(value) {
                return literal.to_string();
            }
        }
    }
    toml_edit::Value::from(value).to_string()
}

/// Everything a rule may read about one `Cargo.toml`.
pub struct ManifestCx<'a> {
    /// The file as read.
    pub file: &'a SourceFile,
    /// Line starts.
    pub lines: &'a LineIndex,
    /// The manifest, parsed with spans.
    pub doc: &'a toml_edit::ImDocument<&'a str>,
    /// The package it belongs to, if it has a `[package]`.
    pub package: Option<&'a crate::cargo::discover::Package>,
    /// Whether it is the workspace root manifest.
    pub is_workspace_root: bool,
    /// Edition to move to.
    pub target_edition: crate::core::edition::Edition,
    /// The unsafe attribute forms of the workspace's code after the migration (for
    /// `ecosystem-companions`; empty where no Rust file was read).
    pub uses: &'a companions::WorkspaceUses,
}

impl ManifestCx<'_> {
    /// Builds a change of `rule` from its edits.
    pub fn change(&self, rule: &RuleMeta, reason: impl Into<String>, mut edits: Vec<Edit>) -> Change {
        edits.sort();
        let start = edits.first().map_or(0, |e| e.range.start);
        Change {
            rule: rule.id,
            reason: reason.into(),
            safety: rule.safety,
            decided_by: Decider::Rule,
            file: self.file.display.clone(),
            line: self.lines.line(start),
            cfg: CfgStatus::Active,
            edits,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_ids_are_unique_kebab_case_and_documented() {
        let mut ids: Vec<_> = edition_2024().iter().map(|r| r.meta().id).collect();
        for rule in edition_2024() {
            let m = rule.meta();
            assert!(m.id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'), "{}", m.id);
            for section in ["## What it does", "## Why", "## Example", "## Fix safety"] {
                assert!(m.doc.contains(section), "rule {} lacks `{section}`", m.id);
            }
        }
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), edition_2024().len());
    }

    #[test]
    fn every_rule_folder_is_registered() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
        for entry in std::fs::read_dir(dir).unwrap() {
            let name = entry.unwrap().file_name().to_string_lossy().into_owned();
            assert!(find(&name).is_some(), "rules/{name} has no registered rule");
        }
    }
}
