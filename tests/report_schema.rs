//! `--format json` against its checked-in schema (`docs/report.schema.json`): the real
//! output of `edition` and `upgrade` runs, on crates that fill every part of the document
//! (changes of every decider, verdicts, diagnostics of each level, every kind of site not
//! changed), validated by the reference validator, Python's `jsonschema`, which
//! `scripts/setup-validators.sh` installs. Broken copies of a real document must be
//! rejected, so a validator that checks nothing fails the test.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

mod common;
use common::{demo_at, edition_in, isolate, write_file};

const BIN: &str = env!("CARGO_BIN_EXE_cargo-migrate");

fn schema_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/report.schema.json")
}

/// Validates each document against the schema: the validator class `jsonschema` picked
/// from the schema's `$schema`, and one line per error (empty when all are valid).
fn validate(docs: &[(&str, &Value)]) -> (String, Vec<String>) {
    let tmp = tempfile::tempdir().unwrap();
    let mut paths = Vec::new();
    for (name, doc) in docs {
        let path = tmp.path().join(format!("{name}.json"));
        std::fs::write(&path, serde_json::to_string(doc).unwrap()).unwrap();
        paths.push(path);
    }
    let script = r#"
import json, sys
import jsonschema.validators
schema = json.load(open(sys.argv[1]))
cls = jsonschema.validators.validator_for(schema)
cls.check_schema(schema)
validator = cls(schema, format_checker=cls.FORMAT_CHECKER)
print(cls.__name__)
for path in sys.argv[2:]:
    for e in validator.iter_errors(json.load(open(path))):
        print(path.rsplit("/", 1)[-1] + ": /" + "/".join(map(str, e.absolute_path)) + ": " + e.message)
"#;
    let out = Command::new(common::validator("python")).arg("-c").arg(script).arg(schema_path()).args(&paths).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "the validator failed: {stdout}{}", String::from_utf8_lossy(&out.stderr));
    let mut lines = stdout.lines().map(String::from);
    let class = lines.next().unwrap_or_default();
    (class, lines.collect())
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

/// Every `reason` of the `unchanged` entries of these documents, sorted and unique.
fn reasons(docs: &[(&str, &Value)]) -> Vec<String> {
    let mut all: Vec<String> =
        docs.iter().flat_map(|(_, d)| d["unchanged"].as_array().unwrap().iter().map(|u| u["reason"].as_str().unwrap().to_string())).collect();
    all.sort();
    all.dedup();
    all
}

