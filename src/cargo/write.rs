//! Apply: write the migrated files. Each file is written atomically (a temporary file in
//! the same folder, then a rename) and only if it still holds exactly what was read; a
//! package's files are written together or not at all; links are written through.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::core::migration::{FileResult, Migration};

/// The version-control state of the workspace.
#[derive(Debug, PartialEq, Eq)]
pub enum VcsState {
    /// Not inside a git work tree (or git is not installed).
    NoVcs,
    /// Nothing uncommitted.
    Clean,
    /// Uncommitted or untracked files, as `git status --porcelain` lists them.
    Dirty(Vec<String>),
}

/// Asks git about the work tree holding `dir`.
pub fn vcs_state(dir: &Path) -> VcsState {
    let inside = Command::new("git").arg("-C").arg(dir).args(["rev-parse", "--is-inside-work-tree"]).output();
    match inside {
        Ok(o) if o.status.success() && String::from_utf8_lossy(&o.stdout).trim() == "true" => {}
        _ => return VcsState::NoVcs,
    }
    let status = Command::new("git").arg("-C").arg(dir).args(["status", "--porcelain", "--", "."]).output();
    let top = Command::new("git").arg("-C").arg(dir).args(["rev-parse", "--show-toplevel"]).output();
    let top = top.ok().filter(|o| o.status.success()).map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    match status {
        Ok(o) if o.status.success() => {
            let dirty: Vec<String> =
                String::from_utf8_lossy(&o.stdout).lines().filter(|l| !cargo_output(l, top.as_deref().unwrap_or(dir))).map(|l| l.to_string()).collect();
            if dirty.is_empty() {
                VcsState::Clean
            } else {
                VcsState::Dirty(dirty)
            }
        }
        _ => VcsState::NoVcs,
    }
}

/// Whether a `git status --porcelain` line is an untracked file that cargo itself makes
/// when the tool builds (a dry run's compiler phase does): a `Cargo.lock`, or a target
/// directory (cargo marks every one with `CACHEDIR.TAG`). Neither is the user's work, and
/// `--apply` changes neither, so they do not make the tree dirty.
fn cargo_output(line: &str, top: &Path) -> bool {
    let Some(path) = line.strip_prefix("?? ") else { return false };
    let path = path.trim_matches('"').trim_end_matches('/');
    path == "Cargo.lock" || path.ends_with("/Cargo.lock") || top.join(path).join("CACHEDIR.TAG").is_file()
}

/// Why a file was not written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The file on disk is no longer what was read.
    #[error("{0} changed on disk since it was read; not written (run again)")]
    ChangedOnDisk(String),
    /// An I/O error.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// Not written because another file of its package could not be: a package's changes
    /// land together or not at all.
    #[error("{path} not written: {because} could not be written, and a package's changes land together or not at all")]
    HeldBack {
        /// The file.
        path: String,
        /// The file of the same package that failed.
        because: String,
    },
    /// Two paths of the migration are one file (links), with different new texts.
    #[error("{path} and {other} are the same file (a symbolic link), and their changes differ; neither is written")]
    SameFile {
        /// One path.
        path: String,
        /// The other.
        other: String,
    },
}

/// What [`apply`] did.
#[derive(Debug, Default)]
pub struct Applied {
    /// Files written.
    pub written: Vec<PathBuf>,
    /// Files not written, and why.
    pub failed: Vec<WriteError>,
}

/// A file ready to replace its target: the new text is in a temporary file beside it.
struct Staged<'m> {
    result: &'m FileResult,
    target: PathBuf,
    tmp: tempfile::NamedTempFile,
}

/// Writes every changed file of the migration, package by package: first every file of
/// a package is checked to still hold what was read and its new text is written to a
/// temporary file beside it; only if all of that succeeded are the temporary files
/// renamed over the originals. A package with a file that fails is not written at all
/// (its other files are reported as held back); the other packages still are. A path
/// that is a symbolic link is written through: the file it points to changes, the link
/// stays, and a file reached through two paths is written once.
pub fn apply(m: &Migration) -> Applied {
    let mut applied = Applied::default();
    let mut by_package: BTreeMap<&str, Vec<&FileResult>> = BTreeMap::new();
    for result in m.files.values() {
        by_package.entry(result.file.package.as_str()).or_default().push(result);
    }
    let mut targets: BTreeMap<PathBuf, &FileResult> = BTreeMap::new();
    for files in by_package.values() {
        let mut staged: Vec<Staged<'_>> = Vec::new();
        let mut failure: Option<(String, WriteError)> = None;
        for result in files {
            let display = &result.file.display;
            let target = std::fs::canonicalize(&result.file.path).unwrap_or_else(|_| result.file.path.clone());
            if let Some(first) = targets.get(&target) {
                if first.new_text == result.new_text {
                    continue; // the same file through another path: written once
                }
                failure = Some((display.clone(), WriteError::SameFile { path: display.clone(), other: first.file.display.clone() }));
                break;
            }
            match stage(result, &target) {
                Ok(s) => {
                    targets.insert(target, result);
                    staged.push(s);
                }
                Err(e) => {
                    failure = Some((display.clone(), e));
                    break;
                }
            }
        }
        if let Some((because, error)) = failure {
            applied.failed.push(error);
            for result in files.iter().filter(|r| r.file.display != because) {
                applied.failed.push(WriteError::HeldBack { path: result.file.display.clone(), because: because.clone() });
            }
            continue; // the staged temporary files are removed when dropped
        }
        for s in staged {
            let io = |source| WriteError::Io { path: s.result.file.display.clone(), source };
            match s.tmp.persist(&s.target) {
                Ok(_) => applied.written.push(s.result.file.path.clone()),
                Err(e) => applied.failed.push(io(e.error)),
            }
        }
    }
    applied
}

