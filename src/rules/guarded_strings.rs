//! The `guarded-strings` rule.

use proc_macro2::TokenTree;

use super::{Findings, Rule, SourceCx};
use crate::core::model::Edit;
use crate::syntax::tokens::is_punct;

declare_rule! {
    pub GuardedStrings {
        id: "guarded-strings",
        safety: Safe,
        summary: "separate `#` from a following `#` or string literal, as 2024 reserves `#\"..\"` and `##`",
    }
}

impl Rule for GuardedStrings {
    fn reads_chunks(&self) -> bool {
        true
    }

    fn check_source(&self, cx: &SourceCx<'_>, out: &mut Findings) {
        cx.for_each_sequence(&mut |seq| {
            for pair in seq.windows(2) {
                let [hash, next] = pair else { continue };
                if !is_punct(hash, '#') {
                    continue;
                }
                let reserved = match next {
                    TokenTree::Punct(p) => p.as_char() == '#',
                    TokenTree::Literal(lit) => lit.to_string().starts_with('"'),
                    _ => false,
                };
                let end = cx.range(hash.span()).end;
                let next_start = cx.range(next.span()).start;
                if !reserved || end != next_start || &cx.text()[end - 1..end] != "#" {
                    continue;
                }
                let reason = if is_punct(next, '#') {
                    "`##` is a reserved token in Rust 2024: a space keeps the two `#` tokens of Rust 2021"
                } else {
                    "`#\"..\"` is reserved for guarded strings in Rust 2024: a space keeps the `#` and the string apart"
                };
                out.changes.push(cx.change(&META, META.safety, reason, vec![Edit::insert(end, " ")]));
            }
        });
    }
}
