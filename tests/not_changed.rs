//! The "not changed" report end to end: every site a rule or lint saw and did not change
//! is listed with why, in the summary on stderr, in `--format json` (`unchanged`) and in
//! SARIF. Each reason is produced here for real, by the binary on a crate that has it:
//!
//! | reason             | where it is decided               | test                                   |
//! |--------------------|-----------------------------------|----------------------------------------|
//! | `judged-to-keep`   | the judge (a heuristic)           | `the_demo_without_the_compiler_...`    |
//! | `compiler-skipped` | `--no-compiler`; a crate that does not build | `the_demo_...`, `a_crate_that_does_not_build_...` |
//! | `filtered`         | `--only` / `--skip` (rules, lints) | `the_demo_...`, `only_one_lint_...`    |
//! | `needs-review`     | the judge; a lint without a fix; a rule's site left by hand | `only_one_lint_...`, `a_rule_leaves_...` |
//! | `conflict`         | the plan                          | `a_change_that_overlaps_...`           |
//! | `foreign-macro`    | the compiler phase                | `a_lint_in_another_crates_macro_...`   |
//! | `held-back`        | the pipeline                      | `a_package_with_a_broken_file_...`     |
//! | `reverted`         | `--verify`                        | `changes_verify_takes_back_...`        |

use std::collections::BTreeSet;
use std::process::Output;

use serde_json::Value;

mod common;
use common::{demo_at, edition_in, redact, write_file};

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The "Not changed" section of a run's stderr (up to the summary line).
fn section(out: &Output) -> String {
    let err = stderr(out);
    let start = err.find("Not changed: ").unwrap_or_else(|| panic!("no `Not changed` section:\n{err}"));
    let end = err[start..].find("\nSummary: ").map_or(err.len(), |e| start + e + 1);
    redact(&err[start..end])
}

/// The `unchanged` entries of a document with this reason, as (file, line, rule).
fn sites(doc: &Value, reason: &str) -> Vec<(Option<String>, Option<u64>, String)> {
    doc["unchanged"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["reason"] == reason)
        .map(|u| (u["file"].as_str().map(String::from), u["line"].as_u64(), u["rule"].as_str().unwrap().to_string()))
        .collect()
}

