//! `--interactive` end to end: the real binary in a pseudo-terminal
//! (`tests/support/pty_drive.py`, Python's `pty` module), answered key by key as a person
//! would, each answer typed only once its question is on the screen. Each test checks
//! the files written and the whole transcript: the terminal (questions, hunks, the echoed
//! answers) and standard error (the summary of what was accepted and skipped).
//!
//! Every command runs isolated in a temporary folder (its own git configuration and
//! target directory), offline.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

mod common;
use common::{commit_all, copy_dir, files, git_in, isolate, redact, write_file};

const BIN: &str = env!("CARGO_BIN_EXE_cargo-migrate");
const PROMPT: &str = "Apply this change [y,n,a,d,e,?,q]? ";

/// A small 2021 crate with one change of each of three rules (two of `keyword-gen`)
/// and the manifest's edition.
const LIB: &str = "\
extern \"C\" {
    fn abs(x: i32) -> i32;
}

#[no_mangle]
pub extern \"C\" fn answer() -> u32 {
    42
}

pub fn gen() -> u32 {
    4
}

pub fn twice() -> u32 {
    gen() + unsafe { abs(-1) } as u32
}
";

const MANIFEST: &str = "[package]\nname = \"demo\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n";

struct Sandbox {
    tmp: tempfile::TempDir,
}

/// What a session showed and did.
#[derive(Debug)]
struct Session {
    code: i32,
    /// The terminal, with its line endings as `\n`.
    terminal: String,
    stderr: String,
}

impl Sandbox {
    fn new() -> Sandbox {
        Sandbox { tmp: tempfile::Builder::new().prefix("cargo-migrate-interactive").tempdir().unwrap() }
    }

    /// The demo crate at `dir`, committed.
    fn demo(&self, dir: &str) {
        write_file(self.root(), &format!("{dir}/Cargo.toml"), MANIFEST);
        write_file(self.root(), &format!("{dir}/src/lib.rs"), LIB);
        commit_all(self.root(), dir);
    }

    fn root(&self) -> &Path {
        self.tmp.path()
    }

    fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.root().join(rel)).unwrap()
    }

    fn command(&self, program: &str, dir: &str) -> Command {
        let mut cmd = Command::new(program);
        isolate(&mut cmd, self.root()).current_dir(self.root().join(dir)).env("CARGO_NET_OFFLINE", "true").env_remove("VISUAL").env("EDITOR", "false");
        cmd
    }

    /// `cargo-migrate ARGS` in `dir`, in a pseudo-terminal, typing `answers` one per
    /// question; `editor` as `$EDITOR`.
    fn session(&self, dir: &str, args: &[&str], answers: &[&str], editor: Option<&Path>) -> Session {
        let driver = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/pty_drive.py");
        let stderr = self.root().join("stderr.txt");
        let mut cmd = self.command("python3", dir);
        cmd.arg(driver).args(["--prompt", PROMPT, "--stderr"]).arg(&stderr);
        for a in answers {
            cmd.args(["--answer", a]);
        }
        if let Some(editor) = editor {
            cmd.env("EDITOR", editor);
        }
        let out = cmd.arg("--").arg(BIN).args(args).stdin(Stdio::null()).output().unwrap();
        let session = Session {
            code: out.status.code().expect("killed by a signal"),
            terminal: String::from_utf8(out.stdout).unwrap().replace("\r\n", "\n"),
            stderr: std::fs::read_to_string(&stderr).unwrap_or_default(),
        };
        assert_ne!(session.code, 101, "the session did not go as scripted: {}\n{session:?}", String::from_utf8_lossy(&out.stderr));
        session
    }

    /// `cargo-migrate ARGS` in `dir`, without a terminal.
    fn run(&self, dir: &str, args: &[&str]) -> (i32, String) {
        let out = self.command(BIN, dir).args(args).stdin(Stdio::null()).output().unwrap();
        (out.status.code().unwrap(), String::from_utf8(out.stderr).unwrap())
    }

    /// A shell script to use as `$EDITOR`: the n-th time it runs, it writes `texts[n]`
    /// (the last one again after that) over the file it is given.
    fn editor(&self, texts: &[&str]) -> PathBuf {
        let count = self.root().join("editor-runs");
        let mut script = format!("#!/bin/sh\nn=$(cat '{0}' 2>/dev/null || echo 0)\nn=$((n + 1))\necho $n > '{0}'\ncase $n in\n", count.display());
        for (i, text) in texts.iter().enumerate() {
            let pattern = if i + 1 == texts.len() { "*".to_string() } else { (i + 1).to_string() };
            script.push_str(&format!("  {pattern}) printf '%s\\n' '{text}' > \"$1\" ;;\n"));
        }
        script.push_str("esac\n");
        let path = self.root().join("editor.sh");
        std::fs::write(&path, script).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        path
    }

    fn files(&self, dir: &str) -> BTreeMap<String, Vec<u8>> {
        files(&self.root().join(dir), false)
    }
}

