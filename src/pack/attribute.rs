//! Attribute rules: `#[tokio::main(core_threads = $n)]` → `#[tokio::main(worker_threads = $n)]`.
//!
//! An attribute's path is resolved as any path of the file is (imports, renamed
//! dependencies); a one-name pattern (`#[structopt(..)]`) is a derive's helper attribute,
//! which is never imported, and matches by its name. What follows the path is matched one
//! token tree at a time: `$x` binds one, `$..xs` any number (the fewest that let the rest
//! match), anything else must be the same token. The hits are the expression matcher's
//! [`Hit`]s, so rendering, choices and imports are shared with expression rules.

use std::collections::BTreeMap;
use std::ops::Range;

use proc_macro2::{Span, TokenStream, TokenTree};
use syn::spanned::Spanned;
use syn::visit::{self, Visit};

use super::matcher::{Binding, Hit, PathSite};
use super::pattern::{AttrArgs, AttrPat, Body, TokPat};
use super::resolve::{segments, Facts};
use super::CompiledRule;

/// Finds the attributes of `file` that the attribute rules of `rules` match, and the
/// paths of the crate that attributes in `macro_rules!` bodies name (which the matcher,
/// reading items, does not see: an import they alone use goes when they do).
pub fn find(file: &syn::File, facts: &Facts, rules: &[CompiledRule], range: &dyn Fn(Span) -> Range<usize>) -> (Vec<Hit>, Vec<PathSite>) {
    let patterns: Vec<(usize, &AttrPat)> = rules
        .iter()
        .enumerate()
        .filter_map(|(i, r)| match &r.body {
            Body::Attribute(p) => Some((i, p)),
            _ => None,
        })
        .collect();
    if patterns.is_empty() {
        return (Vec::new(), Vec::new());
    }
    let mut finder = Finder { facts, rules, patterns, range, impl_attrs: BTreeMap::new(), hits: Vec::new(), paths: Vec::new() };
    finder.visit_file(file);
    (finder.hits, finder.paths)
}

struct Finder<'a, 'r> {
    facts: &'a Facts,
    rules: &'a [CompiledRule],
    patterns: Vec<(usize, &'a AttrPat)>,
    range: &'r dyn Fn(Span) -> Range<usize>,
    /// The attributes of trait `impl`s seen so far, by range: the trait's full path (empty
    /// when it is not the pack crate's).
    impl_attrs: BTreeMap<(usize, usize), Vec<String>>,
    hits: Vec<Hit>,
    paths: Vec<PathSite>,
}

impl Finder<'_, '_> {
    /// A one-name pattern is a helper attribute, matched by its name; a path of the pack's
    /// crate is resolved through the file's imports; a path of another crate
    /// (`async_trait::async_trait`, which the pack's crate may have re-exported) matches
    /// as written in full.
    fn matches_path(&self, pattern: &[String], path: &syn::Path) -> bool {
        let written = segments(path);
        match pattern {
            [name] => written.len() == 1 && written[0] == *name,
            [first, ..] if *first != self.facts.krate => self.other_crate_path(&written, path.leading_colon.is_some()) == pattern,
            _ => self.facts.resolve(&written, path.leading_colon.is_some()).is_some_and(|r| r.full == pattern),
        }
    }

    /// A path of a crate other than the pack's, in full: its first segment through the one
    /// `use` that binds it (`async_trait` after `use async_trait::async_trait;`), else as
    /// written.
    fn other_crate_path(&self, written: &[String], leading_colon: bool) -> Vec<String> {
        let leaves = if leading_colon { None } else { written.first().and_then(|f| self.facts.names.get(f)) };
        match leaves.map(Vec::as_slice) {
            Some(&[leaf]) if self.facts.leaves[leaf].kind == super::resolve::LeafKind::Name && self.facts.leaves[leaf].target.is_none() => {
                let mut full: Vec<String> = self.facts.leaves[leaf].written.iter().map(|(s, _)| s.clone()).collect();
                full.extend(written[1..].iter().cloned());
                full
            }
            _ => written.to_vec(),
        }
    }

    /// Whether the rule's `where` holds for what it bound: each constrained metavariable
    /// is one expression (a literal) that satisfies its constraint.
    fn constraints_hold(&self, rule: usize, trees: &[TokenTree], bound: &BTreeMap<String, (usize, usize)>) -> bool {
        self.rules[rule].constraints.iter().all(|(name, c)| {
            let Some(&(from, to)) = bound.get(name) else { return false };
            let tokens: TokenStream = trees[from..to].iter().cloned().collect();
            syn::parse2::<syn::Expr>(tokens).is_ok_and(|e| super::pattern::satisfies(&e, *c))
        })
    }

    /// Whether the rule applies to this attribute as its `on_impl` says.
    fn on_impl_holds(&self, rule: usize, at: &Range<usize>) -> bool {
        let wanted = &self.rules[rule].on_impl;
        wanted.is_empty() || self.impl_attrs.get(&(at.start, at.end)).is_some_and(|t| wanted.contains(t))
    }

