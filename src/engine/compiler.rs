//! The compiler phase: `cargo check` with the `rust-2024-compatibility` lints forced to
//! warn on workspace members, each diagnostic turned into a finding of the same model as
//! the syntactic rules. Type-aware lints (`unsafe_op_in_unsafe_fn`, `impl_trait_overcaptures`,
//! `static_mut_refs`, ...) can only come from here.
//!
//! Lints are forced through `RUSTC_WORKSPACE_WRAPPER` pointing at this binary, which cargo
//! uses for workspace members only: dependencies keep their build cache and are not linted.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use cargo_metadata::diagnostic::{Applicability, Diagnostic as RustcDiagnostic, DiagnosticSpan};
use cargo_metadata::Message;

use crate::cargo::build::{check_command, check_targets_command, BuildConfig, WRAPPER_ENV};
use crate::cargo::failed_targets::FailedTargets;
use crate::core::edition::Edition;
use crate::core::model::{
    CfgStatus, Change, Decider, Destructor, Diagnostic, DropOrigin, Edit, Evidence, Level, Safety, Site, SiteOption, Unchanged, UnchangedReason,
};
use crate::core::text::{LineIndex, SourceFile};

/// What the compiler phase found.
#[derive(Debug, Default)]
pub struct CompilerFindings {
    /// Changes from lint suggestions.
    pub changes: Vec<Change>,
    /// Lints without a usable suggestion, and notes about the phase itself.
    pub diagnostics: Vec<Diagnostic>,
    /// Sites for the judge (`if_let_rescope`, `tail_expr_drop_order`).
    pub sites: Vec<Site>,
    /// Lints seen and left as they are: no automatic fix (for review), or inside a macro
    /// of another crate.
    pub unchanged: Vec<Unchanged>,
    /// Why the phase did not run, if it did not (cargo could not run, nothing built).
    pub skipped: Option<String>,
    /// The configuration that was checked, if the build succeeded.
    pub config: Option<String>,
}

/// What the compiler phase's `cargo check` runs produced, before their messages are
/// matched with the files the syntactic pass read: [`Built::findings`] does that. The
/// builds need nothing from that pass, so the two run at the same time
/// ([`crate::engine::pipeline::migrate`]).
pub struct Built {
    /// The phase's notes and, if it stopped, why (a finished [`CompilerFindings`] but for
    /// the lints).
    out: CompilerFindings,
    /// The configuration whose messages count, and its build; and the messages of the
    /// targets it could not build, checked again with the next configuration.
    best: Option<(BuildConfig, Build)>,
    retried: Option<Retried>,
}

/// The messages of the targets checked again, and the configuration they were checked in.
type Retried = (BuildConfig, Vec<RustcDiagnostic>);

impl Built {
    /// Converts the build's messages into changes, judge sites and notes. `files` are the
    /// files the syntactic pass read, by absolute path; lints of the steps beyond `to` are
    /// left out (the builds report every step up to 2024).
    pub fn findings(self, root: &Path, files: &BTreeMap<PathBuf, &SourceFile>, to: Edition) -> CompilerFindings {
        let Built { mut out, best, retried } = self;
        if let Some((config, build)) = best {
            convert(&build.diagnostics, root, files, &config.describe(), to, &mut out);
        }
        if let Some((config, diagnostics)) = retried {
            convert(&diagnostics, root, files, &config.describe(), to, &mut out);
        }
        out
    }
}

/// The one package the compiler phase builds, for [`build`] to remember between runs which
/// of its targets fail with `--all-features`.
pub struct Remembered {
    /// Its record in the target directory.
    pub record: FailedTargets,
    /// Its targets, as cargo's flags name them.
    pub targets: Vec<(String, String)>,
}

