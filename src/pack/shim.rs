//! Shims: small, reviewed Rust items a pack adds to a crate in place of items the release
//! removed or deprecated without a replacement (rand 0.9's `rngs::mock::StepRng`), and the
//! edits that point the crate's uses at them.
//!
//! A shim's `code` is pack text, so it is parsed and checked when the pack is loaded
//! ([`compile`]): items only, no macro invocation, `unsafe`, `extern`, `mod`, `static`,
//! `crate::`/`super::` path or path of a crate other than the pack's, `std`, `core` and
//! `alloc`, each written from the root (`::rand::RngCore`: a module of a 2015 crate
//! resolves `rand::` from itself); attributes only from a short allow-list (`doc`, `allow`, `inline`,
//! `must_use`, `derive` of the standard derivable traits). What is written into a file is
//! that text laid out as an inline module, and the laid-out module is parsed again and
//! must hold exactly the checked items ([`CompiledShim::render`]): nothing of the pack is
//! spliced unchecked.
//!
//! In a file ([`run`]): every use of a replaced item — `use` leaves and paths written in
//! code — is found with the module it is in and the `cfg`s it is under. The shim goes once
//! into the innermost module holding every use, as `mod <id>`, with the `cfg`s every use
//! shares (a shim used only by tests is `#[cfg(test)]`, so it is no dead code in other
//! builds); the imports and paths are pointed at it (`self::step_rng::StepRng`,
//! `super::step_rng::StepRng`). That is one change, needs-review. A `pub use` of a
//! replaced item is the crate's public API: it becomes a judge site, keep it through the
//! shim (conservative) or drop it (a breaking change for the crate's users).

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

use quote::ToTokens;
use syn::spanned::Spanned;
use syn::visit::{self, Visit};

use super::format::ShimDef;
use super::imports::{removal, remove_item, Removal};
use super::resolve::{Facts, Via};
use crate::core::model::Edit;
use crate::core::text::{indentation_at, line_ending, LineIndex};

/// A shim, checked: plain data.
#[derive(Clone, Debug)]
pub struct CompiledShim {
    /// Its id in the pack.
    pub id: String,
    /// `<crate>/<id>`: what its changes and sites carry as their rule.
    pub full_id: &'static str,
    /// Why it is needed.
    pub message: String,
    /// The module it is written as (`step_rng`).
    pub module: String,
    /// The full paths of the items it stands in for.
    pub replaces: Vec<Vec<String>>,
    /// Whether only `pub use` re-exports get it.
    pub re_exports_only: bool,
    /// The checked text, trimmed, one entry per line.
    lines: Vec<String>,
    /// The checked items as tokens, one string per item: what a rendered module must hold.
    tokens: Vec<String>,
}

/// The crates a shim may name: the pack's and the standard library's.
fn allowed_crate(name: &str, krate: &str) -> bool {
    name == krate || matches!(name, "std" | "core" | "alloc")
}

const PRIMITIVES: &[&str] = &["bool", "char", "str", "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32", "i64", "i128", "isize", "f32", "f64"];

const DERIVES: &[&str] = &["Debug", "Clone", "Copy", "PartialEq", "Eq", "PartialOrd", "Ord", "Hash", "Default"];

/// Checks a shim's definition; on error, what is wrong (naming the construct).
pub fn compile(def: &ShimDef, krate: &str, full_id: &'static str) -> Result<CompiledShim, String> {
    let module = def.id.replace('-', "_");
    if syn::parse_str::<syn::Ident>(&module).is_err() || module.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(format!("the id `{}` does not make a module name", def.id));
    }
    let file = syn::parse_file(&def.code).map_err(|e| format!("`code` is not Rust items: {e}"))?;
    if file.shebang.is_some() || !file.attrs.is_empty() {
        return Err("`code` holds items only: no inner attribute".into());
    }
    if file.items.is_empty() {
        return Err("`code` is empty".into());
    }
    let mut check = Check { krate, error: None };
    check.visit_file(&file);
    if let Some(e) = check.error {
        return Err(format!("`code`: {e}"));
    }
    let public: BTreeSet<String> = file.items.iter().filter_map(public_name).collect();
    if def.replaces.is_empty() {
        return Err("`replaces` is empty".into());
    }
    let mut replaces = Vec::new();
    for r in &def.replaces {
        let path = super::compile::split_path(r);
        if path.len() < 2 || path[0] != krate || path.iter().any(|s| syn::parse_str::<syn::Ident>(s).is_err()) {
            return Err(format!("`replaces`: `{r}` is not a full path of an item of `{krate}`"));
        }
        let name = path.last().expect("two segments");
        if !public.contains(name) {
            return Err(format!("`replaces`: `code` defines no `pub` item `{name}` to stand in for `{r}`"));
        }
        replaces.push(path);
    }
    let lines: Vec<String> = def.code.trim_matches('\n').lines().map(|l| l.trim_end().to_string()).collect();
    let tokens = file.items.iter().map(|i| i.to_token_stream().to_string()).collect();
    Ok(CompiledShim { id: def.id.clone(), full_id, message: def.message.clone(), module, replaces, re_exports_only: def.re_exports_only, lines, tokens })
}

