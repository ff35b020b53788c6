//! Pattern parsing: a rule's `match` and `replace` texts, compiled to plain data.
//!
//! A pattern is Rust with metavariables: `$x` stands for one expression, type or path
//! prefix, `$..xs` for zero or more comma-separated items. As in rust-analyzer's SSR,
//! metavariables are swapped for stand-in identifiers (`__mv_x`, `__mv_rest_xs`) so that
//! the pattern goes through syn's real parser; the syn tree is then lowered to [`Pat`], a
//! plain tree that is `Send + Sync` (syn trees are not) and cheap to match.
//!
//! A template is text with the same metavariables; it is checked to parse the same way
//! and to use only metavariables its pattern binds.

use std::collections::BTreeMap;

use syn::spanned::Spanned;

use super::format::{Constraint, Kind};

const STAND_IN: &str = "__mv_";
const STAND_IN_REST: &str = "__mv_rest_";

/// A metavariable as written: `$x` or `$..xs`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetaKind {
    /// `$x`: one expression, type or path prefix.
    One,
    /// `$..xs`: zero or more comma-separated items.
    Rest,
}

/// An expression pattern.
#[derive(Clone, Debug, PartialEq)]
pub enum Pat {
    /// `$x`: any expression.
    Meta(String),
    /// A path (`rand::thread_rng`, `$T::from_entropy`).
    Path(PathPat),
    /// `f(args)`.
    Call(Box<Pat>, ArgsPat),
    /// `receiver.method::<turbofish>(args)`.
    Method {
        /// The receiver.
        receiver: Box<Pat>,
        /// The method's name.
        method: String,
        /// Generic arguments, if written.
        turbofish: Option<Vec<TyPat>>,
        /// The arguments.
        args: ArgsPat,
    },
    /// `base.member`.
    Field(Box<Pat>, String),
    /// `&x`, `&mut x`.
    Ref {
        /// Whether it is `&mut`.
        mutable: bool,
        /// The referenced expression.
        expr: Box<Pat>,
    },
    /// `!x`, `-x`, `*x`.
    Unary(String, Box<Pat>),
    /// `a + b`.
    Binary(Box<Pat>, String, Box<Pat>),
    /// `a..b`, `a..=b`.
    Range {
        /// The start, if any.
        from: Option<Box<Pat>>,
        /// The end, if any.
        to: Option<Box<Pat>>,
        /// Whether it is `..=`.
        inclusive: bool,
    },
    /// A literal, by its text.
    Lit(String),
    /// `(a, b)`.
    Tuple(ArgsPat),
    /// `[a, b]`.
    Array(ArgsPat),
    /// `a[i]`.
    Index(Box<Pat>, Box<Pat>),
    /// `x as T`.
    Cast(Box<Pat>, TyPat),
    /// `x?`.
    Try(Box<Pat>),
    /// Anything else without metavariables, compared by tokens.
    Tokens(String),
}

/// Comma-separated items: fixed ones, then at most one `$..rest`, then fixed ones.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct ArgsPat {
    /// Items before the rest.
    pub before: Vec<Pat>,
    /// The `$..rest` metavariable, if any.
    pub rest: Option<String>,
    /// Items after the rest.
    pub after: Vec<Pat>,
}

/// A path pattern: `rand::distributions::Uniform::<$T>::new` or `$T::from_entropy`.
#[derive(Clone, Debug, PartialEq)]
pub struct PathPat {
    /// A leading metavariable standing for a type path prefix (`$T` in `$T::f`).
    pub head: Option<String>,
    /// The segments after it (all of them when `head` is `None`).
    pub segments: Vec<SegPat>,
}

/// One path segment.
#[derive(Clone, Debug, PartialEq)]
pub struct SegPat {
    /// The identifier.
    pub ident: String,
    /// Generic arguments (`<..>` or `::<..>`), if written.
    pub args: Option<Vec<TyPat>>,
}

/// A type pattern.
#[derive(Clone, Debug, PartialEq)]
pub enum TyPat {
    /// `$T`: any type.
    Meta(String),
    /// `$..Ts`: zero or more generic arguments.
    Rest(String),
    /// A path type.
    Path(PathPat),
    /// `&T`, `&mut T` (lifetimes are not compared).
    Ref {
        /// Whether it is `&mut`.
        mutable: bool,
        /// The referenced type.
        elem: Box<TyPat>,
    },
    /// `(A, B)`.
    Tuple(Vec<TyPat>),
    /// `[T]`.
    Slice(Box<TyPat>),
    /// `_`.
    Infer,
    /// Anything else without metavariables, compared by tokens.
    Tokens(String),
}

/// A compiled `match`.
#[derive(Clone, Debug, PartialEq)]
pub enum Body {
    /// A path rule: every path naming `from` (or an item under it) is moved to `to`.
    Path {
        /// Full path matched (`rand::distributions`).
        from: Vec<String>,
        /// Full path it becomes (`rand::distr`).
        to: Vec<String>,
        /// Only `use` items are rewritten (kind `use`).
        use_only: bool,
    },
    /// An expression pattern.
    Expr(Pat),
    /// A type pattern.
    Type(TyPat),
    /// An item macro, by its full path (`bitflags::bitflags`).
    Macro(Vec<String>),
    /// A signature rule's bound.
    Signature(BoundPat),
    /// An attribute pattern.
    Attribute(AttrPat),
}

