//! Parsing with byte-accurate spans: the token stream and the syntax tree of a file,
//! with a way back from spans to byte ranges of the original text (BOM and shebang
//! handled).

use std::ops::Range;

use proc_macro2::{Span, TokenStream};

const BOM: &str = "\u{feff}";

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