/// The name of a `pub` item.
fn public_name(item: &syn::Item) -> Option<String> {
    let (vis, ident) = match item {
        syn::Item::Struct(i) => (&i.vis, &i.ident),
        syn::Item::Enum(i) => (&i.vis, &i.ident),
        syn::Item::Fn(i) => (&i.vis, &i.sig.ident),
        syn::Item::Const(i) => (&i.vis, &i.ident),
        syn::Item::Type(i) => (&i.vis, &i.ident),
        syn::Item::Trait(i) => (&i.vis, &i.ident),
        _ => return None,
    };
    matches!(vis, syn::Visibility::Public(_)).then(|| ident.to_string())
}

/// The checks of a shim's code: the first thing found that could run, escape or reach
/// beyond the shim.
struct Check<'k> {
    krate: &'k str,
    error: Option<String>,
}

impl Check<'_> {
    fn fail(&mut self, what: String) {
        self.error.get_or_insert(what);
    }

    fn check_attribute(&mut self, attr: &syn::Attribute) {
        let name = attr.path().get_ident().map(ToString::to_string).unwrap_or_else(|| attr.path().to_token_stream().to_string().replace(' ', ""));
        match (name.as_str(), &attr.meta) {
            ("doc", syn::Meta::NameValue(nv)) if matches!(&nv.value, syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(_), .. })) => {}
            ("doc", syn::Meta::List(l)) if l.tokens.to_string() == "hidden" => {}
            ("inline" | "must_use", syn::Meta::Path(_)) => {}
            ("inline", syn::Meta::List(l)) if matches!(l.tokens.to_string().as_str(), "always" | "never") => {}
            ("allow", syn::Meta::List(l)) => {
                if l.parse_args_with(syn::punctuated::Punctuated::<syn::Path, syn::Token![,]>::parse_terminated).is_err() {
                    self.fail("`#[allow(..)]` takes lint names".into());
                }
            }
            ("derive", syn::Meta::List(l)) => match l.parse_args_with(syn::punctuated::Punctuated::<syn::Path, syn::Token![,]>::parse_terminated) {
                Ok(paths) => {
                    for p in paths {
                        let segs: Vec<String> = p.segments.iter().map(|s| s.ident.to_string()).collect();
                        let std_path = segs.len() == 1 || (matches!(segs[0].as_str(), "std" | "core") && p.segments.iter().all(|s| s.arguments.is_none()));
                        if !std_path || !DERIVES.contains(&segs[segs.len() - 1].as_str()) {
                            self.fail(format!("`#[derive({})]`: a shim derives only {}", segs.join("::"), DERIVES.join(", ")));
                        }
                    }
                }
                Err(_) => self.fail("`#[derive(..)]` takes trait names".into()),
            },
            _ => self.fail(format!("the attribute `#[{name}]` (a shim's attributes are `doc`, `allow`, `inline`, `must_use` and `derive`)")),
        }
    }
}

