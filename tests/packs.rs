//! Every shipped pack passes its own examples (`cargo migrate pack test`), and the rand
//! pack migrates a small program exactly, idempotently, to code that parses.

use std::path::Path;
use std::sync::Arc;

use cargo_migrate::check::CheckOptions;
use cargo_migrate::model::Safety;
use cargo_migrate::pack::{self, CompiledPack, PackRule};
use cargo_migrate::pipeline::migrate_source;
use cargo_migrate::rules::Rule;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn every_shipped_pack_passes_its_examples() {
    for (path, _) in pack::builtin_sources() {
        let report = pack::test_pack(&root().join("migrations").join(path)).unwrap_or_else(|e| panic!("{e}"));
        assert!(report.examples > 0, "{path} has no examples");
        let failures: Vec<String> = report.failures.iter().map(|(rule, what)| format!("{path} rule `{rule}`: {what}")).collect();
        assert!(report.passed(), "{}", failures.join("\n\n"));
    }
}

#[test]
fn every_pack_file_is_built_in() {
    let mut on_disk = Vec::new();
    for dir in std::fs::read_dir(root().join("migrations")).unwrap() {
        let dir = dir.unwrap().path();
        if dir.is_dir() {
            for file in std::fs::read_dir(&dir).unwrap() {
                let file = file.unwrap().path();
                let rel = file.strip_prefix(root().join("migrations")).unwrap().to_string_lossy().replace('\\', "/");
                on_disk.push(rel);
            }
        }
    }
    on_disk.sort();
    let mut built_in: Vec<String> = pack::builtin_sources().iter().map(|(p, _)| p.to_string()).collect();
    built_in.sort();
    assert_eq!(on_disk, built_in);
    assert_eq!(pack::builtin().unwrap().len(), built_in.len());
}

fn rand_pack() -> Arc<CompiledPack> {
    pack::builtin().unwrap().into_iter().find(|p| p.krate == "rand").unwrap()
}

#[test]
fn rand_fixture_migrates_exactly_idempotently_and_parses() {
    let dir = root().join("tests/fixtures/rand-0.8");
    let before = std::fs::read_to_string(dir.join("main.rs")).unwrap();
    let expected = std::fs::read_to_string(dir.join("main.fixed.rs")).unwrap();
    let rule = PackRule::new(rand_pack());
    let opts = CheckOptions::new(vec![&rule as &dyn Rule], "2021");
    let (changes, after) = migrate_source("main.rs", &before, &opts).unwrap();
    assert_eq!(after, expected);
    let mut rules: Vec<&str> = changes.iter().map(|c| c.rule).collect();
    rules.sort();
    rules.dedup();
    assert_eq!(rules, ["rand/gen", "rand/gen-bool", "rand/gen-range", "rand/thread-rng"]);
    assert!(changes.iter().all(|c| c.safety == Safety::Safe && !c.reason.is_empty()));
    // Nothing is left to do, and the result is Rust.
    let (again, same) = migrate_source("main.rs", &after, &opts).unwrap();
    assert!(again.is_empty(), "{again:?}");
    assert_eq!(same, after);
    syn::parse_file(&after).unwrap();
}

#[test]
fn a_renamed_dependency_is_migrated_under_its_local_name() {
    let mut rule = PackRule::new(rand_pack());
    let env = pack::resolve::Env { local_names: vec!["random".into()], ..pack::resolve::Env::plain("rand") };
    rule.envs.insert(String::new(), env);
    let opts = CheckOptions::new(vec![&rule as &dyn Rule], "2021");
    let code = "use random::Rng;\nfn f() -> u8 {\n    let mut g = random::thread_rng();\n    g.gen_range(0..3)\n}\n";
    let (_, after) = migrate_source("lib.rs", code, &opts).unwrap();
    assert_eq!(after, "use random::Rng;\nfn f() -> u8 {\n    let mut g = random::rng();\n    g.random_range(0..3)\n}\n");
    // Under its real name, a renamed dependency is someone else's crate.
    let code = "use rand::Rng;\nfn f(g: &mut impl Rng) -> u8 { g.gen_range(0..3) }\n";
    let (changes, _) = migrate_source("lib.rs", code, &opts).unwrap();
    assert!(changes.is_empty());
}
