//! What a rule's replacement introduces that its pattern did not have: the reason a rule
//! that would otherwise be `safe` needs review.
//!
//! A template is the pack author's text spliced into a user's code. Its metavariables
//! bring back the user's own code, and the pack's crate (or a crate of its `new_crates`)
//! is what the pack is about; anything else the template writes is new to the user's
//! code: a path outside those crates and std's prelude (`std::process::Command::new`), a
//! macro invocation (`include!`), `unsafe`, or a new item (`fn`, `impl`, `static`..).
//! Such a rule's changes are needs-review, and say what was introduced.
//!
//! The analysis runs once, when the pack is compiled ([`super::compile`]), on the
//! template's tokens (metavariables as stand-ins): matching costs nothing more.

use proc_macro2::{Delimiter, Spacing, TokenStream, TokenTree};

use super::format::Kind;
use super::pattern;

/// Names std's prelude (2021) brings into every module, and the primitive types: a
/// template may write them, and paths that start with them, freely.
const PRELUDE: &[&str] = &[
    "Copy",
    "Send",
    "Sized",
    "Sync",
    "Unpin",
    "Drop",
    "Fn",
    "FnMut",
    "FnOnce",
    "drop",
    "Box",
    "ToOwned",
    "Clone",
    "PartialEq",
    "PartialOrd",
    "Eq",
    "Ord",
    "AsRef",
    "AsMut",
    "Into",
    "From",
    "Default",
    "Iterator",
    "Extend",
    "IntoIterator",
    "DoubleEndedIterator",
    "ExactSizeIterator",
    "Option",
    "Some",
    "None",
    "Result",
    "Ok",
    "Err",
    "String",
    "ToString",
    "Vec",
    "TryFrom",
    "TryInto",
    "FromIterator",
    "Debug",
    "Hash",
    "bool",
    "char",
    "str",
    "u8",
    "u16",
    "u32",
    "u64",
    "u128",
    "usize",
    "i8",
    "i16",
    "i32",
    "i64",
    "i128",
    "isize",
    "f32",
    "f64",
];

/// The compiler's own attributes that change what code links, exports or includes: never
/// a derive's helper attribute.
const BUILTIN_ATTRIBUTES: &[&str] = &["no_mangle", "export_name", "link_section", "link", "link_name", "used", "path", "cfg", "cfg_attr", "unsafe"];

/// Keywords that are neither paths nor items.
const KEYWORDS: &[&str] = &[
    "as", "async", "await", "break", "continue", "dyn", "else", "false", "for", "if", "in", "let", "loop", "match", "move", "mut", "ref", "return", "true",
    "where", "while", "_",
];

/// Keywords that start an item in an expression (a block's statements).
const ITEMS: &[&str] = &["fn", "struct", "enum", "union", "trait", "impl", "mod", "static", "extern", "type", "use", "macro_rules", "const"];

/// What `template` (a `replace` text, with `$x` metavariables) introduces beyond its
/// pattern, as it is shown to a reviewer (`` `include!` ``, `` `unsafe` ``,
/// `` `std::process::Command::new` ``, `` a new item (`fn`) ``), in order, without
/// repeats. `crates` are the names a template's paths may start with (the pack's crate
/// and its `new_crates` as paths write them, and the names the rule imports from them);
/// `pattern_paths` the full paths the pattern names,
/// which the template may name again.
pub fn introduced(template: &str, kind: Kind, crates: &[String], pattern_paths: &[Vec<String>]) -> Vec<String> {
    let Ok((source, _)) = pattern::stand_ins(template) else { return Vec::new() };
    let Ok(tokens) = source.parse::<TokenStream>() else { return Vec::new() };
    let mut walk = Walk { kind, crates, pattern_paths, out: Vec::new() };
    if kind == Kind::Attribute {
        walk.attribute(tokens);
    } else {
        walk.tokens(tokens, &[]);
    }
    walk.out.iter().map(|s| pattern::restore_metavariables(s)).collect()
}

/// What `imports.add` introduces: paths outside `crates`, as `use` items.
pub fn introduced_imports(imports: &[Vec<String>], crates: &[String]) -> Vec<String> {
    imports.iter().filter(|p| !p.first().is_some_and(|c| crates.contains(c))).map(|p| format!("`use {}`", p.join("::"))).collect()
}

