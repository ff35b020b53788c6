//! The `expr-fragment` rule.

use proc_macro2::{Delimiter, TokenTree};

use super::{Findings, Rule, SourceCx};
use crate::core::model::Edit;
use crate::syntax::tokens::{is_group, is_ident, is_punct};

declare_rule! {
    pub ExprFragment {
        id: "expr-fragment",
        safety: Safe,
        summary: "change `$x:expr` to `$x:expr_2021` only where a later macro arm would be shadowed",
    }
}

impl Rule for ExprFragment {
    fn reads_chunks(&self) -> bool {
        true
    }

    fn check_source(&self, cx: &SourceCx<'_>, out: &mut Findings) {
        if !cx.mentions(&["macro_rules"]) {
            return;
        }
        cx.for_each_sequence(&mut |seq| {
            for i in 0..seq.len().saturating_sub(3) {
                if is_ident(&seq[i], "macro_rules") && is_punct(&seq[i + 1], '!') {
                    if let (TokenTree::Ident(name), TokenTree::Group(body)) = (&seq[i + 2], &seq[i + 3]) {
                        let body: Vec<TokenTree> = body.stream().into_iter().collect();
                        check_macro(cx, &name.to_string(), &arms(&body), out);
                    }
                }
            }
        });
    }
}

/// The matchers of a `macro_rules!` body (`(matcher) => {transcriber};` ...).
fn arms(body: &[TokenTree]) -> Vec<Vec<TokenTree>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < body.len() {
        if let TokenTree::Group(m) = &body[i] {
            if body.get(i + 1).is_some_and(|t| is_punct(t, '=')) && body.get(i + 2).is_some_and(|t| is_punct(t, '>')) {
                out.push(m.stream().into_iter().collect());
                i += 4; // matcher, `=`, `>`, transcriber
                continue;
            }
        }
        i += 1;
    }
    out
}

/// The `expr` ident of each `$name:expr` in a matcher, at any depth.
fn expr_fragments(matcher: &[TokenTree], out: &mut Vec<(String, proc_macro2::Ident)>) {
    for (i, tt) in matcher.iter().enumerate() {
        if let TokenTree::Group(g) = tt {
            expr_fragments(&g.stream().into_iter().collect::<Vec<_>>(), out);
        }
        if is_punct(tt, '$') && matcher.get(i + 2).is_some_and(|t| is_punct(t, ':')) {
            if let (Some(TokenTree::Ident(name)), Some(TokenTree::Ident(kind))) = (matcher.get(i + 1), matcher.get(i + 3)) {
                if kind == "expr" {
                    out.push((name.to_string(), kind.clone()));
                }
            }
        }
    }
}

/// Whether a later arm's matcher can take input that `expr` matches only from Rust 2024
/// on: a literal `const` or `_` token, or a catch-all (only `$t:tt` fragments, alone or
/// repeated: `($($t:tt)*)`), which takes whatever the earlier arm does not. When the
/// earlier matcher is a lone `$e:expr`, a lone `$p:pat` or `$t:ty` catches `_` too.
fn catches_new_expr_syntax(matcher: &[TokenTree], earlier: &[TokenTree]) -> Option<&'static str> {
    if is_tt_catch_all(matcher) {
        return Some("anything");
    }
    if lone_fragment(earlier) == Some("expr") && matches!(lone_fragment(matcher), Some("pat" | "pat_param" | "ty")) {
        return Some("`_`");
    }
    literal_new_syntax(matcher)
}

/// A literal `const` or `_` token (not a `$name`) anywhere in a matcher.
fn literal_new_syntax(matcher: &[TokenTree]) -> Option<&'static str> {
    for (i, tt) in matcher.iter().enumerate() {
        let after_dollar = i > 0 && is_punct(&matcher[i - 1], '$');
        if is_ident(tt, "const") && !after_dollar {
            return Some("`const`");
        }
        if is_ident(tt, "_") && !after_dollar {
            return Some("`_`");
        }
        if let TokenTree::Group(g) = tt {
            if is_group(tt, Delimiter::None) || !g.stream().is_empty() {
                if let Some(found) = literal_new_syntax(&g.stream().into_iter().collect::<Vec<_>>()) {
                    return Some(found);
                }
            }
        }
    }
    None
}

/// The kind of a matcher made of one fragment (`$e:expr` → `expr`).
fn lone_fragment(matcher: &[TokenTree]) -> Option<&'static str> {
    let [dollar, TokenTree::Ident(_), colon, TokenTree::Ident(kind)] = matcher else { return None };
    if !is_punct(dollar, '$') || !is_punct(colon, ':') {
        return None;
    }
    ["expr", "pat", "pat_param", "ty"].into_iter().find(|k| kind == k)
}

/// Whether a matcher is only `$t:tt` fragments and repetitions of them.
fn is_tt_catch_all(matcher: &[TokenTree]) -> bool {
    let mut i = 0;
    let mut any = false;
    while i < matcher.len() {
        if !is_punct(&matcher[i], '$') {
            return false;
        }
        match (matcher.get(i + 1), matcher.get(i + 2), matcher.get(i + 3)) {
            (Some(TokenTree::Ident(_)), Some(colon), Some(TokenTree::Ident(kind))) if is_punct(colon, ':') && kind == "tt" => i += 4,
            (Some(TokenTree::Group(g)), ..) if g.delimiter() == Delimiter::Parenthesis => {
                if !is_tt_catch_all(&g.stream().into_iter().collect::<Vec<_>>()) {
                    return false;
                }
                // `$( .. ) sep? op`: the operator, after an optional separator.
                i += 2;
                if matcher.get(i).is_some_and(|t| !(is_punct(t, '*') || is_punct(t, '+') || is_punct(t, '?'))) {
                    i += 1;
                }
                if !matcher.get(i).is_some_and(|t| is_punct(t, '*') || is_punct(t, '+') || is_punct(t, '?')) {
                    return false;
                }
                i += 1;
            }
            _ => return false,
        }
        any = true;
    }
    any
}

fn check_macro(cx: &SourceCx<'_>, name: &str, arms: &[Vec<TokenTree>], out: &mut Findings) {
    for (i, matcher) in arms.iter().enumerate() {
        let mut fragments = Vec::new();
        expr_fragments(matcher, &mut fragments);
        if fragments.is_empty() {
            continue;
        }
        let later = arms.iter().enumerate().skip(i + 1).find_map(|(j, m)| catches_new_expr_syntax(m, matcher).map(|t| (j, t)));
        let Some((j, token)) = later else { continue };
        for (var, kind) in fragments {
            let range = cx.range(kind.span());
            if &cx.text()[range.clone()] != "expr" {
                continue;
            }
            let what = match token {
                "`const`" => "`const { .. }` blocks",
                "`_`" => "`_`",
                _ => "`_` and `const { .. }` blocks",
            };
            let reason = format!(
                "in Rust 2024 `expr` also matches {what}: `${var}:expr` in arm {} of `{name}!` would take input that arm {} (which matches {token}) handles today",
                i + 1,
                j + 1
            );
            out.changes.push(cx.change(&META, META.safety, reason, vec![Edit::insert(range.end, "_2021")]));
        }
    }
}
