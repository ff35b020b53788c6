//! Running a compiled pack on one parsed file: matches, rendered templates, moved paths
//! and `use` items, turned into changes, notes and the judge's choices.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

use super::compile::{split_path, Action, ChoiceOption, CompiledPack};
use super::format::Kind;
use super::imports::{self, ImportAdd, LocalPlan, Mover};
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
