//! How the tool runs cargo: the build configuration (features, target), the `cargo check`
//! command every check starts from, and this binary acting as `RUSTC_WORKSPACE_WRAPPER`
//! to force the migration lints on workspace members.

use std::path::Path;
use std::process::Command;

/// The lint group rustc uses for the 2024 migration.
const LINT_GROUP: &str = "rust-2024-compatibility";

/// Environment variable that makes the binary act as a rustc wrapper.
pub const WRAPPER_ENV: &str = "__CARGO_MIGRATE_RUSTC_WRAPPER";

/// If this process was started as a rustc wrapper by the compiler phase, runs rustc with
/// the migration lints forced to warn and returns its exit status.
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
        cmd.arg(format!("--force-warn={LINT_GROUP}")).arg("--cap-lints=warn");
    }
    Some(cmd.status().map(|s| s.code().unwrap_or(101)).unwrap_or(101))
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
    /// `--target`.
    pub target: Option<String>,
}

/// `cargo check --all-targets --keep-going --message-format=json` on `manifest` for
/// `packages` (`-p` specs) with `config`'s flags: the command every `cargo check` of the
/// tool starts from. `--keep-going` reports every target's errors, not only those of
/// whichever target failed first.
pub fn check_command(manifest: &Path, packages: &[String], config: &BuildConfig) -> Command {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let mut cmd = Command::new(cargo);
    cmd.args(["check", "--all-targets", "--keep-going", "--message-format=json"]).arg("--manifest-path").arg(manifest);
    for p in packages {
        cmd.args(["-p", p]);
    }
    cmd.args(config.args());
    cmd
}

/// [`check_command`] for some targets only (`("test", "io_read_line")`: `--test
/// io_read_line`) instead of `--all-targets`.
pub fn check_targets_command(manifest: &Path, packages: &[String], config: &BuildConfig, targets: &[(String, String)]) -> Command {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let mut cmd = Command::new(cargo);
    cmd.args(["check", "--keep-going", "--message-format=json"]).arg("--manifest-path").arg(manifest);
    for p in packages {
        cmd.args(["-p", p]);
    }
    for (kind, name) in targets {
        cmd.arg(format!("--{kind}")).arg(name);
    }
    cmd.args(config.args());
    cmd
}

impl BuildConfig {
    /// The flags for cargo.
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
        let args = self.args();
        if args.is_empty() {
            "default features".into()
        } else {
            args.join(" ")
        }
    }
}
