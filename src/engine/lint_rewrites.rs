//! The rewrites the compiler phase writes itself, for lint sites where rustc suggests
//! nothing (or nothing that compiles on 2024) and `cargo fix` leaves the crate broken:
//!
//! - `static_mut_refs`: a reference to a `static mut`, explicit (`&S`, `&mut S`) or
//!   implicit (a method call or index on it, a `ref` binding to it, a formatting macro's
//!   argument or inline capture, a macro body reaching it through a metavariable), becomes
//!   the raw-pointer form that keeps today's behaviour ([`static_mut_edits`],
//!   [`static_mut_invocation_edits`]);
//! - `tail_expr_drop_order` where the temporary is borrowed by the block's value (E0716 on
//!   2024, [`tail_temporary_edits`]): the block becomes parentheses when it holds only its
//!   tail (the 2021 drop point, exactly), else the temporary is bound to a `let` declared
//!   before the enclosing statement;
//! - never-type fallback reaching `unsafe` code where rustc suggests no annotation:
//!   through a macro (its suggestion would land in the macro), `let _: () =` at the
//!   invocation ([`never_fallback_invocation_edits`]); a union field or a generic type's
//!   method, the expression annotated in place ([`never_fallback_value_edits`]).
//!
//! Pure functions of a file's text and the compiler's byte ranges; [`crate::engine::compiler`]
//! turns what they return into changes.

use std::ops::Range;

use proc_macro2::{TokenStream, TokenTree};
use syn::spanned::Spanned;
use syn::visit::Visit;

use crate::core::model::{Edit, Safety};
use crate::syntax::parsed::Parsed;

/// Std macros whose arguments after the format string are expressions taken by reference.
const FORMAT_MACROS: [&str; 17] = [
    "format",
    "format_args",
    "print",
    "println",
    "eprint",
    "eprintln",
    "write",
    "writeln",
    "panic",
    "assert",
    "assert_eq",
    "assert_ne",
    "debug_assert",
    "debug_assert_eq",
    "debug_assert_ne",
    "unreachable",
    "todo",
];

/// `static_mut_refs` at `range` of `text` (the compiler's span: `&S`, `&mut S.f`, `S.m()`,
/// `S[i]`, or the bare `S` of a `ref` binding's initializer, a macro argument or a format
/// string's inline capture): the edits to the raw-pointer form and how it reads.
pub fn static_mut_edits(text: &str, range: Range<usize>, mutable: bool) -> Option<(Vec<Edit>, &'static str)> {
    let (start, end) = (range.start, range.end);
    let span = text.get(start..end)?;
    if let Some(rest) = span.strip_prefix("&mut") {
        let skip = span.len() - rest.trim_start().len();
        return Some((vec![Edit::insert(start + skip, "*&raw mut ")], "`&mut *&raw mut STATIC`"));
    }
    if let Some(rest) = span.strip_prefix('&') {
        let skip = span.len() - rest.trim_start().len();
        return Some((vec![Edit::insert(start + skip, "*&raw const ")], "`&*&raw const STATIC`"));
    }
    let path_len = path_prefix(span);
    if path_len == 0 {
        return None;
    }
    let (raw, place, paren) =
        if mutable { ("*&raw mut ", "`*&raw mut STATIC`", "`(*&raw mut STATIC)`") } else { ("*&raw const ", "`*&raw const STATIC`", "`(*&raw const STATIC)`") };
    if path_len < span.len() {
        let receiver = receiver_len(span, path_len);
        if receiver == span.len() {
            // Fields of the static (a `ref` binding to one): the place through the pointer.
            return Some((vec![Edit::insert(start, format!("({raw}")), Edit::insert(start + path_len, ")")], paren));
        }
        // A method call or an index on the static or its fields: the reference the call
        // made implicitly, made explicit. `(*&raw const S).len()` would autoref a raw
        // pointer's target, which rustc denies for some methods (`String::len`:
        // `dangerous_implicit_autorefs`); a receiver `&S` resolves to the same method as
        // `S` did, the method taking `&self` (`&mut self`).
        let borrow = if mutable { "&mut " } else { "&" };
        let edits = if receiver == path_len {
            vec![Edit::insert(start, format!("({borrow}{raw}")), Edit::insert(start + path_len, ")")]
        } else {
            vec![Edit::insert(start, format!("({borrow}({raw}")), Edit::insert(start + path_len, ")"), Edit::insert(start + receiver, ")")]
        };
        let how = if mutable { "`(&mut *&raw mut STATIC).method()`" } else { "`(&*&raw const STATIC).method()`" };
        return Some((edits, how));
    }
    // The bare static: what takes the reference depends on where it is written.
    match token_context(text, start)? {
        Context::FormatString { close } => {
            // `{S}` captured by a format string: an explicit named argument of the same
            // name, which every `{S}` of the string then reads.
            let name = span;
            if !name.chars().all(|c| c.is_alphanumeric() || c == '_') {
                return None;
            }
            let before = text[..close].trim_end();
            let sep = if before.ends_with(',') { " " } else { ", " };
            Some((vec![Edit::insert(before.len(), format!("{sep}{name} = {raw}{name}"))], "a named argument `STATIC = *&raw const STATIC`"))
        }
        Context::Macro { name } if FORMAT_MACROS.contains(&name.as_str()) => Some((vec![Edit::insert(start, raw)], place)),
        // Another macro's argument: one token tree, whatever its fragment.
        Context::Macro { .. } => Some((vec![Edit::insert(start, format!("({raw}")), Edit::insert(end, ")")], paren)),
        Context::Code => {
            let next = text[end..].trim_start().chars().next();
            if matches!(next, Some('.' | '[' | '?')) {
                Some((vec![Edit::insert(start, format!("({raw}")), Edit::insert(end, ")")], paren))
            } else {
                // A `ref` binding's initializer: `*&raw const S` is the same place.
                Some((vec![Edit::insert(start, raw)], place))
            }
        }
    }
}

