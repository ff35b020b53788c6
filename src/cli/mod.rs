//! The command line: parsing (clap), then resolving flags into the pipeline's options,
//! running it, and turning the outcome into output and an exit status.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::cargo::build::BuildConfig;
use crate::cargo::check::CheckCommand;
use crate::cargo::discover::{Selection, Workspace};
use crate::cargo::write::{apply, vcs_state, VcsState};
use crate::core::model::{Diagnostic, Level};
use crate::emit::{write_diff, write_json, DiffStyle, Summary};
use crate::engine::pipeline::migrate;
use crate::engine::walk::CheckOptions;
use crate::ops::verify::verify;
use crate::rules::{self, Rule};

/// Exit status: success, and nothing left to migrate when `--check` is given.
const OK: u8 = 0;
/// Exit status: `--check` found changes to make.
const CHANGES_REMAIN: u8 = 1;
/// Exit status: an error (bad arguments, a file that could not be processed, ...).
const ERROR: u8 = 2;

#[derive(Parser, Debug)]
#[command(name = "cargo", bin_name = "cargo", styles = clap_cargo_styles())]
enum Cargo {
    /// Migrate Rust code across editions and breaking library releases, as reviewable diffs.
    Migrate(MigrateCli),
}

/// Migrate Rust code across editions and breaking library releases, as reviewable diffs.
///
/// Every run is a dry run unless `--apply` is given: the changes are printed as a unified
/// diff, each hunk headed by the rule that made it, why, and how safe it is.
#[derive(Args, Debug)]
#[command(version, long_about = None, after_help = "Start with `cargo migrate edition`, read the diff, then `cargo migrate edition --apply`.")]
struct MigrateCli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Migrate the workspace from Rust 2021 to Rust 2024 (dry run: prints a diff).
    #[command(after_long_help = EDITION_HELP)]
    Edition(Box<EditionArgs>),
    /// Print the documentation of a rule: what it does, why, an example, its fix safety.
    Explain {
        /// The rule id, as `cargo migrate rules` lists it, or a pack's rule or pack as a
        /// diff names it (`rand/gen-range`, `rand@0.8-0.9`).
        rule: String,
    },
    /// List the rules with their id, summary and fix safety.
    Rules,
    /// Upgrade a dependency across breaking releases with migration packs (dry run: prints a diff).
    #[command(after_long_help = UPGRADE_HELP)]
    Upgrade(UpgradeArgs),
    /// Work with migration packs: test, scaffold, list, schema.
    Pack {
        #[command(subcommand)]
        command: PackCommand,
    },
}

const EDITION_HELP: &str = "\
Examples:
  cargo migrate edition                     # dry run: annotated diff on stdout
  cargo migrate edition --format json       # the same changes as JSON, for tools
  cargo migrate edition --apply             # write the changes (needs a clean git tree)
  cargo migrate edition --apply --verify    # then `cargo check`; revert what breaks
  cargo migrate edition --check             # CI: exit 1 if anything is left to migrate

Unlike `cargo fix --edition`, this reads every module, including those behind a #[cfg]
that is off on this machine, and macro arguments; each change says whether the current
configuration compiles it.

Exit status: 0 done, 1 changes remain (with --check), 2 error.";

