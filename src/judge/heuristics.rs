//! Heuristics: decide a site from what syntax and the compiler's pointers show, without a
//! model. Each returns the chosen option and a reason a reviewer can check, or `None`
//! when the evidence does not settle it.

use std::collections::{BTreeMap, BTreeSet};

use quote::ToTokens;
use syn::visit::Visit;

use crate::core::model::{DropOrigin, Evidence, Site};
use crate::core::text::SourceFile;

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
        Evidence::IfLetRescope { destructors, temporaries } => if_let_rescope(site, temporaries, destructors, files),
        Evidence::TailExprDropOrder { destructors } => tail_expr_drop_order(site, destructors, files),
        Evidence::ReExport { items } => Some(re_export(site, items)),
        Evidence::CfgDependent { predicate, choice, .. } => cfg_dependent(site, predicate, *choice),
        Evidence::None => None,
    }
}

/// A `pub use` of items a library's release removed: the crate's public API. Dropping it
/// breaks every user of the crate that names them (and the crate's own macros that reach
/// them through `$crate::`), which a migration of this crate's dependency must not decide
/// on its own: keep them through the pack's shim. A maintainer who wants the break takes
/// the other option by hand.
fn re_export(site: &Site, items: &[String]) -> Decision {
    let names = items.iter().map(|i| format!("`{i}`")).collect::<Vec<_>>().join(", ");
    Decision {
        option: option(site, "keep-api"),
        reason: format!("{names} are this crate's public API: dropping them would break its users, so the pack's shim keeps them"),
    }
}

/// A call split by the cfg that decides its receiver's type. The split keeps the code of
/// every other configuration byte for byte, so it is clear whenever the pack's rule has
/// one rewrite: that rewrite, under the cfg. When the rule itself asks a question (which
/// of its rewrites), the split does not answer it: the site goes on to the model, or to
/// its conservative option.
fn cfg_dependent(site: &Site, predicate: &str, choice: bool) -> Option<Decision> {
    if choice {
        return None;
    }
    Some(Decision {
        option: site.conservative,
        reason: format!(
            "the pack's rewrite applies only where `#[cfg({predicate})]` holds; split by that cfg, every other configuration keeps its code as written"
        ),
    })
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
            crate::syntax::tokens::visit_macro_body(self, mac);
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

fn if_let_rescope(
    site: &Site,
    temporaries: &[std::ops::Range<usize>],
    destructors: &[crate::core::model::Destructor],
    files: &BTreeMap<String, SourceFile>,
) -> Option<Decision> {
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
    if is_inert(else_branch) {
        return Some(Decision {
            option: keep,
            reason: "the else branch only computes a value (no call, macro or unsafe code): it cannot observe when the temporary is dropped, so `if let` stays"
                .into(),
        });
    }
    if let Some((recv, method)) = acquired_for_else(let_expr) {
        return Some(Decision {
            option: option(site, "rewrite-to-match"),
            reason: format!(
                "the pattern matches the failure of `{recv}.{method}()`, so the else branch is the path where it succeeded: in 2021 it runs holding that guard (a temporary of the scrutinee), Rust 2024 would release it first; `match` keeps it held"
            ),
        });
    }
    if let Some(empty) = empty_in_else(let_expr, temporaries, files.get(&site.file)) {
        return Some(Decision {
            option: keep,
            reason: format!(
                "the value with the destructor is the scrutinee itself, and the pattern takes it out: the else branch sees {empty}, which drops nothing, so when it is dropped cannot be observed and `if let` stays"
            ),
        });
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
        let tail = if untouched.is_empty() { String::new() } else { format!(" and the else branch does not take {} again itself", untouched.join(", ")) };
        let why = if kinds.iter().all(|k| **k == DropOrigin::Memory) {
            "freeing it before `else` cannot be observed"
        } else {
            "releasing it before `else` cannot block anything (should code called from else take it, 2021 would deadlock or panic there)"
        };
        return Some(Decision { option: keep, reason: format!("the temporary is {what}{tail}: {why}, so `if let` stays") });
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
            return Some(Decision {
                option: keep,
                reason: "the workspace `Drop` impl involved has no effects beyond freeing memory, so `if let` stays".into(),
            });
        }
        if bodies.len() < workspace.len() {
            return None;
        }
        let at = format!("{}:{}", workspace[0].location, workspace[0].line);
        let in_else = Uses::of(else_branch);
        // Both write to, or read, the same place: the else branch can observe the effects.
        let mut shared: Vec<String> = bodies.iter().flat_map(|b| b.uses.shared_with(&in_else)).collect();
        shared.dedup();
        if !shared.is_empty() {
            return Some(Decision {
                option: option(site, "rewrite-to-match"),
                reason: format!(
                    "the `Drop` impl at {at} and the else branch both use {}: in Rust 2024 the Drop's effects ({}) would happen before the else branch runs; `match` keeps the 2021 order",
                    shared.join(", "),
                    effects.join(", ")
                ),
            });
        }
        // The temporary is built from a variable that its Drop acts on and the else branch uses.
        let passed = Uses::of(&let_expr.expr).variables;
        let via: Vec<&String> = passed.iter().filter(|v| in_else.variables.contains(*v) && bodies.iter().any(|b| b.fields.contains(*v))).collect();
        if let Some(v) = via.first() {
            return Some(Decision {
                option: option(site, "rewrite-to-match"),
                reason: format!(
                    "the temporary is built from `{v}`, its `Drop` impl at {at} acts on `self.{v}` ({}), and the else branch uses `{v}`: in Rust 2024 it would see the Drop's effects; `match` keeps the 2021 order",
                    effects.join(", ")
                ),
            });
        }
    }
    None
}

