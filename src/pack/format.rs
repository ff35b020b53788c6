//! Format: the pack file as authors write it (TOML), and nothing else.
//!
//! These are the serialized types: they reject unknown keys, carry no logic beyond
//! loading, and generate the JSON Schema checked in as `migrations/pack.schema.json`.
//! Compiling them into patterns and templates is [`super::pattern`]'s job.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A migration pack: the rules that move code from one release of a crate to another.
///
/// A pack moves code across a breaking release (`from = "0.8"`, `to = "0.9"`), or within
/// one release line past its deprecations (`from = "0.4"`, `to = "0.4.38"`: see `to`).
///
/// ```toml
/// crate = "rand"
/// from = "0.8"
/// to = "0.9"
/// summary = "rand 0.8 → 0.9"
///
/// [[rule]]
/// id = "gen-range"
/// message = "`Rng::gen_range` is `random_range` in rand 0.9"
/// trait = "rand::Rng"
/// match = "$rng.gen_range($..args)"
/// replace = "$rng.random_range($..args)"
/// ```
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "cargo-migrate migration pack")]
pub struct PackFile {
    /// The crate this pack migrates, as published (`rand`, `base64`).
    #[serde(rename = "crate")]
    pub krate: String,
    /// The version (or semver requirement) the code is written for (`0.8`).
    pub from: String,
    /// The version the pack moves it to (`0.9`).
    ///
    /// A `to` in the same semver compatibility class as `from` (`from = "0.4"`,
    /// `to = "0.4.38"`) makes a *line pack*: it rewrites API deprecated within one
    /// release line. `cargo migrate upgrade` applies it to code on any release `from`
    /// admits (a release newer than `to` too: deprecated calls still compile there) and
    /// raises the requirement to at least `to`, never lowering one already higher.
    pub to: String,
    /// One line: what this pack does.
    pub summary: String,
    /// The upstream upgrade guide or changelog.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guide: Option<String>,
    /// Cargo features renamed by the release: old name → new name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub renamed_features: BTreeMap<String, String>,
    /// Features of the new release that now gate what some old features enabled
    /// (rand 0.9's `thread_rng`, which 0.8's `std` and `std_rng` provided).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub new_features: Vec<NewFeature>,
    /// Crates the new release moved items to (nom 8's `VerboseError` is in
    /// `nom-language`): path rules may move items there, and a member whose code names a
    /// moved item gets the crate as a dependency.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub new_crates: Vec<NewCrate>,
    /// Crates that must move together with this one (e.g. `rand_core`, `rand_chacha`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub companions: Vec<Companion>,
    /// What a glob import of the crate's prelude brings in, before and after.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prelude: Option<Prelude>,
    /// Traits whose methods moved to other traits: the methods each keeps in the new
    /// release, so that an import left without use can be replaced or removed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub traits: Vec<TraitFacts>,
    /// The rules, tried in order; at one site the first rule that matches wins.
    #[serde(default, rename = "rule")]
    pub rules: Vec<RuleDef>,
    /// Shims: small reviewed items the migration adds to a crate in place of items the
    /// release removed or deprecated without a replacement (rand 0.9's `StepRng`), and
    /// points the crate's uses at.
    #[serde(default, rename = "shim", skip_serializing_if = "Vec::is_empty")]
    pub shims: Vec<ShimDef>,
}

/// A shim: Rust items (`code`) that stand in for items of the old release. Where a file
/// names one of the `replaces` items, the migration adds `code` once, as an inline module
/// named after the shim's `id` (`step-rng` → `mod step_rng`), in the innermost module that
/// holds every use (with the `cfg` every use is under: a shim used only by tests is
/// `#[cfg(test)]`), and points the uses and their imports at it. A `pub use` of a
/// replaced item (the crate's public API) is a judge site instead: keep it through the
/// shim (conservative), or drop it (a breaking change for the crate's users). The change
/// is needs-review.
///
/// `code` is parsed and checked when the pack is loaded, and what is written is that
/// text, checked again after it is laid out: items only (`struct`, `enum`, `impl`, `fn`,
/// `const`, `type`, `trait`, `use` of the pack's crate, `std`, `core` or `alloc`, their
/// paths written from the root: `::rand::RngCore`, which resolves in every edition); no
/// macro invocation, `unsafe`, `extern`, `mod`, `static`, `crate::` or `super::` path; attributes
/// only `doc`, `allow`, `inline`, `must_use` and `derive` of the standard derivable traits.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ShimDef {
    /// Stable id, kebab-case, unique among the pack's rules and shims; the module's name
    /// with `-` as `_` (`step-rng` → `mod step_rng`).
    pub id: String,
    /// Why the shim is needed: shown above the hunk.
    pub message: String,
    /// Full paths of the old release's items the shim stands in for
    /// (`rand::rngs::mock::StepRng`); each last segment is a `pub` item of `code`.
    pub replaces: Vec<String>,
    /// The items, as Rust source.
    pub code: String,
    /// Whether only `pub use` re-exports of the items get the shim (the pack's rules
    /// rewrite the crate's own calls, as base64's do): the judge's site keeps the API.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub re_exports_only: bool,
    /// Code the shim must leave alone, and code with its expected rewrite (a re-export:
    /// its conservative option).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub examples: Option<Examples>,
}

