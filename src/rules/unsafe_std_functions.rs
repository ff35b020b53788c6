//! The `unsafe-std-functions` rule.

use std::collections::BTreeMap;
use std::ops::Range;

use syn::spanned::Spanned;
use syn::visit::{self, Visit};

use super::{Findings, Rule, RuleMeta, SourceCx};
use crate::model::{Edit, Safety};
use crate::source::{indentation_at, line_ending};
use crate::syntax::{path_segments, visit_macro_body};

#[cfg_attr(not(doctest), doc = include_str!("../../rules/unsafe-std-functions/README.md"))]
pub struct UnsafeStdFunctions;

static META: RuleMeta = RuleMeta {
    id: "unsafe-std-functions",
    summary: "wrap calls of `env::set_var`, `env::remove_var`, `CommandExt::before_exec` in `unsafe { }` with a SAFETY note",
    safety: Safety::NeedsReview,
    doc: include_str!("../../rules/unsafe-std-functions/README.md"),
};

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
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_source(&self, cx: &SourceCx<'_>, out: &mut Findings) {
        let mut finder = Finder { cx, in_unsafe: false, stmt: None, calls: Vec::new(), refs: Vec::new() };
        finder.visit_file(&cx.parsed.syntax);
        // One change per statement: the calls it holds and one SAFETY comment above it.
        let mut by_stmt: BTreeMap<usize, Vec<Call>> = BTreeMap::new();
        for call in finder.calls {
            by_stmt.entry(call.stmt_start).or_default().push(call);
        }
        for (stmt_start, mut calls) in by_stmt {
            calls.sort_by_key(|c| c.range.start);
            calls.dedup_by_key(|c| c.range.start);
            let mut names: Vec<&str> = calls.iter().map(|c| c.name).collect();
            names.dedup();
            let mut edits = vec![comment_edit(cx, stmt_start, &safety_note(&names))];
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
            out.diagnostics.push(cx.warning(
                &META,
                at,
                format!("`{name}` is an `unsafe fn` in Rust 2024: wherever this function value is called needs an `unsafe` block"),
            ));
        }
    }
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
    UNSAFE_FNS.iter().find(|target| cx.imports.resolves_to(&segments, &target[..])).map(|t| t[2])
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
    calls: Vec<Call>,
    /// Mentions that are not calls (`let f = env::set_var;`): their callers need
    /// `unsafe` too, which the rule cannot add.
    refs: Vec<(&'static str, usize)>,
}

impl Finder<'_, '_> {
    fn found(&mut self, name: &'static str, expr: &dyn Spanned) {
        if self.in_unsafe {
            return;
        }
        let range = self.cx.range(expr.span());
        let stmt_start = self.stmt.unwrap_or(range.start);
        self.calls.push(Call { name, range, stmt_start });
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
            syn::Expr::Path(p) => {
                if let Some(name) = unsafe_fn_name(self.cx, &p.path) {
                    self.found(name, call);
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

    fn visit_expr_method_call(&mut self, call: &'ast syn::ExprMethodCall) {
        if call.method == "before_exec" && self.cx.imports.brings_in(&COMMAND_EXT) {
            self.found("before_exec", call);
        }
        visit::visit_expr_method_call(self, call);
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        visit_macro_body(self, mac);
    }
}