/// What a destructor of a tail site does, as far as ordering goes.
enum Effect {
    /// Nothing observable: memory only, or a workspace `Drop` without effects.
    Silent,
    /// Releases a lock or a borrow.
    Guard,
    /// A workspace `Drop` with effects.
    Effects(DropBody),
    /// Another type's destructor, or a workspace impl that cannot be found.
    Unknown,
}

fn tail_expr_drop_order(site: &Site, destructors: &[crate::core::model::Destructor], files: &BTreeMap<String, SourceFile>) -> Option<Decision> {
    let accept = option(site, "accept");
    let effects: Vec<(&crate::core::model::Destructor, Effect)> = destructors
        .iter()
        .map(|d| {
            let effect = match d.origin {
                DropOrigin::Memory => Effect::Silent,
                DropOrigin::Workspace => match drop_effects(files, &d.location, d.line) {
                    Some(b) if b.effects.is_empty() => Effect::Silent,
                    Some(b) => Effect::Effects(b),
                    None => Effect::Unknown,
                },
                _ if is_guard(d) => Effect::Guard,
                _ => Effect::Unknown,
            };
            (d, effect)
        })
        .filter(|(_, e)| !matches!(e, Effect::Silent))
        .collect();
    if effects.len() < 2 {
        return Some(Decision { option: accept, reason: "at most one of the destructors has effects: the order of the others cannot be observed".into() });
    }
    if effects.iter().all(|(_, e)| matches!(e, Effect::Guard)) {
        // Releasing guards never blocks: another order cannot deadlock or change a result.
        return Some(Decision {
            option: accept,
            reason: "the destructors are lock guards or borrows: releasing them in another order cannot block or change a result".into(),
        });
    }
    let (temporaries, locals): (Vec<_>, Vec<_>) = effects.iter().partition(|(d, _)| d.temporary);
    // Rust 2024 releases the tail's guards before the locals' destructors run: those now run
    // without the lock or borrow held, which can remove a deadlock or a borrow panic (a
    // local whose Drop takes the same lock), never add one.
    if !temporaries.is_empty() && temporaries.iter().all(|(_, e)| matches!(e, Effect::Guard)) {
        return Some(Decision {
            option: accept,
            reason: "the tail's temporaries are lock guards or borrows: Rust 2024 releases them before the locals' destructors run, which cannot block anything (and removes a deadlock or a borrow panic if a local's Drop takes the same lock)".into(),
        });
    }
    // A tail temporary whose Drop takes no lock or borrow and calls no function of the
    // workspace: running it while the locals' guards are still held cannot block.
    let harmless = |e: &Effect| matches!(e, Effect::Effects(b) if !b.acquires && b.uses.functions.is_empty());
    if !locals.is_empty() && locals.iter().all(|(_, e)| matches!(e, Effect::Guard)) && temporaries.iter().all(|(_, e)| harmless(e)) {
        return Some(Decision {
            option: accept,
            reason: "the locals are lock guards or borrows and the tail's temporaries take no lock or borrow in their Drop (nor call a function of the workspace that could): dropping them first cannot block or change what the guards protect".into(),
        });
    }
    // Two Drops whose effects reach the same place — a function of the workspace (`log()`),
    // an output stream, a static —: Rust 2024 swaps the order in which they happen there.
    let bodies: Vec<(&crate::core::model::Destructor, &DropBody)> =
        effects.iter().filter_map(|(d, e)| if let Effect::Effects(b) = e { Some((*d, b)) } else { None }).collect();
    for (i, (d1, b1)) in bodies.iter().enumerate() {
        for (d2, b2) in &bodies[i + 1..] {
            let shared = b1.uses.shared_with(&b2.uses);
            if !shared.is_empty() {
                return Some(Decision {
                    option: site.conservative,
                    reason: format!(
                        "the `Drop` impls at {}:{} and {}:{} both use {}: Rust 2024 runs them in the other order, which can be seen there; a person should check",
                        d1.location,
                        d1.line,
                        d2.location,
                        d2.line,
                        shared.join(", ")
                    ),
                });
            }
        }
    }
    // Effects that may or may not meet (two Drops acting on their own fields, a lock taken
    // in a Drop while a guard is held, a destructor of another crate): not for a heuristic.
    None
}

