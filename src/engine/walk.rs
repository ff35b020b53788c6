//! Load and check: read every file of the module trees, parse it, run the rules on it,
//! and follow its `mod` declarations, one level of the tree at a time, in parallel.
//!
//! Each task owns one file from read to findings: syntax trees never leave it (they are
//! `!Send`), only plain data does. Results are sorted, so the output does not depend on
//! the thread count.

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;

use rayon::prelude::*;

use crate::cargo::discover::{module_refs, ModuleRef, Package, Workspace};
use crate::core::edition::Edition;
use crate::core::model::{CfgStatus, Change, Diagnostic, Edit, Level, Unchanged, UnchangedReason};
use crate::core::text::{FileKind, LineIndex, SourceFile};
use crate::rules::companions::{AttrUses, WorkspaceUses};
use crate::rules::{Findings, ManifestCx, Rule, SourceCx};
use crate::syntax::cfg::{CfgRanges, CfgSet};
use crate::syntax::parsed::{outline, FileFacts, ParseError, Parsed};

/// Files larger than this are reported and skipped (generated code, data).
pub const MAX_FILE_BYTES: u64 = 64 << 20;

/// Stack of each thread that parses and checks files (the pool's workers, and the thread
/// the binary runs its command on). Parsing and visiting a syntax tree recurse once per
/// level of nesting, up to [`crate::syntax::parsed::MAX_NESTING`] levels of delimiters,
/// and once per operator of a chain (`a + b + ...`, `|x| |y| ...`), which has no limit;
/// `tests/robustness.rs` runs its inputs with this stack in a debug build. Rust's default,
/// 2 MiB, overflowed at 100 nested modules there; 64 MiB holds 100 000 `+`s in a row and
/// 3 000 nested closures. It is address space: only the pages used are memory.
pub const WORKER_STACK: usize = 64 << 20;

/// The result of checking a workspace.
#[derive(Debug, Default)]
pub struct Checked {
    /// Every file read, by display path.
    pub files: BTreeMap<String, SourceFile>,
    /// Changes, sorted by file, position and rule.
    pub changes: Vec<Change>,
    /// Diagnostics, sorted.
    pub diagnostics: Vec<Diagnostic>,
    /// Sites for the judge.
    pub sites: Vec<crate::core::model::Site>,
    /// Sites seen and left as they are (so far: those of the rules `--only` / `--skip`
    /// leaves out).
    pub unchanged: Vec<Unchanged>,
    /// Lines of Rust read.
    pub lines: usize,
    /// The unsafe attribute forms of each package's code after the syntactic rules'
    /// changes, which the manifest rules read (`ecosystem-companions`).
    pub uses: WorkspaceUses,
    /// Files of 2015 packages that syn cannot read, with why: the rules run on them after
    /// the compiler's changes for 2018 ([`crate::engine::pipeline::plan`]); without such
    /// changes, the reason is an error.
    pub unparsed: BTreeMap<String, Diagnostic>,
}

/// `--only` / `--skip`, resolved once: which rules' and compiler lints' findings are
/// kept. The rule list of [`CheckOptions`] is already filtered by it; the compiler
/// phase's findings are filtered with [`RuleFilter::wants`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RuleFilter {
    /// Rule ids and compiler lint names to keep (empty: all).
    pub only: Vec<String>,
    /// Rule ids and compiler lint names to drop.
    pub skip: Vec<String>,
}

impl RuleFilter {
    /// Whether a finding of this rule or lint is wanted.
    pub fn wants(&self, id: &str) -> bool {
        (self.only.is_empty() || self.only.iter().any(|o| o == id)) && !self.skip.iter().any(|s| s == id)
    }
}