impl<'ast> Visit<'ast> for Check<'_> {
    fn visit_item(&mut self, item: &'ast syn::Item) {
        match item {
            syn::Item::Struct(_) | syn::Item::Enum(_) | syn::Item::Const(_) | syn::Item::Type(_) | syn::Item::Fn(_) => {}
            syn::Item::Impl(i) if i.unsafety.is_some() => self.fail("`unsafe impl`".into()),
            syn::Item::Impl(_) => {}
            syn::Item::Trait(t) if t.unsafety.is_some() || t.auto_token.is_some() => self.fail("an `unsafe` or `auto` trait".into()),
            syn::Item::Trait(_) => {}
            syn::Item::Use(u) => {
                let mut tree = &u.tree;
                let first = loop {
                    match tree {
                        syn::UseTree::Path(p) => break Some(p.ident.to_string()),
                        syn::UseTree::Name(n) => break Some(n.ident.to_string()),
                        syn::UseTree::Rename(r) => break Some(r.ident.to_string()),
                        syn::UseTree::Group(g) if g.items.len() == 1 => tree = &g.items[0],
                        syn::UseTree::Glob(_) | syn::UseTree::Group(_) => break None,
                    }
                };
                let shown = u.tree.to_token_stream().to_string().replace(' ', "");
                match first {
                    Some(f) if f == "self" => {}
                    Some(f) if allowed_crate(&f, self.krate) && u.leading_colon.is_none() => {
                        self.fail(format!("`use {shown}`: write `use ::{shown}`, so that the shim resolves in every edition"))
                    }
                    Some(f) if allowed_crate(&f, self.krate) => {}
                    _ => self.fail(format!("`use` of `{shown}`: a shim imports from `{}`, `std`, `core` or `alloc`", self.krate)),
                }
                return;
            }
            syn::Item::Mod(_) => self.fail("a `mod`".into()),
            syn::Item::ExternCrate(_) | syn::Item::ForeignMod(_) => self.fail("`extern`".into()),
            syn::Item::Static(_) => self.fail("a `static`".into()),
            syn::Item::Macro(m) => self.fail(format!("the macro invocation `{}!`", m.mac.path.to_token_stream().to_string().replace(' ', ""))),
            _ => self.fail(format!("the item `{}`", item.to_token_stream().to_string().chars().take(40).collect::<String>())),
        }
        visit::visit_item(self, item);
    }

    fn visit_attribute(&mut self, attr: &'ast syn::Attribute) {
        self.check_attribute(attr);
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        self.fail(format!("the macro invocation `{}!`", mac.path.to_token_stream().to_string().replace(' ', "")));
    }

    fn visit_signature(&mut self, sig: &'ast syn::Signature) {
        if sig.unsafety.is_some() {
            self.fail("an `unsafe fn`".into());
        }
        if sig.abi.is_some() {
            self.fail("an `extern` function".into());
        }
        visit::visit_signature(self, sig);
    }

    fn visit_expr_unsafe(&mut self, _: &'ast syn::ExprUnsafe) {
        self.fail("an `unsafe` block".into());
    }

    fn visit_type_bare_fn(&mut self, f: &'ast syn::TypeBareFn) {
        if f.unsafety.is_some() || f.abi.is_some() {
            self.fail("an `unsafe` or `extern` function type".into());
        }
        visit::visit_type_bare_fn(self, f);
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        let first = path.segments.first().map(|s| s.ident.to_string()).unwrap_or_default();
        if matches!(first.as_str(), "crate" | "super") {
            self.fail(format!("a `{first}::` path: a shim reaches nothing of the crate it is added to"));
        } else if path.leading_colon.is_none() && path.segments.len() > 1 && allowed_crate(&first, self.krate) {
            let shown = path.to_token_stream().to_string().replace(' ', "");
            self.fail(format!(
                "the path `{shown}`: write `::{shown}`, so that the shim resolves in every edition (a 2015 module resolves `{first}::` from itself)"
            ));
        } else if path.leading_colon.is_some() && !allowed_crate(&first, self.krate) {
            self.fail(format!("the path `::{first}`: a shim names `{}`, `std`, `core` and `alloc` only", self.krate));
        } else if path.segments.len() > 1
            && first.starts_with(|c: char| c.is_lowercase())
            && !allowed_crate(&first, self.krate)
            && first != "self"
            && !PRIMITIVES.contains(&first.as_str())
        {
            self.fail(format!(
                "the path `{}`: a shim names `{}`, `std`, `core` and `alloc` only",
                path.to_token_stream().to_string().replace(' ', ""),
                self.krate
            ));
        }
        visit::visit_path(self, path);
    }
}

impl CompiledShim {
    /// The shim as a module to write into a file: its `attrs` (attribute texts of the
    /// user's file, `#[cfg(test)]`) and `#[allow(dead_code)]` (a crate uses what it
    /// needs of a shim), `mod <module> { .. }` with the checked lines, indented by
    /// `indent`. The laid-out text is parsed again and must hold exactly the checked items
    /// (indenting must not move a line inside a literal: then the lines are written
    /// unindented); `None` if it does not.
    pub fn render(&self, indent: &str, attrs: &[String], newline: &str) -> Option<String> {
        let inner = format!("{indent}    ");
        for indented in [true, false] {
            let mut out = String::new();
            for a in attrs {
                out.push_str(&format!("{indent}{a}{newline}"));
            }
            out.push_str(&format!("{indent}#[allow(dead_code)]{newline}{indent}mod {} {{{newline}", self.module));
            for line in &self.lines {
                if line.is_empty() {
                    out.push_str(newline);
                } else if indented {
                    out.push_str(&format!("{inner}{line}{newline}"));
                } else {
                    out.push_str(&format!("{line}{newline}"));
                }
            }
            out.push_str(&format!("{indent}}}"));
            if self.holds_exactly(&out, attrs.len()) {
                return Some(out);
            }
        }
        None
    }