/// Whether a destructor only releases a lock or a borrow: std's (and parking_lot's...)
/// mutex and rwlock guards, `RefCell` borrows, and the reentrant lock guards of stdout and
/// stderr (`StdoutLock`, `StderrLock`), which the compiler points at in `reentrant_lock.rs`.
fn is_guard(d: &crate::core::model::Destructor) -> bool {
    match d.origin {
        DropOrigin::MutexGuard | DropOrigin::RwLockGuard | DropOrigin::RefCellBorrow => true,
        DropOrigin::Other => d.location.replace('\\', "/").ends_with("/reentrant_lock.rs"),
        _ => false,
    }
}

/// `if let Err(..) = m.lock()` (or `try_lock`, `read`, `try_borrow_mut`...), or
/// `if let None = m.try_lock().ok()`: the pattern matches the acquisition's failure, so the
/// else branch runs with the guard alive in 2021. The receiver and the method.
fn acquired_for_else(let_expr: &syn::ExprLet) -> Option<(String, String)> {
    let call = match &*let_expr.pat {
        syn::Pat::TupleStruct(p) if p.path.segments.last().is_some_and(|s| s.ident == "Err") => &*let_expr.expr,
        syn::Pat::Ident(p) if p.ident == "None" && p.subpat.is_none() => match &*let_expr.expr {
            syn::Expr::MethodCall(ok) if ok.method == "ok" && ok.args.is_empty() => &*ok.receiver,
            _ => return None,
        },
        _ => return None,
    };
    let syn::Expr::MethodCall(acquire) = call else { return None };
    let method = acquire.method.to_string();
    access_of(&method).is_some().then(|| (normalize(&acquire.receiver), method))
}

/// Methods whose `Err` holds the value offered back and whose `Ok` the value found, a
/// pointer or an integer without a destructor (atomics, crossbeam-epoch's `Atomic`).
const COMPARE_AND_SWAP: [&str; 4] = ["compare_exchange", "compare_exchange_weak", "compare_and_set", "compare_and_set_weak"];

/// Methods whose `Err` is a plain error saying why nothing was received.
const RECEIVE: [&str; 4] = ["try_recv", "recv", "recv_timeout", "recv_deadline"];

/// When every value the lint flags is the whole scrutinee, produced by value (a
/// `take()`, a `pop_front()`, a `remove()`, a `poll()`), and the pattern takes the variant
/// that carries it, the else branch sees the other variant: `None`, `Poll::Pending`, the
/// `Ok` of a compare-and-swap, the `Err` of a receive. That holds nothing to drop. What it
/// sees, described, or `None` when this does not hold.
fn empty_in_else(let_expr: &syn::ExprLet, temporaries: &[std::ops::Range<usize>], file: Option<&SourceFile>) -> Option<&'static str> {
    let text = &file?.text;
    let squash = |tokens: proc_macro2::TokenStream| tokens.to_string().chars().filter(|c| !c.is_whitespace()).collect::<String>();
    let scrutinee = squash(let_expr.expr.to_token_stream());
    // Tokens, not text: a comment inside the scrutinee is not part of it.
    let whole = |t: &std::ops::Range<usize>| text.get(t.clone()).and_then(|s| s.parse().ok()).is_some_and(|s| squash(s) == scrutinee);
    if temporaries.is_empty() || !temporaries.iter().all(whole) {
        return None;
    }
    let syn::Pat::TupleStruct(pat) = &*let_expr.pat else { return None };
    let variant = pat.path.segments.last()?.ident.to_string();
    let method = match &*let_expr.expr {
        syn::Expr::MethodCall(call) => call.method.to_string(),
        _ => String::new(),
    };
    match variant.as_str() {
        "Some" => Some("`None`"),
        "Ready" => Some("`Poll::Pending`"),
        "Err" if COMPARE_AND_SWAP.contains(&method.as_str()) => Some("the `Ok` of a compare-and-swap (the value found, a pointer or an integer)"),
        "Ok" if RECEIVE.contains(&method.as_str()) => Some("the `Err` of a receive (why nothing came, no message)"),
        _ => None,
    }
}

