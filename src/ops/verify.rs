//! Verify: the compiler as the final check. After applying, `cargo check --all-targets`
//! runs on the new edition. Errors that were there before the migration are reported as
//! such; for new ones, the changes near each error are reverted first, then whole files
//! with errors, then — when the errors are elsewhere (a change in one file breaking
//! another) — the changed files are bisected to find the one to take back, and only if
//! that fails is everything reverted. Each step re-checks, so that as much of the
//! migration as possible is kept and the crate builds as well as before.
//!
//! An upgrade ([`Policy::KeepRelease`]) keeps the new release: its errors are not the
//! changes' doing, and taking everything back would throw away the changes that the new
//! release needs. Only the steps that leave fewer new errors are kept; what is left is
//! reported as the sites to finish by hand (the upgrade has listed each with its note).

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::{Context, Result};

use crate::cargo::check::{CheckCommand, CompileError};
use crate::cargo::write::write_if_unchanged;
use crate::core::migration::{FileResult, Migration};
use crate::core::model::Change;
use crate::core::plan::apply_edits;
use crate::core::text::LineIndex;

/// A change taken back, and why.
#[derive(Debug, Clone)]
pub struct Reverted {
    /// The change.
    pub change: Change,
    /// Which step reverted it.
    pub step: RevertStep,
}

/// The steps of reverting, from the narrowest to the widest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevertStep {
    /// The change is on the lines of a new error.
    NearError,
    /// Its file still had a new error after the narrow step.
    File,
    /// The new errors were in other files: bisecting the changed files found its file to
    /// be the one whose changes break the build.
    Bisected,
    /// The build was still worse than before: everything was taken back.
    Everything,
}

impl RevertStep {
    /// Why a change was taken back at this step, in a few words.
    pub fn why(self) -> &'static str {
        match self {
            RevertStep::NearError => "on the lines of a new error",
            RevertStep::File => "its file still had a new error",
            RevertStep::Bisected => "the new errors were elsewhere, and bisecting the changed files found this file's changes to cause them",
            RevertStep::Everything => "the build was still worse than before",
        }
    }
}

/// What verification found and did.
#[derive(Debug, Default)]
pub struct Verified {
    /// Errors present before the migration too: not the migration's.
    pub preexisting: Vec<CompileError>,
    /// Errors the migration introduced (before reverting).
    pub introduced: Vec<CompileError>,
    /// Changes taken back.
    pub reverted: Vec<Reverted>,
    /// New errors left after reverting (or kept with `keep_broken`).
    pub remaining: Vec<CompileError>,
    /// Whether the new errors were kept on purpose (`--broken-code`).
    pub kept_broken: bool,
    /// What verify was allowed to take back.
    pub policy: Policy,
}

/// What verify may take back when the migration made the build worse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Policy {
    /// Everything if need be: the build ends as it was before (`edition`, and `upgrade
    /// --all-or-nothing`).
    #[default]
    AsBefore,
    /// Only what makes the build worse than the new release alone (`upgrade`): the
    /// manifests' changes (the new release) stay; a step of taking back is kept only if
    /// it leaves fewer new errors and none that was not there; the bisection runs only for
    /// errors in files the migration did not change; nothing is taken back wholesale. The errors left are the sites the
    /// upgrade listed, for the user to finish.
    KeepRelease,
}

