//! What the judge reads of a file's syntax, worked out once per text and kept for the
//! run: the line spans of its functions (a site's context) and its `Drop` impls with what
//! each does (the heuristics' evidence). Sites and destructors point into the same few
//! files; parsing the file again for each one was a quarter of a re-run on tokio.
//!
//! The memo is keyed by the text itself, so a file whose text changed (a recheck,
//! another package's copy) is parsed anew; it keeps the last [`MEMO_FILES`] files.
//! [`prefetch`] fills it on every thread before the judge asks, site by site.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use rayon::prelude::*;
use syn::visit::Visit;

use super::heuristics::{drop_body, source_of, DropBody};
use crate::core::model::{DropOrigin, Site};
use crate::core::text::SourceFile;

/// How many files' facts the memo keeps.
const MEMO_FILES: usize = 64;

/// A file's facts.
pub(super) struct FileFacts {
    /// The first and last line of each function and method (its signature to its
    /// closing brace), nested ones included.
    pub fns: Vec<(usize, usize)>,
    /// Its `Drop` impls, outer ones before those nested in them.
    pub drop_impls: Vec<DropImpl>,
}

/// A `Drop` impl: its lines (`impl` to its closing brace) and what it does.
pub(super) struct DropImpl {
    pub lines: (usize, usize),
    pub body: DropBody,
}

type Memo = Vec<(Arc<str>, Option<Arc<FileFacts>>)>;

static MEMO: Mutex<Memo> = Mutex::new(Vec::new());

fn memo() -> std::sync::MutexGuard<'static, Memo> {
    MEMO.lock().unwrap_or_else(|e| e.into_inner())
}

fn known(memo: &Memo, text: &str) -> Option<Option<Arc<FileFacts>>> {
    memo.iter().find(|(t, _)| **t == *text).map(|(_, f)| f.clone())
}

/// The facts of `text`; `None` if it does not parse.
pub(super) fn of(text: &str) -> Option<Arc<FileFacts>> {
    if let Some(hit) = known(&memo(), text) {
        return hit;
    }
    // Parsed without the lock: other threads' files meanwhile.
    let facts = syn::parse_file(text).ok().map(|file| Arc::new(collect(&file)));
    let mut memo = memo();
    if let Some(hit) = known(&memo, text) {
        return hit;
    }
    if memo.len() == MEMO_FILES {
        memo.remove(0);
    }
    memo.push((Arc::from(text), facts.clone()));
    facts
}

/// Works out on every thread the facts of the files the judge reads for `sites` (each
/// site's file, its workspace `Drop` impls' files; at most [`MEMO_FILES`], the memo's
/// size), so that its questions, asked one site after the other, find them ready.
pub(super) fn prefetch(sites: &[Site], files: &BTreeMap<String, SourceFile>) {
    let mut texts: Vec<&str> = Vec::new();
    for site in sites {
        let drops = site.evidence.destructors().iter().filter(|d| d.origin == DropOrigin::Workspace).map(|d| d.location.as_str());
        for file in std::iter::once(site.file.as_str()).chain(drops).filter_map(|name| source_of(files, name)) {
            if !texts.iter().any(|t| std::ptr::eq(*t, file.text.as_str())) {
                texts.push(&file.text);
            }
        }
    }
    texts.par_iter().take(MEMO_FILES).for_each(|t| {
        of(t);
    });
}

fn collect(file: &syn::File) -> FileFacts {
    struct Walk(FileFacts);
    impl<'ast> Visit<'ast> for Walk {
        fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
            self.0.fns.push((syn::spanned::Spanned::span(&f.sig).start().line, f.block.brace_token.span.close().end().line));
            syn::visit::visit_item_fn(self, f);
        }
        fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
            self.0.fns.push((syn::spanned::Spanned::span(&f.sig).start().line, f.block.brace_token.span.close().end().line));
            syn::visit::visit_impl_item_fn(self, f);
        }
        fn visit_item_impl(&mut self, imp: &'ast syn::ItemImpl) {
            if imp.trait_.as_ref().is_some_and(|(_, p, _)| p.segments.last().is_some_and(|s| s.ident == "Drop")) {
                let lines = (syn::spanned::Spanned::span(&imp.impl_token).start().line, imp.brace_token.span.close().end().line);
                self.0.drop_impls.push(DropImpl { lines, body: drop_body(imp) });
            }
            syn::visit::visit_item_impl(self, imp);
        }
    }
    let mut walk = Walk(FileFacts { fns: Vec::new(), drop_impls: Vec::new() });
    walk.visit_file(file);
    walk.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn functions_and_drop_impls_once_per_text() {
        let text = "struct A;\nimpl Drop for A {\n    fn drop(&mut self) {\n        println!(\"bye\");\n    }\n}\nfn f() {\n    let _a = A;\n}\n";
        let first = of(text).unwrap();
        assert_eq!(first.fns, [(3, 5), (7, 9)]);
        assert_eq!(first.drop_impls.len(), 1);
        assert_eq!(first.drop_impls[0].lines, (2, 6));
        assert_eq!(first.drop_impls[0].body.effects, ["println!"]);
        // The same text: the same facts, not parsed again.
        assert!(Arc::ptr_eq(&first, &of(text).unwrap()));
        // Another text is another entry; one that does not parse has none.
        assert_eq!(of("fn g() {}\n").unwrap().fns, [(1, 1)]);
        assert!(of("fn (").is_none());
    }
}
