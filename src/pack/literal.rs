//! Literal rules: rewrites inside a string literal, one piece at a time
//! (`"/users/:id"` → `"/users/{id}"`, `"{r#type}"` → `"{type}"`).
//!
//! The literal is cut into pieces as its syntax says (the argument names of a format
//! string's placeholders, or the segments of a URL path), each read from the literal's
//! source text, so escapes and every other byte stay as written. A piece that a rewrite's
//! `from` matches whole becomes its `to`; a piece that starts like a `from` but does not
//! match it is a note. Compiling checks that what a rewrite writes stays inside its piece
//! and its literal (no quote, backslash or line break; no separator of the syntax) and is
//! not rewritten again.

use std::ops::Range;

use super::format::{LiteralDef, LiteralSyntax};
use crate::core::model::Edit;

/// A literal rule, compiled.
#[derive(Clone, Debug)]
pub struct LiteralAction {
    /// The metavariable bound to the literal.
    pub var: String,
    /// How the literal is cut into pieces.
    pub syntax: LiteralSyntax,
    /// The piece rewrites, in order.
    pub rewrites: Vec<PieceRule>,
}

/// One piece rewrite, compiled: `prefix $var suffix` → `to` (with `$var` in it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PieceRule {
    /// Text before the metavariable (the whole `from` without one).
    pub prefix: String,
    /// The metavariable's name, if `from` has one.
    pub var: Option<String>,
    /// Text after the metavariable.
    pub suffix: String,
    /// The replacement: text pieces and the metavariable, in order.
    pub to: Vec<ToPart>,
}

/// A piece of a rewrite's `to`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ToPart {
    /// Text written as is.
    Text(String),
    /// What the metavariable matched.
    Var,
}

fn ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Splits `text` at its `$name`s: the text around them and the names.
fn split_vars(text: &str) -> Result<(Vec<String>, Vec<String>), String> {
    let mut texts = vec![String::new()];
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find('$') {
        texts.last_mut().expect("one").push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let len = after.find(|c: char| !ident_char(c)).unwrap_or(after.len());
        if len == 0 {
            return Err(format!("`{text}`: `$` must start a metavariable (`$name`)"));
        }
        names.push(after[..len].to_string());
        texts.push(String::new());
        rest = &after[len..];
    }
    texts.last_mut().expect("one").push_str(rest);
    Ok((texts, names))
}

/// Compiles a rule's `literal`; on error, what is wrong.
pub fn compile(def: &LiteralDef) -> Result<LiteralAction, String> {
    if def.rewrite.is_empty() {
        return Err("`literal.rewrite` is empty".into());
    }
    let forbidden: &[char] = match def.syntax {
        LiteralSyntax::Format => &['"', '\\', '\n', '\r', '{', '}', ':'],
        LiteralSyntax::Path => &['"', '\\', '\n', '\r', '/'],
    };
    let mut rewrites = Vec::new();
    for r in &def.rewrite {
        for (key, text) in [("from", &r.from), ("to", &r.to)] {
            if let Some(c) = text.chars().find(|c| forbidden.contains(c)) {
                return Err(format!("`{key} = {text:?}`: a piece of a {} cannot hold {c:?}", syntax_name(def.syntax)));
            }
        }
        let (texts, names) = split_vars(&r.from)?;
        let (prefix, var, suffix) = match (texts.as_slice(), names.as_slice()) {
            ([whole], []) => (whole.clone(), None, String::new()),
            ([p, s], [name]) => (p.clone(), Some(name.clone()), s.clone()),
            _ => return Err(format!("`from = {:?}`: at most one metavariable", r.from)),
        };
        if prefix.is_empty() && suffix.is_empty() {
            return Err(format!("`from = {:?}` would match every piece: give it some text", r.from));
        }
        let (to_texts, to_names) = split_vars(&r.to)?;
        if let Some(n) = to_names.iter().find(|n| Some(*n) != var.as_ref()) {
            return Err(format!("`to = {:?}` uses `${n}`, which `from` does not bind", r.to));
        }
        let mut to = Vec::new();
        for (i, t) in to_texts.into_iter().enumerate() {
            if i > 0 {
                to.push(ToPart::Var);
            }
            if !t.is_empty() {
                to.push(ToPart::Text(t));
            }
        }
        rewrites.push(PieceRule { prefix, var, suffix, to });
    }
    // What a rewrite writes is not rewritten again, nor listed for review.
    for (r, def_r) in rewrites.iter().zip(&def.rewrite) {
        let written = render(r, "x");
        if let Some(other) = rewrites.iter().zip(&def.rewrite).find(|(o, _)| piece_match(o, &written).is_some() || starts_like(o, &written)) {
            return Err(format!("`to = {:?}` writes `{written}`, which `from = {:?}` would rewrite again", def_r.to, other.1.from));
        }
    }
    Ok(LiteralAction { var: def.var.clone(), syntax: def.syntax, rewrites })
}

