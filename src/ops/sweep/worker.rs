//! One repository of a sweep, as its worker process runs it: fetch or locate it, find its
//! input (a commit, or a hash of the files), reuse a recorded result for the same key,
//! else migrate a throwaway copy of it (a git worktree at the input commit, or a copy of
//! the folder put under git) workspace by workspace, with `--apply` semantics inside the
//! copy so that `--verify` can run; the patch is `git diff` of the copy, which is exactly
//! what `git apply` on the input commit reproduces. With a branch, the copy is a worktree
//! on that new branch and the migration is committed there; the user's checkout and its
//! current branch are never touched, nothing is pushed.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::report::{RepoResult, ReviewSite, Status, VerifyResult};
use super::repos::{self, Location, Repo};
use crate::cargo::build::BuildConfig;
use crate::cargo::discover::Selection;
use crate::core::migration::Migration;
use crate::core::model::{Level, Safety, UnchangedReason};
use crate::judge::config::ModelConfig;
use crate::ops::finish::Finished;
use crate::ops::{edition, upgrade, ApplyOptions, Progress, WriteMode};

/// What a sweep does to each repository: the same for all of them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Options {
    /// `edition` or `upgrade:CRATE[@VERSION]`.
    pub migration: String,
    /// Whether the compiler phase runs (default mode), or syntax only.
    pub compiler: bool,
    /// The compiler phase's configuration.
    pub build: BuildConfig,
    /// The judge's model.
    pub judge: ModelConfig,
    /// `cargo check` after the migration, reverting what breaks.
    pub verify: bool,
    /// `--apply --branch NAME`: commit the migration on this new branch.
    pub branch: Option<String>,
}

impl Options {
    /// The migration as a request would take it: `None` for the edition, else the crate
    /// and the version.
    pub fn upgrade_spec(&self) -> Result<Option<(String, Option<String>)>, String> {
        match self.migration.as_str() {
            "edition" => Ok(None),
            m => match m.strip_prefix("upgrade:") {
                Some(spec) if !spec.is_empty() => upgrade::parse_spec(spec).map(Some).map_err(|e| e.to_string()),
                _ => Err(format!("unknown migration `{m}`: expected `edition` or `upgrade:CRATE[@VERSION]`")),
            },
        }
    }

    /// The options that change a result, in words (for the report).
    pub fn describe(&self) -> String {
        let mut parts = vec![if self.compiler { "default mode".to_string() } else { "syntax only".to_string() }];
        if self.compiler && self.build != BuildConfig::default() {
            parts.push(self.build.describe());
        }
        if self.verify {
            parts.push("verify".into());
        }
        if let Some(b) = &self.branch {
            parts.push(format!("apply on branch {b}"));
        }
        parts.join(", ")
    }
}

/// One worker's job.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Job {
    /// The repository.
    pub repo: Repo,
    /// What to do.
    pub options: Options,
    /// The sweep's output folder (the recorded result is read from there).
    pub out: PathBuf,
    /// Where URLs are cloned.
    pub cache: PathBuf,
    /// The folder the work copy goes in (`<out>/.sweep/work/<name>`), which the sweep
    /// removes when the worker is done however it ended, with the worktree it registered
    /// (none: the system's temporary folder).
    #[serde(default)]
    pub scratch: Option<PathBuf>,
}

/// What a worker produced: the result, and the migrations with the folder of their
/// workspace relative to the repository (`""` or `"sub/"`), for rendering the diff.
#[derive(Debug)]
pub struct RepoRun {
    /// The result (counts, notes, verify, branch; the diff and patch are the renderer's).
    pub result: RepoResult,
    /// The patch (`git diff` of the migrated copy), empty when nothing changed.
    pub patch: String,
    /// Each workspace's migration, with its folder prefix.
    pub migrations: Vec<(String, Migration)>,
    /// Whether the recorded result was reused (nothing ran).
    pub reused: bool,
}

/// The key under which a result is recorded: same key, same result.
pub fn key(input: &str, options: &Options) -> String {
    let mut h = Sha256::new();
    h.update(input.as_bytes());
    h.update([0]);
    h.update(env!("CARGO_PKG_VERSION").as_bytes());
    h.update([0]);
    h.update(serde_json::to_string(options).expect("options serialize").as_bytes());
    h.finalize().iter().take(16).map(|b| format!("{b:02x}")).collect()
}

/// The recorded result of `name` in `out`, if it parses.
pub fn recorded(out: &Path, name: &str) -> Option<RepoResult> {
    serde_json::from_str(&std::fs::read_to_string(out.join(format!("{name}.json"))).ok()?).ok()
}