/// Runs `cargo check --all-targets` with the migration lints; [`Built::findings`]
/// converts what it says. Tries `--all-features` first when no feature flag was given,
/// then the default features. With `remembered`, the targets that failed with
/// `--all-features` in an earlier run (and the package unchanged since) are checked in the
/// default configuration only: the result is the same, without failing them again.
pub fn build(manifest: &Path, packages: &[String], config: &BuildConfig, remembered: Option<&Remembered>) -> Built {
    let mut attempts = Vec::new();
    if config.no_feature_flags() {
        attempts.push(BuildConfig { all_features: true, ..config.clone() });
    }
    attempts.push(config.clone());
    let mut out = CompilerFindings::default();
    // The first configuration that builds completely wins; else the one whose targets
    // failed least (a bench that needs nightly should not hide the rest of the crate).
    let mut best: Option<(BuildConfig, Build)> = None;
    let mut retried = None;
    if let Some((r, failed)) = remembered.and_then(|r| Some((r, r.record.load()?))) {
        let rest: Vec<(String, String)> = r.targets.iter().filter(|t| !failed.contains(t)).cloned().collect();
        // What `--all-targets` builds but for the failed targets, in at most two cargo
        // runs. In test mode (`--profile test`: no flag names unit tests alone) the
        // library and binaries as unit tests, and the integration tests, whose library is
        // checked as it is, as their dependency; then as they are the binaries, examples
        // and benches, and the library when no integration test brings it. A crate of a
        // library and its tests (tokio) takes one run.
        let has_tests = rest.iter().any(|(kind, _)| kind == "test");
        let test_mode: Vec<(String, String)> = rest.iter().filter(|(kind, _)| matches!(kind.as_str(), "lib" | "bin" | "test")).cloned().collect();
        let as_is: Vec<(String, String)> =
            rest.iter().filter(|(kind, _)| matches!(kind.as_str(), "bin" | "example" | "bench") || (kind == "lib" && !has_tests)).cloned().collect();
        let first = [(test_mode, true), (as_is, false)]
            .into_iter()
            .filter(|(targets, _)| !targets.is_empty())
            .try_fold(None::<Build>, |so_far, (targets, unit_tests)| {
                let more = cargo_check_as(manifest, packages, &attempts[0], Some(&targets), unit_tests)?;
                Ok(Some(match so_far {
                    None => more,
                    Some(build) => build.joined(more),
                }))
            })
            .and_then(|build| build.ok_or_else(|| "every target failed before".to_string()));
        match first {
            Ok(build) if build.failures.is_empty() && build.units > 0 => {
                let (b, again) = retry_in(manifest, packages, attempts[0].clone(), build, attempts[1].clone(), &failed);
                best = Some(b);
                retried = again;
            }
            // The record no longer holds: the whole way, as if there were none.
            _ => r.record.forget(),
        }
    }
    let mut next = (attempts.len() > 1).then(|| attempts[1].clone());
    let attempts = if best.is_some() { Vec::new() } else { attempts };
    for attempt in attempts {
        let build = match cargo_check(manifest, packages, &attempt, None) {
            Ok(build) => build,
            Err(e) => {
                out.diagnostics.push(Diagnostic::general(Level::Warning, format!("compiler phase skipped: {e}")));
                out.skipped = Some(e);
                return Built { out, best: None, retried: None };
            }
        };
        // Done when everything built, or when what failed would fail the same way in the
        // next configuration (a nightly-only bench): a second whole `cargo check` would
        // only cost time.
        let done = build.failures.is_empty() || (build.units > 0 && build.failures_config_independent);
        if build.failures.is_empty() && attempt.all_features {
            remembered.inspect(|r| r.record.forget());
        }
        // The configuration that shows the most migration lints wins (it compiled the
        // most of the code that matters), then the one that compiled more targets, then
        // the one with fewer failures.
        let score = |b: &Build| (b.diagnostics.iter().filter(|d| lint_name(d).is_some()).count(), b.units, std::cmp::Reverse(b.failures.len()));
        let better = |b: &Build| score(&build) > score(b);
        // When only tests, benches or examples failed (the library built), the next
        // configuration checks just those: their lints are added to this one's, and a
        // second whole `cargo check` is not needed.
        let only_extras =
            build.units > 0 && build.failures.iter().all(|f| f.target.as_ref().is_some_and(|(kind, _)| matches!(kind.as_str(), "test" | "bench" | "example")));
        if best.is_none() && !done && only_extras && next.is_some() {
            let next = next.take().expect("checked");
            let failed: Vec<(String, String)> = build.failures.iter().filter_map(|f| f.target.clone()).collect();
            remembered.inspect(|r| r.record.store(&failed));
            let (b, again) = retry_in(manifest, packages, attempt, build, next, &failed);
            best = Some(b);
            retried = again;
            break;
        }
        if best.as_ref().is_none_or(|(_, b)| better(b)) {
            best = Some((attempt, build));
        }
        if done {
            break;
        }
    }
    let Some((config, build)) = best else { return Built { out, best: None, retried: None } };
    if build.units == 0 {
        let why = build.failures.first().map(|f| f.message.clone()).unwrap_or_else(|| "nothing was compiled".into());
        out.diagnostics.push(Diagnostic::general(
            Level::Warning,
            format!("compiler phase skipped: the crate does not build as it is, so only the syntactic rules ran ({}: {why})", config.describe()),
        ));
        out.skipped = Some("the crate does not build as it is".into());
        return Built { out, best: None, retried: None };
    }
    for failure in &build.failures {
        out.diagnostics.push(Diagnostic::general(
            Level::Warning,
            format!(
                "compiler phase: a target did not build with {} and its type-aware lints are missing ({}); the syntactic rules still cover it",
                config.describe(),
                failure.message
            ),
        ));
    }
    out.config = Some(config.describe());
    Built { out, best: Some((config, build)), retried }
}

/// Checks the `failed` targets of `build` (made with `attempt`) again with `next`: their
/// messages come from that build (those `build` has of them are dropped, so that a run
/// that knew them in advance sees the same), and they stay failures only if they fail
/// again. Returns the build with its configuration, and what the second one added.
fn retry_in(
    manifest: &Path,
    packages: &[String],
    attempt: BuildConfig,
    mut build: Build,
    next: BuildConfig,
    failed: &[(String, String)],
) -> ((BuildConfig, Build), Option<Retried>) {
    let Ok(again) = cargo_check(manifest, packages, &next, Some(failed)) else { return ((attempt, build), None) };
    let mut kept = Vec::new();
    for (target, d) in again.targets.iter().zip(&again.diagnostics) {
        if failed.contains(target) {
            kept.push(d.clone());
        }
    }
    let (targets, diagnostics): (Vec<_>, Vec<_>) =
        std::mem::take(&mut build.targets).into_iter().zip(std::mem::take(&mut build.diagnostics)).filter(|(t, _)| !failed.contains(t)).unzip();
    build.targets = targets;
    build.diagnostics = diagnostics;
    // Targets that fail in both configurations stay failures (with the second's words).
    build.failures.clear();
    build.failures.extend(again.failures.into_iter().filter(|f| f.target.as_ref().is_some_and(|t| failed.contains(t))));
    build.units += again.units;
    ((attempt, build), Some((next, kept)))
}

/// A target that did not build: which (none when cargo itself failed), and one line,
/// its first error.
struct Failure {
    target: Option<(String, String)>,
    message: String,
}

/// What one `cargo check` run produced.
struct Build {
    /// Compiler messages of workspace members.
    diagnostics: Vec<RustcDiagnostic>,
    /// The target of each message: its kind (`lib`, `test`, ...) and name.
    targets: Vec<(String, String)>,
    /// Targets that compiled (artifacts of workspace members).
    units: usize,
    /// One per failed target (or cargo's own failure).
    failures: Vec<Failure>,
    /// Whether every failed target failed for a reason no choice of features changes: a
    /// `#![feature]` on the stable channel (E0554), a file a test or bench includes that
    /// the package leaves out. Another configuration would fail them the same way.
    failures_config_independent: bool,
}

impl Build {
    /// This build and `more` (another run's, same configuration) as one.
    fn joined(mut self, more: Build) -> Build {
        self.diagnostics.extend(more.diagnostics);
        self.targets.extend(more.targets);
        self.units += more.units;
        self.failures.extend(more.failures);
        self.failures_config_independent &= more.failures_config_independent;
        self
    }
}

/// Whether an error fails its target whatever the features: a nightly-only `#![feature]`
/// (E0554), or an included file that is missing.
fn independent_of_features(d: &RustcDiagnostic) -> bool {
    d.code.as_ref().is_some_and(|c| c.code == "E0554") || d.message.starts_with("couldn't read ")
}