/// What a macro rule's `derive` introduces: derives that are neither std's prelude
/// derives nor the crates' own.
pub fn introduced_derives(derives: &[String], crates: &[String]) -> Vec<String> {
    derives
        .iter()
        .filter(|d| {
            let path = super::compile::split_path(d);
            !(path.len() == 1 && PRELUDE.contains(&path[0].as_str()) || path.len() > 1 && crates.contains(&path[0]))
        })
        .map(|d| format!("`#[derive({})]`", d.trim()))
        .collect()
}

struct Walk<'a> {
    kind: Kind,
    crates: &'a [String],
    pattern_paths: &'a [Vec<String>],
    out: Vec<String>,
}

impl Walk<'_> {
    fn push(&mut self, what: String) {
        if !self.out.contains(&what) {
            self.out.push(what);
        }
    }

    /// An attribute template (`#[path(args)]`): its path must be the crate's (or a
    /// derive's helper attribute, one name, as in the pattern); its arguments are the
    /// attribute's own tokens, where only macros and `unsafe` count.
    fn attribute(&mut self, tokens: TokenStream) {
        for tt in tokens {
            let TokenTree::Group(g) = tt else { continue };
            let inner: Vec<TokenTree> = g.stream().into_iter().collect();
            let path: Vec<String> = inner
                .iter()
                .take_while(|t| matches!(t, TokenTree::Ident(_)) || matches!(t, TokenTree::Punct(p) if p.as_char() == ':'))
                .filter_map(|t| match t {
                    TokenTree::Ident(i) => Some(i.to_string()),
                    _ => None,
                })
                .collect();
            // A derive's helper attribute (one name) where the pattern's was one too.
            let helper = path.len() == 1 && self.pattern_paths.iter().any(|p| p.len() == 1) && !BUILTIN_ATTRIBUTES.contains(&path[0].as_str());
            let named_by_pattern = self.pattern_paths.contains(&path);
            if !(path.len() > 1 && self.crates.contains(&path[0]) || named_by_pattern || helper) {
                self.push(format!("the attribute `#[{}]`", path.join("::")));
            }
            let args: TokenStream =
                inner.into_iter().skip_while(|t| matches!(t, TokenTree::Ident(_)) || matches!(t, TokenTree::Punct(p) if p.as_char() == ':')).collect();
            self.macros_only(args);
        }
    }

    fn macros_only(&mut self, tokens: TokenStream) {
        let tts: Vec<TokenTree> = tokens.into_iter().collect();
        for (i, tt) in tts.iter().enumerate() {
            match tt {
                TokenTree::Group(g) => self.macros_only(g.stream()),
                TokenTree::Ident(id) if id == "unsafe" => self.push("`unsafe`".into()),
                TokenTree::Ident(id) if is_bang(tts.get(i + 1)) && matches!(tts.get(i + 2), Some(TokenTree::Group(_))) => self.push(format!("`{id}!`")),
                _ => {}
            }
        }
    }

    /// One level of tokens; `bound` are the names the template binds itself (closure
    /// parameters, `let`), visible here.
    fn tokens(&mut self, tokens: TokenStream, bound: &[String]) {
        let tts: Vec<TokenTree> = tokens.into_iter().collect();
        let mut bound = bound.to_vec();
        let mut i = 0;
        while i < tts.len() {
            let prev = i.checked_sub(1).map(|p| &tts[p]);
            match &tts[i] {
                TokenTree::Group(g) => {
                    let inner_bound = bound.clone();
                    // `Type { field: value }`: the fields are not paths.
                    self.tokens(g.stream(), &inner_bound);
                    i += 1;
                }
                TokenTree::Punct(p) if p.as_char() == '|' && p.spacing() == Spacing::Alone && opens_closure(prev) => {
                    // Closure parameters, up to the closing `|`.
                    let mut j = i + 1;
                    while j < tts.len() && !matches!(&tts[j], TokenTree::Punct(q) if q.as_char() == '|') {
                        if let TokenTree::Ident(id) = &tts[j] {
                            bound.push(id.to_string());
                        }
                        j += 1;
                    }
                    i = j + 1;
                }
                TokenTree::Ident(id) => {
                    let word = id.to_string();
                    if word == "let" {
                        // `let [mut] name`.
                        for t in tts[i + 1..].iter().take(2) {
                            if let TokenTree::Ident(n) = t {
                                bound.push(n.to_string());
                            }
                        }
                        i += 1;
                        continue;
                    }
                    if word == "unsafe" {
                        self.push("`unsafe`".into());
                        i += 1;
                        continue;
                    }
                    if self.is_item(&word, prev, tts.get(i + 1)) {
                        self.push(format!("a new item (`{word}`)"));
                        // Its name is the template's own.
                        if let Some(TokenTree::Ident(name)) = tts.get(i + 1).filter(|_| word != "impl") {
                            bound.push(name.to_string());
                            i += 1;
                        }
                        i += 1;
                        continue;
                    }
                    if KEYWORDS.contains(&word.as_str()) || ITEMS.contains(&word.as_str()) || after_dot_or_lifetime(prev) || continues_path(&tts, i) {
                        i += 1;
                        continue;
                    }
                    // A path: `ident (:: ident)*`, generic arguments skipped.
                    let (segments, end) = path_at(&tts, i);
                    if is_bang(tts.get(end)) && !matches!(tts.get(end + 1), Some(TokenTree::Punct(_))) {
                        self.push(format!("`{}!`", segments.join("::")));
                    } else if !self.allowed(&segments, &bound, tts.get(end)) {
                        self.push(format!("`{}`", segments.join("::")));
                    }
                    i = end;
                }
                _ => i += 1,
            }
        }
    }

    /// Whether `word` starts an item here (in a type, `impl Trait`, `fn(..)` and `*const T`
    /// are types).
    fn is_item(&self, word: &str, prev: Option<&TokenTree>, next: Option<&TokenTree>) -> bool {
        if !ITEMS.contains(&word) {
            return false;
        }
        match word {
            "impl" | "fn" if self.kind == Kind::Type => false,
            "fn" => !matches!(next, Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Parenthesis),
            "const" => !matches!(prev, Some(TokenTree::Punct(p)) if p.as_char() == '*') && matches!(next, Some(TokenTree::Ident(_))),
            "static" => !matches!(next, Some(TokenTree::Punct(p)) if p.as_char() == '|'),
            "use" | "type" | "macro_rules" => true,
            _ => true,
        }
    }

    /// Whether a path the template writes is one it may write: the user's code (a
    /// metavariable), the pack's crates, the pattern's own paths, std's prelude, or a
    /// name the template binds.
    fn allowed(&self, segments: &[String], bound: &[String], next: Option<&TokenTree>) -> bool {
        let first = segments[0].as_str();
        if first.starts_with("__mv_") || self.crates.iter().any(|c| c == first) || self.pattern_paths.iter().any(|p| p == segments) {
            return true;
        }
        if PRELUDE.contains(&first) {
            return true;
        }
        if segments.len() == 1 && matches!(first, "self" | "Self") {
            // The receiver or type of the user's `impl` (`self::`, `Self::`, `super::` and
            // `crate::` paths name the user's items: introductions).
            return true;
        }
        if segments.len() == 1 {
            // A binding of the template's own, a field (`x: v`) or an associated type
            // binding (`Item = T`).
            return bound.iter().any(|b| b == first)
                || matches!(next, Some(TokenTree::Punct(p)) if (p.as_char() == ':' || p.as_char() == '=') && p.spacing() == Spacing::Alone);
        }
        false
    }
}

