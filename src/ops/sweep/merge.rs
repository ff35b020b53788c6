//! `sweep merge`: the shard folders of one sweep into one report. Shards must be of the
//! same sweep (migration, options, tool version, shard count), each shard at most once,
//! and no repository in two of them; anything else is refused, naming what differs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use super::report::{RepoResult, SweepReport, Totals, REPORT_VERSION};
use super::MARKER;

/// Reads `dir/report.json`.
pub fn read_report(dir: &Path) -> Result<SweepReport> {
    let path = dir.join("report.json");
    let text = std::fs::read_to_string(&path).with_context(|| format!("{}: no report.json (is it a sweep's output folder?)", dir.display()))?;
    let report: SweepReport = serde_json::from_str(&text).with_context(|| format!("{}: not a sweep report", path.display()))?;
    if report.version != REPORT_VERSION {
        bail!("{}: report version {}, this cargo-migrate reads version {REPORT_VERSION}", path.display(), report.version);
    }
    Ok(report)
}

/// Merges the reports of `dirs` into `out` (which must not be one of them): the
/// repositories' files are copied there, and the merged report is returned for the
/// caller to write.
pub fn merge(dirs: &[PathBuf], out: &Path) -> Result<SweepReport> {
    if dirs.is_empty() {
        bail!("sweep merge: name the shard folders to merge");
    }
    let out_abs = std::fs::canonicalize(out).ok();
    let mut reports = Vec::new();
    for dir in dirs {
        if out_abs.is_some() && std::fs::canonicalize(dir).ok() == out_abs {
            bail!("sweep merge: --out {} is one of the folders to merge; write the merge elsewhere", out.display());
        }
        reports.push((dir.clone(), read_report(dir)?));
    }
    let (first_dir, first) = &reports[0];
    let mut shards = Vec::new();
    let mut owner: BTreeMap<String, PathBuf> = BTreeMap::new();
    let mut repositories: Vec<RepoResult> = Vec::new();
    for (dir, r) in &reports {
        for (what, mine, theirs) in [
            ("migration", &r.migration, &first.migration),
            ("options", &r.options, &first.options),
            ("cargo-migrate version", &r.tool_version, &first.tool_version),
        ] {
            if mine != theirs {
                bail!("sweep merge: {} and {} are not shards of one sweep: {what} `{mine}` vs `{theirs}`", dir.display(), first_dir.display());
            }
        }
        for s in &r.shards {
            if let Some(other) = shards.iter().find(|o: &&super::report::Shard| o.count != s.count) {
                bail!("sweep merge: {} is shard {}/{}, but another folder is of {} shards", dir.display(), s.index, s.count, other.count);
            }
            if shards.contains(s) {
                bail!("sweep merge: shard {}/{} is given twice ({} is one of them)", s.index, s.count, dir.display());
            }
            shards.push(*s);
        }
        for repo in &r.repositories {
            if let Some(other) = owner.insert(repo.name.clone(), dir.clone()) {
                bail!("sweep merge: repository `{}` is in both {} and {}: overlapping shards", repo.name, other.display(), dir.display());
            }
            repositories.push(repo.clone());
        }
    }
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let marker = super::Marker { tool_version: first.tool_version.clone(), migration: first.migration.clone(), options: first.options.clone(), shard: None };
    std::fs::write(out.join(MARKER), serde_json::to_string_pretty(&marker)? + "\n")?;
    for (dir, r) in &reports {
        for repo in &r.repositories {
            for ext in ["json", "patch", "log"] {
                let from = dir.join(format!("{}.{ext}", repo.name));
                if from.is_file() {
                    std::fs::copy(&from, out.join(format!("{}.{ext}", repo.name))).with_context(|| format!("cannot copy {}", from.display()))?;
                }
            }
        }
    }
    repositories.sort_by(|a, b| a.name.cmp(&b.name));
    shards.sort();
    Ok(SweepReport {
        version: REPORT_VERSION,
        tool_version: first.tool_version.clone(),
        migration: first.migration.clone(),
        options: first.options.clone(),
        shards,
        totals: Totals::of(&repositories),
        repositories,
        reused: reports.iter().map(|(_, r)| r.reused).sum(),
        seconds: reports.iter().map(|(_, r)| r.seconds).fold(0.0, f64::max),
    })
}
