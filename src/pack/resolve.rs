//! Resolving: what the names of one file stand for, as far as syntax can tell.
//!
//! [`Facts`] is built once per file: every `use` leaf with the byte ranges needed to
//! rewrite it, the names the pack's crate goes by here (its name in `Cargo.toml`, which
//! may be a renamed dependency, and `extern crate .. as` aliases), and what local code
//! declares (items, bindings, inherent methods, struct fields) — the evidence that a name
//! or a method is the crate's own and not the library's.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::visit::{self, Visit};

use super::pattern::unraw;

/// What the caller knows about the package the file belongs to.
#[derive(Clone, Debug)]
pub struct Env {
    /// The pack's crate name as paths write it (`rand`, `rand_core`).
    pub krate: String,
    /// The names the crate is known by in this package: its dependency key in
    /// `Cargo.toml` (`foo` for `foo = { package = "rand" }`), usually just the crate name.
    pub local_names: Vec<String>,
    /// Names of methods the crate defines itself, in files other than the one checked
    /// (from an index of the crate, when the caller has one).
    pub own_methods: BTreeSet<String>,
    /// Whether the package's crate root has `#[macro_use] extern crate` of the crate, which
    /// puts its macros in scope by their bare names in every module.
    pub macro_use: bool,
    /// Names of types and fields the package defines under `#[cfg(..)]`, in files other
    /// than the one checked (from an index of the package, when the caller has one).
    pub cfg_defs: CfgDefs,
    /// The package's functions, in files other than the one checked, whose return type a
    /// signature rule of the pack rewrites: name → the rule's index (a name defined more
    /// than once is here only if every definition changes). See
    /// [`super::run::signature_functions`].
    pub signature_fns: BTreeMap<String, usize>,
}

/// A type name or a struct field the code defines under `#[cfg(..)]`: what it is in the
/// configurations where that cfg holds. A name with such definitions has a type that
/// depends on the build's features (`type MapImpl<K, V> = IndexMap<K, V>;` under
/// `#[cfg(feature = "preserve_order")]`, `BTreeMap` otherwise).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CfgDef {
    /// The conditions of its `#[cfg]`s, one per conjunct ([`crate::syntax::cfg::conjuncts`]).
    pub when: Vec<String>,
    /// The type it stands for: the path of its head as written, resolved through the
    /// file's imports where they reach the pack's crate (`indexmap::IndexMap`).
    pub ty: Vec<String>,
    /// What defines it: `type alias`, `import` or `field`.
    pub kind: &'static str,
    /// Where: the file (empty: the file checked) and the 1-based line.
    pub file: String,
    /// The line.
    pub line: usize,
}

impl CfgDef {
    /// The condition as one predicate: the conjunct, or `all(..)` of them.
    pub fn predicate(&self) -> String {
        match self.when.as_slice() {
            [one] => one.clone(),
            many => format!("all({})", many.join(", ")),
        }
    }
}

/// The cfg'd definitions of a file or a package: type names (aliases, `use .. as`) and
/// struct fields, by name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CfgDefs {
    /// Type names (type aliases, imports).
    pub types: BTreeMap<String, Vec<CfgDef>>,
    /// Struct fields.
    pub fields: BTreeMap<String, Vec<CfgDef>>,
}

impl CfgDefs {
    /// Adds `other`'s definitions, naming their file `file` where they name none.
    pub fn extend_from(&mut self, other: &CfgDefs, file: &str) {
        for (mine, theirs) in [(&mut self.types, &other.types), (&mut self.fields, &other.fields)] {
            for (name, defs) in theirs {
                let entry = mine.entry(name.clone()).or_default();
                for d in defs {
                    let d = CfgDef { file: if d.file.is_empty() { file.to_string() } else { d.file.clone() }, ..d.clone() };
                    if !entry.contains(&d) {
                        entry.push(d);
                    }
                }
            }
        }
    }
}

impl Env {
    /// The environment of a package that depends on `krate` under its own name.
    pub fn plain(krate: &str) -> Env {
        let krate = krate.replace('-', "_");
        Env {
            local_names: vec![krate.clone()],
            krate,
            own_methods: BTreeSet::new(),
            macro_use: false,
            cfg_defs: CfgDefs::default(),
            signature_fns: BTreeMap::new(),
        }
    }
}

/// What a `use` leaf brings in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeafKind {
    /// `a::b` or `a::b as c`.
    Name,
    /// `a::{self}` or `a::{self as c}`.
    SelfName,
    /// `a::*`.
    Glob,
}

