//! The whole migration, stage by stage: discover → check → plan. Emitting, applying and
//! verifying take its result.

use std::collections::BTreeMap;

use crate::check::{check_manifest_text, check_rust_text, check_workspace, sort_findings, CheckOptions, Checked};
use crate::compiler::{BuildConfig, COVERED_BY_RULES};
use crate::discover::Workspace;
use crate::model::{Change, Diagnostic, Level};
use crate::plan::{apply_edits, select};
use crate::source::{FileKind, SourceFile};

/// How many times a file is re-checked to apply changes that conflicted with others.
pub const MAX_PASSES: usize = 4;

/// The migrated state of one file.
#[derive(Debug, Clone)]
pub struct FileResult {
    /// The file as read.
    pub file: SourceFile,
    /// Its text after every applied change.
    pub new_text: String,
    /// The applied changes, in order. Changes of later passes have edits relative to the
    /// text of the pass before.
    pub changes: Vec<Change>,
    /// How many passes it took (1 when no change conflicted with another).
    pub passes: usize,
}

/// The result of a migration run, before anything is written.
#[derive(Debug, Default)]
pub struct Migration {
    /// Files that change, by display path.
    pub files: BTreeMap<String, FileResult>,
    /// Diagnostics of every stage, sorted.
    pub diagnostics: Vec<Diagnostic>,
    /// How the judge decided each site.
    pub verdicts: Vec<crate::model::Verdict>,
    /// Rust files read.
    pub files_read: usize,
    /// Lines of Rust read.
    pub lines_read: usize,
}

impl Migration {
    /// All applied changes, in file order.
    pub fn changes(&self) -> impl Iterator<Item = &Change> {
        self.files.values().flat_map(|f| f.changes.iter())
    }

    /// Records a change made on disk after `--apply` (a repair): the file's text before
    /// and after it. Such a file is reverted whole by `--verify`.
    pub fn record_on_disk(&mut self, ws: &Workspace, change: Change, before: String, after: String) {
        let entry = self.files.entry(change.file.clone()).or_insert_with(|| FileResult {
            file: SourceFile {
                path: ws.root.join(&change.file),
                display: change.file.clone(),
                kind: FileKind::Rust,
                package: String::new(),
                cfg: crate::model::CfgStatus::Active,
                text: before.clone(),
            },
            new_text: before,
            changes: Vec::new(),
            passes: 1,
        });
        entry.new_text = after;
        entry.passes += 1;
        entry.changes.push(change);
    }

    /// Whether any diagnostic is an error (a file not processed).
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(|d| d.level == Level::Error)
    }
}

/// Checks the workspace (syntactic rules, then the compiler phase if `compiler` is given)
/// and plans the changes of every file.
pub fn migrate(
    ws: &Workspace,
    opts: &CheckOptions<'_>,
    compiler: Option<&BuildConfig>,
    model: Option<&dyn crate::judge::llm::Model>,
    cache: Option<&crate::judge::cache::VerdictCache>,
    progress: &dyn Fn(&str),
) -> Migration {
    let mut checked = check_workspace(ws, opts, &|n| progress(&format!("{n} files")));
    if let Some(config) = compiler {
        progress("with the compiler (cargo check)");
        add_compiler_findings(ws, opts, config, &mut checked);
    }
    let sites = std::mem::take(&mut checked.sites);
    let mut verdicts = Vec::new();
    if !sites.is_empty() {
        progress(&format!("judging {} sites", sites.len()));
        let judged = crate::judge::judge(sites, &checked.files, model, cache);
        checked.changes.extend(judged.changes);
        checked.diagnostics.extend(judged.diagnostics);
        verdicts = judged.verdicts;
        sort_findings(&mut checked.changes, &mut checked.diagnostics, &opts.rules);
    }
    let mut migration = plan(ws, opts, checked);
    migration.verdicts = verdicts;
    migration
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
) -> (Vec<crate::model::Site>, BTreeMap<String, SourceFile>, Vec<Diagnostic>) {
    let mut checked = check_workspace(ws, opts, &|_| {});
    add_compiler_findings(ws, opts, config, &mut checked);
    (checked.sites, checked.files, checked.diagnostics)
}

