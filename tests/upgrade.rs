//! End-to-end tests of `cargo migrate upgrade` and `cargo migrate pack`, each in a
//! temporary folder, with no network: the crates depend on each other by path, and the
//! packs are the example's (shipped in `examples/mylib-author`) or written here. One
//! exception: the chrono test builds against real chrono releases from cargo's registry,
//! taken from cargo's cache, fetched through cargo the first time.
//!
//! Every command runs with an isolated git configuration and with `CARGO_TARGET_DIR`
//! inside the temporary folder.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

mod common;
use common::redact;

const BIN: &str = env!("CARGO_BIN_EXE_cargo-migrate");

/// A temporary folder holding crates (`<tmp>/<name>`) and a target dir (`<tmp>/target`).
struct Sandbox {
    tmp: tempfile::TempDir,
}

#[derive(Debug)]
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Sandbox {
    fn new() -> Sandbox {
        Sandbox { tmp: tempfile::Builder::new().prefix("cargo-migrate-upgrade").tempdir().unwrap() }
    }

    /// `examples/mylib-author` and `examples/mylib-user`, side by side as in the repository.
    fn mylib() -> Sandbox {
        let s = Sandbox::new();
        let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
        for name in ["mylib-author", "mylib-user"] {
            common::copy_dir(&examples.join(name), &s.path(name));
        }
        s
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.tmp.path().join(rel)
    }

    fn write(&self, rel: &str, text: &str) {
        common::write_file(self.tmp.path(), rel, text);
    }

    fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).unwrap()
    }

    fn command(&self, program: &str, dir: &str) -> Command {
        let mut cmd = Command::new(program);
        common::isolate(&mut cmd, self.tmp.path()).current_dir(self.path(dir)).env("CARGO_NET_OFFLINE", "true");
        cmd
    }

    /// Runs `cargo-migrate` in `dir` with `args`.
    fn run(&self, dir: &str, args: &[&str]) -> Run {
        let out = self.command(BIN, dir).args(args).output().unwrap();
        Run {
            code: out.status.code().expect("killed by a signal"),
            stdout: String::from_utf8(out.stdout).unwrap(),
            stderr: String::from_utf8(out.stderr).unwrap(),
        }
    }

    fn git(&self, dir: &str, args: &[&str]) {
        let out = self.command("git", dir).args(args).output().unwrap();
        assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }

    fn cargo(&self, dir: &str, args: &[&str]) -> (bool, String) {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let out = self.command(&cargo, dir).args(args).output().unwrap();
        (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
    }

    /// Every file under `dir` (but `.git`, `target`), by relative path.
    fn files(&self, dir: &str) -> BTreeMap<String, Vec<u8>> {
        common::files(&self.path(dir), true)
    }
}

