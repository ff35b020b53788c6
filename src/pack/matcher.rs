//! Matching: walk one file's syntax tree (macro arguments included) and find where the
//! pack's patterns match, binding metavariables to byte ranges of the original text.
//!
//! Paths are compared after resolving the code's paths through the file's imports
//! ([`Facts`]). Method rules also need their trait in scope, and the receiver must not
//! be evidently a type of the crate's own with a method of that name; inherent-method
//! rules need evidence of the receiver's type. The walk keeps a scope of local bindings
//! and their type evidence (annotations, constructors, parameters, fields) for this.
//!
//! What comes out is plain data: [`Hit`]s, [`PathSite`]s and [`Note`]s.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::visit::{self, Visit};

use super::format::Constraint;
use super::pattern::{satisfies, strip_parens, token_text, unraw, ArgsPat, Body, Pat, PathPat, TyPat};
use super::resolve::{segments, type_head, type_name, CfgDef, CfgDefs, Facts, Resolved};
use super::CompiledRule;

/// What a metavariable is bound to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Binding {
    /// Byte range in the original text (empty for an empty `$..rest`).
    pub range: Range<usize>,
    /// How loosely the bound expression binds: 0 for atoms (paths, calls, literals, ...),
    /// 1 for prefix expressions (`*x`, `&x`, `-x`), which need parentheses before a
    /// postfix (`.f()`, `?`), 2 for binary, range, cast, closure, ... expressions, which
    /// need them anywhere but between delimiters.
    pub loose: u8,
}

/// A match of an expression or type rule.
#[derive(Clone, Debug)]
pub struct Hit {
    /// Index of the rule in the pack.
    pub rule: usize,
    /// Range of the matched node.
    pub range: Range<usize>,
    /// The metavariables' bindings.
    pub bindings: BTreeMap<String, Binding>,
    /// Leaf of the `use` that brings the rule's trait in scope, if any.
    pub trait_leaf: Option<usize>,
    /// Set when the receiver's type is the rule's only under a `#[cfg]` the code around
    /// the match does not settle: the rewrite must hold in every configuration.
    pub cfg: Option<CfgDep>,
}

/// A receiver whose type depends on the build's configuration: a name (type alias,
/// import, field) the code defines under `#[cfg(..)]`, which is the rule's receiver type
/// only where [`CfgDep::def`]'s condition holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CfgDep {
    /// The receiver as written (`self.map`).
    pub receiver: String,
    /// The name whose definition depends on the cfg: the type alias or import (`MapImpl`),
    /// or the field (`map`).
    pub name: String,
    /// The definition that makes it the rule's receiver type.
    pub def: CfgDef,
    /// Its other definitions (under other cfgs), as far as the code shows them.
    pub others: Vec<CfgDef>,
}

impl CfgDep {
    /// The predicate under which the receiver is the rule's type.
    pub fn predicate(&self) -> String {
        self.def.predicate()
    }

    /// One sentence: which condition decides the receiver's type, and where.
    pub fn explain(&self, rule_type: &str) -> String {
        let place = |d: &CfgDef| if d.file.is_empty() { format!("line {}", d.line) } else { format!("{}:{}", d.file, d.line) };
        let others: Vec<String> = self.others.iter().map(|d| format!("`{}` under `#[cfg({})]` ({})", d.ty.join("::"), d.predicate(), place(d))).collect();
        format!(
            "the receiver `{}` has the type `{rule_type}` only under `#[cfg({})]` ({} `{}`, {}){}",
            self.receiver,
            self.predicate(),
            self.def.kind,
            self.name,
            place(&self.def),
            if others.is_empty() { String::new() } else { format!(", and is {}", others.join(", ")) }
        )
    }
}

/// What the cfgs around a match say about a receiver whose type depends on a cfg.
enum CfgOutcome {
    /// The receiver's type does not depend on a cfg (as far as the code shows).
    Independent,
    /// The code around the match is compiled only where the receiver is not the rule's
    /// type, or its type is never the rule's: nothing to rewrite.
    Other,
    /// The code around the match is compiled only where it is: a plain rewrite.
    Within,
    /// Both: the rewrite must be split by the cfg.
    Split(CfgDep),
}

/// A path written in code that names the crate.
#[derive(Clone, Debug)]
pub struct PathSite {
    /// Its segments as written, with identifier ranges and whether generic arguments
    /// follow the identifier.
    pub written: Vec<(String, Range<usize>, bool)>,
    /// Its resolution.
    pub resolved: Resolved,
}

/// Something the matcher found but will not change.
#[derive(Clone, Debug)]
pub struct Note {
    /// Index of the rule.
    pub rule: usize,
    /// Where: the matched code's byte range.
    pub range: Range<usize>,
    /// Why not.
    pub message: String,
}

/// How a note ends when the matcher leaves a site to the compiler phase of an upgrade
/// (the receiver's type is not evident): that phase settles these notes.
pub const LEFT_TO_COMPILER: &str = "the compiler phase must decide";

/// A call a signature rule's `apply` rewrites (`helper(a)(i)` → `helper(a).parse(i)`,
/// `f(i)` → `f.parse(i)`), or a parameter it makes `mut`: text inserted at offsets.
#[derive(Clone, Debug)]
pub struct Apply {
    /// Index of the signature rule.
    pub rule: usize,
    /// The call (or the parameter).
    pub range: Range<usize>,
    /// What replaces which byte range (empty: an insertion).
    pub edits: Vec<(Range<usize>, String)>,
    /// Whether the edits call the rule's `apply` method (its `imports` are needed).
    pub calls: bool,
}

/// What the matcher found in one file.
#[derive(Debug, Default)]
pub struct Found {
    /// The functions (and methods) of the file whose return type a signature rule
    /// rewrote, by name, with the rule.
    pub changed_fns: BTreeMap<String, usize>,
    /// The names of the file's other functions (a name here and in `changed_fns` is
    /// ambiguous: its calls are left alone).
    pub unchanged_fns: BTreeSet<String>,
    /// Calls through parameters whose type a signature rule rewrote, in their function.
    pub applies: Vec<Apply>,
    /// Expression and type matches, in source order.
    pub hits: Vec<Hit>,
    /// Paths of the code that name the crate.
    pub paths: Vec<PathSite>,
    /// Sites left alone, with the reason.
    pub notes: Vec<Note>,
}

/// Type evidence about a value or a type.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Evidence {
    /// Nothing is known.
    Unknown,
    /// A path of the pack's crate (a type, or the function that made the value).
    Crate(Vec<String>),
    /// A generic or `impl`/`dyn` type with these bounds (full paths where known).
    Bounds(Vec<Vec<String>>),
    /// A type the file declares.
    Local(String),
    /// Some other type, by its path as written.
    Other(Vec<String>),
}

/// Finds every match of `rules` in `file`. At the compiler's `sites` (see
/// [`super::CompilerSite`]) method rules trust the compiler's resolution, and rules that
/// apply at an error find it (everywhere they match with `assume_errors`).
#[allow(clippy::too_many_arguments)]
pub fn find(
    file: &syn::File,
    text: &str,
    facts: &Facts,
    rules: &[CompiledRule],
    extra_methods: &BTreeSet<String>,
    extra_cfg: &CfgDefs,
    sites: &[super::CompilerSite],
    assume_errors: bool,
    range: &dyn Fn(Span) -> Range<usize>,
) -> Found {
    let mut m = Matcher {
        facts,
        rules,
        text,
        extra_methods,
        extra_cfg,
        cfg_regions: Vec::new(),
        sites,
        assume_errors,
        places: Vec::new(),
        range,
        found: Found::default(),
        scopes: vec![BTreeMap::new()],
        generics: Vec::new(),
        self_ty: Vec::new(),
        trait_impls: Vec::new(),
    };
    m.visit_file(file);
    m.found
}

/// The closure a function's body ends with (its value), if it does.
fn returned_closure(body: &syn::Block) -> Option<&syn::ExprClosure> {
    match body.stmts.last() {
        Some(syn::Stmt::Expr(tail, None)) => match strip_parens(tail) {
            syn::Expr::Closure(c) => Some(c),
            _ => None,
        },
        _ => None,
    }
}

