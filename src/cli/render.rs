//! Rendering outcomes for a person or a tool: the changes on stdout in the chosen format,
//! diagnostics, verdicts, summaries and what `--apply` did on stderr, and the progress
//! display. Nothing here decides anything; it prints what the operations returned.

use std::io::Write;

use anyhow::Result;

use super::args::{ColorChoice, Format};
use crate::core::migration::Migration;
use crate::core::model::{Diagnostic, Level};
use crate::emit::{write_diff, write_json, DiffStyle};
use crate::ops::finish::Finished;
use crate::ops::review::Reviewed;
use crate::ops::verify::{Policy, Verified};
use crate::ops::Progress;

pub(super) const ERR: anstyle::Style = anstyle::AnsiColor::Red.on_default().effects(anstyle::Effects::BOLD);
pub(super) const WARN: anstyle::Style = anstyle::AnsiColor::Yellow.on_default().effects(anstyle::Effects::BOLD);
pub(super) const NOTE: anstyle::Style = anstyle::AnsiColor::Cyan.on_default().effects(anstyle::Effects::BOLD);

fn stream_choice(c: ColorChoice) -> anstream::ColorChoice {
    match c {
        ColorChoice::Auto => anstream::ColorChoice::Auto,
        ColorChoice::Always => anstream::ColorChoice::Always,
        ColorChoice::Never => anstream::ColorChoice::Never,
    }
}

/// Standard error with the user's color choice.
pub(super) fn stderr(c: ColorChoice) -> anstream::AutoStream<std::io::Stderr> {
    anstream::AutoStream::new(std::io::stderr(), stream_choice(c))
}

/// Standard output with the user's color choice.
pub(super) fn stdout(c: ColorChoice) -> anstream::AutoStream<std::io::Stdout> {
    anstream::AutoStream::new(std::io::stdout(), stream_choice(c))
}

/// `error: ...` on stderr.
pub(super) fn print_error(color: ColorChoice, e: &dyn std::fmt::Display) {
    let mut err = stderr(color);
    let _ = writeln!(err, "{}error:{} {e}", ERR.render(), ERR.render_reset());
}

/// Writes the changes to stdout in `format`. When writing to disk (`--apply`, `--check`),
/// only the machine formats are printed; the diff is what the user already reviewed.
pub(super) fn write_output(m: &Migration, format: Format, writing: bool, color: ColorChoice) -> Result<()> {
    let mut out = stdout(color);
    if !writing || matches!(format, Format::Json | Format::Sarif) {
        match format {
            Format::Diff => write_diff(m, DiffStyle::Annotated, &mut out)?,
            Format::Patch => write_diff(m, DiffStyle::Patch, &mut out)?,
            Format::Json => write_json(m, &mut out)?,
            Format::Sarif => crate::emit::write_sarif(m, &mut out)?,
        }
    }
    out.flush()?;
    Ok(())
}

/// Prints the diagnostics (only errors with `quiet`), the judge's verdicts and the sites
/// not changed to stderr.
pub(super) fn print_findings(err: &mut dyn Write, m: &Migration, quiet: bool) {
    for d in &m.diagnostics {
        if !quiet || d.level == Level::Error {
            print_diagnostic(err, d);
        }
    }
    if !quiet {
        for v in &m.verdicts {
            let _ = writeln!(
                err,
                "{}judged:{} {}:{} [{}] {} (by {}): {}",
                NOTE.render(),
                NOTE.render_reset(),
                v.file,
                v.line,
                v.rule,
                v.option,
                v.decided_by,
                v.reason
            );
        }
        let _ = crate::emit::write_unchanged(m, err);
    }
}

/// One diagnostic: `level: file:line: message [rule]`.
pub(super) fn print_diagnostic(err: &mut dyn Write, d: &Diagnostic) {
    let style = match d.level {
        Level::Error => ERR,
        Level::Warning => WARN,
        Level::Note => NOTE,
    };
    let rule = d.rule.map(|r| format!(" [{r}]")).unwrap_or_default();
    let _ = writeln!(err, "{}{}:{} {}{}{rule}", style.render(), d.level.label(), style.render_reset(), d.place(""), d.message);
}

