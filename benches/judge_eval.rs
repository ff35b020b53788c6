//! Measures the judge on its labeled set (`benches/judge-set`): how many sites the
//! heuristics decide and how often right, how many are left to the model and how often it
//! is right, the fallbacks, and the latency per site. Prints Markdown tables.
//!
//! ```text
//! cargo bench --bench judge_eval -- [--llm none|openai] [--llm-url URL] [--model NAME]
//!                                   [--serve] [--timeout SECS] [--details]
//! ```
//!
//! - `--llm none` (the default): heuristics only; the sites they leave get the
//!   conservative option, as `cargo migrate edition --llm none` would give them.
//! - `--llm openai --llm-url URL --model NAME`: the sites the heuristics leave are asked
//!   of the model on an OpenAI-compatible server the user started. No verdict cache: every
//!   question reaches the model, so its latency is measured.
//! - `--serve`: installs (or reuses, see `scripts/setup-llm.sh` and `CARGO_MIGRATE_LLM_DIR`)
//!   llama.cpp's `llama-server` with Qwen2.5-Coder-0.5B-Instruct, serves it on loopback for
//!   the run and stops it at the end; implies `--llm openai`.
//! - `--details`: one row per site as well.
//!
//! The set is copied to a temporary folder and built there with the migration lints (the
//! library's check and compiler phases, as `cargo migrate edition` runs them); each site
//! is matched to its label by file and line. A site without a label, or a label without a
//! site, stops the run.

use std::time::{Duration, Instant};

use cargo_migrate::cargo::build::BuildConfig;
use cargo_migrate::cargo::discover::{Selection, Workspace};
use cargo_migrate::core::model::Site;
use cargo_migrate::engine::walk::CheckOptions;
use cargo_migrate::judge::llm::{LlmError, Model};
use cargo_migrate::judge::openai::OpenAiModel;
use cargo_migrate::judge::{heuristics, prompt};

#[path = "support/judge_set.rs"]
mod judge_set;
#[path = "../tests/support/llama_server.rs"]
mod llama_server;

use judge_set::{Label, SiteKey};

/// Context size of the served model: the judge's prompts (site, enclosing function,
/// `Drop` impls) stay well under it.
const SERVE_CONTEXT: u32 = 4096;

/// The command line.
struct Args {
    /// `none` or `openai`.
    llm: String,
    /// `--llm-url`: the OpenAI-compatible server.
    url: Option<String>,
    /// `--model`: the model's name on the server (with `--serve`, the alias it is served as).
    model: Option<String>,
    /// `--serve`: run the bundled llama-server + 0.5B for the run.
    serve: bool,
    /// `--timeout`: per question.
    timeout: Duration,
    /// `--details`: a row per site.
    details: bool,
}

/// Reads the arguments after `--` (cargo adds `--bench`); an error says what is wrong.
fn parse_args() -> Result<Args, String> {
    let mut args = Args { llm: "none".into(), url: None, model: None, serve: false, timeout: Duration::from_secs(120), details: false };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            // cargo bench passes it to every bench target.
            "--bench" => {}
            "--llm" => args.llm = value("--llm")?,
            "--llm-url" => args.url = Some(value("--llm-url")?),
            "--model" => args.model = Some(value("--model")?),
            "--timeout" => {
                let secs: u64 = value("--timeout")?.parse().map_err(|e| format!("--timeout: {e}"))?;
                args.timeout = Duration::from_secs(secs);
            }
            "--serve" => args.serve = true,
            "--details" => args.details = true,
            "-h" | "--help" => {
                return Err(
                    "usage: cargo bench --bench judge_eval -- [--llm none|openai] [--llm-url URL] [--model NAME] [--serve] [--timeout SECS] [--details]".into(),
                )
            }
            other => return Err(format!("unknown argument `{other}` (see --help)")),
        }
    }
    if args.serve {
        if args.llm == "none" {
            args.llm = "openai".into();
        }
        if args.url.is_some() {
            return Err("--serve starts its own server: do not pass --llm-url".into());
        }
    }
    match args.llm.as_str() {
        "none" if args.url.is_some() || args.model.is_some() => Err("--llm-url and --model need --llm openai".into()),
        "none" => Ok(args),
        "openai" if args.serve => Ok(args),
        "openai" if args.url.is_none() || args.model.is_none() => Err("--llm openai needs --llm-url URL and --model NAME (or --serve)".into()),
        "openai" => Ok(args),
        other => Err(format!("--llm {other}: this benchmark knows `none` and `openai`")),
    }
}

/// How one site was decided.
struct Outcome {
    /// The site's label.
    label: Label,
    /// The site's lint.
    rule: &'static str,
    /// Who decided.
    decided_by: Decider,
    /// The chosen option's id.
    option: String,
    /// Heuristics' time on the site.
    heuristic: Duration,
    /// The model's time, when it was asked.
    model: Option<Duration>,
    /// What cargo fix does: the conservative option.
    conservative: String,
    /// Why the model gave no usable answer.
    failure: Option<String>,
}

/// Who gave a site its verdict.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Decider {
    /// A heuristic.
    Heuristic,
    /// The model.
    Model,
    /// Nobody: the conservative option.
    Fallback,
}