/// A feature the new release split out: wherever a manifest enables all of `when` for
/// the crate by name (in the dependency's `features`, or in one feature of the member's
/// `[features]` table as `crate/feature`), `feature` is added beside them, so that code
/// which compiled with them keeps compiling. Default features are not looked into: a
/// dependency that keeps them gets the new release's defaults.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewFeature {
    /// The new release's feature (`thread_rng`).
    pub feature: String,
    /// The old release's features that together enabled what it gates (`["std", "std_rng"]`).
    pub when: Vec<String>,
    /// Why, shown with the change.
    pub message: String,
}

/// A crate that items of the pack's crate moved to.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCrate {
    /// Its name, as published (`nom-language`).
    #[serde(rename = "crate")]
    pub krate: String,
    /// The version requirement to add (`0.1`).
    pub version: String,
}

/// A crate that must be upgraded together with the pack's crate.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Companion {
    /// The companion crate's name.
    #[serde(rename = "crate")]
    pub krate: String,
    /// The version it moves from, if it matters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// The version it must move to.
    pub to: String,
}

/// A crate's prelude module and its contents, so that names brought in by
/// `use krate::prelude::*` are recognised, and so that a name the new prelude no longer
/// brings is written out in full.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Prelude {
    /// Path of the prelude module (`rand::prelude`).
    pub path: String,
    /// Full paths of the items the old release's prelude brings in.
    pub from: Vec<String>,
    /// Full paths of the items the new release's prelude brings in.
    pub to: Vec<String>,
}

/// The methods a trait has in the new release.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TraitFacts {
    /// Full path of the trait (`rand::seq::SliceRandom`).
    pub path: String,
    /// Its methods in the new release.
    pub methods: Vec<String>,
}

/// What a pattern matches. Inferred from the pattern when absent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// A path, wherever it occurs: expressions, types, patterns, `use` items. A path
    /// rule moves or renames an item; imports follow.
    Path,
    /// An expression.
    Expr,
    /// A method call (or an associated-function call `$T::f(..)`) of a trait or type.
    Method,
    /// A type.
    Type,
    /// A `use` item (`use rand::distributions::Standard`): a path rule that only
    /// rewrites `use` items.
    Use,
    /// An attribute (`#[tokio::main($..args)]`, or a derive's helper attribute by its bare
    /// name, `#[structopt($..args)]`), outer or inner, wherever it is written.
    Attribute,
    /// A trait bound of the crate's own functions' signatures, written with the `Fn`
    /// sugar (`FnMut($I) -> nom::IResult<$I, $O, $E>`): matched in a function's
    /// `impl ..` return type, its generic parameters' bounds and where-clause, and its
    /// `impl ..` parameter types, and replaced by `replace` (a bound). With `apply`, the
    /// calls through what the new bound types are rewritten too.
    Signature,
    /// The invocations of an item macro (`bitflags::bitflags!`). With `derive`, every
    /// `struct` an invocation defines gets the derives it lacks: for a macro whose new
    /// release stopped implying traits its old release implemented.
    Macro,
}

/// How far to trust a rule's rewrite.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum RuleSafety {
    /// Keeps behaviour; the default for `replace` rules.
    Safe,
    /// Needs a human look (say why in `message`). Choice rules always are.
    NeedsReview,
}

/// A syntactic constraint on what a metavariable binds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Constraint {
    /// Any literal (`1`, `"a"`, `-2.5`).
    Literal,
    /// A floating-point literal (`1.0`, `-2.5`, `3f32`).
    FloatLiteral,
    /// An integer literal (`3`, `-1`, `7u8`).
    IntLiteral,
    /// A string literal.
    StringLiteral,
    /// A byte-string literal (`b"-"`).
    ByteStringLiteral,
    /// A literal or a path (`x`, `self.n` is not): cheap and free of side effects.
    Simple,
}