/// Runs `cargo check --keep-going` with the lints forced on workspace members.
/// A target as cargo's flags name it: its first kind and its name.
fn target_of(t: &cargo_metadata::Target) -> (String, String) {
    (t.kind.first().map_or_else(|| "lib".to_string(), |k| k.to_string()), t.name.clone())
}

/// Runs `cargo check --keep-going` with the lints forced on workspace members: on every
/// target, or on `targets` only.
fn cargo_check(manifest: &Path, packages: &[String], config: &BuildConfig, targets: Option<&[(String, String)]>) -> Result<Build, String> {
    cargo_check_as(manifest, packages, config, targets, false)
}

/// [`cargo_check`]; with `unit_tests`, the `targets` (a library, binaries) as unit tests.
fn cargo_check_as(manifest: &Path, packages: &[String], config: &BuildConfig, targets: Option<&[(String, String)]>, unit_tests: bool) -> Result<Build, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this executable: {e}"))?;
    let mut cmd = match targets {
        Some(targets) => check_targets_command(manifest, packages, config, targets, unit_tests),
        None => check_command(manifest, packages, config),
    };
    cmd.env("RUSTC_WORKSPACE_WRAPPER", exe).env(WRAPPER_ENV, "1");
    // No incremental state for these builds: a migration's check is a one-off analysis
    // (after `--apply` the edition flag changes, which voids that state anyway), and
    // writing it costs about a fifth of a check (tokio's library: 2.3 s instead of 3.0 s).
    // A `CARGO_INCREMENTAL` the user set is kept. Dependencies are never incremental, so
    // their builds stay shared with the user's.
    if std::env::var_os("CARGO_INCREMENTAL").is_none() {
        cmd.env("CARGO_INCREMENTAL", "0");
    }
    tracing::info!("running {cmd:?}");
    let output = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).output().map_err(|e| format!("cannot run cargo: {e}"))?;
    let mut build = Build { diagnostics: Vec::new(), targets: Vec::new(), units: 0, failures: Vec::new(), failures_config_independent: true };
    let mut failed_targets = std::collections::BTreeSet::new();
    for message in Message::parse_stream(output.stdout.as_slice()) {
        match message {
            Ok(Message::CompilerMessage(msg)) => {
                if msg.message.level == cargo_metadata::diagnostic::DiagnosticLevel::Error
                    && !msg.message.message.starts_with("aborting due to")
                    && failed_targets.insert(format!("{} {:?}", msg.target.name, msg.target.kind))
                {
                    build.failures.push(Failure {
                        target: Some(target_of(&msg.target)),
                        message: format!(
                            "`{}` ({}): {}",
                            msg.target.name,
                            msg.target.kind.iter().map(|k| k.to_string()).collect::<Vec<_>>().join(", "),
                            msg.message.message
                        ),
                    });
                    build.failures_config_independent &= independent_of_features(&msg.message);
                }
                build.targets.push(target_of(&msg.target));
                build.diagnostics.push(msg.message);
            }
            // An artifact of the workspace (not of a registry or git dependency).
            Ok(Message::CompilerArtifact(a)) if manifest.parent().is_some_and(|root| a.manifest_path.as_std_path().starts_with(root)) => build.units += 1,
            _ => {}
        }
    }
    if !output.status.success() && build.failures.is_empty() {
        // Cargo itself failed (a manifest error, a missing dependency): not per target.
        let stderr = String::from_utf8_lossy(&output.stderr);
        let reason = stderr
            .lines()
            .find(|l| l.starts_with("error"))
            .or_else(|| stderr.lines().rev().find(|l| !l.trim().is_empty()))
            .unwrap_or("cargo check failed")
            .trim()
            .to_string();
        build.failures.push(Failure { target: None, message: reason });
        build.failures_config_independent = false;
    }
    Ok(build)
}

/// A lint of an edition step's group (`rust-2018-compatibility`, `rust-2021-compatibility`,
/// `rust-2024-compatibility`), as `cargo migrate rules` lists it.
#[derive(Debug)]
pub struct LintDoc {
    /// The lint's name (what `--only` / `--skip` take).
    pub name: &'static str,
    /// The edition whose step the lint belongs to (its group prepares code for it).
    pub edition: Edition,
    /// What it reports.
    pub summary: &'static str,
    /// What cargo migrate does with it.
    pub treatment: &'static str,
    /// The edition guide page.
    pub guide: &'static str,
}

macro_rules! lints {
    ($($edition:ident $year:literal: $name:literal, $summary:literal, $treatment:literal, $page:literal;)*) => {
        /// Every lint of the groups, with how the compiler phase treats it.
        pub const LINTS: &[LintDoc] = &[$(LintDoc {
            name: $name,
            edition: Edition::$edition,
            summary: $summary,
            treatment: $treatment,
            guide: concat!("https://doc.rust-lang.org/edition-guide/rust-", $year, "/", $page, ".html"),
        }),*];
    };
}

