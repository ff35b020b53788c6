//! The `unsafe-std-functions` rule.

use std::collections::BTreeMap;
use std::ops::Range;

use proc_macro2::{Delimiter, TokenTree};
use syn::spanned::Spanned;
use syn::visit::{self, Visit};

use super::{Findings, Rule, SourceCx};
use crate::core::model::Edit;
use crate::core::text::{indentation_at, line_ending};
use crate::syntax::tokens::{is_group, is_ident, is_punct, path_segments, visit_macro_body};

declare_rule! {
    pub UnsafeStdFunctions {
        id: "unsafe-std-functions",
        safety: NeedsReview,
        summary: "wrap calls of `env::set_var`, `env::remove_var`, `CommandExt::before_exec` in `unsafe { }` with a SAFETY note",
    }
}

/// Free functions that Rust 2024 makes `unsafe`, by full path.
const UNSAFE_FNS: [[&str; 3]; 2] = [["std", "env", "set_var"], ["std", "env", "remove_var"]];
const COMMAND_EXT: [&str; 5] = ["std", "os", "unix", "process", "CommandExt"];

/// What the SAFETY comment asks the reader to check, per function.
fn safety_note(names: &[&str]) -> String {
    let list = names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ");
    if names.iter().all(|n| *n == "before_exec") {
        format!("check that the closure only calls async-signal-safe functions ({list} is unsafe since Rust 2024; `pre_exec` replaces it)")
    } else {
        let verb = if names.len() == 1 { "is" } else { "are" };
        format!("check that no other thread reads or writes the environment meanwhile ({list} {verb} unsafe since Rust 2024)")
    }
}

impl Rule for UnsafeStdFunctions {
    fn reads_chunks(&self) -> bool {
        true
    }

    fn check_source(&self, cx: &SourceCx<'_>, out: &mut Findings) {
        if !cx.mentions(&["set_var", "remove_var", "before_exec"]) {
            return;
        }
        let mut finder = Finder { cx, in_unsafe: false, stmt: None, chain: None, calls: Vec::new(), refs: Vec::new() };
        finder.visit_file(&cx.parsed.syntax);
        // One change per statement: the calls it holds and one SAFETY comment above it.
        let mut by_stmt: BTreeMap<usize, Vec<Call>> = BTreeMap::new();
        let wrapped: Vec<Range<usize>> = finder.calls.iter().map(|c| c.range.clone()).collect();
        for call in finder.calls {
            by_stmt.entry(call.stmt_start).or_default().push(call);
        }
        for (stmt_start, mut calls) in by_stmt {
            calls.sort_by_key(|c| c.range.start);
            calls.dedup_by_key(|c| c.range.start);
            let mut names: Vec<&str> = calls.iter().map(|c| c.name).collect();
            names.dedup();
            let note = safety_note(&names);
            let mut edits = vec![comment_edit(cx, stmt_start, &note)];
            for call in &calls {
                edits.push(Edit::insert(call.range.start, "unsafe { "));
                edits.push(Edit::insert(call.range.end, " }"));
            }
            let reason = format!(
                "`{}` {} unsafe in Rust 2024: the call is wrapped in `unsafe {{ }}` and the SAFETY comment says what to check",
                names.join("`, `"),
                if names.len() == 1 { "is" } else { "are" }
            );
            out.changes.push(cx.change(&META, META.safety, reason, edits));
        }
        for (name, at) in finder.refs {
            out.unchanged.push(cx.needs_review(
                &META,
                at,
                format!("`{name}` is an `unsafe fn` in Rust 2024: wherever this function value is called needs an `unsafe` block"),
            ));
        }
        out.unchanged.extend(macro_rules_calls(cx, &wrapped));
    }
}

