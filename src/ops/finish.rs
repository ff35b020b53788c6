//! The sequence every operation ends with when it writes: refuse a tree the write could
//! not be undone in (before any work), then review (`--interactive`: the user decides
//! each change, [`super::review`]) → the baseline build (for `--verify`) → write →
//! repair (a model's proposals, kept only if the compiler accepts them) → verify.
//! Written once, for `edition`, `upgrade` and whatever front end comes next.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

use super::review::{review, Reviewed, Reviewer};
use super::verify::{verify, Policy, Verified};
use super::{ApplyOptions, Progress};
use crate::cargo::check::{CheckCommand, CompileError};
use crate::cargo::write::{apply, vcs_state, write_if_unchanged, VcsState};
use crate::core::migration::Migration;
use crate::core::model::{CfgStatus, Change, Decider, Diagnostic, Edit, Level, Safety, Unchanged, UnchangedReason};
use crate::core::text::LineIndex;
use crate::judge::llm::Model;
use crate::judge::repair::{propose, propose_shim, removed_items, Broken, NoProposal, MAX_ATTEMPTS, MAX_ERRORS};

/// Refuses to write where it could not be undone: no VCS, or uncommitted changes
/// (unless the options allow it). Operations call it before any work.
pub fn refuse_unsafe_apply(root: &Path, options: &ApplyOptions) -> Result<()> {
    match vcs_state(root) {
        VcsState::NoVcs if !options.allow_no_vcs => {
            bail!("no VCS found for {}: --apply could not be undone. Commit it to git first, or pass --allow-no-vcs", root.display())
        }
        VcsState::Dirty(files) if !options.allow_dirty => {
            bail!("the working tree has uncommitted changes; commit or stash them, or pass --allow-dirty:\n  {}", files.join("\n  "))
        }
        _ => Ok(()),
    }
}

/// What to finish with.
pub struct Finish<'a> {
    /// The workspace root (files of the migration are relative to it).
    pub root: &'a Path,
    /// How to build the packages the migration moved.
    pub check: CheckCommand,
    /// Whether to verify.
    pub options: &'a ApplyOptions,
    /// `--repair`: the model, and what to tell it.
    pub repair: Option<RepairWith<'a>>,
    /// `--interactive`: who decides each change before anything is written.
    pub review: Option<&'a dyn Reviewer>,
    /// What `--verify` may take back.
    pub policy: Policy,
    /// Whether `--verify` checks the build before writing (an upgrade: `--repair` and
    /// its errors' baseline need it), or only after (an edition migration: before it
    /// only if the migrated code has errors, so a migration that builds costs one check).
    pub check_before: bool,
}

/// `--repair`'s inputs.
pub struct RepairWith<'a> {
    /// The model that proposes repairs (none: the errors are listed, not repaired).
    pub model: Option<&'a dyn Model>,
    /// What was upgraded, for the prompt ("The project was upgraded from ... to ...").
    pub context: String,
    /// The packs' summaries and guides, for the prompt.
    pub notes: String,
    /// The upgraded crate, as paths write it: an unresolved import of its items (a `pub
    /// use` of what the release removed, with no shim in the pack) asks the model for a
    /// shim.
    pub krate: String,
}

/// What finishing did.
#[derive(Debug, Default)]
pub struct Finished {
    /// What the review decided, if there was one.
    pub reviewed: Option<Reviewed>,
    /// Files written.
    pub written: Vec<PathBuf>,
    /// Files that could not be written, and why (each makes the run fail).
    pub write_errors: Vec<String>,
    /// What `--repair` did, if it was asked for.
    pub repairs: Option<Repairs>,
    /// The verification, if asked for.
    pub verified: Option<Verified>,
    /// The verification in each other configuration a change split by a feature's cfg
    /// depends on (`ops::configs`); empty when no change is.
    pub configurations: Vec<super::configs::ConfigurationChecked>,
}

/// What repairing did.
#[derive(Debug, Default)]
pub struct Repairs {
    /// The errors the upgrade left that were not there before (the repair's input).
    pub broken: usize,
    /// The model asked, if any.
    pub model: Option<String>,
    /// Repairs kept: written, and recorded in the migration (so verify sees them).
    pub kept: Vec<Change>,
    /// What was tried and not kept, and why.
    pub diagnostics: Vec<Diagnostic>,
}

