//! One `cargo check` of the workspace and its errors, comparable across builds: the
//! baseline before a migration, the check after it, and each step of the verify
//! bisection use it.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use anyhow::{Context, Result};
use cargo_metadata::diagnostic::DiagnosticLevel;
use cargo_metadata::Message;

/// One compiler error, keyed so that it can be compared across builds.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct CompileError {
    /// File of the primary span, as the compiler printed it (relative to the workspace).
    pub file: Option<PathBuf>,
    /// First and last line of the primary span.
    pub lines: Option<(usize, usize)>,
    /// The message's first line.
    pub message: String,
    /// The rendered diagnostic, for the report.
    pub rendered: String,
}

impl CompileError {
    /// What makes two errors "the same" across builds: lines shift, files and messages do not.
    pub fn key(&self) -> (Option<&Path>, &str) {
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
    /// Features and target (the default features unless a build of another
    /// configuration is asked for: `ops::configs`).
    pub config: crate::cargo::build::BuildConfig,
}

impl CheckCommand {
    /// Runs `cargo check --message-format=json` (every target, or the kinds its
    /// configuration names) and returns its errors.
    pub fn errors(&self) -> Result<Vec<CompileError>> {
        // `--keep-going` matters here: with it, which target fails first (it varies between
        // runs) cannot make an old error look new.
        let mut cmd = crate::cargo::build::check_command(&self.manifest_path, &self.packages, &self.config);
        cmd.arg("--quiet");
        tracing::info!("running {cmd:?}");
        let output = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).output().context("cannot run `cargo check`")?;
        let mut errors = Vec::new();
        for message in Message::parse_stream(output.stdout.as_slice()) {
            let Ok(Message::CompilerMessage(msg)) = message else { continue };
            let d = msg.message;
            if d.level != DiagnosticLevel::Error || d.message.starts_with("aborting due to") {
                continue;
            }
            let primary = d.spans.iter().find(|s| s.is_primary);
            errors.push(CompileError {
                file: primary.map(|s| PathBuf::from(&s.file_name)),
                lines: primary.map(|s| (s.line_start, s.line_end)),
                message: d.message.clone(),
                rendered: d.rendered.clone().unwrap_or(d.message),
            });
        }
        if errors.is_empty() && !output.status.success() {
            // Cargo itself failed (a manifest error, a missing dependency): not per file.
            let stderr = String::from_utf8_lossy(&output.stderr).trim().to_string();
            errors.push(CompileError { file: None, lines: None, message: stderr.lines().next().unwrap_or("cargo check failed").to_string(), rendered: stderr });
        }
        errors.sort();
        errors.dedup();
        Ok(errors)
    }
}