/// What to check with.
pub struct CheckOptions<'r> {
    /// The rules to run.
    pub rules: Vec<&'r dyn Rule>,
    /// The edition to move to (`"2024"`).
    pub target_edition: Edition,
    /// `--only` / `--skip`.
    pub filter: RuleFilter,
    /// Files larger than this many bytes are read a chunk of top-level items at a time
    /// ([`crate::syntax::parsed::outline`]) when every rule can ([`Rule::reads_chunks`]):
    /// a syntax tree takes about fifty times the size of its text.
    pub chunk_above: usize,
    /// The rules `filter` leaves out. They run too, on each file as read, so that what
    /// they would have changed is reported as not changed (never in the plan).
    pub filtered_out: Vec<&'r dyn Rule>,
}

/// [`CheckOptions::chunk_above`] by default: 1 MiB (a tree of about 50 MiB).
pub const CHUNK_ABOVE: usize = 1 << 20;

/// The size of the chunks a large file is read in: 256 KiB of text.
pub const CHUNK_BYTES: usize = 256 << 10;

impl CheckOptions<'_> {
    /// Options running `rules` towards `target_edition`, with no filter.
    pub fn new<'r>(rules: Vec<&'r dyn Rule>, target_edition: Edition) -> CheckOptions<'r> {
        CheckOptions { rules, target_edition, filter: RuleFilter::default(), chunk_above: CHUNK_ABOVE, filtered_out: Vec::new() }
    }

    /// Whether a finding of this rule or lint is wanted.
    pub fn wants(&self, id: &str) -> bool {
        self.filter.wants(id)
    }
}

/// A file to visit: where it is, what reached it, how.
struct Job {
    path: PathBuf,
    package: usize,
    mod_rs: bool,
}

/// What one task returns.
struct Outcome {
    file: Option<SourceFile>,
    findings: Findings,
    modules: Vec<ModuleRef>,
    lines: usize,
    /// Why syn could not read a file of a 2015 package (see [`Checked::unparsed`]).
    unparsed: Option<Diagnostic>,
    /// Why syn could not read the file otherwise, and whether it names anything this
    /// run's rules need: an error that holds its package back, unless the module tree
    /// reaches it only through cfg-disabled declarations or it names nothing needed.
    unreadable: Option<(Diagnostic, bool)>,
}

