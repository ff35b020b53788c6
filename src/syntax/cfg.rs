//! Evaluating `#[cfg(...)]` against the configuration `cargo check` would build with,
//! to tell which code the compiler sees and which only `cargo migrate` does.

use std::collections::BTreeSet;
use std::ops::Range;

use syn::punctuated::Punctuated;
use syn::visit::Visit;

use crate::core::model::CfgStatus;

/// A set of active cfg options: bare names (`unix`, `test`) and `key = "value"` pairs.
#[derive(Clone, Debug, Default)]
pub struct CfgSet {
    names: BTreeSet<String>,
    pairs: BTreeSet<(String, String)>,
}

impl CfgSet {
    /// The configuration a `cargo check --all-targets` build of the host has: `printed`
    /// (the output of `rustc --print cfg`) plus `test` and `debug_assertions`.
    pub fn for_checking(printed: &str) -> CfgSet {
        let mut set = CfgSet::parse_print_cfg(printed);
        set.names.insert("test".into());
        set.names.insert("debug_assertions".into());
        set
    }

    /// Parses the output of `rustc --print cfg`.
    pub fn parse_print_cfg(text: &str) -> CfgSet {
        let mut set = CfgSet::default();
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
            match line.split_once('=') {
                Some((k, v)) => {
                    set.pairs.insert((k.trim().to_string(), v.trim().trim_matches('"').to_string()));
                }
                None => {
                    set.names.insert(line.to_string());
                }
            }
        }
        set
    }

    /// Adds an enabled feature.
    pub fn with_feature(mut self, feature: &str) -> CfgSet {
        self.pairs.insert(("feature".into(), feature.into()));
        self
    }

    /// Evaluates a cfg predicate (the inside of `#[cfg(...)]`). `None` when it cannot be
    /// read.
    pub fn eval(&self, pred: &syn::Meta) -> Option<bool> {
        match pred {
            syn::Meta::Path(p) => Some(self.names.contains(&p.get_ident()?.to_string())),
            syn::Meta::NameValue(nv) => {
                let key = nv.path.get_ident()?.to_string();
                let syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(s), .. }) = &nv.value else {
                    return None;
                };
                Some(self.pairs.contains(&(key, s.value())))
            }
            syn::Meta::List(list) => {
                let args = list.parse_args_with(Punctuated::<syn::Meta, syn::Token![,]>::parse_terminated).ok()?;
                let mut values = args.iter().map(|m| self.eval(m));
                match list.path.get_ident()?.to_string().as_str() {
                    "all" => values.try_fold(true, |acc, v| Some(acc && v?)),
                    "any" => values.try_fold(false, |acc, v| Some(acc || v?)),
                    "not" if args.len() == 1 => Some(!self.eval(&args[0])?),
                    _ => None,
                }
            }
        }
    }

    /// Status of code carrying `attrs`: inactive if a `#[cfg]` among them is false,
    /// unknown if one cannot be read.
    pub fn status_of(&self, attrs: &[syn::Attribute]) -> CfgStatus {
        let mut status = CfgStatus::Active;
        for attr in attrs.iter().filter(|a| a.path().is_ident("cfg")) {
            let value = attr.parse_args::<syn::Meta>().ok().and_then(|m| self.eval(&m));
            status = status.and(match value {
                Some(true) => CfgStatus::Active,
                Some(false) => CfgStatus::Inactive,
                None => CfgStatus::Unknown,
            });
        }
        status
    }
}

/// The conditions the `#[cfg(..)]` attributes among `attrs` put on the code, one per
/// conjunct (`#[cfg(all(a, b))]` gives `a` and `b`), each as [`predicate_text`] writes it.
/// Code carrying them is compiled only where every one holds.
pub fn conjuncts(attrs: &[syn::Attribute]) -> Vec<String> {
    fn split(meta: &syn::Meta, out: &mut Vec<String>) {
        if let syn::Meta::List(list) = meta {
            if list.path.is_ident("all") {
                if let Ok(args) = list.parse_args_with(Punctuated::<syn::Meta, syn::Token![,]>::parse_terminated) {
                    args.iter().for_each(|m| split(m, out));
                    return;
                }
            }
        }
        out.push(predicate_text(meta));
    }
    let mut out = Vec::new();
    for attr in attrs.iter().filter(|a| a.path().is_ident("cfg")) {
        if let Ok(meta) = attr.parse_args::<syn::Meta>() {
            split(&meta, &mut out);
        }
    }
    out
}

