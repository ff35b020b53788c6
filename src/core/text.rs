//! Source files as read from disk: exact bytes kept, a line index, and parsing with
//! byte-accurate spans.

use std::ops::Range;
use std::path::PathBuf;

use proc_macro2::{Span, TokenStream};

use crate::model::CfgStatus;

const BOM: &str = "\u{feff}";

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

/// A parse failure with its position.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ParseError {
    /// 1-based line of the error.
    pub line: usize,
    /// The parser's message.
    pub message: String,
}

/// A parsed Rust file: the token stream and the syntax tree, with a way back from spans
/// to byte ranges of the original text.
///
/// Not `Send`: proc-macro2 spans live in a thread-local source map. Create, use and drop
/// it within one task.
pub struct Parsed {
    /// The file's tokens (macro bodies included), as lexed.
    pub tokens: TokenStream,
    /// The syntax tree.
    pub syntax: syn::File,
    /// Every token sequence (see [`crate::syntax::sequences_of`]).
    pub sequences: Vec<Vec<proc_macro2::TokenTree>>,
    /// Byte offset of the parsed text in the original (the length of a BOM, if any).
    base: usize,
}

impl Parsed {
    /// Lexes and parses `text`. A BOM is skipped and a shebang line blanked, so that
    /// spans keep pointing at the original bytes.
    pub fn parse(text: &str) -> Result<Parsed, ParseError> {
        let base = if text.starts_with(BOM) { BOM.len() } else { 0 };
        let body = &text[base..];
        let blanked;
        let body = match shebang_len(body) {
            Some(len) => {
                blanked = format!("{}{}", " ".repeat(len), &body[len..]);
                blanked.as_str()
            }
            None => body,
        };
        let tokens: TokenStream =
            body.parse().map_err(|e: proc_macro2::LexError| ParseError { line: e.span().start().line, message: format!("cannot tokenize: {e}") })?;
        let syntax = syn::parse2::<syn::File>(tokens.clone()).map_err(|e| ParseError { line: e.span().start().line, message: e.to_string() })?;
        let sequences = crate::syntax::sequences_of(&tokens);
        Ok(Parsed { tokens, syntax, sequences, base })
    }

    /// Byte range of a span in the original text.
    pub fn range(&self, span: Span) -> Range<usize> {
        let r = span.byte_range();
        r.start + self.base..r.end + self.base
    }
}

impl Drop for Parsed {
    fn drop(&mut self) {
        // proc-macro2's thread-local source map grows with every file parsed; spans of
        // this file are dead once the tree is dropped.
        proc_macro2::extra::invalidate_current_thread_spans();
    }
}

/// Length of a shebang line (`#!/usr/bin/env ...`), which is not Rust syntax.
/// `#![attr]` is an inner attribute, not a shebang.
fn shebang_len(text: &str) -> Option<usize> {
    let rest = text.strip_prefix("#!")?;
    let after = rest.trim_start_matches(|c: char| c.is_whitespace());
    if after.starts_with('[') {
        return None;
    }
    Some(text.find('\n').unwrap_or(text.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_are_byte_offsets_of_the_original_text() {
        let text = "\u{feff}// é ü\nfn gen() {}\r\n";
        let parsed = Parsed::parse(text).unwrap();
        let syn::Item::Fn(f) = &parsed.syntax.items[0] else { panic!() };
        let range = parsed.range(f.sig.ident.span());
        assert_eq!(&text[range], "gen");
    }

    #[test]
    fn shebang_is_blanked_but_inner_attribute_is_not() {
        let text = "#!/usr/bin/env run\nfn a() {}\n";
        let parsed = Parsed::parse(text).unwrap();
        let syn::Item::Fn(f) = &parsed.syntax.items[0] else { panic!() };
        assert_eq!(&text[parsed.range(f.sig.ident.span())], "a");
        assert!(Parsed::parse("#![allow(dead_code)]\nfn a() {}").unwrap().syntax.attrs.len() == 1);
    }

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
