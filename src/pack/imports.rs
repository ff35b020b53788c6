//! Replacing, for `use` items: leaves renamed, moved, aliased, removed or added as the
//! pack's rules require, as byte-range edits on the `use` items — never a re-printed
//! item.
//!
//! When a rule renames an item that a file imports by name (`thread_rng` → `rng`), the
//! name changes everywhere at once: in the `use` leaf and at every use site. That is
//! only done when every occurrence of the old name in the file was understood (resolved
//! through that import); otherwise the leaf keeps the old name as an alias
//! (`use rand::rng as thread_rng;`). When the new name is taken in the file (a local
//! `let rng = ..`), the sites are written out in full (`rand::rng()`) and the leaf is
//! removed, so no unused import is left behind.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

use super::matcher::PathSite;
use super::resolve::{Facts, LeafKind, UseNode, Via};
use super::template::segment_edits;
use crate::core::model::Edit;
use crate::core::text::{indentation_at, line_ending, LineIndex};

/// What happens to the name a leaf binds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LocalPlan {
    /// It stays.
    Same,
    /// It becomes this name, in the leaf and at every site.
    Renamed(String),
    /// The new name is already imported from the same path: the leaf goes, sites take it.
    Merge(String),
    /// The sites are written out in full and the leaf goes.
    Qualify,
    /// The leaf keeps the old name as an alias.
    Aliased,
    /// Every site of the name was rewritten away by expression rules: the leaf goes.
    Remove,
}

/// The plan for one leaf.
#[derive(Clone, Debug)]
pub struct LeafPlan {
    /// The leaf's new full path and the rule that moves it, if it moves.
    pub moved: Option<(Vec<String>, usize)>,
    /// What happens to its local name.
    pub local: LocalPlan,
}

/// A `use` the rewritten code needs.
#[derive(Clone, Debug)]
pub struct ImportAdd {
    /// Full path (starting with the crate).
    pub path: Vec<String>,
    /// The leaf that brought the rule's trait in scope, if any (the new `use` goes
    /// next to it, and may replace it).
    pub anchor: Option<usize>,
    /// The rule that needs it.
    pub rule: usize,
}

/// How paths move: the pack's path rules.
pub trait Mover {
    /// The new full path of `full` and the rule that moves it (the rule with the
    /// longest matching prefix), if any. `in_use` includes `use`-only rules.
    fn moved(&self, full: &[String], in_use: bool) -> Option<(Vec<String>, usize)>;
    /// Methods of traits in the new release (pack-declared), by trait path.
    fn trait_methods(&self, path: &[String]) -> Option<&[String]>;
}

