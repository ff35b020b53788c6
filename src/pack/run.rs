//! Running a compiled pack on one parsed file: matches, rendered templates, moved paths
//! and `use` items, turned into changes, notes and the judge's choices.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

use super::compile::{split_path, Action, ChoiceOption, CompiledPack, CompiledRule};
use super::format::Kind;
use super::imports::{self, ImportAdd, LeafPlan, LocalPlan};
use super::matcher::{CfgDep, Hit, PathSite};
use super::pattern::{self, Template};
use super::resolve::{Env, Facts, Via};
use super::{attribute, derive, matcher, template};
use crate::core::model::{Edit, Safety};

/// A place where the compiler resolved a call to an item of the pack's crate (the
/// compiler phase of `cargo migrate upgrade`, after the bump): the byte range of the
/// compiler's primary span (a method's name), and the item's path as the compiler named
/// it (`rand::Rng::gen_range`, `indexmap::IndexMap::remove`; empty when it named none).
///
/// At such a site a method rule needs neither its trait in scope nor evidence of the
/// receiver's type: the compiler has resolved the call, which is the type information
/// the syntactic pass lacks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompilerSite {
    /// The primary span, as a byte range of the file.
    pub range: Range<usize>,
    /// The item's path, generic arguments removed; empty if unknown.
    pub item: Vec<String>,
    /// The error's code (`E0615`), for rules that apply at an error.
    pub code: Option<String>,
    /// The rule (its full id) whose match holds this error, for an error that does not
    /// name the crate but lies at a call the rule flagged ([`PackRun::flagged`]): with a
    /// range that is the whole match, the call counts as resolved to the rule's item.
    pub rule: Option<&'static str>,
}

/// What running a pack on one file gives: changes (rule, safety, reason, edits) and
/// notes (rule, offset, message).
#[derive(Debug, Default)]
pub struct PackRun {
    /// The changes.
    pub changes: Vec<(usize, Safety, String, Vec<Edit>)>,
    /// Sites left alone.
    pub notes: Vec<(Option<usize>, usize, String)>,
    /// The alternatives of choice rules, for the sites where every option replaces the
    /// matched code and needs the same imports: the judge decides those.
    pub choices: Vec<PackChoice>,
    /// Every match of an expression, type or attribute rule (rule, byte range), whether
    /// it is rewritten or left to the compiler phase: the sites the pack flags. An error
    /// the compiler reports inside one is the upgrade's to answer.
    pub flagged: Vec<(usize, Range<usize>)>,
    /// What the pack's shims make of the file: changes (indexes in `pack.shims`), the
    /// judge's sites for `pub use`s of replaced items, notes.
    pub shims: super::shim::ShimRun,
}

/// A site of a choice rule with the edits of each option.
#[derive(Debug, Clone)]
pub struct PackChoice {
    /// The rule.
    pub rule: usize,
    /// The matched code's byte range.
    pub range: Range<usize>,
    /// The edits of the conservative option (what `changes` holds for this site).
    pub conservative_edits: Vec<Edit>,
    /// Each option: id, when to pick it, edits.
    pub options: Vec<(String, String, Vec<Edit>)>,
    /// Index of the conservative option.
    pub conservative: usize,
    /// Set when the options split the code by the cfg that decides the receiver's type.
    pub cfg: Option<CfgSplit>,
}

/// Why a choice's options are split by a cfg.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CfgSplit {
    /// The predicate under which the receiver has the rule's type.
    pub predicate: String,
    /// Which name decides the type, and where it is defined ([`CfgDep::explain`]).
    pub why: String,
}

/// Where a matched expression stands, for the shape of a cfg split.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum StmtPlace {
    /// The whole expression of a statement ending with `;` at this offset.
    Semi(usize),
    /// The tail expression of a block.
    Tail,
    /// Anywhere else: a value inside a larger expression.
    Inner,
}

impl StmtPlace {
    fn of(cx: &RunCx<'_>, range: &Range<usize>) -> StmtPlace {
        struct Find<'a> {
            range: &'a dyn Fn(proc_macro2::Span) -> Range<usize>,
            target: Range<usize>,
            found: StmtPlace,
        }
        impl<'ast> syn::visit::Visit<'ast> for Find<'_> {
            fn visit_block(&mut self, b: &'ast syn::Block) {
                let last = b.stmts.len().saturating_sub(1);
                for (i, stmt) in b.stmts.iter().enumerate() {
                    if let syn::Stmt::Expr(e, semi) = stmt {
                        if (self.range)(syn::spanned::Spanned::span(e)) == self.target {
                            self.found = match semi {
                                Some(s) => StmtPlace::Semi((self.range)(s.span).end),
                                None if i == last => StmtPlace::Tail,
                                None => StmtPlace::Inner,
                            };
                        }
                    }
                }
                syn::visit::visit_block(self, b);
            }
        }
        let mut find = Find { range: cx.range, target: range.clone(), found: StmtPlace::Inner };
        syn::visit::Visit::visit_file(&mut find, cx.file);
        find.found
    }
}

