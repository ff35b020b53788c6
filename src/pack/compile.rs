//! Compiling a pack file: each rule's pattern, templates and options checked and turned
//! into a [`CompiledRule`]; the pack's prelude, traits and documentation gathered into a
//! [`CompiledPack`], plain data shared by every thread.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::format::{self, FormatError, Kind, PackFile, RuleSafety};
use super::imports::Mover;
use super::pattern::{self, Body, Template};
use super::resolve::PreludeFacts;
use crate::core::model::Safety;
use crate::rules::RuleMeta;

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
    /// Rewrites pieces of the string literal a metavariable binds ([`super::literal`]).
    Literal(super::literal::LiteralAction),
    /// Rewrites nothing: each match is a site not changed, with what to do by hand.
    Note(String),
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
    /// What its replacement introduces that its pattern did not have (a path outside the
    /// pack's crates and std's prelude, a macro, `unsafe`, an item): such a rule is
    /// needs-review, and its message says so ([`super::introduced`]).
    pub introduces: Vec<String>,
    /// Safety of its changes.
    pub safety: Safety,
    /// Companion crates: their types count as the crate's own for evidence.
    pub companions: Vec<String>,
    /// The compiler error this rule applies at, and only there.
    pub at_error: Option<String>,
    /// For an attribute rule: the traits (full paths) of the `impl`s whose attributes it
    /// matches; empty: any attribute.
    pub on_impl: Vec<Vec<String>>,
    /// For a signature rule: the method calls through the new bound go through.
    pub apply: Option<String>,
    /// For a signature rule: what a function returning a closure must state.
    pub closure_bounds: Vec<pattern::ClosureBound>,
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
    /// What [`super::PackRule`]'s `meta` returns.
    pub meta: &'static RuleMeta,
    /// The shims, checked.
    pub shims: Vec<super::shim::CompiledShim>,
}

