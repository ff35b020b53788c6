//! The command line as glue: parse (clap, [`args`]), turn flags into requests once
//! ([`config`]), run an operation ([`crate::ops`]), render its outcome ([`render`]) and
//! choose the exit status. Nothing here migrates anything.

mod args;
mod config;
mod render;
mod review;
mod sweep;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Parser;

use crate::core::migration::Migration;
use crate::emit::Summary;
use crate::ops::{edition, upgrade, WriteMode};
use crate::rules;
use args::{Cargo, ColorChoice, Command, EditionArgs, ExplainArgs, MigrateCli, OutputArgs, PackCommand, UpgradeArgs};
use render::{print_error, print_findings, report_finished, stderr, write_output, Spinner, ERR, NOTE};

/// Exit status: success, and nothing left to migrate when `--check` is given.
const OK: u8 = 0;
/// Exit status: `--check` found changes to make.
const CHANGES_REMAIN: u8 = 1;
/// Exit status: an error (bad arguments, a file that could not be processed, ...).
const ERROR: u8 = 2;

/// Entry point of the binary: parses `std::env::args` and runs.
pub fn main() -> ExitCode {
    let mut args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    // `cargo migrate x` runs `cargo-migrate migrate x`; `cargo-migrate x` works too.
    if args.get(1).is_none_or(|a| a != "migrate") {
        args.insert(1, "migrate".into());
    }
    let Cargo::Migrate(cli) = Cargo::parse_from(args);
    ExitCode::from(run(cli))
}

fn run(cli: MigrateCli) -> u8 {
    match cli.command {
        Command::Rules => {
            let mut out = anstream::stdout();
            let _ = writeln!(out, "Rules (syntactic, every file and cfg):");
            for rule in rules::edition_2024() {
                let m = rule.meta();
                let _ = writeln!(out, "  {:<22} {:<13} {}", m.id, m.safety.label(), m.summary);
            }
            let _ = writeln!(out, "\nCompiler lints (cargo check, the configuration it builds), by edition step:");
            for step in crate::core::edition::STEPS {
                let _ = writeln!(out, "  {step} ({}):", step.lint_group);
                for lint in crate::engine::compiler::LINTS.iter().filter(|l| l.edition == step.to) {
                    let _ = writeln!(out, "    {:<46} {}", lint.name, lint.treatment);
                }
            }
            OK
        }
        Command::Explain(args) => match &args.rule {
            Some(rule) => match crate::ops::explain::rule_doc(rule) {
                Some(doc) => {
                    print!("{doc}");
                    OK
                }
                None => {
                    eprintln!("error: no rule `{rule}`; `cargo migrate rules` lists them, `cargo migrate pack list` the packs");
                    ERROR
                }
            },
            None => or_error(args.color, explain_command(&args)),
        },
        Command::Upgrade(args) => or_error(args.out.color, upgrade_command(&args)),
        Command::Pack { command } => pack_command(command),
        Command::Sweep(args) => {
            let color = match &args.command {
                Some(args::SweepCommand::Merge { color, .. }) => *color,
                None => args.color,
            };
            or_error(color, sweep::sweep_command(&args))
        }
        Command::SweepWorker { job } => sweep::worker_command(&job),
        Command::Edition(args) => or_error(args.out.color, edition_command(&args)),
    }
}

/// The status of a command, or its error printed and status 2.
fn or_error(color: ColorChoice, result: Result<u8>) -> u8 {
    result.unwrap_or_else(|e| {
        print_error(color, &format!("{e:#}"));
        ERROR
    })
}

fn init_logging(quiet: bool, verbose: u8) {
    use tracing_subscriber::filter::Targets;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;

    let level = match (quiet, verbose) {
        (true, _) => "error",
        (_, 0) => "warn",
        (_, 1) => "info",
        _ => "debug",
    };
    // `CARGO_MIGRATE_LOG` takes `target=level` directives and a bare default level
    // (`debug`, `cargo_migrate=debug,hyper=warn`): tracing-subscriber's `Targets`, which
    // needs no regex engine (its `EnvFilter` would build three more crates; span and field
    // directives are all it adds). A value that does not parse is ignored, as before.
    let from_env = std::env::var("CARGO_MIGRATE_LOG").ok().and_then(|v| v.parse::<Targets>().ok());
    let filter = from_env.unwrap_or_else(|| level.parse().expect("a level name parses"));
    let _ = tracing_subscriber::registry().with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr).without_time()).with(filter).try_init();
}

