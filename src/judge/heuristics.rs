//! Heuristics: decide a site from what syntax and the compiler's pointers show, without a
//! model. Each returns the chosen option and a reason a reviewer can check, or `None`
//! when the evidence does not settle it.

use std::collections::BTreeMap;

use quote::ToTokens;
use syn::visit::Visit;

use crate::model::{DropOrigin, Evidence, Site};
use crate::source::SourceFile;

/// A heuristic's decision: the index of the chosen option, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    /// Index into the site's options.
    pub option: usize,
    /// One line a reviewer can check.
    pub reason: String,
}

/// Decides a site by heuristics. `files` are the workspace's files by display path (for
/// `Drop` impls of workspace types).
pub fn decide(site: &Site, files: &BTreeMap<String, SourceFile>) -> Option<Decision> {
    match &site.evidence {
        Evidence::IfLetRescope { destructors, .. } => if_let_rescope(site, destructors, files),
        Evidence::TailExprDropOrder { destructors } => tail_expr_drop_order(site, destructors, files),
        Evidence::None => None,
    }
}

fn option(site: &Site, id: &str) -> usize {
    site.options.iter().position(|o| o.id == id).unwrap_or(site.conservative)
}

/// How a method call acquires what it is called on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Access {
    Shared,
    Exclusive,
}

fn access_of(method: &str) -> Option<Access> {
    match method {
        "read" | "try_read" | "borrow" | "try_borrow" | "upgradable_read" => Some(Access::Shared),
        "lock" | "try_lock" | "write" | "try_write" | "borrow_mut" | "try_borrow_mut" | "lock_arc" | "blocking_lock" => Some(Access::Exclusive),
        _ => None,
    }
}

/// `(receiver, method, access)` of each lock or borrow acquisition in an expression.
fn acquisitions(expr: &syn::Expr) -> Vec<(String, String, Access)> {
    struct Find(Vec<(String, String, Access)>);
    impl<'ast> Visit<'ast> for Find {
        fn visit_expr_method_call(&mut self, call: &'ast syn::ExprMethodCall) {
            if let Some(access) = access_of(&call.method.to_string()) {
                self.0.push((normalize(&call.receiver), call.method.to_string(), access));
            }
            syn::visit::visit_expr_method_call(self, call);
        }
        fn visit_macro(&mut self, mac: &'ast syn::Macro) {
            crate::syntax::visit_macro_body(self, mac);
        }
    }
    let mut find = Find(Vec::new());
    find.visit_expr(expr);
    find.0
}

/// A receiver as tokens without spacing (`self . inner` → `self.inner`), with a leading
/// `&`/`*` removed.
fn normalize(expr: &syn::Expr) -> String {
    let text: String = expr.to_token_stream().to_string().chars().filter(|c| !c.is_whitespace()).collect();
    text.trim_start_matches(['&', '*']).to_string()
}

