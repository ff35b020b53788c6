//! Plan: choose a consistent set of changes per file and apply it to the text.
//!
//! Edits are byte-range replacements on the original text. Two edits conflict when their
//! ranges overlap, or when an insertion falls strictly inside a replaced range; identical
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
        return y.start < x.start && x.start < y.end;
    }
    if y.is_empty() {
        return x.start < y.start && y.start < x.end;
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
}

impl EditIndex {
    /// Whether `edit` conflicts with an edit of the set.
    fn conflicts(&self, edit: &Edit) -> bool {
        let Range { start, end } = edit.range;
        if start >= end {
            // An insertion conflicts with a replacement strictly around it.
            return self.replacements.range(..start).next_back().is_some_and(|(_, r)| r.range.end > start);
        }
        if start + 1 < end && self.insertions.range(start + 1..end).next().is_some() {
            return true;
        }
        self.replacements.range(..end).next_back().is_some_and(|(_, r)| r.range.end > start && r != edit)
    }

    /// Adds an edit that does not conflict with the set.
    fn insert(&mut self, edit: &Edit) {
        if edit.range.is_empty() {
            self.insertions.insert(edit.range.start);
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
    mut pending: Vec<Change>,
    diagnostics: &mut Vec<Diagnostic>,
    unchanged: &mut Vec<Unchanged>,
    recheck: &mut dyn FnMut(&str, &mut Vec<Diagnostic>) -> Vec<Change>,
) -> Option<FileResult> {
    let display = &file.display;
    let mut text = file.text.clone();
    let mut applied = Vec::new();
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
        if deferred.is_empty() {
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
    (text != file.text).then(|| FileResult { file: file.clone(), new_text: text, changes: applied, passes })
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
}