    fn attribute(&mut self, attr: &syn::Attribute) {
        let whole = (self.range)(attr.span());
        for &(rule, pat) in &self.patterns {
            if !self.matches_path(&pat.path, attr.path()) || !self.on_impl_holds(rule, &whole) {
                continue;
            }
            let tokens: Option<TokenStream> = match (&pat.args, &attr.meta) {
                (AttrArgs::None, syn::Meta::Path(_)) => Some(TokenStream::new()),
                (AttrArgs::List(_), syn::Meta::List(list)) => Some(list.tokens.clone()),
                (AttrArgs::Value(_), syn::Meta::NameValue(nv)) => Some(quote::ToTokens::to_token_stream(&nv.value)),
                _ => None,
            };
            let Some(tokens) = tokens else { continue };
            let trees: Vec<TokenTree> = tokens.into_iter().collect();
            let wanted = match &pat.args {
                AttrArgs::None => &[][..],
                AttrArgs::List(t) | AttrArgs::Value(t) => t.as_slice(),
            };
            let mut bound = BTreeMap::new();
            if !match_trees(wanted, &trees, &mut bound) || !self.constraints_hold(rule, &trees, &bound) {
                continue;
            }
            // An empty `$..xs` sits where its neighbours meet: at the end of the tokens
            // before it, or at the start of the arguments.
            let args_start = match &attr.meta {
                syn::Meta::List(list) => (self.range)(list.delimiter.span().open()).end,
                _ => whole.end,
            };
            let mut bindings: BTreeMap<String, Binding> = bound
                .into_iter()
                .map(|(name, (from, to))| {
                    let range = if from < to {
                        (self.range)(trees[from].span()).start..(self.range)(trees[to - 1].span()).end
                    } else {
                        let at = if from == 0 { args_start } else { (self.range)(trees[from - 1].span()).end };
                        at..at
                    };
                    (name, Binding { range, loose: 0 })
                })
                .collect();
            // The path as the code wrote it, so that a template naming the pattern's path
            // again (or a sibling of it) keeps the code's spelling (`#[main]` imported).
            if pat.path.len() > 1 {
                let path = attr.path();
                let written = (self.range)(path.span());
                let last = path.segments.last().map_or(written.start, |s| (self.range)(s.ident.span()).start);
                let key = pat.path.join("::");
                bindings.insert(format!("@path:{key}"), Binding { range: written.clone(), loose: 0 });
                bindings.insert(format!("@pathhead:{key}"), Binding { range: written.start..last, loose: 0 });
            }
            self.hits.push(Hit { rule, range: whole, bindings, trait_leaf: None, cfg: None });
            return; // the first rule that matches wins
        }
    }
}

/// Matches `pattern` against the token trees `trees`, binding each metavariable to a
/// range of indices. `$..xs` takes the fewest trees that let the rest match.
fn match_trees(pattern: &[TokPat], trees: &[TokenTree], bound: &mut BTreeMap<String, (usize, usize)>) -> bool {
    fn go(pattern: &[TokPat], trees: &[TokenTree], at: usize, bound: &mut BTreeMap<String, (usize, usize)>) -> bool {
        let Some((first, rest)) = pattern.split_first() else { return at == trees.len() };
        match first {
            TokPat::Token(t) => trees.get(at).is_some_and(|tt| tt.to_string() == *t) && go(rest, trees, at + 1, bound),
            TokPat::One(name) => {
                if at >= trees.len() {
                    return false;
                }
                bound.insert(name.clone(), (at, at + 1));
                go(rest, trees, at + 1, bound)
            }
            TokPat::Rest(name) => (at..=trees.len()).any(|end| {
                bound.insert(name.clone(), (at, end));
                go(rest, trees, end, bound)
            }),
        }
    }
    go(pattern, trees, 0, bound)
}

impl<'ast> Visit<'ast> for Finder<'_, '_> {
    fn visit_item_impl(&mut self, item: &'ast syn::ItemImpl) {
        if let Some((_, path, _)) = &item.trait_ {
            let full = self.facts.resolve(&segments(path), path.leading_colon.is_some()).map(|r| r.full).unwrap_or_default();
            for attr in &item.attrs {
                let at = (self.range)(attr.span());
                self.impl_attrs.insert((at.start, at.end), full.clone());
            }
        }
        visit::visit_item_impl(self, item);
    }

