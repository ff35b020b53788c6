//! Migration packs: declarative rules that move code across a breaking release of a
//! library (`migrations/<crate>/<from>-<to>.toml`).
//!
//! One stage per module, as in rust-analyzer's structural search and replace:
//!
//! - [`format`]: the TOML file and its JSON Schema (serde types, no logic);
//! - [`pattern`]: `match`/`replace` texts compiled to plain trees and templates;
//! - [`resolve`]: what a file's names stand for (imports, local items, bindings);
//! - [`matcher`]: where patterns match, with metavariables bound to byte ranges;
//! - [`template`] and [`imports`]: the replacement text and the smallest edits, for code
//!   and for `use` items.
//!
//! A compiled pack is plain data (`Send + Sync`). [`PackRule`] runs it as a
//! [`crate::rules::Rule`], so the pipeline runs packs exactly like built-in rules.
//!
//! **Architecture invariant:** a pack is data. Nothing in it is executed: patterns are
//! parsed, never expanded; templates are spliced text.

pub mod attribute;
pub mod derive;
pub mod format;
pub mod imports;
pub mod matcher;
pub mod pattern;
pub mod resolve;
pub mod template;

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use format::{FormatError, Kind, PackFile, RuleSafety};
use imports::{ImportAdd, LocalPlan, Mover};
use pattern::{Body, Template};
use resolve::{Env, Facts, PreludeFacts, Via};

use crate::core::model::{Change, Edit, Safety};
use crate::rules::{Findings, Rule, RuleMeta, SourceCx};

/// The packs built into the binary: (path under `migrations/`, text).
pub fn builtin_sources() -> &'static [(&'static str, &'static str)] {
    &[
        ("rand/0.8-0.9.toml", include_str!("../../migrations/rand/0.8-0.9.toml")),
        ("base64/0.13-0.22.toml", include_str!("../../migrations/base64/0.13-0.22.toml")),
        ("base64/0.21-0.22.toml", include_str!("../../migrations/base64/0.21-0.22.toml")),
        ("indexmap/1-2.toml", include_str!("../../migrations/indexmap/1-2.toml")),
        ("bitflags/1-2.toml", include_str!("../../migrations/bitflags/1-2.toml")),
        ("nom/7-8.toml", include_str!("../../migrations/nom/7-8.toml")),
        ("chrono/0.4-0.4.38.toml", include_str!("../../migrations/chrono/0.4-0.4.38.toml")),
    ]
}

/// The built-in packs, compiled.
pub fn builtin() -> Result<Vec<Arc<CompiledPack>>, FormatError> {
    builtin_sources().iter().map(|(path, text)| CompiledPack::from_text(text, &format!("migrations/{path}")).map(Arc::new)).collect()
}

/// The documentation `cargo migrate explain` prints for a rule of a built-in pack
/// (`bitflags/lost-derives`, as diffs name it) or a whole pack (`bitflags@1-2`).
pub fn explain(id: &str) -> Option<String> {
    let packs = builtin().ok()?;
    if let Some(pack) = packs.iter().find(|p| p.meta.id == id) {
        return Some(pack.meta.doc.to_string());
    }
    let (pack, index) = packs.iter().find_map(|p| p.rules.iter().position(|r| r.full_id == id).map(|i| (p, i)))?;
    let (rule, def, f) = (&pack.rules[index], &pack.file.rules[index], &pack.file);
    let mut doc = format!(
        "# {}

A rule of the {} {} → {} migration pack (`{}`, {}).

{}

",
        rule.full_id, f.krate, f.from, f.to, pack.meta.id, pack.source, def.message
    );
    doc.push_str(&format!(
        "Matches: `{}`
",
        def.pattern
    ));
    match (&def.replace, &def.question) {
        (Some(replace), _) => doc.push_str(&format!(
            "Becomes: `{replace}`
"
        )),
        (None, Some(question)) => {
            doc.push_str(&format!(
                "Asks: {question}
"
            ));
            for o in &def.options {
                let mark = if o.conservative { " (conservative: keeps today's behaviour)" } else { "" };
                doc.push_str(&format!(
                    "- `{}`{mark}: `{}` — {}
",
                    o.id, o.replace, o.when
                ));
            }
        }
        (None, None) if !def.derive.is_empty() => doc.push_str(&format!(
            "Adds inside each invocation: `#[derive({})]`
",
            def.derive.join(", ")
        )),
        (None, None) => {}
    }
    let safety = if rule.safety == Safety::Safe { "safe" } else { "needs review" };
    doc.push_str(&format!(
        "Fix safety: {safety}
"
    ));
    if let Some(example) = def.examples.as_ref().and_then(|e| e.invalid.first()) {
        doc.push_str(&format!(
            "
## Example
```rust
{}```
becomes
```rust
{}```
",
            example.code, example.fixed
        ));
    }
    if let Some(guide) = &f.guide {
        doc.push_str(&format!(
            "
Upstream guide: {guide}
"
        ));
    }
    Some(doc)
}

/// What a rule does with a match.
#[derive(Clone, Debug)]
pub enum Action {
    /// Rewrites with one template.
    Replace {
        /// The template (`None` for path rules, which move paths).
        template: Option<Template>,
        /// Imports the result needs.
        imports: Vec<Vec<String>>,
    },
    /// Offers several templates. Where each replaces the matched code and all need the
    /// same imports, the site goes to the judge (the imports are a change of their own);
    /// otherwise the conservative one is applied and marked needs review.
    Choice {
        /// The question.
        question: String,
        /// The options: id, template, when to pick it, imports.
        options: Vec<ChoiceOption>,
        /// Index of the conservative option.
        conservative: usize,
    },
    /// Adds the derives each type an item macro defines lacks (a macro rule).
    Derive {
        /// The traits, as a `#[derive(..)]` writes them.
        traits: Vec<String>,
    },
}

/// One option of a choice rule, compiled.
#[derive(Clone, Debug)]
pub struct ChoiceOption {
    /// Its id.
    pub id: String,
    /// Its template.
    pub template: Template,
    /// When to pick it.
    pub when: String,
    /// Imports it needs.
    pub imports: Vec<Vec<String>>,
}

/// One rule of a pack, compiled.
#[derive(Clone, Debug)]
pub struct CompiledRule {
    /// `<crate>/<id>`: what changes carry as their rule.
    pub full_id: &'static str,
    /// The id within the pack.
    pub id: String,
    /// Why: shown above the hunk.
    pub message: String,
    /// What it matches.
    pub kind: Kind,
    /// The compiled pattern.
    pub body: Body,
    /// The trait that must be in scope.
    pub trait_path: Option<Vec<String>>,
    /// The receiver type that must be evident.
    pub receiver_type: Option<Vec<String>>,
    /// Constraints on metavariables.
    pub constraints: BTreeMap<String, format::Constraint>,
    /// What it does.
    pub action: Action,
    /// Safety of its changes.
    pub safety: Safety,
    /// Companion crates: their types count as the crate's own for evidence.
    pub companions: Vec<String>,
    /// The compiler error this rule applies at, and only there.
    pub at_error: Option<String>,
}

/// A pack, compiled: plain data, shared by every thread.
#[derive(Debug)]
pub struct CompiledPack {
    /// The file as loaded.
    pub file: PackFile,
    /// Where it came from (for messages).
    pub source: String,
    /// The crate, as paths write it.
    pub krate: String,
    /// The rules, in order.
    pub rules: Vec<CompiledRule>,
    /// The prelude.
    pub prelude: PreludeFacts,
    /// Trait method sets of the new release.
    pub traits: BTreeMap<Vec<String>, Vec<String>>,
    /// What [`PackRule::meta`] returns.
    pub meta: &'static RuleMeta,
}

fn split_path(p: &str) -> Vec<String> {
    p.trim().trim_start_matches("::").split("::").map(|s| s.trim().to_string()).collect()
}

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

