//! `--format sarif`: the changes as SARIF 2.1.0 results (for code-scanning dashboards),
//! each with its fix as byte-range replacements; diagnostics and verdicts that need a
//! person are results without a fix.

use std::io::Write;

use serde_json::{json, Value};

use crate::core::migration::Migration;
use crate::core::model::{Change, Safety};

/// Writes the migration as one SARIF log.
pub fn write_sarif(m: &Migration, out: &mut dyn Write) -> std::io::Result<()> {
    let mut rule_ids: Vec<&str> =
        m.changes().map(|c| c.rule).chain(m.diagnostics.iter().filter_map(|d| d.rule)).chain(super::model_verdicts_without_change(m).map(|v| v.rule)).collect();
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
    // A model's verdict that changes nothing is a result too: never silent.
    results.extend(super::model_verdicts_without_change(m).map(|v| {
        json!({
            "ruleId": v.rule,
            "level": if v.safety == Safety::NeedsReview { "warning" } else { "note" },
            "message": { "text": format!("`{}`, no change [{}, by {}]: {}", v.option, v.safety.label(), v.decided_by, v.reason) },
            "locations": [location(&v.file, v.line)],
            "properties": { "safety": v.safety.label(), "decidedBy": v.decided_by.to_string(), "option": v.option },
        })
    }));
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