/// The edit that writes `new` under `#[cfg(predicate)]` and keeps the code at `range` as
/// written under its negation, laid out as rustfmt lays out such code: two statements for
/// a statement, two blocks for a block's tail, a block of two blocks for a value.
fn split_edits(text: &str, range: &Range<usize>, place: StmtPlace, predicate: &str, new: &str) -> Vec<Edit> {
    let old = &text[range.clone()];
    let nl = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let line_start = text[..range.start].rfind('\n').map_or(0, |i| i + 1);
    let ind: String = text[line_start..].chars().take_while(|c| *c == ' ' || *c == '\t').collect();
    // Continuation lines of the code moved `extra` deeper.
    let deeper = |code: &str, extra: &str| code.replace(nl, &format!("{nl}{extra}"));
    let not = crate::syntax::cfg::negation(predicate);
    let (range, replacement) = match place {
        StmtPlace::Semi(end) => (range.start..end, format!("#[cfg({predicate})]{nl}{ind}{new};{nl}{ind}#[cfg({not})]{nl}{ind}{old};")),
        StmtPlace::Tail => (
            range.clone(),
            format!(
                "#[cfg({predicate})]{nl}{ind}{{{nl}{ind}    {}{nl}{ind}}}{nl}{ind}#[cfg({not})]{nl}{ind}{{{nl}{ind}    {}{nl}{ind}}}",
                deeper(new, "    "),
                deeper(old, "    ")
            ),
        ),
        StmtPlace::Inner => {
            // A method or field after the block goes on the next line, as rustfmt puts it.
            let chained = if text[range.end..].starts_with('.') { format!("{nl}{ind}") } else { String::new() };
            (
                range.clone(),
                format!(
                    "{{{nl}{ind}    #[cfg({predicate})]{nl}{ind}    {{{nl}{ind}        {}{nl}{ind}    }}{nl}{ind}    #[cfg({not})]{nl}{ind}    {{{nl}{ind}        {}{nl}{ind}    }}{nl}{ind}}}{chained}",
                    deeper(new, "        "),
                    deeper(old, "        ")
                ),
            )
        }
    };
    vec![Edit { range, replacement }]
}

/// One run of a pack on one parsed file: what [`run_pack`] reads.
pub struct RunCx<'a> {
    /// The pack.
    pub pack: &'a CompiledPack,
    /// Restricts the run to one rule of the pack, by its index in `pack.rules`; `None`:
    /// every rule. The convergence check of a compiled pack runs one rule at a time;
    /// every other run takes the whole pack.
    pub single_rule: Option<usize>,
    /// How the file's package names the crate, and the methods it defines itself.
    pub env: &'a Env,
    /// The compiler's sites in this file (see [`CompilerSite`]); empty for a syntactic
    /// pass.
    pub sites: &'a [CompilerSite],
    /// Whether rules that apply at a compiler error apply wherever they match (a pack's
    /// own examples, which no compiler checks).
    pub assume_errors: bool,
    /// The file's syntax tree.
    pub file: &'a syn::File,
    /// The file's tokens.
    pub tokens: &'a proc_macro2::TokenStream,
    /// The file's text.
    pub text: &'a str,
    /// The byte range of a span in `text`.
    pub range: &'a dyn Fn(proc_macro2::Span) -> Range<usize>,
}

impl<'a> RunCx<'a> {
    /// A syntactic run of every rule of `pack` on `parsed`, whose text is `text`: no
    /// compiler sites, no error assumed. The other fields are set where they differ.
    pub fn new(
        pack: &'a CompiledPack,
        env: &'a Env,
        parsed: &'a crate::syntax::parsed::Parsed,
        text: &'a str,
        range: &'a dyn Fn(proc_macro2::Span) -> Range<usize>,
    ) -> RunCx<'a> {
        RunCx { pack, single_rule: None, env, sites: &[], assume_errors: false, file: &parsed.syntax, tokens: &parsed.tokens, text, range }
    }
}

