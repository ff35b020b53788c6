//! [`PackRule`]: a compiled pack run as a [`crate::rules::Rule`], so the pipeline runs
//! packs exactly like built-in rules. Choices whose options all replace the matched code
//! become judge sites.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::compile::{Action, CompiledPack};
use super::resolve::Env;
use super::run::{run_pack, CompilerSite, PackChoice, RunCx};
use crate::core::model::Change;
use crate::rules::{Declared, Findings, Rule, RuleMeta, SourceCx};

/// A pack run as a rule of the pipeline.
pub struct PackRule {
    /// The pack.
    pub pack: Arc<CompiledPack>,
    /// Per package name: how it names the crate (renamed dependencies) and what
    /// methods it defines itself. Packages not listed use the crate's own name.
    pub envs: BTreeMap<String, Env>,
    /// Per file (display path): where the compiler resolved a call to the crate's item.
    /// Empty for the syntactic pass; the compiler phase of an upgrade fills it.
    pub compiler_sites: BTreeMap<String, Vec<CompilerSite>>,
    /// Whether rules that apply at a compiler error apply wherever they match: for a
    /// pack's own examples, which no compiler checks.
    pub assume_errors: bool,
}

impl PackRule {
    /// Runs every rule of `pack`, for packages that depend on the crate under its own name.
    pub fn new(pack: Arc<CompiledPack>) -> PackRule {
        PackRule { pack, envs: BTreeMap::new(), compiler_sites: BTreeMap::new(), assume_errors: false }
    }

    fn env(&self, package: &str) -> Env {
        self.envs.get(package).cloned().unwrap_or_else(|| Env::plain(&self.pack.krate))
    }

    /// The judge's site for a choice: the rule's message and question, and each option's
    /// edits.
    fn site(&self, cx: &SourceCx<'_>, choice: &PackChoice) -> crate::core::model::Site {
        let rule = &self.pack.rules[choice.rule];
        let start = choice.range.start;
        let (question, is_choice) = match &rule.action {
            Action::Choice { question, .. } => (format!("{} — {question}", rule.message), true),
            Action::Replace { .. } | Action::Derive { .. } | Action::Literal(_) | Action::Note(_) => (rule.message.clone(), false),
        };
        // A receiver whose type the build's features decide: the question says which cfg,
        // and why the code is split by it.
        let (question, evidence) = match &choice.cfg {
            Some(split) => (
                format!(
                    "{question}{} Here {}: the call is split by `#[cfg({})]` so that the rewrite applies where the receiver has that type and every other configuration keeps the call as written.",
                    if question.ends_with(['.', '?', '!']) { "" } else { "." },
                    split.why,
                    split.predicate
                ),
                crate::core::model::Evidence::CfgDependent {
                    predicate: split.predicate.clone(),
                    features: crate::syntax::cfg::features_in(&split.predicate),
                    why: split.why.clone(),
                    choice: is_choice,
                },
            ),
            None => (question, crate::core::model::Evidence::None),
        };
        crate::core::model::Site {
            rule: rule.full_id,
            file: cx.file.display.clone(),
            line: cx.lines.line(start),
            cfg: cx.file.cfg.and(cx.cfg.status_at(start)),
            question,
            code: cx.text()[choice.range.clone()].to_string(),
            context: Vec::new(),
            options: choice
                .options
                .iter()
                .map(|(id, when, edits)| crate::core::model::SiteOption { id: id.clone(), when: when.clone(), edits: edits.clone() })
                .collect(),
            conservative: choice.conservative,
            evidence,
        }
    }
}

impl PackRule {
    /// The judge's site for a `pub use` of items a shim stands in for: this crate's API,
    /// kept through the shim (conservative) or dropped (breaking for its users).
    fn re_export_site(&self, cx: &SourceCx<'_>, r: &super::shim::ReExport) -> crate::core::model::Site {
        let shim = &self.pack.shims[r.shim];
        let file = &self.pack.file;
        let items = r.items.iter().map(|i| format!("`{i}`")).collect::<Vec<_>>().join(", ");
        let question = format!(
            "{} — this crate re-exports {items} (`pub use`), which {} {} removed: they are its public API. Keep them through the pack's shim, or drop them?",
            shim.message, file.krate, file.to
        );
        let keep = format!(
            "keep {items} as this crate's API: adds the pack's shim `{}` as `mod {}` {} and re-exports them from it; nothing changes for this crate's users",
            shim.id, shim.module, r.place
        );
        let drop = format!(
            "drop {items} from the `pub use`: a breaking change for this crate's users, who must move to {} {}'s API themselves (for a new major release of this crate)",
            file.krate, file.to
        );
        crate::core::model::Site {
            rule: shim.full_id,
            file: cx.file.display.clone(),
            line: cx.lines.line(r.range.start),
            cfg: cx.file.cfg.and(cx.cfg.status_at(r.range.start)),
            question,
            code: r.code.clone(),
            context: Vec::new(),
            options: vec![
                crate::core::model::SiteOption { id: "keep-api".into(), when: keep, edits: r.keep.clone() },
                crate::core::model::SiteOption { id: "drop-re-export".into(), when: drop, edits: r.drop.clone() },
            ],
            conservative: 0,
            evidence: crate::core::model::Evidence::ReExport { items: r.items.clone() },
        }
    }
}

impl Declared for PackRule {
    fn meta(&self) -> &'static RuleMeta {
        self.pack.meta
    }
}

impl Rule for PackRule {
    fn needs_names(&self) -> Option<Vec<String>> {
        // The crate as each member names it, and the pack's crate name (`::rand`).
        let mut names: Vec<String> = self.envs.values().flat_map(|e| e.local_names.iter().cloned()).collect();
        names.push(self.pack.krate.replace('-', "_"));
        names.extend(self.pack.file.companions.iter().map(|c| c.krate.replace('-', "_")));
        names.sort();
        names.dedup();
        Some(names)
    }

    fn check_source(&self, cx: &SourceCx<'_>, out: &mut Findings) {
        let env = self.env(&cx.file.package);
        let range = |s: proc_macro2::Span| cx.range(s);
        let sites = self.compiler_sites.get(&cx.file.display).map_or(&[][..], Vec::as_slice);
        let run = run_pack(&RunCx { sites, assume_errors: self.assume_errors, ..RunCx::new(&self.pack, &env, cx.parsed, cx.text(), &range) });
        for (rule, safety, reason, edits) in run.changes {
            // A choice whose options replace the matched code goes to the judge.
            if let Some(choice) = run.choices.iter().find(|c| c.rule == rule && c.conservative_edits == edits) {
                out.sites.push(self.site(cx, choice));
                continue;
            }
            let mut change: Change = cx.change(self.pack.meta, safety, reason, edits);
            change.rule = self.pack.rules[rule].full_id;
            out.changes.push(change);
        }
        for (shim, reason, edits) in run.shims.changes {
            let mut change: Change = cx.change(self.pack.meta, crate::core::model::Safety::NeedsReview, reason, edits);
            change.rule = self.pack.shims[shim].full_id;
            out.changes.push(change);
        }
        for re_export in &run.shims.re_exports {
            out.sites.push(self.re_export_site(cx, re_export));
        }
        for (shim, offset, message) in run.shims.notes {
            let mut d = cx.warning(self.pack.meta, offset, message);
            d.rule = Some(self.pack.shims[shim].full_id);
            out.diagnostics.push(d);
        }
        for (rule, offset, message) in run.notes {
            let mut d = cx.warning(self.pack.meta, offset, message);
            d.rule = Some(rule.map_or(self.pack.meta.id, |r| self.pack.rules[r].full_id));
            out.diagnostics.push(d);
        }
    }
}

#[cfg(test)]
mod tests {
    //! End-to-end tests of packs: compiled from TOML, run as rules through the pipeline.

    use std::ops::Range;

    use super::*;
    use crate::core::model::{Diagnostic, Edit, Safety};
    use crate::pack::compile::split_path;

    /// Runs `pack` (TOML text) on `code`: the new text, the changes, the diagnostics.
    /// `lib.rs` holding `code`.
    fn lib_rs(code: &str) -> crate::core::text::SourceFile {
        crate::core::text::SourceFile {
            path: "lib.rs".into(),
            display: "lib.rs".into(),
            kind: crate::core::text::FileKind::Rust,
            package: String::new(),
            cfg: crate::core::model::CfgStatus::Active,
            text: code.to_string(),
        }
    }

    fn run(pack: &str, code: &str) -> (String, Vec<Change>, Vec<Diagnostic>) {
        let pack = Arc::new(CompiledPack::from_text(pack, "test.toml").unwrap_or_else(|e| panic!("{e}")));
        let rule = PackRule::new(pack);
        let opts = crate::engine::walk::CheckOptions::new(vec![&rule as &dyn Rule], crate::core::edition::Edition::E2021);
        let file = lib_rs(code);
        let (findings, _) = crate::engine::walk::check_rust_text(&file, &crate::cargo::discover::host_cfg(), &opts, true).unwrap();
        let (changes, new) = crate::engine::pipeline::migrate_source("lib.rs", code, &opts).unwrap();
        (new, changes, findings.diagnostics)
    }

