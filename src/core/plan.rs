//! Plan: choose a consistent set of changes per file and apply it to the text.
//!
//! Edits are byte-range replacements on the original text. Two edits conflict when their
//! ranges overlap, or when an insertion falls strictly inside a replaced range (or at its
//! start, for an insertion that belongs to the token after it: `r#`); identical
//! edits are applied once; insertions at the same offset keep their order. A change whose
//! edits conflict with an already accepted change is deferred, never dropped in silence:
//! the caller re-checks the new text (a fixed point, capped) and reports what is left.

use std::ops::Range;

use crate::core::migration::FileResult;
use crate::core::model::{Change, Decider, Diagnostic, Edit, Level, Unchanged, UnchangedReason};
use crate::core::text::SourceFile;

/// Why a set of edits could not be applied.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EditError {
    /// Two edits overlap.
    #[error("edits at {a:?} and {b:?} overlap")]
    Overlap {
        /// The first range.
        a: Range<usize>,
        /// The second range.
        b: Range<usize>,
    },
    /// An edit lies outside the text or not on a character boundary.
    #[error("edit at {0:?} is outside the text or splits a character")]
    OutOfBounds(Range<usize>),
}

/// Whether two edits conflict (see the module docs). Identical edits do not.
pub fn conflicts(a: &Edit, b: &Edit) -> bool {
    if a == b {
        return false;
    }
    let (x, y) = (&a.range, &b.range);
    if x.is_empty() && y.is_empty() {
        return false; // two insertions, even at one offset
    }
    if x.is_empty() {
        return (y.start < x.start || (y.start == x.start && a.binds_forward())) && x.start < y.end;
    }
    if y.is_empty() {
        return (x.start < y.start || (x.start == y.start && b.binds_forward())) && y.start < x.end;
    }
    x.start < y.end && y.start < x.end
}

/// Applies edits to `text`. Edits are taken in the given order for insertions at the
/// same offset; identical edits count once.
pub fn apply_edits(text: &str, edits: &[Edit]) -> Result<String, EditError> {
    let mut sorted: Vec<(usize, &Edit)> = edits.iter().enumerate().collect();
    // Stable by start, then replacements after insertions at the same offset.
    sorted.sort_by_key(|(i, e)| (e.range.start, !e.range.is_empty(), *i));
    let mut seen = std::collections::HashSet::new();
    sorted.retain(|(_, e)| seen.insert(*e));
    let mut out = String::with_capacity(text.len() + edits.iter().map(|e| e.replacement.len()).sum::<usize>());
    let mut pos = 0;
    let mut last: Option<&Edit> = None;
    for (_, edit) in sorted {
        let r = &edit.range;
        if r.end > text.len() || r.start > r.end || !text.is_char_boundary(r.start) || !text.is_char_boundary(r.end) {
            return Err(EditError::OutOfBounds(r.clone()));
        }
        if r.start < pos || last.is_some_and(|l| conflicts(l, edit)) {
            let a = last.map_or(r.clone(), |l| l.range.clone());
            return Err(EditError::Overlap { a, b: r.clone() });
        }
        out.push_str(&text[pos..r.start]);
        out.push_str(&edit.replacement);
        pos = r.end;
        last = Some(edit);
    }
    out.push_str(&text[pos..]);
    Ok(out)
}

/// Splits the changes of one file into those that can be applied together (in order of
/// preference: the given order) and those that conflict with an accepted one.
///
/// Each edit is checked against an index of the accepted ones ([`EditIndex`]), so a file
/// with `n` edits costs `O(n log n)`, not a comparison of every change with every
/// accepted one.
pub fn select(changes: Vec<Change>) -> (Vec<Change>, Vec<Change>) {
    let mut accepted: Vec<Change> = Vec::new();
    let mut deferred = Vec::new();
    let mut index = EditIndex::default();
    for change in changes {
        let clash = change.edits.iter().any(|e| index.conflicts(e));
        if clash || inner_clash(&change.edits) {
            deferred.push(change);
        } else {
            for edit in &change.edits {
                index.insert(edit);
            }
            accepted.push(change);
        }
    }
    (accepted, deferred)
}