#[derive(Args, Debug)]
struct EditionArgs {
    #[command(flatten)]
    select: SelectArgs,
    /// Run only these rules (comma-separated or repeated).
    #[arg(long, value_name = "RULE", value_delimiter = ',')]
    only: Vec<String>,
    /// Skip these rules (comma-separated or repeated).
    #[arg(long, value_name = "RULE", value_delimiter = ',')]
    skip: Vec<String>,
    /// The edition to migrate to.
    #[arg(long, value_name = "EDITION", default_value = "2024", value_parser = ["2024"])]
    to: String,
    #[command(flatten)]
    write: WriteArgs,
    #[command(flatten)]
    out: OutputArgs,
    #[command(flatten)]
    build: BuildArgs,
    #[command(flatten)]
    llm: LlmArgs,
    /// Number of threads (default: one per core). The output does not depend on it.
    #[arg(short, long, value_name = "N")]
    jobs: Option<usize>,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
enum Format {
    /// Unified diff, each hunk headed by its changes' rule, safety and reason.
    Diff,
    /// Plain unified diff that `git apply` accepts (changes listed per file).
    Patch,
    /// One JSON document: changes with byte-range edits, diagnostics, summary.
    Json,
    /// SARIF 2.1.0, for code-scanning dashboards: one result per change, with its fix.
    Sarif,
}

/// Which packages, shared by `edition` and `upgrade`.
#[derive(Args, Debug, Clone)]
struct SelectArgs {
    /// Path to Cargo.toml.
    #[arg(long, value_name = "PATH")]
    manifest_path: Option<PathBuf>,
    /// Package to work on (repeatable); default: the workspace's default members.
    #[arg(short, long = "package", value_name = "SPEC")]
    package: Vec<String>,
    /// Every workspace member.
    #[arg(long)]
    workspace: bool,
}

impl SelectArgs {
    /// The selection discovery takes.
    fn selection(&self) -> Selection {
        Selection { manifest_path: self.manifest_path.clone(), packages: self.package.clone(), workspace: self.workspace }
    }
}

/// Whether and how to write, shared by `edition` and `upgrade`.
#[derive(Args, Debug, Clone)]
struct WriteArgs {
    /// Write the changes to disk (atomically, file by file).
    #[arg(long)]
    apply: bool,
    /// After --apply, run `cargo check --all-targets` and revert the changes that break
    /// the build (errors that were already there are not blamed on the migration).
    #[arg(long, requires = "apply")]
    verify: bool,
    /// With --verify, keep changes even if the build breaks.
    #[arg(long, requires = "verify")]
    broken_code: bool,
    /// Exit with status 1 if there is anything to change; write nothing.
    #[arg(long, conflicts_with = "apply")]
    check: bool,
    /// Apply even if the git work tree has uncommitted changes.
    #[arg(long)]
    allow_dirty: bool,
    /// Apply even if the workspace is not under version control.
    #[arg(long)]
    allow_no_vcs: bool,
}

/// What is printed and how, shared by `edition` and `upgrade`.
#[derive(Args, Debug, Clone)]
struct OutputArgs {
    /// Output format of the changes.
    #[arg(long, value_enum, default_value_t = Format::Diff)]
    format: Format,
    /// When to use colors.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    color: ColorChoice,
    /// Print only errors.
    #[arg(short, long, conflicts_with = "verbose")]
    quiet: bool,
    /// Print more (repeat for debug logs).
    #[arg(short, long, action = clap::ArgAction::Count)]
    verbose: u8,
}

/// The compiler phase's flags, shared by `edition` and `upgrade`.
#[derive(Args, Debug, Clone)]
struct BuildArgs {
    /// Syntax only: skip the compiler phase (`cargo check` with the migration lints, or
    /// against the new release for `upgrade`).
    #[arg(long)]
    no_compiler: bool,
    /// Features to enable in the compiler phase (comma-separated or repeated).
    #[arg(short = 'F', long, value_name = "FEATURES", value_delimiter = ',')]
    features: Vec<String>,
    /// Enable all features in the compiler phase (tried by default when no feature flag is given).
    #[arg(long)]
    all_features: bool,
    /// Do not enable the default features in the compiler phase.
    #[arg(long)]
    no_default_features: bool,
    /// Target triple for the compiler phase.
    #[arg(long, value_name = "TRIPLE")]
    target: Option<String>,
}

impl BuildArgs {
    /// The configuration the compiler phase builds with.
    fn config(&self) -> BuildConfig {
        BuildConfig {
            features: self.features.clone(),
            all_features: self.all_features,
            no_default_features: self.no_default_features,
            target: self.target.clone(),
        }
    }
}

/// The model flags, shared by `edition` (the judge) and `upgrade` (the judge of pack
/// choices and `--repair`).
#[derive(Args, Debug, Clone)]
struct LlmArgs {
    /// Model for the sites heuristics cannot decide: an Ollama server, any
    /// OpenAI-compatible server (llama.cpp's llama-server, vLLM, LM Studio), only the
    /// verdicts cached by earlier runs (`replay`, offline and reproducible), or none.
    #[arg(long, value_enum, default_value_t = LlmKind::Ollama, value_name = "KIND")]
    llm: LlmKind,
    /// Model name (default: `qwen2.5-coder:7b` for Ollama; required for `openai`).
    #[arg(long, value_name = "NAME")]
    model: Option<String>,
    /// Server URL (default: `$OLLAMA_HOST` or http://127.0.0.1:11434 for Ollama,
    /// http://127.0.0.1:8080 for `openai`).
    #[arg(long, value_name = "URL")]
    llm_url: Option<String>,
    /// Seconds to wait for one answer.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    llm_timeout: u64,
    /// Environment variable holding an API key for `openai` servers that need one.
    #[arg(long, value_name = "VAR")]
    llm_api_key_env: Option<String>,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
enum LlmKind {
    /// An Ollama server (`ollama serve`; `ollama pull MODEL` first).
    Ollama,
    /// An OpenAI-compatible `/v1/chat/completions` endpoint.
    Openai,
    /// Only verdicts cached by earlier runs: no server, reproducible.
    Replay,
    /// No model: undecided sites keep today's behaviour, marked needs-review.
    None,
}

/// The default model for Ollama: a small code model.
const DEFAULT_OLLAMA_MODEL: &str = "qwen2.5-coder:7b";

/// Builds the judge's model from the flags. Errors in the flags (an invalid URL) are
/// reported; a server that is down is found out only if a site needs it.
fn judge_model(args: &LlmArgs, cache_dir: &std::path::Path) -> Result<Option<Box<dyn crate::judge::llm::Model>>> {
    use crate::judge::{cache, ollama::OllamaModel, openai::OpenAiModel};
    let timeout = std::time::Duration::from_secs(args.llm_timeout.max(1));
    Ok(match args.llm {
        LlmKind::None => None,
        LlmKind::Ollama => {
            let name = args.model.clone().unwrap_or_else(|| DEFAULT_OLLAMA_MODEL.to_string());
            Some(Box::new(match &args.llm_url {
                Some(url) => OllamaModel::with_endpoint(url, &name, timeout)?,
                None => OllamaModel::new(&name, timeout)?,
            }))
        }
        LlmKind::Openai => {
            let name = args.model.clone().context("--llm openai needs --model NAME (the name the server serves, e.g. llama-server's --alias)")?;
            let url = args.llm_url.clone().unwrap_or_else(|| "http://127.0.0.1:8080".to_string());
            let mut model = OpenAiModel::new(&url, &name, timeout)?;
            if let Some(var) = &args.llm_api_key_env {
                model = model.with_api_key_env(var)?;
            }
            Some(Box::new(model))
        }
        LlmKind::Replay => {
            let name = args.model.clone().unwrap_or_else(|| DEFAULT_OLLAMA_MODEL.to_string());
            Some(Box::new(cache::ReplayModel::new(cache::VerdictCache::new(cache_dir), &name)))
        }
    })
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
enum ColorChoice {
    /// Colors when writing to a terminal.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

fn clap_cargo_styles() -> clap::builder::Styles {
    use anstyle::{AnsiColor, Effects};
    clap::builder::Styles::styled()
        .header(AnsiColor::Green.on_default().effects(Effects::BOLD))
        .usage(AnsiColor::Green.on_default().effects(Effects::BOLD))
        .literal(AnsiColor::Cyan.on_default().effects(Effects::BOLD))
        .placeholder(AnsiColor::Cyan.on_default())
}

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
            let _ = writeln!(out, "\nCompiler lints (cargo check, the configuration it builds):");
            for lint in crate::engine::compiler::LINTS {
                let _ = writeln!(out, "  {:<46} {}", lint.name, lint.treatment);
            }
            OK
        }
        Command::Explain { rule } => match (rules::find(&rule), crate::engine::compiler::lint_doc(&rule)) {
            (Some(r), _) => {
                print!("{}", r.meta().doc);
                OK
            }
            (None, Some(l)) => {
                println!(
                    "# {}\n\nA rustc lint of the `rust-2024-compatibility` group: {}.\n\nWhat cargo migrate does: {}.\n\nEdition guide: {}",
                    l.name, l.summary, l.treatment, l.guide
                );
                OK
            }
            (None, None) => match crate::pack::explain(&rule) {
                Some(doc) => {
                    print!("{doc}");
                    OK
                }
                None => {
                    eprintln!("error: no rule `{rule}`; `cargo migrate rules` lists them, `cargo migrate pack list` the packs");
                    ERROR
                }
            },
        },
        Command::Upgrade(args) => upgrade_command(args),
        Command::Pack { command } => pack_command(command),
        Command::Edition(args) => {
            let color = args.out.color;
            match edition(*args) {
                Ok(code) => code,
                Err(e) => {
                    let mut err = stderr(color);
                    let _ = writeln!(err, "{}error:{} {e:#}", ERR.render(), ERR.render_reset());
                    ERROR
                }
            }
        }
    }
}

const ERR: anstyle::Style = anstyle::AnsiColor::Red.on_default().effects(anstyle::Effects::BOLD);
const WARN: anstyle::Style = anstyle::AnsiColor::Yellow.on_default().effects(anstyle::Effects::BOLD);
const NOTE: anstyle::Style = anstyle::AnsiColor::Cyan.on_default().effects(anstyle::Effects::BOLD);

fn stream_choice(c: ColorChoice) -> anstream::ColorChoice {
    match c {
        ColorChoice::Auto => anstream::ColorChoice::Auto,
        ColorChoice::Always => anstream::ColorChoice::Always,
        ColorChoice::Never => anstream::ColorChoice::Never,
    }
}

fn stderr(c: ColorChoice) -> anstream::AutoStream<std::io::Stderr> {
    anstream::AutoStream::new(std::io::stderr(), stream_choice(c))
}

/// Resolves `--only` / `--skip` into the rules to run (compiler lints are filtered by the
/// same lists, later).
fn select_rules(only: &[String], skip: &[String]) -> Result<Vec<&'static dyn Rule>> {
    for id in only.iter().chain(skip) {
        if rules::find(id).is_none() && crate::engine::compiler::lint_doc(id).is_none() {
            bail!("no rule `{id}`; `cargo migrate rules` lists them");
        }
    }
    Ok(rules::edition_2024()
        .iter()
        .copied()
        .filter(|r| only.is_empty() || only.iter().any(|o| o == r.meta().id))
        .filter(|r| !skip.iter().any(|s| s == r.meta().id))
        .collect())
}