    const RAND: &str = include_str!("../../migrations/rand/0.8-0.9.toml");

    fn check(code: &str, expected: &str) {
        let (new, _, _) = run(RAND, code);
        assert_eq!(new, expected);
        let (again, changes, _) = run(RAND, &new);
        assert!(changes.is_empty() && again == new, "not idempotent: {again}");
    }

    #[test]
    fn a_crates_own_methods_and_functions_are_never_rewritten() {
        // Its own `gen_range` / `gen_bool` on its own type, with `Rng` in scope.
        let code = "use rand::Rng;\nstruct Die;\nimpl Die {\n    fn gen_range(&self, n: u8) -> u8 { n }\n    fn gen_bool(&self) -> bool { true }\n}\nfn f(d: &Die) -> u8 { if d.gen_bool() { d.gen_range(6) } else { 0 } }\nfn g() -> u8 { let d = Die; d.gen_range(6) }\nimpl Die { fn h(&self) -> u8 { self.gen_range(2) } }\n";
        check(code, code);
        // Its own `thread_rng` function, next to rand's prelude.
        let code = "use rand::prelude::*;\nfn thread_rng() -> u8 { 4 }\nfn f() -> u8 { thread_rng() }\n";
        check(code, code);
        // Its own trait with a `gen_bool`, the receiver's type unknown: left alone, and said.
        let code = "use rand::Rng;\ntrait Coin { fn gen_bool(&self, p: f64) -> bool; }\nfn f(c: &dyn Coin) -> bool { c.gen_bool(0.5) }\nfn g(x: &Thing) -> bool { x.gen_bool(0.5) }\n";
        let (new, _, diags) = run(RAND, code);
        assert_eq!(new, code);
        assert!(diags.iter().any(|d| d.message.contains("compiler phase") && d.rule == Some("rand/gen-bool")), "{diags:?}");
        // Without the trait in scope, a method of that name is not rand's.
        let code = "fn f(r: &mut R) -> u8 { r.gen_range(0..3) }\n";
        check(code, code);
    }

    #[test]
    fn the_trait_evidence_and_rand_receivers_are_rewritten() {
        check(
            "use rand::Rng;\ntrait Coin { fn gen_bool(&self, p: f64) -> bool; }\nfn f<R: Rng>(r: &mut R) -> bool { r.gen_bool(0.5) }\n",
            "use rand::Rng;\ntrait Coin { fn gen_bool(&self, p: f64) -> bool; }\nfn f<R: Rng>(r: &mut R) -> bool { r.random_bool(0.5) }\n",
        );
    }

    #[test]
    fn imports_follow_renames_without_leaving_unused_ones() {
        // Renamed in a group, with the new name free.
        check("use rand::{thread_rng, Rng};\nfn f() -> u8 { thread_rng().gen() }\n", "use rand::{rng, Rng};\nfn f() -> u8 { rng().random() }\n");
        // The new name is a local: sites written in full, the leaf removed.
        check("use rand::thread_rng;\nfn f() { let rng = thread_rng(); drop(rng); }\n", "fn f() { let rng = rand::rng(); drop(rng); }\n");
        // Nested groups, `self`, aliases.
        check(
            "use rand::{distributions::{self, Distribution, Standard as S}, Rng};\nfn f(r: &mut impl Rng) -> (u8, u8) { (S.sample(r), r.sample(distributions::Standard)) }\n",
            "use rand::{distr::{self, Distribution, StandardUniform as S}, Rng};\nfn f(r: &mut impl Rng) -> (u8, u8) { (S.sample(r), r.sample(distr::StandardUniform)) }\n",
        );
        // `extern crate .. as`.
        check("extern crate rand as r;\nfn f() -> u8 { r::thread_rng().gen() }\n", "extern crate rand as r;\nfn f() -> u8 { r::rng().gen() }\n");
        // A name the rules cannot see everywhere keeps its old name as an alias.
        check(
            "use rand::thread_rng;\nfn f() { let _ = thread_rng(); let _ = dsl!(thread_rng => 1); }\n",
            "use rand::rng as thread_rng;\nfn f() { let _ = thread_rng(); let _ = dsl!(thread_rng => 1); }\n",
        );
    }

    #[test]
    fn a_sibling_written_after_the_head_keeps_the_heads_import() {
        let pack = "crate = \"t\"\nfrom = \"1\"\nto = \"1.1\"\nsummary = \"s\"\n\n[[rule]]\nid = \"a\"\nmessage = \"m\"\nmatch = \"t::Time::hms($..a)\"\nreplace = \"t::Time::hms_opt($..a).unwrap()\"\n";
        // `Time` is used only in the rewritten call: its import stays.
        let (new, _, _) = run(pack, "use t::Time;\nfn f() { let _ = Time::hms(1, 2, 3); }\n");
        assert_eq!(new, "use t::Time;\nfn f() { let _ = Time::hms_opt(1, 2, 3).unwrap(); }\n");
        // Imported by its own name, the function goes and its sibling is imported.
        let (new, _, _) = run(pack, "use t::Time::hms;\nfn f() { let _ = hms(1, 2, 3); }\n");
        assert_eq!(new, "use t::Time::hms_opt;\nfn f() { let _ = hms_opt(1, 2, 3).unwrap(); }\n");
    }

    #[test]
    fn macro_arguments_are_matched() {
        check(
            "use rand::Rng;\nfn f(r: &mut impl Rng) { println!(\"{}\", r.gen_range(0..3)); assert!(r.gen_bool(1.0)); }\n",
            "use rand::Rng;\nfn f(r: &mut impl Rng) { println!(\"{}\", r.random_range(0..3)); assert!(r.random_bool(1.0)); }\n",
        );
    }

    #[test]
    fn choice_rules_go_to_the_judge_and_fall_back_to_the_conservative_option() {
        let (new, changes, _) = run(RAND, "use rand::Rng;\nfn f(r: &mut impl Rng) -> f32 { r.gen_range(0.0..1.0) }\n");
        assert_eq!(new, "use rand::Rng;\nfn f(r: &mut impl Rng) -> f32 { loop { let x = r.random_range(0.0..1.0); if x < 1.0 { break x; } } }\n");
        let c = &changes[0];
        assert_eq!((c.rule, c.safety), ("rand/gen-range-float", Safety::NeedsReview));
        assert!(c.reason.contains("Can this code accept the upper bound") && c.reason.contains("`exclude-high`"), "{}", c.reason);
        assert!(c.reason.contains("no model was asked"), "without a model the judge keeps today's behaviour: {}", c.reason);
    }

    /// A model that always picks one option id, giving one reason (the second field).
    pub(super) struct Picks(pub(super) &'static str, pub(super) &'static str);

    impl crate::judge::llm::Model for Picks {
        fn name(&self) -> String {
            "picks".into()
        }
        fn ask(&self, q: &crate::judge::llm::Question) -> Result<crate::judge::llm::Answer, crate::judge::llm::LlmError> {
            assert!(q.option_ids.iter().any(|o| o == self.0), "{:?}", q.option_ids);
            Ok(crate::judge::llm::Answer { option: self.0.into(), reason: self.1.into() })
        }
    }

    #[test]
    fn a_choice_is_a_judge_site_and_a_model_may_pick_any_option() {
        let code = "use rand::Rng;\nfn f(r: &mut impl Rng) -> f32 { r.gen_range(0.0..1.0) }\n";
        let pack = Arc::new(CompiledPack::from_text(RAND, "rand.toml").unwrap());
        let rule = PackRule::new(pack);
        let opts = crate::engine::walk::CheckOptions::new(vec![&rule as &dyn Rule], crate::core::edition::Edition::E2021);
        let file = lib_rs(code);
        let (findings, _) = crate::engine::walk::check_rust_text(&file, &crate::cargo::discover::host_cfg(), &opts, true).unwrap();
        assert_eq!(findings.sites.len(), 1);
        let site = &findings.sites[0];
        assert_eq!(site.rule, "rand/gen-range-float");
        assert_eq!(site.options.iter().map(|o| o.id.as_str()).collect::<Vec<_>>(), ["exclude-high", "allow-high"]);
        let files = BTreeMap::from([("lib.rs".to_string(), file.clone())]);
        let judged = crate::judge::judge(findings.sites, &files, Some(&Picks("allow-high", "the bound is fine here")), None);
        let change = &judged.changes[0];
        assert_eq!((change.safety, &change.decided_by), (Safety::Judged, &crate::core::model::Decider::Llm("picks".into())));
        let new = crate::core::plan::apply_edits(code, &change.edits).unwrap();
        assert_eq!(new, "use rand::Rng;\nfn f(r: &mut impl Rng) -> f32 { r.random_range(0.0..1.0) }\n");
    }

