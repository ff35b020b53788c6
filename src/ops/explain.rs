//! `explain --at FILE:LINE` and `upgrade --explain-left`: what a change, a judge site, a
//! message or an error the compiler left means for *this* code.
//!
//! The migration runs as a dry run (nothing is written); what it has at the line becomes
//! a [`Subject`] (facts, the code before and after, the enclosing function and the
//! destructors the judge read, the options of a site, the rule's documentation) and is
//! explained by [`crate::judge::explain`]: a model's text when one answers (cached), else
//! the facts and the documentation alone. Never an error for want of a model.

use std::path::Path;

use anyhow::Result;

use super::{edition, upgrade, Progress, WriteMode};
use crate::cargo::check::CompileError;
use crate::core::migration::Migration;
use crate::core::model::{Change, Diagnostic, Site, Verdict};
use crate::core::plan::apply_edits;
use crate::core::text::LineIndex;
use crate::judge::cache::VerdictCache;
use crate::judge::config::ModelConfig;
use crate::judge::explain::{explain, Explained, Subject};
use crate::judge::llm::Model;
use crate::ops::upgrade::compiler::Attributed;

/// Which migration to explain.
pub enum Migrate {
    /// `cargo migrate edition` (its write mode is ignored: a dry run).
    Edition(edition::Request),
    /// `cargo migrate upgrade CRATE` (likewise).
    Upgrade(upgrade::Request),
}

/// `explain --at FILE:LINE`.
pub struct Request {
    /// The migration whose change or site is explained.
    pub migrate: Migrate,
    /// The file, relative to the workspace root (`/` separators).
    pub file: String,
    /// The 1-based line.
    pub line: usize,
}

/// One thing at the line, explained.
#[derive(Debug)]
pub struct Found {
    /// What it is, with its facts and code.
    pub subject: Subject,
    /// The change, when it is one (for its hunk).
    pub change: Option<Change>,
    /// The model's text, or why there is none.
    pub explained: Explained,
}

/// What `explain --at` found.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Everything at the line, explained.
    pub found: Vec<Found>,
    /// When nothing is at the line: the lines of the same file that have something, and
    /// what (for the message).
    pub elsewhere: Vec<(usize, String)>,
}

/// Runs the migration as a dry run and explains what it has at the request's line.
pub fn run(req: Request, progress: &dyn Progress) -> Result<Outcome> {
    let (migration, remaining, judge, ws, doc_note) = match req.migrate {
        Migrate::Edition(r) => {
            let r = edition::Request { write: WriteMode::DryRun, ..r };
            let out = edition::run(&r, progress)?;
            (out.migration, Vec::new(), r.judge, out.workspace, String::new())
        }
        Migrate::Upgrade(r) => {
            let r = upgrade::Request { write: WriteMode::DryRun, ..r };
            let out = upgrade::run(&r, progress)?;
            let note = out.upgrade.pack_notes();
            (out.upgrade.migration, out.upgrade.remaining, r.judge, out.upgrade.workspace, note)
        }
    };
    let target_dir = ws.target_dir;
    let file = relative_to(&ws.root, &req.file);
    let subjects = subjects_at(&migration, &remaining, &doc_note, &file, req.line);
    if subjects.is_empty() {
        return Ok(Outcome { found: Vec::new(), elsewhere: lines_in(&migration, &remaining, &file) });
    }
    let found = explain_all(subjects, &judge, &target_dir, progress);
    Ok(Outcome { found, elsewhere: Vec::new() })
}

/// `file` relative to the workspace `root` when it is a path to a file in it (from the
/// current directory, or absolute); else as given, with `/` separators.
fn relative_to(root: &Path, file: &str) -> String {
    if let (Ok(path), Ok(root)) = (Path::new(file).canonicalize(), root.canonicalize()) {
        if let Ok(relative) = path.strip_prefix(&root) {
            return relative.to_string_lossy().replace('\\', "/");
        }
    }
    file.trim_start_matches("./").replace('\\', "/")
}

