//! Unified diffs: annotated for review (each hunk headed by the changes it holds: rule,
//! safety, who decided, reason) or plain for `git apply`.

use std::io::Write;

use anstyle::{AnsiColor, Style};
use similar::TextDiff;

use crate::core::migration::{FileResult, Migration};
use crate::core::model::{CfgStatus, Change};

/// How the diff is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DiffStyle {
    /// With a comment line per change above each hunk (the default view).
    Annotated,
    /// A plain patch that `git apply` takes; changes are listed before each file.
    Patch,
}

const FILE: Style = AnsiColor::White.on_default().bold();
const HUNK: Style = AnsiColor::Cyan.on_default();
const DEL: Style = AnsiColor::Red.on_default();
const ADD: Style = AnsiColor::Green.on_default();
const NOTE: Style = AnsiColor::Yellow.on_default();

/// Writes the diff of every changed file. Colors are written as ANSI codes; the caller's
/// stream decides whether to keep them (`anstream`). A verdict is never silent: the
/// judge's sites that keep the code as it is (an `if let` kept, a site left for review)
/// head the diff as `#` lines, which `git apply` ignores.
pub fn write_diff(m: &Migration, style: DiffStyle, out: &mut dyn Write) -> std::io::Result<()> {
    for u in m.unchanged.iter().filter(|u| u.decided_by.is_some()) {
        writeln!(out, "{NOTE}# {} [not changed: {}] {}: {}{NOTE:#}", u.rule, u.reason.label(), super::unchanged_place(u), u.detail)?;
    }
    for result in m.files.values() {
        write_file_diff(result, style, out)?;
    }
    Ok(())
}

/// Writes the diff of one file.
pub fn write_file_diff(result: &FileResult, style: DiffStyle, out: &mut dyn Write) -> std::io::Result<()> {
    let path = &result.file.display;
    let diff = TextDiff::from_lines(result.file.text.as_str(), result.new_text.as_str());
    if style == DiffStyle::Patch {
        for change in &result.changes {
            writeln!(out, "{}", annotation(change))?;
        }
        writeln!(out, "diff --git a/{path} b/{path}")?;
    }
    writeln!(out, "{FILE}--- a/{path}{FILE:#}")?;
    writeln!(out, "{FILE}+++ b/{path}{FILE:#}")?;
    let mut unified = diff.unified_diff();
    unified.context_radius(3).missing_newline_hint(true);
    let mut shown = vec![false; result.changes.len()];
    let hunks: Vec<_> = unified.iter_hunks().collect();
    for (h, hunk) in hunks.iter().enumerate() {
        if style == DiffStyle::Annotated {
            // Each change heads the first hunk that reaches its line; the last hunk takes
            // whatever is left.
            let last_line = old_last_line(hunk);
            let is_last = h + 1 == hunks.len();
            for (i, change) in result.changes.iter().enumerate() {
                if !shown[i] && (change.line <= last_line || is_last) {
                    shown[i] = true;
                    writeln!(out, "{NOTE}{}{NOTE:#}", annotation(change))?;
                }
            }
        }
        writeln!(out, "{HUNK}{}{HUNK:#}", hunk.header())?;
        for change in hunk.iter_changes() {
            let (sign, s) = match change.tag() {
                similar::ChangeTag::Delete => ('-', DEL),
                similar::ChangeTag::Insert => ('+', ADD),
                similar::ChangeTag::Equal => (' ', Style::new()),
            };
            let value = change.to_string_lossy();
            let line = value.strip_suffix('\n').unwrap_or(&value);
            writeln!(out, "{s}{sign}{line}{s:#}")?;
            if change.missing_newline() {
                writeln!(out, "\\ No newline at end of file")?;
            }
        }
    }
    Ok(())
}

/// The last (1-based) old line a hunk covers.
fn old_last_line(hunk: &similar::udiff::UnifiedDiffHunk<'_, '_, '_, '_, str>) -> usize {
    hunk.ops().last().map_or(0, |o| o.old_range().end)
}

/// The comment line that heads a change: `# rule [safety, by decider] reason (where)`;
/// a change of an edition step before 2021 → 2024 (a lint of the 2018 or 2021 group)
/// names its step: `line 5, step 2015 → 2018: ...`.
pub fn annotation(change: &Change) -> String {
    let cfg = match change.cfg {
        CfgStatus::Active => "",
        CfgStatus::Inactive => " (cfg-inactive here: cargo fix would not see this)",
        CfgStatus::Unknown => " (cfg unknown: inside a macro's condition)",
    };
    let step = crate::engine::compiler::lint_doc(change.rule)
        .filter(|l| l.edition < crate::core::edition::Edition::E2024)
        .and_then(|l| crate::core::edition::step_to(l.edition))
        .map(|s| format!(", step {s}"))
        .unwrap_or_default();
    format!("# {} [{}, by {}] line {}{step}: {}{cfg}", change.rule, change.safety.label(), change.decided_by, change.line, change.reason)
}
