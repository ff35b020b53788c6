//! The judge: decides the sites where the right rewrite depends on intent.
//!
//! Decision chain, per site: heuristics ([`heuristics`]) → the verdict cache
//! ([`cache`]) → a local model ([`llm`]: [`ollama`] or any OpenAI-compatible server,
//! [`openai`]), whose answer must be one of the site's option ids → the conservative
//! option, marked needs-review. Every verdict says who decided and why; a verdict whose option edits the
//! code becomes a [`Change`].

pub mod cache;
pub mod config;
pub mod explain;
mod facts;
pub mod heuristics;
mod http;
pub mod llm;
pub mod ollama;
pub mod openai;
pub mod prompt;
pub mod repair;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::core::model::{Change, Decider, Diagnostic, Level, Safety, Site, Unchanged, UnchangedReason, Verdict};
use crate::core::text::SourceFile;
use llm::{Answer, LlmError, Model};

/// What judging a set of sites produced.
#[derive(Debug, Default)]
pub struct Judged {
    /// Changes of the chosen options that edit code.
    pub changes: Vec<Change>,
    /// One verdict per site.
    pub verdicts: Vec<Verdict>,
    /// Warnings: a model that could not be asked.
    pub diagnostics: Vec<Diagnostic>,
    /// The sites, one per verdict, with the context added for the judge.
    pub sites: Vec<Site>,
    /// Sites whose chosen option edits nothing: judged to keep, or kept for review.
    pub unchanged: Vec<Unchanged>,
}

/// Where the judge is, told before each site it decides (for a progress display; the
/// judge prints nothing itself).
#[derive(Clone, Debug, PartialEq)]
pub struct JudgeProgress {
    /// Sites decided so far.
    pub done: usize,
    /// Sites in all.
    pub total: usize,
    /// The model, if one may be asked in this run.
    pub model: Option<String>,
    /// Questions put to the model so far (cached answers included).
    pub asked: usize,
    /// The model's mean time per question so far, once it has answered one.
    pub per_site: Option<Duration>,
}

impl JudgeProgress {
    /// One line: `asking qwen2.5:0.5b: 3/12 sites, 4.1 s/site`, or `3/12 sites` without a
    /// model.
    pub fn line(&self) -> String {
        let count = format!("{}/{} sites", self.done, self.total);
        match (&self.model, self.per_site) {
            (Some(m), Some(t)) => format!("asking {m}: {count}, {:.1} s/site", t.as_secs_f64()),
            (Some(m), None) => format!("asking {m}: {count}"),
            (None, _) => count,
        }
    }
}

/// The most time one run waits for the model, all questions together, unless the
/// environment variable [`MODEL_BUDGET_ENV`] gives another number of seconds. Sites
/// reached after it is spent are not asked: they keep today's behaviour, marked
/// needs-review (answers already given are cached, so a new run asks only the rest). A
/// question under way when the budget runs out is not cut short: the budget can be
/// exceeded by at most one answer's timeout (`--llm-timeout`).
pub const DEFAULT_MODEL_BUDGET: Duration = Duration::from_secs(300);

/// The environment variable overriding [`DEFAULT_MODEL_BUDGET`], in seconds.
pub const MODEL_BUDGET_ENV: &str = "CARGO_MIGRATE_LLM_BUDGET";

/// The model's time budget for this run: [`MODEL_BUDGET_ENV`] if it holds a number of
/// seconds, else [`DEFAULT_MODEL_BUDGET`].
pub fn model_budget() -> Duration {
    match std::env::var(MODEL_BUDGET_ENV) {
        Ok(v) => match v.trim().parse::<f64>() {
            Ok(secs) if secs.is_finite() && secs >= 0.0 => Duration::from_secs_f64(secs),
            _ => {
                tracing::warn!("{MODEL_BUDGET_ENV}=`{v}` is not a number of seconds; using {}s", DEFAULT_MODEL_BUDGET.as_secs());
                DEFAULT_MODEL_BUDGET
            }
        },
        Err(_) => DEFAULT_MODEL_BUDGET,
    }
}