fn is_kebab(id: &str) -> bool {
    !id.is_empty() && id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

impl CompiledPack {
    /// Loads and compiles a pack file.
    pub fn load(path: &Path) -> Result<CompiledPack, FormatError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| FormatError { file: shown.clone(), line: None, message: format!("cannot read: {e}") })?;
        CompiledPack::from_text(&text, &shown)
    }

    /// Compiles pack text; `source` names it in errors.
    pub fn from_text(text: &str, source: &str) -> Result<CompiledPack, FormatError> {
        let file = format::parse(text, source)?;
        CompiledPack::compile(file, text, source)
    }

    fn compile(file: PackFile, text: &str, source: &str) -> Result<CompiledPack, FormatError> {
        let lines = crate::core::text::LineIndex::new(text);
        let krate = file.krate.replace('-', "_");
        let companions: Vec<String> = file.companions.iter().map(|c| c.krate.replace('-', "_")).collect();
        let new_crates: Vec<String> = file.new_crates.iter().map(|c| c.krate.replace('-', "_")).collect();
        // Path moves first: templates may name a pattern's path by its new name.
        let moves: Vec<(Vec<String>, Vec<String>)> = file
            .rules
            .iter()
            .filter_map(|d| {
                let (body, _, _) = pattern::parse_pattern(&d.pattern, d.kind).ok()?;
                let Body::Path { from, .. } = body else { return None };
                let to = pattern::plain_path(d.replace.as_deref()?.trim().strip_prefix("use ").unwrap_or(d.replace.as_deref()?).trim_end_matches(';')).ok()?;
                Some((from, to))
            })
            .collect();
        let moved = |p: &[String]| -> Vec<String> {
            let best = moves.iter().filter(|(from, _)| p.starts_with(from)).max_by_key(|(from, _)| from.len());
            best.map_or_else(|| p.to_vec(), |(from, to)| to.iter().chain(&p[from.len()..]).cloned().collect())
        };
        let mut rules = Vec::new();
        let mut ids = BTreeSet::new();
        for def in &file.rules {
            // Point errors at the rule's `id` line.
            let needle = format!("id = \"{}\"", def.id);
            let line = text.find(&needle).map(|at| lines.line(at));
            let err = |message: String| FormatError { file: source.to_string(), line, message: format!("rule `{}`: {message}", def.id) };
            if !is_kebab(&def.id) {
                return Err(err("ids are kebab-case".into()));
            }
            if !ids.insert(def.id.clone()) {
                return Err(err("duplicate id".into()));
            }
            let (mut body, kind, metas) = pattern::parse_pattern(&def.pattern, def.kind).map_err(|e| err(format!("`match`: {e}")))?;
            for name in def.constraints.keys() {
                if metas.get(name) != Some(&pattern::MetaKind::One) {
                    return Err(err(format!("`where` names `{name}`, which the pattern does not bind as `${name}`")));
                }
            }
            let mut named = Vec::new();
            match &body {
                Body::Expr(p) => pattern::pattern_paths(p, &mut named),
                Body::Attribute(a) if a.path.len() > 1 => named.push(a.path.clone()),
                _ => {}
            }
            let paths = |t: &[String]| -> Option<Vec<pattern::Piece>> {
                for p in &named {
                    let m = moved(p);
                    let key = p.join("::");
                    if t == p.as_slice() || t == m.as_slice() {
                        return Some(vec![pattern::Piece::Var(format!("@path:{key}"))]);
                    }
                    let n = t.len();
                    if n == p.len() && n >= 2 && (t[..n - 1] == p[..n - 1] || t[..n - 1] == m[..n - 1]) {
                        return Some(vec![pattern::Piece::Var(format!("@pathhead:{key}")), pattern::Piece::Text(t[n - 1].clone())]);
                    }
                }
                None
            };
            let path_imports = |i: &Option<format::ImportsDef>| i.as_ref().map(|i| i.add.iter().map(|p| split_path(p)).collect()).unwrap_or_default();
            if !def.derive.is_empty() && !matches!(body, Body::Macro(_)) {
                return Err(err("`derive` is for macro rules (`match = \"crate::macro_name!\"`)".into()));
            }
            let action = match (&def.replace, &def.question, def.options.is_empty()) {
                (None, None, true) if matches!(body, Body::Macro(_)) => {
                    if def.derive.is_empty() {
                        return Err(err("a macro rule lists the traits to add in `derive`".into()));
                    }
                    for t in &def.derive {
                        syn::parse_str::<syn::Path>(t).map_err(|e| err(format!("`derive`: `{t}` is not a path: {e}")))?;
                    }
                    Action::Derive { traits: def.derive.clone() }
                }
                _ if matches!(body, Body::Macro(_)) => return Err(err("a macro rule takes `derive`, not `replace` nor options".into())),
                (Some(replace), None, true) => {
                    let template = match &mut body {
                        Body::Path { to, .. } => {
                            *to = pattern::plain_path(replace.trim().strip_prefix("use ").unwrap_or(replace).trim_end_matches(';'))
                                .map_err(|e| err(format!("`replace`: {e}")))?;
                            if to[0] != krate && !new_crates.contains(&to[0]) {
                                return Err(err(format!("`replace`: a path rule moves items within `{krate}`, or to a crate of `new_crates`")));
                            }
                            None
                        }
                        _ => Some(pattern::parse_template(replace, kind, &metas, &krate, &paths).map_err(|e| err(format!("`replace`: {e}")))?),
                    };
                    Action::Replace { template, imports: path_imports(&def.imports) }
                }
                (None, Some(question), false) => {
                    if matches!(body, Body::Path { .. }) {
                        return Err(err("a path rule cannot be a choice".into()));
                    }
                    let mut options = Vec::new();
                    for o in &def.options {
                        if !is_kebab(&o.id) {
                            return Err(err(format!("option `{}`: ids are kebab-case", o.id)));
                        }
                        let template = pattern::parse_template(&o.replace, kind, &metas, &krate, &paths).map_err(|e| err(format!("option `{}`: {e}", o.id)))?;
                        let mut imports = path_imports(&def.imports);
                        imports.extend(path_imports(&o.imports));
                        options.push(ChoiceOption { id: o.id.clone(), template, when: o.when.clone(), imports });
                    }
                    let conservative: Vec<usize> = def.options.iter().enumerate().filter(|(_, o)| o.conservative).map(|(i, _)| i).collect();
                    let [conservative] = conservative.as_slice() else {
                        return Err(err("exactly one option must be `conservative = true` (the one that keeps today's behaviour)".into()));
                    };
                    if options.len() < 2 {
                        return Err(err("a choice needs at least two options".into()));
                    }
                    Action::Choice { question: question.clone(), options, conservative: *conservative }
                }
                _ => return Err(err("give either `replace`, or `question` with `options`".into())),
            };
            if (def.trait_path.is_some() || def.receiver_type.is_some()) && !matches!(body, Body::Expr(_)) {
                return Err(err("`trait` and `receiver_type` are for method and expression rules".into()));
            }
            if def.trait_path.is_some() && def.receiver_type.is_some() {
                return Err(err("give `trait` or `receiver_type`, not both".into()));
            }
            if let Some(code) = &def.at_error {
                if !matches!(body, Body::Expr(_)) {
                    return Err(err("`at_error` is for expression rules".into()));
                }
                if !(code.len() == 5 && code.starts_with('E') && code[1..].chars().all(|c| c.is_ascii_digit())) {
                    return Err(err(format!("`at_error`: `{code}` is not an error code (`E0615`)")));
                }
            }
            let safety = match (&action, def.safety) {
                (Action::Choice { .. }, _) | (_, Some(RuleSafety::NeedsReview)) => Safety::NeedsReview,
                _ => Safety::Safe,
            };
            rules.push(CompiledRule {
                full_id: leak(format!("{}/{}", file.krate, def.id)),
                id: def.id.clone(),
                message: def.message.clone(),
                kind,
                body,
                trait_path: def.trait_path.as_deref().map(split_path),
                receiver_type: def.receiver_type.as_deref().map(split_path),
                constraints: def.constraints.clone(),
                action,
                safety,
                companions: companions.clone(),
                at_error: def.at_error.clone(),
            });
        }
        let prelude = file.prelude.as_ref().map_or_else(PreludeFacts::default, |p| PreludeFacts {
            path: split_path(&p.path),
            from: p.from.iter().map(|i| split_path(i)).map(|i| (i.last().cloned().unwrap_or_default(), i)).collect(),
            to: p.to.iter().map(|i| split_path(i)).collect(),
        });
        let traits = file.traits.iter().map(|t| (split_path(&t.path), t.methods.clone())).collect();
        let mut doc = format!("# {} {} → {}\n\n{}\n", file.krate, file.from, file.to, file.summary);
        if let Some(guide) = &file.guide {
            doc.push_str(&format!("\nUpstream guide: {guide}\n"));
        }
        doc.push_str("\n## Rules\n\n");
        for r in &rules {
            doc.push_str(&format!("- `{}`: {}\n", r.full_id, r.message));
        }
        let safety = if rules.iter().any(|r| r.safety == Safety::NeedsReview) { Safety::NeedsReview } else { Safety::Safe };
        let meta = RuleMeta::leaked(format!("{}@{}-{}", file.krate, file.from, file.to), file.summary.clone(), safety, doc);
        Ok(CompiledPack { file, source: source.to_string(), krate, rules, prelude, traits, meta })
    }

    fn moved_by(&self, full: &[String], in_use: bool) -> Option<(Vec<String>, usize)> {
        let mut best: Option<(usize, usize)> = None; // (prefix length, rule)
        for (i, rule) in self.rules.iter().enumerate() {
            let Body::Path { from, use_only, .. } = &rule.body else { continue };
            if (*use_only && !in_use) || !full.starts_with(from) {
                continue;
            }
            if best.is_none_or(|(len, _)| from.len() > len) {
                best = Some((from.len(), i));
            }
        }
        let (len, i) = best?;
        let Body::Path { to, .. } = &self.rules[i].body else { unreachable!() };
        let mut new = to.clone();
        new.extend(full[len..].iter().cloned());
        Some((new, i))
    }
}