fn returns_closure(body: &syn::Block) -> bool {
    returned_closure(body).is_some()
}

/// The calls through the crate's own functions whose return type a signature rule
/// rewrote (`names`: name → rule, in this file or another of the package):
/// `helper(args)(input)` (and `self.helper(args)(input)`) become
/// `helper(args).apply(input)`. A name the file imports from another crate is another
/// item: left alone.
pub fn applied_calls(
    file: &syn::File,
    facts: &Facts,
    rules: &[CompiledRule],
    names: &BTreeMap<String, usize>,
    range: &dyn Fn(Span) -> Range<usize>,
) -> Vec<Apply> {
    struct Calls<'a> {
        facts: &'a Facts,
        rules: &'a [CompiledRule],
        names: &'a BTreeMap<String, usize>,
        range: &'a dyn Fn(Span) -> Range<usize>,
        out: Vec<Apply>,
    }
    impl Calls<'_> {
        /// Whether a bare `name` is the crate's own: not imported, or imported through
        /// `crate::`, `self::`, `super::` or a module of the file.
        fn imported_from_the_crate(&self, name: &str) -> bool {
            self.facts.names.get(name).is_none_or(|leaves| {
                leaves.iter().all(|&l| {
                    self.facts.leaves[l]
                        .written
                        .first()
                        .is_some_and(|(first, _)| matches!(first.as_str(), "crate" | "self" | "super") || self.facts.items.contains(first))
                })
            })
        }
    }
    impl<'ast> Visit<'ast> for Calls<'_> {
        fn visit_expr_call(&mut self, c: &'ast syn::ExprCall) {
            let callee = match &*c.func {
                syn::Expr::Call(inner) => match &*inner.func {
                    syn::Expr::Path(p) if p.qself.is_none() => {
                        let segs = segments(&p.path);
                        let own = segs.len() == 1 || matches!(segs[0].as_str(), "crate" | "self" | "super");
                        let name = segs.last().cloned().unwrap_or_default();
                        (own && (segs.len() > 1 || self.imported_from_the_crate(&name))).then_some(name)
                    }
                    _ => None,
                },
                syn::Expr::MethodCall(m) if matches!(&*m.receiver, syn::Expr::Path(p) if p.path.is_ident("self")) => Some(unraw(&m.method)),
                _ => None,
            };
            if let Some(rule) = callee.and_then(|n| self.names.get(&n)) {
                if let Some(apply) = &self.rules[*rule].apply {
                    let at = (self.range)(c.func.span()).end;
                    self.out.push(Apply { rule: *rule, range: (self.range)(c.span()), edits: vec![(at..at, format!(".{apply}"))], calls: true });
                }
            }
            visit::visit_expr_call(self, c);
        }
        fn visit_macro(&mut self, mac: &'ast syn::Macro) {
            crate::syntax::tokens::visit_macro_body_through_metavariables(self, mac);
        }
    }
    if names.is_empty() {
        return Vec::new();
    }
    let mut calls = Calls { facts, rules, names, range, out: Vec::new() };
    calls.visit_file(file);
    calls.out
}

struct Matcher<'a, 'r> {
    facts: &'a Facts,
    rules: &'a [CompiledRule],
    text: &'a str,
    extra_methods: &'a BTreeSet<String>,
    /// Cfg'd definitions of the package's other files.
    extra_cfg: &'a CfgDefs,
    /// Code under `#[cfg(..)]` seen so far: its range and the conditions.
    cfg_regions: Vec<(Range<usize>, Vec<String>)>,
    sites: &'a [super::CompilerSite],
    /// Whether rules that apply at a compiler error apply wherever they match (a pack's
    /// own examples, which no compiler checks).
    assume_errors: bool,
    /// Places the code writes to (left of `=`, `&mut`): byte ranges.
    places: Vec<Range<usize>>,
    range: &'r dyn Fn(Span) -> Range<usize>,
    found: Found,
    /// Local bindings and their evidence, innermost last.
    scopes: Vec<BTreeMap<String, Evidence>>,
    /// Generic parameters in scope and their bounds.
    generics: Vec<BTreeMap<String, Vec<Vec<String>>>>,
    /// `Self` of the enclosing impls.
    self_ty: Vec<Evidence>,
    /// Whether each enclosing impl is a trait's (its methods' signatures are the trait's:
    /// signature rules leave them alone).
    trait_impls: Vec<bool>,
}

type Bindings = BTreeMap<String, Binding>;

fn is_loose(expr: &syn::Expr) -> u8 {
    use syn::Expr as E;
    match expr {
        E::Path(_)
        | E::Lit(_)
        | E::Call(_)
        | E::MethodCall(_)
        | E::Field(_)
        | E::Index(_)
        | E::Paren(_)
        | E::Macro(_)
        | E::Array(_)
        | E::Tuple(_)
        | E::Struct(_)
        | E::Block(_)
        | E::Try(_)
        | E::Group(_) => 0,
        E::Unary(_) | E::Reference(_) => 1,
        _ => 2,
    }
}

impl Matcher<'_, '_> {
    fn r(&self, node: &impl Spanned) -> Range<usize> {
        (self.range)(node.span())
    }

    fn bind(&self, b: &mut Bindings, name: &str, range: Range<usize>, loose: u8) -> bool {
        match b.get(name) {
            // A metavariable used twice must bind the same text twice.
            Some(prev) => self.text.get(prev.range.clone()) == self.text.get(range.clone()),
            None => {
                b.insert(name.to_string(), Binding { range, loose });
                true
            }
        }
    }

    // ---- matching --------------------------------------------------------------------

    fn match_expr(&self, pat: &Pat, code: &syn::Expr, b: &mut Bindings) -> bool {
        use syn::Expr as E;
        if let Pat::Meta(name) = pat {
            return self.bind(b, name, self.r(code), is_loose(code));
        }
        let code = strip_parens(code);
        match (pat, code) {
            (Pat::Path(p), E::Path(c)) if c.qself.is_none() => self.match_path(p, &c.path, b),
            (Pat::Call(pf, pa), E::Call(c)) => self.match_expr(pf, &c.func, b) && self.match_args(pa, c.args.iter(), c.paren_token.span.close(), b),
            (Pat::Method { receiver, method, turbofish, args }, E::MethodCall(c)) => {
                unraw(&c.method) == *method
                    && match (turbofish, &c.turbofish) {
                        (None, None) => true,
                        (Some(pt), Some(ct)) => self.match_generic_args(pt, ct.args.iter(), b),
                        _ => false,
                    }
                    && self.match_expr(receiver, &c.receiver, b)
                    && self.match_args(args, c.args.iter(), c.paren_token.span.close(), b)
            }
            (Pat::Field(pb, member), E::Field(c)) => token_text(&c.member) == *member && self.match_expr(pb, &c.base, b),
            (Pat::Ref { mutable, expr }, E::Reference(c)) => c.mutability.is_some() == *mutable && self.match_expr(expr, &c.expr, b),
            (Pat::Unary(op, e), E::Unary(c)) => token_text(&c.op) == *op && self.match_expr(e, &c.expr, b),
            (Pat::Binary(l, op, r), E::Binary(c)) => token_text(&c.op) == *op && self.match_expr(l, &c.left, b) && self.match_expr(r, &c.right, b),
            (Pat::Range { from, to, inclusive }, E::Range(c)) => {
                matches!(c.limits, syn::RangeLimits::Closed(_)) == *inclusive
                    && self.match_opt(from.as_deref(), c.start.as_deref(), b)
                    && self.match_opt(to.as_deref(), c.end.as_deref(), b)
            }
            (Pat::Lit(l), E::Lit(c)) => token_text(&c.lit) == *l,
            (Pat::Tuple(a), E::Tuple(c)) => self.match_args(a, c.elems.iter(), c.paren_token.span.close(), b),
            (Pat::Array(a), E::Array(c)) => self.match_args(a, c.elems.iter(), c.bracket_token.span.close(), b),
            (Pat::Index(e, i), E::Index(c)) => self.match_expr(e, &c.expr, b) && self.match_expr(i, &c.index, b),
            (Pat::Cast(e, t), E::Cast(c)) => self.match_expr(e, &c.expr, b) && self.match_type(t, &c.ty, b),
            (Pat::Try(e), E::Try(c)) => self.match_expr(e, &c.expr, b),
            (Pat::Tokens(t), c) => token_text(c) == *t,
            _ => false,
        }
    }