fn if_let_rescope(site: &Site, destructors: &[crate::model::Destructor], files: &BTreeMap<String, SourceFile>) -> Option<Decision> {
    let syn::Expr::If(expr_if) = syn::parse_str::<syn::Expr>(&site.code).ok()? else { return None };
    let syn::Expr::Let(let_expr) = &*expr_if.cond else { return None };
    let (_, else_branch) = expr_if.else_branch.as_ref()?;
    let taken = acquisitions(&let_expr.expr);
    let again = acquisitions(else_branch);
    let keep = option(site, "keep-if-let");
    // The else branch takes the same lock or borrow again.
    for (recv, method, access) in &taken {
        if let Some((_, m2, _)) = again.iter().find(|(r, _, a2)| r == recv && (*access == Access::Exclusive || *a2 == Access::Exclusive)) {
            let is_cell = method.contains("borrow") || m2.contains("borrow");
            let reason = if is_cell {
                format!("the else branch calls `{recv}.{m2}()` while, in the 2021 drop order, the scrutinee's `{recv}.{method}()` is still alive: a BorrowError panic; Rust 2024 releases it first, so `if let` stays")
            } else {
                format!("the else branch calls `{recv}.{m2}()` while, in the 2021 drop order, the guard of `{recv}.{method}()` is still held: a deadlock; Rust 2024 releases it first, so `if let` stays")
            };
            return Some(Decision { option: keep, reason });
        }
    }
    if destructors.is_empty() {
        return None;
    }
    let kinds: Vec<&DropOrigin> = destructors.iter().map(|d| &d.origin).collect();
    if kinds.iter().all(|k| matches!(k, DropOrigin::MutexGuard | DropOrigin::RwLockGuard | DropOrigin::RefCellBorrow | DropOrigin::Memory)) {
        let what = match kinds[0] {
            DropOrigin::MutexGuard | DropOrigin::RwLockGuard => "a lock guard",
            DropOrigin::RefCellBorrow => "a `RefCell` borrow",
            _ => "a value that only owns memory",
        };
        let untouched = taken.iter().map(|(r, ..)| format!("`{r}`")).collect::<Vec<_>>();
        let tail = if untouched.is_empty() { String::new() } else { format!(" and the else branch does not touch {}", untouched.join(", ")) };
        return Some(Decision {
            option: keep,
            reason: format!("the temporary is {what}{tail}: releasing it before `else` changes nothing the code can observe, so `if let` stays"),
        });
    }
    // A type of the workspace: look at its `Drop` impl.
    let workspace: Vec<_> = destructors.iter().filter(|d| d.origin == DropOrigin::Workspace).collect();
    if workspace.len() == destructors.len() {
        let bodies: Vec<DropBody> = workspace.iter().filter_map(|d| drop_effects(files, &d.location, d.line)).collect();
        let effects: Vec<String> = bodies.iter().flat_map(|b| b.effects.iter().cloned()).collect();
        if effects.is_empty() && bodies.len() == workspace.len() {
            // Freed memory cannot be observed, unless `else` reads through a raw pointer into it.
            if bodies.iter().any(|b| b.frees) && contains_unsafe(else_branch) {
                return None;
            }
            return Some(Decision { option: keep, reason: "the workspace `Drop` impl involved has no effects beyond freeing memory, so `if let` stays".into() });
        }
        if !block_is_empty(else_branch) {
            return Some(Decision {
                option: option(site, "rewrite-to-match"),
                reason: format!(
                    "the `Drop` impl at {}:{} has effects ({}) that in Rust 2024 happen before the else branch runs: `match` keeps the 2021 order",
                    workspace[0].location,
                    workspace[0].line,
                    effects.join(", ")
                ),
            });
        }
    }
    None
}

fn tail_expr_drop_order(site: &Site, destructors: &[crate::model::Destructor], files: &BTreeMap<String, SourceFile>) -> Option<Decision> {
    let accept = option(site, "accept");
    let memory = destructors.iter().filter(|d| d.origin == DropOrigin::Memory).count();
    if destructors.len() < 2 || memory + 1 >= destructors.len() {
        return Some(Decision { option: accept, reason: "at most one of the destructors does more than free memory: their order cannot be observed".into() });
    }
    let with_effects: Vec<_> = destructors
        .iter()
        .filter(|d| match d.origin {
            DropOrigin::Workspace => drop_effects(files, &d.location, d.line).is_none_or(|b| !b.effects.is_empty()),
            DropOrigin::Memory => false,
            _ => true,
        })
        .collect();
    if with_effects.len() < 2 {
        return Some(Decision { option: accept, reason: "only one destructor has effects: the order of the other cannot be observed".into() });
    }
    let locks = with_effects.iter().filter(|d| matches!(d.origin, DropOrigin::MutexGuard | DropOrigin::RwLockGuard | DropOrigin::RefCellBorrow)).count();
    if locks == with_effects.len() {
        // Releasing guards never blocks: another order cannot deadlock or change a result.
        return Some(Decision { option: accept, reason: "the destructors are lock guards or borrows: releasing them in another order cannot block or change a result".into() });
    }
    Some(Decision {
        option: site.conservative,
        reason: format!(
            "{} destructors with effects ({}) run in a different order in Rust 2024: a person should check",
            with_effects.len(),
            with_effects.iter().map(|d| format!("{}:{}", d.location, d.line)).collect::<Vec<_>>().join(", ")
        ),
    })
}

/// Whether `expr` holds an `unsafe` block (which could read through a raw pointer).
fn contains_unsafe(expr: &syn::Expr) -> bool {
    struct Find(bool);
    impl<'ast> Visit<'ast> for Find {
        fn visit_expr_unsafe(&mut self, _: &'ast syn::ExprUnsafe) {
            self.0 = true;
        }
        fn visit_macro(&mut self, mac: &'ast syn::Macro) {
            crate::syntax::visit_macro_body(self, mac);
        }
    }
    let mut find = Find(false);
    find.visit_expr(expr);
    find.0
}