lints! {
    E2018 "2018": "absolute_paths_not_starting_with_crate", "a path to the crate's own item must start with `crate::`", "the compiler's `crate::` path is applied (safe)", "path-changes";
    E2018 "2018": "anonymous_parameters", "trait methods' parameters need a name", "`_: T` is applied (safe)", "trait-fn-parameters";
    E2018 "2018": "keyword_idents_2018", "`async`, `await`, `dyn`, `try` are keywords", "the raw identifier (`r#async`) is applied (safe)", "new-keywords";
    E2018 "2018": "tyvar_behind_raw_pointer", "a method call on a raw pointer to an unknown type", "no automatic fix: name the pointee's type", "tyvar-behind-raw-pointer";
    E2021 "2021": "ellipsis_inclusive_range_patterns", "`...` range patterns are an error", "`..=` is applied (safe)", "warnings-promoted-to-error";
    E2021 "2021": "bare_trait_objects", "trait objects need `dyn`", "`dyn` is applied (safe)", "warnings-promoted-to-error";
    E2021 "2021": "array_into_iter", "`array.into_iter()` yields values instead of references", "`.iter()` keeps today's behaviour (safe)", "IntoIterator-for-arrays";
    E2021 "2021": "non_fmt_panics", "`panic!` with one argument formats it", "`\"{}\", ` keeps today's message (safe)", "panic-macro-consistency";
    E2021 "2021": "rust_2021_incompatible_closure_captures", "closures capture fields instead of whole variables, so drop order or auto traits change", "`let _ = &x;` keeps today's capture (safe)", "disjoint-capture-in-closures";
    E2021 "2021": "rust_2021_incompatible_or_patterns", "`$x:pat` also matches `a | b`", "`$x:pat_param` keeps today's meaning (safe)", "or-patterns-macro-rules";
    E2021 "2021": "rust_2021_prefixes_incompatible_syntax", "`prefix#`, `prefix\"..\"` and `prefix'x'` are reserved", "a space after the prefix (safe)", "reserving-syntax";
    E2021 "2021": "rust_2021_prelude_collisions", "a method name collides with `TryFrom`/`TryInto`/`FromIterator` now in the prelude", "the fully qualified call is applied (safe)", "prelude";
    E2024 "2024": "unsafe_op_in_unsafe_fn", "unsafe operations in an `unsafe fn` body need an `unsafe` block", "the compiler's block is applied (safe)", "unsafe-op-in-unsafe-fn";
    E2024 "2024": "impl_trait_overcaptures", "`impl Trait` in return position captures every lifetime in scope", "`+ use<..>` keeps today's captures (safe)", "rpit-lifetime-capture";
    E2024 "2024": "rust_2024_incompatible_pat", "binding modes and reference patterns change meaning", "the compiler's explicit pattern is applied", "match-ergonomics";
    E2024 "2024": "boxed_slice_into_iter", "`Box<[T]>::into_iter` yields values instead of references", "`.iter()` keeps today's behaviour (safe)", "intoiterator-box-slice";
    E2024 "2024": "rust_2024_prelude_collisions", "a method name collides with `Future`/`IntoFuture` now in the prelude", "the fully qualified call is applied (safe)", "prelude";
    E2024 "2024": "never_type_fallback_flowing_into_unsafe", "the never type falls back to `!` instead of `()` in unsafe code", "the compiler's type annotation (safe); where it has none, `let _: () =` at a macro's invocation or the value annotated, needs review", "never-type-fallback";
    E2024 "2024": "dependency_on_unit_never_type_fallback", "code depends on the never type falling back to `()`", "the compiler's type annotation (safe); where it has none, `let _: () =` at a macro's invocation or the value annotated, needs review", "never-type-fallback";
    E2024 "2024": "deprecated_safe_2024", "functions that became `unsafe`", "handled by `unsafe-std-functions`; other functions: the compiler's fix", "newly-unsafe-functions";
    E2024 "2024": "static_mut_refs", "references to `static mut` are denied", "the explicit raw-pointer form that keeps today's behaviour, implicit references included (`ref`, format and macro arguments), needs review", "static-mut-references";
    E2024 "2024": "missing_unsafe_on_extern", "extern blocks need `unsafe`", "handled by `unsafe-extern-blocks`", "unsafe-extern";
    E2024 "2024": "unsafe_attr_outside_unsafe", "`no_mangle` and co. need `unsafe(..)`", "handled by `unsafe-attributes`", "unsafe-attributes";
    E2024 "2024": "keyword_idents_2024", "`gen` is a keyword", "handled by `keyword-gen`", "gen-keyword";
    E2024 "2024": "edition_2024_expr_fragment_specifier", "`expr` also matches `const { }` and `_`", "handled by `expr-fragment`: changed only where an arm would be shadowed", "macro-fragment-specifiers";
    E2024 "2024": "rust_2024_guarded_string_incompatible_syntax", "`#\"..\"` and `##` are reserved", "handled by `guarded-strings`", "reserved-syntax";
    E2024 "2024": "if_let_rescope", "temporaries of an `if let` scrutinee are dropped before `else`", "a judge site: heuristics, a model, else the conservative `match` for review", "temporary-if-let-scope";
    E2024 "2024": "tail_expr_drop_order", "temporaries of a block's tail expression are dropped before its locals", "a judge site: accepted where the order cannot be observed, else flagged for review; a temporary the value borrows (E0716 on 2024): parentheses or a `let`", "temporary-tail-expr-scope";
}

/// The documentation of a lint of the group.
pub fn lint_doc(name: &str) -> Option<&'static LintDoc> {
    LINTS.iter().find(|l| l.name == name)
}

/// Lints whose sites the syntactic rules handle, with the rule that does.
pub const COVERED_BY_RULES: [(&str, &str); 6] = [
    ("keyword_idents_2024", "keyword-gen"),
    ("missing_unsafe_on_extern", "unsafe-extern-blocks"),
    ("unsafe_attr_outside_unsafe", "unsafe-attributes"),
    ("deprecated_safe_2024", "unsafe-std-functions"),
    ("rust_2024_guarded_string_incompatible_syntax", "guarded-strings"),
    ("edition_2024_expr_fragment_specifier", "expr-fragment"),
];

/// The lint a diagnostic reports, if it is a migration lint.
fn lint_name(d: &RustcDiagnostic) -> Option<String> {
    let code = d.code.as_ref()?.code.as_str();
    if code == "E0133" {
        // An unsafe operation in an `unsafe fn`, reported as a warning by the lint.
        return (d.level == cargo_metadata::diagnostic::DiagnosticLevel::Warning).then(|| "unsafe_op_in_unsafe_fn".to_string());
    }
    lint_doc(code).map(|l| l.name.to_string())
}

/// Interns a lint name as a rule id (`&'static str`, as the change model wants).
fn rule_id(lint: &str) -> &'static str {
    use std::sync::{Mutex, OnceLock};
    static IDS: OnceLock<Mutex<Vec<&'static str>>> = OnceLock::new();
    let mut ids = IDS.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner());
    if let Some(id) = ids.iter().find(|i| **i == lint) {
        return id;
    }
    let id: &'static str = Box::leak(lint.to_string().into_boxed_str());
    ids.push(id);
    id
}