/// A bound written with the `Fn` sugar: `FnMut($I) -> nom::IResult<$I, $O>`.
#[derive(Clone, Debug, PartialEq)]
pub struct BoundPat {
    /// `Fn`, `FnMut` or `FnOnce` (written bare, or under `std::ops` / `core::ops`).
    pub fn_trait: String,
    /// The argument types.
    pub inputs: Vec<TyPat>,
    /// The return type.
    pub output: TyPat,
}

/// The `Fn` traits a signature pattern names.
const FN_TRAITS: [&str; 3] = ["Fn", "FnMut", "FnOnce"];

/// The `Fn` trait a bound's path names (`FnMut`, `std::ops::FnMut`), if it names one.
pub fn fn_trait_of(path: &syn::Path) -> Option<String> {
    let segs: Vec<String> = path.segments.iter().map(|s| unraw(&s.ident)).collect();
    let last = segs.last()?;
    let head_ok = match segs.len() {
        1 => true,
        3 => (segs[0] == "std" || segs[0] == "core") && segs[1] == "ops",
        _ => false,
    };
    (head_ok && FN_TRAITS.contains(&last.as_str())).then(|| last.clone())
}

fn lower_bound(bound: &syn::TraitBound, text: &str) -> Result<BoundPat, PatternError> {
    let fn_trait = fn_trait_of(&bound.path).ok_or_else(|| format!("a signature pattern is a bound of `Fn`, `FnMut` or `FnOnce`: `{text}`"))?;
    let syn::PathArguments::Parenthesized(args) = &bound.path.segments.last().expect("a segment").arguments else {
        return Err(format!("a signature pattern writes its arguments and return type: `{text}`"));
    };
    let syn::ReturnType::Type(_, output) = &args.output else {
        return Err(format!("a signature pattern writes its return type (`-> ..`): `{text}`"));
    };
    let inputs = args.inputs.iter().map(lower_type).collect::<Result<Vec<_>, _>>()?;
    Ok(BoundPat { fn_trait, inputs, output: lower_type(output)? })
}

/// An attribute pattern: `#[path]`, `#[path(tokens)]` or `#[path = tokens]`, where the
/// tokens are matched one token tree at a time (`$x` binds one, `$..xs` any number).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttrPat {
    /// The attribute's path: in full (`tokio::main`), or one name (a derive's helper
    /// attribute, which is not imported: `structopt`).
    pub path: Vec<String>,
    /// What follows the path.
    pub args: AttrArgs,
}

/// What follows an attribute pattern's path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AttrArgs {
    /// Nothing: `#[path]`.
    None,
    /// `#[path(..)]` (any delimiter): the tokens inside.
    List(Vec<TokPat>),
    /// `#[path = ..]`: the tokens after `=`.
    Value(Vec<TokPat>),
}

/// One element of an attribute's token pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokPat {
    /// A token tree, as proc-macro2 prints it.
    Token(String),
    /// `$x`: one token tree.
    One(String),
    /// `$..xs`: any number of token trees.
    Rest(String),
}

/// Lowers a token stream of an attribute pattern.
fn lower_tokens(tokens: proc_macro2::TokenStream, text: &str) -> Result<Vec<TokPat>, PatternError> {
    let mut out = Vec::new();
    for tt in tokens {
        if let proc_macro2::TokenTree::Ident(id) = &tt {
            match meta_name(&id.to_string()) {
                Some((MetaKind::One, name)) => out.push(TokPat::One(name.to_string())),
                Some((MetaKind::Rest, name)) => out.push(TokPat::Rest(name.to_string())),
                None => out.push(TokPat::Token(tt.to_string())),
            }
            continue;
        }
        let printed = tt.to_string();
        if printed.contains(STAND_IN) {
            return Err(format!("in an attribute pattern, metavariables go at the top level of its arguments, not inside a group: `{text}`"));
        }
        out.push(TokPat::Token(printed));
    }
    Ok(out)
}

/// Parses an attribute (`#[..]`) written as a pattern or template, with stand-ins.
fn parse_attribute(source: &str, text: &str) -> Result<syn::Attribute, PatternError> {
    use syn::parse::Parser;
    let attrs = syn::Attribute::parse_outer.parse_str(source).map_err(|e| format!("`{text}` is not an attribute: {e}"))?;
    match <[syn::Attribute; 1]>::try_from(attrs) {
        Ok([attr]) => Ok(attr),
        Err(_) => Err(format!("an attribute pattern is one attribute: `{text}`")),
    }
}

/// A piece of a template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Piece {
    /// Literal text.
    Text(String),
    /// `$x`: the original text bound to `x`.
    Var(String),
    /// `$..xs`: the original text of the items bound to `xs`.
    Rest(String),
    /// The pack's crate name at the start of a path: replaced by the crate's local name
    /// (a renamed dependency, an `extern crate .. as`).
    Crate,
}

/// A compiled `replace` template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    /// Its pieces, in order.
    pub pieces: Vec<Piece>,
}

