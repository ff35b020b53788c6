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

/// How many operators one expression may chain (`a + b + ...`, `x.f().g()...`): counted
/// as punctuation between two `,`, `;` or `{}` of one level. syn builds such a chain as a
/// tree as deep as it is long, and the visitors recurse down it; longer chains are
/// refused with an error rather than overflowing the stack. rustc itself overflows at
/// about 100 000 `+`s. High enough that the token soup of a macro body (an HTML template)
/// does not reach it: that would be 12 000 elements between two braces.
pub const MAX_CHAIN: usize = 50_000;

/// How many closures one expression may open (`|x| |y| ...`): nested closures recurse more
/// per level than other operators (3 000 fit in a debug build's worker stack, 10 000 do
/// not). A `|` opens a closure where no operand comes before it: at the start, after an
/// operator (not the first half of `||`) or after `move`; or-patterns and `|`/`||`
/// chains have an operand before each `|` and count only towards [`MAX_CHAIN`].
pub const MAX_CLOSURES: usize = 3_000;

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
        Parsed::parse_range(text, 0..text.len())
    }

    /// Lexes and parses `text[range]`, a run of whole items (one of [`Outline::chunks`]),
    /// with spans still mapping to byte ranges of the whole `text` and errors at lines of
    /// the whole `text`.
    pub fn parse_range(text: &str, range: Range<usize>) -> Result<Parsed, ParseError> {
        let (base, body, blanked) = prepare(text, range);
        let body = blanked.as_deref().unwrap_or(body);
        let line_base = text[..base].matches('\n').count();
        let error = |line: usize, message: String| ParseError { line: line + line_base, message };
        let tokens = lex(body).map_err(|(line, message)| error(line, message))?;
        let syntax = syn::parse2::<syn::File>(tokens.clone()).map_err(|e| error(e.span().start().line, e.to_string()))?;
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

/// Lexes `body`, and refuses tokens that syn and the visitors could not take without
/// overflowing the stack ([`too_deep`]): the line (of `body`) and the error.
fn lex(body: &str) -> Result<TokenStream, (usize, String)> {
    let tokens: TokenStream = body.parse().map_err(|e: proc_macro2::LexError| (e.span().start().line, format!("cannot tokenize: {e}")))?;
    match too_deep(&tokens) {
        Some(refused) => Err(refused),
        None => Ok(tokens),
    }
}

/// The line and the error where `tokens` nest deeper than [`MAX_NESTING`], or one
/// expression chains more than [`MAX_CHAIN`] operators or opens more than
/// [`MAX_CLOSURES`] closures, if they do. Walks the tree with its own stack, so it cannot
/// overflow.
fn too_deep(tokens: &TokenStream) -> Option<(usize, String)> {
    use proc_macro2::{Delimiter, Spacing, TokenTree};
    /// What one expression holds since the last `,`, `;` or `{}` of its level: the `<`s
    /// not yet closed (generic arguments nest without delimiters; a comparison only
    /// overcounts there), its punctuation (an operator chain), the closures it opens.
    #[derive(Default)]
    struct Expr {
        angles: usize,
        chain: usize,
        closures: usize,
    }
    /// One level of delimiters: its tokens, the depth it starts at, the current run of
    /// prefix operators, the expression, and whether the token before comes first in an
    /// operand (none, an operator other than a joint one, or `move`).
    struct Level {
        tokens: proc_macro2::token_stream::IntoIter,
        base: usize,
        run: usize,
        expr: Expr,
        operand_next: bool,
    }
    let level_at = |tokens: &TokenStream, base: usize| Level { tokens: tokens.clone().into_iter(), base, run: 0, expr: Expr::default(), operand_next: true };
    let nested = |line: usize| Some((line, format!("nested more than {MAX_NESTING} levels deep")));
    let mut stack = vec![level_at(tokens, 0)];
    while let Some(level) = stack.last_mut() {
        let depth = level.base + level.run + level.expr.angles;
        let operand_next = std::mem::replace(&mut level.operand_next, false);
        match level.tokens.next() {
            Some(TokenTree::Group(g)) => {
                level.run = 0;
                if g.delimiter() == Delimiter::Brace {
                    level.expr = Expr::default();
                }
                if depth + 1 > MAX_NESTING {
                    return nested(g.span_open().start().line);
                }
                stack.push(level_at(&g.stream(), depth + 1));
            }
            Some(TokenTree::Punct(p)) => {
                level.expr.chain += 1;
                level.operand_next = p.spacing() == Spacing::Alone;
                match p.as_char() {
                    '&' | '!' | '-' | '*' => level.run += 1,
                    '<' => level.expr.angles += 1,
                    '>' => level.expr.angles = level.expr.angles.saturating_sub(1),
                    '|' if operand_next => level.expr.closures += 1,
                    ',' | ';' => level.expr = Expr::default(),
                    _ => {}
                }
                if level.base + level.run + level.expr.angles > MAX_NESTING {
                    return nested(p.span().start().line);
                }
                if level.expr.chain > MAX_CHAIN || level.expr.closures > MAX_CLOSURES {
                    return Some((p.span().start().line, format!("an expression chains more than {MAX_CHAIN} operators or {MAX_CLOSURES} closures")));
                }
            }
            Some(TokenTree::Ident(i)) => {
                level.run = 0;
                level.operand_next = i == "move";
            }
            Some(TokenTree::Literal(_)) => level.run = 0,
            None => {
                stack.pop();
            }
        }
    }
    None
}

/// The part of `text[range]` to lex, its offset in `text`, and, when it starts the file
/// with a shebang line, the same text with that line blanked (so that offsets hold).
fn prepare(text: &str, range: Range<usize>) -> (usize, &str, Option<String>) {
    if range.start > 0 {
        return (range.start, &text[range], None);
    }
    let base = if text.starts_with(BOM) { BOM.len() } else { 0 };
    let body = &text[base..range.end.max(base)];
    let blanked = shebang_len(body).map(|len| format!("{}{}", " ".repeat(len), &body[len..]));
    (base, body, blanked)
}

/// A large file read in chunks: the byte ranges of runs of whole top-level items, and
/// what rules need to know about the whole file while they see one chunk.
#[derive(Debug)]
pub struct Outline {
    /// Consecutive ranges covering the whole text; each holds whole items (the first
    /// also the inner attributes and what precedes the first item).
    pub chunks: Vec<Range<usize>>,
    /// Facts of the whole file.
    pub facts: FileFacts,
}

/// What a rule may need to know about the whole file, whichever part of it it sees.
#[derive(Debug, Default)]
pub struct FileFacts {
    /// The file's `use` map, every `use` at any depth.
    pub imports: crate::syntax::tokens::Imports,
    /// Names of the methods the file defines (inherent and trait impls, trait definitions).
    pub methods: std::collections::BTreeSet<String>,
}

impl FileFacts {
    /// The facts of a parsed file.
    pub fn of(file: &syn::File) -> FileFacts {
        let mut facts = FileFacts::default();
        file.items.iter().for_each(|item| facts.add(item));
        facts
    }

    /// Adds what one top-level item says.
    fn add(&mut self, item: &syn::Item) {
        struct Methods<'m>(&'m mut std::collections::BTreeSet<String>);
        impl<'a> syn::visit::Visit<'a> for Methods<'_> {
            fn visit_impl_item_fn(&mut self, f: &'a syn::ImplItemFn) {
                self.0.insert(f.sig.ident.to_string());
                syn::visit::visit_impl_item_fn(self, f);
            }
            fn visit_trait_item_fn(&mut self, f: &'a syn::TraitItemFn) {
                self.0.insert(f.sig.ident.to_string());
                syn::visit::visit_trait_item_fn(self, f);
            }
        }
        self.imports.add_item(item);
        syn::visit::Visit::visit_item(&mut Methods(&mut self.methods), item);
    }
}

