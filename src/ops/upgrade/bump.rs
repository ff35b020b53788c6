//! The bump: `Cargo.toml` edits that move the dependency to the pack's `to`, as byte-range
//! edits on the manifest (toml_edit's spans; formatting, comments and quotes kept).
//!
//! In every dependency table of the moving members (`[dependencies]`, `[dev-dependencies]`,
//! `[build-dependencies]`, `[target.*.…]`) and in the root's `[workspace.dependencies]`:
//! the crate's version requirement (renamed dependencies found by `package = ".."`), the
//! features the pack renames (in the dependency's `features` and in the member's
//! `[features]` table, `dep/feature` and `dep?/feature`), and the companion crates the pack
//! names. A requirement is bumped only if it admits the pack's `from` (or belongs to a
//! member that is moving), so running the bump again changes nothing.
//!
//! A requirement is never lowered: one whose lowest admitted version is at or above the
//! version written stays. Across classes (`0.8` → `0.9`) a requirement that already admits
//! the new release stays too; within one class (a line pack, `0.4` → `0.4.38`) every
//! requirement admits it, and the bump raises the requirement's floor instead, since the
//! rewritten code needs API that older releases of the line do not have — only for the
//! members whose code the step changed ([`LineNeeds`]): another member keeps its
//! requirement (a note says so), and `[workspace.dependencies]` is raised when a member
//! that inherits the crate from it changed, the reason naming it and the members that get
//! the raise with it.

use std::collections::BTreeSet;
use std::sync::Arc;

use toml_edit::{Item, TableLike, Value};

use super::packs::{floor, requirement, same_crate, within_line};
use crate::core::model::{Diagnostic, Edit, Level, Safety};
use crate::pack::CompiledPack;
use crate::rules::{toml_string, Declared, Findings, ManifestCx, Rule, RuleMeta};

/// The manifest half of one upgrade step.
pub struct BumpRule {
    /// The step's pack.
    pub pack: Arc<CompiledPack>,
    /// The requirement to write (`0.9`, or the user's `rand@0.9.2`).
    pub requirement: String,
    /// Members whose code this step moves.
    pub moving: BTreeSet<String>,
    /// For a line pack: which members need its `to` (`None`: every moving member, as for a
    /// major step, whose release every member moves to).
    pub line: Option<LineNeeds>,
    meta: &'static RuleMeta,
}

/// Who needs a line pack's `to`: the members whose code the step changed (the rewritten
/// code uses API the line's older releases lack). A member whose code it did not change
/// keeps its requirement; `[workspace.dependencies]` is raised when a member that inherits
/// the crate from it needs the raise, which every member inheriting it then gets.
#[derive(Clone, Debug, Default)]
pub struct LineNeeds {
    /// Members whose code the step changed.
    pub changed: BTreeSet<String>,
    /// Members that inherit the crate from `[workspace.dependencies]`.
    pub inheriting: BTreeSet<String>,
}

impl BumpRule {
    /// The bump of `pack`'s step, writing `requirement`, for the `moving` members.
    pub fn new(pack: Arc<CompiledPack>, requirement: String, moving: BTreeSet<String>) -> BumpRule {
        let f = &pack.file;
        let meta = RuleMeta::leaked(
            format!("{}/bump", f.krate),
            format!("Cargo.toml: {} {} → {}, renamed features, companion crates", f.krate, f.from, f.to),
            Safety::Safe,
            format!(
                "# {}/bump\n\nMoves the `{}` requirement from {} to {} in `Cargo.toml` (members and `[workspace.dependencies]`), renames the features the release renamed and moves the companion crates with it.\n",
                f.krate, f.krate, f.from, f.to
            ),
        );
        BumpRule { pack, requirement, moving, line: None, meta }
    }

    /// Whether the entry's requirement should move: it admits the pack's `from`, or it is
    /// older than the pack's `to` and its member is moving.
    fn wants(&self, req: &str, from: &str, to: &str, member_moving: bool) -> bool {
        let (Some(floor_req), Some(from), Some(to)) = (floor(req), requirement(from), floor(to)) else { return false };
        from.matches(&floor_req) || (member_moving && floor_req < to)
    }
}

/// One dependency entry: its key, value and the table it sits in (for reasons).
struct Entry<'a> {
    key: &'a str,
    item: &'a Item,
    table: String,
}

