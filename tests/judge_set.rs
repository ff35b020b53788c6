//! Keeps the judge's labeled set (`benches/judge-set`) honest, and cheap to check: the set
//! has at least [`judge_set::MIN_SITES`] labeled sites, each label has a site and each site
//! a label, and every site the heuristics decide is decided as labeled — a heuristic that
//! is unsure must leave the site (to the model, or the conservative fallback) rather than
//! guess. Runs the real binary with `--llm none`: no model is involved.
//! `cargo bench --bench judge_eval` measures the same set with a model.

use std::process::Command;

use serde_json::Value;

#[path = "../benches/support/judge_set.rs"]
mod judge_set;

use judge_set::SiteKey;

/// A verdict of the binary's JSON output.
#[derive(Debug)]
struct Verdict {
    key: SiteKey,
    option: String,
    decided_by: String,
    reason: String,
}

#[test]
fn every_heuristic_verdict_on_the_labeled_set_is_the_labeled_one() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("judge-set");
    judge_set::copy_set(&root).unwrap();
    let labels = judge_set::labels(&root).unwrap_or_else(|e| panic!("malformed labels:\n{e}"));
    assert!(labels.len() >= judge_set::MIN_SITES, "the set has {} labeled sites; it must keep at least {}", labels.len(), judge_set::MIN_SITES);
    let real = labels.iter().filter(|l| l.file == judge_set::REAL_FILE).count();
    assert!(
        real >= judge_set::MIN_REAL_SITES,
        "{real} sites transplanted from public code in {}; at least {} are wanted",
        judge_set::REAL_FILE,
        judge_set::MIN_REAL_SITES
    );

    let out = Command::new(env!("CARGO_BIN_EXE_cargo-migrate"))
        .args(["edition", "--color", "never", "--format", "json", "--llm", "none", "--manifest-path"])
        .arg(root.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", root.join("target"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let verdicts: Vec<Verdict> = doc["verdicts"]
        .as_array()
        .expect("verdicts")
        .iter()
        .map(|v| Verdict {
            key: SiteKey {
                rule: v["rule"].as_str().unwrap().to_string(),
                file: v["file"].as_str().unwrap().to_string(),
                line: v["line"].as_u64().unwrap() as usize,
            },
            option: v["option"].as_str().unwrap().to_string(),
            decided_by: v["decided_by"]["kind"].as_str().unwrap().to_string(),
            reason: v["reason"].as_str().unwrap().to_string(),
        })
        .collect();
    let matched = judge_set::match_labels(&labels, verdicts, |v| v.key.clone()).unwrap_or_else(|e| panic!("labels and sites do not match:\n{e}"));
    assert_eq!(matched.len(), labels.len());

    let wrong: Vec<String> = matched
        .iter()
        .filter(|(label, v)| v.decided_by == "heuristic" && v.option != label.option)
        .map(|(label, v)| {
            format!("{}:{}: heuristics chose {} ({}), the label says {} — {}", label.file, label.line, v.option, v.reason, label.option, label.why)
        })
        .collect();
    assert!(wrong.is_empty(), "{} wrong heuristic verdicts:\n{}", wrong.len(), wrong.join("\n"));
    // The heuristics do decide: a set they all leave would pass the check above trivially.
    let decided = matched.iter().filter(|(_, v)| v.decided_by == "heuristic").count();
    assert!(decided * 2 >= matched.len(), "the heuristics decided only {decided} of {} sites", matched.len());
}

/// The label reader and the matcher fail loudly on what would make the measurement lie: a
/// malformed label, a site without a label, a label without a site, a label of the other
/// lint's options, two sites on one line.
#[test]
fn malformed_labels_and_unmatched_sites_are_errors() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(tmp.path().join("src/inner")).unwrap();
    std::fs::write(
        tmp.path().join("src/lib.rs"),
        "// expect: keep-if-let — else is a constant\nfn a() {}\n// expect: accept — tail guards\nfn b() {}\n// expect: accept - wrong dash\n",
    )
    .unwrap();
    std::fs::write(
        tmp.path().join("src/inner/m.rs"),
        "// expect: keep-it — unknown\nfn c() {}\n// expect: review — \nfn d() {}\n// expect: review — last line",
    )
    .unwrap();
    let err = judge_set::labels(tmp.path()).unwrap_err();
    assert!(err.contains("src/lib.rs:5: a label is"), "{err}");
    assert!(err.contains("src/inner/m.rs:1: unknown option `keep-it`"), "{err}");
    assert!(err.contains("src/inner/m.rs:3: a label is"), "a label without a why: {err}");
    assert!(err.contains("src/inner/m.rs:5: a label on the last line labels nothing"), "{err}");

    std::fs::write(tmp.path().join("src/lib.rs"), "// expect: keep-if-let — else is a constant\nfn a() {}\n// expect: accept — tail guards\nfn b() {}\n")
        .unwrap();
    std::fs::remove_dir_all(tmp.path().join("src/inner")).unwrap();
    let labels = judge_set::labels(tmp.path()).unwrap();
    assert_eq!(labels.iter().map(|l| (l.line, l.option.as_str())).collect::<Vec<_>>(), [(2, "keep-if-let"), (4, "accept")]);
    let site = |rule: &str, line| SiteKey { rule: rule.into(), file: "src/lib.rs".into(), line };
    let ok = judge_set::match_labels(&labels, vec![site("if_let_rescope", 2), site("tail_expr_drop_order", 4)], |k| k.clone()).unwrap();
    assert_eq!(ok.len(), 2);
    let err = judge_set::match_labels(&labels, vec![site("tail_expr_drop_order", 2), site("if_let_rescope", 7), site("if_let_rescope", 7)], |k| k.clone())
        .unwrap_err();
    assert!(err.contains("src/lib.rs:2: labeled `keep-if-let`, an option of if_let_rescope, but the site is a tail_expr_drop_order site"), "{err}");
    assert!(err.contains("src/lib.rs:7: a if_let_rescope site without a label"), "{err}");
    assert!(err.contains("src/lib.rs:7: two sites on one line"), "{err}");
    assert!(err.contains("src/lib.rs:4: labeled `accept` but the compiler reports no site on this line"), "{err}");
}
