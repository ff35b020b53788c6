//! The compiler phase end to end: a crate with one site per type-aware Rust 2024 lint
//! (`tests/fixtures/compiler-lints`), migrated by the real binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

mod common;
use common::redact;

fn fixture_copy() -> (tempfile::TempDir, PathBuf) {
    common::fixture_copy("compiler-lints")
}

fn migrate(dir: &Path, args: &[&str]) -> Output {
    common::edition_in(dir, args)
}

fn json(dir: &Path, args: &[&str]) -> Value {
    let out = migrate(dir, &[&["--format", "json"], args].concat());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn by_rule(doc: &Value) -> Vec<(String, u64)> {
    doc["summary"]["by_rule"].as_object().unwrap().iter().map(|(k, v)| (k.clone(), v.as_u64().unwrap())).collect()
}

#[test]
fn every_type_aware_lint_becomes_a_change_and_the_result_builds() {
    let (_tmp, dir) = fixture_copy();
    let doc = json(&dir, &[]);
    let expected: Vec<(String, u64)> = [
        ("boxed_slice_into_iter", 1),
        ("dependency_on_unit_never_type_fallback", 1),
        ("edition-manifest", 1),
        ("impl_trait_overcaptures", 1),
        ("keyword-gen", 1),
        ("rust_2024_incompatible_pat", 1),
        ("rust_2024_prelude_collisions", 1),
        ("static_mut_refs", 3),
        ("unsafe_op_in_unsafe_fn", 1),
    ]
    .iter()
    .map(|(r, n)| (r.to_string(), *n))
    .collect();
    assert_eq!(by_rule(&doc), expected);

    let changes = doc["changes"].as_array().unwrap();
    let decided = |rule: &str| changes.iter().find(|c| c["rule"] == rule).unwrap()["decided_by"]["kind"].as_str().unwrap().to_string();
    assert_eq!(decided("keyword-gen"), "rule", "a site the syntactic rule covers appears once, as the rule's");
    assert_eq!(decided("impl_trait_overcaptures"), "compiler");
    let safety = |rule: &str| changes.iter().find(|c| c["rule"] == rule).unwrap()["safety"].as_str().unwrap().to_string();
    assert_eq!(safety("static_mut_refs"), "needs-review");
    // The judge keeps this `if let`: the guard is released earlier and `else` does not
    // touch the lock (cargo fix would rewrite it to a `match`).
    let verdicts = doc["verdicts"].as_array().unwrap();
    let rescope = verdicts.iter().find(|v| v["rule"] == "if_let_rescope").expect("an if_let_rescope verdict");
    assert_eq!(rescope["option"], "keep-if-let");
    assert_eq!(rescope["decided_by"]["kind"], "heuristic");
    let tail = verdicts.iter().find(|v| v["rule"] == "tail_expr_drop_order").expect("a tail_expr_drop_order verdict");
    assert_eq!(tail["option"], "review", "both destructors print: the order is visible");
    assert_eq!(safety("boxed_slice_into_iter"), "safe");

    // The whole document: the changes with their edits, the verdicts, and the diagnostics
    // (tail_expr_drop_order reported for review, a `$x:expr` fragment kept as `expr`).
    insta::assert_snapshot!("every_lint_json", redact(&serde_json::to_string_pretty(&doc).unwrap()));

    // Apply, then the crate builds on edition 2024 and a second run finds nothing.
    let out = migrate(&dir, &["--apply", "--allow-no-vcs"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let lib = std::fs::read_to_string(dir.join("src/lib.rs")).unwrap();
    assert!(lib.contains("let r = &*&raw const COUNTER;"), "{lib}");
    assert!(lib.contains("(&mut *&raw mut LIST).push(1);"), "{lib}");
    assert!(lib.contains("(&*&raw const LIST).len()"), "{lib}");
    assert!(lib.contains("impl Iterator<Item = u8> + use<>"), "{lib}");
    let check = Command::new(env!("CARGO"))
        .args(["check", "--all-targets", "--manifest-path"])
        .arg(dir.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", dir.join("target"))
        .output()
        .unwrap();
    assert!(check.status.success(), "migrated crate does not build:\n{}", String::from_utf8_lossy(&check.stderr));
    assert!(std::fs::read_to_string(dir.join("Cargo.toml")).unwrap().contains("edition = \"2024\""));
    let again = json(&dir, &[]);
    assert_eq!(again["changes"].as_array().unwrap().len(), 0, "second run: {again:#}");
}

#[test]
fn no_compiler_runs_syntax_only_and_only_filters_lints() {
    let (_tmp, dir) = fixture_copy();
    let syntax_only = json(&dir, &["--no-compiler"]);
    assert_eq!(by_rule(&syntax_only), [("edition-manifest".to_string(), 1), ("keyword-gen".to_string(), 1)]);
    assert!(!dir.join("target").exists(), "--no-compiler must not build");
    let only = json(&dir, &["--only", "static_mut_refs"]);
    assert_eq!(by_rule(&only), [("static_mut_refs".to_string(), 3)]);
}

#[test]
fn a_crate_that_does_not_build_still_gets_the_syntactic_rules() {
    let (_tmp, dir) = fixture_copy();
    let lib = dir.join("src/lib.rs");
    let text = std::fs::read_to_string(&lib).unwrap();
    std::fs::write(&lib, format!("{text}\npub fn broken() -> u8 {{ \"not a number\" }}\n")).unwrap();
    let doc = json(&dir, &[]);
    let rules: Vec<String> = by_rule(&doc).into_iter().map(|(r, _)| r).collect();
    assert_eq!(rules, ["edition-manifest", "keyword-gen"]);
    // The compiler phase was skipped, and the diagnostics say why.
    insta::assert_snapshot!("crate_that_does_not_build_diagnostics", redact(&serde_json::to_string_pretty(&doc["diagnostics"]).unwrap()));
}

/// A nightly-only bench (`#![feature]` on stable) fails whatever the features: the phase
/// keeps the lints of the rest of the crate and runs `cargo check` once, not a second
/// time with other features. A failure that features could change (a type error behind a
/// feature) still gets the second configuration, on that target only: its lints join the
/// first configuration's, and no whole second `cargo check` is run; a re-run knows that
/// target in advance.
#[test]
fn a_target_that_fails_whatever_the_features_costs_no_second_check() {
    let checks = |dir: &Path| checks_logged(dir, &[]);
    let (_tmp, dir) = fixture_copy();
    std::fs::create_dir_all(dir.join("benches")).unwrap();
    std::fs::write(dir.join("benches/nightly.rs"), "#![feature(test)]\nextern crate test;\nfn main() {}\n").unwrap();
    let (runs, doc) = checks(&dir);
    assert_eq!(runs.len(), 1, "one cargo check: {runs:?}");
    assert!(by_rule(&doc).iter().any(|(r, _)| r == "static_mut_refs"), "the library's lints are kept: {doc:#}");
    // A target broken only with all features: the default configuration is tried too.
    let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
    std::fs::write(dir.join("Cargo.toml"), format!("{manifest}\n[features]\nextra = []\n")).unwrap();
    // A lint only the library's unit tests show (`--all-targets` builds them).
    let lib = std::fs::read_to_string(dir.join("src/lib.rs")).unwrap();
    let unit = "#[cfg(test)]\nmod unit {\n    static mut UNIT_HITS: u32 = 0;\n    #[test]\n    fn t() {\n        let n = unsafe { &UNIT_HITS };\n        assert_eq!(*n, 0);\n    }\n}\n";
    std::fs::write(dir.join("src/lib.rs"), format!("{lib}\n{unit}")).unwrap();
    let unit_line = lib.lines().count() + 7;
    std::fs::remove_file(dir.join("benches/nightly.rs")).unwrap();
    std::fs::write(
        dir.join("benches/gated.rs"),
        "#[cfg(feature = \"extra\")]\nconst X: u8 = \"no\";\nstatic mut HITS: u32 = 0;\nfn main() {\n    let n = unsafe { &HITS };\n    println!(\"{n}\");\n}\n",
    )
    .unwrap();
    let (runs, doc) = checks(&dir);
    assert_eq!(runs.len(), 2, "a second cargo check with the default features: {runs:?}");
    assert!(runs[0].contains("\"--all-targets\"") && runs[0].contains("\"--all-features\""), "{}", runs[0]);
    assert!(runs[1].contains("\"--bench\" \"gated\"") && !runs[1].contains("--all-targets") && !runs[1].contains("--all-features"), "{}", runs[1]);
    // The bench's lint, found with the default features, beside the library's.
    let changes = doc["changes"].as_array().unwrap();
    let gated: Vec<&Value> = changes.iter().filter(|c| c["file"] == "benches/gated.rs").collect();
    assert_eq!(gated.len(), 1, "{doc:#}");
    assert_eq!(gated[0]["rule"], "static_mut_refs");
    assert_eq!(gated[0]["decided_by"]["name"], "default features", "{:#}", gated[0]);
    assert!(changes.iter().any(|c| c["file"] == "src/lib.rs" && c["rule"] == "static_mut_refs"), "{doc:#}");
    assert!(changes.iter().any(|c| c["file"] == "src/lib.rs" && c["line"] == unit_line), "the unit test's lint: {doc:#}");
    assert!(!doc["diagnostics"].to_string().contains("did not build"), "{:#}", doc["diagnostics"]);
    // A re-run remembers the target that failed with all features (nothing changed since):
    // the others are checked with them, that one with the default features, and it is not
    // failed again (cargo would rebuild a failed target on every run). Same findings.
    // The library's unit tests are checked in test mode (no flag names them alone), and
    // the library itself, which no integration test brings, as it is.
    let (again, doc_again) = checks(&dir);
    assert_eq!(again.len(), 3, "{again:?}");
    assert!(again[0].contains("\"--profile\" \"test\" \"-p\"") && again[0].contains("\"--lib\"") && again[0].contains("\"--all-features\""), "{}", again[0]);
    assert!(!again[0].contains("--all-targets") && !again[0].contains("\"gated\""), "{}", again[0]);
    assert!(again[1].contains("\"--lib\"") && again[1].contains("\"--all-features\"") && !again[1].contains("\"--profile\""), "{}", again[1]);
    assert_eq!(again[2], runs[1]);
    assert_eq!(doc_again["changes"], doc["changes"]);
    assert_eq!(doc_again["diagnostics"], doc["diagnostics"]);
    // With an integration test, which brings the library as it is, the test-mode run is
    // all it takes besides the failed target: two runs (tokio's shape). Same findings as
    // the whole way.
    std::fs::create_dir_all(dir.join("tests")).unwrap();
    std::fs::write(dir.join("tests/it.rs"), "static mut IT: u32 = 0;\n#[test]\nfn it() {\n    let n = unsafe { &IT };\n    assert_eq!(*n, 0);\n}\n").unwrap();
    let (whole, doc_whole) = checks(&dir);
    assert_eq!(whole.len(), 2, "{whole:?}");
    let (merged, doc_merged) = checks(&dir);
    assert_eq!(merged.len(), 2, "{merged:?}");
    assert!(merged[0].contains("\"--profile\" \"test\" \"-p\"") && merged[0].contains("\"--lib\"") && merged[0].contains("\"--test\" \"it\""), "{}", merged[0]);
    assert_eq!(merged[1], runs[1]);
    assert_eq!(doc_merged["changes"], doc_whole["changes"]);
    assert_eq!(doc_merged["diagnostics"], doc_whole["diagnostics"]);
    assert!(doc_merged["changes"].as_array().unwrap().iter().any(|c| c["file"] == "tests/it.rs"), "{doc_merged:#}");
    // Once the target builds with all features, the record is forgotten: the whole way.
    let gated = std::fs::read_to_string(dir.join("benches/gated.rs")).unwrap();
    std::fs::write(dir.join("benches/gated.rs"), gated.replace("const X: u8 = \"no\";", "const X: u8 = 1;")).unwrap();
    let (fixed, _) = checks(&dir);
    assert_eq!(fixed.len(), 1, "{fixed:?}");
    assert!(fixed[0].contains("\"--all-targets\"") && fixed[0].contains("\"--all-features\""), "{}", fixed[0]);
}

/// The runs of `cargo check` the tool logs (`CARGO_MIGRATE_LOG=info`) and its JSON
/// document, for `edition --format json` with `args` (and `CARGO_INCREMENTAL` only if
/// `incremental` gives it).
fn checks_logged_with(dir: &Path, args: &[&str], incremental: Option<&str>) -> (Vec<String>, Value) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cargo-migrate"));
    cmd.args(["edition", "--color", "never", "--format", "json", "--manifest-path"])
        .arg(dir.join("Cargo.toml"))
        .args(args)
        .env("CARGO_TARGET_DIR", dir.join("target"))
        .env("CARGO_MIGRATE_LOG", "info")
        .env_remove("CARGO_INCREMENTAL");
    if let Some(value) = incremental {
        cmd.env("CARGO_INCREMENTAL", value);
    }
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let runs = stderr.lines().filter(|l| l.contains("running") && l.contains("\"check\"")).map(str::to_string).collect();
    (runs, serde_json::from_slice(&out.stdout).unwrap())
}

fn checks_logged(dir: &Path, args: &[&str]) -> (Vec<String>, Value) {
    checks_logged_with(dir, args, None)
}

/// `--lib` (like cargo's target selection flags) narrows the compiler phase to the
/// library: one `cargo check --lib`, the library's lints, none from an integration test;
/// the changes say which configuration verified them. `--default-features` skips the
/// `--all-features` attempt. Without them, every target, all features first.
#[test]
fn target_kinds_narrow_the_compiler_phase() {
    let (_tmp, dir) = fixture_copy();
    std::fs::create_dir_all(dir.join("tests")).unwrap();
    std::fs::write(dir.join("tests/hits.rs"), "static mut HITS: u32 = 0;\n#[test]\nfn t() {\n    let n = unsafe { &HITS };\n    assert_eq!(*n, 0);\n}\n")
        .unwrap();
    let in_test = |doc: &Value| doc["changes"].as_array().unwrap().iter().filter(|c| c["file"] == "tests/hits.rs").count();
    let (runs, doc) = checks_logged(&dir, &["--lib"]);
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert!(runs[0].contains("\"--lib\"") && !runs[0].contains("--all-targets"), "{}", runs[0]);
    // Without incremental state (a one-off analysis), unless the user asks for it.
    assert!(runs[0].contains("CARGO_INCREMENTAL=\"0\""), "{}", runs[0]);
    let (runs, _) = checks_logged_with(&dir, &["--lib"], Some("1"));
    assert!(!runs[0].contains("CARGO_INCREMENTAL"), "{}", runs[0]);
    assert_eq!(in_test(&doc), 0, "{doc:#}");
    let lib = doc["changes"].as_array().unwrap().iter().find(|c| c["file"] == "src/lib.rs" && c["rule"] == "static_mut_refs").expect("the library's lint");
    assert_eq!(lib["decided_by"]["name"], "--all-features --lib", "{lib:#}");
    // `--default-features`: no `--all-features` attempt.
    let (runs, doc) = checks_logged(&dir, &["--lib", "--default-features"]);
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert!(!runs[0].contains("--all-features"), "{}", runs[0]);
    let lib = doc["changes"].as_array().unwrap().iter().find(|c| c["file"] == "src/lib.rs" && c["rule"] == "static_mut_refs").expect("the library's lint");
    assert_eq!(lib["decided_by"]["name"], "default features --lib", "{lib:#}");
    let (runs, doc) = checks_logged(&dir, &[]);
    assert!(runs[0].contains("\"--all-targets\""), "{}", runs[0]);
    assert_eq!(in_test(&doc), 1, "{doc:#}");
}

/// `--verify` after an edition migration whose code builds costs one `cargo check` (of
/// the migrated code, the targets asked for): the build before it is checked only when
/// the migrated code has errors, to tell those it had from those it brings.
#[test]
fn verify_of_a_migration_that_builds_is_one_check() {
    let (_tmp, dir) = fixture_copy();
    let (runs, doc) = checks_logged(&dir, &["--apply", "--verify", "--allow-no-vcs", "--lib"]);
    assert_eq!(runs.len(), 2, "the compiler phase's and verify's: {runs:?}");
    assert!(runs[1].contains("\"--lib\"") && runs[1].contains("\"--quiet\"") && !runs[1].contains("--all-features"), "{}", runs[1]);
    assert!(std::fs::read_to_string(dir.join("Cargo.toml")).unwrap().contains("edition = \"2024\""));
    assert!(!doc["changes"].as_array().unwrap().is_empty());
    // Syntax only, the targets asked for still decide what verify builds.
    let plain = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(plain.path().join("src")).unwrap();
    std::fs::write(plain.path().join("Cargo.toml"), "[package]\nname = \"plain\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n").unwrap();
    std::fs::write(plain.path().join("src/lib.rs"), "pub fn gen() {}\n").unwrap();
    let (runs, _) = checks_logged(plain.path(), &["--no-compiler", "--apply", "--verify", "--allow-no-vcs", "--lib"]);
    assert_eq!(runs.len(), 1, "verify's only: {runs:?}");
    assert!(runs[0].contains("\"--lib\"") && !runs[0].contains("--all-targets"), "{}", runs[0]);
}

/// A `static mut` named `gen` and a reference to it: the compiler's `static_mut_refs`
/// rewrite and the `keyword-gen` rule both insert before `gen` in `&gen`; so do a
/// prelude-collision fix and `keyword-gen` before a receiver named `gen`. The migrated
/// crate compiles on 2024 (it read `&r#*&raw const gen` once: `r#` went first).
#[test]
fn a_static_mut_named_gen_migrates_to_code_that_builds() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("g");
    common::write_file(&dir, "Cargo.toml", "[package]\nname = \"g\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n");
    common::write_file(
        &dir,
        "src/lib.rs",
        "static mut gen: u32 = 0;\n\npub fn read() -> u32 {\n    let r = unsafe { &gen };\n    *r\n}\n\npub trait Meow {\n    fn into_future(&self) -> u32;\n}\n\nimpl Meow for u32 {\n    fn into_future(&self) -> u32 {\n        *self\n    }\n}\n\npub mod calls {\n    use super::Meow;\n\n    pub fn call(gen: u32) -> u32 {\n        gen.into_future()\n    }\n}\n",
    );
    let out = migrate(&dir, &["--apply", "--allow-no-vcs", "--llm", "none"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let lib = std::fs::read_to_string(dir.join("src/lib.rs")).unwrap();
    assert!(lib.contains("&*&raw const r#gen") && lib.contains("Meow::into_future(&r#gen)") && !lib.contains("r#Meow"), "{lib}");
    let check = Command::new("cargo")
        .args(["check", "--quiet", "--manifest-path"])
        .arg(dir.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", dir.join("target"))
        .output()
        .unwrap();
    assert!(check.status.success(), "{lib}\n{}", String::from_utf8_lossy(&check.stderr));
}

/// `cargo check` of the crate in `dir`, into `dir/target`: whether it builds, and its stderr.
fn builds(dir: &Path) -> (bool, String) {
    let check = Command::new(env!("CARGO"))
        .args(["check", "--all-targets", "--manifest-path"])
        .arg(dir.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", dir.join("target"))
        .output()
        .unwrap();
    (check.status.success(), String::from_utf8_lossy(&check.stderr).into_owned())
}

/// A crate on Rust 2015 (no `edition` key) reaches 2024 in one run: each step's lints, as
/// one diff whose headers name the step, and the manifest moved once. Its root file is one
/// syn cannot read before the 2018 changes (an anonymous parameter, `async` as a name): its
/// module is found anyway, and the syntactic rules run on it after the compiler's changes.
#[test]
fn a_2015_crate_moves_to_2024_in_one_run_and_builds() {
    let (_tmp, dir) = common::fixture_copy("edition-2015");
    let out = migrate(&dir, &["--llm", "none"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    insta::assert_snapshot!("edition_2015_diff", redact(&String::from_utf8_lossy(&out.stdout)));
    insta::assert_snapshot!("edition_2015_stderr", redact(&String::from_utf8_lossy(&out.stderr)));
    let doc = json(&dir, &["--llm", "none"]);
    let expected: Vec<(String, u64)> = [
        ("absolute_paths_not_starting_with_crate", 1),
        ("anonymous_parameters", 1),
        ("array_into_iter", 1),
        ("bare_trait_objects", 2),
        ("edition-manifest", 1),
        ("ellipsis_inclusive_range_patterns", 1),
        ("keyword-gen", 1),
        ("keyword_idents_2018", 1),
        ("non_fmt_panics", 1),
        ("rust_2021_incompatible_or_patterns", 1),
        ("rust_2021_prelude_collisions", 1),
        // In the file syn could not read, the compiler's change stands for the rule's.
        ("unsafe_attr_outside_unsafe", 1),
    ]
    .iter()
    .map(|(r, n)| (r.to_string(), *n))
    .collect();
    assert_eq!(by_rule(&doc), expected);

    let out = migrate(&dir, &["--apply", "--allow-no-vcs", "--llm", "none"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
    assert!(manifest.contains("version = \"0.1.0\"\nedition = \"2024\"\n"), "{manifest}");
    let (ok, stderr) = builds(&dir);
    assert!(ok, "the migrated crate does not build on 2024:\n{stderr}");
    let again = json(&dir, &["--llm", "none"]);
    assert_eq!(again["changes"].as_array().unwrap().len(), 0, "second run: {again:#}");
}

/// `--to 2021` stops there: the 2018 and 2021 steps only, no rule of 2024, `edition =
/// "2021"`; the result builds.
#[test]
fn to_2021_stops_at_2021() {
    let (_tmp, dir) = common::fixture_copy("edition-2015");
    let doc = json(&dir, &["--to", "2021", "--llm", "none"]);
    let rules: Vec<String> = by_rule(&doc).into_iter().map(|(r, _)| r).collect();
    assert!(rules.contains(&"keyword_idents_2018".to_string()) && rules.contains(&"array_into_iter".to_string()), "{rules:?}");
    assert!(!rules.iter().any(|r| r == "keyword-gen" || r == "unsafe-attributes" || r.contains("2024")), "2024's rules ran: {rules:?}");
    let out = migrate(&dir, &["--to", "2021", "--apply", "--allow-no-vcs", "--llm", "none"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(std::fs::read_to_string(dir.join("Cargo.toml")).unwrap().contains("edition = \"2021\""));
    let lib = std::fs::read_to_string(dir.join("src/lib.rs")).unwrap();
    assert!(lib.contains("#[no_mangle]") && lib.contains("fn r#async"), "{lib}");
    let (ok, stderr) = builds(&dir);
    assert!(ok, "the migrated crate does not build on 2021:\n{stderr}");
    // Then the rest of the way.
    let doc = json(&dir, &["--llm", "none"]);
    assert_eq!(by_rule(&doc), [("edition-manifest".to_string(), 1), ("keyword-gen".to_string(), 1), ("unsafe-attributes".to_string(), 1)]);
}
