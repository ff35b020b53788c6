//! `cargo migrate sweep` end to end: repositories made here as real git checkouts, plain
//! folders, bare repositories cloned through `file://` URLs and broken inputs; the
//! binary runs its own worker processes. Every run is isolated (git configuration, cargo
//! target directory) in a temporary folder.

use std::path::{Path, PathBuf};
use std::process::Command;

mod common;
use common::{copy_dir, isolate, redact};

const BIN: &str = env!("CARGO_BIN_EXE_cargo-migrate");

/// A temporary folder with repositories under `repos/`.
struct Fleet {
    tmp: tempfile::TempDir,
}

#[derive(Debug)]
struct Run {
    code: i32,
    stderr: String,
}

impl Fleet {
    fn new() -> Fleet {
        Fleet { tmp: tempfile::tempdir().unwrap() }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.tmp.path().join(rel)
    }

    fn write(&self, rel: &str, text: &str) {
        common::write_file(self.tmp.path(), rel, text);
    }

    fn git(&self, dir: &str, args: &[&str]) -> String {
        common::git_in(self.tmp.path(), dir, args)
    }

    /// The mylib example (its author's crate and a user of it) in `dir`, uncommitted.
    fn mylib(&self, dir: &str) {
        let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
        copy_dir(&examples.join("mylib-author"), &self.path(&format!("{dir}/mylib-author")));
        copy_dir(&examples.join("mylib-user"), &self.path(&format!("{dir}/mylib-user")));
    }

    /// Commits everything in `dir` as a new git repository.
    fn commit_all(&self, dir: &str) {
        common::commit_all(self.tmp.path(), dir);
    }

    /// A copy of `examples/edition-demo` at `rel`.
    fn demo(&self, rel: &str) {
        common::demo_at(self.tmp.path(), rel);
    }

    fn sweep(&self, args: &[&str]) -> Run {
        let mut cmd = Command::new(BIN);
        isolate(&mut cmd, self.tmp.path());
        let out = cmd.current_dir(self.tmp.path()).arg("sweep").args(["--llm", "none", "--color", "never"]).args(args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        // One progress line per repository as it finishes (stderr is not a terminal), in
        // the order they finish: counted here, left out of the snapshots.
        let (progress, rest): (Vec<&str>, Vec<&str>) = stderr.split_inclusive('\n').partition(|l| l.starts_with("Swept ["));
        let summary = rest.iter().find(|l| l.starts_with("Swept ")).map(|l| l.split(' ').nth(1).unwrap_or("").parse::<usize>().unwrap_or(0));
        if let Some(n) = summary {
            assert_eq!(progress.len(), n, "a progress line per repository: {stderr}");
        }
        Run { code: out.status.code().unwrap_or(-1), stderr: rest.concat() }
    }

    fn report(&self, out: &str) -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(self.path(out).join("report.json")).unwrap()).unwrap()
    }
}

/// The report without what varies between runs (times, commits, keys, diffs), by
/// repository: what a reviewer compares.
fn outline(report: &serde_json::Value) -> String {
    let mut lines = vec![format!(
        "{} ({}): {}",
        report["migration"].as_str().unwrap(),
        report["options"].as_str().unwrap(),
        serde_json::to_string(&report["totals"]["by_status"]).unwrap()
    )];
    for r in report["repositories"].as_array().unwrap() {
        lines.push(format!(
            "{} {}: {} change(s) in {} file(s), {} judged, {} to review; workspaces {}; rules {}{}{}",
            r["name"].as_str().unwrap(),
            r["status"].as_str().unwrap(),
            r["changes"],
            r["files"],
            r["judged"],
            r["needs_review"],
            serde_json::to_string(&r["workspaces"]).unwrap(),
            serde_json::to_string(&r["by_rule"]).unwrap(),
            r["reason"].as_str().map(|s| format!("; reason: {s}")).unwrap_or_default(),
            r["verify"].as_object().map(|v| format!("; verify: {}", serde_json::to_string(v).unwrap())).unwrap_or_default(),
        ));
    }
    redact(&(lines.join("\n") + "\n"))
}

/// The fleet of five of [`common::sweep_fleet`].
fn fleet() -> Fleet {
    let f = Fleet::new();
    common::sweep_fleet(f.tmp.path());
    f
}