/// One leaf of a `use` tree.
#[derive(Clone, Debug)]
pub struct Leaf {
    /// Index of its `use` item in [`Facts::uses`].
    pub item: usize,
    /// The path segments leading to it, as written, with the ranges of their identifiers
    /// (for `self` leaves and globs: the module's segments).
    pub written: Vec<(String, Range<usize>)>,
    /// How many of `written` are shared with siblings (lie above the innermost group).
    pub shared: usize,
    /// What it brings in.
    pub kind: LeafKind,
    /// `as alias`: the alias and its range.
    pub alias: Option<(String, Range<usize>)>,
    /// Range of the leaf's text inside its innermost group (or of the whole tree),
    /// from its first exclusive segment to its end (alias included).
    pub own_range: Range<usize>,
    /// Full path it names, starting with the pack's crate, if it names the crate.
    pub target: Option<Vec<String>>,
    /// The local name it binds (`None` for globs).
    pub local: Option<String>,
    /// Index of this leaf's node in its item's tree (see [`UseNode`]).
    pub node: usize,
}

/// The shape of a `use` tree, for removing leaves from groups.
#[derive(Clone, Debug)]
pub enum UseNode {
    /// A leaf: the index of the leaf in [`Facts::leaves`] and its range.
    Leaf(usize, Range<usize>),
    /// `prefix::child`: the range of the whole and the child.
    Path(Range<usize>, Box<UseNode>),
    /// `{a, b}`: the range of the braces and the items.
    Group(Range<usize>, Vec<UseNode>),
}

impl UseNode {
    /// Byte range of the node.
    pub fn range(&self) -> Range<usize> {
        match self {
            UseNode::Leaf(_, r) | UseNode::Path(r, _) | UseNode::Group(r, _) => r.clone(),
        }
    }
}

/// One `use` item.
#[derive(Clone, Debug)]
pub struct UseItem {
    /// The item's range (attributes included).
    pub range: Range<usize>,
    /// Its tree.
    pub tree: UseNode,
    /// Whether it is at the top level of the file.
    pub top_level: bool,
}

/// How a path of the code reaches the pack's crate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Via {
    /// Its first segment is the crate's local name.
    Crate,
    /// Its first segment is a name brought in by this `use` leaf.
    Import(usize),
    /// Its first segment comes from this glob leaf (of a module of the crate).
    Glob(usize),
    /// Its first segment comes from this glob of the crate's declared prelude.
    Prelude(usize),
}

/// A path of the code resolved to the crate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolved {
    /// Full path, starting with the crate's name.
    pub full: Vec<String>,
    /// How it got there.
    pub via: Via,
}

/// The prelude of the crate, as the pack declares it.
#[derive(Clone, Debug, Default)]
pub struct PreludeFacts {
    /// The prelude module's full path.
    pub path: Vec<String>,
    /// Old prelude: local name → full path.
    pub from: BTreeMap<String, Vec<String>>,
    /// New prelude: full paths.
    pub to: BTreeSet<Vec<String>>,
}

/// Everything the matcher needs to know about one file's names.
#[derive(Debug, Default)]
pub struct Facts {
    /// The `use` items.
    pub uses: Vec<UseItem>,
    /// Their leaves.
    pub leaves: Vec<Leaf>,
    /// Local name → leaves binding it.
    pub names: BTreeMap<String, Vec<usize>>,
    /// Names the crate goes by here (local names and `extern crate` aliases).
    pub crate_names: BTreeSet<String>,
    /// Names of items the file declares (fns, types, modules, consts, statics, traits).
    pub items: BTreeSet<String>,
    /// Names of the macros the file defines with `macro_rules!` (another namespace).
    pub macros: BTreeSet<String>,
    /// Names of types (and traits) the file declares.
    pub types: BTreeSet<String>,
    /// Top-level modules of the file that only re-export the crate (`pub mod rand { pub
    /// use rand::*; }`, ndarray-rand's): in a `use`, `self::rand::x` is the crate's `x`,
    /// and so is `crate::rand::x` (the file taken for the crate root it then is).
    pub reexports: BTreeSet<String>,
    /// Identifiers bound by patterns: `let`, parameters, closures, `match` arms.
    pub bindings: BTreeSet<String>,
    /// Methods of inherent impls, by the impl's type name.
    pub inherent: BTreeMap<String, BTreeSet<String>>,
    /// Method names the file defines in inherent impls and trait definitions.
    pub own_methods: BTreeSet<String>,
    /// Struct fields: name → the field's type tokens, one per struct declaring it.
    pub fields: BTreeMap<String, Vec<syn::Type>>,
    /// Tuple structs: name → the types of their fields, in order.
    pub tuple_fields: BTreeMap<String, Vec<syn::Type>>,
    /// Occurrences of identifiers that can be local names (not after `.` or `::`),
    /// outside `use` items, by name (macro bodies included).
    pub ident_count: BTreeMap<String, usize>,
    /// Every identifier of the file (method names included).
    pub all_idents: BTreeSet<String>,
    /// Start of the first top-level `use` item, if any: where new imports go.
    pub first_use: Option<usize>,
    /// Byte offset after the inner attributes: where new imports go without `use` items.
    pub insert_at: usize,
    /// The pack's crate name.
    pub krate: String,
    /// The prelude.
    pub prelude: PreludeFacts,
    /// Whether the crate's macros are in scope by their bare names: the package imports
    /// them with `#[macro_use] extern crate` (here or in its crate root).
    pub macro_use: bool,
    /// Types and fields the file defines under `#[cfg(..)]` (their `ty` resolved).
    pub cfg_defs: CfgDefs,
}