fn syntax_name(s: LiteralSyntax) -> &'static str {
    match s {
        LiteralSyntax::Format => "format string's placeholder",
        LiteralSyntax::Path => "URL path",
    }
}

/// What the metavariable matches if `rule` matches `piece` whole.
fn piece_match<'p>(rule: &PieceRule, piece: &'p str) -> Option<&'p str> {
    let middle = piece.strip_prefix(rule.prefix.as_str())?.strip_suffix(rule.suffix.as_str())?;
    match rule.var {
        None => middle.is_empty().then_some(middle),
        Some(_) => (!middle.is_empty() && middle.chars().all(ident_char)).then_some(middle),
    }
}

/// Whether `piece` starts like `rule`'s `from` (its text before the metavariable).
fn starts_like(rule: &PieceRule, piece: &str) -> bool {
    !rule.prefix.is_empty() && piece.starts_with(rule.prefix.as_str())
}

fn render(rule: &PieceRule, value: &str) -> String {
    rule.to
        .iter()
        .map(|p| match p {
            ToPart::Text(t) => t.as_str(),
            ToPart::Var => value,
        })
        .collect()
}

/// The edits a literal rule makes in the literal whose source text is `text[range]`, and
/// the pieces it lists for review (offset, what). A literal that is not a plain or raw
/// string literal (a byte string, a C string) is left alone.
pub fn rewrite(action: &LiteralAction, text: &str, range: Range<usize>) -> (Vec<Edit>, Vec<(usize, String)>) {
    let source = &text[range.clone()];
    let Some((content, raw)) = content(source) else { return (Vec::new(), Vec::new()) };
    let base = range.start + content.start;
    let body = &source[content];
    let mut edits = Vec::new();
    let mut notes = Vec::new();
    if action.syntax == LiteralSyntax::Path && !raw && body.contains('\\') {
        if action.rewrites.iter().any(|r| body.contains(r.prefix.as_str())) {
            notes.push((range.start, "this path has escapes: rewrite its segments by hand".to_string()));
        }
        return (edits, notes);
    }
    for piece in pieces(body, action.syntax, raw) {
        let written = &body[piece.clone()];
        let at = base + piece.start..base + piece.end;
        let mut done = false;
        for rule in &action.rewrites {
            if let Some(value) = piece_match(rule, written) {
                let new = render(rule, value);
                if new != written {
                    edits.push(Edit { range: at.clone(), replacement: new });
                }
                done = true;
                break;
            }
        }
        if !done && action.rewrites.iter().any(|r| starts_like(r, written)) {
            notes.push((at.start, format!("`{written}` is not a form this rule rewrites: rewrite it by hand")));
        }
    }
    (edits, notes)
}

/// The range of a string literal's content within its source text, and whether it is raw.
fn content(source: &str) -> Option<(Range<usize>, bool)> {
    if source.starts_with('"') && source.ends_with('"') && source.len() >= 2 {
        return Some((1..source.len() - 1, false));
    }
    let rest = source.strip_prefix('r')?;
    let hashes = rest.len() - rest.trim_start_matches('#').len();
    let open = 1 + hashes + 1;
    let close = 1 + hashes;
    (source.len() >= open + close && source[1 + hashes..].starts_with('"') && source.ends_with(&format!("\"{}", "#".repeat(hashes))))
        .then(|| (open..source.len() - close, true))
}