/// `static_mut_refs` inside a `macro_rules!` body (`&mut ($x.0)`), reached through a
/// metavariable (`$x`) that `invocation` (a range of `text`, `m!(S)`) fills with a
/// static's path: the argument becomes `(*&raw mut S)`, at this invocation only (the same
/// macro may be invoked with places that are not statics, where a raw pointer would need
/// `unsafe` or not compile). `fragment` is the metavariable's fragment specifier; only
/// `expr` and `tt` take the parenthesised expression.
pub fn static_mut_invocation_edits(text: &str, invocation: Range<usize>, fragment: &str, mutable: bool) -> Option<(Vec<Edit>, &'static str)> {
    if !matches!(fragment, "expr" | "tt") {
        return None;
    }
    let call = text.get(invocation.clone())?;
    let bang = call.find('!')?;
    let open = bang + 1 + call[bang + 1..].find(['(', '[', '{'])?;
    let close = call.len().checked_sub(1)?;
    if !matches!(call.as_bytes()[close], b')' | b']' | b'}') || close <= open {
        return None;
    }
    let args = &call[open + 1..close];
    let arg = args.trim();
    let path = path_prefix(arg);
    // The static itself, or (an `expr` fragment only: one expression, however many
    // tokens) a field or element of it, `m!(S.1)` → `m!((*&raw mut S).1)`.
    let place = path > 0 && fragment == "expr" && arg[path..].starts_with(['.', '[']) && syn::parse_str::<syn::Expr>(arg).is_ok();
    if path == 0 || (path != arg.len() && !place) {
        return None;
    }
    let at = invocation.start + open + 1 + (args.len() - args.trim_start().len());
    let raw = if mutable { "(*&raw mut " } else { "(*&raw const " };
    let how = if mutable { "`m!((*&raw mut STATIC))` at the invocation" } else { "`m!((*&raw const STATIC))` at the invocation" };
    Some((vec![Edit::insert(at, raw), Edit::insert(at + path, ")")], how))
}

/// The fragment specifier of the metavariable `$name` in the `macro_rules!` whose body
/// holds `offset` of `text` (the last definition before it), if written there.
pub fn metavariable_fragment(text: &str, offset: usize, name: &str) -> Option<String> {
    let def = text.get(..offset)?.rfind("macro_rules!")?;
    let body = &text[def..offset];
    let pattern = format!("${name}");
    let mut rest = body;
    while let Some(i) = rest.find(&pattern) {
        let after = rest[i + pattern.len()..].trim_start();
        if let Some(spec) = after.strip_prefix(':') {
            let spec = spec.trim_start();
            let len = spec.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(spec.len());
            return Some(spec[..len].to_string());
        }
        rest = &rest[i + pattern.len()..];
    }
    None
}

