//! A pack's own examples, run through the pipeline (`cargo migrate pack test`): each
//! rule must leave its `valid` examples alone and turn each `invalid` one into its
//! `fixed` text. It lives in the engine, not in [`crate::pack`], because it runs the
//! whole pipeline ([`crate::engine::pipeline::migrate_source`]) on every example.

use std::path::Path;
use std::sync::Arc;

use crate::pack::format::FormatError;
use crate::pack::{CompiledPack, PackRule};
use crate::rules::Rule;

/// The result of running a pack's own examples.
#[derive(Debug, Default)]
pub struct PackReport {
    /// Where the pack came from.
    pub source: String,
    /// Examples run.
    pub examples: usize,
    /// Failures: rule id and what went wrong.
    pub failures: Vec<(String, String)>,
    /// Lines (each ending in a newline) to show before the result: a rule whose replacement introduces code its
    /// pattern did not have, which makes its changes needs-review.
    pub notes: Vec<String>,
}

impl PackReport {
    /// Whether every example passed.
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

/// `cargo migrate pack test`: loads the pack at `path` and runs every rule's examples.
pub fn test_pack(path: &Path) -> Result<PackReport, FormatError> {
    let pack = CompiledPack::load(path)?;
    Ok(test_compiled(Arc::new(pack)))
}

/// Runs every rule's examples of a compiled pack, with the whole pack (rules compose: a
/// rule's template speaks the new release's paths, which path rules move): the rule must
/// change nothing in its `valid` examples; its `invalid` ones must become their `fixed`
/// text, with a change of the rule, and that text must parse and not change again; its
/// `noted` ones must stay as they are, with a site of the rule listed for review.
pub fn test_compiled(pack: Arc<CompiledPack>) -> PackReport {
    let mut report = PackReport { source: pack.source.clone(), ..PackReport::default() };
    for rule in pack.rules.iter().filter(|r| !r.introduces.is_empty()) {
        report.notes.push(format!("note: {} rule `{}` is needs-review: the replacement introduces {}\n", pack.source, rule.id, rule.introduces.join(", ")));
    }
    let rule = PackRule { assume_errors: true, ..PackRule::new(pack.clone()) };
    let opts = crate::engine::walk::CheckOptions::new(vec![&rule as &dyn Rule], crate::core::edition::Edition::E2021);
    let migrate = |code: &str| crate::engine::pipeline::migrate_source("example.rs", code, &opts).map_err(|d| d.message);
    // What the rules list for review in a file (a `note` rule's sites).
    let notes = |code: &str| {
        let file = crate::core::text::SourceFile {
            path: "example.rs".into(),
            display: "example.rs".into(),
            kind: crate::core::text::FileKind::Rust,
            package: String::new(),
            cfg: crate::core::model::CfgStatus::Active,
            text: code.to_string(),
        };
        crate::engine::walk::check_rust_text(&file, &crate::cargo::discover::host_cfg(), &opts, true).map(|(f, _)| f.diagnostics).map_err(|d| d.message)
    };
    for (index, def) in pack.file.rules.iter().enumerate() {
        let Some(examples) = &def.examples else { continue };
        let id = pack.rules[index].full_id;
        let mut failures = Vec::new();
        let mut fail = |what: String| failures.push((def.id.clone(), what));
        for (i, code) in examples.valid.iter().enumerate() {
            report.examples += 1;
            match migrate(code) {
                Ok((changes, _)) if !changes.iter().any(|c| c.rule == id) => {}
                Ok((_, new)) => fail(format!("valid example {} was changed:\n{new}", i + 1)),
                Err(e) => fail(format!("valid example {}: {e}", i + 1)),
            }
        }
        for (i, ex) in examples.invalid.iter().enumerate() {
            report.examples += 1;
            match migrate(&ex.code) {
                Ok((changes, _)) if !changes.iter().any(|c| c.rule == id) => fail(format!("invalid example {}: the rule changed nothing", i + 1)),
                Ok((_, new)) if new == ex.fixed => match migrate(&new) {
                    Ok((again, _)) if again.is_empty() => {}
                    Ok((_, newer)) => fail(format!("invalid example {}: a second run changes it again:\n{newer}", i + 1)),
                    Err(e) => fail(format!("invalid example {}: the result does not parse: {e}", i + 1)),
                },
                Ok((_, new)) => fail(format!("invalid example {}: expected\n{}\ngot\n{new}", i + 1, ex.fixed)),
                Err(e) => fail(format!("invalid example {}: {e}", i + 1)),
            }
        }
        for (i, code) in examples.noted.iter().enumerate() {
            report.examples += 1;
            match (migrate(code), notes(code)) {
                (Ok((changes, _)), _) if changes.iter().any(|c| c.rule == id) => fail(format!("noted example {} was changed", i + 1)),
                (Ok(_), Ok(notes)) if notes.iter().any(|d| d.rule == Some(id)) => {}
                (Ok(_), Ok(_)) => fail(format!("noted example {}: the rule listed nothing for review", i + 1)),
                (Err(e), _) | (_, Err(e)) => fail(format!("noted example {}: {e}", i + 1)),
            }
        }
        report.failures.extend(failures);
    }
    // Shims: a file that uses a replaced item gets the shim (a `pub use` of one: the
    // judge's conservative option, which keeps the API).
    for (index, def) in pack.file.shims.iter().enumerate() {
        let Some(examples) = &def.examples else { continue };
        let id = pack.shims[index].full_id;
        for (i, code) in examples.valid.iter().enumerate() {
            report.examples += 1;
            match migrate(code) {
                Ok((changes, _)) if !changes.iter().any(|c| c.rule == id) => {}
                Ok((_, new)) => report.failures.push((def.id.clone(), format!("valid example {} was changed:\n{new}", i + 1))),
                Err(e) => report.failures.push((def.id.clone(), format!("valid example {}: {e}", i + 1))),
            }
        }
        for (i, ex) in examples.invalid.iter().enumerate() {
            report.examples += 1;
            let failure = match migrate(&ex.code) {
                Ok((changes, _)) if !changes.iter().any(|c| c.rule == id) => Some("the shim changed nothing".to_string()),
                Ok((_, new)) if new == ex.fixed => match migrate(&new) {
                    Ok((again, _)) if again.is_empty() => None,
                    Ok((_, newer)) => Some(format!("a second run changes it again:\n{newer}")),
                    Err(e) => Some(format!("the result does not parse: {e}")),
                },
                Ok((_, new)) => Some(format!("expected\n{}\ngot\n{new}", ex.fixed)),
                Err(e) => Some(e),
            };
            if let Some(f) = failure {
                report.failures.push((def.id.clone(), format!("invalid example {}: {f}", i + 1)));
            }
        }
    }
    report
}
