//! The code is formatted as `cargo fmt` (with the repository's `rustfmt.toml`) leaves it,
//! and no file the repository tracks holds a merge's conflict markers.

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

/// A merge left `<<<<<<< HEAD` .. `>>>>>>> branch` in a rule's documentation once, which
/// `cargo migrate explain` printed as it was.
#[test]
fn no_tracked_file_holds_conflict_markers() {
    let root = env!("CARGO_MANIFEST_DIR");
    let out = Command::new("git").args(["ls-files", "-z"]).current_dir(root).output().expect("run git ls-files");
    assert!(out.status.success(), "git ls-files: {}", String::from_utf8_lossy(&out.stderr));
    let files: Vec<String> = String::from_utf8_lossy(&out.stdout).split('\0').filter(|f| !f.is_empty()).map(String::from).collect();
    assert!(files.iter().any(|f| f == "tests/style.rs"), "git lists the repository's files");
    let mut found = Vec::new();
    for file in &files {
        let Ok(text) = std::fs::read_to_string(std::path::Path::new(root).join(file)) else { continue };
        for (i, line) in text.lines().enumerate() {
            if line.starts_with("<<<<<<< ") || line.starts_with(">>>>>>> ") {
                found.push(format!("{file}:{}: {line}", i + 1));
            }
        }
    }
    assert!(found.is_empty(), "conflict markers:\n{}", found.join("\n"));
}
