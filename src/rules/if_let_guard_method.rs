//! The `if-let-guard-method` rule.

use syn::spanned::Spanned;
use syn::visit::{self, Visit};

use super::{Findings, Rule, SourceCx};
use crate::core::model::{Destructor, DropOrigin, Edit, Evidence, Site};

declare_rule! {
    pub IfLetGuardMethod {
        id: "if-let-guard-method",
        safety: NeedsReview,
        summary: "`if let` whose scrutinee calls a method through a lock guard or `RefCell` borrow: dropped before `else` in 2024, unlinted by rustc (a judge site)",
    }
}

/// What kind of guard a method without arguments takes, by its name.
fn guard_origin(method: &str) -> Option<DropOrigin> {
    match method {
        "lock" | "try_lock" | "blocking_lock" | "lock_arc" => Some(DropOrigin::MutexGuard),
        "read" | "write" | "try_read" | "try_write" | "upgradable_read" | "blocking_read" | "blocking_write" => Some(DropOrigin::RwLockGuard),
        "borrow" | "borrow_mut" | "try_borrow" | "try_borrow_mut" => Some(DropOrigin::RefCellBorrow),
        _ => None,
    }
}

/// The guard-taking call under a receiver: `m.lock()` in `m.lock()`, `m.lock().unwrap()`,
/// `m.lock().expect("..")` and `m.lock()?`.
fn guard_call(expr: &syn::Expr) -> Option<&syn::ExprMethodCall> {
    match expr {
        syn::Expr::MethodCall(call) if call.args.is_empty() && guard_origin(&call.method.to_string()).is_some() => Some(call),
        syn::Expr::MethodCall(call) if call.method == "unwrap" || call.method == "expect" => guard_call(&call.receiver),
        syn::Expr::Try(t) => guard_call(&t.expr),
        syn::Expr::Paren(p) => guard_call(&p.expr),
        _ => None,
    }
}

/// Guards of the scrutinee that a method call, a field access or an index goes through,
/// outside blocks and closures (whose temporaries end with them).
#[derive(Default)]
struct Through<'a> {
    found: Vec<(&'a syn::Expr, &'a syn::ExprMethodCall)>,
}

impl<'a> Through<'a> {
    fn receiver(&mut self, receiver: &'a syn::Expr) {
        if let Some(call) = guard_call(receiver) {
            self.found.push((receiver, call));
        }
    }
}