    fn match_opt(&self, pat: Option<&Pat>, code: Option<&syn::Expr>, b: &mut Bindings) -> bool {
        match (pat, code) {
            (None, None) => true,
            (Some(p), Some(c)) => self.match_expr(p, c, b),
            _ => false,
        }
    }

    fn match_args<'c>(&self, pat: &ArgsPat, code: impl Iterator<Item = &'c syn::Expr>, close: Span, b: &mut Bindings) -> bool {
        let code: Vec<&syn::Expr> = code.collect();
        let (nb, na) = (pat.before.len(), pat.after.len());
        let fits = if pat.rest.is_some() { code.len() >= nb + na } else { code.len() == nb };
        if !fits {
            return false;
        }
        if !pat.before.iter().zip(&code).all(|(p, c)| self.match_expr(p, c, b)) {
            return false;
        }
        if !pat.after.iter().zip(&code[code.len() - na..]).all(|(p, c)| self.match_expr(p, c, b)) {
            return false;
        }
        if let Some(rest) = &pat.rest {
            let middle = &code[nb..code.len() - na];
            let range = match (middle.first(), middle.last()) {
                (Some(first), Some(last)) => self.r(*first).start..self.r(*last).end,
                _ => {
                    let at = (self.range)(close).start;
                    at..at
                }
            };
            return self.bind(b, rest, range, 0);
        }
        true
    }

    fn match_generic_args<'c>(&self, pat: &[TyPat], code: impl Iterator<Item = &'c syn::GenericArgument>, b: &mut Bindings) -> bool {
        let code: Vec<&syn::GenericArgument> = code.collect();
        if let Some(TyPat::Rest(name)) = pat.last() {
            let fixed = &pat[..pat.len() - 1];
            if code.len() < fixed.len() {
                return false;
            }
            let tail = &code[fixed.len()..];
            let range = match (tail.first(), tail.last()) {
                (Some(f), Some(l)) => self.r(*f).start..self.r(*l).end,
                _ => 0..0,
            };
            return fixed.iter().zip(&code).all(|(p, c)| self.match_generic_arg(p, c, b)) && self.bind(b, name, range, 0);
        }
        pat.len() == code.len() && pat.iter().zip(&code).all(|(p, c)| self.match_generic_arg(p, c, b))
    }

    fn match_generic_arg(&self, pat: &TyPat, code: &syn::GenericArgument, b: &mut Bindings) -> bool {
        match (pat, code) {
            (p, syn::GenericArgument::Type(t)) => self.match_type(p, t, b),
            (TyPat::Tokens(t), c) => token_text(c) == *t,
            _ => false,
        }
    }

    fn match_type(&self, pat: &TyPat, code: &syn::Type, b: &mut Bindings) -> bool {
        use syn::Type as T;
        match (pat, code) {
            (TyPat::Meta(name), c) => self.bind(b, name, self.r(c), 0),
            (p, T::Paren(c)) => self.match_type(p, &c.elem, b),
            (p, T::Group(c)) => self.match_type(p, &c.elem, b),
            (TyPat::Path(p), T::Path(c)) if c.qself.is_none() => self.match_path(p, &c.path, b),
            (TyPat::Ref { mutable, elem }, T::Reference(c)) => c.mutability.is_some() == *mutable && self.match_type(elem, &c.elem, b),
            (TyPat::Tuple(ps), T::Tuple(c)) => ps.len() == c.elems.len() && ps.iter().zip(&c.elems).all(|(p, c)| self.match_type(p, c, b)),
            (TyPat::Slice(p), T::Slice(c)) => self.match_type(p, &c.elem, b),
            (TyPat::Infer, T::Infer(_)) => true,
            (TyPat::Tokens(t), c) => token_text(c) == *t,
            _ => false,
        }
    }

    /// Matches a code path against a pattern path: by resolution for a full path, by
    /// the trailing segments for `$T::f`.
    fn match_path(&self, pat: &PathPat, code: &syn::Path, b: &mut Bindings) -> bool {
        let n = code.segments.len();
        if let Some(head) = &pat.head {
            let k = pat.segments.len();
            if n <= k {
                return false;
            }
            let tail: Vec<&syn::PathSegment> = code.segments.iter().skip(n - k).collect();
            if !pat.segments.iter().zip(&tail).all(|(p, c)| self.match_segment(p, c, b)) {
                return false;
            }
            let first = code.segments.first().expect("n > k");
            let last_prefix = &code.segments[n - k - 1];
            let start = if code.leading_colon.is_some() { self.r(&code.leading_colon).start } else { self.r(&first.ident).start };
            return self.bind(b, head, start..self.r(last_prefix).end, 0);
        }
        let written = segments(code);
        let Some(resolved) = self.resolve(&written, code.leading_colon.is_some()) else { return false };
        let full: Vec<String> = pat.segments.iter().map(|s| s.ident.clone()).collect();
        if resolved.full != full {
            return false;
        }
        // Written segments are the tail of the full path. The first may be another name
        // for its segment (`use nom::combinator::map as nmap;`, `use nom::combinator as
        // comb;`, a renamed dependency): resolution has matched it, its arguments remain.
        let offset = full.len() - n;
        let ok = pat.segments.iter().enumerate().all(|(i, p)| match i.checked_sub(offset) {
            Some(0) => self.match_segment_args(p, &code.segments[0], b),
            Some(w) => self.match_segment(p, &code.segments[w], b),
            None => p.args.is_none(),
        });
        if ok {
            // The path as written, for templates that name it again.
            let whole = self.r(code);
            let last = self.r(&code.segments[n - 1].ident).start;
            let key = full.join("::");
            b.entry(format!("@path:{key}")).or_insert(Binding { range: whole.clone(), loose: 0 });
            b.entry(format!("@pathhead:{key}")).or_insert(Binding { range: whole.start..last, loose: 0 });
        }
        ok
    }

    fn match_segment(&self, pat: &super::pattern::SegPat, code: &syn::PathSegment, b: &mut Bindings) -> bool {
        unraw(&code.ident) == pat.ident && self.match_segment_args(pat, code, b)
    }

    /// Matches a segment's generic arguments, whatever its name.
    fn match_segment_args(&self, pat: &super::pattern::SegPat, code: &syn::PathSegment, b: &mut Bindings) -> bool {
        match (&pat.args, &code.arguments) {
            (None, syn::PathArguments::None) => true,
            (Some(p), syn::PathArguments::AngleBracketed(c)) => self.match_generic_args(p, c.args.iter(), b),
            (Some(p), syn::PathArguments::Parenthesized(c)) => matches!(p.as_slice(), [TyPat::Tokens(t)] if *t == token_text(c)),
            _ => false,
        }
    }

    // ---- evidence --------------------------------------------------------------------

    /// Resolves a path written here: a single-segment path is shadowed only by a binding
    /// in scope at this point, not by one elsewhere in the file.
    fn resolve(&self, written: &[String], leading_colon: bool) -> Option<Resolved> {
        let shadowed = !leading_colon && written.len() == 1 && self.lookup(&written[0]).is_some();
        self.facts.resolve_in_scope(written, leading_colon, shadowed)
    }

    fn lookup(&self, name: &str) -> Option<&Evidence> {
        self.scopes.iter().rev().find_map(|s| s.get(name))
    }

    fn bounds_of(&self, name: &str) -> Option<&Vec<Vec<String>>> {
        self.generics.iter().rev().find_map(|g| g.get(name))
    }

    fn path_evidence(&self, path: &syn::Path) -> Evidence {
        let written = segments(path);
        if written.len() == 1 && path.leading_colon.is_none() {
            let name = &written[0];
            if name == "Self" {
                return self.self_ty.last().cloned().unwrap_or(Evidence::Unknown);
            }
            if let Some(bounds) = self.bounds_of(name) {
                return Evidence::Bounds(bounds.clone());
            }
            if self.facts.types.contains(name) || self.cfg_types(name).is_some() {
                return Evidence::Local(name.clone());
            }
        }
        if matches!(written.first().map(String::as_str), Some("crate" | "self" | "super")) {
            return written.last().map_or(Evidence::Unknown, |l| {
                if self.facts.types.contains(l) {
                    Evidence::Local(l.clone())
                } else {
                    Evidence::Other(written.clone())
                }
            });
        }
        match self.resolve(&written, path.leading_colon.is_some()) {
            Some(r) => Evidence::Crate(r.full),
            None => Evidence::Other(written),
        }
    }

    fn type_evidence(&self, ty: &syn::Type) -> Evidence {
        use syn::Type as T;
        match ty {
            T::Path(p) if p.qself.is_none() => self.path_evidence(&p.path),
            T::Reference(r) => self.type_evidence(&r.elem),
            T::Paren(p) => self.type_evidence(&p.elem),
            T::Group(g) => self.type_evidence(&g.elem),
            T::ImplTrait(i) => Evidence::Bounds(self.bound_paths(i.bounds.iter())),
            T::TraitObject(o) => Evidence::Bounds(self.bound_paths(o.bounds.iter())),
            _ => Evidence::Unknown,
        }
    }

    fn bound_paths<'b>(&self, bounds: impl Iterator<Item = &'b syn::TypeParamBound>) -> Vec<Vec<String>> {
        bounds
            .filter_map(|b| match b {
                syn::TypeParamBound::Trait(t) => {
                    let written = segments(&t.path);
                    Some(self.resolve(&written, t.path.leading_colon.is_some()).map_or(written, |r| r.full))
                }
                _ => None,
            })
            .collect()
    }

    fn expr_evidence(&self, expr: &syn::Expr) -> Evidence {
        use syn::Expr as E;
        match strip_parens(expr) {
            E::Reference(r) => self.expr_evidence(&r.expr),
            E::Unary(u) if matches!(u.op, syn::UnOp::Deref(_)) => self.expr_evidence(&u.expr),
            E::Path(p) if p.qself.is_none() && p.path.segments.len() == 1 && p.path.leading_colon.is_none() => {
                let name = unraw(&p.path.segments[0].ident);
                if name == "self" {
                    return self.self_ty.last().cloned().unwrap_or(Evidence::Unknown);
                }
                if let Some(e) = self.lookup(&name) {
                    return e.clone();
                }
                if self.facts.types.contains(&name) {
                    return Evidence::Local(name); // a unit struct
                }
                Evidence::Unknown
            }
            E::Field(f) => match &f.member {
                syn::Member::Named(name) => {
                    let types = self.facts.fields.get(&unraw(name)).map(Vec::as_slice).unwrap_or_default();
                    let evidence: Vec<Evidence> = types.iter().map(|t| self.type_evidence(t)).collect();
                    match evidence.split_first() {
                        Some((first, rest)) if rest.iter().all(|e| e == first) => first.clone(),
                        _ => Evidence::Unknown,
                    }
                }
                syn::Member::Unnamed(_) => Evidence::Unknown,
            },
            E::Call(c) => match strip_parens(&c.func) {
                E::Path(p) if p.qself.is_none() => {
                    let path = &p.path;
                    if path.segments.len() >= 2 {
                        // `T::new(..)`, `T::seed_from_u64(..)`: a value of `T`, by convention.
                        let mut ty = path.clone();
                        ty.segments.pop();
                        let ty_path = syn::Path { leading_colon: ty.leading_colon, segments: ty.segments.iter().cloned().collect() };
                        return self.path_evidence(&ty_path);
                    }
                    match self.resolve(&segments(path), path.leading_colon.is_some()) {
                        Some(r) => Evidence::Crate(r.full),
                        None => Evidence::Unknown,
                    }
                }
                _ => Evidence::Unknown,
            },
            E::Struct(s) => self.path_evidence(&s.path),
            E::MethodCall(m) if m.method == "clone" => self.expr_evidence(&m.receiver),
            _ => Evidence::Unknown,
        }
    }

    /// Visits the types and paths written in a pattern (paths, type rules), before the
    /// pattern's bindings are in scope.
    fn visit_pat_types(&mut self, pat: &syn::Pat) {
        struct Types<'m, 'a, 'r>(&'m mut Matcher<'a, 'r>);
        impl<'ast> Visit<'ast> for Types<'_, '_, '_> {
            fn visit_type(&mut self, t: &'ast syn::Type) {
                self.0.visit_type(t);
            }
            fn visit_path(&mut self, p: &'ast syn::Path) {
                self.0.visit_path(p);
            }
        }
        Types(self).visit_pat(pat);
    }

    /// Binds the identifiers of a pattern in the innermost scope.
    fn bind_pat(&mut self, pat: &syn::Pat, evidence: Evidence) {
        match pat {
            syn::Pat::Ident(p) if p.subpat.is_none() => {
                self.scopes.last_mut().expect("a scope").insert(unraw(&p.ident), evidence);
            }
            syn::Pat::Type(t) => {
                let e = self.type_evidence(&t.ty);
                self.bind_pat(&t.pat, e);
            }
            other => {
                struct Idents(Vec<String>);
                impl<'ast> Visit<'ast> for Idents {
                    fn visit_pat_ident(&mut self, p: &'ast syn::PatIdent) {
                        self.0.push(unraw(&p.ident));
                        visit::visit_pat_ident(self, p);
                    }
                }
                let mut idents = Idents(Vec::new());
                idents.visit_pat(other);
                for name in idents.0 {
                    self.scopes.last_mut().expect("a scope").insert(name, Evidence::Unknown);
                }
            }
        }
    }

    /// Runs `walk` inside a function's scope: its generics and its parameters bound with
    /// the type evidence their annotations give.
    fn in_fn_scope(&mut self, sig: &syn::Signature, walk: impl FnOnce(&mut Self)) {
        self.push_generics(&sig.generics);
        self.scopes.push(BTreeMap::new());
        for input in &sig.inputs {
            if let syn::FnArg::Typed(t) = input {
                let e = self.type_evidence(&t.ty);
                self.bind_pat(&t.pat, e);
            }
        }
        walk(self);
        self.scopes.pop();
        self.generics.pop();
    }

    fn push_generics(&mut self, generics: &syn::Generics) {
        let mut map: BTreeMap<String, Vec<Vec<String>>> = BTreeMap::new();
        for param in generics.type_params() {
            map.entry(unraw(&param.ident)).or_default().extend(self.bound_paths(param.bounds.iter()));
        }
        if let Some(w) = &generics.where_clause {
            for pred in &w.predicates {
                if let syn::WherePredicate::Type(t) = pred {
                    if let syn::Type::Path(p) = &t.bounded_ty {
                        if let Some(id) = p.path.get_ident() {
                            let bounds = self.bound_paths(t.bounds.iter());
                            map.entry(unraw(id)).or_default().extend(bounds);
                        }
                    }
                }
            }
        }
        self.generics.push(map);
    }

    fn own_method(&self, name: &str) -> bool {
        self.facts.own_methods.contains(name) || self.extra_methods.contains(name)
    }

    // ---- rules -----------------------------------------------------------------------

    /// Where the rule's subject is: the receiver of its method (or the type of its
    /// associated call) and the method's name.
    fn subject<'c>(&self, pat: &Pat, code: &'c syn::Expr) -> Option<(Subject<'c>, String)> {
        let code = strip_parens(code);
        match (pat, code) {
            (Pat::Method { receiver, method, .. }, syn::Expr::MethodCall(c)) => {
                if matches!(**receiver, Pat::Meta(_)) {
                    Some((Subject::Value(&c.receiver), method.clone()))
                } else {
                    self.subject(receiver, &c.receiver)
                }
            }
            (Pat::Call(func, _), syn::Expr::Call(c)) => match (&**func, strip_parens(&c.func)) {
                (Pat::Path(p), syn::Expr::Path(cp)) if p.head.is_some() => {
                    let n = cp.path.segments.len() - p.segments.len();
                    let ty = syn::Path { leading_colon: cp.path.leading_colon, segments: cp.path.segments.iter().take(n).cloned().collect() };
                    Some((Subject::Type(ty), p.segments[0].ident.clone()))
                }
                (f, _) => self.subject(f, &c.func),
            },
            (Pat::Field(b, _), syn::Expr::Field(c)) => self.subject(b, &c.base),
            (Pat::Ref { expr, .. }, syn::Expr::Reference(c)) => self.subject(expr, &c.expr),
            (Pat::Try(e), syn::Expr::Try(c)) => self.subject(e, &c.expr),
            _ => None,
        }
    }

    fn try_rules(&mut self, expr: &syn::Expr) {
        for (index, rule) in self.rules.iter().enumerate() {
            let Body::Expr(pat) = &rule.body else { continue };
            let mut bindings = Bindings::new();
            if !self.match_expr(pat, expr, &mut bindings) {
                continue;
            }
            if !self.constraints_hold(rule, pat, expr) {
                continue;
            }
            let at = self.r(expr);
            if let Some(code) = &rule.at_error {
                // Only where the compiler reports that error inside the match.
                let reported =
                    self.assume_errors || self.sites.iter().any(|s| s.code.as_ref() == Some(code) && at.start <= s.range.start && s.range.end <= at.end);
                if !reported || self.places.contains(&at) {
                    continue;
                }
            }
            // A receiver whose type is the rule's under a cfg is settled by that cfg: not
            // rewritten where the code around it excludes it, split where it does not say.
            let (cfg, settled) = match self.cfg_outcome(rule, pat, expr, &at) {
                CfgOutcome::Other => continue,
                CfgOutcome::Split(dep) => (Some(dep), true),
                CfgOutcome::Within => (None, true),
                CfgOutcome::Independent => (None, false),
            };
            let trusted = settled || (self.compiler_resolved(rule, pat, expr, &at) && !self.inherent_call(rule, pat, expr));
            let mut trait_leaf = None;
            if let Some(trait_path) = &rule.trait_path {
                match self.facts.brings_in(trait_path) {
                    Some(leaf) => trait_leaf = Some(leaf),
                    None if trusted => {}
                    None => continue,
                }
            }
            if (rule.trait_path.is_some() || rule.receiver_type.is_some()) && !trusted {
                let Some((subject, method)) = self.subject(pat, expr) else { continue };
                let evidence = match &subject {
                    Subject::Value(e) => self.expr_evidence(e),
                    Subject::Type(p) => self.path_evidence(p),
                };
                match self.decide(rule, &evidence, &method) {
                    Decision::Yes => {}
                    Decision::No => continue,
                    Decision::Unsure(why) => {
                        self.found.notes.push(Note { rule: index, range: at.clone(), message: why });
                        continue;
                    }
                }
            }
            if self.claimed(&at) {
                return;
            }
            self.found.hits.push(Hit { rule: index, range: at, bindings, trait_leaf, cfg });
            return;
        }
    }

    /// The cfg'd definitions of a type name, in this file or else in the package's others,
    /// when there are two or more: a name defined once under a cfg does not change type
    /// with it (the code that uses it is under that cfg too, or in a module that is).
    fn cfg_types(&self, name: &str) -> Option<&Vec<CfgDef>> {
        let alternatives = |d: &&Vec<CfgDef>| d.len() >= 2;
        self.facts.cfg_defs.types.get(name).filter(alternatives).or_else(|| self.extra_cfg.types.get(name).filter(alternatives))
    }

    /// The name a receiver's type hangs on, when that name has cfg'd definitions: the
    /// name and every definition.
    fn cfg_defs_of(&self, receiver: &syn::Expr) -> Option<(String, Vec<CfgDef>)> {
        use syn::Expr as E;
        match strip_parens(receiver) {
            E::Reference(r) => self.cfg_defs_of(&r.expr),
            E::Unary(u) if matches!(u.op, syn::UnOp::Deref(_)) => self.cfg_defs_of(&u.expr),
            E::Field(f) => {
                let field = match &f.member {
                    syn::Member::Named(field) => unraw(field),
                    syn::Member::Unnamed(index) => {
                        // `self.0` of a tuple struct: the field's type by its position.
                        let Evidence::Local(owner) = self.expr_evidence(&f.base) else { return None };
                        let ty = self.facts.tuple_fields.get(&owner)?.get(index.index as usize)?;
                        let [name] = type_head(ty)?.try_into().ok()?;
                        return self.cfg_types(&name).map(|d| (name, d.clone()));
                    }
                };
                let alternatives = |d: &&Vec<CfgDef>| d.len() >= 2;
                if let Some(defs) =
                    self.facts.cfg_defs.fields.get(&field).filter(alternatives).or_else(|| self.extra_cfg.fields.get(&field).filter(alternatives))
                {
                    return Some((field, defs.clone()));
                }
                // The field's type: one name with cfg'd definitions.
                let heads: BTreeSet<String> =
                    self.facts.fields.get(&field)?.iter().filter_map(type_head).filter_map(|h| (h.len() == 1).then(|| h[0].clone())).collect();
                let [name] = heads.into_iter().collect::<Vec<_>>().try_into().ok()?;
                self.cfg_types(&name).map(|d| (name, d.clone()))
            }
            E::Path(_) => match self.expr_evidence(receiver) {
                Evidence::Local(name) => self.cfg_types(&name).map(|d| (name, d.clone())),
                Evidence::Other(p) if p.len() == 1 => self.cfg_types(&p[0]).map(|d| (p[0].clone(), d.clone())),
                _ => None,
            },
            _ => None,
        }
    }

    /// Whether the receiver of a rule with a receiver type has a type that depends on a
    /// cfg, and what the cfgs around the match say about it.
    fn cfg_outcome(&self, rule: &CompiledRule, pat: &Pat, expr: &syn::Expr, at: &Range<usize>) -> CfgOutcome {
        let Some(ty) = &rule.receiver_type else { return CfgOutcome::Independent };
        let Some((Subject::Value(receiver), _)) = self.subject(pat, expr) else { return CfgOutcome::Independent };
        let Some((name, defs)) = self.cfg_defs_of(receiver) else { return CfgOutcome::Independent };
        let (matching, others): (Vec<CfgDef>, Vec<CfgDef>) = defs.into_iter().partition(|d| d.ty == *ty);
        // One condition makes it the rule's type (two definitions under one cfg, or none
        // at all: not a shape this can split).
        let Some(def) = matching.first().cloned() else {
            // Defined two ways or more, none of them the rule's type nor a type of the
            // file's own (which could be an alias of it): not this rule's call.
            let local = |d: &CfgDef| d.ty.len() == 1 && (self.facts.types.contains(&d.ty[0]) || self.cfg_types(&d.ty[0]).is_some());
            return if others.len() >= 2 && !others.iter().any(local) { CfgOutcome::Other } else { CfgOutcome::Independent };
        };
        if matching.iter().any(|d| d.when != def.when) {
            return CfgOutcome::Independent;
        }
        let around: Vec<&String> = self.cfg_regions.iter().filter(|(r, _)| r.start <= at.start && at.end <= r.end).flat_map(|(_, c)| c).collect();
        let negated = |w: &String| crate::syntax::cfg::negation(w);
        if around.iter().any(|c| def.when.iter().any(|w| **c == negated(w)) || **c == negated(&def.predicate())) {
            return CfgOutcome::Other;
        }
        if def.when.iter().all(|w| around.contains(&w)) {
            return CfgOutcome::Within;
        }
        let receiver = self.text.get(self.r(receiver)).unwrap_or_default().to_string();
        CfgOutcome::Split(CfgDep { receiver, name, def, others })
    }

    /// Records the cfg conditions `attrs` put on the code at `range`.
    fn note_cfg(&mut self, attrs: &[syn::Attribute], range: Range<usize>) {
        let when = crate::syntax::cfg::conjuncts(attrs);
        if !when.is_empty() {
            self.cfg_regions.push((range, when));
        }
    }

    /// Whether this call of a method rule's method has a receiver evidently of a type of
    /// the file with an inherent method of that name: that method is the one called
    /// (inherent methods come before trait methods), whatever error the compiler reports
    /// at it (quickcheck's own `Gen::gen`, called in a `macro_rules!` body, whose bound
    /// rand 0.9 no longer meets for `usize`).
    fn inherent_call(&self, rule: &CompiledRule, pat: &Pat, expr: &syn::Expr) -> bool {
        if rule.trait_path.is_none() && rule.receiver_type.is_none() {
            return false;
        }
        let Some((Subject::Value(receiver), method)) = self.subject(pat, expr) else { return false };
        matches!(self.expr_evidence(receiver), Evidence::Local(ty) if self.facts.inherent.get(&ty).is_some_and(|m| m.contains(&method)))
    }

    /// Whether the compiler resolved this call of a method rule to the rule's item: one of
    /// its sites lies inside the call, spells the method's name, and names (if it names
    /// anything) an item of the crate whose owner is the rule's trait or type.
    fn compiler_resolved(&self, rule: &CompiledRule, pat: &Pat, expr: &syn::Expr, at: &Range<usize>) -> bool {
        if self.sites.is_empty() {
            return false;
        }
        // An error the compiler reports on this very call, which the upgrade attributed to
        // this rule because the syntactic pass had flagged the call (see
        // [`CompilerSite::rule`]).
        if self.sites.iter().any(|s| s.rule == Some(rule.full_id) && s.range == *at) {
            return true;
        }
        let Some(owner) = rule.trait_path.as_ref().or(rule.receiver_type.as_ref()) else { return false };
        let Some((_, method)) = self.subject(pat, expr) else { return false };
        self.sites.iter().any(|site| {
            let spelled = self.text.get(site.range.clone()).and_then(|t| t.rsplit("::").next()).map(str::trim);
            let inside = at.start <= site.range.start && site.range.end <= at.end;
            let names = match site.item.as_slice() {
                [] => true,
                [first, .., owner_name, item] => {
                    let krate = if self.facts.crate_names.contains(first) { &self.facts.krate } else { first };
                    let ours = *krate == self.facts.krate || rule.companions.contains(krate);
                    ours && owner.last() == Some(owner_name) && *item == method
                }
                _ => false,
            };
            inside && spelled == Some(method.as_str()) && names
        })
    }

    /// Whether `range` lies inside an earlier match, outside that match's metavariables:
    /// it is part of that match's pattern, which its template already rewrites.
    fn claimed(&self, range: &Range<usize>) -> bool {
        self.found.hits.iter().any(|h| {
            h.range.start <= range.start
                && range.end <= h.range.end
                && !h.bindings.iter().any(|(name, b)| !name.starts_with('@') && b.range.start <= range.start && range.end <= b.range.end)
        })
    }

    fn constraints_hold(&self, rule: &CompiledRule, pat: &Pat, expr: &syn::Expr) -> bool {
        if rule.constraints.is_empty() {
            return true;
        }
        // Find the bound expressions again to check them as syntax.
        let mut bound: BTreeMap<String, &syn::Expr> = BTreeMap::new();
        collect_bound(pat, expr, &mut bound);
        rule.constraints.iter().all(|(name, c): (&String, &Constraint)| match bound.get(name) {
            Some(e) => satisfies(e, *c),
            None => false,
        })
    }

    fn decide(&self, rule: &CompiledRule, evidence: &Evidence, method: &str) -> Decision {
        let crate_name = &self.facts.krate;
        let is_ours = |p: &Vec<String>| p.first() == Some(crate_name) || rule.companions.iter().any(|c| p.first() == Some(c));
        if let Some(ty) = &rule.receiver_type {
            return match evidence {
                Evidence::Crate(p) if p == ty => Decision::Yes,
                Evidence::Unknown => Decision::Unsure(format!(
                    "`.{method}(..)` is changed only on a `{}`; the receiver's type is not evident from the code here, so {LEFT_TO_COMPILER}",
                    ty.join("::")
                )),
                _ => Decision::No,
            };
        }
        match evidence {
            Evidence::Local(ty) if self.facts.inherent.get(ty).is_some_and(|m| m.contains(method)) => Decision::No,
            Evidence::Crate(p) if is_ours(p) => Decision::Yes,
            Evidence::Bounds(bounds) if bounds.iter().any(is_ours) => Decision::Yes,
            _ if self.own_method(method) => Decision::Unsure(format!(
                "this crate defines its own `{method}` and the receiver's type is not evident here: left unchanged, {LEFT_TO_COMPILER}"
            )),
            _ => Decision::Yes,
        }
    }

    fn try_type_rules(&mut self, ty: &syn::Type) {
        for (index, rule) in self.rules.iter().enumerate() {
            let Body::Type(pat) = &rule.body else { continue };
            let mut bindings = Bindings::new();
            if self.match_type(pat, ty, &mut bindings) {
                let range = self.r(ty);
                self.found.hits.push(Hit { rule: index, range, bindings, trait_leaf: None, cfg: None });
                return;
            }
        }
    }

    /// A signature rule matching the bound `bound`: its hit is recorded, its index
    /// returned.
    fn try_signature_rules(&mut self, bound: &syn::TraitBound) -> Option<(usize, Option<String>, Bindings)> {
        let syn::PathArguments::Parenthesized(args) = &bound.path.segments.last()?.arguments else { return None };
        let syn::ReturnType::Type(_, output) = &args.output else { return None };
        let fn_trait = super::pattern::fn_trait_of(&bound.path)?;
        for (index, rule) in self.rules.iter().enumerate() {
            let Body::Signature(pat) = &rule.body else { continue };
            if pat.fn_trait != fn_trait || pat.inputs.len() != args.inputs.len() {
                continue;
            }
            let mut bindings = Bindings::new();
            if pat.inputs.iter().zip(&args.inputs).all(|(p, c)| self.match_type(p, c, &mut bindings)) && self.match_type(&pat.output, output, &mut bindings) {
                // The argument type as the code writes it (one argument).
                let input = match args.inputs.iter().collect::<Vec<_>>().as_slice() {
                    [one] => Some(self.text[self.r(*one)].to_string()),
                    _ => None,
                };
                self.found.hits.push(Hit { rule: index, range: self.r(bound), bindings: bindings.clone(), trait_leaf: None, cfg: None });
                return Some((index, input, bindings));
            }
        }
        None
    }

    /// The rule of the first signature rule matching a bound of `bounds`.
    fn try_signature_bounds<'b>(&mut self, bounds: impl Iterator<Item = &'b syn::TypeParamBound>) -> Option<(usize, Option<String>, Bindings)> {
        let mut found = None;
        for b in bounds {
            if let syn::TypeParamBound::Trait(t) = b {
                found = found.or(self.try_signature_rules(t));
            }
        }
        found
    }

    /// A function whose `impl Fn(I) -> ..` return type became another trait's bound
    /// returns a closure whose argument type the `Fn` bound used to give (`|input|`, or
    /// `|input: &str|` where the bound said `&'a str`): without it the closure no longer
    /// infers, or infers a shorter lifetime. Its one argument is written with the type
    /// the signature wrote (`input`: the argument type's text).
    fn annotate_returned_closure(&mut self, rule: usize, body: &syn::Block, input: &str) {
        let Some(closure) = returned_closure(body) else { return };
        let [arg] = closure.inputs.iter().collect::<Vec<_>>()[..] else { return };
        let edit = match arg {
            syn::Pat::Type(t) if self.text[self.r(&t.ty)] == *input => return,
            syn::Pat::Type(t) => (self.r(&t.ty), input.to_string()),
            syn::Pat::Ident(_) | syn::Pat::Wild(_) => {
                let end = self.r(arg).end;
                (end..end, format!(": {input}"))
            }
            _ => return,
        };
        self.found.applies.push(Apply { rule, range: self.r(closure), edits: vec![edit], calls: false });
    }

    /// The rule's `closure_bounds` a function returning a closure lacks, added to its
    /// where-clause: a predicate whose bounded metavariable binds one of the function's
    /// type parameters, none of whose bounds (in the parameter list or the where-clause)
    /// names the predicate's traits.
    fn add_closure_bounds(&mut self, rule: usize, sig: &syn::Signature, bindings: &Bindings) {
        let params: BTreeSet<String> = sig.generics.type_params().map(|p| unraw(&p.ident)).collect();
        let stated = |param: &str, traits: &[String]| {
            let names = |bounds: &syn::punctuated::Punctuated<syn::TypeParamBound, syn::Token![+]>| {
                bounds.iter().any(|b| matches!(b, syn::TypeParamBound::Trait(t) if t.path.segments.last().is_some_and(|s| traits.contains(&unraw(&s.ident)))))
            };
            sig.generics.type_params().any(|p| p.ident == param && names(&p.bounds))
                || sig.generics.where_clause.iter().flat_map(|w| &w.predicates).any(|pred| match pred {
                    syn::WherePredicate::Type(t) => matches!(&t.bounded_ty, syn::Type::Path(p) if p.path.is_ident(param)) && names(&t.bounds),
                    _ => false,
                })
        };
        let mut added = Vec::new();
        for bound in &self.rules[rule].closure_bounds {
            let Some(bound_to) = bindings.get(&bound.var) else { continue };
            let param = &self.text[bound_to.range.clone()];
            if !params.contains(param) || stated(param, &bound.traits) {
                continue;
            }
            added.push(super::template::render(&bound.template, bindings, self.text, self.facts.crate_local_name()));
        }
        if added.is_empty() {
            return;
        }
        let edit = match &sig.generics.where_clause {
            Some(w) if !w.predicates.is_empty() => {
                let last = w.predicates.last().expect("a predicate");
                let end = self.r(last).end;
                let line_start = self.text[..end].rfind('\n').map_or(0, |i| i + 1);
                let indent: String = self.text[line_start..].chars().take_while(|c| *c == ' ' || *c == '\t').collect();
                if w.predicates.trailing_punct() {
                    let comma = end + self.text[end..].find(',').unwrap_or(0) + 1;
                    (comma..comma, added.iter().map(|a| format!("\n{indent}{a},")).collect::<String>())
                } else {
                    (end..end, added.iter().map(|a| format!(",\n{indent}{a}")).collect::<String>())
                }
            }
            _ => {
                // No where-clause: one after the signature, as rustfmt lays it out.
                let end = self.r(sig).end;
                let ws = self.text[end..].len() - self.text[end..].trim_start().len();
                (end..end + ws, format!("\nwhere\n    {},\n", added.join(",\n    ")))
            }
        };
        self.found.applies.push(Apply { rule, range: self.r(sig), edits: vec![edit], calls: false });
    }

    /// Signature rules on a function of the crate's own: its `impl ..` return type, the
    /// bounds of its generic parameters, its `impl ..` parameters; then the calls of its
    /// parameters whose type changed, in its body.
    fn signature(&mut self, sig: &syn::Signature, body: &syn::Block) {
        if !self.rules.iter().any(|r| matches!(r.body, Body::Signature(_))) {
            return;
        }
        let name = unraw(&sig.ident);
        let returned = match &sig.output {
            syn::ReturnType::Type(_, ty) => match &**ty {
                syn::Type::ImplTrait(t) => self.try_signature_bounds(t.bounds.iter()),
                _ => None,
            },
            syn::ReturnType::Default => None,
        };
        match returned {
            Some((rule, input, bindings)) => {
                self.found.changed_fns.entry(name).or_insert(rule);
                if returns_closure(body) {
                    if let Some(input) = input {
                        self.annotate_returned_closure(rule, body, &input);
                    }
                    self.add_closure_bounds(rule, sig, &bindings);
                }
            }
            None => {
                self.found.unchanged_fns.insert(name);
            }
        }
        let mut generic: BTreeMap<String, usize> = BTreeMap::new();
        for param in sig.generics.type_params() {
            if let Some((rule, ..)) = self.try_signature_bounds(param.bounds.iter()) {
                generic.insert(unraw(&param.ident), rule);
            }
        }
        for pred in sig.generics.where_clause.iter().flat_map(|w| &w.predicates) {
            let syn::WherePredicate::Type(t) = pred else { continue };
            let syn::Type::Path(p) = &t.bounded_ty else { continue };
            let Some(id) = p.path.get_ident() else { continue };
            if let Some((rule, ..)) = self.try_signature_bounds(t.bounds.iter()) {
                generic.insert(unraw(id), rule);
            }
        }
        // The parameters whose type changed: name → (rule, where `mut ` goes if needed).
        let mut params: BTreeMap<String, (usize, Option<usize>)> = BTreeMap::new();
        for input in &sig.inputs {
            let syn::FnArg::Typed(t) = input else { continue };
            let syn::Pat::Ident(p) = &*t.pat else { continue };
            let rule = match &*t.ty {
                syn::Type::Path(tp) => tp.path.get_ident().and_then(|id| generic.get(&unraw(id)).copied()),
                syn::Type::ImplTrait(it) => self.try_signature_bounds(it.bounds.iter()).map(|(rule, ..)| rule),
                _ => None,
            };
            if let Some(rule) = rule {
                let needs_mut = (p.mutability.is_none() && p.by_ref.is_none()).then(|| self.r(&p.ident).start);
                params.insert(unraw(&p.ident), (rule, needs_mut));
            }
        }
        if params.is_empty() {
            return;
        }
        struct Calls<'p, 'r> {
            params: &'p BTreeMap<String, (usize, Option<usize>)>,
            range: &'r dyn Fn(Span) -> Range<usize>,
            out: Vec<(String, usize, Range<usize>)>,
        }
        impl<'ast> Visit<'ast> for Calls<'_, '_> {
            fn visit_expr_call(&mut self, c: &'ast syn::ExprCall) {
                if let syn::Expr::Path(p) = &*c.func {
                    if let Some(id) = p.path.get_ident().filter(|_| p.qself.is_none()) {
                        if self.params.contains_key(&unraw(id)) {
                            self.out.push((unraw(id), (self.range)(c.func.span()).end, (self.range)(c.span())));
                        }
                    }
                }
                visit::visit_expr_call(self, c);
            }
            fn visit_macro(&mut self, mac: &'ast syn::Macro) {
                crate::syntax::tokens::visit_macro_body_through_metavariables(self, mac);
            }
        }
        let mut calls = Calls { params: &params, range: self.range, out: Vec::new() };
        calls.visit_block(body);
        let Some(apply) = calls.out.first().map(|(name, ..)| params[name].0).and_then(|rule| self.rules[rule].apply.clone()) else { return };
        let mut made_mut = BTreeSet::new();
        for (name, at, call) in calls.out {
            let (rule, needs_mut) = params[&name];
            if self.rules[rule].apply.as_deref() != Some(apply.as_str()) {
                continue;
            }
            self.found.applies.push(Apply { rule, range: call, edits: vec![(at..at, format!(".{apply}"))], calls: true });
            if let Some(m) = needs_mut.filter(|_| made_mut.insert(name.clone())) {
                self.found.applies.push(Apply { rule, range: m..m, edits: vec![(m..m, "mut ".to_string())], calls: false });
            }
        }
    }

    fn record_path(&mut self, path: &syn::Path) {
        let written: Vec<String> = segments(path);
        let Some(resolved) = self.resolve(&written, path.leading_colon.is_some()) else { return };
        let sites = path.segments.iter().map(|s| (unraw(&s.ident), self.r(&s.ident), !s.arguments.is_none())).collect();
        self.found.paths.push(PathSite { written: sites, resolved });
    }
}