/// One rule of a pack.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleDef {
    /// Stable id, kebab-case, unique in the pack (`gen-range`).
    pub id: String,
    /// Why the change is needed: shown above the hunk.
    pub message: String,
    /// What the pattern matches; inferred when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<Kind>,
    /// The pattern: Rust with metavariables `$x` and `$..xs`; paths fully qualified.
    #[serde(rename = "match")]
    pub pattern: String,
    /// The replacement template (`$x` splices the original text bound to `x`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replace: Option<String>,
    /// For a choice rule: the question a reviewer (or the judge) answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub question: Option<String>,
    /// For a choice rule: the options, exactly one of them `conservative`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<OptionDef>,
    /// For a method rule: the trait that must be in scope for the call to be the crate's.
    #[serde(default, rename = "trait", skip_serializing_if = "Option::is_none")]
    pub trait_path: Option<String>,
    /// For an inherent-method rule: the receiver's type, which must be evident from the
    /// code (an annotation, a constructor, a parameter or field type).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receiver_type: Option<String>,
    /// Apply only where the compiler, building against the new release, reports this error
    /// (`E0615`) inside the match: for a rewrite only the compiler can tell is needed (a
    /// field that became a method, on a type the crate's macro defines in your code). The
    /// syntactic pass never applies it, and the left of an assignment is left alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_error: Option<String>,
    /// Constraints on metavariables (`hi = "float-literal"`).
    #[serde(default, rename = "where", skip_serializing_if = "BTreeMap::is_empty")]
    pub constraints: BTreeMap<String, Constraint>,
    /// For a macro rule: the traits every type the macro defines must derive (paths as
    /// written in a `#[derive(..)]`); those it lacks are added in a `#[derive(..)]` of
    /// their own, inside the invocation.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub derive: Vec<String>,
    /// Instead of `replace`: rewrites inside the string literal a metavariable binds
    /// (`where` must constrain it to `string-literal`), one piece of it at a time: the
    /// argument names of a format string's placeholders, or the segments of a URL path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub literal: Option<LiteralDef>,
    /// Instead of `replace`: the rule rewrites nothing; each match is listed as a site not
    /// changed (needs review) with this text, which says what to do by hand. For API
    /// whose new form depends on what the code means (syn 2's attribute parsing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// For an attribute rule: it matches only attributes of an `impl` of one of these
    /// traits (full paths of the pack's crate: `axum::extract::FromRequestParts`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub on_impl: Vec<String>,
    /// For a signature rule: the method a value of the new bound is applied through
    /// (`parse`, an identifier). Where a function whose return type the rule rewrote is
    /// called and its result applied (`helper(args)(input)`, in any file of the package),
    /// and where a parameter whose type the rule rewrote is called in its function
    /// (`f(input)`), the call becomes `helper(args).parse(input)` / `f.parse(input)` (the
    /// parameter made `mut`, as the method takes `&mut self`); `imports` are added there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apply: Option<String>,
    /// For a signature rule: where-predicates a function that returns a closure through
    /// the new bound must state (`$E: nom::error::ParseError<$I>`: nom 8's `Parser` impl
    /// for closures needs it). Each is added to the function's where-clause when its
    /// bounded metavariable binds one of the function's type parameters that no bound of
    /// that trait holds yet.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub closure_bounds: Vec<String>,
    /// Imports the rewritten code needs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imports: Option<ImportsDef>,
    /// Safety of a `replace` or `derive` rule (default `safe`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub safety: Option<RuleSafety>,
    /// Code the rule must leave alone, and code with its expected rewrite.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub examples: Option<Examples>,
}

/// Rewrites inside a string literal: the literal is cut into pieces as `syntax` says,
/// and each piece that one of `rewrite` matches whole is replaced; the rest of the literal
/// (escapes, other text) is kept byte for byte. A piece that starts like a `from` but does
/// not match it whole is listed for review.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LiteralDef {
    /// The metavariable bound to the literal (`path` for `$path`).
    pub var: String,
    /// How the literal is cut into pieces.
    pub syntax: LiteralSyntax,
    /// The piece rewrites, tried in order; the first that matches a piece wins.
    pub rewrite: Vec<PieceRewrite>,
}