/// Whether two edits of one change conflict with each other.
fn inner_clash(edits: &[Edit]) -> bool {
    if edits.len() <= 8 {
        return edits.iter().enumerate().any(|(i, x)| edits[i + 1..].iter().any(|y| conflicts(x, y)));
    }
    let mut index = EditIndex::default();
    for edit in edits {
        if index.conflicts(edit) {
            return true;
        }
        index.insert(edit);
    }
    false
}

/// A set of edits no two of which [`conflict`](conflicts), indexed to tell in `O(log n)`
/// whether another edit conflicts with any of them. Two replacements of the set either
/// are identical or do not overlap, so there is at most one per start offset, and the one
/// starting last before a range's end is the only one that can overlap it.
#[derive(Default)]
struct EditIndex {
    /// Replacements (non-empty ranges) by start offset.
    replacements: std::collections::BTreeMap<usize, Edit>,
    /// Offsets of insertions (empty ranges).
    insertions: std::collections::BTreeSet<usize>,
    /// Offsets of insertions that belong to the token after them ([`Edit::binds_forward`]).
    forward: std::collections::BTreeSet<usize>,
}

impl EditIndex {
    /// Whether `edit` conflicts with an edit of the set.
    fn conflicts(&self, edit: &Edit) -> bool {
        let Range { start, end } = edit.range;
        if start >= end {
            // An insertion conflicts with a replacement strictly around it, or starting at
            // it when it belongs to the token there.
            if edit.binds_forward() && self.replacements.contains_key(&start) {
                return true;
            }
            return self.replacements.range(..start).next_back().is_some_and(|(_, r)| r.range.end > start);
        }
        if start + 1 < end && self.insertions.range(start + 1..end).next().is_some() {
            return true;
        }
        if self.forward.contains(&start) {
            return true;
        }
        self.replacements.range(..end).next_back().is_some_and(|(_, r)| r.range.end > start && r != edit)
    }

    /// Adds an edit that does not conflict with the set.
    fn insert(&mut self, edit: &Edit) {
        if edit.range.is_empty() {
            self.insertions.insert(edit.range.start);
            if edit.binds_forward() {
                self.forward.insert(edit.range.start);
            }
        } else {
            self.replacements.insert(edit.range.start, edit.clone());
        }
    }
}

/// How many times a file is re-checked to apply changes that conflicted with others.
pub const MAX_PASSES: usize = 4;

/// Applies the changes of one file, deferring those that conflict and re-checking the new
/// text (`recheck`) for them, up to [`MAX_PASSES`]. Returns `None` if the text does not
/// change. A change that still conflicts is not made and is added to `unchanged`.
pub fn plan_file(
    file: &SourceFile,
    pending: Vec<Change>,
    diagnostics: &mut Vec<Diagnostic>,
    unchanged: &mut Vec<Unchanged>,
    recheck: &mut dyn FnMut(&str, &mut Vec<Diagnostic>) -> Vec<Change>,
) -> Option<FileResult> {
    plan_file_with(file, pending, Reread::OnConflict, diagnostics, unchanged, recheck)
}

/// When [`plan_file_with`] re-checks the new text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reread {
    /// When some changes conflicted ([`plan_file`]).
    OnConflict,
    /// Also after the first pass: a file the rules could not read as it was (2015 syntax),
    /// which the pending changes (the compiler's) make readable; what the rules find then
    /// is the next round.
    AfterFirstPass,
}