/// Whether `expr` holds an `unsafe` block (which could read through a raw pointer).
fn contains_unsafe(expr: &syn::Expr) -> bool {
    struct Find(bool);
    impl<'ast> Visit<'ast> for Find {
        fn visit_expr_unsafe(&mut self, _: &'ast syn::ExprUnsafe) {
            self.0 = true;
        }
        fn visit_macro(&mut self, mac: &'ast syn::Macro) {
            crate::syntax::tokens::visit_macro_body(self, mac);
        }
    }
    let mut find = Find(false);
    find.visit_expr(expr);
    find.0
}

/// The workspace file a destructor's location names: by its displayed name, else by
/// the end of its path (the compiler's paths are relative to the package).
pub fn source_of<'f>(files: &'f BTreeMap<String, SourceFile>, file: &str) -> Option<&'f SourceFile> {
    files.get(file).or_else(|| files.values().find(|f| f.path.ends_with(file)))
}

/// `f` of the innermost `Drop` impl of `file` holding `line`, with the file
/// ([`super::facts`]: the file is parsed once per run however many ask).
fn at_drop_impl<T>(files: &BTreeMap<String, SourceFile>, file: &str, line: usize, f: impl FnOnce(&SourceFile, &super::facts::DropImpl) -> T) -> Option<T> {
    let source = source_of(files, file)?;
    let facts = super::facts::of(&source.text)?;
    // Impls are listed outer first: the last that holds the line is the innermost.
    facts.drop_impls.iter().rev().find(|d| d.lines.0 <= line && line <= d.lines.1).map(|d| f(source, d))
}