impl Facts {
    /// Collects the facts of `file` (spans mapped to byte ranges by `range`).
    pub fn of(file: &syn::File, tokens: &proc_macro2::TokenStream, env: &Env, prelude: &PreludeFacts, range: &dyn Fn(Span) -> Range<usize>) -> Facts {
        let mut facts = Facts { krate: env.krate.clone(), prelude: prelude.clone(), macro_use: env.macro_use, ..Facts::default() };
        facts.crate_names.extend(env.local_names.iter().cloned());
        // `extern crate rand as r;` at any depth.
        for item in all_items(file) {
            if let syn::Item::ExternCrate(e) = item {
                if env.local_names.iter().any(|n| e.ident == n) {
                    facts.macro_use |= e.attrs.iter().any(|a| a.path().is_ident("macro_use"));
                    if let Some((_, alias)) = &e.rename {
                        facts.crate_names.insert(alias.to_string());
                    }
                }
            }
        }
        for item in &file.items {
            let syn::Item::Mod(m) = item else { continue };
            let Some((_, [syn::Item::Use(u)])) = m.content.as_ref().map(|(b, i)| (b, i.as_slice())) else { continue };
            if let syn::UseTree::Path(p) = &u.tree {
                if matches!(&*p.tree, syn::UseTree::Glob(_)) && facts.crate_names.contains(&unraw(&p.ident)) && u.leading_colon.is_none() {
                    facts.reexports.insert(unraw(&m.ident));
                }
            }
        }
        let mut collect = Collect { facts: &mut facts, range, depth: 0 };
        collect.visit_file(file);
        // Targets: one level of chaining through other imports (`use rand::distributions;
        // use distributions::Uniform;`).
        for i in 0..facts.leaves.len() {
            let written: Vec<String> = facts.leaves[i].written.iter().map(|(s, _)| s.clone()).collect();
            facts.leaves[i].target = facts.use_target(&written).map(|t| facts.through_prelude(t));
        }
        for (i, leaf) in facts.leaves.iter().enumerate() {
            if let Some(local) = &leaf.local {
                facts.names.entry(local.clone()).or_default().push(i);
            }
        }
        // What the cfg'd definitions stand for, now that the imports are known.
        let mut defs = std::mem::take(&mut facts.cfg_defs);
        for def in defs.types.values_mut().chain(defs.fields.values_mut()).flatten() {
            if let Some(r) = facts.resolve(&def.ty, false) {
                def.ty = r.full;
            }
        }
        facts.cfg_defs = defs;
        facts.first_use = facts.uses.iter().filter(|u| u.top_level).map(|u| u.range.start).min();
        facts.insert_at = inner_attrs_end(file, range);
        count_idents(tokens, &facts.uses, range, &mut facts.ident_count, &mut facts.all_idents);
        facts
    }

    fn use_target(&self, written: &[String]) -> Option<Vec<String>> {
        let first = written.first()?;
        if first.is_empty() {
            // `::rand::x`
            let second = written.get(1)?;
            return self.crate_names.contains(second).then(|| self.canonical(&written[1..]));
        }
        if (first == "crate" || first == "self") && written.len() > 2 && self.reexports.contains(&written[1]) {
            return Some(self.canonical(&written[1..]));
        }
        if matches!(first.as_str(), "crate" | "self" | "super") {
            return None;
        }
        if self.crate_names.contains(first) && !self.items.contains(first) {
            return Some(self.canonical(written));
        }
        // Through another import of the crate.
        let via: Vec<&Leaf> = self.leaves.iter().filter(|l| l.local.as_deref() == Some(first.as_str()) && l.kind != LeafKind::Glob).collect();
        let [leaf] = via.as_slice() else { return None };
        let base: Vec<String> = leaf.written.iter().map(|(s, _)| s.clone()).collect();
        if base.first().is_some_and(|b| b == first) {
            return None; // not a chain
        }
        let mut full = self.use_target(&base)?;
        full.extend(written[1..].iter().cloned());
        Some(full)
    }