/// Checks that `result`'s file still holds what was read and writes its new text to a
/// temporary file beside `target` (the file itself, links resolved), with its permissions.
fn stage<'m>(result: &'m FileResult, target: &Path) -> Result<Staged<'m>, WriteError> {
    let display = &result.file.display;
    let io = |source| WriteError::Io { path: display.clone(), source };
    let current = std::fs::read(target).map_err(io)?;
    if current != result.file.text.as_bytes() {
        return Err(WriteError::ChangedOnDisk(display.clone()));
    }
    let dir = target.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new().prefix(".cargo-migrate").tempfile_in(dir).map_err(io)?;
    tmp.write_all(result.new_text.as_bytes()).map_err(io)?;
    tmp.as_file().sync_all().map_err(io)?;
    let permissions = std::fs::metadata(target).map_err(io)?.permissions();
    std::fs::set_permissions(tmp.path(), permissions).map_err(io)?;
    Ok(Staged { result, target: target.to_path_buf(), tmp })
}

/// Replaces the content of `path` by `new` if it is still `expected`, atomically. A
/// symbolic link is written through (the file it points to changes; the link stays).
pub fn write_if_unchanged(path: &Path, display: &str, expected: &str, new: &str) -> Result<(), WriteError> {
    let io = |source| WriteError::Io { path: display.to_string(), source };
    let path = &std::fs::canonicalize(path).map_err(io)?;
    let current = std::fs::read(path).map_err(io)?;
    if current != expected.as_bytes() {
        return Err(WriteError::ChangedOnDisk(display.to_string()));
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new().prefix(".cargo-migrate").tempfile_in(dir).map_err(io)?;
    tmp.write_all(new.as_bytes()).map_err(io)?;
    tmp.as_file().sync_all().map_err(io)?;
    let permissions = std::fs::metadata(path).map_err(io)?.permissions();
    std::fs::set_permissions(tmp.path(), permissions).map_err(io)?;
    tmp.persist(path).map_err(|e| io(e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_a_file_that_changed_since_it_was_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.rs");
        std::fs::write(&path, "fn gen() {}\n").unwrap();
        let err = write_if_unchanged(&path, "a.rs", "fn other() {}\n", "x").unwrap_err();
        assert!(matches!(err, WriteError::ChangedOnDisk(_)));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "fn gen() {}\n");
        write_if_unchanged(&path, "a.rs", "fn gen() {}\n", "fn r#gen() {}\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "fn r#gen() {}\n");
        // No temporary file is left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    fn result(dir: &Path, name: &str, package: &str, text: &str, new: &str) -> FileResult {
        FileResult {
            file: crate::core::text::SourceFile {
                path: dir.join(name),
                display: name.to_string(),
                kind: crate::core::text::FileKind::Rust,
                package: package.to_string(),
                cfg: crate::core::model::CfgStatus::Active,
                text: text.to_string(),
            },
            new_text: new.to_string(),
            changes: Vec::new(),
            passes: 1,
            later_rounds: Vec::new(),
        }
    }

    #[test]
    fn a_package_is_written_whole_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in [("a1.rs", "a1"), ("a2.rs", "edited meanwhile"), ("b.rs", "b")] {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        let mut m = Migration::default();
        for r in [result(dir.path(), "a1.rs", "a", "a1", "A1"), result(dir.path(), "a2.rs", "a", "a2", "A2"), result(dir.path(), "b.rs", "b", "b", "B")] {
            m.files.insert(r.file.display.clone(), r);
        }
        let applied = apply(&m);
        let read = |n: &str| std::fs::read_to_string(dir.path().join(n)).unwrap();
        // a2.rs changed on disk: package a is not written at all; package b is.
        assert_eq!((read("a1.rs"), read("a2.rs"), read("b.rs")), ("a1".into(), "edited meanwhile".into(), "B".into()));
        let failed: Vec<String> = applied.failed.iter().map(|e| e.to_string()).collect();
        assert_eq!(
            failed,
            [
                "a2.rs changed on disk since it was read; not written (run again)",
                "a1.rs not written: a2.rs could not be written, and a package's changes land together or not at all"
            ]
        );
        assert_eq!(applied.written, [dir.path().join("b.rs")]);
        // No temporary file is left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 3);
    }

    #[cfg(unix)]
    #[test]
    fn a_file_reached_through_a_link_and_its_own_path_is_written_once() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("real.rs"), "x").unwrap();
        std::os::unix::fs::symlink("real.rs", dir.path().join("link.rs")).unwrap();
        let mut m = Migration::default();
        for r in [result(dir.path(), "real.rs", "p", "x", "y"), result(dir.path(), "link.rs", "p", "x", "y")] {
            m.files.insert(r.file.display.clone(), r);
        }
        let applied = apply(&m);
        assert!(applied.failed.is_empty(), "{:?}", applied.failed);
        assert_eq!(applied.written.len(), 1);
        assert_eq!(std::fs::read_to_string(dir.path().join("real.rs")).unwrap(), "y");
        assert!(std::fs::symlink_metadata(dir.path().join("link.rs")).unwrap().file_type().is_symlink());
    }

    #[cfg(unix)]
    #[test]
    fn keeps_permissions() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("build.rs");
        std::fs::write(&path, "a").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        write_if_unchanged(&path, "build.rs", "a", "b").unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o755);
    }
}
