//! The repositories of a sweep: read from `--repos` (a folder of checkouts, or a file
//! listing local paths and git URLs), named uniquely, given a stable identity for
//! sharding; then, per repository, the input it is migrated from (a commit, or a hash of
//! the files) and the Cargo workspaces it holds.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Where a repository is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Location {
    /// A folder on this machine (a git checkout or a plain folder).
    Local(PathBuf),
    /// A git URL, cloned into the sweep's cache (`file://` URLs too).
    Url(String),
}

/// One repository of the list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Repo {
    /// Its name in the sweep: the folder or URL's last segment, made unique.
    pub name: String,
    /// As the list gave it (an absolute path for local folders): its identity.
    pub source: String,
    /// Where it is.
    pub location: Location,
}

impl Repo {
    /// The shard (1-based) of `count` this repository falls in: a stable hash of its
    /// identity, the same on every machine and run.
    pub fn shard(&self, count: usize) -> usize {
        let digest = Sha256::digest(self.source.as_bytes());
        let n = u64::from_be_bytes(digest[..8].try_into().expect("8 bytes"));
        (n % count.max(1) as u64) as usize + 1
    }
}

/// Whether a line of the list is a git URL rather than a local path.
fn is_url(line: &str) -> bool {
    line.contains("://") || (line.starts_with("git@") && line.contains(':'))
}

/// The name a source gives: its last path segment, without `.git`.
fn base_name(source: &str) -> String {
    let trimmed = source.trim_end_matches('/');
    let last = trimmed.rsplit(['/', ':', '\\']).next().unwrap_or(trimmed);
    let name = last.strip_suffix(".git").unwrap_or(last);
    let clean: String = name.chars().map(|c| if c.is_ascii_alphanumeric() || "-_.".contains(c) { c } else { '_' }).collect();
    if clean.is_empty() || clean.starts_with('.') {
        format!("repo{clean}")
    } else {
        clean
    }
}

/// Reads `--repos`: a folder (each folder inside it that is not hidden is a repository)
/// or a file (one local path or git URL a line; `#` comments and blank lines ignored;
/// relative paths are relative to the file). Names are made unique: a name given twice
/// gets a short hash of its source, and a warning says so.
pub fn list(repos: &Path) -> Result<(Vec<Repo>, Vec<String>)> {
    let mut found = Vec::new();
    if repos.is_dir() {
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(repos)
            .with_context(|| format!("cannot read {}", repos.display()))?
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_dir() && !p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')))
            .collect();
        dirs.sort();
        for dir in dirs {
            let abs = std::fs::canonicalize(&dir).unwrap_or(dir);
            found.push((abs.display().to_string(), Location::Local(abs)));
        }
    } else if repos.is_file() {
        let text = std::fs::read_to_string(repos).with_context(|| format!("cannot read the repository list {}", repos.display()))?;
        let base = repos.parent().unwrap_or(Path::new("."));
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
            if is_url(line) {
                found.push((line.to_string(), Location::Url(line.to_string())));
            } else {
                let path = base.join(line);
                let abs = std::fs::canonicalize(&path).unwrap_or(path);
                found.push((abs.display().to_string(), Location::Local(abs)));
            }
        }
    } else {
        bail!("--repos {}: no such folder or file (give a folder of checkouts or a file listing paths and git URLs)", repos.display());
    }
    let mut warnings = Vec::new();
    let mut seen_sources = BTreeSet::new();
    found.retain(|(source, _)| {
        let fresh = seen_sources.insert(source.clone());
        if !fresh {
            warnings.push(format!("{source} is listed twice; swept once"));
        }
        fresh
    });
    let mut by_name: BTreeMap<String, usize> = BTreeMap::new();
    for (source, _) in &found {
        *by_name.entry(base_name(source)).or_default() += 1;
    }
    let repos = found
        .into_iter()
        .map(|(source, location)| {
            let base = base_name(&source);
            let name = if by_name[&base] > 1 {
                let hash = Sha256::digest(source.as_bytes());
                let unique = format!("{base}-{:02x}{:02x}{:02x}", hash[0], hash[1], hash[2]);
                warnings.push(format!("two repositories are named `{base}`: {source} is `{unique}`"));
                unique
            } else {
                base
            };
            Repo { name, source, location }
        })
        .collect();
    Ok((repos, warnings))
}