fn init_logging(quiet: bool, verbose: u8) {
    let level = match (quiet, verbose) {
        (true, _) => "error",
        (_, 0) => "warn",
        (_, 1) => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("CARGO_MIGRATE_LOG").unwrap_or_else(|_| level.into());
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).without_time().try_init();
}

fn edition(args: EditionArgs) -> Result<u8> {
    init_logging(args.out.quiet, args.out.verbose);
    if let Some(jobs) = args.jobs {
        rayon::ThreadPoolBuilder::new().num_threads(jobs.max(1)).build_global().context("cannot set the thread count")?;
    }
    let started = Instant::now();
    let mut err = stderr(args.out.color);
    let rules = select_rules(&args.only, &args.skip)?;
    let sel = args.select.selection();
    let mut ws = Workspace::discover(&sel)?;
    let mut notes = Vec::new();
    ws.packages.retain(|p| match p.edition.as_str() {
        "2021" => true,
        e if e >= args.to.as_str() => {
            notes.push(Diagnostic::general(Level::Note, format!("package `{}` is already on edition {e}", p.name)));
            false
        }
        e => {
            notes.push(Diagnostic::general(
                Level::Warning,
                format!("package `{}` is on edition {e}: cargo migrate moves 2021 to 2024; run `cargo fix --edition` to reach 2021 first", p.name),
            ));
            false
        }
    });
    if args.write.apply {
        refuse_unsafe_apply(&ws.root, args.write.allow_no_vcs, args.write.allow_dirty)?;
    }
    // The baseline build, for --verify: errors that exist before the migration.
    let check_cmd = CheckCommand { manifest_path: ws.root_manifest.clone(), packages: ws.packages.iter().map(|p| p.spec()).collect() };
    let baseline = verify_baseline(&mut err, &check_cmd, args.write.verify && !ws.packages.is_empty(), args.out.quiet, "migrating")?;

    let progress = progress_bar(args.out.quiet);
    let opts = CheckOptions { rules, target_edition: args.to.clone(), only: args.only.clone(), skip: args.skip.clone() };
    let build = args.build.config();
    let compiler = (!args.build.no_compiler).then_some(&build);
    let mut migration = if ws.packages.is_empty() {
        crate::core::migration::Migration::default()
    } else {
        let cache_dir = ws.target_dir.join("cargo-migrate").join("verdicts");
        let model = judge_model(&args.llm, &cache_dir)?;
        let cache = crate::judge::cache::VerdictCache::new(&cache_dir);
        migrate(&ws, &opts, compiler, model.as_deref(), Some(&cache), &|what| progress.set_message(what.to_string()))
    };
    progress.finish_and_clear();
    migration.diagnostics.extend(notes);
    migration.diagnostics.sort();

    write_output(&migration, args.out.format, args.write.apply || args.write.check, args.out.color)?;
    print_findings(&mut err, &migration, args.out.quiet);
    let summary = Summary::of(&migration);
    if !args.out.quiet {
        let _ = writeln!(err, "{}Summary{}: {} in {:.2}s", NOTE.render(), NOTE.render_reset(), summary.line(), started.elapsed().as_secs_f64());
    }
    let mut status = if migration.has_errors() { ERROR } else { OK };
    if args.write.check {
        // An error wins: a file that could not be read says nothing about what it needs.
        return Ok(if status == OK && summary.changes > 0 { CHANGES_REMAIN } else { status });
    }
    if args.write.apply {
        status = status.max(apply_changes(&mut err, &migration, args.out.quiet));
        if let Some(baseline) = baseline {
            status = status.max(report_verify(&mut err, &migration, &check_cmd, &baseline, &ws, args.write.broken_code)?);
        }
    }
    Ok(status)
}