/// The pieces of a literal's content: placeholder arguments or path segments.
fn pieces(body: &str, syntax: LiteralSyntax, raw: bool) -> Vec<Range<usize>> {
    match syntax {
        LiteralSyntax::Path => {
            let mut out = Vec::new();
            let mut start = 0;
            for (i, c) in body.char_indices() {
                if c == '/' {
                    out.push(start..i);
                    start = i + 1;
                }
            }
            out.push(start..body.len());
            out.retain(|r| !r.is_empty());
            out
        }
        LiteralSyntax::Format => {
            let bytes = body.as_bytes();
            let mut out = Vec::new();
            let mut i = 0;
            while i < bytes.len() {
                match bytes[i] {
                    b'\\' if !raw => {
                        // An escape: `\u{..}` holds braces that are not placeholders.
                        if body[i..].starts_with("\\u{") {
                            i += body[i..].find('}').map_or(bytes.len() - i, |e| e + 1);
                        } else {
                            i += 2;
                        }
                    }
                    b'{' if bytes.get(i + 1) == Some(&b'{') => i += 2,
                    b'}' if bytes.get(i + 1) == Some(&b'}') => i += 2,
                    b'{' => {
                        let start = i + 1;
                        let end = body[start..].find([':', '}']).map_or(bytes.len(), |e| start + e);
                        let arg = start..end;
                        let trimmed = body[arg.clone()].trim();
                        if !trimmed.is_empty() {
                            let lead = body[arg.clone()].len() - body[arg.clone()].trim_start().len();
                            out.push(start + lead..start + lead + trimmed.len());
                        }
                        i = body[end..].find('}').map_or(bytes.len(), |e| end + e + 1);
                    }
                    _ => i += 1,
                }
            }
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pack::format::PieceRewrite;

    fn action(syntax: LiteralSyntax, rules: &[(&str, &str)]) -> Result<LiteralAction, String> {
        compile(&LiteralDef { var: "s".into(), syntax, rewrite: rules.iter().map(|(f, t)| PieceRewrite { from: f.to_string(), to: t.to_string() }).collect() })
    }

    fn apply(a: &LiteralAction, lit: &str) -> (String, Vec<String>) {
        let (edits, notes) = rewrite(a, lit, 0..lit.len());
        (crate::core::plan::apply_edits(lit, &edits).unwrap(), notes.into_iter().map(|n| n.1).collect())
    }

    #[test]
    fn route_segments_are_rewritten_whole_and_odd_ones_listed() {
        let a = action(LiteralSyntax::Path, &[(":$name", "{$name}"), ("*$name", "{*$name}")]).unwrap();
        assert_eq!(apply(&a, r#""/users/:id/files/*rest""#).0, r#""/users/{id}/files/{*rest}""#);
        assert_eq!(apply(&a, r#""/:a/:b""#).0, r#""/{a}/{b}""#);
        assert_eq!(apply(&a, r#"r"/x/:id""#).0, r#"r"/x/{id}""#);
        assert_eq!(apply(&a, r#""/static/a:b""#), (r#""/static/a:b""#.to_string(), vec![]), "a `:` inside a segment is text");
        let (same, notes) = apply(&a, r#""/file/:name.json""#);
        assert_eq!(same, r#""/file/:name.json""#);
        assert_eq!(notes, vec!["`:name.json` is not a form this rule rewrites: rewrite it by hand"]);
        assert_eq!(apply(&a, r#""/{id}""#).0, r#""/{id}""#, "already 0.8");
        assert!(apply(&a, r#""/a\u{3a}b/:id""#).1[0].contains("escapes"));
    }

    #[test]
    fn format_placeholders_skip_escaped_braces_and_unicode_escapes() {
        let a = action(LiteralSyntax::Format, &[("r#$name", "$name")]).unwrap();
        assert_eq!(apply(&a, r#""bad {r#type}: {r#fn:?} {0} {x}""#).0, r#""bad {type}: {fn:?} {0} {x}""#);
        assert_eq!(apply(&a, r#""{{r#type}} {r#type}""#).0, r#""{{r#type}} {type}""#);
        assert_eq!(apply(&a, r#""\u{1F600} {r#in}\n""#).0, r#""\u{1F600} {in}\n""#);
        assert_eq!(apply(&a, r##"r#"{r#match}"#"##).0, r##"r#"{match}"#"##);
        assert_eq!(apply(&a, r#""{ r#type }""#).0, r#""{ type }""#);
    }

    #[test]
    fn rewrites_that_leave_their_piece_or_never_settle_are_refused() {
        assert!(action(LiteralSyntax::Format, &[("r#$name", "{$name}")]).unwrap_err().contains("cannot hold '{'"));
        assert!(action(LiteralSyntax::Path, &[(":$name", "\"/$name")]).unwrap_err().contains("cannot hold '\"'"));
        assert!(action(LiteralSyntax::Path, &[(":$name", "::$name")]).unwrap_err().contains("would rewrite again"));
        assert!(action(LiteralSyntax::Path, &[("$name", "x")]).unwrap_err().contains("every piece"));
        assert!(action(LiteralSyntax::Path, &[(":$a$b", "x")]).unwrap_err().contains("at most one"));
        assert!(action(LiteralSyntax::Path, &[(":$a", "$b")]).unwrap_err().contains("does not bind"));
        assert!(action(LiteralSyntax::Path, &[]).unwrap_err().contains("empty"));
    }
}