    #[test]
    fn a_choice_whose_options_need_the_same_import_goes_to_the_judge_and_the_import_stays() {
        let code = "fn f(s: &str) -> Vec<u8> {\n    base64::decode(s).unwrap()\n}\n";
        let pack = Arc::new(CompiledPack::from_text(include_str!("../../migrations/base64/0.13-0.22.toml"), "base64.toml").unwrap());
        let rule = PackRule::new(pack);
        let opts = crate::engine::walk::CheckOptions::new(vec![&rule as &dyn Rule], crate::core::edition::Edition::E2021);
        let file = lib_rs(code);
        let (findings, _) = crate::engine::walk::check_rust_text(&file, &crate::cargo::discover::host_cfg(), &opts, true).unwrap();
        assert_eq!(findings.sites.len(), 1, "{:?}", findings.changes);
        assert_eq!(findings.sites[0].options.iter().map(|o| o.id.as_str()).collect::<Vec<_>>(), ["lenient", "strict"]);
        // The import is a change of its own, whichever option the judge takes.
        assert_eq!(findings.changes.len(), 1, "{:?}", findings.changes);
        assert!(findings.changes[0].reason.starts_with("the import every option of `decode` needs"), "{}", findings.changes[0].reason);
        let files = BTreeMap::from([("lib.rs".to_string(), file.clone())]);
        let judged = crate::judge::judge(findings.sites, &files, Some(&Picks("strict", "the bound is fine here")), None);
        let mut edits = findings.changes[0].edits.clone();
        edits.extend(judged.changes[0].edits.clone());
        edits.sort();
        let new = crate::core::plan::apply_edits(code, &edits).unwrap();
        assert_eq!(new, "use base64::Engine;\nfn f(s: &str) -> Vec<u8> {\n    base64::engine::general_purpose::STANDARD.decode(s).unwrap()\n}\n");
    }

    const INDEXMAP: &str = r#"
crate = "indexmap"
from = "1"
to = "2"
summary = "indexmap 1 → 2"

[[rule]]
id = "remove"
message = "`IndexMap::remove` is deprecated: it is `swap_remove`, which moves the last entry into the hole"
receiver_type = "indexmap::IndexMap"
match = "$m.remove($k)"
question = "Does the order of the remaining entries matter?"

[[rule.options]]
id = "swap"
replace = "$m.swap_remove($k)"
when = "order does not matter (what `remove` did in 1.x)"
conservative = true

[[rule.options]]
id = "shift"
replace = "$m.shift_remove($k)"
when = "the remaining entries must keep their order (O(n))"
"#;

    #[test]
    fn inherent_method_rules_need_type_evidence() {
        let code = "use indexmap::IndexMap;\nstruct S { m: IndexMap<u8, u8> }\nfn f(a: &mut IndexMap<u8, u8>, h: &mut std::collections::HashMap<u8, u8>, s: &mut S) {\n    let mut b = IndexMap::new();\n    b.insert(1, 1);\n    a.remove(&1);\n    b.remove(&1);\n    s.m.remove(&1);\n    h.remove(&1);\n    let mut x = make();\n    x.remove(&1);\n}\n";
        let (new, changes, diags) = run(INDEXMAP, code);
        assert_eq!(new.matches("swap_remove").count(), 3, "{new}");
        assert!(new.contains("h.remove(&1)") && new.contains("x.remove(&1)"));
        assert!(changes.iter().all(|c| c.safety == Safety::NeedsReview));
        assert_eq!(diags.iter().filter(|d| d.message.contains("compiler phase must decide")).count(), 1, "{diags:?}");
    }

    /// Runs `pack` on `code` with compiler sites at each occurrence of `at` (the primary
    /// span of a method's name), naming `item`.
    fn run_at(pack: &str, code: &str, at: &str, item: &str) -> (String, Vec<Diagnostic>) {
        let pack = Arc::new(CompiledPack::from_text(pack, "test.toml").unwrap_or_else(|e| panic!("{e}")));
        let mut rule = PackRule::new(pack);
        let item: Vec<String> = if item.is_empty() { Vec::new() } else { split_path(item) };
        let sites = code.match_indices(at).map(|(i, _)| CompilerSite { range: i..i + at.len(), item: item.clone(), code: None, rule: None }).collect();
        rule.compiler_sites.insert("lib.rs".into(), sites);
        let opts = crate::engine::walk::CheckOptions::new(vec![&rule as &dyn Rule], crate::core::edition::Edition::E2021);
        let file = lib_rs(code);
        let (findings, _) = crate::engine::walk::check_rust_text(&file, &crate::cargo::discover::host_cfg(), &opts, true).unwrap();
        let (_, new) = crate::engine::pipeline::migrate_source("lib.rs", code, &opts).unwrap();
        (new, findings.diagnostics)
    }

    #[test]
    fn compiler_sites_settle_what_syntax_cannot() {
        // The receiver's type is not evident (the file does not even name the crate): left
        // to the compiler, which names IndexMap.
        let code = "fn f() {\n    let mut x = make();\n    x.remove(&1);\n}\n";
        let (new, _, _) = run(INDEXMAP, code);
        assert_eq!(new, code);
        let (new, diags) = run_at(INDEXMAP, code, "remove", "indexmap::IndexMap::remove");
        assert_eq!(new, "fn f() {\n    let mut x = make();\n    x.swap_remove(&1);\n}\n");
        assert!(diags.is_empty(), "{diags:?}");
        // A site naming another crate's item, or another method, is not trusted.
        let (new, _) = run_at(INDEXMAP, code, "remove", "std::collections::HashMap::remove");
        assert_eq!(new, code);
        let (new, _) = run_at(INDEXMAP, code, "x", "indexmap::IndexMap::remove");
        assert_eq!(new, code);
        // A trait method whose trait the file does not import (it came through a
        // re-export the resolver cannot follow): the compiler says it is rand's.
        let code = "use crate::prelude::*;\nfn f(r: &mut Thing) -> u8 { r.gen_range(0..3) }\n";
        let (new, _, _) = run(RAND, code);
        assert_eq!(new, code);
        let (new, _) = run_at(RAND, code, "gen_range", "rand::Rng::gen_range");
        assert_eq!(new, "use crate::prelude::*;\nfn f(r: &mut Thing) -> u8 { r.random_range(0..3) }\n");
        // The crate's own method of that name: the compiler names the crate's own type.
        let code = "use rand::Rng;\nstruct Die;\nimpl Die { fn gen_range(&self, n: u8) -> u8 { n } }\nfn f(d: &Die) -> u8 { d.gen_range(6) }\n";
        let (new, _) = run_at(RAND, code, "gen_range(6)", "");
        assert_eq!(new, code);
        let (new, _) = run_at(RAND, code, "gen_range", "mycrate::Die::gen_range");
        assert_eq!(new, code);
    }

    #[test]
    fn pack_errors_name_the_rule() {
        let bad =
            "crate = \"x\"\nfrom = \"1\"\nto = \"2\"\nsummary = \"s\"\n\n[[rule]]\nid = \"a\"\nmessage = \"m\"\nmatch = \"x::f($a)\"\nreplace = \"x::g($b)\"\n";
        let err = CompiledPack::from_text(bad, "x.toml").unwrap_err();
        assert_eq!(err.line, Some(10), "the line of `replace`");
        assert!(err.to_string().contains("rule `a`") && err.to_string().contains("`$b`"), "{err}");
        let two_conservative = INDEXMAP.replace("when = \"the remaining", "conservative = true\nwhen = \"the remaining");
        assert!(CompiledPack::from_text(&two_conservative, "x.toml").unwrap_err().to_string().contains("exactly one"));
    }

    /// A rule's safety follows from what its replacement introduces: `include!` or a
    /// path outside the pack's crate makes its changes needs-review, and the reason says
    /// what was introduced; a template naming only the crate's paths and the user's code
    /// stays safe. Computed when the pack is compiled.
    #[test]
    fn a_replacement_that_introduces_code_is_needs_review_and_says_what() {
        let pack = "crate = \"mini\"\nfrom = \"1\"\nto = \"2\"\nsummary = \"s\"\n\n[[rule]]\nid = \"load\"\nmessage = \"`load` is `load_from`\"\nmatch = \"mini::load($x)\"\nreplace = \"mini::load_from($x, include!(\\\"/etc/hostname\\\"))\"\n\n[[rule]]\nid = \"run\"\nmessage = \"`run` is `exec`\"\nmatch = \"mini::run($x)\"\nreplace = \"mini::exec(std::process::Command::new(\\\"sh\\\").arg($x))\"\n\n[[rule]]\nid = \"plain\"\nmessage = \"`old` is `new`\"\nmatch = \"mini::old($x)\"\nreplace = \"mini::new($x.into_iter().collect::<Vec<_>>())\"\n";
        let (_, changes, _) = run(pack, "fn f() {\n    mini::load(1);\n    mini::run(\"ls\");\n    mini::old(v);\n}\n");
        let shown: Vec<(&str, Safety, &str)> = changes.iter().map(|c| (c.rule, c.safety, c.reason.as_str())).collect();
        assert_eq!(
            shown,
            [
                ("mini/load", Safety::NeedsReview, "`load` is `load_from` (needs review: the replacement introduces `include!`)"),
                ("mini/run", Safety::NeedsReview, "`run` is `exec` (needs review: the replacement introduces `std::process::Command::new`)"),
                ("mini/plain", Safety::Safe, "`old` is `new`"),
            ]
        );
    }