/// Writes the migration to disk and reports what could not be written.
fn apply_changes(err: &mut dyn Write, m: &crate::core::migration::Migration, quiet: bool) -> u8 {
    let mut status = OK;
    let applied = apply(m);
    for e in &applied.failed {
        let _ = writeln!(err, "{}error:{} {e}", ERR.render(), ERR.render_reset());
        status = ERROR;
    }
    if !quiet {
        let _ = writeln!(err, "{}Applied{} {} changes to {} files", NOTE.render(), NOTE.render_reset(), m.changes().count(), applied.written.len());
    }
    status
}

/// `--repair`: asks the model to fix the errors the upgrade leaves, keeps what the
/// compiler accepts, and records the repairs in the migration (so `--verify` sees them).
fn repair_remaining(
    err: &mut dyn Write,
    up: &mut crate::ops::upgrade::Upgrade,
    cmd: &CheckCommand,
    baseline: Option<&[crate::cargo::check::CompileError]>,
    args: &UpgradeArgs,
) -> Result<()> {
    // Every error the build has now that it did not have before the upgrade.
    let before: std::collections::BTreeSet<(Option<std::path::PathBuf>, String)> =
        baseline.unwrap_or_default().iter().map(|e| (e.file.clone(), e.message.clone())).collect();
    let notes: Vec<String> = up.steps.iter().map(|s| format!("{} ({})", s.pack.file.summary, s.pack.file.guide.as_deref().unwrap_or("no guide"))).collect();
    let broken: Vec<crate::judge::repair::Broken> = cmd
        .errors()?
        .into_iter()
        .filter(|e| !before.contains(&(e.file.clone(), e.message.clone())))
        .filter_map(|e| {
            Some(crate::judge::repair::Broken {
                file: e.file.as_ref()?.to_string_lossy().replace('\\', "/"),
                line: e.lines?.0,
                message: e.message,
                rendered: e.rendered,
                notes: notes.join("; "),
            })
        })
        .collect();
    if broken.is_empty() {
        return Ok(());
    }
    let cache_dir = up.workspace.target_dir.join("cargo-migrate").join("verdicts");
    let Some(model) = judge_model(&args.llm, &cache_dir)? else {
        let _ = writeln!(err, "{}warning:{} --repair needs a model (--llm); {} error(s) left", WARN.render(), WARN.render_reset(), broken.len());
        return Ok(());
    };
    let _ = writeln!(err, "{}Repairing{} {} error(s) with {}", NOTE.render(), NOTE.render_reset(), broken.len(), model.name());
    let context = format!(
        "The project was upgraded from {} to {} {}.",
        up.usages.first().map_or("an older release".to_string(), |u| u.describe(&up.krate)),
        up.krate,
        up.target
    );
    let repairs = crate::judge::repair::repair(model.as_ref(), &broken, &up.workspace.root, cmd, &context)?;
    for d in &repairs.diagnostics {
        print_diagnostic(err, d);
    }
    for kept in repairs.kept {
        let c = &kept.change;
        let _ = writeln!(err, "{}repaired{} {}:{} (by {}): {}", NOTE.render(), NOTE.render_reset(), c.file, c.line, c.decided_by, c.reason);
        up.migration.record_on_disk(&up.workspace.root, kept.change, kept.before, kept.after);
    }
    Ok(())
}

