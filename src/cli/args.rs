//! The command line's shape: clap types and help texts. Turning them into requests is
//! [`super::config`]; this file only says what a user can type.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Parser, Debug)]
#[command(name = "cargo", bin_name = "cargo", styles = clap_cargo_styles())]
pub(super) enum Cargo {
    /// Migrate Rust code across editions and breaking library releases, as reviewable diffs.
    Migrate(MigrateCli),
}

/// Migrate Rust code across editions and breaking library releases, as reviewable diffs.
///
/// Every run is a dry run unless `--apply` is given: the changes are printed as a unified
/// diff, each hunk headed by the rule that made it, why, and how safe it is.
#[derive(Args, Debug)]
#[command(version, long_about = None, after_help = "Start with `cargo migrate edition`, read the diff, then `cargo migrate edition --apply`.")]
pub(super) struct MigrateCli {
    #[command(subcommand)]
    pub(super) command: Command,
}

#[derive(Subcommand, Debug)]
pub(super) enum Command {
    /// Migrate the workspace to Rust 2024 from any edition (dry run: prints a diff).
    #[command(after_long_help = EDITION_HELP)]
    Edition(Box<EditionArgs>),
    /// Explain a rule, or the change or judge site at a line of your code (`--at FILE:LINE`).
    #[command(after_long_help = EXPLAIN_HELP)]
    Explain(Box<ExplainArgs>),
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
    /// Run one migration over many repositories: a patch, a result and a log each, and one
    /// report (report.json, report.html).
    #[command(after_long_help = SWEEP_HELP, args_conflicts_with_subcommands = true)]
    Sweep(Box<SweepArgs>),
    /// One repository of a sweep (started by `sweep`, not by hand).
    #[command(hide = true)]
    SweepWorker {
        /// The job file the sweep wrote.
        job: PathBuf,
    },
}

pub(super) const SWEEP_HELP: &str = "\
Examples:
  cargo migrate sweep --repos repos.txt --migration edition --out sweep/              # dry run
  cargo migrate sweep --repos ~/src --migration upgrade:rand@0.9 --verify --out sweep/
  cargo migrate sweep --repos repos.txt --shard 3/16 --out shard-3/                   # one share
  cargo migrate sweep merge shard-*/ --out sweep/                                     # one report
  cargo migrate sweep --repos repos.txt --apply --branch migrate/edition-2024 --out sweep/

