//! Verify: the compiler as the final check. After applying, `cargo check --all-targets`
//! runs on the new edition; files whose changes bring new errors are reverted, and what
//! was already broken before the migration is reported as such, not blamed on it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result};
use cargo_metadata::diagnostic::DiagnosticLevel;
use cargo_metadata::Message;

use crate::apply::write_if_unchanged;
use crate::pipeline::Migration;

/// One compiler error, keyed so that it can be compared across builds.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct CompileError {
    /// File of the primary span, as the compiler printed it (relative to the package).
    pub file: Option<PathBuf>,
    /// The message's first line.
    pub message: String,
    /// The rendered diagnostic, for the report.
    pub rendered: String,
}

impl CompileError {
    fn key(&self) -> (Option<&Path>, &str) {
        (self.file.as_deref(), &self.message)
    }
}

/// How to run `cargo check`.
#[derive(Clone, Debug)]
pub struct CheckCommand {
    /// The workspace's root manifest.
    pub manifest_path: PathBuf,
    /// Packages to check (`-p`); all selected packages.
    pub packages: Vec<String>,
}

impl CheckCommand {
    /// Runs `cargo check --all-targets --message-format=json` and returns its errors.
    pub fn errors(&self) -> Result<Vec<CompileError>> {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
        let mut cmd = Command::new(cargo);
        cmd.args(["check", "--all-targets", "--message-format=json", "--quiet"]).arg("--manifest-path").arg(&self.manifest_path);
        for p in &self.packages {
            cmd.args(["-p", p]);
        }
        let output = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).output().context("cannot run `cargo check`")?;
        let mut errors = Vec::new();
        for message in Message::parse_stream(output.stdout.as_slice()) {
            let Ok(Message::CompilerMessage(msg)) = message else { continue };
            let d = msg.message;
            if d.level != DiagnosticLevel::Error || d.message.starts_with("aborting due to") {
                continue;
            }
            let file = d.spans.iter().find(|s| s.is_primary).map(|s| PathBuf::from(&s.file_name));
            errors.push(CompileError { file, message: d.message.clone(), rendered: d.rendered.clone().unwrap_or(d.message) });
        }
        if errors.is_empty() && !output.status.success() {
            // Cargo itself failed (a manifest error, a missing dependency): not per file.
            let stderr = String::from_utf8_lossy(&output.stderr).trim().to_string();
            errors.push(CompileError { file: None, message: stderr.lines().next().unwrap_or("cargo check failed").to_string(), rendered: stderr });
        }
        errors.sort();
        errors.dedup();
        Ok(errors)
    }
}

/// What verification found and did.
#[derive(Debug, Default)]
pub struct Verified {
    /// Errors present before the migration too: not the migration's.
    pub preexisting: Vec<CompileError>,
    /// Errors the migration introduced (before reverting).
    pub introduced: Vec<CompileError>,
    /// Files whose changes were reverted, with the rules of those changes.
    pub reverted: BTreeMap<String, BTreeSet<&'static str>>,
    /// Errors left after reverting (new ones only): the build is worse than before.
    pub remaining: Vec<CompileError>,
}

/// Checks the applied migration against the `baseline` errors (from before it). Unless
/// `keep_broken`, reverts the files whose changes introduced errors, then everything if
/// that was not enough. `root` resolves the compiler's relative paths.
pub fn verify(m: &Migration, cmd: &CheckCommand, baseline: &[CompileError], root: &Path, keep_broken: bool) -> Result<Verified> {
    let known: BTreeSet<_> = baseline.iter().map(CompileError::key).collect();
    let after = cmd.errors()?;
    let (preexisting, introduced): (Vec<_>, Vec<_>) = after.into_iter().partition(|e| known.contains(&e.key()));
    let mut report = Verified { preexisting, introduced: introduced.clone(), ..Verified::default() };
    if introduced.is_empty() || keep_broken {
        report.remaining = if keep_broken { introduced } else { Vec::new() };
        return Ok(report);
    }
    // First the files the errors point at; if errors remain, every changed file.
    let blamed: BTreeSet<String> = introduced
        .iter()
        .filter_map(|e| e.file.as_ref())
        .filter_map(|f| m.files.values().find(|r| same_file(&r.file.path, f, root)).map(|r| r.file.display.clone()))
        .collect();
    let rounds: [Box<dyn Fn(&str) -> bool>; 2] = [Box::new(|d: &str| blamed.contains(d)), Box::new(|_: &str| true)];
    for should_revert in rounds {
        for (display, result) in &m.files {
            if report.reverted.contains_key(display) || !should_revert(display) {
                continue;
            }
            write_if_unchanged(&result.file.path, display, &result.new_text, &result.file.text)?;
            report.reverted.insert(display.clone(), result.changes.iter().map(|c| c.rule).collect());
        }
        let now = cmd.errors()?;
        report.remaining = now.into_iter().filter(|e| !known.contains(&e.key())).collect();
        if report.remaining.is_empty() {
            break;
        }
    }
    Ok(report)
}

fn same_file(path: &Path, reported: &Path, root: &Path) -> bool {
    if reported.is_absolute() {
        return path == reported;
    }
    // The compiler reports paths relative to the package or the workspace.
    path.ends_with(reported) || path == root.join(reported)
}