/// Decides what happens to every leaf, given the code's path sites and the ranges of
/// paths that expression rules rewrite away (with the rule).
pub fn plan_leaves(facts: &Facts, sites: &[PathSite], adds: &[ImportAdd], consumed: &[(Range<usize>, usize)], mover: &dyn Mover) -> Vec<LeafPlan> {
    let mut plans: Vec<LeafPlan> =
        facts.leaves.iter().map(|leaf| LeafPlan { moved: leaf.target.as_ref().and_then(|t| mover.moved(t, true)), local: LocalPlan::Same }).collect();
    // A name whose every use an expression or attribute rule rewrote away is imported for
    // nothing, even where a path rule would move it.
    for (i, leaf) in facts.leaves.iter().enumerate() {
        let (Some(name), Some(target)) = (&leaf.local, &leaf.target) else { continue };
        let mine: Vec<&PathSite> =
            sites.iter().filter(|s| matches!(s.resolved.via, Via::Import(l) if facts.leaves[l].local.as_deref() == Some(name.as_str()))).collect();
        let total = facts.ident_count.get(name).copied().unwrap_or(0);
        let rules: Vec<usize> = mine.iter().filter_map(|s| consumed.iter().find(|(r, _)| r.contains(&s.written[0].1.start)).map(|(_, rule)| *rule)).collect();
        if !mine.is_empty() && rules.len() == mine.len() && total == mine.len() {
            plans[i] = LeafPlan { moved: Some((target.clone(), rules[0])), local: LocalPlan::Remove };
        }
    }
    // A trait whose methods moved elsewhere is replaced by the new trait, when nothing in
    // the file uses it any more.
    for add in adds {
        let Some(anchor) = add.anchor else { continue };
        let leaf = &facts.leaves[anchor];
        let (Some(target), LeafKind::Name) = (&leaf.target, leaf.kind) else { continue };
        let Some(methods) = mover.trait_methods(target) else { continue };
        let still_used =
            methods.iter().any(|m| facts.all_idents.contains(m)) || leaf.local.as_ref().is_some_and(|l| l != "_" && facts.ident_count.contains_key(l));
        if !still_used && plans[anchor].moved.is_none() && !facts.in_scope_after(&add.path) {
            plans[anchor].moved = Some((add.path.clone(), add.rule));
        }
    }
    // Names earlier leaves are renamed to: (their `use` item, the name, the path). Two
    // leaves that move to the same item (`nom::{InputIter, InputLength}` → `nom::Input`)
    // must not both import it.
    let mut renamed: Vec<(usize, String, Vec<String>)> = Vec::new();
    let same_scope = |a: usize, b: usize| a == b || (facts.uses[a].top_level && facts.uses[b].top_level);
    for (i, leaf) in facts.leaves.iter().enumerate() {
        let Some((new, rule)) = &plans[i].moved else { continue };
        if leaf.kind == LeafKind::Glob || leaf.alias.is_some() || plans[i].local == LocalPlan::Remove {
            continue;
        }
        let Some(old_name) = &leaf.local else { continue };
        let new_name = new.last().expect("a path");
        if old_name == new_name {
            continue;
        }
        let understood = sites
            .iter()
            .filter(|s| matches!(s.resolved.via, Via::Import(l) if facts.leaves[l].local.as_deref() == Some(old_name.as_str())) && s.written[0].0 == *old_name)
            .count();
        let total = facts.ident_count.get(old_name).copied().unwrap_or(0);
        // A `use`-only rule leaves the sites alone: they keep the old name.
        let use_only = mover.moved(leaf.target.as_ref().expect("moved"), false).is_none_or(|(_, r)| r != *rule);
        plans[i].local = if total > 0 && (understood < total || use_only) {
            LocalPlan::Aliased
        } else if facts.leaves.iter().any(|l| l.local.as_deref() == Some(new_name.as_str()) && l.target.as_ref() == Some(new))
            || renamed.iter().any(|(item, name, path)| name == new_name && path == new && same_scope(*item, leaf.item))
        {
            LocalPlan::Merge(new_name.clone())
        } else if facts.is_free(new_name) && !renamed.iter().any(|(_, name, _)| name == new_name) {
            renamed.push((leaf.item, new_name.clone(), new.clone()));
            LocalPlan::Renamed(new_name.clone())
        } else {
            LocalPlan::Qualify
        };
    }
    plans
}

/// Edits of `use` items, each with the rule it belongs to, and notes for what could not
/// be done.
pub struct UseEdits {
    /// The edits.
    pub edits: Vec<(usize, Edit)>,
    /// What was left alone, with the rule and byte offset.
    pub notes: Vec<(usize, usize, String)>,
}

/// A full path as the file writes it: the pack's crate by its local name, another crate
/// (one the item moved to) by its own.
fn written_path(facts: &Facts, krate: &str, path: &[String]) -> String {
    let head = if path[0] == facts.krate { krate } else { path[0].as_str() };
    std::iter::once(head).chain(path[1..].iter().map(String::as_str)).collect::<Vec<_>>().join("::")
}

