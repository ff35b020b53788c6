//! `cargo migrate upgrade`: move a workspace across breaking releases of one of its
//! dependencies with migration packs.
//!
//! The stages, each in its module:
//!
//! 1. [`detect`]: the version each member uses, and the name its code gives the crate
//!    (renamed dependencies, `[workspace.dependencies]`).
//! 2. [`packs`]: the packs, in order of preference (`--pack` files; a `migrations/` folder
//!    shipped in the crate's own package — a path dependency's folder or the target
//!    release's registry source; the built-in packs), and the chain of steps to the target:
//!    major steps, then the line packs of the target's release line (packs whose `from` and
//!    `to` are in one compatibility class: deprecations within `0.4.x`), which also apply to
//!    members already on a newer release of that line.
//! 3. For each step, in a [`staging`] copy of the workspace: the pipeline runs the pack as a
//!    rule, with the [`bump`] of `Cargo.toml` (requirement, renamed features, companions)
//!    as the manifest half; its output is the next step's input.
//! 4. The [`compiler`] phase: `cargo check` of the staging copy against the new release;
//!    messages that mention the crate are matched against the packs again at their spans
//!    (trusting the compiler's resolution), until nothing more changes (bounded). What is
//!    left is reported precisely: the input of a later repair loop.
//!
//! The result is one [`Migration`] relative to the user's files, which the CLI prints,
//! applies and verifies as for `edition`. Steps run one after the other rather than as one
//! run of every pack's rules: a pack's rules match the code of its `from` release, so the
//! next step must see the previous step's output; each step is idempotent, so is the chain.
//!
//! **Architecture invariant:** a dry run never writes the user's tree: everything that
//! needs files on disk (cargo's resolution, `cargo check`) happens in the staging copy.

pub mod bump;
pub mod compiler;
pub mod detect;
pub mod packs;
pub mod staging;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;

use cargo_metadata::semver::Version;
use cargo_metadata::MetadataCommand;

use super::finish::{finish, refuse_unsafe_apply, Finish, Finished, RepairWith};
use super::review::Reviewer;
use super::verify::Policy;
use super::{Progress, WriteMode};
use crate::cargo::build::BuildConfig;
use crate::cargo::check::CheckCommand;
use crate::cargo::discover::{Selection, Workspace};
use crate::core::migration::{FileResult, Migration};
use crate::core::model::{Diagnostic, Level};
use crate::engine::pipeline::migrate;
use crate::engine::walk::{check_workspace, CheckOptions};
use crate::judge::config::ModelConfig;
use crate::pack::format::FormatError;
use crate::pack::resolve::{Env, Facts, PreludeFacts};
use crate::pack::{CompiledPack, CompilerSite, PackRule};
use crate::rules::Rule;
use detect::Usage;
use packs::{class, floor, FoundPack, Origin};

/// How many rounds of `cargo check` and matching the compiler phase runs at most.
pub const MAX_COMPILER_ROUNDS: usize = 4;

/// How many errors that do not mention the crate the compiler phase lists one by one.
const MAX_OTHER_ERRORS: usize = 40;

/// What to upgrade, and how.
#[derive(Clone, Debug, Default)]
pub struct Request {
    /// The crate (`rand`); taken from the `--pack` files when absent.
    pub krate: Option<String>,
    /// The release to reach (`0.9`); by default the newest a pack reaches.
    pub target: Option<String>,
    /// `--pack` files, preferred over every other pack.
    pub packs: Vec<PathBuf>,
    /// Which members.
    pub selection: Selection,
    /// What the compiler phase builds.
    pub build: BuildConfig,
    /// Whether to run the compiler phase.
    pub compiler: bool,
    /// The model for the packs' choice rules and `--repair` (none: the conservative
    /// option, no repair).
    pub judge: ModelConfig,
    /// Dry run, check, or apply.
    pub write: WriteMode,
    /// With [`WriteMode::Apply`]: ask the model to repair the errors the packs leave.
    pub repair: bool,
    /// With `--verify`: take the whole upgrade back when the build is worse than before
    /// (by default the new release and the changes it needs stay, and the sites left are
    /// listed).
    pub all_or_nothing: bool,
}

/// The judge's model and verdict cache, connected once per run and shared by the steps
/// (which run in parallel) and `--repair`.
#[derive(Clone)]
pub struct Judge {
    /// The model.
    pub model: Arc<dyn crate::judge::llm::Model>,
    /// Its verdict cache.
    pub cache: Arc<crate::judge::cache::VerdictCache>,
}

impl std::fmt::Debug for Judge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Judge({})", self.model.name())
    }
}