impl RunCx<'_> {
    /// Whether this run applies the pack's rule `rule`.
    fn wanted(&self, rule: usize) -> bool {
        self.single_rule.is_none_or(|o| o == rule)
    }
}

/// Runs a pack (or only one of its rules) on one parsed file, as `cx` says: expression,
/// type and attribute rules render their templates, path rules move the code's paths and
/// the `use` items, macro rules add derives.
pub fn run_pack(cx: &RunCx<'_>) -> PackRun {
    let facts = Facts::of(cx.file, cx.tokens, cx.env, &cx.pack.prelude, cx.range);
    // A file that never names the crate has nothing to migrate (unless the compiler says
    // a call in it resolves to the crate).
    // Calls through the crate's own functions a signature rule changes count too.
    if cx.sites.is_empty() && !names_the_crate(&facts) && cx.env.signature_fns.is_empty() {
        return PackRun::default();
    }
    let mut found = matcher::find(cx.file, cx.text, &facts, &cx.pack.rules, &cx.env.own_methods, &cx.env.cfg_defs, cx.sites, cx.assume_errors, cx.range);
    let mut changed = cx.env.signature_fns.clone();
    changed.extend(found.changed_fns.iter().map(|(n, r)| (n.clone(), *r)));
    changed.retain(|name, _| !found.unchanged_fns.contains(name));
    let applied = matcher::applied_calls(cx.file, &facts, &cx.pack.rules, &changed, cx.range);
    found.applies.extend(applied);
    let (attributes, attribute_paths) = attribute::find(cx.file, &facts, &cx.pack.rules, cx.range);
    found.hits.extend(attributes);
    found.paths.extend(attribute_paths);
    // A path of a `macro_rules!` body is seen by the matcher (through the transcriber's
    // metavariables) and by the attribute scan of its impls: one site, once.
    let mut seen = BTreeSet::new();
    found.paths.retain(|p| seen.insert(p.written.iter().map(|w| (w.1.start, w.1.end)).collect::<Vec<_>>()));
    let mut run = Runner::new(cx, &facts);
    run.out.flagged = found.hits.iter().map(|h| (h.rule, h.range.clone())).chain(found.notes.iter().map(|n| (n.rule, n.range.clone()))).collect();
    run.out.flagged.retain(|(rule, _)| cx.wanted(*rule));
    // Expression and type rules: rendered templates, minimal edits.
    for hit in found.hits.iter().filter(|hit| cx.wanted(hit.rule)) {
        run.rewrite(hit);
    }
    for apply in found.applies.iter().filter(|a| cx.wanted(a.rule)) {
        run.apply(apply);
    }
    // Path rules: the code's paths, then the `use` items.
    let plans = imports::plan_leaves(&facts, &found.paths, &run.adds, &run.consumed, cx.pack);
    for site in &found.paths {
        run.move_path(site, &plans);
    }
    run.use_items(&plans);
    run.group_changes();
    run.add_derives();
    if cx.single_rule.is_none() {
        run.out.shims = super::shim::run(&cx.pack.shims, cx.file, &facts, cx.text, cx.range);
    }
    for note in found.notes {
        if cx.wanted(note.rule) {
            run.out.notes.push((Some(note.rule), note.range.start, note.message));
        }
    }
    run.out
}

/// The functions of one file of a package whose return type a signature rule of `pack`
/// rewrites (name → rule), and the names of its other functions: what a package's index
/// gathers over its files for [`Env::signature_fns`]. Empty for a pack without signature
/// rules or a file that does not parse.
pub fn signature_functions(pack: &CompiledPack, env: &Env, text: &str) -> (BTreeMap<String, usize>, BTreeSet<String>) {
    if !pack.rules.iter().any(|r| r.kind == Kind::Signature) {
        return Default::default();
    }
    let Ok(parsed) = crate::syntax::parsed::Parsed::parse(text) else { return Default::default() };
    let range = |s: proc_macro2::Span| parsed.range(s);
    let facts = Facts::of(&parsed.syntax, &parsed.tokens, env, &pack.prelude, &range);
    let found = matcher::find(&parsed.syntax, text, &facts, &pack.rules, &env.own_methods, &env.cfg_defs, &[], false, &range);
    (found.changed_fns, found.unchanged_fns)
}

/// Whether the file names the pack's crate at all: an import of it, or its name.
fn names_the_crate(facts: &Facts) -> bool {
    facts.leaves.iter().any(|l| l.target.is_some()) || facts.crate_names.iter().any(|n| facts.ident_count.contains_key(n))
}