fn convert(messages: &[RustcDiagnostic], root: &Path, files: &BTreeMap<PathBuf, &SourceFile>, config: &str, to: Edition, out: &mut CompilerFindings) {
    convert_all(messages, root, files, config, to, out);
    // rustc suggests wrapping a whole `unsafe fn` body only on its first unsafe
    // operation; the others, inside the body that change wraps, need nothing more.
    let covered: Vec<(&'static str, String, usize, usize)> = out
        .changes
        .iter()
        .filter_map(|c| {
            let file = files.values().find(|f| f.display == c.file)?;
            let last = c.line + file.text.get(c.span())?.matches('\n').count();
            Some((c.rule, c.file.clone(), c.line, last))
        })
        .collect();
    let inside = |rule: &str, file: &str, line: usize| covered.iter().any(|(r, f, first, last)| *r == rule && f == file && *first <= line && line <= *last);
    out.diagnostics.retain(|d| {
        let (Some(rule), Some(file), Some(line)) = (d.rule, d.file.as_ref(), d.line) else { return true };
        !inside(rule, file, line)
    });
    out.unchanged.retain(|u| {
        let (Some(file), Some(line)) = (u.file.as_ref(), u.line) else { return true };
        !inside(u.rule, file, line)
    });
}

/// Converts each diagnostic of a migration lint into a change, a site or a diagnostic.
fn convert_all(messages: &[RustcDiagnostic], root: &Path, files: &BTreeMap<PathBuf, &SourceFile>, config: &str, to: Edition, out: &mut CompilerFindings) {
    // A file compiled for several targets (lib and its tests) is reported once per target.
    let mut seen = std::collections::HashSet::new();
    let mut indexes: BTreeMap<&Path, LineIndex> = BTreeMap::new();
    let mut tail_names: BTreeMap<(PathBuf, usize), usize> = BTreeMap::new();
    for d in messages.iter().filter(|d| seen.insert(d.rendered.clone().unwrap_or_else(|| d.message.clone()))) {
        let Some(lint) = lint_name(d) else { continue };
        if lint_doc(&lint).is_some_and(|l| l.edition > to) {
            continue;
        }
        let Some(primary) = d.spans.iter().find(|s| s.is_primary) else { continue };
        let path = root.join(&primary.file_name);
        let Some(file) = files.get(&crate::cargo::discover::normalize(&path)) else {
            // Written by a macro of another crate and expanded here: its fix would belong
            // in that crate's macro; but never-type fallback is annotated at the invocation.
            if NEVER_FALLBACK_LINTS.contains(&lint.as_str()) && !has_suggestion(d) {
                if let Some((target, edits, reason)) = never_fallback_edits(&lint, d, primary, None, root, files) {
                    out.changes.push(compiler_change(&lint, config, target, Safety::NeedsReview, reason, edits));
                    continue;
                }
            }
            if let Some((file, line, name)) = call_site(primary, root, files) {
                out.unchanged.push(Unchanged::at(
                    rule_id(&lint),
                    &file.display,
                    Some(line),
                    UnchangedReason::ForeignMacro,
                    format!("{} (in `{name}`, written at {}:{})", d.message, primary.file_name, primary.line_start),
                ));
                continue;
            }
            out.diagnostics.push(
                Diagnostic::general(
                    Level::Warning,
                    format!("{lint} in {}:{} (not a file of the migrated packages): {}", primary.file_name, primary.line_start, d.message),
                )
                .with_rule(rule_id(&lint)),
            );
            continue;
        };
        let lines = &*indexes.entry(file.path.as_path()).or_insert_with(|| LineIndex::new(&file.text));
        if !span_matches(file, primary) {
            out.diagnostics.push(
                Diagnostic::at(
                    Level::Warning,
                    &file.display,
                    Some(primary.line_start),
                    format!("{lint}: the compiler's position does not match the file; not applied: {}", d.message),
                )
                .with_rule(rule_id(&lint)),
            );
            continue;
        }
        let change = |safety, reason: String, edits: Vec<Edit>| Change {
            rule: rule_id(&lint),
            reason,
            safety,
            decided_by: Decider::Compiler(config.to_string()),
            file: file.display.clone(),
            line: lines.line(edits.first().map_or(primary.byte_start as usize, |e| e.range.start)),
            cfg: CfgStatus::Active,
            edits,
        };
        if lint == "tail_expr_drop_order" && borrowed_past_block(d) {
            // Not a question of drop order: on 2024 this does not compile (E0716).
            // `tail_temp`, `tail_temp_2`, ... for the temporaries bound before one statement.
            let mut name = |statement: usize| {
                let n = tail_names.entry((file.path.clone(), statement)).or_insert(0);
                *n += 1;
                if *n == 1 {
                    "tail_temp".to_string()
                } else {
                    format!("tail_temp_{n}")
                }
            };
            match crate::engine::lint_rewrites::tail_temporary_edits(&file.text, primary.byte_start as usize..primary.byte_end as usize, &mut name) {
                Some((edits, how, safety)) => out.changes.push(change(
                    safety,
                    format!(
                        "{}: the temporary is borrowed by the block's value and would be dropped before its use on 2024 (E0716); rewritten to {how}",
                        d.message
                    ),
                    edits,
                )),
                None => out.unchanged.push(needs_review(file, primary, &lint, d)),
            }
            continue;
        }
        if lint == "if_let_rescope" || lint == "tail_expr_drop_order" {
            match judgement_site(&lint, d, file, lines, root) {
                Some(site) => out.sites.push(site),
                None => out.unchanged.push(needs_review(file, primary, &lint, d)),
            }
            continue;
        }
        if lint == "static_mut_refs" {
            match static_mut_ref_edits(file, primary, &d.message, root, files) {
                Some((target, edits, how)) => {
                    let reason = format!("{}: rewritten to {how}, which keeps today's behaviour and compiles in 2024; consider an atomic, a `Mutex`/`OnceLock`, or keeping the raw pointer", d.message);
                    out.changes.push(if target.path == file.path {
                        change(Safety::NeedsReview, reason, edits)
                    } else {
                        compiler_change(&lint, config, target, Safety::NeedsReview, reason, edits)
                    });
                }
                None => out.unchanged.push(needs_review(file, primary, &lint, d)),
            }
            continue;
        }
        if NEVER_FALLBACK_LINTS.contains(&lint.as_str()) && !has_suggestion(d) {
            if let Some((target, edits, reason)) = never_fallback_edits(&lint, d, primary, Some(file), root, files) {
                out.changes.push(compiler_change(&lint, config, target, Safety::NeedsReview, reason, edits));
                continue;
            }
        }
        match best_suggestion(d) {
            Some((edits, applicability, help)) => {
                let safety = match applicability {
                    Applicability::MachineApplicable => Safety::Safe,
                    _ => Safety::NeedsReview,
                };
                let mut edits = edits;
                edits.sort();
                out.changes.push(change(safety, format!("{} ({help})", d.message), edits));
            }
            None => out.unchanged.push(needs_review(file, primary, &lint, d)),
        }
    }
}

fn needs_review(file: &SourceFile, primary: &DiagnosticSpan, lint: &str, d: &RustcDiagnostic) -> Unchanged {
    let guide = d.children.iter().find_map(|c| c.message.strip_prefix("for more information, see ")).map(|l| format!(" — see {l}")).unwrap_or_default();
    let label = primary.label.as_deref().map(|l| format!(": {l}")).unwrap_or_default();
    Unchanged::at(
        rule_id(lint),
        &file.display,
        Some(primary.line_start),
        UnchangedReason::NeedsReview,
        format!("no automatic fix: {}{label}{guide}", d.message),
    )
}

/// Where a span was written in one of `files`, when a macro expanded it from elsewhere:
/// the invocation in that file (following macros that expand macros), its line, and the
/// macro invoked there.
fn call_site<'f, 's>(span: &'s DiagnosticSpan, root: &Path, files: &'f BTreeMap<PathBuf, &SourceFile>) -> Option<(&'f SourceFile, usize, &'s str)> {
    let mut at = span;
    let mut name = None;
    loop {
        if let (Some(file), Some(name)) = (files.get(&crate::cargo::discover::normalize(&root.join(&at.file_name))), name) {
            return Some((file, at.line_start, name));
        }
        let e = at.expansion.as_ref()?;
        name = Some(e.macro_decl_name.as_str());
        at = &e.span;
    }
}

/// Whether the compiler's span points at the same text in our copy of the file.
fn span_matches(file: &SourceFile, span: &DiagnosticSpan) -> bool {
    let (start, end) = (span.byte_start as usize, span.byte_end as usize);
    let Some(text) = file.text.get(start..end) else { return false };
    match span.text.first() {
        Some(line) if span.line_start == span.line_end => {
            let (a, b) = (line.highlight_start.saturating_sub(1), line.highlight_end.saturating_sub(1));
            let expected: String = line.text.chars().skip(a).take(b.saturating_sub(a)).collect();
            expected == text
        }
        _ => true,
    }
}

/// The suggestion to apply, read by `rustfix` (cargo fix's reader of rustc's suggestions):
/// the first machine-applicable alternative among the diagnostic's children, else the first
/// at all — its edits, applicability and help message. An alternative with placeholders
/// (`/* value */`) is never applied: `None` when it is the only one.
///
/// rustfix's `Solution` does not keep its applicability, which decides the change's
/// safety: it is asked for machine-applicable alternatives first, and the applicability of
/// another is the one its child says.
fn best_suggestion(d: &RustcDiagnostic) -> Option<(Vec<Edit>, Applicability, String)> {
    use rustfix::Filter;
    // cargo_metadata's diagnostic is rustc's JSON, which rustfix reads with its own types.
    let diagnostic: rustfix::diagnostics::Diagnostic = serde_json::to_value(d).and_then(serde_json::from_value).ok()?;
    let none = std::collections::HashSet::<String>::new();
    let (solution, applicability) = match rustfix::collect_suggestions(&diagnostic, &none, Filter::MachineApplicableOnly) {
        Some(s) => (s.solutions.into_iter().next()?, Applicability::MachineApplicable),
        None => {
            let solution = rustfix::collect_suggestions(&diagnostic, &none, Filter::Everything)?.solutions.into_iter().next()?;
            let applicability = d
                .children
                .iter()
                .find(|c| c.message == solution.message)
                .and_then(|c| c.spans.iter().find_map(|s| s.suggestion_applicability.clone()))
                .unwrap_or(Applicability::Unspecified);
            (solution, applicability)
        }
    };
    if applicability == Applicability::HasPlaceholders {
        return None;
    }
    let edits = solution.replacements.into_iter().map(|r| Edit::replace(r.snippet.range, r.replacement)).collect();
    Some((edits, applicability, solution.message))
}

/// Builds the judge's site for an `if_let_rescope` or `tail_expr_drop_order` lint.
fn judgement_site(lint: &str, d: &RustcDiagnostic, file: &SourceFile, lines: &LineIndex, root: &Path) -> Option<Site> {
    let in_file: Vec<&DiagnosticSpan> = d.spans.iter().filter(|s| root.join(&s.file_name) == file.path || file.path.ends_with(&s.file_name)).collect();
    // "value invokes this custom destructor" (if let), "`#1` invokes ..." (a tail's
    // temporary), "`x` invokes ..." (a local of the block).
    let destructors: Vec<Destructor> = d
        .children
        .iter()
        .filter(|c| c.message.contains("invokes this custom destructor"))
        .flat_map(|c| {
            let temporary = !c.message.starts_with('`') || c.message.starts_with("`#");
            c.spans.iter().map(move |s| Destructor { origin: drop_origin(&s.file_name, root), location: s.file_name.clone(), line: s.line_start, temporary })
        })
        .collect();
    let primary = in_file.iter().find(|s| s.is_primary)?;
    let line = primary.line_start;
    if lint == "if_let_rescope" {
        let (edits, _, _) = best_suggestion(d)?;
        let start = edits.iter().map(|e| e.range.start).min()?;
        let end = edits.iter().map(|e| e.range.end).max()?;
        let code = file.text.get(start..end)?.to_string();
        let temporaries: Vec<std::ops::Range<usize>> = in_file
            .iter()
            .filter(|s| s.label.as_deref().is_some_and(|l| l.contains("significant drop")))
            .map(|s| s.byte_start as usize..s.byte_end as usize)
            .collect();
        if temporaries.is_empty() {
            return None;
        }
        return Some(Site {
            rule: rule_id(lint),
            file: file.display.clone(),
            line,
            cfg: CfgStatus::Active,
            question: crate::core::model::IF_LET_RESCOPE_QUESTION.into(),
            code,
            context: Vec::new(),
            options: crate::core::model::if_let_rescope_options(edits),
            conservative: 1,
            evidence: Evidence::IfLetRescope { temporaries, destructors },
        });
    }
    // tail_expr_drop_order: the lines from the first local to the end of the block.
    let first = in_file.iter().map(|s| s.line_start).min()?;
    let last = in_file.iter().map(|s| s.line_end).max()?;
    let (from, to) = (lines.start_of(first, file.text.len()), lines.start_of(last + 1, file.text.len()));
    Some(Site {
        rule: rule_id(lint),
        file: file.display.clone(),
        line,
        cfg: CfgStatus::Active,
        question: "In Rust 2024 the temporaries of this block's tail expression are dropped before its local variables (in 2021: after them). Does the new order matter here?".into(),
        code: file.text[from..to].to_string(),
        context: Vec::new(),
        options: vec![
            SiteOption { id: "accept".into(), when: "the two destructors share no state (memory only, independent resources): the order does not matter".into(), edits: Vec::new() },
            SiteOption {
                id: "review".into(),
                when: "both destructors touch shared state (a lock, a log, a file, a counter): a person should restructure the block, e.g. bind the tail to a local before returning it".into(),
                edits: Vec::new(),
            },
        ],
        conservative: 1,
        evidence: Evidence::TailExprDropOrder { destructors },
    })
}

/// Destructors of well-known crates, by the crate and the file of the `Drop` impl the
/// compiler points at (`""`: any file of the crate): what releasing them does.
const KNOWN_DROPS: [(&str, &str, DropOrigin); 11] = [
    // Buffers and collections: their Drop frees memory (a reference count first).
    ("bytes", "", DropOrigin::Memory),
    ("smallvec", "", DropOrigin::Memory),
    ("arrayvec", "", DropOrigin::Memory),
    ("tinyvec", "", DropOrigin::Memory),
    ("thin-vec", "", DropOrigin::Memory),
    ("bitvec", "", DropOrigin::Memory),
    ("hashbrown", "", DropOrigin::Memory),
    ("indexmap", "", DropOrigin::Memory),
    ("triomphe", "", DropOrigin::Memory),
    ("servo_arc", "", DropOrigin::Memory),
    // crossbeam-epoch's `Owned<T>`, a box (its `Guard`, in guard.rs, unpins: not memory).
    ("crossbeam-epoch", "/atomic.rs", DropOrigin::Memory),
];

/// The crate of a file in cargo's registry (`.../registry/src/<index>/<name>-<version>/...`).
fn registry_crate(file: &str) -> Option<&str> {
    let rest = file.split("/registry/src/").nth(1)?;
    let dir = rest.split('/').nth(1)?;
    // `name-1.2.3`: the name is everything before the last `-` followed by a digit.
    let at = dir.char_indices().rev().find(|(i, c)| *c == '-' && dir[i + 1..].starts_with(|d: char| d.is_ascii_digit())).map(|(i, _)| i)?;
    Some(&dir[..at])
}

/// Classifies a destructor by the file the compiler points at for its `Drop` impl.
pub fn drop_origin(file: &str, root: &Path) -> DropOrigin {
    let f = file.replace('\\', "/");
    let in_std = f.starts_with("/rustc/") || f.contains("/library/");
    let known = registry_crate(&f).and_then(|krate| KNOWN_DROPS.iter().find(|(k, suffix, _)| *k == krate && f.ends_with(suffix)));
    if f.contains("rwlock") {
        DropOrigin::RwLockGuard
    } else if f.contains("mutex") || f.contains("/lock_api") || f.contains("/parking_lot") || f.contains("/spin-") {
        DropOrigin::MutexGuard
    } else if let Some((_, _, origin)) = known {
        origin.clone()
    } else if in_std && f.ends_with("/cell.rs") {
        DropOrigin::RefCellBorrow
    } else if in_std && ["/vec/", "/string.rs", "/boxed.rs", "/rc.rs", "/sync.rs", "/collections/", "/vec.rs"].iter().any(|p| f.contains(p)) {
        DropOrigin::Memory
    } else if !in_std && !f.contains("/.cargo/registry/") && (Path::new(&f).is_relative() || Path::new(&f).starts_with(root)) {
        DropOrigin::Workspace
    } else {
        DropOrigin::Other
    }
}

/// `static_mut_refs`: rewrites the reference to the explicit raw-pointer form that keeps
/// today's behaviour ([`crate::engine::lint_rewrites::static_mut_edits`]); one made in a
/// `macro_rules!` body through a metavariable is rewritten at the invocation, which may be
/// in another file: the file the edits are for comes with them.
fn static_mut_ref_edits<'f>(
    file: &'f SourceFile,
    span: &DiagnosticSpan,
    message: &str,
    root: &Path,
    files: &BTreeMap<PathBuf, &'f SourceFile>,
) -> Option<(&'f SourceFile, Vec<Edit>, &'static str)> {
    use crate::engine::lint_rewrites as rw;
    let range = span.byte_start as usize..span.byte_end as usize;
    let mutable = message.contains("mutable reference");
    if let (Some(name), Some(expansion)) = (rw::first_metavariable(file.text.get(range.clone())?), span.expansion.as_ref()) {
        let fragment = rw::metavariable_fragment(&file.text, range.start, name)?;
        let target = *files.get(&crate::cargo::discover::normalize(&root.join(&expansion.span.file_name)))?;
        let invocation = expansion.span.byte_start as usize..expansion.span.byte_end as usize;
        let (edits, how) = rw::static_mut_invocation_edits(&target.text, invocation, &fragment, mutable)?;
        return Some((target, edits, how));
    }
    let (edits, how) = rw::static_mut_edits(&file.text, range, mutable)?;
    Some((file, edits, how))
}