#[test]
fn a_dry_run_sweep_migrates_each_repository_in_a_copy_and_its_patches_apply() {
    let f = fleet();
    let run = f.sweep(&["--repos", "repos", "--out", "out", "--no-compiler"]);
    assert_eq!(run.code, 0, "{run:?}");
    insta::assert_snapshot!("dry_run_stderr", redact(&run.stderr));
    let report = f.report("out");
    insta::assert_snapshot!("dry_run_outline", outline(&report));
    // Per repository: a result, a log, and a patch where something changed.
    for name in ["alpha", "beta", "plain", "multi", "empty"] {
        assert!(f.path(&format!("out/{name}.json")).is_file() && f.path(&format!("out/{name}.log")).is_file(), "{name}");
    }
    assert!(!f.path("out/empty.patch").exists());
    // The page is written beside report.json, from the same data (tests/sweep_html.rs
    // checks it in a browser).
    let html = std::fs::read_to_string(f.path("out/report.html")).unwrap();
    assert!(html.contains("alpha") && html.contains("no Cargo.toml in the repository"), "{html}");
    // The checkouts are untouched: no change, no worktree left, no branch made.
    for repo in ["alpha", "multi"] {
        let dir = format!("repos/{repo}");
        assert_eq!(f.git(&dir, &["status", "--porcelain"]), "", "{repo}");
        assert_eq!(f.git(&dir, &["worktree", "list"]).lines().count(), 1, "{repo}");
        assert_eq!(f.git(&dir, &["branch", "--format=%(refname:short)"]), "main");
    }
    // The patch is what `cargo migrate edition --apply` writes, and applies on the commit.
    f.git("repos/alpha", &["apply", &f.path("out/alpha.patch").display().to_string()]);
    f.demo("direct");
    f.commit_all("direct");
    let mut cmd = Command::new(BIN);
    isolate(&mut cmd, f.tmp.path());
    let direct = cmd.current_dir(f.path("direct")).args(["edition", "--apply", "--no-compiler", "--llm", "none"]).output().unwrap();
    assert!(direct.status.success(), "{}", String::from_utf8_lossy(&direct.stderr));
    assert_eq!(common::files(&f.path("repos/alpha"), false), common::files(&f.path("direct"), false));
    // The nested workspace's changes are in the same patch, under its folder.
    let multi = std::fs::read_to_string(f.path("out/multi.patch")).unwrap();
    assert!(multi.contains("a/tools/src/main.rs") && multi.contains("a/app/src/lib.rs"), "{multi}");
    f.git("repos/multi", &["apply", "--check", &f.path("out/multi.patch").display().to_string()]);
    // The annotated diff of the report names the rule of each change.
    let alpha = &report["repositories"].as_array().unwrap()[0];
    assert!(alpha["diff"].as_str().unwrap().contains("# keyword-gen [safe, by rule]"), "{alpha}");
}

#[test]
fn a_second_run_reuses_unchanged_repositories_and_redoes_changed_ones() {
    let f = fleet();
    assert_eq!(f.sweep(&["--repos", "repos", "--out", "out", "--no-compiler"]).code, 0);
    let first = f.report("out");
    let again = f.sweep(&["--repos", "repos", "--out", "out", "--no-compiler"]);
    assert_eq!(again.code, 0, "{again:?}");
    // The four with results are reused; `empty` failed and is tried again.
    assert_eq!(f.report("out")["reused"], 4, "{}", again.stderr);
    assert_eq!(outline(&f.report("out")), outline(&first));
    // A new commit in one repository: that one runs again.
    f.write("repos/beta/src/extra.rs", "pub fn gen() {}\n");
    f.git("repos/beta", &["add", "-A"]);
    f.git("repos/beta", &["commit", "-q", "-m", "more"]);
    f.write("repos/plain/src/extra.rs", "pub fn gen() {}\n");
    let third = f.sweep(&["--repos", "repos", "--out", "out", "--no-compiler"]);
    assert_eq!(third.code, 0, "{third:?}");
    let report = f.report("out");
    assert_eq!(report["reused"], 2, "alpha and multi: {}", third.stderr);
    let beta = report["repositories"].as_array().unwrap().iter().find(|r| r["name"] == "beta").unwrap();
    assert_ne!(beta["input"], first["repositories"].as_array().unwrap().iter().find(|r| r["name"] == "beta").unwrap()["input"]);
    // An output folder holding another sweep is refused, and keeps its results.
    let other = f.sweep(&["--repos", "repos", "--out", "out", "--migration", "upgrade:rand@0.9", "--no-compiler"]);
    assert_eq!(other.code, 2);
    insta::assert_snapshot!("other_sweep_refused", redact(&other.stderr));
    assert_eq!(f.report("out"), report);
}