impl Mover for CompiledPack {
    fn moved(&self, full: &[String], in_use: bool) -> Option<(Vec<String>, usize)> {
        self.moved_by(full, in_use)
    }

    fn trait_methods(&self, path: &[String]) -> Option<&[String]> {
        self.traits.get(path).map(Vec::as_slice)
    }
}

/// A pack run as a rule of the pipeline.
pub struct PackRule {
    /// The pack.
    pub pack: Arc<CompiledPack>,
    /// Per package name: how it names the crate (renamed dependencies) and what
    /// methods it defines itself. Packages not listed use the crate's own name.
    pub envs: BTreeMap<String, Env>,
    /// Run only this rule (by index), for `pack test`.
    pub only: Option<usize>,
    /// Per file (display path): where the compiler resolved a call to the crate's item.
    /// Empty for the syntactic pass; the compiler phase of an upgrade fills it.
    pub compiler_sites: BTreeMap<String, Vec<CompilerSite>>,
    /// Whether rules that apply at a compiler error apply wherever they match: for a
    /// pack's own examples, which no compiler checks.
    pub assume_errors: bool,
}

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
}

impl PackRule {
    /// Runs every rule of `pack`, for packages that depend on the crate under its own name.
    pub fn new(pack: Arc<CompiledPack>) -> PackRule {
        PackRule { pack, envs: BTreeMap::new(), only: None, compiler_sites: BTreeMap::new(), assume_errors: false }
    }

    fn env(&self, package: &str) -> Env {
        self.envs.get(package).cloned().unwrap_or_else(|| Env::plain(&self.pack.krate))
    }

    /// The judge's site for a choice: the rule's message and question, and each option's
    /// edits.
    fn site(&self, cx: &SourceCx<'_>, choice: &PackChoice) -> crate::core::model::Site {
        let rule = &self.pack.rules[choice.rule];
        let start = choice.range.start;
        let question = match &rule.action {
            Action::Choice { question, .. } => format!("{} — {question}", rule.message),
            Action::Replace { .. } | Action::Derive { .. } => rule.message.clone(),
        };
        crate::core::model::Site {
            rule: rule.full_id,
            file: cx.file.display.clone(),
            line: cx.lines.line(start),
            cfg: cx.file.cfg.and(cx.cfg.status_at(start)),
            question,
            code: cx.text()[choice.range.clone()].to_string(),
            context: Vec::new(),
            options: choice
                .options
                .iter()
                .map(|(id, when, edits)| crate::core::model::SiteOption { id: id.clone(), when: when.clone(), edits: edits.clone() })
                .collect(),
            conservative: choice.conservative,
            evidence: crate::core::model::Evidence::None,
        }
    }
}

impl Rule for PackRule {
    fn meta(&self) -> &'static RuleMeta {
        self.pack.meta
    }

    fn check_source(&self, cx: &SourceCx<'_>, out: &mut Findings) {
        let env = self.env(&cx.file.package);
        let range = |s: proc_macro2::Span| cx.range(s);
        let sites = self.compiler_sites.get(&cx.file.display).map_or(&[][..], Vec::as_slice);
        let run = run_pack(&self.pack, self.only, &env, sites, self.assume_errors, &cx.parsed.syntax, &cx.parsed.tokens, cx.text(), &range);
        for (rule, safety, reason, edits) in run.changes {
            // A choice whose options replace the matched code goes to the judge.
            if let Some(choice) = run.choices.iter().find(|c| c.rule == rule && c.conservative_edits == edits) {
                out.sites.push(self.site(cx, choice));
                continue;
            }
            let mut change: Change = cx.change(self.pack.meta, safety, reason, edits);
            change.rule = self.pack.rules[rule].full_id;
            out.changes.push(change);
        }
        for (rule, offset, message) in run.notes {
            let mut d = cx.warning(self.pack.meta, offset, message);
            d.rule = Some(rule.map_or(self.pack.meta.id, |r| self.pack.rules[r].full_id));
            out.diagnostics.push(d);
        }
    }
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
}