    /// A path through the crate's prelude module (`rand::prelude::SliceRandom`, a
    /// re-export) as the item the old prelude declares (`rand::seq::SliceRandom`): the
    /// same item, which rules name by its own path.
    fn through_prelude(&self, target: Vec<String>) -> Vec<String> {
        match target.split_last() {
            Some((name, module)) if !self.prelude.path.is_empty() && *module == self.prelude.path[..] => self.prelude.from.get(name).cloned().unwrap_or(target),
            _ => target,
        }
    }

    /// `written` with its first segment (a local name of the crate) replaced by the crate.
    fn canonical(&self, written: &[String]) -> Vec<String> {
        let mut full = vec![self.krate.clone()];
        full.extend(written[1..].iter().cloned());
        full
    }

    /// Resolves a path as written in code (not in a `use`). A single-segment path whose
    /// name any pattern of the file binds is taken as shadowed: without knowing the
    /// scope, that is the safe answer (see [`Facts::resolve_in_scope`]).
    pub fn resolve(&self, segments: &[String], leading_colon: bool) -> Option<Resolved> {
        let shadowed = segments.len() == 1 && segments.first().is_some_and(|first| self.bindings.contains(first));
        self.resolve_in_scope(segments, leading_colon, shadowed)
    }

    /// Resolves a path as written in code, where the caller knows whether a local
    /// binding in scope at that point (a `let`, a parameter, a closure or `match` arm
    /// pattern) shadows a single-segment path: `shadowed`. A `let map = ..` in one
    /// function then does not hide an imported `map` in the others.
    pub fn resolve_in_scope(&self, segments: &[String], leading_colon: bool, shadowed: bool) -> Option<Resolved> {
        let first = segments.first()?;
        if leading_colon {
            return self.crate_names.contains(first).then(|| Resolved { full: self.canonical(segments), via: Via::Crate });
        }
        // A name bound by a `let` or a parameter shadows imports, in expressions.
        let shadowed = shadowed && segments.len() == 1;
        if let Some(leaves) = self.names.get(first) {
            if shadowed {
                return None;
            }
            let targets: BTreeSet<&Vec<String>> = leaves.iter().filter_map(|&l| self.leaves[l].target.as_ref()).collect();
            // Imported from elsewhere (too), or imported twice differently: not ours to say.
            if targets.len() != 1 || leaves.iter().any(|&l| self.leaves[l].target.is_none()) {
                return None;
            }
            let mut full = (*targets.iter().next()?).clone();
            full.extend(segments[1..].iter().cloned());
            // Which leaf: the first (they agree).
            return Some(Resolved { full, via: Via::Import(leaves[0]) });
        }
        if self.crate_names.contains(first) && !self.items.contains(first) {
            return Some(Resolved { full: self.canonical(segments), via: Via::Crate });
        }
        if self.items.contains(first) || shadowed {
            return None;
        }
        // Globs: the declared prelude first (its contents are known), then other globs
        // of the crate's modules.
        for (i, leaf) in self.leaves.iter().enumerate() {
            if leaf.kind != LeafKind::Glob {
                continue;
            }
            let Some(target) = &leaf.target else { continue };
            if !self.prelude.path.is_empty() && *target == self.prelude.path {
                if let Some(path) = self.prelude.from.get(first) {
                    let mut full = path.clone();
                    full.extend(segments[1..].iter().cloned());
                    return Some(Resolved { full, via: Via::Prelude(i) });
                }
            }
        }
        for (i, leaf) in self.leaves.iter().enumerate() {
            let (LeafKind::Glob, Some(target)) = (leaf.kind, &leaf.target) else { continue };
            if *target != self.prelude.path {
                let mut full = target.clone();
                full.extend(segments.iter().cloned());
                return Some(Resolved { full, via: Via::Glob(i) });
            }
        }
        None
    }