/// `--explain-left`: explains each compile error or deprecation an upgrade left (after
/// `--verify`: the errors still there), with the packs' notes as documentation.
pub fn left(out: &upgrade::Outcome, judge: &ModelConfig, root: &Path, progress: &dyn Progress) -> Vec<Found> {
    let up = &out.upgrade;
    let note = up.pack_notes();
    let mut subjects: Vec<(Subject, Option<Change>)> = up.remaining.iter().filter_map(|a| left_subject(&up.migration, a, &note)).map(|s| (s, None)).collect();
    if let Some(verified) = out.finished.as_ref().and_then(|f| f.verified.as_ref()) {
        for e in &verified.remaining {
            if let Some(s) = error_subject(e, root, &note) {
                subjects.push((s, None));
            }
        }
    }
    explain_all(subjects, judge, &up.workspace.target_dir, progress)
}

/// Explains each subject with the configured model (connected once; a model that cannot
/// be set up is a reason shown with each subject, not an error).
fn explain_all(subjects: Vec<(Subject, Option<Change>)>, judge: &ModelConfig, target_dir: &Path, progress: &dyn Progress) -> Vec<Found> {
    let explainer = Explainer::new(judge.clone(), target_dir);
    let total = subjects.len();
    subjects
        .into_iter()
        .enumerate()
        .map(|(i, (subject, change))| {
            if let Some(name) = explainer.model_name() {
                progress.stage(&format!("explaining {}:{} with {name} ({}/{total})", subject.file, subject.line, i + 1));
            }
            Found { explained: explainer.explain(&subject), subject, change }
        })
        .collect()
}

/// Explains subjects as they come (`explain --at`, `--explain-left`, the review's `?`):
/// the model is connected on first use, once; answers are cached in the workspace's
/// target directory.
pub struct Explainer {
    judge: ModelConfig,
    cache: VerdictCache,
    model: std::sync::OnceLock<Result<Option<Box<dyn Model>>, String>>,
}

impl Explainer {
    /// An explainer asking the model `judge` configures, caching under `target_dir`.
    pub fn new(judge: ModelConfig, target_dir: &Path) -> Explainer {
        Explainer { judge, cache: VerdictCache::in_target_dir(target_dir), model: std::sync::OnceLock::new() }
    }

    fn model(&self) -> &Result<Option<Box<dyn Model>>, String> {
        self.model.get_or_init(|| self.judge.connect(&self.cache).map_err(|e| e.to_string()))
    }

    /// The model's name, if one is configured.
    pub fn model_name(&self) -> Option<String> {
        self.model().as_ref().ok().and_then(|m| m.as_ref().map(|m| m.name()))
    }

    /// The explanation of `subject`: never an error (see [`explain`]).
    pub fn explain(&self, subject: &Subject) -> Explained {
        match self.model() {
            Ok(model) => explain(subject, model.as_deref(), Some(&self.cache)),
            Err(e) => Explained::NoModel(format!("the model cannot be set up: {e}")),
        }
    }

    /// One change under review, on `text` (the text its edits apply to), with the judge's
    /// verdict if it was judged.
    pub fn change(&self, change: &Change, text: &str, verdict: Option<&Verdict>) -> Found {
        let mut subject = change_subject(change, text);
        if let Some(v) = verdict {
            add_site(&mut subject, v, None);
        }
        Found { explained: self.explain(&subject), subject, change: Some(change.clone()) }
    }
}

/// The documentation of a rule, a compiler lint, a pack or a pack's rule, by id.
pub fn rule_doc(id: &str) -> Option<String> {
    if let Some(rule) = crate::rules::find(id) {
        return Some(rule.meta().doc.to_string());
    }
    if let Some(l) = crate::engine::compiler::lint_doc(id) {
        let step = crate::core::edition::step_to(l.edition).expect("every lint belongs to a step");
        return Some(format!(
            "# {}\n\nA rustc lint of the `{}` group (edition {} → {}): {}.\n\nWhat cargo migrate does: {}.\n\nEdition guide: {}\n",
            l.name, step.lint_group, step.from, step.to, l.summary, l.treatment, l.guide
        ));
    }
    crate::pack::explain(id)
}