/// The first metavariable (`$x`, not `$crate`) in `span`, without its `$`.
pub fn first_metavariable(span: &str) -> Option<&str> {
    let mut rest = span;
    while let Some(i) = rest.find('$') {
        let after = &rest[i + 1..];
        let len = after.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(after.len());
        if len > 0 && &after[..len] != "crate" {
            return Some(&after[..len]);
        }
        rest = after;
    }
    None
}

/// The length of the receiver in `span`, a static's path (`path` bytes long) and field
/// accesses (`.0`, `.name`), before a method call (`.m(`, `.m::<`) or an index (`[`);
/// `span.len()` when there is neither.
fn receiver_len(span: &str, path: usize) -> usize {
    let mut at = path;
    loop {
        let rest = &span[at..];
        let trimmed = rest.trim_start();
        if trimmed.starts_with('[') {
            return at;
        }
        let Some(after_dot) = trimmed.strip_prefix('.') else { return span.len() };
        let name = after_dot.trim_start();
        let len = name.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(name.len());
        if len == 0 {
            return span.len();
        }
        let next = name[len..].trim_start();
        if next.starts_with('(') || next.starts_with("::") {
            return at;
        }
        at = span.len() - name[len..].len();
    }
}

/// The length of the path (`S`, `a::S`) `s` starts with.
fn path_prefix(s: &str) -> usize {
    let len = s.find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':')).unwrap_or(s.len());
    if s[..len].starts_with(|c: char| c.is_ascii_digit()) {
        return 0;
    }
    len
}

/// Where a byte offset of a file is written, as far as references to it go.
#[derive(Debug, PartialEq, Eq)]
enum Context {
    /// Inside a string literal that is an argument of a macro invocation: a format
    /// string's inline capture; `close` is the offset of the invocation's closing delimiter.
    FormatString { close: usize },
    /// An argument of the macro `name`.
    Macro { name: String },
    /// Ordinary code.
    Code,
}

/// What holds `offset`: the innermost delimited group around it, if a macro invocation's,
/// and a string literal. `None` when the file does not lex.
fn token_context(text: &str, offset: usize) -> Option<Context> {
    let parsed = Parsed::parse(text).ok()?;
    let mut context = Context::Code;
    let mut stream: TokenStream = parsed.tokens.clone();
    let mut macro_group: Option<(String, usize)> = None;
    'descend: loop {
        let tokens: Vec<TokenTree> = stream.into_iter().collect();
        for (i, tt) in tokens.iter().enumerate() {
            let range = parsed.range(tt.span());
            if !(range.start <= offset && offset < range.end) {
                continue;
            }
            match tt {
                TokenTree::Group(g) => {
                    let name = match (i.checked_sub(2).map(|j| &tokens[j]), i.checked_sub(1).map(|j| &tokens[j])) {
                        (Some(TokenTree::Ident(name)), Some(TokenTree::Punct(p))) if p.as_char() == '!' => Some(name.to_string()),
                        _ => None,
                    };
                    macro_group = name.map(|n| (n, range.end - 1));
                    context = match &macro_group {
                        Some((name, _)) => Context::Macro { name: name.clone() },
                        None => Context::Code,
                    };
                    stream = g.stream();
                    continue 'descend;
                }
                TokenTree::Literal(_) if text[range].contains('"') => {
                    return Some(match macro_group {
                        Some((_, close)) => Context::FormatString { close },
                        None => Context::Code,
                    });
                }
                _ => return Some(context),
            }
        }
        return Some(context);
    }
}