/// Checks the selected packages of `ws`: their manifests and every Rust file their
/// targets reach, cfg-disabled modules included. `progress` is told how many files are
/// parsed after each level of the module trees.
pub fn check_workspace(ws: &Workspace, opts: &CheckOptions<'_>, progress: &dyn Fn(usize)) -> Checked {
    let mut out = Checked::default();
    // Statuses with which each file is reached; the most active wins.
    let mut reach: BTreeMap<PathBuf, CfgStatus> = BTreeMap::new();
    let mut frontier = Vec::new();
    for (i, package) in ws.packages.iter().enumerate() {
        for root in &package.roots {
            if reach.insert(root.clone(), CfgStatus::Active).is_none() {
                frontier.push(Job { path: root.clone(), package: i, mod_rs: true });
            }
        }
    }
    let mut pending: Vec<Outcome> = Vec::new();
    while !frontier.is_empty() {
        let outcomes: Vec<(Job, Outcome)> = frontier
            .into_par_iter()
            .map(|job| {
                let outcome = check_rust_file(ws, &ws.packages[job.package], &job, opts);
                (job, outcome)
            })
            .collect();
        frontier = Vec::new();
        for (job, outcome) in outcomes {
            let parent_status = reach[&job.path];
            for module in &outcome.modules {
                let Some(found) = module.candidates.iter().find(|c| c.is_file()) else {
                    // A module the current configuration compiles has code this run could
                    // not check: an error (exit status 2), as for a file that cannot be
                    // read, so that `--check` never passes a crate it did not see whole.
                    // A cfg-inactive declaration may name a file that exists elsewhere.
                    if module.cfg == CfgStatus::Active && parent_status == CfgStatus::Active {
                        let tried: Vec<String> = module.candidates.iter().map(|c| ws.display(c)).collect();
                        out.diagnostics.push(Diagnostic::at(
                            Level::Error,
                            &ws.display(&job.path),
                            None,
                            format!("module file not found ({}): that module was not checked", tried.join(" or ")),
                        ));
                    }
                    continue;
                };
                let status = parent_status.and(module.cfg);
                match reach.get_mut(found) {
                    Some(seen) => *seen = (*seen).min(status),
                    None => {
                        reach.insert(found.clone(), status);
                        frontier.push(Job { path: found.clone(), package: job.package, mod_rs: module.from_path_attr });
                    }
                }
            }
            pending.push(outcome);
        }
        progress(pending.len());
    }
    for mut outcome in pending {
        out.lines += outcome.lines;
        if let Some(mut file) = outcome.file {
            // Rules saw the file as active; fold in how the module tree reaches it.
            file.cfg = reach.get(&file.path).copied().unwrap_or(CfgStatus::Unknown);
            for change in &mut outcome.findings.changes {
                change.cfg = file.cfg.and(change.cfg);
            }
            for site in &mut outcome.findings.sites {
                site.cfg = file.cfg.and(site.cfg);
            }
            if let Some(why) = outcome.unparsed.take() {
                out.unparsed.insert(file.display.clone(), why);
            }
            // A file syn cannot read holds its package back (an error), unless it cannot
            // matter: only a cfg that is off here reaches it (serde_json's
            // `features_check`, text made to fail the build without `std` or `alloc`), or
            // it names nothing this run's rules need. Then it is skipped, said so.
            if let Some((mut d, needed)) = outcome.unreadable.take() {
                let why = if file.cfg == CfgStatus::Inactive {
                    Some("a module only cfg-disabled declarations reach: not compiled in this configuration")
                } else if !needed {
                    Some("it names nothing this run changes")
                } else {
                    None
                };
                if let Some(why) = why {
                    d.level = Level::Warning;
                    d.message.push_str(&format!(" ({why}, so its package is migrated without it)"));
                }
                outcome.findings.diagnostics.push(d);
            }
            out.files.insert(file.display.clone(), file);
        }
        out.changes.extend(outcome.findings.changes);
        out.diagnostics.extend(outcome.findings.diagnostics);
        out.sites.extend(outcome.findings.sites);
        out.unchanged.extend(outcome.findings.unchanged);
    }
    out.uses = code_uses(&out);
    check_manifests(ws, opts, &mut out);
    sort_findings(&mut out.changes, &mut out.diagnostics, &opts.rules);
    out
}

/// Each package's unsafe attribute forms after the changes found so far (see
/// [`AttrUses::of`]). What members inherit from `[workspace.dependencies]` is added when
/// their manifests are read.
fn code_uses(checked: &Checked) -> WorkspaceUses {
    let mut uses = WorkspaceUses::default();
    let mut by_file: BTreeMap<&str, Vec<Change>> = BTreeMap::new();
    for change in &checked.changes {
        by_file.entry(change.file.as_str()).or_default().push(change.clone());
    }
    for file in checked.files.values().filter(|f| f.kind == FileKind::Rust) {
        let found = AttrUses::of(file, by_file.get(file.display.as_str()).map_or(&[][..], Vec::as_slice));
        if !found.is_empty() {
            uses.packages.entry(file.package.clone()).or_default().merge(&found);
        }
    }
    uses
}

/// Sorts changes by file, position and rule order; diagnostics by file and line.
///
/// Of two changes that start at one offset, the one reaching further comes first: its
/// insertions there are applied first, so they enclose the other's, as brackets nest
/// (a `// SAFETY:` line above a statement goes before the `r#` of the `gen` it starts with).
pub fn sort_findings(changes: &mut [Change], diagnostics: &mut Vec<Diagnostic>, rules: &[&dyn Rule]) {
    let order = |id: &str| rules.iter().position(|r| r.meta().id == id).unwrap_or(usize::MAX);
    // An `r#` belongs to the identifier after it ([`Edit::binds_forward`]): inserted last at
    // its offset, after what another change inserts there (`&` + `*&raw const ` + `r#` +
    // `gen`, not `&r#*&raw const gen`).
    let raw_prefix = |c: &Change| c.edits.iter().all(Edit::binds_forward);
    let key = |c: &Change| {
        let span = c.span();
        (span.start, std::cmp::Reverse(span.end), raw_prefix(c), order(c.rule))
    };
    changes.sort_by(|a, b| (&a.file, key(a), &a.edits).cmp(&(&b.file, key(b), &b.edits)));
    diagnostics.sort();
    diagnostics.dedup();
}