/// Why a pattern or template was refused.
pub type PatternError = String;

/// Replaces `$x` by `__mv_x` and `$..xs` by `__mv_rest_xs`; returns the metavariables.
pub fn stand_ins(text: &str) -> Result<(String, BTreeMap<String, MetaKind>), PatternError> {
    let mut out = String::with_capacity(text.len() + 16);
    let mut metas = BTreeMap::new();
    let mut rest = text;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let (kind, after) = match after.strip_prefix("..") {
            Some(a) => (MetaKind::Rest, a),
            None => (MetaKind::One, after),
        };
        let len = after.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(after.len());
        let name = &after[..len];
        if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
            return Err(format!("`$` must be followed by a metavariable name (`$x`, `$..args`) in `{text}`"));
        }
        if let Some(previous) = metas.insert(name.to_string(), kind) {
            if previous != kind {
                return Err(format!("metavariable `{name}` is used both as `${name}` and `$..{name}`"));
            }
        }
        out.push_str(if kind == MetaKind::Rest { STAND_IN_REST } else { STAND_IN });
        out.push_str(name);
        rest = &after[len..];
    }
    out.push_str(rest);
    Ok((out, metas))
}

fn meta_name(ident: &str) -> Option<(MetaKind, &str)> {
    if let Some(name) = ident.strip_prefix(STAND_IN_REST) {
        Some((MetaKind::Rest, name))
    } else {
        ident.strip_prefix(STAND_IN).map(|n| (MetaKind::One, n))
    }
}

/// An identifier without its `r#` prefix.
pub fn unraw(ident: &syn::Ident) -> String {
    let s = ident.to_string();
    s.strip_prefix("r#").map(str::to_string).unwrap_or(s)
}

/// Tokens as a normalized string (spacing as proc-macro2 prints it).
pub fn token_text(t: &impl quote::ToTokens) -> String {
    t.to_token_stream().to_string()
}

/// Writes the stand-ins of a message back as the metavariables the author wrote
/// (`__mv_x` → `$x`, `__mv_rest_xs` → `$..xs`): errors speak the pack's language, never
/// the parser's.
pub fn restore_metavariables(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(i) = rest.find(STAND_IN) {
        out.push_str(&rest[..i]);
        let after = &rest[i..];
        let (prefix, name_at) = if after.starts_with(STAND_IN_REST) { ("$..", STAND_IN_REST.len()) } else { ("$", STAND_IN.len()) };
        let tail = &after[name_at..];
        let len = tail.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(tail.len());
        out.push_str(prefix);
        out.push_str(&tail[..len]);
        rest = &tail[len..];
    }
    out.push_str(rest);
    out
}

/// Parses a `match` text of the given kind (or infers the kind): the body, its kind, and
/// the metavariables it binds. Errors name metavariables as written (`$x`).
pub fn parse_pattern(text: &str, kind: Option<Kind>) -> Result<(Body, Kind, BTreeMap<String, MetaKind>), PatternError> {
    parse_pattern_stand_ins(text, kind).map_err(|e| restore_metavariables(&e))
}

fn parse_pattern_stand_ins(text: &str, kind: Option<Kind>) -> Result<(Body, Kind, BTreeMap<String, MetaKind>), PatternError> {
    let (source, metas) = stand_ins(text.trim())?;
    let source = source.trim().trim_end_matches(';').trim();
    let kind = match kind {
        Some(k) => k,
        None => infer_kind(source)?,
    };
    let body = match kind {
        Kind::Path | Kind::Use => {
            if !metas.is_empty() {
                return Err(format!("a {} pattern takes no metavariables: `{text}`", if kind == Kind::Path { "path" } else { "use" }));
            }
            let path = plain_path(source.strip_prefix("use ").unwrap_or(source))?;
            Body::Path { from: path.clone(), to: path, use_only: kind == Kind::Use }
        }
        Kind::Expr | Kind::Method => {
            let expr: syn::Expr = syn::parse_str(source).map_err(|e| format!("`{text}` is not an expression: {e}"))?;
            let pat = lower_expr(&expr)?;
            if kind == Kind::Method && !matches!(pat, Pat::Method { .. } | Pat::Call(..)) {
                return Err(format!("a method pattern is a method call (`$x.f(..)`) or an associated call (`$T::f(..)`): `{text}`"));
            }
            Body::Expr(pat)
        }
        Kind::Type => {
            let ty: syn::Type = syn::parse_str(source).map_err(|e| format!("`{text}` is not a type: {e}"))?;
            Body::Type(lower_type(&ty)?)
        }
        Kind::Attribute => {
            let attr = parse_attribute(source, text)?;
            let path: Vec<String> = attr.path().segments.iter().map(|s| unraw(&s.ident)).collect();
            if path.iter().any(|s| s.starts_with(STAND_IN)) {
                return Err(format!("an attribute pattern's path is written out: `{text}`"));
            }
            let args = match attr.meta {
                syn::Meta::Path(_) => AttrArgs::None,
                syn::Meta::List(list) => AttrArgs::List(lower_tokens(list.tokens, text)?),
                syn::Meta::NameValue(nv) => AttrArgs::Value(lower_tokens(quote::ToTokens::to_token_stream(&nv.value), text)?),
            };
            Body::Attribute(AttrPat { path, args })
        }
        Kind::Signature => {
            let bound: syn::TraitBound = syn::parse_str(source).map_err(|e| format!("`{text}` is not a trait bound: {e}"))?;
            Body::Signature(lower_bound(&bound, text)?)
        }
        Kind::Macro => {
            if !metas.is_empty() {
                return Err(format!("a macro pattern takes no metavariables: `{text}`"));
            }
            let path = source.strip_suffix('!').ok_or_else(|| format!("a macro pattern is the macro's path and `!` (`bitflags::bitflags!`): `{text}`"))?;
            Body::Macro(plain_path(path)?)
        }
    };
    if let Body::Expr(Pat::Meta(_)) | Body::Type(TyPat::Meta(_)) = body {
        return Err(format!("a pattern that is only a metavariable matches everything: `{text}`"));
    }
    Ok((body, kind, metas))
}

