//! Layout of the changes that insert blocks or restructure code, as rustfmt would lay out
//! the lines they touch, and nothing else.
//!
//! rustc's suggestions are token-correct but not laid out: `unsafe_op_in_unsafe_fn` gives
//! `unsafe fn f() { unsafe {` … `}}`, and an `if let` rewritten to a `match` (rustc's
//! `if_let_rescope` suggestion, or the `if-let-guard-method` rule) gives
//! `match e { P => {` … `} _ => {` … `}}`. [`lay_out_changes`] rewrites the edits of such a
//! change so that the construct it makes comes out as rustfmt formats it (default style:
//! block indent, `max_width` from [`Style`]):
//!
//! - an `unsafe` block wrapping a function's body: `unsafe {` on its own line one level in,
//!   the body one level further, `}` on its own line; `unsafe { e }` on one line when the
//!   body is one expression without comments that fits (rustfmt's single-line block);
//! - a `match` made from `if let … else`: one arm a line; a block holding one expression
//!   without comments flattened to `P => e,` when it fits (a nested `match`, from an
//!   `else if let`, becomes `_ => match … {` … `},`; a multi-line call, struct, array or
//!   tuple, and a `match` or `unsafe` block of the file's own, goes after `=>`, as rustfmt
//!   keeps it); any other block stays a block, its lines one level further in;
//!   `_ => if c {` … (rustc's rewrite of an `else if`) goes in a block, as rustfmt puts it;
//!   a scrutinee on several lines puts `{` on a line of its own; and around the `match`,
//!   what rustfmt changes because it is one: an arm's or a closure's block holding only it
//!   is flattened (`P => match … {` … `},`, `|c| match … {` … `}`), and a `let x =` whose
//!   `if let` had to go on the next line takes the `match` after `=` when it fits.
//!
//! How: the change's edits are applied to the construct they touch (the innermost function
//! body or `if` around them in the original tree, or the arm's or closure's block holding
//! only that `if`), the result is parsed and printed again from its
//! own text — each piece re-indented by whole lines, keeping its lines' relative
//! indentation — and the new edits are the difference between the original construct and
//! that text, line by line (a line that only moves gets its indentation changed at its
//! start: another change inside it does not conflict). Pieces are copied, never re-printed
//! from the tree: comments inside them stay. A line that starts inside a literal (a string
//! spanning lines, raw or not) is the literal's text and is never re-indented; rustfmt
//! leaves it as it is too.
//!
//! The change keeps its edits as they were when it cannot be laid out safely: a comment
//! stands between the pieces (between an arm's block and `_ =>`), a block holds code on
//! the line of its `{` or its `}`, a line is indented less than the construct, the printed
//! text differs from the suggestion by anything but whitespace and the braces and commas of
//! flattened arms, or another change restructures the same construct (an `if let`
//! rewritten inside a body that gets its `unsafe` block: laid out one by one, their
//! re-indentations would not add up) or would come to conflict with it. A line that moves
//! one level in and no longer fits `max_width` is not re-wrapped (that would take a
//! formatter): rustfmt would still change that line.

use std::ops::Range;

use proc_macro2::{TokenStream, TokenTree};
use syn::spanned::Spanned;
use syn::visit::Visit;

use crate::core::model::{Change, Edit};
use crate::core::plan::apply_edits;
use crate::core::text::{line_ending, LineIndex};

/// The rustfmt settings the layout follows: the ones of its defaults that decide how an
/// inserted block or a `match` is laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Style {
    /// rustfmt's `max_width`: an arm or an `unsafe { e }` goes on one line only within it.
    pub max_width: usize,
}

impl Default for Style {
    fn default() -> Self {
        Style { max_width: 100 }
    }
}

impl Style {
    /// The style a `rustfmt.toml` (or `.rustfmt.toml`) sets: its `max_width`, else
    /// rustfmt's default. A file that is not TOML, or a value that is not a width, is
    /// rustfmt's error to report: the default is used.
    pub fn from_rustfmt_toml(text: &str) -> Style {
        let max_width = text.parse::<toml::Table>().ok().and_then(|t| t.get("max_width")?.as_integer()).and_then(|w| usize::try_from(w).ok());
        Style { max_width: max_width.unwrap_or(Style::default().max_width) }
    }
}

/// Rewrites the edits of the changes of one file (`text`, the original) that insert
/// blocks or restructure code, so that what they make is laid out as rustfmt would lay it
/// out; other changes, and changes that cannot be laid out safely (see the module's
/// documentation), keep their edits. Parses `text` once, and only when a change's edits
/// insert a brace.
pub fn lay_out_changes(text: &str, changes: &mut [Change], style: Style) {
    if !restructures(changes) {
        return;
    }
    let Some(nodes) = nodes_of(text) else { return };
    // Each structural change's construct and its laid-out edits, if it can be laid out.
    let laid: Vec<Option<(Range<usize>, Vec<Edit>)>> =
        changes.iter().map(|c| if structural(c) { lay_out(text, &c.edits, &nodes, style) } else { None }).collect();
    let span = |edits: &[Edit]| edits.iter().map(|e| e.range.start).min().unwrap_or(0)..edits.iter().map(|e| e.range.end).max().unwrap_or(0);
    let reach: Vec<Range<usize>> = laid.iter().zip(changes.iter()).map(|(l, c)| l.as_ref().map_or_else(|| span(&c.edits), |(r, _)| r.clone())).collect();
    // The changes that re-indent lines: laid out, or inserting line breaks of their own.
    let moves_lines: Vec<bool> = changes.iter().zip(&laid).map(|(c, l)| l.is_some() || c.edits.iter().any(|e| e.replacement.contains('\n'))).collect();
    let overlap = |a: &Range<usize>, b: &Range<usize>| a.start <= b.end && b.start <= a.end;
    let clash = |a: &[Edit], b: &[Edit]| a.iter().any(|x| b.iter().any(|y| crate::core::plan::conflicts(x, y)));
    let original: Vec<Vec<Edit>> = changes.iter().map(|c| c.edits.clone()).collect();
    for i in 0..changes.len() {
        let Some((construct, edits)) = &laid[i] else { continue };
        // Two restructurings of one construct (an `if let` rewritten inside a body that
        // gets its `unsafe` block) each re-indent the same lines: laid out one by one,
        // their edits would not add up. Both keep their own. (The same change reported
        // twice, by two targets, is one; an `unsafe { f() }` inserted within a line adds
        // up with any re-indentation.)
        let nested = (0..changes.len()).any(|j| j != i && moves_lines[j] && original[j] != original[i] && overlap(construct, &reach[j]));
        // A change laid out must not come to conflict with another one it did not
        // conflict with (a line it re-indents that another change joins): it keeps its edits.
        let breaks = (0..changes.len()).any(|j| {
            j != i
                && original[j] != original[i]
                && overlap(&span(edits), &span(&changes[j].edits))
                && clash(edits, &changes[j].edits)
                && !clash(&original[i], &original[j])
        });
        if !nested && !breaks {
            changes[i].edits = edits.clone();
        }
    }
}

