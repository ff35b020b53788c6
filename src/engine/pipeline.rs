//! The whole migration, stage by stage: discover → check → plan. Emitting, applying and
//! verifying take its result.

use std::collections::BTreeMap;
use std::time::Instant;

use rayon::prelude::*;

use crate::cargo::build::BuildConfig;
use crate::cargo::discover::Workspace;
use crate::core::edition::Edition;
use crate::core::migration::Migration;
use crate::core::model::{Change, Diagnostic, Level, Unchanged, UnchangedReason};
use crate::core::plan::{plan_file, plan_file_with, Reread};
use crate::core::text::{FileKind, SourceFile};
use crate::engine::compiler::COVERED_BY_RULES;
use crate::engine::walk::{check_manifest_text, check_rust_text, check_workspace, sort_findings, CheckOptions, Checked};
use crate::rules::companions::WorkspaceUses;

/// Checks the workspace (syntactic rules, then the compiler phase if `compiler` is given)
/// and plans the changes of every file. `progress` is told each stage: `12 files parsed`,
/// `compiler phase (cargo check)`, `judge: asking MODEL: 3/12 sites, 4.1 s/site`.
pub fn migrate(
    ws: &Workspace,
    opts: &CheckOptions<'_>,
    compiler: Option<&BuildConfig>,
    model: Option<&dyn crate::judge::llm::Model>,
    cache: Option<&crate::judge::cache::VerdictCache>,
    progress: &dyn Fn(&str),
) -> Migration {
    let started = Instant::now();
    let walk = || {
        let checked = check_workspace(ws, opts, &|n| progress(&format!("{n} file{} parsed", if n == 1 { "" } else { "s" })));
        (checked, started.elapsed())
    };
    // The compiler phase's builds need nothing from the syntactic pass: they run while it
    // reads the files (on a re-run, cargo replays its cached messages in about the time
    // the walk takes), and their messages are matched with the files after.
    let ((mut checked, walked), built) = match compiler {
        Some(config) => std::thread::scope(|s| {
            let packages: Vec<String> = ws.packages.iter().map(|p| p.spec()).collect();
            let build = s.spawn(move || {
                let built = crate::engine::compiler::build(&ws.root_manifest, &packages, config, remembered(ws, config).as_ref());
                (built, started.elapsed())
            });
            let checked = walk();
            progress("compiler phase (cargo check)");
            (checked, Some(build.join().expect("the compiler phase's thread does not panic")))
        }),
        None => (walk(), None),
    };
    let mut times = vec![format!("syntactic pass {:.3} s", walked.as_secs_f64())];
    if let Some((built, building)) = built {
        let converting = Instant::now();
        add_compiler_findings(ws, opts, built, &mut checked);
        times.push(format!("compiler phase {:.3} s (cargo {:.3} s)", (building + converting.elapsed()).as_secs_f64(), building.as_secs_f64()));
    }
    let judging = Instant::now();
    // In the order of the files: the compiler's messages come in the order cargo builds
    // the targets, which is not the same from one run to the next.
    let mut sites = std::mem::take(&mut checked.sites);
    sites.sort_by(|a, b| (&a.file, a.line, a.rule).cmp(&(&b.file, b.line, b.rule)));
    let mut verdicts = Vec::new();
    let mut judged_sites = Vec::new();
    if !sites.is_empty() {
        let judged = crate::judge::judge_with_progress(sites, &checked.files, model, cache, &|p| progress(&format!("judge: {}", p.line())));
        checked.changes.extend(judged.changes);
        checked.diagnostics.extend(judged.diagnostics);
        checked.unchanged.extend(judged.unchanged);
        verdicts = judged.verdicts;
        judged_sites = judged.sites;
        sort_findings(&mut checked.changes, &mut checked.diagnostics, &opts.rules);
    }
    times.push(format!("judge {:.3} s", judging.elapsed().as_secs_f64()));
    let planning = Instant::now();
    let mut migration = plan(ws, opts, checked);
    migration.verdicts = verdicts;
    migration.sites = judged_sites;
    hold_back_broken_packages(ws, &mut migration);
    times.push(format!("plan {:.3} s", planning.elapsed().as_secs_f64()));
    // Where the time went (`-v`; `benches/corpus.py` reads it): the syntactic pass and
    // the compiler phase's builds overlap, each measured from the start.
    tracing::info!("phase times: {}", times.join(", "));
    migration
}