/// Whether a `tail_expr_drop_order` diagnostic is about a temporary the block's value
/// borrows (rustc's borrow checker part of the lint: "borrow later used ..."), which is
/// E0716 on 2024, rather than about two destructors' order.
fn borrowed_past_block(d: &RustcDiagnostic) -> bool {
    d.spans.iter().any(|s| s.label.as_deref().is_some_and(|l| l.starts_with("borrow later")))
}

/// The lints of the never type's fallback changing from `()` to `!`.
const NEVER_FALLBACK_LINTS: [&str; 2] = ["never_type_fallback_flowing_into_unsafe", "dependency_on_unit_never_type_fallback"];

/// Whether any alternative of the diagnostic suggests an edit.
fn has_suggestion(d: &RustcDiagnostic) -> bool {
    std::iter::once(d).chain(d.children.iter()).any(|c| c.spans.iter().any(|s| s.suggested_replacement.is_some()))
}

/// Never-type fallback where rustc suggests no annotation. Inside a macro's expansion
/// (the annotation would land in the macro, for every invocation): the outermost
/// invocation in one of `files`, when it is a statement of its own, gets `let _: () =`.
/// Elsewhere (`never_type_fallback_flowing_into_unsafe` at a union field, a method of a
/// generic type: no path to put `::<()>` on) the expression rustc points at, the unsafe
/// operation whose type is the one that falls back, is annotated:
/// `::core::convert::identity::<()>(..)`. See [`crate::engine::lint_rewrites`]. The file
/// the edits are for, the edits, and the change's reason.
fn never_fallback_edits<'f>(
    lint: &str,
    d: &RustcDiagnostic,
    span: &DiagnosticSpan,
    file: Option<&'f SourceFile>,
    root: &Path,
    files: &BTreeMap<PathBuf, &'f SourceFile>,
) -> Option<(&'f SourceFile, Vec<Edit>, String)> {
    use crate::engine::lint_rewrites as rw;
    let Some(mut at) = span.expansion.as_ref() else {
        // `dependency_on_unit_never_type_fallback` points at a function's signature.
        if lint != "never_type_fallback_flowing_into_unsafe" {
            return None;
        }
        let file = file?;
        let edits = rw::never_fallback_value_edits(&file.text, span.byte_start as usize..span.byte_end as usize)?;
        let reason = format!(
            "{} (rustc suggests no annotation here): the expression's type annotated as `()`, the type it falls back to today; in 2024 it would be `!`",
            d.message
        );
        return Some((file, edits, reason));
    };
    while let Some(outer) = at.span.expansion.as_ref() {
        at = outer;
    }
    let target = *files.get(&crate::cargo::discover::normalize(&root.join(&at.span.file_name)))?;
    let edits = rw::never_fallback_invocation_edits(&target.text, at.span.byte_start as usize..at.span.byte_end as usize)?;
    let reason = format!(
        "{} (inside a macro, where rustc suggests nothing): the invocation's value annotated as `()`, the type it falls back to today; in 2024 it would be `!`",
        d.message
    );
    Some((target, edits, reason))
}