/// Refuses `--apply` where it could not be undone: no VCS, or uncommitted changes.
fn refuse_unsafe_apply(root: &std::path::Path, allow_no_vcs: bool, allow_dirty: bool) -> Result<()> {
    match vcs_state(root) {
        VcsState::NoVcs if !allow_no_vcs => {
            bail!("no VCS found for {}: --apply could not be undone. Commit it to git first, or pass --allow-no-vcs", root.display())
        }
        VcsState::Dirty(files) if !allow_dirty => {
            bail!("the working tree has uncommitted changes; commit or stash them, or pass --allow-dirty:\n  {}", files.join("\n  "))
        }
        _ => Ok(()),
    }
}

/// Writes the changes to stdout in `format`. When writing to disk (`--apply`, `--check`),
/// only the machine formats are printed; the diff is what the user already reviewed.
fn write_output(m: &crate::core::migration::Migration, format: Format, writing: bool, color: ColorChoice) -> Result<()> {
    let mut stdout = anstream::AutoStream::new(std::io::stdout(), stream_choice(color));
    if !writing || matches!(format, Format::Json | Format::Sarif) {
        match format {
            Format::Diff => write_diff(m, DiffStyle::Annotated, &mut stdout)?,
            Format::Patch => write_diff(m, DiffStyle::Patch, &mut stdout)?,
            Format::Json => write_json(m, &mut stdout)?,
            Format::Sarif => crate::emit::write_sarif(m, &mut stdout)?,
        }
    }
    stdout.flush()?;
    Ok(())
}