/// What the compiler phase would have checked when it does not run (`--no-compiler`, or
/// a crate that does not build): each type-aware lint of the steps after `from` that no
/// syntactic rule covers, as one
/// site not changed of the run (its detail: `why`), unless `--only` / `--skip` leaves it
/// out.
pub fn compiler_skipped(opts: &CheckOptions<'_>, from: Edition, why: &str) -> Vec<Unchanged> {
    crate::engine::compiler::LINTS
        .iter()
        .filter(|l| !COVERED_BY_RULES.iter().any(|(lint, _)| *lint == l.name) && opts.wants(l.name))
        .filter(|l| from < l.edition && l.edition <= opts.target_edition)
        .map(|l| Unchanged { file: None, line: None, rule: l.name, reason: UnchangedReason::CompilerSkipped, detail: why.to_string(), decided_by: None })
        .collect()
}

/// A package's changes land together or not at all: when a file of a package could not
/// be processed (it does not parse, is not UTF-8, a `mod`'s file is missing, a rule
/// panicked on it), none of the package's changes are kept — its manifest would
/// otherwise say the new edition while that file was never migrated, and the next run
/// would find nothing to do. One error per package names the file and what to do.
pub fn hold_back_broken_packages(ws: &Workspace, m: &mut Migration) {
    // Each package's folder, relative to the workspace root, longest first so that a
    // nested package wins over the one around it.
    let mut dirs: Vec<(String, &str)> = ws
        .packages
        .iter()
        .map(|p| {
            let dir = ws.display(p.manifest_path.parent().unwrap_or(&ws.root));
            (if dir.is_empty() { String::new() } else { format!("{dir}/") }, p.name.as_str())
        })
        .collect();
    dirs.sort_by_key(|(d, _)| std::cmp::Reverse(d.len()));
    let package_of = |file: &str| dirs.iter().find(|(d, _)| file.starts_with(d.as_str())).map(|(_, name)| *name);
    let mut broken: BTreeMap<&str, (&str, &str)> = BTreeMap::new();
    for d in m.diagnostics.iter().filter(|d| d.level == Level::Error) {
        if let Some(file) = &d.file {
            if let Some(package) = package_of(file) {
                broken.entry(package).or_insert((file.as_str(), d.message.as_str()));
            }
        }
    }
    if broken.is_empty() {
        return;
    }
    let mut held = Vec::new();
    let mut all_held_back = Vec::new();
    for (package, (file, why)) in &broken {
        let dropped: Vec<String> =
            m.files.iter().filter(|(display, r)| r.file.package == *package || package_of(display) == Some(package)).map(|(d, _)| d.clone()).collect();
        let changes: usize = dropped.iter().map(|d| m.files[d].changes.len()).sum();
        let mut held_back = Vec::new();
        for d in &dropped {
            if let Some(result) = m.files.remove(d) {
                held_back.extend(result.changes.iter().map(|c| Unchanged {
                    detail: format!("package `{package}` is left as it is: {file} could not be processed"),
                    ..Unchanged::of_change(c, UnchangedReason::HeldBack)
                }));
            }
        }
        all_held_back.extend(held_back);
        held.push(Diagnostic::general(
            Level::Error,
            format!(
                "package `{package}` is left as it is ({changes} change(s) held back, a package's changes land together or not at all): {file}: {why}; fix it and run again"
            ),
        ));
    }
    m.diagnostics.extend(held);
    m.add_unchanged(all_held_back);
}

