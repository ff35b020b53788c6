//! Exit statuses that the README promises, end to end: code the run could not check
//! makes the status 2, whatever the reason.

use std::path::Path;
use std::process::Command;

fn crate_with(dir: &Path, lib: &str) {
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(dir.join("Cargo.toml"), "[package]\nname = \"holes\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n").unwrap();
    std::fs::write(dir.join("src/lib.rs"), lib).unwrap();
}

fn run(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_cargo-migrate"))
        .args(["edition", "--color", "never", "--no-compiler", "--llm", "none", "--manifest-path"])
        .arg(dir.join("Cargo.toml"))
        .args(args)
        .env("CARGO_TARGET_DIR", dir.join("target"))
        .output()
        .unwrap();
    (out.status.code().expect("an exit status"), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// `mod missing;` with no `missing.rs` is code the run did not check, like a file that
/// cannot be read: an error, status 2, while the rest is still migrated. A module behind a
/// cfg that is off here may have no file, and is not an error.
#[test]
fn a_mod_without_a_file_is_an_error_with_status_2_and_the_rest_is_migrated() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("holes");
    crate_with(&dir, "mod missing;\n#[cfg(any())]\nmod elsewhere;\n\npub fn gen() {}\n");
    let (code, stdout, stderr) = run(&dir, &[]);
    assert_eq!(code, 2, "{stderr}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors, ["error: src/lib.rs: module file not found (src/missing.rs or src/missing/mod.rs): that module was not checked"], "{stderr}");
    assert!(!stderr.contains("elsewhere"), "{stderr}");
    assert!(stdout.contains("+pub fn r#gen() {}"), "the rest is migrated: {stdout}");

    // Same status as a file that cannot be read.
    std::fs::write(dir.join("src/missing.rs"), [0xff, 0xfe]).unwrap();
    let (code, _, stderr) = run(&dir, &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("src/missing.rs: not valid UTF-8"), "{stderr}");

    // With the file there, nothing is wrong.
    std::fs::write(dir.join("src/missing.rs"), "pub fn f() {}\n").unwrap();
    let (code, _, stderr) = run(&dir, &[]);
    assert_eq!(code, 0, "{stderr}");
}