/// Whether a change inserts a brace: one [`lay_out_changes`] may lay out.
fn structural(change: &Change) -> bool {
    change.edits.iter().any(|e| e.replacement.contains(['{', '}']))
}

/// Whether any of `changes` is one [`lay_out_changes`] may lay out (the style need not be
/// looked up otherwise).
pub fn restructures(changes: &[Change]) -> bool {
    changes.iter().any(structural)
}

/// What a construct the layout knows is, in the original tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// A function's body: an `unsafe` block may be wrapped around its contents.
    Body,
    /// A `{ }` group in a `macro_rules!` definition's body (not parsed as Rust: `$x`): a
    /// function's body in a transcriber, when the edits sit exactly on its braces.
    MacroBody,
    /// An `if` (an `if let` may become a `match`).
    If,
    /// A match arm's block holding only an `if`: rustfmt flattens it once that is a
    /// `match` (`P => match … {` … `},`).
    ArmBlock,
    /// The same for a closure's block (`|c| match … {` … `}`).
    ClosureBlock,
}

/// The function bodies and `if` expressions of a file, by byte range, those inside macro
/// invocations whose body is Rust code included (not a `macro_rules!` definition's: a
/// change there keeps its edits).
fn nodes_of(text: &str) -> Option<Vec<(Range<usize>, Kind)>> {
    struct Nodes<'p> {
        parsed: &'p crate::syntax::parsed::Parsed,
        out: Vec<(Range<usize>, Kind)>,
    }
    impl<'a> Visit<'a> for Nodes<'_> {
        fn visit_item_fn(&mut self, f: &'a syn::ItemFn) {
            self.out.push((self.parsed.range(f.block.span()), Kind::Body));
            syn::visit::visit_item_fn(self, f);
        }
        fn visit_impl_item_fn(&mut self, f: &'a syn::ImplItemFn) {
            self.out.push((self.parsed.range(f.block.span()), Kind::Body));
            syn::visit::visit_impl_item_fn(self, f);
        }
        fn visit_trait_item_fn(&mut self, f: &'a syn::TraitItemFn) {
            if let Some(block) = &f.default {
                self.out.push((self.parsed.range(block.span()), Kind::Body));
            }
            syn::visit::visit_trait_item_fn(self, f);
        }
        fn visit_expr_if(&mut self, e: &'a syn::ExprIf) {
            self.out.push((self.parsed.range(e.span()), Kind::If));
            syn::visit::visit_expr_if(self, e);
        }
        fn visit_arm(&mut self, a: &'a syn::Arm) {
            if let Some(block) = only_if(&a.body) {
                self.out.push((self.parsed.range(block.span()), Kind::ArmBlock));
            }
            syn::visit::visit_arm(self, a);
        }
        fn visit_expr_closure(&mut self, c: &'a syn::ExprClosure) {
            if let Some(block) = only_if(&c.body) {
                self.out.push((self.parsed.range(block.span()), Kind::ClosureBlock));
            }
            syn::visit::visit_expr_closure(self, c);
        }
        // Code inside a macro invocation (`cfg_rt! { … }`): its tokens keep their places.
        // A `macro_rules!` definition is not Rust code: its `{ }` groups, by their braces.
        fn visit_macro(&mut self, mac: &'a syn::Macro) {
            if mac.path.is_ident("macro_rules") {
                self.groups(&mac.tokens);
            } else {
                crate::syntax::tokens::visit_macro_body(self, mac);
            }
        }
    }
    impl Nodes<'_> {
        fn groups(&mut self, tokens: &TokenStream) {
            for tt in tokens.clone() {
                if let TokenTree::Group(g) = tt {
                    if g.delimiter() == proc_macro2::Delimiter::Brace {
                        self.out.push((self.parsed.range(g.span()), Kind::MacroBody));
                    }
                    self.groups(&g.stream());
                }
            }
        }
    }
    let parsed = crate::syntax::parsed::Parsed::parse(text).ok()?;
    let mut nodes = Nodes { parsed: &parsed, out: Vec::new() };
    nodes.visit_file(&parsed.syntax);
    Some(nodes.out)
}

/// The block of `e` when it holds only an `if` (no statement, no label, no attribute).
fn only_if(e: &syn::Expr) -> Option<&syn::ExprBlock> {
    match e {
        syn::Expr::Block(b) if b.attrs.is_empty() && b.label.is_none() && matches!(b.block.stmts.as_slice(), [syn::Stmt::Expr(syn::Expr::If(_), None)]) => {
            Some(b)
        }
        _ => None,
    }
}

/// The construct one change restructures and its laid-out edits, or `None` to keep its own.
fn lay_out(text: &str, edits: &[Edit], nodes: &[(Range<usize>, Kind)], style: Style) -> Option<(Range<usize>, Vec<Edit>)> {
    let lo = edits.iter().map(|e| e.range.start).min()?;
    let hi = edits.iter().map(|e| e.range.end).max()?;
    // The innermost construct around every edit.
    let around = |r: &Range<usize>, k: &Kind| match k {
        Kind::MacroBody => r.start == lo && r.end == hi,
        Kind::ArmBlock | Kind::ClosureBlock => false,
        _ => r.start <= lo && hi <= r.end,
    };
    let (range, kind) = nodes.iter().filter(|(r, k)| around(r, k)).min_by_key(|(r, _)| r.len())?;
    // An `if` that is all of an arm's or a closure's block: that block is the construct.
    let (range, kind) = match nodes.iter().find(|(r, k)| matches!(k, Kind::ArmBlock | Kind::ClosureBlock) && r.start < range.start && range.end < r.end) {
        Some((r, k)) if *kind == Kind::If && text[r.start + 1..range.start].trim().is_empty() && text[range.end..r.end - 1].trim().is_empty() => (r, k),
        _ => (range, kind),
    };
    let old = &text[range.clone()];
    let local: Vec<Edit> = edits.iter().map(|e| Edit::replace(e.range.start - range.start..e.range.end - range.start, e.replacement.clone())).collect();
    let suggested = apply_edits(old, &local).ok()?;
    let lines = LineIndex::new(text);
    let indent = crate::core::text::indentation_at(text, &lines, range.start).to_string();
    let eol = line_ending(text);
    // `let x =` / `if let … {` on the next line (rustfmt broke the line there because the
    // `if let` did not fit): the `match` goes after `=` when its first line fits there.
    let line_start = lines.line_start(range.start);
    let assigned = (*kind == Kind::If && line_start > 0 && text[line_start..range.start].trim().is_empty())
        .then(|| {
            let before = text[..line_start].trim_end();
            let prev = lines.line_start(before.len().saturating_sub(1));
            (before.ends_with(" =") && !text[prev..before.len()].trim_start().starts_with("//")).then_some((prev, before.len()))
        })
        .flatten();
    let joined = assigned.and_then(|(prev, eq)| {
        let at = crate::core::text::indentation_at(text, &lines, eq);
        let printed = print(&suggested, old, &indent, at, *kind, eol, style)?;
        (width(&format!("{} {}", &text[prev..eq], printed.lines().next()?)) <= style.max_width).then(|| (eq, format!(" {printed}")))
    });
    let (start, mut printed) = match joined {
        Some(joined) => (joined.0, Some(joined.1)),
        None => (range.start, print(&suggested, old, &indent, &indent, *kind, eol, style)),
    };
    // An arm's block flattened to a `match` takes the comma rustfmt gives it.
    if *kind == Kind::ArmBlock && !text[range.end..].trim_start().starts_with(',') {
        printed = printed.map(|p| p + ",");
    }
    // A proc-macro2 parse leaves its spans in the thread's source map: drop them.
    proc_macro2::extra::invalidate_current_thread_spans();
    let printed = printed?;
    let (old, suggested) = (&text[start..range.end], format!("{}{suggested}", &text[start..range.start]));
    if printed == suggested || !same_code(&suggested, &printed) {
        return None;
    }
    Some((start..range.end, diff(old, &printed).into_iter().map(|e| Edit::replace(e.range.start + start..e.range.end + start, e.replacement)).collect()))
}

