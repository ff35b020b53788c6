//! `edition`: move a workspace's packages to a new edition. Discovery, the syntactic
//! rules and the compiler phase, the judge, the plan; then, with
//! [`WriteMode::Apply`], [`finish`](super::finish).

use anyhow::{bail, Result};

use super::finish::{finish, refuse_unsafe_apply, Finish, Finished};
use super::review::Reviewer;
use super::verify::Policy;
use super::{Progress, WriteMode};
use crate::cargo::build::BuildConfig;
use crate::cargo::check::CheckCommand;
use crate::cargo::discover::{Selection, Workspace};
use crate::core::edition::{step_to, steps, Edition};
use crate::core::migration::Migration;
use crate::core::model::{Diagnostic, Level};
use crate::engine::compiler::lint_doc;
use crate::engine::pipeline::{compiler_skipped, migrate};
use crate::engine::walk::{CheckOptions, RuleFilter};
use crate::judge::cache::VerdictCache;
use crate::judge::config::ModelConfig;
use crate::rules::{self, Rule};

/// The editions this operation moves to (the first is the default).
pub const TARGETS: [&str; 2] = ["2024", "2021"];

/// The editions `--from` takes.
pub const FROM: [&str; 3] = ["2015", "2018", "2021"];

/// An edition migration, fully resolved.
pub struct Request {
    /// Which packages.
    pub selection: Selection,
    /// The syntactic rules to run (already filtered by `filter`).
    pub rules: Vec<&'static dyn Rule>,
    /// `--only` / `--skip`, for the compiler phase's lints.
    pub filter: RuleFilter,
    /// The edition to reach.
    pub to: String,
    /// `--from 2021`: packages that already say `to` are migrated as if they were on this
    /// edition (their source, not their manifest): finishes a half-migrated package.
    /// Packages on an older edition than `to` are migrated from theirs, through every step.
    pub from: Option<String>,
    /// The build configuration: the compiler phase's, and `--verify`'s targets and
    /// features.
    pub build: BuildConfig,
    /// Whether the compiler phase runs (`false`: syntax only).
    pub compiler: bool,
    /// The judge's model for sites heuristics leave open.
    pub judge: ModelConfig,
    /// Dry run, check, or apply.
    pub write: WriteMode,
}

impl Request {
    /// Every built-in rule, towards 2024, with the compiler phase on the default
    /// configuration, no model, as a dry run.
    pub fn new(selection: Selection) -> Request {
        Request {
            selection,
            rules: rules::edition_2024().to_vec(),
            filter: RuleFilter::default(),
            to: TARGETS[0].to_string(),
            from: None,
            build: BuildConfig::default(),
            compiler: true,
            judge: ModelConfig::none(),
            write: WriteMode::DryRun,
        }
    }
}

/// Resolves `--only` / `--skip` (rule ids or compiler lint names) into the rules of a
/// migration to `to` to run and the filter for the compiler's lints. An unknown name is an
/// error.
pub fn select_rules(to: &str, only: &[String], skip: &[String]) -> Result<(Vec<&'static dyn Rule>, RuleFilter)> {
    for id in only.iter().chain(skip) {
        if rules::find(id).is_none() && lint_doc(id).is_none() {
            bail!("no rule `{id}`; `cargo migrate rules` lists them");
        }
    }
    let filter = RuleFilter { only: only.to_vec(), skip: skip.to_vec() };
    let to = target(to)?;
    Ok((rules::for_edition(to).into_iter().filter(|r| filter.wants(r.meta().id)).collect(), filter))
}

/// An edition this operation can reach.
fn target(to: &str) -> Result<Edition> {
    match Edition::parse(to) {
        Some(e) if TARGETS.contains(&to) => Ok(e),
        _ => bail!("cargo migrate moves packages to edition {}, not `{to}`", TARGETS.join(" or ")),
    }
}

/// What an edition migration found and did.
#[derive(Debug)]
pub struct Outcome {
    /// The workspace.
    pub workspace: Workspace,
    /// The changes, verdicts and diagnostics (with notes on packages left alone).
    pub migration: Migration,
    /// What was written, repaired and verified, with [`WriteMode::Apply`].
    pub finished: Option<Finished>,
}