/// Why the model is no longer asked in this run (a circuit breaker: once open, it stays
/// open until the run ends).
enum Breaker {
    /// The model can be asked.
    Closed,
    /// An error that will not go away (no server, no model, a bad configuration): what
    /// happened, and what the user can do.
    Down { why: String, hint: String },
    /// The model did not answer within the per-question timeout: a server that accepts
    /// and never answers would cost the timeout again for every site.
    Silent(Duration),
    /// The run's time budget for the model is spent.
    OutOfTime,
}

impl Breaker {
    /// The reason given to each site that falls back because of it.
    fn site_reason(&self) -> &'static str {
        match self {
            Breaker::Closed => "the model gave no usable answer",
            Breaker::Down { .. } => "the model is not available",
            Breaker::Silent(_) => "the model did not answer in time",
            Breaker::OutOfTime => "the model's time budget for this run is spent",
        }
    }
}

/// Decides every site. `model` is asked only when no heuristic settles a site and the
/// cache has no verdict for it, within the run's time budget ([`model_budget`]); after an
/// error that will not go away (no server, no model) or a question that timed out, it is
/// not asked again in this run. Valid answers are cached.
pub fn judge(sites: Vec<Site>, files: &BTreeMap<String, SourceFile>, model: Option<&dyn Model>, cache: Option<&cache::VerdictCache>) -> Judged {
    judge_within(sites, files, model, cache, model_budget(), &|_| {})
}

/// [`judge`], telling `progress` where it is before each site.
pub fn judge_with_progress(
    sites: Vec<Site>,
    files: &BTreeMap<String, SourceFile>,
    model: Option<&dyn Model>,
    cache: Option<&cache::VerdictCache>,
    progress: &dyn Fn(&JudgeProgress),
) -> Judged {
    judge_within(sites, files, model, cache, model_budget(), progress)
}