/// Why an upgrade cannot be planned.
#[derive(Debug, thiserror::Error)]
pub enum UpgradeError {
    /// No selected member depends on the crate.
    #[error("`{0}` is not a dependency of this workspace")]
    NotADependency(String),
    /// No chain of packs leads from the version in use to the target.
    #[error("no pack moves {krate} from {from} to {to}; available: {available}")]
    NoPath {
        /// The crate.
        krate: String,
        /// The version in use (its compatibility class).
        from: String,
        /// The target.
        to: String,
        /// The steps the packs offer.
        available: String,
    },
    /// No pack at all for the crate, and no target to aim at.
    #[error("no migration pack for `{0}`: none built in, none shipped with it, none given with --pack")]
    NoPack(String),
    /// A pack file could not be loaded.
    #[error(transparent)]
    Pack(#[from] FormatError),
    /// A `--pack` file is for another crate.
    #[error("{file} is a pack for `{pack}`, not `{krate}`")]
    OtherCrate {
        /// The file.
        file: String,
        /// The crate it migrates.
        pack: String,
        /// The crate being upgraded.
        krate: String,
    },
    /// Neither a crate nor a pack was given.
    #[error("say which crate to upgrade (`cargo migrate upgrade rand`) or give a pack (`--pack FILE`)")]
    NoCrate,
    /// `CRATE@VERSION` with something else than a version.
    #[error("`{0}` is not a version (expected CRATE@VERSION, e.g. rand@0.9)")]
    BadVersion(String),
    /// Cargo could not read the workspace.
    #[error("{0}")]
    Metadata(String),
    /// The staging copy could not be made or written.
    #[error("staging copy: {0}")]
    Io(#[from] std::io::Error),
}

/// The planned upgrade: nothing written yet.
#[derive(Debug)]
pub struct Upgrade {
    /// The crate, as published.
    pub krate: String,
    /// The members' dependencies on it.
    pub usages: Vec<Usage>,
    /// The packs applied, in order.
    pub steps: Vec<FoundPack>,
    /// What the upgrade moves the crate to: the target's compatibility class (`0.9`), or
    /// the release a line pack moves it to (`0.4.38`).
    pub target: String,
    /// Every change, relative to the user's files, and every diagnostic.
    pub migration: Migration,
    /// What the compiler still says about the crate after the upgrade.
    pub remaining: Vec<compiler::Attributed>,
    /// The compiler phase's configuration and rounds, if it ran.
    pub compiler_rounds: Option<usize>,
    /// Why the compiler phase could not build the upgraded workspace, if it could not:
    /// `remaining` is then not all that is left.
    pub build_failure: Option<String>,
    /// The workspace (the user's).
    pub workspace: Workspace,
    /// Members the upgrade moves.
    pub moved: Vec<String>,
}

impl Upgrade {
    /// The packs' summaries and guides, one line: what `--repair` and `--explain-left`
    /// tell a model about the release.
    pub fn pack_notes(&self) -> String {
        self.steps.iter().map(|s| format!("{} ({})", s.pack.file.summary, s.pack.file.guide.as_deref().unwrap_or("no guide"))).collect::<Vec<_>>().join("; ")
    }
}

/// Splits `rand@0.9` into the crate and the version.
pub fn parse_spec(spec: &str) -> Result<(String, Option<String>), UpgradeError> {
    match spec.split_once('@') {
        Some((krate, version)) => {
            if floor(version).is_none() {
                return Err(UpgradeError::BadVersion(version.to_string()));
            }
            Ok((krate.to_string(), Some(version.to_string())))
        }
        None => Ok((spec.to_string(), None)),
    }
}

/// Runs the pipeline on the staging copy for one step, with the run's judge; its stages
/// (files parsed, the judge's questions) are told to `progress` after `what`.
fn run_step(judge: Option<&Judge>, ws: &Workspace, opts: &CheckOptions<'_>, progress: &dyn Progress, what: &str) -> Migration {
    let model = judge.map(|j| &*j.model as &dyn crate::judge::llm::Model);
    migrate(ws, opts, None, model, judge.map(|j| &*j.cache), &|stage| progress.stage(&format!("{what}: {stage}")))
}

/// The `-p` specs of the members named `names`: `name@version`, so that a member is not
/// ambiguous with a dependency of the same name (`tokio-macros` 1.8, whose dev-dependency
/// `tokio` pulls `tokio-macros` 2: `-p tokio-macros` is refused as ambiguous, and the
/// baseline and every check of the upgrade would fail on it).
fn package_specs<'n>(ws: &Workspace, names: impl IntoIterator<Item = &'n String>) -> Vec<String> {
    names
        .into_iter()
        .map(|name| match ws.packages.iter().find(|p| p.name == *name) {
            Some(p) => format!("{}@{}", p.name, p.version),
            None => name.clone(),
        })
        .collect()
}

/// The selected workspace, its metadata without dependencies (nothing resolved), and the
/// names of its selected members.
fn read_workspace(selection: &Selection) -> Result<(Workspace, cargo_metadata::Metadata, Vec<String>), UpgradeError> {
    let ws = Workspace::discover(selection).map_err(|e| UpgradeError::Metadata(format!("{e:#}")))?;
    let mut cmd = MetadataCommand::new();
    cmd.no_deps().manifest_path(&ws.root_manifest);
    let meta = cmd.exec().map_err(|e| UpgradeError::Metadata(format!("`cargo metadata` failed: {e}")))?;
    let members = ws.packages.iter().map(|p| p.name.clone()).collect();
    Ok((ws, meta, members))
}

/// A dependency of the workspace that a built-in pack can move.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    /// The crate.
    pub krate: String,
    /// The version in use (the lowest among the members; from the requirement, unresolved).
    pub version: Version,
    /// Where the built-in packs take it (`0.9`, `0.4.38`).
    pub to: String,
    /// The members that depend on it.
    pub members: Vec<String>,
}

/// The workspace's dependencies that the built-in packs can move, for `cargo migrate
/// upgrade` without a crate. Versions come from the requirements (nothing is resolved,
/// nothing written); packs a crate ships are found only when it is named.
pub fn upgradable(selection: &Selection) -> Result<Vec<Candidate>, UpgradeError> {
    let (_, meta, members) = read_workspace(selection)?;
    let mut crates: Vec<String> = Vec::new();
    for pack in crate::pack::builtin()? {
        if !crates.contains(&pack.file.krate) {
            crates.push(pack.file.krate.clone());
        }
    }
    let mut out = Vec::new();
    for krate in crates {
        let found = packs::builtin(&krate)?;
        let Some(to) = newest(found.iter()) else { continue };
        let Some(target) = floor(&to) else { continue };
        let usages = detect::usages(&meta, &members, &krate, None);
        let movable: Vec<&Usage> =
            usages.iter().filter(|u| u.version().is_some_and(|v| packs::chain(&found, &v, &target).is_some_and(|c| !c.is_empty()))).collect();
        let Some(version) = movable.iter().filter_map(|u| u.version()).min() else { continue };
        let mut names: Vec<String> = movable.iter().map(|u| u.package.clone()).collect();
        names.sort();
        names.dedup();
        out.push(Candidate { krate, version, to, members: names });
    }
    Ok(out)
}

/// What an upgrade found and did.
#[derive(Debug)]
pub struct Outcome {
    /// The planned upgrade (its migration includes the repairs that were kept).
    pub upgrade: Upgrade,
    /// What was written, repaired and verified, with [`WriteMode::Apply`].
    pub finished: Option<Finished>,
}

/// Runs the upgrade: plans it in a staging copy; with [`WriteMode::Apply`] (the tree is
/// checked before any work) writes it, repairs (`req.repair`) and verifies.
pub fn run(req: &Request, progress: &dyn Progress) -> anyhow::Result<Outcome> {
    run_with_review(req, progress, None)
}

/// [`run`], with `review` deciding each change before anything is written (with
/// [`WriteMode::Apply`] only; the tree is checked before the first question).
pub fn run_with_review(req: &Request, progress: &dyn Progress, review: Option<&dyn Reviewer>) -> anyhow::Result<Outcome> {
    if review.is_some() && !req.write.writes() {
        anyhow::bail!("a review decides what is written: it needs apply mode");
    }
    let ws = Workspace::discover(&req.selection)?;
    if let WriteMode::Apply(options) = &req.write {
        refuse_unsafe_apply(&ws.root, options)?;
    }
    let cache = crate::judge::cache::VerdictCache::in_target_dir(&ws.target_dir);
    // One model for every step and `--repair`; once it fails for good (or times out), no
    // later step waits for it again.
    let judge = req.judge.connect(&cache)?.map(|m| Judge { model: Arc::new(crate::judge::llm::Sticky::new(m)), cache: Arc::new(cache) });
    let mut up = plan(req, judge.as_ref(), progress)?;
    let WriteMode::Apply(options) = &req.write else { return Ok(Outcome { upgrade: up, finished: None }) };
    let repair = req.repair.then(|| RepairWith {
        model: judge.as_ref().map(|j| &*j.model),
        context: format!(
            "The project was upgraded from {} to {} {}.",
            up.usages.first().map_or("an older release".to_string(), |u| u.describe(&up.krate)),
            up.krate,
            up.target
        ),
        notes: up.pack_notes(),
        krate: up.krate.replace('-', "_"),
    });
    let check =
        CheckCommand { manifest_path: up.workspace.root_manifest.clone(), packages: package_specs(&up.workspace, &up.moved), config: Default::default() };
    let root = up.workspace.root.clone();
    let finished = finish(
        &mut up.migration,
        &Finish {
            root: &root,
            check,
            options,
            repair,
            review,
            policy: if req.all_or_nothing { Policy::AsBefore } else { Policy::KeepRelease },
            check_before: true,
        },
        progress,
    )?;
    Ok(Outcome { upgrade: up, finished: Some(finished) })
}