/// The identifiers a file must name to matter to the run, when every rule says
/// ([`crate::rules::Rule::needs_names`]).
fn needed_names(opts: &CheckOptions<'_>) -> Option<Vec<String>> {
    let mut all = Vec::new();
    for rule in opts.rules.iter().chain(&opts.filtered_out) {
        all.extend(rule.needs_names()?);
    }
    Some(all)
}

/// Whether `tokens` hold one of `names` as an identifier, at any depth.
fn names_any(tokens: &proc_macro2::TokenStream, names: &[String]) -> bool {
    let raw: Vec<String> = names.iter().map(|n| format!("r#{n}")).collect();
    crate::syntax::tokens::any_token(tokens, &|t| names.iter().chain(&raw).any(|n| crate::syntax::tokens::is_ident(t, n)))
}

fn check_rust_file(ws: &Workspace, package: &Package, job: &Job, opts: &CheckOptions<'_>) -> Outcome {
    let display = ws.display(&job.path);
    let mut outcome = Outcome { file: None, findings: Findings::default(), modules: Vec::new(), lines: 0, unparsed: None, unreadable: None };
    let text = match read_text(&job.path, &display) {
        Ok(text) => text,
        Err(d) => {
            outcome.findings.diagnostics.push(d);
            return outcome;
        }
    };
    let file = SourceFile { path: job.path.clone(), display, kind: FileKind::Rust, package: package.name.clone(), cfg: CfgStatus::Active, text };
    tracing::debug!("checking {} (package {})", file.display, package.name);
    outcome.lines = file.text.lines().count();
    match check_rust_text(&file, &package.cfg, opts, job.mod_rs) {
        Ok((findings, modules)) => {
            outcome.findings = findings;
            outcome.modules = modules;
        }
        Err(d) => match (package.edition().is_some_and(|e| e < Edition::E2018), file.text.parse::<proc_macro2::TokenStream>()) {
            // 2015 syntax syn cannot read (an anonymous parameter, `async` as a name):
            // the compiler's changes for 2018 make it readable, and the plan reads it
            // again then. Its modules are found from its tokens meanwhile.
            (true, Ok(tokens)) => {
                outcome.modules = crate::cargo::discover::module_refs_in_tokens(&tokens, &file.path, job.mod_rs, &package.cfg);
                outcome.unparsed = Some(d);
            }
            (_, tokens) => {
                // Nothing in it for this run's rules (they all say which names they need,
                // and it has none): its modules are still followed, from its tokens.
                let needed = match (&tokens, needed_names(opts)) {
                    (Ok(tokens), Some(names)) if !names_any(tokens, &names) => {
                        outcome.modules = crate::cargo::discover::module_refs_in_tokens(tokens, &file.path, job.mod_rs, &package.cfg);
                        false
                    }
                    _ => true,
                };
                outcome.unreadable = Some((d, needed));
            }
        },
    }
    outcome.file = Some(file);
    outcome
}