/// The template a rule applies at its matches, the imports it needs and the reason its
/// changes carry (a choice applies its conservative option and names the others); `None`
/// for rules without a template (path and macro rules).
fn applied_template(rule: &CompiledRule) -> Option<(&Template, &[Vec<String>], String)> {
    match &rule.action {
        Action::Replace { template: Some(t), imports } => Some((t, imports, rule.message.clone())),
        Action::Replace { template: None, .. } | Action::Derive { .. } | Action::Literal(_) | Action::Note(_) => None,
        Action::Choice { question, options, conservative } => {
            let chosen = &options[*conservative];
            let others: Vec<String> = options.iter().enumerate().filter(|(i, _)| i != conservative).map(|(_, o)| format!("`{}` ({})", o.id, o.when)).collect();
            let reason = format!(
                "{} — {} Applied the conservative option `{}` ({}); other options: {}",
                rule.message,
                question,
                chosen.id,
                chosen.when,
                others.join("; ")
            );
            Some((&chosen.template, &chosen.imports, reason))
        }
    }
}

/// What a run on one file gathers before it becomes a [`PackRun`].
struct Runner<'r> {
    cx: &'r RunCx<'r>,
    facts: &'r Facts,
    /// The crate's local name in this file.
    krate: String,
    /// Per rule: the edits of each of its template sites.
    site_edits: BTreeMap<usize, Vec<Vec<Edit>>>,
    /// Per rule: the reason its changes carry.
    reasons: BTreeMap<usize, String>,
    /// The imports the rewritten code needs.
    adds: Vec<ImportAdd>,
    /// Paths of matched code that rewrites remove (their imports may go), and the rule.
    consumed: Vec<(Range<usize>, usize)>,
    /// Per rule: path and `use` edits, made together.
    grouped: BTreeMap<usize, Vec<Edit>>,
    /// What the run gives.
    out: PackRun,
}

impl<'r> Runner<'r> {
    fn new(cx: &'r RunCx<'r>, facts: &'r Facts) -> Self {
        Runner {
            cx,
            facts,
            krate: facts.crate_local_name().to_string(),
            site_edits: BTreeMap::new(),
            reasons: BTreeMap::new(),
            adds: Vec::new(),
            consumed: Vec::new(),
            grouped: BTreeMap::new(),
            out: PackRun::default(),
        }
    }

    /// A match of an expression, type or attribute rule: its template rendered as minimal
    /// edits, the paths it removes, the imports it needs, and for a choice the judge's
    /// options.
    fn rewrite(&mut self, hit: &Hit) {
        let cx = self.cx;
        let rule = &cx.pack.rules[hit.rule];
        match &rule.action {
            Action::Note(note) => {
                self.out.notes.push((Some(hit.rule), hit.range.start, format!("{}: {note}", rule.message)));
                return;
            }
            Action::Literal(action) => {
                let Some(binding) = hit.bindings.get(&action.var) else { return };
                let (edits, notes) = super::literal::rewrite(action, cx.text, binding.range.clone());
                for (offset, why) in notes {
                    self.out.notes.push((Some(hit.rule), offset, format!("{}: {why}", rule.message)));
                }
                if !edits.is_empty() {
                    self.site_edits.entry(hit.rule).or_default().push(edits);
                    self.reasons.insert(hit.rule, rule.message.clone());
                }
                return;
            }
            _ => {}
        }
        let Some((template, imports, reason)) = applied_template(rule) else { return };
        if let Some(offset) = macro_syntax_outside_bindings(cx.text, hit) {
            // A `macro_rules!` transcriber read through its metavariables: the match spans
            // the macro's own syntax (`$(..)*`), which the template would not write again.
            self.out.notes.push((
                Some(hit.rule),
                offset,
                format!("{}: not changed: the match spans a `macro_rules!` repetition or metavariable it does not bind; rewrite it by hand", rule.message),
            ));
            return;
        }
        self.consume_dropped_paths(hit, template);
        self.import_bare_siblings(hit, template);
        let new = self.render(hit, template);
        let edits = if new.trim().is_empty() && rule.kind == Kind::Attribute {
            // An attribute removed: its line too, when it is alone on it.
            vec![Edit { range: line_of_attribute(cx.text, hit.range.clone()), replacement: String::new() }]
        } else if let Some(dep) = &hit.cfg {
            // The receiver has the rule's type under a cfg only: the judge decides.
            self.offer_split(hit, dep, &new)
        } else {
            template::minimal_edits(hit.range.clone(), &cx.text[hit.range.clone()], &new)
        };
        if hit.cfg.is_none() {
            self.offer_choice(hit, &edits);
        }
        // A signature rule's template writes its paths in full; its imports are for the
        // calls it applies (`Runner::apply`).
        let imports = if rule.kind == Kind::Signature { &[][..] } else { imports };
        for path in imports {
            self.adds.push(ImportAdd { path: path.clone(), anchor: hit.trait_leaf, rule: hit.rule });
        }
        if !edits.is_empty() {
            self.site_edits.entry(hit.rule).or_default().push(edits);
        }
        self.reasons.insert(hit.rule, reason);
    }

