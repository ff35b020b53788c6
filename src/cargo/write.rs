//! Apply: write the migrated files. Each file is written atomically (a temporary file in
//! the same folder, then a rename) and only if it still holds exactly what was read.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::core::migration::Migration;

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
    match status {
        Ok(o) if o.status.success() => {
            let dirty: Vec<String> = String::from_utf8_lossy(&o.stdout).lines().map(|l| l.to_string()).collect();
            if dirty.is_empty() {
                VcsState::Clean
            } else {
                VcsState::Dirty(dirty)
            }
        }
        _ => VcsState::NoVcs,
    }
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
}

/// What [`apply`] did.
#[derive(Debug, Default)]
pub struct Applied {
    /// Files written.
    pub written: Vec<PathBuf>,
    /// Files not written, and why.
    pub failed: Vec<WriteError>,
}

/// Writes every changed file of the migration. A file that fails is reported; the others
/// are still written.
pub fn apply(m: &Migration) -> Applied {
    let mut applied = Applied::default();
    for result in m.files.values() {
        match write_if_unchanged(&result.file.path, &result.file.display, &result.file.text, &result.new_text) {
            Ok(()) => applied.written.push(result.file.path.clone()),
            Err(e) => applied.failed.push(e),
        }
    }
    applied
}

/// Replaces the content of `path` by `new` if it is still `expected`, atomically.
pub fn write_if_unchanged(path: &Path, display: &str, expected: &str, new: &str) -> Result<(), WriteError> {
    let io = |source| WriteError::Io { path: display.to_string(), source };
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
