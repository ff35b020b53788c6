//! `cargo migrate upgrade indexmap` on a crate whose map is an `IndexMap` under one
//! feature and a `BTreeMap` otherwise (the shape of toml 0.5 and serde_json 1.0 with
//! `preserve_order`), and whose set is an `IndexSet` under a default feature and a
//! `HashSet` without it (and whose entry type is decided in another file, which the
//! upgrade's index of the package finds): the calls indexmap 2 deprecates are split by the feature's cfg,
//! `--verify` builds each feature the other way too, and the migrated crate builds in
//! every configuration against the real indexmap 2 (from cargo's registry: cargo's cache,
//! fetched through cargo the first time) without a deprecation warning.

use std::path::Path;
use std::process::Command;

mod common;
use common::redact;

const BIN: &str = env!("CARGO_BIN_EXE_cargo-migrate");

fn fixture() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/cfg-split"))
}

/// A command isolated in `tmp`, offline, in `tmp/dir`.
fn command(tmp: &Path, program: &str, dir: &str) -> Command {
    let mut cmd = Command::new(program);
    common::isolate(&mut cmd, tmp).current_dir(tmp.join(dir)).env("CARGO_NET_OFFLINE", "true");
    cmd
}

/// Runs cargo in `dir` offline (cargo's cache) and, if that fails, online.
fn cargo_cached(tmp: &Path, dir: &str, args: &[&str]) {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    if command(tmp, &cargo, dir).args(args).output().unwrap().status.success() {
        return;
    }
    let out = command(tmp, &cargo, dir).args(args).env("CARGO_NET_OFFLINE", "false").output().unwrap();
    assert!(out.status.success(), "cargo {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// `cargo check --all-targets` with `features`: whether it built, and its output.
fn check(tmp: &Path, features: &[&str]) -> (bool, String) {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = command(tmp, &cargo, "ordmap").args(["check", "--all-targets"]).args(features).output().unwrap();
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

/// The configurations the fixture has: default (`ordered_set`), `preserve_order` on too,
/// and no default features.
const CONFIGURATIONS: [&[&str]; 3] = [&[], &["--features", "preserve_order"], &["--no-default-features"]];

#[test]
fn calls_on_a_receiver_whose_type_a_feature_decides_are_split_and_built_both_ways() {
    let tmp = tempfile::Builder::new().prefix("cargo-migrate-cfg-split").tempdir().unwrap();
    let tmp = tmp.path();
    common::copy_dir(&fixture().join("ordmap"), &tmp.join("ordmap"));
    // indexmap 2 must be in cargo's cache for the offline upgrade.
    common::write_file(
        tmp,
        "newest/Cargo.toml",
        "[package]\nname = \"newest\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\nindexmap = \"2.2\"\n\n[workspace]\n",
    );
    common::write_file(tmp, "newest/src/lib.rs", "");
    cargo_cached(tmp, "newest", &["fetch"]);
    cargo_cached(tmp, "ordmap", &["generate-lockfile"]);
    cargo_cached(tmp, "ordmap", &["update", "-p", "indexmap", "--precise", "1.9.3"]);
    cargo_cached(tmp, "ordmap", &["fetch"]);
    for features in CONFIGURATIONS {
        let (ok, out) = check(tmp, features);
        assert!(ok && !out.contains("warning"), "on indexmap 1 it builds without warnings ({features:?}): {out}");
    }
    let git = |args: &[&str]| assert!(command(tmp, "git", "ordmap").args(args).status().unwrap().success());
    git(&["init", "-q"]);
    git(&["add", "-A"]);
    git(&["commit", "-q", "-m", "on indexmap 1"]);

    // The dry run: each split says which feature decides the receiver's type and where.
    let dry = command(tmp, BIN, "ordmap").args(["upgrade", "indexmap", "--llm", "none", "--color", "never"]).output().unwrap();
    assert!(dry.status.success(), "{dry:?}");
    insta::assert_snapshot!("cfg_split_diff", redact(&String::from_utf8(dry.stdout).unwrap()));

    let run = command(tmp, BIN, "ordmap").args(["upgrade", "indexmap", "--apply", "--verify", "--llm", "none", "--color", "never"]).output().unwrap();
    let stderr = String::from_utf8(run.stderr).unwrap();
    assert!(run.status.success(), "{stderr}");
    // Verified in the default build, then with `preserve_order` on and `ordered_set` off.
    insta::assert_snapshot!("cfg_split_apply_verify_stderr", redact(&stderr));
    let lib = std::fs::read_to_string(tmp.join("ordmap/src/lib.rs")).unwrap();
    assert_eq!(lib, std::fs::read_to_string(fixture().join("expected.rs")).unwrap());
    assert!(std::fs::read_to_string(tmp.join("ordmap/Cargo.toml")).unwrap().contains("indexmap = { version = \"2\", optional = true }"));
    for features in CONFIGURATIONS {
        let (ok, out) = check(tmp, features);
        assert!(ok && !out.contains("warning"), "on indexmap 2 it builds without warnings ({features:?}): {out}");
    }
    // Laid out as rustfmt lays it out.
    let fmt = Command::new("rustfmt").args(["--edition", "2021", "--check"]).arg(tmp.join("ordmap/src/lib.rs")).output();
    if let Ok(fmt) = fmt {
        assert!(fmt.status.success(), "{}", String::from_utf8_lossy(&fmt.stdout));
    }
}

/// A pack whose rewrite does not build where the feature is on (its new method does not
/// exist): the default build has nothing to say (the split keeps its code), the build with
/// the feature on finds the error, and `--verify` takes the split back, saying in which
/// configuration. Path crates only.
#[test]
fn a_split_that_breaks_the_other_configuration_is_taken_back_there() {
    let tmp = tempfile::Builder::new().prefix("cargo-migrate-cfg-split").tempdir().unwrap();
    let tmp = tmp.path();
    common::write_file(tmp, "mini/Cargo.toml", "[package]\nname = \"mini\"\nversion = \"0.8.5\"\nedition = \"2021\"\n");
    common::write_file(
        tmp,
        "mini/src/lib.rs",
        "pub struct Map(pub Vec<u8>);\nimpl Map {\n    pub fn get_it(&self, k: u8) -> Option<u8> {\n        self.0.get(k as usize).copied()\n    }\n}\n",
    );
    common::write_file(
        tmp,
        "user/Cargo.toml",
        "[package]\nname = \"user\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[features]\nfast = [\"mini\"]\n\n[dependencies]\nmini = { path = \"../mini\", version = \"0.8\", optional = true }\n\n[workspace]\n",
    );
    let code = "#[cfg(feature = \"fast\")]\ntype M = mini::Map;\n#[cfg(not(feature = \"fast\"))]\ntype M = Slow;\n\npub struct Slow;\n\nimpl Slow {\n    pub fn get_it(&self, _: u8) -> Option<u8> {\n        None\n    }\n}\n\npub fn first(m: &M) -> Option<u8> {\n    m.get_it(0)\n}\n";
    common::write_file(tmp, "user/src/lib.rs", code);
    // `fetch` does not exist in mini 0.8.5.
    common::write_file(
        tmp,
        "p.toml",
        "crate = \"mini\"\nfrom = \"0.8\"\nto = \"0.8.5\"\nsummary = \"mini 0.8 → 0.8.5\"\n\n[[rule]]\nid = \"get-it\"\nmessage = \"`Map::get_it` is `Map::fetch`\"\nreceiver_type = \"mini::Map\"\nmatch = \"$m.get_it($k)\"\nreplace = \"$m.fetch($k)\"\n",
    );
    let git = |args: &[&str]| assert!(command(tmp, "git", "user").args(args).status().unwrap().success());
    git(&["init", "-q"]);
    git(&["add", "-A"]);
    git(&["commit", "-q", "-m", "on mini 0.8"]);
    let run = command(tmp, BIN, "user")
        .args(["upgrade", "mini", "--pack", "../p.toml", "--apply", "--verify", "--llm", "none", "--color", "never"])
        .output()
        .unwrap();
    let stderr = String::from_utf8(run.stderr).unwrap();
    assert_eq!(run.status.code(), Some(0), "{stderr}");
    insta::assert_snapshot!("cfg_split_reverted_in_the_other_configuration_stderr", redact(&stderr));
    // The split is gone, the call as it was; the default build never saw the error.
    assert_eq!(std::fs::read_to_string(tmp.join("user/src/lib.rs")).unwrap(), code);
    assert!(stderr.contains("Verified: the migrated code builds\n"), "{stderr}");
    assert!(stderr.contains("Verified with user's feature `fast` on (--features=fast): after reverting, the code builds as before"), "{stderr}");
}
