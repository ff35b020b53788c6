//! The code is formatted as `cargo fmt` (with the repository's `rustfmt.toml`) leaves it.

use std::process::Command;

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

#[test]
fn the_code_is_formatted() {
    // rustfmt is a toolchain component: install it if this toolchain lacks it.
    if !cargo().args(["fmt", "--version"]).output().is_ok_and(|o| o.status.success()) {
        let added = Command::new("rustup").args(["component", "add", "rustfmt"]).status();
        assert!(added.is_ok_and(|s| s.success()), "rustfmt is missing and `rustup component add rustfmt` failed");
    }
    let out = cargo().args(["fmt", "--check"]).current_dir(env!("CARGO_MANIFEST_DIR")).output().expect("run cargo fmt");
    assert!(
        out.status.success(),
        "`cargo fmt --check` found unformatted code (run `cargo fmt`):\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
