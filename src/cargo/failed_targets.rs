//! What the compiler phase learned in an earlier run about the targets of a package that do
//! not build with `--all-features` (tokio's tests that need a feature combination): the
//! next run checks them in the default configuration only, instead of failing them again
//! first — cargo caches nothing of a target that failed, so each run would rebuild it.
//!
//! Kept in the target directory (`cargo-migrate/failed-targets/`), one small JSON file per
//! package and configuration, with a fingerprint of the package's files (paths, sizes,
//! modification times, as cargo's own freshness check) and of this executable: any change
//! forgets it, and a stale record is only a hint, checked by the build that uses it.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The record of one package in one configuration.
#[derive(Debug, Clone)]
pub struct FailedTargets {
    file: PathBuf,
    fingerprint: u64,
}

#[derive(Serialize, Deserialize)]
struct Stored {
    fingerprint: u64,
    failed: Vec<(String, String)>,
}

impl FailedTargets {
    /// The record for the package whose manifest is `manifest`, checked with `config` (its
    /// cargo flags, as one string), under `target_dir`. Reads the package's file tree for
    /// the fingerprint (not `target_dir`, nor hidden folders).
    pub fn new(target_dir: &Path, manifest: &Path, config: &str) -> FailedTargets {
        let mut key = DefaultHasher::new();
        (manifest, config, env!("CARGO_PKG_VERSION")).hash(&mut key);
        let mut print = DefaultHasher::new();
        if let Ok(exe) = std::env::current_exe().and_then(|e| e.metadata()) {
            (exe.len(), exe.modified().ok()).hash(&mut print);
        }
        if let Some(dir) = manifest.parent() {
            let mut files = Vec::new();
            walk(dir, target_dir, &mut files);
            files.sort();
            files.hash(&mut print);
        }
        let file = target_dir.join("cargo-migrate").join("failed-targets").join(format!("{:016x}.json", key.finish()));
        FailedTargets { file, fingerprint: print.finish() }
    }

    /// The targets that failed last time, if the package has not changed since.
    pub fn load(&self) -> Option<Vec<(String, String)>> {
        let stored: Stored = serde_json::from_slice(&std::fs::read(&self.file).ok()?).ok()?;
        (stored.fingerprint == self.fingerprint && !stored.failed.is_empty()).then_some(stored.failed)
    }

    /// Records the targets that failed (best effort: a read-only target directory only
    /// costs the next run its time). Written as the verdict cache writes: a temporary file
    /// of its own, renamed, so that two runs at once never read half a record.
    pub fn store(&self, failed: &[(String, String)]) {
        let write = || -> std::io::Result<()> {
            let dir = self.file.parent().unwrap_or(Path::new("."));
            std::fs::create_dir_all(dir)?;
            let mut tmp = tempfile::Builder::new().prefix(".failed-targets-").suffix(".tmp").tempfile_in(dir)?;
            serde_json::to_writer(&mut tmp, &Stored { fingerprint: self.fingerprint, failed: failed.to_vec() })?;
            tmp.persist(&self.file).map_err(|e| e.error)?;
            Ok(())
        };
        let _ = write();
    }

    /// Forgets the record (every target built).
    pub fn forget(&self) {
        let _ = std::fs::remove_file(&self.file);
    }
}

/// Every file under `dir` as (path, size, modification time), but `skip` and hidden
/// folders (`.git`) and `target`.
fn walk(dir: &Path, skip: &Path, out: &mut Vec<(PathBuf, u64, Option<std::time::SystemTime>)>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(kind) = entry.file_type() else { continue };
        if kind.is_dir() {
            let name = entry.file_name();
            if path == skip || name == "target" || name.to_string_lossy().starts_with('.') {
                continue;
            }
            walk(&path, skip, out);
        } else if let Ok(meta) = entry.metadata() {
            out.push((path, meta.len(), meta.modified().ok()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_holds_until_a_file_of_the_package_changes() {
        let dir = tempfile::tempdir().unwrap();
        let pkg = dir.path().join("pkg");
        std::fs::create_dir_all(pkg.join("tests")).unwrap();
        std::fs::write(pkg.join("Cargo.toml"), "[package]\n").unwrap();
        std::fs::write(pkg.join("tests/a.rs"), "fn main() {}\n").unwrap();
        let target = pkg.join("target");
        let record = FailedTargets::new(&target, &pkg.join("Cargo.toml"), "--all-features");
        assert_eq!(record.load(), None);
        let failed = vec![("test".to_string(), "a".to_string())];
        record.store(&failed);
        assert_eq!(FailedTargets::new(&target, &pkg.join("Cargo.toml"), "--all-features").load(), Some(failed.clone()));
        // Another configuration has its own record.
        assert_eq!(FailedTargets::new(&target, &pkg.join("Cargo.toml"), "").load(), None);
        // A file in the target directory is not the package's.
        std::fs::create_dir_all(&target).unwrap();
        std::fs::write(target.join("x"), "1").unwrap();
        assert_eq!(FailedTargets::new(&target, &pkg.join("Cargo.toml"), "--all-features").load(), Some(failed));
        // A changed source file forgets it.
        std::fs::write(pkg.join("tests/a.rs"), "fn main() { let _x = 1; }\n").unwrap();
        assert_eq!(FailedTargets::new(&target, &pkg.join("Cargo.toml"), "--all-features").load(), None);
        record.forget();
    }
}