/// A throwaway copy of the repository, removed when dropped (a git worktree is also
/// unregistered from its repository).
struct WorkCopy {
    dir: PathBuf,
    /// The repository whose worktree this is.
    worktree_of: Option<PathBuf>,
    _tmp: tempfile::TempDir,
}

impl Drop for WorkCopy {
    fn drop(&mut self) {
        if let Some(repo) = &self.worktree_of {
            let _ = repos::git(repo, &["worktree", "remove", "--force", &self.dir.to_string_lossy()]);
            let _ = repos::git(repo, &["worktree", "prune"]);
        }
    }
}

/// Removes a worker's `scratch` folder ([`Job::scratch`]) and, for a worktree a stopped
/// worker left in it, its registration in the repository it belongs to: nothing of the
/// work copy outlives the worker, whether it finished or was stopped.
pub fn remove_scratch(scratch: &Path) {
    for entry in std::fs::read_dir(scratch).into_iter().flatten().flatten() {
        let work = entry.path().join("work");
        let common = repos::git(&work, &["rev-parse", "--path-format=absolute", "--git-common-dir"]);
        let _ = std::fs::remove_dir_all(&work);
        if let Ok(common) = common {
            let _ = repos::git(Path::new(&common), &["worktree", "prune"]);
        }
    }
    let _ = std::fs::remove_dir_all(scratch);
}