fn is_bang(t: Option<&TokenTree>) -> bool {
    matches!(t, Some(TokenTree::Punct(p)) if p.as_char() == '!' && p.spacing() == Spacing::Alone)
}

/// A `|` opens a closure's parameters where an expression starts.
fn opens_closure(prev: Option<&TokenTree>) -> bool {
    match prev {
        None => true,
        Some(TokenTree::Punct(_)) => true,
        Some(TokenTree::Ident(id)) => id == "move" || id == "return" || id == "in",
        _ => false,
    }
}

/// A method or field name (`.name`), or a lifetime's name (`'a`).
fn after_dot_or_lifetime(prev: Option<&TokenTree>) -> bool {
    matches!(prev, Some(TokenTree::Punct(p)) if p.as_char() == '.' || p.as_char() == '\'')
}

/// Whether the ident at `i` follows `::` that continues a path (`<T as Tr>::f`); a
/// leading `::` (`::std::fs`) starts one.
fn continues_path(tts: &[TokenTree], i: usize) -> bool {
    let colons = i >= 2 && matches!((&tts[i - 2], &tts[i - 1]), (TokenTree::Punct(a), TokenTree::Punct(b)) if a.as_char() == ':' && b.as_char() == ':');
    colons
        && match i.checked_sub(3).map(|k| &tts[k]) {
            Some(TokenTree::Ident(_)) => true,
            Some(TokenTree::Punct(p)) => p.as_char() == '>',
            _ => false,
        }
}

