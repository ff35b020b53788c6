//! Helpers over tokens and syntax trees shared by the rules: token sequences (which
//! reach into macro bodies and invocations), macro arguments parsed as Rust where they
//! are Rust, and the file's `use` map.

use std::collections::BTreeMap;

use proc_macro2::{Delimiter, TokenStream, TokenTree};
use syn::parse::Parser;
use syn::punctuated::Punctuated;

/// Calls `f` on the top-level token sequence of `tokens` and on the contents of every
/// group inside it, depth first. Token-level rules use this to see code everywhere,
/// including `macro_rules!` bodies, macro invocations and cfg-disabled items.
pub fn for_each_sequence(tokens: &TokenStream, f: &mut dyn FnMut(&[TokenTree])) {
    let seq: Vec<TokenTree> = tokens.clone().into_iter().collect();
    f(&seq);
    for tt in &seq {
        if let TokenTree::Group(g) = tt {
            for_each_sequence(&g.stream(), f);
        }
    }
}

/// Every token sequence of `tokens`: the top level and the contents of each group, at any
/// depth, each once. Computed once per file ([`crate::syntax::parsed::Parsed::sequences`]) and
/// shared by the token-level rules.
pub fn sequences_of(tokens: &TokenStream) -> Vec<Vec<TokenTree>> {
    let mut out = Vec::new();
    let mut todo = vec![tokens.clone()];
    while let Some(stream) = todo.pop() {
        let seq: Vec<TokenTree> = stream.into_iter().collect();
        todo.extend(seq.iter().rev().filter_map(|tt| match tt {
            TokenTree::Group(g) => Some(g.stream()),
            _ => None,
        }));
        out.push(seq);
    }
    out
}

/// Whether `tt` is the identifier `name` (not raw).
pub fn is_ident(tt: &TokenTree, name: &str) -> bool {
    matches!(tt, TokenTree::Ident(i) if i == name)
}

/// Whether any token of `tokens`, at any depth, satisfies `pred`: a cheap test before
/// parsing a macro's arguments (a visitor that looks for `if let` need not parse a
/// macro without a `let`).
pub fn any_token(tokens: &TokenStream, pred: &dyn Fn(&TokenTree) -> bool) -> bool {
    tokens.clone().into_iter().any(|tt| match &tt {
        TokenTree::Group(g) => any_token(&g.stream(), pred),
        other => pred(other),
    })
}

/// Whether `tt` is the punctuation character `ch`.
pub fn is_punct(tt: &TokenTree, ch: char) -> bool {
    matches!(tt, TokenTree::Punct(p) if p.as_char() == ch)
}

/// Whether `tt` is a group with delimiter `d`.
pub fn is_group(tt: &TokenTree, d: Delimiter) -> bool {
    matches!(tt, TokenTree::Group(g) if g.delimiter() == d)
}

/// Splits a token sequence at top-level commas.
pub fn split_commas(tokens: &[TokenTree]) -> Vec<&[TokenTree]> {
    let mut parts = Vec::new();
    let mut start = 0;
    for (i, tt) in tokens.iter().enumerate() {
        if is_punct(tt, ',') {
            parts.push(&tokens[start..i]);
            start = i + 1;
        }
    }
    if start < tokens.len() {
        parts.push(&tokens[start..]);
    }
    parts
}

/// The Rust code inside a macro invocation, when its arguments parse as Rust.
pub enum MacroBody {
    /// Comma-separated expressions: `println!`, `assert_eq!`, `vec!`, `format!`, ...
    Exprs(Vec<syn::Expr>),
    /// Statements, as in a block.
    Stmts(Vec<syn::Stmt>),
    /// Items, as in a module.
    Items(Vec<syn::Item>),
}

/// Parses the arguments of a macro invocation as expressions, statements or items, in
/// that order of preference. When none fits (a custom syntax such as `cfg_if!`), each
/// brace-delimited group inside is tried the same way, so Rust code nested in a DSL is
/// still seen. Spans point into the original file.
pub fn macro_bodies(tokens: &TokenStream) -> Vec<MacroBody> {
    let mut out = Vec::new();
    collect_macro_bodies(tokens, &mut out, 0);
    out
}

