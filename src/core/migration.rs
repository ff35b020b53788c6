//! The result of a migration before anything is written: the new text of every file
//! that changes, with the changes that made it, the diagnostics, the judge's verdicts and
//! what was seen but not changed.

use std::collections::BTreeMap;
use std::path::Path;

use crate::core::model::{Change, Diagnostic, Level, Unchanged};
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
        });
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