    /// Whether `text` is one module named as the shim, with `attrs` attributes of the
    /// user's and the allow, holding the checked items and nothing else.
    fn holds_exactly(&self, text: &str, attrs: usize) -> bool {
        let Ok(file) = syn::parse_file(text) else { return false };
        let [syn::Item::Mod(m)] = file.items.as_slice() else { return false };
        let Some((_, items)) = &m.content else { return false };
        m.ident == self.module.as_str()
            && m.attrs.len() == attrs + 1
            && m.attrs.iter().take(attrs).all(|a| a.path().is_ident("cfg"))
            && items.len() == self.tokens.len()
            && items.iter().zip(&self.tokens).all(|(i, t)| i.to_token_stream().to_string() == *t)
    }

    /// The name a replaced item has in the shim.
    fn name_of(path: &[String]) -> &str {
        path.last().map(String::as_str).unwrap_or_default()
    }
}

/// A module of the file: an inline `mod` (or the file itself, `None` in a stack).
#[derive(Clone, Debug)]
struct Module {
    /// The offset of its closing brace.
    close: usize,
    /// The offset of its `mod` keyword (its indentation is that line's).
    start: usize,
    /// Its name.
    name: String,
}

/// A `cfg` a use is under: the text of the attribute, and how many modules deep it was
/// written (a `cfg` on a module's own chain is not the shim's to repeat).
type Cfg = (usize, String);

/// A `use` item, where it is.
#[derive(Clone, Debug)]
struct UseAt {
    /// The offset of its `use` keyword.
    use_token: Range<usize>,
    public: bool,
    stack: Vec<usize>,
    cfgs: Vec<Cfg>,
}

/// A path written in code that may name a replaced item.
#[derive(Clone, Debug)]
struct PathAt {
    segments: Vec<(String, Range<usize>)>,
    leading_colon: Option<usize>,
    stack: Vec<usize>,
    cfgs: Vec<Cfg>,
}

/// The scan of a file: its modules, `use` items and the paths naming one of `names`.
struct Scan<'a> {
    names: &'a BTreeSet<String>,
    range: &'a dyn Fn(proc_macro2::Span) -> Range<usize>,
    text: &'a str,
    modules: Vec<Module>,
    stack: Vec<usize>,
    cfgs: Vec<Cfg>,
    uses: Vec<UseAt>,
    paths: Vec<PathAt>,
}

impl Scan<'_> {
    /// The `cfg`s an item's attributes put it under: its `#[cfg(..)]`s, and `#[cfg(test)]`
    /// for a test function (`#[test]`, `#[tokio::test]`).
    fn cfgs_of(&self, attrs: &[syn::Attribute]) -> Vec<Cfg> {
        let depth = self.stack.len();
        let mut out = Vec::new();
        for a in attrs {
            if a.path().is_ident("cfg") {
                out.push((depth, self.text[(self.range)(a.span())].to_string()));
            } else if a.path().segments.last().is_some_and(|s| s.ident == "test") && matches!(a.meta, syn::Meta::Path(_)) {
                out.push((depth, "#[cfg(test)]".to_string()));
            }
        }
        out
    }

    fn with_cfgs(&mut self, attrs: &[syn::Attribute], f: impl FnOnce(&mut Self)) {
        let cfgs = self.cfgs_of(attrs);
        let n = cfgs.len();
        self.cfgs.extend(cfgs);
        f(self);
        self.cfgs.truncate(self.cfgs.len() - n);
    }
}