fn collect_macro_bodies(tokens: &TokenStream, out: &mut Vec<MacroBody>, depth: usize) {
    if tokens.is_empty() || depth > 8 {
        return;
    }
    if let Ok(exprs) = Punctuated::<syn::Expr, syn::Token![,]>::parse_terminated.parse2(tokens.clone()) {
        out.push(MacroBody::Exprs(exprs.into_iter().collect()));
        return;
    }
    if let Ok(stmts) = syn::Block::parse_within.parse2(tokens.clone()) {
        out.push(MacroBody::Stmts(stmts));
        return;
    }
    if let Ok(file) = syn::parse2::<syn::File>(tokens.clone()) {
        out.push(MacroBody::Items(file.items));
        return;
    }
    // A declaration-like DSL (`const RW = Self::R.bits | Self::W.bits;` in `bitflags!`,
    // `static ref X: T = init();` in `lazy_static!`): what follows each top-level `=` up
    // to its `;` is an expression when it parses as one.
    let trees: Vec<TokenTree> = tokens.clone().into_iter().collect();
    let mut initializers = Vec::new();
    // Trees inside a parsed initializer: seen with it, not again on their own below (a
    // call in `unsafe { .. }` there would lose its `unsafe`).
    let mut seen = vec![false; trees.len()];
    let mut i = 0;
    while i < trees.len() {
        let is_assign = matches!(&trees[i], TokenTree::Punct(p) if p.as_char() == '=' && p.spacing() == proc_macro2::Spacing::Alone)
            && !matches!(trees.get(i.wrapping_sub(1)), Some(TokenTree::Punct(p)) if p.spacing() == proc_macro2::Spacing::Joint);
        if is_assign {
            let end = trees[i + 1..].iter().position(|t| matches!(t, TokenTree::Punct(p) if p.as_char() == ';')).map_or(trees.len(), |n| i + 1 + n);
            let expr: TokenStream = trees[i + 1..end].iter().cloned().collect();
            if let Ok(e) = syn::parse2::<syn::Expr>(expr) {
                initializers.push(e);
                seen[i + 1..end].iter_mut().for_each(|s| *s = true);
            }
            i = end;
        }
        i += 1;
    }
    if !initializers.is_empty() {
        out.push(MacroBody::Exprs(initializers));
    }
    for (tt, seen) in trees.iter().zip(seen) {
        if let (TokenTree::Group(g), false) = (tt, seen) {
            if g.delimiter() == Delimiter::Brace {
                collect_macro_bodies(&g.stream(), out, depth + 1);
            }
        }
    }
}

/// Prefix of the identifiers that stand for a `macro_rules!` transcriber's metavariables
/// in [`macro_rules_as_rust`] (`$typ` → `__mr_typ`).
pub const MACRO_VAR: &str = "__mr_";

/// The tokens of a `macro_rules!` definition with its metavariables made Rust, so that
/// the code of its transcribers parses: `$name` (and `$crate`) becomes one identifier,
/// `__mr_name`, whose span covers `$name`; a repetition `$( .. ) sep op` becomes its
/// contents, once. Every other token keeps its span, so byte ranges still point into the
/// file; a match whose range holds a `$` outside what its metavariables bind spans the
/// macro's own syntax and must not be rewritten (the pack runner checks it).
/// Without this, a transcriber's statements that mention a metavariable (`<$typ>::MIN`,
/// `std::$typ::MAX`) do not parse, and only the braces inside them are looked at.
pub fn macro_rules_as_rust(tokens: &TokenStream) -> TokenStream {
    let trees: Vec<TokenTree> = tokens.clone().into_iter().collect();
    let mut out = Vec::with_capacity(trees.len());
    let mut i = 0;
    while i < trees.len() {
        if is_punct(&trees[i], '$') {
            match trees.get(i + 1) {
                Some(TokenTree::Ident(name)) => {
                    let span = trees[i].span().join(name.span()).unwrap_or_else(|| name.span());
                    let ident = proc_macro2::Ident::new(&format!("{MACRO_VAR}{}", name.to_string().trim_start_matches("r#")), span);
                    out.push(TokenTree::Ident(ident));
                    i += 2;
                    continue;
                }
                Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Parenthesis => {
                    out.extend(macro_rules_as_rust(&g.stream()));
                    // The separator (any token but `*`, `+`, `?`), then the operator.
                    let op = |t: Option<&TokenTree>| t.is_some_and(|t| is_punct(t, '*') || is_punct(t, '+') || is_punct(t, '?'));
                    i += if op(trees.get(i + 2)) {
                        3
                    } else if op(trees.get(i + 3)) {
                        4
                    } else {
                        2
                    };
                    continue;
                }
                _ => {}
            }
        }
        out.push(match &trees[i] {
            TokenTree::Group(g) => {
                let mut group = proc_macro2::Group::new(g.delimiter(), macro_rules_as_rust(&g.stream()));
                group.set_span(g.span());
                TokenTree::Group(group)
            }
            other => other.clone(),
        });
        i += 1;
    }
    out.into_iter().collect()
}

