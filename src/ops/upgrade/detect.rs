//! Which version of the crate each workspace member uses, and under which name.
//!
//! The requirements come from `cargo metadata --no-deps` (which reads `Cargo.toml` and
//! resolves `workspace = true`); resolved versions from a full `cargo metadata` run in
//! the staging copy, with the lock file as it is (offline first), so the user's
//! `Cargo.lock` is never rewritten. When resolution fails (a path dependency that has
//! already moved to the new major, no network), the requirement stands for the version.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use cargo_metadata::semver::Version;
use cargo_metadata::{DependencyKind, Metadata, MetadataCommand};

use super::packs::{floor, same_crate};

/// One dependency of a workspace member on the crate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Usage {
    /// The member's package name.
    pub package: String,
    /// Its `Cargo.toml`.
    pub manifest: PathBuf,
    /// The name code uses for the crate (the dependency key of a renamed dependency,
    /// `-` as `_`).
    pub local_name: String,
    /// The version requirement (`^0.8`), as cargo read it.
    pub requirement: String,
    /// The version `Cargo.lock` resolved, when cargo could tell.
    pub resolved: Option<Version>,
    /// `[dependencies]`, `[dev-dependencies]` or `[build-dependencies]`.
    pub kind: DependencyKind,
    /// The `[target.'cfg(..)'.dependencies]` platform, if any.
    pub target: Option<String>,
    /// Whether the member inherits it from `[workspace.dependencies]`.
    pub inherited: bool,
    /// The folder of a path dependency (where its own `migrations/` may be).
    pub path: Option<PathBuf>,
}

impl Usage {
    /// The version in use: the resolved one, else the lowest the requirement admits.
    pub fn version(&self) -> Option<Version> {
        self.resolved.clone().or_else(|| floor(&self.requirement))
    }

    /// How the usage is shown: `app: 0.8.5 as `r`, from [workspace.dependencies]`.
    pub fn describe(&self, krate: &str) -> String {
        let version = match (&self.resolved, self.version()) {
            (Some(v), _) => v.to_string(),
            (None, Some(v)) => format!("{} (requirement `{}`; not resolved)", v, self.requirement),
            (None, None) => format!("`{}`", self.requirement),
        };
        let mut out = format!("{}: {version}", self.package);
        if self.local_name != krate.replace('-', "_") {
            out.push_str(&format!(" as `{}`", self.local_name));
        }
        match self.kind {
            DependencyKind::Development => out.push_str(", dev"),
            DependencyKind::Build => out.push_str(", build"),
            _ => {}
        }
        if let Some(t) = &self.target {
            out.push_str(&format!(", target {t}"));
        }
        if self.inherited {
            out.push_str(", from [workspace.dependencies]");
        }
        out
    }
}

/// The members' dependencies on `krate`, from metadata without dependencies (`members`
/// names the members to look at). `resolved` (a full metadata, if cargo could make one)
/// fills in the resolved versions.
pub fn usages(meta: &Metadata, members: &[String], krate: &str, resolved: Option<&Metadata>) -> Vec<Usage> {
    let versions = resolved.map(|m| resolved_versions(m, krate)).unwrap_or_default();
    let mut out = Vec::new();
    for package in meta.workspace_packages() {
        if !members.iter().any(|m| *m == package.name.as_str()) {
            continue;
        }
        let manifest = package.manifest_path.clone().into_std_path_buf();
        let inherited = inherited_keys(&manifest);
        for dep in package.dependencies.iter().filter(|d| same_crate(&d.name, krate)) {
            let key = dep.rename.clone().unwrap_or_else(|| dep.name.clone());
            let local_name = key.replace('-', "_");
            let resolved = versions.get(&(package.name.to_string(), local_name.clone())).cloned();
            out.push(Usage {
                package: package.name.to_string(),
                manifest: manifest.clone(),
                local_name,
                requirement: dep.req.to_string(),
                resolved,
                kind: dep.kind,
                target: dep.target.as_ref().map(|t| t.to_string()),
                inherited: inherited.contains(&key),
                path: dep.path.clone().map(|p| p.into_std_path_buf()),
            });
        }
    }
    out.sort_by(|a, b| (&a.package, &a.local_name).cmp(&(&b.package, &b.local_name)));
    out.dedup();
    out
}

/// Runs `cargo metadata` with dependencies for `manifest` (offline first, then online):
/// `None` if cargo cannot resolve the workspace.
pub fn resolve(manifest: &Path, target_dir: &Path) -> Option<Metadata> {
    for offline in [true, false] {
        let mut cmd = MetadataCommand::new();
        cmd.manifest_path(manifest);
        if offline {
            cmd.other_options(vec!["--offline".to_string()]);
        }
        cmd.env("CARGO_TARGET_DIR", target_dir);
        match cmd.exec() {
            Ok(m) => return Some(m),
            Err(e) => tracing::info!("cargo metadata{} failed: {e}", if offline { " --offline" } else { "" }),
        }
    }
    None
}

/// (member, local name) → resolved version of `krate`.
fn resolved_versions(meta: &Metadata, krate: &str) -> BTreeMap<(String, String), Version> {
    let mut out = BTreeMap::new();
    let Some(resolve) = &meta.resolve else { return out };
    for node in &resolve.nodes {
        let Some(member) = meta.packages.iter().find(|p| p.id == node.id) else { continue };
        if !meta.workspace_members.contains(&member.id) {
            continue;
        }
        for dep in &node.deps {
            let Some(package) = meta.packages.iter().find(|p| p.id == dep.pkg) else { continue };
            if same_crate(&package.name, krate) {
                out.insert((member.name.to_string(), dep.name.replace('-', "_")), package.version.clone());
            }
        }
    }
    out
}

/// Dependency keys a manifest marks `workspace = true`, in any dependency table.
fn inherited_keys(manifest: &Path) -> Vec<String> {
    let Ok(text) = std::fs::read_to_string(manifest) else { return Vec::new() };
    let Ok(doc) = text.parse::<toml::Table>() else { return Vec::new() };
    let mut tables: Vec<&toml::Table> = Vec::new();
    let kinds = ["dependencies", "dev-dependencies", "dev_dependencies", "build-dependencies", "build_dependencies"];
    for k in kinds {
        if let Some(t) = doc.get(k).and_then(|t| t.as_table()) {
            tables.push(t);
        }
    }
    for platform in doc.get("target").and_then(|t| t.as_table()).into_iter().flat_map(|t| t.values()) {
        for k in kinds {
            if let Some(t) = platform.get(k).and_then(|t| t.as_table()) {
                tables.push(t);
            }
        }
    }
    tables.into_iter().flat_map(|t| t.iter()).filter(|(_, v)| v.get("workspace").and_then(|w| w.as_bool()) == Some(true)).map(|(k, _)| k.clone()).collect()
}