impl<'ast> Visit<'ast> for Scan<'_> {
    fn visit_item(&mut self, item: &'ast syn::Item) {
        let attrs: &[syn::Attribute] = match item {
            syn::Item::Fn(i) => &i.attrs,
            syn::Item::Impl(i) => &i.attrs,
            syn::Item::Mod(i) => &i.attrs,
            syn::Item::Struct(i) => &i.attrs,
            syn::Item::Enum(i) => &i.attrs,
            syn::Item::Trait(i) => &i.attrs,
            syn::Item::Const(i) => &i.attrs,
            syn::Item::Static(i) => &i.attrs,
            syn::Item::Type(i) => &i.attrs,
            syn::Item::Use(i) => &i.attrs,
            _ => &[],
        };
        self.with_cfgs(attrs, |s| visit::visit_item(s, item));
    }

    fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
        self.with_cfgs(&f.attrs, |s| visit::visit_impl_item_fn(s, f));
    }

    fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
        let Some((brace, items)) = &m.content else { return };
        self.modules.push(Module { close: (self.range)(brace.span.close()).start, start: (self.range)(m.mod_token.span).start, name: m.ident.to_string() });
        self.stack.push(self.modules.len() - 1);
        for item in items {
            self.visit_item(item);
        }
        self.stack.pop();
    }

    fn visit_item_use(&mut self, u: &'ast syn::ItemUse) {
        self.uses.push(UseAt {
            use_token: (self.range)(u.use_token.span),
            public: matches!(u.vis, syn::Visibility::Public(_)),
            stack: self.stack.clone(),
            cfgs: self.cfgs.clone(),
        });
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        if path.segments.iter().any(|s| self.names.contains(&s.ident.to_string())) {
            self.paths.push(PathAt {
                segments: path.segments.iter().map(|s| (s.ident.to_string(), (self.range)(s.ident.span()))).collect(),
                leading_colon: path.leading_colon.map(|c| (self.range)(c.spans[0]).start),
                stack: self.stack.clone(),
                cfgs: self.cfgs.clone(),
            });
        }
        visit::visit_path(self, path);
    }
}

/// A `pub use` of items a shim stands in for: the judge's site.
#[derive(Clone, Debug)]
pub struct ReExport {
    /// The shim.
    pub shim: usize,
    /// The first `pub use` item's range.
    pub range: Range<usize>,
    /// The re-exported names, as the crate's users see them.
    pub items: Vec<String>,
    /// The `pub use` items, as written.
    pub code: String,
    /// The module the shim goes into (`the end of this file`, `` `mod tests` ``).
    pub place: String,
    /// The edits keeping the API through the shim.
    pub keep: Vec<Edit>,
    /// The edits dropping the re-exports.
    pub drop: Vec<Edit>,
}

/// What the shims of a pack make of one file.
#[derive(Debug, Default)]
pub struct ShimRun {
    /// The changes: shim, reason, edits.
    pub changes: Vec<(usize, String, Vec<Edit>)>,
    /// The re-exports: judge sites.
    pub re_exports: Vec<ReExport>,
    /// What could not be done: shim, offset, why.
    pub notes: Vec<(usize, usize, String)>,
}

/// One use of a shim's item in a file.
#[derive(Clone, Debug)]
enum Use {
    /// The `use` leaves of one `use` item (indexes in [`Facts::leaves`]); the item's
    /// index in [`Facts::uses`] and where it is.
    Leaves(usize, Vec<usize>, UseAt),
    /// A path of code: the range of its segments up to the item, the item's name.
    Path(Range<usize>, String, PathAt),
}

impl Use {
    fn stack(&self) -> &[usize] {
        match self {
            Use::Leaves(_, _, u) => &u.stack,
            Use::Path(_, _, p) => &p.stack,
        }
    }
    fn cfgs(&self) -> &[Cfg] {
        match self {
            Use::Leaves(_, _, u) => &u.cfgs,
            Use::Path(_, _, p) => &p.cfgs,
        }
    }
}