enum Subject<'c> {
    Value(&'c syn::Expr),
    Type(syn::Path),
}

enum Decision {
    Yes,
    No,
    Unsure(String),
}

/// The expressions bound to single metavariables (for constraints).
fn collect_bound<'c>(pat: &Pat, code: &'c syn::Expr, out: &mut BTreeMap<String, &'c syn::Expr>) {
    if let Pat::Meta(name) = pat {
        out.insert(name.clone(), code);
        return;
    }
    let code = strip_parens(code);
    let args = |a: &ArgsPat, items: Vec<&'c syn::Expr>, out: &mut BTreeMap<String, &'c syn::Expr>| {
        for (p, c) in a.before.iter().zip(&items) {
            collect_bound(p, c, out);
        }
        for (p, c) in a.after.iter().rev().zip(items.iter().rev()) {
            collect_bound(p, c, out);
        }
    };
    use syn::Expr as E;
    match (pat, code) {
        (Pat::Call(f, a), E::Call(c)) => {
            collect_bound(f, &c.func, out);
            args(a, c.args.iter().collect(), out);
        }
        (Pat::Method { receiver, args: a, .. }, E::MethodCall(c)) => {
            collect_bound(receiver, &c.receiver, out);
            args(a, c.args.iter().collect(), out);
        }
        (Pat::Field(b, _), E::Field(c)) => collect_bound(b, &c.base, out),
        (Pat::Ref { expr, .. }, E::Reference(c)) => collect_bound(expr, &c.expr, out),
        (Pat::Unary(_, e), E::Unary(c)) => collect_bound(e, &c.expr, out),
        (Pat::Binary(l, _, r), E::Binary(c)) => {
            collect_bound(l, &c.left, out);
            collect_bound(r, &c.right, out);
        }
        (Pat::Range { from, to, .. }, E::Range(c)) => {
            if let (Some(p), Some(c)) = (from, &c.start) {
                collect_bound(p, c, out);
            }
            if let (Some(p), Some(c)) = (to, &c.end) {
                collect_bound(p, c, out);
            }
        }
        (Pat::Tuple(a), E::Tuple(c)) => args(a, c.elems.iter().collect(), out),
        (Pat::Array(a), E::Array(c)) => args(a, c.elems.iter().collect(), out),
        (Pat::Index(e, i), E::Index(c)) => {
            collect_bound(e, &c.expr, out);
            collect_bound(i, &c.index, out);
        }
        (Pat::Cast(e, _), E::Cast(c)) => collect_bound(e, &c.expr, out),
        (Pat::Try(e), E::Try(c)) => collect_bound(e, &c.expr, out),
        _ => {}
    }
}

