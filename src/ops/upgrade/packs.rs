//! Which packs move a crate, and in what order: discovery (`--pack` files, a
//! `migrations/` folder shipped in the crate's own package, the built-in packs) and
//! chaining (0.7 → 0.8 → 0.9).
//!
//! Versions are compared by their semver compatibility class (`0.8.5` is in `0.8`,
//! `1.4.0` in `1`): a pack's `from` is a requirement (`0.8` means `^0.8`), its `to` the
//! class it moves code to.
//!
//! A pack whose `to` is in the same class as its `from` (`from = "0.4"`, `to = "0.4.38"`)
//! is a **line pack**: it replaces API deprecated within one release line. Major steps
//! never take it; once the chain has reached the target's class, the line packs of that
//! class follow, each applied to code on any release its `from` admits, including releases
//! newer than its `to` (deprecated calls compile there, with warnings, until rewritten).

use std::collections::{BTreeSet, VecDeque};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;

use cargo_metadata::semver::{Op, Version, VersionReq};

use super::UpgradeError;
use crate::pack::CompiledPack;

/// Where a pack was found, in the order discovery prefers them.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Origin {
    /// Given with `--pack`.
    Flag,
    /// Shipped in the `migrations/` folder of the crate's package (a path dependency's
    /// folder or the registry source of the target version).
    Shipped,
    /// Built into this binary.
    Builtin,
}

/// A pack that can take part in an upgrade.
#[derive(Clone, Debug)]
pub struct FoundPack {
    /// The compiled pack.
    pub pack: Arc<CompiledPack>,
    /// Where it came from.
    pub origin: Origin,
}

impl FoundPack {
    /// `0.8→0.9`, for messages.
    pub fn step(&self) -> String {
        format!("{}→{}", self.pack.file.from, self.pack.file.to)
    }

    /// How the pack is named in output: its file, and where it came from.
    pub fn describe(&self) -> String {
        let origin = match self.origin {
            Origin::Flag => "given with --pack",
            Origin::Shipped => "shipped with the crate",
            Origin::Builtin => "built in",
        };
        format!("{} {} ({}, {origin})", self.pack.file.krate, self.step(), self.pack.source)
    }

    /// The requirement on the version the pack moves code from.
    fn accepts(&self) -> Option<VersionReq> {
        requirement(&self.pack.file.from)
    }

    /// The lowest version the pack moves code to.
    pub fn to_version(&self) -> Option<Version> {
        floor(&self.pack.file.to)
    }

    /// Whether this is a line pack: `from` and `to` in one compatibility class.
    pub fn is_line(&self) -> bool {
        within_line(&self.pack.file.from, &self.pack.file.to)
    }
}

/// Whether a move from requirement `from` to version `to` stays within one compatibility
/// class (`0.4` → `0.4.38`): a line pack's step, or a companion's.
pub fn within_line(from: &str, to: &str) -> bool {
    floor(from).zip(floor(to)).is_some_and(|(f, t)| class(&f) == class(&t))
}

/// Parses a version requirement as Cargo reads one (`0.8` is `^0.8`).
pub fn requirement(text: &str) -> Option<VersionReq> {
    VersionReq::parse(text.trim()).ok()
}

/// The lowest version a requirement admits, as far as its first comparator tells
/// (`0.8` → 0.8.0, `>=1.2, <2` → 1.2.0, `*` → 0.0.0).
pub fn floor(text: &str) -> Option<Version> {
    let req = requirement(text)?;
    let Some(c) = req.comparators.first() else { return Some(Version::new(0, 0, 0)) };
    match c.op {
        Op::Less | Op::LessEq => Some(Version::new(0, 0, 0)),
        _ => Some(Version::new(c.major, c.minor.unwrap_or(0), c.patch.unwrap_or(0))),
    }
}

/// The semver compatibility class of a version, written as a requirement would be:
/// `1.4.2` → `1`, `0.8.5` → `0.8`, `0.0.3` → `0.0.3`.
pub fn class(v: &Version) -> String {
    if v.major > 0 {
        format!("{}", v.major)
    } else if v.minor > 0 {
        format!("0.{}", v.minor)
    } else {
        format!("0.0.{}", v.patch)
    }
}