/// Reviews `migration` (if `finish` has a reviewer), writes it, then repairs and verifies as `finish` asks. Kept repairs are added
/// to `migration`, so that what verify may revert and what the outcome reports are one.
pub fn finish(migration: &mut Migration, finish: &Finish<'_>, progress: &dyn Progress) -> Result<Finished> {
    let mut out = Finished::default();
    if let Some(reviewer) = finish.review {
        progress.stage("reviewing the changes");
        out.reviewed = Some(review(migration, reviewer)?);
    }
    // A review that accepted nothing leaves nothing to build against.
    let nothing_accepted = out.reviewed.is_some() && migration.files.is_empty();
    let wants_build = !finish.check.packages.is_empty() && !nothing_accepted;
    let verifying = finish.options.verify && wants_build;
    let baseline = if verifying && finish.check_before {
        progress.step("Checking the build before writing (for --verify)");
        Some(finish.check.errors()?)
    } else {
        None
    };
    // The other configurations split code depends on, each with its own baseline.
    let configurations = if verifying {
        super::configs::extra_configurations(migration, &finish.check, &|p| features_table(&finish.check.manifest_path, p))
    } else {
        Vec::new()
    };
    if !configurations.is_empty() {
        progress.step(&format!(
            "Checking the build before writing in {} more configuration(s): {}",
            configurations.len(),
            configurations.iter().map(|c| c.describe()).collect::<Vec<_>>().join("; ")
        ));
    }
    let config_baselines = super::configs::baselines(&configurations)?;
    progress.stage("writing");
    let applied = apply(migration);
    out.written = applied.written;
    out.write_errors = applied.failed.iter().map(|e| e.to_string()).collect();
    if let Some(repair) = &finish.repair {
        out.repairs = Some(repair_remaining(migration, finish, repair, baseline.as_deref(), progress)?);
    }
    if verifying {
        progress.step("Verifying the migrated code with `cargo check`");
        let verified = verify(migration, &finish.check, baseline.as_deref(), finish.root, finish.options.broken_code, finish.policy)?;
        if !configurations.is_empty() {
            progress.step("Verifying the split code in the other configurations");
            let reverted: Vec<Change> = verified.reverted.iter().map(|r| r.change.clone()).collect();
            out.configurations = super::configs::verify_configurations(
                migration,
                &reverted,
                configurations,
                config_baselines,
                finish.root,
                finish.options.broken_code,
                finish.policy,
            )?;
            migration.add_unchanged(out.configurations.iter().flat_map(|c| {
                c.verified.reverted.iter().map(move |r| Unchanged {
                    detail: format!("{} ({}, in the build with {})", r.change.reason, r.step.why(), c.configuration.describe()),
                    ..Unchanged::of_change(&r.change, UnchangedReason::Reverted)
                })
            }));
        }
        migration.add_unchanged(
            verified
                .reverted
                .iter()
                .map(|r| Unchanged { detail: format!("{} ({})", r.change.reason, r.step.why()), ..Unchanged::of_change(&r.change, UnchangedReason::Reverted) }),
        );
        out.verified = Some(verified);
    }
    Ok(out)
}

/// A model's shim for `removed` (items of the upgraded crate an unresolved import names),
/// checked as a pack's shim is (`pack::shim::compile`: items only, nothing that runs or
/// escapes) and placed as one is (`pack::shim::run`: once, where the file's uses are; a
/// `pub use` keeps the crate's API through it): the edits and the model's reason.
fn shim_proposal(model: &dyn Model, b: &Broken, text: &str, removed: &[String], repair: &RepairWith<'_>) -> Result<(Vec<Edit>, String), NoProposal> {
    let (code, reason) = propose_shim(model, b, removed, &repair.context)?;
    let def = crate::pack::format::ShimDef {
        id: format!("{}-compat", repair.krate.replace('_', "-")),
        message: "llm repair".into(),
        replaces: removed.to_vec(),
        code,
        re_exports_only: false,
        examples: None,
    };
    let shim = crate::pack::shim::compile(&def, &repair.krate, "llm-repair").map_err(|e| NoProposal::Rejected(format!("shim rejected: {e}")))?;
    let parsed = crate::syntax::parsed::Parsed::parse(text).map_err(|e| NoProposal::Rejected(format!("the file does not parse: {e:?}")))?;
    let range = |s: proc_macro2::Span| parsed.range(s);
    let env = crate::pack::resolve::Env::plain(&repair.krate);
    let facts = crate::pack::resolve::Facts::of(&parsed.syntax, &parsed.tokens, &env, &Default::default(), &range);
    let run = crate::pack::shim::run(std::slice::from_ref(&shim), &parsed.syntax, &facts, text, &range);
    let mut edits: Vec<Edit> = run.changes.into_iter().flat_map(|(_, _, e)| e).collect();
    // A re-export: its conservative option, which keeps the crate's API.
    edits.extend(run.re_exports.into_iter().flat_map(|r| r.keep));
    if edits.is_empty() {
        let why = run.notes.first().map_or_else(|| "the file names none of the items".to_string(), |n| n.2.clone());
        return Err(NoProposal::Rejected(format!("shim not placed: {why}")));
    }
    edits.sort();
    Ok((edits, format!("a shim for {}: {reason}", removed.iter().map(|i| format!("`{i}`")).collect::<Vec<_>>().join(", "))))
}

