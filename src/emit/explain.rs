//! `explain --at` and `--explain-left` as text: each subject's place and facts, the lines
//! before and after, the options of a judge site, then the model's explanation (labelled
//! as the model's) or, without one, the reason and the rule's documentation.

use std::io::Write;

use crate::judge::explain::{Explained, Subject};
use crate::ops::explain::Found;

/// Writes every explanation, separated by a blank line.
pub fn write_text(found: &[Found], out: &mut dyn Write) -> std::io::Result<()> {
    for (i, f) in found.iter().enumerate() {
        if i > 0 {
            writeln!(out)?;
        }
        write_one(f, out)?;
    }
    Ok(())
}

fn write_one(f: &Found, out: &mut dyn Write) -> std::io::Result<()> {
    let s = &f.subject;
    let rule = s.rule.as_deref().map(|r| format!(" `{r}`")).unwrap_or_default();
    writeln!(out, "{}:{}: {}{rule}", s.file, s.line, s.kind)?;
    for (label, value) in &s.facts {
        writeln!(out, "  {label}: {value}")?;
    }
    if let Some(message) = &s.message {
        writeln!(out, "  the compiler says:")?;
        for line in message.trim_end().lines() {
            writeln!(out, "    {line}")?;
        }
    }
    write_code(s, out)?;
    if !s.options.is_empty() {
        writeln!(out, "  options:")?;
        for (id, when, chosen) in &s.options {
            writeln!(out, "    {} {id}: {when}", if *chosen { "*" } else { " " })?;
        }
    }
    match &f.explained {
        Explained::ByModel { model, cached, text, .. } => {
            let how = if *cached { ", from the cache" } else { "" };
            writeln!(out, "  explained by the model {model}{how} (a model's reading of this code: check it against the code):")?;
            for (label, value) in
                [("what changes here", &text.behaviour), ("why", &text.why), ("check here", &text.check), ("the other way", &text.alternative)]
            {
                writeln!(out, "    {label}: {value}")?;
            }
            if let Some(rule) = &s.rule {
                writeln!(out, "  the rule's documentation: cargo migrate explain {rule}")?;
            }
        }
        Explained::NoModel(why) => {
            writeln!(out, "  no model explanation ({why}); the documentation:")?;
            let doc = s.doc.trim();
            if doc.is_empty() {
                writeln!(out, "    (none)")?;
            }
            for line in doc.lines() {
                writeln!(out, "    {line}")?;
            }
        }
    }
    Ok(())
}

/// The lines before (`-`) and after (`+`) a change, or the site's code.
fn write_code(s: &Subject, out: &mut dyn Write) -> std::io::Result<()> {
    if s.code.trim().is_empty() {
        return Ok(());
    }
    match &s.after {
        Some(after) if *after != s.code => {
            for line in s.code.lines() {
                writeln!(out, "  - {line}")?;
            }
            for line in after.lines() {
                writeln!(out, "  + {line}")?;
            }
        }
        _ => {
            for line in s.code.lines() {
                writeln!(out, "  > {line}")?;
            }
        }
    }
    Ok(())
}