/// How a string literal is cut into pieces.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum LiteralSyntax {
    /// A `format!` string: each piece is the argument of a placeholder, the text between
    /// `{` and the first `:` or `}` (`r#type` in `{r#type:?}`); `{{` and `}}` are text.
    Format,
    /// A URL path: each piece is a segment between `/`s (`:id` in `/users/:id`).
    Path,
}

/// One piece rewrite: `from` must match a whole piece. In both, `$name` stands for one or
/// more ASCII letters, digits or `_` (at most one metavariable; `to` uses only `from`'s).
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PieceRewrite {
    /// The piece before (`:$name`).
    pub from: String,
    /// The piece after (`{$name}`).
    pub to: String,
}

/// One option of a choice rule.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OptionDef {
    /// Stable id, kebab-case (`keep-lenient`).
    pub id: String,
    /// The replacement template of this option.
    pub replace: String,
    /// When to pick this option.
    pub when: String,
    /// Whether this option keeps today's behaviour: exactly one option is.
    #[serde(default)]
    pub conservative: bool,
    /// Imports this option needs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imports: Option<ImportsDef>,
}

/// Imports a rewrite needs.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportsDef {
    /// Full paths that must be in scope after the rewrite (a trait whose method the
    /// template calls). Added as a `use` unless already in scope.
    #[serde(default)]
    pub add: Vec<String>,
}

/// A rule's own tests, run by `cargo migrate pack test`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Examples {
    /// Whole Rust files the rule must not change.
    #[serde(default)]
    pub valid: Vec<String>,
    /// Whole Rust files and what the rule turns them into.
    #[serde(default)]
    pub invalid: Vec<InvalidExample>,
    /// Whole Rust files the rule leaves unchanged but lists for review (a `note` rule's
    /// matches, a literal piece it cannot rewrite).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub noted: Vec<String>,
}

/// A file the rule changes, and the expected result.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InvalidExample {
    /// The code before.
    pub code: String,
    /// The code after the rule (choice rules: after their conservative option).
    pub fixed: String,
}

/// A pack file that could not be loaded.
#[derive(Clone, Debug, thiserror::Error)]
#[error("{file}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct FormatError {
    /// The file, as given.
    pub file: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// What is wrong (names the key).
    pub message: String,
}

/// Parses pack text; `file` names it in errors. The values `cargo migrate upgrade` writes
/// into a user's `Cargo.toml` are validated here ([`check_manifest_values`]).
pub fn parse(text: &str, file: &str) -> Result<PackFile, FormatError> {
    let pack = toml::from_str::<PackFile>(text).map_err(|e| {
        let line = e.span().map(|s| crate::core::text::LineIndex::new(text).line(s.start));
        FormatError { file: file.to_string(), line, message: e.message().trim().to_string() }
    })?;
    check_manifest_values(&pack).map_err(|(field, message)| FormatError {
        file: file.to_string(),
        line: line_of(text, &field),
        message: format!("`{}`: {message}", field_name(&field)),
    })?;
    Ok(pack)
}