/// Runs the migration. Packages on an older edition go through each step to `to` in one
/// run; those already on `to` are left alone with a note (unless `from`); with
/// [`WriteMode::Apply`] the tree is checked before any work.
pub fn run(req: &Request, progress: &dyn Progress) -> Result<Outcome> {
    run_with_review(req, progress, None)
}

/// [`run`], with `review` deciding each change before anything is written (with
/// [`WriteMode::Apply`] only; the tree is checked before the first question).
pub fn run_with_review(req: &Request, progress: &dyn Progress, review: Option<&dyn Reviewer>) -> Result<Outcome> {
    if review.is_some() && !req.write.writes() {
        bail!("a review decides what is written: it needs apply mode");
    }
    let mut ws = Workspace::discover(&req.selection)?;
    let mut notes = Vec::new();
    let to = target(&req.to)?;
    let from = req
        .from
        .as_deref()
        .map(|f| Edition::parse(f).filter(|f| *f < to).ok_or_else(|| anyhow::anyhow!("--from {f}: not an edition before {to}")))
        .transpose()?;
    ws.packages.retain(|p| match p.edition() {
        Some(e) if e < to => {
            if e < Edition::E2021 || to < Edition::E2024 {
                let steps: Vec<String> = steps(e, to).map(ToString::to_string).collect();
                notes.push(Diagnostic::general(
                    Level::Note,
                    format!("package `{}` moves from edition {e} to {to} in one run: {}", p.name, steps.join(", then ")),
                ));
            }
            true
        }
        Some(e) if e == to && from.is_some() => {
            notes.push(Diagnostic::general(
                Level::Note,
                format!("package `{}` already says edition {e}: its code is migrated as {} code (--from)", p.name, from.map_or("2021", Edition::as_str)),
            ));
            true
        }
        _ => {
            notes.push(Diagnostic::general(
                Level::Note,
                format!(
                    "package `{}` is already on edition {} (if some of its files were never migrated, `--from {}` migrates its code again)",
                    p.name,
                    p.edition.as_str(),
                    step_to(to).map_or("2021", |s| s.from.as_str())
                ),
            ));
            false
        }
    });
    if let WriteMode::Apply(options) = &req.write {
        refuse_unsafe_apply(&ws.root, options)?;
    }
    // The rules `--only` / `--skip` leaves out run too: what they would change is reported.
    let filtered_out = rules::for_edition(to).into_iter().filter(|r| !req.filter.wants(r.meta().id) && !req.rules.iter().any(|k| k.meta().id == r.meta().id));
    let opts = CheckOptions {
        rules: req.rules.iter().map(|r| *r as &dyn Rule).collect(),
        target_edition: to,
        filter: req.filter.clone(),
        filtered_out: filtered_out.map(|r| r as &dyn Rule).collect(),
        chunk_above: crate::engine::walk::CHUNK_ABOVE,
    };
    let mut migration = if ws.packages.is_empty() {
        Migration::default()
    } else {
        let cache = VerdictCache::in_target_dir(&ws.target_dir);
        let model = req.judge.connect(&cache)?;
        let mut m = migrate(&ws, &opts, req.compiler.then_some(&req.build), model.as_deref(), Some(&cache), &|what| progress.stage(what));
        if !req.compiler {
            m.add_unchanged(compiler_skipped(&opts, ws.oldest_edition(), "--no-compiler"));
        }
        m
    };
    migration.diagnostics.extend(notes);
    migration.diagnostics.sort();
    let finished = match &req.write {
        WriteMode::Apply(options) => {
            // The targets and features asked for, with the compiler phase or without (the
            // default features when none were: a plain build, which the migrated code must
            // keep building).
            let check =
                CheckCommand { manifest_path: ws.root_manifest.clone(), packages: ws.packages.iter().map(|p| p.spec()).collect(), config: req.build.clone() };
            Some(finish(
                &mut migration,
                &Finish { root: &ws.root, check, options, repair: None, review, policy: Policy::AsBefore, check_before: false },
                progress,
            )?)
        }
        _ => None,
    };
    Ok(Outcome { workspace: ws, migration, finished })
}