/// Process-wide settings of a migrating command: logging and the thread count.
fn setup(out: &OutputArgs, jobs: Option<usize>) -> Result<()> {
    init_logging(out.quiet, out.verbose);
    thread_pool(jobs)
}

/// The workers that check files: `jobs` of them (default: one per CPU), each with
/// [`crate::engine::walk::WORKER_STACK`] (Rust's default stack overflows on deep nesting).
fn thread_pool(jobs: Option<usize>) -> Result<()> {
    let pool = rayon::ThreadPoolBuilder::new().stack_size(crate::engine::walk::WORKER_STACK);
    let pool = match jobs {
        Some(jobs) => pool.num_threads(jobs.max(1)),
        None => pool,
    };
    pool.build_global().context("cannot set the thread count")
}

/// The summary line; with errors and no change, it says there is nothing to write rather
/// than nothing to do (a package may have been held back).
fn summary_line(m: &Migration) -> String {
    let summary = Summary::of(m);
    if summary.changes == 0 && m.has_errors() {
        format!("nothing to write, see the errors above ({} files, {} lines checked)", summary.files_read, summary.lines_read)
    } else {
        summary.line()
    }
}

/// The exit status of a migration run: an error in the migration (a file that could
/// not be processed) or in writing wins; `--check` fails when changes remain.
fn status(m: &Migration, write: &WriteMode, finished_ok: bool) -> u8 {
    if m.has_errors() || !finished_ok {
        ERROR
    } else if *write == WriteMode::Check && Summary::of(m).changes > 0 {
        CHANGES_REMAIN
    } else {
        OK
    }
}

fn edition_command(args: &EditionArgs) -> Result<u8> {
    if args.write.interactive {
        review::require_terminal()?;
    }
    setup(&args.out, args.jobs)?;
    let started = Instant::now();
    let request = args.request()?;
    let spinner = Spinner::new(args.out.quiet, args.out.color);
    let terminal =
        review::Terminal { color: args.out.color, spinner: &spinner, explainer: explainer(&request.selection, &request.judge, args.write.interactive) };
    let outcome = edition::run_with_review(&request, &spinner, args.write.interactive.then_some(&terminal as &dyn crate::ops::review::Reviewer));
    spinner.finish();
    let outcome = outcome?;
    let mut err = stderr(args.out.color);
    let m = &outcome.migration;
    write_output(m, args.out.format, request.write != WriteMode::DryRun, args.out.color)?;
    print_findings(&mut err, m, args.out.quiet);
    if !args.out.quiet {
        let _ = writeln!(err, "{}Summary{}: {} in {:.2}s", NOTE.render(), NOTE.render_reset(), summary_line(m), started.elapsed().as_secs_f64());
    }
    let finished_ok = outcome.finished.as_ref().is_none_or(|f| report_finished(&mut err, m, f, args.out.quiet));
    Ok(status(m, &request.write, finished_ok))
}

/// What the review's `?` asks: the model of `--llm`, its answers cached in the
/// workspace's target directory (found only when there is a review).
fn explainer(selection: &crate::cargo::discover::Selection, judge: &crate::judge::config::ModelConfig, review: bool) -> crate::ops::explain::Explainer {
    let target_dir = review.then(|| crate::cargo::discover::Workspace::discover(selection).ok()).flatten().map(|w| w.target_dir);
    crate::ops::explain::Explainer::new(judge.clone(), &target_dir.unwrap_or_else(|| PathBuf::from("target")))
}