impl Outcome {
    /// Whether the verdict is the labeled option.
    fn right(&self) -> bool {
        self.option == self.label.option
    }
}

fn main() {
    // The compiler phase runs rustc through this very executable (RUSTC_WORKSPACE_WRAPPER).
    if let Some(code) = cargo_migrate::cargo::build::run_as_wrapper_if_asked() {
        std::process::exit(code);
    }
    let args = match parse_args() {
        Ok(args) => args,
        Err(e) => {
            eprintln!("judge_eval: {e}");
            std::process::exit(2);
        }
    };
    if let Err(e) = run(&args) {
        eprintln!("judge_eval: {e}");
        std::process::exit(1);
    }
}

/// Copies and builds the set, judges every site as the tool would (heuristics, then the
/// model, then the conservative option), and prints the report.
fn run(args: &Args) -> Result<(), String> {
    let scratch = tempfile::tempdir().map_err(|e| e.to_string())?;
    let root = scratch.path().join("judge-set");
    judge_set::copy_set(&root).map_err(|e| format!("cannot copy the set: {e}"))?;
    let labels = judge_set::labels(&root)?;

    let started = Instant::now();
    let (sites, files) = collect_sites(&root)?;
    eprintln!("judge_eval: {} sites from the compiler in {:.1?}", sites.len(), started.elapsed());
    let matched = judge_set::match_labels(&labels, sites, |s: &Site| SiteKey { rule: s.rule.to_string(), file: s.file.clone(), line: s.line })?;

    // The model, if any; `--serve` keeps the server alive until the end of the run.
    let mut server = None;
    let model: Option<OpenAiModel> = match args.llm.as_str() {
        "openai" => {
            let (url, name) = if args.serve {
                let (bin, gguf) = llama_server::install();
                let name = args.model.clone().unwrap_or_else(|| llama_server::ALIAS.to_string());
                let s = llama_server::start(&bin, &gguf, &name, SERVE_CONTEXT, scratch.path());
                let url = s.url();
                server = Some(s);
                (url, name)
            } else {
                (args.url.clone().unwrap(), args.model.clone().unwrap())
            };
            Some(OpenAiModel::new(&url, &name, args.timeout).map_err(|e| e.to_string())?)
        }
        _ => None,
    };

    let mut outcomes = Vec::new();
    for (label, mut site) in matched {
        prompt::add_context(&mut site, &files);
        let conservative = site.options[site.conservative].id.clone();
        let t = Instant::now();
        let decision = heuristics::decide(&site, &files);
        let heuristic = t.elapsed();
        let mut outcome = Outcome {
            label,
            rule: site.rule,
            decided_by: Decider::Fallback,
            option: conservative.clone(),
            heuristic,
            model: None,
            conservative,
            failure: None,
        };
        if let Some(d) = decision {
            outcome.decided_by = Decider::Heuristic;
            outcome.option = site.options[d.option].id.clone();
        } else if let Some(m) = &model {
            let t = Instant::now();
            let answer = cargo_migrate::judge::ask_model(m, &site, &files, None);
            outcome.model = Some(t.elapsed());
            match answer {
                Ok((_, a)) => {
                    outcome.decided_by = Decider::Model;
                    outcome.option = a.option;
                }
                Err(e) if e.is_fatal_for_run() => {
                    let log = server.as_ref().map(|s: &llama_server::Server| s.log()).unwrap_or_default();
                    return Err(format!("the model cannot be used ({e}); nothing measured\n{log}"));
                }
                Err(e) => outcome.failure = Some(describe(&e)),
            }
        }
        outcomes.push(outcome);
    }
    if let Some(mut s) = server {
        s.stop();
    }

    let model_name = model.as_ref().map(|m| m.name());
    print_report(&outcomes, model_name.as_deref(), args.details);
    Ok(())
}

/// The first line of a model error.
fn describe(e: &LlmError) -> String {
    e.to_string().lines().next().unwrap_or_default().to_string()
}

/// Runs the library's check and compiler phases on the set at `root` and returns its
/// judgement sites and files.
fn collect_sites(root: &std::path::Path) -> Result<(Vec<Site>, std::collections::BTreeMap<String, cargo_migrate::core::text::SourceFile>), String> {
    let sel = Selection { manifest_path: Some(root.join("Cargo.toml")), ..Selection::default() };
    let ws = Workspace::discover(&sel).map_err(|e| format!("{e:#}"))?;
    // The compiler's sites, and those of the one edition rule that makes judge sites.
    let guards = cargo_migrate::rules::find("if-let-guard-method").expect("a rule of the edition");
    let opts = CheckOptions::new(vec![guards], cargo_migrate::core::edition::Edition::E2024);
    let (sites, files, diagnostics) = cargo_migrate::engine::pipeline::judgement_sites(&ws, &opts, &BuildConfig::default());
    if sites.is_empty() {
        let said: Vec<String> = diagnostics.iter().map(|d| d.message.clone()).collect();
        return Err(format!("the compiler phase reported no site; it said:\n{}", said.join("\n")));
    }
    Ok((sites, files))
}