/// `--repair`: asks the model to fix each error the build has now and did not have
/// before; a proposal is written, kept if `cargo check` shows the error gone and no new
/// error, else put back.
fn repair_remaining(
    migration: &mut Migration,
    finish: &Finish<'_>,
    repair: &RepairWith<'_>,
    baseline: Option<&[CompileError]>,
    progress: &dyn Progress,
) -> Result<Repairs> {
    let before: BTreeSet<(Option<PathBuf>, String)> = baseline.unwrap_or_default().iter().map(|e| (e.file.clone(), e.message.clone())).collect();
    let mut errors = finish.check.errors()?;
    let broken: Vec<Broken> = errors
        .iter()
        .filter(|e| !before.contains(&(e.file.clone(), e.message.clone())))
        .filter_map(|e| {
            Some(Broken {
                file: e.file.as_ref()?.to_string_lossy().replace('\\', "/"),
                line: e.lines?.0,
                message: e.message.clone(),
                rendered: e.rendered.clone(),
                notes: repair.notes.clone(),
            })
        })
        .collect();
    let mut out = Repairs { broken: broken.len(), model: repair.model.map(|m| m.name()), ..Repairs::default() };
    if broken.is_empty() {
        return Ok(out);
    }
    let Some(model) = repair.model else {
        out.diagnostics.push(Diagnostic::general(Level::Warning, format!("--repair needs a model (--llm); {} error(s) left", broken.len())));
        return Ok(out);
    };
    progress.step(&format!("Repairing {} error(s) with {}", broken.len(), model.name()));
    let key = |e: &CompileError| (e.file.clone(), e.message.clone());
    'errors: for b in broken.iter().take(MAX_ERRORS) {
        let path = finish.root.join(&b.file);
        if !errors.iter().any(|e| e.message == b.message) {
            continue; // an earlier repair fixed it too
        }
        for attempt in 1..=MAX_ATTEMPTS {
            progress.stage(&format!("repairing {}:{} (attempt {attempt})", b.file, b.line));
            let text = std::fs::read_to_string(&path)?;
            // A function's new text; outside functions, where the error names items the
            // release removed, a shim for them (checked as a pack's).
            let mut removed = removed_items(&b.message, &repair.krate);
            if !removed.is_empty() {
                // Every item the file's errors name, in one shim: it is added once.
                removed = broken.iter().filter(|o| o.file == b.file).flat_map(|o| removed_items(&o.message, &repair.krate)).collect();
                removed.sort();
                removed.dedup();
            }
            let proposal = if removed.is_empty() {
                propose(model, b, &text, &repair.context).map(|p| (vec![Edit::replace(p.range, p.code)], p.reason))
            } else {
                shim_proposal(model, b, &text, &removed, repair)
            };
            let (edits, reason) = match proposal {
                Ok(p) => p,
                Err(NoProposal::NotInAFunction) => {
                    out.diagnostics.push(Diagnostic::at(
                        Level::Warning,
                        &b.file,
                        Some(b.line),
                        "llm repair: the error is not inside a function; left as it is",
                    ));
                    continue 'errors;
                }
                Err(NoProposal::Stop(e)) => {
                    out.diagnostics.push(Diagnostic::general(Level::Warning, format!("llm repair stopped: {e}")));
                    return Ok(out);
                }
                Err(NoProposal::Rejected(why)) => {
                    out.diagnostics.push(Diagnostic::at(Level::Warning, &b.file, Some(b.line), format!("llm repair, attempt {attempt}: {why}")));
                    continue;
                }
            };
            let new_text = crate::core::plan::apply_edits(&text, &edits).map_err(|e| anyhow::anyhow!("{}: {e:?}", b.file))?;
            write_if_unchanged(&path, &b.file, &text, &new_text)?;
            let after = finish.check.errors()?;
            let known: BTreeSet<_> = errors.iter().map(key).collect();
            let fixed = !after.iter().any(|e| e.message == b.message && e.file.as_deref().is_some_and(|f| path.ends_with(f)));
            let introduced: Vec<&CompileError> = after.iter().filter(|e| !known.contains(&key(e))).collect();
            if fixed && introduced.is_empty() {
                let change = Change {
                    rule: "llm-repair",
                    reason: format!("llm repair, needs review: {reason} (fixes: {})", b.message),
                    safety: Safety::NeedsReview,
                    decided_by: Decider::Llm(model.name()),
                    file: b.file.clone(),
                    line: LineIndex::new(&text).line(edits.iter().map(|e| e.range.start).min().unwrap_or(0)),
                    cfg: CfgStatus::Active,
                    edits,
                };
                out.kept.push(change.clone());
                migration.record_on_disk(finish.root, change, text, new_text);
                errors = after;
                continue 'errors;
            }
            write_if_unchanged(&path, &b.file, &new_text, &text)?;
            let why = if fixed { format!("it brings new errors: {}", introduced[0].message) } else { "the error is still there".to_string() };
            out.diagnostics.push(Diagnostic::at(Level::Warning, &b.file, Some(b.line), format!("llm repair, attempt {attempt}: not kept, {why}")));
        }
    }
    Ok(out)
}

/// A package's `[features]` table, from `cargo metadata` (no dependencies read): what
/// [`super::configs::extra_configurations`] needs to build a feature the other way.
fn features_table(manifest: &Path, package: &str) -> Option<super::configs::FeatureTable> {
    let meta = cargo_metadata::MetadataCommand::new().manifest_path(manifest).no_deps().exec().ok()?;
    meta.packages.iter().find(|p| p.name.as_str() == package).map(|p| p.features.clone().into_iter().collect())
}
