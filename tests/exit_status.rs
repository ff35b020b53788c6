//! Exit statuses that the README promises, end to end: code the run could not check
//! makes the status 2, whatever the reason.

use std::path::Path;
use std::process::Command;

mod common;

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
/// cannot be read: an error, status 2, and the package is left whole (its changes land
/// together or not at all). A module behind a cfg that is off here may have no file, and
/// is not an error.
#[test]
fn a_mod_without_a_file_is_an_error_with_status_2_and_its_package_is_left_whole() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("holes");
    crate_with(&dir, "mod missing;\n#[cfg(any())]\nmod elsewhere;\n\npub fn gen() {}\n");
    let (code, stdout, stderr) = run(&dir, &[]);
    assert_eq!(code, 2, "{stderr}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(
        errors,
        [
            "error: package `holes` is left as it is (2 change(s) held back, a package's changes land together or not at all): src/lib.rs: module file not found (src/missing.rs or src/missing/mod.rs): that module was not checked; fix it and run again",
            "error: src/lib.rs: module file not found (src/missing.rs or src/missing/mod.rs): that module was not checked",
        ],
        "{stderr}"
    );
    assert!(!stderr.contains("elsewhere"), "{stderr}");
    assert_eq!(stdout, "", "nothing of the package is shown as a change: it would not be written");

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

/// Commits everything in `dir` (a new repository the first time), with git isolated in
/// the test's temporary folder.
fn commit_all(dir: &Path) {
    let (root, name) = (dir.parent().unwrap(), dir.file_name().unwrap().to_str().unwrap());
    if !dir.join(".git").exists() {
        return common::commit_all(root, name);
    }
    common::git_in(root, name, &["add", "-A"]);
    common::git_in(root, name, &["commit", "-q", "-m", "state"]);
}