/// Plans the upgrade in a staging copy: detection, packs, the chain of steps, each step's
/// rewrite and bump, then the compiler phase. Nothing of the user's is written.
pub fn plan(req: &Request, judge: Option<&Judge>, progress: &dyn Progress) -> Result<Upgrade, UpgradeError> {
    let (krate, flagged) = flagged_packs(req)?;
    progress.stage("reading the workspace");
    let (ws, meta, members) = read_workspace(&req.selection)?;
    let target_dir = meta.target_directory.clone().into_std_path_buf();
    if detect::usages(&meta, &members, &krate, None).is_empty() {
        return Err(UpgradeError::NotADependency(krate));
    }
    let staging = staging::Staging::copy(&ws.root, &target_dir)?;
    progress.stage("resolving versions (cargo metadata)");
    let resolved = detect::resolve(&staging.staged(&ws.root_manifest), &target_dir);
    let usages = detect::usages(&meta, &members, &krate, resolved.as_ref());
    let mut diagnostics = Vec::new();
    if resolved.is_none() {
        diagnostics.push(Diagnostic::general(
            Level::Note,
            "cargo could not resolve the workspace as it is (a dependency no longer matches its requirement, or no network): versions are read from the requirements".to_string(),
        ));
    }
    // The guard keeps a release unpacked from cargo's registry while the plan runs.
    let (found, target, _unpacked) = discover_packs(req, &krate, &usages, flagged, &mut diagnostics, progress)?;
    let target_version = floor(&target).ok_or_else(|| UpgradeError::BadVersion(target.clone()))?;
    let (current, steps) = chain_steps(&krate, &usages, &found, &target_version, &mut diagnostics)?;

    let cx =
        StepCx { req, judge, ws: &ws, staging: &staging, krate: &krate, usages: &usages, index: index_packages(&staging, &req.selection, &krate, &usages) };
    let mut combined = Combined::default();
    let moved = run_steps(&cx, &steps, current.clone(), &mut combined, progress)?;
    for (package, v) in current.iter().filter(|(p, _)| !moved.contains(*p)) {
        if class(v) == class(&target_version) {
            diagnostics.push(Diagnostic::general(Level::Note, format!("`{package}` already uses {krate} {v}: nothing to upgrade")));
        } else if *v > target_version {
            diagnostics.push(Diagnostic::general(Level::Note, format!("`{package}` uses {krate} {v}, newer than {target}: left alone")));
        }
    }
    let (remaining, compiler_rounds, build_failure) = if req.compiler && !moved.is_empty() {
        let (remaining, rounds, failure) = compiler_phase(&cx, &steps, &moved, &target, &target_dir, &mut combined, &mut diagnostics, progress)?;
        (remaining, Some(rounds), failure)
    } else {
        (Vec::new(), None, None)
    };

    let mut migration = combined.finish();
    migration.diagnostics.extend(diagnostics);
    migration.diagnostics.sort();
    migration.diagnostics.dedup();
    // A line pack as the last step moves code to a release within the class (`0.4.38`).
    let reached = steps.last().filter(|s| s.is_line()).map_or_else(|| class(&target_version), |s| s.pack.file.to.clone());
    Ok(Upgrade {
        krate,
        usages,
        target: reached,
        steps,
        migration,
        remaining,
        compiler_rounds,
        build_failure,
        workspace: ws,
        moved: moved.into_iter().collect(),
    })
}

/// The `--pack` files, and the crate they (or the request) name.
fn flagged_packs(req: &Request) -> Result<(String, Vec<FoundPack>), UpgradeError> {
    let flagged: Vec<FoundPack> =
        req.packs.iter().map(|p| CompiledPack::load(p).map(|pack| FoundPack { pack: Arc::new(pack), origin: Origin::Flag })).collect::<Result<_, _>>()?;
    let krate = match (&req.krate, flagged.first()) {
        (Some(k), _) => k.clone(),
        (None, Some(p)) => p.pack.file.krate.clone(),
        (None, None) => return Err(UpgradeError::NoCrate),
    };
    for p in &flagged {
        if !packs::same_crate(&p.pack.file.krate, &krate) {
            return Err(UpgradeError::OtherCrate { file: p.pack.source.clone(), pack: p.pack.file.krate.clone(), krate });
        }
    }
    Ok((krate, flagged))
}

/// Every pack for the crate, in order of preference (`--pack` files, packs shipped in a
/// path dependency's folder or in the release's registry package, built-in packs), and
/// the target: the request's, else the newest a pack reaches. Line packs that would move
/// past the request's target are dropped with a note.
fn discover_packs(
    req: &Request,
    krate: &str,
    usages: &[Usage],
    flagged: Vec<FoundPack>,
    diagnostics: &mut Vec<Diagnostic>,
    progress: &dyn Progress,
) -> Result<(Vec<FoundPack>, String, Option<tempfile::TempDir>), UpgradeError> {
    let mut found = flagged;
    let mut seen_dirs = BTreeSet::new();
    for u in usages {
        if let Some(dir) = &u.path {
            if seen_dirs.insert(dir.clone()) {
                found.extend(packs::shipped_in(dir, krate)?);
            }
        }
    }
    let builtin = packs::builtin(krate)?;
    let mut target = req.target.clone().or_else(|| newest(found.iter().chain(&builtin)));
    let mut unpacked = None;
    if usages.iter().any(|u| u.path.is_none()) {
        let wanted = target.as_ref().map_or_else(|| "*".to_string(), |t| format!("^{}", class(&floor(t).expect("checked"))));
        progress.stage(&format!("looking for packs shipped with {krate} {wanted}"));
        match packs::registry_source(krate, &wanted) {
            Ok((version, dir, guard)) => {
                let shipped = packs::shipped_in(&dir, krate)?;
                if !shipped.is_empty() {
                    diagnostics
                        .push(Diagnostic::general(Level::Note, format!("{} pack(s) shipped with {krate} {version} found in its package", shipped.len())));
                }
                found.extend(shipped);
                unpacked = guard;
            }
            Err(e) => diagnostics
                .push(Diagnostic::general(Level::Note, format!("could not look for packs shipped with {krate} {wanted}: {e}; using the packs at hand"))),
        }
        if target.is_none() {
            target = newest(found.iter());
        }
    }
    found.extend(builtin);
    let Some(target) = target else { return Err(UpgradeError::NoPack(krate.to_string())) };
    // A target is a requirement (`chrono@0.4` admits 0.4.38): a line pack whose `to` the
    // user's target excludes (`chrono@=0.4.20`) would move past it.
    if let (Some(wanted), Some(text)) = (req.target.as_deref().and_then(packs::requirement), &req.target) {
        found.retain(|p| {
            let keep = !p.is_line() || p.to_version().is_some_and(|to| wanted.matches(&to));
            if !keep {
                diagnostics.push(Diagnostic::general(Level::Note, format!("{} is not applied: it moves {krate} past the target `{text}`", p.describe())));
            }
            keep
        });
    }
    Ok((found, target, unpacked))
}