/// `explain --at FILE:LINE`: the change or site there, explained for this code.
fn explain_command(args: &ExplainArgs) -> Result<u8> {
    init_logging(false, 0);
    thread_pool(None)?;
    let at = args.at.as_deref().unwrap_or_default();
    let (file, line) = at
        .rsplit_once(':')
        .and_then(|(f, l)| Some((f.to_string(), l.parse::<usize>().ok().filter(|&l| l > 0)?)))
        .ok_or_else(|| anyhow::anyhow!("--at takes FILE:LINE with a line number from 1 (`src/lib.rs:42`), not `{at}`"))?;
    let migrate = match &args.upgrade {
        Some(spec) => {
            let (krate, target) = upgrade::parse_spec(spec)?;
            crate::ops::explain::Migrate::Upgrade(upgrade::Request {
                krate: Some(krate),
                target,
                packs: args.packs.clone(),
                selection: args.select.selection(),
                build: args.build.config(),
                compiler: !args.build.no_compiler,
                judge: args.llm.model_config(),
                write: WriteMode::DryRun,
                repair: false,
                all_or_nothing: false,
            })
        }
        None => {
            let mut request = edition::Request::new(args.select.selection());
            request.build = args.build.config();
            request.compiler = !args.build.no_compiler;
            request.judge = args.llm.model_config();
            crate::ops::explain::Migrate::Edition(request)
        }
    };
    let spinner = Spinner::new(false, args.color);
    let outcome = crate::ops::explain::run(crate::ops::explain::Request { migrate, file: file.clone(), line }, &spinner);
    spinner.finish();
    let outcome = outcome?;
    if outcome.found.is_empty() {
        let mut err = stderr(args.color);
        let _ = writeln!(
            err,
            "{}error{}: nothing to explain at {file}:{line}: no change, judge site or message of this migration is on that line",
            ERR.render(),
            ERR.render_reset()
        );
        if outcome.elsewhere.is_empty() {
            let _ = writeln!(err, "  (the migration has nothing in {file}: is the path relative to the workspace root?)");
        } else {
            let lines: Vec<String> = outcome.elsewhere.iter().map(|(l, what)| format!("{file}:{l} {what}")).collect();
            let _ = writeln!(err, "  lines of {file} that have something:\n    {}", lines.join("\n    "));
        }
        return Ok(ERROR);
    }
    crate::emit::write_explanations(&outcome.found, &mut anstream::stdout())?;
    Ok(OK)
}

fn upgrade_command(args: &UpgradeArgs) -> Result<u8> {
    if args.write.interactive {
        review::require_terminal()?;
    }
    setup(&args.out, None)?;
    let started = Instant::now();
    let (krate, target) = match &args.spec {
        Some(spec) => {
            let (k, t) = upgrade::parse_spec(spec)?;
            (Some(k), t)
        }
        None if args.packs.is_empty() => return list_upgradable(args, &mut stderr(args.out.color)),
        None => (None, None),
    };
    let request = args.request(krate, target);
    let spinner = Spinner::new(args.out.quiet, args.out.color);
    let terminal =
        review::Terminal { color: args.out.color, spinner: &spinner, explainer: explainer(&request.selection, &request.judge, args.write.interactive) };
    let outcome = upgrade::run_with_review(&request, &spinner, args.write.interactive.then_some(&terminal as &dyn crate::ops::review::Reviewer));
    spinner.finish();
    let outcome = outcome?;
    let up = &outcome.upgrade;
    let mut err = stderr(args.out.color);
    if !args.out.quiet {
        for u in &up.usages {
            let _ = writeln!(err, "{}Found{} {} {}", NOTE.render(), NOTE.render_reset(), up.krate, u.describe(&up.krate));
        }
        for s in &up.steps {
            let _ = writeln!(err, "{}Pack{} {}", NOTE.render(), NOTE.render_reset(), s.describe());
        }
    }
    let m = &up.migration;
    write_output(m, args.out.format, request.write != WriteMode::DryRun, args.out.color)?;
    print_findings(&mut err, m, args.out.quiet);
    if !args.out.quiet {
        let rounds = up
            .compiler_rounds
            .map(|r| match &up.build_failure {
                // Not "0 messages left": nothing is known of what the build did not reach.
                Some(_) => format!(
                    "; compiler phase: {r} cargo check round(s), the upgraded workspace did not build (see the warning): what is left of {} is not known",
                    up.krate
                ),
                None => format!("; compiler phase: {r} cargo check round(s), {} message(s) about {} left", up.remaining.len(), up.krate),
            })
            .unwrap_or_default();
        let _ = writeln!(
            err,
            "{}Summary{}: {} → {}: {}{rounds} in {:.2}s",
            NOTE.render(),
            NOTE.render_reset(),
            up.krate,
            up.target,
            summary_line(m),
            started.elapsed().as_secs_f64()
        );
    }
    let finished_ok = outcome.finished.as_ref().is_none_or(|f| report_finished(&mut err, m, f, args.out.quiet));
    if args.explain_left {
        let spinner = Spinner::new(args.out.quiet, args.out.color);
        let found = crate::ops::explain::left(&outcome, &request.judge, &up.workspace.root, &spinner);
        spinner.finish();
        if found.is_empty() {
            let _ = writeln!(err, "{}Explained{}: nothing is left to explain", NOTE.render(), NOTE.render_reset());
        } else {
            let _ = writeln!(err, "{}Explained{}: {} message(s) left by the upgrade", NOTE.render(), NOTE.render_reset(), found.len());
            crate::emit::write_explanations(&found, &mut err)?;
        }
    }
    Ok(status(m, &request.write, finished_ok))
}