/// A change of the compiler phase in `file` (not necessarily the file of the lint's span).
fn compiler_change(lint: &str, config: &str, file: &SourceFile, safety: Safety, reason: String, mut edits: Vec<Edit>) -> Change {
    edits.sort();
    let line = LineIndex::new(&file.text).line(edits.first().map_or(0, |e| e.range.start));
    Change {
        rule: rule_id(lint),
        reason,
        safety,
        decided_by: Decider::Compiler(config.to_string()),
        file: file.display.clone(),
        line,
        cfg: CfgStatus::Active,
        edits,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A diagnostic as rustc writes it, with one child per alternative: `(message,
    /// applicability, replacement)` at bytes 4..7.
    fn diagnostic(children: &[(&str, &str, &str)]) -> RustcDiagnostic {
        let span = |replacement: Option<(&str, &str)>| {
            serde_json::json!({
                "file_name": "src/lib.rs", "byte_start": 4, "byte_end": 7, "line_start": 1, "line_end": 1,
                "column_start": 5, "column_end": 8, "is_primary": true, "text": [], "label": null,
                "suggested_replacement": replacement.map(|r| r.1), "suggestion_applicability": replacement.map(|r| r.0), "expansion": null
            })
        };
        let children: Vec<_> = children
            .iter()
            .map(|(message, applicability, replacement)| {
                serde_json::json!({"message": message, "code": null, "level": "help", "spans": [span(Some((applicability, replacement)))], "children": [], "rendered": null})
            })
            .collect();
        serde_json::from_value(serde_json::json!({
            "message": "m", "code": {"code": "l", "explanation": null}, "level": "warning", "spans": [span(None)], "children": children, "rendered": null
        }))
        .unwrap()
    }

    #[test]
    fn destructors_of_well_known_crates_are_classified_by_their_crate() {
        let reg = "/home/u/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f";
        let root = Path::new("/work/app");
        assert_eq!(registry_crate(&format!("{reg}/thin-vec-0.2.13/src/lib.rs")), Some("thin-vec"));
        assert_eq!(drop_origin(&format!("{reg}/bytes-1.12.1/src/bytes.rs"), root), DropOrigin::Memory);
        assert_eq!(drop_origin(&format!("{reg}/crossbeam-epoch-0.9.20/src/atomic.rs"), root), DropOrigin::Memory);
        assert_eq!(drop_origin(&format!("{reg}/crossbeam-epoch-0.9.20/src/guard.rs"), root), DropOrigin::Other);
        assert_eq!(drop_origin(&format!("{reg}/lock_api-0.4.14/src/rwlock.rs"), root), DropOrigin::RwLockGuard);
        assert_eq!(drop_origin(&format!("{reg}/async-lock-3.4.2/src/mutex.rs"), root), DropOrigin::MutexGuard);
        assert_eq!(drop_origin(&format!("{reg}/h2-0.4.21/src/share.rs"), root), DropOrigin::Other);
        assert_eq!(drop_origin("src/common/deque.rs", root), DropOrigin::Workspace);
    }

    #[test]
    fn the_machine_applicable_alternative_wins_and_placeholders_are_never_applied() {
        let d = diagnostic(&[("maybe", "MaybeIncorrect", "a"), ("sure", "MachineApplicable", "b")]);
        assert_eq!(best_suggestion(&d), Some((vec![Edit::replace(4..7, "b")], Applicability::MachineApplicable, "sure".to_string())));
        let d = diagnostic(&[("maybe", "MaybeIncorrect", "a"), ("other", "MaybeIncorrect", "c")]);
        assert_eq!(best_suggestion(&d), Some((vec![Edit::replace(4..7, "a")], Applicability::MaybeIncorrect, "maybe".to_string())));
        let d = diagnostic(&[("fill in", "HasPlaceholders", "/* value */")]);
        assert_eq!(best_suggestion(&d), None);
    }
}