impl<'ast> Visit<'ast> for Matcher<'_, '_> {
    fn visit_expr(&mut self, e: &'ast syn::Expr) {
        // Places written to: an error rule's rewrite (`f.bits` → `f.bits()`) would not be one.
        match e {
            syn::Expr::Assign(a) => self.places.push(self.r(&a.left)),
            syn::Expr::Binary(b) if is_assignment(&b.op) => self.places.push(self.r(&b.left)),
            syn::Expr::Reference(r) if r.mutability.is_some() => self.places.push(self.r(&r.expr)),
            _ => {}
        }
        self.note_cfg(crate::syntax::cfg::attrs_of(e), self.r(e));
        self.try_rules(e);
        visit::visit_expr(self, e);
    }

    fn visit_type(&mut self, t: &'ast syn::Type) {
        self.try_type_rules(t);
        visit::visit_type(self, t);
    }

    fn visit_path(&mut self, p: &'ast syn::Path) {
        self.record_path(p);
        visit::visit_path(self, p);
    }

    fn visit_item_use(&mut self, _: &'ast syn::ItemUse) {
        // `use` items are planned from the facts, not matched as paths.
    }

    fn visit_block(&mut self, b: &'ast syn::Block) {
        self.scopes.push(BTreeMap::new());
        visit::visit_block(self, b);
        self.scopes.pop();
    }