/// A cfg predicate written the way rustfmt writes it (`feature = "x"`, `not(unix)`,
/// `any(a, b)`): the same text for the same predicate however the code spaced it.
pub fn predicate_text(meta: &syn::Meta) -> String {
    match meta {
        syn::Meta::Path(p) => p.segments.iter().map(|s| s.ident.to_string()).collect::<Vec<_>>().join("::"),
        syn::Meta::NameValue(nv) => {
            let key = nv.path.segments.iter().map(|s| s.ident.to_string()).collect::<Vec<_>>().join("::");
            format!("{key} = {}", quote::ToTokens::to_token_stream(&nv.value))
        }
        syn::Meta::List(list) => {
            let name = list.path.segments.iter().map(|s| s.ident.to_string()).collect::<Vec<_>>().join("::");
            match list.parse_args_with(Punctuated::<syn::Meta, syn::Token![,]>::parse_terminated) {
                Ok(args) => format!("{name}({})", args.iter().map(predicate_text).collect::<Vec<_>>().join(", ")),
                Err(_) => format!("{name}({})", list.tokens),
            }
        }
    }
}

/// The negation of a predicate [`predicate_text`] wrote: `not(p)`, or `p` for `not(p)`.
pub fn negation(predicate: &str) -> String {
    match predicate.strip_prefix("not(").and_then(|p| p.strip_suffix(')')) {
        Some(inner) if balanced(inner) => inner.to_string(),
        _ => format!("not({predicate})"),
    }
}

fn balanced(s: &str) -> bool {
    let mut depth = 0i32;
    for c in s.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            _ => {}
        }
        if depth < 0 {
            return false;
        }
    }
    depth == 0
}

/// The features a predicate [`predicate_text`] wrote names (`feature = "x"` anywhere in it).
pub fn features_in(predicate: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = predicate;
    while let Some(i) = rest.find("feature = \"") {
        rest = &rest[i + "feature = \"".len()..];
        if let Some(end) = rest.find('"') {
            out.push(rest[..end].to_string());
            rest = &rest[end..];
        }
    }
    out.sort();
    out.dedup();
    out
}

/// The byte ranges of a file whose code is behind a cfg that is off (or unreadable).
#[derive(Clone, Debug, Default)]
pub struct CfgRanges {
    ranges: Vec<(Range<usize>, CfgStatus)>,
}