/// Checks the applied migration against the `baseline` errors (from before it). Unless
/// `keep_broken`, reverts changes as the module docs describe, within what `policy`
/// allows. `root` resolves the compiler's relative paths. Without a `baseline`, the
/// build before the migration is checked only if the migrated code has errors (the
/// original texts put back for that one check): a migration that builds costs one
/// `cargo check`.
pub fn verify(m: &Migration, cmd: &CheckCommand, baseline: Option<&[CompileError]>, root: &Path, keep_broken: bool, policy: Policy) -> Result<Verified> {
    let after = cmd.errors()?;
    let checked_before;
    let baseline = match baseline {
        Some(known) => known,
        None if after.is_empty() => &[],
        None => {
            checked_before = errors_before(m, cmd)?;
            &checked_before
        }
    };
    let known: BTreeSet<_> = baseline.iter().map(CompileError::key).collect();
    let is_new = |e: &CompileError| !known.contains(&e.key());
    let (introduced, preexisting): (Vec<_>, Vec<_>) = after.into_iter().partition(|e| is_new(e));
    let mut report = Verified { preexisting, introduced: introduced.clone(), kept_broken: keep_broken, policy, ..Verified::default() };
    if introduced.is_empty() || keep_broken {
        report.remaining = if keep_broken { introduced } else { Vec::new() };
        return Ok(report);
    }
    // Which changes of each file are still applied.
    let mut kept: Vec<Vec<bool>> = m.files.values().map(|f| vec![true; f.changes.len()]).collect();
    let mut errors = introduced;
    let files: Vec<&FileResult> = m.files.values().collect();
    // The files whose changes this policy never takes back: the new release.
    let fixed: Vec<bool> = files.iter().map(|f| policy == Policy::KeepRelease && is_manifest(&f.file.path)).collect();
    let steps: &[RevertStep] = match policy {
        Policy::AsBefore => &[RevertStep::NearError, RevertStep::File, RevertStep::Bisected, RevertStep::Everything],
        Policy::KeepRelease => &[RevertStep::NearError, RevertStep::File, RevertStep::Bisected],
    };
    for &step in steps {
        // The files whose changes the bisection finds to break the build. Keeping the
        // release, it runs only when errors are in files the migration did not change,
        // and a half is to blame when taking it back leaves fewer new errors (the
        // release's own errors stay whatever is taken back).
        let elsewhere = || errors.iter().any(|e| e.file.as_ref().is_some_and(|f| !files.iter().any(|r| same_file(&r.file.path, f, root))));
        let culprits = match (step, policy) {
            (RevertStep::Bisected, Policy::AsBefore) => {
                bisect_files(&files, &kept, &mut |reverted| builds_with(&files, &kept, reverted, cmd, &|errors| !errors.iter().any(&is_new)))?
            }
            (RevertStep::Bisected, Policy::KeepRelease) if elsewhere() => {
                let now = errors.len();
                let suspects: Vec<bool> = fixed.iter().map(|f| !f).collect();
                bisect_files_among(&files, &kept, &suspects, &mut |reverted| {
                    builds_with(&files, &kept, reverted, cmd, &|errors| errors.iter().filter(|e| is_new(e)).count() < now)
                })?
            }
            _ => None,
        };
        if step == RevertStep::Bisected && culprits.is_none() {
            continue;
        }
        let before_step = kept.clone();
        let mut written: Vec<(usize, String, String)> = Vec::new();
        let mut step_reverted = Vec::new();
        for (i, result) in m.files.values().enumerate() {
            if fixed[i] {
                continue;
            }
            let hits: Vec<usize> = (0..result.changes.len())
                .filter(|&c| kept[i][c])
                .filter(|&c| match step {
                    RevertStep::NearError => result.passes == 1 && errors.iter().any(|e| near(result, c, e, root)),
                    RevertStep::File => errors.iter().any(|e| e.file.as_ref().is_some_and(|f| same_file(&result.file.path, f, root))),
                    RevertStep::Bisected => culprits.as_ref().is_some_and(|c| c.contains(&i)),
                    RevertStep::Everything => true,
                })
                .collect();
            if hits.is_empty() {
                continue;
            }
            let current = text_with(result, &kept[i])?;
            hits.iter().for_each(|&c| kept[i][c] = false);
            // A file of later passes cannot be rebuilt change by change: all or nothing.
            if result.passes > 1 {
                kept[i].iter_mut().for_each(|k| *k = false);
            }
            let reverted = text_with(result, &kept[i])?;
            write_if_unchanged(&result.file.path, &result.file.display, &current, &reverted)?;
            step_reverted.extend(
                (0..result.changes.len())
                    .filter(|&c| !kept[i][c] && (hits.contains(&c) || result.passes > 1))
                    .map(|c| Reverted { change: result.changes[c].clone(), step }),
            );
            written.push((i, current, reverted));
        }
        if written.is_empty() {
            continue;
        }
        let after: Vec<CompileError> = cmd.errors()?.into_iter().filter(|e| is_new(e)).collect();
        // Better means fewer errors and none of a new kind: rustc stops before type checking
        // when a name does not resolve, so a change taken back that brings back a
        // `cannot find` hides errors rather than fixing them.
        let before: BTreeSet<_> = errors.iter().map(CompileError::key).collect();
        let better = after.len() < errors.len() && after.iter().all(|e| before.contains(&e.key()));
        if policy == Policy::KeepRelease && !better {
            // Taking these back did not help: the errors are the new release's, and the
            // changes are what it needs. Put them back.
            for (i, current, reverted) in &written {
                write_if_unchanged(&files[*i].file.path, &files[*i].file.display, reverted, current)?;
            }
            kept = before_step;
            continue;
        }
        report.reverted.extend(step_reverted);
        errors = after;
        if errors.is_empty() {
            break;
        }
    }
    report.reverted.dedup_by(|a, b| a.change == b.change);
    report.remaining = errors;
    Ok(report)
}