/// Splits `text` into chunks of whole top-level items of about `budget` bytes each,
/// parsing one item at a time: the whole token stream is held, but never the whole tree,
/// which takes about fifty times the text's size. Fails where [`Parsed::parse`] would.
pub fn outline(text: &str, budget: usize) -> Result<Outline, ParseError> {
    use syn::parse::{ParseStream, Parser};
    let (base, body, blanked) = prepare(text, 0..text.len());
    let body = blanked.as_deref().unwrap_or(body);
    let tokens = lex(body).map_err(|(line, message)| ParseError { line, message })?;
    let mut starts = Vec::new();
    let mut facts = FileFacts::default();
    let items = |input: ParseStream<'_>| -> syn::Result<()> {
        input.call(syn::Attribute::parse_inner)?;
        while !input.is_empty() {
            starts.push(input.span().byte_range().start + base);
            facts.add(&input.parse::<syn::Item>()?);
        }
        Ok(())
    };
    let parsed = items.parse2(tokens).map_err(|e| ParseError { line: e.span().start().line, message: e.to_string() });
    // The spans of this pass are dead; the chunks are lexed again, each on its own.
    proc_macro2::extra::invalidate_current_thread_spans();
    parsed?;
    let mut chunks = Vec::new();
    let mut start = 0;
    for &item in starts.iter().skip(1) {
        if item - start >= budget {
            chunks.push(start..item);
            start = item;
        }
    }
    chunks.push(start..text.len());
    Ok(Outline { chunks, facts })
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
    fn an_outline_covers_the_file_in_whole_items_and_chunks_map_back() {
        let text =
            "\u{feff}#!/usr/bin/env run\n#![allow(x)]\n//! doc\nuse a::b;\n/// one\nfn one() {}\n// between\nimpl T { fn m(&self) {} }\nmod m { use c::d; }\n";
        let outline = outline(text, 0).unwrap();
        let starts: Vec<&str> = outline.chunks.iter().map(|r| text[r.clone()].lines().next().unwrap()).collect();
        assert_eq!(starts, ["\u{feff}#!/usr/bin/env run", "/// one", "impl T { fn m(&self) {} }", "mod m { use c::d; }"]);
        assert_eq!(outline.chunks.first().unwrap().start, 0);
        assert_eq!(outline.chunks.last().unwrap().end, text.len());
        assert!(outline.chunks.windows(2).all(|w| w[0].end == w[1].start));
        assert!(outline.facts.methods.contains("m"));
        for range in &outline.chunks {
            let parsed = Parsed::parse_range(text, range.clone()).unwrap();
            for item in &parsed.syntax.items {
                let syn::Item::Fn(f) = item else { continue };
                assert_eq!(&text[parsed.range(f.sig.ident.span())], "one");
            }
        }
        // Chunks of a budget hold several items.
        assert_eq!(super::outline(text, 60).unwrap().chunks.len(), 2);
    }

    #[test]
    fn outline_and_chunks_report_errors_at_lines_of_the_whole_file() {
        let text = "fn a() {}\n\nfn b( {}\n";
        assert_eq!(outline(text, 0).unwrap_err().line, 3);
        let text = "fn a() {}\nfn b() {}\n\nfn c() { let }\n";
        assert_eq!(Parsed::parse_range(text, 20..text.len()).err().map(|e| e.line), Some(4));
    }
}
