//! Macro rules: the derives an item macro's new release no longer implies, added inside
//! each invocation.
//!
//! bitflags 1's `bitflags!` implemented `Debug`, `Clone`, `Copy`, `PartialEq`, `Eq`,
//! `PartialOrd`, `Ord` and `Hash` on every type it defined; bitflags 2's implements none
//! of them, and code that compared, copied or printed flags stops compiling. A macro rule
//! names the macro and the traits; every `struct` (or `enum`) an invocation defines gets a
//! `#[derive(..)]` with those it lacks, just above its visibility and keyword, so that
//! its doc comment and other attributes stay where they were:
//!
//! ```text
//! bitflags! {                          bitflags! {
//!     /// Doc.                             /// Doc.
//!     pub struct Flags: u32 {    →         #[derive(Debug, Clone, ..)]
//!                                          pub struct Flags: u32 {
//! ```
//!
//! The macro's body is not Rust syn can parse (`struct Flags: u32`), so the invocation is
//! read as tokens: attributes (`#[..]`, doc comments included), a visibility, the keyword.

use std::collections::BTreeSet;
use std::ops::Range;

use proc_macro2::{Delimiter, Span, TokenStream, TokenTree};
use syn::visit::{self, Visit};

use super::pattern::Body;
use super::resolve::{segments, Facts};
use super::{Action, CompiledRule};
use crate::core::model::Edit;

/// One type defined in a matched invocation that lacks some of the rule's derives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeriveSite {
    /// Index of the rule.
    pub rule: usize,
    /// The insertion of the `#[derive(..)]`.
    pub edit: Edit,
    /// The name of the type.
    pub type_name: String,
    /// The traits added.
    pub added: Vec<String>,
}

/// Finds, in `file`, the invocations of the macros of `rules`' macro rules and the
/// derives each type they define lacks.
pub fn find(file: &syn::File, facts: &Facts, rules: &[CompiledRule], text: &str, range: &dyn Fn(Span) -> Range<usize>) -> Vec<DeriveSite> {
    let wanted: Vec<(usize, &[String], &[String])> = rules
        .iter()
        .enumerate()
        .filter_map(|(i, r)| match (&r.body, &r.action) {
            (Body::Macro(path), Action::Derive { traits }) => Some((i, path.as_slice(), traits.as_slice())),
            _ => None,
        })
        .collect();
    if wanted.is_empty() {
        return Vec::new();
    }
    let mut finder = Finder { facts, wanted, text, range, out: Vec::new() };
    finder.visit_file(file);
    finder.out
}

struct Finder<'a, 'r> {
    facts: &'a Facts,
    wanted: Vec<(usize, &'a [String], &'a [String])>,
    text: &'a str,
    range: &'r dyn Fn(Span) -> Range<usize>,
    out: Vec<DeriveSite>,
}

impl Finder<'_, '_> {
    /// The full path the macro invoked as `path` stands for, if the crate's.
    fn resolve(&self, path: &syn::Path) -> Option<Vec<String>> {
        let written = segments(path);
        let resolved = self.facts.resolve(&written, path.leading_colon.is_some()).map(|r| r.full);
        match written.as_slice() {
            // A bare name is a macro in scope: imported (`use bitflags::bitflags;`), or
            // from `#[macro_use] extern crate bitflags;`, which puts the crate's macros in
            // scope by their bare names in every module (the crate's own name, which
            // `resolve` gives for `bitflags`, is not a macro).
            // A `macro_rules!` of the file shadows both.
            [name] if self.facts.macros.contains(name) => None,
            [name] => match resolved {
                Some(full) if full.len() > 1 => Some(full),
                _ if self.facts.macro_use && !self.facts.items.contains(name) && !self.facts.names.contains_key(name) => {
                    Some(vec![self.facts.krate.clone(), name.clone()])
                }
                _ => None,
            },
            _ => resolved,
        }
    }