/// Parses `file.text` and runs the rules on it and on its doc tests (see
/// [`crate::syntax::doctest`]). Also returns the file's `mod` declarations (`mod_rs`: see
/// [`crate::cargo::discover::module_dir`]). A file over [`CheckOptions::chunk_above`]
/// is parsed a chunk of whole items at a time, when the rules allow it: the findings are
/// the same, the memory a fraction.
pub fn check_rust_text(file: &SourceFile, cfg: &CfgSet, opts: &CheckOptions<'_>, mod_rs: bool) -> Result<(Findings, Vec<ModuleRef>), Diagnostic> {
    let cannot_parse = |e: ParseError| Diagnostic::at(Level::Error, &file.display, Some(e.line), format!("cannot parse, file skipped: {}", e.message));
    let lines = LineIndex::new(&file.text);
    let mut per_rule = PerRule::new(opts.rules.len());
    let mut modules = Vec::new();
    let mut doc_lines = Vec::new();
    let mut visit = |parsed: &Parsed, facts: &FileFacts| {
        per_rule.run(file, parsed, &lines, cfg, opts, facts);
        modules.extend(module_refs(&parsed.syntax, &file.path, mod_rs, cfg));
        doc_lines.extend(crate::syntax::doctest::doc_lines(&parsed.sequences, &file.text, &|s| parsed.range(s)));
    };
    if file.text.len() > opts.chunk_above && opts.rules.iter().chain(&opts.filtered_out).all(|r| r.reads_chunks()) {
        let outline = outline(&file.text, CHUNK_BYTES.min(opts.chunk_above)).map_err(cannot_parse)?;
        tracing::debug!("{}: {} bytes read in {} chunks", file.display, file.text.len(), outline.chunks.len());
        for range in outline.chunks {
            let parsed = Parsed::parse_range(&file.text, range).map_err(cannot_parse)?;
            visit(&parsed, &outline.facts);
        }
    } else {
        let parsed = Parsed::parse(&file.text).map_err(cannot_parse)?;
        visit(&parsed, &FileFacts::of(&parsed.syntax));
    }
    let (mut findings, left_out) = per_rule.into_findings(file, opts);
    findings.unchanged.extend(filtered(left_out));
    for snippet in crate::syntax::doctest::snippets_in(doc_lines, &file.text) {
        // Doc tests are compiled with the crate's edition. A block that does not parse
        // (pseudo-code, an excerpt) is left alone.
        let doc = SourceFile { text: snippet.code.clone(), ..file.clone() };
        let Ok(parsed) = Parsed::parse(&doc.text) else { continue };
        let mut sub = PerRule::new(opts.rules.len());
        sub.run(&doc, &parsed, &LineIndex::new(&doc.text), cfg, opts, &FileFacts::of(&parsed.syntax));
        let (sub, left_out) = sub.into_findings(&doc, opts);
        for change in sub.changes {
            let (rule, reason) = (change.rule, change.reason.clone());
            match snippet.map_back(change, &file.text, &lines) {
                Some(c) => findings.changes.push(c),
                // Not written, and said: a change that writes outside the test's code
                // (after the `fn main` rustdoc wraps it in: a pack's shim) or across its lines.
                None => findings.unchanged.push(crate::core::model::Unchanged::at(
                    rule,
                    &file.display,
                    Some(lines.line(snippet.start())),
                    crate::core::model::UnchangedReason::NeedsReview,
                    format!("in a doc test: {reason} — the change does not fit the comment's lines: make it by hand"),
                )),
            }
        }
        let left_out =
            Findings { changes: left_out.changes.into_iter().filter_map(|c| snippet.map_back(c, &file.text, &lines)).collect(), ..Findings::default() };
        findings.unchanged.extend(filtered(left_out));
    }
    Ok((findings, modules))
}

/// The findings of each rule on one file (`None`: the rule panicked on it), gathered over
/// the parts the file is read in; and what the rules `--only` / `--skip` leaves out find.
struct PerRule {
    kept: Vec<Option<Findings>>,
    left_out: Findings,
}

impl PerRule {
    fn new(rules: usize) -> PerRule {
        PerRule { kept: (0..rules).map(|_| Some(Findings::default())).collect(), left_out: Findings::default() }
    }