/// Prints the diagnostics (only errors with `quiet`) and the judge's verdicts to stderr.
fn print_findings(err: &mut dyn Write, m: &crate::core::migration::Migration, quiet: bool) {
    for d in &m.diagnostics {
        if !quiet || d.level == Level::Error {
            print_diagnostic(err, d);
        }
    }
    if !quiet {
        for v in &m.verdicts {
            let _ = writeln!(
                err,
                "{}judged:{} {}:{} [{}] {} (by {}): {}",
                NOTE.render(),
                NOTE.render_reset(),
                v.file,
                v.line,
                v.rule,
                v.option,
                v.decided_by,
                v.reason
            );
        }
    }
}

/// The build's errors before writing anything, when `--verify` will compare against them.
fn verify_baseline(err: &mut dyn Write, cmd: &CheckCommand, wanted: bool, quiet: bool, doing: &str) -> Result<Option<Vec<crate::cargo::check::CompileError>>> {
    if !wanted {
        return Ok(None);
    }
    if !quiet {
        let _ = writeln!(err, "{}Checking{} the build before {doing} (for --verify)", NOTE.render(), NOTE.render_reset());
    }
    Ok(Some(cmd.errors()?))
}

fn report_verify(
    err: &mut dyn Write,
    migration: &crate::core::migration::Migration,
    cmd: &CheckCommand,
    baseline: &[crate::cargo::check::CompileError],
    ws: &Workspace,
    broken_code: bool,
) -> Result<u8> {
    let _ = writeln!(err, "{}Verifying{} the migrated code with `cargo check --all-targets`", NOTE.render(), NOTE.render_reset());
    let v = verify(migration, cmd, baseline, &ws.root, broken_code)?;
    if !v.preexisting.is_empty() {
        let _ =
            writeln!(err, "{}note:{} {} error(s) existed before the migration and are not its doing:", NOTE.render(), NOTE.render_reset(), v.preexisting.len());
        for e in &v.preexisting {
            let place = e.file.as_ref().map(|f| format!("{}: ", f.display())).unwrap_or_default();
            let _ = writeln!(err, "  {place}{}", e.message);
        }
    }
    if v.introduced.is_empty() {
        if v.preexisting.is_empty() {
            let _ = writeln!(err, "{}Verified{}: the migrated code builds", NOTE.render(), NOTE.render_reset());
        } else {
            let _ = writeln!(
                err,
                "{}Verified{}: the migration introduced no new errors (the build still fails with the errors above)",
                NOTE.render(),
                NOTE.render_reset()
            );
        }
        return Ok(OK);
    }
    let _ = writeln!(err, "{}error:{} the migration introduced {} compile error(s):", ERR.render(), ERR.render_reset(), v.introduced.len());
    for e in &v.introduced {
        let _ = writeln!(err, "{}", e.rendered.trim_end());
    }
    for r in &v.reverted {
        let why = match r.step {
            crate::ops::verify::RevertStep::NearError => "on the lines of a new error",
            crate::ops::verify::RevertStep::File => "its file still had a new error",
            crate::ops::verify::RevertStep::Bisected => {
                "the new errors were elsewhere, and bisecting the changed files found this file's changes to cause them"
            }
            crate::ops::verify::RevertStep::Everything => "the build was still worse than before",
        };
        let c = &r.change;
        let _ = writeln!(err, "{}reverted{} {}:{} [{}] {} ({why})", WARN.render(), WARN.render_reset(), c.file, c.line, c.rule, c.reason);
    }
    if v.remaining.is_empty() {
        let _ = writeln!(err, "{}Verified{}: after reverting, the code builds as before", NOTE.render(), NOTE.render_reset());
        Ok(ERROR)
    } else {
        let _ = writeln!(
            err,
            "{}error:{} THE BUILD IS BROKEN: {} new error(s) remain{}",
            ERR.render(),
            ERR.render_reset(),
            v.remaining.len(),
            if broken_code { " (kept because of --broken-code)" } else { " after reverting every change" }
        );
        Ok(ERROR)
    }
}