/// Runs `pack` (or only its rule `only`) on one parsed file; `sites` are the compiler's
/// (see [`CompilerSite`]), empty for a syntactic pass; with `assume_errors`, rules that
/// apply at a compiler error apply wherever they match (a pack's own examples).
#[allow(clippy::too_many_arguments)]
pub fn run_pack(
    pack: &CompiledPack,
    only: Option<usize>,
    env: &Env,
    sites: &[CompilerSite],
    assume_errors: bool,
    file: &syn::File,
    tokens: &proc_macro2::TokenStream,
    text: &str,
    range: &dyn Fn(proc_macro2::Span) -> Range<usize>,
) -> PackRun {
    let mut run = PackRun::default();
    let facts = Facts::of(file, tokens, env, &pack.prelude, range);
    // A file that never names the crate has nothing to migrate (unless the compiler says
    // a call in it resolves to the crate).
    if sites.is_empty() && facts.leaves.iter().all(|l| l.target.is_none()) && !facts.crate_names.iter().any(|n| facts.ident_count.contains_key(n)) {
        return run;
    }
    let mut found = matcher::find(file, text, &facts, &pack.rules, &env.own_methods, sites, assume_errors, range);
    found.hits.extend(attribute::find(file, &facts, &pack.rules, range));
    let wanted = |rule: usize| only.is_none_or(|o| o == rule);
    let krate = facts.crate_local_name().to_string();

    // Expression and type rules: rendered templates, minimal edits.
    let mut site_edits: BTreeMap<usize, Vec<Vec<Edit>>> = BTreeMap::new(); // rule -> the edits of each site
    let mut reasons: BTreeMap<usize, String> = BTreeMap::new();
    let mut adds: Vec<ImportAdd> = Vec::new();
    let mut consumed: Vec<(Range<usize>, usize)> = Vec::new();
    for hit in &found.hits {
        if !wanted(hit.rule) {
            continue;
        }
        let rule = &pack.rules[hit.rule];
        let (template, imports, reason) = match &rule.action {
            Action::Replace { template: Some(t), imports } => (t, imports, rule.message.clone()),
            Action::Replace { template: None, .. } | Action::Derive { .. } => continue,
            Action::Choice { question, options, conservative } => {
                let chosen = &options[*conservative];
                let others: Vec<String> =
                    options.iter().enumerate().filter(|(i, _)| i != conservative).map(|(_, o)| format!("`{}` ({})", o.id, o.when)).collect();
                let reason = format!(
                    "{} — {} Applied the conservative option `{}` ({}); other options: {}",
                    rule.message,
                    question,
                    chosen.id,
                    chosen.when,
                    others.join("; ")
                );
                (&chosen.template, &chosen.imports, reason)
            }
        };
        // Paths of the pattern that the template does not name again are gone.
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
                    consumed.push((gone, hit.rule));
                }
            }
        }
        // A sibling of the pattern's path (`mylib::split_words` → `mylib::split_words_and_commas`)
        // is written with the head the code wrote; written as a bare imported name, the
        // sibling has no head and needs its own import.
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
                adds.push(ImportAdd { path, anchor: None, rule: hit.rule });
            }
        }
        let old = &text[hit.range.clone()];
        // Templates write attributes as `#[..]`; an inner attribute stays inner.
        let render = |t: &Template| {
            let out = template::render(t, &hit.bindings, text, &krate);
            if rule.kind == Kind::Attribute && old.starts_with("#!") {
                out.replacen("#[", "#![", 1)
            } else {
                out
            }
        };
        let new = render(template);
        let edits = template::minimal_edits(hit.range.clone(), old, &new);
        if let Action::Choice { options, conservative, .. } = &rule.action {
            // Offer every option to the judge when each is a replacement of the matched
            // code needing the same imports (those are added whichever option is taken).
            let same_imports = |o: &ChoiceOption| o.imports.iter().collect::<BTreeSet<_>>() == options[0].imports.iter().collect::<BTreeSet<_>>();
            let plain = options.iter().all(|o| same_imports(o) && !needs_sibling_import(&o.template, &hit.bindings));
            if plain {
                let options = options
                    .iter()
                    .map(|o| {
                        let rendered = render(&o.template);
                        (o.id.clone(), o.when.clone(), template::minimal_edits(hit.range.clone(), old, &rendered))
                    })
                    .collect();
                run.choices.push(PackChoice {
                    rule: hit.rule,
                    range: hit.range.clone(),
                    conservative_edits: edits.clone(),
                    options,
                    conservative: *conservative,
                });
            }
        }
        for path in imports {
            adds.push(ImportAdd { path: path.clone(), anchor: hit.trait_leaf, rule: hit.rule });
        }
        if !edits.is_empty() {
            site_edits.entry(hit.rule).or_default().push(edits);
        }
        reasons.insert(hit.rule, reason);
    }

    // Path rules: the code's paths, then the `use` items.
    let mover: &dyn Mover = pack;
    let plans = imports::plan_leaves(&facts, &found.paths, &adds, &consumed, mover);
    let mut grouped: BTreeMap<usize, Vec<Edit>> = BTreeMap::new(); // rule -> edits made together
    for site in &found.paths {
        let written: Vec<String> = site.written.iter().map(|s| s.0.clone()).collect();
        let full = &site.resolved.full;
        let moved = pack.moved_by(full, false);
        // In full: the pack's crate by its local name, a crate the item moved to by its own.
        let qualify = |new: &[String]| {
            let mut q = vec![if new[0] == pack.krate { krate.clone() } else { new[0].clone() }];
            q.extend(new[1..].iter().cloned());
            q
        };
        let (new_written, rule) = match &site.resolved.via {
            Via::Crate => {
                let Some((new, rule)) = moved else { continue };
                let mut w = vec![if new[0] == pack.krate { written[0].clone() } else { new[0].clone() }];
                w.extend(new[1..].iter().cloned());
                (w, rule)
            }
            Via::Import(leaf) => {
                let plan = &plans[*leaf];
                let base = facts.leaves[*leaf].target.clone().unwrap_or_default();
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
                    None => continue,
                };
                if plan.local == LocalPlan::Remove {
                    continue;
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
                        (w, rule)
                    }
                    _ => (qualify(&new_full), rule),
                }
            }
            Via::Glob(leaf) => {
                let Some((new, rule)) = moved else { continue };
                let glob = facts.leaves[*leaf].target.clone().unwrap_or_default();
                let new_glob = pack.moved_by(&glob, true).map_or(glob, |(g, _)| g);
                if new.starts_with(&new_glob) && new.len() > new_glob.len() {
                    (new[new_glob.len()..].to_vec(), rule)
                } else {
                    (qualify(&new), rule)
                }
            }
            Via::Prelude(_) => {
                let Some((new, rule)) = moved else { continue };
                let item = &pack.prelude.from[&written[0]];
                let new_item = pack.moved_by(item, false).map_or_else(|| item.clone(), |(n, _)| n);
                if pack.prelude.to.contains(&new_item) && new.starts_with(&new_item) {
                    let mut w = vec![new_item.last().expect("a path").clone()];
                    w.extend(new[new_item.len()..].iter().cloned());
                    (w, rule)
                } else {
                    (qualify(&new), rule)
                }
            }
        };
        if rule == usize::MAX || !wanted(rule) {
            continue;
        }
        match template::segment_edits(&site.written, &new_written) {
            Ok(edits) => {
                if !edits.is_empty() {
                    grouped.entry(rule).or_default().extend(edits);
                    reasons.entry(rule).or_insert_with(|| pack.rules[rule].message.clone());
                }
            }
            Err(e) => run.notes.push((Some(rule), site.written[0].1.start, format!("not changed: {e}"))),
        }
    }
    let uses = imports::use_edits(&facts, &plans, &adds, mover, text);
    for (rule, edit) in uses.edits {
        if rule == usize::MAX || !wanted(rule) {
            continue;
        }
        grouped.entry(rule).or_default().push(edit);
        reasons.entry(rule).or_insert_with(|| pack.rules[rule].message.clone());
    }
    for (rule, offset, message) in uses.notes {
        run.notes.push(((rule != usize::MAX).then_some(rule), offset, message));
    }
    // Sites of a rule that also edits `use` items go in one change with them: a rename
    // is all or nothing. Other sites are a change each, and so are the sites of a choice
    // that goes to the judge (its imports, the same for every option, are a change of
    // their own).
    let judged: BTreeSet<usize> = run.choices.iter().map(|c| c.rule).collect();
    for (rule, edits) in site_edits {
        if let Some(group) = grouped.get_mut(&rule).filter(|_| !judged.contains(&rule)) {
            group.extend(edits.into_iter().flatten());
        } else {
            for site in edits {
                run.changes.push((rule, pack.rules[rule].safety, reasons[&rule].clone(), site));
            }
        }
    }
    for (rule, mut edits) in grouped {
        edits.sort();
        edits.dedup();
        let reason = if judged.contains(&rule) {
            format!("the import every option of `{}` needs: {}", pack.rules[rule].id, pack.rules[rule].message)
        } else {
            reasons[&rule].clone()
        };
        run.changes.push((rule, pack.rules[rule].safety, reason, edits));
    }
    for site in derive::find(file, &facts, &pack.rules, text, range) {
        if wanted(site.rule) {
            let reason = format!("{} (`{}` gets `{}`)", pack.rules[site.rule].message, site.type_name, site.added.join(", "));
            run.changes.push((site.rule, pack.rules[site.rule].safety, reason, vec![site.edit]));
        }
    }
    for note in found.notes {
        if wanted(note.rule) {
            run.notes.push((Some(note.rule), note.offset, note.message));
        }
    }
    run
}