    /// Runs every rule on a parsed file (or chunk); a rule that panics loses its findings
    /// on the whole file, the others still run. The rules `--only` / `--skip` leaves out
    /// run too (a panic there loses nothing that would be written).
    fn run(&mut self, file: &SourceFile, parsed: &Parsed, lines: &LineIndex, cfg: &CfgSet, opts: &CheckOptions<'_>, facts: &FileFacts) {
        let cfg_ranges = CfgRanges::of(&parsed.syntax, cfg, &|s| parsed.range(s));
        let cx = SourceCx { file, parsed, lines, facts, cfg: &cfg_ranges };
        for (rule, slot) in opts.rules.iter().zip(&mut self.kept) {
            let Some(found) = slot else { continue };
            if catch_unwind(AssertUnwindSafe(|| rule.check_source(&cx, found))).is_err() {
                *slot = None;
            }
        }
        for rule in &opts.filtered_out {
            let mut one = Findings::default();
            if catch_unwind(AssertUnwindSafe(|| rule.check_source(&cx, &mut one))).is_ok() {
                self.left_out.changes.append(&mut one.changes);
                self.left_out.sites.append(&mut one.sites);
                self.left_out.unchanged.append(&mut one.unchanged);
            }
        }
    }

    /// The findings in rule order, each rule's in the order of the text (whichever
    /// parts it was read in), with one error per rule that panicked.
    fn into_findings(self, file: &SourceFile, opts: &CheckOptions<'_>) -> (Findings, Findings) {
        let mut findings = Findings::default();
        for (rule, slot) in opts.rules.iter().zip(self.kept) {
            match slot {
                Some(mut one) => {
                    one.changes.sort_by(|a, b| {
                        (a.span().start, std::cmp::Reverse(a.span().end), &a.edits).cmp(&(b.span().start, std::cmp::Reverse(b.span().end), &b.edits))
                    });
                    one.diagnostics.sort();
                    one.unchanged.sort_by_key(|u| u.line);
                    findings.changes.append(&mut one.changes);
                    findings.diagnostics.append(&mut one.diagnostics);
                    findings.sites.append(&mut one.sites);
                    findings.unchanged.append(&mut one.unchanged);
                }
                None => findings.diagnostics.push(
                    Diagnostic::at(Level::Error, &file.display, None, "the rule panicked on this file; its changes here are dropped (please report this)")
                        .with_rule(rule.meta().id),
                ),
            }
        }
        (findings, self.left_out)
    }
}

/// What a rule left out by `--only` / `--skip` found, as sites not changed.
fn filtered(findings: Findings) -> Vec<Unchanged> {
    let changes = findings.changes.iter().map(|c| Unchanged::of_change(c, UnchangedReason::Filtered));
    let sites = findings.sites.iter().map(|s| Unchanged::at(s.rule, &s.file, Some(s.line), UnchangedReason::Filtered, s.question.clone()));
    let left = findings.unchanged.iter().map(|u| Unchanged { reason: UnchangedReason::Filtered, ..u.clone() });
    changes.chain(sites).chain(left).collect()
}