    /// Whether the item at `path` (a trait) is in scope: imported by name (`as _`
    /// included), by a glob of its module, or by a glob of the old prelude.
    pub fn brings_in(&self, path: &[String]) -> Option<usize> {
        let parent = &path[..path.len().saturating_sub(1)];
        self.leaves.iter().position(|leaf| match (&leaf.target, leaf.kind) {
            (Some(t), LeafKind::Name) => t == path,
            (Some(t), LeafKind::Glob) => {
                t == parent || (!self.prelude.path.is_empty() && *t == self.prelude.path && self.prelude.from.values().any(|p| p == path))
            }
            _ => false,
        })
    }

    /// Whether `path` will be in scope after the migration without a new `use`: imported
    /// by name already, by a glob of its module, or by a glob of the new prelude.
    pub fn in_scope_after(&self, path: &[String]) -> bool {
        let parent = &path[..path.len().saturating_sub(1)];
        self.leaves.iter().any(|leaf| match (&leaf.target, leaf.kind) {
            (Some(t), LeafKind::Name) => t == path,
            (Some(t), LeafKind::Glob) => t == parent || (!self.prelude.path.is_empty() && *t == self.prelude.path && self.prelude.to.contains(path)),
            _ => false,
        })
    }

    /// Whether `name` is free in this file: no item, binding or import takes it.
    pub fn is_free(&self, name: &str) -> bool {
        !self.items.contains(name) && !self.bindings.contains(name) && !self.names.contains_key(name) && !self.crate_names.contains(name)
    }

    /// The name the crate goes by in paths written here.
    pub fn crate_local_name(&self) -> &str {
        if self.crate_names.contains(&self.krate) {
            &self.krate
        } else {
            self.crate_names.iter().next().map_or(self.krate.as_str(), String::as_str)
        }
    }
}

fn all_items(file: &syn::File) -> Vec<&syn::Item> {
    struct Items<'a>(Vec<&'a syn::Item>);
    impl<'a> Visit<'a> for Items<'a> {
        fn visit_item(&mut self, i: &'a syn::Item) {
            self.0.push(i);
            visit::visit_item(self, i);
        }
    }
    let mut items = Items(Vec::new());
    items.visit_file(file);
    items.0
}

fn inner_attrs_end(file: &syn::File, range: &dyn Fn(Span) -> Range<usize>) -> usize {
    file.attrs.iter().filter(|a| matches!(a.style, syn::AttrStyle::Inner(_))).map(|a| range(a.span()).end).max().unwrap_or(0)
}

/// Counts identifier tokens outside `use` items, everywhere (macro bodies included), that
/// can be a local name: not after `.` or `::`. Every identifier goes in `all`.
fn count_idents(
    tokens: &proc_macro2::TokenStream,
    uses: &[UseItem],
    range: &dyn Fn(Span) -> Range<usize>,
    out: &mut BTreeMap<String, usize>,
    all: &mut BTreeSet<String>,
) {
    let seq: Vec<proc_macro2::TokenTree> = tokens.clone().into_iter().collect();
    for (i, tt) in seq.iter().enumerate() {
        match tt {
            proc_macro2::TokenTree::Ident(ident) => {
                let s = ident.to_string();
                let s = s.strip_prefix("r#").map(str::to_string).unwrap_or(s);
                let punct = |k: usize| match i.checked_sub(k).map(|j| &seq[j]) {
                    Some(proc_macro2::TokenTree::Punct(p)) => Some(p.as_char()),
                    _ => None,
                };
                let continues = punct(1) == Some('.') || (punct(1) == Some(':') && punct(2) == Some(':'));
                let at = range(ident.span()).start;
                if !continues && !uses.iter().any(|u| u.range.contains(&at)) {
                    *out.entry(s.clone()).or_default() += 1;
                }
                all.insert(s);
            }
            proc_macro2::TokenTree::Group(g) => count_idents(&g.stream(), uses, range, out, all),
            _ => {}
        }
    }
}

struct Collect<'f, 'r> {
    facts: &'f mut Facts,
    range: &'r dyn Fn(Span) -> Range<usize>,
    /// Nesting of items: 0 at the top level.
    depth: usize,
}

