//! The `unsafe-extern-blocks` rule.

use proc_macro2::{Delimiter, TokenTree};

use super::{Findings, Rule, SourceCx};
use crate::core::model::Edit;
use crate::syntax::tokens::{is_group, is_ident, is_punct};

declare_rule! {
    pub UnsafeExternBlocks {
        id: "unsafe-extern-blocks",
        safety: Safe,
        summary: "mark `extern` blocks `unsafe extern`",
    }
}

impl Rule for UnsafeExternBlocks {
    fn reads_chunks(&self) -> bool {
        true
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
