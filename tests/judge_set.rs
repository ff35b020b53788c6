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
    assert!(real >= judge_set::MIN_REAL_SITES, "{real} sites transplanted from public code in {}; at least {} are wanted", judge_set::REAL_FILE, judge_set::MIN_REAL_SITES);

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
            key: SiteKey { rule: v["rule"].as_str().unwrap().to_string(), file: v["file"].as_str().unwrap().to_string(), line: v["line"].as_u64().unwrap() as usize },
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
        .map(|(label, v)| format!("{}:{}: heuristics chose {} ({}), the label says {} — {}", label.file, label.line, v.option, v.reason, label.option, label.why))
        .collect();
    assert!(wrong.is_empty(), "{} wrong heuristic verdicts:\n{}", wrong.len(), wrong.join("\n"));
    // The heuristics do decide: a set they all leave would pass the check above trivially.
    let decided = matched.iter().filter(|(_, v)| v.decided_by == "heuristic").count();
    assert!(decided * 2 >= matched.len(), "the heuristics decided only {decided} of {} sites", matched.len());
}