/// Runs one job. Never fails: what goes wrong is the result's status and reason.
pub fn run(job: &Job, progress: &dyn Progress) -> RepoRun {
    let started = Instant::now();
    let repo = &job.repo;
    let failed = |input: &str, reason: String| {
        let mut result = RepoResult::new(&repo.name, &repo.source, input, &key(input, &job.options), Status::Failed);
        result.reason = Some(reason);
        result.seconds = started.elapsed().as_secs_f64();
        RepoRun { result, patch: String::new(), migrations: Vec::new(), reused: false }
    };
    // Where it is, and what its input is.
    let (dir, commit) = match &repo.location {
        Location::Url(url) => {
            progress.step(&format!("Fetching {url}"));
            match repos::clone_or_fetch(url, &repo.name, &job.cache) {
                Ok((dir, commit)) => (dir, Some(commit)),
                Err(e) => return failed("", e),
            }
        }
        Location::Local(path) if !path.is_dir() => return failed("", format!("{}: no such folder", path.display())),
        Location::Local(path) if repos::is_git_checkout(path) => match repos::git(path, &["rev-parse", "HEAD"]) {
            Ok(commit) => (path.clone(), Some(commit)),
            Err(e) => return failed("", format!("not a usable git checkout: {e}")),
        },
        Location::Local(path) => (path.clone(), None),
    };
    let input = match &commit {
        Some(c) => format!("git:{c}"),
        None => match repos::tree_hash(&dir) {
            Ok(h) => format!("tree:{h}"),
            Err(e) => return failed("", e),
        },
    };
    let key = key(&input, &job.options);
    if let Some(done) = recorded(&job.out, &repo.name).filter(|r| r.key == key && matches!(r.status, Status::Migrated | Status::Unchanged)) {
        return RepoRun { result: done, patch: String::new(), migrations: Vec::new(), reused: true };
    }
    let mut notes = Vec::new();
    if commit.is_some() && matches!(repo.location, Location::Local(_)) {
        let dirty = repos::git(&dir, &["status", "--porcelain", "--untracked-files=no"]).unwrap_or_default();
        if !dirty.is_empty() {
            if job.options.branch.is_some() {
                return failed(&input, "the checkout has uncommitted changes; --apply --branch needs a clean tree (commit or stash them)".into());
            }
            notes.push("note: the checkout has uncommitted changes; the sweep migrates its last commit".to_string());
        }
    }
    let work = match work_copy(&dir, commit.as_deref(), job.options.branch.as_deref(), job.scratch.as_deref()) {
        Ok(w) => w,
        Err(e) => return failed(&input, e),
    };
    let workspaces = match repos::workspaces(&work.dir) {
        Ok(w) => w,
        Err(e) => return failed(&input, e),
    };
    let spec = match job.options.upgrade_spec() {
        Ok(s) => s,
        Err(e) => return failed(&input, e),
    };

    let mut result = RepoResult::new(&repo.name, &repo.source, &input, &key, Status::Unchanged);
    result.workspaces = workspaces.clone();
    result.notes = notes;
    let mut migrations = Vec::new();
    let mut errors = Vec::new();
    let mut verify = VerifyResult { builds: true, preexisting: 0, introduced: 0, reverted: 0 };
    for ws in &workspaces {
        progress.step(&format!("Migrating {ws}"));
        let prefix = ws.strip_suffix("Cargo.toml").unwrap_or("").to_string();
        let selection = Selection { manifest_path: Some(work.dir.join(ws)), packages: Vec::new(), workspace: true };
        let write = WriteMode::Apply(ApplyOptions { allow_dirty: true, allow_no_vcs: false, verify: job.options.verify, broken_code: false });
        let ran = match &spec {
            None => {
                let mut req = edition::Request::new(selection);
                req.build = job.options.build.clone();
                req.compiler = job.options.compiler;
                req.judge = job.options.judge.clone();
                req.write = write;
                edition::run(&req, progress).map(|o| (o.migration, o.finished))
            }
            Some((krate, target)) => {
                let req = upgrade::Request {
                    krate: Some(krate.clone()),
                    target: target.clone(),
                    packs: Vec::new(),
                    selection,
                    build: job.options.build.clone(),
                    compiler: job.options.compiler,
                    judge: job.options.judge.clone(),
                    write,
                    repair: false,
                    // A sweep's patch is landed without a person finishing it: it builds as
                    // before or holds nothing.
                    all_or_nothing: true,
                };
                match upgrade::run(&req, progress) {
                    Ok(o) => Ok((o.upgrade.migration, o.finished)),
                    Err(e) if e.downcast_ref::<upgrade::UpgradeError>().is_some_and(|u| matches!(u, upgrade::UpgradeError::NotADependency(_))) => {
                        result.notes.push(format!("note: {ws}: {e}"));
                        continue;
                    }
                    Err(e) => Err(e),
                }
            }
        };
        match ran {
            Ok((migration, finished)) => {
                add_counts(&mut result, &prefix, &migration, finished.as_ref(), &mut verify);
                migrations.push((prefix, migration));
            }
            Err(e) => errors.push(format!("{ws}: {e:#}")),
        }
    }
    if job.options.verify {
        result.verify = Some(verify);
    }
    let patch = repos::git_raw(&work.dir, &["diff", "--no-color", "--no-ext-diff"]);
    let patch = match patch {
        Ok(p) => p,
        Err(e) => return failed(&input, e),
    };
    if !errors.is_empty() {
        result.status = Status::Failed;
        result.reason = Some(errors.join("; "));
    } else if !patch.is_empty() {
        result.status = Status::Migrated;
        if let Some(branch) = &job.options.branch {
            match commit_migration(&work.dir, &result) {
                Ok(c) => {
                    result.branch = Some(branch.clone());
                    result.commit = Some(c);
                }
                Err(e) => {
                    result.status = Status::Failed;
                    result.reason = Some(format!("could not commit on branch {branch}: {e}"));
                }
            }
        }
    }
    if result.status == Status::Failed || (result.status == Status::Unchanged && job.options.branch.is_some()) {
        // Nothing is committed: the new branch (if any) goes too.
        drop_branch(&dir, &work, job.options.branch.as_deref());
    }
    result.seconds = started.elapsed().as_secs_f64();
    RepoRun { result, patch, migrations, reused: false }
}

/// The throwaway copy: a worktree of `dir` at `commit` (on the new `branch`, if given), or
/// a copy of a plain folder put under git so that its patch is a `git diff` too; in
/// `scratch` if given, else in the system's temporary folder.
fn work_copy(dir: &Path, commit: Option<&str>, branch: Option<&str>, scratch: Option<&Path>) -> Result<WorkCopy, String> {
    let mut builder = tempfile::Builder::new();
    builder.prefix("cargo-migrate-sweep-");
    let tmp = match scratch {
        Some(scratch) => std::fs::create_dir_all(scratch).and_then(|()| builder.tempdir_in(scratch)),
        None => builder.tempdir(),
    }
    .map_err(|e| format!("cannot make a temporary folder: {e}"))?;
    let path = tmp.path().join("work");
    let path_text = path.to_string_lossy().into_owned();
    match commit {
        Some(commit) => {
            let mut args = vec!["worktree", "add", "--quiet"];
            match branch {
                Some(b) => args.extend(["-b", b]),
                None => args.push("--detach"),
            }
            args.extend([path_text.as_str(), commit]);
            repos::git(dir, &args)?;
            Ok(WorkCopy { dir: path, worktree_of: Some(dir.to_path_buf()), _tmp: tmp })
        }
        None => {
            if branch.is_some() {
                return Err("not a git checkout: --apply --branch needs git".to_string());
            }
            repos::copy_tree(dir, &path).map_err(|e| format!("cannot copy {}: {e}", dir.display()))?;
            let ident = ["-c", "user.name=cargo-migrate", "-c", "user.email=cargo-migrate@localhost", "-c", "commit.gpgsign=false"];
            repos::git(&path, &["init", "--quiet"])?;
            repos::git(&path, &["add", "-A"])?;
            let mut commit_args = ident.to_vec();
            commit_args.extend(["commit", "--quiet", "--allow-empty", "-m", "input"]);
            repos::git(&path, &commit_args)?;
            Ok(WorkCopy { dir: path, worktree_of: None, _tmp: tmp })
        }
    }
}