/// [`plan_file`], re-checking as `reread` says.
pub fn plan_file_with(
    file: &SourceFile,
    mut pending: Vec<Change>,
    reread: Reread,
    diagnostics: &mut Vec<Diagnostic>,
    unchanged: &mut Vec<Unchanged>,
    recheck: &mut dyn FnMut(&str, &mut Vec<Diagnostic>) -> Vec<Change>,
) -> Option<FileResult> {
    let display = &file.display;
    let mut text = file.text.clone();
    let mut applied = Vec::new();
    let mut later_rounds = Vec::new();
    let mut passes = 0;
    for pass in 1..=MAX_PASSES {
        passes = pass;
        let (accepted, deferred) = select(pending);
        let edits: Vec<_> = accepted.iter().flat_map(|c| c.edits.iter().cloned()).collect();
        match apply_edits(&text, &edits) {
            Ok(new) => text = new,
            Err(e) => {
                diagnostics.push(Diagnostic::at(Level::Error, display, None, format!("internal error, file left unchanged: {e}")));
                return None;
            }
        }
        if !applied.is_empty() && !accepted.is_empty() {
            later_rounds.push(applied.len());
        }
        applied.extend(accepted);
        // Only the rules' changes can be found again on the new text; the compiler's
        // cannot, so a conflicting one is reported now.
        let (deferred, lost): (Vec<Change>, Vec<Change>) = deferred.into_iter().partition(|c| c.decided_by == Decider::Rule);
        for change in lost {
            unchanged.push(Unchanged::at(
                change.rule,
                display,
                Some(change.line),
                UnchangedReason::Conflict,
                format!("overlaps another change: {}", change.reason),
            ));
        }
        if deferred.is_empty() && !(reread == Reread::AfterFirstPass && pass == 1) {
            break;
        }
        if pass == MAX_PASSES {
            for change in deferred {
                unchanged.push(Unchanged::at(
                    change.rule,
                    display,
                    Some(change.line),
                    UnchangedReason::Conflict,
                    format!("still conflicts with another change after {MAX_PASSES} passes: {}", change.reason),
                ));
            }
            break;
        }
        pending = recheck(&text, diagnostics);
    }
    (text != file.text).then(|| FileResult { file: file.clone(), new_text: text, changes: applied, passes, later_rounds })
}

/// One change of a round, as [`replay`] takes it.
#[derive(Clone, Copy, Debug)]
pub struct Replayed<'a> {
    /// Its edits as planned, on the text the round applies to when every change is made.
    pub planned: &'a [Edit],
    /// The edits to make instead (the planned ones, or an edited version on the same
    /// text), or `None` when the change is not made.
    pub kept: Option<&'a [Edit]>,
}

/// What [`replay`] made of the changes.
#[derive(Debug, PartialEq, Eq)]
pub struct Replay {
    /// The text with the kept changes only.
    pub text: String,
    /// Per round, per change: its edits on the text the round applies to now, or `None`
    /// when it is not made (not kept, or [dependent](Replay::dependent)).
    pub edits: Vec<Vec<Option<Vec<Edit>>>>,
    /// `(round, change)` of kept changes that cannot be made: their edits touch text that
    /// only a change not made (or made differently) had written.
    pub dependent: Vec<(usize, usize)>,
}

/// A stretch of the planned text that the replayed text holds too: `planned[f..f + len]
/// == replayed[p..p + len]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Common {
    f: usize,
    p: usize,
    len: usize,
}