/// Whether `mac` is a `macro_rules!` definition.
pub fn is_macro_rules(mac: &syn::Macro) -> bool {
    mac.path.is_ident("macro_rules")
}

/// [`visit_macro_body`], and for a `macro_rules!` definition the code of its transcribers
/// with their metavariables made Rust ([`macro_rules_as_rust`]). For visitors whose
/// findings are checked against the metavariables' text before anything is rewritten
/// (the pack matcher), and for facts that only make a rewrite more careful (names the
/// crate defines).
pub fn visit_macro_body_through_metavariables<V>(v: &mut V, mac: &syn::Macro)
where
    V: for<'a> syn::visit::Visit<'a>,
{
    if !is_macro_rules(mac) {
        return visit_macro_body(v, mac);
    }
    for body in macro_bodies(&macro_rules_as_rust(&mac.tokens)) {
        match body {
            MacroBody::Exprs(exprs) => exprs.iter().for_each(|e| v.visit_expr(e)),
            MacroBody::Stmts(stmts) => stmts.iter().for_each(|s| v.visit_stmt(s)),
            MacroBody::Items(items) => items.iter().for_each(|i| v.visit_item(i)),
        }
    }
}

/// Visits the Rust code inside a macro invocation with `v` (see [`macro_bodies`]).
pub fn visit_macro_body<V>(v: &mut V, mac: &syn::Macro)
where
    V: for<'a> syn::visit::Visit<'a>,
{
    for body in macro_bodies(&mac.tokens) {
        match body {
            MacroBody::Exprs(exprs) => exprs.iter().for_each(|e| v.visit_expr(e)),
            MacroBody::Stmts(stmts) => stmts.iter().for_each(|s| v.visit_stmt(s)),
            MacroBody::Items(items) => items.iter().for_each(|i| v.visit_item(i)),
        }
    }
}

/// What the names brought in by `use` items of a file stand for.
///
/// The map is file-wide (a `use` inside a function counts for the whole file): rules use
/// it to recognise a path however it is imported or renamed, and a false match needs a
/// name that means two different things in one file.
#[derive(Debug, Default)]
pub struct Imports {
    /// Local name → full path (`env` → `std::env`, `sv` → `std::env::set_var`).
    names: BTreeMap<String, Vec<String>>,
    /// Paths imported with a glob (`use std::env::*` → `std::env`).
    globs: Vec<Vec<String>>,
}

impl Imports {
    /// Collects the `use` items of a file, at any depth.
    pub fn of(file: &syn::File) -> Imports {
        let mut imports = Imports::default();
        file.items.iter().for_each(|item| imports.add_item(item));
        imports
    }