fn infer_kind(source: &str) -> Result<Kind, PatternError> {
    if source.starts_with("use ") {
        return Ok(Kind::Use);
    }
    if source.ends_with('!') {
        return Ok(Kind::Macro);
    }
    if source.starts_with("#[") || source.starts_with("#![") {
        return Ok(Kind::Attribute);
    }
    if let Ok(expr) = syn::parse_str::<syn::Expr>(source) {
        return Ok(match expr {
            syn::Expr::Path(p) if p.qself.is_none() && !source.contains(STAND_IN) && p.path.segments.iter().all(|s| s.arguments.is_none()) => Kind::Path,
            syn::Expr::MethodCall(_) => Kind::Method,
            _ => Kind::Expr,
        });
    }
    match syn::parse_str::<syn::Type>(source) {
        Ok(_) => Ok(Kind::Type),
        Err(_) => {
            let why = syn::parse_str::<syn::Expr>(source).err().map(|e| format!(": {e}")).unwrap_or_default();
            Err(format!("`{source}` is neither an expression nor a type{why}"))
        }
    }
}

/// A path without metavariables or generics, as segments (`rand::thread_rng`).
pub fn plain_path(text: &str) -> Result<Vec<String>, PatternError> {
    let path: syn::Path = syn::parse_str(text.trim()).map_err(|e| format!("`{text}` is not a path: {e}"))?;
    if path.segments.iter().any(|s| !s.arguments.is_none()) {
        return Err(format!("`{text}`: a path here takes no generic arguments"));
    }
    if path.segments.len() < 2 {
        return Err(format!("`{text}`: write paths in full, starting with the crate (`rand::thread_rng`)"));
    }
    Ok(path.segments.iter().map(|s| unraw(&s.ident)).collect())
}

fn lower_args<'a>(items: impl Iterator<Item = &'a syn::Expr>) -> Result<ArgsPat, PatternError> {
    let mut args = ArgsPat::default();
    for item in items {
        if let Some((MetaKind::Rest, name)) = single_ident(item).as_deref().and_then(meta_name) {
            if args.rest.is_some() {
                return Err("at most one `$..rest` per argument list".into());
            }
            args.rest = Some(name.to_string());
            continue;
        }
        let pat = lower_expr(item)?;
        if args.rest.is_some() {
            args.after.push(pat);
        } else {
            args.before.push(pat);
        }
    }
    Ok(args)
}

fn single_ident(expr: &syn::Expr) -> Option<String> {
    match expr {
        syn::Expr::Path(p) if p.qself.is_none() && p.path.leading_colon.is_none() && p.path.segments.len() == 1 && p.path.segments[0].arguments.is_none() => {
            Some(p.path.segments[0].ident.to_string())
        }
        _ => None,
    }
}

fn has_meta(t: &impl quote::ToTokens) -> bool {
    token_text(t).contains(STAND_IN)
}