fn block_is_empty(expr: &syn::Expr) -> bool {
    matches!(expr, syn::Expr::Block(b) if b.block.stmts.is_empty())
}

/// The source text of the `Drop` impl at `file:line`.
pub fn drop_impl_text(files: &BTreeMap<String, SourceFile>, file: &str, line: usize) -> Option<String> {
    let source = files.get(file).or_else(|| files.values().find(|f| f.path.ends_with(file)))?;
    let parsed = syn::parse_file(&source.text).ok()?;
    parsed.items.iter().find_map(|item| {
        let syn::Item::Impl(imp) = item else { return None };
        let start = syn::spanned::Spanned::span(&imp.impl_token).start().line;
        let end = imp.brace_token.span.close().end().line;
        (start <= line && line <= end).then(|| source.text.lines().skip(start - 1).take(end - start + 1).collect::<Vec<_>>().join("\n"))
    })
}

/// What a `Drop` impl does beyond dropping its fields.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DropBody {
    /// The functions, methods and macros it calls (`log()`, `.send()`, `println!`),
    /// without constructors (`Some(..)`, `Event::Done(..)`) and without the calls that only
    /// free memory.
    pub effects: Vec<String>,
    /// Whether it frees memory explicitly (`Box::from_raw`, `dealloc`, `free`...): nothing
    /// can observe that, unless some code still holds a raw pointer into the memory.
    pub frees: bool,
}

/// Calls that only free memory (or turn a raw pointer back into the owner that frees it).
const FREES: [&str; 8] = ["drop", "Box::from_raw", "from_raw_parts", "CString::from_raw", "dealloc", "free", "ManuallyDrop::drop", "Arc::from_raw"];

fn is_free(name: &str) -> bool {
    FREES.iter().any(|f| name == *f || name.ends_with(&format!("::{f}")))
}

/// A call of a tuple struct or enum variant (`Some(..)`, `Event::Done(..)`): it builds a
/// value and does nothing else.
fn is_constructor(name: &str) -> bool {
    name.rsplit("::").next().is_some_and(|last| last.starts_with(|c: char| c.is_ascii_uppercase()))
}

/// What the `Drop` impl at `file:line` does beyond dropping fields. `None` when the impl
/// cannot be found.
pub fn drop_effects(files: &BTreeMap<String, SourceFile>, file: &str, line: usize) -> Option<DropBody> {
    let source = files.get(file).or_else(|| files.values().find(|f| f.path.ends_with(file)))?;
    let parsed = syn::parse_file(&source.text).ok()?;
    struct Find {
        line: usize,
        found: Option<DropBody>,
    }
    impl<'ast> Visit<'ast> for Find {
        fn visit_item_impl(&mut self, imp: &'ast syn::ItemImpl) {
            let is_drop = imp.trait_.as_ref().is_some_and(|(_, p, _)| p.segments.last().is_some_and(|s| s.ident == "Drop"));
            let start = syn::spanned::Spanned::span(&imp.impl_token).start().line;
            let end = imp.brace_token.span.close().end().line;
            if is_drop && start <= self.line && self.line <= end {
                let mut calls = Calls(DropBody::default());
                calls.visit_item_impl(imp);
                self.found = Some(calls.0);
            }
            syn::visit::visit_item_impl(self, imp);
        }
    }
    struct Calls(DropBody);
    impl<'ast> Visit<'ast> for Calls {
        fn visit_expr_call(&mut self, c: &'ast syn::ExprCall) {
            let name = normalize(&c.func);
            if is_free(&name) {
                self.0.frees = true;
            } else if !is_constructor(&name) {
                self.0.effects.push(format!("{name}()"));
            }
            syn::visit::visit_expr_call(self, c);
        }
        fn visit_expr_method_call(&mut self, c: &'ast syn::ExprMethodCall) {
            self.0.effects.push(format!(".{}()", c.method));
            syn::visit::visit_expr_method_call(self, c);
        }
        fn visit_macro(&mut self, m: &'ast syn::Macro) {
            self.0.effects.push(format!("{}!", m.path.to_token_stream().to_string().replace(' ', "")));
        }
    }
    let mut find = Find { line, found: None };
    find.visit_file(&parsed);
    let mut body = find.found?;
    body.effects.dedup();
    Some(body)
}