    /// Adds the `use` items of one item, at any depth.
    pub fn add_item(&mut self, item: &syn::Item) {
        struct Collect<'i>(&'i mut Imports);
        impl<'ast> syn::visit::Visit<'ast> for Collect<'_> {
            fn visit_item_use(&mut self, u: &'ast syn::ItemUse) {
                let prefix = if u.leading_colon.is_some() { vec![String::new()] } else { Vec::new() };
                self.0.add_tree(prefix, &u.tree);
            }
        }
        syn::visit::Visit::visit_item(&mut Collect(self), item);
    }

    fn add_tree(&mut self, prefix: Vec<String>, tree: &syn::UseTree) {
        let with = |segment: String| {
            let mut p = prefix.clone();
            p.push(segment);
            p
        };
        match tree {
            syn::UseTree::Path(p) => self.add_tree(with(p.ident.to_string()), &p.tree),
            syn::UseTree::Name(n) if n.ident == "self" => {
                if let Some(last) = prefix.last() {
                    self.names.insert(last.clone(), prefix.clone());
                }
            }
            syn::UseTree::Name(n) => {
                self.names.insert(n.ident.to_string(), with(n.ident.to_string()));
            }
            syn::UseTree::Rename(r) => {
                let target = if r.ident == "self" { prefix.clone() } else { with(r.ident.to_string()) };
                self.names.insert(r.rename.to_string(), target);
            }
            syn::UseTree::Glob(_) => self.globs.push(prefix),
            syn::UseTree::Group(g) => g.items.iter().for_each(|t| self.add_tree(prefix.clone(), t)),
        }
    }

    /// Whether the path `segments` (as written) can name `target` (a full path such as
    /// `["std", "env", "set_var"]`), through the file's imports or written out in full.
    pub fn resolves_to(&self, segments: &[String], target: &[&str]) -> bool {
        let Some((first, rest)) = segments.split_first() else { return false };
        // Written out in full, with or without a leading `::`.
        let full: Vec<&str> = segments.iter().map(String::as_str).filter(|s| !s.is_empty()).collect();
        if full == target {
            return true;
        }
        // The first segment is an imported name.
        if let Some(path) = self.names.get(first) {
            let mut resolved: Vec<&str> = path.iter().map(String::as_str).filter(|s| !s.is_empty()).collect();
            resolved.extend(rest.iter().map(String::as_str));
            if resolved == target {
                return true;
            }
        }
        // The first segment comes from a glob import.
        self.globs.iter().any(|glob| {
            let mut resolved: Vec<&str> = glob.iter().map(String::as_str).filter(|s| !s.is_empty()).collect();
            resolved.extend(segments.iter().map(String::as_str));
            resolved == target
        })
    }

    /// Whether a trait is in scope by name or by a glob of the module that holds it.
    pub fn brings_in(&self, target: &[&str]) -> bool {
        let Some((_, module)) = target.split_last() else { return false };
        let is = |p: &Vec<String>, t: &[&str]| p.iter().map(String::as_str).filter(|s| !s.is_empty()).eq(t.iter().copied());
        self.names.values().any(|p| is(p, target))
            || self.names.iter().any(|(name, p)| name == "_" && is(p, target))
            || self.globs.iter().any(|g| is(g, module))
    }

    /// Records an import made with `as _` (kept under the name `_`).
    #[cfg(test)]
    fn names(&self) -> &BTreeMap<String, Vec<String>> {
        &self.names
    }
}