/// Whether `path` is a package manifest (where an upgrade's new release is written).
fn is_manifest(path: &Path) -> bool {
    path.file_name().is_some_and(|n| n == "Cargo.toml")
}

/// How many `cargo check` runs the bisection may make.
const MAX_BISECT_CHECKS: usize = 12;

/// Finds the changed file whose changes (those still `kept`) break the build, by
/// bisection: `builds(reverted)` writes the files with the files of `reverted` taken back
/// (the others as kept), checks, and says whether no new error is left; it leaves the
/// files as it found them. Assumes one culprit file, and checks that assumption: `None`
/// when it does not hold (two halves each break the build), when the search would take
/// more than [`MAX_BISECT_CHECKS`] checks, or when one file is all there is to try.
fn bisect_files(files: &[&FileResult], kept: &[Vec<bool>], builds: &mut dyn FnMut(&BTreeSet<usize>) -> Result<bool>) -> Result<Option<BTreeSet<usize>>> {
    bisect_files_among(files, kept, &vec![true; files.len()], builds)
}

/// [`bisect_files`] among the files `suspects` marks.
fn bisect_files_among(
    files: &[&FileResult],
    kept: &[Vec<bool>],
    suspects: &[bool],
    builds: &mut dyn FnMut(&BTreeSet<usize>) -> Result<bool>,
) -> Result<Option<BTreeSet<usize>>> {
    let mut suspects: Vec<usize> = (0..files.len()).filter(|&i| suspects[i] && kept[i].iter().any(|k| *k)).collect();
    if suspects.len() < 2 {
        return Ok(None);
    }
    let mut checks = 0;
    while suspects.len() > 1 {
        if checks + 2 > MAX_BISECT_CHECKS {
            return Ok(None);
        }
        let (a, b) = suspects.split_at(suspects.len() / 2);
        let (a, b): (BTreeSet<usize>, BTreeSet<usize>) = (a.iter().copied().collect(), b.iter().copied().collect());
        checks += 1;
        if builds(&a)? {
            suspects = a.into_iter().collect();
            continue;
        }
        checks += 1;
        if builds(&b)? {
            suspects = b.into_iter().collect();
            continue;
        }
        return Ok(None);
    }
    // The one left: confirm that taking it back alone is enough.
    let culprit: BTreeSet<usize> = suspects.into_iter().collect();
    if checks + 1 > MAX_BISECT_CHECKS || !builds(&culprit)? {
        return Ok(None);
    }
    Ok(Some(culprit))
}