fn lower_expr(expr: &syn::Expr) -> Result<Pat, PatternError> {
    use syn::Expr as E;
    if let Some(ident) = single_ident(expr) {
        match meta_name(&ident) {
            Some((MetaKind::One, name)) => return Ok(Pat::Meta(name.to_string())),
            Some((MetaKind::Rest, name)) => return Err(format!("`$..{name}` can only stand for items of a list (arguments, tuple or array items)")),
            None => {}
        }
    }
    Ok(match expr {
        E::Path(p) if p.qself.is_none() => Pat::Path(lower_path(&p.path)?),
        E::Call(c) => Pat::Call(Box::new(lower_expr(&c.func)?), lower_args(c.args.iter())?),
        E::MethodCall(m) => Pat::Method {
            receiver: Box::new(lower_expr(&m.receiver)?),
            method: unraw(&m.method),
            turbofish: match &m.turbofish {
                Some(t) => Some(lower_generic_args(t.args.iter())?),
                None => None,
            },
            args: lower_args(m.args.iter())?,
        },
        E::Field(f) => Pat::Field(Box::new(lower_expr(&f.base)?), token_text(&f.member)),
        E::Reference(r) => Pat::Ref { mutable: r.mutability.is_some(), expr: Box::new(lower_expr(&r.expr)?) },
        E::Unary(u) => Pat::Unary(token_text(&u.op), Box::new(lower_expr(&u.expr)?)),
        E::Binary(b) => Pat::Binary(Box::new(lower_expr(&b.left)?), token_text(&b.op), Box::new(lower_expr(&b.right)?)),
        E::Range(r) => Pat::Range {
            from: r.start.as_deref().map(lower_expr).transpose()?.map(Box::new),
            to: r.end.as_deref().map(lower_expr).transpose()?.map(Box::new),
            inclusive: matches!(r.limits, syn::RangeLimits::Closed(_)),
        },
        E::Lit(l) => Pat::Lit(token_text(&l.lit)),
        E::Tuple(t) => Pat::Tuple(lower_args(t.elems.iter())?),
        E::Array(a) => Pat::Array(lower_args(a.elems.iter())?),
        E::Index(i) => Pat::Index(Box::new(lower_expr(&i.expr)?), Box::new(lower_expr(&i.index)?)),
        E::Cast(c) => Pat::Cast(Box::new(lower_expr(&c.expr)?), lower_type(&c.ty)?),
        E::Try(t) => Pat::Try(Box::new(lower_expr(&t.expr)?)),
        E::Paren(p) => lower_expr(&p.expr)?,
        other if !has_meta(other) => Pat::Tokens(token_text(other)),
        other => return Err(format!("metavariables are not supported inside `{}` in a pattern", token_text(other))),
    })
}

fn lower_path(path: &syn::Path) -> Result<PathPat, PatternError> {
    let mut head = None;
    let mut segments = Vec::new();
    for (i, seg) in path.segments.iter().enumerate() {
        let ident = seg.ident.to_string();
        if let Some((kind, name)) = meta_name(&ident) {
            if i != 0 || kind == MetaKind::Rest || !seg.arguments.is_none() || path.leading_colon.is_some() {
                return Err(format!("a metavariable in a path can only be its first segment (`$T::f`): `{}`", token_text(path)));
            }
            head = Some(name.to_string());
            continue;
        }
        let args = match &seg.arguments {
            syn::PathArguments::None => None,
            syn::PathArguments::AngleBracketed(a) => Some(lower_generic_args(a.args.iter())?),
            syn::PathArguments::Parenthesized(p) if !has_meta(p) => Some(vec![TyPat::Tokens(token_text(p))]),
            syn::PathArguments::Parenthesized(_) => return Err("metavariables in `Fn(..)` arguments are not supported".into()),
        };
        segments.push(SegPat { ident: unraw(&seg.ident), args });
    }
    if segments.is_empty() {
        return Err(format!("`{}` has no segment after its metavariable", token_text(path)));
    }
    if head.is_none() && segments.len() < 2 {
        return Err(format!("`{}`: write paths in full, starting with the crate (`rand::thread_rng`)", token_text(path)));
    }
    Ok(PathPat { head, segments })
}

fn lower_generic_args<'a>(args: impl Iterator<Item = &'a syn::GenericArgument>) -> Result<Vec<TyPat>, PatternError> {
    args.map(|a| match a {
        syn::GenericArgument::Type(t) => lower_type(t),
        other if !has_meta(other) => Ok(TyPat::Tokens(token_text(other))),
        other => Err(format!("unsupported generic argument in a pattern: `{}`", token_text(other))),
    })
    .collect()
}

fn lower_type(ty: &syn::Type) -> Result<TyPat, PatternError> {
    use syn::Type as T;
    Ok(match ty {
        T::Path(p) if p.qself.is_none() => {
            if p.path.segments.len() == 1 && p.path.leading_colon.is_none() && p.path.segments[0].arguments.is_none() {
                match meta_name(&p.path.segments[0].ident.to_string()) {
                    Some((MetaKind::One, n)) => return Ok(TyPat::Meta(n.to_string())),
                    Some((MetaKind::Rest, n)) => return Ok(TyPat::Rest(n.to_string())),
                    None => {}
                }
            }
            TyPat::Path(lower_path(&p.path)?)
        }
        T::Reference(r) => TyPat::Ref { mutable: r.mutability.is_some(), elem: Box::new(lower_type(&r.elem)?) },
        T::Tuple(t) => TyPat::Tuple(t.elems.iter().map(lower_type).collect::<Result<_, _>>()?),
        T::Slice(s) => TyPat::Slice(Box::new(lower_type(&s.elem)?)),
        T::Infer(_) => TyPat::Infer,
        T::Paren(p) => lower_type(&p.elem)?,
        other if !has_meta(other) => TyPat::Tokens(token_text(other)),
        other => return Err(format!("metavariables are not supported inside `{}` in a pattern", token_text(other))),
    })
}

/// Parses a `replace` template for a pattern of `kind` that binds `metas`; `krate` is
/// the pack's crate name as written in paths.
/// `paths` turns a full path written in the template into pieces when it stands for a
/// path of the pattern (which is then spliced as the code wrote it). Errors name
/// metavariables as written (`$x`).
pub fn parse_template(
    text: &str,
    kind: Kind,
    metas: &BTreeMap<String, MetaKind>,
    krate: &str,
    paths: &dyn Fn(&[String]) -> Option<Vec<Piece>>,
) -> Result<Template, PatternError> {
    parse_template_stand_ins(text, kind, metas, krate, paths).map_err(|e| restore_metavariables(&e))
}