#[test]
fn urls_are_cloned_and_bad_entries_fail_alone() {
    let f = fleet();
    // A bare repository served by URL, and entries that cannot work.
    let bare = f.path("served/gamma.git");
    let out = Command::new("git").args(["clone", "-q", "--bare"]).arg(f.path("repos/alpha")).arg(&bare).output().unwrap();
    assert!(out.status.success());
    f.write(
        "list.txt",
        &format!(
            "# the fleet\nrepos/alpha\n{}\nfile://{}/served/missing.git\nrepos/nowhere\nrepos/empty\nrepos/broken\n\nrepos/alpha\nelsewhere/alpha\n",
            url(&bare),
            f.tmp.path().display()
        ),
    );
    f.demo("elsewhere/alpha");
    // A manifest cargo cannot read.
    f.write("repos/broken/Cargo.toml", "[package\nname = \"broken\"\n");
    f.write("repos/broken/src/lib.rs", "pub fn gen() {}\n");
    f.commit_all("repos/broken");
    let run = f.sweep(&["--repos", "list.txt", "--out", "out", "--no-compiler"]);
    assert_eq!(run.code, 0, "{run:?}");
    // The two `alpha`s are told apart by a hash of their (temporary) paths.
    let unhash = |text: &str| {
        let mut lines: Vec<String> = text
            .lines()
            .map(|l| match l.find("alpha-") {
                Some(at) if l[at + 6..].len() >= 6 && l[at + 6..at + 12].chars().all(|c| c.is_ascii_hexdigit()) => {
                    format!("{}alpha-[HASH]{}", &l[..at], &l[at + 12..])
                }
                _ => l.to_string(),
            })
            .collect();
        lines.sort();
        lines.join("\n") + "\n"
    };
    insta::assert_snapshot!("list_stderr", unhash(&redact(&run.stderr)));
    insta::assert_snapshot!("list_outline", unhash(&outline(&f.report("out"))));
    // The clone is in the sweep's cache, and its patch is the checkout's.
    assert!(f.path("out/.sweep/clones/gamma/.git").is_dir());
    let patch = |name: &str| std::fs::read_to_string(f.path(&format!("out/{name}.patch"))).unwrap();
    let alpha = std::fs::read_dir(f.path("out"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .find(|n| n.starts_with("alpha-") && n.ends_with(".patch") && patch(n.trim_end_matches(".patch")).contains("Cargo.toml"));
    assert_eq!(patch("gamma"), patch(alpha.unwrap().trim_end_matches(".patch")));
}

fn url(path: &Path) -> String {
    format!("file://{}", path.display())
}

#[test]
fn shards_partition_the_fleet_and_merge_into_the_unsharded_report() {
    let f = fleet();
    assert_eq!(f.sweep(&["--repos", "repos", "--out", "all", "--no-compiler"]).code, 0);
    let mut names = Vec::new();
    for k in 1..=3 {
        let run = f.sweep(&["--repos", "repos", "--out", &format!("shard-{k}"), "--shard", &format!("{k}/3"), "--no-compiler"]);
        assert_eq!(run.code, 0, "{run:?}");
        names.extend(f.report(&format!("shard-{k}"))["repositories"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap().to_string()));
    }
    names.sort();
    assert_eq!(names, ["alpha", "beta", "empty", "multi", "plain"], "each repository in exactly one shard");
    let mut cmd = Command::new(BIN);
    isolate(&mut cmd, f.tmp.path());
    let merged =
        cmd.current_dir(f.tmp.path()).args(["sweep", "merge", "shard-1", "shard-2", "shard-3", "--out", "merged", "--color", "never"]).output().unwrap();
    assert!(merged.status.success(), "{}", String::from_utf8_lossy(&merged.stderr));
    let strip = |mut r: serde_json::Value| {
        for key in ["seconds", "shards"] {
            r.as_object_mut().unwrap().remove(key);
        }
        r["totals"].as_object_mut().unwrap().remove("seconds");
        for repo in r["repositories"].as_array_mut().unwrap() {
            repo.as_object_mut().unwrap().remove("seconds");
        }
        r
    };
    assert_eq!(strip(f.report("merged")), strip(f.report("all")));
    assert_eq!(f.report("merged")["shards"].as_array().unwrap().len(), 3);
    for name in ["alpha.patch", "multi.json", "empty.log"] {
        assert!(f.path("merged").join(name).is_file(), "{name}");
    }
    // Overlapping or foreign folders are refused with the reason.
    let refuse = |args: &[&str]| {
        let mut cmd = Command::new(BIN);
        isolate(&mut cmd, f.tmp.path());
        let out = cmd.current_dir(f.tmp.path()).args(["sweep", "merge"]).args(args).args(["--color", "never"]).output().unwrap();
        assert_eq!(out.status.code(), Some(2));
        redact(&String::from_utf8_lossy(&out.stderr))
    };
    let twice = refuse(&["shard-1", "shard-1", "--out", "m1"]);
    // Which repositories a shard holds depends on their (temporary) paths; two unsharded
    // runs overlap in every one, the first by name being `alpha`.
    assert_eq!(f.sweep(&["--repos", "repos", "--out", "all-again", "--no-compiler"]).code, 0);
    let overlap = refuse(&["all", "all-again", "--out", "m2"]);
    let missing = refuse(&["repos", "--out", "m3"]);
    insta::assert_snapshot!("merge_refusals", format!("{twice}{overlap}{missing}"));
}

#[test]
fn apply_commits_on_a_new_branch_and_never_on_the_current_one() {
    let f = fleet();
    // A checkout with uncommitted work is refused, and keeps it.
    f.write("repos/beta/src/lib.rs", "// work in progress\n");
    let run = f.sweep(&["--repos", "repos", "--out", "out", "--no-compiler", "--apply", "--branch", "migrate/edition-2024"]);
    assert_eq!(run.code, 0, "{run:?}");
    insta::assert_snapshot!("apply_outline", outline(&f.report("out")));
    let head = f.git("repos/alpha", &["rev-parse", "HEAD"]);
    assert_eq!(f.git("repos/alpha", &["status", "--porcelain"]), "");
    assert_eq!(f.git("repos/alpha", &["branch", "--show-current"]), "main");
    assert_eq!(f.git("repos/alpha", &["rev-parse", "migrate/edition-2024^"]), head, "the branch starts at the input commit");
    let message = f.git("repos/alpha", &["log", "-1", "--format=%B", "migrate/edition-2024"]);
    insta::assert_snapshot!("apply_commit_message", message);
    // The branch holds exactly the patch.
    let diff = f.git("repos/alpha", &["diff", "main", "migrate/edition-2024"]);
    assert_eq!(diff + "\n", std::fs::read_to_string(f.path("out/alpha.patch")).unwrap());
    assert!(f.git("repos/beta", &["status", "--porcelain"]).contains("src/lib.rs"));
    assert_eq!(f.git("repos/beta", &["branch", "--format=%(refname:short)"]), "main", "no branch where nothing was committed");
    assert_eq!(f.git("repos/alpha", &["worktree", "list"]).lines().count(), 1);
    // A branch that exists already is not written over: another sweep with the same branch
    // fails that repository, with git's reason, and leaves the branch as it was.
    let commit = f.git("repos/alpha", &["rev-parse", "migrate/edition-2024"]);
    let again = f.sweep(&["--repos", "repos", "--out", "out2", "--no-compiler", "--apply", "--branch", "migrate/edition-2024"]);
    assert_eq!(again.code, 0, "{again:?}");
    let alpha = f.report("out2")["repositories"].as_array().unwrap().iter().find(|r| r["name"] == "alpha").unwrap().clone();
    assert_eq!(alpha["status"], "failed", "{alpha}");
    assert!(alpha["reason"].as_str().unwrap().contains("already exists"), "{alpha}");
    assert_eq!(f.git("repos/alpha", &["rev-parse", "migrate/edition-2024"]), commit);
}

#[test]
fn a_repository_past_its_timeout_is_stopped_and_the_rest_go_on() {
    let f = Fleet::new();
    f.demo("repos/quick");
    f.commit_all("repos/quick");
    // A build script that outlasts the timeout: the compiler phase runs it.
    f.write("repos/slow/Cargo.toml", "[package]\nname = \"slow\"\nversion = \"0.1.0\"\nedition = \"2021\"\nbuild = \"build.rs\"\n");
    f.write("repos/slow/build.rs", "fn main() {\n    std::thread::sleep(std::time::Duration::from_secs(3600));\n}\n");
    f.write("repos/slow/src/lib.rs", "pub fn gen() {}\n");
    f.commit_all("repos/slow");
    let started = std::time::Instant::now();
    let run = f.sweep(&["--repos", "repos", "--out", "out", "--timeout", "8", "-j", "2"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(started.elapsed().as_secs() < 600, "the slow worker was not stopped: {:?}", started.elapsed());
    insta::assert_snapshot!("timeout_outline", outline(&f.report("out")));
    // Nothing of the stopped worker is left running.
    let ps = Command::new("ps").args(["-eo", "args"]).output().unwrap();
    let ps = String::from_utf8_lossy(&ps.stdout);
    // Nothing of the stopped worker is left running: not the worker, not the build script
    // it had started (its path is under the sweep's folder).
    let tmp = f.tmp.path().display().to_string();
    assert!(!ps.lines().any(|l| l.contains(&tmp)), "{ps}");
    // Each repository's own target directory is removed when it is done.
    assert!(!f.path("out/.sweep/target/quick").exists() && !f.path("out/.sweep/target/slow").exists());
    // So is the stopped worker's work copy, a worktree of the checkout: its folder and
    // its registration in the checkout are gone.
    assert!(!f.path("out/.sweep/work/slow").exists() && !f.path("out/.sweep/work/quick").exists());
    assert_eq!(f.git("repos/slow", &["worktree", "list"]).lines().count(), 1, "a worktree is left registered");
}

#[test]
fn bad_sweep_input_gets_a_clear_message() {
    let f = Fleet::new();
    std::fs::create_dir_all(f.path("repos")).unwrap();
    f.write("busy/notes.txt", "mine\n");
    let mut out = String::new();
    for args in [
        vec!["--repos", "nowhere", "--out", "o1"],
        vec!["--repos", "repos"],
        vec!["--repos", "repos", "--out", "busy"],
        vec!["--repos", "repos", "--out", "o2", "--shard", "4/3"],
        vec!["--repos", "repos", "--out", "o3", "--migration", "rewrite"],
        vec!["--repos", "repos", "--out", "o4", "--apply", "--branch", "bad..name"],
    ] {
        let run = f.sweep(&args);
        assert_eq!(run.code, 2, "{args:?}: {run:?}");
        out.push_str(&format!("$ sweep {}\n{}", args.join(" "), redact(&run.stderr)));
    }
    insta::assert_snapshot!("bad_input", out);
    assert_eq!(std::fs::read_to_string(f.path("busy/notes.txt")).unwrap(), "mine\n");
}

/// A sweep's patch lands without a person, so its `--verify` is all or nothing: a
/// repository the upgrade would leave with an error no pack covers (`reset_to`, removed
/// in mylib 2) gets everything taken back, the release too, where `upgrade --verify`
/// alone would keep the release and list the site.
#[test]
fn an_upgrade_sweep_takes_back_all_of_a_repository_it_would_leave_broken() {
    let f = Fleet::new();
    f.mylib("repos/gap");
    let main = std::fs::read_to_string(f.path("repos/gap/mylib-user/src/main.rs")).unwrap();
    let gap = "\npub fn tally() -> u64 {\n    let mut c = mylib::Counter::new();\n    c.add(2);\n    c.reset_to(5);\n    c.total()\n}\n";
    f.write("repos/gap/mylib-user/src/main.rs", &format!("{main}{gap}"));
    f.commit_all("repos/gap");
    let run = f.sweep(&["--repos", "repos", "--out", "out", "--migration", "upgrade:mylib", "--verify"]);
    assert_eq!(run.code, 0, "{run:?}");
    let report = f.report("out");
    let gap = report["repositories"].as_array().unwrap().iter().find(|r| r["name"] == "gap").unwrap().clone();
    assert!(gap["verify"]["introduced"].as_u64().unwrap() > 0 && gap["verify"]["reverted"].as_u64().unwrap() > 0, "{gap:#}");
    // Nothing of the upgrade is left in its patch: not the release, not the changes.
    let patch = std::fs::read_to_string(f.path("out/gap.patch")).unwrap_or_default();
    assert!(!patch.contains("version = \"2\"") && !patch.contains("mylib-user/src/main.rs"), "{patch}");
}

#[test]
fn an_upgrade_sweep_moves_the_repositories_that_use_the_crate() {
    let f = Fleet::new();
    f.mylib("repos/mono");
    f.commit_all("repos/mono");
    f.demo("repos/other");
    f.commit_all("repos/other");
    let run = f.sweep(&["--repos", "repos", "--out", "out", "--migration", "upgrade:mylib", "--verify"]);
    assert_eq!(run.code, 0, "{run:?}");
    insta::assert_snapshot!("upgrade_outline", outline(&f.report("out")));
    let patch = std::fs::read_to_string(f.path("out/mono.patch")).unwrap();
    assert!(patch.contains("+++ b/mylib-user/src/main.rs") && patch.contains("version = \"2\""), "{patch}");
}