/// What `--apply` did: files written, repairs, the verification. Returns whether all went
/// well (every file written, no error the migration introduced).
pub(super) fn report_finished(err: &mut dyn Write, m: &Migration, f: &Finished, quiet: bool) -> bool {
    let mut ok = true;
    for e in &f.write_errors {
        let _ = writeln!(err, "{}error:{} {e}", ERR.render(), ERR.render_reset());
        ok = false;
    }
    if !quiet {
        let repaired = f.repairs.as_ref().map_or(0, |r| r.kept.len());
        let _ = writeln!(err, "{}Applied{} {} changes to {} files", NOTE.render(), NOTE.render_reset(), m.changes().count() - repaired, f.written.len());
    }
    if let Some(reviewed) = &f.reviewed {
        report_reviewed(err, reviewed, quiet);
    }
    if let Some(repairs) = &f.repairs {
        for d in &repairs.diagnostics {
            print_diagnostic(err, d);
        }
        for c in &repairs.kept {
            let _ = writeln!(err, "{}repaired{} {}:{} (by {}): {}", NOTE.render(), NOTE.render_reset(), c.file, c.line, c.decided_by, c.reason);
        }
    }
    if let Some(v) = &f.verified {
        ok &= report_verify(err, v);
    }
    for c in &f.configurations {
        ok &= report_configuration(err, c);
    }
    ok
}

/// The verification of one more configuration (a feature the other way, for code split by
/// its cfg): one line when it builds as before, else its errors and reverts.
fn report_configuration(err: &mut dyn Write, c: &crate::ops::configs::ConfigurationChecked) -> bool {
    let v = &c.verified;
    let what = c.configuration.describe();
    if v.introduced.is_empty() {
        let before = if v.preexisting.is_empty() { String::new() } else { format!(" ({} error(s) there before, not the migration's)", v.preexisting.len()) };
        let _ = writeln!(err, "{}Verified{} with {what}: the split code builds{before}", NOTE.render(), NOTE.render_reset());
        return true;
    }
    let _ = writeln!(err, "{}error:{} with {what}, the migration introduced {} compile error(s):", ERR.render(), ERR.render_reset(), v.introduced.len());
    for e in &v.introduced {
        let _ = writeln!(err, "{}", e.rendered.trim_end());
    }
    for r in &v.reverted {
        let c = &r.change;
        let _ =
            writeln!(err, "{}reverted{} {}:{} [{}] {} ({}, with {what})", WARN.render(), WARN.render_reset(), c.file, c.line, c.rule, c.reason, r.step.why());
    }
    if v.remaining.is_empty() {
        let _ = writeln!(err, "{}Verified{} with {what}: after reverting, the code builds as before", NOTE.render(), NOTE.render_reset());
        true
    } else {
        let _ = writeln!(err, "{}error:{} THE BUILD IS BROKEN with {what}: {} new error(s) remain", ERR.render(), ERR.render_reset(), v.remaining.len());
        false
    }
}

/// What the review decided: the counts, then each change skipped (and each accepted one
/// that could not be written).
fn report_reviewed(err: &mut dyn Write, r: &Reviewed, quiet: bool) {
    if quiet {
        return;
    }
    let edited = if r.edited > 0 { format!(" ({} edited)", r.edited) } else { String::new() };
    let stopped = if r.stopped { "; stopped before the end (q)" } else { "" };
    let _ = writeln!(
        err,
        "{}Reviewed{} {} changes: {} accepted{edited}, {} skipped{stopped}",
        NOTE.render(),
        NOTE.render_reset(),
        r.accepted.len() + r.skipped.len() + r.dependent.len(),
        r.accepted.len() + r.dependent.len(),
        r.skipped.len()
    );
    for c in &r.skipped {
        let _ = writeln!(err, "{}skipped{} {}:{} [{}] {}", WARN.render(), WARN.render_reset(), c.file, c.line, c.rule, c.reason);
    }
}