/// `tail_expr_drop_order` where the temporary at `temporary` (the compiler's span: the
/// temporary, or `&temporary`) is borrowed by the value of the block whose tail holds it:
/// in 2024 it is dropped at the end of the block, before that value is used (E0716). The
/// edits that keep it alive as in 2021, how they read, and their safety.
///
/// A plain block holding only its tail becomes parentheses (`{ e }.len()` →
/// `(e).len()`): in 2021 the temporaries of a block's tail live as long as those of the
/// expression around it, as a parenthesised expression's do, so nothing changes (safe).
/// Otherwise (statements before the tail, an `unsafe` block) the temporary is bound to a
/// variable declared before the enclosing statement and assigned where it was evaluated
/// (`let tail_temp;` … `{ s; tail_temp = e; tail_temp.f() }`): the order of evaluation is
/// kept, and it is dropped at the end of the enclosing block instead of the statement
/// (needs review). Only when the temporary is the first thing the tail evaluates. `name`
/// gives the variable's name from the statement's offset (a second temporary bound before
/// the same statement needs another).
pub fn tail_temporary_edits(text: &str, temporary: Range<usize>, name: &mut dyn FnMut(usize) -> String) -> Option<(Vec<Edit>, String, Safety)> {
    let parsed = Parsed::parse(text).ok()?;
    let mut finder =
        TailFinder { parsed: &parsed, target: temporary.clone(), statements: Vec::new(), call_args: Vec::new(), expression_block: false, found: Vec::new() };
    finder.visit_file(&parsed.syntax);
    // The innermost block, and the blocks whose whole tail it is (`{ { t().r() } }`): in
    // 2021 the temporary lives to the end of the outermost one's statement.
    let mut chain = vec![finder.found.pop()?];
    while let Some(outer) = finder.found.pop() {
        if outer.tail != chain[chain.len() - 1].block {
            break;
        }
        chain.push(outer);
    }
    if chain.iter().all(|b| b.plain && b.only_tail) {
        let outermost = &chain[chain.len() - 1];
        let (open, close) = if outermost.call_arg { ("", "") } else { ("(", ")") };
        let mut edits = Vec::new();
        for (i, b) in chain.iter().enumerate() {
            let (open, close) = if i + 1 == chain.len() { (open, close) } else { ("", "") };
            edits.push(Edit::replace(b.block.start..b.tail.start, open));
            edits.push(Edit::replace(b.tail.end..b.block.end, close));
        }
        let how = if outermost.call_arg { "the block's tail without its braces" } else { "the block's tail in parentheses" };
        return Some((edits, format!("{how}: its temporaries live to the end of the statement, as in 2021"), Safety::Safe));
    }
    let found = chain.swap_remove(0);
    let statement = found.statement?;
    if found.tail.start != temporary.start {
        return None;
    }
    let span = &text[temporary.clone()];
    let (borrow, value) = if let Some(rest) = span.strip_prefix("&mut") {
        ("&mut ", rest.trim_start())
    } else if let Some(rest) = span.strip_prefix('&') {
        ("&", rest.trim_start())
    } else {
        ("", span)
    };
    let name = name(statement.start);
    let lines = crate::core::text::LineIndex::new(text);
    let indent = crate::core::text::indentation_at(text, &lines, statement.start);
    let eol = crate::core::text::line_ending(text);
    // A tail on a line of its own: the assignment gets a line of its own too.
    let tail_indent = crate::core::text::indentation_at(text, &lines, temporary.start);
    let own_line = text[lines.line_start(temporary.start)..temporary.start].trim().is_empty();
    let between = if own_line { format!(";{eol}{tail_indent}") } else { "; ".to_string() };
    let edits =
        vec![Edit::insert(statement.start, format!("let {name};{eol}{indent}")), Edit::replace(temporary, format!("{name} = {value}{between}{borrow}{name}"))];
    Some((
        edits,
        format!("the temporary bound to `{name}`, declared before the statement: it lives to the end of the enclosing block (in 2021: of the statement)"),
        Safety::NeedsReview,
    ))
}

/// A block whose tail holds the temporary.
struct Tail {
    /// The block expression (with `unsafe`, label), its tail, and whether it is a plain
    /// block (no `unsafe`, label or attribute; its tail not a place) holding only its tail.
    block: Range<usize>,
    tail: Range<usize>,
    plain: bool,
    only_tail: bool,
    /// Whether the block is an argument of a call (parentheses would be unnecessary).
    call_arg: bool,
    /// The innermost statement around the block, in a block of the same function body
    /// (an expression block's tail counts as the statement the block is in).
    statement: Option<Range<usize>>,
}

struct TailFinder<'p> {
    parsed: &'p Parsed,
    target: Range<usize>,
    /// Statements being visited, innermost last; `None` at a closure or item boundary.
    statements: Vec<Option<Range<usize>>>,
    /// Blocks that are call arguments, by start offset.
    call_args: Vec<usize>,
    /// Set on entering a block expression (`{ }`, `unsafe { }`), taken by its block: the
    /// tail of such a block is no statement of its own (its temporaries, in 2021, live as
    /// long as the block's).
    expression_block: bool,
    /// The blocks whose tail holds the temporary, outermost first.
    found: Vec<Tail>,
}

