//! Fixture tests of the built-in rules. Fixtures sit next to each rule's documentation:
//!
//! ```text
//! rules/<id>/fixtures/NAME.rs          input (Rust 2021)
//! rules/<id>/fixtures/NAME.fixed.rs    expected output of that rule alone (none for `leaves_alone_*`:
//!                                      such a fixture is its own expected output)
//! rules/<id>/fixtures/NAME.snap        the annotated diff, diagnostics and sites not changed (insta)
//! rules/<id>/fixtures/NAME.toml        input manifest (`edition-manifest`)
//! rules/<id>/fixtures/NAME.fixed.toml  expected manifest
//! rules/<id>/fixtures/NAME.lib.rs      the code of that manifest's package, when a manifest
//!                                      rule reads it (`ecosystem-companions`): migrated with
//!                                      every edition rule, its unsafe attribute forms are
//!                                      what the rule sees (not a fixture of its own)
//! ```
//!
//! Every input is run through its rule alone and must give the `.fixed` file byte for
//! byte. Then:
//! - the annotated diff (plus the rule's diagnostics and sites not changed) must match the
//!   snapshot; carriage returns are shown as `␍` and a byte order mark as `<BOM>`, since
//!   insta would drop them;
//!   a fixture where the rule changes and reports nothing has no snapshot;
//! - running the rule again, and separately every edition rule, on the output changes
//!   nothing (idempotence, and no rule fires on code that is already migrated);
//! - a Rust input type-checks with `rustc --edition 2021`, its output with
//!   `--edition 2024` (errors fail, warnings do not); a manifest output parses;
//! - `leaves_alone_*` fixtures must make no change; every other fixture must make one.
//!
//! A first line `// fixture: no-compile-2021: REASON` (or `no-compile-2024`) skips one
//! compile check; the reason is required. Keep these rare.
//!
//! To accept new output: `BLESS=1 cargo test --test rules`. It writes the `.fixed` files
//! and, unless `INSTA_UPDATE` says otherwise, the snapshots (`INSTA_UPDATE=always`); the
//! other checks still run. Review the result with `git diff` before committing.
//!
//! All failing fixtures of a rule are reported together.

use std::io::Write as _;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Once;

use cargo_migrate::cargo::discover::Package;
use cargo_migrate::core::migration::FileResult;
use cargo_migrate::core::model::{Change, Diagnostic, Level, Unchanged};
use cargo_migrate::core::plan::plan_file;
use cargo_migrate::core::text::{FileKind, SourceFile};
use cargo_migrate::emit::{write_file_diff, DiffStyle};
use cargo_migrate::engine::pipeline::migrate_source;
use cargo_migrate::engine::walk::{check_manifest_text, check_rust_text, sort_findings, CheckOptions};
use cargo_migrate::rules::companions::{AttrUses, WorkspaceUses};
use cargo_migrate::rules::{self, Rule};
use cargo_migrate::syntax::cfg::CfgSet;

macro_rules! rule_tests {
    ($($test:ident => $id:literal,)*) => {
        $(
            #[test]
            fn $test() {
                check_rule($id);
            }
        )*

        /// The rules that have a test above.
        const TESTED: &[&str] = &[$($id),*];
    };
}

rule_tests! {
    ecosystem_companions => "ecosystem-companions",
    edition_manifest => "edition-manifest",
    expr_fragment => "expr-fragment",
    guarded_strings => "guarded-strings",
    if_let_guard_method => "if-let-guard-method",
    keyword_gen => "keyword-gen",
    unsafe_attributes => "unsafe-attributes",
    unsafe_extern_blocks => "unsafe-extern-blocks",
    unsafe_std_functions => "unsafe-std-functions",
}

#[test]
fn every_rule_has_a_test_and_fixtures() {
    let mut missing = Vec::new();
    for rule in rules::edition_2024() {
        let id = rule.meta().id;
        if !TESTED.contains(&id) {
            missing.push(format!("{id}: no test in tests/rules.rs (add it to `rule_tests!`)"));
        }
        match fixtures(id) {
            Ok((list, _)) if list.is_empty() => missing.push(format!("{id}: rules/{id}/fixtures/ has no input")),
            Ok(_) => {}
            Err(e) => missing.push(format!("{id}: {e}")),
        }
    }
    assert!(missing.is_empty(), "\n{}", missing.join("\n"));
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn bless() -> bool {
    std::env::var_os("BLESS").is_some_and(|v| v == "1")
}

/// `BLESS=1` also accepts snapshots, unless `INSTA_UPDATE` is set. Every test calls this
/// first and `call_once` holds the others until it is done, so no thread reads the
/// environment while it is written; insta reads its configuration once, later.
fn setup() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if bless() && std::env::var_os("INSTA_UPDATE").is_none() {
            std::env::set_var("INSTA_UPDATE", "always");
        }
    });
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Rust,
    Manifest,
}