/// The verification: errors that were there before, the new ones, what was reverted and
/// why. Returns whether the migration introduced no error.
fn report_verify(err: &mut dyn Write, v: &Verified) -> bool {
    if !v.preexisting.is_empty() {
        let _ =
            writeln!(err, "{}note:{} {} error(s) existed before the migration and are not its doing:", NOTE.render(), NOTE.render_reset(), v.preexisting.len());
        for e in &v.preexisting {
            let place = e.file.as_ref().map(|f| format!("{}: ", f.display())).unwrap_or_default();
            let _ = writeln!(err, "  {place}{}", e.message);
        }
    }
    if v.introduced.is_empty() {
        if v.preexisting.is_empty() {
            let _ = writeln!(err, "{}Verified{}: the migrated code builds", NOTE.render(), NOTE.render_reset());
        } else {
            let _ = writeln!(
                err,
                "{}Verified{}: the migration introduced no new errors (the build still fails with the errors above)",
                NOTE.render(),
                NOTE.render_reset()
            );
        }
        return true;
    }
    let _ = writeln!(err, "{}error:{} the migration introduced {} compile error(s):", ERR.render(), ERR.render_reset(), v.introduced.len());
    for e in &v.introduced {
        let _ = writeln!(err, "{}", e.rendered.trim_end());
    }
    for r in &v.reverted {
        let why = r.step.why();
        let c = &r.change;
        let _ = writeln!(err, "{}reverted{} {}:{} [{}] {} ({why})", WARN.render(), WARN.render_reset(), c.file, c.line, c.rule, c.reason);
    }
    if v.remaining.is_empty() {
        let _ = writeln!(err, "{}Verified{}: after reverting, the code builds as before", NOTE.render(), NOTE.render_reset());
    } else if v.policy == Policy::KeepRelease && !v.kept_broken {
        let _ = writeln!(
            err,
            "{}error:{} the upgrade is kept with {} error(s) left to finish by hand, at the sites listed above; \
             taking changes back did not fix them. Undo it with your VCS (`git checkout .`), or run again with --all-or-nothing",
            ERR.render(),
            ERR.render_reset(),
            v.remaining.len(),
        );
    } else {
        let _ = writeln!(
            err,
            "{}error:{} THE BUILD IS BROKEN: {} new error(s) remain{}",
            ERR.render(),
            ERR.render_reset(),
            v.remaining.len(),
            if v.kept_broken { " (kept because of --broken-code)" } else { " after reverting every change" }
        );
    }
    false
}

/// The progress display on stderr: a spinner with the current stage (hidden when stderr
/// is not a terminal, as indicatif does), and step lines printed above it.
pub(super) struct Spinner {
    bar: indicatif::ProgressBar,
    quiet: bool,
    color: ColorChoice,
}

impl Spinner {
    pub(super) fn new(quiet: bool, color: ColorChoice) -> Spinner {
        let bar = if quiet {
            indicatif::ProgressBar::hidden()
        } else {
            let bar = indicatif::ProgressBar::new_spinner();
            bar.set_style(indicatif::ProgressStyle::with_template("{spinner} {msg}").expect("valid template"));
            bar.enable_steady_tick(std::time::Duration::from_millis(120));
            bar
        };
        Spinner { bar, quiet, color }
    }

    /// Runs `f` with the spinner hidden (a question at the terminal).
    pub(super) fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        self.bar.suspend(f)
    }

    /// Removes the spinner before the report is printed.
    pub(super) fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl Progress for Spinner {
    fn stage(&self, what: &str) {
        self.bar.set_message(what.to_string());
    }

    fn step(&self, what: &str) {
        if self.quiet {
            return;
        }
        // The first word in the note style, as cargo heads its lines.
        let (head, rest) = what.split_once(' ').unwrap_or((what, ""));
        self.bar.suspend(|| {
            let mut err = stderr(self.color);
            let _ = writeln!(err, "{}{head}{} {rest}", NOTE.render(), NOTE.render_reset());
        });
    }
}