    /// A call through what a signature rule changed (or its parameter made `mut`): the
    /// insertions, and the imports the rule's `apply` method needs.
    fn apply(&mut self, apply: &matcher::Apply) {
        let rule = &self.cx.pack.rules[apply.rule];
        let edits = apply.edits.iter().map(|(range, text)| Edit { range: range.clone(), replacement: text.clone() }).collect();
        self.site_edits.entry(apply.rule).or_default().push(edits);
        self.reasons.entry(apply.rule).or_insert_with(|| rule.message.clone());
        if let (true, Action::Replace { imports, .. }) = (apply.calls, &rule.action) {
            for path in imports {
                self.adds.push(ImportAdd { path: path.clone(), anchor: None, rule: apply.rule });
            }
        }
    }

    /// Paths of the pattern that the template does not name again are gone.
    fn consume_dropped_paths(&mut self, hit: &Hit, template: &Template) {
        for (name, binding) in &hit.bindings {
            if let Some(key) = name.strip_prefix("@path:") {
                // Named again as a whole, or as its head followed by its own last segment
                // (a sibling named through the head does not keep it).
                let last = key.rsplit("::").next().unwrap_or(key);
                let kept = template.pieces.iter().enumerate().any(|(i, p)| match p {
                    pattern::Piece::Var(v) if *v == format!("@path:{key}") => true,
                    pattern::Piece::Var(v) if *v == format!("@pathhead:{key}") => {
                        matches!(template.pieces.get(i + 1), Some(pattern::Piece::Text(t)) if t.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect::<String>() == last)
                    }
                    _ => false,
                });
                if !kept {
                    // A sibling written after the head the code wrote (`NaiveTime::from_hms`
                    // → `NaiveTime::from_hms_opt`) keeps the head: only the last segment goes.
                    let head = format!("@pathhead:{key}");
                    let head_kept = template.pieces.iter().any(|p| matches!(p, pattern::Piece::Var(v) if *v == head));
                    let gone = match hit.bindings.get(&head) {
                        Some(h) if head_kept && !h.range.is_empty() => h.range.end..binding.range.end,
                        _ => binding.range.clone(),
                    };
                    self.consumed.push((gone, hit.rule));
                }
            }
        }
    }

    /// A sibling of the pattern's path (`mylib::split_words` → `mylib::split_words_and_commas`)
    /// is written with the head the code wrote; written as a bare imported name, the
    /// sibling has no head and needs its own import.
    fn import_bare_siblings(&mut self, hit: &Hit, template: &Template) {
        for (i, piece) in template.pieces.iter().enumerate() {
            let pattern::Piece::Var(var) = piece else { continue };
            let Some(key) = var.strip_prefix("@pathhead:") else { continue };
            if !hit.bindings.get(var).is_some_and(|b| b.range.is_empty()) {
                continue;
            }
            if let Some(pattern::Piece::Text(t)) = template.pieces.get(i + 1) {
                let name: String = t.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                let mut path = split_path(key);
                path.pop();
                path.push(name);
                self.adds.push(ImportAdd { path, anchor: None, rule: hit.rule });
            }
        }
    }

    /// `template` rendered at `hit`. Templates write attributes as `#[..]`; an inner
    /// attribute stays inner.
    fn render(&self, hit: &Hit, template: &Template) -> String {
        let out = template::render(template, &hit.bindings, self.cx.text, &self.krate);
        let matched = &self.cx.text[hit.range.clone()];
        if self.cx.pack.rules[hit.rule].kind == Kind::Attribute {
            if matched.starts_with("#!") {
                return out.replacen("#[", "#![", 1);
            }
            return out;
        }
        // An expression's outer attributes (`#[allow(..)] m.remove(k);`) are part of its
        // span but of no pattern: they stay in front of the rewrite.
        format!("{}{out}", attribute_prefix(matched))
    }

