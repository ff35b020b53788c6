//! `--interactive` at the terminal: the [`Reviewer`] that shows each change as an
//! annotated hunk on stdout and reads the answer, one letter and Enter, from stdin. `e`
//! opens the lines the change writes in `$VISUAL` / `$EDITOR` (else `vi`); `?` prints
//! [`crate::ops::explain::Explainer`]. The decisions and the checks of edited text are the operation's
//! ([`crate::ops::review`]).

use std::io::{BufRead, IsTerminal, Write};
use std::process::Command;

use anyhow::{bail, Context, Result};

use super::args::ColorChoice;
use super::render::{stdout, Spinner, ERR, NOTE, WARN};
use crate::core::text::FileKind;
use crate::emit::{write_file_diff, DiffStyle};
use crate::ops::review::{Answer, Item, Reviewer};

/// The keys, as the prompt lists them.
const KEYS: &str = "[y,n,a,d,e,?,q]";

const HELP: &str = "\
y - apply this change
n - skip this change
a - apply this change and every remaining change of its rule
d - skip this change and every remaining change of its rule
e - edit the lines this change writes in $EDITOR (the file must still parse)
? - explain this change
q - write the changes accepted so far and stop (the rest are skipped)";

/// Refuses `--interactive` without a terminal to ask on (stdin) and to show on (stdout).
pub(super) fn require_terminal() -> Result<()> {
    if !std::io::stdin().is_terminal() || !std::io::stdout().is_terminal() {
        bail!("--interactive asks about each change at a terminal, and stdin or stdout is not one; review the diff of a dry run and use --apply (with --only/--skip) instead");
    }
    Ok(())
}

/// The terminal as a reviewer.
pub(super) struct Terminal<'a> {
    /// Colors on stdout.
    pub(super) color: ColorChoice,
    /// The progress display, hidden while a question is asked.
    pub(super) spinner: &'a Spinner,
    /// What `?` asks (the model of `--llm`, else the documentation and the facts).
    pub(super) explainer: crate::ops::explain::Explainer,
}

impl Reviewer for Terminal<'_> {
    fn decide(&self, item: &Item<'_>) -> Answer {
        self.spinner.suspend(|| self.ask(item))
    }
}

impl Terminal<'_> {
    fn ask(&self, item: &Item<'_>) -> Answer {
        let mut out = stdout(self.color);
        match &item.refused {
            Some(why) => {
                let _ = writeln!(out, "{}error:{} the edited text is not used: {why}", ERR.render(), ERR.render_reset());
            }
            None => {
                let c = item.change;
                let _ = writeln!(out, "{}({}/{}){} {}:{} [{}]", NOTE.render(), item.position, item.total, NOTE.render_reset(), c.file, c.line, c.rule);
                let _ = write_file_diff(&item.alone, DiffStyle::Annotated, &mut out);
            }
        }
        let stdin = std::io::stdin();
        loop {
            let _ = write!(out, "{}Apply this change {KEYS}?{} ", NOTE.render(), NOTE.render_reset());
            let _ = out.flush();
            let mut line = String::new();
            match stdin.lock().read_line(&mut line) {
                // End of input: as `q`, what was accepted is written.
                Ok(0) | Err(_) => {
                    let _ = writeln!(out);
                    return Answer::Quit;
                }
                Ok(_) => {}
            }
            match line.trim() {
                "y" => return Answer::Apply,
                "n" => return Answer::Skip,
                "a" => return Answer::AllOfRule,
                "d" => return Answer::NoneOfRule,
                "q" => return Answer::Quit,
                "e" => match edit(item) {
                    Ok(text) => return Answer::Edit(text),
                    Err(e) => {
                        let _ = writeln!(out, "{}error:{} {e:#}", ERR.render(), ERR.render_reset());
                    }
                },
                "?" => {
                    let found = self.explainer.change(item.change, &item.alone.file.text, item.verdict);
                    let _ = crate::emit::write_explanations(&[found], &mut out);
                }
                _ => {
                    let _ = writeln!(out, "{}{HELP}{}", WARN.render(), WARN.render_reset());
                }
            }
        }
    }
}

/// Opens the lines the change writes in the user's editor; returns the text saved.
fn edit(item: &Item<'_>) -> Result<String> {
    let suffix = if item.alone.file.kind == FileKind::Manifest { ".toml" } else { ".rs" };
    let mut file = tempfile::Builder::new().prefix("cargo-migrate-edit").suffix(suffix).tempfile().context("cannot make a file to edit")?;
    file.write_all(item.replacement.as_bytes())?;
    file.flush()?;
    let editor = ["VISUAL", "EDITOR"].iter().find_map(|v| std::env::var(v).ok().filter(|e| !e.trim().is_empty())).unwrap_or_else(|| "vi".to_string());
    let mut words = editor.split_whitespace();
    let program = words.next().expect("not blank");
    let status = Command::new(program).args(words).arg(file.path()).status().with_context(|| format!("cannot start the editor `{editor}`"))?;
    if !status.success() {
        bail!("the editor `{editor}` failed ({status}); the change is asked about again");
    }
    std::fs::read_to_string(file.path()).context("cannot read the edited text")
}