    #[test]
    fn macro_rules_take_derives_and_nothing_else() {
        let head = "crate = \"x\"\nfrom = \"1\"\nto = \"2\"\nsummary = \"s\"\n\n[[rule]]\nid = \"a\"\nmessage = \"m\"\n";
        let error = |rule: &str| CompiledPack::from_text(&format!("{head}{rule}"), "x.toml").unwrap_err().to_string();
        assert!(error("match = \"x::m!\"\n").contains("lists the traits to add in `derive`"));
        assert!(error("match = \"x::m!\"\nreplace = \"x::n!\"\n").contains("takes `derive`, not `replace`"));
        assert!(error("match = \"x::f($a)\"\nreplace = \"x::g($a)\"\nderive = [\"Debug\"]\n").contains("`derive` is for macro rules"));
        assert!(error("match = \"x::m!\"\nderive = [\"not a path\"]\n").contains("is not a path"));
        let ok = CompiledPack::from_text(&format!("{head}match = \"x::m!\"\nderive = [\"Debug\", \"std::clone::Clone\"]\n"), "x.toml").unwrap();
        assert!(matches!(&ok.rules[0].action, Action::Derive { traits } if traits.len() == 2));
    }

    const ATTRIBUTE_PACK: &str = r##"
crate = "mylib"
from = "1"
to = "2"
summary = "s"

[[rule]]
id = "main-threads"
message = "`core_threads` is `worker_threads`"
match = "#[mylib::main($..a core_threads $..b)]"
replace = "#[mylib::main($..a worker_threads $..b)]"

[[rule]]
id = "opt"
message = "the helper attribute `old_opt` is `new_opt`"
match = "#[old_opt($..args)]"
replace = "#[new_opt($..args)]"

[[rule]]
id = "flag"
message = "`#[legacy]` is `#[modern]`"
match = "#[legacy]"
replace = "#[modern]"
"##;

    #[test]
    fn attribute_rules_match_by_resolved_path_or_helper_name_and_keep_the_written_path() {
        let code = r#"#![old_opt(crate_level)]
use mylib::main;
#[mylib::main(flavor = "x", core_threads = 4)]
async fn a() {}
#[main(core_threads = 2)]
async fn b() {}
#[other::main(core_threads = 2)]
async fn c() {}
#[derive(mylib::Opts)]
struct O {
    #[old_opt(long, short = 'x')]
    #[legacy]
    #[legacy = 1]
    f: u8,
}
"#;
        let expected = r#"#![new_opt(crate_level)]
use mylib::main;
#[mylib::main(flavor = "x", worker_threads = 4)]
async fn a() {}
#[main(worker_threads = 2)]
async fn b() {}
#[other::main(core_threads = 2)]
async fn c() {}
#[derive(mylib::Opts)]
struct O {
    #[new_opt(long, short = 'x')]
    #[modern]
    #[legacy = 1]
    f: u8,
}
"#;
        let (new, changes, _) = run(ATTRIBUTE_PACK, code);
        assert_eq!(new, expected);
        assert_eq!(changes.len(), 5, "{changes:?}");
        let (_, again, _) = run(ATTRIBUTE_PACK, &new);
        assert!(again.is_empty(), "{again:?}");
    }

    const MOVED_PACK: &str = r#"
crate = "nom"
from = "7"
to = "8"
summary = "s"

[[new_crates]]
crate = "nom-language"
version = "0.1"

[[rule]]
id = "verbose-error"
message = "`VerboseError` is in `nom-language`"
match = "nom::error::VerboseError"
replace = "nom_language::error::VerboseError"
"#;

    #[test]
    fn path_rules_move_items_to_a_new_crate_under_its_own_name() {
        let (new, _, _) = run(MOVED_PACK, "use nom::error::VerboseError;\nfn f(e: VerboseError<&str>) {}\n");
        assert_eq!(new, "use nom_language::error::VerboseError;\nfn f(e: VerboseError<&str>) {}\n");
        let (new, _, _) = run(MOVED_PACK, "use nom::error::{ErrorKind, VerboseError};\nfn f(e: VerboseError<&str>, k: ErrorKind) {}\n");
        assert_eq!(new, "use nom::error::ErrorKind;\nuse nom_language::error::VerboseError;\nfn f(e: VerboseError<&str>, k: ErrorKind) {}\n");
        let two = MOVED_PACK.to_string()
            + "\n[[rule]]\nid = \"convert-error\"\nmessage = \"m\"\nmatch = \"nom::error::convert_error\"\nreplace = \"nom_language::error::convert_error\"\n";
        // Every leaf of a group moves out: the group gives way to `use` items of their own.
        let (new, changes, _) =
            run(&two, "use nom::error::{convert_error, VerboseError};\nfn show(i: &str, e: VerboseError<&str>) -> String { convert_error(i, e) }\n");
        assert_eq!(new, "use nom_language::error::convert_error;\nuse nom_language::error::VerboseError;\nfn show(i: &str, e: VerboseError<&str>) -> String { convert_error(i, e) }\n");
        assert_eq!(changes.len(), 2, "{changes:?}");
        let (new, _, _) = run(MOVED_PACK, "extern crate nom as n;\nfn f(e: n::error::VerboseError<&str>) {}\n");
        assert_eq!(new, "extern crate nom as n;\nfn f(e: nom_language::error::VerboseError<&str>) {}\n");
        // Moved already: nothing more to do.
        let (_, again, _) = run(MOVED_PACK, "use nom_language::error::VerboseError;\nfn f(e: VerboseError<&str>) {}\n");
        assert!(again.is_empty(), "{again:?}");
        let undeclared = MOVED_PACK.replace("[[new_crates]]\ncrate = \"nom-language\"\nversion = \"0.1\"\n", "");
        assert!(CompiledPack::from_text(&undeclared, "x.toml").unwrap_err().to_string().contains("or to a crate of `new_crates`"));
    }

    /// A compiler error at a call of a method the receiver's own type defines (a wrapper
    /// `Gen` with its own `gen`, whose `Standard` bound rand 0.9 no longer meets for
    /// `usize`) does not make the call rand's: inherent methods come first. The same error
    /// at a call whose receiver is not evidently the crate's type is the compiler's to
    /// resolve, as before.
    #[test]
    fn a_compiler_error_at_a_call_of_the_receivers_own_method_is_not_the_packs() {
        let pack = Arc::new(CompiledPack::from_text(RAND, "rand.toml").unwrap());
        let code = "use rand::Rng;\npub struct Gen { rng: rand::rngs::ThreadRng }\nimpl Gen {\n    pub fn gen<T>(&mut self) -> T where rand::distributions::Standard: rand::distributions::Distribution<T> { self.rng.gen() }\n}\npub fn own(g: &mut Gen) -> usize { g.gen() }\npub fn other(g: &mut other::Gen) -> usize { g.gen() }\n";
        let parsed = crate::syntax::parsed::Parsed::parse(code).unwrap();
        let env = Env::plain("rand");
        let site = |call: &str| {
            let start = code.find(call).unwrap() + call.find("gen").unwrap();
            CompilerSite { range: start..start + 3, item: Vec::new(), code: Some("E0277".into()), rule: None }
        };
        let range = |s| parsed.range(s);
        let edits_at = |sites: &[CompilerSite], line: &str| {
            let start = code.find(line).unwrap();
            let at = start..start + code[start..].find('\n').unwrap();
            let run = run_pack(&RunCx { sites, ..RunCx::new(&pack, &env, &parsed, code, &range) });
            run.changes.into_iter().flat_map(|c| c.3).filter(|e| at.contains(&e.range.start)).count()
        };
        assert_eq!(edits_at(&[site("{ g.gen() }")], "pub fn own"), 0, "Gen::gen is the crate's own");
        let other = code.find("pub fn other").unwrap();
        let other_site = {
            let start = other + code[other..].find("g.gen()").unwrap() + 2;
            CompilerSite { range: start..start + 3, item: Vec::new(), code: Some("E0277".into()), rule: None }
        };
        assert_eq!(edits_at(&[other_site], "pub fn other"), 1, "another type's `gen`, as the compiler reports it");
    }

    const BITS_PACK: &str = "crate = \"bitflags\"\nfrom = \"1\"\nto = \"2\"\nsummary = \"s\"\n\n[[rule]]\nid = \"bits\"\nmessage = \"m\"\nmatch = \"$x.bits\"\nreplace = \"$x.bits()\"\nat_error = \"E0615\"\n";