/// Each member's version of the crate (the lowest it uses), and the chain of steps that
/// takes every one of them to the target, in order.
fn chain_steps(
    krate: &str,
    usages: &[Usage],
    found: &[FoundPack],
    target_version: &Version,
    diagnostics: &mut Vec<Diagnostic>,
) -> Result<(BTreeMap<String, Version>, Vec<FoundPack>), UpgradeError> {
    let mut current: BTreeMap<String, Version> = BTreeMap::new();
    for u in usages {
        match u.version() {
            Some(v) => {
                let e = current.entry(u.package.clone()).or_insert_with(|| v.clone());
                if v < *e {
                    *e = v;
                }
            }
            None => {
                diagnostics.push(Diagnostic::general(Level::Warning, format!("{}: cannot tell which {krate} `{}` is; left alone", u.package, u.requirement)))
            }
        }
    }
    let mut steps: Vec<FoundPack> = Vec::new();
    for v in current.values().collect::<BTreeSet<_>>() {
        if v > target_version && class(v) != class(target_version) {
            continue;
        }
        let chain = packs::chain(found, v, target_version).ok_or_else(|| UpgradeError::NoPath {
            krate: krate.to_string(),
            from: class(v),
            to: class(target_version),
            available: packs::available(found),
        })?;
        for step in chain {
            if !steps.iter().any(|s| Arc::ptr_eq(&s.pack, &step.pack)) {
                steps.push(step);
            }
        }
    }
    steps.sort_by_key(|s| s.to_version());
    Ok((current, steps))
}

/// What every step of one upgrade shares.
struct StepCx<'a> {
    req: &'a Request,
    judge: Option<&'a Judge>,
    /// The user's workspace.
    ws: &'a Workspace,
    staging: &'a staging::Staging,
    krate: &'a str,
    usages: &'a [Usage],
    /// Each member's own items (for the packs' name-collision checks).
    index: BTreeMap<String, PackageIndex>,
}

/// Runs each step (pack rewrite and manifest bump; then the `new_crates` dependencies its
/// rewrite needs) on the members it moves, in the staging copy. Returns the members moved.
fn run_steps(
    cx: &StepCx<'_>,
    steps: &[FoundPack],
    mut current: BTreeMap<String, Version>,
    combined: &mut Combined,
    progress: &dyn Progress,
) -> Result<BTreeSet<String>, UpgradeError> {
    let mut moved: BTreeSet<String> = BTreeSet::new();
    let last = steps.len().saturating_sub(1);
    for (i, step) in steps.iter().enumerate() {
        let from = packs::requirement(&step.pack.file.from).expect("chained packs have a valid `from`");
        let to = step.to_version().expect("chained packs have a valid `to`");
        // A line pack also moves code already on a release newer than its `to`.
        let moving: BTreeSet<String> = current.iter().filter(|(_, v)| from.matches(v) && (**v < to || step.is_line())).map(|(p, _)| p.clone()).collect();
        if moving.is_empty() {
            continue;
        }
        let what = format!("{} {}", cx.krate, step.step());
        progress.stage(&what);
        // The user's target is written if it is in the step's class and not below its `to`.
        let requirement = match &cx.req.target {
            Some(t) if i == last && floor(t).is_some_and(|t| class(&t) == class(&to) && t >= to) => t.clone(),
            _ => step.pack.file.to.clone(),
        };
        let mut rule = PackRule::new(step.pack.clone());
        rule.envs = envs(cx.usages, &moving, &step.pack, &cx.index);
        let mut bump = bump::BumpRule::new(step.pack.clone(), requirement, moving.clone());
        let step_ws = staged_workspace(cx.staging, &cx.req.selection, Some(&moving))?;
        let needs = if step.is_line() {
            // A line pack raises the requirement of the members whose code it changed only:
            // the code first, then the bump, told which members changed.
            let m = run_step(cx.judge, &step_ws, &CheckOptions::new(vec![&rule as &dyn Rule], crate::core::edition::Edition::E2021), progress, &what);
            let needs = new_crates_needed(&step.pack, &m);
            let changed = m
                .files
                .values()
                .filter(|f| f.file.kind == crate::core::text::FileKind::Rust && !f.changes.is_empty())
                .map(|f| f.file.package.clone())
                .collect();
            let inheriting = cx.usages.iter().filter(|u| u.inherited).map(|u| u.package.clone()).collect();
            combined.add(m, cx.ws, cx.staging, None)?;
            bump.line = Some(bump::LineNeeds { changed, inheriting });
            combined.add(
                migrate(&step_ws, &CheckOptions::new(vec![&bump as &dyn Rule], crate::core::edition::Edition::E2021), None, None, None, &|_| {}),
                cx.ws,
                cx.staging,
                None,
            )?;
            needs
        } else {
            let opts = CheckOptions::new(vec![&rule as &dyn Rule, &bump as &dyn Rule], crate::core::edition::Edition::E2021);
            let m = run_step(cx.judge, &step_ws, &opts, progress, &what);
            let needs = new_crates_needed(&step.pack, &m);
            combined.add(m, cx.ws, cx.staging, None)?;
            needs
        };
        if !needs.is_empty() {
            // The members whose code now names a crate the items moved to depend on it.
            let add = bump::AddCrates::new(step.pack.clone(), needs);
            let step_ws = staged_workspace(cx.staging, &cx.req.selection, Some(&moving))?;
            let opts = CheckOptions::new(vec![&add as &dyn Rule], crate::core::edition::Edition::E2021);
            combined.add(migrate(&step_ws, &opts, None, None, None, &|_| {}), cx.ws, cx.staging, None)?;
        }
        for p in &moving {
            if current[p] < to {
                current.insert(p.clone(), to.clone());
            }
        }
        moved.extend(moving);
    }
    Ok(moved)
}

