//! The `ecosystem-companions` rule: the crates that read Rust source themselves
//! (`cbindgen`, `csbindgen`) and must be new enough for the unsafe attribute forms the
//! package's code has after the migration.
//!
//! A rule never sees another file, so what the code has is given to it as data
//! ([`WorkspaceUses`], in [`ManifestCx::uses`]): the engine computes it from the Rust files
//! it read and the changes the other rules make to them ([`AttrUses::of`]).

use std::collections::BTreeMap;
use std::sync::OnceLock;

use cargo_metadata::semver::{Op, Version, VersionReq};
use proc_macro2::{Delimiter, TokenStream, TokenTree};
use toml_edit::{Item, Table, TableLike, Value};

use super::{toml_string, Findings, ManifestCx, Rule};
use crate::core::model::{Change, Diagnostic, Edit, Level, Safety, Unchanged, UnchangedReason};
use crate::core::text::SourceFile;

declare_rule! {
    pub EcosystemCompanions {
        id: "ecosystem-companions",
        safety: Safe,
        summary: "Cargo.toml: raise `cbindgen` / `csbindgen` to a release that reads `#[unsafe(no_mangle)]` and `#[unsafe(export_name)]` where the code has them",
    }
}

/// The table of known companions, as data: `rules/ecosystem-companions/companions.toml`.
const TABLE: &str = include_str!("../../rules/ecosystem-companions/companions.toml");

/// One crate of the table.
#[derive(Clone, Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Companion {
    /// The crate, as published.
    pub name: String,
    /// What it does with the attributes (for reasons).
    pub what: String,
    /// The first release that reads `#[unsafe(no_mangle)]`; `None`: none does.
    pub no_mangle: Option<String>,
    /// The first release that reads `#[unsafe(export_name = "..")]`; `None`: none does.
    pub export_name: Option<String>,
}

impl Companion {
    /// The first release reading `form`, as written in the table.
    fn fixed_in(&self, form: Form) -> Option<&str> {
        match form {
            Form::NoMangle => self.no_mangle.as_deref(),
            Form::ExportName => self.export_name.as_deref(),
        }
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Table_ {
    companion: Vec<Companion>,
}

/// Parses a companion table (the shipped one is [`known`]); versions must read as semver
/// versions or requirements (`0.28`, `1.9.4`).
pub fn parse_table(text: &str) -> Result<Vec<Companion>, String> {
    let table: Table_ = toml::from_str(text).map_err(|e| e.to_string())?;
    for c in &table.companion {
        for v in [&c.no_mangle, &c.export_name].into_iter().flatten() {
            floor(v).ok_or_else(|| format!("{}: `{v}` is not a version", c.name))?;
        }
    }
    Ok(table.companion)
}

/// The shipped table.
pub fn known() -> &'static [Companion] {
    static KNOWN: OnceLock<Vec<Companion>> = OnceLock::new();
    KNOWN.get_or_init(|| parse_table(TABLE).expect("rules/ecosystem-companions/companions.toml is valid (tested)"))
}

/// An attribute form edition 2024 requires that tools reading source must know.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Form {
    /// `#[unsafe(no_mangle)]`
    NoMangle,
    /// `#[unsafe(export_name = "..")]`
    ExportName,
}

impl Form {
    fn of(name: &str) -> Option<Form> {
        match name {
            "no_mangle" => Some(Form::NoMangle),
            "export_name" => Some(Form::ExportName),
            _ => None,
        }
    }

    /// The form as written.
    pub fn written(self) -> &'static str {
        match self {
            Form::NoMangle => "#[unsafe(no_mangle)]",
            Form::ExportName => "#[unsafe(export_name = ..)]",
        }
    }
}

/// Where one form is, in one package's code after the migration.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FormUse {
    /// Sites in all.
    pub count: usize,
    /// Of those, the ones the migration writes.
    pub introduced: usize,
    /// One site, `file:line`: the first the migration writes, else the first written.
    pub first: String,
}

/// The unsafe attribute forms of some code after the migration.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AttrUses {
    /// Per form; a form absent is not used.
    pub forms: BTreeMap<Form, FormUse>,
}