fn parse_template_stand_ins(
    text: &str,
    kind: Kind,
    metas: &BTreeMap<String, MetaKind>,
    krate: &str,
    paths: &dyn Fn(&[String]) -> Option<Vec<Piece>>,
) -> Result<Template, PatternError> {
    let (source, used) = stand_ins(text)?;
    for (name, k) in &used {
        match metas.get(name) {
            None => return Err(format!("template `{text}` uses `${name}`, which the pattern does not bind")),
            Some(bound) if bound != k => {
                return Err(format!(
                    "template `{text}`: `{name}` is bound as a {} by the pattern",
                    if *bound == MetaKind::Rest { "list (`$..`)" } else { "single item (`$`)" }
                ))
            }
            Some(_) => {}
        }
    }
    let parses = match kind {
        Kind::Path | Kind::Use => plain_path(source.trim().strip_prefix("use ").unwrap_or(source.trim()).trim_end_matches(';')).map(|_| ()),
        Kind::Expr | Kind::Method => syn::parse_str::<syn::Expr>(&source).map(|_| ()).map_err(|e| e.to_string()),
        Kind::Type => syn::parse_str::<syn::Type>(&source).map(|_| ()).map_err(|e| e.to_string()),
        Kind::Macro => Err("a macro rule has no template: it adds `derive`s".into()),
        Kind::Signature => syn::parse_str::<syn::TraitBound>(&source).map(|_| ()).map_err(|e| e.to_string()),
        // An empty template removes the attribute.
        Kind::Attribute if source.trim().is_empty() => Ok(()),
        Kind::Attribute => parse_attribute(source.trim(), text).map(|_| ()),
    };
    parses.map_err(|e| format!("template `{text}` does not parse: {e}"))?;
    Ok(Template { pieces: lex_template(text, krate, paths) })
}

/// A where-predicate a signature rule adds ([`parse_closure_bound`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClosureBound {
    /// The metavariable it bounds (`E` for `$E: ..`).
    pub var: String,
    /// The last segment of each trait it names (`ParseError`), to tell whether the code
    /// states it already.
    pub traits: Vec<String>,
    /// The predicate, as a template.
    pub template: Template,
}

/// Parses a signature rule's `closure_bounds` entry: a where-predicate (`$E:
/// nom::error::ParseError<$I>`) whose bounded type is one metavariable and which uses
/// only metavariables the pattern binds.
pub fn parse_closure_bound(text: &str, metas: &BTreeMap<String, MetaKind>, krate: &str) -> Result<ClosureBound, PatternError> {
    let (source, used) = stand_ins(text).map_err(|e| restore_metavariables(&e))?;
    if let Some(name) = used.keys().find(|n| metas.get(*n) != Some(&MetaKind::One)) {
        return Err(format!("`{text}` uses `${name}`, which the pattern does not bind as one item"));
    }
    let pred: syn::WherePredicate =
        syn::parse_str(&source).map_err(|e| format!("`{text}` is not a where-predicate: {}", restore_metavariables(&e.to_string())))?;
    let syn::WherePredicate::Type(t) = pred else { return Err(format!("`{text}` does not bound a type")) };
    let var = match &t.bounded_ty {
        syn::Type::Path(p) => p.path.get_ident().and_then(|i| meta_name(&i.to_string()).map(|(_, n)| n.to_string())),
        _ => None,
    }
    .ok_or_else(|| format!("`{text}`: the bounded type is one metavariable (`$E: ..`)"))?;
    let traits = t
        .bounds
        .iter()
        .filter_map(|b| match b {
            syn::TypeParamBound::Trait(tb) => tb.path.segments.last().map(|s| unraw(&s.ident)),
            _ => None,
        })
        .collect();
    Ok(ClosureBound { var, traits, template: Template { pieces: lex_template(text, krate, &|_| None) } })
}

/// The full paths (without a leading metavariable) a pattern names.
pub fn pattern_paths(pat: &Pat, out: &mut Vec<Vec<String>>) {
    match pat {
        Pat::Path(p) if p.head.is_none() => out.push(p.segments.iter().map(|s| s.ident.clone()).collect()),
        Pat::Call(f, a) => {
            pattern_paths(f, out);
            a.before.iter().chain(&a.after).for_each(|p| pattern_paths(p, out));
        }
        Pat::Method { receiver, args, .. } => {
            pattern_paths(receiver, out);
            args.before.iter().chain(&args.after).for_each(|p| pattern_paths(p, out));
        }
        Pat::Field(e, _) | Pat::Ref { expr: e, .. } | Pat::Unary(_, e) | Pat::Try(e) | Pat::Cast(e, _) => pattern_paths(e, out),
        Pat::Binary(l, _, r) | Pat::Index(l, r) => {
            pattern_paths(l, out);
            pattern_paths(r, out);
        }
        Pat::Range { from, to, .. } => from.iter().chain(to).for_each(|p| pattern_paths(p, out)),
        Pat::Tuple(a) | Pat::Array(a) => a.before.iter().chain(&a.after).for_each(|p| pattern_paths(p, out)),
        _ => {}
    }
}