/// Runs the shims of a pack on one file.
pub fn run(shims: &[CompiledShim], file: &syn::File, facts: &Facts, text: &str, range: &dyn Fn(proc_macro2::Span) -> Range<usize>) -> ShimRun {
    let mut out = ShimRun::default();
    if shims.is_empty() {
        return out;
    }
    let names: BTreeSet<String> = shims.iter().flat_map(|s| s.replaces.iter().map(|r| CompiledShim::name_of(r).to_string())).collect();
    let mut scan = Scan { names: &names, range, text, modules: Vec::new(), stack: Vec::new(), cfgs: Vec::new(), uses: Vec::new(), paths: Vec::new() };
    scan.visit_file(file);
    let lines = LineIndex::new(text);
    for (index, shim) in shims.iter().enumerate() {
        let replaced = |full: &[String]| shim.replaces.iter().find(|r| full.starts_with(r)).cloned();
        // `use` leaves naming an item, per `use` item; public ones apart.
        let mut private: Vec<Use> = Vec::new();
        let mut public: Vec<Use> = Vec::new();
        let mut by_item: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for (l, leaf) in facts.leaves.iter().enumerate() {
            if leaf.target.as_ref().is_some_and(|t| shim.replaces.contains(t)) && leaf.kind != super::resolve::LeafKind::Glob {
                by_item.entry(leaf.item).or_default().push(l);
            }
        }
        for (item, leaves) in by_item {
            let Some(at) = scan.uses.iter().find(|u| facts.uses[item].range.contains(&u.use_token.start)) else { continue };
            let one = Use::Leaves(item, leaves, at.clone());
            if at.public {
                public.push(one);
            } else if !shim.re_exports_only {
                private.push(one);
            }
        }
        if !shim.re_exports_only {
            for p in &scan.paths {
                let segments: Vec<String> = p.segments.iter().map(|s| s.0.clone()).collect();
                let Some(resolved) = facts.resolve(&segments, p.leading_colon.is_some()) else { continue };
                let Some(item) = replaced(&resolved.full) else { continue };
                // A name brought in by a leaf of the item itself follows that leaf.
                if let Via::Import(l) = resolved.via {
                    if facts.leaves[l].target.as_ref() == Some(&item) {
                        continue;
                    }
                }
                let Some(written) = segments.len().checked_sub(resolved.full.len() - item.len()).filter(|n| *n > 0) else { continue };
                let start = p.leading_colon.unwrap_or(p.segments[0].1.start);
                private.push(Use::Path(start..p.segments[written - 1].1.end, CompiledShim::name_of(&item).to_string(), p.clone()));
            }
        }
        if private.is_empty() && public.is_empty() {
            continue;
        }
        let at = |u: &Use| match u {
            Use::Leaves(item, _, _) => facts.uses[*item].range.start,
            Use::Path(r, _, _) => r.start,
        };
        if facts.all_idents.contains(&shim.module) {
            let first = private.iter().chain(&public).map(at).min().unwrap_or(0);
            out.notes.push((
                index,
                first,
                format!("{}: the name `{}` is taken in this file, so the pack's shim was not added: add it by hand", shim.message, shim.module),
            ));
            continue;
        }
        // The innermost module holding every use, and the `cfg`s every use shares below it.
        let all: Vec<&Use> = private.iter().chain(&public).collect();
        let mut target: Vec<usize> = all[0].stack().to_vec();
        for u in &all {
            let common = target.iter().zip(u.stack()).take_while(|(a, b)| a == b).count();
            target.truncate(common);
        }
        let depth = target.len();
        let below = |u: &Use| -> BTreeSet<String> { u.cfgs().iter().filter(|(d, _)| *d >= depth).map(|(_, c)| c.clone()).collect() };
        let mut cfgs = below(all[0]);
        for u in &all {
            let mine = below(u);
            cfgs.retain(|c| mine.contains(c));
        }
        // Those the module it goes into is already under are not repeated.
        for (d, c) in all[0].cfgs() {
            if *d < depth {
                cfgs.remove(c);
            }
        }
        let cfgs: Vec<String> = cfgs.into_iter().collect();
        let newline = line_ending(text);
        let Some(insert) = insertion(shim, &scan.modules, target.last().copied(), &cfgs, text, &lines, newline) else {
            let first = all.iter().map(|u| at(u)).min().unwrap_or(0);
            out.notes.push((index, first, format!("{}: the pack's shim could not be laid out here: add it by hand", shim.message)));
            continue;
        };
        let place = match target.last() {
            None => "at the end of this file".to_string(),
            Some(m) => format!("at the end of `mod {}`", scan.modules[*m].name),
        };
        let relative = |stack: &[usize], in_use: bool| -> String {
            match stack.len() - depth {
                0 if in_use => format!("self::{}", shim.module),
                0 => shim.module.clone(),
                n => format!("{}{}", "super::".repeat(n), shim.module),
            }
        };
        let leaf_edits = |item: usize, leaves: &[usize], u: &UseAt| -> Vec<Edit> {
            let use_item = &facts.uses[item];
            let mut names: Vec<String> = leaves
                .iter()
                .map(|l| {
                    let leaf = &facts.leaves[*l];
                    let name = leaf.target.as_ref().map(|t| CompiledShim::name_of(t).to_string()).unwrap_or_default();
                    match &leaf.alias {
                        Some((alias, _)) => format!("{name} as {alias}"),
                        None => name,
                    }
                })
                .collect();
            names.dedup();
            let tree = match names.as_slice() {
                [one] => format!("{}::{one}", relative(&u.stack, true)),
                _ => format!("{}::{{{}}}", relative(&u.stack, true), names.join(", ")),
            };
            // Attributes, visibility and `use`, as written.
            let head = format!("{} ", &text[use_item.range.start..u.use_token.end]);
            let new_item = format!("{head}{tree};");
            let gone: BTreeSet<usize> = leaves.iter().copied().collect();
            match removal(&use_item.tree, &gone) {
                Removal::All => vec![Edit::replace(use_item.range.clone(), new_item)],
                Removal::Some(mut edits) => {
                    let indent = indentation_at(text, &lines, use_item.range.start);
                    edits.push(Edit::insert(use_item.range.end, format!("{newline}{indent}{new_item}")));
                    edits
                }
                Removal::None => Vec::new(),
            }
        };
        let mut module_written = false;
        if !private.is_empty() {
            let mut edits = vec![insert.clone()];
            module_written = true;
            let mut count = 0;
            for u in &private {
                match u {
                    Use::Leaves(item, leaves, at) => {
                        edits.extend(leaf_edits(*item, leaves, at));
                        count += leaves.len();
                    }
                    Use::Path(r, name, p) => {
                        edits.push(Edit::replace(r.clone(), format!("{}::{name}", relative(&p.stack, false))));
                        count += 1;
                    }
                }
            }
            edits.sort();
            let under = if cfgs.is_empty() { String::new() } else { format!(", under `{}`", cfgs.join(" ")) };
            let reason = format!(
                "{} — adds the pack's shim `{}` as `mod {}` {place}{under} and points {count} use{} at it: review its code",
                shim.message,
                shim.id,
                shim.module,
                if count == 1 { "" } else { "s" }
            );
            out.changes.push((index, reason, edits));
        }
        if !public.is_empty() {
            let mut keep = if module_written { Vec::new() } else { vec![insert.clone()] };
            let mut drop = Vec::new();
            let mut items = Vec::new();
            let mut code = Vec::new();
            for u in &public {
                let Use::Leaves(item, leaves, at) = u else { continue };
                keep.extend(leaf_edits(*item, leaves, at));
                let use_item = &facts.uses[*item];
                match removal(&use_item.tree, &leaves.iter().copied().collect()) {
                    Removal::All => drop.push(remove_item(text, &lines, use_item.range.clone())),
                    Removal::Some(edits) => drop.extend(edits),
                    Removal::None => {}
                }
                items.extend(leaves.iter().filter_map(|l| facts.leaves[*l].local.clone()));
                code.push(text[use_item.range.clone()].to_string());
            }
            keep.sort();
            drop.sort();
            let first = public.iter().map(at).min().unwrap_or(0);
            out.re_exports.push(ReExport { shim: index, range: first..first, items, code: code.join("\n"), place, keep, drop });
        }
    }
    out
}