/// The compiler phase: rounds (at most [`MAX_COMPILER_ROUNDS`]) of `cargo check` against
/// the new release in the staging copy and matching the packs at the compiler's sites.
/// Returns what the compiler still says about the crate, the rounds run, and why cargo
/// could not build the upgraded workspace if it could not. Errors that do not name the
/// crate but lie inside a site a pack rule flags in the code compiled are the upgrade's
/// too ([`flagged_sites`]).
#[allow(clippy::too_many_arguments)]
fn compiler_phase(
    cx: &StepCx<'_>,
    steps: &[FoundPack],
    moved: &BTreeSet<String>,
    target: &str,
    target_dir: &std::path::Path,
    combined: &mut Combined,
    diagnostics: &mut Vec<Diagnostic>,
    progress: &dyn Progress,
) -> Result<(Vec<compiler::Attributed>, usize, Option<String>), UpgradeError> {
    let krate = cx.krate;
    let req = cx.req;
    let staged_manifest = cx.staging.staged(&cx.ws.root_manifest);
    let names = crate_names(krate, cx.usages, steps);
    let packages = package_specs(cx.ws, moved);
    let attempts =
        if req.build.no_feature_flags() { vec![BuildConfig { all_features: true, ..req.build.clone() }, req.build.clone()] } else { vec![req.build.clone()] };
    let check = |round: usize| {
        progress.stage(&format!("cargo check against {krate} {target} (round {round})"));
        let flagged = flagged_sites(cx, steps, moved);
        let mut last = compiler::CheckOutcome::default();
        for config in &attempts {
            last = compiler::check(&staged_manifest, &cx.staging.root, &packages, config, target_dir, &names, &flagged);
            if last.failure.is_none() {
                break;
            }
        }
        last
    };
    let mut round = 1;
    let mut outcome = check(round);
    loop {
        if outcome.failure.is_some() {
            break;
        }
        let sites = sites(&outcome.attributed, cx.staging);
        if sites.is_empty() || round >= MAX_COMPILER_ROUNDS {
            break;
        }
        let mut progressed = false;
        for step in steps.iter().rev() {
            let mut rule = PackRule::new(step.pack.clone());
            rule.envs = envs(cx.usages, moved, &step.pack, &cx.index);
            rule.compiler_sites = sites.clone();
            let step_ws = staged_workspace(cx.staging, &req.selection, Some(moved))?;
            let opts = CheckOptions::new(vec![&rule as &dyn Rule], crate::core::edition::Edition::E2021);
            let m = run_step(cx.judge, &step_ws, &opts, progress, &format!("{krate} {} at the compiler's sites", step.step()));
            if m.files.is_empty() {
                continue;
            }
            let messages: BTreeMap<(String, usize), String> = outcome
                .attributed
                .iter()
                .filter_map(|a| {
                    let what = match a.rule {
                        Some(_) => format!("the compiler reports an error at this call after the bump: {}", a.message),
                        None => format!("the compiler resolved this call: {}", a.message),
                    };
                    Some(((a.file.clone()?, a.line?), what))
                })
                .collect();
            combined.add(m, cx.ws, cx.staging, Some(&messages))?;
            progressed = true;
            break;
        }
        if !progressed {
            break;
        }
        round += 1;
        outcome = check(round);
    }
    // Each listed where it is: an error of the upgrade need not name the crate (a field
    // of one of its types, a companion crate built against the old release), and one
    // that was there before says so by being in `cargo check`'s output before too.
    for (file, line, message) in outcome.other_errors.iter().take(MAX_OTHER_ERRORS) {
        let what = format!("after the upgrade, an error that does not mention {krate} (it may have been there before): {message}");
        diagnostics.push(match file {
            Some(f) => Diagnostic::at(Level::Note, f, *line, what),
            None => Diagnostic::general(Level::Note, what),
        });
    }
    if outcome.other_errors.len() > MAX_OTHER_ERRORS {
        diagnostics.push(Diagnostic::general(
            Level::Note,
            format!(
                "after the upgrade, {} more compile error(s) do not mention {krate} (run `cargo check` to see them)",
                outcome.other_errors.len() - MAX_OTHER_ERRORS
            ),
        ));
    }
    // Two releases of the crate (or of a companion) meet in the build: say which
    // dependencies hold the old one.
    let split: BTreeSet<&String> = outcome.attributed.iter().filter_map(|a| a.two_releases.as_ref()).collect();
    let mut two: BTreeMap<&String, String> = BTreeMap::new();
    for name in split {
        let holders = old_release_holders(&staged_manifest, name, moved, target_dir);
        let who = if holders.is_empty() { "a dependency".to_string() } else { holders.join(", ") };
        diagnostics.push(Diagnostic::general(
            Level::Warning,
            format!(
                "{who} still depend(s) on another release of {name} than the upgraded code: where a value of its {name} types meets code on {krate} {target}, \
                 the types differ and no rewrite of this code fixes it. Upgrade it to a release built on {krate} {target} first (or keep {krate} until it has one)"
            ),
        ));
        two.insert(name, format!("two releases of {name} meet here: {who} still built on the other one (see the warning above)"));
    }
    for a in &outcome.attributed {
        let note = a.two_releases.as_ref().filter(|_| a.rule.is_none()).and_then(|n| two.get(n)).map(String::as_str);
        diagnostics.push(remaining_diagnostic(a, steps, note));
    }
    let failure = outcome.failure.map(|f| {
        // Cargo's words name the staging copy; the user knows their own folder.
        let f = f.replace(&cx.staging.root.display().to_string(), &cx.ws.root.display().to_string());
        let found = if outcome.attributed.is_empty() {
            String::new()
        } else {
            format!(" ({} message(s) about {krate} found before it stopped are listed)", outcome.attributed.len())
        };
        diagnostics.push(Diagnostic::general(
            Level::Warning,
            format!("compiler phase: cargo could not build the upgraded workspace, so what is left of {krate} is not known{found}: {f}"),
        ));
        f
    });
    if failure.is_none() {
        // The lines (the user's) where the compiler still reports something about the crate.
        let reported: BTreeSet<(String, usize)> = outcome
            .attributed
            .iter()
            .filter_map(|a| {
                let file = a.file.clone()?;
                let line = a.range.as_ref().and_then(|r| combined.line_as_read(&file, r.start)).or(a.line)?;
                Some((file, line))
            })
            .collect();
        settle_left_to_compiler(&mut combined.diagnostics, diagnostics, krate, &reported);
    }
    Ok((outcome.attributed, round, failure))
}

/// The sites the packs flag in the staging copy's code as it is now (about to be
/// compiled): every match of a rule of a step, rewritten or left to the compiler phase,
/// by file. An error the compiler reports inside one is the upgrade's to answer, whatever
/// its words.
fn flagged_sites(cx: &StepCx<'_>, steps: &[FoundPack], moved: &BTreeSet<String>) -> compiler::Flagged {
    let mut out = compiler::Flagged::new();
    let Ok(ws) = staged_workspace(cx.staging, &cx.req.selection, Some(moved)) else { return out };
    let checked = check_workspace(&ws, &CheckOptions::new(Vec::new(), crate::core::edition::Edition::E2021), &|_| {});
    let envs: Vec<BTreeMap<String, Env>> = steps.iter().map(|s| envs(cx.usages, moved, &s.pack, &cx.index)).collect();
    for file in checked.files.values().filter(|f| f.kind == crate::core::text::FileKind::Rust && moved.contains(&f.package)) {
        let Ok(parsed) = crate::syntax::parsed::Parsed::parse(&file.text) else { continue };
        for (step, envs) in steps.iter().zip(&envs) {
            let env = envs.get(&file.package).cloned().unwrap_or_else(|| Env::plain(&step.pack.krate));
            let range = |s: proc_macro2::Span| parsed.range(s);
            let run = crate::pack::run_pack(&crate::pack::RunCx::new(&step.pack, &env, &parsed, &file.text, &range));
            let sites = run.flagged.into_iter().map(|(rule, range)| (range, step.pack.rules[rule].full_id));
            out.entry(file.display.clone()).or_default().extend(sites);
        }
    }
    out.retain(|_, sites| !sites.is_empty());
    out
}

/// The newest `to` among packs.
fn newest<'a>(packs: impl Iterator<Item = &'a FoundPack>) -> Option<String> {
    packs.filter_map(|p| Some((p.to_version()?, p.pack.file.to.clone()))).max().map(|(_, to)| to)
}

/// The staging workspace with only `packages` selected (`None`: the user's selection).
fn staged_workspace(staging: &staging::Staging, selection: &Selection, packages: Option<&BTreeSet<String>>) -> Result<Workspace, UpgradeError> {
    let manifest =
        selection.manifest_path.as_ref().map(|m| staging.staged(&m.canonicalize().or_else(|_| std::path::absolute(m)).unwrap_or_else(|_| m.clone())));
    let manifest_path = Some(manifest.unwrap_or_else(|| staging.root.join("Cargo.toml")));
    let sel = match packages {
        Some(p) => Selection { manifest_path, packages: p.iter().cloned().collect(), workspace: false },
        None => Selection { manifest_path, ..selection.clone() },
    };
    Workspace::discover(&sel).map_err(|e| UpgradeError::Metadata(format!("{e:#}")))
}

