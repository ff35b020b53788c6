//! The sweep's results as data: one [`RepoResult`] per repository (written as
//! `<name>.json` beside its `<name>.patch` and `<name>.log`) and the [`SweepReport`]
//! (`report.json`) that sums them. The schema is documented in `docs/sweep.md`; its
//! version is [`REPORT_VERSION`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Version of `report.json`'s and `<name>.json`'s shape; bumped on any incompatible change.
pub const REPORT_VERSION: u32 = 1;

/// What happened to one repository.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// The migration found changes (written to the patch; committed with `--apply`).
    Migrated,
    /// Nothing to change.
    Unchanged,
    /// The repository could not be migrated (see `reason`): a clone that failed, no
    /// `Cargo.toml`, a manifest that does not parse, a worker that crashed, ...
    Failed,
    /// The worker ran past `--timeout` and was stopped.
    TimedOut,
}

impl Status {
    /// The label used in reports and filters.
    pub fn label(self) -> &'static str {
        match self {
            Status::Migrated => "migrated",
            Status::Unchanged => "unchanged",
            Status::Failed => "failed",
            Status::TimedOut => "timed-out",
        }
    }
}

/// The `--verify` result of a repository.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyResult {
    /// Whether the migrated code builds as well as before (no error the migration introduced remains).
    pub builds: bool,
    /// Errors the build had before the migration too.
    pub preexisting: usize,
    /// Errors the migration introduced (before reverting).
    pub introduced: usize,
    /// Changes taken back to get there.
    pub reverted: usize,
}

/// A site a person should look at: a needs-review change, or a verdict that fell back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewSite {
    /// File, relative to the repository root.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// The rule or lint.
    pub rule: String,
    /// Why it needs a look.
    pub reason: String,
}

/// One repository's result.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RepoResult {
    /// Version of this document's shape ([`REPORT_VERSION`]).
    pub version: u32,
    /// The repository's name in the sweep (unique; its files are `<name>.*`).
    pub name: String,
    /// Where it came from: a local path or a git URL, as the repository list gave it.
    pub source: String,
    /// The input it was migrated from: `git:<commit>` or `tree:<sha256 of the files>`.
    pub input: String,
    /// What decides whether a later run can reuse this result: input, migration, tool
    /// version and the options that change the outcome.
    pub key: String,
    /// The outcome.
    pub status: Status,
    /// Why it failed or timed out.
    pub reason: Option<String>,
    /// Workspaces migrated, by the path of their root manifest relative to the repository.
    pub workspaces: Vec<String>,
    /// Number of changes.
    pub changes: usize,
    /// Files changed.
    pub files: usize,
    /// Changes by rule id.
    pub by_rule: BTreeMap<String, usize>,
    /// Sites the judge decided (heuristics or model).
    pub judged: usize,
    /// Changes marked needs-review.
    pub needs_review: usize,
    /// Sites to look at first: needs-review changes.
    pub review: Vec<ReviewSite>,
    /// Notes, warnings and errors of the migration (one line each, with place).
    pub notes: Vec<String>,
    /// `--verify`'s result, if asked.
    pub verify: Option<VerifyResult>,
    /// The annotated diff (no colors), for the report page.
    pub diff: String,
    /// The patch file (`<name>.patch`, `git apply`-able on the input commit), if anything changed.
    pub patch: Option<String>,
    /// With `--apply --branch`: the branch created and the commit made on it.
    pub branch: Option<String>,
    /// The commit on `branch`.
    pub commit: Option<String>,
    /// Wall time of this repository, in seconds.
    pub seconds: f64,
}

impl RepoResult {
    /// A result without changes, for `name`: the start of every result.
    pub fn new(name: &str, source: &str, input: &str, key: &str, status: Status) -> RepoResult {
        RepoResult {
            version: REPORT_VERSION,
            name: name.to_string(),
            source: source.to_string(),
            input: input.to_string(),
            key: key.to_string(),
            status,
            reason: None,
            workspaces: Vec::new(),
            changes: 0,
            files: 0,
            by_rule: BTreeMap::new(),
            judged: 0,
            needs_review: 0,
            review: Vec::new(),
            notes: Vec::new(),
            verify: None,
            diff: String::new(),
            patch: None,
            branch: None,
            commit: None,
            seconds: 0.0,
        }
    }
}

/// Which share of the repository list a report covers (`--shard K/N`, 1-based).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Shard {
    /// K.
    pub index: usize,
    /// N.
    pub count: usize,
}

/// Sums over the repositories.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Totals {
    /// Repositories in the report.
    pub repositories: usize,
    /// Repositories by status label.
    pub by_status: BTreeMap<String, usize>,
    /// Changes.
    pub changes: usize,
    /// Changes by rule id.
    pub by_rule: BTreeMap<String, usize>,
    /// Judged sites.
    pub judged: usize,
    /// Needs-review changes.
    pub needs_review: usize,
    /// Repositories whose verify found the build broken.
    pub verify_broken: usize,
    /// Sum of the repositories' wall times, in seconds.
    pub seconds: f64,
}

/// `report.json`: the whole sweep (or one shard of it, or a merge of shards).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SweepReport {
    /// Version of this document's shape ([`REPORT_VERSION`]).
    pub version: u32,
    /// The `cargo-migrate` version that made it.
    pub tool_version: String,
    /// The migration: `edition` or `upgrade:CRATE[@VERSION]`.
    pub migration: String,
    /// The options that change outcomes (syntax only, verify, apply), as one string.
    pub options: String,
    /// The shards it covers (one for a sharded run, all N after a merge, none unsharded).
    pub shards: Vec<Shard>,
    /// Every repository, by name.
    pub repositories: Vec<RepoResult>,
    /// Sums.
    pub totals: Totals,
    /// Repositories whose recorded result was reused (same key), in this run.
    pub reused: usize,
    /// Wall time of the run (or the longest shard's, after a merge), in seconds.
    pub seconds: f64,
}

impl Totals {
    /// Sums `repositories`.
    pub fn of(repositories: &[RepoResult]) -> Totals {
        let mut t = Totals { repositories: repositories.len(), ..Totals::default() };
        for r in repositories {
            *t.by_status.entry(r.status.label().to_string()).or_default() += 1;
            t.changes += r.changes;
            for (rule, n) in &r.by_rule {
                *t.by_rule.entry(rule.clone()).or_default() += n;
            }
            t.judged += r.judged;
            t.needs_review += r.needs_review;
            t.verify_broken += usize::from(r.verify.as_ref().is_some_and(|v| !v.builds));
            t.seconds += r.seconds;
        }
        t
    }
}