fn dependency_tables<'a>(root: &'a dyn TableLike, prefix: &str, out: &mut Vec<(String, &'a dyn TableLike)>) {
    for kind in ["dependencies", "dev-dependencies", "dev_dependencies", "build-dependencies", "build_dependencies"] {
        if let Some(t) = root.get(kind).and_then(Item::as_table_like) {
            out.push((format!("[{prefix}{kind}]"), t));
        }
    }
}

fn string_value(item: &Item) -> Option<&toml_edit::Formatted<String>> {
    match item {
        Item::Value(Value::String(s)) => Some(s),
        _ => None,
    }
}

impl Declared for BumpRule {
    fn meta(&self) -> &'static RuleMeta {
        self.meta
    }
}

impl Rule for BumpRule {
    fn needs_names(&self) -> Option<Vec<String>> {
        Some(Vec::new())
    }

    fn check_manifest(&self, cx: &ManifestCx<'_>, out: &mut Findings) {
        let root = cx.doc.as_table();
        let member = cx.package.map(|p| p.name.clone());
        let moving = member.as_ref().is_some_and(|m| self.moving.contains(m));
        let mut tables: Vec<(String, &dyn TableLike)> = Vec::new();
        if moving {
            dependency_tables(root, "", &mut tables);
            if let Some(targets) = root.get("target").and_then(Item::as_table_like) {
                for (platform, t) in targets.iter() {
                    if let Some(t) = t.as_table_like() {
                        dependency_tables(t, &format!("target.{platform}."), &mut tables);
                    }
                }
            }
        }
        if cx.is_workspace_root {
            if let Some(t) = root.get("workspace").and_then(|w| w.get("dependencies")).and_then(Item::as_table_like) {
                tables.push(("[workspace.dependencies]".into(), t));
            }
        }
        let f = &self.pack.file;
        let mut local_keys = Vec::new();
        for (table_name, table) in &tables {
            for (key, item) in table.iter() {
                let entry = Entry { key, item, table: table_name.clone() };
                let package = item.get("package").and_then(Item::as_str).unwrap_or(key);
                // The workspace table moves if any member moves (it is shared).
                let member_moving = moving || (table_name == "[workspace.dependencies]" && !self.moving.is_empty());
                if same_crate(package, &f.krate) {
                    local_keys.push(key.to_string());
                    self.bump(cx, &entry, &f.krate, &f.from, &f.to, &self.requirement, member_moving, None, out);
                    self.rename_dep_features(cx, &entry, out);
                    if member_moving {
                        self.add_new_dep_features(cx, &entry, out);
                    }
                } else if let Some(c) = f.companions.iter().find(|c| same_crate(package, &c.krate)) {
                    let from = c.from.clone().unwrap_or_else(|| format!("<{}", c.to));
                    let why = format!("{} moves together with {} {}", c.krate, f.krate, f.to);
                    self.bump(cx, &entry, &c.krate, &from, &c.to, &c.to, member_moving, Some(why), out);
                }
            }
        }
        if moving && !f.renamed_features.is_empty() {
            self.rename_feature_table(cx, root, &local_keys, out);
        }
        if moving && !f.new_features.is_empty() {
            self.add_new_table_features(cx, root, &local_keys, out);
        }
    }
}