/// One step of the path to a pack value: a key, or an index in an array.
#[derive(Clone, Debug)]
enum Step {
    Key(&'static str),
    Owned(String),
    Index(usize),
}

/// `new_crates[0].version`, as errors name a field.
fn field_name(path: &[Step]) -> String {
    let mut out = String::new();
    for step in path {
        match step {
            Step::Key(k) => push_key(&mut out, k),
            Step::Owned(k) => push_key(&mut out, k),
            Step::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

fn push_key(out: &mut String, key: &str) {
    if !out.is_empty() {
        out.push('.');
    }
    if !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        out.push_str(key);
    } else {
        out.push_str(&format!("{key:?}"));
    }
}

/// Checks every value of a pack that is written into a user's manifest: crate names
/// (`crate`, `new_crates[].crate`, `companions[].crate`) as crate names, versions (`from`,
/// `to`, `new_crates[].version`, `companions[].from`/`to`) as semver requirements, and
/// features (`renamed_features`, `new_features[].feature`/`when`) as feature names. The
/// manifest edits render these values through `toml_edit`, and this check keeps anything
/// but the value itself out of them: a pack is data, and a version holding a quote and a
/// newline must not add a table to someone's `Cargo.toml`. On error: the field and what
/// is wrong.
fn check_manifest_values(pack: &PackFile) -> Result<(), (Vec<Step>, String)> {
    use Step::{Index, Key, Owned};
    crate_name(&pack.krate).map_err(|m| (vec![Key("crate")], m))?;
    version_req(&pack.from).map_err(|m| (vec![Key("from")], m))?;
    version_req(&pack.to).map_err(|m| (vec![Key("to")], m))?;
    for (old, new) in &pack.renamed_features {
        feature_name(old).map_err(|m| (vec![Key("renamed_features"), Owned(old.clone())], format!("the key: {m}")))?;
        feature_name(new).map_err(|m| (vec![Key("renamed_features"), Owned(old.clone())], m))?;
    }
    for (i, f) in pack.new_features.iter().enumerate() {
        feature_name(&f.feature).map_err(|m| (vec![Key("new_features"), Index(i), Key("feature")], m))?;
        for (j, w) in f.when.iter().enumerate() {
            feature_name(w).map_err(|m| (vec![Key("new_features"), Index(i), Key("when"), Index(j)], m))?;
        }
    }
    for (i, c) in pack.new_crates.iter().enumerate() {
        crate_name(&c.krate).map_err(|m| (vec![Key("new_crates"), Index(i), Key("crate")], m))?;
        version_req(&c.version).map_err(|m| (vec![Key("new_crates"), Index(i), Key("version")], m))?;
    }
    for (i, c) in pack.companions.iter().enumerate() {
        crate_name(&c.krate).map_err(|m| (vec![Key("companions"), Index(i), Key("crate")], m))?;
        if let Some(from) = &c.from {
            version_req(from).map_err(|m| (vec![Key("companions"), Index(i), Key("from")], m))?;
        }
        version_req(&c.to).map_err(|m| (vec![Key("companions"), Index(i), Key("to")], m))?;
    }
    Ok(())
}

/// A crate name as Cargo and crates.io accept one: ASCII letters, digits, `-` and `_`,
/// starting with a letter, at most 64 characters.
fn crate_name(name: &str) -> Result<(), String> {
    let ok = name.len() <= 64
        && name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(format!("{name:?} is not a crate name (ASCII letters, digits, `-` and `_`, starting with a letter)"))
    }
}

/// A semver version requirement as Cargo reads one (`0.9`, `^1.2`, `>=1, <3`).
fn version_req(text: &str) -> Result<(), String> {
    match cargo_metadata::semver::VersionReq::parse(text) {
        Ok(_) => Ok(()),
        Err(e) => Err(format!("{text:?} is not a semver version requirement such as \"0.9\" ({e})")),
    }
}

/// A feature name as Cargo accepts one: letters, digits and `_`, then also `-`, `+`
/// and `.`.
fn feature_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let ok = chars.next().is_some_and(|c| c.is_alphanumeric() || c == '_') && chars.all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '+' | '.'));
    if ok {
        Ok(())
    } else {
        Err(format!("{name:?} is not a feature name (letters, digits, `_`, then also `-`, `+` and `.`)"))
    }
}

/// The 1-based line of a value of the pack's `index`th rule (`["match"]`,
/// `["options", "1", "replace"]`: a key, or an index in an array), if it can be found:
/// where errors about that value point.
pub fn rule_line(text: &str, index: usize, path: &[&str]) -> Option<usize> {
    let mut steps = vec![Step::Key("rule"), Step::Index(index)];
    steps.extend(path.iter().map(|k| k.parse().map_or_else(|_| Step::Owned(k.to_string()), Step::Index)));
    line_of(text, &steps)
}

/// The 1-based line of a value of the pack's `index`th shim (`["code"]`), if it can be
/// found.
pub fn shim_line(text: &str, index: usize, path: &[&str]) -> Option<usize> {
    let mut steps = vec![Step::Key("shim"), Step::Index(index)];
    steps.extend(path.iter().map(|k| Step::Owned(k.to_string())));
    line_of(text, &steps)
}

/// The 1-based line of the value at `path` in the pack text, if it can be found.
fn line_of(text: &str, path: &[Step]) -> Option<usize> {
    let doc = toml_edit::ImDocument::parse(text).ok()?;
    let span = span_in_table(doc.as_table(), path)?;
    Some(crate::core::text::LineIndex::new(text).line(span.start))
}

fn key(step: &Step) -> Option<&str> {
    match step {
        Step::Key(k) => Some(k),
        Step::Owned(k) => Some(k),
        Step::Index(_) => None,
    }
}