/// `cargo migrate upgrade` without a crate or a pack: what the built-in packs can move here.
fn list_upgradable(args: &UpgradeArgs, err: &mut dyn Write) -> Result<u8> {
    let candidates = crate::ops::upgrade::upgradable(&args.select.selection())?;
    if candidates.is_empty() {
        let packs: Vec<String> = crate::pack::builtin()?.iter().map(|p| format!("{} {} → {}", p.file.krate, p.file.from, p.file.to)).collect();
        let _ = writeln!(err, "No dependency of this workspace has a built-in pack (built in: {}).", packs.join(", "));
        let _ = writeln!(err, "Name a crate whose release ships its own pack (`cargo migrate upgrade CRATE`), or give a pack (`--pack FILE`).");
        return Ok(OK);
    }
    let mut out = anstream::stdout();
    let _ = writeln!(out, "Dependencies the built-in packs can move (`cargo migrate upgrade CRATE` shows the diff):");
    for c in &candidates {
        let _ = writeln!(out, "  {:<12} {:<10} → {:<8} {}", c.krate, c.version.to_string(), c.to, c.members.join(", "));
    }
    let _ = writeln!(err, "(versions from the requirements; packs a crate ships are found when it is named)");
    Ok(OK)
}

fn pack_command(command: PackCommand) -> u8 {
    let mut out = anstream::stdout();
    match command {
        PackCommand::Schema => {
            let _ = write!(out, "{}", crate::pack::format::schema_json());
            OK
        }
        PackCommand::List => match crate::pack::builtin() {
            Ok(packs) => {
                for p in packs {
                    let f = &p.file;
                    let _ = writeln!(out, "{:<12} {:>6} → {:<6} {:>3} rules  {}", f.krate, f.from, f.to, f.rules.len(), f.summary);
                    if let Some(guide) = &f.guide {
                        let _ = writeln!(out, "{:<12} guide: {guide}", "");
                    }
                }
                OK
            }
            Err(e) => {
                print_error(ColorChoice::Auto, &e);
                ERROR
            }
        },
        PackCommand::Test { paths } => pack_test(&paths),
        PackCommand::New { krate, from, to, dir } => {
            let path = dir.join(&krate).join(format!("{from}-{to}.toml"));
            if path.exists() {
                print_error(ColorChoice::Auto, &format!("{} exists already", path.display()));
                return ERROR;
            }
            let text = crate::pack::scaffold(&krate, &from, &to);
            let written = std::fs::create_dir_all(path.parent().expect("a folder")).and_then(|()| std::fs::write(&path, text));
            match written {
                Ok(()) => {
                    let _ = writeln!(out, "Created {}\nEdit its rules, then run `cargo migrate pack test {}`.", path.display(), path.display());
                    OK
                }
                Err(e) => {
                    print_error(ColorChoice::Auto, &format!("cannot write {}: {e}", path.display()));
                    ERROR
                }
            }
        }
    }
}

/// `cargo migrate pack test`: every pack under the paths; failures printed; 1 if any.
fn pack_test(paths: &[PathBuf]) -> u8 {
    let mut files = Vec::new();
    for p in paths {
        // `.toml` appended, not put in place of an "extension": `0.8-0.9` has none.
        let with_ext = PathBuf::from(format!("{}.toml", p.display()));
        if p.is_dir() {
            collect_packs(p, &mut files);
        } else if !p.exists() && with_ext.is_file() {
            files.push(with_ext);
        } else {
            files.push(p.clone());
        }
    }
    let mut out = anstream::stdout();
    let mut status = OK;
    for file in files {
        match crate::engine::pack_examples::test_pack(&file) {
            Ok(report) => {
                let _ = write!(out, "{}", report.notes.concat());
                for (rule, what) in &report.failures {
                    let _ = writeln!(out, "{}FAIL{} {} rule `{rule}`: {what}\n", ERR.render(), ERR.render_reset(), report.source);
                }
                let verdict = if report.passed() {
                    format!("{}ok{}", NOTE.render(), NOTE.render_reset())
                } else {
                    format!("{}FAILED{}", ERR.render(), ERR.render_reset())
                };
                let _ = writeln!(out, "{} {}: {} examples, {} failed", verdict, report.source, report.examples, report.failures.len());
                if !report.passed() {
                    status = status.max(CHANGES_REMAIN);
                }
            }
            Err(e) => {
                print_error(ColorChoice::Auto, &e);
                status = ERROR;
            }
        }
    }
    status
}

fn collect_packs(dir: &std::path::Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut entries: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            collect_packs(&path, out);
        } else if path.extension().is_some_and(|e| e == "toml") {
            out.push(path);
        }
    }
}