#[test]
fn real_edition_and_upgrade_output_follows_the_checked_in_schema() {
    // The compiler phase's lints, the judge's verdicts, needs-review and kept sites.
    let (_tmp, lints) = common::fixture_copy("compiler-lints");
    let compiler = json(&edition_in(&lints, &["--format", "json"]));
    // The same with one lint only: the rest filtered.
    let only = json(&edition_in(&lints, &["--format", "json", "--only", "static_mut_refs"]));
    // A macro of another crate.
    let (_tmp2, foreign) = common::fixture_copy("foreign-macro");
    let foreign = json(&edition_in(&foreign.join("app"), &["--format", "json"]));
    // The demo with a file that does not parse: errors, a package held back, no compiler.
    let tmp = tempfile::tempdir().unwrap();
    demo_at(tmp.path(), "demo");
    let demo = tmp.path().join("demo");
    let lib = std::fs::read_to_string(demo.join("src/lib.rs")).unwrap();
    std::fs::write(demo.join("src/lib.rs"), format!("{lib}pub mod broken;\n")).unwrap();
    write_file(&demo, "src/broken.rs", "fn broken() {\n    let = 1;\n}\n");
    let held = json(&edition_in(&demo, &["--no-compiler", "--format", "json"]));
    // A conflict between a rule's change and a lint's.
    let conflict_dir = tmp.path().join("conflict");
    write_file(&conflict_dir, "Cargo.toml", "[package]\nname = \"conflict\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n");
    write_file(
        &conflict_dir,
        "src/lib.rs",
        "pub trait Meow {\n    fn into_future(&self) -> u32 {\n        1\n    }\n}\n\nimpl Meow for () {}\n\npub fn set() -> u32 {\n    let n = std::env::set_var(\"MEOW\", \"1\").into_future();\n    n\n}\n",
    );
    let conflict = json(&edition_in(&conflict_dir, &["--format", "json"]));
    // `--verify` taking changes back, printed after the run.
    let verify_dir = tmp.path().join("static-mut");
    write_file(&verify_dir, "Cargo.toml", "[package]\nname = \"static-mut\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n");
    write_file(
        &verify_dir,
        "src/lib.rs",
        "static mut COUNTER: u32 = 0;\n\npub fn gen() -> &'static u32 {\n    unsafe {\n        COUNTER += 1;\n        &COUNTER\n    }\n}\n",
    );
    let reverted = json(&edition_in(
        &verify_dir,
        &["--no-compiler", "--apply", "--verify", "--allow-no-vcs", "--only", "edition-manifest,keyword-gen", "--format", "json"],
    ));
    // An upgrade with a pack the crate ships (examples/mylib-*), compiler phase included.
    let up_tmp = tempfile::tempdir().unwrap();
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    for name in ["mylib-author", "mylib-user"] {
        common::copy_dir(&examples.join(name), &up_tmp.path().join(name));
    }
    let mut cmd = Command::new(BIN);
    isolate(&mut cmd, up_tmp.path()).current_dir(up_tmp.path().join("mylib-user")).env("CARGO_NET_OFFLINE", "true");
    let upgrade_out = cmd.args(["upgrade", "mylib", "--format", "json"]).output().unwrap();
    assert!(upgrade_out.status.success(), "{}", String::from_utf8_lossy(&upgrade_out.stderr));
    let upgrade = json(&upgrade_out);
    assert!(!upgrade["changes"].as_array().unwrap().is_empty(), "{upgrade:#}");

    let docs: Vec<(&str, &Value)> = vec![
        ("compiler", &compiler),
        ("only", &only),
        ("foreign", &foreign),
        ("held", &held),
        ("conflict", &conflict),
        ("reverted", &reverted),
        ("upgrade", &upgrade),
    ];
    // The documents fill the schema: every reason a site is not changed, a verdict, a
    // change of each decider kind the edition uses, an error.
    assert_eq!(reasons(&docs), ["compiler-skipped", "conflict", "filtered", "foreign-macro", "held-back", "judged-to-keep", "needs-review", "reverted"]);
    assert!(!compiler["verdicts"].as_array().unwrap().is_empty());
    assert!(held["diagnostics"].as_array().unwrap().iter().any(|d| d["level"] == "error"));
    let (class, errors) = validate(&docs);
    assert_eq!(class, "Draft202012Validator", "the schema says which draft it is");
    assert!(errors.is_empty(), "real output does not follow docs/report.schema.json:\n{}", errors.join("\n"));

    // Broken copies are rejected, each for what was broken.
    let mut bad_reason = compiler.clone();
    bad_reason["unchanged"][0]["reason"] = "forgotten".into();
    let mut no_summary = upgrade.clone();
    no_summary.as_object_mut().unwrap().remove("summary");
    let mut negative = conflict.clone();
    negative["changes"][0]["edits"][0]["range"]["start"] = (-1).into();
    let mut bad_decider = compiler.clone();
    bad_decider["verdicts"][0]["decided_by"] = serde_json::json!({"kind": "oracle"});
    let broken = [("bad_reason", &bad_reason), ("no_summary", &no_summary), ("negative", &negative), ("bad_decider", &bad_decider)];
    let (_, errors) = validate(&broken);
    for (name, _) in &broken {
        assert!(errors.iter().any(|e| e.starts_with(&format!("{name}.json: "))), "{name} was not rejected: {errors:#?}");
    }
    assert!(errors.iter().any(|e| e.starts_with("bad_reason.json: /unchanged/0/reason: 'forgotten'")), "{errors:#?}");
    assert!(errors.iter().any(|e| e.starts_with("no_summary.json: /: 'summary' is a required property")), "{errors:#?}");
}