fn span_in_table(table: &toml_edit::Table, path: &[Step]) -> Option<std::ops::Range<usize>> {
    let Some((step, rest)) = path.split_first() else { return table.span() };
    match table.get(key(step)?)? {
        toml_edit::Item::Value(v) => span_in_value(v, rest),
        toml_edit::Item::Table(t) => span_in_table(t, rest),
        toml_edit::Item::ArrayOfTables(a) => match rest.split_first()? {
            (Step::Index(i), rest) => span_in_table(a.get(*i)?, rest),
            _ => None,
        },
        toml_edit::Item::None => None,
    }
}

fn span_in_value(value: &toml_edit::Value, path: &[Step]) -> Option<std::ops::Range<usize>> {
    let Some((step, rest)) = path.split_first() else { return value.span() };
    match step {
        Step::Index(i) => span_in_value(value.as_array()?.get(*i)?, rest),
        _ => span_in_value(value.as_inline_table()?.get(key(step)?)?, rest),
    }
}

/// The JSON Schema of the pack format, as checked in.
pub fn schema_json() -> String {
    crate::core::model::schema_text::<PackFile>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_are_errors_that_name_file_line_and_key() {
        let text = "crate = \"rand\"\nfrom = \"0.8\"\nto = \"0.9\"\nsummary = \"s\"\n\n[[rule]]\nid = \"x\"\nmessage = \"m\"\nmatch = \"rand::a\"\nreplace = \"rand::b\"\nreplce = \"typo\"\n";
        let err = parse(text, "migrations/rand/0.8-0.9.toml").unwrap_err();
        assert_eq!(err.line, Some(11), "{err}");
        let shown = err.to_string();
        assert!(shown.starts_with("migrations/rand/0.8-0.9.toml:11: "), "{shown}");
        assert!(shown.contains("replce"), "{shown}");
    }

    #[test]
    fn missing_keys_and_bad_values_are_errors() {
        let err = parse("crate = \"rand\"\nfrom = \"0.8\"\nto = \"0.9\"\n", "p.toml").unwrap_err();
        assert!(err.to_string().contains("summary"), "{err}");
        let err = parse(
            "crate = \"r\"\nfrom = \"1\"\nto = \"2\"\nsummary = \"s\"\n[[rule]]\nid = \"a\"\nmessage = \"m\"\nmatch = \"r::a\"\nkind = \"expression\"\n",
            "p.toml",
        )
        .unwrap_err();
        assert_eq!(err.line, Some(9), "{err}");
    }

    #[test]
    fn values_written_into_manifests_are_validated_naming_file_line_and_field() {
        let head = "crate = \"mini\"\nfrom = \"0.8\"\nto = \"0.9\"\nsummary = \"s\"\n";
        let err = |tail: &str| parse(&format!("{head}{tail}"), "p.toml").unwrap_err().to_string();
        assert!(parse(&format!("{head}[[new_crates]]\ncrate = \"mini-lang\"\nversion = \">=0.1, <0.3\"\n"), "p.toml").is_ok());
        assert!(err("[[new_crates]]\ncrate = \"mini-lang\"\nversion = \"0.1\\\"\\n[x]\"\n")
            .starts_with("p.toml:7: `new_crates[0].version`: \"0.1\\\"\\n[x]\" is not a semver"));
        assert!(err("[[new_crates]]\ncrate = \"a b\"\nversion = \"1\"\n").starts_with("p.toml:6: `new_crates[0].crate`: \"a b\" is not a crate name"));
        assert!(err("[[companions]]\ncrate = \"c\"\nto = \"one\"\n").starts_with("p.toml:7: `companions[0].to`:"));
        assert!(err("[renamed_features]\nold = \"new\\\"\"\n").starts_with("p.toml:6: `renamed_features.old`: \"new\\\"\" is not a feature name"));
        assert!(err("[[new_features]]\nfeature = \"f\"\nwhen = [\"std\", \"a,b\"]\nmessage = \"m\"\n").starts_with("p.toml:7: `new_features[0].when[1]`:"));
        assert!(parse("crate = \"mini\"\nfrom = \"0.8\"\nto = \"0.9 ]\"\nsummary = \"s\"\n", "p.toml").unwrap_err().to_string().starts_with("p.toml:3: `to`:"));
    }

    /// The checked-in schema is what the types generate. `BLESS=1` rewrites it.
    #[test]
    fn checked_in_schema_is_fresh() {
        crate::core::model::assert_checked_in("migrations/pack.schema.json", &schema_json(), "cargo test --lib pack");
    }
}
