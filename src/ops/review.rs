//! Review: the user decides each change before anything is written (`--interactive`).
//! The first step of [`finish`](super::finish) when a front end gives a [`Reviewer`]:
//! one change at a time, package by package (its source files first, its manifest last),
//! the reviewer answers; the migration is then rebuilt with the changes it accepted
//! ([`FileResult::keep`]), so that writing, `--verify` and the outcome see exactly those.
//!
//! What a review records:
//! - An accepted change is decided by the user ([`Decider::User`]): who proposed it
//!   (rule, heuristic, model, compiler) stays in its reason, "accepted at review;
//!   proposed by rule". An edited one says "edited at review" and is judged.
//! - A change skipped (`n`, `d`, or left when the user stops) is not written; it is
//!   listed in [`Reviewed::skipped`]. A change of a later round found in text that only
//!   a skipped change wrote cannot be written either ([`Reviewed::dependent`]).
//! - A package's changes land together or not at all *as the user chose them*: its
//!   manifest change (the edition or the dependency's requirement) is one of the
//!   questions, asked last for its package. Accepting it while skipping some of the
//!   package's other changes is the user's call; a warning says so, and that running
//!   the migration again finds them (`--from 2021` for an edition).
//!
//! The reviewer is the front end's (the terminal, for the CLI): this module prints
//! nothing. It checks what the user edits: the file with the edited text must still
//! parse (Rust with syn, a manifest as TOML), else the reviewer is asked again with why.

use std::collections::BTreeMap;
use std::ops::Range;

use anyhow::{Context, Result};

use crate::core::migration::{FileResult, Migration};
use crate::core::model::{Change, Decider, Diagnostic, Edit, Level, Safety, Verdict};
use crate::core::plan::{apply_edits, conflicts};
use crate::core::text::FileKind;
use crate::syntax::parsed::Parsed;

/// The front end that answers for the user.
pub trait Reviewer {
    /// Decides one change. After an edit that was refused, it is asked again about the
    /// same change, with [`Item::refused`] saying why.
    fn decide(&self, item: &Item<'_>) -> Answer;
}

/// An answer about one change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// Write it (`y`).
    Apply,
    /// Do not write it (`n`).
    Skip,
    /// Write it and every remaining change of its rule, without asking (`a`).
    AllOfRule,
    /// Skip it and every remaining change of its rule, without asking (`d`).
    NoneOfRule,
    /// Write this text in place of the change's [`replacement`](Item::replacement) (`e`).
    Edit(String),
    /// Write what was accepted so far and skip the rest (`q`).
    Quit,
}

/// One change, as the reviewer sees it.
#[derive(Debug)]
pub struct Item<'a> {
    /// 1-based position among the changes to review.
    pub position: usize,
    /// How many changes there are to review.
    pub total: usize,
    /// The change as proposed.
    pub change: &'a Change,
    /// The file with this change only, on the text the change applies to (for a change
    /// of a later round: the text the rounds before make): what to show.
    pub alone: FileResult,
    /// The judge's verdict on the change's site, if it was judged.
    pub verdict: Option<&'a Verdict>,
    /// What `e` edits: the lines the change touches as it writes them (only the text
    /// from its first edit to the end of its last when another change of its round is
    /// on those lines too). The edited text replaces them.
    pub replacement: String,
    /// Why the last edited text was refused (asked again).
    pub refused: Option<String>,
}

/// What a review decided.
#[derive(Debug, Default)]
pub struct Reviewed {
    /// Changes reviewed and written, as recorded (decided by the user).
    pub accepted: Vec<Change>,
    /// How many of the accepted changes were edited.
    pub edited: usize,
    /// Changes the user skipped (`n`, `d`, or left when the review stopped), as proposed.
    pub skipped: Vec<Change>,
    /// Changes accepted that cannot be written: a later round found them in text only a
    /// skipped change wrote.
    pub dependent: Vec<Change>,
    /// Whether the user stopped the review (`q`) before the last change.
    pub stopped: bool,
}

/// What was decided about one change.
enum Choice {
    Keep(Change),
    Skip,
}

