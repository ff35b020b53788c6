//! Every shipped pack passes its own examples (`cargo migrate pack test`), and the rand
//! pack migrates a small program exactly, idempotently, to code that parses.

use std::path::Path;
use std::sync::Arc;

use cargo_migrate::core::model::Safety;
use cargo_migrate::engine::pack_examples;
use cargo_migrate::engine::pipeline::migrate_source;
use cargo_migrate::engine::walk::CheckOptions;
use cargo_migrate::pack::{self, CompiledPack, PackRule};
use cargo_migrate::rules::Rule;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn every_shipped_pack_passes_its_examples() {
    for (path, _) in pack::builtin_sources() {
        let report = pack_examples::test_pack(&root().join("migrations").join(path)).unwrap_or_else(|e| panic!("{e}"));
        assert!(report.examples > 0, "{path} has no examples");
        let failures: Vec<String> = report.failures.iter().map(|(rule, what)| format!("{path} rule `{rule}`: {what}")).collect();
        assert!(report.passed(), "{}", failures.join("\n\n"));
    }
}

/// The built-in packs' templates name only their own crate's paths, the user's code and
/// std's prelude: no rule of theirs is needs-review for what its replacement introduces,
/// and `pack test` has no such line for them (nor for the shipped example pack).
#[test]
fn builtin_packs_introduce_nothing_beyond_their_crates() {
    let shipped = CompiledPack::load(&root().join("examples/mylib-author/migrations/mylib/1-2.toml")).unwrap();
    let mut introducing: Vec<String> = Vec::new();
    for p in pack::builtin().unwrap().iter().map(|p| &**p).chain([&shipped]) {
        for r in p.rules.iter().filter(|r| !r.introduces.is_empty()) {
            introducing.push(format!("{}: {:?}", r.full_id, r.introduces));
        }
    }
    assert_eq!(introducing, Vec::<String>::new());
    for (path, _) in pack::builtin_sources() {
        assert_eq!(pack_examples::test_pack(&root().join("migrations").join(path)).unwrap().notes, Vec::<String>::new(), "{path}");
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
    let opts = CheckOptions::new(vec![&rule as &dyn Rule], cargo_migrate::core::edition::Edition::E2021);
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
    let opts = CheckOptions::new(vec![&rule as &dyn Rule], cargo_migrate::core::edition::Edition::E2021);
    let code = "use random::Rng;\nfn f() -> u8 {\n    let mut g = random::thread_rng();\n    g.gen_range(0..3)\n}\n";
    let (_, after) = migrate_source("lib.rs", code, &opts).unwrap();
    assert_eq!(after, "use random::Rng;\nfn f() -> u8 {\n    let mut g = random::rng();\n    g.random_range(0..3)\n}\n");
    // Under its real name, a renamed dependency is someone else's crate.
    let code = "use rand::Rng;\nfn f(g: &mut impl Rng) -> u8 { g.gen_range(0..3) }\n";
    let (changes, _) = migrate_source("lib.rs", code, &opts).unwrap();
    assert!(changes.is_empty());
}

fn nom_pack() -> Arc<CompiledPack> {
    pack::builtin().unwrap().into_iter().find(|p| p.krate == "nom").unwrap()
}

fn migrate_with(pack: Arc<CompiledPack>, code: &str) -> String {
    let rule = PackRule::new(pack);
    let opts = CheckOptions::new(vec![&rule as &dyn Rule], cargo_migrate::core::edition::Edition::E2021);
    migrate_source("lib.rs", code, &opts).unwrap().1
}

/// A `let map = ..` in one function does not hide nom's `map` in the others; where a
/// binding of that name is in scope (`let`, parameter, `if let`, closure), the call is
/// the binding's and is left alone.
#[test]
fn a_local_binding_shadows_an_import_only_where_it_is_in_scope() {
    let code = "use nom::character::complete::digit1;
use nom::combinator::map;
use nom::IResult;
fn f(i: &str) -> IResult<&str, usize> {
    map(digit1, |s: &str| s.len())(i)
}
fn g(map: fn(u8, u8) -> fn(&str) -> usize) -> usize {
    map(1, 2)(\"x\")
}
fn h(m: Option<fn(u8, u8) -> fn(&str) -> usize>) -> usize {
    if let Some(map) = m {
        return map(1, 2)(\"x\");
    }
    let map = |_: u8, _: u8| |s: &str| s.len();
    map(1, 2)(\"y\")
}
";
    let after = migrate_with(nom_pack(), code);
    let expected = code.replace("use nom::character", "use nom::Parser;\nuse nom::character").replace("s.len())(i)", "s.len()).parse(i)");
    assert_eq!(after, expected);
    // Resolution without the matcher's scopes stays conservative: any binding of the
    // name anywhere in the file shadows it.
    let file: syn::File = syn::parse_str(code).unwrap();
    let tokens: proc_macro2::TokenStream = code.parse().unwrap();
    let facts = pack::resolve::Facts::of(&file, &tokens, &pack::resolve::Env::plain("nom"), &Default::default(), &|s| s.byte_range());
    assert_eq!(facts.resolve(&["map".to_string()], false), None);
    let scoped = facts.resolve_in_scope(&["map".to_string()], false, false).unwrap();
    assert_eq!(scoped.full, ["nom", "combinator", "map"]);
}

/// Two imports that move to the same item become one `use` in the same scope. Where the
/// scopes cannot be told apart (two modules), the second is written out in full rather
/// than risk importing one name twice.
#[test]
fn two_imports_moving_to_one_item_are_merged_only_in_the_same_scope() {
    let code = "use nom::{InputIter, InputLength};\nfn f<I: InputIter + InputLength>(i: I) -> usize { i.input_len() }\n";
    assert_eq!(migrate_with(nom_pack(), code), "use nom::Input;\nfn f<I: Input + Input>(i: I) -> usize { i.input_len() }\n");
    let code = "use nom::InputLength;\nuse nom::InputTake;\nfn f<I: InputTake + InputLength>(i: I) -> I { i.take(i.input_len()) }\n";
    assert_eq!(migrate_with(nom_pack(), code), "use nom::Input;\nfn f<I: Input + Input>(i: I) -> I { i.take(i.input_len()) }\n");
    let code = "mod a {\n    use nom::InputLength;\n    pub fn f<I: InputLength>(i: I) -> usize { i.input_len() }\n}\nmod b {\n    use nom::InputTake;\n    pub fn g<I: InputTake>(i: I) -> I { i.take(1) }\n}\n";
    assert_eq!(
        migrate_with(nom_pack(), code),
        "mod a {\n    use nom::Input;\n    pub fn f<I: Input>(i: I) -> usize { i.input_len() }\n}\nmod b {\n    pub fn g<I: nom::Input>(i: I) -> I { i.take(1) }\n}\n"
    );
}

/// A pattern's path matches however the code names it: an aliased import, an aliased or
/// plain module import, a renamed dependency; the rewrite keeps the name as written.
#[test]
fn aliased_imports_and_module_paths_are_matched_and_kept() {
    let code = "use nom::character::complete as cc;\nuse nom::combinator::opt as maybe;\nuse nom::sequence;\nfn f(i: &str) -> nom::IResult<&str, Option<&str>> {\n    maybe(cc::digit1)(i)\n}\nfn g(i: &str) -> nom::IResult<&str, &str> {\n    sequence::preceded(cc::space0, cc::digit1)(i)\n}\n";
    let expected = code.replace("use nom::character", "use nom::Parser;\nuse nom::character").replace(")(i)", ").parse(i)");
    assert_eq!(migrate_with(nom_pack(), code), expected);
    let mut rule = PackRule::new(nom_pack());
    let env = pack::resolve::Env { local_names: vec!["nom7".into()], ..pack::resolve::Env::plain("nom") };
    rule.envs.insert(String::new(), env);
    let opts = CheckOptions::new(vec![&rule as &dyn Rule], cargo_migrate::core::edition::Edition::E2021);
    let code = "fn f(i: &str) -> nom7::IResult<&str, Vec<&str>> {\n    nom7::multi::many0(nom7::character::complete::digit1)(i)\n}\n";
    let (_, after) = migrate_source("lib.rs", code, &opts).unwrap();
    assert_eq!(
        after,
        "use nom7::Parser;\nfn f(i: &str) -> nom7::IResult<&str, Vec<&str>> {\n    nom7::multi::many0(nom7::character::complete::digit1).parse(i)\n}\n"
    );
}
