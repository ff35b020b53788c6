//! `--format json`: the changes, diagnostics and summary as one stable JSON document.

use std::io::Write;

use serde::Serialize;

use super::Summary;
use crate::core::migration::Migration;
use crate::core::model::{Change, Diagnostic};

/// Version of the JSON document's shape; bumped on any incompatible change.
pub const JSON_VERSION: u32 = 1;

#[derive(Serialize)]
struct Document<'m> {
    version: u32,
    changes: Vec<&'m Change>,
    verdicts: &'m [crate::core::model::Verdict],
    diagnostics: &'m [Diagnostic],
    summary: Summary,
}

/// Writes the migration as JSON (one document, pretty-printed, newline-terminated).
pub fn write_json(m: &Migration, out: &mut dyn Write) -> std::io::Result<()> {
    let doc = Document { version: JSON_VERSION, changes: m.changes().collect(), verdicts: &m.verdicts, diagnostics: &m.diagnostics, summary: Summary::of(m) };
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    writeln!(out)
}
