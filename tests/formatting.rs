//! Output a maintainer keeps: a crate that was `rustfmt`-clean before the migration is
//! still clean after it, under the same style edition (`syntax::layout` lays out the
//! blocks and `match`es the migration makes). On a fixture with each shape once
//! (`tests/fixtures/layout`), and on real crates of the corpus (`../shared/corpus`, fetched
//! from crates.io with its `fetch.sh`) that were `cargo fmt --check`-clean and get
//! `unsafe` blocks; and on the repository's own code, every function body and `if let …
//! else` rewritten as rustc would. The figures are in `docs/formatting.md`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use cargo_migrate::core::model::{CfgStatus, Change, Decider, Edit, Safety};
use cargo_migrate::syntax::layout::{lay_out_changes, Style};
use syn::spanned::Spanned;
use syn::visit::Visit;

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
const CLEAN_CRATES: &[(&str, &str)] = &[("crossbeam-utils", "0.8.20"), ("socket2", "0.5.7"), ("crossbeam-epoch", "0.9.18"), ("tokio", "1.38.0")];
/// The ones migrated for real (tokio takes minutes to check; it is restructured below).
const MIGRATED: usize = 3;

/// The corpus crates, unpacked by `../shared/corpus/fetch.sh` into `target/corpus-src`
/// (as `benches/corpus.py` does; cargo downloads them from crates.io once). Once per test
/// binary: two tests unpacking into the same folder at once read each other's half-written
/// files.
fn corpus() -> PathBuf {
    static FETCHED: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    FETCHED.get_or_init(fetch_corpus).clone()
}

fn fetch_corpus() -> PathBuf {
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
    for (name, version) in &CLEAN_CRATES[..MIGRATED] {
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

/// The constructs of one file rustc's suggestions restructure: the outermost function
/// bodies, and the `if let … else { … }` (no `else if`) that hold no other.
#[derive(Default)]
struct Constructs {
    bodies: Vec<std::ops::Range<usize>>,
    if_lets: Vec<(std::ops::Range<usize>, Vec<Edit>)>,
    else_ifs: Vec<usize>,
    /// Starts of the `if`s that are a block's statement or tail, or a `let`'s value.
    statements: Vec<usize>,
}

impl<'a> Visit<'a> for Constructs {
    fn visit_block(&mut self, b: &'a syn::Block) {
        for stmt in &b.stmts {
            let e = match stmt {
                syn::Stmt::Expr(e, _) => Some(e),
                syn::Stmt::Local(l) => l.init.as_ref().map(|i| &*i.expr),
                _ => None,
            };
            if let Some(syn::Expr::If(i)) = e {
                self.statements.push(i.span().byte_range().start);
            }
        }
        syn::visit::visit_block(self, b);
    }
    fn visit_item_fn(&mut self, f: &'a syn::ItemFn) {
        self.bodies.push(f.block.span().byte_range());
        syn::visit::visit_item_fn(self, f);
    }
    fn visit_impl_item_fn(&mut self, f: &'a syn::ImplItemFn) {
        self.bodies.push(f.block.span().byte_range());
        syn::visit::visit_impl_item_fn(self, f);
    }
    fn visit_expr_if(&mut self, e: &'a syn::ExprIf) {
        if let Some((_, syn::Expr::If(next))) = e.else_branch.as_ref().map(|(t, b)| (t, &**b)) {
            self.else_ifs.push(next.span().byte_range().start);
        }
        if let (syn::Expr::Let(l), Some((else_token, els))) = (&*e.cond, &e.else_branch) {
            // (After an `else`, rustc's `match` goes in a block: not simulated here. Inside
            // a closure or an argument, rustfmt may lay the call around out otherwise once
            // it holds a `match`: not the construct's layout.)
            let start = e.span().byte_range().start;
            if matches!(**els, syn::Expr::Block(_)) && !self.else_ifs.contains(&start) && self.statements.contains(&start) {
                // rustc's `if_let_rescope` suggestion: `match E { P => {` … `} _ => {` … `}}`.
                let (whole, pat, scrutinee) = (e.span().byte_range(), l.pat.span().byte_range(), l.expr.span().byte_range());
                let then = e.then_branch.span().byte_range();
                self.if_lets.push((
                    whole.clone(),
                    vec![
                        Edit::replace(whole.start..scrutinee.start, "match "),
                        Edit::insert(then.start, format!("{{ {} => ", &SOURCE.with(|s| s.borrow()[pat].to_string()))),
                        Edit::replace(else_token.span.byte_range(), "_ =>"),
                        Edit::insert(whole.end, "}"),
                    ],
                ));
            }
        }
        syn::visit::visit_expr_if(self, e);
    }
}

thread_local! {
    static SOURCE: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}

fn change(edits: Vec<Edit>) -> Change {
    Change { rule: "test", reason: String::new(), safety: Safety::Safe, decided_by: Decider::Rule, file: String::new(), line: 1, cfg: CfgStatus::Active, edits }
}

/// `rustfmt --check --edition 2021` of the files in `dir` (with the `rustfmt.toml` there,
/// if any): its hunks, as text.
fn hunks(dir: &Path) -> Vec<String> {
    let files: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|e| e == "rs")).collect();
    let out = Command::new("rustfmt")
        .args(["--check", "--color", "never", "--edition", "2021", "--config", "skip_children=true"])
        .args(&files)
        .current_dir(dir)
        .output()
        .unwrap();
    let mut hunks: Vec<String> = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        match line.strip_prefix("Diff in ") {
            Some(at) => hunks.push(format!("{at}\n")),
            None => hunks.last_mut().into_iter().for_each(|h| *h += &format!("{line}\n")),
        }
    }
    hunks
}