fn print_diagnostic(err: &mut dyn Write, d: &Diagnostic) {
    let (style, label) = match d.level {
        Level::Error => (ERR, "error"),
        Level::Warning => (WARN, "warning"),
        Level::Note => (NOTE, "note"),
    };
    let place = match (&d.file, d.line) {
        (Some(f), Some(l)) => format!("{f}:{l}: "),
        (Some(f), None) => format!("{f}: "),
        _ => String::new(),
    };
    let rule = d.rule.map(|r| format!(" [{r}]")).unwrap_or_default();
    let _ = writeln!(err, "{}{label}:{} {place}{}{rule}", style.render(), style.render_reset(), d.message);
}

fn progress_bar(quiet: bool) -> indicatif::ProgressBar {
    if quiet {
        return indicatif::ProgressBar::hidden();
    }
    // indicatif hides itself when stderr is not a terminal.
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_style(indicatif::ProgressStyle::with_template("{spinner} Checking {msg}").expect("valid template"));
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
}

// ---- `cargo migrate upgrade` and `cargo migrate pack` ------------------------------------

const UPGRADE_HELP: &str = "\
Examples:
  cargo migrate upgrade                           # which dependencies the built-in packs can move
  cargo migrate upgrade rand                      # dry run: the diff to rand's newest release a pack reaches
  cargo migrate upgrade rand@0.9 --apply --verify # write it, then `cargo check`; revert what breaks
  cargo migrate upgrade --pack path/to/pack.toml  # with your own pack (preferred over all others)

Packs are found in this order: --pack files; a `migrations/` folder shipped inside the
crate's own package (a path dependency's folder, or the target release in cargo's
registry, fetched if needed); the packs built into cargo-migrate. Steps are chained
(0.7 -> 0.8 -> 0.9). After the rewrite and the bump of Cargo.toml, `cargo check` runs
against the new release (in a temporary copy: a dry run writes nothing); what it says
about the crate is matched against the packs again, and what is left is listed.

Exit status: 0 done, 1 changes remain (with --check), 2 error.";

#[derive(Args, Debug)]
struct UpgradeArgs {
    /// The dependency to upgrade, optionally with the release to reach: `rand`, `rand@0.9`.
    /// Taken from the --pack files when absent; without either, lists the dependencies the
    /// built-in packs can move.
    #[arg(value_name = "CRATE[@VERSION]")]
    spec: Option<String>,
    /// A migration pack to use (repeatable); preferred over shipped and built-in packs.
    #[arg(long = "pack", value_name = "FILE")]
    packs: Vec<PathBuf>,
    #[command(flatten)]
    select: SelectArgs,
    #[command(flatten)]
    write: WriteArgs,
    /// After --apply, ask the model (--llm) to repair the errors the packs and the
    /// compiler phase leave: each proposal is kept only if `cargo check` then shows the
    /// error gone and no new error; kept repairs are marked needs-review.
    #[arg(long, requires = "apply")]
    repair: bool,
    #[command(flatten)]
    llm: LlmArgs,
    #[command(flatten)]
    out: OutputArgs,
    #[command(flatten)]
    build: BuildArgs,
}

#[derive(Subcommand, Debug)]
enum PackCommand {
    /// Run a pack's own examples (`valid` / `invalid` of each rule); exit 1 if one fails.
    Test {
        /// Pack files or folders of packs (`.toml` may be left out).
        #[arg(required = true, value_name = "PACK")]
        paths: Vec<PathBuf>,
    },
    /// Write a new pack, `<DIR>/<CRATE>/<FROM>-<TO>.toml`, with a commented example rule.
    New {
        /// The crate the pack migrates.
        #[arg(value_name = "CRATE")]
        krate: String,
        /// The release the code is written for (`1`, `0.8`).
        from: String,
        /// The release the pack moves it to (`2`, `0.9`).
        to: String,
        /// The folder of packs.
        #[arg(long, value_name = "DIR", default_value = "migrations")]
        dir: PathBuf,
    },
    /// List the packs built into cargo-migrate.
    List,
    /// Print the JSON Schema of the pack format.
    Schema,
}

