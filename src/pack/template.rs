//! Replacing: templates rendered with the original text of their bindings, and the
//! smallest byte-range edits that turn the old text into the new.
//!
//! A rendered replacement is compared with the text it replaces and trimmed to the part
//! that differs (never cutting an identifier in two), so a method rename edits only the
//! method's name and leaves the receiver and arguments — and any other rule's edits
//! inside them — alone.

use std::collections::BTreeMap;
use std::ops::Range;

use super::matcher::Binding;
use super::pattern::{Piece, Template};
use crate::core::model::Edit;

/// Renders `template` with the text of `bindings` in `text`; `krate` is the crate's
/// local name for paths of the template.
pub fn render(template: &Template, bindings: &BTreeMap<String, Binding>, text: &str, krate: &str) -> String {
    let mut out = String::new();
    let pieces = &template.pieces;
    let mut skip_comma = false;
    for (i, piece) in pieces.iter().enumerate() {
        match piece {
            Piece::Text(t) => {
                let mut t = t.as_str();
                if skip_comma {
                    if let Some(rest) = t.trim_start().strip_prefix(',') {
                        t = rest.trim_start();
                    } else if out.ends_with(['(', '[', '{', ' ']) {
                        // `f($..a x)` with nothing in `a`: `f(x)`, not `f( x)`.
                        t = t.trim_start();
                    }
                    skip_comma = false;
                }
                out.push_str(t);
            }
            Piece::Crate => out.push_str(krate),
            Piece::Var(name) => {
                let b = &bindings[name];
                let bound = &text[b.range.clone()];
                let tight = match b.loose {
                    0 => false,
                    1 => next_is_postfix(pieces.get(i + 1)),
                    _ => !(fits_loose(before(&out)) && next_fits_loose(pieces.get(i + 1))),
                };
                if tight {
                    out.push('(');
                    out.push_str(bound);
                    out.push(')');
                } else {
                    out.push_str(bound);
                }
            }
            Piece::Rest(name) => {
                let bound = &text[bindings[name].range.clone()];
                if bound.is_empty() {
                    // Drop the comma that would separate it from a neighbour.
                    let trimmed = out.trim_end();
                    if let Some(stripped) = trimmed.strip_suffix(',') {
                        out.truncate(stripped.len());
                    } else {
                        skip_comma = true;
                    }
                } else {
                    out.push_str(bound);
                }
            }
        }
    }
    out
}

fn before(out: &str) -> Option<char> {
    out.trim_end().chars().last()
}

/// Whether a loose expression can follow this character without parentheses.
fn fits_loose(c: Option<char>) -> bool {
    matches!(c, None | Some('(' | ',' | '[' | '{' | '=' | ';'))
}

fn next_is_postfix(next: Option<&Piece>) -> bool {
    matches!(next, Some(Piece::Text(t)) if matches!(t.chars().next(), Some('.' | '?' | '[' | '(')))
}