impl Collect<'_, '_> {
    fn tree(&mut self, item: usize, prefix: &[(String, Range<usize>)], shared: usize, tree: &syn::UseTree) -> UseNode {
        let range = (self.range)(tree.span());
        let leaf = |c: &mut Self, written: Vec<(String, Range<usize>)>, kind: LeafKind, alias: Option<(String, Range<usize>)>, local: Option<String>| {
            let own_start = written.get(shared).map_or(range.start, |(_, r)| r.start).min(range.start);
            let index = c.facts.leaves.len();
            c.facts.leaves.push(Leaf { item, written, shared, kind, alias, own_range: own_start..range.end, target: None, local, node: index });
            UseNode::Leaf(index, range.clone())
        };
        match tree {
            syn::UseTree::Path(p) => {
                let mut written = prefix.to_vec();
                written.push((unraw(&p.ident), (self.range)(p.ident.span())));
                let child = self.tree(item, &written, shared, &p.tree);
                UseNode::Path(range.clone(), Box::new(child))
            }
            syn::UseTree::Name(n) if n.ident == "self" => {
                let local = prefix.last().map(|(s, _)| s.clone());
                leaf(self, prefix.to_vec(), LeafKind::SelfName, None, local)
            }
            syn::UseTree::Name(n) => {
                let mut written = prefix.to_vec();
                written.push((unraw(&n.ident), (self.range)(n.ident.span())));
                leaf(self, written, LeafKind::Name, None, Some(unraw(&n.ident)))
            }
            syn::UseTree::Rename(r) => {
                let alias = (unraw(&r.rename), (self.range)(r.rename.span()));
                if r.ident == "self" {
                    leaf(self, prefix.to_vec(), LeafKind::SelfName, Some(alias.clone()), Some(alias.0))
                } else {
                    let mut written = prefix.to_vec();
                    written.push((unraw(&r.ident), (self.range)(r.ident.span())));
                    leaf(self, written, LeafKind::Name, Some(alias.clone()), Some(alias.0))
                }
            }
            syn::UseTree::Glob(_) => leaf(self, prefix.to_vec(), LeafKind::Glob, None, None),
            syn::UseTree::Group(g) => {
                let items = g.items.iter().map(|t| self.tree(item, prefix, prefix.len(), t)).collect();
                UseNode::Group(range, items)
            }
        }
    }
}

impl Collect<'_, '_> {
    /// Records a `use` item; `depth` is that of the item itself (0 at the top level).
    fn use_item(&mut self, u: &syn::ItemUse) {
        let index = self.facts.uses.len();
        let range = (self.range)(u.span());
        // Placeholder, so leaves can name their item by index.
        self.facts.uses.push(UseItem { range: range.clone(), tree: UseNode::Group(range.clone(), Vec::new()), top_level: self.depth == 0 });
        let prefix = if u.leading_colon.is_some() { vec![(String::new(), range.start..range.start)] } else { Vec::new() };
        let shared = prefix.len();
        let tree = self.tree(index, &prefix, shared, &u.tree);
        self.facts.uses[index].tree = tree;
    }
}

