//! The result of a migration before anything is written: the new text of every file
//! that changes, with the changes that made it, the diagnostics, the judge's verdicts and
//! what was seen but not changed.

use std::collections::BTreeMap;
use std::path::Path;

use crate::core::model::{Change, Diagnostic, Level, Unchanged};
use crate::core::plan::{apply_edits, replay, EditError, Replayed};
use crate::core::text::{FileKind, SourceFile};

/// The migrated state of one file.
#[derive(Debug, Clone)]
pub struct FileResult {
    /// The file as read.
    pub file: SourceFile,
    /// Its text after every applied change.
    pub new_text: String,
    /// The applied changes, in order. Changes of later passes have edits relative to the
    /// text of the pass before.
    pub changes: Vec<Change>,
    /// How many passes it took (1 when no change conflicted with another).
    pub passes: usize,
    /// Where each round of `changes` after the first begins (indices into `changes`,
    /// increasing): the changes of a round have edits relative to the text every change
    /// before it makes. Empty: every change is relative to the text as read. A later pass
    /// of the plan, an upgrade's next step or compiler round, and a repair each start one.
    pub later_rounds: Vec<usize>,
}

/// What [`FileResult::keep`] made of a file.
#[derive(Debug)]
pub struct Kept {
    /// The file with the kept changes only; `None` when it does not change.
    pub result: Option<FileResult>,
    /// Kept changes that could not be made (indices into the file's changes): a later
    /// round found them in text that only a change left out had written.
    pub dependent: Vec<usize>,
}

impl FileResult {
    /// The changes' index ranges, one per round, in order.
    pub fn rounds(&self) -> Vec<std::ops::Range<usize>> {
        let mut starts = vec![0];
        starts.extend(self.later_rounds.iter().copied().filter(|&i| i > 0 && i < self.changes.len()));
        starts.dedup();
        starts.iter().enumerate().map(|(r, &s)| s..starts.get(r + 1).copied().unwrap_or(self.changes.len())).collect()
    }

    /// The text each round's changes apply to (the first: the text as read).
    pub fn round_texts(&self) -> Result<Vec<String>, EditError> {
        let mut texts = vec![self.file.text.clone()];
        let rounds = self.rounds();
        for round in &rounds[..rounds.len() - 1] {
            let edits: Vec<_> = self.changes[round.clone()].iter().flat_map(|c| c.edits.iter().cloned()).collect();
            texts.push(apply_edits(texts.last().expect("one text"), &edits)?);
        }
        Ok(texts)
    }

    /// This file with only some of its changes: `chosen[i]` is the change to make in
    /// place of change `i` (itself, or a version of it with other edits on the same text),
    /// or `None`. A change of a later round is moved onto the text the kept changes make
    /// ([`replay`]); one that cannot be (it was found in text a change left out wrote) is
    /// left out too and listed.
    pub fn keep(&self, chosen: &[Option<Change>]) -> Result<Kept, EditError> {
        let rounds = self.rounds();
        let replayed: Vec<Vec<Replayed<'_>>> = rounds
            .iter()
            .map(|r| r.clone().map(|i| Replayed { planned: &self.changes[i].edits, kept: chosen[i].as_ref().map(|c| c.edits.as_slice()) }).collect())
            .collect();
        let out = replay(&self.file.text, &replayed)?;
        let mut changes = Vec::new();
        let mut later_rounds = Vec::new();
        for (round, edits) in rounds.iter().zip(out.edits) {
            let start = changes.len();
            for (i, edits) in round.clone().zip(edits) {
                if let (Some(change), Some(edits)) = (&chosen[i], edits) {
                    changes.push(Change { edits, ..change.clone() });
                }
            }
            if start > 0 && changes.len() > start {
                later_rounds.push(start);
            }
        }
        let dependent = out.dependent.iter().map(|&(r, c)| rounds[r].start + c).collect();
        let passes = later_rounds.len() + 1;
        let result = (out.text != self.file.text).then(|| FileResult { file: self.file.clone(), new_text: out.text, changes, passes, later_rounds });
        Ok(Kept { result, dependent })
    }
}