--repos is a folder whose subfolders are checkouts, or a file listing local paths and git
URLs (cloned into <out>/.sweep/clones). Every Cargo workspace of a repository is migrated;
each repository runs in a worker process of its own, in a throwaway copy at its last
commit (a git worktree, or a copy of a plain folder), so the checkout is never touched.
Per repository: <name>.patch (`git apply` on that commit), <name>.json, <name>.log; for the
sweep: report.json and report.html. A second run with the same migration and options
reuses the results of repositories whose commit has not changed (failed ones are retried).
--shard K/N takes a stable share of the list (a hash of each repository's path or URL),
for a CI matrix or a Kubernetes Indexed Job (examples/sweep/).

Exit status: 0 when every repository has a result (failed ones are results, listed in the
report), 2 when the sweep itself could not run (bad --repos, an --out holding another
sweep's results).";

#[derive(Args, Debug)]
pub(super) struct SweepArgs {
    #[command(subcommand)]
    pub(super) command: Option<SweepCommand>,
    /// A folder of checkouts, or a file listing local paths and git URLs (one a line).
    #[arg(long, value_name = "PATH")]
    pub(super) repos: Option<PathBuf>,
    /// `edition`, or `upgrade:CRATE[@VERSION]` (the built-in packs and those the crate ships).
    #[arg(long, value_name = "MIGRATION", default_value = "edition")]
    pub(super) migration: String,
    /// The output folder (created; refused if it holds another sweep's results).
    #[arg(long, value_name = "DIR")]
    pub(super) out: Option<PathBuf>,
    /// Repositories at once (default: one per core).
    #[arg(short, long, value_name = "N")]
    pub(super) jobs: Option<usize>,
    /// Seconds one repository may take before its worker is stopped.
    #[arg(long, value_name = "SECS", default_value_t = 1800)]
    pub(super) timeout: u64,
    /// Take the K-th of N stable shares of the repositories (1-based).
    #[arg(long, value_name = "K/N")]
    pub(super) shard: Option<String>,
    /// Run `cargo check` after migrating each copy; revert what breaks (the patch holds what builds).
    #[arg(long)]
    pub(super) verify: bool,
    /// Commit the migration in each repository, on a new branch (needs --branch).
    #[arg(long, requires = "branch")]
    pub(super) apply: bool,
    /// The branch --apply creates from each repository's last commit (never the current one; nothing is pushed).
    #[arg(long, value_name = "NAME", requires = "apply")]
    pub(super) branch: Option<String>,
    /// Where git URLs are cloned (default: <out>/.sweep/clones).
    #[arg(long, value_name = "DIR")]
    pub(super) cache: Option<PathBuf>,
    /// One cargo target directory for all workers (default: one per repository, removed
    /// when it is done; a shared one saves rebuilding common dependencies but serializes
    /// the builds, since cargo locks a target directory while it builds).
    #[arg(long, value_name = "DIR")]
    pub(super) target_dir: Option<PathBuf>,
    #[command(flatten)]
    pub(super) build: BuildArgs,
    #[command(flatten)]
    pub(super) llm: LlmArgs,
    /// When to use colors.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub(super) color: ColorChoice,
    /// Print only errors.
    #[arg(short, long)]
    pub(super) quiet: bool,
}

#[derive(Subcommand, Debug)]
pub(super) enum SweepCommand {
    /// Merge the output folders of a sweep's shards into one report.
    Merge {
        /// The shard folders.
        #[arg(required = true, value_name = "DIR")]
        dirs: Vec<PathBuf>,
        /// The folder for the merged report (and the repositories' files).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// When to use colors.
        #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
        color: ColorChoice,
        /// Print only errors.
        #[arg(short, long)]
        quiet: bool,
    },
}

pub(super) const EXPLAIN_HELP: &str = "\
Examples:
  cargo migrate explain if-let-rescope                   # the rule's documentation
  cargo migrate explain --at src/lib.rs:42               # the edition change or judge site at that line
  cargo migrate explain --at src/lib.rs:42 --llm none    # its facts and the rule's documentation only
  cargo migrate explain --at src/main.rs:7 --upgrade rand@0.9

With --at, the migration runs as a dry run (nothing is written) and what it has at that
line (a change, a judge site, a message, an error the compiler left after an upgrade) is
explained for this code: what changes in behaviour, why, what to check here, what the other
option would do. The model (--llm, as for the judge) reads the site, its function, the
destructors involved and the rule's documentation; its text is shown as the model's and
cached (`--llm replay` shows it again offline). Without a model the facts and the
documentation are printed: never an error. Nothing a model says is applied.";

pub(super) const EDITION_HELP: &str = "\
Examples:
  cargo migrate edition                     # dry run: annotated diff on stdout
  cargo migrate edition --format json       # the same changes as JSON, for tools
  cargo migrate edition --apply             # write the changes (needs a clean git tree)
  cargo migrate edition --apply --verify    # then `cargo check`; revert what breaks
  cargo migrate edition --interactive       # review each change (y/n/a/d/e/?/q), then write
  cargo migrate edition -i --only keyword-gen --verify   # review one rule's changes, then check
  cargo migrate edition --check             # CI: exit 1 if anything is left to migrate
  cargo migrate edition --to 2021           # a 2015 or 2018 crate: stop at 2021

A package on 2015 or 2018 goes through every edition step to the target in one run (one
diff, the manifest moved once; each change of an earlier step names it in its header):
`cargo fix --edition` needs one run per edition with a manual edit between.

Unlike `cargo fix --edition`, this reads every module, including those behind a #[cfg]
that is off on this machine, and macro arguments; each change says whether the current
configuration compiles it.

Exit status: 0 done, 1 changes remain (with --check), 2 error.";

#[derive(Args, Debug)]
pub(super) struct ExplainArgs {
    /// The rule id, as `cargo migrate rules` lists it, a compiler lint, or a pack's rule or
    /// pack as a diff names it (`rand/gen-range`, `rand@0.8-0.9`).
    #[arg(required_unless_present = "at", conflicts_with = "at")]
    pub(super) rule: Option<String>,
    /// The line to explain: FILE (relative to the workspace root, or a path to it) and a
    /// 1-based line.
    #[arg(long, value_name = "FILE:LINE")]
    pub(super) at: Option<String>,
    /// Explain a line of this upgrade instead of the edition migration.
    #[arg(long, value_name = "CRATE[@VERSION]", requires = "at")]
    pub(super) upgrade: Option<String>,
    /// A migration pack for --upgrade (repeatable).
    #[arg(long = "pack", value_name = "FILE", requires = "upgrade")]
    pub(super) packs: Vec<PathBuf>,
    #[command(flatten)]
    pub(super) select: SelectArgs,
    #[command(flatten)]
    pub(super) build: BuildArgs,
    #[command(flatten)]
    pub(super) llm: LlmArgs,
    /// When to use colors.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub(super) color: ColorChoice,
}

#[derive(Args, Debug)]
#[command(group(clap::ArgGroup::new("writes").args(["apply", "interactive"]).multiple(true)))]
pub(super) struct EditionArgs {
    #[command(flatten)]
    pub(super) select: SelectArgs,
    /// Run only these rules (comma-separated or repeated).
    #[arg(long, value_name = "RULE", value_delimiter = ',')]
    pub(super) only: Vec<String>,
    /// Skip these rules (comma-separated or repeated).
    #[arg(long, value_name = "RULE", value_delimiter = ',')]
    pub(super) skip: Vec<String>,
    /// The edition to migrate to. Packages on any older edition (2015, 2018, 2021) go
    /// through each edition step's lints in one run, as one diff; `--to 2021` stops there.
    #[arg(long, value_name = "EDITION", default_value = "2024", value_parser = ["2024", "2021"])]
    pub(super) to: String,
    /// Also migrate the code of packages that already say the target edition, as if it
    /// were this edition's: finishes a package whose manifest moved while some of its
    /// files were not migrated.
    #[arg(long, value_name = "EDITION", value_parser = ["2015", "2018", "2021"])]
    pub(super) from: Option<String>,
    #[command(flatten)]
    pub(super) write: WriteArgs,
    #[command(flatten)]
    pub(super) out: OutputArgs,
    #[command(flatten)]
    pub(super) build: BuildArgs,
    #[command(flatten)]
    pub(super) llm: LlmArgs,
    /// Number of threads (default: one per core). The output does not depend on it.
    #[arg(short, long, value_name = "N")]
    pub(super) jobs: Option<usize>,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub(super) enum Format {
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
pub(super) struct SelectArgs {
    /// Path to Cargo.toml.
    #[arg(long, value_name = "PATH")]
    pub(super) manifest_path: Option<PathBuf>,
    /// Package to work on (repeatable); default: the workspace's default members.
    #[arg(short, long = "package", value_name = "SPEC")]
    pub(super) package: Vec<String>,
    /// Every workspace member.
    #[arg(long)]
    pub(super) workspace: bool,
}

/// Whether and how to write, shared by `edition` and `upgrade`.
#[derive(Args, Debug, Clone)]
pub(super) struct WriteArgs {
    /// Write the changes to disk (atomically, file by file).
    #[arg(long)]
    pub(super) apply: bool,
    /// Review each change at the terminal, then write the accepted ones as --apply does
    /// (implies --apply). Keys, then Enter: y apply, n skip, a all remaining of this rule,
    /// d none of this rule, e edit the lines it writes in $EDITOR, ? explain, q write what
    /// was accepted and stop. Needs a terminal; shows the annotated diff, so takes no --format.
    #[arg(short, long, conflicts_with_all = ["format", "check"])]
    pub(super) interactive: bool,
    /// After --apply (or --interactive), run `cargo check` (every target, or the kinds the
    /// compiler phase was given) and revert the changes that break the build (errors that were already there are not blamed on
    /// the migration).
    #[arg(long, requires = "writes")]
    pub(super) verify: bool,
    /// With --verify, keep changes even if the build breaks.
    #[arg(long, requires = "verify")]
    pub(super) broken_code: bool,
    /// Exit with status 1 if there is anything to change; write nothing.
    #[arg(long, conflicts_with = "apply")]
    pub(super) check: bool,
    /// Apply even if the git work tree has uncommitted changes.
    #[arg(long)]
    pub(super) allow_dirty: bool,
    /// Apply even if the workspace is not under version control.
    #[arg(long)]
    pub(super) allow_no_vcs: bool,
}

/// What is printed and how, shared by `edition` and `upgrade`.
#[derive(Args, Debug, Clone)]
pub(super) struct OutputArgs {
    /// Output format of the changes.
    #[arg(long, value_enum, default_value_t = Format::Diff)]
    pub(super) format: Format,
    /// When to use colors.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub(super) color: ColorChoice,
    /// Print only errors.
    #[arg(short, long, conflicts_with = "verbose")]
    pub(super) quiet: bool,
    /// Print more (repeat for debug logs).
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub(super) verbose: u8,
}

/// The compiler phase's flags, shared by `edition` and `upgrade`.
#[derive(Args, Debug, Clone)]
pub(super) struct BuildArgs {
    /// Syntax only: skip the compiler phase (`cargo check` with the migration lints, or
    /// against the new release for `upgrade`).
    #[arg(help_heading = "Compiler phase", long)]
    pub(super) no_compiler: bool,
    /// Features to enable in the compiler phase (comma-separated or repeated).
    #[arg(help_heading = "Compiler phase", short = 'F', long, value_name = "FEATURES", value_delimiter = ',')]
    pub(super) features: Vec<String>,
    /// Enable all features in the compiler phase (tried by default when no feature flag is given).
    #[arg(help_heading = "Compiler phase", long)]
    pub(super) all_features: bool,
    /// Do not enable the default features in the compiler phase.
    #[arg(help_heading = "Compiler phase", long)]
    pub(super) no_default_features: bool,
    /// Check with the default features only (without it and without a feature flag, the
    /// compiler phase tries `--all-features` first).
    #[arg(help_heading = "Compiler phase", long, conflicts_with_all = ["features", "all_features", "no_default_features"])]
    pub(super) default_features: bool,
    /// Target triple for the compiler phase.
    #[arg(help_heading = "Compiler phase", long, value_name = "TRIPLE")]
    pub(super) target: Option<String>,
    /// Check the library (with other kinds given: those kinds only); default: every target,
    /// as `cargo check --all-targets`.
    #[arg(help_heading = "Compiler phase", long)]
    pub(super) lib: bool,
    /// Check the binaries.
    #[arg(help_heading = "Compiler phase", long)]
    pub(super) bins: bool,
    /// Check the test targets (integration tests, and the library's and
    /// binaries' unit tests).
    #[arg(help_heading = "Compiler phase", long)]
    pub(super) tests: bool,
    /// Check the examples.
    #[arg(help_heading = "Compiler phase", long)]
    pub(super) examples: bool,
    /// Check the benches.
    #[arg(help_heading = "Compiler phase", long)]
    pub(super) benches: bool,
    /// Check every target (the default).
    #[arg(help_heading = "Compiler phase", long, conflicts_with_all = ["lib", "bins", "tests", "examples", "benches"])]
    pub(super) all_targets: bool,
}

/// The model flags, shared by `edition` (the judge) and `upgrade` (the judge of pack
/// choices and `--repair`).
#[derive(Args, Debug, Clone)]
pub(super) struct LlmArgs {
    /// Model for the sites heuristics cannot decide: an Ollama server, any
    /// OpenAI-compatible server (llama.cpp's llama-server, vLLM, LM Studio), only the
    /// verdicts cached by earlier runs (`replay`, offline and reproducible), or none.
    #[arg(long, value_enum, default_value_t = LlmKind::Ollama, value_name = "KIND")]
    pub(super) llm: LlmKind,
    /// Model name (default: `qwen2.5-coder:7b` for Ollama; required for `openai`).
    #[arg(long, value_name = "NAME")]
    pub(super) model: Option<String>,
    /// Server URL (default: `$OLLAMA_HOST` or http://127.0.0.1:11434 for Ollama,
    /// http://127.0.0.1:8080 for `openai`).
    #[arg(long, value_name = "URL")]
    pub(super) llm_url: Option<String>,
    /// Seconds to wait for one answer. After a timeout the model is not asked again in the
    /// run; all of a run's questions share a budget of 300 seconds
    /// (`CARGO_MIGRATE_LLM_BUDGET=SECS` changes it).
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub(super) llm_timeout: u64,
    /// Environment variable holding an API key for `openai` servers that need one.
    #[arg(long, value_name = "VAR")]
    pub(super) llm_api_key_env: Option<String>,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub(super) enum LlmKind {
    /// An Ollama server (`ollama serve`; `ollama pull MODEL` first).
    Ollama,
    /// An OpenAI-compatible `/v1/chat/completions` endpoint.
    Openai,
    /// Only verdicts cached by earlier runs: no server, reproducible.
    Replay,
    /// No model: undecided sites keep today's behaviour, marked needs-review.
    None,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub(super) enum ColorChoice {
    /// Colors when writing to a terminal.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

pub(super) fn clap_cargo_styles() -> clap::builder::Styles {
    use anstyle::{AnsiColor, Effects};
    clap::builder::Styles::styled()
        .header(AnsiColor::Green.on_default().effects(Effects::BOLD))
        .usage(AnsiColor::Green.on_default().effects(Effects::BOLD))
        .literal(AnsiColor::Cyan.on_default().effects(Effects::BOLD))
        .placeholder(AnsiColor::Cyan.on_default())
}

pub(super) const UPGRADE_HELP: &str = "\
Examples:
  cargo migrate upgrade                           # which dependencies the built-in packs can move
  cargo migrate upgrade rand                      # dry run: the diff to rand's newest release a pack reaches
  cargo migrate upgrade rand@0.9 --apply --verify # write it, then `cargo check`; take back what breaks
  cargo migrate upgrade rand --interactive        # review each change (y/n/a/d/e/?/q), then write
  cargo migrate upgrade --pack path/to/pack.toml  # with your own pack (preferred over all others)

Packs are found in this order: --pack files; a `migrations/` folder shipped inside the
crate's own package (a path dependency's folder, or the target release in cargo's
registry, fetched if needed); the packs built into cargo-migrate. Steps are chained
(0.7 -> 0.8 -> 0.9). After the rewrite and the bump of Cargo.toml, `cargo check` runs
against the new release (in a temporary copy: a dry run writes nothing); what it says
about the crate is matched against the packs again, and what is left is listed.

With --verify the new release stays: changes are taken back only where that leaves fewer
errors, and the errors left are listed as the sites to finish by hand (exit status 2);
--all-or-nothing takes the whole upgrade back instead.

Exit status: 0 done, 1 changes remain (with --check), 2 error.";

#[derive(Args, Debug)]
#[command(group(clap::ArgGroup::new("writes").args(["apply", "interactive"]).multiple(true)))]
pub(super) struct UpgradeArgs {
    /// The dependency to upgrade, optionally with the release to reach: `rand`, `rand@0.9`.
    /// Taken from the --pack files when absent; without either, lists the dependencies the
    /// built-in packs can move.
    #[arg(value_name = "CRATE[@VERSION]")]
    pub(super) spec: Option<String>,
    /// A migration pack to use (repeatable); preferred over shipped and built-in packs.
    #[arg(long = "pack", value_name = "FILE")]
    pub(super) packs: Vec<PathBuf>,
    #[command(flatten)]
    pub(super) select: SelectArgs,
    #[command(flatten)]
    pub(super) write: WriteArgs,
    /// After --apply, ask the model (--llm) to repair the errors the packs and the
    /// compiler phase leave: each proposal is kept only if `cargo check` then shows the
    /// error gone and no new error; kept repairs are marked needs-review.
    #[arg(long, requires = "apply")]
    pub(super) repair: bool,
    /// With --verify, take the whole upgrade back (the release too) when the build is
    /// worse than before. By default --verify keeps the new release and the changes it
    /// needs, takes back only the changes that make the build worse, and lists the sites
    /// left for you.
    #[arg(long, requires = "verify")]
    pub(super) all_or_nothing: bool,
    /// Explain each compile error or deprecation the upgrade leaves (after --verify: the
    /// errors still there), for this code, with the packs' notes (a model's text with
    /// --llm, else the message and the notes). Proposed code is --repair's, gated by
    /// `cargo check`.
    #[arg(long)]
    pub(super) explain_left: bool,
    #[command(flatten)]
    pub(super) llm: LlmArgs,
    #[command(flatten)]
    pub(super) out: OutputArgs,
    #[command(flatten)]
    pub(super) build: BuildArgs,
}

#[derive(Subcommand, Debug)]
pub(super) enum PackCommand {
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