impl BumpRule {
    #[allow(clippy::too_many_arguments)]
    fn bump(
        &self,
        cx: &ManifestCx<'_>,
        entry: &Entry<'_>,
        krate: &str,
        from: &str,
        to: &str,
        new: &str,
        member_moving: bool,
        why: Option<String>,
        out: &mut Findings,
    ) {
        let version = match entry.item {
            Item::Value(Value::String(_)) => Some(entry.item),
            _ => entry.item.get("version"),
        };
        let line = |offset: usize| Some(cx.lines.line(offset));
        let at = entry.item.span().or_else(|| entry.item.as_table().and_then(|t| t.span())).map_or(0, |s| s.start);
        let Some(version) = version.and_then(string_value) else {
            if entry.item.get("workspace").and_then(Item::as_bool) == Some(true) {
                return; // The root's [workspace.dependencies] holds the requirement.
            }
            let what = if entry.item.get("git").is_some() {
                "a git dependency: change its `rev`/`tag`/`branch` to the new release by hand"
            } else if entry.item.get("path").is_some() {
                "a path dependency without a version requirement: nothing to bump (the folder decides the version)"
            } else {
                "no version requirement found: nothing bumped"
            };
            if entry.item.get("path").is_none() || entry.item.get("git").is_some() {
                out.diagnostics.push(
                    Diagnostic::at(Level::Warning, &cx.file.display, line(at), format!("`{}` in {}: {what}", entry.key, entry.table)).with_rule(self.meta.id),
                );
            }
            return;
        };
        let (Some(span), current) = (version.span(), version.value()) else { return };
        if !self.wants(current, from, to, member_moving) {
            return;
        }
        let (Some(floor_current), Some(floor_to)) = (floor(current), floor(to)) else { return };
        if floor(new).map_or(floor_to.clone(), |n| n.max(floor_to.clone())) <= floor_current {
            return;
        }
        if !within_line(from, to) && requirement(current).is_some_and(|r| r.matches(&floor_to)) {
            return;
        }
        let written = &cx.file.text[span.clone()];
        // A line pack raises the floor only where rewritten code needs it.
        let mut needed_by = String::new();
        if let (None, Some(needs)) = (&why, self.line.as_ref().filter(|_| within_line(from, to))) {
            let pack = self.pack.meta.id;
            if entry.table == "[workspace.dependencies]" {
                let users: Vec<&str> = needs.inheriting.iter().filter(|m| needs.changed.contains(*m)).map(String::as_str).collect();
                if users.is_empty() {
                    let message =
                        format!("{krate} `{current}` in {} left as it is: the line pack `{pack}` changed the code of no member that inherits it", entry.table);
                    out.diagnostics.push(Diagnostic::at(Level::Note, &cx.file.display, line(span.start), message).with_rule(self.meta.id));
                    return;
                }
                let others: Vec<&str> = needs.inheriting.iter().filter(|m| !needs.changed.contains(*m)).map(String::as_str).collect();
                let others = match others.as_slice() {
                    [] => String::new(),
                    [one] => format!("; `{one}` inherits it too and gets the raise, though its code did not change"),
                    many => format!("; `{}` inherit it too and get the raise, though their code did not change", many.join("`, `")),
                };
                needed_by = format!(" (needed by the code of `{}`, which inherits it{others})", users.join("`, `"));
            } else if let Some(member) = cx.package.map(|p| p.name.as_str()).filter(|m| !needs.changed.contains(*m)) {
                let message = format!(
                    "`{member}`: {krate} `{current}` in {} left as it is: the line pack `{pack}` changed none of its code, which needs nothing newer than before",
                    entry.table
                );
                out.diagnostics.push(Diagnostic::at(Level::Note, &cx.file.display, line(span.start), message).with_rule(self.meta.id));
                return;
            }
        }
        let reason = match why {
            Some(why) => format!("{krate} `{current}` → `{new}` in {}: {why}", entry.table),
            None if within_line(from, to) => {
                format!(
                    "{krate} `{current}` → `{new}` in {}: the code the pack `{}` rewrites uses API that {krate} releases before {to} lack{needed_by}",
                    entry.table, self.pack.meta.id
                )
            }
            None => format!("{krate} `{current}` → `{new}` in {}: the version the pack `{}` migrates the code to", entry.table, self.pack.meta.id),
        };
        out.changes.push(cx.change(self.meta, reason, vec![Edit::replace(span, toml_string(new, written))]));
    }

    /// Renames features in the dependency's own `features = [..]`.
    fn rename_dep_features(&self, cx: &ManifestCx<'_>, entry: &Entry<'_>, out: &mut Findings) {
        let Some(features) = entry.item.get("features").and_then(Item::as_array) else { return };
        for value in features.iter() {
            let Value::String(s) = value else { continue };
            if let (Some(new), Some(span)) = (self.pack.file.renamed_features.get(s.value()), s.span()) {
                self.rename(cx, span, new, &format!("feature `{}` of {} in {}", s.value(), self.pack.file.krate, entry.table), out);
            }
        }
    }