/// Runs git with `args` in `dir`; its trimmed stdout, or its stderr as the error.
pub fn git(dir: &Path, args: &[&str]) -> Result<String, String> {
    git_raw(dir, args).map(|out| out.trim().to_string())
}

/// Runs git with `args` in `dir`; its stdout as it is (a patch keeps its last blank
/// context line), or its stderr as the error.
pub fn git_raw(dir: &Path, args: &[&str]) -> Result<String, String> {
    let out = Command::new("git").arg("-C").arg(dir).args(args).output().map_err(|e| format!("cannot run git: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        let err = String::from_utf8_lossy(&out.stderr);
        Err(format!("git {}: {}", args.join(" "), err.lines().find(|l| !l.trim().is_empty()).unwrap_or("failed").trim()))
    }
}

/// Whether `dir` is the top of a git work tree.
pub fn is_git_checkout(dir: &Path) -> bool {
    git(dir, &["rev-parse", "--show-toplevel"]).is_ok_and(|top| Path::new(&top).canonicalize().ok() == dir.canonicalize().ok())
}

/// Clones (or fetches) a URL into `cache/<name>` and returns the folder and the commit
/// of the remote's HEAD.
pub fn clone_or_fetch(url: &str, name: &str, cache: &Path) -> Result<(PathBuf, String), String> {
    let dir = cache.join(name);
    if dir.join(".git").is_dir() {
        git(&dir, &["fetch", "--quiet", "origin", "HEAD"])?;
        let commit = git(&dir, &["rev-parse", "FETCH_HEAD"])?;
        return Ok((dir, commit));
    }
    std::fs::create_dir_all(cache).map_err(|e| format!("cannot create {}: {e}", cache.display()))?;
    let out = Command::new("git").args(["clone", "--quiet", url]).arg(&dir).output().map_err(|e| format!("cannot run git: {e}"))?;
    if !out.status.success() {
        let _ = std::fs::remove_dir_all(&dir);
        let err = String::from_utf8_lossy(&out.stderr);
        let why = err.lines().find(|l| l.starts_with("fatal:")).or_else(|| err.lines().rev().find(|l| !l.trim().is_empty())).unwrap_or("git clone failed");
        return Err(format!("cannot clone {url}: {}", why.trim_start_matches("fatal:").trim()));
    }
    let commit = git(&dir, &["rev-parse", "HEAD"])?;
    Ok((dir, commit))
}

/// Folders a walk of a repository never enters.
fn skipped_dir(name: &str) -> bool {
    name.starts_with('.') || name == "target" || name == "node_modules"
}

/// A hash of a plain folder's files (paths and bytes, `target/` and hidden folders left
/// out): its identity for resuming when it is not a git checkout.
pub fn tree_hash(root: &Path) -> Result<String, String> {
    fn walk(root: &Path, dir: &Path, hasher: &mut Sha256) -> Result<(), String> {
        let mut entries: Vec<PathBuf> =
            std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?.flatten().map(|e| e.path()).collect();
        entries.sort();
        for path in entries {
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let meta = std::fs::symlink_metadata(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            if meta.is_dir() {
                if !skipped_dir(&name) {
                    walk(root, &path, hasher)?;
                }
            } else if meta.is_file() {
                let rel = path.strip_prefix(root).unwrap_or(&path).to_string_lossy().replace('\\', "/");
                hasher.update(rel.as_bytes());
                hasher.update([0]);
                hasher.update(std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?);
                hasher.update([0]);
            }
        }
        Ok(())
    }
    let mut hasher = Sha256::new();
    walk(root, root, &mut hasher)?;
    Ok(hasher.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// Copies a plain folder (without `target/` and hidden folders) to `to`.
pub fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)?.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        let meta = std::fs::symlink_metadata(&path)?;
        if meta.is_dir() {
            if !skipped_dir(&name) {
                copy_tree(&path, &to.join(&name))?;
            }
        } else if meta.is_file() {
            std::fs::copy(&path, to.join(&name))?;
        }
    }
    Ok(())
}

/// The Cargo workspaces of a repository: the root manifest of each, relative to `root`,
/// sorted. Every `Cargo.toml` outside `target/` and hidden folders is considered, the
/// shallowest first; a manifest that is a member of a workspace already found is not a
/// workspace of its own, nor is one inside a member package's folder (test fixtures),
/// unless it declares `[workspace]` itself. A manifest cargo cannot read is an error
/// naming it.
pub fn workspaces(root: &Path) -> Result<Vec<String>, String> {
    fn manifests(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if path.is_dir() {
                if !skipped_dir(&name) {
                    manifests(&path, out);
                }
            } else if name == "Cargo.toml" {
                out.push(path);
            }
        }
    }
    let mut candidates = Vec::new();
    manifests(root, &mut candidates);
    candidates.sort_by_key(|p| (p.components().count(), p.clone()));
    if candidates.is_empty() {
        return Err("no Cargo.toml in the repository".to_string());
    }
    let mut covered: BTreeSet<PathBuf> = BTreeSet::new();
    let mut package_dirs: Vec<PathBuf> = Vec::new();
    let mut roots = Vec::new();
    for manifest in candidates {
        if covered.contains(&manifest) {
            continue;
        }
        let text = std::fs::read_to_string(&manifest).unwrap_or_default();
        let declares_workspace = text.lines().any(|l| l.trim() == "[workspace]");
        if !declares_workspace && package_dirs.iter().any(|d| manifest.starts_with(d)) {
            continue;
        }
        let rel = manifest.strip_prefix(root).unwrap_or(&manifest).to_string_lossy().replace('\\', "/");
        let meta = cargo_metadata::MetadataCommand::new().no_deps().manifest_path(&manifest).exec().map_err(|e| {
            let text = e.to_string();
            let first = text.lines().find(|l| l.contains("error")).or_else(|| text.lines().next()).unwrap_or("cargo metadata failed").trim().to_string();
            format!("{rel}: cargo cannot read this manifest: {first}")
        })?;
        let ws_root = meta.workspace_root.as_std_path().join("Cargo.toml");
        for package in meta.workspace_packages() {
            let path = package.manifest_path.as_std_path().to_path_buf();
            if let Some(dir) = path.parent() {
                package_dirs.push(dir.to_path_buf());
            }
            covered.insert(path);
        }
        covered.insert(ws_root.clone());
        let ws_rel = ws_root.strip_prefix(root).unwrap_or(&ws_root).to_string_lossy().replace('\\', "/");
        if !roots.contains(&ws_rel) {
            roots.push(ws_rel);
        }
    }
    roots.sort();
    Ok(roots)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_urls_and_shards() {
        assert_eq!(base_name("https://example.com/org/serde.git"), "serde");
        assert_eq!(base_name("git@host:org/tokio.git"), "tokio");
        assert_eq!(base_name("/srv/checkouts/my crate/"), "my_crate");
        assert!(is_url("file:///tmp/x.git") && is_url("git@host:org/x") && !is_url("../x"));
        let repo = Repo { name: "a".into(), source: "file:///a.git".into(), location: Location::Url("file:///a.git".into()) };
        // Stable: the same identity falls in the same shard, whatever the machine.
        assert_eq!(repo.shard(16), repo.shard(16));
        assert!((1..=16).contains(&repo.shard(16)));
        assert_eq!(repo.shard(1), 1);
    }
}