/// Writes the files with the files of `reverted` taken back and the others as `kept`,
/// checks, and writes the kept texts back; returns what `good` says of the errors.
fn builds_with(
    files: &[&FileResult],
    kept: &[Vec<bool>],
    reverted: &BTreeSet<usize>,
    cmd: &CheckCommand,
    good: &dyn Fn(&[CompileError]) -> bool,
) -> Result<bool> {
    let current: Vec<(usize, String)> = reverted.iter().map(|&i| Ok((i, text_with(files[i], &kept[i])?))).collect::<Result<_>>()?;
    for (i, text) in &current {
        write_if_unchanged(&files[*i].file.path, &files[*i].file.display, text, &files[*i].file.text)?;
    }
    let clean = cmd.errors().map(|errors| good(&errors));
    for (i, text) in &current {
        write_if_unchanged(&files[*i].file.path, &files[*i].file.display, &files[*i].file.text, text)?;
    }
    clean
}

/// The build's errors with every file of the applied migration `m` back as it was read
/// (a file that still holds its read text, its package not written, is left as it is),
/// then the migrated texts written again (each write only if the file holds what was
/// written before it: nothing another process changed meanwhile is overwritten).
fn errors_before(m: &Migration, cmd: &CheckCommand) -> Result<Vec<CompileError>> {
    let files: Vec<&FileResult> = m.files.values().collect();
    let mut put_back = Vec::new();
    let mut failed = None;
    for f in &files {
        // A file whose package could not be written holds its original text already.
        if std::fs::read(&f.file.path).is_ok_and(|now| now == f.file.text.as_bytes()) {
            continue;
        }
        match write_if_unchanged(&f.file.path, &f.file.display, &f.new_text, &f.file.text) {
            Ok(()) => put_back.push(f),
            Err(e) => {
                failed = Some(e);
                break;
            }
        }
    }
    let errors = if failed.is_none() { Some(cmd.errors()) } else { None };
    // The migrated texts again, every file that was put back, whatever happened above.
    let mut rewritten = Ok(());
    for f in put_back {
        if let Err(e) = write_if_unchanged(&f.file.path, &f.file.display, &f.file.text, &f.new_text) {
            rewritten = rewritten.and(Err(e));
        }
    }
    rewritten.context("cannot write the migrated code back after checking the build before it")?;
    if let Some(e) = failed {
        return Err(e).context("cannot put the original code back to check the build before the migration");
    }
    errors.expect("checked when nothing failed")
}

/// The text of a file with only the `kept` changes applied (all changes of a one-pass file
/// are relative to the original text).
fn text_with(result: &FileResult, kept: &[bool]) -> Result<String> {
    if kept.iter().all(|k| *k) {
        return Ok(result.new_text.clone());
    }
    if kept.iter().all(|k| !*k) {
        return Ok(result.file.text.clone());
    }
    let edits: Vec<_> = result.changes.iter().zip(kept).filter(|(_, k)| **k).flat_map(|(c, _)| c.edits.iter().cloned()).collect();
    apply_edits(&result.file.text, &edits).with_context(|| format!("cannot rebuild {}", result.file.display))
}

/// Whether change `c` of a file lies on or next to the lines of error `e` (lines of the
/// migrated text).
fn near(result: &FileResult, c: usize, e: &CompileError, root: &Path) -> bool {
    let (Some(file), Some((first, last))) = (&e.file, e.lines) else { return false };
    if !same_file(&result.file.path, file, root) {
        return false;
    }
    let lines = LineIndex::new(&result.new_text);
    // Where the change's edits ended up in the new text: shift by the edits before them.
    let mut all: Vec<(usize, &crate::core::model::Edit)> = result.changes.iter().enumerate().flat_map(|(i, ch)| ch.edits.iter().map(move |e| (i, e))).collect();
    all.sort_by_key(|(_, e)| (e.range.start, e.range.end));
    let mut shift: isize = 0;
    for (i, edit) in all {
        let start = (edit.range.start as isize + shift) as usize;
        let end = start + edit.replacement.len();
        shift += edit.replacement.len() as isize - edit.range.len() as isize;
        if i != c {
            continue;
        }
        let (a, b) = (lines.line(start), lines.line(end.min(result.new_text.len())));
        if a <= last + 1 && first <= b + 1 {
            return true;
        }
    }
    false
}