/// Asks `reviewer` about each change of `m` and rebuilds `m` with the accepted ones.
/// Warnings about what the choices leave (a package's manifest moved without some of
/// its changes, changes that depended on a skipped one) join `m.diagnostics`.
pub fn review(m: &mut Migration, reviewer: &dyn Reviewer) -> Result<Reviewed> {
    let order = review_order(m);
    let total: usize = order.iter().map(|f| m.files[f].changes.len()).sum();
    let mut out = Reviewed::default();
    let mut by_rule: BTreeMap<&'static str, bool> = BTreeMap::new();
    let mut choices: BTreeMap<String, Vec<Choice>> = BTreeMap::new();
    let mut position = 0;
    for display in &order {
        let result = &m.files[display];
        let texts = result.round_texts().with_context(|| format!("cannot rebuild {display}"))?;
        let rounds = result.rounds();
        let mut file_choices = Vec::with_capacity(result.changes.len());
        for (r, round) in rounds.iter().enumerate() {
            for i in round.clone() {
                position += 1;
                let change = &result.changes[i];
                let base = &texts[r];
                let others: Vec<&Change> = round.clone().filter(|&j| j != i).map(|j| &result.changes[j]).collect();
                let decided = if out.stopped { Some(false) } else { by_rule.get(change.rule).copied() };
                let choice = match decided {
                    Some(true) => Choice::Keep(accepted(change, "accepted at review")),
                    Some(false) => Choice::Skip,
                    None => {
                        let mut item = Item {
                            position,
                            total,
                            change,
                            alone: alone(result, change, base)?,
                            verdict: m.verdicts.iter().find(|v| v.file == change.file && v.line == change.line && v.rule == change.rule),
                            replacement: written(change, base, editable(change, base, &others))?,
                            refused: None,
                        };
                        loop {
                            match reviewer.decide(&item) {
                                Answer::Apply => break Choice::Keep(accepted(change, "accepted at review")),
                                Answer::Skip => break Choice::Skip,
                                Answer::AllOfRule => {
                                    by_rule.insert(change.rule, true);
                                    break Choice::Keep(accepted(change, "accepted at review"));
                                }
                                Answer::NoneOfRule => {
                                    by_rule.insert(change.rule, false);
                                    break Choice::Skip;
                                }
                                Answer::Quit => {
                                    out.stopped = position < total;
                                    break Choice::Skip;
                                }
                                Answer::Edit(text) => match edited(result.file.kind, base, change, &others, &text) {
                                    Ok(c) => {
                                        out.edited += 1;
                                        break Choice::Keep(c);
                                    }
                                    Err(why) => item.refused = Some(why),
                                },
                            }
                        }
                    }
                };
                if matches!(choice, Choice::Skip) {
                    out.skipped.push(change.clone());
                }
                file_choices.push(choice);
            }
        }
        choices.insert(display.clone(), file_choices);
    }
    rebuild(m, choices, &mut out)?;
    Ok(out)
}

/// The files in the order they are asked about: package by package, each package's
/// source files (in path order) before its manifest.
fn review_order(m: &Migration) -> Vec<String> {
    let mut files: Vec<&FileResult> = m.files.values().filter(|f| !f.changes.is_empty()).collect();
    files.sort_by(|a, b| {
        (&a.file.package, a.file.kind == FileKind::Manifest, &a.file.display).cmp(&(&b.file.package, b.file.kind == FileKind::Manifest, &b.file.display))
    });
    files.into_iter().map(|f| f.file.display.clone()).collect()
}

/// The change as the user accepted it: decided by the user, who proposed it kept in the reason.
fn accepted(change: &Change, how: &str) -> Change {
    Change { reason: format!("{} ({how}; proposed by {})", change.reason, change.decided_by), decided_by: Decider::User, ..change.clone() }
}

/// The file with only `change`, on `base` (the text its round applies to).
fn alone(result: &FileResult, change: &Change, base: &str) -> Result<FileResult> {
    let new_text = apply_edits(base, &change.edits).with_context(|| format!("cannot apply a change to {}", result.file.display))?;
    let mut file = result.file.clone();
    file.text = base.to_string();
    Ok(FileResult { file, new_text, changes: vec![change.clone()], passes: 1, later_rounds: Vec::new() })
}

/// The part of `base` an edit of `change` replaces: the whole lines it touches, or only
/// from its first edit to the end of its last when another change (`others`: those of
/// its round) has an edit on those lines.
fn editable(change: &Change, base: &str, others: &[&Change]) -> Range<usize> {
    let span = change.span();
    let start = base[..span.start].rfind('\n').map_or(0, |i| i + 1);
    let end = base[span.end..].find('\n').map_or(base.len(), |i| span.end + i + 1);
    let lines = Edit::replace(start..end, "");
    if others.iter().any(|o| o.edits.iter().any(|e| conflicts(e, &lines))) {
        span
    } else {
        start..end
    }
}

/// What the change writes over `region` of `base` (which holds its edits).
fn written(change: &Change, base: &str, region: Range<usize>) -> Result<String> {
    let edits: Vec<Edit> =
        change.edits.iter().map(|e| Edit { range: e.range.start - region.start..e.range.end - region.start, replacement: e.replacement.clone() }).collect();
    let old = base.get(region).with_context(|| format!("a change of {} is outside its text", change.file))?;
    Ok(apply_edits(old, &edits)?)
}