    #[test]
    fn error_rules_apply_only_where_the_compiler_reports_the_error_and_never_to_a_place() {
        let pack = Arc::new(CompiledPack::from_text(BITS_PACK, "x.toml").unwrap());
        let code = "use bitflags::bitflags;\nfn f(m: &mut M, o: &Other) -> u8 {\n    m.bits = 1;\n    m.bits |= 2;\n    o.bits + m.bits\n}\n";
        let parsed = crate::syntax::parsed::Parsed::parse(code).unwrap();
        let env = Env::plain("bitflags");
        let at = |needle: &str, from: usize| {
            let start = code[from..].find(needle).unwrap() + from;
            start..start + needle.len()
        };
        let run = |sites: &[CompilerSite], assume: bool| {
            let range = |s| parsed.range(s);
            let cx = RunCx { sites, assume_errors: assume, ..RunCx::new(&pack, &env, &parsed, code, &range) };
            let changes = run_pack(&cx).changes;
            changes.into_iter().flat_map(|(_, _, _, edits)| edits).collect::<Vec<_>>()
        };
        // The syntactic pass: never.
        assert!(run(&[], false).is_empty());
        // Where the compiler reports E0615 (the read of `m.bits`, not `o.bits`): that read.
        let read = code.rfind("m.bits").unwrap();
        let site = |range: Range<usize>, code: &str| CompilerSite { range, item: Vec::new(), code: Some(code.into()), rule: None };
        assert_eq!(run(&[site(at("bits", read), "E0615")], false), vec![Edit::insert(read + 6, "()")]);
        // Another error code there: no.
        assert!(run(&[site(at("bits", read), "E0609")], false).is_empty());
        // The writes, even where reported (and even assumed): never.
        let writes = [site(at("bits", code.find("m.bits = 1").unwrap()), "E0615"), site(at("bits", code.find("m.bits |=").unwrap()), "E0615")];
        assert!(run(&writes, false).is_empty());
        let assumed = run(&[], true);
        assert_eq!(assumed.len(), 2, "the two reads, not the writes: {assumed:?}");
        // Only expression rules, with a real code.
        let err = |t: &str| CompiledPack::from_text(t, "x.toml").unwrap_err().to_string();
        assert!(err(&BITS_PACK.replace("E0615", "615")).contains("is not an error code"));
        assert!(err(&BITS_PACK.replace("match = \"$x.bits\"\nreplace = \"$x.bits()\"", "match = \"bitflags::Flags\"\nreplace = \"bitflags::Flags2\""))
            .contains("`at_error` is for expression rules"));
    }

    const MACRO_PACK: &str = "crate = \"bitflags\"\nfrom = \"1\"\nto = \"2\"\nsummary = \"s\"\n\n[[rule]]\nid = \"d\"\nmessage = \"m\"\nmatch = \"bitflags::bitflags!\"\nderive = [\"Debug\", \"Clone\"]\n";

