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

use super::matcher::{Binding, Hit};
use super::pattern::{AttrArgs, AttrPat, Body, TokPat};
use super::resolve::{segments, Facts};
use super::CompiledRule;

/// Finds the attributes of `file` that the attribute rules of `rules` match.
pub fn find(file: &syn::File, facts: &Facts, rules: &[CompiledRule], range: &dyn Fn(Span) -> Range<usize>) -> Vec<Hit> {
    let patterns: Vec<(usize, &AttrPat)> = rules
        .iter()
        .enumerate()
        .filter_map(|(i, r)| match &r.body {
            Body::Attribute(p) => Some((i, p)),
            _ => None,
        })
        .collect();
    if patterns.is_empty() {
        return Vec::new();
    }
    let mut finder = Finder { facts, rules, patterns, range, impl_attrs: BTreeMap::new(), hits: Vec::new() };
    finder.visit_file(file);
    finder.hits
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
            self.hits.push(Hit { rule, range: whole, bindings, trait_leaf: None });
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
        visit::visit_macro(self, mac);
    }
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