/// The source text of the `Drop` impl at `file:line`.
pub fn drop_impl_text(files: &BTreeMap<String, SourceFile>, file: &str, line: usize) -> Option<String> {
    at_drop_impl(files, file, line, |source, d| {
        let (start, end) = d.lines;
        source.text.lines().skip(start - 1).take(end - start + 1).collect::<Vec<_>>().join("\n")
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
    /// The functions, output streams and statics it uses.
    pub uses: Uses,
    /// Whether it takes a lock or a borrow itself (`.lock()`, `.borrow_mut()`...).
    pub acquires: bool,
    /// Its own fields it acts on: the receiver of a method call (`self.tx.send(..)`), or an
    /// argument passed by reference (`remove_dir_all(&self.path)`).
    pub fields: BTreeSet<String>,
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
/// cannot be found. The file is parsed once per run however many sites ask
/// ([`super::facts`]).
pub fn drop_effects(files: &BTreeMap<String, SourceFile>, file: &str, line: usize) -> Option<DropBody> {
    at_drop_impl(files, file, line, |_, d| d.body.clone())
}

/// What a `Drop` impl does beyond dropping its fields.
pub(super) fn drop_body(imp: &syn::ItemImpl) -> DropBody {
    struct Calls(DropBody);
    impl<'ast> Visit<'ast> for Calls {
        fn visit_expr_call(&mut self, c: &'ast syn::ExprCall) {
            let name = normalize(&c.func);
            if is_free(&name) {
                self.0.frees = true;
            } else if !is_constructor(&name) {
                self.0.effects.push(format!("{name}()"));
            }
            for arg in &c.args {
                if let syn::Expr::Reference(r) = arg {
                    self.0.fields.extend(self_field(&r.expr));
                }
            }
            syn::visit::visit_expr_call(self, c);
        }
        fn visit_expr_method_call(&mut self, c: &'ast syn::ExprMethodCall) {
            self.0.effects.push(format!(".{}()", c.method));
            self.0.acquires |= access_of(&c.method.to_string()).is_some();
            self.0.fields.extend(self_field(&c.receiver));
            for arg in &c.args {
                if let syn::Expr::Reference(r) = arg {
                    self.0.fields.extend(self_field(&r.expr));
                }
            }
            syn::visit::visit_expr_method_call(self, c);
        }
        fn visit_macro(&mut self, m: &'ast syn::Macro) {
            self.0.effects.push(format!("{}!", m.path.to_token_stream().to_string().replace(' ', "")));
        }
    }
    let mut calls = Calls(DropBody::default());
    calls.visit_item_impl(imp);
    let mut uses = CollectUses(Uses::default());
    uses.visit_item_impl(imp);
    let mut body = calls.0;
    body.uses = uses.0;
    body.effects.dedup();
    body
}

/// `self.FIELD` at the root of an expression (`self.tx`, `self.out.borrow_mut()`, `&self.path`,
/// `self.a.b`): the field's name.
fn self_field(expr: &syn::Expr) -> Option<String> {
    match expr {
        syn::Expr::Field(f) => match &*f.base {
            syn::Expr::Path(p) if p.path.is_ident("self") => match &f.member {
                syn::Member::Named(name) => Some(name.to_string()),
                syn::Member::Unnamed(index) => Some(index.index.to_string()),
            },
            base => self_field(base),
        },
        syn::Expr::MethodCall(m) => self_field(&m.receiver),
        syn::Expr::Reference(r) => self_field(&r.expr),
        syn::Expr::Unary(u) => self_field(&u.expr),
        syn::Expr::Paren(p) => self_field(&p.expr),
        _ => None,
    }
}

/// What a piece of code uses that could carry an effect from one place to another.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Uses {
    /// Free functions of the workspace it calls, by last segment (`log`, `metrics::bump` →
    /// `bump`); std's, constructors and associated functions (`Type::new`) left out.
    pub functions: BTreeSet<String>,
    /// Output streams its macros write to: `stdout` (`print!`, `println!`), `stderr`
    /// (`eprint!`, `eprintln!`), `the log` (`info!`, `warn!`...).
    pub streams: BTreeSet<&'static str>,
    /// `SCREAMING_CASE` paths it names: statics (and constants).
    pub statics: BTreeSet<String>,
    /// Single-name paths it names: local variables and parameters (and unit values).
    pub variables: BTreeSet<String>,
}

impl Uses {
    /// What `expr` uses, macro arguments included.
    pub fn of(expr: &syn::Expr) -> Uses {
        let mut collect = CollectUses(Uses::default());
        collect.visit_expr(expr);
        collect.0
    }

    /// What `self` and `other` both use, described (`\`log()\``, `stdout`, `\`ACTIVE\``);
    /// local variables do not count (the two may be in different functions).
    fn shared_with(&self, other: &Uses) -> Vec<String> {
        let mut out: Vec<String> = self.functions.intersection(&other.functions).map(|f| format!("`{f}()`")).collect();
        out.extend(self.streams.intersection(&other.streams).map(|s| s.to_string()));
        out.extend(self.statics.intersection(&other.statics).map(|s| format!("`{s}`")));
        out
    }
}

struct CollectUses(Uses);

impl<'ast> Visit<'ast> for CollectUses {
    fn visit_expr_call(&mut self, c: &'ast syn::ExprCall) {
        if let syn::Expr::Path(p) = &*c.func {
            let segments: Vec<String> = p.path.segments.iter().map(|s| s.ident.to_string()).collect();
            let name = segments.join("::");
            let std_path = matches!(segments[0].as_str(), "std" | "core" | "alloc");
            let associated = segments.len() > 1 && segments[segments.len() - 2].starts_with(|c: char| c.is_ascii_uppercase());
            if !std_path && !associated && !is_constructor(&name) && !is_free(&name) {
                self.0.functions.insert(segments[segments.len() - 1].clone());
            }
        }
        syn::visit::visit_expr_call(self, c);
    }
    fn visit_expr_path(&mut self, p: &'ast syn::ExprPath) {
        if let Some(last) = p.path.segments.last() {
            let name = last.ident.to_string();
            if name.len() > 1 && name.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_') {
                self.0.statics.insert(name);
            } else if p.path.segments.len() == 1 && name != "self" {
                self.0.variables.insert(name);
            }
        }
        syn::visit::visit_expr_path(self, p);
    }
    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        let name = mac.path.segments.last().map(|s| s.ident.to_string()).unwrap_or_default();
        match name.as_str() {
            "print" | "println" => {
                self.0.streams.insert("stdout");
            }
            "eprint" | "eprintln" => {
                self.0.streams.insert("stderr");
            }
            "trace" | "debug" | "info" | "warn" | "error" | "log" => {
                self.0.streams.insert("the log");
            }
            _ => {}
        }
        crate::syntax::tokens::visit_macro_body(self, mac);
    }
}