impl AttrUses {
    /// The forms in one Rust file after `changes` (the file's changes, of every rule): the
    /// `unsafe(` the `unsafe-attributes` rule (or rustc's `unsafe_attr_outside_unsafe`
    /// lint) inserts before `no_mangle` / `export_name`, and the forms already written.
    pub fn of(file: &SourceFile, changes: &[Change]) -> AttrUses {
        let mut out = AttrUses::default();
        let text = file.text.as_str();
        for change in changes.iter().filter(|c| c.file == file.display && matches!(c.rule, "unsafe-attributes" | "unsafe_attr_outside_unsafe")) {
            for edit in change.edits.iter().filter(|e| e.replacement == "unsafe(" && e.range.is_empty()) {
                // A doc test's code (`/// #[no_mangle]`): no tool reads it.
                let line_start = text[..edit.range.start.min(text.len())].rfind('\n').map_or(0, |n| n + 1);
                let before = &text[line_start..edit.range.start.min(text.len())];
                if before.contains("//") || before.trim_start().starts_with('*') {
                    continue;
                }
                let after = text.get(edit.range.start..).unwrap_or("");
                let name = after.split(|c: char| !(c.is_alphanumeric() || c == '_')).next().unwrap_or("");
                if let Some(form) = Form::of(name) {
                    out.add(form, &file.display, line_of(text, edit.range.start), true);
                }
            }
        }
        if text.contains("unsafe") && (text.contains("no_mangle") || text.contains("export_name")) {
            if let Ok(tokens) = text.parse::<TokenStream>() {
                let mut lines = Vec::new();
                written_forms(tokens, &mut lines);
                for (form, line) in lines {
                    out.add(form, &file.display, line, false);
                }
            }
        }
        out
    }

    fn add(&mut self, form: Form, file: &str, line: usize, introduced: bool) {
        let entry = self.forms.entry(form).or_default();
        if entry.count == 0 {
            entry.first = format!("{file}:{line}");
        }
        entry.count += 1;
        entry.introduced += usize::from(introduced);
    }

    /// Adds the uses of `other`.
    pub fn merge(&mut self, other: &AttrUses) {
        for (form, u) in &other.forms {
            let entry = self.forms.entry(*form).or_default();
            if entry.count == 0 {
                entry.first.clone_from(&u.first);
            }
            entry.count += u.count;
            entry.introduced += u.introduced;
        }
    }

    /// Whether no form is used.
    pub fn is_empty(&self) -> bool {
        self.forms.is_empty()
    }
}

/// 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// `unsafe(no_mangle)` / `unsafe(export_name ..)` anywhere in the tokens (attributes,
/// `cfg_attr`, macro bodies), with their lines.
fn written_forms(tokens: TokenStream, out: &mut Vec<(Form, usize)>) {
    let tokens: Vec<TokenTree> = tokens.into_iter().collect();
    for (i, tt) in tokens.iter().enumerate() {
        if let TokenTree::Group(g) = tt {
            written_forms(g.stream(), out);
            continue;
        }
        let TokenTree::Ident(id) = tt else { continue };
        if id != "unsafe" {
            continue;
        }
        let Some(TokenTree::Group(args)) = tokens.get(i + 1) else { continue };
        if args.delimiter() != Delimiter::Parenthesis {
            continue;
        }
        if let Some(TokenTree::Ident(name)) = args.stream().into_iter().next() {
            if let Some(form) = Form::of(&name.to_string()) {
                out.push((form, id.span().start().line));
            }
        }
    }
}

/// What the rule knows of the workspace's code: each checked package's [`AttrUses`], and,
/// for the root manifest's `[workspace.dependencies]`, the uses that count for each entry
/// members inherit (`cbindgen.workspace = true`).
#[derive(Clone, Debug, Default)]
pub struct WorkspaceUses {
    /// By package name.
    pub packages: BTreeMap<String, AttrUses>,
    /// By `[workspace.dependencies]` key: the uses of the members inheriting it.
    pub inherited: BTreeMap<String, AttrUses>,
    /// By `[workspace.dependencies]` key: the members inheriting it.
    pub inheritors: BTreeMap<String, std::collections::BTreeSet<String>>,
}

impl WorkspaceUses {
    /// The uses that count for a companion `package` depends on: its own code's; when its
    /// own code has none, every checked package's (a generator crate — an `xtask`, a test —
    /// runs the tool on another member's code).
    pub fn for_package(&self, package: &str) -> AttrUses {
        self.counted_for(package).0
    }

    /// [`WorkspaceUses::for_package`], and whether those are the package's own.
    fn counted_for(&self, package: &str) -> (AttrUses, bool) {
        match self.packages.get(package) {
            Some(own) if !own.is_empty() => (own.clone(), true),
            _ => {
                let mut all = AttrUses::default();
                self.packages.values().for_each(|u| all.merge(u));
                (all, false)
            }
        }
    }

