//! The `unsafe-extern-blocks` rule.

use proc_macro2::{Delimiter, TokenTree};

use super::{Findings, Rule, RuleMeta, SourceCx};
use crate::core::model::{Edit, Safety};
use crate::syntax::tokens::{is_group, is_ident, is_punct};

#[cfg_attr(not(doctest), doc = include_str!("../../rules/unsafe-extern-blocks/README.md"))]
pub struct UnsafeExternBlocks;

static META: RuleMeta = RuleMeta {
    id: "unsafe-extern-blocks",
    summary: "mark `extern` blocks `unsafe extern`",
    safety: Safety::Safe,
    doc: include_str!("../../rules/unsafe-extern-blocks/README.md"),
};

impl Rule for UnsafeExternBlocks {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_source(&self, cx: &SourceCx<'_>, out: &mut Findings) {
        if !cx.mentions(&["extern"]) {
            return;
        }
        cx.for_each_sequence(&mut |seq| {
            for (i, tt) in seq.iter().enumerate() {
                if !is_ident(tt, "extern") || (i > 0 && is_ident(&seq[i - 1], "unsafe")) {
                    continue;
                }
                // `extern { .. }`, `extern "ABI" { .. }`, or `extern $abi { .. }` in a
                // `macro_rules!` transcriber: nothing else has a brace group there.
                let next = match (seq.get(i + 1), seq.get(i + 2)) {
                    (Some(TokenTree::Literal(_)), _) => seq.get(i + 2),
                    (Some(dollar), Some(TokenTree::Ident(_))) if is_punct(dollar, '$') => seq.get(i + 3),
                    (other, _) => other,
                };
                if !next.is_some_and(|n| is_group(n, Delimiter::Brace)) {
                    continue;
                }
                let at = cx.range(tt.span()).start;
                if &cx.text()[at..at + "extern".len()] != "extern" {
                    continue; // a token that does not come from this text (a doc comment)
                }
                out.changes.push(cx.change(
                    &META,
                    META.safety,
                    "Rust 2024 requires `unsafe` on extern blocks: their declarations are promises the compiler cannot check",
                    vec![Edit::insert(at, "unsafe ")],
                ));
            }
        });
    }
}