    /// For a choice rule, offers every option to the judge when each is a replacement of
    /// the matched code needing the same imports (those are added whichever option is
    /// taken). `edits` are the conservative option's.
    fn offer_choice(&mut self, hit: &Hit, edits: &[Edit]) {
        let Action::Choice { options, conservative, .. } = &self.cx.pack.rules[hit.rule].action else { return };
        let same_imports = |o: &ChoiceOption| o.imports.iter().collect::<BTreeSet<_>>() == options[0].imports.iter().collect::<BTreeSet<_>>();
        let plain = options.iter().all(|o| same_imports(o) && !needs_sibling_import(&o.template, &hit.bindings));
        if !plain {
            return;
        }
        let old = &self.cx.text[hit.range.clone()];
        let options = options
            .iter()
            .map(|o| {
                let rendered = self.render(hit, &o.template);
                (o.id.clone(), o.when.clone(), template::minimal_edits(hit.range.clone(), old, &rendered))
            })
            .collect();
        self.out.choices.push(PackChoice {
            rule: hit.rule,
            range: hit.range.clone(),
            conservative_edits: edits.to_vec(),
            options,
            conservative: *conservative,
            cfg: None,
        });
    }

    /// For a match whose receiver has the rule's type only under a cfg ([`CfgDep`]): every
    /// rewrite the rule offers, split by that cfg (the code as written under its negation),
    /// and leaving the call, as a judge site. `new` is the conservative rewrite; its split
    /// edits are returned.
    fn offer_split(&mut self, hit: &Hit, dep: &CfgDep, new: &str) -> Vec<Edit> {
        let rule = &self.cx.pack.rules[hit.rule];
        let predicate = dep.predicate();
        let place = StmtPlace::of(self.cx, &hit.range);
        let mut options: Vec<(String, String, Vec<Edit>)> = Vec::new();
        let conservative = match &rule.action {
            Action::Choice { options: choices, conservative, .. } => {
                for o in choices {
                    let rendered = self.render(hit, &o.template);
                    let when = format!("{}; written under `#[cfg({predicate})]` only, the other configurations keep the call as written", o.when);
                    options.push((format!("split-{}", o.id), when, split_edits(self.cx.text, &hit.range, place, &predicate, &rendered)));
                }
                *conservative
            }
            _ => {
                let when = format!("the rewrite under `#[cfg({predicate})]` only; the other configurations keep the call as written");
                options.push(("split".to_string(), when, split_edits(self.cx.text, &hit.range, place, &predicate, new)));
                0
            }
        };
        options.push((
            "keep".to_string(),
            format!("leave the call as it is (under `#[cfg({predicate})]` it keeps what the pack rewrites: a deprecation or an error of the new release)"),
            Vec::new(),
        ));
        let edits = options[conservative].2.clone();
        self.out.choices.push(PackChoice {
            rule: hit.rule,
            range: hit.range.clone(),
            conservative_edits: edits.clone(),
            options,
            conservative,
            cfg: Some(CfgSplit { predicate, why: dep.explain(&rule.receiver_type.as_ref().map(|t| t.join("::")).unwrap_or_default()) }),
        });
        edits
    }

    /// A path the code writes, moved by a path rule (or following its import's move):
    /// the segment edits, grouped with the rule's other path and `use` edits.
    fn move_path(&mut self, site: &PathSite, plans: &[LeafPlan]) {
        let Some((new_written, rule)) = self.moved_path(site, plans) else { return };
        if rule == usize::MAX || !self.cx.wanted(rule) {
            return;
        }
        match template::segment_edits(&site.written, &new_written) {
            Ok(edits) => {
                if !edits.is_empty() {
                    self.grouped.entry(rule).or_default().extend(edits);
                    self.reasons.entry(rule).or_insert_with(|| self.cx.pack.rules[rule].message.clone());
                }
            }
            Err(e) => self.out.notes.push((Some(rule), site.written[0].1.start, format!("not changed: {e}"))),
        }
    }