impl CfgRanges {
    /// Finds the items, fields, variants, arms and statements of `file` whose `#[cfg]`
    /// is off. `range` maps a span to a byte range of the original text.
    pub fn of(file: &syn::File, cfg: &CfgSet, range: &dyn Fn(proc_macro2::Span) -> Range<usize>) -> CfgRanges {
        struct Collect<'c> {
            cfg: &'c CfgSet,
            range: &'c dyn Fn(proc_macro2::Span) -> Range<usize>,
            out: Vec<(Range<usize>, CfgStatus)>,
        }
        impl Collect<'_> {
            fn note(&mut self, attrs: &[syn::Attribute], node: &dyn syn::spanned::Spanned) {
                let status = self.cfg.status_of(attrs);
                if status != CfgStatus::Active {
                    let start = attrs.first().map(|a| (self.range)(a.pound_token.span).start);
                    let r = (self.range)(node.span());
                    self.out.push((start.unwrap_or(r.start).min(r.start)..r.end, status));
                }
            }
        }
        impl<'ast> Visit<'ast> for Collect<'_> {
            fn visit_macro(&mut self, mac: &'ast syn::Macro) {
                if mac.path.segments.last().is_some_and(|s| s.ident == "cfg_if") {
                    let cfg_if = cfg_if_branches(&mac.tokens, self.cfg);
                    for (group, status) in cfg_if {
                        if status != CfgStatus::Active {
                            self.out.push(((self.range)(group.span()), status));
                        }
                    }
                }
            }
        }
        macro_rules! visits {
            ($($method:ident($ty:ty) => $walk:ident;)*) => {
                struct Walk<'w, 'c>(&'w mut Collect<'c>);
                impl<'ast> Visit<'ast> for Walk<'_, '_> {
                    $(fn $method(&mut self, node: &'ast $ty) {
                        self.0.note(attrs_of(node), node);
                        syn::visit::$walk(self, node);
                    })*
                    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
                        if mac.path.segments.last().is_some_and(|s| s.ident == "cfg_if") {
                            self.0.visit_macro(mac);
                            return;
                        }
                        // Code written inside another macro (a crate's `feature! { .. }`
                        // wrapper): its `#[cfg]`s and `cfg_if!`s count too. Without a `#`
                        // or a `cfg_if`, it has neither: not parsed.
                        let attrs_or_cfg_if = |t: &proc_macro2::TokenTree| crate::syntax::tokens::is_punct(t, '#') || crate::syntax::tokens::is_ident(t, "cfg_if");
                        if !crate::syntax::tokens::any_token(&mac.tokens, &attrs_or_cfg_if) {
                            return;
                        }
                        for body in crate::syntax::tokens::macro_bodies(&mac.tokens) {
                            match body {
                                crate::syntax::tokens::MacroBody::Items(items) => items.iter().for_each(|i| self.visit_item(i)),
                                crate::syntax::tokens::MacroBody::Stmts(stmts) => stmts.iter().for_each(|st| self.visit_stmt(st)),
                                crate::syntax::tokens::MacroBody::Exprs(_) => {}
                            }
                        }
                    }
                }
            };
        }
        visits! {
            visit_item(syn::Item) => visit_item;
            visit_impl_item(syn::ImplItem) => visit_impl_item;
            visit_trait_item(syn::TraitItem) => visit_trait_item;
            visit_foreign_item(syn::ForeignItem) => visit_foreign_item;
            visit_field(syn::Field) => visit_field;
            visit_variant(syn::Variant) => visit_variant;
            visit_arm(syn::Arm) => visit_arm;
            visit_local(syn::Local) => visit_local;
            visit_expr(syn::Expr) => visit_expr;
            visit_field_value(syn::FieldValue) => visit_field_value;
        }
        let mut c = Collect { cfg, range, out: Vec::new() };
        Walk(&mut c).visit_file(file);
        CfgRanges { ranges: c.out }
    }

    /// Status of the code at byte `offset`.
    pub fn status_at(&self, offset: usize) -> CfgStatus {
        self.ranges.iter().filter(|(r, _)| r.contains(&offset)).fold(CfgStatus::Active, |acc, (_, s)| acc.and(*s))
    }
}