    /// Records the dependencies `package`'s manifest (`root`, its top table) inherits from
    /// `[workspace.dependencies]`; call it after every package's uses are in
    /// [`WorkspaceUses::packages`].
    pub fn inherit_from(&mut self, package: &str, root: &Table) {
        let uses = self.for_package(package);
        for (_, table) in dependency_tables(root, false) {
            for (key, item) in table.iter() {
                if item.get("workspace").and_then(Item::as_bool) == Some(true) {
                    self.inherited.entry(key.to_string()).or_default().merge(&uses);
                    self.inheritors.entry(key.to_string()).or_default().insert(package.to_string());
                }
            }
        }
    }
}

/// The dependency tables of a manifest: `[dependencies]`, `[dev-dependencies]`,
/// `[build-dependencies]` (either spelling), the same under `[target.*]`, and, with
/// `workspace`, `[workspace.dependencies]`.
fn dependency_tables(root: &Table, workspace: bool) -> Vec<(String, &dyn TableLike)> {
    let kinds = ["dependencies", "dev-dependencies", "dev_dependencies", "build-dependencies", "build_dependencies"];
    let mut found: Vec<(String, &dyn TableLike)> = Vec::new();
    for kind in kinds {
        if let Some(d) = root.get(kind).and_then(Item::as_table_like) {
            found.push((format!("[{kind}]"), d));
        }
    }
    if let Some(targets) = root.get("target").and_then(Item::as_table_like) {
        for (platform, t) in targets.iter() {
            let Some(t) = t.as_table_like() else { continue };
            for kind in kinds {
                if let Some(d) = t.get(kind).and_then(Item::as_table_like) {
                    found.push((format!("[target.{}.{kind}]", toml_edit::Key::new(platform).display_repr()), d));
                }
            }
        }
    }
    if workspace {
        if let Some(d) = root.get("workspace").and_then(|w| w.get("dependencies")).and_then(Item::as_table_like) {
            found.push(("[workspace.dependencies]".into(), d));
        }
    }
    found
}

/// The lowest version a requirement admits, as far as its first comparator tells
/// (`0.26` → 0.26.0, `>=0.24` → 0.24.0, `*` → 0.0.0).
fn floor(text: &str) -> Option<Version> {
    let req = VersionReq::parse(text.trim()).ok()?;
    let Some(c) = req.comparators.first() else { return Some(Version::new(0, 0, 0)) };
    match c.op {
        Op::Less | Op::LessEq => Some(Version::new(0, 0, 0)),
        _ => Some(Version::new(c.major, c.minor.unwrap_or(0), c.patch.unwrap_or(0))),
    }
}

/// The requirement written instead of `current` to reach `needed`: the same operator
/// (none, `^` or `~`) before the version of the table. `None` for the requirements a
/// person should raise (`=`, ranges, `*`, several comparators).
fn raised(current: &str, needed: &str) -> Option<String> {
    let req = VersionReq::parse(current.trim()).ok()?;
    let [c] = req.comparators.as_slice() else { return None };
    let prefix = match c.op {
        Op::Caret if current.trim_start().starts_with('^') => "^",
        Op::Caret => "",
        Op::Tilde => "~",
        _ => return None,
    };
    Some(format!("{prefix}{needed}"))
}

/// Whether a move from `old` to `new` crosses a semver compatibility class (`0.26` →
/// `0.28`), which may change the crate's API.
fn crosses_class(old: &Version, new: &Version) -> bool {
    let class = |v: &Version| {
        if v.major > 0 {
            (v.major, 0, 0)
        } else if v.minor > 0 {
            (0, v.minor, 0)
        } else {
            (0, 0, v.patch)
        }
    };
    class(old) != class(new)
}

impl Rule for EcosystemCompanions {
    fn reads_chunks(&self) -> bool {
        true // it reads no Rust file
    }

    fn check_manifest(&self, cx: &ManifestCx<'_>, out: &mut Findings) {
        check(cx, known(), out);
    }
}

