//! Emit: how a migration is shown. An annotated unified diff for people (the default),
//! a plain patch for `git apply`, JSON for tools, SARIF for code-scanning dashboards, and
//! the summary line; and `report.html`, the page of a sweep's report.

mod diff;
mod explain;
mod json;
mod sarif;
mod sweep_html;

pub use diff::{annotation, model_verdicts_without_change, write_diff, write_file_diff, DiffStyle};
pub use explain::write_text as write_explanations;
pub use json::write_json;
pub use sarif::write_sarif;
pub use sweep_html::write_sweep_html;

use std::collections::BTreeMap;

use crate::core::migration::Migration;
use crate::core::model::Safety;

/// Counts for the summary line.
#[derive(Debug, Default, serde::Serialize)]
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
}

impl Summary {
    /// Counts the changes of a migration.
    pub fn of(m: &Migration) -> Summary {
        let mut s = Summary { files: m.files.len(), files_read: m.files_read, lines_read: m.lines_read, ..Summary::default() };
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

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}