/// A lint's name as a table row's title.
fn kind(rule: &str) -> &'static str {
    match rule {
        "if_let_rescope" => "`if_let_rescope`",
        "if-let-guard-method" => "`if-let-guard-method`",
        _ => "`tail_expr_drop_order`",
    }
}

/// The `p`th percentile (nearest rank) of `values`.
fn percentile(mut values: Vec<Duration>, p: f64) -> Option<Duration> {
    if values.is_empty() {
        return None;
    }
    values.sort();
    let rank = ((p / 100.0) * values.len() as f64).ceil() as usize;
    Some(values[rank.clamp(1, values.len()) - 1])
}

/// `right/of (pct%)`, or `—` when there is nothing to count.
fn ratio(right: usize, of: usize) -> String {
    if of == 0 {
        "—".into()
    } else {
        format!("{right}/{of} ({:.0}%)", 100.0 * right as f64 / of as f64)
    }
}

/// Prints the summary table (per lint and overall), the sites decided wrong and, with
/// `details`, every site.
fn print_report(outcomes: &[Outcome], model: Option<&str>, details: bool) {
    let with_model = model.is_some();
    println!("## Judge accuracy on benches/judge-set ({} sites)\n", outcomes.len());
    match model {
        Some(m) => println!("Heuristics, then the model `{m}` for the sites they leave, then the conservative option if the model gives no usable answer.\n"),
        None => println!("Heuristics only (`--llm none`): the sites they leave get the conservative option.\n"),
    }
    println!(
        "| sites | n | decided by heuristics | heuristics right | left to the model | model right (on those) | {} | fallbacks | cargo fix right (always conservative) | heuristics µs p50 / p95 | model s p50 / p95 |",
        if with_model { "right, all sites (heuristics + model + fallback)" } else { "right, all sites (heuristics + fallback)" }
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    let rows: Vec<(&str, Vec<&Outcome>)> = vec![
        (kind("if_let_rescope"), outcomes.iter().filter(|o| o.rule == "if_let_rescope").collect()),
        (kind("if-let-guard-method"), outcomes.iter().filter(|o| o.rule == "if-let-guard-method").collect()),
        (kind("tail_expr_drop_order"), outcomes.iter().filter(|o| o.rule == "tail_expr_drop_order").collect()),
        ("all", outcomes.iter().collect()),
    ];
    for (name, os) in rows {
        let n = os.len();
        let by_h: Vec<_> = os.iter().filter(|o| o.decided_by == Decider::Heuristic).collect();
        let left = n - by_h.len();
        let model_right = os.iter().filter(|o| o.decided_by == Decider::Model && o.right()).count();
        let fallbacks = os.iter().filter(|o| o.decided_by == Decider::Fallback).count();
        let h_lat = |p| percentile(os.iter().map(|o| o.heuristic).collect(), p).map_or("—".into(), |d| format!("{:.0}", d.as_secs_f64() * 1e6));
        let m_times: Vec<Duration> = os.iter().filter_map(|o| o.model).collect();
        let m_lat = |p| percentile(m_times.clone(), p).map_or("—".into(), |d| format!("{:.1}", d.as_secs_f64()));
        println!(
            "| {name} | {n} | {} ({:.0}%) | {} | {left} | {} | {} | {fallbacks} | {} | {} / {} | {} |",
            by_h.len(),
            if n == 0 { 0.0 } else { 100.0 * by_h.len() as f64 / n as f64 },
            ratio(by_h.iter().filter(|o| o.right()).count(), by_h.len()),
            if with_model { ratio(model_right, left) } else { "—".into() },
            ratio(os.iter().filter(|o| o.right()).count(), n),
            ratio(os.iter().filter(|o| o.conservative == o.label.option).count(), n),
            h_lat(50.0),
            h_lat(95.0),
            if m_times.is_empty() { "—".into() } else { format!("{} / {}", m_lat(50.0), m_lat(95.0)) },
        );
    }
    let wrong: Vec<&Outcome> = outcomes.iter().filter(|o| !o.right()).collect();
    println!("\n### Sites decided wrong ({})\n", wrong.len());
    if !wrong.is_empty() {
        print_rows(&wrong);
    }
    if details {
        println!("\n### Every site\n");
        print_rows(&outcomes.iter().collect::<Vec<_>>());
    }
}

/// One table row per site.
fn print_rows(rows: &[&Outcome]) {
    println!("| site | label | decided by | verdict | right | note |");
    println!("|---|---|---|---|---|---|");
    for o in rows {
        let by = match o.decided_by {
            Decider::Heuristic => "heuristics",
            Decider::Model => "model",
            Decider::Fallback => "fallback",
        };
        let note = match (&o.failure, o.model) {
            (Some(f), _) => f.replace('|', "\\|"),
            (None, Some(t)) => format!("{:.1} s", t.as_secs_f64()),
            (None, None) => String::new(),
        };
        println!("| {}:{} | {} | {by} | {} | {} | {note} |", o.label.file, o.label.line, o.label.option, o.option, if o.right() { "yes" } else { "**no**" });
    }
}
