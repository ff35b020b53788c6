//! Doc tests: the Rust code blocks of doc comments (`///`, `//!`, `/** */`, `/*! */`) are compiled by
//! `cargo test --doc` with the crate's edition, but `cargo fix --edition` never migrates
//! them. This module extracts each block as a snippet, runs the rules on it, and maps the
//! edits back onto the comment lines.

use std::ops::Range;

use proc_macro2::{Delimiter, TokenTree};

use crate::core::model::{Change, Edit};
use crate::core::text::LineIndex;
use crate::syntax::tokens::{is_group, is_punct};

/// One line of a doc comment: where its text starts and what precedes it on the line.
#[derive(Debug, Clone)]
pub struct DocLine {
    /// Byte range of the text after `///` / `//!`, without the line ending.
    content: Range<usize>,
    /// What an inserted line starts with: the line's text before the content (`    ///`),
    /// or, when code precedes the comment on the line, its indentation and the comment's
    /// marker (the code is not repeated).
    prefix: String,
}

/// A Rust code block of a doc comment, as the doc test compiler sees it.
#[derive(Debug)]
pub struct Snippet {
    /// The code, with hidden-line markers (`# `) removed, wrapped in `fn main() { }`
    /// when it has no `fn main` (as rustdoc does).
    pub code: String,
    /// Per code line: its start in `code`, its length, its start in the original text,
    /// and the prefix of a line inserted there.
    lines: Vec<(usize, usize, usize, String)>,
}

const WRAP_START: &str = "fn main() {\n";
const WRAP_END: &str = "\n}\n";

/// Finds the doc-test code blocks of a file from its tokens (`///` lines become
/// `#[doc = ".."]` attributes whose spans cover the comment).
pub fn snippets(sequences: &[Vec<TokenTree>], text: &str, range: &dyn Fn(proc_macro2::Span) -> Range<usize>) -> Vec<Snippet> {
    snippets_in(doc_lines(sequences, text, range), text)
}

/// The doc comment lines of a file (or of a part of it: see [`snippets_in`]).
pub fn doc_lines(sequences: &[Vec<TokenTree>], text: &str, range: &dyn Fn(proc_macro2::Span) -> Range<usize>) -> Vec<DocLine> {
    let mut doc_lines: Vec<DocLine> = Vec::new();
    for seq in sequences {
        for (i, tt) in seq.iter().enumerate() {
            if !is_punct(tt, '#') {
                continue;
            }
            let group = if seq.get(i + 1).is_some_and(|t| is_punct(t, '!')) { seq.get(i + 2) } else { seq.get(i + 1) };
            if !group.is_some_and(|g| is_group(g, Delimiter::Bracket)) {
                continue;
            }
            let r = range(tt.span());
            let comment = &text[r.clone()];
            if !matches!(group, Some(TokenTree::Group(_))) {
                continue;
            }
            let is_line_doc = (comment.starts_with("///") && !comment.starts_with("////")) || comment.starts_with("//!");
            let is_block_doc =
                ((comment.starts_with("/**") && !comment.starts_with("/***") && comment != "/**/") || comment.starts_with("/*!")) && comment.ends_with("*/");
            if is_line_doc {
                let end = if comment.ends_with('\r') { r.end - 1 } else { r.end };
                let line_start = text[..r.start].rfind('\n').map_or(0, |i| i + 1);
                doc_lines.push(DocLine { content: r.start + 3..end, prefix: prefix(text, line_start, r.start, r.start + 3) });
            } else if is_block_doc {
                doc_lines.extend(block_doc_lines(text, r.start + 3..r.end - 2));
            }
        }
    }
    doc_lines
}