/// `a::b::c` (or `::a::b`) as its segments.
pub(super) fn split_path(p: &str) -> Vec<String> {
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
        for (index, def) in file.rules.iter().enumerate() {
            // Point errors at the line of the value they are about (`match`, `replace`, an
            // option's `replace`), else at the rule's `id`.
            let line = |path: &[&str]| format::rule_line(text, index, path).or_else(|| format::rule_line(text, index, &["id"]));
            let err_at =
                |path: &[&str], message: String| FormatError { file: source.to_string(), line: line(path), message: format!("rule `{}`: {message}", def.id) };
            let err = |message: String| err_at(&["id"], message);
            if !is_kebab(&def.id) {
                return Err(err("ids are kebab-case".into()));
            }
            if !ids.insert(def.id.clone()) {
                return Err(err("duplicate id".into()));
            }
            let (mut body, kind, metas) = pattern::parse_pattern(&def.pattern, def.kind).map_err(|e| err_at(&["match"], format!("`match`: {e}")))?;
            for name in def.constraints.keys() {
                if metas.get(name) != Some(&pattern::MetaKind::One) {
                    return Err(err_at(&["where"], format!("`where` names `{name}`, which the pattern does not bind as `${name}`")));
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
            let alternatives = [def.replace.is_some(), def.question.is_some() || !def.options.is_empty(), def.literal.is_some(), def.note.is_some()];
            if (def.literal.is_some() || def.note.is_some()) && alternatives.iter().filter(|a| **a).count() != 1 {
                return Err(err("give one of `replace`, `question` with `options`, `literal` or `note`".into()));
            }
            let action = match (&def.replace, &def.question, def.options.is_empty()) {
                _ if def.literal.is_some() || def.note.is_some() => {
                    if !matches!(body, Body::Expr(_) | Body::Type(_) | Body::Attribute(_)) {
                        return Err(err("`literal` and `note` are for expression, type and attribute rules".into()));
                    }
                    match (&def.literal, &def.note) {
                        (Some(lit), _) => {
                            if metas.get(&lit.var) != Some(&pattern::MetaKind::One) {
                                return Err(err_at(&["literal"], format!("`literal.var`: the pattern does not bind `${}`", lit.var)));
                            }
                            if def.constraints.get(&lit.var) != Some(&format::Constraint::StringLiteral) {
                                return Err(err_at(&["literal"], format!("`literal.var`: `where` must constrain `{}` to `string-literal`", lit.var)));
                            }
                            Action::Literal(super::literal::compile(lit).map_err(|e| err_at(&["literal"], format!("`literal`: {e}")))?)
                        }
                        (None, Some(note)) => Action::Note(note.clone()),
                        (None, None) => unreachable!("one of them"),
                    }
                }
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
                                .map_err(|e| err_at(&["replace"], format!("`replace`: {e}")))?;
                            if to[0] != krate && !new_crates.contains(&to[0]) {
                                return Err(err_at(
                                    &["replace"],
                                    format!("`replace`: a path rule moves items within `{krate}`, or to a crate of `new_crates`"),
                                ));
                            }
                            None
                        }
                        _ => Some(pattern::parse_template(replace, kind, &metas, &krate, &paths).map_err(|e| err_at(&["replace"], format!("`replace`: {e}")))?),
                    };
                    Action::Replace { template, imports: path_imports(&def.imports) }
                }
                (None, Some(question), false) => {
                    if matches!(body, Body::Path { .. }) {
                        return Err(err("a path rule cannot be a choice".into()));
                    }
                    let mut options = Vec::new();
                    for (j, o) in def.options.iter().enumerate() {
                        let j = j.to_string();
                        if !is_kebab(&o.id) {
                            return Err(err_at(&["options", &j, "id"], format!("option `{}`: ids are kebab-case", o.id)));
                        }
                        let template = pattern::parse_template(&o.replace, kind, &metas, &krate, &paths)
                            .map_err(|e| err_at(&["options", &j, "replace"], format!("option `{}`: {e}", o.id)))?;
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
            if matches!(body, Body::Signature(_)) && !matches!(action, Action::Replace { template: Some(_), .. }) {
                return Err(err("a signature rule takes `replace` (the new bound)".into()));
            }
            if !def.closure_bounds.is_empty() && !matches!(body, Body::Signature(_)) {
                return Err(err("`closure_bounds` is for signature rules (`kind = \"signature\"`)".into()));
            }
            let closure_bounds = def
                .closure_bounds
                .iter()
                .map(|b| pattern::parse_closure_bound(b, &metas, &krate))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| err_at(&["closure_bounds"], format!("`closure_bounds`: {e}")))?;
            if let Some(method) = &def.apply {
                if !matches!(body, Body::Signature(_)) {
                    return Err(err("`apply` is for signature rules (`kind = \"signature\"`)".into()));
                }
                if syn::parse_str::<syn::Ident>(method).is_err() {
                    return Err(err(format!("`apply`: `{method}` is not a method name")));
                }
            }
            if !def.on_impl.is_empty() {
                if !matches!(body, Body::Attribute(_)) {
                    return Err(err("`on_impl` is for attribute rules".into()));
                }
                if let Some(t) = def.on_impl.iter().find(|t| split_path(t).first() != Some(&krate) || split_path(t).len() < 2) {
                    return Err(err_at(&["on_impl"], format!("`on_impl`: `{t}` is not a full path of a trait of `{krate}`")));
                }
            }
            if let Body::Attribute(a) = &body {
                // A derive's helper attribute, by its one name.
                named.push(a.path.clone());
            }
            let introduces = introductions(&action, def, kind, &krate, &new_crates, &named);
            let safety = match (&action, def.safety) {
                (Action::Choice { .. } | Action::Note(_), _) | (_, Some(RuleSafety::NeedsReview)) => Safety::NeedsReview,
                _ if !introduces.is_empty() => Safety::NeedsReview,
                _ => Safety::Safe,
            };
            let message = if introduces.is_empty() {
                def.message.clone()
            } else {
                format!("{} (needs review: the replacement introduces {})", def.message, introduces.join(", "))
            };
            rules.push(CompiledRule {
                full_id: leak(format!("{}/{}", file.krate, def.id)),
                id: def.id.clone(),
                message,
                introduces,
                kind,
                body,
                trait_path: def.trait_path.as_deref().map(split_path),
                receiver_type: def.receiver_type.as_deref().map(split_path),
                constraints: def.constraints.clone(),
                action,
                safety,
                companions: companions.clone(),
                at_error: def.at_error.clone(),
                on_impl: def.on_impl.iter().map(|t| split_path(t)).collect(),
                apply: def.apply.clone(),
                closure_bounds,
            });
        }
        let mut shims = Vec::new();
        for (index, def) in file.shims.iter().enumerate() {
            let err = |path: &str, message: String| FormatError {
                file: source.to_string(),
                line: format::shim_line(text, index, &[path]).or_else(|| format::shim_line(text, index, &["id"])),
                message: format!("shim `{}`: {message}", def.id),
            };
            if !is_kebab(&def.id) {
                return Err(err("id", "ids are kebab-case".into()));
            }
            if !ids.insert(def.id.clone()) {
                return Err(err("id", "duplicate id (rules and shims share ids)".into()));
            }
            let full_id = leak(format!("{}/{}", file.krate, def.id));
            let shim = super::shim::compile(def, &krate, full_id).map_err(|e| err(if e.starts_with("`replaces`") { "replaces" } else { "code" }, e))?;
            shims.push(shim);
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
        if !shims.is_empty() {
            doc.push_str("\n## Shims\n\n");
            for s in &shims {
                let items: Vec<String> = s.replaces.iter().map(|r| format!("`{}`", r.join("::"))).collect();
                doc.push_str(&format!("- `{}` (`mod {}`, for {}): {}\n", s.full_id, s.module, items.join(", "), s.message));
            }
        }
        let safety = if !shims.is_empty() || rules.iter().any(|r| r.safety == Safety::NeedsReview) { Safety::NeedsReview } else { Safety::Safe };
        let meta = RuleMeta::leaked(format!("{}@{}-{}", file.krate, file.from, file.to), file.summary.clone(), safety, doc);
        let pack = CompiledPack { file, source: source.to_string(), krate, rules, prelude, traits, meta, shims };
        // A rule that rewrites its own output never settles: refused before any use.
        for (index, rule) in pack.rules.iter().enumerate() {
            if let Some((value, before, after)) = rewrites_own_output(&pack, index) {
                let line = format::rule_line(text, index, &value.iter().map(String::as_str).collect::<Vec<_>>());
                return Err(FormatError {
                    file: source.to_string(),
                    line,
                    message: format!(
                        "rule `{}`: the rule rewrites its own replacement again (`{before}` becomes `{after}`), so it would never settle: a replacement must not contain the rule's own pattern",
                        rule.id
                    ),
                });
            }
        }
        Ok(pack)
    }

    /// Where a path rule moves the path `full` (the longest `match` prefix wins; a rule
    /// matching only `use` items counts only `in_use`): the new path and the rule.
    pub(super) fn moved_by(&self, full: &[String], in_use: bool) -> Option<(Vec<String>, usize)> {
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

/// Whether the pack's rule `index` changes its own output: each of its replacements
/// (every option of a choice; a path rule's new path), instantiated with fresh names for
/// its metavariables (literals where `where` asks for one) and the pattern's paths as the
/// pack's path rules move them, in a file that gives the rule
/// what it needs to match (its trait imported, its receiver's type evident), is run
/// through the rule once more. A rule that matches there and changes the text again would
/// nest itself at every pass. Returns the value at fault (`["replace"]`,
/// `["options", "1", "replace"]`), the instantiated replacement and what the rule makes
/// of it.
fn rewrites_own_output(pack: &CompiledPack, index: usize) -> Option<(Vec<String>, String, String)> {
    let rule = &pack.rules[index];
    // (the value, the output, the option that wrote it)
    let mut outputs: Vec<(Vec<String>, String, Option<usize>)> = Vec::new();
    match &rule.action {
        Action::Replace { template: Some(t), .. } => outputs.push((vec!["replace".into()], instantiate(t, rule, pack), None)),
        Action::Replace { template: None, .. } => {
            let Body::Path { to, use_only, .. } = &rule.body else { return None };
            let path = to.join("::");
            // An item under the new path, as code names one.
            let output = if *use_only { format!("use {path}::converge;") } else { format!("{path}::converge()") };
            outputs.push((vec!["replace".into()], output, None));
        }
        Action::Choice { options, .. } => {
            for (j, o) in options.iter().enumerate() {
                outputs.push((vec!["options".into(), j.to_string(), "replace".into()], instantiate(&o.template, rule, pack), Some(j)));
            }
        }
        // A literal rule's pieces are checked to settle when compiled
        // (`literal::compile`); a note rewrites nothing.
        Action::Derive { .. } | Action::Literal(_) | Action::Note(_) => {}
    }
    for (value, output, option) in outputs {
        let mut head = String::new();
        if let Some(t) = &rule.trait_path {
            head.push_str(&format!("use {};\n", t.join("::")));
        }
        let receiver = match (&rule.body, &rule.receiver_type) {
            (Body::Expr(pattern::Pat::Method { receiver, .. }), Some(ty)) => match &**receiver {
                pattern::Pat::Meta(name) => format!("converge_{name}: {}", ty.join("::")),
                _ => String::new(),
            },
            _ => String::new(),
        };
        let (before, after) = match rule.kind {
            Kind::Use => (head, String::new()),
            Kind::Type => (format!("{head}type Converge = "), ";\n".to_string()),
            Kind::Attribute => (head, "\nfn converge() {}\n".to_string()),
            Kind::Signature => (format!("{head}fn converge() -> impl "), " {\n    loop {}\n}\n".to_string()),
            _ => (format!("{head}fn converge({receiver}) {{\n    let _ = "), ";\n}\n".to_string()),
        };
        let text = format!("{before}{output}{after}");
        let Ok(parsed) = crate::syntax::parsed::Parsed::parse(&text) else { continue };
        let env = super::resolve::Env::plain(&pack.krate);
        let range = |s: proc_macro2::Span| parsed.range(s);
        let run = super::run::run_pack(&super::run::RunCx {
            single_rule: Some(index),
            assume_errors: true,
            ..super::run::RunCx::new(pack, &env, &parsed, &text, &range)
        });
        // Edits of the replacement itself (not the imports it needs, which the first pass
        // added).
        let output_range = before.len()..text.len() - after.len();
        // A choice's option is taken again where it was taken (an option that keeps the
        // code as it is settles); where the judge is not asked, the conservative one is.
        let mut edits: Vec<crate::core::model::Edit> = match (option, &rule.action) {
            (Some(j), _) if run.choices.iter().any(|c| c.rule == index) => {
                run.choices.iter().filter(|c| c.rule == index).flat_map(|c| c.options[j].2.clone()).collect()
            }
            (Some(j), Action::Choice { conservative, .. }) if j != *conservative => Vec::new(),
            _ => run.changes.into_iter().filter(|c| c.0 == index).flat_map(|c| c.3).collect(),
        };
        edits.retain(|e| e.range.start < output_range.end && e.range.end > output_range.start);
        if edits.is_empty() {
            continue;
        }
        let Ok(again) = crate::core::plan::apply_edits(&text, &edits) else { continue };
        let shown = again.get(before.len()..again.len().saturating_sub(after.len())).unwrap_or(&again).trim().to_string();
        return Some((value, output.trim().to_string(), shown));
    }
    None
}

/// A template rendered with fresh names for its metavariables (`converge_x`; a literal
/// where the rule's `where` asks for one), the pattern's paths written in full where the
/// pack's path rules move them.
fn instantiate(template: &Template, rule: &CompiledRule, pack: &CompiledPack) -> String {
    use super::matcher::Binding;
    let mut text = String::new();
    let mut bindings = BTreeMap::new();
    for piece in &template.pieces {
        let (pattern::Piece::Var(name) | pattern::Piece::Rest(name)) = piece else { continue };
        if bindings.contains_key(name) {
            continue;
        }
        // The pattern's paths as the whole pack leaves them: moved by its path rules.
        let moved = |key: &str| pack.moved_by(&split_path(key), false).map_or_else(|| split_path(key), |(new, _)| new);
        let value = if let Some(key) = name.strip_prefix("@path:") {
            moved(key).join("::")
        } else if let Some(key) = name.strip_prefix("@pathhead:") {
            let mut head = moved(key);
            head.pop();
            head.iter().map(|s| format!("{s}::")).collect()
        } else {
            match rule.constraints.get(name) {
                Some(format::Constraint::FloatLiteral) => "1.5".into(),
                Some(format::Constraint::IntLiteral | format::Constraint::Literal) => "1".into(),
                Some(format::Constraint::StringLiteral) => "\"s\"".into(),
                Some(format::Constraint::ByteStringLiteral) => "b\"s\"".into(),
                Some(format::Constraint::Simple) | None => format!("converge_{name}"),
            }
        };
        let start = text.len();
        text.push_str(&value);
        bindings.insert(name.clone(), Binding { range: start..text.len(), loose: 0 });
        text.push(' ');
    }
    super::template::render(template, &bindings, &text, &pack.krate)
}

/// What a rule's replacements (every option of a choice), imports and derives introduce
/// beyond its pattern; computed once, when the pack is compiled.
fn introductions(action: &Action, def: &format::RuleDef, kind: Kind, krate: &str, new_crates: &[String], named: &[Vec<String>]) -> Vec<String> {
    use super::introduced::{introduced, introduced_derives, introduced_imports};
    let mut crates = vec![krate.to_string()];
    crates.extend(new_crates.iter().cloned());
    let own = |imports: &[Vec<String>]| -> Vec<String> {
        let mut names = crates.clone();
        names.extend(imports.iter().filter(|p| p.len() > 1 && crates.contains(&p[0])).filter_map(|p| p.last().cloned()));
        names
    };
    let mut out: Vec<String> = Vec::new();
    let mut add = |found: Vec<String>| {
        for f in found {
            if !out.contains(&f) {
                out.push(f);
            }
        }
    };
    match action {
        Action::Replace { template, imports } => {
            if template.is_some() {
                add(introduced(def.replace.as_deref().unwrap_or_default(), kind, &own(imports), named));
            }
            add(introduced_imports(imports, &crates));
        }
        Action::Choice { options, .. } => {
            for (o, def) in options.iter().zip(&def.options) {
                add(introduced(&def.replace, kind, &own(&o.imports), named));
                add(introduced_imports(&o.imports, &crates));
            }
        }
        Action::Derive { traits } => add(introduced_derives(traits, &crates)),
        // Text inside a literal's piece, or nothing at all.
        Action::Literal(_) | Action::Note(_) => {}
    }
    out
}

impl Mover for CompiledPack {
    fn moved(&self, full: &[String], in_use: bool) -> Option<(Vec<String>, usize)> {
        self.moved_by(full, in_use)
    }

    fn trait_methods(&self, path: &[String]) -> Option<&[String]> {
        self.traits.get(path).map(Vec::as_slice)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "crate = \"mini\"\nfrom = \"1\"\nto = \"2\"\nsummary = \"s\"\n";

    fn rule(id: &str, pattern: &str, replace: &str) -> String {
        format!("\n[[rule]]\nid = \"{id}\"\nmessage = \"m\"\nmatch = \"{pattern}\"\nreplace = \"{replace}\"\n")
    }

    /// A pattern error names the metavariables as the author wrote them (`$x`, never the
    /// parser's stand-in `__mv_x`) and points at the line of the rule's `match` value,
    /// not at another rule's.
    #[test]
    fn pattern_errors_name_metavariables_and_the_line_of_their_value() {
        let text = format!(
            "{HEAD}{}{}{}",
            rule("first", "mini::a($x)", "mini::b($x)"),
            rule("second", "$r.old($..args)", "$r.new($..args)"),
            rule("third", "$x.frob($y +)", "$x.frobnicate($y)")
        );
        let err = CompiledPack::from_text(&text, "packs/mini.toml").unwrap_err().to_string();
        assert_eq!(
            err,
            "packs/mini.toml:21: rule `third`: `match`: `$x.frob($y +)` is neither an expression nor a type: unexpected end of input, expected an expression"
        );
        // A template's error points at its `replace`.
        let text = format!("{HEAD}{}{}", rule("first", "mini::a($x)", "mini::b($x)"), rule("second", "$r.old($..args)", "$r.new($..args"));
        let err = CompiledPack::from_text(&text, "packs/mini.toml").unwrap_err();
        assert_eq!(err.line, Some(16), "{err}");
        assert!(!err.message.contains("__mv_"), "{err}");
    }

    /// A rule whose replacement contains its own pattern would nest itself at every pass
    /// (`.into_iter().collect()` four times): the pack is refused when compiled, naming the
    /// file, the line of the `replace` and the rule.
    #[test]
    fn a_rule_that_rewrites_its_own_output_is_refused_when_compiled() {
        let method =
            "\n[[rule]]\nid = \"collect\"\nmessage = \"m\"\ntrait = \"mini::Collect\"\nmatch = \"$v.collect()\"\nreplace = \"$v.into_iter().collect()\"\n";
        let text = format!("{HEAD}{}{method}", rule("first", "mini::a($x)", "mini::b($x)"));
        let err = CompiledPack::from_text(&text, "packs/mini.toml").unwrap_err().to_string();
        assert_eq!(
            err,
            "packs/mini.toml:17: rule `collect`: the rule rewrites its own replacement again (`converge_v.into_iter().collect()` becomes `converge_v.into_iter().into_iter().collect()`), so it would never settle: a replacement must not contain the rule's own pattern"
        );
        let text = format!("{HEAD}{}", rule("wrap", "mini::a($x)", "mini::a(mini::a($x))"));
        let err = CompiledPack::from_text(&text, "p.toml").unwrap_err();
        assert_eq!(err.line, Some(10), "{err}");
        // A path rule moving an item under itself.
        let text = format!("{HEAD}{}", rule("nest", "mini::a", "mini::a::inner"));
        assert!(CompiledPack::from_text(&text, "p.toml").unwrap_err().to_string().contains("rule `nest`: the rule rewrites its own replacement again"));
        // Any option of a choice (a model may pick it); an option that keeps the code
        // settles.
        let choice = "\n[[rule]]\nid = \"pick\"\nmessage = \"m\"\nmatch = \"mini::a($x)\"\nquestion = \"q\"\n[[rule.options]]\nid = \"keep\"\nconservative = true\nreplace = \"mini::a($x)\"\nwhen = \"w\"\n[[rule.options]]\nid = \"wrap\"\nreplace = \"mini::b(mini::a($x))\"\nwhen = \"w\"\n";
        let err = CompiledPack::from_text(&format!("{HEAD}{choice}"), "p.toml").unwrap_err();
        assert_eq!(err.line, Some(18), "the `replace` of option `wrap`: {err}");
        assert!(err.message.starts_with("rule `pick`: the rule rewrites its own replacement again (`mini::b(mini::a(converge_x))` becomes"), "{err}");
        // A replacement equal to its pattern (an import added, say) settles.
        let text = format!("{HEAD}{}", rule("same", "mini::a($x)", "mini::a($x)"));
        assert!(CompiledPack::from_text(&text, "p.toml").is_ok());
    }

    /// A signature rule's pattern is an `Fn` bound with its return type, its template a
    /// bound, its `apply` a method name; `apply` is for signature rules only.
    #[test]
    fn signature_rules_are_checked_when_compiled() {
        let sig = |m: &str, r: &str, tail: &str| {
            CompiledPack::from_text(
                &format!("{HEAD}\n[[rule]]\nid = \"s\"\nmessage = \"m\"\nkind = \"signature\"\nmatch = \"{m}\"\nreplace = \"{r}\"\n{tail}"),
                "p.toml",
            )
        };
        let pack = sig("FnMut($I) -> mini::Res<$I, $O>", "mini::Parser<$I, Output = $O>", "apply = \"parse\"\n").unwrap();
        assert_eq!(pack.rules[0].kind, Kind::Signature);
        assert_eq!(pack.rules[0].apply.as_deref(), Some("parse"));
        let err = |m: &str, r: &str, tail: &str| sig(m, r, tail).unwrap_err().to_string();
        assert!(err("Clone", "mini::Parser", "").contains("a signature pattern is a bound of `Fn`, `FnMut` or `FnOnce`: `Clone`"));
        assert!(err("FnMut($I)", "mini::Parser<$I>", "").contains("a signature pattern writes its return type"));
        assert!(err("FnMut($I) -> $O", "mini::Parser<$I, Output = >", "").contains("`replace`: template `mini::Parser<$I, Output = >` does not parse"));
        assert!(err("FnMut($I) -> $O", "mini::Parser<$I, Output = $O>", "apply = \"parse(x)\"\n").contains("`apply`: `parse(x)` is not a method name"));
        let not_sig =
            CompiledPack::from_text(&format!("{HEAD}{}apply = \"parse\"\n", rule("r", "mini::a($x)", "mini::b($x)")), "p.toml").unwrap_err().to_string();
        assert!(not_sig.contains("`apply` is for signature rules"), "{not_sig}");
        let note = CompiledPack::from_text(
            &format!("{HEAD}\n[[rule]]\nid = \"s\"\nmessage = \"m\"\nkind = \"signature\"\nmatch = \"Fn($I) -> $O\"\nnote = \"n\"\n"),
            "p.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(note.contains("`literal` and `note` are for expression, type and attribute rules"), "{note}");
        // `closure_bounds`: where-predicates over the pattern's metavariables.
        let ok =
            sig("FnMut($I) -> mini::Res<$I, $O, $E>", "mini::Parser<$I, Output = $O, Error = $E>", "closure_bounds = [\"$E: mini::Error<$I>\"]\n").unwrap();
        assert_eq!(ok.rules[0].closure_bounds[0].var, "E");
        assert_eq!(ok.rules[0].closure_bounds[0].traits, ["Error"]);
        assert!(err("FnMut($I) -> $O", "mini::Parser<$I, Output = $O>", "closure_bounds = [\"$X: mini::Error<$I>\"]\n")
            .contains("`$X`, which the pattern does not bind"));
        assert!(
            err("FnMut($I) -> $O", "mini::Parser<$I, Output = $O>", "closure_bounds = [\"$I\"]\n").contains("`closure_bounds`: `$I` is not a where-predicate")
        );
        assert!(
            err("FnMut($I) -> $O", "mini::Parser<$I, Output = $O>", "closure_bounds = [\"Vec<$I>: Clone\"]\n").contains("the bounded type is one metavariable")
        );
        let elsewhere = CompiledPack::from_text(&format!("{HEAD}{}closure_bounds = [\"$x: Clone\"]\n", rule("r", "mini::a($x)", "mini::b($x)")), "p.toml")
            .unwrap_err()
            .to_string();
        assert!(elsewhere.contains("`closure_bounds` is for signature rules"), "{elsewhere}");
    }

    /// `literal`, `note` and `on_impl` are checked when the pack is compiled, each error
    /// naming the rule and pointing at its line.
    #[test]
    fn literal_note_and_on_impl_are_checked_when_compiled() {
        let err = |tail: &str| CompiledPack::from_text(&format!("{HEAD}\n[[rule]]\nid = \"r\"\nmessage = \"m\"\n{tail}"), "p.toml").unwrap_err().to_string();
        let lit = "literal = { var = \"p\", syntax = \"path\", rewrite = [{ from = \":$n\", to = \"{$n}\" }] }\n";
        assert!(CompiledPack::from_text(
            &format!("{HEAD}\n[[rule]]\nid = \"r\"\nmessage = \"m\"\nmatch = \"$r.route($p)\"\nwhere = {{ p = \"string-literal\" }}\n{lit}"),
            "p.toml"
        )
        .is_ok());
        assert_eq!(err(&format!("match = \"$r.route($p)\"\n{lit}")), "p.toml:10: rule `r`: `literal.var`: `where` must constrain `p` to `string-literal`");
        assert!(err(&format!("match = \"$r.route($q)\"\nwhere = {{ q = \"string-literal\" }}\n{lit}")).contains("the pattern does not bind `$p`"));
        assert!(err(&format!("match = \"$r.route($p)\"\nreplace = \"$r.go($p)\"\nwhere = {{ p = \"string-literal\" }}\n{lit}"))
            .contains("give one of `replace`, `question` with `options`, `literal` or `note`"));
        assert!(err(&format!("match = \"$r.route($p)\"\nwhere = {{ p = \"string-literal\" }}\n{}", lit.replace("{$n}", "\\\"$n")))
            .contains("`literal`: `to = \"\\\"$n\"`: a piece of a URL path cannot hold '\"'"));
        assert!(err("match = \"mini::old\"\nnote = \"n\"\n").contains("`literal` and `note` are for expression, type and attribute rules"));
        assert!(err("match = \"mini::a($x)\"\nreplace = \"mini::b($x)\"\non_impl = [\"mini::T\"]\n").contains("`on_impl` is for attribute rules"));
        assert!(
            err("match = \"#[mini::m]\"\nreplace = \"\"\non_impl = [\"other::T\"]\n").contains("`on_impl`: `other::T` is not a full path of a trait of `mini`")
        );
        // A note rule is needs-review; an attribute removal compiles.
        let pack =
            CompiledPack::from_text(&format!("{HEAD}\n[[rule]]\nid = \"n\"\nmessage = \"m\"\nmatch = \"$a.parse_meta()\"\nnote = \"by hand\"\n"), "p.toml")
                .unwrap();
        assert_eq!(pack.rules[0].safety, Safety::NeedsReview);
        assert!(CompiledPack::from_text(&format!("{HEAD}\n[[rule]]\nid = \"n\"\nmessage = \"m\"\nmatch = \"#[mini::m]\"\nreplace = \"\"\n"), "p.toml").is_ok());
    }
}
