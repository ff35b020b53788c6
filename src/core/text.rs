//! Source files as read from disk (exact bytes kept) and a line index. Plain data: no
//! parsing here (that is [`crate::syntax::parsed`]).

use std::path::PathBuf;

use crate::core::model::CfgStatus;

/// What kind of file this is, which decides the rules that run on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FileKind {
    /// A Rust source file.
    Rust,
    /// A `Cargo.toml` manifest.
    Manifest,
}

/// One file of the workspace, as read.
#[derive(Clone, Debug)]
pub struct SourceFile {
    /// Absolute path on disk.
    pub path: PathBuf,
    /// Path relative to the workspace root, `/`-separated: how the file is shown.
    pub display: String,
    /// What kind of file it is.
    pub kind: FileKind,
    /// Name of the package the file belongs to.
    pub package: String,
    /// Whether the module tree reaches this file through active `cfg`s only.
    pub cfg: CfgStatus,
    /// The exact text read from disk.
    pub text: String,
}

impl SourceFile {
    /// A Rust file outside any workspace (a snippet, a fixture, a test): shown and found as
    /// `display`, of no package, compiled by the configuration.
    pub fn loose(display: &str, text: impl Into<String>) -> SourceFile {
        SourceFile {
            path: display.into(),
            display: display.to_string(),
            kind: FileKind::Rust,
            package: String::new(),
            cfg: crate::core::model::CfgStatus::Active,
            text: text.into(),
        }
    }
}

/// Byte offsets of line starts, for turning offsets into line numbers.
#[derive(Clone, Debug)]
pub struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    /// Indexes the line starts of `text`.
    pub fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { starts }
    }

    /// 1-based line number of a byte offset.
    pub fn line(&self, offset: usize) -> usize {
        self.starts.partition_point(|&s| s <= offset)
    }

    /// Byte offset where 1-based `line` starts; `len` (the text's length) past the last line.
    pub fn start_of(&self, line: usize, len: usize) -> usize {
        line.checked_sub(1).and_then(|i| self.starts.get(i)).copied().unwrap_or(len)
    }

    /// Byte offset where the line holding `offset` starts.
    pub fn line_start(&self, offset: usize) -> usize {
        self.starts[self.line(offset) - 1]
    }
}

/// The leading whitespace of the line that holds `offset`.
pub fn indentation_at<'t>(text: &'t str, lines: &LineIndex, offset: usize) -> &'t str {
    let start = lines.line_start(offset);
    let line = &text[start..];
    let end = line.find(|c: char| c != ' ' && c != '\t').unwrap_or(line.len());
    &line[..end.min(offset - start)]
}

/// The line ending a file uses: `\r\n` if it has any, else `\n`. Inserted lines use it.
pub fn line_ending(text: &str) -> &'static str {
    if text.contains("\r\n") {
        "\r\n"
    } else {
        "\n"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_index() {
        let idx = LineIndex::new("a\nbc\n\nd");
        assert_eq!(idx.line(0), 1);
        assert_eq!(idx.line(2), 2);
        assert_eq!(idx.line(5), 3);
        assert_eq!(idx.line(6), 4);
        assert_eq!(idx.line_start(3), 2);
        assert_eq!((idx.start_of(1, 7), idx.start_of(3, 7), idx.start_of(9, 7)), (0, 5, 7));
        assert_eq!(indentation_at("fn a() {\n    b();\n}", &LineIndex::new("fn a() {\n    b();\n}"), 13), "    ");
    }
}