/// The judge's sites of a workspace, not yet judged: the files are read (with `opts`'
/// rules, which may be none), the compiler phase runs with `config`, and its
/// `if_let_rescope` / `tail_expr_drop_order` sites are returned with the files they are
/// in (by display path, as [`crate::judge::judge`] takes them) and the diagnostics of
/// both stages. For tools that measure the judge; [`migrate`] does the same before judging.
pub fn judgement_sites(
    ws: &Workspace,
    opts: &CheckOptions<'_>,
    config: &BuildConfig,
) -> (Vec<crate::core::model::Site>, BTreeMap<String, SourceFile>, Vec<Diagnostic>) {
    let mut checked = check_workspace(ws, opts, &|_| {});
    let packages: Vec<String> = ws.packages.iter().map(|p| p.spec()).collect();
    add_compiler_findings(ws, opts, crate::engine::compiler::build(&ws.root_manifest, &packages, config, remembered(ws, config).as_ref()), &mut checked);
    (checked.sites, checked.files, checked.diagnostics)
}

/// What the compiler phase may remember between runs about the one package it builds
/// (none for several: their targets cannot be named one package at a time; none when a
/// feature flag was given: only the `--all-features` attempt has targets to remember,
/// and the record's fingerprint reads the package's file tree).
fn remembered(ws: &Workspace, config: &crate::cargo::build::BuildConfig) -> Option<crate::engine::compiler::Remembered> {
    let [package] = ws.packages.as_slice() else { return None };
    if !config.no_feature_flags() || !config.all_targets() {
        return None;
    }
    Some(crate::engine::compiler::Remembered {
        record: crate::cargo::failed_targets::FailedTargets::new(&ws.target_dir, &package.manifest_path, &config.args().join(" ")),
        targets: package.targets.clone(),
    })
}

/// Runs the compiler phase and merges its findings: a lint site that a syntactic rule
/// already changes is dropped (the rule's change stands), the rest are added.
fn add_compiler_findings(ws: &Workspace, opts: &CheckOptions<'_>, built: crate::engine::compiler::Built, checked: &mut Checked) {
    let by_path: BTreeMap<_, _> = checked.files.values().map(|f| (f.path.clone(), f)).collect();
    let found = built.findings(&ws.root, &by_path, opts.target_edition);
    let mut kept_expr = 0;
    if let Some(why) = &found.skipped {
        checked.unchanged.extend(compiler_skipped(opts, ws.oldest_edition(), why));
    }
    let (wanted, filtered): (Vec<Change>, Vec<Change>) = found.changes.into_iter().partition(|c| opts.wants(c.rule));
    // A lint a syntactic rule covers is reported through that rule (which ran, filtered or not).
    let covered_lint = |c: &&Change| COVERED_BY_RULES.iter().any(|(lint, _)| *lint == c.rule);
    checked.unchanged.extend(filtered.iter().filter(|c| !covered_lint(c)).map(|c| Unchanged::of_change(c, UnchangedReason::Filtered)));
    for change in wanted {
        let covering = COVERED_BY_RULES.iter().find(|(lint, _)| *lint == change.rule).map(|(_, rule)| *rule);
        if let Some(rule) = covering {
            let span = change.span();
            let covered = checked.changes.iter().any(|c| c.rule == rule && c.file == change.file && c.span().start <= span.end && span.start <= c.span().end);
            // `expr` fragments are changed only where the rule sees a shadowed arm.
            if covered || rule == "expr-fragment" || !opts.rules.iter().any(|r| r.meta().id == rule) {
                kept_expr += usize::from(rule == "expr-fragment" && !covered);
                continue;
            }
        }
        checked.changes.push(change);
    }
    if kept_expr > 0 {
        checked.diagnostics.push(Diagnostic::general(
            Level::Note,
            format!("{kept_expr} `$x:expr` fragment(s) kept as `expr`: no later macro arm can be shadowed (`cargo fix` would rewrite them to `expr_2021`)"),
        ));
    }
    checked.diagnostics.extend(found.diagnostics.into_iter().filter(|d| d.rule.is_none_or(|r| opts.wants(r))));
    checked.unchanged.extend(found.unchanged.into_iter().map(|u| if opts.wants(u.rule) { u } else { Unchanged { reason: UnchangedReason::Filtered, ..u } }));
    let (compiler_sites, filtered): (Vec<crate::core::model::Site>, Vec<_>) = found.sites.into_iter().partition(|s| opts.wants(s.rule));
    checked.unchanged.extend(filtered.iter().map(|s| Unchanged::at(s.rule, &s.file, Some(s.line), UnchangedReason::Filtered, s.question.clone())));
    // An `if let` rustc lints itself is its site, not the syntactic rule's.
    checked.sites.retain(|s| !compiler_sites.iter().any(|c| crate::rules::if_let_guard_method::same_site(s, c)));
    checked.sites.extend(compiler_sites);
    sort_findings(&mut checked.changes, &mut checked.diagnostics, &opts.rules);
}