/// What the pack's matcher needs to know about a member package beyond the file it looks
/// at: the methods it defines itself (inherent impls and trait definitions, in every
/// file), so that a method rule leaves a call it cannot attribute to the crate for the
/// compiler phase; and whether its crate root imports the crate's macros with
/// `#[macro_use] extern crate`.
#[derive(Debug, Default)]
struct PackageIndex {
    own_methods: BTreeSet<String>,
    macro_use: bool,
    /// The types and fields the package defines under `#[cfg(..)]`, in all its files: a
    /// receiver whose type one of them decides is split by that cfg.
    cfg_defs: crate::pack::resolve::CfgDefs,
    /// The texts of the package's Rust files, in which each step's pack looks for the
    /// functions its signature rules change (`pack::run::signature_functions`).
    sources: Vec<String>,
}

/// Each selected member's index: its `#[macro_use]`, and the inherent methods a method
/// rule must not touch. Those are every method defined in the whole workspace (every
/// member, selected or not) and in its path dependencies: `libb::Ids::gen` called from
/// `liba` is no more `rand::Rng::gen` than a method of `liba`'s own; syntax cannot tell
/// which one a call reaches, so such calls are left to the compiler phase.
fn index_packages(staging: &staging::Staging, selection: &Selection, krate: &str, usages: &[Usage]) -> BTreeMap<String, PackageIndex> {
    let mut out: BTreeMap<String, PackageIndex> = BTreeMap::new();
    let everyone = Selection { manifest_path: selection.manifest_path.clone(), packages: Vec::new(), workspace: true };
    let Ok(ws) = staged_workspace(staging, &everyone, None) else { return out };
    let mut env = Env::plain(krate);
    env.local_names.extend(usages.iter().map(|u| u.local_name.clone()));
    let mut workspace_methods = BTreeSet::new();
    let mut index_of = |ws: &Workspace, out: &mut BTreeMap<String, PackageIndex>, members: bool| {
        let checked = check_workspace(ws, &CheckOptions::new(Vec::new(), crate::core::edition::Edition::E2021), &|_| {});
        for file in checked.files.values().filter(|f| f.kind == crate::core::text::FileKind::Rust) {
            let Ok(parsed) = crate::syntax::parsed::Parsed::parse(&file.text) else { continue };
            let facts = Facts::of(&parsed.syntax, &parsed.tokens, &env, &PreludeFacts::default(), &|s| parsed.range(s));
            if members {
                let index = out.entry(file.package.clone()).or_default();
                index.macro_use |= facts.macro_use;
                index.cfg_defs.extend_from(&facts.cfg_defs, &file.display);
                index.sources.push(file.text.clone());
            }
            workspace_methods.extend(facts.own_methods);
        }
    };
    index_of(&ws, &mut out, true);
    // Path dependencies outside the workspace (not the crate being upgraded).
    let outside: BTreeSet<PathBuf> = cargo_metadata::MetadataCommand::new()
        .no_deps()
        .manifest_path(&ws.root_manifest)
        .exec()
        .map(|meta| {
            meta.workspace_packages()
                .iter()
                .flat_map(|p| &p.dependencies)
                .filter(|d| d.name != krate && d.path.is_some())
                .filter_map(|d| d.path.as_ref().map(|p| p.as_std_path().join("Cargo.toml")))
                .filter(|m| !m.starts_with(&ws.root))
                .collect()
        })
        .unwrap_or_default();
    for manifest in outside {
        let dep = Selection { manifest_path: Some(manifest), packages: Vec::new(), workspace: false };
        if let Ok(dep_ws) = Workspace::discover(&dep) {
            index_of(&dep_ws, &mut out, false);
        }
    }
    for member in &ws.packages {
        out.entry(member.name.clone()).or_default().own_methods = workspace_methods.clone();
    }
    out
}

/// Per member package: the crates of the pack's `new_crates` that the changes of `m` made
/// its code name (`nom_language`), with the rules that did.
fn new_crates_needed(pack: &CompiledPack, m: &Migration) -> BTreeMap<String, BTreeMap<String, BTreeSet<&'static str>>> {
    let new_crates: BTreeSet<String> = pack.file.new_crates.iter().map(|c| c.krate.replace('-', "_")).collect();
    let moving_rules: BTreeMap<&'static str, String> = pack
        .rules
        .iter()
        .filter_map(|r| match &r.body {
            crate::pack::pattern::Body::Path { to, .. } if new_crates.contains(&to[0]) => Some((r.full_id, to[0].clone())),
            _ => None,
        })
        .collect();
    let mut out: BTreeMap<String, BTreeMap<String, BTreeSet<&'static str>>> = BTreeMap::new();
    for result in m.files.values() {
        for c in &result.changes {
            if let Some(krate) = moving_rules.get(c.rule) {
                out.entry(result.file.package.clone()).or_default().entry(krate.clone()).or_default().insert(c.rule);
            }
        }
    }
    out
}

/// The pack's environment in each moving member: the crate's local names, the member's
/// own methods, whether it imports the crate's macros with `#[macro_use]`, and its
/// functions whose signature the pack's signature rules change.
fn envs(usages: &[Usage], moving: &BTreeSet<String>, pack: &CompiledPack, index: &BTreeMap<String, PackageIndex>) -> BTreeMap<String, Env> {
    let mut out = BTreeMap::new();
    for package in moving {
        let mut env = Env::plain(&pack.krate);
        let names: BTreeSet<String> = usages.iter().filter(|u| u.package == *package).map(|u| u.local_name.clone()).collect();
        if !names.is_empty() {
            env.local_names = names.into_iter().collect();
        }
        if let Some(index) = index.get(package) {
            env.own_methods = index.own_methods.clone();
            env.macro_use = index.macro_use;
            env.cfg_defs = index.cfg_defs.clone();
            // The package's functions whose signature the pack changes, in any of its
            // files (a name also defined unchanged is ambiguous: its calls are left alone).
            let mut changed = BTreeMap::new();
            let mut unchanged = BTreeSet::new();
            for text in &index.sources {
                let (c, u) = crate::pack::run::signature_functions(pack, &env, text);
                changed.extend(c);
                unchanged.extend(u);
            }
            changed.retain(|name, _| !unchanged.contains(name));
            env.signature_fns = changed;
        }
        out.insert(package.clone(), env);
    }
    out
}

fn crate_names(krate: &str, usages: &[Usage], steps: &[FoundPack]) -> compiler::CrateNames {
    let mut names: Vec<String> = vec![krate.replace('-', "_")];
    names.extend(usages.iter().map(|u| u.local_name.clone()));
    for s in steps {
        names.extend(s.pack.file.companions.iter().map(|c| c.krate.replace('-', "_")));
    }
    names.sort();
    names.dedup();
    let dirs = usages.iter().filter_map(|u| u.path.clone()).collect();
    let codes = steps.iter().flat_map(|s| s.pack.rules.iter().filter_map(|r| r.at_error.clone())).collect();
    compiler::CrateNames { names, dirs, codes }
}

/// The compiler's sites, by file, whose text in the staging copy is what the compiler saw.
fn sites(attributed: &[compiler::Attributed], staging: &staging::Staging) -> BTreeMap<String, Vec<CompilerSite>> {
    let mut out: BTreeMap<String, Vec<CompilerSite>> = BTreeMap::new();
    for a in attributed {
        let Some((file, site)) = a.site() else { continue };
        let Ok(text) = std::fs::read_to_string(staging.root.join(&file)) else { continue };
        if a.highlighted.as_deref().is_some_and(|h| text.get(site.range.clone()) != Some(h)) {
            continue;
        }
        out.entry(file).or_default().push(site);
    }
    out
}