/// Splits a template into pieces: metavariables, the crate name at the start of a path,
/// and text (string and char literals are copied whole).
fn lex_template(text: &str, krate: &str, paths: &dyn Fn(&[String]) -> Option<Vec<Piece>>) -> Vec<Piece> {
    let mut pieces = Vec::new();
    let mut literal = String::new();
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut i = 0;
    let ident_end = |from: usize| {
        let mut j = from;
        while j < chars.len() && (chars[j].1.is_alphanumeric() || chars[j].1 == '_') {
            j += 1;
        }
        j
    };
    while i < chars.len() {
        let (at, c) = chars[i];
        match c {
            '$' => {
                let rest = text[at + 1..].starts_with("..");
                let start = if rest { i + 3 } else { i + 1 };
                let end = ident_end(start);
                let name: String = chars[start..end].iter().map(|(_, c)| c).collect();
                if !literal.is_empty() {
                    pieces.push(Piece::Text(std::mem::take(&mut literal)));
                }
                pieces.push(if rest { Piece::Rest(name) } else { Piece::Var(name) });
                i = end;
            }
            '"' => {
                literal.push(c);
                i += 1;
                while i < chars.len() {
                    let ch = chars[i].1;
                    literal.push(ch);
                    i += 1;
                    if ch == '\\' && i < chars.len() {
                        literal.push(chars[i].1);
                        i += 1;
                    } else if ch == '"' {
                        break;
                    }
                }
            }
            c if c.is_alphabetic() || c == '_' => {
                let end = ident_end(i);
                let word: String = chars[i..end].iter().map(|(_, c)| c).collect();
                let before = literal.trim_end();
                let starts_path =
                    !before.ends_with("::") && !before.ends_with('.') && text[chars.get(end).map_or(text.len(), |c| c.0)..].trim_start().starts_with("::");
                if word == krate && starts_path && !pieces.last().is_some_and(|p| matches!(p, Piece::Var(_) | Piece::Rest(_))) {
                    if !literal.is_empty() {
                        pieces.push(Piece::Text(std::mem::take(&mut literal)));
                    }
                    // The whole path: `krate(::ident)*`.
                    let mut segments = vec![word];
                    let mut j = end;
                    while j + 2 < chars.len() && chars[j].1 == ':' && chars[j + 1].1 == ':' && (chars[j + 2].1.is_alphabetic() || chars[j + 2].1 == '_') {
                        let e = ident_end(j + 2);
                        segments.push(chars[j + 2..e].iter().map(|(_, c)| c).collect());
                        j = e;
                    }
                    match paths(&segments) {
                        Some(p) => {
                            pieces.extend(p);
                            i = j;
                        }
                        None => {
                            pieces.push(Piece::Crate);
                            i = end;
                        }
                    }
                } else {
                    literal.push_str(&word);
                    i = end;
                }
            }
            _ => {
                literal.push(c);
                i += 1;
            }
        }
    }
    if !literal.is_empty() {
        pieces.push(Piece::Text(literal));
    }
    pieces
}

/// Whether `expr` satisfies `constraint`.
pub fn satisfies(expr: &syn::Expr, constraint: Constraint) -> bool {
    let expr = strip_parens(expr);
    let lit = match expr {
        syn::Expr::Lit(l) => Some(&l.lit),
        syn::Expr::Unary(u) if matches!(u.op, syn::UnOp::Neg(_)) => match strip_parens(&u.expr) {
            syn::Expr::Lit(l) => Some(&l.lit),
            _ => None,
        },
        _ => None,
    };
    match constraint {
        Constraint::Literal => lit.is_some(),
        Constraint::FloatLiteral => matches!(lit, Some(syn::Lit::Float(_))),
        Constraint::IntLiteral => matches!(lit, Some(syn::Lit::Int(_))),
        Constraint::StringLiteral => matches!(lit, Some(syn::Lit::Str(_))),
        Constraint::ByteStringLiteral => matches!(lit, Some(syn::Lit::ByteStr(_))),
        Constraint::Simple => lit.is_some() || matches!(expr, syn::Expr::Path(_)),
    }
}

/// An expression without the parentheses and invisible groups around it.
pub fn strip_parens(mut expr: &syn::Expr) -> &syn::Expr {
    loop {
        match expr {
            syn::Expr::Paren(p) => expr = &p.expr,
            syn::Expr::Group(g) => expr = &g.expr,
            _ => return expr,
        }
    }
}