/// A file that does not parse leaves its whole package as it is, manifest included: the
/// bump to 2024 must not land while a file was never migrated (the next run would say
/// "already on edition 2024" and the crate would be stranded half-way). A package that
/// was stranded that way by hand is finished with `--from 2021`.
#[test]
fn a_file_that_does_not_parse_holds_back_its_package_and_from_2021_finishes_a_stranded_one() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("holes");
    crate_with(&dir, "mod broken;\n\npub fn gen() {}\n");
    std::fs::write(dir.join("src/broken.rs"), "pub fn half( {\n").unwrap();
    commit_all(&dir);
    let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
    let (code, _, stderr) = run(&dir, &["--apply"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("package `holes` is left as it is"), "{stderr}");
    assert_eq!(std::fs::read_to_string(dir.join("Cargo.toml")).unwrap(), manifest, "the manifest did not move alone");
    assert_eq!(std::fs::read_to_string(dir.join("src/lib.rs")).unwrap(), "mod broken;\n\npub fn gen() {}\n");

    // Stranded by hand (or by an older tool): the manifest says 2024, lib.rs is 2021 code.
    std::fs::write(dir.join("src/broken.rs"), "pub fn half() {}\n").unwrap();
    std::fs::write(dir.join("Cargo.toml"), manifest.replace("2021", "2024")).unwrap();
    commit_all(&dir);
    let (code, stdout, stderr) = run(&dir, &[]);
    assert_eq!((code, stdout.as_str()), (0, ""), "{stderr}");
    assert!(stderr.contains("`--from 2021` migrates its code again"), "{stderr}");
    let (code, _, stderr) = run(&dir, &["--from", "2021", "--apply"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(std::fs::read_to_string(dir.join("src/lib.rs")).unwrap(), "mod broken;\n\npub fn r#gen() {}\n");
}

/// A file that only cfg-disabled declarations reach is not compiled in this
/// configuration (serde_json's `features_check`: text that exists to fail the build when
/// neither `std` nor `alloc` is on, declared inside a macro invocation under that cfg):
/// that it does not parse is a warning, and the package is migrated without it.
#[test]
fn a_file_that_does_not_parse_behind_a_disabled_cfg_does_not_hold_back_its_package() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("gated");
    let lib = "macro_rules! hide {\n    ($m:item) => {\n        $m\n    };\n}\n\n#[cfg(not(any(feature = \"std\", feature = \"alloc\")))]\nhide! {\n    mod broken;\n}\n\npub fn gen() {}\n";
    crate_with(&dir, lib);
    let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
    std::fs::write(dir.join("Cargo.toml"), format!("{manifest}\n[features]\ndefault = [\"std\"]\nstd = []\nalloc = []\n")).unwrap();
    std::fs::write(dir.join("src/broken.rs"), "\"enable `std` or `alloc`\"\n").unwrap();
    commit_all(&dir);
    let (code, _, stderr) = run(&dir, &["--apply"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("warning: src/broken.rs:1: cannot parse, file skipped") && stderr.contains("not compiled in this configuration"), "{stderr}");
    assert!(std::fs::read_to_string(dir.join("src/lib.rs")).unwrap().contains("pub fn r#gen() {}"));
    // The same file reached by a declaration that is compiled holds the package back.
    std::fs::write(dir.join("src/lib.rs"), "mod broken;\n\npub fn gen() {}\n").unwrap();
    commit_all(&dir);
    let (code, _, stderr) = run(&dir, &["--apply", "--from", "2021"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("is left as it is"), "{stderr}");
}

/// A module file that is a symbolic link is migrated through the link: the file it
/// points to changes, the link stays a link.
#[cfg(unix)]
#[test]
fn a_symlinked_module_file_is_written_through_and_stays_a_link() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("linked");
    crate_with(&dir, "mod shared;\n");
    std::fs::create_dir_all(dir.join("common")).unwrap();
    std::fs::write(dir.join("common/shared.rs"), "pub fn gen() {}\n").unwrap();
    std::os::unix::fs::symlink("../common/shared.rs", dir.join("src/shared.rs")).unwrap();
    commit_all(&dir);
    let (code, _, stderr) = run(&dir, &["--apply"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(std::fs::symlink_metadata(dir.join("src/shared.rs")).unwrap().file_type().is_symlink(), "the link was replaced");
    assert_eq!(std::fs::read_to_string(dir.join("common/shared.rs")).unwrap(), "pub fn r#gen() {}\n");
}

/// The dry run's compiler phase makes `Cargo.lock` and `target/` in a crate that has no
/// `.gitignore` (any crate from the registry). They are cargo's, not the user's work: the
/// `--apply` the dry run suggests next is not refused for them; a file of the user's is.
#[test]
fn what_cargo_made_during_a_dry_run_does_not_block_apply() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("fresh");
    crate_with(&dir, "pub fn gen() {}\n");
    commit_all(&dir);
    let dry = Command::new(env!("CARGO_BIN_EXE_cargo-migrate"))
        .args(["edition", "--color", "never", "--llm", "none", "--manifest-path"])
        .arg(dir.join("Cargo.toml"))
        .env_remove("CARGO_TARGET_DIR")
        .output()
        .unwrap();
    assert!(dry.status.success(), "{}", String::from_utf8_lossy(&dry.stderr));
    assert!(dir.join("Cargo.lock").is_file() && dir.join("target/CACHEDIR.TAG").is_file(), "the compiler phase built in the crate");
    std::fs::write(dir.join("notes.txt"), "mine\n").unwrap();
    let (code, _, stderr) = run(&dir, &["--apply"]);
    assert_eq!(code, 2);
    let listed: Vec<&str> = stderr.lines().filter(|l| l.starts_with("  ")).collect();
    assert_eq!(listed, ["  ?? notes.txt"], "only the user's file makes the tree dirty: {stderr}");
    std::fs::remove_file(dir.join("notes.txt")).unwrap();
    let (code, _, stderr) = run(&dir, &["--apply"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(std::fs::read_to_string(dir.join("src/lib.rs")).unwrap(), "pub fn r#gen() {}\n");
}