/// The branches of a `cfg_if! { if #[cfg(a)] { .. } else if #[cfg(b)] { .. } else { .. } }`:
/// each branch's braces and whether it is the one compiled here. After a condition that
/// cannot be read, the rest are unknown.
pub fn cfg_if_branches(tokens: &proc_macro2::TokenStream, cfg: &CfgSet) -> Vec<(proc_macro2::Group, CfgStatus)> {
    use proc_macro2::{Delimiter, TokenTree};
    let seq: Vec<TokenTree> = tokens.clone().into_iter().collect();
    let mut out = Vec::new();
    let mut taken = false;
    let mut unknown = false;
    let mut i = 0;
    while i < seq.len() {
        // `if #[cfg(pred)] { .. }`
        if crate::syntax::tokens::is_ident(&seq[i], "if") {
            let (Some(TokenTree::Group(attr)), Some(TokenTree::Group(body))) = (seq.get(i + 2), seq.get(i + 3)) else { break };
            let pred = syn::parse2::<syn::Meta>(attr.stream()).ok().and_then(|m| match m {
                syn::Meta::List(l) if l.path.is_ident("cfg") => l.parse_args::<syn::Meta>().ok(),
                _ => None,
            });
            let value = pred.and_then(|p| cfg.eval(&p));
            let status = match (taken, unknown, value) {
                (true, _, _) => CfgStatus::Inactive,
                (_, true, _) | (_, _, None) => CfgStatus::Unknown,
                (_, _, Some(true)) => CfgStatus::Active,
                (_, _, Some(false)) => CfgStatus::Inactive,
            };
            unknown |= value.is_none();
            taken |= status == CfgStatus::Active;
            out.push((body.clone(), status));
            i += 4;
        } else if crate::syntax::tokens::is_ident(&seq[i], "else") {
            // `else if ..` continues; a final `else { .. }` is taken if nothing was.
            match seq.get(i + 1) {
                Some(TokenTree::Group(body)) if body.delimiter() == Delimiter::Brace => {
                    let status = if taken {
                        CfgStatus::Inactive
                    } else if unknown {
                        CfgStatus::Unknown
                    } else {
                        CfgStatus::Active
                    };
                    out.push((body.clone(), status));
                    i += 2;
                }
                _ => i += 1,
            }
        } else {
            i += 1;
        }
    }
    out
}

/// The outer attributes of the syntax nodes that can carry `#[cfg]`.
/// A syntax node that carries attributes.
pub trait HasAttrs {
    /// Its outer attributes.
    fn attrs(&self) -> &[syn::Attribute];
}

/// The attributes of `node`.
pub fn attrs_of<T: HasAttrs>(node: &T) -> &[syn::Attribute] {
    node.attrs()
}

macro_rules! has_attrs_enum {
    ($ty:ident { $($variant:ident),* $(,)? }) => {
        impl HasAttrs for syn::$ty {
            fn attrs(&self) -> &[syn::Attribute] {
                match self {
                    $(syn::$ty::$variant(x) => &x.attrs,)*
                    _ => &[],
                }
            }
        }
    };
}

has_attrs_enum!(Item { Const, Enum, ExternCrate, Fn, ForeignMod, Impl, Macro, Mod, Static, Struct, Trait, TraitAlias, Type, Union, Use });
has_attrs_enum!(ImplItem { Const, Fn, Type, Macro });
has_attrs_enum!(TraitItem { Const, Fn, Type, Macro });
has_attrs_enum!(ForeignItem { Fn, Static, Type, Macro });
has_attrs_enum!(Expr {
    Array,
    Assign,
    Async,
    Await,
    Binary,
    Block,
    Break,
    Call,
    Cast,
    Closure,
    Const,
    Continue,
    Field,
    ForLoop,
    Group,
    If,
    Index,
    Infer,
    Let,
    Lit,
    Loop,
    Macro,
    Match,
    MethodCall,
    Paren,
    Path,
    Range,
    RawAddr,
    Reference,
    Repeat,
    Return,
    Struct,
    Try,
    TryBlock,
    Tuple,
    Unary,
    Unsafe,
    While,
    Yield
});

macro_rules! has_attrs_struct {
    ($($ty:ty),*) => {$(
        impl HasAttrs for $ty {
            fn attrs(&self) -> &[syn::Attribute] {
                &self.attrs
            }
        }
    )*};
}

has_attrs_struct!(syn::Field, syn::Variant, syn::Arm, syn::Local, syn::FieldValue);

#[cfg(test)]
mod tests {

    #[test]
    fn conjuncts_are_the_predicates_every_cfg_puts_on_the_code() {
        let item: syn::ItemType = syn::parse_str("#[cfg(all(unix,feature=\"a\"))] #[cfg(not( feature = \"b\" ))] type T = u8;").unwrap();
        assert_eq!(conjuncts(&item.attrs), ["unix", "feature = \"a\"", "not(feature = \"b\")"]);
        assert_eq!(negation("feature = \"b\""), "not(feature = \"b\")");
        assert_eq!(negation("not(feature = \"b\")"), "feature = \"b\"");
        assert_eq!(negation("not(a), not(b)"), "not(not(a), not(b))");
        assert_eq!(features_in("any(feature = \"a\", not(feature = \"b\"), unix)"), ["a", "b"]);
    }
    use super::*;