/// Commits the migrated tracked files on the worktree's branch; the message lists the
/// rules applied and the needs-review count. Returns the commit.
fn commit_migration(work: &Path, result: &RepoResult) -> Result<String, String> {
    let rules: Vec<String> = result.by_rule.iter().map(|(r, n)| format!("- {r}: {n}")).collect();
    let message = format!(
        "cargo migrate: {} change(s) in {} file(s), {} to review\n\nMade by `cargo migrate sweep` ({}).\n\nRules applied:\n{}\n\nNeeds review: {} change(s).\n",
        result.changes,
        result.files,
        result.needs_review,
        env!("CARGO_PKG_VERSION"),
        rules.join("\n"),
        result.needs_review
    );
    repos::git(work, &["add", "--update"])?;
    let configured = repos::git(work, &["config", "user.email"]).is_ok_and(|e| !e.is_empty());
    let mut args: Vec<&str> = if configured { Vec::new() } else { vec!["-c", "user.name=cargo-migrate", "-c", "user.email=cargo-migrate@localhost"] };
    args.extend(["commit", "--quiet", "--no-verify", "-m", &message]);
    repos::git(work, &args)?;
    repos::git(work, &["rev-parse", "HEAD"])
}

/// Removes the worktree and deletes the branch made for it (nothing was committed).
fn drop_branch(dir: &Path, work: &WorkCopy, branch: Option<&str>) {
    let Some(branch) = branch else { return };
    let _ = repos::git(dir, &["worktree", "remove", "--force", &work.dir.to_string_lossy()]);
    let _ = repos::git(dir, &["branch", "-D", branch]);
}

/// Adds a workspace's migration and finish to the repository's counts.
fn add_counts(result: &mut RepoResult, prefix: &str, m: &Migration, finished: Option<&Finished>, verify: &mut VerifyResult) {
    for c in m.changes() {
        result.changes += 1;
        *result.by_rule.entry(c.rule.to_string()).or_default() += 1;
        if c.safety == Safety::NeedsReview {
            result.needs_review += 1;
            result.review.push(ReviewSite { file: format!("{prefix}{}", c.file), line: c.line, rule: c.rule.to_string(), reason: c.reason.clone() });
        }
    }
    result.files += m.files.len();
    result.judged += m.verdicts.len();
    for d in m.diagnostics.iter().filter(|d| d.level != Level::Note || d.file.is_none()) {
        result.notes.push(format!("{}: {}{}", d.level.label(), d.place(prefix), d.message));
    }
    // Sites left for a person (not those kept on purpose or left out by the run's flags).
    let for_a_person =
        [UnchangedReason::NeedsReview, UnchangedReason::Conflict, UnchangedReason::ForeignMacro, UnchangedReason::HeldBack, UnchangedReason::Reverted];
    for u in m.unchanged.iter().filter(|u| for_a_person.contains(&u.reason)) {
        let place = match (&u.file, u.line) {
            (Some(f), Some(l)) => format!("{prefix}{f}:{l}: "),
            (Some(f), None) => format!("{prefix}{f}: "),
            _ => String::new(),
        };
        result.notes.push(format!("not changed ({}): {place}{} [{}]", u.reason.label(), u.detail, u.rule));
    }
    if let Some(v) = finished.and_then(|f| f.verified.as_ref()) {
        verify.builds &= v.remaining.is_empty();
        verify.preexisting += v.preexisting.len();
        verify.introduced += v.introduced.len();
        verify.reverted += v.reverted.len();
    }
    if let Some(f) = finished {
        for e in &f.write_errors {
            result.notes.push(format!("error: {e}"));
        }
    }
}