impl TailFinder<'_> {
    fn consider(&mut self, expr: &syn::Expr, block: &syn::Block, plain: bool) {
        let Some(syn::Stmt::Expr(tail, None)) = block.stmts.last() else { return };
        let tail = self.parsed.range(tail.span());
        if !(tail.start <= self.target.start && self.target.end <= tail.end) {
            return;
        }
        let range = self.parsed.range(expr.span());
        // `{ place }` moves or copies out of the place, `(place)` does not.
        let place = matches!(
            block.stmts.last(),
            Some(syn::Stmt::Expr(
                syn::Expr::Path(_) | syn::Expr::Field(_) | syn::Expr::Index(_) | syn::Expr::Unary(syn::ExprUnary { op: syn::UnOp::Deref(_), .. }),
                None
            ))
        );
        self.found.push(Tail {
            call_arg: self.call_args.contains(&range.start),
            block: range,
            tail,
            plain: plain && !place,
            only_tail: block.stmts.len() == 1,
            statement: self.statements.last().cloned().flatten(),
        });
    }
}

impl<'ast> Visit<'ast> for TailFinder<'_> {
    fn visit_block(&mut self, b: &'ast syn::Block) {
        let expression_block = std::mem::take(&mut self.expression_block);
        for (i, stmt) in b.stmts.iter().enumerate() {
            let tail = i + 1 == b.stmts.len() && matches!(stmt, syn::Stmt::Expr(_, None));
            let statement = if tail && expression_block { self.statements.last().cloned().flatten() } else { Some(self.parsed.range(stmt.span())) };
            self.statements.push(statement);
            self.visit_stmt(stmt);
            self.statements.pop();
        }
    }

    fn visit_expr(&mut self, e: &'ast syn::Expr) {
        let range = self.parsed.range(e.span());
        if !(range.start <= self.target.start && self.target.end <= range.end) {
            return;
        }
        match e {
            syn::Expr::Block(b) => self.consider(e, &b.block, b.label.is_none() && b.attrs.is_empty()),
            syn::Expr::Unsafe(u) => self.consider(e, &u.block, false),
            syn::Expr::Call(c) => self.call_args.extend(c.args.iter().map(|a| self.parsed.range(a.span()).start)),
            syn::Expr::MethodCall(c) => self.call_args.extend(c.args.iter().map(|a| self.parsed.range(a.span()).start)),
            _ => {}
        }
        self.expression_block = matches!(e, syn::Expr::Block(_) | syn::Expr::Unsafe(_));
        let boundary = matches!(e, syn::Expr::Closure(_) | syn::Expr::Async(_) | syn::Expr::Const(_));
        if boundary {
            self.statements.push(None);
        }
        syn::visit::visit_expr(self, e);
        if boundary {
            self.statements.pop();
        }
    }

    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        // `println!("{}", { temp().as_str() }.len())`: the arguments, parsed as Rust.
        let range = self.parsed.range(m.span());
        if range.start <= self.target.start && self.target.end <= range.end {
            crate::syntax::tokens::visit_macro_body(self, m);
        }
    }

    fn visit_item(&mut self, i: &'ast syn::Item) {
        let range = self.parsed.range(i.span());
        if !(range.start <= self.target.start && self.target.end <= range.end) {
            return;
        }
        self.statements.push(None);
        syn::visit::visit_item(self, i);
        self.statements.pop();
    }
}

/// Never-type fallback reaching `unsafe` code inside the macro invoked at `invocation` (a
/// range of `text`): the invocation is a statement whose value is discarded, so the
/// macro's value is what falls back (to `()` in 2021, `!` in 2024): `let _: () =` before
/// it keeps `()`. `None` when the invocation is not a statement of its own (its value is
/// used, or it is a block's tail).
pub fn never_fallback_invocation_edits(text: &str, invocation: Range<usize>) -> Option<Vec<Edit>> {
    let parsed = Parsed::parse(text).ok()?;
    let mut finder = StatementMacro { parsed: &parsed, invocation: invocation.clone(), found: None };
    finder.visit_file(&parsed.syntax);
    let needs_semi = finder.found?;
    let mut edits = vec![Edit::insert(invocation.start, "let _: () = ")];
    if needs_semi {
        edits.push(Edit::insert(invocation.end, ";"));
    }
    Some(edits)
}

