//! The `unsafe-attributes` rule.

use proc_macro2::{Delimiter, TokenTree};

use super::{Findings, Rule, SourceCx};
use crate::core::model::Edit;
use crate::syntax::tokens::{is_group, is_ident, is_punct, split_commas};

declare_rule! {
    pub UnsafeAttributes {
        id: "unsafe-attributes",
        safety: Safe,
        summary: "wrap `no_mangle`, `export_name`, `link_section` in `unsafe(..)`",
    }
}

/// Attributes that Rust 2024 requires to be written `#[unsafe(..)]`.
const UNSAFE_ATTRS: [&str; 3] = ["no_mangle", "export_name", "link_section"];

impl Rule for UnsafeAttributes {
    fn reads_chunks(&self) -> bool {
        true
    }

    fn check_source(&self, cx: &SourceCx<'_>, out: &mut Findings) {
        if !cx.mentions(&["no_mangle", "export_name", "link_section"]) {
            return;
        }
        cx.for_each_sequence(&mut |seq| {
            for (i, tt) in seq.iter().enumerate() {
                // `#[..]` or `#![..]`
                if !is_punct(tt, '#') {
                    continue;
                }
                let body = match (seq.get(i + 1), seq.get(i + 2)) {
                    (Some(b), _) if is_group(b, Delimiter::Bracket) => b,
                    (Some(bang), Some(b)) if is_punct(bang, '!') && is_group(b, Delimiter::Bracket) => b,
                    _ => continue,
                };
                let TokenTree::Group(group) = body else { continue };
                let inner: Vec<TokenTree> = group.stream().into_iter().collect();
                wrap_attr(cx, &inner, out);
            }
        });
    }
}

/// Wraps one attribute's contents (`no_mangle`, `cfg_attr(pred, a, b)`) as needed.
fn wrap_attr(cx: &SourceCx<'_>, attr: &[TokenTree], out: &mut Findings) {
    let Some(first) = attr.first() else { return };
    if is_ident(first, "cfg_attr") {
        let Some(TokenTree::Group(args)) = attr.get(1) else { return };
        let args: Vec<TokenTree> = args.stream().into_iter().collect();
        // The first argument is the predicate; the rest are attributes.
        for inner in split_commas(&args).into_iter().skip(1) {
            wrap_attr(cx, inner, out);
        }
        return;
    }
    let TokenTree::Ident(name) = first else { return };
    let name = name.to_string();
    if !UNSAFE_ATTRS.contains(&name.as_str()) {
        return;
    }
    let start = cx.range(first.span()).start;
    let end = cx.range(attr.last().unwrap().span()).end;
    if !cx.text()[start..].starts_with(&name) || end <= start {
        return; // not written in this text as such
    }
    let reason = format!(
        "Rust 2024 requires `#[unsafe({name})]`: {}",
        match name.as_str() {
            "no_mangle" => "an unmangled symbol can clash with another of the same name",
            "export_name" => "an exported symbol can clash with another of the same name",
            _ => "a section name can break the linker's or the loader's assumptions",
        }
    );
    out.changes.push(cx.change(&META, META.safety, reason, vec![Edit::insert(start, "unsafe("), Edit::insert(end, ")")]));
}