/// The edit inserting the shim's module at the end of the module `target` (`None`: the
/// file), with `cfgs`; `None` if it cannot be laid out.
fn insertion(shim: &CompiledShim, modules: &[Module], target: Option<usize>, cfgs: &[String], text: &str, lines: &LineIndex, newline: &str) -> Option<Edit> {
    match target {
        None => {
            let rendered = shim.render("", cfgs, newline)?;
            let lead = if text.is_empty() || text.ends_with('\n') { newline.to_string() } else { format!("{newline}{newline}") };
            Some(Edit::insert(text.len(), format!("{lead}{rendered}{newline}")))
        }
        Some(m) => {
            let module = &modules[m];
            let indent = indentation_at(text, lines, module.start);
            let rendered = shim.render(&format!("{indent}    "), cfgs, newline)?;
            let line_start = lines.line_start(module.close);
            if text[line_start..module.close].trim().is_empty() {
                Some(Edit::insert(line_start, format!("{newline}{rendered}{newline}")))
            } else {
                Some(Edit::insert(module.close, format!("{newline}{newline}{rendered}{newline}{indent}")))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shim(code: &str) -> Result<CompiledShim, String> {
        let def = ShimDef {
            id: "step-rng".into(),
            message: "m".into(),
            replaces: vec!["rand::rngs::mock::StepRng".into()],
            code: code.into(),
            re_exports_only: false,
            examples: None,
        };
        compile(&def, "rand", "rand/step-rng")
    }

    const OK: &str = "/// A step.\n#[derive(Debug, Clone)]\npub struct StepRng { v: u64 }\nimpl ::rand::RngCore for StepRng {\n    fn next_u32(&mut self) -> u32 { self.next_u64() as u32 }\n    fn next_u64(&mut self) -> u64 { let v = self.v; self.v = v.wrapping_add(1); v }\n    fn fill_bytes(&mut self, d: &mut [u8]) { ::rand::rand_core::impls::fill_bytes_via_next(self, d) }\n}\n";

    #[test]
    fn a_shim_of_plain_items_compiles() {
        let s = shim(OK).unwrap();
        assert_eq!(s.module, "step_rng");
        let text = s.render("    ", &["#[cfg(test)]".into()], "\n").unwrap();
        assert!(text.starts_with("    #[cfg(test)]\n    #[allow(dead_code)]\n    mod step_rng {\n        /// A step.\n"), "{text}");
        assert!(text.ends_with("\n    }"), "{text}");
    }

    #[test]
    fn what_could_run_or_escape_is_refused_naming_it() {
        let err = |code: &str| shim(code).unwrap_err();
        assert!(err("pub struct StepRng;\ninclude!(\"/etc/passwd\");\n").contains("the macro invocation `include!`"));
        assert!(err("pub struct StepRng;\nfn f() { println!(\"x\") }\n").contains("the macro invocation `println!`"));
        assert!(err("pub struct StepRng;\nfn f() { unsafe { } }\n").contains("`unsafe` block"));
        assert!(err("pub struct StepRng;\nunsafe impl Send for StepRng {}\n").contains("`unsafe impl`"));
        assert!(err("pub struct StepRng;\nextern \"C\" { fn f(); }\n").contains("`extern`"));
        assert!(err("pub struct StepRng;\npub extern \"C\" fn f() {}\n").contains("`extern` function"));
        assert!(err("pub struct StepRng;\nextern crate libc;\n").contains("`extern`"));
        assert!(err("#[path = \"/x\"]\nmod m;\npub struct StepRng;\n").contains("a `mod`"));
        assert!(err("#[export_name = \"main\"]\npub fn f() {}\npub struct StepRng;\n").contains("the attribute `#[export_name]`"));
        assert!(err("pub struct StepRng;\nmod m {}\n").contains("a `mod`"));
        assert!(err("#[serde::Serialize]\npub struct StepRng;\n").contains("the attribute `#[serde::Serialize]`"));
        assert!(err("#[derive(serde::Serialize)]\npub struct StepRng;\n").contains("a shim derives only"));
        assert!(err("#[no_mangle]\npub fn f() {}\npub struct StepRng;\n").contains("`#[no_mangle]`"));
        assert!(err("#[doc = include_str!(\"x\")]\npub struct StepRng;\n").contains("the attribute `#[doc]`"));
        assert!(err("pub struct StepRng;\nfn f() { crate::x() }\n").contains("`crate::`"));
        assert!(err("pub struct StepRng;\nfn f() { super::x() }\n").contains("`super::`"));
        assert!(err("pub struct StepRng;\nfn f() { libc::exit(1) }\n").contains("the path `libc::exit`"));
        assert!(err("pub struct StepRng;\nuse libc::exit;\n").contains("`use` of `libc::exit`"));
        assert!(err("pub struct StepRng;\nuse rand::RngCore;\n").contains("write `use ::rand::RngCore`"));
        assert!(err("pub struct StepRng;\nfn f() -> u64 { std::u64::MAX }\n").contains("write `::std::u64::MAX`"));
        assert!(err("pub struct StepRng;\nstatic mut X: u8 = 0;\n").contains("a `static`"));
        assert!(err("#![allow(x)]\npub struct StepRng;\n").contains("no inner attribute"));
        assert!(err("struct StepRng;\n").contains("no `pub` item `StepRng`"));
        assert!(err("pub struct StepRng {\n").contains("not Rust items"));
        // Paths of the pack's crate, std and primitives are fine.
        assert!(shim("use ::std::fmt;\npub struct StepRng;\nfn f() -> u64 { u64::MAX.min(::core::u64::MAX) }\n").is_ok());
    }

    #[test]
    fn a_laid_out_module_that_differs_from_the_checked_items_is_not_written() {
        // A multi-line string literal: indenting its lines would change it.
        let s = shim("pub struct StepRng;\npub const S: &str = \"a\nb\";\n").unwrap();
        let text = s.render("    ", &[], "\n").unwrap();
        assert!(text.contains("\npub const S: &str = \"a\nb\";\n"), "written unindented: {text}");
        assert!(s.holds_exactly(&text, 0));
        assert!(!s.holds_exactly(&text.replace("pub const S", "pub const T"), 0));
    }
}