fn print_error(color: ColorChoice, e: &dyn std::fmt::Display) {
    let mut err = stderr(color);
    let _ = writeln!(err, "{}error:{} {e}", ERR.render(), ERR.render_reset());
}

fn upgrade_command(args: UpgradeArgs) -> u8 {
    let color = args.out.color;
    match upgrade(args) {
        Ok(code) => code,
        Err(e) => {
            print_error(color, &format!("{e:#}"));
            ERROR
        }
    }
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

fn upgrade(args: UpgradeArgs) -> Result<u8> {
    init_logging(args.out.quiet, args.out.verbose);
    let started = Instant::now();
    let mut err = stderr(args.out.color);
    let (krate, target) = match &args.spec {
        Some(spec) => {
            let (k, t) = crate::ops::upgrade::parse_spec(spec)?;
            (Some(k), t)
        }
        None if args.packs.is_empty() => return list_upgradable(&args, &mut err),
        None => (None, None),
    };
    let request = crate::ops::upgrade::Request {
        krate,
        target,
        packs: args.packs.clone(),
        selection: args.select.selection(),
        build: args.build.config(),
        compiler: !args.build.no_compiler,
        model: None,
    };
    let ws = Workspace::discover(&request.selection)?;
    if args.write.apply {
        // Refuse early, before any work, as `edition` does.
        refuse_unsafe_apply(&ws.root, args.write.allow_no_vcs, args.write.allow_dirty)?;
    }
    // The judge of the packs' choice rules.
    let cache_dir = ws.target_dir.join("cargo-migrate").join("verdicts");
    let mut request = request;
    request.model = judge_model(&args.llm, &cache_dir)?
        .map(|m| crate::ops::upgrade::Judge { model: std::sync::Arc::from(m), cache: std::sync::Arc::new(crate::judge::cache::VerdictCache::new(&cache_dir)) });
    let progress = progress_bar(args.out.quiet);
    let planned = crate::ops::upgrade::plan(&request, &|what| progress.set_message(what.to_string()));
    progress.finish_and_clear();
    let mut up = planned?;
    if !args.out.quiet {
        for u in &up.usages {
            let _ = writeln!(err, "{}Found{} {} {}", NOTE.render(), NOTE.render_reset(), up.krate, u.describe(&up.krate));
        }
        for s in &up.steps {
            let _ = writeln!(err, "{}Pack{} {}", NOTE.render(), NOTE.render_reset(), s.describe());
        }
    }
    let migration = &up.migration;
    write_output(migration, args.out.format, args.write.apply || args.write.check, args.out.color)?;
    print_findings(&mut err, migration, args.out.quiet);
    let summary = Summary::of(migration);
    if !args.out.quiet {
        let rounds = up
            .compiler_rounds
            .map(|r| format!("; compiler phase: {r} cargo check round(s), {} message(s) about {} left", up.remaining.len(), up.krate))
            .unwrap_or_default();
        let _ = writeln!(
            err,
            "{}Summary{}: {} → {}: {}{rounds} in {:.2}s",
            NOTE.render(),
            NOTE.render_reset(),
            up.krate,
            up.target,
            summary.line(),
            started.elapsed().as_secs_f64()
        );
    }
    let mut status = if migration.has_errors() { ERROR } else { OK };
    if args.write.check {
        return Ok(if status == OK && summary.changes > 0 { CHANGES_REMAIN } else { status });
    }
    if args.write.apply {
        let check_cmd = CheckCommand { manifest_path: up.workspace.root_manifest.clone(), packages: up.moved.clone() };
        // The build before, for --verify: errors that are not the upgrade's doing.
        let baseline = verify_baseline(&mut err, &check_cmd, args.write.verify && !up.moved.is_empty(), args.out.quiet, "upgrading")?;
        status = status.max(apply_changes(&mut err, &up.migration, args.out.quiet));
        if args.repair {
            repair_remaining(&mut err, &mut up, &check_cmd, baseline.as_deref(), &args)?;
        }
        if let Some(baseline) = baseline {
            status = status.max(report_verify(&mut err, &up.migration, &check_cmd, &baseline, &up.workspace, args.write.broken_code)?);
        }
    }
    Ok(status)
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
        match crate::pack::test_pack(&file) {
            Ok(report) => {
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