    fn visit_attribute(&mut self, attr: &'ast syn::Attribute) {
        self.attribute(attr);
        visit::visit_attribute(self, attr);
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        crate::syntax::tokens::visit_macro_body(self, mac);
        if mac.path.is_ident("macro_rules") {
            self.macro_rules_impls(mac.tokens.clone());
        }
        visit::visit_macro(self, mac);
    }
}

impl Finder<'_, '_> {
    /// The attributes of trait `impl`s written in a `macro_rules!` body, which does not
    /// parse as items (`impl<S> FromRequestParts<S> for $type`): for the rules with
    /// `on_impl`, each `#[..]` followed (after other attributes) by `impl`, its generics
    /// and a trait path that resolves to one of the rule's traits. Such an attribute is
    /// matched as a written one is.
    fn macro_rules_impls(&mut self, tokens: TokenStream) {
        if self.patterns.iter().all(|(rule, _)| self.rules[*rule].on_impl.is_empty()) {
            return;
        }
        let trees: Vec<TokenTree> = tokens.into_iter().collect();
        for (i, tree) in trees.iter().enumerate() {
            if let TokenTree::Group(g) = tree {
                self.macro_rules_impls(g.stream());
            }
            let (TokenTree::Punct(hash), Some(TokenTree::Group(body))) = (tree, trees.get(i + 1)) else { continue };
            if hash.as_char() != '#' || body.delimiter() != proc_macro2::Delimiter::Bracket {
                continue;
            }
            let Some(trait_path) = impl_trait_after(&trees[i + 2..]) else { continue };
            let resolved = self.facts.resolve(&trait_path.0, trait_path.1).map(|r| r.full).unwrap_or_default();
            let Ok(attr) = syn::parse2::<syn::Meta>(body.stream()) else { continue };
            let start = (self.range)(hash.span()).start;
            let end = (self.range)(body.span()).end;
            self.impl_attrs.insert((start, end), resolved);
            let path = attr.path();
            if let Some(resolved) = self.facts.resolve(&segments(path), path.leading_colon.is_some()) {
                let written = path.segments.iter().map(|s| (super::pattern::unraw(&s.ident), (self.range)(s.ident.span()), !s.arguments.is_none())).collect();
                self.paths.push(PathSite { written, resolved });
            }
            let attr = syn::Attribute {
                pound_token: syn::Token![#](hash.span()),
                style: syn::AttrStyle::Outer,
                bracket_token: syn::token::Bracket(body.delim_span()),
                meta: attr,
            };
            self.attribute(&attr);
        }
    }
}

/// The trait path of an `impl` header that starts `trees` after its attributes (`#[..]`):
/// `impl`, optional generics, the path up to its generic arguments or `for` (segments,
/// and whether it starts with `::`); `None` if `trees` does not start an impl of a trait.
fn impl_trait_after(trees: &[TokenTree]) -> Option<(Vec<String>, bool)> {
    let mut at = 0;
    while let (Some(TokenTree::Punct(p)), Some(TokenTree::Group(_))) = (trees.get(at), trees.get(at + 1)) {
        if p.as_char() != '#' {
            break;
        }
        at += 2;
    }
    let is_ident = |t: Option<&TokenTree>, name: &str| matches!(t, Some(TokenTree::Ident(i)) if i == name);
    if is_ident(trees.get(at), "unsafe") {
        at += 1;
    }
    if !is_ident(trees.get(at), "impl") {
        return None;
    }
    at += 1;
    let punct = |t: Option<&TokenTree>, c: char| matches!(t, Some(TokenTree::Punct(p)) if p.as_char() == c);
    if punct(trees.get(at), '<') {
        let mut depth = 0usize;
        while let Some(t) = trees.get(at) {
            if punct(Some(t), '<') {
                depth += 1;
            } else if punct(Some(t), '>') {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            at += 1;
        }
        at += 1;
    }
    let mut segments = Vec::new();
    let mut leading = false;
    loop {
        match trees.get(at) {
            Some(TokenTree::Punct(p)) if p.as_char() == ':' && punct(trees.get(at + 1), ':') => {
                leading |= segments.is_empty();
                at += 2;
            }
            Some(TokenTree::Ident(i)) if i != "for" => {
                segments.push(super::pattern::unraw(i));
                at += 1;
            }
            _ => break,
        }
    }
    // The path must be followed by its generic arguments or by `for`: a trait impl.
    let rest_is_for = (at..trees.len()).any(|k| is_ident(trees.get(k), "for"));
    (!segments.is_empty() && rest_is_for).then_some((segments, leading))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trees(s: &str) -> Vec<TokenTree> {
        s.parse::<TokenStream>().unwrap().into_iter().collect()
    }

    #[test]
    fn rest_takes_the_fewest_trees_that_let_the_rest_match() {
        let pat = [TokPat::Rest("a".into()), TokPat::Token(",".into()), TokPat::One("x".into())];
        let mut bound = BTreeMap::new();
        assert!(match_trees(&pat, &trees("p = 1, q = (2, 3), r"), &mut bound));
        assert_eq!(bound["a"], (0, 7));
        assert_eq!(bound["x"], (8, 9));
        assert!(!match_trees(&pat, &trees("p = 1"), &mut BTreeMap::new()));
        assert!(match_trees(&[TokPat::Rest("all".into())], &[], &mut BTreeMap::new()));
    }
}
