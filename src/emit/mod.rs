//! Emit: how a migration is shown. An annotated unified diff for people (the default),
//! a plain patch for `git apply`, JSON for tools, SARIF for code-scanning dashboards, the
//! summary line and the "not changed" report; and `report.html`, the page of a sweep's
//! report.

mod diff;
mod explain;
mod json;
mod sarif;
mod sweep_html;

pub use diff::{annotation, write_diff, write_file_diff, DiffStyle};
pub use explain::write_text as write_explanations;
pub use json::{report_schema, write_json, JSON_VERSION};
pub use sarif::write_sarif;
pub use sweep_html::write_sweep_html;

use std::collections::BTreeMap;

use crate::core::migration::Migration;
use crate::core::model::{Safety, Unchanged, UnchangedReason};

/// Counts for the summary line.
#[derive(Debug, Default, serde::Serialize, schemars::JsonSchema)]
pub struct Summary {
    /// Number of changes.
    pub changes: usize,
    /// Number of files that change.
    pub files: usize,
    /// Changes by rule id.
    pub by_rule: BTreeMap<&'static str, usize>,
    /// Changes by safety class.
    pub by_safety: BTreeMap<&'static str, usize>,
    /// Changes in code the current configuration does not compile.
    pub cfg_inactive: usize,
    /// Rust files read.
    pub files_read: usize,
    /// Lines of Rust read.
    pub lines_read: usize,
    /// Sites seen and not changed (the `unchanged` list).
    pub unchanged: usize,
    /// Sites not changed, by reason id (`judged-to-keep`, `conflict`, ...).
    pub unchanged_by_reason: BTreeMap<&'static str, usize>,
}

impl Summary {
    /// Counts the changes of a migration.
    pub fn of(m: &Migration) -> Summary {
        let mut s = Summary { files: m.files.len(), files_read: m.files_read, lines_read: m.lines_read, unchanged: m.unchanged.len(), ..Summary::default() };
        for u in &m.unchanged {
            *s.unchanged_by_reason.entry(u.reason.id()).or_default() += 1;
        }
        for c in m.changes() {
            s.changes += 1;
            *s.by_rule.entry(c.rule).or_default() += 1;
            *s.by_safety.entry(c.safety.label()).or_default() += 1;
            if c.cfg != crate::core::model::CfgStatus::Active {
                s.cfg_inactive += 1;
            }
        }
        s
    }

    /// One line for stderr, e.g. `12 changes in 4 files (keyword-gen 8, ...; safe 10, needs-review 2)`.
    pub fn line(&self) -> String {
        if self.changes == 0 {
            return format!("no changes needed ({} files, {} lines checked)", self.files_read, self.lines_read);
        }
        let rules: Vec<String> = self.by_rule.iter().map(|(r, n)| format!("{r} {n}")).collect();
        let order = [Safety::Safe, Safety::Judged, Safety::NeedsReview];
        let safety: Vec<String> = order.iter().filter_map(|s| self.by_safety.get(s.label()).map(|n| format!("{} {n}", s.label()))).collect();
        let inactive = if self.cfg_inactive > 0 { format!("; {} in cfg-inactive code", self.cfg_inactive) } else { String::new() };
        format!(
            "{} change{} in {} file{} ({}; {}{inactive}); {} files, {} lines checked",
            self.changes,
            plural(self.changes),
            self.files,
            plural(self.files),
            rules.join(", "),
            safety.join(", "),
            self.files_read,
            self.lines_read
        )
    }
}

/// The "not changed" report: a head line with the counts by reason, e.g. `Not changed: 3
/// sites (1 judged to keep, 2 conflict)`, then one line per site, `file:line rule — reason:
/// detail`. The lints a skipped compiler phase would have checked share one line, and so
/// do the changes of a package held back. Writes nothing when every site seen was changed.
pub fn write_unchanged(m: &Migration, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    if m.unchanged.is_empty() {
        return Ok(());
    }
    let counts: Vec<String> = UnchangedReason::ALL
        .iter()
        .filter_map(|r| {
            let n = m.unchanged.iter().filter(|u| u.reason == *r).count();
            (n > 0).then(|| format!("{n} {}", r.label()))
        })
        .collect();
    let n = m.unchanged.len();
    writeln!(out, "{HEAD}Not changed{HEAD:#}: {n} site{} ({})", plural(n), counts.join(", "))?;
    let mut grouped: Vec<(UnchangedReason, &str)> = Vec::new();
    for u in &m.unchanged {
        if !matches!(u.reason, UnchangedReason::CompilerSkipped | UnchangedReason::HeldBack) {
            writeln!(out, "  {} {} — {}: {}", unchanged_place(u), u.rule, u.reason.label(), u.detail)?;
            continue;
        }
        if grouped.contains(&(u.reason, u.detail.as_str())) {
            continue;
        }
        grouped.push((u.reason, u.detail.as_str()));
        let group: Vec<&Unchanged> = m.unchanged.iter().filter(|o| o.reason == u.reason && o.detail == u.detail).collect();
        if u.reason == UnchangedReason::CompilerSkipped {
            let lints: Vec<&str> = group.iter().map(|o| o.rule).collect();
            writeln!(out, "  (run) {} lint{} — {} ({}): {}", lints.len(), plural(lints.len()), u.reason.label(), u.detail, lints.join(", "))?;
        } else {
            let mut by_rule: BTreeMap<&str, usize> = BTreeMap::new();
            for o in &group {
                *by_rule.entry(o.rule).or_default() += 1;
            }
            let mut files: Vec<&str> = group.iter().filter_map(|o| o.file.as_deref()).collect();
            files.dedup();
            let rules: Vec<String> = by_rule.iter().map(|(r, n)| format!("{r} {n}")).collect();
            writeln!(
                out,
                "  {} change{} in {} file{} ({}) — {}: {}",
                group.len(),
                plural(group.len()),
                files.len(),
                plural(files.len()),
                rules.join(", "),
                u.reason.label(),
                u.detail
            )?;
        }
    }
    Ok(())
}

const HEAD: anstyle::Style = anstyle::AnsiColor::Cyan.on_default().effects(anstyle::Effects::BOLD);

/// Where a site not changed is: `file:line`, `file`, or `(run)`.
pub fn unchanged_place(u: &Unchanged) -> String {
    match (&u.file, u.line) {
        (Some(f), Some(l)) => format!("{f}:{l}"),
        (Some(f), None) => f.clone(),
        _ => "(run)".to_string(),
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}