impl<'ast> Visit<'ast> for Collect<'_, '_> {
    fn visit_item(&mut self, item: &'ast syn::Item) {
        if let syn::Item::Use(u) = item {
            // Before the depth moves: a top-level `use` is at depth 0.
            let first = self.facts.leaves.len();
            self.use_item(u);
            let when = crate::syntax::cfg::conjuncts(&u.attrs);
            if !when.is_empty() {
                for leaf in &self.facts.leaves[first..] {
                    if let (Some(local), LeafKind::Name) = (&leaf.local, leaf.kind) {
                        let ty = leaf.written.iter().map(|(s, _)| s.clone()).collect();
                        let def = CfgDef { when: when.clone(), ty, kind: "import", file: String::new(), line: u.use_token.span.start().line };
                        self.facts.cfg_defs.types.entry(local.clone()).or_default().push(def);
                    }
                }
            }
            return;
        }
        if let syn::Item::Type(t) = item {
            let when = crate::syntax::cfg::conjuncts(&t.attrs);
            if let (false, syn::Type::Path(p)) = (when.is_empty(), &*t.ty) {
                let def = CfgDef { when, ty: segments(&p.path), kind: "type alias", file: String::new(), line: t.ident.span().start().line };
                self.facts.cfg_defs.types.entry(unraw(&t.ident)).or_default().push(def);
            }
        }
        let name = match item {
            syn::Item::Fn(f) => Some(&f.sig.ident),
            syn::Item::Struct(s) => Some(&s.ident),
            syn::Item::Enum(e) => Some(&e.ident),
            syn::Item::Union(u) => Some(&u.ident),
            syn::Item::Type(t) => Some(&t.ident),
            syn::Item::Trait(t) => Some(&t.ident),
            syn::Item::Mod(m) => Some(&m.ident),
            syn::Item::Const(c) => Some(&c.ident),
            syn::Item::Static(s) => Some(&s.ident),
            _ => None,
        };
        if let Some(name) = name {
            self.facts.items.insert(unraw(name));
        }
        if let syn::Item::Struct(_) | syn::Item::Enum(_) | syn::Item::Union(_) | syn::Item::Type(_) | syn::Item::Trait(_) = item {
            self.facts.types.insert(unraw(name.expect("named")));
        }
        match item {
            syn::Item::Macro(m) => {
                if let Some(name) = &m.ident {
                    self.facts.macros.insert(unraw(name));
                }
            }
            syn::Item::Struct(s) => {
                for field in &s.fields {
                    if let Some(ident) = &field.ident {
                        let when = crate::syntax::cfg::conjuncts(&field.attrs);
                        if let (false, Some(head)) = (when.is_empty(), type_head(&field.ty)) {
                            let def = CfgDef { when, ty: head, kind: "field", file: String::new(), line: ident.span().start().line };
                            self.facts.cfg_defs.fields.entry(unraw(ident)).or_default().push(def);
                        }
                        self.facts.fields.entry(unraw(ident)).or_default().push(field.ty.clone());
                    }
                }
                if let syn::Fields::Unnamed(fields) = &s.fields {
                    self.facts.tuple_fields.insert(unraw(&s.ident), fields.unnamed.iter().map(|f| f.ty.clone()).collect());
                }
            }
            syn::Item::Impl(i) if i.trait_.is_none() => {
                if let Some(name) = type_name(&i.self_ty) {
                    for it in &i.items {
                        if let syn::ImplItem::Fn(f) = it {
                            self.facts.inherent.entry(name.clone()).or_default().insert(unraw(&f.sig.ident));
                            self.facts.own_methods.insert(unraw(&f.sig.ident));
                        }
                    }
                }
            }
            syn::Item::Trait(t) => {
                for it in &t.items {
                    if let syn::TraitItem::Fn(f) = it {
                        self.facts.own_methods.insert(unraw(&f.sig.ident));
                    }
                }
            }
            _ => {}
        }
        self.depth += 1;
        visit::visit_item(self, item);
        self.depth -= 1;
    }

    fn visit_pat_ident(&mut self, p: &'ast syn::PatIdent) {
        self.facts.bindings.insert(unraw(&p.ident));
        visit::visit_pat_ident(self, p);
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        crate::syntax::tokens::visit_macro_body_through_metavariables(self, mac);
    }
}

/// The last identifier of a path type (`crate::dice::Dice<T>` → `Dice`).
pub fn type_name(ty: &syn::Type) -> Option<String> {
    match ty {
        syn::Type::Path(p) if p.qself.is_none() => p.path.segments.last().map(|s| unraw(&s.ident)),
        syn::Type::Reference(r) => type_name(&r.elem),
        syn::Type::Paren(p) => type_name(&p.elem),
        _ => None,
    }
}

/// The path of a type's head as written (`&mut indexmap::IndexMap<K, V>` →
/// `indexmap::IndexMap`).
pub fn type_head(ty: &syn::Type) -> Option<Vec<String>> {
    match ty {
        syn::Type::Path(p) if p.qself.is_none() => Some(segments(&p.path)),
        syn::Type::Reference(r) => type_head(&r.elem),
        syn::Type::Paren(p) => type_head(&p.elem),
        _ => None,
    }
}

