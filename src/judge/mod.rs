//! The judge: decides the sites where the right rewrite depends on intent.
//!
//! Decision chain, per site: heuristics ([`heuristics`]) → a local model ([`llm`]),
//! whose answer must be one of the site's option ids → the conservative option, marked
//! needs-review. Every verdict says who decided and why; a verdict whose option edits the
//! code becomes a [`Change`].

pub mod heuristics;
pub mod llm;
pub mod prompt;

use std::collections::BTreeMap;

use crate::model::{Change, Decider, Diagnostic, Level, Safety, Site, Verdict};
use crate::source::SourceFile;
use llm::{Answer, LlmError, Model};

/// What judging a set of sites produced.
#[derive(Debug, Default)]
pub struct Judged {
    /// Changes of the chosen options that edit code.
    pub changes: Vec<Change>,
    /// One verdict per site.
    pub verdicts: Vec<Verdict>,
    /// Warnings: a model that could not be asked, sites left for review.
    pub diagnostics: Vec<Diagnostic>,
}

/// Asks a model, with one retry on an invalid answer.
pub type Ask<'a> = &'a dyn Fn(&llm::Question) -> Result<Answer, LlmError>;

/// Decides every site. `model` is asked only when no heuristic settles a site; after an
/// error that will not go away (no server, no model), it is not asked again in this run.
pub fn judge(sites: Vec<Site>, files: &BTreeMap<String, SourceFile>, model: Option<&dyn Model>) -> Judged {
    let mut out = Judged::default();
    let mut model_down: Option<String> = None;
    for mut site in sites {
        prompt::add_context(&mut site, files);
        let (option, decided_by, reason, safety) = if let Some(d) = heuristics::decide(&site, files) {
            (d.option, Decider::Heuristic, d.reason, Safety::Judged)
        } else {
            match model.filter(|_| model_down.is_none()) {
                Some(m) => match ask(m, &site) {
                    Ok((index, answer)) => (index, Decider::Llm(m.name()), answer.reason, Safety::Judged),
                    Err(e) => {
                        if e.is_fatal_for_run() {
                            model_down = Some(e.to_string());
                        } else {
                            out.diagnostics.push(Diagnostic::at(Level::Warning, &site.file, Some(site.line), format!("the model gave no usable answer ({e}); kept today's behaviour")).with_rule(site.rule));
                        }
                        fallback(&site, "the model gave no usable answer")
                    }
                },
                None => fallback(&site, if model.is_some() { "the model is not available" } else { "no model was asked (--llm none)" }),
            }
        };
        let chosen = &site.options[option];
        out.verdicts.push(Verdict {
            rule: site.rule,
            file: site.file.clone(),
            line: site.line,
            option: chosen.id.clone(),
            conservative: option == site.conservative,
            decided_by: decided_by.clone(),
            reason: reason.clone(),
            safety,
        });
        if chosen.edits.is_empty() {
            if safety == Safety::NeedsReview || option == site.conservative {
                out.diagnostics.push(
                    Diagnostic::at(Level::Warning, &site.file, Some(site.line), format!("needs review: {} ({reason})", site.question)).with_rule(site.rule),
                );
            }
            continue;
        }
        let mut edits = chosen.edits.clone();
        edits.sort();
        out.changes.push(Change {
            rule: site.rule,
            reason: format!("{}: {reason}", chosen.id),
            safety,
            decided_by,
            file: site.file.clone(),
            line: site.line,
            cfg: site.cfg,
            edits,
        });
    }
    if let Some(why) = model_down {
        out.diagnostics.push(Diagnostic::general(
            Level::Warning,
            format!("the judge's model could not be used: {why}; the sites it was needed for keep today's behaviour and are marked needs-review"),
        ));
    }
    out
}

fn fallback(site: &Site, why: &str) -> (usize, Decider, String, Safety) {
    (site.conservative, Decider::Rule, format!("{why}: kept today's behaviour"), Safety::NeedsReview)
}

/// Asks the model about a site: the index of the chosen option and the answer.
fn ask(model: &dyn Model, site: &Site) -> Result<(usize, Answer), LlmError> {
    let question = prompt::question(site);
    let answer = llm::ask_with_retry(model, &question)?;
    let index = site.options.iter().position(|o| o.id == answer.option).ok_or_else(|| LlmError::Invalid(answer.option.clone()))?;
    Ok((index, answer))
}
