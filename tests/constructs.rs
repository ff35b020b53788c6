//! The constructs `cargo fix --edition` leaves broken on 2024 (issue 13), each a crate in
//! `tests/fixtures/constructs/`: migrated by the real binary, the crate builds on 2024,
//! prints what it printed on 2021, and a second run changes nothing.
//!
//! - `static-mut-implicit`: references to a `static mut` made by a `ref` binding, a
//!   formatting macro (argument and inline capture) and a `macro_rules!` body through a
//!   metavariable;
//! - `tail-borrow`: a block's tail temporary borrowed by the block's value (E0716 on 2024);
//! - `never-fallback`: never-type fallback into `unsafe` code where rustc suggests
//!   no annotation (inside a macro, a union's field, a generic type's method).

use std::path::Path;
use std::process::{Command, Output};

mod common;

fn fixture(name: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    common::fixture_copy(&format!("constructs/{name}"))
}

/// `cargo run` of the crate in `dir`: its stdout and cargo's output, or the failure.
fn run(dir: &Path) -> (String, String) {
    let out: Output = Command::new(env!("CARGO"))
        .args(["run", "--quiet", "--manifest-path"])
        .arg(dir.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", dir.join("target"))
        .env("CARGO_TERM_COLOR", "never")
        .output()
        .unwrap();
    assert!(out.status.success(), "{} does not build or run:\n{}", dir.display(), String::from_utf8_lossy(&out.stderr));
    (String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
}

/// Migrates the fixture `name` with `--apply`: returns its output on 2021, the diff the
/// migration printed, and its output on 2024, after checking that the manifest says 2024
/// and that a second run finds nothing.
fn migrate_and_run(name: &str) -> (String, String, String) {
    let (_tmp, dir) = fixture(name);
    let (before, _) = run(&dir);
    let dry = common::edition_in(&dir, &["--llm", "none"]);
    assert!(dry.status.success(), "{}", String::from_utf8_lossy(&dry.stderr));
    let diff = String::from_utf8(dry.stdout).unwrap();
    let out = common::edition_in(&dir, &["--apply", "--allow-no-vcs", "--llm", "none"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("Not changed"), "every site is changed:\n{stderr}");
    assert!(std::fs::read_to_string(dir.join("Cargo.toml")).unwrap().contains("edition = \"2024\""));
    let (after, cargo) = run(&dir);
    // No 2024 lint is left (the fixtures lower deny-by-default ones to warnings).
    assert!(!cargo.contains("warning"), "{cargo}");
    let again = common::edition_in(&dir, &["--format", "json", "--llm", "none"]);
    let doc: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(doc["changes"].as_array().unwrap().len(), 0, "second run: {doc:#}");
    (before, diff, after)
}

#[test]
fn implicit_references_to_a_static_mut_become_raw_pointers() {
    let (before, diff, after) = migrate_and_run("static-mut-implicit");
    assert_eq!(after, before);
    assert!(diff.contains("+        let ref seen = *&raw const COUNT;"), "{diff}");
    assert!(diff.contains("+        let ref mut slot = *&raw mut COUNT;"), "{diff}");
    assert!(diff.contains("+        println!(\"capture {COUNT} {COUNT:>4}\", COUNT = *&raw const COUNT);"), "{diff}");
    // At the invocation, not in the macro: other invocations may pass places that are
    // not statics.
    assert!(diff.contains("+        bump!((*&raw mut PAIR));") && !diff.contains("+        *&mut"), "{diff}");
    insta::assert_snapshot!("static_mut_implicit_diff", diff);
}

#[test]
fn a_borrowed_tail_temporary_lives_to_the_end_of_its_statement() {
    let (before, diff, after) = migrate_and_run("tail-borrow");
    // The destructors of the parenthesised tails run where they ran (after `measure`).
    assert_eq!(after, before);
    assert!(before.contains("make plain\nmeasure plain\ndrop plain\n"), "{before}");
    insta::assert_snapshot!("tail_borrow_diff", diff);
}

#[test]
fn never_fallback_without_a_suggestion_is_annotated_as_unit() {
    let (before, diff, after) = migrate_and_run("never-fallback");
    // Unmigrated on 2024, `zeroed::<!>()` panics before `done`.
    assert_eq!(after, before);
    assert!(diff.contains("+        let _: () = msg_send!();"), "{diff}");
    assert!(diff.contains("+        unsafe { ::core::convert::identity::<()>(Either { unit: () }.value) }"), "{diff}");
    insta::assert_snapshot!("never_fallback_diff", diff);
}

/// The `objc` shape for real: the macro is another crate's (a path dependency, not a
/// member), invoked as a statement here. rustc reports the fallback in the dependency's
/// file; the annotation goes on the invocation, in this crate.
#[test]
fn never_fallback_in_another_crates_macro_is_annotated_at_the_invocation() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    common::write_file(root, "dep/Cargo.toml", "[package]\nname = \"dep\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n");
    common::write_file(
        root,
        "dep/src/lib.rs",
        "/// # Safety\n/// `R` must be valid when zeroed.\npub unsafe fn send<R>() -> Result<R, ()> {\n    Ok(unsafe { std::mem::zeroed() })\n}\n\n#[macro_export]\nmacro_rules! msg_send {\n    () => {\n        match $crate::send::<_>() {\n            Ok(x) => x,\n            Err(_) => loop {},\n        }\n    };\n}\n",
    );
    common::write_file(
        root,
        "app/Cargo.toml",
        "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\ndep = { path = \"../dep\" }\n\n[workspace]\n",
    );
    common::write_file(
        root,
        "app/src/main.rs",
        "#![warn(never_type_fallback_flowing_into_unsafe)]\n\nfn main() {\n    unsafe {\n        dep::msg_send!();\n    }\n    println!(\"sent\");\n}\n",
    );
    let dir = root.join("app");
    let (before, _) = run(&dir);
    let out = common::edition_in(&dir, &["--apply", "--allow-no-vcs", "--llm", "none"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let main = std::fs::read_to_string(dir.join("src/main.rs")).unwrap();
    assert!(main.contains("        let _: () = dep::msg_send!();\n"), "{main}");
    assert!(std::fs::read_to_string(root.join("dep/src/lib.rs")).unwrap().contains("$crate::send::<_>()"), "the dependency is not touched");
    let (after, cargo) = run(&dir);
    assert_eq!(after, before);
    assert!(!cargo.contains("warning: never type fallback"), "{cargo}");
}
