//! How the tool runs cargo: the build configuration (features, target), the `cargo check`
//! command every check starts from, and this binary acting as `RUSTC_WORKSPACE_WRAPPER`
//! to force the migration lints on workspace members.

use std::path::Path;
use std::process::Command;

/// Environment variable that makes the binary act as a rustc wrapper.
pub const WRAPPER_ENV: &str = "__CARGO_MIGRATE_RUSTC_WRAPPER";

/// If this process was started as a rustc wrapper by the compiler phase, runs rustc with
/// the migration lints forced to warn and returns its exit status. The lints are those of
/// every edition step from the crate's edition (its `--edition` flag) to 2024: a 2015
/// crate gets the 2018, 2021 and 2024 groups at once. Always up to 2024, whatever edition
/// the migration stops at, so that cargo's cached messages of an earlier run are the same
/// messages (the phase leaves out the steps beyond its target).
pub fn run_as_wrapper_if_asked() -> Option<i32> {
    std::env::var_os(WRAPPER_ENV)?;
    let mut args = std::env::args_os().skip(1);
    let rustc = args.next()?;
    let rest: Vec<_> = args.collect();
    let mut cmd = Command::new(rustc);
    cmd.args(&rest);
    // Only real compilations, not `rustc -vV` probes.
    if rest.iter().any(|a| a == "--crate-name") {
        // The phase collects lints; the crate's own `deny`s must not stop the build.
        for group in lint_groups(&rest) {
            cmd.arg(format!("--force-warn={group}"));
        }
        cmd.arg("--cap-lints=warn");
    }
    // rustc takes this process's place: no second process waits beside each compilation.
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        let error = cmd.exec();
        eprintln!("cargo-migrate: cannot run rustc: {error}");
        Some(101)
    }
    #[cfg(not(unix))]
    Some(cmd.status().map(|s| s.code().unwrap_or(101)).unwrap_or(101))
}

/// The lint groups to force on a compilation with these rustc arguments.
fn lint_groups(args: &[std::ffi::OsString]) -> Vec<&'static str> {
    use crate::core::edition::{steps, Edition};
    let edition = args
        .iter()
        .enumerate()
        .find_map(|(i, a)| {
            let a = a.to_str()?;
            a.strip_prefix("--edition=").or_else(|| (a == "--edition").then(|| args.get(i + 1)?.to_str()).flatten())
        })
        .and_then(Edition::parse)
        .unwrap_or(Edition::E2015);
    let groups: Vec<&'static str> = steps(edition, Edition::E2024).map(|s| s.lint_group).collect();
    if groups.is_empty() {
        // Already on 2024 (`--from`): the last step's lints, which find what is left.
        vec![crate::core::edition::STEPS[2].lint_group]
    } else {
        groups
    }
}

/// The feature and target flags passed to `cargo check`.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BuildConfig {
    /// `--features`.
    pub features: Vec<String>,
    /// `--all-features`.
    pub all_features: bool,
    /// `--no-default-features`.
    pub no_default_features: bool,
    /// The default features only, asked for (`--default-features`: no `--all-features`
    /// attempt first). Adds no flag for cargo.
    #[serde(default)]
    pub default_features: bool,
    /// `--target`.
    pub target: Option<String>,
    /// The kinds of targets checked (`--lib`, `--tests`, ...); none named: every target
    /// (`--all-targets`), the default.
    #[serde(default)]
    pub targets: Vec<TargetKind>,
}

/// A kind of target, as cargo's selection flags name them (`--lib`, `--bins`, `--tests`,
/// `--examples`, `--benches`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TargetKind {
    /// The library (`--lib`).
    Lib,
    /// Every binary (`--bins`).
    Bins,
    /// Every target with `test = true`: integration tests, the library's and binaries'
    /// unit tests (`--tests`).
    Tests,
    /// Every example (`--examples`).
    Examples,
    /// Every bench (`--benches`).
    Benches,
}

impl TargetKind {
    /// Cargo's flag.
    pub fn flag(self) -> &'static str {
        match self {
            TargetKind::Lib => "--lib",
            TargetKind::Bins => "--bins",
            TargetKind::Tests => "--tests",
            TargetKind::Examples => "--examples",
            TargetKind::Benches => "--benches",
        }
    }
}

/// `cargo check --all-targets --keep-going --message-format=json` on `manifest` for
/// `packages` (`-p` specs) with `config`'s flags (its target kinds instead of
/// `--all-targets` if it names some): the command every `cargo check` of the tool starts
/// from. `--keep-going` reports every target's errors, not only those of
/// whichever target failed first.
pub fn check_command(manifest: &Path, packages: &[String], config: &BuildConfig) -> Command {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let mut cmd = Command::new(cargo);
    cmd.arg("check").args(config.target_args()).args(["--keep-going", "--message-format=json"]).arg("--manifest-path").arg(manifest);
    for p in packages {
        cmd.args(["-p", p]);
    }
    cmd.args(config.args());
    cmd
}

/// [`check_command`] for some targets only (`("test", "io_read_line")`: `--test
/// io_read_line`) instead of `--all-targets`; with `unit_tests`, the library and binaries
/// as their unit tests are built (`--profile test`: what `--all-targets` adds to them).
pub fn check_targets_command(manifest: &Path, packages: &[String], config: &BuildConfig, targets: &[(String, String)], unit_tests: bool) -> Command {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let mut cmd = Command::new(cargo);
    cmd.args(["check", "--keep-going", "--message-format=json"]).arg("--manifest-path").arg(manifest);
    if unit_tests {
        cmd.args(["--profile", "test"]);
    }
    for p in packages {
        cmd.args(["-p", p]);
    }
    for (kind, name) in targets {
        match kind.as_str() {
            // A package has one library: `--lib` takes no name.
            "lib" | "rlib" | "dylib" | "cdylib" | "staticlib" | "proc-macro" => cmd.arg("--lib"),
            _ => cmd.arg(format!("--{kind}")).arg(name),
        };
    }
    cmd.args(config.args());
    cmd
}

impl BuildConfig {
    /// Whether no feature flag was given: the compiler phase then tries `--all-features`
    /// first, and the default features after.
    pub fn no_feature_flags(&self) -> bool {
        self.features.is_empty() && !self.all_features && !self.no_default_features && !self.default_features
    }

    /// Whether every target is checked (no target kind named): what the failed-target
    /// record and the retries of another configuration assume.
    pub fn all_targets(&self) -> bool {
        self.targets.is_empty()
    }

    /// The target selection flags for cargo: `--all-targets`, or the kinds named.
    pub fn target_args(&self) -> Vec<&'static str> {
        if self.targets.is_empty() {
            vec!["--all-targets"]
        } else {
            self.targets.iter().map(|k| k.flag()).collect()
        }
    }

    /// The feature and platform flags for cargo (the targets are [`Self::target_args`]).
    pub fn args(&self) -> Vec<String> {
        let mut args = Vec::new();
        if !self.features.is_empty() {
            args.push(format!("--features={}", self.features.join(",")));
        }
        if self.all_features {
            args.push("--all-features".into());
        }
        if self.no_default_features {
            args.push("--no-default-features".into());
        }
        if let Some(t) = &self.target {
            args.push(format!("--target={t}"));
        }
        args
    }

    /// How the configuration is shown next to a change it verified.
    pub fn describe(&self) -> String {
        let mut args = self.args();
        if args.is_empty() {
            args.push("default features".into());
        }
        if !self.all_targets() {
            args.extend(self.target_args().into_iter().map(String::from));
        }
        args.join(" ")
    }
}