/// Whether rendering `template` names a sibling of the pattern's path through a bare
/// imported name, which needs an import of its own (see `run_pack`).
fn needs_sibling_import(template: &Template, bindings: &BTreeMap<String, matcher::Binding>) -> bool {
    template.pieces.iter().any(|p| matches!(p, pattern::Piece::Var(v) if v.starts_with("@pathhead:") && bindings.get(v).is_some_and(|b| b.range.is_empty())))
}

/// The text of a new pack for `krate` from `from` to `to` (`cargo migrate pack new`): the
/// metadata, one path rule with its examples, and the other kinds of rules in comments.
/// It loads and passes its own examples as written.
pub fn scaffold(krate: &str, from: &str, to: &str) -> String {
    let k = krate.replace('-', "_");
    format!(
        r#"# Migration pack: {krate} {from} → {to}.
# The format: `cargo migrate pack schema` prints its JSON Schema.
# Test the rules on their examples: `cargo migrate pack test <this file>`.
# Ship it in your crate's package as `migrations/{krate}/{from}-{to}.toml`: users get it
# with `cargo migrate upgrade {krate}`.
crate = "{krate}"
from = "{from}"
to = "{to}"
summary = "{krate} {from} → {to}: what changed, in one line"
# guide = "https://..."   # the upstream upgrade guide, shown with what is left to do

# Cargo features the release renamed (old = "new"):
# [renamed_features]
# old-feature = "new-feature"

# Crates that must move together with this one:
# [[companions]]
# crate = "{krate}-derive"
# from = "{from}"
# to = "{to}"

# A path rule: an item moved or renamed. Paths in `match` are written in full; imports
# and every way the code names the item follow.
[[rule]]
id = "old-function"
message = "`{k}::old_function` is `{k}::new_function` in {to}"
match = "{k}::old_function"
replace = "{k}::new_function"

[rule.examples]
# Code the rule must leave alone: the crate's own function of that name.
valid = [
    """
fn old_function() {{}}
fn f() {{ old_function() }}
""",
]

# Code the rule changes, and what it must become.
[[rule.examples.invalid]]
code = """
use {k}::old_function;
fn f() {{ old_function() }}
"""
fixed = """
use {k}::new_function;
fn f() {{ new_function() }}
"""

# A method rule names the trait that must be in scope for the call to be the crate's
# (a method of the user's own type with that name is never rewritten):
#
# [[rule]]
# id = "old-method"
# message = "`Trait::old_method` is `new_method` in {to}"
# trait = "{k}::Trait"
# match = "$x.old_method($..args)"
# replace = "$x.new_method($..args)"
#
# An inherent method names its type instead: `receiver_type = "{k}::Type"`.
#
# A choice rule, for a change whose right rewrite depends on intent: a question and
# options, exactly one `conservative` (it keeps today's behaviour; it is applied, marked
# needs-review, until someone decides):
#
# [[rule]]
# id = "strict-parse"
# message = "`{k}::parse` is strict in {to}"
# match = "{k}::parse($s)"
# question = "Can the input be malformed?"
#
# [[rule.options]]
# id = "keep-lenient"
# replace = "{k}::parse_lenient($s)"
# when = "the input may be malformed (what {from} accepted)"
# conservative = true
#
# [[rule.options]]
# id = "strict"
# replace = "{k}::parse($s)"
# when = "the input is always well-formed"
"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::model::Diagnostic;

    /// Runs `pack` (TOML text) on `code`: the new text, the changes, the diagnostics.
    /// `lib.rs` holding `code`.
    fn lib_rs(code: &str) -> crate::core::text::SourceFile {
        crate::core::text::SourceFile {
            path: "lib.rs".into(),
            display: "lib.rs".into(),
            kind: crate::core::text::FileKind::Rust,
            package: String::new(),
            cfg: crate::core::model::CfgStatus::Active,
            text: code.to_string(),
        }
    }

    fn run(pack: &str, code: &str) -> (String, Vec<Change>, Vec<Diagnostic>) {
        let pack = Arc::new(CompiledPack::from_text(pack, "test.toml").unwrap_or_else(|e| panic!("{e}")));
        let rule = PackRule::new(pack);
        let opts = crate::engine::walk::CheckOptions::new(vec![&rule as &dyn Rule], "2021");
        let file = lib_rs(code);
        let (findings, _) = crate::engine::walk::check_rust_text(&file, &crate::cargo::discover::host_cfg(), &opts, true).unwrap();
        let (changes, new) = crate::engine::pipeline::migrate_source("lib.rs", code, &opts).unwrap();
        (new, changes, findings.diagnostics)
    }

    const RAND: &str = include_str!("../../migrations/rand/0.8-0.9.toml");

    fn check(code: &str, expected: &str) {
        let (new, _, _) = run(RAND, code);
        assert_eq!(new, expected);
        let (again, changes, _) = run(RAND, &new);
        assert!(changes.is_empty() && again == new, "not idempotent: {again}");
    }

    #[test]
    fn a_crates_own_methods_and_functions_are_never_rewritten() {
        // Its own `gen_range` / `gen_bool` on its own type, with `Rng` in scope.
        let code = "use rand::Rng;\nstruct Die;\nimpl Die {\n    fn gen_range(&self, n: u8) -> u8 { n }\n    fn gen_bool(&self) -> bool { true }\n}\nfn f(d: &Die) -> u8 { if d.gen_bool() { d.gen_range(6) } else { 0 } }\nfn g() -> u8 { let d = Die; d.gen_range(6) }\nimpl Die { fn h(&self) -> u8 { self.gen_range(2) } }\n";
        check(code, code);
        // Its own `thread_rng` function, next to rand's prelude.
        let code = "use rand::prelude::*;\nfn thread_rng() -> u8 { 4 }\nfn f() -> u8 { thread_rng() }\n";
        check(code, code);
        // Its own trait with a `gen_bool`, the receiver's type unknown: left alone, and said.
        let code = "use rand::Rng;\ntrait Coin { fn gen_bool(&self, p: f64) -> bool; }\nfn f(c: &dyn Coin) -> bool { c.gen_bool(0.5) }\nfn g(x: &Thing) -> bool { x.gen_bool(0.5) }\n";
        let (new, _, diags) = run(RAND, code);
        assert_eq!(new, code);
        assert!(diags.iter().any(|d| d.message.contains("compiler phase") && d.rule == Some("rand/gen-bool")), "{diags:?}");
        // Without the trait in scope, a method of that name is not rand's.
        let code = "fn f(r: &mut R) -> u8 { r.gen_range(0..3) }\n";
        check(code, code);
    }

    #[test]
    fn the_trait_evidence_and_rand_receivers_are_rewritten() {
        check(
            "use rand::Rng;\ntrait Coin { fn gen_bool(&self, p: f64) -> bool; }\nfn f<R: Rng>(r: &mut R) -> bool { r.gen_bool(0.5) }\n",
            "use rand::Rng;\ntrait Coin { fn gen_bool(&self, p: f64) -> bool; }\nfn f<R: Rng>(r: &mut R) -> bool { r.random_bool(0.5) }\n",
        );
    }

    #[test]
    fn imports_follow_renames_without_leaving_unused_ones() {
        // Renamed in a group, with the new name free.
        check("use rand::{thread_rng, Rng};\nfn f() -> u8 { thread_rng().gen() }\n", "use rand::{rng, Rng};\nfn f() -> u8 { rng().random() }\n");
        // The new name is a local: sites written in full, the leaf removed.
        check("use rand::thread_rng;\nfn f() { let rng = thread_rng(); drop(rng); }\n", "fn f() { let rng = rand::rng(); drop(rng); }\n");
        // Nested groups, `self`, aliases.
        check(
            "use rand::{distributions::{self, Distribution, Standard as S}, Rng};\nfn f(r: &mut impl Rng) -> (u8, u8) { (S.sample(r), r.sample(distributions::Standard)) }\n",
            "use rand::{distr::{self, Distribution, StandardUniform as S}, Rng};\nfn f(r: &mut impl Rng) -> (u8, u8) { (S.sample(r), r.sample(distr::StandardUniform)) }\n",
        );
        // `extern crate .. as`.
        check("extern crate rand as r;\nfn f() -> u8 { r::thread_rng().gen() }\n", "extern crate rand as r;\nfn f() -> u8 { r::rng().gen() }\n");
        // A name the rules cannot see everywhere keeps its old name as an alias.
        check(
            "use rand::thread_rng;\nfn f() { let _ = thread_rng(); let _ = dsl!(thread_rng => 1); }\n",
            "use rand::rng as thread_rng;\nfn f() { let _ = thread_rng(); let _ = dsl!(thread_rng => 1); }\n",
        );
    }

    #[test]
    fn a_sibling_written_after_the_head_keeps_the_heads_import() {
        let pack = "crate = \"t\"\nfrom = \"1\"\nto = \"1.1\"\nsummary = \"s\"\n\n[[rule]]\nid = \"a\"\nmessage = \"m\"\nmatch = \"t::Time::hms($..a)\"\nreplace = \"t::Time::hms_opt($..a).unwrap()\"\n";
        // `Time` is used only in the rewritten call: its import stays.
        let (new, _, _) = run(pack, "use t::Time;\nfn f() { let _ = Time::hms(1, 2, 3); }\n");
        assert_eq!(new, "use t::Time;\nfn f() { let _ = Time::hms_opt(1, 2, 3).unwrap(); }\n");
        // Imported by its own name, the function goes and its sibling is imported.
        let (new, _, _) = run(pack, "use t::Time::hms;\nfn f() { let _ = hms(1, 2, 3); }\n");
        assert_eq!(new, "use t::Time::hms_opt;\nfn f() { let _ = hms_opt(1, 2, 3).unwrap(); }\n");
    }

    #[test]
    fn macro_arguments_are_matched() {
        check(
            "use rand::Rng;\nfn f(r: &mut impl Rng) { println!(\"{}\", r.gen_range(0..3)); assert!(r.gen_bool(1.0)); }\n",
            "use rand::Rng;\nfn f(r: &mut impl Rng) { println!(\"{}\", r.random_range(0..3)); assert!(r.random_bool(1.0)); }\n",
        );
    }

    #[test]
    fn choice_rules_go_to_the_judge_and_fall_back_to_the_conservative_option() {
        let (new, changes, _) = run(RAND, "use rand::Rng;\nfn f(r: &mut impl Rng) -> f32 { r.gen_range(0.0..1.0) }\n");
        assert_eq!(new, "use rand::Rng;\nfn f(r: &mut impl Rng) -> f32 { loop { let x = r.random_range(0.0..1.0); if x < 1.0 { break x; } } }\n");
        let c = &changes[0];
        assert_eq!((c.rule, c.safety), ("rand/gen-range-float", Safety::NeedsReview));
        assert!(c.reason.contains("Can this code accept the upper bound") && c.reason.contains("`exclude-high`"), "{}", c.reason);
        assert!(c.reason.contains("no model was asked"), "without a model the judge keeps today's behaviour: {}", c.reason);
    }

    /// A model that always picks one option id.
    struct Picks(&'static str);

    impl crate::judge::llm::Model for Picks {
        fn name(&self) -> String {
            "picks".into()
        }
        fn ask(&self, q: &crate::judge::llm::Question) -> Result<crate::judge::llm::Answer, crate::judge::llm::LlmError> {
            assert!(q.option_ids.iter().any(|o| o == self.0), "{:?}", q.option_ids);
            Ok(crate::judge::llm::Answer { option: self.0.into(), reason: "the bound is fine here".into() })
        }
    }

    #[test]
    fn a_choice_is_a_judge_site_and_a_model_may_pick_any_option() {
        let code = "use rand::Rng;\nfn f(r: &mut impl Rng) -> f32 { r.gen_range(0.0..1.0) }\n";
        let pack = Arc::new(CompiledPack::from_text(RAND, "rand.toml").unwrap());
        let rule = PackRule::new(pack);
        let opts = crate::engine::walk::CheckOptions::new(vec![&rule as &dyn Rule], "2021");
        let file = lib_rs(code);
        let (findings, _) = crate::engine::walk::check_rust_text(&file, &crate::cargo::discover::host_cfg(), &opts, true).unwrap();
        assert_eq!(findings.sites.len(), 1);
        let site = &findings.sites[0];
        assert_eq!(site.rule, "rand/gen-range-float");
        assert_eq!(site.options.iter().map(|o| o.id.as_str()).collect::<Vec<_>>(), ["exclude-high", "allow-high"]);
        let files = BTreeMap::from([("lib.rs".to_string(), file.clone())]);
        let judged = crate::judge::judge(findings.sites, &files, Some(&Picks("allow-high")), None);
        let change = &judged.changes[0];
        assert_eq!((change.safety, &change.decided_by), (Safety::Judged, &crate::core::model::Decider::Llm("picks".into())));
        let new = crate::core::plan::apply_edits(code, &change.edits).unwrap();
        assert_eq!(new, "use rand::Rng;\nfn f(r: &mut impl Rng) -> f32 { r.random_range(0.0..1.0) }\n");
    }

    #[test]
    fn a_choice_whose_options_need_the_same_import_goes_to_the_judge_and_the_import_stays() {
        let code = "fn f(s: &str) -> Vec<u8> {\n    base64::decode(s).unwrap()\n}\n";
        let pack = Arc::new(CompiledPack::from_text(include_str!("../../migrations/base64/0.13-0.22.toml"), "base64.toml").unwrap());
        let rule = PackRule::new(pack);
        let opts = crate::engine::walk::CheckOptions::new(vec![&rule as &dyn Rule], "2021");
        let file = lib_rs(code);
        let (findings, _) = crate::engine::walk::check_rust_text(&file, &crate::cargo::discover::host_cfg(), &opts, true).unwrap();
        assert_eq!(findings.sites.len(), 1, "{:?}", findings.changes);
        assert_eq!(findings.sites[0].options.iter().map(|o| o.id.as_str()).collect::<Vec<_>>(), ["lenient", "strict"]);
        // The import is a change of its own, whichever option the judge takes.
        assert_eq!(findings.changes.len(), 1, "{:?}", findings.changes);
        assert!(findings.changes[0].reason.starts_with("the import every option of `decode` needs"), "{}", findings.changes[0].reason);
        let files = BTreeMap::from([("lib.rs".to_string(), file.clone())]);
        let judged = crate::judge::judge(findings.sites, &files, Some(&Picks("strict")), None);
        let mut edits = findings.changes[0].edits.clone();
        edits.extend(judged.changes[0].edits.clone());
        edits.sort();
        let new = crate::core::plan::apply_edits(code, &edits).unwrap();
        assert_eq!(new, "use base64::Engine;\nfn f(s: &str) -> Vec<u8> {\n    base64::engine::general_purpose::STANDARD.decode(s).unwrap()\n}\n");
    }

    const INDEXMAP: &str = r#"
crate = "indexmap"
from = "1"
to = "2"
summary = "indexmap 1 → 2"

[[rule]]
id = "remove"
message = "`IndexMap::remove` is deprecated: it is `swap_remove`, which moves the last entry into the hole"
receiver_type = "indexmap::IndexMap"
match = "$m.remove($k)"
question = "Does the order of the remaining entries matter?"

[[rule.options]]
id = "swap"
replace = "$m.swap_remove($k)"
when = "order does not matter (what `remove` did in 1.x)"
conservative = true

[[rule.options]]
id = "shift"
replace = "$m.shift_remove($k)"
when = "the remaining entries must keep their order (O(n))"
"#;

    #[test]
    fn inherent_method_rules_need_type_evidence() {
        let code = "use indexmap::IndexMap;\nstruct S { m: IndexMap<u8, u8> }\nfn f(a: &mut IndexMap<u8, u8>, h: &mut std::collections::HashMap<u8, u8>, s: &mut S) {\n    let mut b = IndexMap::new();\n    b.insert(1, 1);\n    a.remove(&1);\n    b.remove(&1);\n    s.m.remove(&1);\n    h.remove(&1);\n    let mut x = make();\n    x.remove(&1);\n}\n";
        let (new, changes, diags) = run(INDEXMAP, code);
        assert_eq!(new.matches("swap_remove").count(), 3, "{new}");
        assert!(new.contains("h.remove(&1)") && new.contains("x.remove(&1)"));
        assert!(changes.iter().all(|c| c.safety == Safety::NeedsReview));
        assert_eq!(diags.iter().filter(|d| d.message.contains("compiler phase must decide")).count(), 1, "{diags:?}");
    }

    /// Runs `pack` on `code` with compiler sites at each occurrence of `at` (the primary
    /// span of a method's name), naming `item`.
    fn run_at(pack: &str, code: &str, at: &str, item: &str) -> (String, Vec<Diagnostic>) {
        let pack = Arc::new(CompiledPack::from_text(pack, "test.toml").unwrap_or_else(|e| panic!("{e}")));
        let mut rule = PackRule::new(pack);
        let item: Vec<String> = if item.is_empty() { Vec::new() } else { split_path(item) };
        let sites = code.match_indices(at).map(|(i, _)| CompilerSite { range: i..i + at.len(), item: item.clone(), code: None }).collect();
        rule.compiler_sites.insert("lib.rs".into(), sites);
        let opts = crate::engine::walk::CheckOptions::new(vec![&rule as &dyn Rule], "2021");
        let file = lib_rs(code);
        let (findings, _) = crate::engine::walk::check_rust_text(&file, &crate::cargo::discover::host_cfg(), &opts, true).unwrap();
        let (_, new) = crate::engine::pipeline::migrate_source("lib.rs", code, &opts).unwrap();
        (new, findings.diagnostics)
    }

    #[test]
    fn compiler_sites_settle_what_syntax_cannot() {
        // The receiver's type is not evident (the file does not even name the crate): left
        // to the compiler, which names IndexMap.
        let code = "fn f() {\n    let mut x = make();\n    x.remove(&1);\n}\n";
        let (new, _, _) = run(INDEXMAP, code);
        assert_eq!(new, code);
        let (new, diags) = run_at(INDEXMAP, code, "remove", "indexmap::IndexMap::remove");
        assert_eq!(new, "fn f() {\n    let mut x = make();\n    x.swap_remove(&1);\n}\n");
        assert!(diags.is_empty(), "{diags:?}");
        // A site naming another crate's item, or another method, is not trusted.
        let (new, _) = run_at(INDEXMAP, code, "remove", "std::collections::HashMap::remove");
        assert_eq!(new, code);
        let (new, _) = run_at(INDEXMAP, code, "x", "indexmap::IndexMap::remove");
        assert_eq!(new, code);
        // A trait method whose trait the file does not import (it came through a
        // re-export the resolver cannot follow): the compiler says it is rand's.
        let code = "use crate::prelude::*;\nfn f(r: &mut Thing) -> u8 { r.gen_range(0..3) }\n";
        let (new, _, _) = run(RAND, code);
        assert_eq!(new, code);
        let (new, _) = run_at(RAND, code, "gen_range", "rand::Rng::gen_range");
        assert_eq!(new, "use crate::prelude::*;\nfn f(r: &mut Thing) -> u8 { r.random_range(0..3) }\n");
        // The crate's own method of that name: the compiler names the crate's own type.
        let code = "use rand::Rng;\nstruct Die;\nimpl Die { fn gen_range(&self, n: u8) -> u8 { n } }\nfn f(d: &Die) -> u8 { d.gen_range(6) }\n";
        let (new, _) = run_at(RAND, code, "gen_range(6)", "");
        assert_eq!(new, code);
        let (new, _) = run_at(RAND, code, "gen_range", "mycrate::Die::gen_range");
        assert_eq!(new, code);
    }

    #[test]
    fn pack_errors_name_the_rule() {
        let bad =
            "crate = \"x\"\nfrom = \"1\"\nto = \"2\"\nsummary = \"s\"\n\n[[rule]]\nid = \"a\"\nmessage = \"m\"\nmatch = \"x::f($a)\"\nreplace = \"x::g($b)\"\n";
        let err = CompiledPack::from_text(bad, "x.toml").unwrap_err();
        assert_eq!(err.line, Some(7));
        assert!(err.to_string().contains("rule `a`") && err.to_string().contains("`$b`"), "{err}");
        let two_conservative = INDEXMAP.replace("when = \"the remaining", "conservative = true\nwhen = \"the remaining");
        assert!(CompiledPack::from_text(&two_conservative, "x.toml").unwrap_err().to_string().contains("exactly one"));
    }

    #[test]
    fn macro_rules_take_derives_and_nothing_else() {
        let head = "crate = \"x\"\nfrom = \"1\"\nto = \"2\"\nsummary = \"s\"\n\n[[rule]]\nid = \"a\"\nmessage = \"m\"\n";
        let error = |rule: &str| CompiledPack::from_text(&format!("{head}{rule}"), "x.toml").unwrap_err().to_string();
        assert!(error("match = \"x::m!\"\n").contains("lists the traits to add in `derive`"));
        assert!(error("match = \"x::m!\"\nreplace = \"x::n!\"\n").contains("takes `derive`, not `replace`"));
        assert!(error("match = \"x::f($a)\"\nreplace = \"x::g($a)\"\nderive = [\"Debug\"]\n").contains("`derive` is for macro rules"));
        assert!(error("match = \"x::m!\"\nderive = [\"not a path\"]\n").contains("is not a path"));
        let ok = CompiledPack::from_text(&format!("{head}match = \"x::m!\"\nderive = [\"Debug\", \"std::clone::Clone\"]\n"), "x.toml").unwrap();
        assert!(matches!(&ok.rules[0].action, Action::Derive { traits } if traits.len() == 2));
    }

    const ATTRIBUTE_PACK: &str = r##"
crate = "mylib"
from = "1"
to = "2"
summary = "s"

[[rule]]
id = "main-threads"
message = "`core_threads` is `worker_threads`"
match = "#[mylib::main($..a core_threads $..b)]"
replace = "#[mylib::main($..a worker_threads $..b)]"

[[rule]]
id = "opt"
message = "the helper attribute `old_opt` is `new_opt`"
match = "#[old_opt($..args)]"
replace = "#[new_opt($..args)]"

[[rule]]
id = "flag"
message = "`#[legacy]` is `#[modern]`"
match = "#[legacy]"
replace = "#[modern]"
"##;

    #[test]
    fn attribute_rules_match_by_resolved_path_or_helper_name_and_keep_the_written_path() {
        let code = r#"#![old_opt(crate_level)]
use mylib::main;
#[mylib::main(flavor = "x", core_threads = 4)]
async fn a() {}
#[main(core_threads = 2)]
async fn b() {}
#[other::main(core_threads = 2)]
async fn c() {}
#[derive(mylib::Opts)]
struct O {
    #[old_opt(long, short = 'x')]
    #[legacy]
    #[legacy = 1]
    f: u8,
}
"#;
        let expected = r#"#![new_opt(crate_level)]
use mylib::main;
#[mylib::main(flavor = "x", worker_threads = 4)]
async fn a() {}
#[main(worker_threads = 2)]
async fn b() {}
#[other::main(core_threads = 2)]
async fn c() {}
#[derive(mylib::Opts)]
struct O {
    #[new_opt(long, short = 'x')]
    #[modern]
    #[legacy = 1]
    f: u8,
}
"#;
        let (new, changes, _) = run(ATTRIBUTE_PACK, code);
        assert_eq!(new, expected);
        assert_eq!(changes.len(), 5, "{changes:?}");
        let (_, again, _) = run(ATTRIBUTE_PACK, &new);
        assert!(again.is_empty(), "{again:?}");
    }

    const MOVED_PACK: &str = r#"
crate = "nom"
from = "7"
to = "8"
summary = "s"

[[new_crates]]
crate = "nom-language"
version = "0.1"

[[rule]]
id = "verbose-error"
message = "`VerboseError` is in `nom-language`"
match = "nom::error::VerboseError"
replace = "nom_language::error::VerboseError"
"#;

    #[test]
    fn path_rules_move_items_to_a_new_crate_under_its_own_name() {
        let (new, _, _) = run(MOVED_PACK, "use nom::error::VerboseError;\nfn f(e: VerboseError<&str>) {}\n");
        assert_eq!(new, "use nom_language::error::VerboseError;\nfn f(e: VerboseError<&str>) {}\n");
        let (new, _, _) = run(MOVED_PACK, "use nom::error::{ErrorKind, VerboseError};\nfn f(e: VerboseError<&str>, k: ErrorKind) {}\n");
        assert_eq!(new, "use nom::error::ErrorKind;\nuse nom_language::error::VerboseError;\nfn f(e: VerboseError<&str>, k: ErrorKind) {}\n");
        let two = MOVED_PACK.to_string()
            + "\n[[rule]]\nid = \"convert-error\"\nmessage = \"m\"\nmatch = \"nom::error::convert_error\"\nreplace = \"nom_language::error::convert_error\"\n";
        // Every leaf of a group moves out: the group gives way to `use` items of their own.
        let (new, changes, _) =
            run(&two, "use nom::error::{convert_error, VerboseError};\nfn show(i: &str, e: VerboseError<&str>) -> String { convert_error(i, e) }\n");
        assert_eq!(new, "use nom_language::error::convert_error;\nuse nom_language::error::VerboseError;\nfn show(i: &str, e: VerboseError<&str>) -> String { convert_error(i, e) }\n");
        assert_eq!(changes.len(), 2, "{changes:?}");
        let (new, _, _) = run(MOVED_PACK, "extern crate nom as n;\nfn f(e: n::error::VerboseError<&str>) {}\n");
        assert_eq!(new, "extern crate nom as n;\nfn f(e: nom_language::error::VerboseError<&str>) {}\n");
        // Moved already: nothing more to do.
        let (_, again, _) = run(MOVED_PACK, "use nom_language::error::VerboseError;\nfn f(e: VerboseError<&str>) {}\n");
        assert!(again.is_empty(), "{again:?}");
        let undeclared = MOVED_PACK.replace("[[new_crates]]\ncrate = \"nom-language\"\nversion = \"0.1\"\n", "");
        assert!(CompiledPack::from_text(&undeclared, "x.toml").unwrap_err().to_string().contains("or to a crate of `new_crates`"));
    }

    const BITS_PACK: &str = "crate = \"bitflags\"\nfrom = \"1\"\nto = \"2\"\nsummary = \"s\"\n\n[[rule]]\nid = \"bits\"\nmessage = \"m\"\nmatch = \"$x.bits\"\nreplace = \"$x.bits()\"\nat_error = \"E0615\"\n";

    #[test]
    fn error_rules_apply_only_where_the_compiler_reports_the_error_and_never_to_a_place() {
        let pack = Arc::new(CompiledPack::from_text(BITS_PACK, "x.toml").unwrap());
        let code = "use bitflags::bitflags;\nfn f(m: &mut M, o: &Other) -> u8 {\n    m.bits = 1;\n    m.bits |= 2;\n    o.bits + m.bits\n}\n";
        let parsed = crate::syntax::parsed::Parsed::parse(code).unwrap();
        let env = Env::plain("bitflags");
        let at = |needle: &str, from: usize| {
            let start = code[from..].find(needle).unwrap() + from;
            start..start + needle.len()
        };
        let run = |sites: &[CompilerSite], assume: bool| {
            let changes = run_pack(&pack, None, &env, sites, assume, &parsed.syntax, &parsed.tokens, code, &|s| parsed.range(s)).changes;
            changes.into_iter().flat_map(|(_, _, _, edits)| edits).collect::<Vec<_>>()
        };
        // The syntactic pass: never.
        assert!(run(&[], false).is_empty());
        // Where the compiler reports E0615 (the read of `m.bits`, not `o.bits`): that read.
        let read = code.rfind("m.bits").unwrap();
        let site = |range: Range<usize>, code: &str| CompilerSite { range, item: Vec::new(), code: Some(code.into()) };
        assert_eq!(run(&[site(at("bits", read), "E0615")], false), vec![Edit::insert(read + 6, "()")]);
        // Another error code there: no.
        assert!(run(&[site(at("bits", read), "E0609")], false).is_empty());
        // The writes, even where reported (and even assumed): never.
        let writes = [site(at("bits", code.find("m.bits = 1").unwrap()), "E0615"), site(at("bits", code.find("m.bits |=").unwrap()), "E0615")];
        assert!(run(&writes, false).is_empty());
        let assumed = run(&[], true);
        assert_eq!(assumed.len(), 2, "the two reads, not the writes: {assumed:?}");
        // Only expression rules, with a real code.
        let err = |t: &str| CompiledPack::from_text(t, "x.toml").unwrap_err().to_string();
        assert!(err(&BITS_PACK.replace("E0615", "615")).contains("is not an error code"));
        assert!(err(&BITS_PACK.replace("match = \"$x.bits\"\nreplace = \"$x.bits()\"", "match = \"bitflags::Flags\"\nreplace = \"bitflags::Flags2\""))
            .contains("`at_error` is for expression rules"));
    }

    const MACRO_PACK: &str = "crate = \"bitflags\"\nfrom = \"1\"\nto = \"2\"\nsummary = \"s\"\n\n[[rule]]\nid = \"d\"\nmessage = \"m\"\nmatch = \"bitflags::bitflags!\"\nderive = [\"Debug\", \"Clone\"]\n";

    #[test]
    fn macro_rules_follow_macro_use_from_the_crate_root_and_leave_other_macros_alone() {
        let pack = Arc::new(CompiledPack::from_text(MACRO_PACK, "x.toml").unwrap());
        let code = "bitflags! { struct F: u8 { const A = 1; } }\n";
        let parsed = crate::syntax::parsed::Parsed::parse(code).unwrap();
        let run_with = |macro_use: bool| {
            let env = Env { macro_use, ..Env::plain("bitflags") };
            run_pack(&pack, None, &env, &[], false, &parsed.syntax, &parsed.tokens, code, &|s| parsed.range(s)).changes
        };
        // Without `#[macro_use]` anywhere, a bare `bitflags!` is some other macro.
        assert!(run_with(false).is_empty());
        let changes = run_with(true);
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].3, vec![Edit::insert(12, "#[derive(Debug, Clone)] ")]);
        assert!(changes[0].2.contains("`F` gets `Debug, Clone`"), "{}", changes[0].2);
        // A derive already there (a second run) is not added again.
        let (_, again, _) = run(MACRO_PACK, "use bitflags::bitflags;\nbitflags! { #[derive(Clone, Debug)] struct F: u8 { const A = 1; } }\n");
        assert!(again.is_empty());
    }
}