/// Whether two texts are the same code but for whitespace and the braces and commas a
/// flattened arm drops and adds (their tokens are compared by [`Printer::shift`], which
/// never re-indents a line inside a literal).
fn same_code(a: &str, b: &str) -> bool {
    let code = |s: &str| s.chars().filter(|c| !c.is_whitespace() && !matches!(c, '{' | '}' | ',')).collect::<String>();
    code(a) == code(b)
}

/// Edits that turn `old` into `new`, line by line: a line that only moves (the same text
/// after its indentation) gets its indentation changed at its start, and what else differs
/// is one edit per run of lines, trimmed to what changes. Small edits at predictable places:
/// another change inside a re-indented line does not conflict with them.
fn diff(old: &str, new: &str) -> Vec<Edit> {
    let (a, b): (Vec<&str>, Vec<&str>) = (old.split_inclusive('\n').collect(), new.split_inclusive('\n').collect());
    let starts: Vec<usize> = a.iter().scan(0, |at, l| Some(std::mem::replace(at, *at + l.len()))).chain([old.len()]).collect();
    let key = |l: &&str| l.trim_start_matches([' ', '\t']).to_string();
    let (ka, kb): (Vec<String>, Vec<String>) = (a.iter().map(key).collect(), b.iter().map(key).collect());
    let lead = |l: &str| l.len() - l.trim_start_matches([' ', '\t']).len();
    let mut out = Vec::new();
    let mut at = 0;
    for op in similar::capture_diff_slices(similar::Algorithm::Myers, &ka, &kb) {
        let (tag, o, n) = op.as_tag_tuple();
        let o = if tag == similar::DiffTag::Insert { at..at } else { o };
        at = o.end;
        if tag == similar::DiffTag::Equal {
            for (i, j) in o.zip(n) {
                let (was, now) = (&a[i][..lead(a[i])], &b[j][..lead(b[j])]);
                if was == now {
                    continue;
                }
                out.push(match now.strip_suffix(was) {
                    Some(more) => Edit::insert(starts[i], more),
                    None => Edit::replace(starts[i]..starts[i] + was.len(), now),
                });
            }
            continue;
        }
        let (from, to) = (&old[starts[o.start]..starts[o.end]], b[n].concat());
        let prefix = from.chars().zip(to.chars()).take_while(|(x, y)| x == y).map(|(x, _)| x.len_utf8()).sum::<usize>();
        let suffix = from[prefix..].chars().rev().zip(to[prefix..].chars().rev()).take_while(|(x, y)| x == y).map(|(x, _)| x.len_utf8()).sum::<usize>();
        let (start, end) = (starts[o.start] + prefix, starts[o.end] - suffix);
        let (was, now) = (&old[start..end], &to[prefix..to.len() - suffix]);
        // What was there, kept inside what comes (`*p` → `unsafe { *p }`): two insertions
        // around it, which a change inside it does not conflict with.
        match now.find(was).filter(|_| !was.is_empty()) {
            Some(at) => {
                out.extend([Edit::insert(start, &now[..at]), Edit::insert(end, &now[at + was.len()..])].into_iter().filter(|e| !e.replacement.is_empty()))
            }
            None => out.push(Edit::replace(start..end, now)),
        }
    }
    out
}

/// Parses the suggested text of a construct (`original` before the edits) and prints it
/// laid out. `indent` is the indentation of the line the construct starts on, `at` the one
/// it is printed at (another when it moves after a `let x =` above).
fn print(suggested: &str, original: &str, indent: &str, at: &str, kind: Kind, eol: &'static str, style: Style) -> Option<String> {
    let tokens: TokenStream = suggested.parse().ok()?;
    let mut in_literal = vec![false; suggested.lines().count() + 2];
    mark_literals(&tokens, &mut in_literal);
    let p =
        Printer { text: suggested, original, first_indent: indent, unit: unit_of(suggested, indent), eol, style, in_literal, lines: LineIndex::new(suggested) };
    match kind {
        Kind::Body => p.body(&syn::parse2::<syn::Block>(tokens).ok()?),
        Kind::MacroBody => p.macro_body(tokens),
        Kind::If => match syn::parse2::<syn::Expr>(tokens).ok()? {
            syn::Expr::Match(m) => p.match_expr(&m, at),
            // `else { match … }`: an `else if let` whose `if` stays.
            syn::Expr::Block(b) if b.attrs.is_empty() && b.label.is_none() => {
                let syn::Expr::Match(m) = p.only_expr(&b.block)? else { return None };
                let inner = format!("{at}{}", p.unit);
                Some(format!("{{{eol}{inner}{}{eol}{at}}}", p.match_expr(m, &inner)?))
            }
            _ => None,
        },
        // `{ match … }` (the `if` a suggestion made a `match`) flattened: the `match` alone.
        Kind::ArmBlock | Kind::ClosureBlock => {
            let block = syn::parse2::<syn::Block>(tokens).ok()?;
            let syn::Expr::Match(m) = p.only_expr(&block)? else { return None };
            p.match_expr(m, at)
        }
    }
}