/// Applies the checked changes per file, re-checking a file whose changes conflicted
/// until nothing is left or [`MAX_PASSES`] is reached.
pub fn plan(ws: &Workspace, opts: &CheckOptions<'_>, checked: Checked) -> Migration {
    let Checked { files, changes, mut diagnostics, mut unchanged, lines, uses, unparsed, .. } = checked;
    let mut by_file: BTreeMap<String, Vec<Change>> = BTreeMap::new();
    for change in changes {
        by_file.entry(change.file.clone()).or_default().push(change);
    }
    // A 2015 file syn could not read is read after the compiler's changes for 2018, which
    // make it readable; without any, why it could not be read is an error.
    for (display, why) in &unparsed {
        if by_file.contains_key(display) {
            diagnostics.push(Diagnostic {
                level: Level::Note,
                message: format!(
                    "2015 syntax the rules cannot read ({}): read again after the compiler's changes",
                    why.message.trim_start_matches("cannot parse, file skipped: ")
                ),
                ..why.clone()
            });
        } else {
            diagnostics.push(why.clone());
        }
    }
    let mut out = Migration { files_read: files.values().filter(|f| f.kind == FileKind::Rust).count(), lines_read: lines, ..Migration::default() };
    // Each file is laid out and planned on its own (its recheck reads only itself), on
    // every thread; what each says is gathered in the files' order, as one thread would.
    let by_file: Vec<(String, Vec<Change>)> = by_file.into_iter().collect();
    let planned: Vec<_> = by_file
        .into_par_iter()
        .filter_map(|(display, mut pending)| {
            let file = files.get(&display)?;
            lay_out(file, &mut pending, true);
            let reread = if unparsed.contains_key(&display) { Reread::AfterFirstPass } else { Reread::OnConflict };
            let (mut diags, mut left) = (Vec::new(), Vec::new());
            let result = plan_file_with(file, pending, reread, &mut diags, &mut left, &mut |text, d| recheck(ws, opts, &uses, file, text, d));
            Some((display, result, diags, left))
        })
        .collect();
    for (display, result, diags, left) in planned {
        diagnostics.extend(diags);
        unchanged.extend(left);
        if let Some(result) = result {
            out.files.insert(display, result);
        }
    }
    sort_findings(&mut [], &mut diagnostics, &opts.rules);
    out.diagnostics = diagnostics;
    out.add_unchanged(unchanged);
    out
}