/// Whether a note is the matcher's "left to the compiler phase" about a site.
fn left_to_compiler(d: &Diagnostic) -> bool {
    d.message.contains(crate::pack::matcher::LEFT_TO_COMPILER)
}

/// The syntactic pass's notes about calls it left to the compiler phase, once that phase
/// has built the code: those at a line where the compiler still `reported` something are
/// listed as left (with the pack's note) already; the compiler flagged none of the others
/// (those it flagged were rewritten), so they are not the crate's deprecated items. One
/// note says so, instead of one per call.
fn settle_left_to_compiler(notes: &mut Vec<Diagnostic>, out: &mut Vec<Diagnostic>, krate: &str, reported: &BTreeSet<(String, usize)>) {
    let at_reported = |d: &Diagnostic| d.file.clone().zip(d.line).is_some_and(|place| reported.contains(&place));
    let left: Vec<String> = notes
        .iter()
        .filter(|d| left_to_compiler(d) && !at_reported(d))
        .map(|d| format!("{}:{}", d.file.as_deref().unwrap_or("?"), d.line.unwrap_or(0)))
        .collect();
    notes.retain(|d| !(left_to_compiler(d) && at_reported(d)));
    if left.is_empty() {
        return;
    }
    notes.retain(|d| !left_to_compiler(d));
    out.push(Diagnostic::general(
        Level::Note,
        format!(
            "{} call(s) whose receiver the syntax could not attribute to {krate} are left as they are: the compiler phase found no deprecation or error of {krate} at them in the code it built ({})",
            left.len(),
            left.join(", ")
        ),
    ));
}