const EDITION: &[&str] = &["edition", "--interactive", "--no-compiler", "--color", "never", "--llm", "none"];

/// `y`, `n`, `a` (the second `gen` is not asked about), `?` then `y` on the manifest:
/// what is written is what `--apply --skip unsafe-attributes` writes, and the summary
/// names what was skipped and what that leaves.
#[test]
fn yes_no_all_and_explain_write_what_apply_with_skip_writes() {
    let s = Sandbox::new();
    s.demo("demo");
    let run = s.session("demo", EDITION, &["y", "n", "a", "?", "y"], None);
    assert_eq!(run.code, 0, "{run:?}");
    insta::assert_snapshot!("yes_no_all_explain_terminal", redact(&run.terminal));
    insta::assert_snapshot!("yes_no_all_explain_stderr", redact(&run.stderr));
    // `?` printed this change's facts and, without a model, the rule's documentation.
    assert!(
        run.terminal.contains("Cargo.toml:4: change `edition-manifest`\n  reason: [package] edition 2021 → 2024")
            && run.terminal.contains("no model explanation (no model (--llm none)); the documentation:\n    # edition-manifest\n"),
        "{}",
        run.terminal
    );
    // Four questions for five changes: `a` answered for the second `gen`.
    assert_eq!(run.terminal.matches(PROMPT).count(), 5);
    assert!(!run.terminal.contains("(4/5)"), "{}", run.terminal);
    let lib = s.read("demo/src/lib.rs");
    assert!(lib.contains("unsafe extern \"C\"") && lib.contains("#[no_mangle]") && lib.contains("pub fn r#gen()") && lib.contains("r#gen() + unsafe"), "{lib}");
    assert!(s.read("demo/Cargo.toml").contains("edition = \"2024\""));

    s.demo("same");
    let (code, err) = s.run("same", &["edition", "--apply", "--skip", "unsafe-attributes", "--no-compiler", "--color", "never"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(s.files("demo"), s.files("same"), "--interactive and --apply --skip wrote different files");
}

/// `d` skips every change of a rule without asking again, an unknown key lists the keys
/// and asks again, `q` writes what was accepted and skips the rest (the manifest too):
/// what `--apply --only unsafe-attributes` writes.
#[test]
fn none_of_a_rule_and_quit_write_what_apply_with_only_writes() {
    let s = Sandbox::new();
    s.demo("demo");
    let run = s.session("demo", EDITION, &["d", "x", "y", "q"], None);
    assert_eq!(run.code, 0, "{run:?}");
    insta::assert_snapshot!("none_and_quit_terminal", redact(&run.terminal));
    insta::assert_snapshot!("none_and_quit_stderr", redact(&run.stderr));
    assert!(run.terminal.contains("[y,n,a,d,e,?,q]? x\ny - apply this change\n"), "{}", run.terminal);
    assert!(s.read("demo/Cargo.toml").contains("edition = \"2021\""));

    s.demo("same");
    let (code, err) = s.run("same", &["edition", "--apply", "--only", "unsafe-attributes", "--no-compiler", "--color", "never"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(s.files("demo"), s.files("same"), "--interactive and --apply --only wrote different files");
}

/// `e` opens the lines the change writes in `$EDITOR`; text that does not parse is refused with the
/// parser's line and message and the question comes again; parsing text is written, its
/// change counted as edited.
#[test]
fn an_edit_must_parse_or_the_question_comes_again() {
    let s = Sandbox::new();
    s.demo("demo");
    let editor = s.editor(&["pub fn r#gen( -> u32 {", "pub fn r#gen /* reviewed */() -> u32 {"]);
    let run = s.session("demo", EDITION, &["y", "y", "e", "e", "n", "n"], Some(&editor));
    assert_eq!(run.code, 0, "{run:?}");
    insta::assert_snapshot!("edit_terminal", redact(&run.terminal));
    insta::assert_snapshot!("edit_stderr", redact(&run.stderr));
    assert_eq!(s.read("editor-runs").trim(), "2");
    let lib = s.read("demo/src/lib.rs");
    // The edited line is written in place of the proposed one; the second `gen` and the
    // manifest were skipped.
    assert!(lib.contains("pub fn r#gen /* reviewed */() -> u32 {\n") && lib.contains("    gen() + unsafe"), "{lib}");
    assert!(s.read("demo/Cargo.toml").contains("edition = \"2021\""));
}

/// Without a terminal, `--interactive` refuses before any work (even before looking for
/// version control: this folder has none), with status 2; it takes no `--format`.
#[test]
fn refuses_without_a_terminal_and_with_a_format() {
    let s = Sandbox::new();
    write_file(s.root(), "plain/Cargo.toml", MANIFEST);
    write_file(s.root(), "plain/src/lib.rs", LIB);
    let before = s.files("plain");
    let (code, err) = s.run("plain", &["edition", "--interactive", "--color", "never"]);
    assert_eq!(code, 2, "{err}");
    insta::assert_snapshot!("no_terminal_stderr", redact(&err));
    assert_eq!(s.files("plain"), before);
    assert!(!s.root().join("target").exists(), "work was done before the refusal");
    let (code, err) = s.run("plain", &["upgrade", "mylib", "--interactive", "--color", "never"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--interactive asks about each change at a terminal"), "{err}");

    for format in ["json", "sarif", "patch"] {
        let (code, err) = s.run("plain", &["edition", "--interactive", "--format", format]);
        assert_eq!(code, 2, "{err}");
        assert!(err.contains("the argument '--interactive' cannot be used with '--format <FORMAT>'"), "{err}");
    }
    // --verify goes with --apply or --interactive, not alone.
    let (code, err) = s.run("plain", &["edition", "--verify"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--verify"), "{err}");
}

/// A dirty tree is refused as with --apply, before the first question.
#[test]
fn a_dirty_tree_is_refused_before_any_question() {
    let s = Sandbox::new();
    s.demo("demo");
    write_file(s.root(), "demo/src/lib.rs", format!("{LIB}// work in progress\n"));
    let run = s.session("demo", EDITION, &[], None);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(!run.terminal.contains(PROMPT), "{}", run.terminal);
    insta::assert_snapshot!("dirty_tree_stderr", redact(&run.stderr));
}

/// `upgrade --interactive` on the mylib example, with `--verify`: one rename skipped;
/// the compiler phase's change (a later round, found on the text the first round made)
/// is written on the text the accepted changes make; the bump lands with a warning, and
/// the code still builds (the 1.x name is deprecated in 2.0, not gone).
#[test]
fn upgrade_writes_the_accepted_changes_of_every_round() {
    let s = Sandbox::new();
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    for name in ["mylib-author", "mylib-user"] {
        copy_dir(&examples.join(name), &s.root().join(name));
    }
    git_in(s.root(), "mylib-user", &["init", "-q"]);
    git_in(s.root(), "mylib-user", &["add", "-A"]);
    git_in(s.root(), "mylib-user", &["commit", "-q", "-m", "on mylib 1"]);
    let run = s.session("mylib-user", &["upgrade", "mylib", "--interactive", "--verify", "--color", "never"], &["y", "y", "n", "y", "y", "y"], None);
    assert_eq!(run.code, 0, "{run:?}");
    insta::assert_snapshot!("upgrade_terminal", redact(&run.terminal));
    insta::assert_snapshot!("upgrade_stderr", redact(&run.stderr));
    let main = s.read("mylib-user/src/main.rs");
    assert!(main.contains("fn report(c: &Counter) -> u64 {\n    c.count()\n}"), "the skipped change was written: {main}");
    assert!(main.contains("counter.total(), tally.count(), report(&counter)"), "the compiler's change was not written: {main}");
    assert!(main.contains("greeting(\"world\")") && main.contains("\"quiet\".shout()") && main.contains("split_words_and_commas("), "{main}");
    assert!(s.read("mylib-user/Cargo.toml").contains("mylib = { path = \"../mylib-author\", version = \"2\" }"));
}

/// `?` asks the model of `--llm` about the change under review (here a fake
/// OpenAI-compatible server), with the change's lines before and after; its text is shown
/// as the model's, and nothing it says is applied: `y` writes the change as proposed.
#[test]
fn explain_during_review_asks_the_model_about_this_change() {
    let s = Sandbox::new();
    s.demo("demo");
    let server = common::FakeServer::start(|_, _| {
        let content = serde_json::json!({"behaviour": "`extern \"C\"` gains `unsafe`.", "why": "2024 makes extern blocks unsafe.", "check": "Are `f`'s signatures right?", "alternative": "None: it is required."}).to_string();
        common::Reply::ok(
            serde_json::json!({"choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}]}).to_string(),
        )
    });
    let args = ["edition", "--interactive", "--no-compiler", "--color", "never", "--llm", "openai", "--llm-url", &server.url, "--model", "tiny"];
    let run = s.session("demo", &args, &["?", "y", "q"], None);
    let asked = server.finish();
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(asked.len(), 1, "{asked:?}");
    let prompt = asked[0].user_prompt();
    assert!(
        prompt.contains("change at src/lib.rs:1 (rule `unsafe-extern-blocks`)") && prompt.contains("After the change:\n```rust\nunsafe extern"),
        "{prompt}"
    );
    assert!(run.terminal.contains("  explained by the model tiny (a model's reading of this code: check it against the code):\n    what changes here: `extern \"C\"` gains `unsafe`.\n"), "{}", run.terminal);
    assert!(s.read("demo/src/lib.rs").starts_with("unsafe extern \"C\""));
}