impl Kind {
    fn ext(self) -> &'static str {
        match self {
            Kind::Rust => "rs",
            Kind::Manifest => "toml",
        }
    }
}

/// One input fixture.
struct Fixture {
    kind: Kind,
    /// File name without extension.
    name: String,
    input: PathBuf,
    /// How the file is shown in diffs: relative to the repository root.
    display: String,
}

impl Fixture {
    fn sibling(&self, suffix: &str) -> PathBuf {
        self.input.with_file_name(format!("{}{suffix}", self.name))
    }

    fn fixed(&self) -> PathBuf {
        self.sibling(&format!(".fixed.{}", self.kind.ext()))
    }

    fn leaves_alone(&self) -> bool {
        self.name.starts_with("leaves_alone")
    }
}

/// The inputs in `rules/<id>/fixtures/`, sorted, and the expected files and snapshots
/// that no input explains.
fn fixtures(id: &str) -> Result<(Vec<Fixture>, Vec<String>), String> {
    let dir = root().join("rules").join(id).join("fixtures");
    let entries = std::fs::read_dir(&dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    let mut names: Vec<String> =
        entries.map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned())).collect::<Result<_, _>>().map_err(|e| e.to_string())?;
    names.sort();
    let mut out = Vec::new();
    let mut orphans = Vec::new();
    for file in &names {
        let (stem, kind) = match file.rsplit_once('.') {
            Some((stem, "rs")) => (stem, Kind::Rust),
            Some((stem, "toml")) => (stem, Kind::Manifest),
            Some((stem, "snap")) => {
                if !names.iter().any(|n| n == &format!("{stem}.rs") || n == &format!("{stem}.toml")) {
                    orphans.push(file.clone());
                }
                continue;
            }
            _ => continue, // `.snap.new` and the like
        };
        if let Some(input) = stem.strip_suffix(".lib").filter(|_| kind == Kind::Rust) {
            if !names.contains(&format!("{input}.toml")) {
                orphans.push(file.clone());
            }
            continue;
        }
        if let Some(input) = stem.strip_suffix(".fixed") {
            if !names.contains(&format!("{input}.{}", kind.ext())) {
                orphans.push(file.clone());
            }
            continue;
        }
        out.push(Fixture { kind, name: stem.to_string(), input: dir.join(file), display: format!("rules/{id}/fixtures/{file}") });
    }
    Ok((out, orphans))
}

/// What a fixture asks the harness to skip, from its leading `// fixture: ...` lines.
#[derive(Default)]
struct Directives {
    no_compile_2021: bool,
    no_compile_2024: bool,
}

fn directives(text: &str) -> Result<Directives, String> {
    let mut d = Directives::default();
    for line in text.trim_start_matches('\u{feff}').lines() {
        let Some(rest) = line.trim_end().strip_prefix("// fixture:") else { break };
        let (what, reason) = rest.split_once(':').unwrap_or((rest, ""));
        if reason.trim().is_empty() {
            return Err(format!("`{line}`: say why, as `// fixture: {}: REASON`", what.trim()));
        }
        match what.trim() {
            "no-compile-2021" => d.no_compile_2021 = true,
            "no-compile-2024" => d.no_compile_2024 = true,
            other => return Err(format!("unknown fixture directive `{other}`")),
        }
    }
    Ok(d)
}

/// The result of running rules on a text.
struct Run {
    changes: Vec<Change>,
    new_text: String,
    diagnostics: Vec<Diagnostic>,
    /// Sites the rule saw and left for a person.
    unchanged: Vec<Unchanged>,
}