/// The change with `text` written over its [editable](Item::replacement) lines instead,
/// if the file (`base`, the text of its round) still parses with it; else why not.
/// `others`: the other changes of its round. The edited text ends as the lines did: an
/// editor's final newline is dropped when they had none, and added when they had one.
pub fn edited(kind: FileKind, base: &str, change: &Change, others: &[&Change], text: &str) -> Result<Change, String> {
    let region = editable(change, base, others);
    let replacement = written(change, base, region.clone()).map_err(|e| e.to_string())?;
    let text = match (text.strip_suffix('\n'), replacement.ends_with('\n')) {
        (Some(t), false) => t.strip_suffix('\r').unwrap_or(t).to_string(),
        (None, true) if !text.is_empty() => format!("{text}{}", if replacement.ends_with("\r\n") { "\r\n" } else { "\n" }),
        _ => text.to_string(),
    };
    let edit = Edit::replace(region, text);
    if let Some(other) = others.iter().find(|o| o.edits.iter().any(|e| conflicts(e, &edit))) {
        return Err(format!(
            "the edited text would cover another change ({} on line {}), whose edits lie between this one's; leave this one as proposed",
            other.rule, other.line
        ));
    }
    let new_text = apply_edits(base, std::slice::from_ref(&edit)).map_err(|e| e.to_string())?;
    match kind {
        FileKind::Rust => Parsed::parse(&new_text).map(drop).map_err(|e| format!("{} does not parse with it: line {}: {}", change.file, e.line, e.message))?,
        FileKind::Manifest => new_text
            .parse::<toml_edit::DocumentMut>()
            .map(drop)
            .map_err(|e| format!("{} is not valid TOML with it: {}", change.file, e.to_string().trim_end()))?,
    }
    let mut c = accepted(change, "edited at review");
    c.edits = vec![edit];
    c.safety = Safety::Judged;
    Ok(c)
}

