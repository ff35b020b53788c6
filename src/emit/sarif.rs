//! `--format sarif`: the changes as SARIF 2.1.0 results (for code-scanning dashboards),
//! each with its fix as byte-range replacements; diagnostics are results without a fix.
//! Sites not changed are results too, with SARIF's own words for why: `kind: "pass"` for a
//! site judged right as it is, `"review"` for one a person must decide, `"open"` for a
//! lint the skipped compiler phase could not check, a suppression of kind `external` for
//! one `--only` / `--skip` left out, and a `warning` for what is still to do by hand (a
//! conflict, another crate's macro, a package held back, a change `--verify` took back).

use std::io::Write;

use serde_json::{json, Value};

use crate::core::migration::Migration;
use crate::core::model::{Change, Safety, Unchanged, UnchangedReason};

/// Writes the migration as one SARIF log.
pub fn write_sarif(m: &Migration, out: &mut dyn Write) -> std::io::Result<()> {
    let mut rule_ids: Vec<&str> =
        m.changes().map(|c| c.rule).chain(m.diagnostics.iter().filter_map(|d| d.rule)).chain(m.unchanged.iter().map(|u| u.rule)).collect();
    rule_ids.sort();
    rule_ids.dedup();
    let rules: Vec<Value> = rule_ids.iter().map(|id| rule_descriptor(id)).collect();
    let mut results: Vec<Value> = m.changes().map(change_result).collect();
    results.extend(m.diagnostics.iter().filter(|d| d.file.is_some()).map(|d| {
        json!({
            "ruleId": d.rule.unwrap_or("cargo-migrate"),
            "level": d.level.label(),
            "message": { "text": d.message },
            "locations": [location(d.file.as_deref().unwrap_or_default(), d.line.unwrap_or(1))],
        })
    }));
    // Sites not changed are results too: a verdict is never silent.
    results.extend(m.unchanged.iter().map(unchanged_result));
    let log = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "cargo-migrate",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "results": results,
        }],
    });
    serde_json::to_writer_pretty(&mut *out, &log)?;
    writeln!(out)
}

fn rule_descriptor(id: &str) -> Value {
    let summary = crate::rules::find(id)
        .map(|r| r.meta().summary.to_string())
        .or_else(|| crate::engine::compiler::lint_doc(id).map(|l| format!("{} ({})", l.summary, l.treatment)))
        .unwrap_or_else(|| id.to_string());
    json!({ "id": id, "shortDescription": { "text": summary } })
}

fn location(file: &str, line: usize) -> Value {
    json!({ "physicalLocation": { "artifactLocation": { "uri": file }, "region": { "startLine": line } } })
}

fn unchanged_result(u: &Unchanged) -> Value {
    let mut result = json!({
        "ruleId": u.rule,
        "message": { "text": format!("not changed ({}): {}", u.reason.label(), u.detail) },
        "properties": { "unchanged": u.reason.id() },
    });
    match u.reason {
        UnchangedReason::JudgedToKeep => {
            result["kind"] = json!("pass");
            result["level"] = json!("none");
        }
        UnchangedReason::NeedsReview => {
            result["kind"] = json!("review");
            result["level"] = json!("none");
        }
        UnchangedReason::CompilerSkipped => {
            result["kind"] = json!("open");
            result["level"] = json!("none");
        }
        UnchangedReason::Filtered => {
            result["level"] = json!("note");
            result["suppressions"] = json!([{ "kind": "external", "justification": "left out by --only / --skip" }]);
        }
        UnchangedReason::Conflict | UnchangedReason::ForeignMacro | UnchangedReason::HeldBack | UnchangedReason::Reverted => {
            result["level"] = json!("warning");
        }
    }
    if let Some(file) = &u.file {
        result["locations"] = json!([location(file, u.line.unwrap_or(1))]);
    }
    if let Some(d) = &u.decided_by {
        result["properties"]["decidedBy"] = json!(d.to_string());
    }
    result
}

fn change_result(c: &Change) -> Value {
    let replacements: Vec<Value> = c
        .edits
        .iter()
        .map(|e| json!({ "deletedRegion": { "byteOffset": e.range.start, "byteLength": e.range.len() }, "insertedContent": { "text": e.replacement } }))
        .collect();
    json!({
        "ruleId": c.rule,
        "level": if c.safety == Safety::NeedsReview { "warning" } else { "note" },
        "message": { "text": format!("{} [{}, by {}]", c.reason, c.safety.label(), c.decided_by) },
        "locations": [location(&c.file, c.line)],
        "fixes": [{
            "description": { "text": c.reason },
            "artifactChanges": [{ "artifactLocation": { "uri": c.file }, "replacements": replacements }],
        }],
        "properties": { "safety": c.safety.label(), "decidedBy": c.decided_by.to_string(), "cfg": c.cfg },
    })
}