/// Rebuilds a text from rounds of changes (each round's edits relative to the text after
/// every change of the rounds before it, as [`plan_file`] makes them) when only some
/// changes are kept. A later round's change is moved onto the text the kept changes make
/// when its edits lie in text both versions share; when they touch text only a change
/// left out wrote, it is [dependent](Replay::dependent) and left out too.
pub fn replay(original: &str, rounds: &[Vec<Replayed<'_>>]) -> Result<Replay, EditError> {
    let mut planned = original.to_string();
    let mut text = original.to_string();
    let mut common = vec![Common { f: 0, p: 0, len: original.len() }];
    let mut out = Replay { text: String::new(), edits: Vec::new(), dependent: Vec::new() };
    for (r, round) in rounds.iter().enumerate() {
        let all: Vec<Edit> = round.iter().flat_map(|c| c.planned.iter().cloned()).collect();
        let mut mapped: Vec<Option<Vec<Edit>>> = Vec::with_capacity(round.len());
        for (c, change) in round.iter().enumerate() {
            let Some(kept) = change.kept else {
                mapped.push(None);
                continue;
            };
            let moved: Option<Vec<Edit>> =
                kept.iter().map(|e| map_range(&common, &e.range).map(|range| Edit { range, replacement: e.replacement.clone() })).collect();
            if moved.is_none() {
                out.dependent.push((r, c));
            }
            mapped.push(moved);
        }
        let made: Vec<Edit> = mapped.iter().flatten().flatten().cloned().collect();
        let new_planned = apply_edits(&planned, &all)?;
        let new_text = apply_edits(&text, &made)?;
        // What both texts still share: the old common stretches outside the planned
        // edits, and the replacements of the changes kept as planned.
        let planned_at = new_starts(&all);
        let text_at = new_starts(&made);
        let shift = |edits: &[Edit], at: &[usize], x: usize| -> usize {
            // Where offset `x` (outside every edit) lands: after the edits ending at or before it.
            match edits.iter().zip(at).filter(|(e, _)| e.range.end <= x).max_by_key(|(e, a)| (**a, e.range.end)) {
                Some((e, a)) => a + e.replacement.len() + (x - e.range.end),
                None => x,
            }
        };
        let mut next = Vec::new();
        for seg in &common {
            for (a, b) in outside(seg.f, seg.f + seg.len, &all) {
                let p = seg.p + (a - seg.f);
                next.push(Common { f: shift(&all, &planned_at, a), p: shift(&made, &text_at, p), len: b - a });
            }
        }
        let mut m = 0;
        let mut offset = 0;
        for (change, moved) in round.iter().zip(&mapped) {
            let n = change.planned.len();
            if let (Some(kept), Some(moved)) = (change.kept, moved) {
                if kept == change.planned {
                    for (i, e) in moved.iter().enumerate().filter(|(_, e)| !e.replacement.is_empty()) {
                        next.push(Common { f: planned_at[offset + i], p: text_at[m + i], len: e.replacement.len() });
                    }
                }
                m += moved.len();
            }
            offset += n;
        }
        next.sort_by_key(|s| (s.f, s.p));
        next.dedup();
        common = merge(next);
        planned = new_planned;
        text = new_text;
        out.edits.push(mapped);
    }
    out.text = text;
    Ok(out)
}

/// Where each edit's replacement starts in the text `apply_edits` makes of `edits`
/// (an edit that duplicates an earlier one: where that one's is).
fn new_starts(edits: &[Edit]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..edits.len()).collect();
    order.sort_by_key(|&i| (edits[i].range.start, !edits[i].range.is_empty(), i));
    let mut at = vec![0; edits.len()];
    let mut seen: std::collections::HashMap<&Edit, usize> = std::collections::HashMap::new();
    let mut delta: isize = 0;
    for i in order {
        let e = &edits[i];
        if let Some(&first) = seen.get(e) {
            at[i] = at[first];
            continue;
        }
        seen.insert(e, i);
        at[i] = (e.range.start as isize + delta) as usize;
        delta += e.replacement.len() as isize - e.range.len() as isize;
    }
    at
}

/// The stretches of `a..b` that no edit replaces, split where an edit inserts.
fn outside(a: usize, b: usize, edits: &[Edit]) -> Vec<(usize, usize)> {
    if a == b {
        // An empty stretch (an empty text) still says where an offset goes.
        return if edits.iter().any(|e| e.range.start < a && a < e.range.end) { Vec::new() } else { vec![(a, a)] };
    }
    let mut cuts: Vec<(usize, usize)> = edits
        .iter()
        .filter(|e| if e.range.is_empty() { a < e.range.start && e.range.start < b } else { e.range.start < b && a < e.range.end })
        .map(|e| (e.range.start.max(a), e.range.end.min(b)))
        .collect();
    cuts.sort();
    let mut out = Vec::new();
    let mut pos = a;
    for (s, e) in cuts {
        if s > pos {
            out.push((pos, s));
        }
        pos = pos.max(e);
    }
    if pos < b {
        out.push((pos, b));
    }
    out
}

/// Joins stretches that follow each other in both texts.
fn merge(segs: Vec<Common>) -> Vec<Common> {
    let mut out: Vec<Common> = Vec::with_capacity(segs.len());
    for s in segs {
        match out.last_mut() {
            Some(l) if l.f + l.len == s.f && l.p + l.len == s.p => l.len += s.len,
            _ => out.push(s),
        }
    }
    out
}

