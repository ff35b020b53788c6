//! What `cargo migrate explain` prints for a built-in pack or one of its rules.

use super::registry::builtin;
use crate::core::model::Safety;

/// The documentation `cargo migrate explain` prints for a rule of a built-in pack
/// (`bitflags/lost-derives`, as diffs name it) or a whole pack (`bitflags@1-2`).
pub fn explain(id: &str) -> Option<String> {
    let packs = builtin().ok()?;
    if let Some(pack) = packs.iter().find(|p| p.meta.id == id) {
        return Some(pack.meta.doc.to_string());
    }
    if let Some((pack, shim)) = packs.iter().find_map(|p| p.shims.iter().find(|s| s.full_id == id).map(|s| (p, s))) {
        return Some(shim_doc(pack, shim));
    }
    let (pack, index) = packs.iter().find_map(|p| p.rules.iter().position(|r| r.full_id == id).map(|i| (p, i)))?;
    let (rule, def, f) = (&pack.rules[index], &pack.file.rules[index], &pack.file);
    let mut doc = format!(
        "# {}

A rule of the {} {} → {} migration pack (`{}`, {}).

{}

",
        rule.full_id, f.krate, f.from, f.to, pack.meta.id, pack.source, def.message
    );
    doc.push_str(&format!(
        "Matches: `{}`
",
        def.pattern
    ));
    match (&def.replace, &def.question) {
        (Some(replace), _) if replace.trim().is_empty() => doc.push_str("Becomes: nothing (the attribute is removed)\n"),
        (Some(replace), _) => doc.push_str(&format!(
            "Becomes: `{replace}`
"
        )),
        (None, Some(question)) => {
            doc.push_str(&format!(
                "Asks: {question}
"
            ));
            for o in &def.options {
                let mark = if o.conservative { " (conservative: keeps today's behaviour)" } else { "" };
                doc.push_str(&format!(
                    "- `{}`{mark}: `{}` — {}
",
                    o.id, o.replace, o.when
                ));
            }
        }
        (None, None) if !def.derive.is_empty() => doc.push_str(&format!(
            "Adds inside each invocation: `#[derive({})]`
",
            def.derive.join(", ")
        )),
        (None, None) => {}
    }
    if let Some(lit) = &def.literal {
        let pieces = match lit.syntax {
            super::format::LiteralSyntax::Format => "each placeholder's argument",
            super::format::LiteralSyntax::Path => "each path segment",
        };
        let rewrites: Vec<String> = lit.rewrite.iter().map(|r| format!("`{}` → `{}`", r.from, r.to)).collect();
        doc.push_str(&format!("Rewrites inside the string literal `${}`, {pieces}: {}\n", lit.var, rewrites.join(", ")));
    }
    if let Some(note) = &def.note {
        doc.push_str(&format!("Rewrites nothing; lists each match for review: {note}\n"));
    }
    if !def.on_impl.is_empty() {
        doc.push_str(&format!("Only on impls of: {}\n", def.on_impl.iter().map(|t| format!("`{t}`")).collect::<Vec<_>>().join(", ")));
    }
    let safety = if rule.safety == Safety::Safe { "safe" } else { "needs review" };
    doc.push_str(&format!(
        "Fix safety: {safety}
"
    ));
    if let Some(example) = def.examples.as_ref().and_then(|e| e.noted.first()).filter(|_| def.note.is_some()) {
        doc.push_str(&format!("\n## Example (listed, unchanged)\n```rust\n{example}```\n"));
    }
    if let Some(example) = def.examples.as_ref().and_then(|e| e.invalid.first()) {
        doc.push_str(&format!(
            "
## Example
```rust
{}```
becomes
```rust
{}```
",
            example.code, example.fixed
        ));
    }
    if let Some(guide) = &f.guide {
        doc.push_str(&format!(
            "
Upstream guide: {guide}
"
        ));
    }
    Some(doc)
}

/// A shim of a built-in pack: what it stands in for, where it goes, what a re-export of
/// its items is offered, and its code.
fn shim_doc(pack: &super::CompiledPack, shim: &super::shim::CompiledShim) -> String {
    let f = &pack.file;
    let def = f.shims.iter().find(|d| d.id == shim.id).expect("a shim of the pack");
    let items: Vec<String> = shim.replaces.iter().map(|r| format!("`{}`", r.join("::"))).collect();
    let uses = if shim.re_exports_only {
        "The crate's own uses are the pack's rules' to rewrite: only `pub use` re-exports get the shim."
    } else {
        "Where a file uses one, the shim is added once, in the innermost module holding every use, under the `cfg` every use shares, and the imports and paths are pointed at it (needs review)."
    };
    format!(
        "# {}\n\nA shim of the {} {} → {} migration pack (`{}`, {}).\n\n{}\n\nStands in for: {}, as `mod {}`.\n{uses}\nA `pub use` of one is the crate's public API, a site for the judge: `keep-api` (conservative: re-exported from the shim) or `drop-re-export` (a breaking change for the crate's users).\n\nCode (checked when the pack is loaded):\n\n```rust\n{}\n```\n",
        shim.full_id,
        f.krate,
        f.from,
        f.to,
        pack.meta.id,
        pack.source,
        shim.message,
        items.join(", "),
        shim.module,
        def.code.trim()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A literal rule shows its piece rewrites, a note rule its note and a noted example,
    /// an attribute removal says so and names the impls it is kept to.
    #[test]
    fn literal_note_and_removal_rules_are_explained() {
        insta::assert_snapshot!("explain_literal_rule", explain("axum/route-path").unwrap());
        insta::assert_snapshot!("explain_note_rule", explain("syn/parse-meta").unwrap());
        insta::assert_snapshot!("explain_removal_rule", explain("axum/extractor-async-trait").unwrap());
    }

    /// A shim shows what it stands in for, where it goes, the re-export choice and its
    /// checked code.
    #[test]
    fn shims_are_explained() {
        insta::assert_snapshot!("explain_shim", explain("rand/step-rng").unwrap());
        let doc = explain("base64/base64-compat").unwrap();
        assert!(doc.contains("only `pub use` re-exports get the shim") && doc.contains("`base64::encode_config`"), "{doc}");
    }
}
