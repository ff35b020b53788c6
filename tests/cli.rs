//! End-to-end tests of the `cargo-migrate` binary, each on a fresh copy of
//! `examples/edition-demo` (or a small crate written here) in a temporary folder.
//!
//! Every command runs with an isolated git configuration (no global or system config,
//! fixed author) and with `CARGO_TARGET_DIR` inside the temporary folder, so the tests
//! neither depend on nor touch the machine's setup.
//!
//! The example's `#[cfg(windows)]` module is what shows code `cargo fix` never reads, so
//! the snapshot and the cfg assertions expect a host that is not Windows.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

mod common;
use common::{copy_dir, redact};

const BIN: &str = env!("CARGO_BIN_EXE_cargo-migrate");

/// Every rule of the 2021 → 2024 migration; the example exercises each but
/// `ecosystem-companions` (a workspace with cbindgen: `companions_follow_the_unsafe_attributes`).
const RULES: [&str; 9] = [
    "edition-manifest",
    "ecosystem-companions",
    "unsafe-extern-blocks",
    "unsafe-attributes",
    "keyword-gen",
    "unsafe-std-functions",
    "guarded-strings",
    "expr-fragment",
    "if-let-guard-method",
];

/// A temporary folder holding a crate (`<tmp>/crate`) and its target dir (`<tmp>/target`).
struct Sandbox {
    tmp: tempfile::TempDir,
    dir: PathBuf,
}

/// What a run of the binary did.
#[derive(Debug)]
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Sandbox {
    /// A copy of `examples/edition-demo` (without its `target` or lock file).
    fn demo() -> Sandbox {
        let sandbox = Sandbox::empty();
        let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/edition-demo");
        copy_dir(&example, &sandbox.dir);
        sandbox
    }

    /// A crate made of the given files.
    fn with_files(files: &[(&str, &str)]) -> Sandbox {
        let sandbox = Sandbox::empty();
        for (path, text) in files {
            sandbox.write(path, text.as_bytes());
        }
        sandbox
    }

    fn empty() -> Sandbox {
        let tmp = tempfile::Builder::new().prefix("cargo-migrate-cli").tempdir().unwrap();
        let dir = tmp.path().join("crate");
        std::fs::create_dir(&dir).unwrap();
        Sandbox { tmp, dir }
    }

    /// A command with an isolated environment, run in the crate.
    fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(program);
        common::isolate(&mut cmd, self.tmp.path()).current_dir(&self.dir);
        cmd
    }

    /// Runs `cargo-migrate` with `args`.
    fn run(&self, args: &[&str]) -> Run {
        let out = self.command(BIN).args(args).output().unwrap();
        Run {
            code: out.status.code().expect("killed by a signal"),
            stdout: String::from_utf8(out.stdout).unwrap(),
            stderr: String::from_utf8(out.stderr).unwrap(),
        }
    }

    /// Runs `cargo-migrate edition --no-compiler` with `args`: the syntactic rules only,
    /// so that a test builds nothing unless it means to (the default flow, with the
    /// compiler phase, is the dry-run test's).
    fn edition(&self, args: &[&str]) -> Run {
        let all: Vec<&str> = ["edition", "--no-compiler"].iter().chain(args).copied().collect();
        self.run(&all)
    }

    /// Runs `git` with `args`; panics if it fails.
    fn git(&self, args: &[&str]) -> String {
        let out = self.command("git").args(args).output().unwrap();
        assert!(out.status.success(), "git {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    }

    /// `git init` and commit everything: a clean tree.
    fn commit_all(&self) {
        self.git(&["init", "-q"]);
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "-m", "before the migration"]);
    }

    /// Runs `cargo SUBCOMMAND` on the crate; returns whether it passed, and its output.
    fn cargo(&self, args: &[&str]) -> (bool, String) {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let out = self.command(&cargo).args(args).output().unwrap();
        let output = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        (out.status.success(), output)
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.join(rel)
    }

    fn read(&self, rel: &str) -> Vec<u8> {
        std::fs::read(self.path(rel)).unwrap()
    }

    fn read_string(&self, rel: &str) -> String {
        String::from_utf8(self.read(rel)).unwrap()
    }

    fn write(&self, rel: &str, bytes: &[u8]) {
        let path = self.path(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }

    /// Every file of the crate (but `.git`, `target`, `Cargo.lock`), by relative path.
    fn files(&self) -> BTreeMap<String, Vec<u8>> {
        common::files(&self.dir, false)
    }
}

/// The files that differ between two trees, with the side that has them.
fn differing(a: &BTreeMap<String, Vec<u8>>, b: &BTreeMap<String, Vec<u8>>) -> Vec<String> {
    let keys: std::collections::BTreeSet<_> = a.keys().chain(b.keys()).collect();
    keys.into_iter().filter(|k| a.get(*k) != b.get(*k)).cloned().collect()
}