/// The segments of a path as strings (`::a::b` → `["", "a", "b"]` is not used here:
/// the leading colon is reported apart).
pub fn segments(path: &syn::Path) -> Vec<String> {
    path.segments.iter().map(|s| unraw(&s.ident)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(src: &str, env: &Env) -> Facts {
        let tokens: proc_macro2::TokenStream = src.parse().unwrap();
        let file: syn::File = syn::parse2(tokens.clone()).unwrap();
        let prelude = PreludeFacts {
            path: vec!["rand".into(), "prelude".into()],
            from: [("thread_rng", "rand::thread_rng"), ("Rng", "rand::Rng")]
                .iter()
                .map(|(n, p)| (n.to_string(), p.split("::").map(String::from).collect()))
                .collect(),
            to: BTreeSet::new(),
        };
        Facts::of(&file, &tokens, env, &prelude, &|s| s.byte_range())
    }

    fn path(s: &str) -> Vec<String> {
        s.split("::").map(String::from).collect()
    }

    fn full(src: &str, code: &str) -> Option<String> {
        let f = facts(src, &Env::plain("rand"));
        f.resolve(&path(code), false).map(|r| r.full.join("::"))
    }

    #[test]
    fn resolves_through_every_kind_of_import() {
        assert_eq!(full("", "rand::thread_rng").as_deref(), Some("rand::thread_rng"));
        assert_eq!(full("use rand::thread_rng;", "thread_rng").as_deref(), Some("rand::thread_rng"));
        assert_eq!(full("use rand::thread_rng as tr;", "tr").as_deref(), Some("rand::thread_rng"));
        assert_eq!(full("use rand::{self as r, Rng};", "r::thread_rng").as_deref(), Some("rand::thread_rng"));
        assert_eq!(full("use rand::{distributions::{self, Uniform}};", "distributions::Standard").as_deref(), Some("rand::distributions::Standard"));
        assert_eq!(full("use ::rand::{seq::{SliceRandom}};", "SliceRandom").as_deref(), Some("rand::seq::SliceRandom"));
        assert_eq!(full("use rand::prelude::*;", "thread_rng").as_deref(), Some("rand::thread_rng"));
        assert_eq!(full("use rand::prelude::*;", "random").as_deref(), None, "not declared in the prelude");
        assert_eq!(full("use rand::distributions::*;", "Standard").as_deref(), Some("rand::distributions::Standard"));
        assert_eq!(full("extern crate rand as r;", "r::thread_rng").as_deref(), Some("rand::thread_rng"));
        assert_eq!(full("use rand::distributions; use distributions::Uniform;", "Uniform").as_deref(), Some("rand::distributions::Uniform"));
    }

    #[test]
    fn local_definitions_shadow_globs_and_other_crates_do_not_resolve() {
        assert_eq!(full("use rand::prelude::*; fn thread_rng() {}", "thread_rng"), None);
        assert_eq!(full("use rand::prelude::*; fn f() { let thread_rng = || 1; }", "thread_rng"), None);
        assert_eq!(full("use crate::rng::thread_rng;", "thread_rng"), None);
        assert_eq!(full("mod rand { pub fn thread_rng() {} }", "rand::thread_rng"), None);
        assert_eq!(full("use other::thread_rng;", "thread_rng"), None);
    }

    #[test]
    fn renamed_dependency_is_the_crate_and_its_real_name_is_not() {
        let env = Env { krate: "rand".into(), local_names: vec!["foo".into()], ..Env::plain("rand") };
        let f = facts("use foo::thread_rng; use rand::Rng;", &env);
        assert_eq!(f.resolve(&path("thread_rng"), false).unwrap().full, path("rand::thread_rng"));
        assert_eq!(f.resolve(&path("foo::random"), false).unwrap().full, path("rand::random"));
        assert_eq!(f.resolve(&path("Rng"), false), None);
        assert_eq!(f.crate_local_name(), "foo");
    }

    #[test]
    fn traits_in_scope() {
        let f = facts("use rand::Rng as _; use rand::seq::*;", &Env::plain("rand"));
        assert!(f.brings_in(&path("rand::Rng")).is_some());
        assert!(f.brings_in(&path("rand::seq::SliceRandom")).is_some());
        assert!(f.brings_in(&path("rand::RngCore")).is_none());
        let f = facts("use rand::prelude::*;", &Env::plain("rand"));
        assert!(f.brings_in(&path("rand::Rng")).is_some());
    }

    #[test]
    fn top_level_uses_are_told_from_nested_ones() {
        let src = "//! Doc.\n\nuse rand::Rng;\nmod m {\n    use rand::thread_rng;\n}\nfn f() {\n    use rand::random;\n}\n";
        let f = facts(src, &Env::plain("rand"));
        assert_eq!(f.uses.iter().map(|u| u.top_level).collect::<Vec<_>>(), [true, false, false]);
        assert_eq!(f.first_use, src.find("use rand::Rng"));
    }

    #[test]
    fn leaves_know_what_they_share() {
        let src = "use rand::{distributions::{Standard, Uniform as U}, Rng};";
        let f = facts(src, &Env::plain("rand"));
        let standard = f.leaves.iter().find(|l| l.local.as_deref() == Some("Standard")).unwrap();
        assert_eq!(standard.shared, 2);
        assert_eq!(&src[standard.own_range.clone()], "Standard");
        let u = f.leaves.iter().find(|l| l.local.as_deref() == Some("U")).unwrap();
        assert_eq!(&src[u.own_range.clone()], "Uniform as U");
        let rng = f.leaves.iter().find(|l| l.local.as_deref() == Some("Rng")).unwrap();
        assert_eq!(rng.shared, 1);
    }
}