/// Reads a file as UTF-8 text; anything else is a diagnostic and the file is untouched.
pub fn read_text(path: &std::path::Path, display: &str) -> Result<String, Diagnostic> {
    let meta = std::fs::metadata(path).map_err(|e| Diagnostic::at(Level::Error, display, None, format!("cannot read: {e}")))?;
    if meta.len() > MAX_FILE_BYTES {
        return Err(Diagnostic::at(
            Level::Warning,
            display,
            None,
            format!("skipped: {} MiB is larger than the {} MiB limit", meta.len() >> 20, MAX_FILE_BYTES >> 20),
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| Diagnostic::at(Level::Error, display, None, format!("cannot read: {e}")))?;
    String::from_utf8(bytes)
        .map_err(|e| Diagnostic::at(Level::Error, display, None, format!("not valid UTF-8 (byte {}), file left untouched", e.utf8_error().valid_up_to())))
}

/// Runs the manifest rules on each selected package's `Cargo.toml` and on the workspace
/// root manifest.
fn check_manifests(ws: &Workspace, opts: &CheckOptions<'_>, out: &mut Checked) {
    let mut manifests: Vec<(PathBuf, Option<&Package>)> = ws.packages.iter().map(|p| (p.manifest_path.clone(), Some(p))).collect();
    if !manifests.iter().any(|(m, _)| *m == ws.root_manifest) && ws.root_manifest.is_file() {
        manifests.push((ws.root_manifest.clone(), None));
    }
    let mut read = Vec::new();
    for (path, package) in manifests {
        let display = ws.display(&path);
        match read_text(&path, &display) {
            Ok(text) => read.push((path, package, display, text)),
            Err(d) => out.diagnostics.push(d),
        }
    }
    // What members inherit from the root's `[workspace.dependencies]`, before the root is
    // checked (a manifest that does not parse is reported when it is checked).
    for (_, package, _, text) in &read {
        if let (Some(p), Ok(doc)) = (package, toml_edit::ImDocument::parse(text.as_str())) {
            out.uses.inherit_from(&p.name, doc.as_table());
        }
    }
    for (path, package, display, text) in read {
        let file = SourceFile {
            path: path.clone(),
            display: display.clone(),
            kind: FileKind::Manifest,
            package: package.map_or_else(String::new, |p| p.name.clone()),
            cfg: CfgStatus::Active,
            text,
        };
        let findings = check_manifest_text(&file, package, path == ws.root_manifest, &out.uses, opts);
        match findings {
            Ok(f) => {
                out.changes.extend(f.changes);
                out.diagnostics.extend(f.diagnostics);
                out.unchanged.extend(f.unchanged);
            }
            Err(d) => out.diagnostics.push(d),
        }
        out.files.insert(display, file);
    }
}

/// Parses a manifest and runs the manifest rules on it, with what the workspace's code
/// has after the migration (`uses`).
pub fn check_manifest_text(
    file: &SourceFile,
    package: Option<&Package>,
    is_workspace_root: bool,
    uses: &WorkspaceUses,
    opts: &CheckOptions<'_>,
) -> Result<Findings, Diagnostic> {
    let doc = toml_edit::ImDocument::parse(file.text.as_str()).map_err(|e| {
        let line = e.span().map(|s| LineIndex::new(&file.text).line(s.start));
        Diagnostic::at(Level::Error, &file.display, line, format!("cannot parse manifest: {}", e.message()))
    })?;
    let lines = LineIndex::new(&file.text);
    let cx = ManifestCx { file, lines: &lines, doc: &doc, package, is_workspace_root, target_edition: opts.target_edition, uses };
    let mut findings = Findings::default();
    for rule in &opts.rules {
        rule.check_manifest(&cx, &mut findings);
    }
    for rule in &opts.filtered_out {
        let mut one = Findings::default();
        rule.check_manifest(&cx, &mut one);
        findings.unchanged.extend(filtered(one));
    }
    Ok(findings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::model::{Decider, Edit, Safety};

    fn insertion(rule: &'static str, at: usize, text: &str, decided_by: Decider) -> Change {
        Change {
            rule,
            reason: String::new(),
            safety: Safety::Safe,
            decided_by,
            file: "src/lib.rs".into(),
            line: 1,
            cfg: CfgStatus::Active,
            edits: vec![Edit::insert(at, text)],
        }
    }

    /// Found on a `static mut gen`: the compiler's `static_mut_refs` rewrite and the
    /// `keyword-gen` rule both insert before `gen` in `&gen`. The `r#` goes next to the
    /// identifier, whichever change sorts first otherwise. (A replacement starting at the
    /// identifier, as a prelude-collision fix's, conflicts with the `r#` instead: see
    /// [`Edit::binds_forward`].)
    #[test]
    fn a_raw_identifier_prefix_is_inserted_next_to_its_identifier() {
        let text = "fn f() -> u32 { unsafe { *&gen } }\n";
        let at = text.find("gen").unwrap();
        let mut changes = vec![
            insertion("keyword-gen", at, "r#", Decider::Rule),
            insertion("static_mut_refs", at, "*&raw const ", Decider::Compiler("default features".into())),
        ];
        sort_findings(&mut changes, &mut Vec::new(), crate::rules::edition_2024());
        let edits: Vec<Edit> = changes.iter().flat_map(|c| c.edits.clone()).collect();
        assert_eq!(crate::core::plan::apply_edits(text, &edits).unwrap(), "fn f() -> u32 { unsafe { *&*&raw const r#gen } }\n");
    }
}