/// The rule with a given table (the shipped one in [`EcosystemCompanions`]).
pub fn check(cx: &ManifestCx<'_>, table: &[Companion], out: &mut Findings) {
    let root = cx.doc.as_table();
    let package = cx.package.map(|p| p.name.as_str());
    let first_unchanged = out.unchanged.len();
    for (table_name, deps) in dependency_tables(root, cx.is_workspace_root) {
        let workspace_table = table_name == "[workspace.dependencies]";
        if !workspace_table && package.is_none() {
            continue;
        }
        for (key, item) in deps.iter() {
            let krate = item.get("package").and_then(Item::as_str).unwrap_or(key);
            let Some(companion) = table.iter().find(|c| c.name.replace('-', "_") == krate.replace('-', "_")) else { continue };
            if !workspace_table && item.get("workspace").and_then(Item::as_bool) == Some(true) {
                continue; // the root's `[workspace.dependencies]` holds the requirement
            }
            let (uses, whose) = if workspace_table {
                let members: Vec<String> = cx.uses.inheritors.get(key).into_iter().flatten().map(|m| format!("`{m}`")).collect();
                let whose = match members.as_slice() {
                    [one] => format!("{one}, which inherits it"),
                    more => format!("{}, which inherit it", more.join(", ")),
                };
                (cx.uses.inherited.get(key).cloned().unwrap_or_default(), whose)
            } else {
                let name = package.unwrap_or_default();
                match cx.uses.counted_for(name) {
                    (uses, true) => (uses, format!("package `{name}`")),
                    (uses, false) => (uses, format!("the workspace (package `{name}`'s own code has none: it may run {} on another member)", companion.name)),
                }
            };
            if uses.is_empty() {
                continue;
            }
            let entry = Entry { key, item, table: &table_name, companion, uses: &uses, whose: &whose };
            entry.check(cx, out);
        }
    }
    out.unchanged[first_unchanged..].sort_by_key(|u| u.line);
}

/// One dependency entry naming a companion, and the uses that count for it.
struct Entry<'a> {
    key: &'a str,
    item: &'a Item,
    table: &'a str,
    companion: &'a Companion,
    uses: &'a AttrUses,
    whose: &'a str,
}

