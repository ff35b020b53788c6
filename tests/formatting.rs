//! Output a maintainer keeps: a crate that was `rustfmt`-clean before the migration is
//! still clean after it, under the same style edition (`syntax::layout` lays out the
//! blocks and `match`es the migration makes). On a fixture with each shape once
//! (`tests/fixtures/layout`), and on real crates of the corpus (`../shared/corpus`, fetched
//! from crates.io with its `fetch.sh`) that were `cargo fmt --check`-clean and get
//! `unsafe` blocks. The figures are in `docs/formatting.md`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod common;

fn ok(out: &Output, what: &str) -> String {
    assert!(out.status.success(), "{what} failed:\n{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `rustfmt --check` of the crate's `src/lib.rs` (which `mod`s it follows) with the given
/// edition and style edition: the diff it would make, empty when clean.
fn rustfmt_diff(dir: &Path, edition: &str, style: &str) -> String {
    let out = Command::new("rustfmt")
        .args(["--check", "--edition", edition, "--style-edition", style])
        .arg(dir.join("src/lib.rs"))
        .current_dir(dir)
        .output()
        .expect("rustfmt is installed (rustup component add rustfmt)");
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

#[test]
fn the_fixture_migrated_is_still_rustfmt_clean_and_builds() {
    let (_tmp, dir) = common::fixture_copy("layout");
    assert_eq!(rustfmt_diff(&dir, "2021", "2021"), "", "the fixture is rustfmt-clean to begin with");
    let out = common::edition_in(&dir, &["--apply", "--allow-no-vcs", "--llm", "none", "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_str(&ok(&out, "the migration")).unwrap();
    let count = |rule: &str| doc["changes"].as_array().unwrap().iter().filter(|c| c["rule"] == rule).count();
    assert_eq!((count("unsafe_op_in_unsafe_fn"), count("if_let_rescope")), (9, 5), "each shape of the fixture is changed");
    // The same style edition as before, and 2024's (the crate is on edition 2024 now).
    assert_eq!(rustfmt_diff(&dir, "2024", "2021"), "", "rustfmt would change the migrated crate");
    assert_eq!(rustfmt_diff(&dir, "2024", "2024"), "", "rustfmt (style 2024) would change the migrated crate");
    let lib = std::fs::read_to_string(dir.join("src/lib.rs")).unwrap();
    insta::assert_snapshot!("layout_fixture_migrated", lib);
    // It builds on 2024, warning-free for the lints the migration is about.
    let check = Command::new(env!("CARGO"))
        .args(["check", "--all-targets", "--message-format", "short", "--manifest-path"])
        .arg(dir.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", dir.join("target"))
        .output()
        .unwrap();
    ok(&check, "cargo check of the migrated fixture");
    let warnings = String::from_utf8_lossy(&check.stderr);
    assert!(!warnings.contains("unsafe_op_in_unsafe_fn") && !warnings.contains("unsafe operation"), "{warnings}");
    // A second run finds nothing.
    let again = common::edition_in(&dir, &["--llm", "none", "--from", "2021", "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_str(&ok(&again, "the second run")).unwrap();
    assert_eq!(doc["changes"].as_array().unwrap().len(), 0, "{doc}");
}

#[test]
fn the_width_of_the_crates_rustfmt_toml_is_followed() {
    // A narrow style: formatted with it first, the fixture is clean under it; after the
    // migration too (an arm or `unsafe { e }` that fits in 100 columns but not in 60 is
    // laid out as rustfmt lays it out in 60).
    let (_tmp, dir) = common::fixture_copy("layout");
    std::fs::write(dir.join("rustfmt.toml"), "max_width = 60\n").unwrap();
    ok(&Command::new("rustfmt").args(["--edition", "2021"]).arg(dir.join("src/lib.rs")).output().unwrap(), "rustfmt");
    assert_eq!(rustfmt_diff(&dir, "2021", "2021"), "");
    let out = common::edition_in(&dir, &["--apply", "--allow-no-vcs", "--llm", "none"]);
    ok(&out, "the migration");
    assert_eq!(rustfmt_diff(&dir, "2024", "2021"), "", "rustfmt (max_width = 60) would change the migrated crate");
}

/// The crates of the corpus that are `cargo fmt --check`-clean and get `unsafe` blocks
/// (`docs/formatting.md` lists them all; tokio, the largest, is measured there only).
const CLEAN_CRATES: &[(&str, &str)] = &[("crossbeam-utils", "0.8.20"), ("socket2", "0.5.7"), ("crossbeam-epoch", "0.9.18")];

/// The corpus crates, unpacked by `../shared/corpus/fetch.sh` into `target/corpus-src`
/// (as `benches/corpus.py` does; cargo downloads them from crates.io once).
fn corpus() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let fetch = root.join("../shared/corpus/fetch.sh");
    assert!(fetch.exists(), "{} is missing: clone the shared folder beside the repository", fetch.display());
    let dest = root.join("target/corpus-src");
    let tmp = tempfile::tempdir().unwrap();
    let list = tmp.path().join("crates.txt");
    std::fs::write(&list, CLEAN_CRATES.iter().map(|(n, v)| format!("{n} {v}\n")).collect::<String>()).unwrap();
    ok(&Command::new("bash").arg(&fetch).arg(&dest).arg(&list).output().unwrap(), "fetch.sh");
    dest
}

fn cargo_fmt_diff(dir: &Path) -> String {
    // The style edition the crate was formatted with (2021, its edition) after the
    // migration too: the edition's own style changes are not the migration's.
    let out = Command::new(env!("CARGO")).args(["fmt", "--check", "--", "--style-edition", "2021"]).current_dir(dir).output().unwrap();
    assert!(out.status.code().is_some_and(|c| c <= 1), "cargo fmt failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn fmt_clean_corpus_crates_stay_clean_after_migration() {
    let corpus = corpus();
    for (name, version) in CLEAN_CRATES {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join(format!("{name}-{version}"));
        common::copy_dir(&corpus.join(format!("{name}-{version}")), &dir);
        assert_eq!(cargo_fmt_diff(&dir), "", "{name} is fmt-clean before");
        let out = common::edition_in(&dir, &["--apply", "--allow-no-vcs", "--llm", "none", "--format", "json"]);
        let doc: serde_json::Value = serde_json::from_str(&ok(&out, name)).unwrap();
        let blocks = doc["changes"].as_array().unwrap().iter().filter(|c| c["rule"] == "unsafe_op_in_unsafe_fn").count();
        assert!(blocks > 0, "{name}: the migration wraps unsafe bodies");
        assert_eq!(cargo_fmt_diff(&dir), "", "{name}: cargo fmt would change the migrated crate ({blocks} unsafe blocks)");
    }
}