/// The result of a migration run, before anything is written.
#[derive(Debug, Default)]
pub struct Migration {
    /// Files that change, by display path.
    pub files: BTreeMap<String, FileResult>,
    /// Diagnostics of every stage, sorted.
    pub diagnostics: Vec<Diagnostic>,
    /// How the judge decided each site.
    pub verdicts: Vec<crate::core::model::Verdict>,
    /// The sites judged, one per verdict, with the context the judge read (what
    /// `explain --at` tells a model about them).
    pub sites: Vec<crate::core::model::Site>,
    /// Every site a rule or lint saw and did not change, with why (the "not changed"
    /// report), sorted by file and line.
    pub unchanged: Vec<Unchanged>,
    /// Rust files read.
    pub files_read: usize,
    /// Lines of Rust read.
    pub lines_read: usize,
}

impl Migration {
    /// All applied changes, in file order.
    pub fn changes(&self) -> impl Iterator<Item = &Change> {
        self.files.values().flat_map(|f| f.changes.iter())
    }

    /// Records a change made on disk after `--apply` (a repair): the file's text before
    /// and after it. Such a file is reverted whole by `--verify`.
    pub fn record_on_disk(&mut self, root: &Path, change: Change, before: String, after: String) {
        let entry = self.files.entry(change.file.clone()).or_insert_with(|| FileResult {
            file: SourceFile {
                path: root.join(&change.file),
                display: change.file.clone(),
                kind: FileKind::Rust,
                package: String::new(),
                cfg: crate::core::model::CfgStatus::Active,
                text: before.clone(),
            },
            new_text: before,
            changes: Vec::new(),
            passes: 1,
            later_rounds: Vec::new(),
        });
        if !entry.changes.is_empty() {
            entry.later_rounds.push(entry.changes.len());
        }
        entry.new_text = after;
        entry.passes += 1;
        entry.changes.push(change);
    }

    /// Adds sites left unchanged, keeping the list sorted.
    pub fn add_unchanged(&mut self, more: impl IntoIterator<Item = Unchanged>) {
        self.unchanged.extend(more);
        self.unchanged.sort();
    }

    /// Whether any diagnostic is an error (a file not processed).
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(|d| d.level == Level::Error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::model::{CfgStatus, Decider, Edit, Safety};

    fn change(line: usize, edits: Vec<Edit>) -> Change {
        Change {
            rule: "r",
            reason: format!("{line}"),
            safety: Safety::Safe,
            decided_by: Decider::Rule,
            file: "f.rs".into(),
            line,
            cfg: CfgStatus::Active,
            edits,
        }
    }

    #[test]
    fn keeping_some_changes_moves_a_later_round_onto_their_text() {
        // Round 1 on "a\nb\n" renames `a`; round 2, on "xx\nb\n", renames `b`.
        let result = FileResult {
            file: SourceFile {
                path: "/w/f.rs".into(),
                display: "f.rs".into(),
                kind: FileKind::Rust,
                package: "p".into(),
                cfg: CfgStatus::Active,
                text: "a\nb\n".into(),
            },
            new_text: "xx\ny\n".into(),
            changes: vec![change(1, vec![Edit::replace(0..1, "xx")]), change(2, vec![Edit::replace(3..4, "y")])],
            passes: 2,
            later_rounds: vec![1],
        };
        assert_eq!(result.round_texts().unwrap(), ["a\nb\n", "xx\nb\n"]);
        let all = result.keep(&[Some(result.changes[0].clone()), Some(result.changes[1].clone())]).unwrap().result.unwrap();
        assert_eq!((all.new_text.as_str(), all.later_rounds.as_slice()), ("xx\ny\n", [1].as_slice()));
        let second = result.keep(&[None, Some(result.changes[1].clone())]).unwrap().result.unwrap();
        assert_eq!(second.new_text, "a\ny\n");
        // Now relative to the text as read, in one round.
        assert_eq!(second.changes[0].edits, [Edit::replace(2..3, "y")]);
        assert!(second.later_rounds.is_empty());
        assert!(result.keep(&[None, None]).unwrap().result.is_none());
    }
}