/// The doc-test code blocks in the doc comment lines of a file, gathered from all of it:
/// a run of lines may continue past the item its first line documents.
pub fn snippets_in(mut doc_lines: Vec<DocLine>, text: &str) -> Vec<Snippet> {
    doc_lines.sort_by_key(|l| l.content.start);
    doc_lines.dedup_by_key(|l| l.content.start);
    let lines = LineIndex::new(text);
    let mut out = Vec::new();
    // Split into runs of consecutive lines, then find fenced blocks in each run.
    let mut run: Vec<DocLine> = Vec::new();
    for line in doc_lines {
        if let Some(last) = run.last() {
            if lines.line(line.content.start) != lines.line(last.content.start) + 1 {
                out.extend(blocks(&run, text));
                run.clear();
            }
        }
        run.push(line);
    }
    out.extend(blocks(&run, text));
    out
}

/// The prefix of a line inserted in a doc comment: the text from `line_start` to `content`,
/// without code that precedes the comment (which starts at `marker`) on its line.
fn prefix(text: &str, line_start: usize, marker: usize, content: usize) -> String {
    let before = &text[line_start..marker];
    let indent = before.len() - before.trim_start().len();
    if indent == before.len() {
        text[line_start..content].to_string()
    } else {
        format!("{}{}", &before[..indent], &text[marker..content])
    }
}

/// The lines of a block doc comment's body (`inner`: between `/**` and `*/`). When every
/// line after the first starts with a `*` after its indentation (` * text`), that `*` and
/// one space after it are part of the prefix, as rustdoc reads them.
fn block_doc_lines(text: &str, inner: Range<usize>) -> Vec<DocLine> {
    let mut spans = Vec::new(); // (line start, content start, content end)
    let mut at = inner.start;
    for line in text[inner.clone()].split('\n') {
        let end = at + line.len();
        let content_end = if line.ends_with('\r') { end - 1 } else { end };
        let line_start = if at == inner.start { text[..at].rfind('\n').map_or(0, |i| i + 1) } else { at };
        spans.push((line_start, at, content_end));
        at = end + 1;
    }
    let starred = spans.len() > 1
        && spans[1..].iter().all(|&(_, start, end)| {
            let t = text[start..end].trim_start();
            t.starts_with('*') || t.is_empty()
        });
    spans
        .into_iter()
        .enumerate()
        .map(|(i, (line_start, start, end))| {
            let mut content = start;
            if starred && i > 0 {
                let line = &text[start..end];
                let indent = line.len() - line.trim_start().len();
                if line[indent..].starts_with('*') {
                    content = start + indent + 1;
                    if text[content..end].starts_with(' ') {
                        content += 1;
                    }
                }
            }
            let marker = if i == 0 { inner.start - 3 } else { line_start };
            DocLine { content: content..end, prefix: prefix(text, line_start, marker, content) }
        })
        .collect()
}

/// Whether a fence's info string (` ```rust,no_run `) marks a doc test the rules should
/// see: Rust (no other language) that `cargo test --doc` compiles: not `ignore`, not
/// `compile_fail`, not pinned to an edition.
fn is_migratable_rust(info: &str) -> bool {
    info.split(|c: char| c == ',' || c.is_whitespace()).filter(|t| !t.is_empty()).all(|t| {
        matches!(t, "rust" | "should_panic" | "no_run" | "test_harness" | "standalone_crate")
            || (t.starts_with('E') && t[1..].chars().all(|c| c.is_ascii_digit()))
    })
}

fn blocks(run: &[DocLine], text: &str) -> Vec<Snippet> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < run.len() {
        let content = text[run[i].content.clone()].trim_start();
        let fence = if content.starts_with("```") {
            "```"
        } else if content.starts_with("~~~") {
            "~~~"
        } else {
            ""
        };
        if fence.is_empty() {
            i += 1;
            continue;
        }
        let info = content.trim_start_matches(fence.chars().next().unwrap()).trim();
        let Some(close) = run[i + 1..].iter().position(|l| text[l.content.clone()].trim_start().starts_with(fence)) else {
            break;
        };
        let body = &run[i + 1..i + 1 + close];
        if is_migratable_rust(info) {
            out.push(snippet(body, text));
        }
        i += close + 2;
    }
    out
}