/// The replayed text's range for a range of the planned one, if the text there is one
/// both share (for an insertion: an offset with one place in the replayed text).
fn map_range(common: &[Common], range: &Range<usize>) -> Option<Range<usize>> {
    let mut found: Option<usize> = None;
    for s in common.iter().filter(|s| s.f <= range.start && range.end <= s.f + s.len) {
        let p = s.p + (range.start - s.f);
        if found.is_some_and(|f| f != p) {
            return None;
        }
        found = Some(p);
    }
    found.map(|p| p..p + range.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn insertions_at_one_offset_keep_their_order_and_duplicates_count_once() {
        let edits = [Edit::insert(1, "a"), Edit::insert(1, "b"), Edit::insert(1, "a"), Edit::replace(1..2, "X")];
        assert_eq!(apply_edits("012", &edits).unwrap(), "0abX2");
    }

    #[test]
    fn overlaps_are_errors() {
        let err = apply_edits("0123", &[Edit::replace(0..2, "x"), Edit::replace(1..3, "y")]).unwrap_err();
        assert!(matches!(err, EditError::Overlap { .. }));
        assert!(apply_edits("0123", &[Edit::replace(0..2, "x"), Edit::insert(1, "y")]).is_err());
        assert!(apply_edits("0123", &[Edit::replace(0..2, "x"), Edit::insert(2, "y")]).is_ok());
        // An insertion at a replacement's start goes before it, unless it belongs to the
        // token there (`r#` before an identifier the replacement rewrites).
        assert_eq!(apply_edits("gen.f()", &[Edit::replace(0..7, "M::f(&gen)"), Edit::insert(0, "// c ")]).unwrap(), "// c M::f(&gen)");
        assert!(conflicts(&Edit::insert(0, "r#"), &Edit::replace(0..7, "M::f(&gen)")));
        assert!(conflicts(&Edit::replace(0..7, "M::f(&gen)"), &Edit::insert(0, "r#")));
        assert!(!conflicts(&Edit::insert(0, "r#"), &Edit::insert(0, "*&raw const ")));
        assert!(apply_edits("é", &[Edit::insert(1, "y")]).is_err());
    }

    /// `select` as it was before the edit index: every change compared with every
    /// accepted one. The reference the indexed version must agree with.
    fn select_by_pairs(changes: Vec<Change>) -> (Vec<Change>, Vec<Change>) {
        let mut accepted: Vec<Change> = Vec::new();
        let mut deferred = Vec::new();
        for change in changes {
            let clash = accepted.iter().any(|a| a.edits.iter().any(|x| change.edits.iter().any(|y| conflicts(x, y))));
            let inner_clash = change.edits.iter().enumerate().any(|(i, x)| change.edits[i + 1..].iter().any(|y| conflicts(x, y)));
            if clash || inner_clash {
                deferred.push(change);
            } else {
                accepted.push(change);
            }
        }
        (accepted, deferred)
    }

    fn change(n: usize, edits: Vec<Edit>) -> Change {
        Change {
            rule: "test",
            reason: format!("change {n}"),
            safety: crate::core::model::Safety::Safe,
            decided_by: Decider::Rule,
            file: "f.rs".into(),
            line: 1,
            cfg: crate::core::model::CfgStatus::Active,
            edits,
        }
    }

    /// A file the rules could not read is re-checked after its first pass even though
    /// nothing conflicted; what the re-check finds is a later round, on the new text. A
    /// file the rules read is not re-checked.
    #[test]
    fn an_unread_file_is_read_again_after_the_first_pass() {
        let file = SourceFile::loose("f.rs", "fn async() {}");
        let compiler = Change { decided_by: Decider::Compiler("default".into()), ..change(1, vec![Edit::replace(3..8, "r#async")]) };
        let mut rechecked = Vec::new();
        let mut recheck = |text: &str, _: &mut Vec<Diagnostic>| {
            rechecked.push(text.to_string());
            if text.starts_with("fn") {
                vec![change(2, vec![Edit::insert(0, "pub ")])]
            } else {
                Vec::new()
            }
        };
        let result = plan_file_with(&file, vec![compiler.clone()], Reread::AfterFirstPass, &mut Vec::new(), &mut Vec::new(), &mut recheck).unwrap();
        assert_eq!(result.new_text, "pub fn r#async() {}");
        assert_eq!(result.later_rounds, [1]);
        assert_eq!(rechecked, ["fn r#async() {}"]);
        let mut rechecked = 0;
        let result = plan_file(&file, vec![compiler], &mut Vec::new(), &mut Vec::new(), &mut |_, _| {
            rechecked += 1;
            Vec::new()
        })
        .unwrap();
        assert_eq!((result.new_text.as_str(), rechecked), ("fn r#async() {}", 0));
    }

    /// Random edits on a short text: many overlaps, touching ranges, insertions at one
    /// offset and identical edits (replacements drawn from two strings).
    fn edits_strategy(max: usize) -> impl Strategy<Value = Vec<Edit>> {
        proptest::collection::vec((0usize..24, 0usize..5, prop_oneof![Just("x"), Just("y")]), 1..max)
            .prop_map(|raw| raw.into_iter().map(|(start, len, rep)| Edit::replace(start..start + len, rep)).collect())
    }

    #[test]
    fn select_defers_overlaps_and_insertions_inside_keeps_identical_and_touching() {
        let changes = vec![
            change(0, vec![Edit::replace(2..5, "a")]),
            change(1, vec![Edit::replace(4..6, "b")]),                             // overlaps 0
            change(2, vec![Edit::insert(3, "c")]),                                 // strictly inside 0
            change(3, vec![Edit::insert(2, "d")]),                                 // at 0's start: fine
            change(4, vec![Edit::insert(5, "e")]),                                 // at 0's end: fine
            change(5, vec![Edit::replace(2..5, "a")]),                             // identical to 0
            change(6, vec![Edit::replace(5..7, "f")]),                             // touches 0
            change(7, vec![Edit::replace(9..10, "g"), Edit::replace(8..11, "h")]), // inner clash
            change(8, vec![Edit::replace(0..1, "i"), Edit::insert(6, "j")]),       // one edit inside 6
        ];
        let (accepted, deferred) = select(changes.clone());
        let names = |v: &[Change]| v.iter().map(|c| c.reason.clone()).collect::<Vec<_>>();
        assert_eq!(names(&accepted), ["change 0", "change 3", "change 4", "change 5", "change 6"]);
        assert_eq!(names(&deferred), ["change 1", "change 2", "change 7", "change 8"]);
        assert_eq!(select_by_pairs(changes), (accepted, deferred));
    }

    #[test]
    fn select_checks_many_edits_of_one_change_against_each_other() {
        let mut edits: Vec<Edit> = (0..20).map(|i| Edit::replace(i * 3..i * 3 + 2, "z")).collect();
        assert_eq!(select(vec![change(0, edits.clone())]).0.len(), 1);
        edits.push(Edit::insert(31, "w")); // inside 30..32
        assert_eq!(select(vec![change(0, edits)]).1.len(), 1);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        /// The indexed `select` accepts and defers exactly what comparing every pair did,
        /// in the same order.
        #[test]
        fn select_agrees_with_pairwise_reference(raw in proptest::collection::vec(edits_strategy(12), 0..30)) {
            let changes: Vec<Change> = raw.into_iter().enumerate().map(|(n, edits)| change(n, edits)).collect();
            prop_assert_eq!(select(changes.clone()), select_by_pairs(changes));
        }
    }

    proptest! {
        /// Non-overlapping edits applied together give the same text as applying them
        /// one at a time from the end, and bytes outside them are kept.
        #[test]
        fn applying_matches_sequential_application(text in "[a-z\\r\\n ]{0,40}", raw in proptest::collection::vec((0usize..40, 0usize..4, "[A-Z]{0,3}"), 0..6)) {
            let mut edits: Vec<Edit> = Vec::new();
            for (start, len, rep) in raw {
                let start = start.min(text.len());
                let end = (start + len).min(text.len());
                let e = Edit::replace(start..end, rep);
                if edits.iter().all(|x| !conflicts(x, &e) && x.range.start != e.range.start) {
                    edits.push(e);
                }
            }
            let together = apply_edits(&text, &edits).unwrap();
            let mut sequential = text.clone();
            let mut by_start = edits.clone();
            by_start.sort_by_key(|e| std::cmp::Reverse(e.range.start));
            for e in &by_start {
                sequential.replace_range(e.range.clone(), &e.replacement);
            }
            prop_assert_eq!(together, sequential);
        }
    }
    fn kept(edits: &[Edit]) -> Replayed<'_> {
        Replayed { planned: edits, kept: Some(edits) }
    }

    fn left_out(edits: &[Edit]) -> Replayed<'_> {
        Replayed { planned: edits, kept: None }
    }

    #[test]
    fn replay_moves_a_later_round_onto_the_text_of_the_kept_changes() {
        // Round 1 renames `a` and inserts `X` before `c`; round 2 (on that text) edits `d`.
        let original = "a b c d";
        let r1 = [vec![Edit::replace(0..1, "AA")], vec![Edit::insert(4, "X")]];
        let r2 = [vec![Edit::replace(8..9, "D")]];
        let all = replay(original, &[vec![kept(&r1[0]), kept(&r1[1])], vec![kept(&r2[0])]]).unwrap();
        assert_eq!(all.text, "AA b Xc D");
        let some = replay(original, &[vec![left_out(&r1[0]), kept(&r1[1])], vec![kept(&r2[0])]]).unwrap();
        assert_eq!(some.text, "a b Xc D");
        assert_eq!(some.edits[1][0], Some(vec![Edit::replace(7..8, "D")]));
        assert!(some.dependent.is_empty());
    }

    #[test]
    fn replay_leaves_out_a_change_made_in_text_only_a_left_out_change_wrote() {
        let original = "f(x)";
        // Round 1 wraps the call; round 2 edits inside what round 1 wrote.
        let r1 = [vec![Edit::replace(0..4, "g(f(x))")]];
        let r2 = [vec![Edit::replace(0..1, "h")], vec![Edit::replace(4..5, "y")]];
        let out = replay(original, &[vec![left_out(&r1[0])], vec![kept(&r2[0]), kept(&r2[1])]]).unwrap();
        assert_eq!(out.text, "f(x)");
        assert_eq!(out.dependent, [(1, 0), (1, 1)]);
        // An edited replacement is not the planned one: what was planned inside it is dependent too.
        let edited = [Edit::replace(0..4, "k(f(x))")];
        let out = replay(original, &[vec![Replayed { planned: &r1[0], kept: Some(&edited) }], vec![kept(&r2[0]), kept(&r2[1])]]).unwrap();
        assert_eq!(out.text, "k(f(x))");
        assert_eq!(out.dependent, [(1, 0), (1, 1)]);
        // Kept, the same edits land where they were planned.
        let out = replay(original, &[vec![kept(&r1[0])], vec![kept(&r2[0]), kept(&r2[1])]]).unwrap();
        assert_eq!(out.text, "h(f(y))");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]
        /// With every change kept, replay gives the planned text; with one round, a subset
        /// gives what applying that subset to the original gives; a later round made of
        /// insertions only keeps every one of its changes, whatever round 1 keeps.
        #[test]
        fn replay_agrees_with_applying_the_kept_changes(
            text in "[a-z ]{0,30}",
            raw in proptest::collection::vec(edits_strategy(3), 0..8),
            keep in proptest::collection::vec(any::<bool>(), 8),
            later in proptest::collection::vec((0usize..40, "[A-Z]{1,2}"), 0..4),
        ) {
            let changes: Vec<Change> = raw.into_iter().enumerate().map(|(n, edits)| change(n, edits.into_iter().filter(|e| e.range.end <= text.len()).collect())).collect();
            let (round1, _) = select(changes);
            let planned1 = apply_edits(&text, &round1.iter().flat_map(|c| c.edits.clone()).collect::<Vec<_>>()).unwrap();
            let mut round2: Vec<Vec<Edit>> = later.into_iter().map(|(at, s)| {
                let mut at = at.min(planned1.len());
                while !planned1.is_char_boundary(at) { at -= 1; }
                vec![Edit::insert(at, s)]
            }).collect();
            round2.sort();
            round2.dedup(); // identical edits count once
            let planned2 = apply_edits(&planned1, &round2.iter().flatten().cloned().collect::<Vec<_>>()).unwrap();
            let all: Vec<Vec<Replayed<'_>>> = vec![round1.iter().map(|c| kept(&c.edits)).collect(), round2.iter().map(|e| kept(e)).collect()];
            prop_assert_eq!(replay(&text, &all).unwrap().text, planned2);
            let subset: Vec<Replayed<'_>> = round1.iter().zip(&keep).map(|(c, k)| if *k { kept(&c.edits) } else { left_out(&c.edits) }).collect();
            let expected = apply_edits(&text, &round1.iter().zip(&keep).filter(|(_, k)| **k).flat_map(|(c, _)| c.edits.clone()).collect::<Vec<_>>()).unwrap();
            prop_assert_eq!(&replay(&text, std::slice::from_ref(&subset)).unwrap().text, &expected);
            let two = replay(&text, &[subset, round2.iter().map(|e| kept(e)).collect()]).unwrap();
            // An insertion lands inside text only a left-out change wrote, or is made.
            let made = two.edits[1].iter().filter(|e| e.is_some()).count();
            prop_assert_eq!(made + two.dependent.len(), round2.len());
            prop_assert_eq!(two.text.len(), expected.len() + two.edits[1].iter().flatten().flatten().map(|e| e.replacement.len()).sum::<usize>());
        }
    }
}