    fn visit_item(&mut self, i: &'ast syn::Item) {
        self.note_cfg(crate::syntax::cfg::attrs_of(i), self.r(i));
        visit::visit_item(self, i);
    }

    fn visit_impl_item(&mut self, i: &'ast syn::ImplItem) {
        self.note_cfg(crate::syntax::cfg::attrs_of(i), self.r(i));
        visit::visit_impl_item(self, i);
    }

    fn visit_local(&mut self, local: &'ast syn::Local) {
        self.note_cfg(&local.attrs, self.r(local));
        for attr in &local.attrs {
            self.visit_attribute(attr);
        }
        let mut evidence = Evidence::Unknown;
        if let Some(init) = &local.init {
            self.visit_expr(&init.expr);
            if let Some((_, diverge)) = &init.diverge {
                self.visit_expr(diverge);
            }
            evidence = self.expr_evidence(&init.expr);
        }
        self.visit_pat_types(&local.pat);
        self.bind_pat(&local.pat, evidence);
    }

    fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
        self.signature(&f.sig, &f.block);
        self.in_fn_scope(&f.sig, |v| visit::visit_item_fn(v, f));
    }

    fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
        if self.trait_impls.last() != Some(&true) {
            self.signature(&f.sig, &f.block);
        }
        self.in_fn_scope(&f.sig, |v| visit::visit_impl_item_fn(v, f));
    }

    fn visit_trait_item_fn(&mut self, f: &'ast syn::TraitItemFn) {
        self.in_fn_scope(&f.sig, |v| visit::visit_trait_item_fn(v, f));
    }

    fn visit_item_impl(&mut self, i: &'ast syn::ItemImpl) {
        self.push_generics(&i.generics);
        let self_ty = match type_name(&i.self_ty) {
            Some(name) if self.facts.types.contains(&name) => Evidence::Local(name),
            _ => self.type_evidence(&i.self_ty),
        };
        self.self_ty.push(self_ty);
        self.trait_impls.push(i.trait_.is_some());
        visit::visit_item_impl(self, i);
        self.trait_impls.pop();
        self.self_ty.pop();
        self.generics.pop();
    }

    fn visit_item_trait(&mut self, t: &'ast syn::ItemTrait) {
        self.push_generics(&t.generics);
        self.self_ty.push(Evidence::Local(unraw(&t.ident)));
        visit::visit_item_trait(self, t);
        self.self_ty.pop();
        self.generics.pop();
    }

    fn visit_expr_closure(&mut self, c: &'ast syn::ExprClosure) {
        self.scopes.push(BTreeMap::new());
        for input in &c.inputs {
            self.bind_pat(input, Evidence::Unknown);
        }
        visit::visit_expr_closure(self, c);
        self.scopes.pop();
    }

    fn visit_arm(&mut self, arm: &'ast syn::Arm) {
        self.note_cfg(&arm.attrs, self.r(arm));
        self.scopes.push(BTreeMap::new());
        self.bind_pat(&arm.pat, Evidence::Unknown);
        visit::visit_arm(self, arm);
        self.scopes.pop();
    }

    fn visit_expr_if(&mut self, e: &'ast syn::ExprIf) {
        // `if let` bindings are in scope in the condition's rest and the `then` block.
        self.scopes.push(BTreeMap::new());
        for attr in &e.attrs {
            self.visit_attribute(attr);
        }
        self.visit_expr(&e.cond);
        self.visit_block(&e.then_branch);
        self.scopes.pop();
        if let Some((_, else_branch)) = &e.else_branch {
            self.visit_expr(else_branch);
        }
    }

    fn visit_expr_while(&mut self, e: &'ast syn::ExprWhile) {
        self.scopes.push(BTreeMap::new());
        for attr in &e.attrs {
            self.visit_attribute(attr);
        }
        self.visit_expr(&e.cond);
        self.visit_block(&e.body);
        self.scopes.pop();
    }

    fn visit_expr_let(&mut self, e: &'ast syn::ExprLet) {
        self.visit_expr(&e.expr);
        self.visit_pat_types(&e.pat);
        self.bind_pat(&e.pat, Evidence::Unknown);
    }

    fn visit_expr_for_loop(&mut self, f: &'ast syn::ExprForLoop) {
        self.visit_expr(&f.expr);
        self.scopes.push(BTreeMap::new());
        self.bind_pat(&f.pat, Evidence::Unknown);
        self.visit_block(&f.body);
        self.scopes.pop();
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        self.visit_path(&mac.path);
        crate::syntax::tokens::visit_macro_body_through_metavariables(self, mac);
    }
}

/// Whether a binary operator assigns (`+=`, `|=`, ...).
fn is_assignment(op: &syn::BinOp) -> bool {
    use syn::BinOp::*;
    matches!(
        op,
        AddAssign(_)
            | SubAssign(_)
            | MulAssign(_)
            | DivAssign(_)
            | RemAssign(_)
            | BitXorAssign(_)
            | BitAndAssign(_)
            | BitOrAssign(_)
            | ShlAssign(_)
            | ShrAssign(_)
    )
}