    fn invocation(&mut self, rule: usize, traits: &[String], tokens: &TokenStream) {
        let tokens: Vec<TokenTree> = tokens.clone().into_iter().collect();
        let mut derived: BTreeSet<String> = BTreeSet::new();
        let mut start: Option<Span> = None; // the visibility's first token
        let mut i = 0;
        while i < tokens.len() {
            match &tokens[i] {
                TokenTree::Punct(p) if p.as_char() == '#' => {
                    if let Some(TokenTree::Group(g)) = tokens.get(i + 1) {
                        if g.delimiter() == Delimiter::Bracket {
                            derived.extend(derives_in(&g.stream()));
                            i += 2;
                            continue;
                        }
                    }
                }
                TokenTree::Ident(id) if id == "pub" => {
                    start.get_or_insert(id.span());
                }
                TokenTree::Ident(id) if id == "struct" || id == "enum" => {
                    let at = (self.range)(start.unwrap_or(id.span())).start;
                    let name = match tokens.get(i + 1) {
                        Some(TokenTree::Ident(n)) => n.to_string(),
                        _ => String::new(),
                    };
                    let added: Vec<String> = traits.iter().filter(|t| !derived.contains(last_segment(t))).cloned().collect();
                    if !added.is_empty() {
                        self.out.push(DeriveSite { rule, edit: self.insertion(at, &added), type_name: name, added });
                    }
                    // The item ends with its body.
                    while i < tokens.len() && !matches!(&tokens[i], TokenTree::Group(g) if g.delimiter() == Delimiter::Brace) {
                        i += 1;
                    }
                    derived.clear();
                    start = None;
                }
                _ => {}
            }
            i += 1;
        }
    }

    /// The `#[derive(..)]` inserted before offset `at`: on a line of its own with the
    /// item's indentation when the item starts its line, else before it on the same line.
    fn insertion(&self, at: usize, traits: &[String]) -> Edit {
        let attr = format!("#[derive({})]", traits.join(", "));
        let line_start = self.text[..at].rfind('\n').map_or(0, |n| n + 1);
        let indent = &self.text[line_start..at];
        let text = if indent.chars().all(|c| c == ' ' || c == '\t') { format!("{attr}\n{indent}") } else { format!("{attr} ") };
        Edit::insert(at, text)
    }
}

impl<'ast> Visit<'ast> for Finder<'_, '_> {
    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        if let Some(full) = self.resolve(&mac.path) {
            let hits: Vec<(usize, Vec<String>)> = self.wanted.iter().filter(|(_, path, _)| **path == full[..]).map(|(i, _, t)| (*i, t.to_vec())).collect();
            for (rule, traits) in hits {
                self.invocation(rule, &traits, &mac.tokens);
            }
        }
        crate::syntax::tokens::visit_macro_body(self, mac);
        visit::visit_macro(self, mac);
    }
}

/// The last segment of a path written as text (`std::fmt::Debug` → `Debug`).
fn last_segment(path: &str) -> &str {
    path.rsplit("::").next().unwrap_or(path).trim()
}

/// The traits a `derive(..)` attribute's tokens name, by their last segment.
fn derives_in(attr: &TokenStream) -> Vec<String> {
    let mut it = attr.clone().into_iter();
    match (it.next(), it.next()) {
        (Some(TokenTree::Ident(d)), Some(TokenTree::Group(g))) if d == "derive" && g.delimiter() == Delimiter::Parenthesis => {
            let mut out = Vec::new();
            let mut last = None;
            for t in g.stream() {
                match t {
                    TokenTree::Ident(id) => last = Some(id.to_string()),
                    TokenTree::Punct(p) if p.as_char() == ',' => out.extend(last.take()),
                    _ => {}
                }
            }
            out.extend(last);
            out
        }
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derive_lists_are_read_by_last_segment() {
        let attr: TokenStream = "derive(Debug, std::clone::Clone, Default)".parse().unwrap();
        assert_eq!(derives_in(&attr), ["Debug", "Clone", "Default"]);
        let other: TokenStream = "doc = \"x\"".parse().unwrap();
        assert!(derives_in(&other).is_empty());
    }
}