    #[test]
    fn macro_rules_follow_macro_use_from_the_crate_root_and_leave_other_macros_alone() {
        let pack = Arc::new(CompiledPack::from_text(MACRO_PACK, "x.toml").unwrap());
        let code = "bitflags! { struct F: u8 { const A = 1; } }\n";
        let parsed = crate::syntax::parsed::Parsed::parse(code).unwrap();
        let run_with = |macro_use: bool| {
            let env = Env { macro_use, ..Env::plain("bitflags") };
            let range = |s| parsed.range(s);
            run_pack(&RunCx::new(&pack, &env, &parsed, code, &range)).changes
        };
        // Without `#[macro_use]` anywhere, a bare `bitflags!` is some other macro.
        assert!(run_with(false).is_empty());
        let changes = run_with(true);
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].3, vec![Edit::insert(12, "#[derive(Debug, Clone)] ")]);
        assert!(changes[0].2.contains("`F` gets `Debug, Clone`"), "{}", changes[0].2);
        // A derive already there (a second run) is not added again.
        let (_, again, _) = run(MACRO_PACK, "use bitflags::bitflags;\nbitflags! { #[derive(Clone, Debug)] struct F: u8 { const A = 1; } }\n");
        assert!(again.is_empty());
    }

    const NOM: &str = include_str!("../../migrations/nom/7-8.toml");

    /// A signature rule's calls follow the crate's own functions into other files: a
    /// file that calls a helper another file defines (`Env::signature_fns`, from the
    /// package's index) applies it with `.parse`, importing `nom::Parser` — even a file
    /// that never names nom; a name the file imports, or defines unchanged itself, is
    /// another function and is left alone; a second run changes nothing.
    #[test]
    fn signature_calls_follow_the_crates_own_functions_across_files() {
        let pack = Arc::new(CompiledPack::from_text(NOM, "nom.toml").unwrap());
        let helper = "use nom::IResult;\npub fn ws<'a, O>(f: impl FnMut(&'a str) -> IResult<&'a str, O>) -> impl FnMut(&'a str) -> IResult<&'a str, O> {\n    nom::sequence::delimited(nom::character::complete::space0, f, nom::character::complete::space0)\n}\n";
        let base = Env::plain("nom");
        let (changed, unchanged) = crate::pack::run::signature_functions(&pack, &base, helper);
        assert_eq!(changed.keys().collect::<Vec<_>>(), ["ws"]);
        assert!(unchanged.is_empty());
        let env = Env { signature_fns: changed, ..Env::plain("nom") };
        let apply = |code: &str, env: &Env| {
            let parsed = crate::syntax::parsed::Parsed::parse(code).unwrap();
            let range = |s| parsed.range(s);
            let run = run_pack(&RunCx::new(&pack, env, &parsed, code, &range));
            let edits: Vec<Edit> = run.changes.into_iter().flat_map(|c| c.3).collect();
            crate::core::plan::apply_edits(code, &edits).unwrap()
        };
        let caller = "use crate::parsers::ws;\npub fn word(i: &str) -> Result<(&str, &str), ()> {\n    ws(crate::alpha)(i).map_err(|_| ())\n}\n";
        let out = apply(caller, &env);
        assert_eq!(
            out,
            "use nom::Parser;\nuse crate::parsers::ws;\npub fn word(i: &str) -> Result<(&str, &str), ()> {\n    ws(crate::alpha).parse(i).map_err(|_| ())\n}\n"
        );
        assert_eq!(apply(&out, &env), out, "a second run changes nothing");
        // Not known to change: left alone.
        assert_eq!(apply(caller, &base), caller);
        // Imported from elsewhere, or a function of this file by the same name that keeps
        // its signature: another `ws`.
        let imported = "use other::ws;\nfn f(i: &str) -> u8 { ws(1)(i) }\n";
        assert_eq!(apply(imported, &env), imported);
        let own = "fn ws(_: u8) -> impl Fn(&str) -> u8 { |_| 0 }\nfn f(i: &str) -> u8 { ws(1)(i) }\n";
        assert_eq!(apply(own, &env), own);
    }

    const ROUTES_PACK: &str = "crate = \"web\"\nfrom = \"1\"\nto = \"2\"\nsummary = \"s\"\n\n[[rule]]\nid = \"route\"\nmessage = \"captures are braced\"\nmatch = \"$r.route($path, $..rest)\"\nwhere = { path = \"string-literal\" }\nliteral = { var = \"path\", syntax = \"path\", rewrite = [{ from = \":$name\", to = \"{$name}\" }] }\n\n[[rule]]\nid = \"route-other\"\nmessage = \"captures are braced\"\nmatch = \"$r.route($path, $..rest)\"\nnote = \"check the path by hand\"\n\n[[rule]]\nid = \"raw\"\nmessage = \"no raw names\"\nmatch = \"#[error($fmt $..args)]\"\nwhere = { fmt = \"string-literal\" }\nliteral = { var = \"fmt\", syntax = \"format\", rewrite = [{ from = \"r#$name\", to = \"$name\" }] }\n\n[[rule]]\nid = \"unattr\"\nmessage = \"native async fn\"\nmatch = \"#[other::marker]\"\nreplace = \"\"\non_impl = [\"web::Extract\"]\n";

    /// A literal rule edits only the pieces of the literal (escapes and the rest kept),
    /// lists a piece it cannot rewrite, settles, and a note rule takes the calls whose
    /// path is not a literal: listed, never changed.
    #[test]
    fn literal_rules_edit_pieces_and_note_rules_list_what_they_cannot() {
        let code = "use web::Router;\nconst P: &str = \"/x/:y\";\nfn app(r: Router) -> Router {\n    r.route(\"/u/:id/\", a).route(\"/f/:n.json\", b).route(P, c)\n}\n";
        let (new, changes, diags) = run(ROUTES_PACK, code);
        assert_eq!(new, code.replace("\"/u/:id/", "\"/u/{id}/"));
        assert_eq!(changes.len(), 1);
        let at = code.find(":id").unwrap();
        assert_eq!(changes[0].edits, vec![Edit { range: at..at + 3, replacement: "{id}".into() }]);
        let listed: Vec<(Option<&str>, &str)> = diags.iter().map(|d| (d.rule, d.message.as_str())).collect();
        assert_eq!(
            listed,
            vec![
                (Some("web/route"), "captures are braced: `:n.json` is not a form this rule rewrites: rewrite it by hand"),
                (Some("web/route-other"), "captures are braced: check the path by hand"),
            ]
        );
        let (again, changes, _) = run(ROUTES_PACK, &new);
        assert!(changes.is_empty() && again == new);
        // A path with an escape is left whole, listed.
        let code = "use web::Router;\nfn app(r: Router) -> Router { r.route(\"/u/:id/\\u{3a}\", a) }\n";
        let (new, changes, diags) = run(ROUTES_PACK, code);
        assert!(changes.is_empty() && new == code);
        assert_eq!(diags[0].message, "captures are braced: this path has escapes: rewrite its segments by hand");
        // Format strings: only the placeholders' arguments.
        let code = "use web::Error;\n#[derive(Error)]\n#[error(\"{{r#type}} {r#type:>4} {0}\", r#type = 1)]\nstruct E;\n";
        let (new, _, _) = run(ROUTES_PACK, code);
        assert_eq!(new, code.replace("{r#type:>4}", "{type:>4}"));
    }

    /// An attribute rule with `on_impl` matches only on an `impl` of the traits it names
    /// (resolved through the file's imports); an empty `replace` removes the attribute and
    /// its line; a path of another crate is matched through the `use` that brings it in.
    #[test]
    fn attribute_rules_on_impls_remove_the_attribute_and_its_line() {
        let code = "use other::marker;\nuse web::Extract as X;\n\n#[marker]\nimpl X for A {}\n\n#[marker]\nimpl Mine for A {}\n    #[other::marker] #[inline]\nimpl web::Extract for B {}\n#[marker]\nimpl Extract for C {}\n";
        let (new, changes, _) = run(ROUTES_PACK, code);
        assert_eq!(
            new,
            "use other::marker;\nuse web::Extract as X;\n\nimpl X for A {}\n\n#[marker]\nimpl Mine for A {}\n    #[inline]\nimpl web::Extract for B {}\n#[marker]\nimpl Extract for C {}\n"
        );
        assert_eq!(changes.len(), 2);
        // Inside a `macro_rules!` body, where the impl does not parse as an item.
        let code = "use other::marker;\nuse web::Extract;\nmacro_rules! ext {\n    ($t:ty) => {\n        #[marker]\n        impl<S> Extract<S> for $t {}\n        #[marker]\n        impl Mine for $t {}\n    };\n}\n";
        let (new, changes, _) = run(ROUTES_PACK, code);
        assert_eq!(new, code.replacen("        #[marker]\n        impl<S>", "        impl<S>", 1));
        assert_eq!(changes.len(), 1);
        let (_, again, _) = run(ROUTES_PACK, &new);
        assert!(again.is_empty());
        // Another crate's `marker` does not match `other::marker`.
        let (new, changes, _) = run(ROUTES_PACK, "use elsewhere::marker;\nuse web::Extract;\n#[marker]\nimpl Extract for A {}\n");
        assert!(changes.is_empty(), "{new}");
    }

    /// A pack with one shim, for `mini::mock::Step`.
    const SHIM_PACK: &str = "crate = \"mini\"\nfrom = \"1\"\nto = \"2\"\nsummary = \"s\"\n\n[[shim]]\nid = \"step\"\nmessage = \"`Step` is deprecated without replacement\"\nreplaces = [\"mini::mock::Step\"]\ncode = \"\"\"\n#[derive(Debug)]\npub struct Step(pub u64);\n\nimpl Step {\n    pub fn new(v: u64) -> Self {\n        Step(v)\n    }\n}\n\"\"\"\n";

    const STEP_MODULE: &str = "#[allow(dead_code)]\nmod step {\n    #[derive(Debug)]\n    pub struct Step(pub u64);\n\n    impl Step {\n        pub fn new(v: u64) -> Self {\n            Step(v)\n        }\n    }\n}";

    fn indented(text: &str, by: &str) -> String {
        text.lines().map(|l| if l.is_empty() { String::new() } else { format!("{by}{l}") }).collect::<Vec<_>>().join("\n")
    }

    #[test]
    fn a_shim_goes_once_where_every_use_is_and_under_the_cfg_they_share() {
        // Uses in two test modules: once, at the file's end, `#[cfg(test)]`; imports and
        // paths pointed at it from where they are.
        let code = "fn main() {}\n\n#[cfg(test)]\nmod a {\n    use mini::mock::Step;\n    fn f() -> Step { Step::new(1) }\n}\n\n#[cfg(test)]\nmod b {\n    fn g() -> u64 { mini::mock::Step::new(2).0 }\n}\n";
        let (new, changes, _) = run(SHIM_PACK, code);
        let expected = format!(
            "fn main() {{}}\n\n#[cfg(test)]\nmod a {{\n    use super::step::Step;\n    fn f() -> Step {{ Step::new(1) }}\n}}\n\n#[cfg(test)]\nmod b {{\n    fn g() -> u64 {{ super::step::Step::new(2).0 }}\n}}\n\n#[cfg(test)]\n{STEP_MODULE}\n"
        );
        assert_eq!(new, expected);
        assert_eq!(changes.len(), 1, "one change: the shim and its uses, all or nothing");
        let c = &changes[0];
        assert_eq!((c.rule, c.safety), ("mini/step", Safety::NeedsReview));
        assert!(
            c.reason.contains("adds the pack's shim `step` as `mod step` at the end of this file, under `#[cfg(test)]` and points 2 uses at it"),
            "{}",
            c.reason
        );
        let (again, changes, _) = run(SHIM_PACK, &new);
        assert!(changes.is_empty() && again == new, "idempotent: {again}");
        // All in one test module: inside it, at its end; a group keeps its other leaves.
        let code = "#[cfg(test)]\nmod tests {\n    use mini::{mock::Step, Other};\n    #[test]\n    fn t() { let _ = (Step::new(1), Other); }\n}\n";
        let (new, _, _) = run(SHIM_PACK, code);
        let expected = format!(
            "#[cfg(test)]\nmod tests {{\n    use mini::Other;\n    use self::step::Step;\n    #[test]\n    fn t() {{ let _ = (Step::new(1), Other); }}\n\n{}\n}}\n",
            indented(STEP_MODULE, "    ")
        );
        assert_eq!(new, expected);
        // In test functions of a `#[cfg(test)]` module: the module's `cfg` is not repeated.
        let code = "#[cfg(test)]\nmod tests {\n    #[test]\n    fn t() {\n        use mini::mock::Step;\n        let _ = Step::new(1);\n    }\n}\n";
        let (new, _, _) = run(SHIM_PACK, code);
        let expected = format!(
            "#[cfg(test)]\nmod tests {{\n    #[test]\n    fn t() {{\n        use self::step::Step;\n        let _ = Step::new(1);\n    }}\n\n{}\n}}\n",
            indented(STEP_MODULE, "    ")
        );
        assert_eq!(new, expected);
        // Only `#[test]` functions at the root: they count as `cfg(test)`; the import
        // outside them does not, so the shim has no `cfg`.
        let code = "use mini::mock::Step;\n#[test]\nfn t() { let _ = Step::new(1); }\n";
        let (new, _, _) = run(SHIM_PACK, code);
        assert_eq!(new, format!("use self::step::Step;\n#[test]\nfn t() {{ let _ = Step::new(1); }}\n\n{STEP_MODULE}\n"));
        let code = "#[test]\nfn t() { let _ = mini::mock::Step::new(1); }\n";
        let (new, _, _) = run(SHIM_PACK, code);
        assert_eq!(new, format!("#[test]\nfn t() {{ let _ = step::Step::new(1); }}\n\n#[cfg(test)]\n{STEP_MODULE}\n"));
    }

    #[test]
    fn a_shim_in_a_doc_test_is_not_written_after_its_wrapper_and_said() {
        let code = "//! ```\n//! use mini::mock::Step;\n//! let _ = Step::new(1);\n//! ```\npub fn f() {}\n";
        let pack = Arc::new(CompiledPack::from_text(SHIM_PACK, "mini.toml").unwrap());
        let rule = PackRule::new(pack);
        let opts = crate::engine::walk::CheckOptions::new(vec![&rule as &dyn Rule], crate::core::edition::Edition::E2021);
        let (findings, _) = crate::engine::walk::check_rust_text(&lib_rs(code), &crate::cargo::discover::host_cfg(), &opts, true).unwrap();
        assert!(findings.changes.is_empty(), "{:?}", findings.changes);
        let [u] = findings.unchanged.as_slice() else { panic!("{:?}", findings.unchanged) };
        assert_eq!((u.rule, u.line, u.reason), ("mini/step", Some(2), crate::core::model::UnchangedReason::NeedsReview));
        assert!(u.detail.starts_with("in a doc test: `Step` is deprecated") && u.detail.ends_with("make it by hand"), "{}", u.detail);
    }

    #[test]
    fn a_shim_whose_name_is_taken_is_not_added_and_said() {
        let code = "use mini::mock::Step;\nfn step() -> Step { Step::new(1) }\n";
        let (new, changes, diags) = run(SHIM_PACK, code);
        assert_eq!(new, code);
        assert!(changes.is_empty());
        assert!(diags.iter().any(|d| d.rule == Some("mini/step") && d.message.contains("the name `step` is taken")), "{diags:?}");
    }

    #[test]
    fn a_pub_use_of_a_replaced_item_is_a_judge_site_that_keeps_the_api() {
        let code = "#[doc(hidden)]\npub use mini::mock::{Step, Kept};\nfn f() {}\n";
        let pack = Arc::new(CompiledPack::from_text(SHIM_PACK, "mini.toml").unwrap());
        let rule = PackRule::new(pack);
        let opts = crate::engine::walk::CheckOptions::new(vec![&rule as &dyn Rule], crate::core::edition::Edition::E2021);
        let file = lib_rs(code);
        let (findings, _) = crate::engine::walk::check_rust_text(&file, &crate::cargo::discover::host_cfg(), &opts, true).unwrap();
        assert!(findings.changes.is_empty(), "{:?}", findings.changes);
        let [site] = findings.sites.as_slice() else { panic!("{:?}", findings.sites) };
        assert_eq!(site.rule, "mini/step");
        assert!(site.question.contains("this crate re-exports `Step` (`pub use`), which mini 2 removed: they are its public API"), "{}", site.question);
        assert_eq!(site.options.iter().map(|o| o.id.as_str()).collect::<Vec<_>>(), ["keep-api", "drop-re-export"]);
        assert_eq!(site.conservative, 0);
        assert!(site.options[1].when.contains("a breaking change for this crate's users"), "{}", site.options[1].when);
        let apply = |edits: &[Edit]| {
            let mut edits = edits.to_vec();
            edits.sort();
            crate::core::plan::apply_edits(code, &edits).unwrap()
        };
        assert_eq!(apply(&site.options[1].edits), "#[doc(hidden)]\npub use mini::mock::Kept;\nfn f() {}\n");
        assert_eq!(
            apply(&site.options[0].edits),
            format!("#[doc(hidden)]\npub use mini::mock::Kept;\n#[doc(hidden)]\npub use self::step::Step;\nfn f() {{}}\n\n{STEP_MODULE}\n")
        );
        // The heuristic keeps the API; the shim stays for review.
        let files = BTreeMap::from([("lib.rs".to_string(), file.clone())]);
        let judged = crate::judge::judge(findings.sites, &files, None, None);
        let change = &judged.changes[0];
        assert_eq!((change.safety, &change.decided_by), (Safety::NeedsReview, &crate::core::model::Decider::Heuristic));
        assert!(change.reason.contains("→ `keep-api`") && change.reason.contains("`Step` are this crate's public API"), "{}", change.reason);
        // `pub(crate)` is no public API: the shim is a change.
        let (new, changes, _) = run(SHIM_PACK, "pub(crate) use mini::mock::Step;\n");
        assert_eq!(new, format!("pub(crate) use self::step::Step;\n\n{STEP_MODULE}\n"));
        assert_eq!(changes.len(), 1);
    }

    #[test]
    fn a_shim_that_could_run_code_is_refused_when_the_pack_is_loaded() {
        let pack = SHIM_PACK
            .replace("    pub fn new(v: u64) -> Self {\n        Step(v)", "    pub fn new(v: u64) -> Self {\n        std::process::exit(include!(\"/x\"))");
        let err = CompiledPack::from_text(&pack, "mini.toml").unwrap_err();
        assert_eq!(err.line, Some(10), "{err}");
        assert!(err.message.starts_with("shim `step`: `code`: "), "{err}");
        let pack = SHIM_PACK.replace("replaces = [\"mini::mock::Step\"]", "replaces = [\"mini::mock::Stride\"]");
        let err = CompiledPack::from_text(&pack, "mini.toml").unwrap_err();
        assert_eq!(err.line, Some(9), "{err}");
        assert!(err.message.contains("`code` defines no `pub` item `Stride`"), "{err}");
    }
}