/// A message the upgrade leaves, with the pack's note or guide.
/// The packages outside the workspace that depend on a release of `krate` other than the
/// one the `moved` members now use, as `name version (krate version)`, from the staging
/// copy's resolved graph. Empty when cargo cannot resolve it.
fn old_release_holders(staged_manifest: &std::path::Path, krate: &str, moved: &BTreeSet<String>, target_dir: &std::path::Path) -> Vec<String> {
    let Ok(meta) = MetadataCommand::new().manifest_path(staged_manifest).env("CARGO_TARGET_DIR", target_dir).exec() else { return Vec::new() };
    let Some(resolve) = &meta.resolve else { return Vec::new() };
    let package = |id: &cargo_metadata::PackageId| meta.packages.iter().find(|p| &p.id == id);
    let is_krate = |id: &cargo_metadata::PackageId| package(id).is_some_and(|p| p.name.as_str() == krate);
    let members: BTreeSet<&cargo_metadata::PackageId> = meta.workspace_members.iter().collect();
    // The releases the moved members use now; for a crate they do not name (a companion
    // reached through the upgraded one), its newest in the build.
    let mut new: BTreeSet<&cargo_metadata::PackageId> = resolve
        .nodes
        .iter()
        .filter(|n| members.contains(&n.id) && package(&n.id).is_some_and(|p| moved.contains(p.name.as_str())))
        .flat_map(|n| n.deps.iter().map(|d| &d.pkg))
        .filter(|id| is_krate(id))
        .collect();
    if new.is_empty() {
        new.extend(meta.packages.iter().filter(|p| p.name.as_str() == krate).max_by(|a, b| a.version.cmp(&b.version)).map(|p| &p.id));
    }
    let mut out: Vec<String> = resolve
        .nodes
        .iter()
        .filter(|n| !members.contains(&n.id))
        .filter_map(|n| {
            let old = n.deps.iter().map(|d| &d.pkg).find(|id| is_krate(id) && !new.contains(id))?;
            let (p, o) = (package(&n.id)?, package(old)?);
            Some(format!("{} {} ({krate} {})", p.name, p.version, o.version))
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// What the upgrade left at one message; `two_releases`: the note to give when two
/// releases of the crate meet there (no pack rule answers that).
fn remaining_diagnostic(a: &compiler::Attributed, steps: &[FoundPack], two_releases: Option<&str>) -> Diagnostic {
    let leaf = a.item.last().cloned().or_else(|| {
        let m = &a.message;
        let start = m.find('`')?;
        let len = m[start + 1..].find('`')?;
        m[start + 1..start + 1 + len].rsplit("::").next().map(String::from)
    });
    // The type or trait the item belongs to (`StepRng` of `rand::rngs::mock::StepRng::new`):
    // a rule about `Uniform::new` says nothing about it.
    let owner = a.item.iter().rev().nth(1).filter(|s| s.starts_with(|c: char| c.is_uppercase()));
    let mut note = a.rule.and_then(|id| {
        let rule = steps.iter().rev().flat_map(|s| s.pack.rules.iter()).find(|r| r.full_id == id)?;
        Some((rule.full_id, format!("pack note: {}", rule.message)))
    });
    for step in steps.iter().rev().filter(|_| note.is_none()) {
        let rule = leaf.as_ref().and_then(|leaf| {
            step.pack.file.rules.iter().position(|r| {
                let paths = [r.trait_path.as_deref(), r.receiver_type.as_deref()].into_iter().flatten().flat_map(|p| p.split("::"));
                let words: BTreeSet<&str> = pattern_names(&r.pattern).into_iter().chain(paths).collect();
                words.contains(leaf.as_str()) && owner.is_none_or(|o| words.contains(o.as_str()))
            })
        });
        if let Some(i) = rule {
            note = Some((step.pack.rules[i].full_id, format!("pack note: {}", step.pack.rules[i].message)));
            break;
        }
    }
    let last = steps.last();
    if let (None, Some(two)) = (&note, two_releases) {
        note = Some((last.map_or("upgrade", |s| s.pack.meta.id), two.to_string()));
    }
    let (rule, note) = note.unwrap_or_else(|| {
        let id = last.map_or("upgrade", |s| s.pack.meta.id);
        let guide =
            last.and_then(|s| s.pack.file.guide.clone()).map_or_else(|| "no pack rule covers it".to_string(), |g| format!("no pack rule covers it; see {g}"));
        (id, guide)
    });
    let what = if a.error { "error after the upgrade" } else { "still deprecated after the upgrade" };
    let message = format!("{what}: {} — {note}", a.message);
    let d = match (&a.file, a.line) {
        (Some(f), line) => Diagnostic::at(Level::Warning, f, line, message),
        (None, _) => Diagnostic::general(Level::Warning, message),
    };
    d.with_rule(rule)
}

/// The names a pattern spells (paths, methods), its metavariables (`$date`, `$..args`)
/// left out: a message about `date` is not one about `$date.and_hms(..)`.
fn pattern_names(pattern: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in pattern.char_indices().chain([(pattern.len(), ' ')]) {
        let in_name = c.is_alphanumeric() || c == '_';
        match (start, in_name) {
            (None, true) => start = Some(i),
            (Some(s), false) => {
                let before = &pattern[..s];
                if !(before.ends_with('$') || before.ends_with("$..")) {
                    out.push(&pattern[s..i]);
                }
                start = None;
            }
            _ => {}
        }
    }
    out
}

/// The steps' migrations, chained into one relative to the user's files.
#[derive(Default)]
struct Combined {
    files: BTreeMap<String, FileResult>,
    diagnostics: Vec<Diagnostic>,
    verdicts: Vec<crate::core::model::Verdict>,
    sites: Vec<crate::core::model::Site>,
    unchanged: Vec<crate::core::model::Unchanged>,
    files_read: usize,
    lines_read: usize,
    first: bool,
}

impl Combined {
    /// Adds a run on the staging copy (and writes its results there). `compiler`: the
    /// compiler's messages by (file, line) for a compiler-phase run.
    fn add(
        &mut self,
        m: Migration,
        ws: &Workspace,
        staging: &staging::Staging,
        compiler: Option<&BTreeMap<(String, usize), String>>,
    ) -> Result<(), UpgradeError> {
        if !self.first {
            self.first = true;
            self.files_read = m.files_read;
            self.lines_read = m.lines_read;
        }
        let mut diagnostics = m.diagnostics;
        self.verdicts.extend(m.verdicts);
        self.sites.extend(m.sites);
        self.unchanged.extend(m.unchanged);
        if compiler.is_some() {
            // Sites still left to the compiler were reported by the syntactic pass already.
            diagnostics.retain(|d| !left_to_compiler(d));
        }
        for (display, mut result) in m.files {
            std::fs::write(&result.file.path, &result.new_text)?;
            if let Some(rewrites) = staging.rewrites.get(&display) {
                // A manifest whose path dependencies the staging copy made absolute: back
                // to the user's text, edits shifted.
                for c in &mut result.changes {
                    staging::unstage(&result.file.text, rewrites, &mut c.edits);
                }
                result.file.text = staging::unstage(&result.file.text, rewrites, &mut []);
                result.new_text = staging::unstage(&result.new_text, rewrites, &mut []);
            }
            if let Some(messages) = compiler {
                for c in &mut result.changes {
                    if let Some(msg) = messages.get(&(display.clone(), c.line)) {
                        c.reason = format!("{} ({msg})", c.reason);
                    }
                    // The syntactic pass left this site to the compiler: it is decided now.
                    let lines: BTreeSet<usize> = c
                        .edits
                        .iter()
                        .map(|e| {
                            self.line_as_read(&display, e.range.start)
                                .unwrap_or_else(|| crate::core::text::LineIndex::new(&result.file.text).line(e.range.start))
                        })
                        .collect();
                    self.diagnostics.retain(|d| {
                        !(d.file.as_deref() == Some(display.as_str())
                            && d.rule == Some(c.rule)
                            && d.line.is_some_and(|l| lines.contains(&l))
                            && left_to_compiler(d))
                    });
                }
            }
            match self.files.get_mut(&display) {
                Some(existing) => {
                    // This run's changes are relative to the text the runs before made.
                    let base = existing.changes.len();
                    if base > 0 && !result.changes.is_empty() {
                        existing.later_rounds.push(base);
                    }
                    existing.later_rounds.extend(result.later_rounds.iter().map(|r| r + base));
                    existing.new_text = result.new_text;
                    existing.passes += result.passes;
                    existing.changes.extend(result.changes);
                }
                None => {
                    result.file.path = ws.root.join(&display);
                    self.files.insert(display, result);
                }
            }
        }
        self.diagnostics.extend(diagnostics);
        Ok(())
    }

    /// The line of the file as read (the user's) that `offset` in its text as the runs so
    /// far left it comes from: back through each round's edits (an offset inside an edit's
    /// replacement comes from the edit's start).
    /// `None` for a file no run has changed: its lines are the user's.
    fn line_as_read(&self, display: &str, offset: usize) -> Option<usize> {
        let result = self.files.get(display)?;
        let mut offset = offset;
        for round in result.rounds().iter().rev() {
            let mut edits: Vec<&crate::core::model::Edit> = result.changes[round.clone()].iter().flat_map(|c| &c.edits).collect();
            edits.sort_by_key(|e| e.range.start);
            let mut delta = 0isize;
            let mut inside = None;
            for e in edits {
                let start = e.range.start.saturating_add_signed(delta);
                if offset < start {
                    break;
                }
                if offset < start + e.replacement.len() {
                    inside = Some(e.range.start);
                    break;
                }
                delta += e.replacement.len() as isize - e.range.len() as isize;
            }
            offset = inside.unwrap_or_else(|| offset.saturating_add_signed(-delta));
        }
        Some(crate::core::text::LineIndex::new(&result.file.text).line(offset))
    }

    fn finish(self) -> Migration {
        let mut diagnostics = self.diagnostics;
        diagnostics.sort();
        diagnostics.dedup();
        let mut m = Migration {
            files: self.files,
            diagnostics,
            files_read: self.files_read,
            lines_read: self.lines_read,
            verdicts: self.verdicts,
            sites: self.sites,
            ..Migration::default()
        };
        m.add_unchanged(self.unchanged);
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deprecation(item: &str, message: &str) -> compiler::Attributed {
        compiler::Attributed {
            error: false,
            file: Some("src/lib.rs".into()),
            line: Some(3),
            range: Some(10..20),
            highlighted: None,
            message: message.into(),
            item: item.split("::").map(String::from).collect(),
            code: None,
            rendered: String::new(),
            rule: None,
            two_releases: None,
        }
    }

    #[test]
    fn what_is_left_gets_the_note_of_the_rule_about_that_item_only() {
        let rand = packs::builtin("rand").unwrap();
        // `Uniform::new` has a rule; `StepRng::new` shares only the method's name.
        let d = remaining_diagnostic(&deprecation("rand::distr::Uniform::new", "use of deprecated `rand::distr::Uniform::new`"), &rand, None);
        assert_eq!(d.rule, Some("rand/uniform-new"), "{d:?}");
        let d = remaining_diagnostic(&deprecation("rand::rngs::mock::StepRng::new", "use of deprecated `rand::rngs::mock::StepRng::new`"), &rand, None);
        assert_eq!(d.rule, Some("rand@0.8-0.9"), "{d:?}");
        assert!(d.message.contains("no pack rule covers it; see https://rust-random.github.io/book/update-0.9.html"), "{}", d.message);
        // A trait method is known by its trait.
        let d = remaining_diagnostic(&deprecation("rand::Rng::gen_range", "use of deprecated `rand::Rng::gen_range`"), &rand, None);
        assert!(d.rule.is_some_and(|r| r.starts_with("rand/gen-range")), "{d:?}");
    }

    #[test]
    fn pattern_names_leave_out_metavariables() {
        assert_eq!(pattern_names("$date.and_hms($..args)"), ["and_hms"]);
        assert_eq!(pattern_names("chrono::Utc::today().format($fmt)"), ["chrono", "Utc", "today", "format"]);
        assert_eq!(pattern_names("$tz.ymd($y, $m, $d).date()"), ["ymd", "date"]);
        // `DateTime::date` is not `$date.and_hms(..)` on a `Date` or a `NaiveDate`.
        let chrono = packs::builtin("chrono").unwrap();
        let d = remaining_diagnostic(&deprecation("chrono::DateTime::date", "use of deprecated method `chrono::DateTime::<Tz>::date`"), &chrono, None);
        assert!(d.rule.is_some_and(|r| r.starts_with("chrono/datetime-date")), "{d:?}");
    }
}