/// Migrates one Rust source text with `opts`, outside any workspace (every cfg taken as
/// the host's): the changes made and the new text. For tests, fixtures and tools.
pub fn migrate_source(display: &str, text: &str, opts: &CheckOptions<'_>) -> Result<(Vec<Change>, String), Diagnostic> {
    let cfg = crate::cargo::discover::host_cfg();
    let file = SourceFile::loose(display, text);
    let (mut findings, _) = check_rust_text(&file, &cfg, opts, true)?;
    // Sites are decided without a model here: the conservative option, for review.
    let files = BTreeMap::from([(file.display.clone(), file.clone())]);
    findings.changes.extend(crate::judge::judge(std::mem::take(&mut findings.sites), &files, None, None).changes);
    sort_findings(&mut findings.changes, &mut findings.diagnostics, &opts.rules);
    let mut diagnostics = findings.diagnostics;
    let mut recheck = |t: &str, d: &mut Vec<Diagnostic>| {
        let next = SourceFile { text: t.to_string(), ..file.clone() };
        match check_rust_text(&next, &cfg, opts, true) {
            Ok((f, _)) => f.changes,
            Err(e) => {
                d.push(e);
                Vec::new()
            }
        }
    };
    lay_out(&file, &mut findings.changes, false);
    let result = plan_file(&file, findings.changes, &mut diagnostics, &mut Vec::new(), &mut recheck);
    if let Some(error) = diagnostics.into_iter().find(|d| d.level == Level::Error) {
        return Err(error);
    }
    Ok(result.map_or_else(|| (Vec::new(), text.to_string()), |r| (r.changes, r.new_text)))
}

/// Lays out the changes of a Rust file that insert blocks or restructure code (rustc's
/// `unsafe` blocks, `if let` rewritten to `match`) as rustfmt would, in the style of the
/// file's `rustfmt.toml`: the one place changes get their layout, before they are
/// planned ([`crate::syntax::layout`]).
/// Outside a workspace (`on_disk` false: a text of [`migrate_source`]), rustfmt's defaults.
fn lay_out(file: &SourceFile, changes: &mut [Change], on_disk: bool) {
    if file.kind == FileKind::Rust && crate::syntax::layout::restructures(changes) {
        let style = if on_disk { rustfmt_style(&file.path) } else { Default::default() };
        crate::syntax::layout::lay_out_changes(&file.text, changes, style);
    }
}

/// The style rustfmt formats `file` with: the `rustfmt.toml` or `.rustfmt.toml` nearest
/// to it (its folder, then each one above, as rustfmt looks), else rustfmt's defaults.
fn rustfmt_style(file: &std::path::Path) -> crate::syntax::layout::Style {
    file.ancestors()
        .skip(1)
        .flat_map(|dir| ["rustfmt.toml", ".rustfmt.toml"].map(|name| dir.join(name)))
        .find_map(|path| std::fs::read_to_string(path).ok())
        .map_or_else(Default::default, |text| crate::syntax::layout::Style::from_rustfmt_toml(&text))
}

/// Runs the rules again on the new text of a file.
fn recheck(ws: &Workspace, opts: &CheckOptions<'_>, uses: &WorkspaceUses, file: &SourceFile, text: &str, diagnostics: &mut Vec<Diagnostic>) -> Vec<Change> {
    let next = SourceFile { text: text.to_string(), ..file.clone() };
    let package = ws.packages.iter().find(|p| p.name == file.package);
    let result = match (file.kind, package) {
        (FileKind::Rust, Some(p)) => check_rust_text(&next, &p.cfg, opts, false).map(|(f, _)| f),
        (FileKind::Manifest, _) => check_manifest_text(&next, package, file.path == ws.root_manifest, uses, opts),
        (FileKind::Rust, None) => return Vec::new(),
    };
    match result {
        Ok(mut findings) => {
            for change in &mut findings.changes {
                change.cfg = file.cfg.and(change.cfg);
            }
            findings.changes
        }
        Err(d) => {
            diagnostics.push(Diagnostic { message: format!("after applying changes: {}", d.message), ..d });
            Vec::new()
        }
    }
}