/// Everything the migration has at `file:line`: changes whose lines cover it, judge sites
/// (with their change, if the chosen option edits), messages, and what the compiler left.
pub fn subjects_at(m: &Migration, remaining: &[Attributed], note: &str, file: &str, line: usize) -> Vec<(Subject, Option<Change>)> {
    let mut out = Vec::new();
    let result = m.files.get(file);
    let mut sites_done = Vec::new();
    if let Some(result) = result {
        let lines = LineIndex::new(&result.file.text);
        for c in &result.changes {
            let last = lines.line(c.span().end.saturating_sub(1).max(c.span().start));
            if !(c.line <= line && line <= last.max(c.line)) {
                continue;
            }
            let verdict = m.verdicts.iter().position(|v| v.file == file && v.line == c.line && v.rule == c.rule);
            let mut subject = change_subject(c, &result.file.text);
            if let Some(i) = verdict {
                sites_done.push(i);
                add_site(&mut subject, &m.verdicts[i], m.sites.get(i));
            }
            out.push((subject, Some(c.clone())));
        }
    }
    for (i, v) in m.verdicts.iter().enumerate() {
        if v.file == file && v.line == line && !sites_done.contains(&i) {
            let mut subject = Subject {
                file: file.to_string(),
                line,
                rule: Some(v.rule.to_string()),
                kind: "judge site (no change)".into(),
                doc: rule_doc(v.rule).unwrap_or_default(),
                ..Subject::default()
            };
            add_site(&mut subject, v, m.sites.get(i));
            subject.facts.push(("result".into(), format!("the code stays as it is written: the chosen option `{}` edits nothing", v.option)));
            out.push((subject, None));
        }
    }
    for d in m.diagnostics.iter().filter(|d| d.file.as_deref() == Some(file) && d.line == Some(line)) {
        let mut subject = message_subject(d, result.map(|r| r.file.text.as_str()));
        if subject.doc.is_empty() {
            subject.doc = note.to_string();
        }
        out.push((subject, None));
    }
    // Sites seen and not changed (a conflict, a lint without a fix, a rule left out by
    // `--only`/`--skip`, ...); a judge's are explained above with their site.
    for u in m.unchanged.iter().filter(|u| u.file.as_deref() == Some(file) && u.line == Some(line)) {
        if m.verdicts.iter().any(|v| v.file == file && v.line == line && v.rule == u.rule) {
            continue;
        }
        let text = result.map(|r| r.file.text.as_str());
        out.push((
            Subject {
                file: file.to_string(),
                line,
                rule: Some(u.rule.to_string()),
                kind: format!("not changed ({})", u.reason.id()),
                facts: vec![("why".into(), u.detail.clone())],
                code: line_of(text, line).unwrap_or_default(),
                context: function_around(text, line),
                doc: rule_doc(u.rule).unwrap_or_else(|| note.to_string()),
                ..Subject::default()
            },
            None,
        ));
    }
    for a in remaining.iter().filter(|a| a.file.as_deref() == Some(file) && a.line == Some(line)) {
        if let Some(s) = left_subject(m, a, note) {
            out.push((s, None));
        }
    }
    out
}

/// The lines of `file` that have something to explain, and what (first of each line).
fn lines_in(m: &Migration, remaining: &[Attributed], file: &str) -> Vec<(usize, String)> {
    let mut lines: Vec<(usize, String)> = Vec::new();
    if let Some(r) = m.files.get(file) {
        lines.extend(r.changes.iter().map(|c| (c.line, format!("change ({})", c.rule))));
    }
    lines.extend(m.verdicts.iter().filter(|v| v.file == file).map(|v| (v.line, format!("judge site ({})", v.rule))));
    lines.extend(
        m.diagnostics
            .iter()
            .filter(|d| d.file.as_deref() == Some(file))
            .filter_map(|d| Some((d.line?, format!("{} ({})", d.level.label(), d.rule.unwrap_or("message"))))),
    );
    lines.extend(m.unchanged.iter().filter(|u| u.file.as_deref() == Some(file)).filter_map(|u| Some((u.line?, format!("not changed ({})", u.reason.id())))));
    lines.extend(remaining.iter().filter(|a| a.file.as_deref() == Some(file)).filter_map(|a| Some((a.line?, left_kind(a).to_string()))));
    lines.sort();
    lines.dedup_by_key(|(l, _)| *l);
    lines
}

