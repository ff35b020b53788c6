//! Parsing with byte-accurate spans: the token stream and the syntax tree of a file,
//! with a way back from spans to byte ranges of the original text (BOM and shebang
//! handled).

use std::ops::Range;

use proc_macro2::{Span, TokenStream};

const BOM: &str = "\u{feff}";

/// How deep a file may nest: delimiters (`{`, `(`, `[`), runs of prefix operators (`&`,
/// `!`, `-`, `*`) and unclosed `<`s between them. Parsing and visiting recurse once per level; deeper
/// files are refused with an error rather than overflowing the stack
/// ([`crate::engine::walk::WORKER_STACK`] holds this depth in a debug build).
pub const MAX_NESTING: usize = 256;

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
    /// Every token sequence (see [`crate::syntax::tokens::sequences_of`]).
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
        if let Some(line) = too_deep(&tokens) {
            return Err(ParseError { line, message: format!("nested more than {MAX_NESTING} levels deep") });
        }
        let syntax = syn::parse2::<syn::File>(tokens.clone()).map_err(|e| ParseError { line: e.span().start().line, message: e.to_string() })?;
        let sequences = crate::syntax::tokens::sequences_of(&tokens);
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

/// The line where `tokens` nest deeper than [`MAX_NESTING`], if they do. Walks the tree
/// with its own stack, so it cannot overflow.
fn too_deep(tokens: &TokenStream) -> Option<usize> {
    use proc_macro2::{Delimiter, TokenTree};
    /// One level of delimiters: its tokens, the depth it starts at, the current run of
    /// prefix operators, and the `<`s not yet closed since the last `,`, `;` or `{}`
    /// (generic arguments nest without delimiters; a comparison only overcounts there).
    struct Level {
        tokens: proc_macro2::token_stream::IntoIter,
        base: usize,
        run: usize,
        angles: usize,
    }
    let mut stack = vec![Level { tokens: tokens.clone().into_iter(), base: 0, run: 0, angles: 0 }];
    while let Some(level) = stack.last_mut() {
        let depth = level.base + level.run + level.angles;
        match level.tokens.next() {
            Some(TokenTree::Group(g)) => {
                level.run = 0;
                if g.delimiter() == Delimiter::Brace {
                    level.angles = 0;
                }
                if depth + 1 > MAX_NESTING {
                    return Some(g.span_open().start().line);
                }
                stack.push(Level { tokens: g.stream().into_iter(), base: depth + 1, run: 0, angles: 0 });
            }
            Some(TokenTree::Punct(p)) => {
                match p.as_char() {
                    '&' | '!' | '-' | '*' => level.run += 1,
                    '<' => level.angles += 1,
                    '>' => level.angles = level.angles.saturating_sub(1),
                    ',' | ';' => level.angles = 0,
                    _ => {}
                }
                if level.base + level.run + level.angles > MAX_NESTING {
                    return Some(p.span().start().line);
                }
            }
            Some(_) => level.run = 0,
            None => {
                stack.pop();
            }
        }
    }
    None
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
}