/// The segments of a path as strings (`::std::env` → `["", "std", "env"]`).
pub fn path_segments(path: &syn::Path) -> Vec<String> {
    let mut out = Vec::new();
    if path.leading_colon.is_some() {
        out.push(String::new());
    }
    out.extend(path.segments.iter().map(|s| s.ident.to_string()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use syn::spanned::Spanned;

    #[test]
    fn any_token_looks_into_every_group() {
        let tokens: TokenStream = "a!(x, { if let Some(y) = z { #[cfg(test)] f() } })".parse().unwrap();
        assert!(any_token(&tokens, &|t| is_ident(t, "let")));
        assert!(any_token(&tokens, &|t| is_punct(t, '#')));
        assert!(!any_token(&tokens, &|t| is_ident(t, "cfg_if")));
        // A doc comment is a `#[doc = ..]` attribute.
        let doc: TokenStream = "{ /// text\n fn f() {} }".parse().unwrap();
        assert!(any_token(&doc, &|t| is_punct(t, '#')));
    }

    fn imports(src: &str) -> Imports {
        Imports::of(&syn::parse_file(src).unwrap())
    }

    fn segs(p: &str) -> Vec<String> {
        p.split("::").map(String::from).collect()
    }

    #[test]
    fn macro_rules_transcribers_parse_with_their_metavariables() {
        let src = "macro_rules! m { ($($t:ty),*) => { $(impl X for $t { fn f() -> $t { let a = <$t>::MIN; std::$t::MAX } })* }; }";
        let file = syn::parse_file(src).unwrap();
        let syn::Item::Macro(item) = &file.items[0] else { panic!("a macro") };
        // As written, the transcriber's items do not parse: only its innermost braces do.
        let impl_of = |bodies: Vec<MacroBody>| {
            bodies.into_iter().find_map(|b| match b {
                MacroBody::Stmts(s) => s.into_iter().find_map(|s| match s {
                    syn::Stmt::Item(syn::Item::Impl(i)) => Some(i),
                    _ => None,
                }),
                _ => None,
            })
        };
        assert!(impl_of(macro_bodies(&item.mac.tokens)).is_none());
        let imp = impl_of(macro_bodies(&macro_rules_as_rust(&item.mac.tokens))).expect("the transcriber's impl");
        // The metavariable's identifier spans `$t` in the file.
        let range = imp.self_ty.span().byte_range();
        assert_eq!(&src[range], "$t");
        assert_eq!(quote::ToTokens::to_token_stream(&imp.self_ty).to_string(), format!("{MACRO_VAR}t"));
    }

    #[test]
    fn resolves_aliases_groups_and_globs() {
        let target = ["std", "env", "set_var"];
        let i = imports("use std::env;");
        assert!(i.resolves_to(&segs("env::set_var"), &target));
        let i = imports("use std::{env::{self as e, set_var as sv}};");
        assert!(i.resolves_to(&segs("e::set_var"), &target));
        assert!(i.resolves_to(&segs("sv"), &target));
        let i = imports("fn f() { use std::env::*; }");
        assert!(i.resolves_to(&segs("set_var"), &target));
        let i = imports("");
        assert!(i.resolves_to(&segs("std::env::set_var"), &target));
        assert!(i.resolves_to(&segs("::std::env::set_var"), &target));
        assert!(!i.resolves_to(&segs("set_var"), &target));
        assert!(!imports("use crate::env;").resolves_to(&segs("env::set_var"), &target));
    }

    #[test]
    fn trait_in_scope() {
        let t = ["std", "os", "unix", "process", "CommandExt"];
        assert!(imports("use std::os::unix::process::CommandExt;").brings_in(&t));
        assert!(imports("use std::os::unix::process::CommandExt as _;").brings_in(&t));
        assert!(imports("use std::os::unix::process::*;").brings_in(&t));
        assert!(!imports("use std::process::Command;").brings_in(&t));
        assert!(imports("use std::os::unix::process::CommandExt as _;").names().contains_key("_"));
    }

    #[test]
    fn macro_arguments_parse_as_expressions_statements_or_items() {
        let file = syn::parse_file("fn f() { println!(\"{}\", a(1)); m! { let x = 1; b(x); } cfg_if! { if #[cfg(unix)] { fn c() {} } } }").unwrap();
        let mut kinds = Vec::new();
        struct V<'k>(&'k mut Vec<&'static str>);
        impl<'ast> syn::visit::Visit<'ast> for V<'_> {
            fn visit_macro(&mut self, m: &'ast syn::Macro) {
                for b in macro_bodies(&m.tokens) {
                    self.0.push(match b {
                        MacroBody::Exprs(_) => "exprs",
                        MacroBody::Stmts(_) => "stmts",
                        MacroBody::Items(_) => "items",
                    });
                }
            }
        }
        syn::visit::Visit::visit_file(&mut V(&mut kinds), &file);
        assert_eq!(kinds, ["exprs", "stmts", "stmts"]);
        // A declaration-like DSL: the initializers, as expressions.
        let tokens: TokenStream = "struct F: u8 { const A = 1; const B = Self::A.bits | 2; const C == 3; }".parse().unwrap();
        let bodies = macro_bodies(&tokens);
        let [MacroBody::Exprs(inits)] = bodies.as_slice() else { panic!("{}", bodies.len()) };
        let texts: Vec<String> = inits.iter().map(|e| quote::ToTokens::to_token_stream(e).to_string()).collect();
        assert_eq!(texts, ["1", "Self :: A . bits | 2"]);
    }
}