    /// Renames `dep/feature` and `dep?/feature` in the member's `[features]` table.
    fn rename_feature_table(&self, cx: &ManifestCx<'_>, root: &toml_edit::Table, keys: &[String], out: &mut Findings) {
        let Some(table) = root.get("features").and_then(Item::as_table_like) else { return };
        for (name, item) in table.iter() {
            let Some(values) = item.as_array() else { continue };
            for value in values.iter() {
                let Value::String(s) = value else { continue };
                let Some((dep, feature)) = s.value().split_once('/') else { continue };
                let bare = dep.trim_end_matches('?');
                let Some(new) = self.pack.file.renamed_features.get(feature) else { continue };
                if !keys.iter().any(|k| k == bare) {
                    continue;
                }
                if let Some(span) = s.span() {
                    let new_value = format!("{dep}/{new}");
                    self.rename(cx, span, &new_value, &format!("feature `{feature}` of {} (in feature `{name}`)", self.pack.file.krate), out);
                }
            }
        }
    }

    /// Adds the pack's new features to the dependency's own `features = [..]` where it
    /// enables every old feature they split from.
    fn add_new_dep_features(&self, cx: &ManifestCx<'_>, entry: &Entry<'_>, out: &mut Findings) {
        let Some(features) = entry.item.get("features").and_then(Item::as_array) else { return };
        let enabled: BTreeSet<&str> = features.iter().filter_map(Value::as_str).collect();
        for new in &self.pack.file.new_features {
            if new.when.iter().all(|w| enabled.contains(w.as_str())) && !enabled.contains(new.feature.as_str()) {
                if let Some(edit) = append(cx.file.text.as_str(), features, &new.feature) {
                    let reason =
                        format!("feature `{}` of {} {} added in {}: {}", new.feature, self.pack.file.krate, self.pack.file.to, entry.table, new.message);
                    out.changes.push(cx.change(self.meta, reason, vec![edit]));
                }
            }
        }
    }

    /// Adds `dep/new` to each feature of the member's `[features]` table that enables
    /// every old feature the new one split from (`dep/std`, `dep/std_rng`; `dep?/..` alike).
    fn add_new_table_features(&self, cx: &ManifestCx<'_>, root: &toml_edit::Table, keys: &[String], out: &mut Findings) {
        let Some(table) = root.get("features").and_then(Item::as_table_like) else { return };
        for (name, item) in table.iter() {
            let Some(values) = item.as_array() else { continue };
            let enabled: BTreeSet<&str> = values.iter().filter_map(Value::as_str).collect();
            for key in keys {
                for prefix in [format!("{key}/"), format!("{key}?/")] {
                    for new in &self.pack.file.new_features {
                        let has = |f: &str| enabled.contains(format!("{prefix}{f}").as_str());
                        if !new.when.iter().all(|w| has(w)) || has(&new.feature) {
                            continue;
                        }
                        if let Some(edit) = append(cx.file.text.as_str(), values, &format!("{prefix}{}", new.feature)) {
                            let reason = format!("`{prefix}{}` added to feature `{name}`: {}", new.feature, new.message);
                            out.changes.push(cx.change(self.meta, reason, vec![edit]));
                        }
                    }
                }
            }
        }
    }

    /// Replaces the whole string value at `span` with `new`, written as a TOML string.
    fn rename(&self, cx: &ManifestCx<'_>, span: std::ops::Range<usize>, new: &str, what: &str, out: &mut Findings) {
        let written = &cx.file.text[span.clone()];
        out.changes.push(cx.change(
            self.meta,
            format!("{what} is named `{}` in {} {}", new.rsplit('/').next().unwrap_or(new), self.pack.file.krate, self.pack.file.to),
            vec![Edit::replace(span, toml_string(new, written))],
        ));
    }
}

/// `name` as a TOML key, rendered by `toml_edit` (bare when it can be, quoted otherwise).
fn toml_key(name: &str) -> String {
    toml_edit::Key::new(name).display_repr().into_owned()
}

/// The insertion that appends the string `value` to a non-empty TOML array, written as
/// its last element is: on a line of its own with the same indentation in a multi-line
/// array, after a `, ` otherwise.
fn append(text: &str, array: &toml_edit::Array, value: &str) -> Option<Edit> {
    let last = array.iter().last()?.span()?;
    let line_start = text[..last.start].rfind('\n').map_or(0, |n| n + 1);
    let indent = &text[line_start..last.start];
    let quoted = toml_string(value, "");
    let nl = crate::core::text::line_ending(text);
    let text = if indent.chars().all(|c| c == ' ' || c == '\t') { format!(",{nl}{indent}{quoted}") } else { format!(", {quoted}") };
    Some(Edit::insert(last.end, text))
}

