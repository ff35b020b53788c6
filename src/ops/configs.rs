//! The build configurations a migration depends on beyond the one `--verify` builds.
//!
//! A change split by a feature's cfg (a call whose receiver is an `IndexMap` only under
//! `#[cfg(feature = "preserve_order")]`, see [`crate::core::model::Evidence::CfgDependent`])
//! holds code that one build of the default features never compiles: the branch of the
//! feature when the default leaves it off, or the other branch when the default turns it
//! on. For each such feature `--verify` builds once more, with the feature the other way
//! (`--features F`, or `--no-default-features` plus the default features that do not turn
//! `F` on), and checks that build against its own baseline like the default one. Only a
//! migration with such a change pays for the extra builds.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::Result;

use crate::cargo::build::BuildConfig;
use crate::cargo::check::{CheckCommand, CompileError};
use crate::core::migration::Migration;
use crate::core::model::{Change, Evidence};
use crate::ops::verify::{verify, Policy, Verified};

/// A package's `[features]` table: each feature and what it enables.
pub type FeatureTable = BTreeMap<String, Vec<String>>;

/// One more build configuration to check: a package with a feature the other way.
#[derive(Clone, Debug)]
pub struct Configuration {
    /// The package (its name) whose feature decides the split code.
    pub package: String,
    /// The feature.
    pub feature: String,
    /// Whether this build turns the feature on (the default build has it off), or off.
    pub enabled: bool,
    /// The build.
    pub check: CheckCommand,
}

impl Configuration {
    /// How the configuration is named in the report: `feature `preserve_order` on
    /// (--features=toml/preserve_order)`.
    pub fn describe(&self) -> String {
        format!("{}'s feature `{}` {} ({})", self.package, self.feature, if self.enabled { "on" } else { "off" }, self.check.config.describe())
    }
}

/// What checking one more configuration found: its verification (errors new in that
/// build, what was reverted for them, what remains).
#[derive(Debug)]
pub struct ConfigurationChecked {
    /// The configuration.
    pub configuration: Configuration,
    /// The verification of the migrated code in it.
    pub verified: Verified,
}

/// The features the applied changes of `m` are split by, per package: those of the judged
/// sites with [`Evidence::CfgDependent`] whose chosen option edits the code.
pub fn split_features(m: &Migration) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (site, verdict) in m.sites.iter().zip(&m.verdicts) {
        let Evidence::CfgDependent { features, .. } = &site.evidence else { continue };
        let edits = site.options.iter().find(|o| o.id == verdict.option).is_some_and(|o| !o.edits.is_empty());
        let Some(result) = m.files.get(&site.file) else { continue };
        if edits && result.changes.iter().any(|c| c.rule == site.rule && c.line == site.line) {
            out.entry(result.file.package.clone()).or_default().extend(features.iter().cloned());
        }
    }
    out
}

/// The configurations to build besides `check`'s (default features) for the split
/// features of `m`: one per feature, the other way from the default. `defaults` gives a
/// package's `[features]` table (feature → what it enables), from `cargo metadata`.
pub fn extra_configurations(m: &Migration, check: &CheckCommand, defaults: &dyn Fn(&str) -> Option<FeatureTable>) -> Vec<Configuration> {
    let mut out = Vec::new();
    for (package, features) in split_features(m) {
        let Some(spec) = check.packages.iter().find(|p| p.split('@').next() == Some(package.as_str())) else { continue };
        let table = defaults(&package).unwrap_or_default();
        for feature in features {
            let on_by_default = enables(&table, "default", &feature);
            let config = if on_by_default {
                // Off: the default features that do not turn it on.
                let kept: Vec<String> =
                    table.get("default").into_iter().flatten().filter(|f| table.contains_key(*f) && !enables(&table, f, &feature)).cloned().collect();
                BuildConfig { features: kept, no_default_features: true, ..BuildConfig::default() }
            } else {
                BuildConfig { features: vec![feature.clone()], ..BuildConfig::default() }
            };
            // One package selected: `--features` names its own features.
            let check = CheckCommand { manifest_path: check.manifest_path.clone(), packages: vec![spec.clone()], config };
            out.push(Configuration { package: package.clone(), feature, enabled: !on_by_default, check });
        }
    }
    out
}

/// Whether feature `from` of a `[features]` table turns on `feature` (itself included).
fn enables(table: &FeatureTable, from: &str, feature: &str) -> bool {
    let mut seen = BTreeSet::new();
    let mut todo = vec![from.to_string()];
    while let Some(f) = todo.pop() {
        if f == feature {
            return true;
        }
        if seen.insert(f.clone()) {
            todo.extend(table.get(&f).into_iter().flatten().filter(|e| !e.contains('/') && !e.starts_with("dep:")).cloned());
        }
    }
    false
}

/// Each configuration's errors before the migration is written (its baseline).
pub fn baselines(configurations: &[Configuration]) -> Result<Vec<Vec<CompileError>>> {
    configurations.iter().map(|c| c.check.errors()).collect()
}

/// Verifies the written migration in each extra configuration against its baseline, after
/// the default build's verification took back `reverted`: the changes still written are
/// checked, and those on the lines of an error new in that configuration are taken back
/// the way [`verify`] does. Returns each configuration's verification.
pub fn verify_configurations(
    m: &Migration,
    reverted: &[Change],
    configurations: Vec<Configuration>,
    baselines: Vec<Vec<CompileError>>,
    root: &Path,
    keep_broken: bool,
    policy: Policy,
) -> Result<Vec<ConfigurationChecked>> {
    let mut out = Vec::new();
    let mut gone: Vec<Change> = reverted.to_vec();
    for (configuration, baseline) in configurations.into_iter().zip(baselines) {
        let written = still_written(m, &gone)?;
        let verified = verify(&written, &configuration.check, Some(&baseline), root, keep_broken, policy)?;
        gone.extend(verified.reverted.iter().map(|r| r.change.clone()));
        out.push(ConfigurationChecked { configuration, verified });
    }
    Ok(out)
}