/// The changes of a document as (file, line, rule).
fn changes(doc: &Value) -> Vec<(Option<String>, Option<u64>, String)> {
    doc["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["file"].as_str().map(String::from), c["line"].as_u64(), c["rule"].as_str().unwrap().to_string()))
        .collect()
}

fn sorted<T: Ord>(mut v: Vec<T>) -> Vec<T> {
    v.sort();
    v
}

/// The lints only the compiler phase checks (no syntactic rule covers them).
const TYPE_AWARE_LINTS: [&str; 10] = [
    "boxed_slice_into_iter",
    "dependency_on_unit_never_type_fallback",
    "if_let_rescope",
    "impl_trait_overcaptures",
    "never_type_fallback_flowing_into_unsafe",
    "rust_2024_incompatible_pat",
    "rust_2024_prelude_collisions",
    "static_mut_refs",
    "tail_expr_drop_order",
    "unsafe_op_in_unsafe_fn",
];

/// The demo, syntax only, without keyword-gen: the `if let` the heuristic keeps, the lints
/// the compiler phase would have checked, and every `gen` that `--skip` leaves as it is —
/// exactly the keyword-gen changes of the same run without `--skip`.
#[test]
fn the_demo_without_the_compiler_and_keyword_gen_lists_what_it_left() {
    let tmp = tempfile::tempdir().unwrap();
    demo_at(tmp.path(), "demo");
    let dir = tmp.path().join("demo");
    let all = edition_in(&dir, &["--no-compiler", "--format", "json"]);
    assert!(all.status.success(), "{}", stderr(&all));
    let all = json(&all);
    let out = edition_in(&dir, &["--no-compiler", "--skip", "keyword-gen", "--format", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let doc = json(&out);

    let keyword_gen: Vec<_> = changes(&all).into_iter().filter(|c| c.2 == "keyword-gen").collect();
    assert_eq!(keyword_gen.len(), 14);
    assert_eq!(sorted(sites(&doc, "filtered")), sorted(keyword_gen), "every skipped change is listed, none else");
    assert!(!changes(&doc).iter().any(|c| c.2 == "keyword-gen"));
    assert_eq!(sites(&doc, "judged-to-keep"), [(Some("src/lib.rs".into()), Some(101), "if-let-guard-method".into())]);
    let kept = doc["unchanged"].as_array().unwrap().iter().find(|u| u["reason"] == "judged-to-keep").unwrap();
    assert_eq!(kept["decided_by"]["kind"], "heuristic");
    let skipped: Vec<_> = sites(&doc, "compiler-skipped");
    assert_eq!(skipped, TYPE_AWARE_LINTS.iter().map(|l| (None, None, l.to_string())).collect::<Vec<_>>());
    assert_eq!(doc["summary"]["unchanged"], 25);
    assert_eq!(doc["summary"]["unchanged_by_reason"], serde_json::json!({"compiler-skipped": 10, "filtered": 14, "judged-to-keep": 1}));
    // Every entry of the run without --skip is in this one too: skipping adds, hides nothing.
    let before: BTreeSet<String> = all["unchanged"].as_array().unwrap().iter().map(|u| u.to_string()).collect();
    let after: BTreeSet<String> = doc["unchanged"].as_array().unwrap().iter().map(|u| u.to_string()).collect();
    assert!(before.is_subset(&after), "{before:#?}\n{after:#?}");

    // For a person: one line per site, the skipped lints on one line.
    let text = edition_in(&dir, &["--no-compiler", "--skip", "keyword-gen"]);
    insta::assert_snapshot!("demo_skip_keyword_gen_no_compiler", section(&text));

    // SARIF: a site kept on purpose passes, the lints not checked are open, a skipped
    // change is a result suppressed from outside the code.
    let sarif = edition_in(&dir, &["--no-compiler", "--skip", "keyword-gen", "--format", "sarif"]);
    let sarif = json(&sarif);
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    let of = |reason: &str| results.iter().filter(|r| r["properties"]["unchanged"] == reason).collect::<Vec<_>>();
    let pass = of("judged-to-keep");
    assert_eq!(pass.len(), 1);
    assert_eq!((&pass[0]["kind"], &pass[0]["level"]), (&Value::from("pass"), &Value::from("none")));
    assert_eq!(pass[0]["locations"][0]["physicalLocation"]["region"]["startLine"], 101);
    let open = of("compiler-skipped");
    assert_eq!(open.len(), 10);
    assert!(open.iter().all(|r| r["kind"] == "open" && r["level"] == "none" && r.get("locations").is_none()), "{open:#?}");
    let suppressed = of("filtered");
    assert_eq!(suppressed.len(), 14);
    assert!(suppressed.iter().all(|r| r["suppressions"][0]["kind"] == "external" && r["ruleId"] == "keyword-gen" && r["kind"].is_null()), "{suppressed:#?}");
    // Each result's rule is described.
    let described: BTreeSet<&str> = sarif["runs"][0]["tool"]["driver"]["rules"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert!(results.iter().all(|r| described.contains(r["ruleId"].as_str().unwrap())));
}

/// Skipping any one rule of the demo lists exactly what that rule does in a run without
/// `--skip`: its changes (a doc test's included, at the comment's line) and the sites it
/// gives the judge.
#[test]
fn skipping_each_rule_lists_exactly_its_changes_and_sites() {
    let tmp = tempfile::tempdir().unwrap();
    demo_at(tmp.path(), "demo");
    let dir = tmp.path().join("demo");
    let all = json(&edition_in(&dir, &["--no-compiler", "--format", "json"]));
    let verdicts = |doc: &Value| -> Vec<(Option<String>, Option<u64>, String)> {
        doc["verdicts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| (v["file"].as_str().map(String::from), v["line"].as_u64(), v["rule"].as_str().unwrap().to_string()))
            .collect()
    };
    let rules: BTreeSet<String> = changes(&all).into_iter().chain(verdicts(&all)).map(|c| c.2).collect();
    assert_eq!(rules.len(), 8, "every rule has work in the demo: {rules:?}");
    assert!(changes(&all).contains(&(Some("src/lib.rs".into()), Some(114), "unsafe-std-functions".into())), "a doc test's change");
    for rule in &rules {
        let doc = json(&edition_in(&dir, &["--no-compiler", "--format", "json", "--skip", rule]));
        let expected: Vec<_> = changes(&all).into_iter().chain(verdicts(&all)).filter(|c| c.2 == *rule).collect();
        assert_eq!(sorted(sites(&doc, "filtered")), sorted(expected), "--skip {rule}");
    }
}

/// With the compiler and `--only static_mut_refs`, every other lint's changes and judge
/// sites and every other rule's changes are listed as left out by the filter: the union
/// of the filtered sites and the kept changes is what the unfiltered run found. The
/// unfiltered run lists the `tail_expr_drop_order` site a person must review, and the
/// `if let` the heuristic keeps.
#[test]
fn only_one_lint_lists_every_other_finding_and_review_sites_are_listed() {
    let (_tmp, dir) = common::fixture_copy("compiler-lints");
    let all = edition_in(&dir, &["--format", "json"]);
    assert!(all.status.success(), "{}", stderr(&all));
    let all = json(&all);
    assert_eq!(sites(&all, "needs-review"), [(Some("src/lib.rs".into()), Some(88), "tail_expr_drop_order".into())]);
    assert_eq!(sites(&all, "judged-to-keep"), [(Some("src/lib.rs".into()), Some(66), "if_let_rescope".into())]);
    let review = all["unchanged"].as_array().unwrap().iter().find(|u| u["reason"] == "needs-review").unwrap();
    assert!(review["detail"].as_str().unwrap().starts_with("`review` by heuristic: In Rust 2024 the temporaries of this block's tail expression"), "{review}");
    assert!(
        !all["diagnostics"].as_array().unwrap().iter().any(|d| d["line"] == 88),
        "the site is reported once, in the report, not also as a warning: {all:#}"
    );

    let out = edition_in(&dir, &["--only", "static_mut_refs", "--format", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let doc = json(&out);
    assert!(changes(&doc).iter().all(|c| c.2 == "static_mut_refs"));
    let found: Vec<_> = changes(&all)
        .into_iter()
        .chain(
            all["verdicts"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| (v["file"].as_str().map(String::from), v["line"].as_u64(), v["rule"].as_str().unwrap().to_string())),
        )
        .filter(|c| c.2 != "static_mut_refs")
        .collect();
    assert_eq!(sorted(sites(&doc, "filtered")), sorted(found), "{doc:#}");
    assert!(sites(&doc, "needs-review").is_empty() && sites(&doc, "judged-to-keep").is_empty(), "{doc:#}");
}

/// `unsafe-std-functions` wraps `set_var(..)` in `unsafe { }`; the compiler's fix for the
/// prelude collision replaces the whole call around it. The two overlap: the rule's change
/// is made, the lint's is listed as a conflict (not a warning among the diagnostics).
#[test]
fn a_change_that_overlaps_another_is_listed_as_a_conflict() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("conflict");
    write_file(&dir, "Cargo.toml", "[package]\nname = \"conflict\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n");
    write_file(
        &dir,
        "src/lib.rs",
        "pub trait Meow {\n    fn into_future(&self) -> u32 {\n        1\n    }\n}\n\nimpl Meow for () {}\n\npub fn set() -> u32 {\n    let n = std::env::set_var(\"MEOW\", \"1\").into_future();\n    n\n}\n",
    );
    let out = edition_in(&dir, &["--format", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let doc = json(&out);
    assert_eq!(sites(&doc, "conflict"), [(Some("src/lib.rs".into()), Some(10), "rust_2024_prelude_collisions".into())]);
    assert!(changes(&doc).contains(&(Some("src/lib.rs".into()), Some(10), "unsafe-std-functions".into())));
    assert_eq!(doc["diagnostics"], serde_json::json!([]), "{doc:#}");
    let text = edition_in(&dir, &[]);
    insta::assert_snapshot!("conflict", section(&text));
}

/// A macro of a dependency writes a function whose `impl Sized` captures more in 2024:
/// rustc reports it in the dependency's file, expanded at the invocation. Nothing in the
/// user's file can fix it; the site is listed at the invocation, naming the macro.
#[test]
fn a_lint_in_another_crates_macro_is_listed_at_the_invocation() {
    let (_tmp, root) = common::fixture_copy("foreign-macro");
    let app = root.join("app");
    let out = edition_in(&app, &["--format", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let doc = json(&out);
    assert_eq!(sites(&doc, "foreign-macro"), [(Some("src/lib.rs".into()), Some(3), "impl_trait_overcaptures".into())]);
    let entry = &doc["unchanged"][0];
    assert!(entry["detail"].as_str().unwrap().contains("(in `dep::first_len!`, written at "), "{entry}");
    assert_eq!(changes(&doc), [(Some("Cargo.toml".into()), Some(4), "edition-manifest".into())]);
    assert_eq!(doc["diagnostics"], serde_json::json!([]), "{doc:#}");
    let text = edition_in(&app, &[]);
    insta::assert_snapshot!("foreign_macro", section(&text));
}

/// A file that does not parse keeps its package's changes back: each is listed, and they
/// are exactly the changes the package has once the file is gone.
#[test]
fn a_package_with_a_broken_file_lists_the_changes_it_holds_back() {
    let tmp = tempfile::tempdir().unwrap();
    demo_at(tmp.path(), "demo");
    let dir = tmp.path().join("demo");
    let whole = json(&edition_in(&dir, &["--no-compiler", "--format", "json"]));
    let lib = std::fs::read_to_string(dir.join("src/lib.rs")).unwrap();
    std::fs::write(dir.join("src/lib.rs"), format!("{lib}pub mod broken;\n")).unwrap();
    write_file(&dir, "src/broken.rs", "fn broken() {\n    let = 1;\n}\n");
    let out = edition_in(&dir, &["--no-compiler", "--format", "json"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let doc = json(&out);
    assert_eq!(doc["changes"], serde_json::json!([]));
    // The line of `src/lib.rs`'s own changes did not move (the module is appended).
    assert_eq!(sorted(sites(&doc, "held-back")), sorted(changes(&whole)));
    let held = doc["unchanged"].as_array().unwrap().iter().find(|u| u["reason"] == "held-back").unwrap();
    assert_eq!(held["detail"], "package `edition-demo` is left as it is: src/broken.rs could not be processed");
    let text = edition_in(&dir, &["--no-compiler"]);
    insta::assert_snapshot!("held_back", section(&text));
}

/// Rust 2024 denies a reference to a `static mut`; without the compiler phase's rewrite
/// the new edition breaks the build and `--verify` takes the changes back: both listed.
#[test]
fn changes_verify_takes_back_are_listed_as_reverted() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("static-mut");
    write_file(&dir, "Cargo.toml", "[package]\nname = \"static-mut\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n");
    write_file(
        &dir,
        "src/lib.rs",
        "static mut COUNTER: u32 = 0;\n\npub fn gen() -> &'static u32 {\n    unsafe {\n        COUNTER += 1;\n        &COUNTER\n    }\n}\n",
    );
    let args = ["--no-compiler", "--apply", "--verify", "--allow-no-vcs", "--only", "edition-manifest,keyword-gen", "--format", "json"];
    let out = edition_in(&dir, &args);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let doc = json(&out);
    assert_eq!(
        sites(&doc, "reverted"),
        [(Some("Cargo.toml".into()), Some(4), "edition-manifest".into()), (Some("src/lib.rs".into()), Some(3), "keyword-gen".into())]
    );
    let details: Vec<&str> = doc["unchanged"].as_array().unwrap().iter().map(|u| u["detail"].as_str().unwrap()).collect();
    assert!(details[0].ends_with("(the build was still worse than before)") && details[1].ends_with("(its file still had a new error)"), "{details:?}");
    assert!(std::fs::read_to_string(dir.join("src/lib.rs")).unwrap().contains("pub fn gen()"), "reverted on disk too");
}

/// A crate that does not build: the compiler phase is skipped, and the lints it would
/// have checked are listed with why.
#[test]
fn a_crate_that_does_not_build_lists_the_lints_not_checked() {
    let (_tmp, dir) = common::fixture_copy("compiler-lints");
    let lib = std::fs::read_to_string(dir.join("src/lib.rs")).unwrap();
    std::fs::write(dir.join("src/lib.rs"), format!("{lib}\npub fn broken() -> u8 {{ \"not a number\" }}\n")).unwrap();
    let doc = json(&edition_in(&dir, &["--format", "json", "--skip", "static_mut_refs"]));
    let skipped = sites(&doc, "compiler-skipped");
    let expect: Vec<_> = TYPE_AWARE_LINTS.iter().filter(|l| **l != "static_mut_refs").map(|l| (None, None, l.to_string())).collect();
    assert_eq!(skipped, expect, "the lint --skip leaves out is not listed as skipped");
    let entry = doc["unchanged"].as_array().unwrap().iter().find(|u| u["reason"] == "compiler-skipped").unwrap();
    assert_eq!(entry["detail"], "the crate does not build as it is");
}

/// A rule that sees a site it does not rewrite (a function value of `set_var`, whose
/// callers need `unsafe`) lists it for review, once, not as a warning as well; with the
/// rule skipped, the same site is listed as left out by the filter.
#[test]
fn a_rule_leaves_a_site_for_review_and_the_filter_lists_it_too() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("fn-value");
    write_file(&dir, "Cargo.toml", "[package]\nname = \"fn-value\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n");
    write_file(&dir, "src/lib.rs", "pub fn setter() -> fn(&str, &str) {\n    std::env::set_var::<&str, &str>\n}\n");
    let doc = json(&edition_in(&dir, &["--no-compiler", "--format", "json"]));
    assert_eq!(sites(&doc, "needs-review"), [(Some("src/lib.rs".into()), Some(2), "unsafe-std-functions".into())]);
    assert_eq!(doc["diagnostics"], serde_json::json!([]), "{doc:#}");
    let entry = doc["unchanged"].as_array().unwrap().iter().find(|u| u["reason"] == "needs-review").unwrap();
    assert_eq!(entry["detail"], "`set_var` is an `unsafe fn` in Rust 2024: wherever this function value is called needs an `unsafe` block");
    let skipped = json(&edition_in(&dir, &["--no-compiler", "--format", "json", "--skip", "unsafe-std-functions"]));
    assert_eq!(sites(&skipped, "filtered"), [(Some("src/lib.rs".into()), Some(2), "unsafe-std-functions".into())]);
    assert!(sites(&skipped, "needs-review").is_empty());
}