/// The JSON edits of each file, in the order the document lists them.
fn json_edits(doc: &serde_json::Value) -> BTreeMap<String, Vec<(usize, usize, String)>> {
    let mut out: BTreeMap<String, Vec<_>> = BTreeMap::new();
    for change in doc["changes"].as_array().unwrap() {
        let file = change["file"].as_str().unwrap().to_string();
        for edit in change["edits"].as_array().unwrap() {
            let start = edit["range"]["start"].as_u64().unwrap() as usize;
            let end = edit["range"]["end"].as_u64().unwrap() as usize;
            out.entry(file.clone()).or_default().push((start, end, edit["replacement"].as_str().unwrap().to_string()));
        }
    }
    out
}

/// Applies byte-range edits to the original text as a JSON consumer would: by start
/// offset, insertions before a replacement at the same offset, insertions at one offset
/// in the listed order, identical edits once. Panics on overlapping edits.
fn apply_edits(text: &[u8], edits: &[(usize, usize, String)]) -> Vec<u8> {
    let mut sorted: Vec<(usize, &(usize, usize, String))> = edits.iter().enumerate().collect();
    sorted.sort_by_key(|(i, (start, end, _))| (*start, start != end, *i));
    let mut seen = std::collections::HashSet::new();
    sorted.retain(|(_, e)| seen.insert(*e));
    let mut out = Vec::new();
    let mut pos = 0;
    for (_, (start, end, replacement)) in sorted {
        assert!(*start >= pos, "overlapping edits at {start}");
        out.extend_from_slice(&text[pos..*start]);
        out.extend_from_slice(replacement.as_bytes());
        pos = *end;
    }
    out.extend_from_slice(&text[pos..]);
    out
}