    /// How `site` is written after the move, and the rule that moves it (`usize::MAX`:
    /// none known); `None` if it stays.
    fn moved_path(&self, site: &PathSite, plans: &[LeafPlan]) -> Option<(Vec<String>, usize)> {
        let pack = self.cx.pack;
        let written: Vec<String> = site.written.iter().map(|s| s.0.clone()).collect();
        let moved = pack.moved_by(&site.resolved.full, false);
        match &site.resolved.via {
            Via::Crate => {
                let (new, rule) = moved?;
                let mut w = vec![if new[0] == pack.krate { written[0].clone() } else { new[0].clone() }];
                w.extend(new[1..].iter().cloned());
                Some((w, rule))
            }
            Via::Import(leaf) => self.moved_through_import(*leaf, &plans[*leaf], &written, &site.resolved.full, moved),
            Via::Glob(leaf) => {
                let (new, rule) = moved?;
                let glob = self.facts.leaves[*leaf].target.clone().unwrap_or_default();
                let new_glob = pack.moved_by(&glob, true).map_or(glob, |(g, _)| g);
                if new.starts_with(&new_glob) && new.len() > new_glob.len() {
                    Some((new[new_glob.len()..].to_vec(), rule))
                } else {
                    Some((self.qualify(&new), rule))
                }
            }
            Via::Prelude(_) => {
                let (new, rule) = moved?;
                let item = &pack.prelude.from[&written[0]];
                let new_item = pack.moved_by(item, false).map_or_else(|| item.clone(), |(n, _)| n);
                if pack.prelude.to.contains(&new_item) && new.starts_with(&new_item) {
                    let mut w = vec![new_item.last().expect("a path").clone()];
                    w.extend(new[new_item.len()..].iter().cloned());
                    Some((w, rule))
                } else {
                    Some((self.qualify(&new), rule))
                }
            }
        }
    }

    /// [`Self::moved_path`] for a path written through the `use` leaf `leaf`, whose plan
    /// is `plan`: `moved` is where a path rule moves the path itself.
    fn moved_through_import(
        &self,
        leaf: usize,
        plan: &LeafPlan,
        written: &[String],
        full: &[String],
        moved: Option<(Vec<String>, usize)>,
    ) -> Option<(Vec<String>, usize)> {
        let base = self.facts.leaves[leaf].target.clone().unwrap_or_default();
        let (new_base, leaf_rule) = plan.moved.clone().unwrap_or((base.clone(), usize::MAX));
        let (new_full, rule) = match moved {
            Some((n, r)) => (n, r),
            None if plan.local != LocalPlan::Same && plan.local != LocalPlan::Aliased => (new_base.clone(), leaf_rule),
            None if new_base != base => {
                // The import moves; what is written after it stays.
                let mut n = new_base.clone();
                n.extend(full[base.len()..].iter().cloned());
                (n, leaf_rule)
            }
            None => return None,
        };
        if plan.local == LocalPlan::Remove {
            return None;
        }
        let first = match &plan.local {
            LocalPlan::Renamed(n) | LocalPlan::Merge(n) => Some(n.clone()),
            LocalPlan::Same | LocalPlan::Aliased => Some(written[0].clone()),
            LocalPlan::Qualify | LocalPlan::Remove => None,
        };
        match first {
            Some(first) if new_full.starts_with(&new_base) => {
                let mut w = vec![first];
                w.extend(new_full[new_base.len()..].iter().cloned());
                Some((w, rule))
            }
            _ => Some((self.qualify(&new_full), rule)),
        }
    }

    /// A moved path in full: the pack's crate by its local name, a crate the item moved
    /// to by its own.
    fn qualify(&self, new: &[String]) -> Vec<String> {
        let mut q = vec![if new[0] == self.cx.pack.krate { self.krate.clone() } else { new[0].clone() }];
        q.extend(new[1..].iter().cloned());
        q
    }

    /// The `use` items: renamed, aliased, moved, removed or added, grouped per rule.
    fn use_items(&mut self, plans: &[LeafPlan]) {
        let cx = self.cx;
        let uses = imports::use_edits(self.facts, plans, &self.adds, cx.pack, cx.text);
        for (rule, edit) in uses.edits {
            if rule == usize::MAX || !cx.wanted(rule) {
                continue;
            }
            self.grouped.entry(rule).or_default().push(edit);
            self.reasons.entry(rule).or_insert_with(|| cx.pack.rules[rule].message.clone());
        }
        for (rule, offset, message) in uses.notes {
            self.out.notes.push(((rule != usize::MAX).then_some(rule), offset, message));
        }
    }

    /// Sites of a rule that also edits `use` items go in one change with them: a rename
    /// is all or nothing. Other sites are a change each, and so are the sites of a choice
    /// that goes to the judge (its imports, the same for every option, are a change of
    /// their own).
    fn group_changes(&mut self) {
        let rules = &self.cx.pack.rules;
        let judged: BTreeSet<usize> = self.out.choices.iter().map(|c| c.rule).collect();
        let mut grouped = std::mem::take(&mut self.grouped);
        for (rule, edits) in std::mem::take(&mut self.site_edits) {
            if let Some(group) = grouped.get_mut(&rule).filter(|_| !judged.contains(&rule)) {
                group.extend(edits.into_iter().flatten());
            } else {
                for site in edits {
                    self.out.changes.push((rule, rules[rule].safety, self.reasons[&rule].clone(), site));
                }
            }
        }
        for (rule, mut edits) in grouped {
            edits.sort();
            edits.dedup();
            let reason = if judged.contains(&rule) {
                format!("the import every option of `{}` needs: {}", rules[rule].id, rules[rule].message)
            } else {
                self.reasons[&rule].clone()
            };
            self.out.changes.push((rule, rules[rule].safety, reason, edits));
        }
    }