#[cfg(test)]
mod cfg_split_tests {
    //! A receiver whose type a feature decides (`IndexMap` under one feature, `BTreeMap`
    //! or `HashMap` otherwise): the built-in indexmap pack's rewrites are split by that
    //! cfg, the other configurations keep the call as written.

    use std::sync::Arc;

    use super::*;
    use crate::core::model::Change;

    const INDEXMAP: &str = include_str!("../../migrations/indexmap/1-2.toml");

    fn run(code: &str) -> (String, Vec<Change>) {
        let pack = Arc::new(CompiledPack::from_text(INDEXMAP, "indexmap.toml").unwrap_or_else(|e| panic!("{e}")));
        let rule = PackRule::new(pack);
        let opts = crate::engine::walk::CheckOptions::new(vec![&rule as &dyn Rule], crate::core::edition::Edition::E2021);
        let (changes, new) = crate::engine::pipeline::migrate_source("lib.rs", code, &opts).unwrap();
        (new, changes)
    }

    /// `code` migrates to `expected`, and a second run changes nothing.
    fn check(code: &str, expected: &str) -> Vec<Change> {
        let (new, changes) = run(code);
        assert_eq!(new, expected);
        let (again, more) = run(&new);
        assert!(more.is_empty() && again == new, "not idempotent: {again}");
        changes
    }

    const ALIASES: &str = "use std::collections::btree_map::{self, BTreeMap};\n#[cfg(feature = \"preserve_order\")]\nuse indexmap::{self, IndexMap};\n\npub struct Map {\n    map: MapImpl<String, u32>,\n}\n\n#[cfg(not(feature = \"preserve_order\"))]\ntype MapImpl<K, V> = BTreeMap<K, V>;\n#[cfg(feature = \"preserve_order\")]\ntype MapImpl<K, V> = IndexMap<K, V>;\n\npub struct OccupiedEntry<'a> {\n    occupied: OccupiedEntryImpl<'a>,\n}\n#[cfg(not(feature = \"preserve_order\"))]\ntype OccupiedEntryImpl<'a> = btree_map::OccupiedEntry<'a, String, u32>;\n#[cfg(feature = \"preserve_order\")]\ntype OccupiedEntryImpl<'a> = indexmap::map::OccupiedEntry<'a, String, u32>;\n\n";

    #[test]
    fn a_tail_call_on_a_cfg_aliased_map_is_split_into_two_blocks() {
        let code = format!("{ALIASES}impl Map {{\n    pub fn remove(&mut self, key: &str) -> Option<u32> {{\n        self.map.remove(key)\n    }}\n}}\n\nimpl OccupiedEntry<'_> {{\n    pub fn remove(self) -> u32 {{\n        self.occupied.remove()\n    }}\n}}\n");
        let expected = format!("{ALIASES}impl Map {{\n    pub fn remove(&mut self, key: &str) -> Option<u32> {{\n        #[cfg(feature = \"preserve_order\")]\n        {{\n            self.map.swap_remove(key)\n        }}\n        #[cfg(not(feature = \"preserve_order\"))]\n        {{\n            self.map.remove(key)\n        }}\n    }}\n}}\n\nimpl OccupiedEntry<'_> {{\n    pub fn remove(self) -> u32 {{\n        #[cfg(feature = \"preserve_order\")]\n        {{\n            self.occupied.swap_remove()\n        }}\n        #[cfg(not(feature = \"preserve_order\"))]\n        {{\n            self.occupied.remove()\n        }}\n    }}\n}}\n");
        let changes = check(&code, &expected);
        assert_eq!(changes.len(), 2, "{changes:#?}");
        // What the diff shows: the feature that decides the type, and why the split.
        let reason = &changes.iter().find(|c| c.rule == "indexmap/map-remove").unwrap().reason;
        assert!(reason.contains("the receiver `self.map` has the type `indexmap::IndexMap` only under `#[cfg(feature = \"preserve_order\")]` (type alias `MapImpl`, line 12), and is `BTreeMap` under `#[cfg(not(feature = \"preserve_order\"))]` (line 10)"), "{reason}");
        assert!(reason.contains("the call is split by `#[cfg(feature = \"preserve_order\")]`") && reason.contains("→ `split-swap`"), "{reason}");
    }

    #[test]
    fn statements_and_values_are_split_as_statements_and_as_a_block() {
        let code = format!("{ALIASES}impl Map {{\n    pub fn drop_a(&mut self) {{\n        self.map.remove(\"a\");\n    }}\n    pub fn take_b(&mut self) -> u32 {{\n        let b = self.map.remove(\"b\").unwrap_or(0);\n        b + 1\n    }}\n}}\n");
        let expected = format!("{ALIASES}impl Map {{\n    pub fn drop_a(&mut self) {{\n        #[cfg(feature = \"preserve_order\")]\n        self.map.swap_remove(\"a\");\n        #[cfg(not(feature = \"preserve_order\"))]\n        self.map.remove(\"a\");\n    }}\n    pub fn take_b(&mut self) -> u32 {{\n        let b = {{\n            #[cfg(feature = \"preserve_order\")]\n            {{\n                self.map.swap_remove(\"b\")\n            }}\n            #[cfg(not(feature = \"preserve_order\"))]\n            {{\n                self.map.remove(\"b\")\n            }}\n        }}\n        .unwrap_or(0);\n        b + 1\n    }}\n}}\n");
        check(&code, &expected);
    }

    #[test]
    fn code_already_under_the_cfg_is_rewritten_or_left_as_its_cfg_says() {
        // Under the feature the receiver is an `IndexMap`: a plain rewrite. Under its
        // negation it is a `BTreeMap`: nothing to do.
        let code = format!("{ALIASES}impl Map {{\n    pub fn remove(&mut self, key: &str) -> Option<u32> {{\n        #[cfg(feature = \"preserve_order\")]\n        return self.map.remove(key);\n        #[cfg(not(feature = \"preserve_order\"))]\n        return self.map.remove(key);\n    }}\n}}\n");
        let expected = code.replacen("return self.map.remove(key);", "return self.map.swap_remove(key);", 1);
        check(&code, &expected);
    }

