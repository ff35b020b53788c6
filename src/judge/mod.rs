//! The judge: decides the sites where the right rewrite depends on intent.
//!
//! Decision chain, per site: heuristics ([`heuristics`]) → the verdict cache
//! ([`cache`]) → a local model ([`llm`]: [`ollama`] or any OpenAI-compatible server,
//! [`openai`]), whose answer must be one of the site's option ids → the conservative
//! option, marked needs-review. Every verdict says who decided and why; a verdict whose option edits the
//! code becomes a [`Change`].

pub mod cache;
pub mod config;
pub mod heuristics;
mod http;
pub mod llm;
pub mod ollama;
pub mod openai;
pub mod prompt;
pub mod repair;

use std::collections::BTreeMap;

use crate::core::model::{Change, Decider, Diagnostic, Level, Safety, Site, Verdict};
use crate::core::text::SourceFile;
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

/// Decides every site. `model` is asked only when no heuristic settles a site and the
/// cache has no verdict for it; after an error that will not go away (no server, no
/// model), it is not asked again in this run. Valid answers are cached.
pub fn judge(sites: Vec<Site>, files: &BTreeMap<String, SourceFile>, model: Option<&dyn Model>, cache: Option<&cache::VerdictCache>) -> Judged {
    let mut out = Judged::default();
    let mut model_down: Option<String> = None;
    for mut site in sites {
        prompt::add_context(&mut site, files);
        let (option, decided_by, reason, safety) = if let Some(d) = heuristics::decide(&site, files) {
            (d.option, Decider::Heuristic, d.reason, Safety::Judged)
        } else {
            match model.filter(|_| model_down.is_none()) {
                Some(m) => match ask_model(m, &site, files, cache) {
                    Ok((index, answer)) => (index, Decider::Llm(m.name()), answer.reason, Safety::Judged),
                    Err(e) => {
                        if e.is_fatal_for_run() {
                            let hint = match e {
                                LlmError::Unreachable { .. } => format!(
                                    " (is the server running? For Ollama: `ollama serve`, then `ollama pull {}`; or pick another with --llm/--llm-url, or --llm none)",
                                    m.name()
                                ),
                                _ => String::new(),
                            };
                            model_down = Some(format!("{e}{hint}"));
                        } else {
                            out.diagnostics.push(
                                Diagnostic::at(
                                    Level::Warning,
                                    &site.file,
                                    Some(site.line),
                                    format!("the model gave no usable answer ({e}); kept today's behaviour"),
                                )
                                .with_rule(site.rule),
                            );
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
        // A pack's choice carries its question (the rule's message) in the reason, with
        // the option taken and what it means.
        let reason = match site.evidence {
            crate::core::model::Evidence::None => format!("{} → `{}` ({}): {reason}", site.question, chosen.id, chosen.when),
            _ => format!("{}: {reason}", chosen.id),
        };
        out.changes.push(Change { rule: site.rule, reason, safety, decided_by, file: site.file.clone(), line: site.line, cfg: site.cfg, edits });
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

/// How many times a model may ask for more context before it must answer.
pub const MAX_QUERY_ROUNDS: usize = 2;

/// Asks the model about a site (or finds its verdict in the cache): the index of the
/// chosen option and the answer. Besides the options, the model may pick a read-only
/// query ([`prompt::Query`]); the judge answers it from the workspace and asks again, at
/// most [`MAX_QUERY_ROUNDS`] times. The verdict is cached under the first question.
pub fn ask_model(
    model: &dyn Model,
    site: &Site,
    files: &BTreeMap<String, SourceFile>,
    cache: Option<&cache::VerdictCache>,
) -> Result<(usize, Answer), LlmError> {
    let mut queries = prompt::queries_for(site);
    let first = prompt::question(site, &[], &queries);
    let key = cache::VerdictKey::for_question(&model.name(), &first);
    let answer = match cache.and_then(|c| c.get(&key)) {
        Some(answer) => answer,
        None => {
            let mut question = first;
            let mut found: Vec<(prompt::Query, String)> = Vec::new();
            let answer = loop {
                let answer = llm::ask_with_retry(model, &question)?;
                let Some(query) = prompt::Query::from_id(&answer.option) else { break answer };
                queries.retain(|q| *q != query);
                let result = prompt::answer_query(site, query, files);
                tracing::info!("the model asked `{}` about {}:{}", query.id(), site.file, site.line);
                found.push((query, result));
                let rounds_left = if found.len() >= MAX_QUERY_ROUNDS { Vec::new() } else { queries.clone() };
                question = prompt::question(site, &found, &rounds_left);
            };
            if let Some(c) = cache {
                if let Err(e) = c.put(&key, &model.name(), &answer) {
                    tracing::warn!("verdict not cached: {e}");
                }
            }
            answer
        }
    };
    let index = site.options.iter().position(|o| o.id == answer.option).ok_or_else(|| LlmError::Invalid(answer.option.clone()))?;
    Ok((index, answer))
}