/// The Rust files under `dir`, fixtures, snapshots and build output left out.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap_or_default().to_string_lossy().into_owned();
        if path.is_dir() && !["fixtures", "snapshots", "judge-set", "target"].contains(&name.as_str()) {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Restructures `files` (rustfmt-clean in `style`) as rustc's suggestions would — every
/// outermost function body wrapped in `unsafe { }`; in other copies, every `if let … else`
/// that holds none rewritten to `match` — lays the changes out, and returns how many
/// constructs of each kind there were, how many were laid out, and rustfmt's hunks that
/// are not a re-wrap of code the layout only moved: a hunk is one when every line it
/// removes is a line of the original file (moved one level in) and it breaks them
/// otherwise (not only re-indents them) — four columns less, rustfmt wraps that code
/// differently, which would take a formatter to follow.
fn restructure_and_check(root: &Path, files: &[PathBuf], style: Style, rustfmt_toml: Option<&Path>) -> (usize, usize, usize, Vec<String>) {
    let tmp = tempfile::tempdir().unwrap();
    if let Some(toml) = rustfmt_toml {
        std::fs::copy(toml, tmp.path().join("rustfmt.toml")).unwrap();
    }
    let (mut bodies, mut if_lets, mut laid) = (0, 0, 0);
    let mut originals = std::collections::HashMap::new();
    for path in files {
        let text = std::fs::read_to_string(path).unwrap();
        let Ok(file) = syn::parse_file(&text) else { continue };
        let original: std::collections::HashSet<&str> = text.lines().map(str::trim).collect();
        SOURCE.with(|s| *s.borrow_mut() = text.clone());
        let mut found = Constructs::default();
        found.visit_file(&file);
        let outermost = |r: &std::ops::Range<usize>, all: &[std::ops::Range<usize>]| !all.iter().any(|o| o != r && o.start <= r.start && r.end <= o.end);
        let wrapped: Vec<Change> = found
            .bodies
            .iter()
            .filter(|r| outermost(r, &found.bodies))
            .map(|r| change(vec![Edit::insert(r.start, "{ unsafe "), Edit::insert(r.end, "}")]))
            .collect();
        let ranges: Vec<std::ops::Range<usize>> = found.if_lets.iter().map(|(r, _)| r.clone()).collect();
        let rewritten: Vec<Change> = found
            .if_lets
            .iter()
            .filter(|(r, _)| !ranges.iter().any(|o| o != r && r.start <= o.start && o.end <= r.end))
            .map(|(_, e)| change(e.clone()))
            .collect();
        for (kind, mut changes) in [("unsafe", wrapped), ("match", rewritten)] {
            if changes.is_empty() {
                continue;
            }
            let before: Vec<Vec<Edit>> = changes.iter().map(|c| c.edits.clone()).collect();
            lay_out_changes(&text, &mut changes, style);
            *if kind == "unsafe" { &mut bodies } else { &mut if_lets } += changes.len();
            laid += changes.iter().zip(&before).filter(|(c, b)| &c.edits != *b).count();
            let edits: Vec<Edit> = changes.into_iter().flat_map(|c| c.edits).collect();
            let out = cargo_migrate::core::plan::apply_edits(&text, &edits).unwrap();
            syn::parse_file(&out).unwrap_or_else(|e| panic!("{}: {kind}: {e}", path.display()));
            let name = format!("{kind}__{}", path.strip_prefix(root).unwrap().to_string_lossy().replace('/', "__"));
            std::fs::write(tmp.path().join(&name), out).unwrap();
            originals.insert(name, original.iter().map(|l| l.to_string()).collect::<std::collections::HashSet<String>>());
        }
    }
    let all = hunks(tmp.path());
    eprintln!("{bodies} bodies, {if_lets} `if let`s, {laid} laid out; rustfmt: {} hunk(s)", all.len());
    let not_rewrap = all
        .into_iter()
        .filter(|h| {
            let file = h.split(':').next().and_then(|f| Path::new(f).file_name()).map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
            let trimmed = |sign: char| h.lines().filter_map(|l| l.strip_prefix(sign)).map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>();
            let (removed, added) = (trimmed('-'), trimmed('+'));
            let moved = removed.iter().all(|l| originals.get(&file).is_some_and(|o| o.contains(*l)));
            !(moved && removed != added)
        })
        .collect();
    (bodies, if_lets, laid, not_rewrap)
}

#[test]
fn the_repositorys_own_code_restructured_as_rustc_would_is_laid_out_as_rustfmt_would() {
    // `src/`, and the tests' and benches' own files: what `cargo fmt` keeps formatted
    // (`tests/style.rs`), in the repository's style (`max_width = 160`, small heuristics
    // at their maximum).
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let toml = root.join("rustfmt.toml");
    let style = Style::from_rustfmt_toml(&std::fs::read_to_string(&toml).unwrap());
    assert_eq!(style.max_width, 160);
    let mut files = Vec::new();
    for dir in ["src", "tests", "benches"] {
        rust_files(&root.join(dir), &mut files);
    }
    let (bodies, if_lets, laid, not_width) = restructure_and_check(root, &files, style, Some(&toml));
    assert!(bodies > 1000, "{bodies} bodies");
    assert!(not_width.is_empty(), "{laid} of {} laid out; rustfmt changes more than a re-wrap of moved code:\n{}", bodies + if_lets, not_width.join("\n"));
    assert!(laid * 100 >= (bodies + if_lets) * 95, "{laid} of {} laid out", bodies + if_lets);
}

#[test]
fn fmt_clean_corpus_code_restructured_as_rustc_would_is_laid_out_as_rustfmt_would() {
    // The same on the fmt-clean corpus crates (rustfmt's default style), tokio included:
    // thousands of function bodies, hundreds of `if let … else`.
    let corpus = corpus();
    let mut files = Vec::new();
    for (name, version) in CLEAN_CRATES {
        rust_files(&corpus.join(format!("{name}-{version}/src")), &mut files);
    }
    let (bodies, if_lets, laid, not_width) = restructure_and_check(&corpus, &files, Style::default(), None);
    assert!(bodies > 3000 && if_lets > 40, "{bodies} bodies, {if_lets} `if let`s");
    assert!(not_width.is_empty(), "{laid} of {} laid out; rustfmt changes more than a re-wrap of moved code:\n{}", bodies + if_lets, not_width.join("\n"));
    assert!(laid * 100 >= (bodies + if_lets) * 95, "{laid} of {} laid out", bodies + if_lets);
}