fn same_file(path: &Path, reported: &Path, root: &Path) -> bool {
    if reported.is_absolute() {
        return path == reported;
    }
    // The compiler reports paths relative to the workspace.
    path == root.join(reported) || path.ends_with(reported)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::model::{CfgStatus, Decider, Edit, Safety};
    use crate::core::text::{FileKind, SourceFile};

    fn change(line: usize, edits: Vec<Edit>) -> Change {
        Change {
            rule: "r",
            reason: String::new(),
            safety: Safety::Safe,
            decided_by: Decider::Rule,
            file: "src/lib.rs".into(),
            line,
            cfg: CfgStatus::Active,
            edits,
        }
    }

    fn file(n: usize) -> FileResult {
        FileResult {
            file: SourceFile {
                path: format!("/w/src/f{n}.rs").into(),
                display: format!("src/f{n}.rs"),
                kind: FileKind::Rust,
                package: "p".into(),
                cfg: CfgStatus::Active,
                text: String::new(),
            },
            new_text: String::new(),
            changes: vec![change(1, Vec::new())],
            passes: 1,
            later_rounds: Vec::new(),
        }
    }

    #[test]
    fn bisection_finds_the_one_file_that_breaks_the_build_in_few_checks() {
        let results: Vec<FileResult> = (0..8).map(file).collect();
        let files: Vec<&FileResult> = results.iter().collect();
        let mut kept = vec![vec![true]; 8];
        kept[2] = vec![false]; // nothing left to revert there: not a suspect
        for culprit in [0, 3, 5, 7] {
            let mut checks = 0;
            let found = bisect_files(&files, &kept, &mut |reverted| {
                checks += 1;
                assert!(!reverted.contains(&2));
                Ok(reverted.contains(&culprit))
            })
            .unwrap();
            assert_eq!(found, Some(BTreeSet::from([culprit])));
            assert!(checks <= 7, "{checks} checks for 7 suspects");
        }
        // Two files each break the build: no single culprit, so no answer.
        let found = bisect_files(&files, &kept, &mut |reverted| Ok(reverted.contains(&1) && reverted.contains(&6))).unwrap();
        assert_eq!(found, None);
        // A build that stays broken whatever is taken back: no answer either.
        assert_eq!(bisect_files(&files, &kept, &mut |_| Ok(false)).unwrap(), None);
        // One changed file is all there is: the file step already took it back.
        assert_eq!(bisect_files(&files[..1], &kept[..1], &mut |_| Ok(true)).unwrap(), None);
    }

    #[test]
    fn blames_the_change_on_the_error_lines_in_the_migrated_text() {
        let text = "a\nb\nc\nd\n".to_string();
        // The first change inserts two lines above `c`, so the second one (on `d`) sits
        // on line 6 of the migrated text.
        let changes = vec![change(3, vec![Edit::insert(4, "x\ny\n")]), change(4, vec![Edit::insert(6, "z")])];
        let new_text = apply_edits(&text, &changes.iter().flat_map(|c| c.edits.clone()).collect::<Vec<_>>()).unwrap();
        assert_eq!(new_text, "a\nb\nx\ny\nc\nzd\n");
        let result = FileResult {
            file: SourceFile {
                path: "/w/src/lib.rs".into(),
                display: "src/lib.rs".into(),
                kind: FileKind::Rust,
                package: "p".into(),
                cfg: CfgStatus::Active,
                text,
            },
            new_text,
            changes,
            passes: 1,
            later_rounds: Vec::new(),
        };
        let error = |line| CompileError { file: Some("src/lib.rs".into()), lines: Some((line, line)), message: String::new(), rendered: String::new() };
        let root = Path::new("/w");
        assert!(near(&result, 1, &error(6), root));
        assert!(!near(&result, 0, &error(1), root));
        assert!(!near(&result, 1, &error(2), root));
        assert!(near(&result, 0, &error(3), root));
        assert_eq!(text_with(&result, &[false, true]).unwrap(), "a\nb\nc\nzd\n");
    }
}
