//! The `edition-manifest` rule.

use toml_edit::{Item, Table, TableLike, Value};

use super::{Findings, ManifestCx, Rule};
use crate::core::edition::Edition;
use crate::core::model::{Edit, Unchanged, UnchangedReason};

declare_rule! {
    pub EditionManifest {
        id: "edition-manifest",
        safety: Safe,
        summary: "Cargo.toml: set `edition = \"2024\"` (from any edition), rename the underscore keys 2024 rejects, `resolver = \"3\"`, raise `rust-version` to 1.85",
    }
}

/// Keys spelled with `_` that edition 2024 rejects, and their `-` spelling.
const UNDERSCORE_KEYS: [(&str, &str); 5] = [
    ("dev_dependencies", "dev-dependencies"),
    ("build_dependencies", "build-dependencies"),
    ("default_features", "default-features"),
    ("crate_type", "crate-type"),
    ("proc_macro", "proc-macro"),
];

impl Rule for EditionManifest {
    fn reads_chunks(&self) -> bool {
        true // it reads no Rust file
    }

    fn check_manifest(&self, cx: &ManifestCx<'_>, out: &mut Findings) {
        let root = cx.doc.as_table();
        let target = cx.target_edition;
        if cx.package.is_some() {
            if let Some(package) = root.get("package").and_then(Item::as_table_like) {
                // A `[package]` without `edition` is on 2015.
                if package.get("edition").is_none() {
                    add_edition(cx, package, out);
                } else {
                    set_edition(cx, package, "[package]", out);
                }
                raise_rust_version(cx, package, "[package]", out);
            }
        }
        if cx.is_workspace_root {
            if let Some(ws_package) = root.get("workspace").and_then(|w| w.get("package")).and_then(Item::as_table_like) {
                set_edition(cx, ws_package, "[workspace.package]", out);
                raise_rust_version(cx, ws_package, "[workspace.package]", out);
            }
            let is_virtual = root.get("package").is_none();
            let resolver = target.resolver();
            if let (true, Some(ws), Some(resolver)) = (is_virtual, root.get("workspace").and_then(Item::as_table), resolver) {
                if ws.get("resolver").is_none() {
                    if let Some(span) = ws.span() {
                        // After the `[workspace]` header line.
                        out.changes.push(cx.change(
                            &META,
                            format!(
                                "a virtual workspace picks its resolver itself: `resolver = \"{resolver}\"` is the edition {target} default ({})",
                                if resolver == "3" { "MSRV-aware dependency resolution" } else { "features unified per target kind" }
                            ),
                            vec![line_after(cx.file.text.as_str(), span.end, "", &format!("resolver = \"{resolver}\""))],
                        ));
                    }
                }
            }
        }
        if target >= Edition::E2024 {
            rename_underscore_keys(cx, root, &mut Vec::new(), out);
        }
    }
}

fn set_edition(cx: &ManifestCx<'_>, table: &dyn TableLike, where_: &str, out: &mut Findings) {
    let Some(Item::Value(Value::String(edition))) = table.get("edition") else { return };
    let (Some(span), current) = (edition.span(), edition.value()) else { return };
    // An edition this tool does not know (newer than its target) is left alone.
    if Edition::parse(current).is_none_or(|e| e >= cx.target_edition) {
        return;
    }
    out.changes.push(cx.change(
        &META,
        format!("{where_} edition {current} → {}", cx.target_edition),
        vec![Edit::replace(span, format!("\"{}\"", cx.target_edition))],
    ));
}

/// A `[package]` without `edition` is on 2015: the key is added after `version` (else
/// after `name`), on a line of its own with the same indentation.
fn add_edition(cx: &ManifestCx<'_>, table: &dyn TableLike, out: &mut Findings) {
    let text = cx.file.text.as_str();
    let after = ["version", "name"].iter().find_map(|k| table.get(k).and_then(Item::as_value).and_then(Value::span));
    let Some(after) = after else {
        out.unchanged.push(Unchanged::at(
            META.id,
            &cx.file.display,
            None,
            UnchangedReason::NeedsReview,
            format!("[package] says no edition (2015) and has no `name` or `version` line to put `edition = \"{}\"` after: add it by hand", cx.target_edition),
        ));
        return;
    };
    let indent: String = text[..after.start].rsplit('\n').next().unwrap_or("").chars().take_while(|c| c.is_whitespace()).collect();
    out.changes.push(cx.change(
        &META,
        format!("[package] has no `edition`, which means 2015 → {}", cx.target_edition),
        vec![line_after(text, after.end, &indent, &format!("edition = \"{}\"", cx.target_edition))],
    ));
}

