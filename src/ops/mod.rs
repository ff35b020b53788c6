//! Operations: what a front end asks for. Each takes a plain request (configuration
//! already resolved: selection, rules, build configuration, model, write mode) and
//! returns a plain outcome (the migration, verdicts, notes, what was written, verified
//! and reverted). Operations print nothing and never exit the process; they report
//! progress through [`Progress`], which the CLI renders with indicatif and a sweep would
//! log per repository.
//!
//! - [`edition`]: move a workspace to a new edition.
//! - [`explain`]: what a change, judge site or error left means for this code (a model's
//!   text when one answers, else the facts and the rule's documentation).
//! - [`upgrade`]: move a workspace across breaking releases of a dependency.
//! - [`finish`]: the sequence every operation ends with when it writes:
//!   review → baseline build → write → repair → verify.
//! - [`review`]: `--interactive`, the user's decision on each change before anything
//!   is written, through the front end's [`review::Reviewer`].
//! - [`verify`]: the compiler's last word on what was written, and the reverts.
//! - [`configs`]: the builds beyond the default one that a change split by a feature's
//!   cfg needs `--verify` to check (the feature the other way).

pub mod configs;
pub mod edition;
pub mod explain;
pub mod finish;
pub mod review;
pub mod sweep;
pub mod upgrade;
pub mod verify;

/// How an operation tells its front end what it is doing.
pub trait Progress: Sync {
    /// What it is doing now, replacing the previous stage ("12 files", "cargo check").
    fn stage(&self, what: &str);
    /// A step the user should see as a line of its own, in order ("Checking the build
    /// before migrating (for --verify)").
    fn step(&self, what: &str);
}

/// Progress that goes nowhere: for library users and tests.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn stage(&self, _: &str) {}
    fn step(&self, _: &str) {}
}

/// What an operation does with the changes it found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum WriteMode {
    /// Nothing is written: the outcome is reviewed (a diff, JSON, ...).
    #[default]
    DryRun,
    /// Nothing is written; the front end fails if anything is left to change (CI gates).
    Check,
    /// The changes are written, then [`finish`] runs.
    Apply(ApplyOptions),
}

impl WriteMode {
    /// Whether anything may be written.
    pub fn writes(&self) -> bool {
        matches!(self, WriteMode::Apply(_))
    }
}

/// How `--apply` writes and what it checks afterwards.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ApplyOptions {
    /// Write even if the git work tree has uncommitted changes.
    pub allow_dirty: bool,
    /// Write even if the workspace is not under version control.
    pub allow_no_vcs: bool,
    /// After writing, `cargo check` and revert what breaks the build.
    pub verify: bool,
    /// With `verify`, keep the changes even if the build breaks.
    pub broken_code: bool,
}