    /// Macro rules: the derives each type an item macro defines lacks.
    fn add_derives(&mut self) {
        let cx = self.cx;
        for site in derive::find(cx.file, self.facts, &cx.pack.rules, cx.text, cx.range) {
            if cx.wanted(site.rule) {
                let rule = &cx.pack.rules[site.rule];
                let reason = format!("{} (`{}` gets `{}`)", rule.message, site.type_name, site.added.join(", "));
                self.out.changes.push((site.rule, rule.safety, reason, vec![site.edit]));
            }
        }
    }
}

/// The offset of a `$` in `hit`'s text that none of its bindings covers (a `macro_rules!`
/// repetition or metavariable the match spans without binding it), if any.
fn macro_syntax_outside_bindings(text: &str, hit: &Hit) -> Option<usize> {
    let range = hit.range.clone();
    text[range.clone()].match_indices('$').map(|(i, _)| range.start + i).find(|at| !hit.bindings.values().any(|b| b.range.contains(at)))
}

/// Whether rendering `template` names a sibling of the pattern's path through a bare
/// imported name, which needs an import of its own (see `run_pack`).
fn needs_sibling_import(template: &Template, bindings: &BTreeMap<String, matcher::Binding>) -> bool {
    template.pieces.iter().any(|p| matches!(p, pattern::Piece::Var(v) if v.starts_with("@pathhead:") && bindings.get(v).is_some_and(|b| b.range.is_empty())))
}

/// The outer attributes `code` starts with, and the blanks after them (empty if none).
fn attribute_prefix(code: &str) -> &str {
    let mut at = 0;
    while code[at..].starts_with("#[") {
        let mut depth = 0usize;
        let Some(end) = code[at..].char_indices().find_map(|(i, c)| {
            match c {
                '[' => depth += 1,
                ']' => depth -= 1,
                _ => {}
            }
            (c == ']' && depth == 0).then_some(at + i + 1)
        }) else {
            return "";
        };
        at = end + code[end..].len() - code[end..].trim_start().len();
    }
    &code[..at]
}

/// The range to remove for an attribute at `range`: its whole line (line ending included)
/// when nothing else is on it, else the attribute and the blanks after it.
fn line_of_attribute(text: &str, range: Range<usize>) -> Range<usize> {
    let start = text[..range.start].rfind('\n').map_or(0, |i| i + 1);
    let end = text[range.end..].find('\n').map_or(text.len(), |i| range.end + i + 1);
    if text[start..range.start].trim().is_empty() && text[range.end..end].trim().is_empty() {
        start..end
    } else {
        let blanks = text[range.end..].len() - text[range.end..].trim_start_matches([' ', '\t']).len();
        range.start..range.end + blanks
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(range: Range<usize>, bound: &[(&str, Range<usize>)]) -> Hit {
        let bindings = bound.iter().map(|(n, r)| (n.to_string(), matcher::Binding { range: r.clone(), loose: 0 })).collect();
        Hit { rule: 0, range, bindings, trait_leaf: None, cfg: None }
    }

    #[test]
    fn a_match_over_macro_syntax_it_does_not_bind_is_not_rewritten() {
        let text = "x; $rng.gen$(::<$t>)?(); y";
        let start = text.find('$').unwrap();
        let end = text.rfind(')').unwrap() + 1;
        // `$rng` bound, `$t` bound, but the repetition `$( .. )?` is the pattern's text.
        let rng = start..start + 4;
        let t = text.find("$t").unwrap();
        let h = hit(start..end, &[("rng", rng.clone()), ("T", t..t + 2)]);
        assert_eq!(macro_syntax_outside_bindings(text, &h), Some(text.find("$(").unwrap()));
        // Every `$` inside a binding: the template writes it again.
        let text = "f($a, $b)";
        let h = hit(0..text.len(), &[("args", 2..8)]);
        assert_eq!(macro_syntax_outside_bindings(text, &h), None);
    }
}