/// Finds the macro statement at `invocation`: `Some(false)` when it ends with `;`,
/// `Some(true)` for a braced one without `;` that is not its block's tail.
struct StatementMacro<'p> {
    parsed: &'p Parsed,
    invocation: Range<usize>,
    found: Option<bool>,
}

impl<'ast> Visit<'ast> for StatementMacro<'_> {
    fn visit_block(&mut self, b: &'ast syn::Block) {
        for (i, stmt) in b.stmts.iter().enumerate() {
            let (mac, semi) = match stmt {
                syn::Stmt::Macro(m) => (&m.mac, m.semi_token.is_some()),
                syn::Stmt::Expr(syn::Expr::Macro(m), Some(_)) => (&m.mac, true),
                _ => {
                    self.visit_stmt(stmt);
                    continue;
                }
            };
            if self.parsed.range(mac.span()) == self.invocation {
                let braced = matches!(mac.delimiter, syn::MacroDelimiter::Brace(_));
                self.found = match (semi, braced && i + 1 < b.stmts.len()) {
                    (true, _) => Some(false),
                    (false, true) => Some(true),
                    (false, false) => None,
                };
                return;
            }
            self.visit_stmt(stmt);
        }
    }

    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        let range = self.parsed.range(m.span());
        if range.start <= self.invocation.start && self.invocation.end <= range.end && range != self.invocation {
            crate::syntax::tokens::visit_macro_body(self, m);
        }
    }
}

