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
#[derive(Debug, thiserror::Error)]
#[error("{file}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct FormatError {
    /// The file, as given.
    pub file: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// What is wrong (names the key).
    pub message: String,
}

/// Parses pack text; `file` names it in errors.
pub fn parse(text: &str, file: &str) -> Result<PackFile, FormatError> {
    toml::from_str::<PackFile>(text).map_err(|e| {
        let line = e.span().map(|s| crate::core::text::LineIndex::new(text).line(s.start));
        FormatError { file: file.to_string(), line, message: e.message().trim().to_string() }
    })
}

/// The JSON Schema of the pack format, as checked in.
pub fn schema_json() -> String {
    let schema = schemars::schema_for!(PackFile);
    let mut text = serde_json::to_string_pretty(&schema).expect("a schema serializes");
    text.push('\n');
    text
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

    /// The checked-in schema is what the types generate. `BLESS=1` rewrites it.
    #[test]
    fn checked_in_schema_is_fresh() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/pack.schema.json");
        let fresh = schema_json();
        if std::env::var_os("BLESS").is_some() {
            std::fs::write(&path, &fresh).unwrap();
        }
        let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(checked_in == fresh, "migrations/pack.schema.json is stale: run `BLESS=1 cargo test --lib pack` and commit it");
    }
}