/// Inserts `line` (indented by `indent`, ended as the file ends its lines) after the line
/// holding offset `at`; a file whose last line has no newline gets one first.
fn line_after(text: &str, at: usize, indent: &str, line: &str) -> Edit {
    let newline = crate::core::text::line_ending(text);
    let start = text[at..].find('\n').map_or(text.len(), |i| at + i + 1);
    let prefix = if start == text.len() && !text.ends_with('\n') { newline } else { "" };
    Edit::insert(start, format!("{prefix}{indent}{line}{newline}"))
}

fn raise_rust_version(cx: &ManifestCx<'_>, table: &dyn TableLike, where_: &str, out: &mut Findings) {
    let Some(Item::Value(Value::String(rv))) = table.get("rust-version") else { return };
    let Some(span) = rv.span() else { return };
    let current = rv.value();
    let (ma, mi) = cx.target_edition.min_rust();
    let mut parts = current.split('.').map(|p| p.parse::<u64>().ok());
    let (Some(Some(major)), Some(Some(minor))) = (parts.next(), parts.next()) else {
        out.unchanged.push(Unchanged::at(
            META.id,
            &cx.file.display,
            Some(cx.lines.line(span.start)),
            UnchangedReason::NeedsReview,
            format!("cannot read rust-version `{current}`: edition {} needs {ma}.{mi} or newer", cx.target_edition),
        ));
        return;
    };
    if (major, minor) >= (ma, mi) {
        return;
    }
    out.changes.push(cx.change(
        &META,
        format!(
            "{where_} the minimum supported Rust version rises from {current} to {ma}.{mi}: cargo rejects edition {} with an older `rust-version`",
            cx.target_edition
        ),
        vec![Edit::replace(span, format!("\"{ma}.{mi}\""))],
    ));
}

/// Renames `dev_dependencies`, `default_features`, ... at any depth, except in the
/// free-form `metadata` tables.
fn rename_underscore_keys(cx: &ManifestCx<'_>, table: &dyn TableLike, path: &mut Vec<String>, out: &mut Findings) {
    for (key, item) in table.iter() {
        if key == "metadata" && matches!(path.last().map(String::as_str), Some("package" | "workspace")) {
            continue;
        }
        if let Some((old, new)) = UNDERSCORE_KEYS.iter().find(|(old, _)| *old == key) {
            let (k, _) = table.get_key_value(key).expect("iterated key exists");
            let shown = if path.is_empty() { key.to_string() } else { format!("{}.{key}", path.join(".")) };
            if table.contains_key(new) {
                out.unchanged.push(Unchanged::at(
                    META.id,
                    &cx.file.display,
                    k.span().map(|s| cx.lines.line(s.start)),
                    UnchangedReason::NeedsReview,
                    format!("`{shown}` and `{new}` are both present: Rust 2021 ignores `{old}`, edition 2024 rejects it; merge them by hand"),
                ));
            } else if let Some(span) = k.span().filter(|s| spells(&cx.file.text[s.clone()], old)) {
                // Bare, "quoted" or 'literal': the quotes stay as they are.
                let replacement = cx.file.text[span.clone()].replacen(old, new, 1);
                out.changes.push(cx.change(
                    &META,
                    format!("edition 2024 rejects the spelling `{old}` (`{shown}`); cargo has always read `{new}` the same way"),
                    vec![Edit::replace(span, replacement)],
                ));
            }
        }
        path.push(key.to_string());
        match item {
            Item::Table(t) => rename_underscore_keys(cx, t, path, out),
            Item::Value(Value::InlineTable(t)) => rename_underscore_keys(cx, t, path, out),
            Item::ArrayOfTables(a) => a.iter().for_each(|t: &Table| rename_underscore_keys(cx, t, path, out)),
            _ => {}
        }
        path.pop();
    }
}

/// Whether a key as written (`key`, `"key"` or `'key'`) is `name`.
fn spells(written: &str, name: &str) -> bool {
    let unquoted = ["\"", "'"].iter().find_map(|q| written.strip_prefix(q)?.strip_suffix(q));
    unquoted.unwrap_or(written) == name
}