/// Marks the lines (1-based) that start inside a literal spanning lines.
fn mark_literals(tokens: &TokenStream, lines: &mut [bool]) {
    for tt in tokens.clone() {
        match tt {
            TokenTree::Group(g) => mark_literals(&g.stream(), lines),
            TokenTree::Literal(l) => {
                let (start, end) = (l.span().start().line, l.span().end().line);
                for line in lines.iter_mut().take(end + 1).skip(start + 1) {
                    *line = true;
                }
            }
            _ => {}
        }
    }
}

/// The file's indentation unit, as the construct shows it: what its first line indented
/// further than `indent` adds (a body's lines, an `if`'s block), else four spaces (a tab
/// when `indent` has tabs).
fn unit_of(text: &str, indent: &str) -> String {
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .find_map(|l| {
            let lead = &l[..l.len() - l.trim_start().len()];
            lead.strip_prefix(indent).filter(|u| !u.is_empty()).map(str::to_string)
        })
        .unwrap_or_else(|| if indent.contains('\t') { "\t".into() } else { "    ".into() })
}

/// Prints the pieces of one construct's suggested text.
struct Printer<'t> {
    text: &'t str,
    /// The construct before the suggestion's edits: a piece found there verbatim is code
    /// of the file (a `match` of its own), not one the suggestion made.
    original: &'t str,
    /// Indentation of the line the construct starts on (its first line is part of one).
    first_indent: &'t str,
    unit: String,
    eol: &'static str,
    style: Style,
    /// Per line of `text` (1-based): whether it starts inside a literal.
    in_literal: Vec<bool>,
    lines: LineIndex,
}

impl Printer<'_> {
    fn range(&self, node: &impl Spanned) -> Range<usize> {
        node.span().byte_range()
    }

    /// The indentation of the line that holds `offset`.
    fn indent_at(&self, offset: usize) -> &str {
        if self.lines.line(offset) == 1 {
            self.first_indent
        } else {
            crate::core::text::indentation_at(self.text, &self.lines, offset)
        }
    }

    /// The text of `range`, its lines after the first moved from the indentation of the
    /// line it starts on to `to`, keeping their relative indentation; a line that starts
    /// inside a literal (a string spanning lines) is the literal's text and stays as it
    /// is. `None` when a line is indented less than the first.
    fn shift(&self, range: Range<usize>, to: &str) -> Option<String> {
        let from = self.indent_at(range.start);
        let first_line = self.lines.line(range.start);
        let mut out = String::new();
        for (i, line) in self.text[range].split('\n').enumerate() {
            if i > 0 {
                out.push('\n');
                // A literal's own lines are its text: left as they are (rustfmt leaves them too).
                if !self.in_literal.get(first_line + i).copied().unwrap_or(false) && !line.trim().is_empty() {
                    out.push_str(to);
                    out.push_str(line.strip_prefix(from)?);
                    continue;
                }
            }
            out.push_str(line);
        }
        Some(out)
    }

    /// Whether `range` of the text holds only whitespace (no comment, no code).
    fn blank(&self, range: Range<usize>) -> bool {
        self.text.get(range).is_some_and(|s| s.trim().is_empty())
    }

    /// The one expression of a block holding nothing else (no statement, no comment, no
    /// macro statement, no attribute): what rustfmt flattens.
    fn only_expr<'b>(&self, block: &'b syn::Block) -> Option<&'b syn::Expr> {
        let [syn::Stmt::Expr(e, None)] = block.stmts.as_slice() else { return None };
        let (outer, inner) = (self.range(block), self.range(e));
        let attrs = match e {
            syn::Expr::Match(m) => &m.attrs,
            syn::Expr::Call(c) => &c.attrs,
            _ => &Vec::new(),
        };
        (attrs.is_empty() && self.blank(outer.start + 1..inner.start) && self.blank(inner.end..outer.end - 1)).then_some(e)
    }

    /// A block laid out at `at` (the indentation of the line its `{` ends up on): kept on
    /// one line if it is one, else its lines moved so that `}` lines up with `at`. `None`
    /// for a block with code on the line of its `{` or its `}`.
    fn block(&self, block: &syn::Block, at: &str) -> Option<String> {
        self.braces(self.range(block), at)
    }

    /// [`Printer::block`] of the `{ … }` at `r`.
    fn braces(&self, r: Range<usize>, at: &str) -> Option<String> {
        let text = &self.text[r.clone()];
        if !text.contains('\n') {
            return Some(text.to_string());
        }
        let first = &text[1..text.find('\n')?];
        let last = &text[text.rfind('\n')? + 1..text.len() - 1];
        (first.trim().is_empty() && last.trim().is_empty()).then_some(())?;
        self.shift(r, at)
    }

    /// A function body whose contents the suggestion wrapped in `unsafe { … }`.
    fn body(&self, body: &syn::Block) -> Option<String> {
        let [syn::Stmt::Expr(syn::Expr::Unsafe(u), None)] = body.stmts.as_slice() else { return None };
        let (outer, inner) = (self.range(body), self.range(u));
        if !u.attrs.is_empty() || !self.blank(outer.start + 1..inner.start) || !self.blank(inner.end..outer.end - 1) {
            return None;
        }
        let (indent, eol) = (self.first_indent, self.eol);
        let at = format!("{indent}{}", self.unit);
        // rustfmt's single-line block: `unsafe { e }` when it is one expression that fits
        // (a macro too, unlike an arm's block).
        if let Some(e) = self.only_expr(&u.block) {
            let e = &self.text[self.range(e)];
            let line = format!("{at}unsafe {{ {e} }}");
            if !e.contains('\n') && width(&line) <= self.style.max_width {
                return Some(format!("{{{eol}{line}{eol}{indent}}}"));
            }
        }
        Some(format!("{{{eol}{at}unsafe {}{eol}{indent}}}", self.block(&u.block, &at)?))
    }

    /// [`Printer::body`] in a `macro_rules!` transcriber, by its tokens: `{ unsafe { … } }`.
    /// Not parsed (`$x` is no Rust), so one expression is told by its text.
    fn macro_body(&self, tokens: TokenStream) -> Option<String> {
        let tokens: Vec<TokenTree> = tokens.into_iter().collect();
        let [TokenTree::Group(outer)] = tokens.as_slice() else { return None };
        let inside: Vec<TokenTree> = outer.stream().into_iter().collect();
        let [TokenTree::Ident(unsafe_kw), TokenTree::Group(inner)] = inside.as_slice() else { return None };
        let (o, kw, i) = (outer.span().byte_range(), unsafe_kw.span().byte_range(), inner.span().byte_range());
        if unsafe_kw != "unsafe" || inner.delimiter() != proc_macro2::Delimiter::Brace || !self.blank(o.start + 1..kw.start) || !self.blank(i.end..o.end - 1) {
            return None;
        }
        let (indent, eol) = (self.first_indent, self.eol);
        let at = format!("{indent}{}", self.unit);
        // One line of code that is no statement and holds no comment: as rustfmt puts one
        // expression, `unsafe { e }` when it fits.
        let e = self.text[i.start + 1..i.end - 1].trim();
        let line = format!("{at}unsafe {{ {e} }}");
        let one = !e.contains('\n') && !e.ends_with(';') && !e.contains("//") && !e.contains("/*") && !e.starts_with("let ");
        if one && width(&line) <= self.style.max_width {
            return Some(format!("{{{eol}{line}{eol}{indent}}}"));
        }
        Some(format!("{{{eol}{at}unsafe {}{eol}{indent}}}", self.braces(i, &at)?))
    }

    /// A `match` laid out at `at`: one arm a line, one level in.
    fn match_expr(&self, m: &syn::ExprMatch, at: &str) -> Option<String> {
        if !m.attrs.is_empty() {
            return None;
        }
        let eol = self.eol;
        let arm_at = format!("{at}{}", self.unit);
        let r = self.range(m);
        let scrutinee = self.range(&*m.expr);
        // A scrutinee on several lines: `{` on a line of its own, as rustfmt puts it.
        let on_its_own = self.shift(scrutinee.clone(), at)?;
        let mut out = match on_its_own.contains('\n') {
            true => format!("match {on_its_own}{eol}{at}{{{eol}"),
            false => format!("match {on_its_own} {{{eol}"),
        };
        // Between the pieces: whitespace only (a comment there would be lost).
        let open = self.range(&m.brace_token.span.join());
        let mut pos = open.start + 1;
        if !self.blank(r.start + "match".len()..scrutinee.start) || !self.blank(scrutinee.end..open.start) {
            return None;
        }
        for arm in &m.arms {
            let ar = self.range(arm);
            if !arm.attrs.is_empty() || arm.guard.is_some() || !self.blank(pos..ar.start) {
                return None;
            }
            let pat = self.shift(self.range(&arm.pat), &arm_at)?;
            let head = format!("{arm_at}{pat} => ");
            out.push_str(&head);
            out.push_str(&self.arm_body(&arm.body, &arm_at, width(&head))?);
            out.push_str(eol);
            pos = ar.end;
        }
        if !self.blank(pos..open.end - 1) {
            return None;
        }
        out.push_str(at);
        out.push('}');
        Some(out)
    }

    /// The body of an arm whose line starts at `at` and runs `head` columns up to it, with
    /// its comma if it takes one.
    fn arm_body(&self, body: &syn::Expr, at: &str, head: usize) -> Option<String> {
        let eol = self.eol;
        match body {
            syn::Expr::Block(b) if b.attrs.is_empty() && b.label.is_none() => {
                if let Some(e) = self.only_expr(&b.block) {
                    let text = &self.text[self.range(e)];
                    let made = !self.original.contains(text);
                    match e {
                        // The `match` of an `else if let`: printed in turn.
                        syn::Expr::Match(m) if made => return Some(format!("{},", self.match_expr(m, at)?)),
                        // A `match` or an `unsafe` block of the file's own: after `=>`, as
                        // it is (rustfmt flattens the block around it).
                        syn::Expr::Match(_) | syn::Expr::Unsafe(_) => {
                            let moved = self.shift(self.range(e), at)?;
                            if head + width(moved.lines().next()?) <= self.style.max_width {
                                return Some(format!("{moved},"));
                            }
                        }
                        _ => {}
                    }
                    if !text.contains('\n') && flattens(e) && head + width(&format!("{text},")) <= self.style.max_width {
                        return Some(format!("{text},"));
                    }
                    if text.contains('\n') && matches!(e, syn::Expr::Call(_) | syn::Expr::Struct(_) | syn::Expr::Array(_) | syn::Expr::Tuple(_)) {
                        let moved = self.shift(self.range(e), at)?;
                        if head + width(moved.lines().next()?) <= self.style.max_width {
                            return Some(format!("{moved},"));
                        }
                    }
                }
                self.block(&b.block, at)
            }
            // `_ => if c { … }`: rustfmt puts an `if` in a block of its own.
            syn::Expr::If(_) => {
                let inner = format!("{at}{}", self.unit);
                Some(format!("{{{eol}{inner}{}{eol}{at}}}", self.shift(self.range(body), &inner)?))
            }
            _ => {
                let text = &self.text[self.range(body)];
                (!text.contains('\n')).then(|| format!("{text},"))
            }
        }
    }
}