/// Calls in `macro_rules!` transcribers that the syntax tree does not reach (a body with
/// `$metavariables` does not parse as Rust): reported, not rewritten, since an `unsafe`
/// block there would also cover the expressions the macro's callers pass in. `wrapped`
/// are the calls the rule rewrites already.
fn macro_rules_calls(cx: &SourceCx<'_>, wrapped: &[Range<usize>]) -> Vec<crate::core::model::Unchanged> {
    let mut out = Vec::new();
    cx.for_each_sequence(&mut |seq| {
        for i in 0..seq.len().saturating_sub(3) {
            if !(is_ident(&seq[i], "macro_rules") && is_punct(&seq[i + 1], '!')) {
                continue;
            }
            let (TokenTree::Ident(name), TokenTree::Group(body)) = (&seq[i + 2], &seq[i + 3]) else { continue };
            let body: Vec<TokenTree> = body.stream().into_iter().collect();
            // `(matcher) => { transcriber }`: only transcribers are code.
            for j in 0..body.len().saturating_sub(2) {
                if let (true, true, TokenTree::Group(t)) = (is_punct(&body[j], '='), is_punct(&body[j + 1], '>'), &body[j + 2]) {
                    let tokens: Vec<TokenTree> = t.stream().into_iter().collect();
                    token_calls(cx, &name.to_string(), &tokens, wrapped, &mut out);
                }
            }
        }
    });
    out
}

fn token_calls(cx: &SourceCx<'_>, mac: &str, tokens: &[TokenTree], wrapped: &[Range<usize>], out: &mut Vec<crate::core::model::Unchanged>) {
    for (i, tt) in tokens.iter().enumerate() {
        let after = |ch: char| i > 0 && is_punct(&tokens[i - 1], ch);
        match tt {
            // An `unsafe { }` block in the body covers its calls already.
            TokenTree::Group(g) if !(g.delimiter() == Delimiter::Brace && i > 0 && is_ident(&tokens[i - 1], "unsafe")) => {
                token_calls(cx, mac, &g.stream().into_iter().collect::<Vec<_>>(), wrapped, out);
            }
            TokenTree::Ident(ident) if !after('$') && tokens.get(i + 1).is_some_and(|t| is_group(t, Delimiter::Parenthesis)) => {
                let name = if after('.') {
                    (ident == "before_exec" && cx.facts.imports.brings_in(&COMMAND_EXT)).then_some("before_exec")
                } else {
                    let segments = token_path(tokens, i);
                    UNSAFE_FNS.iter().find(|t| cx.facts.imports.resolves_to(&segments, &t[..])).map(|t| t[2])
                };
                let at = cx.range(ident.span()).start;
                if let (Some(name), false) = (name, wrapped.iter().any(|r| r.contains(&at))) {
                    out.push(cx.needs_review(
                        &META,
                        at,
                        format!("`{name}` is called in the body of `macro_rules! {mac}`: its expansion needs an `unsafe` block in Rust 2024, which the rule does not add inside a macro body; wrap the call by hand"),
                    ));
                }
            }
            _ => {}
        }
    }
}

/// The path ending with the identifier at `end` (`::std::env::set_var` → `["", "std", "env", "set_var"]`).
fn token_path(tokens: &[TokenTree], end: usize) -> Vec<String> {
    let mut segments = vec![tokens[end].to_string()];
    let mut i = end;
    while i >= 2 && is_punct(&tokens[i - 1], ':') && is_punct(&tokens[i - 2], ':') {
        match i.checked_sub(3).map(|k| &tokens[k]) {
            Some(TokenTree::Ident(id)) => {
                segments.push(id.to_string());
                i -= 3;
            }
            _ => {
                segments.push(String::new()); // a leading `::`
                break;
            }
        }
    }
    segments.reverse();
    segments
}

/// `// SAFETY: ...` on its own line above the statement when the statement starts its
/// line, else a block comment right before it.
fn comment_edit(cx: &SourceCx<'_>, stmt_start: usize, note: &str) -> Edit {
    let indent = indentation_at(cx.text(), cx.lines, stmt_start);
    let line_start = cx.lines.line_start(stmt_start);
    if line_start + indent.len() == stmt_start {
        let newline = line_ending(cx.text());
        Edit::insert(stmt_start, format!("// SAFETY: {note}{newline}{indent}"))
    } else {
        Edit::insert(stmt_start, format!("/* SAFETY: {note} */ "))
    }
}