/// The manifest edits that give members the crates the pack's crate moved items to
/// (`nom-language` for nom 8's `VerboseError`): for each member whose code the step's path
/// rules moved to such a crate, the crate is added next to the pack's crate, unless the
/// member depends on it already.
pub struct AddCrates {
    /// The step's pack.
    pub pack: Arc<CompiledPack>,
    /// Per member: the crates (of the pack's `new_crates`) its code now names, with the
    /// rules that moved it there.
    pub needs: std::collections::BTreeMap<String, std::collections::BTreeMap<String, BTreeSet<&'static str>>>,
    meta: &'static RuleMeta,
}

impl AddCrates {
    /// The rule adding `needs` for `pack`'s step.
    pub fn new(pack: Arc<CompiledPack>, needs: std::collections::BTreeMap<String, std::collections::BTreeMap<String, BTreeSet<&'static str>>>) -> AddCrates {
        let f = &pack.file;
        let meta = RuleMeta::leaked(
            format!("{}/new-crates", f.krate),
            format!("Cargo.toml: the crates {} {} moved items to", f.krate, f.to),
            Safety::Safe,
            format!(
                "# {}/new-crates\n\nAdds the crates {} {} moved items to, to the members whose code the pack rewrote to name them.\n",
                f.krate, f.krate, f.to
            ),
        );
        AddCrates { pack, needs, meta }
    }
}

impl Declared for AddCrates {
    fn meta(&self) -> &'static RuleMeta {
        self.meta
    }
}

impl Rule for AddCrates {
    fn needs_names(&self) -> Option<Vec<String>> {
        Some(Vec::new())
    }

    fn check_manifest(&self, cx: &ManifestCx<'_>, out: &mut Findings) {
        let Some(needs) = cx.package.and_then(|p| self.needs.get(&p.name)) else { return };
        let root = cx.doc.as_table();
        let mut tables: Vec<(String, &dyn TableLike)> = Vec::new();
        dependency_tables(root, "", &mut tables);
        let depends_on =
            |name: &str| tables.iter().any(|(_, t)| t.iter().any(|(key, item)| same_crate(item.get("package").and_then(Item::as_str).unwrap_or(key), name)));
        // Next to the pack's crate, in the first table that has it.
        let anchor = tables.iter().find_map(|(table, t)| {
            t.iter()
                .find(|(key, item)| same_crate(item.get("package").and_then(Item::as_str).unwrap_or(key), &self.pack.file.krate))
                .map(|(_, item)| (table.clone(), item))
        });
        let Some((table, item)) = anchor else { return };
        for new in &self.pack.file.new_crates {
            let Some(rules) = needs.get(&new.krate.replace('-', "_")) else { continue };
            if depends_on(&new.krate) {
                continue;
            }
            let text = &cx.file.text;
            let nl = crate::core::text::line_ending(text);
            let edit = match item {
                // `[dependencies.nom]`: a table of its own after it.
                Item::Table(t) => {
                    let Some(span) = t.span() else { continue };
                    let header = table.trim_end_matches(']');
                    Edit::insert(span.end, format!("{nl}{nl}{header}.{}]{nl}version = {}", toml_key(&new.krate), toml_string(&new.version, "")))
                }
                // `nom = ..` in `[dependencies]`: a line after it.
                _ => {
                    let Some(span) = item.span() else { continue };
                    let at = text[span.end..].find(['\r', '\n']).map_or(text.len(), |n| span.end + n);
                    Edit::insert(at, format!("{nl}{} = {}", toml_key(&new.krate), toml_string(&new.version, "")))
                }
            };
            let rules: Vec<String> = rules.iter().map(|r| format!("`{r}`")).collect();
            let reason = format!(
                "{} `{}` added in {table}: {} {} moved items there, and the code names them now ({})",
                new.krate,
                new.version,
                self.pack.file.krate,
                self.pack.file.to,
                rules.join(", ")
            );
            out.changes.push(cx.change(self.meta, reason, vec![edit]));
        }
    }
}