/// The default flow, compiler phase included (one `cargo check` of the example; the
/// `--jobs 1` run finds it fresh). The compiler phase's `cargo check` may write a
/// `Cargo.lock`, as any build does; `files()` leaves it out.
#[test]
fn dry_run_prints_an_annotated_diff_and_writes_nothing() {
    let sandbox = Sandbox::demo();
    let before = sandbox.files();
    let run = sandbox.run(&["edition", "--color", "never"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(differing(&before, &sandbox.files()), Vec::<String>::new(), "a dry run wrote files");
    // The same output whatever the thread count.
    let one_thread = sandbox.run(&["edition", "--color", "never", "--jobs", "1"]);
    assert_eq!(one_thread.stdout, run.stdout);
    // A change of every rule but `if-let-guard-method`, whose site the heuristics decide:
    // a verdict on stderr, no change.
    insta::assert_snapshot!("dry_run_diff", redact(&run.stdout));
    insta::assert_snapshot!("dry_run_stderr", redact(&run.stderr));
    // What the snapshots must keep showing, whatever is accepted later.
    for rule in RULES.iter().filter(|r| !matches!(**r, "if-let-guard-method" | "ecosystem-companions")) {
        assert!(run.stdout.contains(&format!("# {rule} [")), "no change of {rule} in the diff:\n{}", run.stdout);
    }
    assert!(run.stderr.contains("[if-let-guard-method] keep-if-let (by heuristic)"), "{}", run.stderr);
}

#[test]
fn cfg_inactive_module_is_migrated_and_marked() {
    let sandbox = Sandbox::demo();
    let run = sandbox.edition(&["--color", "never"]);
    assert_eq!(run.code, 0, "{run:?}");
    // The notes of src/windows.rs and of src/sys_other.rs (a module declared inside a
    // `cfg_if!` invocation, in the branch not taken here) end with "(cfg-inactive here:
    // cargo fix would not see this)"; those of active code (src/lib.rs) do not.
    insta::assert_snapshot!("cfg_inactive_no_compiler_diff", redact(&run.stdout));
}

#[test]
fn json_edits_reproduce_apply() {
    let sandbox = Sandbox::demo();
    let run = sandbox.edition(&["--format", "json"]);
    assert_eq!(run.code, 0, "{run:?}");
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).expect("stdout is one JSON document");
    assert_eq!(doc["version"], 2);
    let changes = doc["changes"].as_array().unwrap();
    assert!(!changes.is_empty());
    for change in changes {
        for key in ["rule", "reason", "safety", "decided_by", "file", "line", "cfg", "edits"] {
            assert!(!change[key].is_null(), "change without `{key}`: {change}");
        }
        assert!(RULES.contains(&change["rule"].as_str().unwrap()), "{change}");
        assert!(["safe", "judged", "needs-review"].contains(&change["safety"].as_str().unwrap()), "{change}");
        assert_eq!(change["decided_by"]["kind"], "rule");
        assert!(change["line"].as_u64().unwrap() >= 1);
        assert!(["active", "inactive", "unknown"].contains(&change["cfg"].as_str().unwrap()), "{change}");
        for edit in change["edits"].as_array().unwrap() {
            assert!(edit["range"]["start"].as_u64().unwrap() <= edit["range"]["end"].as_u64().unwrap(), "{edit}");
            assert!(edit["replacement"].is_string(), "{edit}");
        }
    }
    let windows: Vec<_> = changes.iter().filter(|c| c["file"] == "src/windows.rs").collect();
    assert!(!windows.is_empty() && windows.iter().all(|c| c["cfg"] == "inactive"));
    let summary = &doc["summary"];
    assert_eq!(summary["changes"].as_u64().unwrap() as usize, changes.len());
    assert_eq!(summary["files"], 7);
    let serious: Vec<_> = doc["diagnostics"].as_array().unwrap().iter().filter(|d| d["level"] != "note").collect();
    assert!(serious.is_empty(), "{serious:#?}");

    // The edits, applied to the original files, give what --apply writes.
    let original = sandbox.files();
    let mut expected = original.clone();
    for (file, edits) in json_edits(&doc) {
        expected.insert(file.clone(), apply_edits(&original[&file], &edits));
    }
    let applied = sandbox.edition(&["--apply", "--allow-no-vcs"]);
    assert_eq!(applied.code, 0, "{applied:?}");
    let now = sandbox.files();
    assert_eq!(differing(&expected, &now), Vec::<String>::new());
    assert_eq!(differing(&original, &now).len(), 7);
}

#[test]
fn patch_applies_with_git_and_matches_apply() {
    let patched = Sandbox::demo();
    patched.commit_all();
    let run = patched.edition(&["--format", "patch", "--color", "never"]);
    assert_eq!(run.code, 0, "{run:?}");
    let patch_file = patched.tmp.path().join("migration.patch");
    std::fs::write(&patch_file, &run.stdout).unwrap();
    let patch_file = patch_file.to_str().unwrap();
    patched.git(&["apply", "--check", patch_file]);
    patched.git(&["apply", patch_file]);

    let applied = Sandbox::demo();
    let run = applied.edition(&["--apply", "--allow-no-vcs"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(differing(&patched.files(), &applied.files()), Vec::<String>::new());
    assert_ne!(patched.files(), Sandbox::demo().files());
}

#[test]
fn check_exits_1_while_changes_remain() {
    let sandbox = Sandbox::demo();
    sandbox.commit_all();
    let before = sandbox.files();
    let check = sandbox.edition(&["--check"]);
    assert_eq!(check.code, 1, "{check:?}");
    assert_eq!(check.stdout, "", "--check prints no diff");
    insta::assert_snapshot!("check_changes_remain_stderr", redact(&check.stderr));
    assert_eq!(before, sandbox.files());

    let apply = sandbox.edition(&["--apply"]);
    assert_eq!(apply.code, 0, "{apply:?}");
    let check = sandbox.edition(&["--check"]);
    assert_eq!(check.code, 0, "{check:?}");
}

#[test]
fn apply_refuses_a_dirty_tree_unless_allowed() {
    let sandbox = Sandbox::demo();
    sandbox.commit_all();
    let mut lib = sandbox.read("src/lib.rs");
    lib.extend_from_slice(b"// work in progress\n");
    sandbox.write("src/lib.rs", &lib);
    let before = sandbox.files();

    let run = sandbox.edition(&["--apply"]);
    assert_eq!(run.code, 2, "{run:?}");
    // Names the dirty file and `--allow-dirty`.
    insta::assert_snapshot!("apply_dirty_tree_refused_stderr", redact(&run.stderr));
    assert_eq!(differing(&before, &sandbox.files()), Vec::<String>::new(), "files written on a dirty tree");

    let run = sandbox.edition(&["--apply", "--allow-dirty"]);
    assert_eq!(run.code, 0, "{run:?}");
    insta::assert_snapshot!("apply_allow_dirty_stderr", redact(&run.stderr));
    let lib = sandbox.read_string("src/lib.rs");
    assert!(lib.contains("unsafe extern \"C\"") && lib.ends_with("// work in progress\n"), "{lib}");
}

#[test]
fn apply_outside_git_needs_allow_no_vcs() {
    let sandbox = Sandbox::demo();
    let before = sandbox.files();
    let run = sandbox.edition(&["--apply"]);
    assert_eq!(run.code, 2, "{run:?}");
    insta::assert_snapshot!("apply_no_vcs_refused_stderr", redact(&run.stderr));
    assert_eq!(differing(&before, &sandbox.files()), Vec::<String>::new());

    let run = sandbox.edition(&["--apply", "--allow-no-vcs"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(differing(&before, &sandbox.files()).len(), 7);
}

/// Builds the example twice by --verify, then once for its tests (the `cargo check` in
/// between finds everything fresh).
#[test]
fn migrated_example_verifies_builds_on_2024_and_is_idempotent() {
    let sandbox = Sandbox::demo();
    sandbox.commit_all();
    let run = sandbox.edition(&["--apply", "--verify", "--color", "never"]);
    assert_eq!(run.code, 0, "{run:?}");
    // "Verified: the migrated code builds", nothing reverted.
    insta::assert_snapshot!("verify_example_stderr", redact(&run.stderr));
    assert!(!run.stderr.contains("reverted"), "{}", run.stderr);

    let manifest = sandbox.read_string("Cargo.toml");
    assert!(manifest.contains("edition = \"2024\"") && manifest.contains("crate-type"), "{manifest}");
    let (ok, output) = sandbox.cargo(&["check", "--all-targets", "--quiet"]);
    assert!(ok, "the migrated example does not build:\n{output}");
    // Its tests pin behaviour: `kind!(_)` still takes the `_` arm, `count_tokens!` still
    // sees `# "x"#` as three tokens.
    let (ok, output) = sandbox.cargo(&["test", "--quiet"]);
    assert!(ok, "the migrated example's tests fail:\n{output}");

    // A second run has nothing to do: the package is on 2024 now.
    let again = sandbox.edition(&["--color", "never"]);
    assert_eq!(again.code, 0, "{again:?}");
    assert_eq!(again.stdout, "");
    insta::assert_snapshot!("already_on_2024_stderr", redact(&again.stderr));

    // And the rules find nothing in their own output: declared 2021 again, the only
    // change left is the edition itself.
    sandbox.write("Cargo.toml", manifest.replace("edition = \"2024\"", "edition = \"2021\"").as_bytes());
    let again = sandbox.edition(&["--format", "json"]);
    assert_eq!(again.code, 0, "{again:?}");
    let doc: serde_json::Value = serde_json::from_str(&again.stdout).unwrap();
    let changes = doc["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 1, "{changes:#?}");
    assert_eq!(changes[0]["rule"], "edition-manifest");
    assert_eq!(changes[0]["file"], "Cargo.toml");
}

#[test]
fn verify_reports_preexisting_errors_and_reverts_nothing() {
    let sandbox = Sandbox::with_files(&[
        ("Cargo.toml", "[package]\nname = \"preexisting\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n"),
        (".gitignore", "/Cargo.lock\n"),
        ("src/lib.rs", "mod broken;\n\npub fn gen() -> u32 {\n    4\n}\n"),
        ("src/broken.rs", "pub fn answer() -> u32 {\n    \"forty-two\"\n}\n"),
    ]);
    sandbox.commit_all();
    let run = sandbox.edition(&["--apply", "--verify", "--color", "never"]);
    assert_eq!(run.code, 0, "the migration broke nothing: {run:?}");
    // The error that existed before, with its file; not "the migrated code builds" (it
    // does not), but "introduced no new errors"; nothing reverted.
    insta::assert_snapshot!("verify_preexisting_error_stderr", redact(&run.stderr));
    assert!(!run.stderr.contains("the migrated code builds") && !run.stderr.contains("reverted"), "{}", run.stderr);
    assert!(sandbox.read_string("src/lib.rs").contains("pub fn r#gen()"));
    assert!(sandbox.read_string("Cargo.toml").contains("edition = \"2024\""));
}

/// Rust 2024 denies references to a `static mut` (`static_mut_refs`). The compiler phase
/// rewrites them; without it (`--no-compiler`) and with only the rules this crate needs,
/// declaring the new edition breaks the build: --verify must put every file back.
#[test]
fn verify_reverts_a_migration_that_breaks_the_build() {
    let lib = "static mut COUNTER: u32 = 0;\n\npub fn gen() -> &'static u32 {\n    unsafe {\n        COUNTER += 1;\n        &COUNTER\n    }\n}\n";
    let sandbox = Sandbox::with_files(&[
        ("Cargo.toml", "[package]\nname = \"static-mut\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n"),
        (".gitignore", "/Cargo.lock\n"),
        ("src/lib.rs", lib),
    ]);
    sandbox.commit_all();
    let before = sandbox.files();
    // Pinned to the rules this crate needs, so that a future syntactic rule for
    // `static mut` does not make the breakage go away.
    let run = sandbox.edition(&["--apply", "--verify", "--only", "edition-manifest,keyword-gen", "--color", "never"]);
    assert_eq!(run.code, 2, "{run:?}");
    // The error (a shared reference to a mutable static) is not on the lines of a change;
    // the file's own change is reverted first, then, as the build still fails, the
    // edition itself; after that the code builds as before.
    insta::assert_snapshot!("verify_reverts_breaking_migration_stderr", redact(&run.stderr));
    assert_eq!(differing(&before, &sandbox.files()), Vec::<String>::new(), "not every file was put back");
}

#[test]
fn bad_files_are_reported_their_package_is_left_whole_and_fixed_files_migrate_byte_exact() {
    let sandbox = Sandbox::demo();
    let original_lib = sandbox.read("src/lib.rs");
    let mut lib = original_lib.clone();
    lib.extend_from_slice(b"pub mod broken;\npub mod latin1;\npub mod crlf;\npub mod bom;\n");
    sandbox.write("src/lib.rs", &lib);
    sandbox.write("src/broken.rs", b"fn gen() {}\n\nfn broken() {\n    let = 1;\n}\n");
    sandbox.write("src/latin1.rs", b"// caf\xe9\nfn gen() {}\n");
    let crlf = "// CRLF\r\nextern \"C\" {\r\n    fn labs(x: i64) -> i64;\r\n}\r\n\r\npub fn gen() -> u8 {\r\n    1\r\n}\r\n\r\n#[test]\r\nfn env() {\r\n    std::env::set_var(\"A\", \"b\");\r\n}\r\n";
    sandbox.write("src/crlf.rs", crlf.as_bytes());
    sandbox.write("src/bom.rs", "\u{feff}// BOM\npub fn gen() -> u8 {\n    2\n}\n".as_bytes());
    let before = sandbox.files();

    let dry = sandbox.edition(&["--format", "json"]);
    assert_eq!(dry.code, 2, "{dry:?}");
    let doc: serde_json::Value = serde_json::from_str(&dry.stdout).unwrap();
    let errors: Vec<_> = doc["diagnostics"].as_array().unwrap().iter().filter(|d| d["level"] == "error").collect();
    assert_eq!(errors.len(), 3, "{errors:#?}");
    // The package's error first (general), then each file's.
    assert!(errors[0]["message"].as_str().unwrap().starts_with("package `edition-demo` is left as it is"), "{errors:#?}");
    assert_eq!((&errors[1]["file"], &errors[1]["line"]), (&"src/broken.rs".into(), &4.into()));
    assert_eq!(errors[2]["file"], "src/latin1.rs");
    assert_eq!(doc["changes"].as_array().unwrap().len(), 0, "nothing of the package would be written");
    let check = sandbox.edition(&["--check"]);
    assert_eq!(check.code, 2, "an error is not hidden behind `changes remain`: {check:?}");

    let run = sandbox.edition(&["--apply", "--allow-no-vcs", "--color", "never"]);
    assert_eq!(run.code, 2, "{run:?}");
    // src/broken.rs cannot be parsed, src/latin1.rs is not UTF-8: the package is left whole,
    // its manifest included (it would say 2024 while two files were never migrated).
    insta::assert_snapshot!("bad_files_apply_stderr", redact(&run.stderr));
    assert_eq!(sandbox.files(), before, "nothing of the package was written");

    // Fixed (the two files dropped), the package migrates, and bytes outside the edits are
    // untouched: the JSON edits on the original text give exactly what was written.
    let mut lib = original_lib;
    lib.extend_from_slice(b"pub mod crlf;\npub mod bom;\n");
    sandbox.write("src/lib.rs", &lib);
    std::fs::remove_file(sandbox.dir.join("src/broken.rs")).unwrap();
    std::fs::remove_file(sandbox.dir.join("src/latin1.rs")).unwrap();
    let before = sandbox.files();
    let dry = sandbox.edition(&["--format", "json"]);
    assert_eq!(dry.code, 0, "{dry:?}");
    let doc: serde_json::Value = serde_json::from_str(&dry.stdout).unwrap();
    let run = sandbox.edition(&["--apply", "--allow-no-vcs", "--color", "never"]);
    assert_eq!(run.code, 0, "{run:?}");
    let after = sandbox.files();
    assert!(sandbox.read_string("src/lib.rs").contains("pub fn r#gen()"));
    assert!(sandbox.read_string("src/windows.rs").contains("pub fn r#gen()"));
    let edits = json_edits(&doc);
    for file in ["src/crlf.rs", "src/bom.rs"] {
        assert_eq!(apply_edits(&before[file], &edits[file]), after[file], "{file}");
    }
    let crlf = sandbox.read_string("src/crlf.rs");
    assert!(crlf.contains("unsafe extern \"C\" {\r\n") && crlf.contains("pub fn r#gen() -> u8 {\r\n"), "{crlf:?}");
    assert!(crlf.contains("// SAFETY:") && crlf.contains("unsafe { std::env::set_var(\"A\", \"b\") };\r\n"), "{crlf:?}");
    assert_eq!(crlf.matches('\n').count(), crlf.matches("\r\n").count(), "a bare LF in a CRLF file: {crlf:?}");
    let bom = sandbox.read_string("src/bom.rs");
    assert!(bom.starts_with("\u{feff}// BOM\npub fn r#gen()"), "{bom:?}");
}

#[test]
fn unknown_package_lists_the_members() {
    let sandbox = Sandbox::demo();
    let run = sandbox.edition(&["-p", "nope"]);
    assert_eq!(run.code, 2, "{run:?}");
    insta::assert_snapshot!("unknown_package_stderr", redact(&run.stderr));
    assert_eq!(run.stdout, "");
}

#[test]
fn unknown_rule_is_an_error() {
    let sandbox = Sandbox::demo();
    for (flag, snapshot) in [("--only", "unknown_rule_in_only_stderr"), ("--skip", "unknown_rule_in_skip_stderr")] {
        let run = sandbox.edition(&[flag, "keyword-gen,no-such-rule"]);
        assert_eq!(run.code, 2, "{flag}: {run:?}");
        insta::assert_snapshot!(snapshot, redact(&run.stderr));
        assert_eq!(run.stdout, "");
    }
}

#[test]
fn usage_errors_exit_2() {
    let sandbox = Sandbox::demo();
    for (args, snapshot) in [
        (&["edition", "--verify"][..], "usage_error_verify_without_apply_stderr"),
        (&["edition", "--check", "--apply"], "usage_error_check_with_apply_stderr"),
        (&["edition", "--no-such-flag"], "usage_error_unknown_flag_stderr"),
        (&[], "usage_error_no_subcommand_stderr"),
    ] {
        let run = sandbox.run(args);
        assert_eq!(run.code, 2, "{args:?}: {run:?}");
        insta::assert_snapshot!(snapshot, redact(&run.stderr));
    }
    assert_eq!(differing(&Sandbox::demo().files(), &sandbox.files()), Vec::<String>::new());
}

#[test]
fn only_and_skip_select_rules() {
    let sandbox = Sandbox::demo();
    let only = sandbox.edition(&["--only", "keyword-gen", "--color", "never"]);
    assert_eq!(only.code, 0, "{only:?}");
    // Changes of keyword-gen only.
    insta::assert_snapshot!("only_keyword_gen_diff", redact(&only.stdout));
    let notes: Vec<&str> = only.stdout.lines().filter(|l| l.starts_with("# ")).collect();
    assert!(!notes.is_empty() && notes.iter().all(|l| l.starts_with("# keyword-gen [")), "{}", only.stdout);
    let skip = sandbox.edition(&["--skip", "keyword-gen", "--color", "never"]);
    assert_eq!(skip.code, 0, "{skip:?}");
    // Changes of every other rule, none of keyword-gen.
    insta::assert_snapshot!("skip_keyword_gen_diff", redact(&skip.stdout));
    assert!(!skip.stdout.contains("# keyword-gen ["), "{}", skip.stdout);
}

#[test]
fn explain_prints_the_rule_doc() {
    let sandbox = Sandbox::empty();
    let run = sandbox.run(&["explain", "keyword-gen"]);
    assert_eq!(run.code, 0, "{run:?}");
    // rules/keyword-gen/README.md: what it does, why, an example, the fix's safety.
    insta::assert_snapshot!("explain_keyword_gen", redact(&run.stdout));
    let run = sandbox.run(&["explain", "no-such-rule"]);
    assert_eq!(run.code, 2, "{run:?}");
    insta::assert_snapshot!("explain_unknown_rule_stderr", redact(&run.stderr));
}

/// A workspace whose C header comes from cbindgen: `ffi` inherits cbindgen 0.26 from
/// `[workspace.dependencies]` for its build script, `xtask` runs cbindgen 0.27 on the
/// workspace, `app` has neither. The migration writes `#[unsafe(no_mangle)]` and
/// `#[unsafe(export_name)]` in `ffi`, so both requirements rise to 0.29, each as a change of
/// its own; `app`'s manifest gets its edition only.
#[test]
fn companions_follow_the_unsafe_attributes() {
    let sandbox = Sandbox::with_files(&[
        (
            "Cargo.toml",
            "[workspace]\nmembers = [\"ffi\", \"app\", \"xtask\"]\nresolver = \"2\"\n\n[workspace.dependencies]\n# C header for tests/c\ncbindgen = { version = \"0.26\", default-features = false }\n",
        ),
        ("ffi/Cargo.toml", "[package]\nname = \"ffi\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[lib]\ncrate-type = [\"cdylib\", \"rlib\"]\n\n[build-dependencies]\ncbindgen.workspace = true\n"),
        (
            "ffi/src/lib.rs",
            "#[no_mangle]\npub extern \"C\" fn ffi_add(a: i32, b: i32) -> i32 {\n    a + b\n}\n\n#[export_name = \"ffi_version\"]\npub extern \"C\" fn version() -> u32 {\n    1\n}\n",
        ),
        (
            "ffi/build.rs",
            "fn main() {\n    let dir = std::env::var(\"CARGO_MANIFEST_DIR\").unwrap();\n    cbindgen::generate(dir).unwrap().write_to_file(\"ffi.h\");\n}\n",
        ),
        ("app/Cargo.toml", "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n"),
        ("app/src/main.rs", "fn main() {\n    println!(\"{}\", 1 + 1);\n}\n"),
        ("xtask/Cargo.toml", "[package]\nname = \"xtask\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\ncbindgen = \"0.27\"\n"),
        ("xtask/src/main.rs", "fn main() {\n    cbindgen::generate(\"ffi\").unwrap().write_to_file(\"include/ffi.h\");\n}\n"),
    ]);
    let run = sandbox.edition(&["--color", "never"]);
    assert_eq!(run.code, 0, "{run:?}");
    insta::assert_snapshot!("companions_diff", redact(&run.stdout));
    let bumps: Vec<&str> = run.stdout.lines().filter(|l| l.starts_with("# ecosystem-companions [")).collect();
    assert_eq!(bumps.len(), 2, "{}", run.stdout);
    assert!(run.stdout.contains("+cbindgen = { version = \"0.29\", default-features = false }"), "{}", run.stdout);
    assert!(run.stdout.contains("+cbindgen = \"0.29\""), "{}", run.stdout);

    // Written, the manifests are ones cargo reads (offline: the registry is not needed to
    // read a workspace; building cbindgen would need its dependencies downloaded).
    sandbox.commit_all();
    let apply = sandbox.edition(&["--color", "never", "--apply"]);
    assert_eq!(apply.code, 0, "{apply:?}");
    assert_eq!(sandbox.read_string("ffi/Cargo.toml").matches("cbindgen.workspace = true").count(), 1);
    let (ok, out) = sandbox.cargo(&["metadata", "--no-deps", "--offline", "--format-version", "1"]);
    assert!(ok, "{out}");
    let metadata: serde_json::Value = serde_json::from_str(out.lines().find(|l| l.starts_with('{')).unwrap()).unwrap();
    let cbindgen_reqs: Vec<(&str, &str)> = metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["dependencies"].as_array().unwrap().iter().map(move |d| (p["name"].as_str().unwrap(), d)))
        .filter(|(_, d)| d["name"] == "cbindgen")
        .map(|(p, d)| (p, d["req"].as_str().unwrap()))
        .collect();
    assert_eq!(cbindgen_reqs, [("ffi", "^0.29"), ("xtask", "^0.29")]);
    // Nothing left to do.
    let again = sandbox.edition(&["--color", "never"]);
    assert_eq!(again.stdout, "", "{again:?}");
}

#[test]
fn rules_lists_every_rule() {
    let run = Sandbox::empty().run(&["rules"]);
    assert_eq!(run.code, 0, "{run:?}");
    insta::assert_snapshot!("rules_list", redact(&run.stdout));
    // Under a title, the syntactic rules, one per line, until a blank line (compiler lints
    // follow): every rule, in the order they run.
    let ids: Vec<&str> = run.stdout.lines().skip(1).take_while(|l| !l.is_empty()).map(|l| l.split_whitespace().next().unwrap()).collect();
    assert_eq!(ids, RULES);
}

#[test]
fn edition_help_shows_examples() {
    let run = Sandbox::empty().edition(&["--help"]);
    assert_eq!(run.code, 0, "{run:?}");
    // Examples (`cargo migrate edition --apply`), `--allow-dirty`, the exit statuses.
    insta::assert_snapshot!("edition_help", redact(&run.stdout));
}

#[test]
fn runs_as_a_cargo_subcommand() {
    let sandbox = Sandbox::demo();
    let direct = sandbox.edition(&["--color", "never"]);
    let as_cargo_runs_it = sandbox.run(&["migrate", "edition", "--no-compiler", "--color", "never"]);
    assert_eq!(direct.code, 0, "{direct:?}");
    assert_eq!(as_cargo_runs_it.code, 0, "{as_cargo_runs_it:?}");
    assert_eq!(direct.stdout, as_cargo_runs_it.stdout);
    assert!(!direct.stdout.is_empty());

    // Through cargo itself, finding the binary on PATH.
    let bin_dir = Path::new(BIN).parent().unwrap();
    let mut paths = vec![bin_dir.to_path_buf()];
    paths.extend(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()));
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = sandbox
        .command(&cargo)
        .args(["migrate", "edition", "--no-compiler", "--color", "never"])
        .env("PATH", std::env::join_paths(paths).unwrap())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8(out.stdout).unwrap(), direct.stdout);
}

/// Two rules inserting at one offset: the `// SAFETY:` line above a statement and the
/// `r#` of the `gen` that starts it. The wider change's insertion must come first, or
/// the output reads `r#// SAFETY: ..` and does not compile.
#[test]
fn insertions_at_one_offset_nest() {
    let sandbox = Sandbox::with_files(&[
        ("Cargo.toml", "[package]\nname = \"nest\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n"),
        ("src/lib.rs", "fn gen(_: ()) {}\n\npub fn f() {\n    gen(std::env::set_var(\"A\", \"b\"));\n}\n"),
    ]);
    let run = sandbox.edition(&["--apply", "--allow-no-vcs"]);
    assert_eq!(run.code, 0, "{run:?}");
    let lib = sandbox.read_string("src/lib.rs");
    let body: Vec<&str> = lib.lines().skip(3).take(2).collect();
    assert!(body[0].starts_with("    // SAFETY: "), "{lib}");
    assert_eq!(body[1], "    r#gen(unsafe { std::env::set_var(\"A\", \"b\") });", "{lib}");
}

#[test]
fn sarif_output_carries_every_change_with_its_fix() {
    let sandbox = Sandbox::demo();
    let json = sandbox.edition(&["--format", "json", "--color", "never"]);
    let sarif = sandbox.edition(&["--format", "sarif", "--color", "never"]);
    assert_eq!(sarif.code, 0, "{sarif:?}");
    let json: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let sarif: serde_json::Value = serde_json::from_str(&sarif.stdout).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    let run = &sarif["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "cargo-migrate");
    let fixed: Vec<&serde_json::Value> = run["results"].as_array().unwrap().iter().filter(|r| r.get("fixes").is_some()).collect();
    let changes = json["changes"].as_array().unwrap();
    assert_eq!(fixed.len(), changes.len());
    for (result, change) in fixed.iter().zip(changes) {
        assert_eq!(result["ruleId"], change["rule"]);
        let replacements = result["fixes"][0]["artifactChanges"][0]["replacements"].as_array().unwrap();
        let edits = change["edits"].as_array().unwrap();
        assert_eq!(replacements.len(), edits.len());
        for (r, e) in replacements.iter().zip(edits) {
            assert_eq!(r["deletedRegion"]["byteOffset"], e["range"]["start"]);
            assert_eq!(r["insertedContent"]["text"], e["replacement"]);
        }
    }
    let rule_ids: Vec<&str> = run["tool"]["driver"]["rules"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert!(rule_ids.contains(&"keyword-gen"), "{rule_ids:?}");
}

/// The snapshots' normalization replaces what varies between machines, runs and
/// toolchains, and keeps the rest of the text as it is.
#[test]
fn redact_replaces_what_varies_and_keeps_the_rest() {
    let tmp = std::env::temp_dir().join(".tmpAbC123");
    let output = format!(
        "   Compiling mini v0.9.0 ({tmp}/mini)
    Finished `dev` profile [unoptimized + debuginfo] target(s) in 1.02s
error: no VCS found for {tmp}/crate: --apply could not be undone
error: the migration introduced 1 compile error(s):
error[E0425]: cannot find type `Widget` in module `crate::a`
 --> src/b.rs:1:28
  |
1 | pub fn make() -> crate::a::Widget {{
  |                            ^^^^^^ not found in `crate::a`
help: a type alias with a similar name exists
  |
1 - pub fn make() -> crate::a::Widget {{
1 + pub fn make() -> crate::a::Gadget {{
  |
note: 1 error(s) existed before the migration
ok {repo}/migrations/rand/0.8-0.9.toml: 37 examples, 0 failed
cannot reach http://127.0.0.1:45123/api/chat (default http://127.0.0.1:11434, timeout 60s)
 Checking stays (one space: a diff's context line, not cargo's column); 1.5s in any text is taken for a time
Summary: 2 changes in 2 files (safe 2); 1 files, 8 lines checked in 0.42s
",
        tmp = tmp.display(),
        repo = env!("CARGO_MANIFEST_DIR"),
    );
    let expected = "error: no VCS found for [ROOT]/crate: --apply could not be undone
error: the migration introduced 1 compile error(s):
error[E0425]: cannot find type `Widget` in module `crate::a`
 --> src/b.rs:1:28
  [rustc's code frame and notes]
note: 1 error(s) existed before the migration
ok [REPO]/migrations/rand/0.8-0.9.toml: 37 examples, 0 failed
cannot reach http://127.0.0.1:[PORT]/api/chat (default http://127.0.0.1:11434, timeout 60s)
 Checking stays (one space: a diff's context line, not cargo's column); [TIME] in any text is taken for a time
Summary: 2 changes in 2 files (safe 2); 1 files, 8 lines checked in [TIME]
";
    assert_eq!(redact(&output), expected);
}
