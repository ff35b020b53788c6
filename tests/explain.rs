//! `cargo migrate explain --at FILE:LINE` end to end on a copy of the demo crate: a change
//! and a judge site explained without a model (facts and documentation), with a model
//! (a fake OpenAI-compatible server: what it is asked, what is shown, the cache, the
//! offline replay), a model that cannot be reached, a line with nothing, a bad `--at`.

mod common;

use std::path::Path;
use std::process::Command;

use common::{demo_at, files, isolate, redact, FakeServer, Reply};

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// `cargo-migrate explain ARGS` in the demo at `root/demo` (syntax only: the demo's
/// `if let` site comes from a syntactic rule, and no build is needed).
fn explain(root: &Path, args: &[&str]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cargo-migrate"));
    isolate(&mut cmd, root);
    let out = cmd.current_dir(root.join("demo")).args(["explain", "--no-compiler", "--color", "never"]).args(args).output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn explanation(fields: [&str; 4]) -> String {
    let content = serde_json::json!({"behaviour": fields[0], "why": fields[1], "check": fields[2], "alternative": fields[3]}).to_string();
    serde_json::json!({"choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}]}).to_string()
}

#[test]
fn a_change_and_a_judge_site_are_explained_with_their_facts_and_documentation_without_a_model() {
    let tmp = tempfile::tempdir().unwrap();
    demo_at(tmp.path(), "demo");
    let before = files(&tmp.path().join("demo"), false);
    let run = explain(tmp.path(), &["--at", "src/lib.rs:60", "--llm", "none"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    insta::assert_snapshot!("change_without_model", redact(&run.stdout));
    // A path from elsewhere in the workspace names the same file.
    let run = explain(tmp.path(), &["--at", "./src/../src/lib.rs:101", "--llm", "none"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    insta::assert_snapshot!("judge_site_without_model", redact(&run.stdout));
    assert_eq!(files(&tmp.path().join("demo"), false), before, "explain wrote something");
}

#[test]
fn a_model_explains_the_site_from_its_code_and_the_text_is_cached_and_replayed_offline() {
    let tmp = tempfile::tempdir().unwrap();
    demo_at(tmp.path(), "demo");
    let server = FakeServer::start(|_, _| {
        Reply::ok(explanation([
            "`queue`'s guard is released before `else` runs.",
            "Rust 2024 drops the scrutinee's temporaries before `else`.",
            "`else` locks `queue` again: with 2021's order that deadlocked.",
            "A `match` would keep the guard through `else`: the deadlock stays.",
        ]))
    });
    let run = explain(tmp.path(), &["--at", "src/lib.rs:101", "--llm", "openai", "--llm-url", &server.url, "--model", "tiny"]);
    let asked = server.finish();
    assert_eq!(run.code, 0, "{}", run.stderr);
    insta::assert_snapshot!("judge_site_with_model", redact(&run.stdout));
    // One question, with the site's code, its function, the verdict, the options and the
    // rule's documentation.
    assert_eq!(asked.len(), 1, "{asked:?}");
    let prompt = asked[0].user_prompt();
    for part in [
        "if let Some(job) = queue.lock().unwrap().pop()",
        "fn next_job",
        "`keep-if-let` (chosen)",
        "- verdict: `keep-if-let` by heuristic",
        "# if-let-guard-method",
    ] {
        assert!(prompt.contains(part), "the prompt lacks {part:?}:\n{prompt}");
    }
    assert!(asked[0].json()["response_format"].to_string().contains("alternative"), "no schema: {}", asked[0].body);
    // Offline: the same text, from the cache, no server.
    let replayed = explain(tmp.path(), &["--at", "src/lib.rs:101", "--llm", "replay", "--model", "tiny"]);
    assert_eq!(replayed.code, 0, "{}", replayed.stderr);
    assert_eq!(replayed.stdout, run.stdout.replace("the model tiny (", "the model tiny, from the cache ("));
    // Another line was never asked: replay says so and shows the documentation.
    let missed = explain(tmp.path(), &["--at", "src/lib.rs:60", "--llm", "replay", "--model", "tiny"]);
    assert_eq!(missed.code, 0, "{}", missed.stderr);
    assert!(missed.stdout.contains("no model explanation (no cached explanation of model `tiny` for this code"), "{}", missed.stdout);
}

#[test]
fn a_model_that_cannot_be_reached_leaves_the_facts_and_the_documentation() {
    let tmp = tempfile::tempdir().unwrap();
    demo_at(tmp.path(), "demo");
    let without = explain(tmp.path(), &["--at", "src/lib.rs:60", "--llm", "none"]);
    let run = explain(tmp.path(), &["--at", "src/lib.rs:60", "--llm", "openai", "--llm-url", "http://127.0.0.1:9", "--model", "tiny", "--llm-timeout", "5"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let reason = "no model explanation (the model gave no explanation: cannot reach the model server at http://127.0.0.1:9";
    assert!(run.stdout.contains(reason), "{}", run.stdout);
    // Everything else is what `--llm none` prints.
    let strip = |s: &str| s.lines().filter(|l| !l.contains("no model explanation")).collect::<Vec<_>>().join("\n");
    assert_eq!(strip(&run.stdout), strip(&without.stdout));
}

#[test]
fn a_line_with_nothing_lists_the_lines_that_have_something_and_a_bad_at_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    demo_at(tmp.path(), "demo");
    let run = explain(tmp.path(), &["--at", "src/lib.rs:1", "--llm", "none"]);
    assert_eq!(run.code, 2);
    assert_eq!(run.stdout, "");
    insta::assert_snapshot!("nothing_at_line", redact(&run.stderr));
    let run = explain(tmp.path(), &["--at", "src/lib.rs", "--llm", "none"]);
    assert_eq!(run.code, 2);
    insta::assert_snapshot!("bad_at", redact(&run.stderr));
    let run = explain(tmp.path(), &["if-let-rescope", "--at", "src/lib.rs:3"]);
    assert_eq!(run.code, 2, "a rule and --at together: {}", run.stderr);
}