/// The author ships mylib 2.0 with its pack; the user's crate, written for 1.x, is moved:
/// a dry run prints the diff and writes nothing (not even a `Cargo.lock`); `--apply
/// --verify` writes it and the crate builds against 2.0; a second run has nothing to do.
#[test]
fn mylib_round_trip() {
    let s = Sandbox::mylib();
    let before = s.files("mylib-user");
    let run = s.run("mylib-user", &["upgrade", "mylib", "--color", "never"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(s.files("mylib-user"), before, "a dry run wrote files");
    // The compiler phase found the call whose receiver only the compiler knows
    // (`counter.total(), tally.count()`, "the compiler resolved this call").
    insta::assert_snapshot!("mylib_dry_run", redact(&run.stdout));
    // mylib found at 1.0.0, the pack shipped with the crate, no message about mylib left.
    insta::assert_snapshot!("mylib_dry_run_stderr", redact(&run.stderr));

    s.git("mylib-user", &["init", "-q"]);
    s.git("mylib-user", &["add", "-A"]);
    s.git("mylib-user", &["commit", "-q", "-m", "on mylib 1"]);
    let run = s.run("mylib-user", &["upgrade", "mylib", "--apply", "--verify", "--color", "never"]);
    assert_eq!(run.code, 0, "{run:?}");
    insta::assert_snapshot!("mylib_apply_verify_stderr", redact(&run.stderr));
    let main = s.read("mylib-user/src/main.rs");
    assert!(main.contains("greeting(\"world\")") && main.contains("\"quiet\".shout()") && main.contains("split_words_and_commas("), "{main}");
    assert!(s.read("mylib-user/Cargo.toml").contains("mylib = { path = \"../mylib-author\", version = \"2\" }"));
    let (ok, out) = s.cargo("mylib-user", &["check", "--all-targets"]);
    assert!(ok, "{out}");
    // The conservative option kept 1.x's behaviour: commas still split words.
    let (ok, out) = s.cargo("mylib-user", &["run", "-q"]);
    assert!(ok && out.contains("3 words (3 by our tally, 3 reported)"), "{out}");

    let again = s.run("mylib-user", &["upgrade", "mylib", "--check", "--color", "never"]);
    assert_eq!(again.code, 0, "{again:?}");
    assert_eq!(again.stdout, "");
    insta::assert_snapshot!("mylib_already_upgraded_stderr", redact(&again.stderr));
}

const MINI_LIB: &str = "pub fn a() {}\npub fn b() {}\npub fn c() {}\npub fn old() {}\npub fn new() {}\n";

fn mini(version: &str) -> String {
    format!("[package]\nname = \"mini\"\nversion = \"{version}\"\nedition = \"2021\"\n")
}

/// A package's manifest: `name` 0.1.0 on `edition`, with `deps` as its `[dependencies]`
/// lines, and its own `[workspace]` when `root`.
fn package(name: &str, edition: &str, deps: &str, root: bool) -> String {
    let ws = if root { "\n[workspace]\n" } else { "" };
    format!("[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"{edition}\"\n\n[dependencies]\n{deps}{ws}")
}

fn pack(from: &str, to: &str, old: &str, new: &str) -> String {
    format!(
        "crate = \"mini\"\nfrom = \"{from}\"\nto = \"{to}\"\nsummary = \"mini {from} → {to}\"\n\n[[rule]]\nid = \"{old}-to-{new}\"\nmessage = \"`mini::{old}` is `mini::{new}`\"\nmatch = \"mini::{old}\"\nreplace = \"mini::{new}\"\n"
    )
}

/// A workspace that uses `mini` renamed in one member and through
/// `[workspace.dependencies]` in another.
#[test]
fn detects_renamed_and_workspace_dependencies() {
    let s = Sandbox::new();
    s.write(
        "ws/Cargo.toml",
        "[workspace]\nmembers = [\"app\", \"b\"]\nresolver = \"2\"\n\n[workspace.dependencies]\nmini = { path = \"mini\", version = \"0.8\" }   # shared\n",
    );
    s.write("ws/mini/Cargo.toml", &mini("0.8.3"));
    s.write("ws/mini/src/lib.rs", MINI_LIB);
    s.write("ws/app/Cargo.toml", "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\nr = { package = \"mini\", path = \"../mini\", version = \"0.8\" }\n");
    s.write("ws/app/src/lib.rs", "use r::old;\npub fn f() { old(); r::old() }\npub fn g() { mini::old() }\n");
    s.write("ws/b/Cargo.toml", "[package]\nname = \"b\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\nmini = { workspace = true }\n");
    s.write("ws/b/src/lib.rs", "pub fn f() { mini::old() }\n");
    s.write("p.toml", &pack("0.8", "0.9", "old", "new"));
    let run = s.run("ws", &["upgrade", "--pack", "../p.toml", "--workspace", "--no-compiler", "--color", "never"]);
    assert_eq!(run.code, 0, "{run:?}");
    // mini is `r` in app, and comes from [workspace.dependencies] in b.
    insta::assert_snapshot!("renamed_and_workspace_dependencies_stderr", redact(&run.stderr));
    // Under its local name `r` in app; `mini::` there is not the dependency. The root's
    // [workspace.dependencies] moves (comment kept); b's `workspace = true` stays.
    insta::assert_snapshot!("renamed_and_workspace_dependencies_diff", redact(&run.stdout));
    assert!(!run.stdout.contains("--- a/b/Cargo.toml"), "b's `workspace = true` stays: {}", run.stdout);
}

fn chain_sandbox() -> Sandbox {
    let s = Sandbox::new();
    s.write("mini/Cargo.toml", &mini("0.7.0"));
    s.write("mini/src/lib.rs", MINI_LIB);
    s.write("user/Cargo.toml", "[package]\nname = \"user\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\nmini = { path = \"../mini\", version = \"0.7\" }\n\n[workspace]\n");
    s.write("user/src/lib.rs", "pub fn f() { mini::a() }\n");
    s.write("a.toml", &pack("0.7", "0.8", "a", "b"));
    s.write("b.toml", &pack("0.8", "0.9", "b", "c"));
    s
}

/// Two packs chained: 0.7 → 0.8 → 0.9, each step on the previous one's output.
#[test]
fn chains_packs() {
    let s = chain_sandbox();
    let run = s.run("user", &["upgrade", "mini", "--pack", "../b.toml", "--pack", "../a.toml", "--no-compiler", "--color", "never"]);
    assert_eq!(run.code, 0, "{run:?}");
    // The step 0.7 → 0.8, then 0.8 → 0.9.
    insta::assert_snapshot!("chained_packs_stderr", redact(&run.stderr));
    insta::assert_snapshot!("chained_packs_diff", redact(&run.stdout));
    let first = run.stderr.find("Pack mini 0.7→0.8").expect("the first step");
    let second = run.stderr.find("Pack mini 0.8→0.9").expect("the second step");
    assert!(first < second, "{}", run.stderr);
    // A nearer target stops after the first step.
    let run = s.run("user", &["upgrade", "mini@0.8", "--pack", "../b.toml", "--pack", "../a.toml", "--no-compiler", "--color", "never"]);
    assert_eq!(run.code, 0, "{run:?}");
    insta::assert_snapshot!("chained_packs_to_0_8_diff", redact(&run.stdout));
    // The JSON output carries both steps' changes.
    let run = s.run("user", &["upgrade", "mini", "--pack", "../a.toml", "--pack", "../b.toml", "--no-compiler", "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let rules: Vec<&str> = doc["changes"].as_array().unwrap().iter().map(|c| c["rule"].as_str().unwrap()).collect();
    assert!(rules.contains(&"mini/a-to-b") && rules.contains(&"mini/b-to-c") && rules.contains(&"mini/bump"), "{rules:?}");
}

#[test]
fn errors_are_clear() {
    let s = chain_sandbox();
    let run = s.run("user", &["upgrade", "nothere", "--no-compiler"]);
    assert_eq!(run.code, 2, "{run:?}");
    insta::assert_snapshot!("unknown_crate_stderr", redact(&run.stderr));

    let run = s.run("user", &["upgrade", "mini@0.9", "--pack", "../b.toml", "--no-compiler"]);
    assert_eq!(run.code, 2, "{run:?}");
    insta::assert_snapshot!("no_pack_to_target_stderr", redact(&run.stderr));

    s.write("bad.toml", &format!("{}reaplce = \"mini::d\"\n", pack("0.7", "0.8", "a", "b")));
    let run = s.run("user", &["upgrade", "mini", "--pack", "../bad.toml", "--no-compiler"]);
    assert_eq!(run.code, 2, "{run:?}");
    // The pack's file and line, and the misspelt key.
    insta::assert_snapshot!("invalid_pack_stderr", redact(&run.stderr));
}

/// A pack whose rule's replacement contains the rule's own pattern would nest it at every
/// pass; `upgrade --pack` refuses it before running, naming the pack file, the line of
/// the `replace` and the rule, and writes nothing.
#[test]
fn upgrade_refuses_a_pack_whose_rule_rewrites_its_own_output() {
    let s = chain_sandbox();
    s.write("loop.toml", "crate = \"mini\"\nfrom = \"0.7\"\nto = \"0.8\"\nsummary = \"s\"\n\n[[rule]]\nid = \"wrap\"\nmessage = \"m\"\nmatch = \"mini::a()\"\nreplace = \"mini::b(mini::a())\"\n");
    let before = s.files("user");
    let run = s.run("user", &["upgrade", "mini", "--pack", "../loop.toml", "--apply", "--allow-no-vcs", "--no-compiler", "--color", "never"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert_eq!(
        run.stderr,
        "error: ../loop.toml:10: rule `wrap`: the rule rewrites its own replacement again (`mini::b(mini::a())` becomes `mini::b(mini::b(mini::a()))`), so it would never settle: a replacement must not contain the rule's own pattern\n"
    );
    assert_eq!(s.files("user"), before, "nothing is written");
}

#[test]
fn pack_test_exit_codes() {
    let s = Sandbox::new();
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/mylib-author/migrations/mylib/1-2.toml");
    std::fs::create_dir_all(s.path("p")).unwrap();
    let run = s.run("p", &["pack", "test", shipped.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{run:?}");
    insta::assert_snapshot!("pack_test_shipped_stdout", redact(&run.stdout));

    let broken = std::fs::read_to_string(&shipped).unwrap().replacen("fn f() -> String { greeting(\"you\") }", "fn f() -> String { hello(\"you\") }", 1);
    s.write("p/broken.toml", &broken);
    let run = s.run("p", &["pack", "test", "broken.toml"]);
    assert_eq!(run.code, 1, "{run:?}");
    // `make-greeting`'s invalid example 1 fails; 10 examples, 1 failed.
    insta::assert_snapshot!("pack_test_broken_stdout", redact(&run.stdout));

    let run = s.run("p", &["pack", "test", "missing.toml"]);
    assert_eq!(run.code, 2, "{run:?}");

    // `.toml` may be left out, as the issue writes it: `pack test migrations/rand/0.8-0.9`.
    let rand = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/rand/0.8-0.9");
    let run = s.run("p", &["pack", "test", rand.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{run:?}");
    insta::assert_snapshot!("pack_test_without_extension_stdout", redact(&run.stdout));
}

/// `pack test` says which rule's replacement introduces code its pattern did not have
/// (its changes are needs-review), one line per rule; rules that introduce nothing are
/// not named.
#[test]
fn pack_test_reports_what_a_replacement_introduces() {
    let s = Sandbox::new();
    let text = format!(
        "{}\n[[rule]]\nid = \"run\"\nmessage = \"`run` is `exec`\"\nmatch = \"mini::run($x)\"\nreplace = \"mini::exec(std::process::Command::new(\\\"sh\\\").arg($x))\"\n",
        pack("1", "2", "old", "new")
    );
    s.write("p/mini.toml", &text);
    let run = s.run("p", &["pack", "test", "mini.toml"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.stdout,
        "note: mini.toml rule `run` is needs-review: the replacement introduces `std::process::Command::new`\nok mini.toml: 0 examples, 0 failed\n"
    );
}

#[test]
fn pack_new_scaffolds_a_pack_that_passes_its_tests() {
    let s = Sandbox::new();
    std::fs::create_dir_all(s.path("lib")).unwrap();
    let run = s.run("lib", &["pack", "new", "my-lib", "1", "2"]);
    assert_eq!(run.code, 0, "{run:?}");
    insta::assert_snapshot!("pack_new_stdout", redact(&run.stdout));
    // `.toml` may be left out, as in `cargo migrate pack test migrations/rand/0.8-0.9`.
    let run = s.run("lib", &["pack", "test", "migrations/my-lib/1-2"]);
    assert_eq!(run.code, 0, "{run:?}");
    insta::assert_snapshot!("pack_new_test_stdout", redact(&run.stdout));
    // Never overwritten.
    let run = s.run("lib", &["pack", "new", "my-lib", "1", "2"]);
    assert_eq!(run.code, 2, "{run:?}");
}

#[test]
fn pack_list_and_schema() {
    let s = Sandbox::new();
    std::fs::create_dir_all(s.path("x")).unwrap();
    let run = s.run("x", &["pack", "list"]);
    assert_eq!(run.code, 0, "{run:?}");
    insta::assert_snapshot!("pack_list", redact(&run.stdout));
    let run = s.run("x", &["pack", "schema"]);
    let checked_in = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/pack.schema.json")).unwrap();
    assert_eq!(run.stdout, checked_in);
    // `explain` knows a pack's rules by the id a diff shows, and the packs themselves.
    let run = s.run("x", &["explain", "base64/decode"]);
    assert_eq!(run.code, 0, "{run:?}");
    // A rule of the base64 pack: its options (`lenient` is the conservative one), an example.
    insta::assert_snapshot!("explain_pack_rule_base64_decode", redact(&run.stdout));
    let run = s.run("x", &["explain", "bitflags@1-2"]);
    assert_eq!(run.code, 0, "{run:?}");
    // The pack and its rules (`bitflags/lost-derives`, ..).
    insta::assert_snapshot!("explain_pack_bitflags_1_2", redact(&run.stdout));
    let run = s.run("x", &["explain", "base64/nope"]);
    assert_eq!(run.code, 2, "{run:?}");
}

/// What the compiler still says about the crate after the upgrade is listed with its
/// place, the compiler's message and the pack's guide: the input of a repair loop.
#[test]
fn compiler_phase_reports_what_is_left() {
    let s = Sandbox::new();
    s.write("mini/Cargo.toml", &mini("0.9.0"));
    s.write("mini/src/lib.rs", "pub fn new() {}\n#[deprecated(note = \"use `new`\")]\npub fn legacy() {}\n");
    s.write("user/Cargo.toml", "[package]\nname = \"user\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\nmini = { path = \"../mini\", version = \"0.8\" }\n\n[workspace]\n");
    s.write("user/src/lib.rs", "pub fn f() {\n    mini::old();\n    mini::legacy();\n    mini::gone();\n}\n");
    let with_guide = pack("0.8", "0.9", "old", "new").replacen(
        "summary = \"mini 0.8 → 0.9\"",
        "summary = \"mini 0.8 → 0.9\"\nguide = \"https://example.org/mini/guide\"",
        1,
    );
    s.write("p.toml", &with_guide);
    let run = s.run("user", &["upgrade", "mini", "--pack", "../p.toml", "--color", "never"]);
    assert_eq!(run.code, 0, "{run:?}");
    insta::assert_snapshot!("compiler_phase_left_diff", redact(&run.stdout));
    // `legacy` still deprecated (with the pack's guide), `gone` an error: 2 messages left.
    insta::assert_snapshot!("compiler_phase_left_stderr", redact(&run.stderr));
    // Each explained, with the compiler's message, the code and the pack's notes (no
    // model here: the notes stand in for its text).
    let run = s.run("user", &["upgrade", "mini", "--pack", "../p.toml", "--color", "never", "--explain-left", "--llm", "none"]);
    assert_eq!(run.code, 0, "{run:?}");
    let explained = redact(&run.stderr);
    let explained = &explained[explained.find("Explained").expect("no explanations")..];
    insta::assert_snapshot!("compiler_phase_left_explained", explained);
    // `explain --at` on the line of the error left: the error (as `--explain-left` shows
    // it) and the run's message there.
    let run = s.run("user", &["explain", "--at", "src/lib.rs:4", "--upgrade", "mini", "--pack", "../p.toml", "--color", "never", "--llm", "none"]);
    assert_eq!(run.code, 0, "{run:?}");
    insta::assert_snapshot!("compiler_phase_left_explain_at", redact(&run.stdout));
}

/// A member whose name a dependency's dependency also has (`tokio-macros` 1.8, whose
/// dev-dependency `tokio` pulls `tokio-macros` 2): `cargo check -p dup` is refused as
/// ambiguous, so every check names the member with its version (`-p dup@0.1.0`), and the
/// compiler phase and `--verify` build it.
#[test]
fn a_member_named_like_a_dependency_is_checked_by_name_and_version() {
    let s = Sandbox::new();
    s.write("mini/Cargo.toml", &mini("0.9.0"));
    s.write("mini/src/lib.rs", "pub fn new() {}\n#[deprecated(note = \"use `new`\")]\npub fn legacy() {}\n");
    s.write("dup2/Cargo.toml", "[package]\nname = \"dup\"\nversion = \"0.2.0\"\nedition = \"2021\"\n");
    s.write("dup2/src/lib.rs", "");
    s.write("helper/Cargo.toml", "[package]\nname = \"helper\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\ndup = { path = \"../dup2\" }\n");
    s.write("helper/src/lib.rs", "");
    s.write(
        "dup/Cargo.toml",
        "[package]\nname = \"dup\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\nmini = { path = \"../mini\", version = \"0.8\" }\n\n[dev-dependencies]\nhelper = { path = \"../helper\" }\n\n[workspace]\n",
    );
    s.write("dup/src/lib.rs", "pub fn f() {\n    mini::old();\n    mini::legacy();\n}\n");
    s.write("p.toml", &pack("0.8", "0.9", "old", "new"));
    let run = s.run("dup", &["upgrade", "mini", "--pack", "../p.toml", "--color", "never"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(!run.stderr.contains("could not build"), "{}", run.stderr);
    // The compiler phase built the member: the deprecated call it left is listed.
    assert!(run.stderr.contains("1 message(s) about mini left"), "{}", run.stderr);
    assert!(run.stdout.contains("+    mini::new();"), "{}", run.stdout);
}

/// `--verify` on an upgrade that leaves an error no pack rule covers (`reset_to`, removed
/// in mylib 2): the new release and the changes it needs stay — taking back the change on
/// the line next to the error leaves more errors, not fewer, so it is put back — and the
/// error is listed as the site to finish (exit 2). `--all-or-nothing` takes everything
/// back: the crate builds on mylib 1 as before.
#[test]
fn verify_keeps_the_release_and_lists_what_is_left_unless_all_or_nothing() {
    let s = Sandbox::mylib();
    let main = s.read("mylib-user/src/main.rs");
    let gap = "\n/// Uses a method that mylib 2 removed.\npub fn tally() -> u64 {\n    let mut c = mylib::Counter::new();\n    c.add(2);\n    c.reset_to(5);\n    c.total()\n}\n";
    s.write("mylib-user/src/main.rs", &format!("{main}{gap}"));
    s.git("mylib-user", &["init", "-q"]);
    s.git("mylib-user", &["add", "-A"]);
    s.git("mylib-user", &["commit", "-q", "-m", "on mylib 1"]);
    let before: BTreeMap<_, _> = s.files("mylib-user").into_iter().filter(|(p, _)| p != "Cargo.lock").collect();
    let run = s.run("mylib-user", &["upgrade", "mylib", "--apply", "--verify", "--color", "never"]);
    assert_eq!(run.code, 2, "{run:?}");
    insta::assert_snapshot!("verify_keeps_the_release_stderr", redact(&run.stderr));
    assert!(s.read("mylib-user/Cargo.toml").contains("\"2"), "the bump stays: {}", s.read("mylib-user/Cargo.toml"));
    let main = s.read("mylib-user/src/main.rs");
    assert!(main.contains("c.reset_to(5);"), "the site left is the user's: {main}");
    assert_ne!(main.as_bytes(), &before["src/main.rs"][..], "the pack's changes stay");
    let (ok, out) = s.cargo("mylib-user", &["check"]);
    assert!(!ok && out.contains("reset_to") && out.matches("error[").count() == 1, "one error left, the listed one: {out}");

    s.git("mylib-user", &["checkout", "-q", "."]);
    assert_eq!(s.files("mylib-user").into_iter().filter(|(p, _)| p != "Cargo.lock").collect::<BTreeMap<_, _>>(), before);
    let run = s.run("mylib-user", &["upgrade", "mylib", "--apply", "--verify", "--all-or-nothing", "--color", "never"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("after reverting, the code builds as before"), "{}", run.stderr);
    let after: BTreeMap<_, _> = s.files("mylib-user").into_iter().filter(|(p, _)| p != "Cargo.lock").collect();
    assert_eq!(after, before, "everything taken back");
}

/// A file syn cannot read (2018's bare `Rc<Fn(String) -> Result<..>>`, as clap 2 writes
/// it) that names nothing of the crate has nothing for the upgrade: it is skipped with a
/// warning and the package is upgraded. One that names the crate holds the package back.
#[test]
fn an_unreadable_file_that_names_nothing_of_the_crate_does_not_hold_back_the_upgrade() {
    let s = Sandbox::new();
    s.write("mini/Cargo.toml", &mini("0.9.0"));
    s.write("mini/src/lib.rs", "pub fn old() {}\npub fn new() {}\n");
    s.write("user/Cargo.toml", &package("user", "2018", "mini = { path = \"../mini\", version = \"0.8\" }\n", true));
    s.write("user/src/lib.rs", "#![allow(bare_trait_objects)]\nmod callbacks;\n\npub fn f() {\n    mini::old();\n}\n");
    let unreadable = "pub fn validator() -> Option<std::rc::Rc<Fn(String) -> Result<(), String>>> {\n    None\n}\n";
    s.write("user/src/callbacks.rs", unreadable);
    s.write("p.toml", &pack("0.8", "0.9", "old", "new"));
    let run = s.run("user", &["upgrade", "mini", "--pack", "../p.toml", "--no-compiler", "--color", "never"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stderr.contains("warning: src/callbacks.rs:1: cannot parse, file skipped") && run.stderr.contains("it names nothing this run changes"),
        "{}",
        run.stderr
    );
    assert!(run.stdout.contains("+    mini::new();"), "{}", run.stdout);
    // Naming the crate, it could hold a site: the package waits for it.
    s.write("user/src/callbacks.rs", &format!("{unreadable}pub fn g() {{\n    mini::old();\n}}\n"));
    let run = s.run("user", &["upgrade", "mini", "--pack", "../p.toml", "--no-compiler", "--color", "never"]);
    assert!(run.stderr.contains("package `user` is left as it is"), "{}", run.stderr);
}

/// A dependency still built on the old release hands its types to code now on the new
/// one: no rewrite of the user's code fixes that. The compiler phase names the dependency
/// (from the resolved graph) and says so at the site, instead of "no pack rule covers it".
#[test]
fn a_dependency_on_the_old_release_is_named_where_two_releases_meet() {
    let s = Sandbox::new();
    let lib = "pub struct Thing;\npub fn take(_: Thing) {}\npub fn old() {}\npub fn new() {}\n";
    s.write("mini/Cargo.toml", &mini("0.9.0"));
    s.write("mini/src/lib.rs", lib);
    s.write("mini8/Cargo.toml", &mini("0.8.0"));
    s.write("mini8/src/lib.rs", lib);
    s.write("holder/Cargo.toml", &package("holder", "2021", "mini = { path = \"../mini8\", version = \"0.8\" }\n", false));
    s.write("holder/src/lib.rs", "pub fn make() -> mini::Thing {\n    mini::Thing\n}\n");
    s.write("user/Cargo.toml", &package("user", "2021", "mini = { path = \"../mini\", version = \"0.8\" }\nholder = { path = \"../holder\" }\n", true));
    s.write("user/src/lib.rs", "pub fn f() {\n    mini::old();\n    mini::take(holder::make());\n}\n");
    s.write("p.toml", &pack("0.8", "0.9", "old", "new"));
    let run = s.run("user", &["upgrade", "mini", "--pack", "../p.toml", "--color", "never"]);
    assert_eq!(run.code, 0, "{run:?}");
    insta::assert_snapshot!("two_releases_stderr", redact(&run.stderr));
    assert!(run.stderr.contains("holder 0.1.0 (mini 0.8.0) still depend(s) on another release of mini than the upgraded code"), "{}", run.stderr);
    assert!(run.stderr.contains("src/lib.rs:3: error after the upgrade:") && run.stderr.contains("two releases of mini meet here"), "{}", run.stderr);
}

/// The user calls a method mylib 2 removed and its pack has no rule for: the upgrade
/// leaves a compile error, and `--repair` asks the model for a new version of the
/// function, kept only if `cargo check` accepts it.
fn mylib_with_a_gap(model_code: &'static str) -> (Sandbox, common::FakeServer) {
    let s = Sandbox::mylib();
    let main = s.read("mylib-user/src/main.rs");
    s.write(
        "mylib-user/src/main.rs",
        &format!("{main}\n/// Uses a method that mylib 2 removed.\npub fn tally() -> u64 {{\n    let mut c = mylib::Counter::new();\n    c.add(2);\n    c.reset_to(5);\n    c.total()\n}}\n"),
    );
    s.git("mylib-user", &["init", "-q"]);
    s.git("mylib-user", &["add", "-A"]);
    s.git("mylib-user", &["commit", "-q", "-m", "on mylib 1"]);
    let answer = serde_json::json!({"code": model_code, "reason": "reset_to is gone in mylib 2: start a new counter"}).to_string();
    let server = common::FakeServer::start(move |_, _| {
        common::Reply::ok(
            serde_json::json!({"choices": [{"index": 0, "message": {"role": "assistant", "content": answer}, "finish_reason": "stop"}]}).to_string(),
        )
    });
    (s, server)
}

#[test]
fn repair_keeps_a_proposal_the_compiler_accepts() {
    let (s, server) = mylib_with_a_gap("pub fn tally() -> u64 {\n    let mut c = mylib::Counter::new();\n    c.add(5);\n    c.total()\n}");
    let url = server.url.clone();
    let run = s.run("mylib-user", &["upgrade", "mylib", "--apply", "--repair", "--llm", "openai", "--model", "fake", "--llm-url", &url, "--color", "never"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    // "repaired src/main.rs:..", marked needs review with the model's reason.
    insta::assert_snapshot!("repair_kept_stderr", redact(&run.stderr));
    let main = s.read("mylib-user/src/main.rs");
    assert!(main.contains("    c.add(5);\n    c.total()\n}") && !main.contains("reset_to"), "{main}");
    let (ok, out) = s.cargo("mylib-user", &["check"]);
    assert!(ok, "{out}");
    let asked = server.finish();
    assert_eq!(asked.len(), 1);
    assert!(asked[0].body.contains("reset_to"), "the error and the function are in the prompt");
}

#[test]
fn repair_puts_back_a_proposal_that_does_not_compile() {
    let (s, server) = mylib_with_a_gap("pub fn tally() -> u64 {\n    let c = mylib::Counter::new();\n    c.reset_all();\n    c.total()\n}");
    let url = server.url.clone();
    let run = s.run("mylib-user", &["upgrade", "mylib", "--apply", "--repair", "--llm", "openai", "--model", "fake", "--llm-url", &url, "--color", "never"]);
    // Each proposal "not kept"; nothing "repaired".
    insta::assert_snapshot!("repair_not_kept_stderr", redact(&run.stderr));
    let main = s.read("mylib-user/src/main.rs");
    assert!(main.contains("c.reset_to(5);"), "the file is put back: {main}");
    assert_eq!(server.finish().len(), 2, "two attempts");
}

/// Members on different releases of the crate: each takes the steps from its own version.
#[test]
fn members_on_different_versions_each_take_their_own_steps() {
    let s = Sandbox::new();
    s.write("ws/Cargo.toml", "[workspace]\nmembers = [\"old\", \"newer\"]\nresolver = \"2\"\n");
    // Outside the workspace: path dependencies below its root would be members.
    s.write("mini7/Cargo.toml", &mini("0.7.0"));
    s.write("mini7/src/lib.rs", MINI_LIB);
    s.write("mini8/Cargo.toml", &mini("0.8.0"));
    s.write("mini8/src/lib.rs", MINI_LIB);
    s.write("ws/old/Cargo.toml", &package("old", "2021", "mini = { path = \"../../mini7\", version = \"0.7\" }\n", false));
    s.write("ws/old/src/lib.rs", "pub fn f() { mini::a() }\n");
    s.write("ws/newer/Cargo.toml", &package("newer", "2021", "mini = { path = \"../../mini8\", version = \"0.8\" }\n", false));
    s.write("ws/newer/src/lib.rs", "pub fn g() { mini::b() }\n");
    s.write("a.toml", &pack("0.7", "0.8", "a", "b"));
    s.write("b.toml", &pack("0.8", "0.9", "b", "c"));
    let run = s.run("ws", &["upgrade", "mini", "--pack", "../a.toml", "--pack", "../b.toml", "--workspace", "--no-compiler", "--color", "never"]);
    assert_eq!(run.code, 0, "{run:?}");
    // `old` goes 0.7 → 0.8 → 0.9 (a → b → c); `newer` only 0.8 → 0.9 (b → c).
    insta::assert_snapshot!("members_on_different_versions_diff", redact(&run.stdout));
}

/// The built-in bitflags pack's macro rule reaches a `bitflags!` in a submodule through
/// `#[macro_use] extern crate bitflags;` in the crate root, and leaves a same-named macro
/// of another crate alone.
#[test]
fn macro_rules_see_macro_use_of_the_crate_root() {
    let s = Sandbox::new();
    s.write("bitflags/Cargo.toml", "[package]\nname = \"bitflags\"\nversion = \"1.3.2\"\nedition = \"2018\"\n");
    s.write("bitflags/src/lib.rs", "#[macro_export]\nmacro_rules! bitflags { ($($t:tt)*) => {}; }\n");
    s.write("user/Cargo.toml", "[package]\nname = \"user\"\nversion = \"0.1.0\"\nedition = \"2018\"\n\n[dependencies]\nbitflags = { path = \"../bitflags\", version = \"1\" }\n\n[workspace]\n");
    s.write("user/src/lib.rs", "#[macro_use]\nextern crate bitflags;\n\nmod flags;\nmod other;\n");
    s.write("user/src/flags.rs", "bitflags! {\n    /// Modes.\n    pub struct Mode: u8 {\n        const R = 4;\n    }\n}\n");
    s.write("user/src/other.rs", "macro_rules! bitflags { ($($t:tt)*) => {}; }\nbitflags! { struct Not: u8 {} }\n");
    let run = s.run("user", &["upgrade", "bitflags", "--no-compiler", "--color", "never"]);
    assert_eq!(run.code, 0, "{run:?}");
    // The derives added in flags.rs; nothing in other.rs.
    insta::assert_snapshot!("bitflags_macro_use_diff", redact(&run.stdout));
}

/// A feature the new release split out of old ones is added where a manifest enables all
/// of them: in the dependency's `features` and in a feature of the `[features]` table.
#[test]
fn new_features_are_added_beside_the_old_ones_that_provided_them() {
    let s = Sandbox::new();
    s.write("mini/Cargo.toml", &mini("0.8.0"));
    s.write("mini/src/lib.rs", MINI_LIB);
    s.write(
        "user/Cargo.toml",
        "[package]\nname = \"user\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\nmini = { path = \"../mini\", version = \"0.8\", default-features = false, features = [\"std\", \"std_rng\"] }\n\n[features]\nrng = [\n    \"mini/std\",\n    \"mini/std_rng\",\n]\nless = [\"mini/std\"]\n\n[workspace]\n",
    );
    s.write("user/src/lib.rs", "pub fn f() { mini::a() }\n");
    // Top-level keys come before the first `[[rule]]` table.
    let (head, rules) = pack("0.8", "0.9", "a", "b").split_once("\n[[rule]]").map(|(h, r)| (h.to_string(), r.to_string())).unwrap();
    let features = "\n[[new_features]]\nfeature = \"thread_rng\"\nwhen = [\"std\", \"std_rng\"]\nmessage = \"`thread_rng` has a feature of its own\"\n";
    s.write("p.toml", &format!("{head}{features}\n[[rule]]{rules}"));
    let run = s.run("user", &["upgrade", "--pack", "../p.toml", "--no-compiler", "--color", "never"]);
    assert_eq!(run.code, 0, "{run:?}");
    // `thread_rng` added to the dependency's features and to `rng`, not to `less`.
    insta::assert_snapshot!("new_features_diff", redact(&run.stdout));
    insta::assert_snapshot!("new_features_stderr", redact(&run.stderr));
}

/// `--target` chooses what the upgrade's compiler phase builds: the host's triple finds
/// what is left as without it; a target whose standard library is not installed cannot
/// be built, which the upgrade says instead of claiming nothing is left.
#[test]
fn compiler_phase_builds_for_the_given_target() {
    let s = Sandbox::new();
    s.write("mini/Cargo.toml", &mini("0.9.0"));
    s.write("mini/src/lib.rs", "pub fn new() {}\n#[deprecated(note = \"use `new`\")]\npub fn legacy() {}\n");
    s.write("user/Cargo.toml", "[package]\nname = \"user\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\nmini = { path = \"../mini\", version = \"0.8\" }\n\n[workspace]\n");
    s.write("user/src/lib.rs", "pub fn f() {\n    mini::old();\n    mini::legacy();\n}\n");
    s.write("p.toml", &pack("0.8", "0.9", "old", "new"));
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let version = String::from_utf8(Command::new(rustc).arg("-vV").output().unwrap().stdout).unwrap();
    let host = version.lines().find_map(|l| l.strip_prefix("host: ")).unwrap().to_string();
    let run = s.run("user", &["upgrade", "mini", "--pack", "../p.toml", "--target", &host, "--color", "never"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(s.path("target").join(&host).is_dir() || run.stderr.contains(&host), "the build used --target {host}: {}", run.stderr);
    // `legacy` still deprecated, as without --target.
    insta::assert_snapshot!("target_host_stderr", redact(&run.stderr).replace(&host, "[HOST]"));
    let missing = if host.starts_with("wasm32") { "x86_64-unknown-linux-gnu" } else { "wasm32-unknown-unknown" };
    let run = s.run("user", &["upgrade", "mini", "--pack", "../p.toml", "--target", missing, "--color", "never"]);
    // The build failed for want of the target's `core` (or `std`, as toolchains differ),
    // which it names; not "still deprecated".
    let stderr = redact(&run.stderr).replace("can't find crate for `std`", "can't find crate for `core`").replace(missing, "[MISSING TARGET]");
    insta::assert_snapshot!("target_not_installed_stderr", stderr);
}

fn line_sandbox(lib_version: &str, requirement: &str) -> Sandbox {
    let s = Sandbox::new();
    s.write("mini/Cargo.toml", &mini(lib_version));
    s.write("mini/src/lib.rs", MINI_LIB);
    s.write(
        "user/Cargo.toml",
        &format!("[package]\nname = \"user\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\nmini = {{ path = \"../mini\", version = \"{requirement}\" }}\n\n[workspace]\n"),
    );
    s.write("user/src/lib.rs", "pub fn f() { mini::old() }\n");
    s.write("line.toml", &pack("0.4", "0.4.9", "old", "new"));
    s
}

/// A line pack (`from = "0.4"`, `to = "0.4.9"`: deprecations within one release line) is
/// what `cargo migrate upgrade mini` picks with no target. It rewrites the code of a member
/// at its `to` or on a newer release of the line, raises the requirement to at least `to`,
/// and never lowers a requirement already higher.
#[test]
fn line_pack_rewrites_deprecations_within_a_release_line() {
    // The library's version, the requirement, and (in the snapshot) the requirement
    // written: 0.4.9; 0.4.9; left at 0.4.11, already higher (no Cargo.toml in the diff).
    for (lib, requirement) in [("0.4.9", "0.4"), ("0.4.12", "0.4"), ("0.4.12", "0.4.11")] {
        let s = line_sandbox(lib, requirement);
        let run = s.run("user", &["upgrade", "mini", "--pack", "../line.toml", "--no-compiler", "--color", "never"]);
        assert_eq!(run.code, 0, "{run:?}");
        // mini found at `lib`, the line pack applied (not "nothing to upgrade"): `old` → `new`.
        let name = format!("line_pack_on_{lib}_requirement_{requirement}").replace('.', "_");
        insta::assert_snapshot!(format!("{name}_stderr"), redact(&run.stderr));
        insta::assert_snapshot!(format!("{name}_diff"), redact(&run.stdout));
    }
}

/// `mini@0.4` names the release line, which the line pack's `to` is in; a target that
/// excludes its `to` leaves it out, with a note; a major step is followed by the line pack
/// of the class it reaches.
#[test]
fn line_pack_targets() {
    let s = line_sandbox("0.4.12", "0.4");
    let run = s.run("user", &["upgrade", "mini@0.4", "--pack", "../line.toml", "--no-compiler", "--color", "never"]);
    assert_eq!(run.code, 0, "{run:?}");
    insta::assert_snapshot!("line_pack_target_0_4_diff", redact(&run.stdout));

    let run = s.run("user", &["upgrade", "mini@=0.4.8", "--pack", "../line.toml", "--no-compiler", "--color", "never"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.stdout, "");
    // The line pack is not applied: it moves mini past the target `=0.4.8`.
    insta::assert_snapshot!("line_pack_past_the_target_stderr", redact(&run.stderr));

    let s = line_sandbox("0.3.1", "0.3");
    s.write("major.toml", &pack("0.3", "0.4", "a", "old"));
    s.write("user/src/lib.rs", "pub fn f() { mini::a() }\n");
    let run = s.run("user", &["upgrade", "mini", "--pack", "../line.toml", "--pack", "../major.toml", "--no-compiler", "--color", "never"]);
    assert_eq!(run.code, 0, "{run:?}");
    // The major step 0.3 → 0.4, then the line pack 0.4 → 0.4.9.
    insta::assert_snapshot!("line_pack_after_a_major_step_stderr", redact(&run.stderr));
    let major = run.stderr.find("Pack mini 0.3→0.4").expect("the major step");
    let line = run.stderr.find("Pack mini 0.4→0.4.9").expect("the line step");
    assert!(major < line, "{}", run.stderr);
    insta::assert_snapshot!("line_pack_after_a_major_step_diff", redact(&run.stdout));
}

/// A crate written against chrono 0.4.19 (real chrono, from cargo's registry), with the
/// calls chrono deprecated later in the 0.4 line and a type of its own whose methods share
/// their names. Its `Cargo.lock` holds 0.4.19.
const CHRONO_USER: &str = r#"use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};

/// A type of the crate's own, with chrono's deprecated names: never rewritten.
pub struct Stamp(i64);

impl Stamp {
    pub fn from_ymd(y: i32, m: u32, d: u32) -> Stamp {
        Stamp(i64::from(y) * 10_000 + i64::from(m) * 100 + i64::from(d))
    }
    pub fn timestamp_nanos(&self) -> i64 {
        self.0
    }
}

pub fn epoch() -> DateTime<Utc> {
    Utc.ymd(1970, 1, 1).and_hms(0, 0, 0)
}

pub fn from_secs(secs: i64) -> NaiveDateTime {
    NaiveDateTime::from_timestamp(secs, 0)
}

pub fn to_utc(n: NaiveDateTime) -> DateTime<Utc> {
    DateTime::<Utc>::from_utc(n, Utc)
}

pub fn seconds(n: &NaiveDateTime) -> i64 {
    n.timestamp()
}

pub fn nanos(t: DateTime<Utc>) -> i64 {
    t.timestamp_nanos()
}

pub fn noon(y: i32) -> NaiveDateTime {
    NaiveDate::from_ymd(y, 6, 1).and_hms(12, 0, 0)
}

pub fn at(secs: i64) -> DateTime<Utc> {
    Utc.timestamp(secs, 0)
}

pub fn offset() -> FixedOffset {
    FixedOffset::east(3600)
}

pub fn tea() -> NaiveTime {
    NaiveTime::from_hms(17, 0, 0)
}

/// The receiver's type shows only to the compiler.
pub fn made() -> i64 {
    let t = make();
    t.timestamp()
}

fn make() -> NaiveDateTime {
    NaiveDate::from_ymd(2020, 2, 29).and_hms(1, 2, 3)
}

pub fn own() -> i64 {
    Stamp::from_ymd(2020, 1, 2).timestamp_nanos()
}
"#;

/// Runs cargo in `dir` offline (cargo's cache) and, if that fails, online: the registry
/// is reachable through cargo wherever the tests run, and cached after the first run.
fn cargo_cached(s: &Sandbox, dir: &str, args: &[&str]) {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    if s.command(&cargo, dir).args(args).output().unwrap().status.success() {
        return;
    }
    let out = s.command(&cargo, dir).args(args).env("CARGO_NET_OFFLINE", "false").output().unwrap();
    assert!(out.status.success(), "cargo {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// The chrono line pack end to end: a crate pinned to chrono 0.4.19 with deprecated calls
/// is moved to the newest 0.4.x by `cargo migrate upgrade chrono --apply --verify`, and
/// `cargo check` then shows no deprecation warning from chrono; its own methods named
/// like chrono's are left alone.
#[test]
fn chrono_line_pack_removes_the_deprecation_warnings() {
    let s = Sandbox::new();
    s.write(
        "app/Cargo.toml",
        "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\nchrono = { version = \"0.4\", default-features = false, features = [\"std\"] }\n\n[workspace]\n",
    );
    s.write("app/src/lib.rs", CHRONO_USER);
    // A release at least as new as the pack's `to` must be in cargo's cache for the
    // offline runs below.
    s.write("newest/Cargo.toml", "[package]\nname = \"newest\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\nchrono = { version = \"0.4.38\", default-features = false, features = [\"std\"] }\n\n[workspace]\n");
    s.write("newest/src/lib.rs", "");
    cargo_cached(&s, "newest", &["fetch"]);
    cargo_cached(&s, "app", &["generate-lockfile"]);
    cargo_cached(&s, "app", &["update", "-p", "chrono", "--precise", "0.4.19"]);
    // Resolving offline needs only the index; building needs the sources, which a fresh
    // machine has not downloaded yet.
    cargo_cached(&s, "app", &["fetch"]);
    let (ok, out) = s.cargo("app", &["check", "--all-targets"]);
    assert!(ok && !out.contains("deprecated"), "on 0.4.19 it builds without deprecations: {out}");
    s.git("app", &["init", "-q"]);
    s.git("app", &["add", "-A"]);
    s.git("app", &["commit", "-q", "-m", "on chrono 0.4.19"]);

    let run = s.run("app", &["upgrade", "chrono", "--apply", "--verify", "--color", "never"]);
    assert_eq!(run.code, 0, "{run:?}");
    // chrono found at 0.4.19, the built-in line pack, verified, no message about chrono left.
    insta::assert_snapshot!("chrono_line_pack_apply_verify_stderr", redact(&run.stderr));
    assert!(s.read("app/Cargo.toml").contains("chrono = { version = \"0.4.38\", default-features = false, features = [\"std\"] }"));
    let lib = s.read("app/src/lib.rs");
    for fixed in [
        "Utc.with_ymd_and_hms(1970, 1, 1, 0, 0, 0).unwrap()",
        "chrono::DateTime::from_timestamp(secs, 0).unwrap().naive_utc()",
        "DateTime::<Utc>::from_naive_utc_and_offset(n, Utc)",
        "n.and_utc().timestamp()",
        "t.timestamp_nanos_opt().unwrap()",
        "NaiveDate::from_ymd_opt(y, 6, 1).unwrap().and_hms_opt(12, 0, 0).unwrap()",
        "Utc.timestamp_opt(secs, 0).unwrap()",
        "FixedOffset::east_opt(3600).unwrap()",
        "NaiveTime::from_hms_opt(17, 0, 0).unwrap()",
        "    let t = make();\n    t.and_utc().timestamp()",
        "Stamp::from_ymd(2020, 1, 2).timestamp_nanos()",
    ] {
        assert!(lib.contains(fixed), "{fixed}:\n{lib}");
    }
    let lock = s.read("app/Cargo.lock");
    let at = lock.find("name = \"chrono\"\nversion = \"").expect("chrono in the lock") + "name = \"chrono\"\nversion = \"".len();
    let version = &lock[at..at + lock[at..].find('"').unwrap()];
    let patch: u64 = version.strip_prefix("0.4.").and_then(|p| p.parse().ok()).unwrap_or_else(|| panic!("chrono {version}"));
    assert!(patch >= 38, "chrono {version} in the lock");
    let (ok, out) = s.cargo("app", &["check", "--all-targets"]);
    assert!(ok && !out.contains("deprecated"), "{out}");

    let again = s.run("app", &["upgrade", "chrono", "--check", "--color", "never"]);
    assert_eq!(again.code, 0, "{again:?}");
    assert_eq!(again.stdout, "");
}

/// Every invalid example of the chrono pack is real code: its `code` builds against chrono
/// 0.4.19 and its `fixed` against the newest 0.4.x (at least the pack's `to`) with no
/// deprecation warning, so no rule writes code that does not compile.
#[test]
fn chrono_pack_examples_build_before_and_after() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/chrono/0.4-0.4.38.toml");
    let pack = cargo_migrate::pack::format::parse(&std::fs::read_to_string(&path).unwrap(), "chrono pack").unwrap();
    let s = Sandbox::new();
    for (dir, requirement, field) in [("before", "=0.4.19", "code"), ("after", "0.4.38", "fixed")] {
        let mut lib = String::from("#![allow(dead_code, unused_imports)]\n");
        let mut count = 0;
        for rule in &pack.rules {
            for example in rule.examples.iter().flat_map(|e| &e.invalid) {
                count += 1;
                let text = if field == "code" { &example.code } else { &example.fixed };
                lib.push_str(&format!("\n/// {}\nmod example_{count} {{\n{text}}}\n", rule.id));
            }
        }
        assert!(count > 20, "{count} examples");
        s.write(
            &format!("{dir}/Cargo.toml"),
            &format!("[package]\nname = \"{dir}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\nchrono = \"{requirement}\"\n\n[workspace]\n"),
        );
        s.write(&format!("{dir}/src/lib.rs"), &lib);
        cargo_cached(&s, dir, &["generate-lockfile"]);
        cargo_cached(&s, dir, &["fetch"]);
        let (ok, out) = s.cargo(dir, &["check"]);
        assert!(ok && !out.contains("warning"), "the examples' `{field}` against chrono {requirement}:\n{out}");
    }
}

/// A path rule moves an item to a crate of the pack's `new_crates`: the code names it
/// there, and the member gets the crate as a dependency, next to the pack's crate.
#[test]
fn items_moved_to_a_new_crate_bring_the_dependency() {
    let s = Sandbox::new();
    s.write("mini/Cargo.toml", &mini("0.8.0"));
    s.write("mini/src/lib.rs", "pub struct Verbose;\npub struct Kept;\n");
    s.write("user/Cargo.toml", "[package]\nname = \"user\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\nmini = { path = \"../mini\", version = \"0.8\" }\nother = \"1\" # keeps its comment\n\n[workspace]\n");
    s.write("user/src/lib.rs", "use mini::{Kept, Verbose};\npub fn f(_: Verbose, _: Kept) {}\n");
    s.write("other-user/Cargo.toml", "[package]\nname = \"other-user\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies.mini]\npath = \"../mini\"\nversion = \"0.8\"\n\n[workspace]\n");
    s.write("other-user/src/lib.rs", "pub fn g(_: mini::Kept) {}\n");
    s.write(
        "p.toml",
        "crate = \"mini\"\nfrom = \"0.8\"\nto = \"0.9\"\nsummary = \"s\"\n\n[[new_crates]]\ncrate = \"mini-extra\"\nversion = \"0.1\"\n\n[[rule]]\nid = \"verbose\"\nmessage = \"`Verbose` is in `mini-extra`\"\nmatch = \"mini::Verbose\"\nreplace = \"mini_extra::Verbose\"\n",
    );
    let run = s.run("user", &["upgrade", "--pack", "../p.toml", "--no-compiler", "--color", "never"]);
    assert_eq!(run.code, 0, "{run:?}");
    // `mini_extra::Verbose` in the code, `mini-extra = "0.1"` added after mini (the next
    // line keeps its comment), and a note of why.
    insta::assert_snapshot!("new_crate_added_diff", redact(&run.stdout));
    // A member that names nothing that moved gets nothing; a `[dependencies.mini]` table
    // gets a table of its own.
    let run = s.run("other-user", &["upgrade", "--pack", "../p.toml", "--no-compiler", "--color", "never"]);
    assert_eq!(run.code, 0, "{run:?}");
    insta::assert_snapshot!("new_crate_not_named_diff", redact(&run.stdout));
    s.write("other-user/src/lib.rs", "pub fn g(_: mini::Verbose) {}\n");
    let run = s.run("other-user", &["upgrade", "--pack", "../p.toml", "--no-compiler", "--color", "never"]);
    assert_eq!(run.code, 0, "{run:?}");
    insta::assert_snapshot!("new_crate_dependency_table_diff", redact(&run.stdout));
}

/// A call the syntax cannot attribute (a closure's parameter, of the member's own type) is
/// left to the compiler phase; once that phase has built the code and flagged nothing there,
/// one note says so instead of a "the compiler phase must decide" per call.
#[test]
fn calls_left_to_the_compiler_are_settled_by_it() {
    let s = Sandbox::new();
    s.write("mini/Cargo.toml", &mini("0.9.0"));
    s.write("mini/src/lib.rs", "pub struct Counter;\nimpl Counter {\n    #[deprecated(note = \"use `count`\")]\n    pub fn tally(&self) -> u32 { 0 }\n    pub fn count(&self) -> u32 { 0 }\n}\n");
    s.write("user/Cargo.toml", "[package]\nname = \"user\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\nmini = { path = \"../mini\", version = \"0.8\" }\n\n[workspace]\n");
    s.write("user/src/own.rs", "pub struct Own;\nimpl Own {\n    pub fn tally(&self) -> u32 { 1 }\n}\npub fn make() -> Own { Own }\n");
    s.write(
        "user/src/lib.rs",
        "pub mod own;\npub fn f(c: &mini::Counter, items: &[own::Own]) -> u32 {\n    c.tally() + items.iter().map(|o| o.tally()).sum::<u32>()\n}\n",
    );
    s.write(
        "p.toml",
        "crate = \"mini\"\nfrom = \"0.8\"\nto = \"0.9\"\nsummary = \"s\"\n\n[[rule]]\nid = \"tally\"\nmessage = \"`tally` is `count`\"\nmatch = \"$c.tally()\"\nreplace = \"$c.count()\"\nreceiver_type = \"mini::Counter\"\n",
    );
    let run = s.run("user", &["upgrade", "--pack", "../p.toml", "--color", "never"]);
    assert_eq!(run.code, 0, "{run:?}");
    // `c.tally()` becomes `c.count()`; the closure's `o.tally()` stays.
    insta::assert_snapshot!("calls_left_to_the_compiler_diff", redact(&run.stdout));
    // One note for the call left as it is, no "the compiler phase must decide".
    insta::assert_snapshot!("calls_left_to_the_compiler_stderr", redact(&run.stderr));
    // Without the compiler phase, the note stays with the call.
    let run = s.run("user", &["upgrade", "--pack", "../p.toml", "--no-compiler", "--color", "never"]);
    assert_eq!(run.code, 0, "{run:?}");
    insta::assert_snapshot!("calls_left_without_the_compiler_stderr", redact(&run.stderr));
}

/// Manifest lines the upgrade adds (a new feature, a new crate) take the file's line
/// endings.
#[test]
fn added_manifest_lines_keep_crlf() {
    let s = Sandbox::new();
    s.write("mini/Cargo.toml", &mini("0.8.0"));
    s.write("mini/src/lib.rs", "pub struct Verbose;\n");
    let manifest = "[package]\nname = \"user\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\nmini = { path = \"../mini\", version = \"0.8\", default-features = false }\n\n[features]\nrng = [\n    \"mini/std\",\n    \"mini/std_rng\",\n]\n\n[workspace]\n";
    s.write("user/Cargo.toml", &manifest.replace('\n', "\r\n"));
    s.write("user/src/lib.rs", "pub fn f(_: mini::Verbose) {}\n");
    s.write(
        "p.toml",
        "crate = \"mini\"\nfrom = \"0.8\"\nto = \"0.9\"\nsummary = \"s\"\n\n[[new_features]]\nfeature = \"thread_rng\"\nwhen = [\"std\", \"std_rng\"]\nmessage = \"m\"\n\n[[new_crates]]\ncrate = \"mini-extra\"\nversion = \"0.1\"\n\n[[rule]]\nid = \"verbose\"\nmessage = \"m\"\nmatch = \"mini::Verbose\"\nreplace = \"mini_extra::Verbose\"\n",
    );
    let run = s.run("user", &["upgrade", "--pack", "../p.toml", "--no-compiler", "--apply", "--allow-no-vcs", "--color", "never"]);
    assert_eq!(run.code, 0, "{run:?}");
    let after = s.read("user/Cargo.toml");
    assert!(after.contains("mini-extra = \"0.1\"\r\n") && after.contains("\"mini/thread_rng\",\r\n"), "{after:?}");
    assert!(!after.replace("\r\n", "").contains('\n'), "a lone LF: {after:?}");
}

/// `--verify` when a change breaks another file: the rename of a re-exported item in
/// `a.rs` breaks `b.rs`, which has no change of its own. Bisecting the changed files
/// finds `a.rs`; its change is taken back, and the others (the bump, `c.rs`) stay.
#[test]
fn verify_bisects_to_the_file_whose_change_breaks_another() {
    let s = Sandbox::new();
    s.write("mini/Cargo.toml", &mini("0.8.1"));
    s.write("mini/src/lib.rs", "pub struct Gadget;\n#[deprecated(note = \"use `Gadget`\")]\npub type Widget = Gadget;\n");
    s.write("user/Cargo.toml", "[package]\nname = \"user\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\nmini = { path = \"../mini\", version = \"0.8\" }\n\n[workspace]\n");
    s.write("user/src/lib.rs", "#![allow(deprecated)]\npub mod a;\npub mod b;\npub mod c;\n");
    s.write("user/src/a.rs", "pub use mini::Widget;\n");
    s.write("user/src/b.rs", "pub fn make() -> crate::a::Widget {\n    mini::Gadget\n}\n");
    s.write("user/src/c.rs", "pub fn other() -> mini::Widget {\n    mini::Gadget\n}\n");
    s.write(
        "line.toml",
        "crate = \"mini\"\nfrom = \"0.8\"\nto = \"0.8.1\"\nsummary = \"s\"\n\n[[rule]]\nid = \"widget\"\nmessage = \"`Widget` is `Gadget`\"\nmatch = \"mini::Widget\"\nreplace = \"mini::Gadget\"\n",
    );
    s.git("user", &["init", "-q"]);
    s.git("user", &["add", "-A"]);
    s.git("user", &["commit", "-q", "-m", "before"]);
    let run = s.run("user", &["upgrade", "--pack", "../line.toml", "--no-compiler", "--apply", "--verify", "--color", "never"]);
    assert_eq!(run.code, 2, "{run:?}");
    // Bisecting the changed files finds a.rs; a line pack's summary names the release it
    // reaches (`mini → 0.8.1`).
    insta::assert_snapshot!("verify_bisects_stderr", redact(&run.stderr));
    assert_eq!(s.read("user/src/a.rs"), "pub use mini::Widget;\n", "a.rs is taken back");
    assert!(s.read("user/src/c.rs").contains("-> mini::Gadget"), "c.rs keeps its change");
    assert!(s.read("user/Cargo.toml").contains("version = \"0.8.1\""), "the bump stays");
    let (ok, out) = s.cargo("user", &["check"]);
    assert!(ok, "{out}");
}

/// The workspace and feature flags choose what moves and what the compiler phase builds:
/// `-p` moves one member only; a use of the library behind a feature is seen by the
/// compiler phase when `--features` turns it on, and not when the build leaves it out.
#[test]
fn package_and_feature_flags_choose_what_moves_and_what_is_built() {
    let s = Sandbox::new();
    s.write("mini/Cargo.toml", &mini("0.9.0"));
    s.write("mini/src/lib.rs", "pub struct Counter;\nimpl Counter {\n    #[deprecated(note = \"use `count`\")]\n    pub fn tally(&self) -> u32 { 0 }\n    pub fn count(&self) -> u32 { 0 }\n}\n");
    s.write("ws/Cargo.toml", "[workspace]\nmembers = [\"user\", \"other\"]\nresolver = \"2\"\n");
    let member = |name: &str| {
        format!("[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\nmini = {{ path = \"../../mini\", version = \"0.8\" }}\n\n[features]\nextra = []\n")
    };
    s.write("ws/user/Cargo.toml", &member("user"));
    // `other` stays on 0.8 (its own copy: a path dependency cannot be two versions).
    s.write("mini8/Cargo.toml", &mini("0.8.0"));
    s.write("mini8/src/lib.rs", "pub struct Counter;\nimpl Counter {\n    pub fn tally(&self) -> u32 { 0 }\n}\n");
    s.write("ws/other/Cargo.toml", &member("other").replace("../../mini", "../../mini8"));
    let gated = "#[cfg(feature = \"extra\")]\npub fn total(items: &[mini::Counter]) -> u32 {\n    items.iter().map(|c| c.tally()).sum()\n}\n";
    s.write("ws/user/src/lib.rs", gated);
    s.write("ws/other/src/lib.rs", gated);
    s.write(
        "p.toml",
        "crate = \"mini\"\nfrom = \"0.8\"\nto = \"0.9\"\nsummary = \"s\"\n\n[[rule]]\nid = \"tally\"\nmessage = \"`tally` is `count`\"\nmatch = \"$c.tally()\"\nreplace = \"$c.count()\"\nreceiver_type = \"mini::Counter\"\n",
    );
    let run = s.run("ws", &["upgrade", "--pack", "../p.toml", "-p", "user", "--features", "extra", "--color", "never"]);
    assert_eq!(run.code, 0, "{run:?}");
    // The compiler phase built the gated code (`c.count()`); only `user` moves.
    insta::assert_snapshot!("package_with_feature_diff", redact(&run.stdout));
    // With the feature off (and default features off), the gated call is not built:
    // nothing tells its receiver's type, so it is left, and said so.
    let run = s.run("ws", &["upgrade", "--pack", "../p.toml", "-p", "user", "--no-default-features", "--color", "never"]);
    assert_eq!(run.code, 0, "{run:?}");
    insta::assert_snapshot!("package_without_features_diff", redact(&run.stdout));
    insta::assert_snapshot!("package_without_features_stderr", redact(&run.stderr));
}

/// `cargo migrate upgrade` without a crate lists what the built-in packs can move here,
/// from the requirements alone (no resolution, nothing written).
#[test]
fn upgrade_without_a_crate_lists_what_the_packs_can_move() {
    let s = Sandbox::new();
    s.write(
        "app/Cargo.toml",
        "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\nrand = \"0.8.5\"\nbitflags = \"1.3\"\nserde = \"1\"\nchrono = \"0.4\"\n\n[workspace]\n",
    );
    s.write("app/src/lib.rs", "");
    let before = s.files("app");
    let run = s.run("app", &["upgrade", "--color", "never"]);
    assert_eq!(run.code, 0, "{run:?}");
    // rand, bitflags and chrono, not serde.
    insta::assert_snapshot!("upgrade_without_a_crate_list", redact(&run.stdout));
    assert_eq!(s.files("app"), before, "nothing written");
    s.write("app/Cargo.toml", "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\nserde = \"1\"\n\n[workspace]\n");
    let run = s.run("app", &["upgrade", "--color", "never"]);
    assert_eq!(run.code, 0, "{run:?}");
    insta::assert_snapshot!("upgrade_without_a_crate_nothing_to_move_stderr", redact(&run.stderr));
}

/// A rule that applies at a compiler error: after the bump, rustc reports E0615 where a
/// field of the crate's type became a method; the read is rewritten, the write is left
/// and listed with the pack's note.
#[test]
fn error_rules_apply_where_the_compiler_reports_their_error() {
    let s = Sandbox::new();
    s.write("mini/Cargo.toml", &mini("0.9.0"));
    s.write("mini/src/lib.rs", "pub struct Flags(u8);\nimpl Flags {\n    pub fn bits(&self) -> u8 { self.0 }\n}\n");
    s.write("user/Cargo.toml", "[package]\nname = \"user\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\nmini = { path = \"../mini\", version = \"0.8\" }\n\n[workspace]\n");
    s.write("user/src/lib.rs", "pub fn raw(f: &mini::Flags) -> u8 {\n    f.bits\n}\n\npub fn set(f: &mut mini::Flags) {\n    f.bits = 3;\n}\n");
    s.write(
        "p.toml",
        "crate = \"mini\"\nfrom = \"0.8\"\nto = \"0.9\"\nsummary = \"s\"\n\n[[rule]]\nid = \"bits-field\"\nmessage = \"`bits` is a method now\"\nmatch = \"$x.bits\"\nreplace = \"$x.bits()\"\nat_error = \"E0615\"\n",
    );
    let run = s.run("user", &["upgrade", "--pack", "../p.toml", "--color", "never"]);
    assert_eq!(run.code, 0, "{run:?}");
    // The read `f.bits` becomes `f.bits()`, at the compiler's error; the write is left.
    insta::assert_snapshot!("error_rule_diff", redact(&run.stdout));
    // The write, listed with the pack's note.
    insta::assert_snapshot!("error_rule_stderr", redact(&run.stderr));
    // The syntactic pass alone never applies it.
    let run = s.run("user", &["upgrade", "--pack", "../p.toml", "--no-compiler", "--color", "never"]);
    assert_eq!(run.code, 0, "{run:?}");
    insta::assert_snapshot!("error_rule_without_the_compiler_diff", redact(&run.stdout));
}

/// A pack's `new_crates` version holding a quote and a newline would have added a
/// `[build-dependencies]` table to the user's manifest (labelled safe): the pack is
/// refused when it is loaded, naming the file, line and field, and nothing is written.
#[test]
fn a_pack_value_that_would_inject_toml_into_the_manifest_is_refused_and_nothing_is_written() {
    let s = Sandbox::new();
    s.write("mini/Cargo.toml", &mini("0.8.0"));
    s.write("mini/src/lib.rs", MINI_LIB);
    s.write("mini-lang/Cargo.toml", "[package]\nname = \"mini-lang\"\nversion = \"0.1.0\"\nedition = \"2021\"\n");
    s.write("mini-lang/src/lib.rs", "pub fn a() {}\n");
    s.write("user/Cargo.toml", "[package]\nname = \"user\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\nmini = { path = \"../mini\", version = \"0.8\" }\n\n[workspace]\n");
    s.write("user/src/lib.rs", "pub fn f() { mini::a() }\n");
    s.write(
        "p.toml",
        "crate = \"mini\"\nfrom = \"0.8\"\nto = \"0.9\"\nsummary = \"mini 0.8 → 0.9\"\n\n[[new_crates]]\ncrate = \"mini-lang\"\nversion = \"0.1\\\"\\n[build-dependencies]\\nevil = { path = \\\"/tmp/evil\\\" }\\n#\"\n\n[[rule]]\nid = \"a-moved\"\nmessage = \"`mini::a` is `mini_lang::a`\"\nmatch = \"mini::a\"\nreplace = \"mini_lang::a\"\n",
    );
    let before = s.files("user");
    let run = s.run("user", &["upgrade", "--pack", "../p.toml", "--no-compiler", "--apply", "--allow-no-vcs", "--color", "never"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr.contains(
            r#"../p.toml:8: `new_crates[0].version`: "0.1\"\n[build-dependencies]\nevil = { path = \"/tmp/evil\" }\n#" is not a semver version requirement such as "0.9""#
        ),
        "{}",
        run.stderr
    );
    assert_eq!(s.files("user"), before, "nothing is written");
    assert!(!run.stdout.contains("build-dependencies"), "{}", run.stdout);
}

/// "A method of the user's own type with that name is never rewritten" holds across the
/// workspace: `libb::Ids::gen`, an inherent method of another member, called from `liba`
/// where the pack's trait is in scope, is not rewritten by the syntactic pass (it was, to
/// a method that does not exist, labelled safe); the compiler phase settles the call
/// that really is the trait's.
#[test]
fn an_inherent_method_of_another_member_is_not_taken_for_the_trait_method() {
    let s = Sandbox::new();
    s.write("mini/Cargo.toml", &mini("0.8.0"));
    s.write("mini/src/lib.rs", "pub trait Rng {\n    fn gen(&self) -> u32 { 4 }\n}\npub struct Thread;\nimpl Rng for Thread {}\n");
    s.write("ws/Cargo.toml", "[workspace]\nmembers = [\"liba\", \"libb\"]\nresolver = \"2\"\n");
    s.write("ws/libb/Cargo.toml", "[package]\nname = \"libb\"\nversion = \"0.1.0\"\nedition = \"2021\"\n");
    s.write("ws/libb/src/lib.rs", "pub struct Ids;\nimpl Ids {\n    pub fn gen(&self) -> u32 { 1 }\n}\n");
    s.write(
        "ws/liba/Cargo.toml",
        "[package]\nname = \"liba\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\nlibb = { path = \"../libb\" }\nmini = { path = \"../../mini\", version = \"0.8\" }\n",
    );
    s.write("ws/liba/src/lib.rs", "use mini::Rng;\n\npub fn both(ids: &libb::Ids, rng: &mini::Thread) -> u32 {\n    ids.gen() + rng.gen()\n}\n");
    s.write(
        "p.toml",
        "crate = \"mini\"\nfrom = \"0.8\"\nto = \"0.9\"\nsummary = \"s\"\n\n[[rule]]\nid = \"gen\"\nmessage = \"`Rng::gen` is `Rng::random`\"\ntrait = \"mini::Rng\"\nmatch = \"$r.gen()\"\nreplace = \"$r.random()\"\n",
    );
    // Syntax only: `rng.gen()` (a `mini::Thread`, evidently) becomes `random`; `ids.gen()`
    // (a type of another member, which defines its own `gen`) is left to the compiler
    // phase with a note.
    let run = s.run("ws", &["upgrade", "--pack", "../p.toml", "--no-compiler", "--color", "never", "-p", "liba"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("+    ids.gen() + rng.random()\n"), "{}", run.stdout);
    assert!(run.stderr.contains("defines its own `gen`"), "the call is named as left to the compiler phase: {}", run.stderr);

    // With the compiler phase (mini 0.9 in place), only the trait's call becomes `random`.
    s.write("mini/Cargo.toml", &mini("0.9.0"));
    s.write("mini/src/lib.rs", "pub trait Rng {\n    fn random(&self) -> u32 { 4 }\n}\npub struct Thread;\nimpl Rng for Thread {}\n");
    let run = s.run("ws", &["upgrade", "--pack", "../p.toml", "--format", "json", "--color", "never", "-p", "liba"]);
    assert_eq!(run.code, 0, "{run:?}");
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let edits: Vec<String> = doc["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["rule"] == "mini/gen")
        .flat_map(|c| c["edits"].as_array().unwrap().iter().map(|e| e["replacement"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(edits, ["random"], "only `rng.gen()` changes: {}", run.stdout);
}

/// `mini` 0.9 hands out `&K` from `Map::get_index_mut` (0.8 gave `&mut K`; 0.9 keeps that
/// signature in `MutableKeys::get_index_mut2`), as indexmap 2 did; the pack's rule can
/// only flag the calls whose receiver the syntax cannot see.
fn mutability_sandbox() -> Sandbox {
    let s = Sandbox::new();
    s.write("mini/Cargo.toml", &mini("0.9.0"));
    s.write(
        "mini/src/lib.rs",
        "pub struct Map {\n    keys: Vec<u32>,\n    values: Vec<u32>,\n}\n\nimpl Map {\n    pub fn new() -> Map {\n        Map { keys: vec![1], values: vec![2] }\n    }\n    pub fn get_index_mut(&mut self, i: usize) -> Option<(&u32, &mut u32)> {\n        Some((self.keys.get(i)?, self.values.get_mut(i)?))\n    }\n}\n\npub trait MutableKeys {\n    fn get_index_mut2(&mut self, i: usize) -> Option<(&mut u32, &mut u32)>;\n}\n\nimpl MutableKeys for Map {\n    fn get_index_mut2(&mut self, i: usize) -> Option<(&mut u32, &mut u32)> {\n        Some((self.keys.get_mut(i)?, self.values.get_mut(i)?))\n    }\n}\n",
    );
    s.write("user/Cargo.toml", "[package]\nname = \"user\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\nmini = { path = \"../mini\", version = \"0.8\" }\n\n[workspace]\n");
    s.write(
        "user/src/holder.rs",
        "pub struct Holder {\n    map: mini::Map,\n}\n\nimpl Holder {\n    pub fn map_mut(&mut self) -> &mut mini::Map {\n        &mut self.map\n    }\n}\n",
    );
    s.write(
        "user/src/lib.rs",
        "pub mod holder;\nuse holder::Holder;\n\npub fn key(h: &mut Holder) -> Option<(&mut u32, &mut u32)> {\n    h.map_mut().get_index_mut(0)\n}\n\npub fn value(h: &mut Holder) -> Option<u32> {\n    h.map_mut().get_index_mut(0).map(|(_, v)| *v)\n}\n\npub fn fresh() -> mini::Map {\n    mini::Map::new()\n}\n",
    );
    s.write(
        "p.toml",
        "crate = \"mini\"\nfrom = \"0.8\"\nto = \"0.9\"\nsummary = \"mini 0.8 → 0.9: `Map::get_index_mut` gives `&K`\"\n\n[[rule]]\nid = \"get-index-mut\"\nmessage = \"`Map::get_index_mut` returns `Option<(&K, &mut V)>` in mini 0.9; `MutableKeys::get_index_mut2` keeps the 0.8 signature\"\nreceiver_type = \"mini::Map\"\nmatch = \"$m.get_index_mut($i)\"\nquestion = \"Does this code need `&mut K` from `get_index_mut`?\"\n\n[[rule.options]]\nid = \"mutable-keys\"\nconservative = true\nreplace = \"$m.get_index_mut2($i)\"\nwhen = \"the key is mutated, or `&mut K` is named\"\nimports = { add = [\"mini::MutableKeys\"] }\n\n[[rule.options]]\nid = \"shared-key\"\nreplace = \"$m.get_index_mut($i)\"\nwhen = \"only the value is mutated\"\n",
    );
    s
}

/// After the bump the compiler reports "types differ in mutability" exactly at a call the
/// pack flagged, in words that do not name `mini`: the error is the upgrade's. The pack is
/// matched there again (`get_index_mut2` and its trait), and the build is whole; the
/// flagged call the compiler is happy with stays, and says so.
#[test]
fn an_error_at_a_flagged_call_is_the_upgrades() {
    let s = mutability_sandbox();
    s.git("user", &["init", "-q"]);
    s.git("user", &["add", "-A"]);
    s.git("user", &["commit", "-q", "-m", "on mini 0.8"]);
    let run = s.run("user", &["upgrade", "--pack", "../p.toml", "--llm", "none", "--color", "never"]);
    assert_eq!(run.code, 0, "{run:?}");
    // Line 5 becomes `get_index_mut2` with `use mini::MutableKeys;`; line 9 stays.
    insta::assert_snapshot!("error_at_a_flagged_call_diff", redact(&run.stdout));
    // No "other compile error"; the call on line 9 settled by the compiler; 0 left.
    insta::assert_snapshot!("error_at_a_flagged_call_stderr", redact(&run.stderr));
    let run = s.run("user", &["upgrade", "--pack", "../p.toml", "--llm", "none", "--apply", "--verify", "--color", "never"]);
    assert_eq!(run.code, 0, "{run:?}");
    let lib = s.read("user/src/lib.rs");
    assert!(
        lib.contains("h.map_mut().get_index_mut2(0)\n") && lib.contains("use mini::MutableKeys;") && lib.contains("h.map_mut().get_index_mut(0).map("),
        "{lib}"
    );
    let (ok, out) = s.cargo("user", &["check", "--all-targets"]);
    assert!(ok, "{out}");
}

/// The same error, with a pack whose conservative option keeps the call as it is: the
/// error is left, with the pack's note, counted as left; the call the compiler is happy
/// with is settled as before.
#[test]
fn an_error_left_at_a_flagged_call_is_reported_with_the_packs_note() {
    let s = mutability_sandbox();
    let keeping = s
        .read("p.toml")
        .replace("id = \"mutable-keys\"\nconservative = true\n", "id = \"mutable-keys\"\n")
        .replace("id = \"shared-key\"\n", "id = \"shared-key\"\nconservative = true\n");
    s.write("p.toml", &keeping);
    let run = s.run("user", &["upgrade", "--pack", "../p.toml", "--llm", "none", "--color", "never"]);
    assert_eq!(run.code, 0, "{run:?}");
    // "src/lib.rs:5: error after the upgrade: mismatched types: types differ in mutability
    // — pack note: ..", 1 message left; line 9 settled.
    insta::assert_snapshot!("error_left_at_a_flagged_call_stderr", redact(&run.stderr));
    assert!(run.stderr.contains("1 message(s) about mini left"), "{}", run.stderr);
}

/// A member's path dependency whose build script fails (a system library that is not
/// there): the compiler phase cannot build the upgraded workspace, says so with the crate
/// and cargo's first lines, and does not claim that nothing is left.
#[test]
fn a_workspace_that_does_not_build_is_reported_not_clean() {
    let s = mutability_sandbox();
    s.write("user/foo-sys/Cargo.toml", "[package]\nname = \"foo-sys\"\nversion = \"0.1.0\"\nedition = \"2021\"\nlinks = \"foo\"\n");
    s.write("user/foo-sys/build.rs", "fn main() {\n    panic!(\"could not find system library `foo` (pkg-config: foo.pc not found)\");\n}\n");
    s.write("user/foo-sys/src/lib.rs", "pub fn f() {}\n");
    let manifest = s.read("user/Cargo.toml").replace("[dependencies]\n", "[dependencies]\nfoo-sys = { path = \"foo-sys\" }\n");
    s.write("user/Cargo.toml", &manifest);
    let run = s.run("user", &["upgrade", "--pack", "../p.toml", "--llm", "none", "--color", "never"]);
    assert_eq!(run.code, 0, "{run:?}");
    // "warning: compiler phase: cargo could not build .. `foo-sys` .. could not find system
    // library", and the summary says what is left is not known.
    insta::assert_snapshot!("workspace_does_not_build_stderr", redact(&run.stderr));
    assert!(!run.stderr.contains("0 message(s)"), "{}", run.stderr);
}

/// A line pack (0.4 → 0.4.9) in a workspace: `a` calls `mini::old` (rewritten: its
/// requirement is raised, since `mini::new` needs 0.4.9), `b` uses mini but nothing the
/// pack rewrites (its requirement stays, and a note says why), `c` inherits mini from
/// `[workspace.dependencies]` and its code changes (the shared entry is raised, naming
/// `c`), `d` inherits it too and its code does not change (it gets the raise through the
/// shared entry, which the note says).
#[test]
fn a_line_pack_raises_only_the_requirements_of_members_whose_code_changed() {
    let s = Sandbox::new();
    s.write(
        "ws/Cargo.toml",
        "[workspace]\nmembers = [\"a\", \"b\", \"c\", \"d\"]\nresolver = \"2\"\n\n[workspace.dependencies]\nmini = { path = \"mini\", version = \"0.4\" }\n",
    );
    s.write("ws/mini/Cargo.toml", &mini("0.4.12"));
    s.write("ws/mini/src/lib.rs", MINI_LIB);
    let member = |name: &str, dep: &str, code: &str| {
        s.write(&format!("ws/{name}/Cargo.toml"), &format!("[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\n{dep}\n"));
        s.write(&format!("ws/{name}/src/lib.rs"), code);
    };
    member("a", "mini = { path = \"../mini\", version = \"0.4\" }", "pub fn f() { mini::old() }\n");
    member("b", "mini = { path = \"../mini\", version = \"0.4\" }", "pub fn f() { mini::a() }\n");
    member("c", "mini = { workspace = true }", "pub fn f() { mini::old() }\n");
    member("d", "mini = { workspace = true }", "pub fn f() { mini::b() }\n");
    s.write("line.toml", &pack("0.4", "0.4.9", "old", "new"));
    let run = s.run("ws", &["upgrade", "mini", "--pack", "../line.toml", "--workspace", "--no-compiler", "--color", "never"]);
    assert_eq!(run.code, 0, "{run:?}");
    // a/Cargo.toml and the root's [workspace.dependencies] raised to 0.4.9, with why;
    // b/Cargo.toml not in the diff.
    insta::assert_snapshot!("line_pack_members_diff", redact(&run.stdout));
    assert!(!run.stdout.contains("--- a/b/Cargo.toml"), "b's code did not change: {}", run.stdout);
    // The note: b left at `0.4`, its code did not change; d gets 0.4.9 through the
    // workspace entry that c needs.
    insta::assert_snapshot!("line_pack_members_stderr", redact(&run.stderr));

    // No member that inherits mini changes: `[workspace.dependencies]` stays, with a note.
    s.write("ws/c/src/lib.rs", "pub fn f() { mini::c() }\n");
    let run = s.run("ws", &["upgrade", "mini", "--pack", "../line.toml", "--workspace", "--no-compiler", "--color", "never"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(!run.stdout.contains("--- a/Cargo.toml") && run.stdout.contains("--- a/a/Cargo.toml"), "{}", run.stdout);
    assert!(
        run.stderr.contains(
            "Cargo.toml:6: mini `0.4` in [workspace.dependencies] left as it is: the line pack `mini@0.4-0.4.9` changed the code of no member that inherits it"
        ),
        "{}",
        run.stderr
    );
}

/// A model answering every request with `code` as its proposal.
fn proposing(code: &'static str) -> common::FakeServer {
    let answer = serde_json::json!({"code": code, "reason": "0.9 removed `legacy_value`: the same value through `value`"}).to_string();
    common::FakeServer::start(move |_, _| {
        common::Reply::ok(
            serde_json::json!({"choices": [{"index": 0, "message": {"role": "assistant", "content": answer}, "finish_reason": "stop"}]}).to_string(),
        )
    })
}

/// A crate re-exports a function mini 0.9 removed, and the pack has no shim for it: the
/// error is outside any function, so `--repair` asks the model for a shim, checks it as
/// a pack's shim is checked, places it as one is (the `pub use` keeps the API), and keeps
/// it because `cargo check` accepts it. A shim that could run code is refused unwritten.
#[test]
fn repair_asks_for_a_shim_where_a_removed_item_is_re_exported() {
    let s = Sandbox::new();
    s.write("mini/Cargo.toml", &mini("0.9.0"));
    s.write("mini/src/lib.rs", "pub fn b() {}\npub fn value() -> u8 {\n    7\n}\n");
    s.write(
        "user/Cargo.toml",
        "[package]\nname = \"user\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\nmini = { path = \"../mini\", version = \"0.8\" }\n\n[workspace]\n",
    );
    let lib = "pub use mini::legacy_value;\n\npub fn f() {\n    mini::a()\n}\n";
    s.write("user/src/lib.rs", lib);
    s.write("p.toml", &pack("0.8", "0.9", "a", "b"));
    let args = |url: &str| -> Vec<String> {
        [
            "upgrade",
            "mini",
            "--pack",
            "../p.toml",
            "--apply",
            "--allow-no-vcs",
            "--repair",
            "--llm",
            "openai",
            "--model",
            "fake",
            "--llm-url",
            url,
            "--color",
            "never",
        ]
        .iter()
        .map(|a| a.to_string())
        .collect()
    };
    // A shim with a macro invocation: refused before anything is written.
    let server = proposing("pub fn legacy_value() -> u8 {\n    include!(\"/etc/hostname\")\n}\n");
    let run = s.run("user", &args(&server.url).iter().map(String::as_str).collect::<Vec<_>>());
    assert!(run.stderr.contains("shim rejected: `code`: the macro invocation `include!`"), "{}", run.stderr);
    assert!(s.read("user/src/lib.rs").starts_with("pub use mini::legacy_value;\n"));
    assert_eq!(server.finish().len(), 2, "two attempts");
    // A shim of plain items: placed, kept, and the crate builds.
    s.write("user/src/lib.rs", lib);
    s.write("user/Cargo.toml", &s.read("user/Cargo.toml").replace("version = \"0.9\"", "version = \"0.8\""));
    let server = proposing("/// 0.8's `legacy_value`.\npub fn legacy_value() -> u8 {\n    ::mini::value()\n}\n");
    let run = s.run("user", &args(&server.url).iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("llm repair, needs review: a shim for `mini::legacy_value`"), "{}", run.stderr);
    assert_eq!(
        s.read("user/src/lib.rs"),
        "pub use self::mini_compat::legacy_value;\n\npub fn f() {\n    mini::b()\n}\n\n#[allow(dead_code)]\nmod mini_compat {\n    /// 0.8's `legacy_value`.\n    pub fn legacy_value() -> u8 {\n        ::mini::value()\n    }\n}\n"
    );
    let (ok, out) = s.cargo("user", &["check"]);
    assert!(ok, "{out}");
    let asked = server.finish();
    assert!(asked[0].body.contains("stand in for `mini::legacy_value`"), "{}", asked[0].body);
}