fn unsafe_fn_name(cx: &SourceCx<'_>, path: &syn::Path) -> Option<&'static str> {
    let segments = path_segments(path);
    UNSAFE_FNS.iter().find(|target| cx.facts.imports.resolves_to(&segments, &target[..])).map(|t| t[2])
}

struct Call {
    name: &'static str,
    range: Range<usize>,
    stmt_start: usize,
}

struct Finder<'c, 'a> {
    cx: &'c SourceCx<'a>,
    /// Inside an `unsafe { }` block (closures inherit it; nested fns do not).
    in_unsafe: bool,
    /// Start of the innermost statement being visited.
    stmt: Option<usize>,
    /// While the receiver of a method call is visited: the range of the outermost method
    /// call of its chain (`Command::new(..).before_exec(..).spawn()`).
    chain: Option<Range<usize>>,
    calls: Vec<Call>,
    /// Mentions that are not calls (`let f = env::set_var;`): their callers need
    /// `unsafe` too, which the rule cannot add.
    refs: Vec<(&'static str, usize)>,
}

impl Finder<'_, '_> {
    fn found(&mut self, name: &'static str, range: Range<usize>) {
        if self.in_unsafe {
            return;
        }
        let stmt_start = self.stmt.unwrap_or(range.start);
        self.calls.push(Call { name, range, stmt_start });
    }

    /// The range of `expr` from its first token `first` on: syn's span of an expression
    /// starts at its outer attributes (`#[cfg(..)] f()`), which must stay outside the
    /// `unsafe { }` that wraps it.
    fn without_attrs(&self, first: &syn::Expr, expr: &dyn Spanned) -> Range<usize> {
        self.cx.range(first.span()).start..self.cx.range(expr.span()).end
    }

    fn with_unsafe(&mut self, value: bool, f: impl FnOnce(&mut Self)) {
        let saved = std::mem::replace(&mut self.in_unsafe, value);
        f(self);
        self.in_unsafe = saved;
    }
}

impl<'ast> Visit<'ast> for Finder<'_, '_> {
    fn visit_stmt(&mut self, stmt: &'ast syn::Stmt) {
        let saved = self.stmt.replace(self.cx.range(stmt.span()).start);
        visit::visit_stmt(self, stmt);
        self.stmt = saved;
    }

    fn visit_expr_unsafe(&mut self, e: &'ast syn::ExprUnsafe) {
        self.with_unsafe(true, |s| visit::visit_expr_unsafe(s, e));
    }

    fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
        // In Rust 2024 the body of an `unsafe fn` is not an unsafe block
        // (`unsafe_op_in_unsafe_fn` warns), so every fn starts outside one.
        self.with_unsafe(false, |s| visit::visit_item_fn(s, f));
    }

    fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
        self.with_unsafe(false, |s| visit::visit_impl_item_fn(s, f));
    }

    fn visit_trait_item_fn(&mut self, f: &'ast syn::TraitItemFn) {
        self.with_unsafe(false, |s| visit::visit_trait_item_fn(s, f));
    }

    fn visit_expr_call(&mut self, call: &'ast syn::ExprCall) {
        match &*call.func {
            // The callee: a call of the function, not a mention of it.
            syn::Expr::Path(p) => {
                if let Some(name) = unsafe_fn_name(self.cx, &p.path) {
                    self.found(name, self.without_attrs(&call.func, call));
                }
            }
            func => self.visit_expr(func),
        }
        call.args.iter().for_each(|a| self.visit_expr(a));
    }

    fn visit_expr_path(&mut self, p: &'ast syn::ExprPath) {
        if let Some(name) = unsafe_fn_name(self.cx, &p.path) {
            self.refs.push((name, self.cx.range(p.span()).start));
        }
    }

    fn visit_expr(&mut self, e: &'ast syn::Expr) {
        if matches!(e, syn::Expr::MethodCall(_)) {
            visit::visit_expr(self, e);
        } else {
            // Not a link of a method chain: the chain above ends here.
            let outer = self.chain.take();
            visit::visit_expr(self, e);
            self.chain = outer;
        }
    }

    fn visit_expr_method_call(&mut self, call: &'ast syn::ExprMethodCall) {
        // `before_exec` returns `&mut Command`, often borrowed from a temporary receiver:
        // `unsafe { Command::new(..).before_exec(..) }.spawn()` does not compile in Rust
        // 2024 (the temporary dies at the end of the block), so the whole chain is wrapped.
        let outer = self.chain.take();
        let top = outer.clone().unwrap_or_else(|| self.without_attrs(&call.receiver, call));
        if call.method == "before_exec" && self.cx.facts.imports.brings_in(&COMMAND_EXT) {
            self.found("before_exec", top.clone());
        }
        self.chain = Some(top);
        self.visit_expr(&call.receiver);
        self.chain = None;
        call.args.iter().for_each(|a| self.visit_expr(a));
        self.chain = outer;
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        visit_macro_body(self, mac);
    }
}