fn snippet(body: &[DocLine], text: &str) -> Snippet {
    let mut code = String::new();
    let mut lines = Vec::new();
    let has_main = body.iter().any(|l| text[l.content.clone()].contains("fn main"));
    if !has_main {
        code.push_str(WRAP_START);
    }
    for l in body {
        let raw = &text[l.content.clone()];
        // A hidden line (`# code`) is compiled without its marker.
        let trimmed = raw.trim_start();
        let lead = raw.len() - trimmed.len();
        let skip = if trimmed.starts_with("# ") {
            lead + 2
        } else if trimmed == "#" {
            lead + 1
        } else {
            0
        };
        let shown = &raw[skip..];
        lines.push((code.len(), shown.len(), l.content.start + skip, l.prefix.clone()));
        code.push_str(shown);
        code.push('\n');
    }
    if !has_main {
        code.push_str(WRAP_END);
    }
    Snippet { code, lines }
}

impl Snippet {
    /// Where the code's first line starts in the original text.
    pub fn start(&self) -> usize {
        self.lines.first().map_or(0, |l| l.2)
    }

    /// Maps a change made on the snippet back onto the original text; a line the change
    /// inserts gets the comment's prefix and the file's line ending. `None` when an
    /// edit crosses a line of the comment or touches the wrapper: such a change is not
    /// made.
    pub fn map_back(&self, change: Change, text: &str, lines: &LineIndex) -> Option<Change> {
        let mut edits = Vec::new();
        let newline = crate::core::text::line_ending(text);
        for edit in &change.edits {
            let &(start, len, orig, ref prefix) =
                self.lines.iter().rev().find(|(start, len, ..)| *start <= edit.range.start && edit.range.start <= start + len)?;
            if edit.range.end > start + len {
                return None;
            }
            let at = orig + (edit.range.start - start);
            // A new line in a comment needs the comment's prefix, and the file's line
            // ending: the snippet's lines end with `\n` whatever the file uses.
            let replacement = edit.replacement.replace("\r\n", "\n").replace('\n', &format!("{newline}{prefix}"));
            edits.push(Edit::replace(at..at + edit.range.len(), replacement));
        }
        let first = edits.iter().map(|e| e.range.start).min()?;
        Some(Change { reason: format!("{} (in a doc test, which `cargo fix` does not migrate)", change.reason), line: lines.line(first), edits, ..change })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find(text: &str) -> Vec<String> {
        let parsed = crate::syntax::parsed::Parsed::parse(text).unwrap();
        snippets(&parsed.sequences, text, &|s| parsed.range(s)).into_iter().map(|s| s.code).collect()
    }

    #[test]
    fn extracts_rust_blocks_and_skips_others() {
        let text = "/// Intro\n/// ```\n/// let g = 1;\n/// # let hidden = 2;\n/// ```\n/// ```text\n/// not rust\n/// ```\n/// ```compile_fail\n/// bad\n/// ```\n/// ```ignore\n/// not compiled\n/// ```\nfn a() {}\n";
        assert_eq!(find(text), ["fn main() {\n let g = 1;\nlet hidden = 2;\n\n}\n"]);
    }

    #[test]
    fn reads_block_doc_comments_with_and_without_stars() {
        let starred = "/**\n * Docs.\n *\n * ```\n * let g = 1;\n * ```\n */\nfn a() {}\n";
        assert_eq!(find(starred), ["fn main() {\nlet g = 1;\n\n}\n"]);
        let plain = "/*!\n```\nlet g = 2;\n```\n*/\nfn a() {}\n";
        assert_eq!(find(plain), ["fn main() {\nlet g = 2;\n\n}\n"]);
        // Not doc comments.
        assert!(find("/*** ```\nlet g = 3;\n``` */\nfn a() {}\n").is_empty());
    }

    #[test]
    fn keeps_fn_main_and_reads_inner_docs_and_crlf() {
        let text = "//! ```no_run\r\n//! fn main() {}\r\n//! ```\r\nfn a() {}\r\n";
        assert_eq!(find(text), [" fn main() {}\n"]);
    }
}