/// Computes the edits of the `use` items from the leaf plans and the imports to add.
pub fn use_edits(facts: &Facts, plans: &[LeafPlan], adds: &[ImportAdd], mover: &dyn Mover, text: &str) -> UseEdits {
    let mut out = UseEdits { edits: Vec::new(), notes: Vec::new() };
    let lines = LineIndex::new(text);
    let newline = line_ending(text);
    let krate = facts.crate_local_name().to_string();
    // Per item: leaves removed, shared-segment renames, leaf edits, inserted items.
    let mut removed: BTreeMap<usize, Vec<(usize, usize)>> = BTreeMap::new(); // item -> (leaf, rule)
    let mut shared: BTreeMap<(usize, usize), (String, usize)> = BTreeMap::new();
    let mut conflicted: BTreeSet<usize> = BTreeSet::new();
    let mut leaf_edits: Vec<(usize, usize, Edit)> = Vec::new(); // (item, rule, edit)
    let mut inserts: BTreeMap<usize, Vec<(usize, String)>> = BTreeMap::new(); // item -> (rule, `use` text)

    for (i, leaf) in facts.leaves.iter().enumerate() {
        let plan = &plans[i];
        let Some((new, rule)) = &plan.moved else { continue };
        let rule = *rule;
        if matches!(plan.local, LocalPlan::Qualify | LocalPlan::Merge(_) | LocalPlan::Remove) {
            removed.entry(leaf.item).or_default().push((i, rule));
            continue;
        }
        // `::rand::x`, and `crate::rand::x` / `self::rand::x` through a module that
        // re-exports the crate (`Facts::reexports`): the crate's name is the segment after.
        let through_reexport =
            leaf.written.first().is_some_and(|(s, _)| s == "crate" || s == "self") && leaf.written.get(1).is_some_and(|(s, _)| facts.reexports.contains(s));
        let off = usize::from(leaf.written.first().is_some_and(|(s, _)| s.is_empty()) || through_reexport);
        let written: Vec<&(String, Range<usize>)> = leaf.written[off..].iter().collect();
        if written.first().is_none_or(|(first, _)| !facts.crate_names.contains(first)) {
            out.notes.push((
                rule,
                leaf.own_range.start,
                format!("this `use` reaches `{}` through another import: rewrite it by hand", leaf.target.as_ref().map(|t| t.join("::")).unwrap_or_default()),
            ));
            continue;
        }
        // Shared segments take the name their own prefix moves to, if it moves in place.
        // Everything here is in written form: the crate as the file names it.
        let shared_count = leaf.shared.saturating_sub(off);
        // The crate as the file names it; a crate the item moved to by its own name.
        let mut new_written = vec![if new[0] == facts.krate { written[0].0.clone() } else { new[0].clone() }];
        new_written.extend(new[1..].iter().cloned());
        let mut new_prefix: Vec<String> = written.iter().take(shared_count.min(1)).map(|(s, _)| s.clone()).collect();
        let mut fits = true;
        for (j, (name, range)) in written.iter().enumerate().take(shared_count).skip(1) {
            let mut prefix = vec![facts.krate.clone()];
            prefix.extend(written[1..=j].iter().map(|(s, _)| s.clone()));
            let wanted = match mover.moved(&prefix, true) {
                Some((p, _)) if p.len() == prefix.len() => p.last().expect("a path").clone(),
                Some(_) => {
                    fits = false;
                    name.clone()
                }
                None => name.clone(),
            };
            if wanted != *name {
                match shared.get(&(range.start, range.end)) {
                    Some((other, _)) if *other != wanted => {
                        conflicted.insert(leaf.item);
                    }
                    _ => {
                        shared.insert((range.start, range.end), (wanted.clone(), rule));
                    }
                }
            }
            new_prefix.push(wanted);
        }
        let alias = match (&leaf.alias, &plan.local) {
            (Some(_), _) => None, // kept as written
            (None, LocalPlan::Aliased) => leaf.local.clone(),
            _ => None,
        };
        let in_place = fits && new_written.starts_with(&new_prefix) && (leaf.kind != LeafKind::SelfName || new_written.len() == new_prefix.len());
        if in_place {
            let old_own: Vec<(String, Range<usize>, bool)> = written[shared_count..].iter().map(|(s, r)| (s.clone(), r.clone(), false)).collect();
            let new_own = &new_written[new_prefix.len()..];
            if old_own.is_empty() && !new_own.is_empty() {
                // `{self}` cannot grow a path: move it out instead.
            } else {
                match segment_edits(&old_own, new_own) {
                    Ok(edits) => leaf_edits.extend(edits.into_iter().map(|e| (leaf.item, rule, e))),
                    Err(e) => out.notes.push((rule, leaf.own_range.start, e)),
                }
                if let Some(alias) = alias {
                    leaf_edits.push((leaf.item, rule, Edit::insert(leaf.own_range.end, format!(" as {alias}"))));
                }
                continue;
            }
        }
        // Moved out of its group: removed here, added as its own `use`.
        removed.entry(leaf.item).or_default().push((i, rule));
        let alias = leaf.alias.as_ref().map(|(a, _)| a.clone()).or(alias);
        let glob = if leaf.kind == LeafKind::Glob { "::*" } else { "" };
        let text = format!("use {}{glob}{};", written_path(facts, &krate, new), alias.map(|a| format!(" as {a}")).unwrap_or_default());
        inserts.entry(leaf.item).or_default().push((rule, text));
    }

    // Imports to add, once each, next to the leaf that brought the rule's trait.
    let mut added: BTreeSet<Vec<String>> = BTreeSet::new();
    for add in adds {
        if facts.in_scope_after(&add.path) || added.contains(&add.path) {
            continue;
        }
        if plans.iter().any(|p| p.moved.as_ref().is_some_and(|(m, _)| *m == add.path)) {
            continue; // a leaf becomes it
        }
        added.insert(add.path.clone());
        let text = format!("use {};", written_path(facts, &krate, &add.path));
        match add.anchor {
            Some(leaf) => inserts.entry(facts.leaves[leaf].item).or_default().push((add.rule, text)),
            None => {
                let edit = match facts.first_use {
                    // Before the first `use`, on a line of its own.
                    Some(start) => Edit::insert(lines.line_start(start), format!("{text}{newline}")),
                    None if facts.insert_at == 0 => Edit::insert(0, format!("{text}{newline}")),
                    None => Edit::insert(facts.insert_at, format!("{newline}{text}")),
                };
                out.edits.push((add.rule, edit));
            }
        }
    }

    for item in conflicted.iter().copied() {
        out.notes.push((usize::MAX, facts.uses[item].range.start, "this `use` group holds paths that move differently: split it by hand".into()));
    }
    for ((start, end), (name, rule)) in shared {
        if !facts.uses.iter().enumerate().any(|(i, u)| conflicted.contains(&i) && u.range.contains(&start)) {
            out.edits.push((rule, Edit::replace(start..end, name)));
        }
    }
    for (item, rule, edit) in leaf_edits {
        if !conflicted.contains(&item) {
            out.edits.push((rule, edit));
        }
    }
    for (item, leaves) in &removed {
        if conflicted.contains(item) {
            continue;
        }
        let gone: BTreeSet<usize> = leaves.iter().map(|(l, _)| *l).collect();
        let rule = leaves[0].1;
        let use_item = &facts.uses[*item];
        match removal(&use_item.tree, &gone) {
            // Every leaf moves out, and some into `use` items of their own: the first of
            // those takes the item's place (an insertion inside a removed line would clash).
            Removal::All if inserts.get(item).is_some_and(|t| !t.is_empty()) => {
                let (rule, first) = inserts.get_mut(item).expect("checked").remove(0);
                out.edits.push((rule, Edit::replace(use_item.range.clone(), first)));
            }
            Removal::All => out.edits.push((rule, remove_item(text, &lines, use_item.range.clone()))),
            Removal::Some(edits) => out.edits.extend(edits.into_iter().map(|e| (rule, e))),
            Removal::None => {}
        }
    }
    for (item, texts) in inserts {
        if conflicted.contains(&item) {
            continue;
        }
        let range = &facts.uses[item].range;
        let indent = indentation_at(text, &lines, range.start);
        for (rule, t) in texts {
            out.edits.push((rule, Edit::insert(range.end, format!("{newline}{indent}{t}"))));
        }
    }
    out
}

