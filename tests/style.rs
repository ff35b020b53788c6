//! The code is formatted as `cargo fmt` (with the repository's `rustfmt.toml`) leaves it.

use std::process::Command;

#[test]
fn the_code_is_formatted() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out =
        Command::new(cargo).args(["fmt", "--check"]).current_dir(env!("CARGO_MANIFEST_DIR")).output().expect("run cargo fmt (rustup component add rustfmt)");
    assert!(
        out.status.success(),
        "`cargo fmt --check` found unformatted code (run `cargo fmt`):\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