/// Loads every `*.toml` pack for `krate` under a package's `migrations/` folder
/// (`migrations/<crate>/*.toml`, or `migrations/*.toml` naming the crate). A malformed
/// pack is an error: its author shipped it for this upgrade.
pub fn shipped_in(package_dir: &Path, krate: &str) -> Result<Vec<FoundPack>, UpgradeError> {
    let dir = package_dir.join("migrations");
    let mut files = Vec::new();
    for sub in [dir.join(krate), dir.join(krate.replace('-', "_")), dir.clone()] {
        let Ok(entries) = std::fs::read_dir(&sub) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "toml") && !files.contains(&path) {
                files.push(path);
            }
        }
    }
    files.sort();
    let mut out = Vec::new();
    for file in files {
        let pack = CompiledPack::load(&file)?;
        if same_crate(&pack.file.krate, krate) {
            out.push(FoundPack { pack: Arc::new(pack), origin: Origin::Shipped });
        }
    }
    Ok(out)
}

/// Whether two crate names are the same crate (`-` and `_` are one to Cargo).
pub fn same_crate(a: &str, b: &str) -> bool {
    a.replace('-', "_") == b.replace('-', "_")
}

/// The built-in packs for `krate`.
pub fn builtin(krate: &str) -> Result<Vec<FoundPack>, UpgradeError> {
    Ok(crate::pack::builtin()?.into_iter().filter(|p| same_crate(&p.file.krate, krate)).map(|pack| FoundPack { pack, origin: Origin::Builtin }).collect())
}

/// The packs to apply, in order, to move code from `current` to the class of `target`:
/// the shortest chain of major steps, preferring packs in the order given (flags, shipped,
/// built in), then the line packs of the target's class. `None` when no chain exists.
pub fn chain(packs: &[FoundPack], current: &Version, target: &Version) -> Option<Vec<FoundPack>> {
    let goal = class(target);
    let (mut steps, arrival) = major_steps(packs, current, &goal)?;
    steps.extend(line_steps(packs, &arrival, &goal));
    Some(steps)
}

/// The shortest chain of major steps from `current` to the class `goal`, and the version
/// it arrives at (`current` itself when already there).
fn major_steps(packs: &[FoundPack], current: &Version, goal: &str) -> Option<(Vec<FoundPack>, Version)> {
    if class(current) == goal {
        return Some((Vec::new(), current.clone()));
    }
    let mut queue: VecDeque<(Version, Vec<usize>)> = VecDeque::from([(current.clone(), Vec::new())]);
    let mut seen = BTreeSet::from([class(current)]);
    while let Some((at, path)) = queue.pop_front() {
        for (i, p) in packs.iter().enumerate() {
            let (Some(from), Some(to)) = (p.accepts(), p.to_version()) else { continue };
            if p.is_line() || !from.matches(&at) || to <= at || !seen.insert(class(&to)) {
                continue;
            }
            let mut next = path.clone();
            next.push(i);
            if class(&to) == goal {
                return Some((next.into_iter().map(|i| packs[i].clone()).collect(), to));
            }
            queue.push_back((to, next));
        }
    }
    None
}

/// The line packs of the class `goal` for code on `at`, in order of their `to`: each
/// taken if its `from` admits the version the previous ones reached; of several packs
/// with the same `to`, the first given.
fn line_steps(packs: &[FoundPack], at: &Version, goal: &str) -> Vec<FoundPack> {
    let mut line: Vec<(Version, &FoundPack)> =
        packs.iter().filter(|p| p.is_line()).filter_map(|p| Some((p.to_version()?, p))).filter(|(to, _)| class(to) == goal).collect();
    line.sort_by(|a, b| a.0.cmp(&b.0));
    let mut at = at.clone();
    let mut taken: Vec<FoundPack> = Vec::new();
    for (to, p) in line {
        if taken.iter().any(|t| t.to_version().as_ref() == Some(&to)) || !p.accepts().is_some_and(|from| from.matches(&at)) {
            continue;
        }
        at = at.max(to);
        taken.push(p.clone());
    }
    taken
}

/// The steps the packs offer, for messages (`0.8→0.9, 0.13→0.22`).
pub fn available(packs: &[FoundPack]) -> String {
    let mut steps: Vec<String> = packs.iter().map(FoundPack::step).collect();
    steps.dedup();
    if steps.is_empty() {
        "none".into()
    } else {
        steps.join(", ")
    }
}

/// Cargo's home folder.
pub fn cargo_home() -> Option<PathBuf> {
    std::env::var_os("CARGO_HOME").map(PathBuf::from).or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
}