impl<'a> Visit<'a> for Through<'a> {
    fn visit_expr_method_call(&mut self, e: &'a syn::ExprMethodCall) {
        // `.unwrap()` of the guard's own result is part of taking it.
        if !(e.method == "unwrap" || e.method == "expect") || guard_call(&e.receiver).is_none() {
            self.receiver(&e.receiver);
        }
        visit::visit_expr_method_call(self, e);
    }
    fn visit_expr_field(&mut self, e: &'a syn::ExprField) {
        self.receiver(&e.base);
        visit::visit_expr_field(self, e);
    }
    fn visit_expr_index(&mut self, e: &'a syn::ExprIndex) {
        self.receiver(&e.expr);
        visit::visit_expr_index(self, e);
    }
    fn visit_expr_block(&mut self, _: &'a syn::ExprBlock) {}
    fn visit_expr_closure(&mut self, _: &'a syn::ExprClosure) {}
    fn visit_expr_async(&mut self, _: &'a syn::ExprAsync) {}
    fn visit_expr_unsafe(&mut self, _: &'a syn::ExprUnsafe) {}
}

struct Finder<'c, 'a> {
    cx: &'c SourceCx<'a>,
    /// Methods the file defines itself: a `lock()` of its own is no known guard.
    own_methods: &'a std::collections::BTreeSet<String>,
    /// Starts of the `if`s that follow an `else`: `else match` is not Rust, so their
    /// `match` goes in a block.
    else_ifs: std::collections::BTreeSet<usize>,
    sites: Vec<Site>,
}

impl Finder<'_, '_> {
    fn site(&mut self, expr_if: &syn::ExprIf) {
        let syn::Expr::Let(let_expr) = &*expr_if.cond else { return };
        let Some((else_token, else_branch)) = &expr_if.else_branch else { return };
        let mut through = Through::default();
        through.visit_expr(&let_expr.expr);
        let Some((guard, _)) = through.found.first() else { return };
        let r = |s: proc_macro2::Span| self.cx.range(s);
        let whole = r(expr_if.span());
        let scrutinee = r(let_expr.expr.span());
        let pattern = r(let_expr.pat.span());
        let else_keyword = r(else_token.span);
        let else_body = r(else_branch.span());
        let text = self.cx.text();
        // `if let P = E { A } else { B }` → `match E { P => { A } _ => { B } }`; what
        // stands between `}` and `else` (a comment) stays. After an `else`, in a block.
        let else_if = self.else_ifs.contains(&whole.start);
        let edits = vec![
            Edit::replace(whole.start..scrutinee.start, if else_if { "{ match " } else { "match " }),
            Edit::insert(scrutinee.end, format!(" {{ {} =>", &text[pattern.clone()])),
            Edit::replace(else_keyword, "_ =>"),
            Edit::insert(else_body.end, if else_if { " } }" } else { " }" }),
        ];
        let destructors = through
            .found
            .iter()
            .filter_map(|(guard, call)| {
                let method = call.method.to_string();
                // A guard taken through a `Result` (`m.lock().unwrap()`, `?`) is std's even
                // where the file has a `lock` of its own (which returns its guard directly).
                let through_result = !matches!(guard, syn::Expr::MethodCall(m) if std::ptr::eq(m, *call));
                let origin = if self.own_methods.contains(&method) && !through_result { DropOrigin::Other } else { guard_origin(&method)? };
                Some(Destructor { origin, location: format!("`.{method}()`, by its name"), line: 0, temporary: true })
            })
            .collect();
        let line = self.cx.lines.line(r(let_expr.let_token.span).start);
        self.sites.push(Site {
            rule: META.id,
            file: self.cx.file.display.clone(),
            line,
            cfg: self.cx.file.cfg.and(self.cx.cfg.status_at(whole.start)),
            question: crate::core::model::IF_LET_RESCOPE_QUESTION.into(),
            code: text[whole.clone()].to_string(),
            context: Vec::new(),
            options: crate::core::model::if_let_rescope_options(edits),
            conservative: 1,
            evidence: Evidence::IfLetRescope { temporaries: vec![r(guard.span())], destructors },
        });
    }
}

impl<'a> Visit<'a> for Finder<'_, '_> {
    fn visit_expr_if(&mut self, e: &'a syn::ExprIf) {
        if let Some((_, syn::Expr::If(next))) = e.else_branch.as_ref().map(|(t, b)| (t, &**b)) {
            self.else_ifs.insert(self.cx.range(next.span()).start);
        }
        self.site(e);
        visit::visit_expr_if(self, e);
    }
    fn visit_macro(&mut self, mac: &'a syn::Macro) {
        // An `if let` has a `let`: a macro without one is not parsed.
        if crate::syntax::tokens::any_token(&mac.tokens, &|t| crate::syntax::tokens::is_ident(t, "let")) {
            crate::syntax::tokens::visit_macro_body(self, mac);
        }
    }
}

impl Rule for IfLetGuardMethod {
    fn reads_chunks(&self) -> bool {
        true
    }

    fn check_source(&self, cx: &SourceCx<'_>, out: &mut Findings) {
        if !cx.mentions(&["let"]) || !cx.mentions(&["lock(", "read(", "write(", "borrow(", "borrow_mut("]) {
            return;
        }
        let mut finder = Finder { cx, own_methods: &cx.facts.methods, else_ifs: Default::default(), sites: Vec::new() };
        finder.visit_file(&cx.parsed.syntax);
        out.sites.extend(finder.sites);
    }
}

/// Whether a site of this rule is the same `if let` as a site of rustc's lint.
pub fn same_site(ours: &Site, rustc: &Site) -> bool {
    ours.rule == META.id && rustc.rule == "if_let_rescope" && ours.file == rustc.file && ours.line == rustc.line
}