/// The span of a node, for errors and ranges.
pub fn span_of(node: &impl Spanned) -> proc_macro2::Span {
    node.span()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pat(text: &str) -> (Body, Kind) {
        let (body, kind, _) = parse_pattern(text, None).unwrap();
        (body, kind)
    }

    #[test]
    fn metavariables_become_stand_ins() {
        let (s, metas) = stand_ins("$rng.gen_range($..args)").unwrap();
        assert_eq!(s, "__mv_rng.gen_range(__mv_rest_args)");
        assert_eq!(metas["rng"], MetaKind::One);
        assert_eq!(metas["args"], MetaKind::Rest);
        assert!(stand_ins("$ x").is_err());
        assert!(stand_ins("f($x, $..x)").is_err());
    }

    #[test]
    fn kinds_are_inferred() {
        assert_eq!(
            pat("rand::thread_rng"),
            (Body::Path { from: vec!["rand".into(), "thread_rng".into()], to: vec!["rand".into(), "thread_rng".into()], use_only: false }, Kind::Path)
        );
        assert_eq!(pat("$r.gen()").1, Kind::Method);
        assert_eq!(pat("base64::encode($x)").1, Kind::Expr);
        assert_eq!(pat("use rand::distributions::Standard").1, Kind::Use);
        assert_eq!(pat("rand::distributions::Uniform<$T>").1, Kind::Type);
        assert_eq!(pat("bitflags::bitflags!"), (Body::Macro(vec!["bitflags".into(), "bitflags".into()]), Kind::Macro));
        let (body, kind) = pat("#[tokio::main(core_threads = $n, $..rest)]");
        assert_eq!(kind, Kind::Attribute);
        let Body::Attribute(AttrPat { path, args: AttrArgs::List(tokens) }) = body else { panic!("{body:?}") };
        assert_eq!(path, ["tokio", "main"]);
        assert_eq!(
            tokens,
            [TokPat::Token("core_threads".into()), TokPat::Token("=".into()), TokPat::One("n".into()), TokPat::Token(",".into()), TokPat::Rest("rest".into())]
        );
        assert_eq!(pat("#[structopt]").0, Body::Attribute(AttrPat { path: vec!["structopt".into()], args: AttrArgs::None }));
        assert!(parse_pattern("#[a::b(x($y))]", None).unwrap_err().contains("top level"));
    }

    #[test]
    fn method_and_call_patterns_lower_to_plain_trees() {
        let (body, _) = pat("$rng.gen_range($..args)");
        let Body::Expr(Pat::Method { receiver, method, turbofish, args }) = body else { panic!() };
        assert_eq!(*receiver, Pat::Meta("rng".into()));
        assert_eq!(method, "gen_range");
        assert_eq!(turbofish, None);
        assert_eq!(args.rest.as_deref(), Some("args"));
        let (body, _) = pat("$T::from_entropy()");
        let Body::Expr(Pat::Call(func, _)) = body else { panic!() };
        let Pat::Path(p) = *func else { panic!() };
        assert_eq!(p.head.as_deref(), Some("T"));
        assert_eq!(p.segments[0].ident, "from_entropy");
        let (body, _) = pat("$r.gen::<$T>()");
        let Body::Expr(Pat::Method { turbofish: Some(t), .. }) = body else { panic!() };
        assert_eq!(t, vec![TyPat::Meta("T".into())]);
    }

    #[test]
    fn bad_patterns_are_refused() {
        assert!(parse_pattern("$x", None).is_err());
        assert!(parse_pattern("thread_rng()", None).is_err(), "paths are written in full");
        assert!(parse_pattern("f($..a, $..b)", None).is_err());
        assert!(parse_pattern("rand::a::$x", None).is_err());
        assert!(parse_pattern("$x.f(", None).is_err());
    }

    #[test]
    fn templates_check_their_metavariables_and_mark_the_crate() {
        let (_, kind, metas) = parse_pattern("base64::encode($x)", None).unwrap();
        let t = parse_template("base64::engine::general_purpose::STANDARD.encode($x)", kind, &metas, "base64", &|_| None).unwrap();
        assert_eq!(
            t.pieces,
            vec![Piece::Crate, Piece::Text("::engine::general_purpose::STANDARD.encode(".into()), Piece::Var("x".into()), Piece::Text(")".into())]
        );
        assert!(parse_template("f($y)", kind, &metas, "base64", &|_| None).is_err());
        assert!(parse_template("f($..x)", kind, &metas, "base64", &|_| None).is_err());
        assert!(parse_template("f($x", kind, &metas, "base64", &|_| None).is_err());
        let t = parse_template("x.base64::f(\"base64::a\")", kind, &metas, "base64", &|_| None);
        assert!(t.is_err(), "not an expression");
        let t = parse_template("f(\"base64::a\", $x)", kind, &metas, "base64", &|_| None).unwrap();
        assert!(!t.pieces.contains(&Piece::Crate), "string contents are not paths");
    }

    #[test]
    fn constraints() {
        let e = |s: &str| syn::parse_str::<syn::Expr>(s).unwrap();
        assert!(satisfies(&e("1.0"), Constraint::FloatLiteral));
        assert!(satisfies(&e("-2.5f32"), Constraint::FloatLiteral));
        assert!(!satisfies(&e("1"), Constraint::FloatLiteral));
        assert!(satisfies(&e("1"), Constraint::IntLiteral));
        assert!(satisfies(&e("n"), Constraint::Simple));
        assert!(!satisfies(&e("f()"), Constraint::Simple));
        assert!(satisfies(&e("b\"-\""), Constraint::ByteStringLiteral));
        assert!(!satisfies(&e("\"-\""), Constraint::ByteStringLiteral));
        assert!(!satisfies(&e("b\"-\""), Constraint::StringLiteral));
    }
}
