//! The `keyword-gen` rule.

use proc_macro2::TokenTree;

use super::{Findings, Rule, SourceCx};
use crate::core::model::Edit;

declare_rule! {
    pub KeywordGen {
        id: "keyword-gen",
        safety: Safe,
        summary: "rename the identifier `gen` (now a keyword) to `r#gen`",
    }
}

impl Rule for KeywordGen {
    fn reads_chunks(&self) -> bool {
        true
    }

    fn check_source(&self, cx: &SourceCx<'_>, out: &mut Findings) {
        if !cx.mentions(&["gen"]) {
            return;
        }
        cx.for_each_sequence(&mut |seq| {
            for (i, tt) in seq.iter().enumerate() {
                let TokenTree::Ident(ident) = tt else { continue };
                // A raw identifier prints as `r#gen`, so this skips those.
                if ident != "gen" {
                    continue;
                }
                let range = cx.range(ident.span());
                if &cx.text()[range.clone()] != "gen" {
                    continue; // inside a doc comment: not code
                }
                let after = |ch: char| i > 0 && matches!(&seq[i - 1], TokenTree::Punct(p) if p.as_char() == ch);
                if after('$') {
                    continue; // a `macro_rules!` metavariable: `$gen` is still valid in Rust 2024
                }
                let lifetime = after('\'');
                let reason = if lifetime {
                    "`gen` is a reserved keyword in Rust 2024: the lifetime `'gen` is written `'r#gen`"
                } else {
                    "`gen` is a reserved keyword in Rust 2024: the identifier is written `r#gen`"
                };
                out.changes.push(cx.change(&META, META.safety, reason, vec![Edit::insert(range.start, "r#")]));
            }
        });
    }
}