/// A change: its facts, the lines it touches before and after.
fn change_subject(c: &Change, text: &str) -> Subject {
    let lines = LineIndex::new(text);
    let span = c.span();
    let start = lines.line_start(span.start);
    let end = text[span.end..].find('\n').map_or(text.len(), |i| span.end + i);
    let after = apply_edits(
        &text[start..end],
        &c.edits.iter().map(|e| crate::core::model::Edit { range: e.range.start - start..e.range.end - start, ..e.clone() }).collect::<Vec<_>>(),
    )
    .ok();
    Subject {
        file: c.file.clone(),
        line: c.line,
        rule: Some(c.rule.to_string()),
        kind: "change".into(),
        facts: vec![
            ("reason".into(), c.reason.clone()),
            ("safety".into(), c.safety.label().to_string()),
            ("decided by".into(), c.decided_by.to_string()),
            ("compiled here".into(), format!("{:?}", c.cfg).to_lowercase()),
        ],
        code: text[start..end].to_string(),
        after,
        context: function_around(Some(text), c.line),
        doc: rule_doc(c.rule).unwrap_or_else(|| {
            format!("# {}\n\nA rule of a pack that is not built in (shipped with the crate, or --pack): its message is the reason above.\n", c.rule)
        }),
        ..Subject::default()
    }
}

/// Adds a judge site's question, verdict, options and context to `subject`.
fn add_site(subject: &mut Subject, v: &Verdict, site: Option<&Site>) {
    subject.kind = if subject.kind == "change" { "judge site".into() } else { subject.kind.clone() };
    subject.facts.push(("verdict".into(), format!("`{}` by {}: {}", v.option, v.decided_by, v.reason)));
    let Some(site) = site else { return };
    subject.facts.insert(0, ("question".into(), site.question.clone()));
    if subject.code.is_empty() {
        subject.code = site.code.clone();
    }
    if !site.context.is_empty() {
        subject.context = site.context.clone();
    }
    subject.options = site.options.iter().map(|o| (o.id.clone(), o.when.clone(), o.id == v.option)).collect();
}

/// A message of the run at a line (needs review, a conflict, a site left to the compiler).
fn message_subject(d: &Diagnostic, text: Option<&str>) -> Subject {
    let line = d.line.unwrap_or(1);
    let file = d.file.clone().unwrap_or_default();
    Subject {
        file,
        line,
        rule: d.rule.map(str::to_string),
        kind: format!("{} of the migration", d.level.label()),
        message: Some(d.message.clone()),
        code: line_of(text, line).unwrap_or_default(),
        context: function_around(text, line),
        doc: d.rule.and_then(rule_doc).unwrap_or_default(),
        ..Subject::default()
    }
}

fn left_kind(a: &Attributed) -> &'static str {
    if a.error {
        "compiler error left"
    } else {
        "deprecation left"
    }
}

/// What the compiler still says after an upgrade, on the migrated text.
fn left_subject(m: &Migration, a: &Attributed, note: &str) -> Option<Subject> {
    let file = a.file.clone()?;
    let line = a.line?;
    let text = m.files.get(&file).map(|r| r.new_text.clone());
    Some(Subject {
        file,
        line,
        rule: a.code.clone(),
        kind: left_kind(a).into(),
        facts: a.item.is_empty().then(Vec::new).unwrap_or_else(|| vec![("item".into(), a.item.join("::"))]),
        message: Some(a.rendered.clone()),
        code: line_of(text.as_deref(), line).or_else(|| a.highlighted.clone()).unwrap_or_default(),
        context: function_around(text.as_deref(), line),
        doc: note.to_string(),
        ..Subject::default()
    })
}

/// An error `--verify` left in the written files.
fn error_subject(e: &CompileError, root: &Path, note: &str) -> Option<Subject> {
    let file = e.file.as_ref()?.to_string_lossy().replace('\\', "/");
    let line = e.lines?.0;
    let text = std::fs::read_to_string(root.join(&file)).ok();
    Some(Subject {
        file,
        line,
        kind: "compiler error left".into(),
        message: Some(e.rendered.clone()),
        code: line_of(text.as_deref(), line).unwrap_or_default(),
        context: function_around(text.as_deref(), line),
        doc: note.to_string(),
        ..Subject::default()
    })
}

/// The 1-based `line` of `text`, if there is one.
fn line_of(text: Option<&str>, line: usize) -> Option<String> {
    text?.lines().nth(line.checked_sub(1)?).map(str::to_string)
}

/// The function around `line` of `text`, as the judge's prompts quote it (none if the
/// line is not in one, or too long a function).
fn function_around(text: Option<&str>, line: usize) -> Vec<String> {
    text.and_then(|t| crate::judge::prompt::enclosing_fn(t, line)).into_iter().collect()
}