/// What removing some leaves of a `use` tree comes to.
pub(super) enum Removal {
    /// Every leaf goes: the whole item.
    All,
    /// These edits.
    Some(Vec<Edit>),
    /// Nothing.
    None,
}

/// The edits removing the leaves `gone` from a `use` tree.
pub(super) fn removal(node: &UseNode, gone: &BTreeSet<usize>) -> Removal {
    match node {
        UseNode::Leaf(l, _) => {
            if gone.contains(l) {
                Removal::All
            } else {
                Removal::None
            }
        }
        UseNode::Path(_, child) => removal(child, gone),
        UseNode::Group(_, items) => {
            let results: Vec<Removal> = items.iter().map(|i| removal(i, gone)).collect();
            if results.iter().all(|r| matches!(r, Removal::All)) {
                return Removal::All;
            }
            let kept: Vec<usize> = (0..items.len()).filter(|i| !matches!(results[*i], Removal::All)).collect();
            if let ([k], UseNode::Group(braces, _)) = (kept.as_slice(), node) {
                if matches!(results[*k], Removal::None) && !matches!(items[*k], UseNode::Group(..)) {
                    // One item left: `rand::{Rng}` becomes `rand::Rng`.
                    let item = items[*k].range();
                    return Removal::Some(vec![Edit::replace(braces.start..item.start, ""), Edit::replace(item.end..braces.end, "")]);
                }
            }
            let mut edits = Vec::new();
            let last_kept = *kept.last().expect("one is kept");
            for (i, r) in results.into_iter().enumerate() {
                match r {
                    Removal::All if i < last_kept => edits.push(Edit::replace(items[i].range().start..items[i + 1].range().start, "")),
                    Removal::All => {}
                    Removal::Some(e) => edits.extend(e),
                    Removal::None => {}
                }
            }
            if last_kept + 1 < items.len() {
                edits.push(Edit::replace(items[last_kept].range().end..items[items.len() - 1].range().end, ""));
            }
            if edits.is_empty() {
                Removal::None
            } else {
                Removal::Some(edits)
            }
        }
    }
}

/// Removes a whole item, with its line when it stands alone on it.
pub(super) fn remove_item(text: &str, lines: &LineIndex, range: Range<usize>) -> Edit {
    let line_start = lines.line_start(range.start);
    let before = &text[line_start..range.start];
    let rest = &text[range.end..];
    let eol = rest.find('\n').map_or(rest.len(), |i| i + 1);
    if before.trim().is_empty() && rest[..eol].trim().is_empty() {
        Edit::replace(line_start..range.end + eol, "")
    } else {
        Edit::replace(range, "")
    }
}