/// [`judge`] with an explicit time budget for the model's questions. When the model stops
/// being asked, one warning says why and how many sites it leaves for review.
pub fn judge_within(
    sites: Vec<Site>,
    files: &BTreeMap<String, SourceFile>,
    model: Option<&dyn Model>,
    cache: Option<&cache::VerdictCache>,
    budget: Duration,
    progress: &dyn Fn(&JudgeProgress),
) -> Judged {
    let mut out = Judged::default();
    let mut breaker = Breaker::Closed;
    let mut spent = Duration::ZERO;
    // Sites that fell back because the breaker is open.
    let mut unasked = 0usize;
    let total = sites.len();
    let mut asked = 0usize;
    facts::prefetch(&sites, files);
    for (done, mut site) in sites.into_iter().enumerate() {
        progress(&JudgeProgress {
            done,
            total,
            model: model.filter(|_| matches!(breaker, Breaker::Closed)).map(|m| m.name()),
            asked,
            per_site: (asked > 0).then(|| spent / asked as u32),
        });
        prompt::add_context(&mut site, files);
        let (option, decided_by, reason, safety) = if let Some(d) = heuristics::decide(&site, files) {
            // A shim is the pack's code added to the crate: for review, whoever chose it.
            let safety = if matches!(site.evidence, crate::core::model::Evidence::ReExport { .. }) { Safety::NeedsReview } else { Safety::Judged };
            (d.option, Decider::Heuristic, d.reason, safety)
        } else if let Some(m) = model {
            if matches!(breaker, Breaker::Closed) && spent >= budget {
                breaker = Breaker::OutOfTime;
            }
            if !matches!(breaker, Breaker::Closed) {
                unasked += 1;
                fallback(&site, breaker.site_reason())
            } else {
                let started = Instant::now();
                let answer = ask_model(m, &site, files, cache);
                spent += started.elapsed();
                asked += 1;
                match answer {
                    Ok((index, answer)) => match prompt::site_instructions(&site).first() {
                        // The code may have steered the answer: the verdict stands, for review.
                        Some(line) => (
                            index,
                            Decider::Llm(m.name()),
                            format!("{} (the code holds text that reads like an instruction to the model, `{line}`: review this verdict)", answer.reason),
                            Safety::NeedsReview,
                        ),
                        None => (index, Decider::Llm(m.name()), answer.reason, Safety::Judged),
                    },
                    Err(e) if e.is_fatal_for_run() => {
                        let hint = match e {
                            LlmError::Unreachable { .. } => m.unreachable_hint(),
                            _ => "or pass --llm none".to_string(),
                        };
                        breaker = Breaker::Down { why: e.to_string(), hint };
                        unasked += 1;
                        fallback(&site, breaker.site_reason())
                    }
                    Err(LlmError::Timeout(limit)) => {
                        breaker = Breaker::Silent(limit);
                        unasked += 1;
                        fallback(&site, breaker.site_reason())
                    }
                    Err(e) => {
                        out.diagnostics.push(
                            Diagnostic::at(
                                Level::Warning,
                                &site.file,
                                Some(site.line),
                                format!("the model gave no usable answer ({e}); kept today's behaviour"),
                            )
                            .with_rule(site.rule),
                        );
                        fallback(&site, "the model gave no usable answer")
                    }
                }
            }
        } else {
            fallback(&site, "no model was asked (--llm none)")
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
        out.sites.push(site.clone());
        if chosen.edits.is_empty() {
            // Kept as it is: for review when the judge could not settle it (a fallback, or
            // the conservative option a heuristic takes when the order is observable).
            let why = if safety == Safety::NeedsReview || option == site.conservative { UnchangedReason::NeedsReview } else { UnchangedReason::JudgedToKeep };
            let detail = match why {
                UnchangedReason::NeedsReview => format!("`{}` by {decided_by}: {} ({reason})", chosen.id, site.question),
                _ => format!("`{}` by {decided_by}: {reason}", chosen.id),
            };
            // A call kept on a receiver whose type a cfg decides: which cfg, and where.
            let detail = match &site.evidence {
                crate::core::model::Evidence::CfgDependent { why: cfg, .. } if why != UnchangedReason::NeedsReview => format!("{detail} ({cfg})"),
                _ => detail,
            };
            out.unchanged.push(Unchanged { decided_by: Some(decided_by.clone()), ..Unchanged::at(site.rule, &site.file, Some(site.line), why, detail) });
            continue;
        }
        let mut edits = chosen.edits.clone();
        edits.sort();
        // A pack's choice carries its question (the rule's message) in the reason, with
        // the option taken and what it means.
        let reason = match site.evidence {
            crate::core::model::Evidence::None | crate::core::model::Evidence::ReExport { .. } | crate::core::model::Evidence::CfgDependent { .. } => {
                format!("{} → `{}` ({}): {reason}", site.question, chosen.id, chosen.when)
            }
            _ => format!("{}: {reason}", chosen.id),
        };
        out.changes.push(Change { rule: site.rule, reason, safety, decided_by, file: site.file.clone(), line: site.line, cfg: site.cfg, edits });
    }
    let sites = match unasked {
        1 => "1 site keeps".to_string(),
        n => format!("{n} sites keep"),
    };
    let message = match breaker {
        Breaker::Closed => None,
        Breaker::Down { why, hint } => Some(format!("the judge's model is not available: {why}; {sites} today's behaviour, marked needs-review ({hint})")),
        Breaker::Silent(limit) => Some(format!(
            "the judge's model did not answer within {}s and is not asked again in this run: {sites} today's behaviour, marked needs-review (raise --llm-timeout, or pass --llm none)",
            limit.as_secs_f64()
        )),
        Breaker::OutOfTime => Some(format!(
            "the judge's model used this run's time budget ({}s, set {MODEL_BUDGET_ENV}=SECS to change it): {sites} today's behaviour without being asked, marked needs-review (answers are cached: a new run asks only the rest)",
            budget.as_secs_f64()
        )),
    };
    if let Some(message) = message {
        out.diagnostics.push(Diagnostic::general(Level::Warning, message));
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