/// `m` without the changes `gone` (taken back already): what the files hold now.
fn still_written(m: &Migration, gone: &[Change]) -> Result<Migration> {
    let mut out = Migration::default();
    for (display, result) in &m.files {
        let chosen: Vec<Option<Change>> = result.changes.iter().map(|c| (!gone.contains(c)).then(|| c.clone())).collect();
        if chosen.iter().all(Option::is_some) {
            out.files.insert(display.clone(), result.clone());
            continue;
        }
        let kept = result.keep(&chosen).map_err(|e| anyhow::anyhow!("{display}: {e}"))?;
        if let Some(r) = kept.result {
            out.files.insert(display.clone(), r);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(entries: &[(&str, &[&str])]) -> FeatureTable {
        entries.iter().map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect())).collect()
    }

    use crate::core::migration::FileResult;
    use crate::core::model::{CfgStatus, Decider, Edit, Safety, Site, SiteOption, Verdict};
    use crate::core::text::SourceFile;

    /// A migration of `lib.rs` in package `ordmap` with one judged site on line 2, whose
    /// evidence is `evidence` and whose chosen option is `chosen`.
    fn migration(evidence: Evidence, chosen: &str) -> Migration {
        let text = "fn f() {\n    m.remove(k)\n}\n";
        let mut file = SourceFile::loose("src/lib.rs", text);
        file.package = "ordmap".into();
        let edit = Edit { range: 13..24, replacement: "{ #[cfg(feature = \"x\")] { m.swap_remove(k) } #[cfg(not(feature = \"x\"))] { m.remove(k) } }".into() };
        let change = Change {
            rule: "indexmap/map-remove",
            reason: String::new(),
            safety: Safety::Judged,
            decided_by: Decider::Heuristic,
            file: "src/lib.rs".into(),
            line: 2,
            cfg: CfgStatus::Active,
            edits: vec![edit.clone()],
        };
        let options = vec![
            SiteOption { id: "split".into(), when: String::new(), edits: vec![edit] },
            SiteOption { id: "keep".into(), when: String::new(), edits: Vec::new() },
        ];
        let site = Site {
            rule: "indexmap/map-remove",
            file: "src/lib.rs".into(),
            line: 2,
            cfg: CfgStatus::Active,
            question: String::new(),
            code: "m.remove(k)".into(),
            context: Vec::new(),
            options,
            conservative: 0,
            evidence,
        };
        let verdict = Verdict {
            rule: "indexmap/map-remove",
            file: "src/lib.rs".into(),
            line: 2,
            option: chosen.into(),
            conservative: chosen == "split",
            decided_by: Decider::Heuristic,
            reason: String::new(),
            safety: Safety::Judged,
        };
        let mut m = Migration::default();
        let changes = if chosen == "split" { vec![change] } else { Vec::new() };
        m.files.insert("src/lib.rs".into(), FileResult { file, new_text: String::new(), changes, passes: 1, later_rounds: Vec::new() });
        m.sites.push(site);
        m.verdicts.push(verdict);
        m
    }

    fn cfg_dependent() -> Evidence {
        Evidence::CfgDependent { predicate: "feature = \"x\"".into(), features: vec!["x".into()], why: String::new(), choice: false }
    }

    fn check() -> CheckCommand {
        CheckCommand { manifest_path: "Cargo.toml".into(), packages: vec!["other@1.0.0".into(), "ordmap@0.1.0".into()], config: BuildConfig::default() }
    }

    #[test]
    fn only_an_applied_split_asks_for_another_build() {
        let none = |_: &str| Some(table(&[("default", &[]), ("x", &[])]));
        // The common case: no site split by a feature, one build.
        assert!(extra_configurations(&migration(Evidence::None, "split"), &check(), &none).is_empty());
        // A split judged to keep: nothing written depends on the feature.
        assert!(extra_configurations(&migration(cfg_dependent(), "keep"), &check(), &none).is_empty());
        // A split applied, the feature off by default: built once more with it on.
        let extra = extra_configurations(&migration(cfg_dependent(), "split"), &check(), &none);
        assert_eq!(extra.len(), 1);
        assert!(extra[0].enabled);
        assert_eq!(extra[0].check.packages, ["ordmap@0.1.0"]);
        assert_eq!(extra[0].check.config.args(), ["--features=x"]);
        assert_eq!(extra[0].describe(), "ordmap's feature `x` on (--features=x)");
        // On by default (through `std`): built without the default features, keeping those
        // that do not turn it on.
        let on = |_: &str| Some(table(&[("default", &["std", "fast"]), ("std", &["x"]), ("x", &[]), ("fast", &[])]));
        let extra = extra_configurations(&migration(cfg_dependent(), "split"), &check(), &on);
        assert!(!extra[0].enabled);
        assert_eq!(extra[0].check.config.args(), ["--features=fast", "--no-default-features"]);
    }

    #[test]
    fn a_feature_is_on_by_default_through_the_features_it_enables() {
        let t = table(&[("default", &["std"]), ("std", &["order", "dep:serde"]), ("order", &["indexmap/std"]), ("other", &[])]);
        assert!(enables(&t, "default", "order"));
        assert!(enables(&t, "std", "order"));
        assert!(!enables(&t, "default", "other"));
        assert!(!enables(&t, "default", "serde"), "a dependency is not a feature of the table");
        assert!(!enables(&table(&[]), "default", "order"));
    }
}