/// Runs the compiler phase and merges its findings: a lint site that a syntactic rule
/// already changes is dropped (the rule's change stands), the rest are added.
fn add_compiler_findings(ws: &Workspace, opts: &CheckOptions<'_>, config: &BuildConfig, checked: &mut Checked) {
    let by_path: BTreeMap<_, _> = checked.files.values().map(|f| (f.path.clone(), f)).collect();
    let packages: Vec<String> = ws.packages.iter().map(|p| p.spec()).collect();
    let found = crate::compiler::run(&ws.root_manifest, &packages, config, &ws.root, &by_path);
    let mut kept_expr = 0;
    for change in found.changes.into_iter().filter(|c| opts.wants(c.rule)) {
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
    let compiler_sites: Vec<crate::model::Site> = found.sites.into_iter().filter(|s| opts.wants(s.rule)).collect();
    // An `if let` rustc lints itself is its site, not the syntactic rule's.
    checked.sites.retain(|s| !compiler_sites.iter().any(|c| crate::rules::if_let_guard_method::same_site(s, c)));
    checked.sites.extend(compiler_sites);
    sort_findings(&mut checked.changes, &mut checked.diagnostics, &opts.rules);
}

/// Applies the checked changes per file, re-checking a file whose changes conflicted
/// until nothing is left or [`MAX_PASSES`] is reached.
pub fn plan(ws: &Workspace, opts: &CheckOptions<'_>, checked: Checked) -> Migration {
    let Checked { files, changes, mut diagnostics, lines, .. } = checked;
    let mut by_file: BTreeMap<String, Vec<Change>> = BTreeMap::new();
    for change in changes {
        by_file.entry(change.file.clone()).or_default().push(change);
    }
    let mut out = Migration { files_read: files.values().filter(|f| f.kind == FileKind::Rust).count(), lines_read: lines, ..Migration::default() };
    for (display, pending) in by_file {
        let Some(file) = files.get(&display) else { continue };
        let result = plan_file(file, pending, &mut diagnostics, &mut |text, diags| recheck(ws, opts, file, text, diags));
        if let Some(result) = result {
            out.files.insert(display, result);
        }
    }
    sort_findings(&mut [], &mut diagnostics, &opts.rules);
    out.diagnostics = diagnostics;
    out
}

/// Applies the changes of one file, deferring those that conflict and re-checking the new
/// text (`recheck`) for them, up to [`MAX_PASSES`]. Returns `None` if the text does not change.
pub fn plan_file(
    file: &SourceFile,
    mut pending: Vec<Change>,
    diagnostics: &mut Vec<Diagnostic>,
    recheck: &mut dyn FnMut(&str, &mut Vec<Diagnostic>) -> Vec<Change>,
) -> Option<FileResult> {
    let display = &file.display;
    let mut text = file.text.clone();
    let mut applied = Vec::new();
    let mut passes = 0;
    for pass in 1..=MAX_PASSES {
        passes = pass;
        let (accepted, deferred) = select(pending);
        let edits: Vec<_> = accepted.iter().flat_map(|c| c.edits.iter().cloned()).collect();
        match apply_edits(&text, &edits) {
            Ok(new) => text = new,
            Err(e) => {
                diagnostics.push(Diagnostic::at(Level::Error, display, None, format!("internal error, file left unchanged: {e}")));
                return None;
            }
        }
        applied.extend(accepted);
        // Only the rules' changes can be found again on the new text; the compiler's
        // cannot, so a conflicting one is reported now.
        let (deferred, lost): (Vec<Change>, Vec<Change>) = deferred.into_iter().partition(|c| c.decided_by == crate::model::Decider::Rule);
        for change in lost {
            diagnostics.push(
                Diagnostic::at(Level::Warning, display, Some(change.line), format!("change not applied: it overlaps another change ({})", change.reason))
                    .with_rule(change.rule),
            );
        }
        if deferred.is_empty() {
            break;
        }
        if pass == MAX_PASSES {
            for change in deferred {
                diagnostics.push(
                    Diagnostic::at(
                        Level::Warning,
                        display,
                        Some(change.line),
                        format!("change not applied: it conflicts with another change ({})", change.reason),
                    )
                    .with_rule(change.rule),
                );
            }
            break;
        }
        pending = recheck(&text, diagnostics);
    }
    (text != file.text).then(|| FileResult { file: file.clone(), new_text: text, changes: applied, passes })
}

/// Migrates one Rust source text with `opts`, outside any workspace (every cfg taken as
/// the host's): the changes made and the new text. For tests, fixtures and tools.
pub fn migrate_source(display: &str, text: &str, opts: &CheckOptions<'_>) -> Result<(Vec<Change>, String), Diagnostic> {
    let cfg = crate::cfg::CfgSet::host();
    let file = SourceFile {
        path: display.into(),
        display: display.to_string(),
        kind: FileKind::Rust,
        package: String::new(),
        cfg: crate::model::CfgStatus::Active,
        text: text.to_string(),
    };
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
    let result = plan_file(&file, findings.changes, &mut diagnostics, &mut recheck);
    if let Some(error) = diagnostics.into_iter().find(|d| d.level == Level::Error) {
        return Err(error);
    }
    Ok(result.map_or_else(|| (Vec::new(), text.to_string()), |r| (r.changes, r.new_text)))
}

/// Runs the rules again on the new text of a file.
fn recheck(ws: &Workspace, opts: &CheckOptions<'_>, file: &SourceFile, text: &str, diagnostics: &mut Vec<Diagnostic>) -> Vec<Change> {
    let next = SourceFile { text: text.to_string(), ..file.clone() };
    let package = ws.packages.iter().find(|p| p.name == file.package);
    let result = match (file.kind, package) {
        (FileKind::Rust, Some(p)) => check_rust_text(&next, &p.cfg, opts, false).map(|(f, _)| f),
        (FileKind::Manifest, _) => check_manifest_text(&next, package, file.path == ws.root_manifest, opts),
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