/// Finds the package source of the newest release of `krate` matching `req` that cargo
/// has already unpacked or downloaded (`$CARGO_HOME/registry/src/*/CRATE-VERSION`, or
/// its `.crate` in `registry/cache`); otherwise asks cargo to download the release that
/// `req` resolves to, through a throwaway manifest in a temporary folder (nothing else
/// touches the network). Returns the version and the folder holding the unpacked source
/// (kept alive by the returned guard, if temporary).
pub fn registry_source(krate: &str, req: &str) -> Result<(Version, PathBuf, Option<tempfile::TempDir>), String> {
    let home = cargo_home().ok_or("no CARGO_HOME")?;
    let wanted = requirement(req).ok_or_else(|| format!("`{req}` is not a version requirement"))?;
    let newest = |kind: &str, suffix: &str| -> Option<(Version, PathBuf)> {
        let mut best: Option<(Version, PathBuf)> = None;
        for registry in std::fs::read_dir(home.join("registry").join(kind)).ok()?.flatten() {
            for entry in std::fs::read_dir(registry.path()).into_iter().flatten().flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                let Some(v) = name.strip_prefix(&format!("{krate}-")).and_then(|v| v.strip_suffix(suffix)) else { continue };
                let Ok(v) = Version::parse(v) else { continue };
                if wanted.matches(&v) && best.as_ref().is_none_or(|(b, _)| v > *b) {
                    best = Some((v, entry.path()));
                }
            }
        }
        best
    };
    if let Some((v, dir)) = newest("src", "") {
        return Ok((v, dir, None));
    }
    let archive = match newest("cache", ".crate") {
        Some(found) => found,
        None => {
            let version = fetch(krate, req)?;
            let file = format!("{krate}-{version}.crate");
            let found = std::fs::read_dir(home.join("registry/cache"))
                .map_err(|e| e.to_string())?
                .flatten()
                .map(|r| r.path().join(&file))
                .find(|p| p.is_file())
                .ok_or_else(|| format!("cargo fetched {krate} {version} but {file} is not in the registry cache"))?;
            (version, found)
        }
    };
    let tmp = tempfile::Builder::new().prefix("cargo-migrate-src").tempdir().map_err(|e| e.to_string())?;
    let out = Command::new("tar").arg("-xzf").arg(&archive.1).arg("-C").arg(tmp.path()).output().map_err(|e| format!("cannot run tar: {e}"))?;
    if !out.status.success() {
        return Err(format!("cannot unpack {}: {}", archive.1.display(), String::from_utf8_lossy(&out.stderr).trim()));
    }
    let dir = tmp.path().join(format!("{krate}-{}", archive.0));
    Ok((archive.0, dir, Some(tmp)))
}

