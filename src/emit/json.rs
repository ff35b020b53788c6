//! `--format json`: the changes, verdicts, diagnostics, sites not changed and summary as
//! one stable JSON document. Its JSON Schema is generated from these types
//! ([`report_schema`]) and checked in as `docs/report.schema.json`; `docs/json.md`
//! describes the fields.

use std::io::Write;

use serde::Serialize;

use super::Summary;
use crate::core::migration::Migration;
use crate::core::model::{Change, Diagnostic, Unchanged, Verdict};

/// Version of the JSON document; bumped on any incompatible change (a field added is
/// compatible). 2: conflicts, lints without an automatic fix, the judge's sites kept for
/// review and the sites a rule leaves by hand moved from `diagnostics` to `unchanged`.
pub const JSON_VERSION: u32 = 2;

/// What `cargo migrate edition --format json` and `upgrade --format json` print.
#[derive(Serialize, schemars::JsonSchema)]
#[schemars(title = "cargo-migrate report", description = "The output of `cargo migrate edition --format json` and `cargo migrate upgrade --format json`.")]
struct Document<'m> {
    /// Version of the document's shape (`JSON_VERSION`): bumped on an incompatible change.
    version: u32,
    /// The changes made (or, in a dry run, to be made), in file order.
    changes: Vec<&'m Change>,
    /// How the judge decided each site where the right rewrite depends on intent.
    verdicts: &'m [Verdict],
    /// Messages that are not changes: files not processed, notes about the run.
    diagnostics: &'m [Diagnostic],
    /// Every site a rule or lint saw and did not change, with why.
    unchanged: &'m [Unchanged],
    /// Counts.
    summary: Summary,
}

/// Writes the migration as JSON (one document, pretty-printed, newline-terminated).
pub fn write_json(m: &Migration, out: &mut dyn Write) -> std::io::Result<()> {
    let doc = Document {
        version: JSON_VERSION,
        changes: m.changes().collect(),
        verdicts: &m.verdicts,
        diagnostics: &m.diagnostics,
        unchanged: &m.unchanged,
        summary: Summary::of(m),
    };
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    writeln!(out)
}

/// The JSON Schema of the document [`write_json`] writes, as checked in
/// (`docs/report.schema.json`).
pub fn report_schema() -> String {
    crate::core::model::schema_text::<Document<'static>>()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The checked-in schema is what the types generate. `BLESS=1` rewrites it.
    #[test]
    fn checked_in_report_schema_is_fresh() {
        crate::core::model::assert_checked_in("docs/report.schema.json", &report_schema(), "cargo test --lib emit::json");
    }
}