    fn linux() -> CfgSet {
        CfgSet::parse_print_cfg("unix\ntarget_os=\"linux\"\ntarget_pointer_width=\"64\"\n").with_feature("std")
    }

    fn eval(src: &str) -> Option<bool> {
        linux().eval(&syn::parse_str::<syn::Meta>(src).unwrap())
    }

    #[test]
    fn evaluates_predicates() {
        assert_eq!(eval("unix"), Some(true));
        assert_eq!(eval("windows"), Some(false));
        assert_eq!(eval("target_os = \"linux\""), Some(true));
        assert_eq!(eval("all(unix, feature = \"std\")"), Some(true));
        assert_eq!(eval("any(windows, not(unix))"), Some(false));
        assert_eq!(eval("not(feature = \"nightly\")"), Some(true));
        assert_eq!(eval("foo(bar)"), None);
    }

    #[test]
    fn finds_inactive_ranges() {
        let src = "fn a() {}\n#[cfg(windows)]\nmod w { fn b() {} }\nstruct S { #[cfg(unix)] x: u8, #[cfg(windows)] y: u8 }\n";
        let parsed = crate::syntax::parsed::Parsed::parse(src).unwrap();
        let ranges = CfgRanges::of(&parsed.syntax, &linux(), &|s| parsed.range(s));
        assert_eq!(ranges.status_at(src.find("fn a").unwrap()), CfgStatus::Active);
        assert_eq!(ranges.status_at(src.find("fn b").unwrap()), CfgStatus::Inactive);
        assert_eq!(ranges.status_at(src.find("#[cfg(windows)]").unwrap()), CfgStatus::Inactive);
        assert_eq!(ranges.status_at(src.find("x:").unwrap()), CfgStatus::Active);
        assert_eq!(ranges.status_at(src.find("y:").unwrap()), CfgStatus::Inactive);
    }

    #[test]
    fn cfg_if_branches_are_evaluated() {
        let src = "cfg_if::cfg_if! {\n if #[cfg(windows)] { fn w() {} }\n else if #[cfg(unix)] { fn u() {} }\n else { fn other() {} }\n}\nfn f() { cfg_if! { if #[cfg(feature = \"nope\")] { let a = 1; } else { let b = 2; } } }\n";
        let parsed = crate::syntax::parsed::Parsed::parse(src).unwrap();
        let ranges = CfgRanges::of(&parsed.syntax, &linux(), &|s| parsed.range(s));
        assert_eq!(ranges.status_at(src.find("fn w").unwrap()), CfgStatus::Inactive);
        assert_eq!(ranges.status_at(src.find("fn u").unwrap()), CfgStatus::Active);
        assert_eq!(ranges.status_at(src.find("fn other").unwrap()), CfgStatus::Inactive);
        assert_eq!(ranges.status_at(src.find("let a").unwrap()), CfgStatus::Inactive);
        assert_eq!(ranges.status_at(src.find("let b").unwrap()), CfgStatus::Active);
    }

    #[test]
    fn cfg_inside_other_macros_is_evaluated() {
        let src = "feature! { #[cfg(windows)] pub fn w() {} pub fn a() { cfg_if! { if #[cfg(target_os = \"macos\")] { fn m() {} } } } }\n";
        let parsed = crate::syntax::parsed::Parsed::parse(src).unwrap();
        let ranges = CfgRanges::of(&parsed.syntax, &linux(), &|s| parsed.range(s));
        assert_eq!(ranges.status_at(src.find("fn w").unwrap()), CfgStatus::Inactive);
        assert_eq!(ranges.status_at(src.find("fn m").unwrap()), CfgStatus::Inactive);
        assert_eq!(ranges.status_at(src.find("pub fn a").unwrap()), CfgStatus::Active);
    }
}