fn next_fits_loose(next: Option<&Piece>) -> bool {
    match next {
        None => true,
        Some(Piece::Text(t)) => matches!(t.trim_start().chars().next(), None | Some(')' | ',' | ']' | '}' | ';')),
        Some(_) => false,
    }
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The smallest edit turning `old` (the text at `range`) into `new`, or `None` when they
/// are equal. The edit never starts or ends inside an identifier.
pub fn minimal_edit(range: Range<usize>, old: &str, new: &str) -> Option<Edit> {
    if old == new {
        return None;
    }
    let mut prefix = old.bytes().zip(new.bytes()).take_while(|(a, b)| a == b).count();
    while prefix > 0 && (!old.is_char_boundary(prefix) || !new.is_char_boundary(prefix)) {
        prefix -= 1;
    }
    // Back off to the start of an identifier cut in two.
    let cut = |s: &str, at: usize| s[..at].chars().last().is_some_and(is_ident_char) && s[at..].chars().next().is_some_and(is_ident_char);
    while prefix > 0 && (cut(old, prefix) || cut(new, prefix)) {
        prefix -= old[..prefix].chars().last().map_or(1, char::len_utf8);
    }
    let max_suffix = old.len().min(new.len()) - prefix;
    let mut suffix = old.bytes().rev().zip(new.bytes().rev()).take(max_suffix).take_while(|(a, b)| a == b).count();
    while suffix > 0 && (!old.is_char_boundary(old.len() - suffix) || !new.is_char_boundary(new.len() - suffix)) {
        suffix -= 1;
    }
    while suffix > 0 && (cut(old, old.len() - suffix) || cut(new, new.len() - suffix)) {
        suffix -= old[old.len() - suffix..].chars().next().map_or(1, char::len_utf8);
    }
    Some(Edit::replace(range.start + prefix..range.end - suffix, &new[prefix..new.len() - suffix]))
}

/// Splits text into identifier runs, whitespace runs and single other characters.
fn tokens(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let class = |c: char| {
        if is_ident_char(c) {
            0
        } else if c.is_whitespace() {
            1
        } else {
            2
        }
    };
    let mut prev: Option<u8> = None;
    for (i, c) in s.char_indices() {
        let k = class(c);
        if i > start && (k == 2 || Some(k) != prev) {
            out.push(&s[start..i]);
            start = i;
        }
        prev = Some(k);
    }
    if start < s.len() {
        out.push(&s[start..]);
    }
    out
}

/// The edits turning `old` (the text at `range`) into `new`: a token-level diff, so text
/// kept from `old` (the bound metavariables) is never part of an edit, and edits by other
/// rules inside it do not conflict.
pub fn minimal_edits(range: Range<usize>, old: &str, new: &str) -> Vec<Edit> {
    let Some(trimmed) = minimal_edit(range.clone(), old, new) else { return Vec::new() };
    let from = trimmed.range.start - range.start;
    let old_mid = &old[from..trimmed.range.end - range.start];
    let new_mid = trimmed.replacement.as_str();
    let (a, b) = (tokens(old_mid), tokens(new_mid));
    let offsets = |t: &[&str]| {
        let mut at = 0;
        let mut v = vec![0];
        for x in t {
            at += x.len();
            v.push(at);
        }
        v
    };
    let (oa, ob) = (offsets(&a), offsets(&b));
    let mut edits: Vec<Edit> = Vec::new();
    for op in similar::capture_diff_slices(similar::Algorithm::Myers, &a, &b) {
        let (o, n) = (op.old_range(), op.new_range());
        if matches!(op.tag(), similar::DiffTag::Equal) {
            continue;
        }
        let start = trimmed.range.start + oa[o.start];
        let end = trimmed.range.start + oa[o.end];
        let text = &new_mid[ob[n.start]..ob[n.end]];
        match edits.last_mut() {
            Some(last) if last.range.end == start => {
                last.range.end = end;
                last.replacement.push_str(text);
            }
            _ => edits.push(Edit::replace(start..end, text)),
        }
    }
    edits
}

/// Edits that turn a path written as `old` (segments with the ranges of their
/// identifiers, and whether generic arguments follow them) into `new`, touching only the
/// segments that differ. Fails when a segment to remove carries generic arguments.
pub fn segment_edits(old: &[(String, Range<usize>, bool)], new: &[String]) -> Result<Vec<Edit>, String> {
    let (n, m) = (old.len(), new.len());
    let prefix = old.iter().zip(new).take_while(|(o, n)| o.0 == **n).count();
    let suffix = old.iter().rev().zip(new.iter().rev()).take(n.min(m) - prefix).take_while(|(o, n)| o.0 == **n).count();
    let old_mid = &old[prefix..n - suffix];
    let new_mid = &new[prefix..m - suffix];
    if old_mid.is_empty() && new_mid.is_empty() {
        return Ok(Vec::new());
    }
    if old_mid.iter().rev().skip(1).any(|s| s.2) || (new_mid.is_empty() && old_mid.iter().any(|s| s.2)) {
        return Err("generic arguments in the middle of a path that moves".into());
    }
    let joined = new_mid.join("::");
    Ok(vec![match (old_mid.first(), old_mid.last()) {
        (Some(first), Some(last)) if !new_mid.is_empty() => Edit::replace(first.1.start..last.1.end, joined),
        (Some(first), Some(last)) => {
            // Segments removed: take a `::` with them.
            if suffix > 0 {
                Edit::replace(first.1.start..old[n - suffix].1.start, "")
            } else {
                Edit::replace(old[prefix - 1].1.end..last.1.end, "")
            }
        }
        _ if suffix > 0 => Edit::insert(old[n - suffix].1.start, format!("{joined}::")),
        _ => Edit::insert(old[n - 1].1.end, format!("::{joined}")),
    }])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pack::format::Kind;
    use crate::pack::pattern::{parse_pattern, parse_template};

    fn render_with(pattern: &str, template: &str, text: &str, ranges: &[(&str, Range<usize>, bool)]) -> String {
        let (_, kind, metas) = parse_pattern(pattern, None).unwrap();
        let t = parse_template(template, kind, &metas, "rand", &|_| None).unwrap();
        let bindings = ranges.iter().map(|(n, r, loose)| (n.to_string(), Binding { range: r.clone(), loose: u8::from(*loose) * 2 })).collect();
        render(&t, &bindings, text, "r")
    }

    #[test]
    fn splices_bound_text_with_comments_and_the_crates_local_name() {
        let text = "x.gen_range(0..10 /* dice */)";
        let out = render_with("$r.gen_range($..a)", "rand::Rng::random_range(&mut $r, $..a)", text, &[("r", 0..1, false), ("a", 12..28, false)]);
        assert_eq!(out, "r::Rng::random_range(&mut x, 0..10 /* dice */)");
    }

    #[test]
    fn empty_rest_takes_its_comma_and_loose_bindings_get_parentheses() {
        let out = render_with("m::f($..a)", "g($..a, 1)", "f()", &[("a", 2..2, false)]);
        assert_eq!(out, "g(1)");
        let out = render_with("m::f($..a)", "g(1, $..a)", "f()", &[("a", 2..2, false)]);
        assert_eq!(out, "g(1)");
        let out = render_with("m::f($x)", "$x.h()", "f(a + b)", &[("x", 2..7, true)]);
        assert_eq!(out, "(a + b).h()");
        let out = render_with("m::f($x)", "g($x)", "f(a + b)", &[("x", 2..7, true)]);
        assert_eq!(out, "g(a + b)");
        let _ = Kind::Expr;
    }

    #[test]
    fn minimal_edits_keep_identifiers_whole() {
        let old = "rng.gen_range(0..10)";
        let e = minimal_edit(0..old.len(), old, "rng.random_range(0..10)").unwrap();
        assert_eq!(e, Edit::replace(4..13, "random_range"));
        let e = minimal_edit(10..13, "gen", "random").unwrap();
        assert_eq!(e, Edit::replace(10..13, "random"));
        assert_eq!(minimal_edit(0..3, "abc", "abc"), None);
        let e = minimal_edit(0..3, "a_b", "a_c").unwrap();
        assert_eq!(e, Edit::replace(0..3, "a_c"));
    }

    #[test]
    fn token_diffs_leave_kept_text_out_of_edits() {
        let old = "T::from_rng(thread_rng()).unwrap()";
        let new = "T::from_rng(&mut thread_rng())";
        let edits = minimal_edits(10..10 + old.len(), old, new);
        assert_eq!(edits[0], Edit::insert(22, "&mut "));
        assert!(edits.iter().all(|e| e.range.end <= 22 || e.range.start >= 32), "`thread_rng()` is kept: {edits:?}");
        assert_eq!(crate::core::plan::apply_edits(&format!("{}{old}", " ".repeat(10)), &edits).unwrap().trim(), new);
    }

    #[test]
    fn path_edits_touch_only_what_differs() {
        let seg = |s: &str, at: usize, g: bool| (s.to_string(), at..at + s.len(), g);
        let new = |s: &str| s.split("::").map(String::from).collect::<Vec<_>>();
        // rand::distributions::Standard
        let old = [seg("rand", 0, false), seg("distributions", 6, false), seg("Standard", 21, false)];
        assert_eq!(segment_edits(&old, &new("rand::distr::StandardUniform")).unwrap(), vec![Edit::replace(6..29, "distr::StandardUniform")]);
        assert_eq!(segment_edits(&old, &new("rand::distr::Standard")).unwrap(), vec![Edit::replace(6..19, "distr")]);
        // distributions::WeightedIndex -> distr::weighted::WeightedIndex
        let old = [seg("distributions", 0, false), seg("WeightedIndex", 15, true)];
        assert_eq!(segment_edits(&old, &new("distr::weighted::WeightedIndex")).unwrap(), vec![Edit::replace(0..13, "distr::weighted")]);
        // thread_rng -> rand::rng
        let old = [seg("thread_rng", 0, false)];
        assert_eq!(segment_edits(&old, &new("rand::rng")).unwrap(), vec![Edit::replace(0..10, "rand::rng")]);
        // random -> rand::random
        let old = [seg("random", 0, true)];
        assert_eq!(segment_edits(&old, &new("rand::random")).unwrap(), vec![Edit::insert(0, "rand::")]);
        // a::b::C -> C
        let old = [seg("a", 0, false), seg("b", 3, false), seg("C", 6, false)];
        assert_eq!(segment_edits(&old, &new("C")).unwrap(), vec![Edit::replace(0..6, "")]);
    }
}