/// Rebuilds every reviewed file with its kept changes; records the dependents and the
/// warnings about packages.
fn rebuild(m: &mut Migration, choices: BTreeMap<String, Vec<Choice>>, out: &mut Reviewed) -> Result<()> {
    // Per package: whether its manifest change is written, and how many of its other
    // changes are skipped.
    let mut packages: BTreeMap<String, (Option<bool>, usize, usize)> = BTreeMap::new();
    for (display, file_choices) in choices {
        let result = m.files.remove(&display).expect("a reviewed file");
        let chosen: Vec<Option<Change>> = file_choices
            .into_iter()
            .map(|c| match c {
                Choice::Keep(c) => Some(c),
                Choice::Skip => None,
            })
            .collect();
        let kept = result.keep(&chosen).with_context(|| format!("cannot rebuild {display}"))?;
        let entry = packages.entry(result.file.package.clone()).or_default();
        for (i, c) in chosen.iter().enumerate() {
            let written = c.is_some() && !kept.dependent.contains(&i);
            if result.file.kind == FileKind::Manifest {
                entry.0 = Some(entry.0.unwrap_or(false) || written);
            } else if written {
                entry.2 += 1;
            } else {
                entry.1 += 1;
            }
        }
        for &i in &kept.dependent {
            let change = &result.changes[i];
            m.diagnostics.push(
                Diagnostic::at(
                    Level::Warning,
                    &change.file,
                    Some(change.line),
                    format!("not written although accepted: it was found in text that a change you skipped would have written ({})", change.reason),
                )
                .with_rule(change.rule),
            );
            out.dependent.push(change.clone());
        }
        if let Some(new) = kept.result {
            out.accepted.extend(new.changes.iter().cloned());
            m.files.insert(display, new);
        }
    }
    for (package, (manifest, skipped, written)) in packages {
        match manifest {
            Some(true) if skipped > 0 => m.diagnostics.push(Diagnostic::general(
                Level::Warning,
                format!(
                    "package `{package}`: its manifest change is written, but {skipped} of its other change(s) skipped at review: it may not build, or may behave differently, until they are made (running the migration again finds them; for an edition, with `--from 2021`)"
                ),
            )),
            Some(false) if written > 0 => m.diagnostics.push(Diagnostic::general(
                Level::Note,
                format!("package `{package}`: its manifest change was skipped at review; its {written} accepted change(s) are written without it"),
            )),
            _ => {}
        }
    }
    m.diagnostics.sort();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::model::CfgStatus;
    use crate::core::text::SourceFile;
    use std::cell::RefCell;

    fn change(rule: &'static str, line: usize, edits: Vec<Edit>, file: &str) -> Change {
        Change { rule, reason: format!("why {line}"), safety: Safety::Safe, decided_by: Decider::Rule, file: file.into(), line, cfg: CfgStatus::Active, edits }
    }

    fn file(display: &str, kind: FileKind, text: &str, changes: Vec<Change>) -> FileResult {
        let new_text = apply_edits(text, &changes.iter().flat_map(|c| c.edits.clone()).collect::<Vec<_>>()).unwrap();
        FileResult {
            file: SourceFile { path: display.into(), display: display.into(), kind, package: "p".into(), cfg: CfgStatus::Active, text: text.into() },
            new_text,
            changes,
            passes: 1,
            later_rounds: Vec::new(),
        }
    }

    /// Answers in turn, and records what it was shown.
    struct Scripted {
        answers: RefCell<Vec<Answer>>,
        seen: RefCell<Vec<(usize, &'static str, Option<String>)>>,
    }

    impl Reviewer for Scripted {
        fn decide(&self, item: &Item<'_>) -> Answer {
            self.seen.borrow_mut().push((item.position, item.change.rule, item.refused.clone()));
            self.answers.borrow_mut().remove(0)
        }
    }

    fn migration() -> Migration {
        let lib = "fn a() {}\nfn b() {}\nfn c() {}\n";
        let changes = vec![
            change("x", 1, vec![Edit::replace(3..4, "a1")], "src/lib.rs"),
            change("y", 2, vec![Edit::replace(13..14, "b1")], "src/lib.rs"),
            change("x", 3, vec![Edit::replace(23..24, "c1")], "src/lib.rs"),
        ];
        let manifest = "[package]\nedition = \"2021\"\n";
        let bump = vec![change("edition", 2, vec![Edit::replace(21..25, "2024")], "Cargo.toml")];
        let mut m = Migration::default();
        m.files.insert("Cargo.toml".into(), file("Cargo.toml", FileKind::Manifest, manifest, bump));
        m.files.insert("src/lib.rs".into(), file("src/lib.rs", FileKind::Rust, lib, changes));
        m
    }

    #[test]
    fn the_manifest_is_asked_last_and_a_rule_answered_for_is_not_asked_again() {
        let mut m = migration();
        let r = Scripted { answers: RefCell::new(vec![Answer::NoneOfRule, Answer::Apply, Answer::Apply]), seen: RefCell::default() };
        let reviewed = review(&mut m, &r).unwrap();
        let seen: Vec<(usize, &str)> = r.seen.borrow().iter().map(|(p, rule, _)| (*p, *rule)).collect();
        assert_eq!(seen, [(1, "x"), (2, "y"), (4, "edition")]);
        assert_eq!(m.files["src/lib.rs"].new_text, "fn a() {}\nfn b1() {}\nfn c() {}\n");
        assert_eq!(m.files["Cargo.toml"].new_text, "[package]\nedition = \"2024\"\n");
        assert_eq!(reviewed.skipped.len(), 2);
        assert!(reviewed.accepted.iter().all(|c| c.decided_by == Decider::User && c.reason.ends_with("(accepted at review; proposed by rule)")));
        // The manifest moves without two of the package's changes: said.
        assert!(m.diagnostics.iter().any(|d| d.level == Level::Warning && d.message.contains("2 of its other change(s) skipped")), "{:?}", m.diagnostics);
    }

    #[test]
    fn quitting_skips_the_rest_and_an_edit_that_does_not_parse_is_asked_again() {
        let mut m = migration();
        let r = Scripted {
            answers: RefCell::new(vec![Answer::Edit("fn a1( {}\n".into()), Answer::Edit("fn a2() {}".into()), Answer::Quit]),
            seen: RefCell::default(),
        };
        let reviewed = review(&mut m, &r).unwrap();
        let seen = r.seen.borrow();
        assert_eq!(seen.len(), 3);
        assert!(seen[1].2.as_deref().is_some_and(|why| why.contains("src/lib.rs does not parse with it: line 1")), "{seen:?}");
        assert!(reviewed.stopped);
        assert_eq!(reviewed.edited, 1);
        // The edited line keeps its line ending; nothing after `q` is written.
        assert_eq!(m.files["src/lib.rs"].new_text, "fn a2() {}\nfn b() {}\nfn c() {}\n");
        assert!(!m.files.contains_key("Cargo.toml"));
        assert_eq!(m.files["src/lib.rs"].changes[0].safety, Safety::Judged);
        assert!(m.diagnostics.iter().any(|d| d.message.contains("manifest change was skipped")), "{:?}", m.diagnostics);
    }
}