/// `cargo fetch` of `krate = "req"` in a throwaway package; the version it resolved.
fn fetch(krate: &str, req: &str) -> Result<Version, String> {
    let tmp = tempfile::Builder::new().prefix("cargo-migrate-fetch").tempdir().map_err(|e| e.to_string())?;
    std::fs::create_dir(tmp.path().join("src")).map_err(|e| e.to_string())?;
    std::fs::write(tmp.path().join("src/lib.rs"), "").map_err(|e| e.to_string())?;
    let manifest = format!(
        "[package]\nname = \"cargo-migrate-fetch-probe\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\n[workspace]\n\n[dependencies]\n{krate} = \"{req}\"\n"
    );
    std::fs::write(tmp.path().join("Cargo.toml"), manifest).map_err(|e| e.to_string())?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    tracing::info!("cargo fetch of {krate} {req} in a throwaway package");
    let out = Command::new(cargo)
        .args(["fetch", "--quiet"])
        .current_dir(tmp.path())
        .env_remove("CARGO_TARGET_DIR")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(err.lines().find(|l| l.contains("error")).unwrap_or("cargo fetch failed").trim().to_string());
    }
    let lock = std::fs::read_to_string(tmp.path().join("Cargo.lock")).map_err(|e| e.to_string())?;
    let lock: toml::Value = toml::from_str(&lock).map_err(|e| e.to_string())?;
    lock.get("package")
        .and_then(|p| p.as_array())
        .into_iter()
        .flatten()
        .filter(|p| p.get("name").and_then(|n| n.as_str()) == Some(krate))
        .filter_map(|p| Version::parse(p.get("version")?.as_str()?).ok())
        .max()
        .ok_or_else(|| format!("cargo resolved no {krate}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pack(krate: &str, from: &str, to: &str) -> FoundPack {
        let text = format!("crate = \"{krate}\"\nfrom = \"{from}\"\nto = \"{to}\"\nsummary = \"s\"\n");
        FoundPack { pack: Arc::new(CompiledPack::from_text(&text, &format!("{from}-{to}.toml")).unwrap()), origin: Origin::Flag }
    }

    fn v(s: &str) -> Version {
        floor(s).unwrap()
    }

    #[test]
    fn versions_by_class() {
        assert_eq!(class(&Version::parse("0.8.5").unwrap()), "0.8");
        assert_eq!(class(&Version::parse("1.4.2").unwrap()), "1");
        assert_eq!(class(&Version::parse("0.0.3").unwrap()), "0.0.3");
        assert_eq!(floor(">=1.2, <2"), Some(Version::new(1, 2, 0)));
        assert_eq!(floor("=0.8.5"), Some(Version::new(0, 8, 5)));
        assert_eq!(floor("*"), Some(Version::new(0, 0, 0)));
        assert_eq!(floor("x.y"), None);
    }

    #[test]
    fn chains_the_shortest_way_and_prefers_earlier_packs() {
        let packs = [pack("r", "0.8", "0.9"), pack("r", "0.7", "0.8"), pack("r", "0.9", "0.10"), pack("r", "0.7", "0.9")];
        let steps = |c: &[FoundPack]| c.iter().map(FoundPack::step).collect::<Vec<_>>();
        assert_eq!(steps(&chain(&packs, &v("0.7.3"), &v("0.10")).unwrap()), ["0.7→0.9", "0.9→0.10"]);
        assert_eq!(steps(&chain(&packs[..3], &v("0.7.3"), &v("0.9")).unwrap()), ["0.7→0.8", "0.8→0.9"]);
        assert_eq!(steps(&chain(&packs, &v("0.8.1"), &v("0.8")).unwrap()), Vec::<String>::new());
        assert!(chain(&packs, &v("0.6.0"), &v("0.9")).is_none());
        assert!(chain(&packs, &v("0.9.0"), &v("0.8")).is_none());
        assert_eq!(available(&packs[..1]), "0.8→0.9");
    }

    #[test]
    fn line_packs_are_recognised_by_their_from_and_to() {
        assert!(pack("c", "0.4", "0.4.38").is_line());
        assert!(pack("c", "1.2", "1.9.0").is_line());
        assert!(pack("c", "0.4", "0.4").is_line());
        assert!(!pack("c", "0.3", "0.4").is_line());
        assert!(!pack("c", "1", "2").is_line());
        assert!(within_line("0.4.20", "0.4.38") && !within_line("0.4", "0.5.1"));
    }

    #[test]
    fn line_packs_apply_within_the_target_class() {
        let steps = |c: Option<Vec<FoundPack>>| c.unwrap().iter().map(FoundPack::step).collect::<Vec<_>>();
        let packs = [pack("c", "0.3", "0.4"), pack("c", "0.4", "0.4.38")];
        // Below the line's `to`, at it, above it: the deprecations are rewritten all the same.
        for current in ["0.4.19", "0.4.38", "0.4.41"] {
            assert_eq!(steps(chain(&packs, &Version::parse(current).unwrap(), &v("0.4.38"))), ["0.4→0.4.38"], "{current}");
        }
        // `c@0.4` names the class: its line pack is part of reaching it.
        assert_eq!(steps(chain(&packs, &Version::parse("0.4.19").unwrap(), &v("0.4"))), ["0.4→0.4.38"]);
        // After a major step, the line pack of the class it reaches.
        assert_eq!(steps(chain(&packs, &Version::parse("0.3.5").unwrap(), &v("0.4"))), ["0.3→0.4", "0.4→0.4.38"]);
        // A line pack is never a major step, nor applied in another class.
        assert_eq!(steps(chain(&packs, &Version::parse("0.3.5").unwrap(), &v("0.3"))), Vec::<String>::new());
        assert!(chain(&packs[1..], &Version::parse("0.3.5").unwrap(), &v("0.4")).is_none());
    }

    #[test]
    fn line_packs_chain_by_their_from_and_the_first_given_wins_a_tie() {
        let steps = |c: Option<Vec<FoundPack>>| c.unwrap().iter().map(|p| format!("{} {}", p.step(), p.pack.source)).collect::<Vec<_>>();
        let mut later = pack("c", "0.4.20", "0.4.38");
        later.pack = Arc::new(CompiledPack::from_text("crate = \"c\"\nfrom = \"0.4.20\"\nto = \"0.4.38\"\nsummary = \"s\"\n", "later.toml").unwrap());
        let packs = [pack("c", "0.4.20", "0.4.38"), pack("c", "0.4", "0.4.20"), later];
        let at = |s: &str| Version::parse(s).unwrap();
        assert_eq!(steps(chain(&packs, &at("0.4.5"), &v("0.4"))), ["0.4→0.4.20 0.4-0.4.20.toml", "0.4.20→0.4.38 0.4.20-0.4.38.toml"]);
        assert_eq!(steps(chain(&packs, &at("0.4.25"), &v("0.4"))), ["0.4→0.4.20 0.4-0.4.20.toml", "0.4.20→0.4.38 0.4.20-0.4.38.toml"]);
        // Without the first, code on 0.4.5 is not what the second is written for.
        assert!(chain(&packs[..1], &at("0.4.5"), &v("0.4")).unwrap().is_empty());
    }
}