impl Entry<'_> {
    /// What the code has, for reasons: "the migration writes `#[unsafe(no_mangle)]` (src/lib.rs:3, 2 sites)".
    fn describe(&self, forms: &[Form]) -> String {
        let mut parts: Vec<String> = Vec::new();
        let mut said = "";
        for f in forms {
            let u = &self.uses.forms[f];
            let how = if u.introduced > 0 { "the migration writes" } else { "the code has" };
            let sites = if u.count == 1 { "1 site".to_string() } else { format!("{} sites", u.count) };
            // "the migration writes `A` (..) and `B` (..)": the verb once.
            let shown = if how == said { String::new() } else { format!("{how} ") };
            said = how;
            parts.push(format!("{shown}`{}` ({}, {sites})", f.written(), u.first));
        }
        format!("{} in {}", parts.join(" and "), self.whose)
    }

    fn check(&self, cx: &ManifestCx<'_>, out: &mut Findings) {
        let c = self.companion;
        let forms: Vec<Form> = self.uses.forms.keys().copied().collect();
        let at = self.item.span().or_else(|| self.item.as_table().and_then(|t| t.span())).map_or(0, |s| s.start);
        let line = cx.lines.line(at);
        let unread: Vec<Form> = forms.iter().copied().filter(|f| c.fixed_in(*f).is_none()).collect();
        if !unread.is_empty() {
            let written: Vec<&str> = unread.iter().map(|f| f.written()).collect();
            out.diagnostics.push(
                Diagnostic::at(
                    Level::Warning,
                    &cx.file.display,
                    Some(line),
                    format!(
                        "`{}` in {}: no release of {} reads {} ({}); it {}, and will leave those items out without an error: keep the attributes or the bindings in step by hand",
                        self.key,
                        self.table,
                        c.name,
                        written.join(" or "),
                        self.describe(&unread),
                        c.what
                    ),
                )
                .with_rule(META.id),
            );
        }
        let readable: Vec<Form> = forms.iter().copied().filter(|f| c.fixed_in(*f).is_some()).collect();
        let Some((needed, needed_v)) = readable.iter().filter_map(|f| c.fixed_in(*f)).filter_map(|v| Some((v, floor(v)?))).max_by(|a, b| a.1.cmp(&b.1)) else {
            return;
        };
        let why = format!(
            "{}; {} reads {} from {needed} on, an older release leaves those items out of what it writes, or fails on them",
            self.describe(&readable),
            c.name,
            if readable.len() == 1 { "it" } else { "them" }
        );
        let version = match self.item {
            Item::Value(Value::String(s)) => Some(s),
            _ => match self.item.get("version") {
                Some(Item::Value(Value::String(s))) => Some(s),
                _ => None,
            },
        };
        let review = |detail: String| Unchanged::at(META.id, &cx.file.display, Some(line), UnchangedReason::NeedsReview, detail);
        let Some(version) = version else {
            let what = if self.item.get("git").is_some() {
                "a git dependency: make sure its `rev` / `tag` / `branch` is a release"
            } else if self.item.get("path").is_some() {
                "a path dependency: make sure the folder holds a release"
            } else {
                "no version requirement: make sure the version used is"
            };
            out.unchanged.push(review(format!("`{}` in {}: {what} {needed} or newer ({why})", self.key, self.table)));
            return;
        };
        let (Some(span), current) = (version.span(), version.value()) else { return };
        let Some(current_floor) = floor(current) else {
            out.unchanged.push(review(format!(
                "`{}` in {}: cannot read the requirement `{current}`; {} {needed} or newer is needed ({why})",
                self.key, self.table, c.name
            )));
            return;
        };
        if current_floor >= needed_v {
            return; // already new enough
        }
        let Some(new) = raised(current, needed) else {
            out.unchanged.push(review(format!(
                "`{}` in {}: the requirement `{current}` does not ensure {} {needed} or newer; raise it by hand ({why})",
                self.key, self.table, c.name
            )));
            return;
        };
        let written = &cx.file.text[span.clone()];
        let safety = if crosses_class(&current_floor, &needed_v) { Safety::NeedsReview } else { Safety::Safe };
        let mut reason = format!("{} `{current}` → `{new}` in {}: {why}", c.name, self.table);
        if safety == Safety::NeedsReview {
            reason.push_str(&format!(
                "; {needed} is a new semver-incompatible release of {}: check the code that calls it (a build script, a generator)",
                c.name
            ));
        }
        let mut change = cx.change(&META, reason, vec![Edit::replace(span, toml_string(&new, written))]);
        change.safety = safety;
        out.changes.push(change);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_table_parses() {
        let names: Vec<&str> = known().iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["cbindgen", "csbindgen"]);
        let cbindgen = &known()[0];
        assert_eq!((cbindgen.fixed_in(Form::NoMangle), cbindgen.fixed_in(Form::ExportName)), (Some("0.28"), Some("0.29")));
    }

    #[test]
    fn a_bad_table_is_refused() {
        assert!(parse_table("[[companion]]\nname = \"x\"\nwhat = \"y\"\nno_mangle = \"soon\"\n").unwrap_err().contains("not a version"));
        assert!(parse_table("[[companion]]\nname = \"x\"\nwhat = \"y\"\nfixed = \"1\"\n").is_err());
    }

    #[test]
    fn requirements_are_raised_with_their_operator_or_left_to_a_person() {
        assert_eq!(raised("0.26", "0.28").as_deref(), Some("0.28"));
        assert_eq!(raised("^0.24.3", "0.29").as_deref(), Some("^0.29"));
        assert_eq!(raised("~0.26.1", "0.28").as_deref(), Some("~0.28"));
        assert_eq!(raised("=0.26.0", "0.28"), None);
        assert_eq!(raised(">=0.24, <0.30", "0.28"), None);
        assert_eq!(raised("*", "0.28"), None);
        assert!(crosses_class(&Version::new(0, 26, 0), &Version::new(0, 28, 0)));
        assert!(!crosses_class(&Version::new(1, 9, 0), &Version::new(1, 9, 4)));
    }

    #[test]
    fn forms_are_found_as_written_and_as_the_migration_writes_them() {
        let text = "#[unsafe(no_mangle)]\npub extern \"C\" fn a() {}\n#[cfg_attr(unix, unsafe(export_name = \"b\"))]\npub extern \"C\" fn b() {}\n#[no_mangle]\npub extern \"C\" fn c() {}\n// unsafe(no_mangle) in a comment\n/// ```\n/// #[no_mangle] pub extern \"C\" fn d() {}\n/// ```\npub fn e() {}\n";
        let file = SourceFile {
            path: "lib.rs".into(),
            display: "src/lib.rs".into(),
            kind: crate::core::text::FileKind::Rust,
            package: "p".into(),
            cfg: crate::core::model::CfgStatus::Active,
            text: text.into(),
        };
        let at = text.find("#[no_mangle]").unwrap() + 2;
        let change = Change {
            rule: "unsafe-attributes",
            reason: String::new(),
            safety: Safety::Safe,
            decided_by: crate::core::model::Decider::Rule,
            file: "src/lib.rs".into(),
            line: 5,
            cfg: crate::core::model::CfgStatus::Active,
            edits: vec![Edit::insert(at, "unsafe("), Edit::insert(at + "no_mangle".len(), ")")],
        };
        let in_doc = text.find("/// #[no_mangle]").unwrap() + 6;
        let doc_change = Change { line: 9, edits: vec![Edit::insert(in_doc, "unsafe("), Edit::insert(in_doc + "no_mangle".len(), ")")], ..change.clone() };
        let uses = AttrUses::of(&file, &[change, doc_change]);
        assert_eq!(uses.forms[&Form::NoMangle], FormUse { count: 2, introduced: 1, first: "src/lib.rs:5".into() });
        assert_eq!(uses.forms[&Form::ExportName], FormUse { count: 1, introduced: 0, first: "src/lib.rs:3".into() });
    }

    /// Runs the rule with `table` on a package `gen`'s manifest, with `uses` by package.
    fn run(table: &[Companion], manifest: &str, uses: &[(&str, Form)]) -> Findings {
        let file = SourceFile {
            path: "Cargo.toml".into(),
            display: "gen/Cargo.toml".into(),
            kind: crate::core::text::FileKind::Manifest,
            package: "gen".into(),
            cfg: crate::core::model::CfgStatus::Active,
            text: manifest.into(),
        };
        let mut ws = WorkspaceUses::default();
        for (package, form) in uses {
            ws.packages.entry(package.to_string()).or_default().add(*form, &format!("{package}/src/lib.rs"), 3, true);
        }
        let package = crate::cargo::discover::Package {
            name: "gen".into(),
            version: "0.1.0".into(),
            manifest_path: "gen/Cargo.toml".into(),
            edition: cargo_metadata::Edition::E2021,
            cfg: Default::default(),
            roots: Vec::new(),
            targets: Vec::new(),
        };
        let doc = toml_edit::ImDocument::parse(file.text.as_str()).unwrap();
        let lines = crate::core::text::LineIndex::new(&file.text);
        let cx = ManifestCx {
            file: &file,
            lines: &lines,
            doc: &doc,
            package: Some(&package),
            is_workspace_root: false,
            target_edition: crate::core::edition::Edition::E2024,
            uses: &ws,
        };
        let mut out = Findings::default();
        check(&cx, table, &mut out);
        out
    }

    #[test]
    fn a_form_no_release_reads_is_a_warning_naming_it_and_the_package() {
        let table = parse_table("[[companion]]\nname = \"hdrgen\"\nwhat = \"writes headers\"\nno_mangle = \"2.1\"\n").unwrap();
        let out = run(&table, "[package]\nname = \"gen\"\n\n[build-dependencies]\nhdrgen = \"2.0\"\n", &[("gen", Form::ExportName), ("gen", Form::NoMangle)]);
        let [warning] = out.diagnostics.as_slice() else { panic!("{:?}", out.diagnostics) };
        assert_eq!(warning.level, Level::Warning);
        assert_eq!(warning.line, Some(5));
        assert!(warning.message.contains("no release of hdrgen reads #[unsafe(export_name = ..)]"), "{}", warning.message);
        assert!(warning.message.contains("in package `gen`"), "{}", warning.message);
        // The form a release reads is still bumped for.
        let [bump] = out.changes.as_slice() else { panic!("{:?}", out.changes) };
        assert_eq!(bump.edits[0].replacement, "\"2.1\"");
        assert_eq!(bump.safety, Safety::Safe);
    }

    #[test]
    fn a_generator_without_forms_of_its_own_counts_the_workspace() {
        let manifest = "[package]\nname = \"gen\"\n\n[dependencies]\ncbindgen = \"0.27\"\n";
        let out = run(known(), manifest, &[("ffi", Form::NoMangle)]);
        let [bump] = out.changes.as_slice() else { panic!("{:?}", out.changes) };
        assert!(bump.reason.contains("in the workspace (package `gen`'s own code has none"), "{}", bump.reason);
        assert!(bump.reason.contains("ffi/src/lib.rs:3"), "{}", bump.reason);
        assert!(run(known(), manifest, &[]).changes.is_empty());
    }
}