/// Whether evaluating `expr` only computes a value: no call (but of a tuple struct or enum
/// variant's constructor), method call, macro, `unsafe` block, `?`, `.await` or closure.
/// Such code cannot observe when a destructor runs.
fn is_inert(expr: &syn::Expr) -> bool {
    struct Find(bool);
    impl<'ast> Visit<'ast> for Find {
        fn visit_expr_call(&mut self, c: &'ast syn::ExprCall) {
            if !(matches!(&*c.func, syn::Expr::Path(_)) && is_constructor(&normalize(&c.func))) {
                self.0 = false;
            }
            syn::visit::visit_expr_call(self, c);
        }
        fn visit_expr_method_call(&mut self, _: &'ast syn::ExprMethodCall) {
            self.0 = false;
        }
        fn visit_macro(&mut self, _: &'ast syn::Macro) {
            self.0 = false;
        }
        fn visit_expr_unsafe(&mut self, _: &'ast syn::ExprUnsafe) {
            self.0 = false;
        }
        fn visit_expr_try(&mut self, _: &'ast syn::ExprTry) {
            self.0 = false;
        }
        fn visit_expr_await(&mut self, _: &'ast syn::ExprAwait) {
            self.0 = false;
        }
        fn visit_expr_closure(&mut self, _: &'ast syn::ExprClosure) {
            self.0 = false;
        }
        fn visit_item(&mut self, _: &'ast syn::Item) {}
    }
    let mut find = Find(true);
    find.visit_expr(expr);
    find.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::model::{CfgStatus, Edit};

    /// An `if let` site of `code` (the whole file), the lint flagging `flagged` (each the
    /// text of a temporary, found in `code`).
    fn decide_if_let(code: &str, flagged: &[&str]) -> Option<Decision> {
        let file = SourceFile::loose("src/lib.rs", code);
        let temporaries = flagged.iter().map(|t| code.find(t).map(|at| at..at + t.len()).expect("flagged text in the code")).collect();
        let site = Site {
            rule: "if_let_rescope",
            file: "src/lib.rs".into(),
            line: 1,
            cfg: CfgStatus::Active,
            question: crate::core::model::IF_LET_RESCOPE_QUESTION.into(),
            code: code.into(),
            context: Vec::new(),
            options: crate::core::model::if_let_rescope_options(vec![Edit::insert(0, "match")]),
            conservative: 1,
            evidence: Evidence::IfLetRescope { temporaries, destructors: Vec::new() },
        };
        decide(&site, &BTreeMap::from([("src/lib.rs".to_string(), file)]))
    }

    #[test]
    fn the_else_branch_of_a_value_taken_out_sees_an_empty_variant() {
        let keep = |code: &str, flagged: &[&str]| decide_if_let(code, flagged).map(|d| (d.option, d.reason.contains("drops nothing")));
        // `take()`, a removal, a poll: the else branch sees `None` / `Pending`.
        assert_eq!(keep("if let Some(f) = self.pending.take() { send(f) } else { log() }", &["self.pending.take()"]), Some((0, true)));
        assert_eq!(
            keep("if let Some((k, v)) = self.cache.remove(&key /* gone */) { use_it(k, v) } else { skip() }", &["self.cache.remove(&key /* gone */)"]),
            Some((0, true))
        );
        assert_eq!(keep("if let Poll::Ready(r) = fut.poll(cx) { done(r) } else { wait() }", &["fut.poll(cx)"]), Some((0, true)));
        assert_eq!(
            keep("if let Err(e) = a.compare_exchange_weak(p, n, o1, o2, g) { retry(e) } else { done() }", &["a.compare_exchange_weak(p, n, o1, o2, g)"]),
            Some((0, true))
        );
        assert_eq!(keep("if let Ok(m) = rx.try_recv() { handle(m) } else { idle() }", &["rx.try_recv()"]), Some((0, true)));
        // Not when another temporary (a guard) is flagged too, nor when only a part of the
        // scrutinee is the value, nor for an `Err` whose `Ok` may hold anything.
        assert_eq!(decide_if_let("if let Some(x) = m.lock().unwrap().pop() { a(x) } else { b() }", &["m.lock().unwrap()", "m.lock().unwrap().pop()"]), None);
        assert_eq!(decide_if_let("if let Some(x) = get().first() { a(x) } else { b() }", &["get()"]), None);
        assert_eq!(decide_if_let("if let Err(e) = open(path) { a(e) } else { b() }", &["open(path)"]), None);
    }
}