fn options(rules: Vec<&'static dyn Rule>) -> CheckOptions<'static> {
    CheckOptions::new(rules, cargo_migrate::core::edition::Edition::E2024)
}

fn source_file(kind: Kind, display: &str, text: &str) -> SourceFile {
    SourceFile {
        path: root().join(display),
        display: display.to_string(),
        kind: match kind {
            Kind::Rust => FileKind::Rust,
            Kind::Manifest => FileKind::Manifest,
        },
        package: String::new(),
        cfg: cargo_migrate::core::model::CfgStatus::Active,
        text: text.to_string(),
    }
}

fn run(kind: Kind, display: &str, text: &str, rules: Vec<&'static dyn Rule>) -> Result<Run, String> {
    match kind {
        Kind::Rust => run_rust(display, text, rules),
        Kind::Manifest => run_manifest(display, text, rules),
    }
}

/// Runs `rules` on a Rust text as `cargo migrate` would on a file of a workspace: changes
/// from [`migrate_source`], diagnostics from the same check.
fn run_rust(display: &str, text: &str, rules: Vec<&'static dyn Rule>) -> Result<Run, String> {
    let opts = options(rules);
    let (changes, new_text) = migrate_source(display, text, &opts).map_err(|d| show_diagnostic(&d))?;
    let file = source_file(Kind::Rust, display, text);
    let (findings, _) = check_rust_text(&file, &cargo_migrate::cargo::discover::host_cfg(), &opts, true).map_err(|d| show_diagnostic(&d))?;
    Ok(Run { changes, new_text, diagnostics: findings.diagnostics, unchanged: findings.unchanged })
}

/// Runs `rules` on a manifest. The manifest belongs to a package when it has a
/// `[package]` table, and is a workspace root when it has a `[workspace]` table.
fn run_manifest(display: &str, text: &str, rules: Vec<&'static dyn Rule>) -> Result<Run, String> {
    let opts = options(rules);
    let doc: toml_edit::DocumentMut = text.parse().map_err(|e| format!("not TOML: {e}"))?;
    let file = source_file(Kind::Manifest, display, text);
    let package = doc.get("package").map(|p| Package {
        name: p.get("name").and_then(|n| n.as_str()).unwrap_or("fixture").to_string(),
        version: "0.0.0".to_string(),
        manifest_path: file.path.clone(),
        edition: cargo_metadata::Edition::E2021,
        cfg: CfgSet::default(),
        roots: Vec::new(),
        targets: Vec::new(),
    });
    let is_root = doc.contains_key("workspace");
    let uses = package_uses(display, package.as_ref(), &doc)?;
    let mut findings = check_manifest_text(&file, package.as_ref(), is_root, &uses, &opts).map_err(|d| show_diagnostic(&d))?;
    // In the order `cargo migrate` applies and shows them.
    sort_findings(&mut findings.changes, &mut findings.diagnostics, &opts.rules);
    let mut diagnostics = findings.diagnostics;
    let unchanged = findings.unchanged;
    let mut recheck = |t: &str, d: &mut Vec<Diagnostic>| {
        let next = SourceFile { text: t.to_string(), ..file.clone() };
        match check_manifest_text(&next, package.as_ref(), is_root, &uses, &opts) {
            Ok(f) => f.changes,
            Err(e) => {
                d.push(e);
                Vec::new()
            }
        }
    };
    let result = plan_file(&file, findings.changes, &mut diagnostics, &mut Vec::new(), &mut recheck);
    if let Some(error) = diagnostics.iter().find(|d| d.level == Level::Error) {
        return Err(show_diagnostic(error));
    }
    let (changes, new_text) = result.map_or_else(|| (Vec::new(), text.to_string()), |r| (r.changes, r.new_text));
    Ok(Run { changes, new_text, diagnostics, unchanged })
}

/// What the code of a manifest fixture's package has after the migration: its
/// `NAME.lib.rs` sibling migrated with every edition rule (nothing without one), as the
/// engine computes it for a workspace; the manifest's own `workspace = true` entries
/// inherit it.
fn package_uses(display: &str, package: Option<&Package>, doc: &toml_edit::DocumentMut) -> Result<WorkspaceUses, String> {
    let mut uses = WorkspaceUses::default();
    let Some(package) = package else { return Ok(uses) };
    let lib_display = display.replace(".fixed.toml", ".toml").replace(".toml", ".lib.rs");
    let Ok(text) = std::fs::read_to_string(root().join(&lib_display)) else { return Ok(uses) };
    let opts = options(rules::edition_2024().to_vec());
    let (changes, _) = migrate_source(&lib_display, &text, &opts).map_err(|d| show_diagnostic(&d))?;
    let file = source_file(Kind::Rust, &lib_display, &text);
    uses.packages.insert(package.name.clone(), AttrUses::of(&file, &changes));
    uses.inherit_from(&package.name, doc.as_table());
    Ok(uses)
}

fn show_diagnostic(d: &Diagnostic) -> String {
    let level = match d.level {
        Level::Note => "note",
        Level::Warning => "warning",
        Level::Error => "error",
    };
    let line = d.line.map_or_else(String::new, |l| format!("line {l}: "));
    let rule = d.rule.map_or_else(String::new, |r| format!("[{r}] "));
    format!("{level}: {line}{rule}{}", d.message)
}

/// The snapshot text: the annotated diff without colors, then the diagnostics and the
/// sites not changed.
fn snapshot_text(fixture: &Fixture, input: &str, run: &Run) -> String {
    let result = FileResult {
        file: source_file(fixture.kind, &fixture.display, input),
        new_text: run.new_text.clone(),
        changes: run.changes.clone(),
        passes: 1,
        later_rounds: Vec::new(),
    };
    let mut out = anstream::StripStream::new(Vec::new());
    write_file_diff(&result, DiffStyle::Annotated, &mut out).expect("writing to memory");
    let mut text = String::from_utf8(out.into_inner()).expect("the diff of UTF-8 texts is UTF-8");
    if !run.diagnostics.is_empty() {
        text.push_str("\ndiagnostics:\n");
        for d in &run.diagnostics {
            text.push_str(&show_diagnostic(d));
            text.push('\n');
        }
    }
    if !run.unchanged.is_empty() {
        text.push_str("\nnot changed:\n");
        for u in &run.unchanged {
            let line = u.line.map_or_else(String::new, |l| format!("line {l}: "));
            text.push_str(&format!("{}: {line}[{}] {}\n", u.reason.label(), u.rule, u.detail));
        }
    }
    text.replace('\r', "␍").replace('\u{feff}', "<BOM>")
}

/// Runs every fixture of rule `id` and panics with the list of failures.
fn check_rule(id: &str) {
    setup();
    let rule = rules::find(id).unwrap_or_else(|| panic!("no rule `{id}`"));
    let (fixtures, orphans) = fixtures(id).unwrap_or_else(|e| panic!("{e}"));
    assert!(!fixtures.is_empty(), "rules/{id}/fixtures/ has no input");
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let mut failures: Vec<String> = orphans.iter().map(|o| format!("rules/{id}/fixtures/{o}: no input for it (remove it?)")).collect();
    for fixture in &fixtures {
        let errors = check_fixture(rule, fixture, tmp.path());
        if !errors.is_empty() {
            let errors: Vec<String> = errors.iter().map(|e| format!("  {}", e.replace('\n', "\n  "))).collect();
            failures.push(format!("{}:\n{}", fixture.display, errors.join("\n")));
        }
    }
    assert!(failures.is_empty(), "rules/{id}: {} failures ({} fixtures):\n\n{}\n", failures.len(), fixtures.len(), failures.join("\n\n"));
}

/// Checks one fixture; returns what is wrong with it.
fn check_fixture(rule: &'static dyn Rule, fixture: &Fixture, tmp: &Path) -> Vec<String> {
    let mut errors = Vec::new();
    let input = match std::fs::read_to_string(&fixture.input) {
        Ok(t) => t,
        Err(e) => return vec![format!("cannot read: {e}")],
    };
    let directives = match directives(&input) {
        Ok(d) => d,
        Err(e) => return vec![e],
    };
    let run = match run(fixture.kind, &fixture.display, &input, vec![rule]) {
        Ok(r) => r,
        Err(e) => return vec![format!("the rule failed: {e}")],
    };

    // Output against the `.fixed` file.
    let fixed_path = fixture.fixed();
    let fixed_name = fixed_path.file_name().unwrap_or_default().to_string_lossy().into_owned();
    if fixture.leaves_alone() {
        // Its own expected output: the "was changed" check below covers it.
        if fixed_path.exists() {
            if bless() {
                let _ = std::fs::remove_file(&fixed_path);
            } else {
                errors.push(format!("{fixed_name} is not needed: a `leaves_alone` fixture is its own expected output (BLESS=1 removes it)"));
            }
        }
    } else {
        match_fixed(&fixed_path, &fixed_name, &run.new_text, &mut errors);
    }

    // Whether it should have changed anything.
    if run.changes.is_empty() && !fixture.leaves_alone() {
        errors.push("no change: a fixture that must change nothing is named `leaves_alone_*`".into());
    }
    if !run.changes.is_empty() && fixture.leaves_alone() {
        let made: Vec<String> = run.changes.iter().map(cargo_migrate::emit::annotation).collect();
        errors.push(format!("a `leaves_alone` fixture was changed:\n{}", made.join("\n")));
    }

    // The snapshot of what it did and said; none when it did and said nothing.
    let snap = fixture.sibling(".snap");
    if run.changes.is_empty() && run.diagnostics.is_empty() && run.unchanged.is_empty() {
        if snap.exists() {
            if bless() {
                let _ = std::fs::remove_file(&snap);
            } else {
                errors.push(format!("{}.snap is stale: the rule changes and reports nothing here (BLESS=1 removes it)", fixture.name));
            }
        }
    } else {
        let text = snapshot_text(fixture, &input, &run);
        let dir = fixture.input.parent().expect("fixtures are in a folder").to_path_buf();
        let matched = catch_unwind(AssertUnwindSafe(|| {
            insta::with_settings!({
                snapshot_path => dir,
                prepend_module_to_snapshot => false,
                input_file => &fixture.input,
                omit_expression => true,
            }, {
                insta::assert_snapshot!(fixture.name.as_str(), text);
            });
        }));
        if matched.is_err() {
            errors.push(format!("annotated diff differs from {}.snap (see insta's output above; BLESS=1 or `cargo insta review`)", fixture.name));
        }
    }

    // Idempotence: the rule, then every edition rule, on the output.
    for (what, rules) in [("the rule", vec![rule]), ("the edition rules", rules::edition_2024().to_vec())] {
        match self::run(fixture.kind, &fixture.display, &run.new_text, rules) {
            Ok(again) if again.changes.is_empty() => {}
            Ok(again) => {
                let made: Vec<String> = again.changes.iter().map(cargo_migrate::emit::annotation).collect();
                errors.push(format!("{what} changed the output again:\n{}", made.join("\n")));
            }
            Err(e) => errors.push(format!("{what} failed on the output: {e}")),
        }
    }

    // The input is valid before, the output after.
    match fixture.kind {
        Kind::Rust => {
            if !directives.no_compile_2021 {
                if let Err(e) = rustc(&fixture.input, "2021", tmp) {
                    errors.push(format!("the input does not compile with edition 2021:\n{e}"));
                }
            }
            if !directives.no_compile_2024 {
                let out = tmp.join(format!("{}.fixed.rs", fixture.name));
                match std::fs::write(&out, &run.new_text) {
                    Ok(()) => {
                        if let Err(e) = rustc(&out, "2024", tmp) {
                            errors.push(format!("the output does not compile with edition 2024:\n{e}"));
                        }
                    }
                    Err(e) => errors.push(format!("cannot write {}: {e}", out.display())),
                }
            }
        }
        Kind::Manifest => {
            if let Err(e) = run.new_text.parse::<toml_edit::DocumentMut>() {
                errors.push(format!("the output is not TOML: {e}"));
            }
        }
    }
    errors
}

/// Type-checks `file` as a library with `edition`; rustc's stderr on errors.
fn rustc(file: &Path, edition: &str, tmp: &Path) -> Result<(), String> {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let out = tmp.join(format!("fixture-{edition}.rmeta"));
    let output = Command::new(rustc)
        .args(["--edition", edition, "--crate-type", "lib", "--crate-name", "fixture", "--emit=metadata", "-o"])
        .arg(&out)
        .arg(file)
        .output()
        .map_err(|e| format!("cannot run rustc: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

/// A short unified diff, expected → actual, with line endings made visible.
fn text_diff(expected: &str, actual: &str) -> String {
    let diff = similar::TextDiff::from_lines(expected, actual);
    let mut out = Vec::new();
    let _ = write!(out, "{}", diff.unified_diff().context_radius(2).header("expected", "actual"));
    String::from_utf8_lossy(&out).replace('\r', "␍")
}

/// Compares a fixture's output with its `.fixed` file (or writes it with `BLESS=1`).
fn match_fixed(fixed_path: &Path, fixed_name: &str, output: &str, errors: &mut Vec<String>) {
    match std::fs::read_to_string(fixed_path) {
        Ok(expected) if expected == output => {}
        _ if bless() => {
            if let Err(e) = std::fs::write(fixed_path, output) {
                errors.push(format!("cannot write {fixed_name}: {e}"));
            }
        }
        Ok(expected) => errors.push(format!("output differs from {fixed_name} (BLESS=1 to accept it):\n{}", text_diff(&expected, output))),
        Err(_) => errors.push(format!("{fixed_name} is missing: run `BLESS=1 cargo test --test rules`, then review it")),
    }
}