    #[test]
    fn cfg_imports_and_cfg_fields_decide_the_type_too() {
        // `use .. as` under a cfg, the other definition a `HashMap`.
        let code = "#[cfg(feature = \"ordered\")]\nuse indexmap::IndexMap as Map;\n#[cfg(not(feature = \"ordered\"))]\nuse std::collections::HashMap as Map;\n\nfn f(m: &mut Map<u8, u8>) -> Option<u8> {\n    m.remove(&1)\n}\n";
        let expected = "#[cfg(feature = \"ordered\")]\nuse indexmap::IndexMap as Map;\n#[cfg(not(feature = \"ordered\"))]\nuse std::collections::HashMap as Map;\n\nfn f(m: &mut Map<u8, u8>) -> Option<u8> {\n    #[cfg(feature = \"ordered\")]\n    {\n        m.swap_remove(&1)\n    }\n    #[cfg(not(feature = \"ordered\"))]\n    {\n        m.remove(&1)\n    }\n}\n";
        let changes = check(code, expected);
        assert!(
            changes[0].reason.contains("(import `Map`, line 2), and is `std::collections::HashMap` under `#[cfg(not(feature = \"ordered\"))]` (line 4)"),
            "{}",
            changes[0].reason
        );
        // A struct field declared twice under opposite cfgs.
        let code = "use std::collections::HashSet;\nstruct Seen {\n    #[cfg(all(feature = \"ordered\", feature = \"std\"))]\n    set: indexmap::IndexSet<u32>,\n    #[cfg(not(all(feature = \"ordered\", feature = \"std\")))]\n    set: HashSet<u32>,\n}\nimpl Seen {\n    fn forget(&mut self, v: u32) -> bool {\n        self.set.remove(&v)\n    }\n}\n";
        let expected = code.replace(
            "        self.set.remove(&v)\n",
            "        #[cfg(all(feature = \"ordered\", feature = \"std\"))]\n        {\n            self.set.swap_remove(&v)\n        }\n        #[cfg(not(all(feature = \"ordered\", feature = \"std\")))]\n        {\n            self.set.remove(&v)\n        }\n",
        );
        check(code, &expected);
    }

    #[test]
    fn the_field_of_a_tuple_struct_is_followed_to_its_type() {
        // ron 0.7's `Map(MapInner)`.
        let code = "pub struct Map(MapInner);\npub struct Other(u8);\n#[cfg(not(feature = \"indexmap\"))]\ntype MapInner = std::collections::BTreeMap<u8, u8>;\n#[cfg(feature = \"indexmap\")]\ntype MapInner = indexmap::IndexMap<u8, u8>;\nimpl Map {\n    pub fn remove(&mut self, key: &u8) -> Option<u8> {\n        self.0.remove(key)\n    }\n}\n";
        let expected = code.replace(
            "        self.0.remove(key)\n",
            "        #[cfg(feature = \"indexmap\")]\n        {\n            self.0.swap_remove(key)\n        }\n        #[cfg(not(feature = \"indexmap\"))]\n        {\n            self.0.remove(key)\n        }\n",
        );
        check(code, &expected);
    }

    /// The judge's sites of `pack` on `code` (as `lib.rs`).
    fn sites(pack: &str, code: &str) -> Vec<crate::core::model::Site> {
        let pack = Arc::new(CompiledPack::from_text(pack, "pack.toml").unwrap_or_else(|e| panic!("{e}")));
        let rule = PackRule::new(pack);
        let opts = crate::engine::walk::CheckOptions::new(vec![&rule as &dyn Rule], crate::core::edition::Edition::E2021);
        let file = crate::core::text::SourceFile::loose("lib.rs", code);
        let (findings, _) = crate::engine::walk::check_rust_text(&file, &crate::cargo::discover::host_cfg(), &opts, true).unwrap();
        findings.sites
    }

    #[test]
    fn the_judge_decides_the_split_a_heuristic_when_the_rule_has_one_rewrite() {
        // A rule with one rewrite: the split is clear, a heuristic takes it.
        let pack = "crate = \"lib\"\nfrom = \"1\"\nto = \"2\"\nsummary = \"s\"\n\n[[rule]]\nid = \"old\"\nmessage = \"`Map::old` is `Map::new_name` in 2\"\nreceiver_type = \"lib::Map\"\nmatch = \"$m.old($k)\"\nreplace = \"$m.new_name($k)\"\n";
        let code = "#[cfg(feature = \"fast\")]\ntype M = lib::Map;\n#[cfg(not(feature = \"fast\"))]\ntype M = std::collections::HashMap<u8, u8>;\nfn f(m: &M) -> u8 {\n    m.old(1)\n}\n";
        let files = std::collections::BTreeMap::new();
        let judged = crate::judge::judge(sites(pack, code), &files, None, None);
        assert_eq!(judged.verdicts.len(), 1);
        let v = &judged.verdicts[0];
        assert_eq!((v.option.as_str(), &v.decided_by), ("split", &crate::core::model::Decider::Heuristic));
        assert!(v.reason.contains("`#[cfg(feature = \"fast\")]`"), "{}", v.reason);
        assert_eq!(
            judged.changes[0].edits[0].replacement,
            "#[cfg(feature = \"fast\")]\n    {\n        m.new_name(1)\n    }\n    #[cfg(not(feature = \"fast\"))]\n    {\n        m.old(1)\n    }"
        );
        // A choice rule: the split does not say which option; a model's `keep` leaves the
        // call, listed with the cfg that decides its receiver's type.
        let judged = crate::judge::judge(
            sites(INDEXMAP, &format!("{ALIASES}impl Map {{\n    fn r(&mut self) {{\n        self.map.remove(\"a\");\n    }}\n}}\n")),
            &files,
            Some(&super::tests::Picks("keep", "the map is tiny")),
            None,
        );
        assert!(judged.changes.is_empty());
        let u = &judged.unchanged[0];
        assert_eq!(u.reason, crate::core::model::UnchangedReason::JudgedToKeep);
        assert!(u.detail.contains("`keep` by llm:picks: the map is tiny (the receiver `self.map` has the type `indexmap::IndexMap` only under `#[cfg(feature = \"preserve_order\")]`"), "{}", u.detail);
        let site = &judged.sites[0];
        assert_eq!(site.options.iter().map(|o| o.id.as_str()).collect::<Vec<_>>(), ["split-swap", "split-shift", "keep"]);
        assert!(site.question.contains("only under `#[cfg(feature = \"preserve_order\")]` (type alias `MapImpl`"), "{}", site.question);
    }

    #[test]
    fn a_statement_with_attributes_keeps_them_in_both_branches() {
        let code =
            format!("{ALIASES}impl Map {{\n    pub fn drop_a(&mut self) {{\n        #[allow(unused_must_use)]\n        self.map.remove(\"a\");\n    }}\n}}\n");
        let expected = code.replace(
            "        #[allow(unused_must_use)]\n        self.map.remove(\"a\");\n",
            "        #[cfg(feature = \"preserve_order\")]\n        #[allow(unused_must_use)]\n        self.map.swap_remove(\"a\");\n        #[cfg(not(feature = \"preserve_order\"))]\n        #[allow(unused_must_use)]\n        self.map.remove(\"a\");\n",
        );
        check(&code, &expected);
        // The same attribute on a plain rewrite stays too.
        let code = "use indexmap::IndexMap;\nfn f(m: &mut IndexMap<u8, u8>) {\n    #[allow(unused_must_use)]\n    m.remove(&1);\n}\n";
        check(code, &code.replace("m.remove(&1)", "m.swap_remove(&1)"));
    }

    #[test]
    fn a_name_defined_once_under_a_cfg_is_not_split() {
        // The import exists only with the feature; so does the code that uses it (here
        // through its module, gated in another file): a plain rewrite.
        let code = "#[cfg(feature = \"ordered\")]\nuse indexmap::IndexMap;\nfn f() -> usize {\n    let mut m = IndexMap::new();\n    m.insert(1, 2);\n    m.remove(&1);\n    m.len()\n}\n";
        check(code, &code.replace("m.remove(&1)", "m.swap_remove(&1)"));
    }

    #[test]
    fn a_receiver_of_one_type_in_every_configuration_is_not_split() {
        // An alias without a cfg, and a cfg'd alias to other types only.
        let code = "use indexmap::IndexMap;\ntype M = IndexMap<u8, u8>;\n#[cfg(unix)]\ntype N = std::collections::HashMap<u8, u8>;\n#[cfg(not(unix))]\ntype N = std::collections::BTreeMap<u8, u8>;\nfn f(m: &mut IndexMap<u8, u8>, n: &mut N) {\n    m.remove(&1);\n    n.remove(&1);\n}\n";
        let (new, _) = run(code);
        assert_eq!(new, code.replace("m.remove(&1)", "m.swap_remove(&1)"));
    }
}