/// The path starting at `i`: its identifiers, and the index after it. Generic arguments
/// (`::<..>`) are skipped.
fn path_at(tts: &[TokenTree], i: usize) -> (Vec<String>, usize) {
    let mut segments = vec![tts[i].to_string()];
    let mut j = i + 1;
    loop {
        let colons = matches!((tts.get(j), tts.get(j + 1)), (Some(TokenTree::Punct(a)), Some(TokenTree::Punct(b))) if a.as_char() == ':' && b.as_char() == ':');
        if !colons {
            return (segments, j);
        }
        match tts.get(j + 2) {
            Some(TokenTree::Ident(id)) => {
                segments.push(id.to_string());
                j += 3;
            }
            Some(TokenTree::Punct(p)) if p.as_char() == '<' => {
                // `::<..>`: skip to the matching `>`.
                let mut depth = 0;
                let mut k = j + 2;
                while k < tts.len() {
                    if let TokenTree::Punct(q) = &tts[k] {
                        match q.as_char() {
                            '<' => depth += 1,
                            '>' => {
                                depth -= 1;
                                if depth == 0 {
                                    break;
                                }
                            }
                            _ => {}
                        }
                    }
                    k += 1;
                }
                j = k + 1;
            }
            _ => return (segments, j),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(template: &str) -> Vec<String> {
        introduced(template, Kind::Expr, &["mini".into(), "mini_lang".into()], &[vec!["mini".into(), "old".into()]])
    }

    #[test]
    fn the_crates_paths_metavariables_and_the_prelude_introduce_nothing() {
        assert!(of("mini::engine::STANDARD.encode($input)").is_empty());
        assert!(of("$x.into_iter().map(|v| v.len()).collect::<Vec<_>>()").is_empty());
        assert!(of("mini_lang::f($x, Some(1), u8::MAX, String::new())").is_empty());
        assert!(of("$T::from_rng(&mut mini::rng()).unwrap_or_default()").is_empty());
        assert!(of("mini::old($x) != !$y").is_empty());
        assert!(of("mini::Config { pad: $pad, ..Default::default() }").is_empty());
    }

    #[test]
    fn paths_macros_unsafe_and_items_are_introductions() {
        assert_eq!(of("{ let _ = include!(\"/etc/passwd\"); mini::a($x) }"), ["`include!`"]);
        assert_eq!(of("std::process::Command::new(\"sh\").arg($x)"), ["`std::process::Command::new`"]);
        assert_eq!(of("unsafe { mini::a($x) }"), ["`unsafe`"]);
        assert_eq!(of("{ fn f() {} f(); $x }"), ["a new item (`fn`)"]);
        assert_eq!(of("{ struct S; impl Drop for S { fn drop(&mut self) {} } $x }"), ["a new item (`struct`)", "a new item (`impl`)", "a new item (`fn`)"]);
        assert_eq!(of("cleanup($x)"), ["`cleanup`"]);
        assert_eq!(of("::std::fs::remove_dir_all($x)"), ["`std::fs::remove_dir_all`"]);
        assert_eq!(of("self::purge(crate::ROOT, super::x(Self::new(self)))"), ["`self::purge`", "`crate::ROOT`", "`super::x`", "`Self::new`"]);
        let attr = |t: &str| introduced(t, Kind::Attribute, &["mini".into()], &[]);
        assert!(attr("#[mini::main(flavor = \"current_thread\", $..a)]").is_empty());
        assert_eq!(attr("#[other::main(x = env!(\"HOME\"))]"), ["the attribute `#[other::main]`", "`env!`"]);
        let helper = |t: &str| introduced(t, Kind::Attribute, &["mini".into()], &[vec!["old_opt".into()]]);
        assert!(helper("#[new_opt($..args)]").is_empty());
        assert_eq!(helper("#[no_mangle]"), ["the attribute `#[no_mangle]`"]);
    }
}
