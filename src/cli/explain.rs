//! Explanations: a rule's documentation (`cargo migrate explain RULE`) and what `?`
//! prints about one change under review. [`site`] is the one place the review asks for
//! an explanation: for now the rule's documentation and the site's own facts; a
//! model-backed explanation for this code (`explain --at`) can take its place.

use crate::core::model::Change;
use crate::ops::review::Item;

/// The documentation of a rule, a compiler lint, a pack or a pack's rule, as `cargo
/// migrate explain` prints it; `None` for an unknown name.
pub(super) fn rule_doc(rule: &str) -> Option<String> {
    if let Some(r) = crate::rules::find(rule) {
        return Some(r.meta().doc.to_string());
    }
    if let Some(l) = crate::engine::compiler::lint_doc(rule) {
        return Some(format!(
            "# {}\n\nA rustc lint of the `rust-2024-compatibility` group: {}.\n\nWhat cargo migrate does: {}.\n\nEdition guide: {}\n",
            l.name, l.summary, l.treatment, l.guide
        ));
    }
    crate::pack::explain(rule)
}

/// What `?` prints about the change under review: its rule's documentation, then the
/// site's own facts (where, rule, safety, who decided and why, the judge's verdict).
pub(super) fn site(item: &Item<'_>) -> String {
    let c: &Change = item.change;
    let doc = rule_doc(c.rule).unwrap_or_else(|| {
        format!("# {}\n\nA rule of a pack that is not built in (shipped with the crate, or --pack): its message is the reason below.\n", c.rule)
    });
    let mut facts = format!(
        "{doc}\n## This change\n\n- where: {}:{}\n- rule: {}\n- safety: {}\n- decided by: {}\n- reason: {}\n",
        c.file,
        c.line,
        c.rule,
        c.safety.label(),
        c.decided_by,
        c.reason
    );
    if let Some(v) = item.verdict {
        facts.push_str(&format!(
            "- verdict: `{}`{} by {}: {}\n",
            v.option,
            if v.conservative { " (the conservative option)" } else { "" },
            v.decided_by,
            v.reason
        ));
    }
    facts
}