/// Whether rustfmt flattens a block holding only `e` into `P => e,` when it fits on the
/// line: not for conditions, loops, blocks or macros (rustfmt keeps those in their block).
fn flattens(e: &syn::Expr) -> bool {
    !matches!(
        e,
        syn::Expr::If(_)
            | syn::Expr::ForLoop(_)
            | syn::Expr::While(_)
            | syn::Expr::Loop(_)
            | syn::Expr::Block(_)
            | syn::Expr::Unsafe(_)
            | syn::Expr::Const(_)
            | syn::Expr::TryBlock(_)
            | syn::Expr::Async(_)
            | syn::Expr::Macro(_)
            | syn::Expr::Let(_)
    )
}

/// Columns a line takes (characters: rustfmt counts Unicode width, which is the same for
/// the code this sees).
fn width(s: &str) -> usize {
    s.chars().count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::model::{CfgStatus, Decider, Safety};

    pub(super) fn change(edits: Vec<Edit>) -> Change {
        Change {
            rule: "test",
            reason: String::new(),
            safety: Safety::Safe,
            decided_by: Decider::Rule,
            file: "lib.rs".into(),
            line: 1,
            cfg: CfgStatus::Active,
            edits,
        }
    }

    /// The text after one change laid out.
    fn laid_out(text: &str, edits: Vec<Edit>) -> String {
        let mut changes = vec![change(edits)];
        lay_out_changes(text, &mut changes, Style::default());
        apply_edits(text, &changes[0].edits).unwrap()
    }

    /// rustc's `unsafe_op_in_unsafe_fn` suggestion on the function whose body starts at
    /// the first `{` after `fn name`: `{ unsafe ` before its `{`, `}` after its `}`.
    pub(super) fn wrap(text: &str, name: &str) -> Vec<Edit> {
        let at = text.find(&format!("fn {name}")).unwrap();
        let open = at + text[at..].find('{').unwrap();
        // The matching `}`: the first one at the function's indentation.
        let lines = LineIndex::new(text);
        let indent = crate::core::text::indentation_at(text, &lines, at);
        let close = if text[open..].find('\n').is_some_and(|n| text[open..open + n].contains('}')) {
            open + text[open..].find('}').unwrap()
        } else {
            open + text[open..].find(&format!("\n{indent}}}")).unwrap() + 1 + indent.len()
        };
        vec![Edit::insert(open, "{ unsafe "), Edit::insert(close + 1, "}")]
    }

    #[test]
    fn unsafe_block_around_a_body() {
        let text = "impl S {\n    /// Doc.\n    unsafe fn f(p: *const u8) -> u8 {\n        let a = *p;\n\n        // why\n        a + 1\n    }\n}\n";
        let out = laid_out(text, wrap(text, "f"));
        assert_eq!(out, "impl S {\n    /// Doc.\n    unsafe fn f(p: *const u8) -> u8 {\n        unsafe {\n            let a = *p;\n\n            // why\n            a + 1\n        }\n    }\n}\n");
    }

    #[test]
    fn one_expression_goes_on_one_line_when_it_fits() {
        let text = "unsafe fn f(p: *const u8) -> u8 {\n    *p\n}\n";
        assert_eq!(laid_out(text, wrap(text, "f")), "unsafe fn f(p: *const u8) -> u8 {\n    unsafe { *p }\n}\n");
        // Too wide for one line: the block.
        let long = format!("unsafe fn f(p: *const u8) -> u8 {{\n    *p.add({})\n}}\n", "1 + ".repeat(22) + "1");
        let out = laid_out(&long, wrap(&long, "f"));
        assert!(out.contains("    unsafe {\n        *p.add(1 + "), "{out}");
        // A macro too (rustfmt keeps one in an arm's block, not in `unsafe`).
        let text = "unsafe fn f() {\n    g!()\n}\n";
        assert_eq!(laid_out(text, wrap(text, "f")), "unsafe fn f() {\n    unsafe { g!() }\n}\n");
        // A statement (`;`) is no expression: the block.
        let text = "unsafe fn f() {\n    g(*p);\n}\n";
        assert_eq!(laid_out(text, wrap(text, "f")), "unsafe fn f() {\n    unsafe {\n        g(*p);\n    }\n}\n");
        // A one-line function (not rustfmt's output to begin with) gets its block.
        let text = "unsafe fn f(p: *const u8) -> u8 { *p }\n";
        assert_eq!(laid_out(text, wrap(text, "f")), "unsafe fn f(p: *const u8) -> u8 {\n    unsafe { *p }\n}\n");
    }

    #[test]
    fn inside_a_macro_invocation() {
        let text = "cfg_rt! {\n    unsafe fn f(p: *const u8) -> u8 {\n        let a = *p;\n        a\n    }\n}\n";
        assert_eq!(
            laid_out(text, wrap(text, "f")),
            "cfg_rt! {\n    unsafe fn f(p: *const u8) -> u8 {\n        unsafe {\n            let a = *p;\n            a\n        }\n    }\n}\n"
        );
    }

    #[test]
    fn inside_a_macro_rules_transcriber() {
        // Not Rust (`$x`): the function's body found by its braces, laid out by its lines.
        let text =
            "macro_rules! m {\n    ($t:ty) => {\n        unsafe fn f(p: *const $t) -> $t {\n            let a = *p;\n            a\n        }\n    };\n}\n";
        assert_eq!(
            laid_out(text, wrap(text, "f")),
            "macro_rules! m {\n    ($t:ty) => {\n        unsafe fn f(p: *const $t) -> $t {\n            unsafe {\n                let a = *p;\n                a\n            }\n        }\n    };\n}\n"
        );
        let text = "macro_rules! m {\n    ($t:ty) => {\n        unsafe fn f(p: *const $t) -> $t {\n            *p\n        }\n    };\n}\n";
        assert_eq!(
            laid_out(text, wrap(text, "f")),
            "macro_rules! m {\n    ($t:ty) => {\n        unsafe fn f(p: *const $t) -> $t {\n            unsafe { *p }\n        }\n    };\n}\n"
        );
        // Edits not on one group's braces: left as they are.
        let edits = vec![Edit::insert(text.find("*p").unwrap(), "{ unsafe "), Edit::insert(text.find("*p").unwrap() + 2, "}")];
        assert_eq!(laid_out(text, edits.clone()), apply_edits(text, &edits).unwrap());
    }

    #[test]
    fn tabs_and_crlf_are_the_files() {
        let text = "impl S {\r\n\tunsafe fn f(p: *const u8) {\r\n\t\tg(*p);\r\n\t\th();\r\n\t}\r\n}\r\n";
        let out = laid_out(text, wrap(text, "f"));
        assert_eq!(out, "impl S {\r\n\tunsafe fn f(p: *const u8) {\r\n\t\tunsafe {\r\n\t\t\tg(*p);\r\n\t\t\th();\r\n\t\t}\r\n\t}\r\n}\r\n");
    }

    #[test]
    fn a_string_spanning_lines_keeps_its_lines() {
        // Re-indenting a string's second line would change the string: its lines stay as
        // they are, the others move (rustfmt's output too).
        let text = "unsafe fn f(p: *const u8) -> usize {\n    let s = \"a\n    b\";\n    let r = r#\"c\nd\"#;\n    let t = \"e \\\n             f\";\n    s.len() + r.len() + t.len() + *p as usize\n}\n";
        assert_eq!(
            laid_out(text, wrap(text, "f")),
            "unsafe fn f(p: *const u8) -> usize {\n    unsafe {\n        let s = \"a\n    b\";\n        let r = r#\"c\nd\"#;\n        let t = \"e \\\n             f\";\n        s.len() + r.len() + t.len() + *p as usize\n    }\n}\n"
        );
    }

    /// rustc's `if_let_rescope` suggestion for `if let` chains: `match` for each `if let`,
    /// `_ => {` for `else`, the closing braces at the end.
    pub(super) fn rescope(text: &str) -> Vec<Edit> {
        let mut edits = Vec::new();
        let mut opened = 0;
        let start = text.find("if let").unwrap();
        let mut pos = start;
        loop {
            let at = pos + text[pos..].find("if let").unwrap();
            let eq = at + text[at..].find(" = ").unwrap();
            let brace = eq + text[eq..].find(" {").unwrap();
            let pat = &text[at + "if let ".len()..eq];
            let head = if at == start { "match " } else { "{ match " };
            edits.push(Edit::replace(at..eq + 3, head));
            edits.push(Edit::replace(brace..brace + 2, format!(" {{ {pat} => {{")));
            opened += if at == start { 1 } else { 2 };
            let els = brace + text[brace..].find("} else ").unwrap();
            if text[els + "} else ".len()..].starts_with("if let") {
                edits.push(Edit::replace(els..els + "} else ".len(), "} _ => "));
                pos = els + "} else ".len();
                continue;
            }
            edits.push(Edit::replace(els..els + "} else {".len(), "} _ => {"));
            // The `}` that closes the `else` block.
            let mut depth = 0;
            let open = els + "} else ".len();
            let end = open
                + text[open..]
                    .char_indices()
                    .find(|&(_, c)| {
                        depth += match c {
                            '{' => 1,
                            '}' => -1,
                            _ => 0,
                        };
                        depth == 0
                    })
                    .unwrap()
                    .0
                + 1;
            edits.push(Edit::insert(end, "}".repeat(opened)));
            return edits;
        }
    }

    #[test]
    fn if_let_to_match_one_arm_a_line() {
        let text = "fn f() -> u8 {\n    if let Some(x) = a.lock().unwrap().get() {\n        x\n    } else if let Some(y) = b() {\n        y + 1\n    } else {\n        let z = 2;\n        z\n    }\n}\n";
        let out = laid_out(text, rescope(text));
        assert_eq!(
            out,
            "fn f() -> u8 {\n    match a.lock().unwrap().get() {\n        Some(x) => x,\n        _ => match b() {\n            Some(y) => y + 1,\n            _ => {\n                let z = 2;\n                z\n            }\n        },\n    }\n}\n"
        );
    }

    #[test]
    fn arms_rustfmt_keeps_in_blocks() {
        // A macro, a comment, an `if`: blocks, their lines one level in; a multi-line call
        // goes after `=>`.
        let text = "fn f() {\n    if let Some(x) = a() {\n        g(\n            x,\n        )\n    } else {\n        // none\n        println!()\n    }\n}\n";
        assert_eq!(
            laid_out(text, rescope(text)),
            "fn f() {\n    match a() {\n        Some(x) => g(\n            x,\n        ),\n        _ => {\n            // none\n            println!()\n        }\n    }\n}\n"
        );
        let text = "fn f() {\n    if let Some(x) = a() {\n        h!(x)\n    } else {\n        if c { 1 } else { 2 }\n    }\n}\n";
        assert_eq!(
            laid_out(text, rescope(text)),
            "fn f() {\n    match a() {\n        Some(x) => {\n            h!(x)\n        }\n        _ => {\n            if c { 1 } else { 2 }\n        }\n    }\n}\n"
        );
    }

    #[test]
    fn an_arms_or_a_closures_block_holding_only_the_if_is_flattened() {
        // rustfmt flattens a block holding only a `match`: the arm's, and the closure's.
        let text = "fn f() {\n    match a {\n        None => {\n            if let Some(x) = b() {\n                x\n            } else {\n                0\n            }\n        }\n        _ => 1,\n    }\n}\n";
        assert_eq!(
            laid_out(text, rescope(text)),
            "fn f() {\n    match a {\n        None => match b() {\n            Some(x) => x,\n            _ => 0,\n        },\n        _ => 1,\n    }\n}\n"
        );
        let text =
            "fn f() {\n    let r = C.with(|c| {\n        if let Some(x) = c.get() {\n            x\n        } else {\n            0\n        }\n    });\n}\n";
        assert_eq!(laid_out(text, rescope(text)), "fn f() {\n    let r = C.with(|c| match c.get() {\n        Some(x) => x,\n        _ => 0,\n    });\n}\n");
    }

    #[test]
    fn after_let_eq_when_it_fits() {
        // rustfmt put the `if let` on a line of its own (too wide after `=`); the shorter
        // `match` goes after `=`.
        let text = "fn f() {\n    let v =\n        if let Some(xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx) = a.lock().unwrap().get_the_value_of(12345) {\n            x\n        } else {\n            0\n        };\n}\n";
        assert_eq!(
            laid_out(text, rescope(text)),
            "fn f() {\n    let v = match a.lock().unwrap().get_the_value_of(12345) {\n        Some(xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx) => x,\n        _ => 0,\n    };\n}\n"
        );
    }

    #[test]
    fn a_scrutinee_on_several_lines_puts_the_brace_on_its_own() {
        let text = "fn f() {\n    if let Some(x) = a\n        .b()\n        .c()\n    {\n        x\n    } else {\n        0\n    }\n}\n";
        let at = text.find("if let").unwrap();
        let brace = text.find("\n    {").unwrap() + "\n    ".len();
        let els = text.find("} else {").unwrap();
        let end = text.rfind("\n    }").unwrap() + "\n    }".len();
        let edits = vec![
            Edit::replace(at..at + "if let Some(x) = ".len(), "match "),
            Edit::insert(brace, "{ Some(x) => "),
            Edit::replace(els..els + "} else".len(), "} _ =>"),
            Edit::insert(end, "}"),
        ];
        assert_eq!(laid_out(text, edits), "fn f() {\n    match a\n        .b()\n        .c()\n    {\n        Some(x) => x,\n        _ => 0,\n    }\n}\n");
    }

    #[test]
    fn rustcs_else_if_goes_in_a_block() {
        // rustc's rewrite of `if let … else if c …`: `_ => if c {`.
        let text = "fn f() -> u8 {\n    if let Some(x) = a() {\n        x\n    } else if c {\n        1\n    } else {\n        2\n    }\n}\n";
        let at = text.find("if let").unwrap();
        let els = text.find("} else if").unwrap();
        let end = text.rfind("\n    }").unwrap() + "\n    }".len();
        let edits = vec![
            Edit::replace(at..at + "if let Some(x) = ".len(), "match "),
            Edit::replace(text.find(" {\n        x").unwrap()..text.find(" {\n        x").unwrap() + 2, " { Some(x) => {"),
            Edit::replace(els..els + "} else ".len(), "} _ => "),
            Edit::insert(end, "}"),
        ];
        assert_eq!(
            laid_out(text, edits),
            "fn f() -> u8 {\n    match a() {\n        Some(x) => x,\n        _ => {\n            if c {\n                1\n            } else {\n                2\n            }\n        }\n    }\n}\n"
        );
    }

    #[test]
    fn a_comment_between_the_arms_keeps_the_suggestion() {
        let text = "fn f() -> u8 {\n    if let Some(x) = a() {\n        x\n    } // here\n    else {\n        2\n    }\n}\n";
        let at = text.find("if let").unwrap();
        let brace = text.find(" {\n        x").unwrap();
        let els = text.find("else {").unwrap();
        let end = text.rfind("\n    }").unwrap() + "\n    }".len();
        let edits = vec![
            Edit::replace(at..at + "if let Some(x) = ".len(), "match "),
            Edit::replace(brace..brace + 2, " { Some(x) => {"),
            Edit::replace(els..els + "else {".len(), "_ => {"),
            Edit::insert(end, "}"),
        ];
        assert_eq!(laid_out(text, edits.clone()), apply_edits(text, &edits).unwrap());
    }

    #[test]
    fn laid_out_edits_are_minimal_and_leave_other_changes_alone() {
        // Another change inside the body (a `static_mut_refs` rewrite) does not conflict
        // with the laid-out edits: only the lines' starts and the braces change.
        let text = "unsafe fn f() -> u32 {\n    let r = &COUNTER;\n    *r\n}\n";
        let mut changes = vec![change(wrap(text, "f")), change(vec![Edit::insert(text.find("COUNTER").unwrap(), "*&raw const ")])];
        lay_out_changes(text, &mut changes, Style::default());
        let all: Vec<Edit> = changes.iter().flat_map(|c| c.edits.clone()).collect();
        assert!(changes[0].edits.iter().all(|e| e.range.len() <= 1 && !e.replacement.contains("COUNTER")), "{:?}", changes[0].edits);
        assert_eq!(apply_edits(text, &all).unwrap(), "unsafe fn f() -> u32 {\n    unsafe {\n        let r = &*&raw const COUNTER;\n        *r\n    }\n}\n");
    }

    #[test]
    fn nested_restructurings_keep_their_edits() {
        // An `if let` rewritten inside a function that gets its `unsafe` block: each would
        // re-indent the same lines; both keep the suggestion's edits, which add up.
        let text = "unsafe fn f(p: *const u8) -> u8 {\n    if let Some(x) = a() {\n        x\n    } else {\n        *p\n    }\n}\n";
        let edits = vec![wrap(text, "f"), rescope(text)];
        let mut changes: Vec<Change> = edits.iter().cloned().map(change).collect();
        lay_out_changes(text, &mut changes, Style::default());
        assert_eq!(changes.iter().map(|c| c.edits.clone()).collect::<Vec<_>>(), edits);
        // The same change twice (two targets reported it) is laid out, the same way.
        let mut twice = vec![change(edits[1].clone()), change(edits[1].clone())];
        lay_out_changes(text, &mut twice, Style::default());
        assert_ne!(twice[0].edits, edits[1]);
        assert_eq!(twice[0].edits, twice[1].edits);
        // Alone, each is laid out.
        let mut one = vec![change(rescope(text))];
        lay_out_changes(text, &mut one, Style::default());
        assert_ne!(one[0].edits, edits[1]);
    }

    #[test]
    fn a_block_inserted_within_a_line_adds_up_with_the_layout() {
        // `unsafe { set_var(..) }` (the `unsafe-std-functions` rule) inside a body rustc
        // wraps: the body is laid out, the call keeps its own edits.
        let text = "unsafe fn f(p: *const u8) {\n    let a = *p;\n    set_var(\"A\", \"1\");\n}\n";
        let call = text.find("set_var").unwrap();
        let inline = vec![Edit::insert(call, "unsafe { "), Edit::insert(call + "set_var(\"A\", \"1\")".len(), " }")];
        let mut changes = vec![change(wrap(text, "f")), change(inline.clone())];
        lay_out_changes(text, &mut changes, Style::default());
        assert_eq!(changes[1].edits, inline);
        let all: Vec<Edit> = changes.iter().flat_map(|c| c.edits.clone()).collect();
        assert_eq!(
            apply_edits(text, &all).unwrap(),
            "unsafe fn f(p: *const u8) {\n    unsafe {\n        let a = *p;\n        unsafe { set_var(\"A\", \"1\") };\n    }\n}\n"
        );
    }

    #[test]
    fn a_layout_that_would_conflict_with_another_change_is_not_made() {
        // Another change joins two lines of the body: the re-indented second line would
        // be inside its edit.
        let text = "unsafe fn f(p: *const u8) -> u8 {\n    let a = *p;\n    a\n}\n";
        let join = text.find(";\n").unwrap() + 1;
        let other = vec![Edit::replace(join..join + "\n    a".len(), " a")];
        let mut changes = vec![change(wrap(text, "f")), change(other.clone())];
        lay_out_changes(text, &mut changes, Style::default());
        assert_eq!(changes[0].edits, wrap(text, "f"));
        assert_eq!(changes[1].edits, other);
        // Without it, the body is laid out.
        let mut alone = vec![change(wrap(text, "f"))];
        lay_out_changes(text, &mut alone, Style::default());
        assert_ne!(alone[0].edits, wrap(text, "f"));
    }

    #[test]
    fn the_width_is_rustfmts() {
        assert_eq!(Style::from_rustfmt_toml("max_width = 79\nhard_tabs = false\n"), Style { max_width: 79 });
        assert_eq!(Style::from_rustfmt_toml("edition = \"2021\""), Style::default());
        assert_eq!(Style::from_rustfmt_toml("max_width = -1"), Style::default());
        assert_eq!(Style::from_rustfmt_toml("not toml ["), Style::default());
        // A narrow style keeps a body in its block where the default puts it on one line.
        let text = "unsafe fn f(p: *const u8) -> u8 {\n    *p.add(12345678)\n}\n";
        let mut changes = vec![change(wrap(text, "f"))];
        lay_out_changes(text, &mut changes, Style { max_width: 30 });
        assert_eq!(apply_edits(text, &changes[0].edits).unwrap(), "unsafe fn f(p: *const u8) -> u8 {\n    unsafe {\n        *p.add(12345678)\n    }\n}\n");
        assert_eq!(laid_out(text, wrap(text, "f")), "unsafe fn f(p: *const u8) -> u8 {\n    unsafe { *p.add(12345678) }\n}\n");
    }

    #[test]
    fn diff_turns_old_into_new() {
        assert_eq!(diff("{\n    *p\n}", "{\n    unsafe { *p }\n}"), vec![Edit::insert(6, "unsafe { "), Edit::insert(8, " }")]);
        for (old, new) in [
            ("{\n    *p\n}", "{\n    unsafe { *p }\n}"),
            ("a\n    } else {\n        b", "a\n        _ => {\n            b"),
            ("é{x}", "é {\n    x\n}"),
            ("", "x"),
            ("xyz", ""),
        ] {
            assert_eq!(apply_edits(old, &diff(old, new)).unwrap(), new);
        }
    }

    #[test]
    fn idempotent_and_other_changes_untouched() {
        let text = "unsafe fn f(p: *const u8) -> u8 {\n    unsafe { *p }\n}\n";
        // Already laid out: printing the construct again changes nothing.
        let edits = vec![Edit::replace(0..6, "unsafe")];
        let mut changes = vec![change(edits.clone())];
        lay_out_changes(text, &mut changes, Style::default());
        assert_eq!(changes[0].edits, edits);
        let done = laid_out("unsafe fn f(p: *const u8) -> u8 {\n    *p\n}\n", wrap("unsafe fn f(p: *const u8) -> u8 {\n    *p\n}\n", "f"));
        assert_eq!(done, text);
        // A suggestion that is already laid out is kept as it is.
        let text = "unsafe fn f(p: *const u8) -> u8 {\n    *p\n}\n";
        let edits = vec![Edit::insert(text.find("*p").unwrap(), "unsafe { "), Edit::insert(text.find("*p").unwrap() + 2, " }")];
        let mut changes = vec![change(edits.clone())];
        lay_out_changes(text, &mut changes, Style::default());
        assert_eq!(changes[0].edits, edits);
    }
}