/// Never-type fallback at the expression `range` of `text` (a union field, a call of a
/// generic type's method), whose own type is the one that falls back: annotated in place,
/// `::core::convert::identity::<()>(expr)` (a no-op at run time; `core` so that `no_std`
/// crates have it too). `None` if the range is not an expression.
pub fn never_fallback_value_edits(text: &str, range: Range<usize>) -> Option<Vec<Edit>> {
    syn::parse_str::<syn::Expr>(text.get(range.clone())?).ok()?;
    Some(vec![Edit::insert(range.start, "::core::convert::identity::<()>("), Edit::insert(range.end, ")")])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::plan::apply_edits;

    fn at(text: &str, needle: &str) -> Range<usize> {
        let start = text.find(needle).unwrap_or_else(|| panic!("{needle:?} in {text}"));
        start..start + needle.len()
    }

    fn static_mut(text: &str, needle: &str, mutable: bool) -> String {
        let (edits, _) = static_mut_edits(text, at(text, needle), mutable).unwrap_or_else(|| panic!("no rewrite of {needle:?}"));
        apply_edits(text, &edits).unwrap()
    }

    #[test]
    fn explicit_and_receiver_references_keep_their_forms() {
        assert_eq!(static_mut("fn f() { let r = &S; }", "&S", false), "fn f() { let r = &*&raw const S; }");
        assert_eq!(static_mut("fn f() { let r = &mut S.0; }", "&mut S.0", true), "fn f() { let r = &mut *&raw mut S.0; }");
        assert_eq!(static_mut("fn f() { S.push(1); }", "S.push(1)", true), "fn f() { (&mut *&raw mut S).push(1); }");
        assert_eq!(static_mut("fn f() { S[0] += 1; }", "S[0]", true), "fn f() { (&mut *&raw mut S)[0] += 1; }");
        assert_eq!(static_mut("fn f() { S.0.len(); }", "S.0.len()", false), "fn f() { (&(*&raw const S).0).len(); }");
        assert_eq!(static_mut("fn f() { m::S.a.b.get::<u8>(); }", "m::S.a.b.get::<u8>()", false), "fn f() { (&(*&raw const m::S).a.b).get::<u8>(); }");
        assert_eq!(static_mut("fn f() { let ref a = S.0; }", "S.0", false), "fn f() { let ref a = (*&raw const S).0; }");
        assert_eq!(static_mut("fn f() { let ref a = S.0.name; }", "S.0.name", false), "fn f() { let ref a = (*&raw const S).0.name; }");
    }

    #[test]
    fn a_ref_binding_binds_the_same_place_through_the_pointer() {
        assert_eq!(static_mut("fn f() { let ref x = N; }", "N", false), "fn f() { let ref x = *&raw const N; }");
        assert_eq!(static_mut("fn f() { let ref mut x = N; }", "N", true), "fn f() { let ref mut x = *&raw mut N; }");
        assert_eq!(static_mut("fn f() { let ref mut x = m::N; }", "m::N", true), "fn f() { let ref mut x = *&raw mut m::N; }");
    }

    #[test]
    fn format_arguments_and_inline_captures() {
        assert_eq!(static_mut("fn f() { println!(\"{:?}\", S); }", "S", false), "fn f() { println!(\"{:?}\", *&raw const S); }");
        assert_eq!(static_mut("fn f() { assert_eq!(N, 7); }", "N", false), "fn f() { assert_eq!(*&raw const N, 7); }");
        assert_eq!(static_mut("fn f() { println!(\"{N:>3}|{N}\"); }", "N", false), "fn f() { println!(\"{N:>3}|{N}\", N = *&raw const N); }");
        assert_eq!(static_mut("fn f() { println!(\"{N}\",); }", "N", false), "fn f() { println!(\"{N}\", N = *&raw const N); }");
        // A macro of the crate: the argument stays one token tree.
        assert_eq!(static_mut("fn f() { show!(S); }", "S", false), "fn f() { show!((*&raw const S)); }");
    }

    #[test]
    fn a_metavariable_is_filled_with_the_pointer_at_the_invocation() {
        let text = "macro_rules! bump {\n    ($x:expr) => { *&mut ($x.0) += 1 };\n}\nfn f() { bump!(S); }\n";
        assert_eq!(first_metavariable("($x.0)"), Some("x"));
        assert_eq!(first_metavariable("$crate::f($v)"), Some("v"));
        assert_eq!(metavariable_fragment(text, text.find("($x.0)").unwrap(), "x").as_deref(), Some("expr"));
        let (edits, _) = static_mut_invocation_edits(text, at(text, "bump!(S)"), "expr", true).unwrap();
        assert!(apply_edits(text, &edits).unwrap().contains("bump!((*&raw mut S));"));
        assert!(static_mut_invocation_edits(text, at(text, "bump!(S)"), "ident", true).is_none(), "an ident fragment cannot take an expression");
        let with_place = "fn f() { bump!(S.1); }";
        let (edits, _) = static_mut_invocation_edits(with_place, at(with_place, "bump!(S.1)"), "expr", true).unwrap();
        assert_eq!(apply_edits(with_place, &edits).unwrap(), "fn f() { bump!((*&raw mut S).1); }");
        assert!(static_mut_invocation_edits(with_place, at(with_place, "bump!(S.1)"), "tt", true).is_none(), "several token trees");
        let two = "fn f() { m!(S, 1); }";
        assert!(static_mut_invocation_edits(two, at(two, "m!(S, 1)"), "expr", true).is_none(), "which argument is `$x` is not known");
    }

    fn tail(text: &str, needle: &str) -> (String, Safety) {
        let (edits, _, safety) =
            tail_temporary_edits(text, at(text, needle), &mut |_| "tail_temp".into()).unwrap_or_else(|| panic!("no rewrite of {needle:?}"));
        (apply_edits(text, &edits).unwrap(), safety)
    }

    #[test]
    fn a_block_holding_only_its_tail_becomes_parentheses() {
        let text = "fn f() -> usize {\n    let n = { String::new().as_str() }.len();\n    n\n}\n";
        assert_eq!(tail(text, "String::new()"), ("fn f() -> usize {\n    let n = (String::new().as_str()).len();\n    n\n}\n".into(), Safety::Safe));
        let arg = "fn f() {\n    sink({\n        &mut || 0\n    })\n}\n";
        assert_eq!(tail(arg, "&mut || 0").0, "fn f() {\n    sink(&mut || 0)\n}\n");
        // Nested: every block of the chain loses its braces.
        let nested = "fn f() {\n    let n = { { String::new().as_str() } }.len();\n}\n";
        assert_eq!(tail(nested, "String::new()").0, "fn f() {\n    let n = (String::new().as_str()).len();\n}\n");
        // In a macro's arguments.
        let mac = "fn f() {\n    println!(\"{}\", { String::new().as_str() }.len());\n}\n";
        assert_eq!(tail(mac, "String::new()").0, "fn f() {\n    println!(\"{}\", (String::new().as_str()).len());\n}\n");
        // A place tail: `{ }` copies it out, parentheses would not.
        let place = "fn f() {\n    let n = { *temp().r() }.len();\n}\n";
        assert!(tail_temporary_edits(place, at(place, "temp()"), &mut |_| "tail_temp".into()).is_none());
    }

    #[test]
    fn otherwise_the_temporary_is_bound_before_the_statement() {
        let text = "fn f() {\n    let n = unsafe { String::new().as_str() }.len();\n}\n";
        let (out, safety) = tail(text, "String::new()");
        assert_eq!(out, "fn f() {\n    let tail_temp;\n    let n = unsafe { tail_temp = String::new(); tail_temp.as_str() }.len();\n}\n");
        assert_eq!(safety, Safety::NeedsReview);
        let stmts = "fn f() {\n    let n = { let k = 1; &[k, 2] }.len();\n}\n";
        assert_eq!(tail(stmts, "&[k, 2]").0, "fn f() {\n    let tail_temp;\n    let n = { let k = 1; tail_temp = [k, 2]; &tail_temp }.len();\n}\n");
        let lines = "fn f() {\n    let n = {\n        let k = 1;\n        &[k, 2]\n    }\n    .len();\n}\n";
        assert_eq!(
            tail(lines, "&[k, 2]").0,
            "fn f() {\n    let tail_temp;\n    let n = {\n        let k = 1;\n        tail_temp = [k, 2];\n        &tail_temp\n    }\n    .len();\n}\n"
        );
        // In a block's tail: declared before the statement the outer block is in.
        let nested = "fn f() {\n    let n = { unsafe { String::new().as_str() } }.len();\n}\n";
        assert_eq!(
            tail(nested, "String::new()").0,
            "fn f() {\n    let tail_temp;\n    let n = { unsafe { tail_temp = String::new(); tail_temp.as_str() } }.len();\n}\n"
        );
        // Inside a closure the variable would be captured: not rewritten.
        let closure = "fn f() {\n    let c = || unsafe { String::new().as_str() }.len();\n}\n";
        assert!(tail_temporary_edits(closure, at(closure, "String::new()"), &mut |_| "tail_temp".into()).is_none());
        // The temporary is not the first thing the tail evaluates: not rewritten.
        let later = "fn f() {\n    let n = unsafe { g(h(), String::new().as_str()) };\n}\n";
        assert!(tail_temporary_edits(later, at(later, "String::new()"), &mut |_| "tail_temp".into()).is_none());
    }

    #[test]
    fn never_fallback_is_annotated_at_a_statement_invocation() {
        let text = "fn f() {\n    unsafe {\n        send!();\n    }\n}\n";
        let edits = never_fallback_invocation_edits(text, at(text, "send!()")).unwrap();
        assert_eq!(apply_edits(text, &edits).unwrap(), "fn f() {\n    unsafe {\n        let _: () = send!();\n    }\n}\n");
        let commented = "fn f() {\n    // Sends.\n    dep::send![a, b];\n}\n";
        let edits = never_fallback_invocation_edits(commented, at(commented, "dep::send![a, b]")).unwrap();
        assert_eq!(apply_edits(commented, &edits).unwrap(), "fn f() {\n    // Sends.\n    let _: () = dep::send![a, b];\n}\n");
        let braces = "fn f() { m! { } g(); }";
        assert_eq!(
            apply_edits(braces, &never_fallback_invocation_edits(braces, at(braces, "m! { }")).unwrap()).unwrap(),
            "fn f() { let _: () = m! { }; g(); }"
        );
        let tail = "fn f() { unsafe { m!() } }";
        assert!(never_fallback_invocation_edits(tail, at(tail, "m!()")).is_none(), "a block's tail: its value is the block's");
        let union = "fn f() { unsafe { U { a: () }.b } }";
        let edits = never_fallback_value_edits(union, at(union, "U { a: () }.b")).unwrap();
        assert_eq!(apply_edits(union, &edits).unwrap(), "fn f() { unsafe { ::core::convert::identity::<()>(U { a: () }.b) } }");
        assert!(never_fallback_value_edits(union, at(union, "{ a: ()")).is_none(), "not an expression");
        let value = "fn f() { let v = send!(); }";
        assert!(never_fallback_invocation_edits(value, at(value, "send!()")).is_none(), "its value is used: not a statement of its own");
    }
}
