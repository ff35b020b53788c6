//! The compiler phase of an upgrade: after the syntactic pass and the bump, `cargo check
//! --all-targets --message-format=json` in the staging copy. Errors and deprecation
//! warnings that mention the upgraded crate (by name, by its local names, through its
//! companions, or with a span in its source) are the ones the upgrade is answerable for;
//! their primary spans become [`CompilerSite`]s that the pack's rules are matched against
//! again, now trusting the compiler's resolution.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use cargo_metadata::diagnostic::{Diagnostic as RustcDiagnostic, DiagnosticLevel, DiagnosticSpan};
use cargo_metadata::Message;

use crate::cargo::build::BuildConfig;
use crate::pack::CompilerSite;

/// A compiler message the upgrade is answerable for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attributed {
    /// An error (else a deprecation warning).
    pub error: bool,
    /// The file of the primary span, relative to the workspace root (`/`-separated).
    pub file: Option<String>,
    /// 1-based line of the primary span.
    pub line: Option<usize>,
    /// The primary span's byte range in the file as it was compiled.
    pub range: Option<std::ops::Range<usize>>,
    /// The text the compiler highlights there.
    pub highlighted: Option<String>,
    /// The compiler's message.
    pub message: String,
    /// The item a deprecation names (`rand::Rng::gen_range`), generic arguments removed.
    pub item: Vec<String>,
    /// The error's code (`E0615`), if it has one.
    pub code: Option<String>,
    /// The rendered diagnostic.
    pub rendered: String,
    /// For an error that does not name the crate: the pack rule (full id) whose flagged
    /// site holds its primary span, which makes it the upgrade's.
    pub rule: Option<&'static str>,
    /// rustc's note says two releases of the crate (or a companion: named here) meet here
    /// ("there are multiple different versions of crate `nom` in the dependency graph"): a
    /// dependency still built on the old release hands its types to code on the new one.
    pub two_releases: Option<String>,
}

impl Attributed {
    /// The site to match the pack against, if the primary span is in the workspace.
    pub fn site(&self) -> Option<(String, CompilerSite)> {
        Some((self.file.clone()?, CompilerSite { range: self.range.clone()?, item: self.item.clone(), code: self.code.clone(), rule: self.rule }))
    }
}

/// What one `cargo check` said.
#[derive(Debug, Default)]
pub struct CheckOutcome {
    /// Messages that mention the crate.
    pub attributed: Vec<Attributed>,
    /// Errors that do not: where (file relative to the workspace root, line) and the
    /// compiler's message.
    pub other_errors: Vec<(Option<String>, Option<usize>, String)>,
    /// Why cargo could not build the workspace, if it could not: a dependency that does
    /// not compile, a build script that fails (a missing system library), a manifest or
    /// resolution error. The messages above are then not all there is.
    pub failure: Option<String>,
}

/// The sites the packs flag in the code about to be compiled: per file (relative to the
/// workspace root, `/`-separated), each match's byte range and the rule's full id.
pub type Flagged = std::collections::BTreeMap<String, Vec<(std::ops::Range<usize>, &'static str)>>;

/// The crate's names and where its source lives, to attribute messages to it.
#[derive(Clone, Debug)]
pub struct CrateNames {
    /// The crate, its local names, its companions (`_` spelling).
    pub names: Vec<String>,
    /// Folders holding its source (path dependencies); registry sources are recognised by
    /// their `name-version` folder.
    pub dirs: Vec<PathBuf>,
    /// Error codes the packs have rules for (`at_error`): such errors are the upgrade's to
    /// answer even when their message does not name the crate.
    pub codes: std::collections::BTreeSet<String>,
}

impl CrateNames {
    fn mentions(&self, text: &str) -> bool {
        self.names.iter().any(|n| {
            text.match_indices(n.as_str()).any(|(i, _)| {
                let before = text[..i].chars().next_back();
                let after = &text[i + n.len()..];
                !before.is_some_and(|c| c.is_alphanumeric() || c == '_') && (after.starts_with("::") || after.starts_with('`'))
            })
        })
    }

    /// The crate (the upgraded one or a companion) a note of `d`, at any depth, says two
    /// releases of are in the build.
    fn two_releases(&self, d: &RustcDiagnostic) -> Option<String> {
        d.children.iter().find_map(|c| {
            let named = c.message.strip_prefix("there are multiple different versions of crate ").filter(|rest| self.mentions(rest));
            named.and_then(|rest| rest.split('`').nth(1)).map(str::to_string).or_else(|| self.two_releases(c))
        })
    }

    fn in_source(&self, file: &str) -> bool {
        let f = file.replace('\\', "/");
        self.dirs.iter().any(|d| Path::new(file).starts_with(d))
            || (f.contains("/registry/src/") && self.names.iter().any(|n| f.contains(&format!("/{n}-")) || f.contains(&format!("/{}-", n.replace('_', "-")))))
    }

    fn attributes(&self, d: &RustcDiagnostic) -> bool {
        fn spans(d: &RustcDiagnostic) -> Vec<&DiagnosticSpan> {
            let mut out: Vec<&DiagnosticSpan> = d.spans.iter().collect();
            for c in &d.children {
                out.extend(spans(c));
            }
            out
        }
        let texts =
            std::iter::once(d.message.as_str()).chain(d.children.iter().map(|c| c.message.as_str())).chain(d.spans.iter().filter_map(|s| s.label.as_deref()));
        texts.into_iter().any(|t| self.mentions(t)) || spans(d).iter().any(|s| self.in_source(&s.file_name))
    }
}

/// The item a deprecation message names: ``use of deprecated method `a::B::<T>::c`: ..``.
pub fn deprecated_item(message: &str) -> Vec<String> {
    let Some(rest) = message.strip_prefix("use of deprecated ") else { return Vec::new() };
    let Some(start) = rest.find('`') else { return Vec::new() };
    let Some(len) = rest[start + 1..].find('`') else { return Vec::new() };
    let path = &rest[start + 1..start + 1 + len];
    // Remove generic arguments, `<..>` at any depth.
    let mut plain = String::new();
    let mut depth = 0usize;
    for c in path.chars() {
        match c {
            '<' => depth += 1,
            '>' => depth = depth.saturating_sub(1),
            _ if depth == 0 => plain.push(c),
            _ => {}
        }
    }
    plain.split("::").map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect()
}

/// Runs `cargo check --all-targets --message-format=json` on `manifest` (the staging
/// copy's) with `target_dir`, and sorts out what mentions the crate, or lies inside a site
/// the packs `flagged`. `root` is the staging root, for the compiler's relative paths.
pub fn check(
    manifest: &Path,
    root: &Path,
    packages: &[String],
    config: &BuildConfig,
    target_dir: &Path,
    names: &CrateNames,
    flagged: &Flagged,
) -> CheckOutcome {
    let mut cmd = crate::cargo::build::check_command(manifest, packages, config);
    cmd.env("CARGO_TARGET_DIR", target_dir);
    tracing::info!("running {cmd:?}");
    let output = match cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).output() {
        Ok(o) => o,
        Err(e) => return CheckOutcome { failure: Some(format!("cannot run cargo: {e}")), ..CheckOutcome::default() },
    };
    let mut out = CheckOutcome::default();
    let mut seen = std::collections::HashSet::new();
    // Errors building a dependency (a target whose standard library is not installed, a
    // dependency that does not build with these features): the members never compiled.
    let mut dependency_error = None;
    // Errors the members' own code has: what makes a failed build an ordinary one.
    let mut member_errors = 0usize;
    let member = |target: &cargo_metadata::Target| target.src_path.starts_with(root);
    for message in Message::parse_stream(output.stdout.as_slice()) {
        let Ok(message) = message else { continue };
        let Message::CompilerMessage(msg) = message else { continue };
        if !member(&msg.target) {
            if msg.message.level == DiagnosticLevel::Error && dependency_error.is_none() {
                let d = &msg.message;
                let notes: Vec<&str> = d.children.iter().map(|c| c.message.as_str()).collect();
                let notes = if notes.is_empty() { String::new() } else { format!(" ({})", notes.join("; ")) };
                dependency_error = Some(format!("building the dependency `{}`: {}{notes}", msg.target.name, d.message));
            }
            continue;
        }
        let d = msg.message;
        let error = d.level == DiagnosticLevel::Error || d.level == DiagnosticLevel::Ice;
        let deprecated = d.level == DiagnosticLevel::Warning && d.code.as_ref().is_some_and(|c| c.code == "deprecated");
        if (!error && !deprecated) || d.message.starts_with("aborting due to") || d.message.starts_with("could not compile") {
            continue;
        }
        member_errors += usize::from(error);
        // A file compiled for several targets is reported once per target.
        if !seen.insert(d.rendered.clone().unwrap_or_else(|| d.message.clone())) {
            continue;
        }
        let code = d.code.as_ref().map(|c| c.code.clone());
        let primary = d.spans.iter().find(|s| s.is_primary);
        let file = primary.map(|s| {
            let p = Path::new(&s.file_name);
            p.strip_prefix(root).unwrap_or(p).to_string_lossy().replace('\\', "/")
        });
        let in_workspace = primary.is_some_and(|s| !Path::new(&s.file_name).is_absolute() || Path::new(&s.file_name).starts_with(root));
        let range = primary.filter(|_| in_workspace).map(|s| s.byte_start as usize..s.byte_end as usize);
        let declared = error && code.as_ref().is_some_and(|c| names.codes.contains(c));
        // An error inside a site a pack rule flagged, in words that do not name the crate
        // ("types differ in mutability" where a method of the crate changed its receiver).
        let rule = if error && !declared && !names.attributes(&d) {
            let inside = |(site, _): &&(std::ops::Range<usize>, &'static str)| range.as_ref().is_some_and(|r| site.start <= r.start && r.end <= site.end);
            match file.as_ref().and_then(|f| flagged.get(f)).and_then(|sites| sites.iter().filter(inside).min_by_key(|(site, _)| site.len())) {
                Some((_, rule)) => Some(*rule),
                None => {
                    out.other_errors.push((file.filter(|_| in_workspace), primary.map(|s| s.line_start), d.message.clone()));
                    continue;
                }
            }
        } else if !declared && !names.attributes(&d) {
            continue;
        } else {
            None
        };
        // The primary span's label says what the message does not ("types differ in
        // mutability" under "mismatched types").
        let label = primary.and_then(|s| s.label.as_deref()).filter(|_| rule.is_some());
        out.attributed.push(Attributed {
            error,
            file: file.filter(|_| in_workspace),
            line: primary.map(|s| s.line_start),
            range,
            highlighted: primary.and_then(|s| {
                let line = s.text.first()?;
                (s.line_start == s.line_end).then(|| {
                    line.text.chars().skip(line.highlight_start.saturating_sub(1)).take(line.highlight_end.saturating_sub(line.highlight_start)).collect()
                })
            }),
            item: if deprecated { deprecated_item(&d.message) } else { Vec::new() },
            code,
            message: label.map_or_else(|| d.message.clone(), |l| format!("{}: {l}", d.message)),
            two_releases: names.two_releases(&d),
            rendered: d.rendered.clone().unwrap_or(d.message),
            rule,
        });
    }
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let cargo_error = cargo_error(&stderr);
        // Cargo failed for something else than the members' own errors: a dependency, a
        // build script, the manifest. What the members' code has is then not all known.
        let build_script = cargo_error.as_ref().is_some_and(|e| e.starts_with("error: failed to run custom build command"));
        if dependency_error.is_some() || build_script || member_errors == 0 {
            out.failure = Some(match (dependency_error, cargo_error) {
                (Some(d), _) => d,
                (None, Some(e)) => e,
                (None, None) => "cargo check failed".to_string(),
            });
        }
    }
    out
}

/// The first error cargo printed and the lines that explain it: the `Caused by:` chain and
/// the first lines a failed build script wrote on its standard error (where `-sys` crates
/// say which system library is missing), without backtraces, at most eight lines.
pub fn cargo_error(stderr: &str) -> Option<String> {
    let lines: Vec<&str> = stderr.lines().collect();
    let start = lines.iter().position(|l| l.starts_with("error"))?;
    let mut out = vec![lines[start].trim_end().to_string()];
    let mut in_stdout = false;
    for line in &lines[start + 1..] {
        let t = line.trim();
        if line.starts_with("error") || line.starts_with("warning:") || t.starts_with("stack backtrace:") || t.starts_with("note: Some details are omitted") {
            break;
        }
        if t == "--- stdout" {
            in_stdout = true;
            continue;
        }
        if t == "--- stderr" {
            in_stdout = false;
            continue;
        }
        // Build scripts' instructions to cargo, cargo's advice about backtraces, blanks.
        if (in_stdout && t.starts_with("cargo:")) || t.is_empty() || t.starts_with("note: To improve backtraces") || t == "Caused by:" {
            continue;
        }
        // `process didn't exit successfully: `<target dir>/build/x-<hash>/build-script-build`
        // (exit status: 101)`: the status, not the path.
        if let Some(rest) = t.strip_prefix("process didn't exit successfully:") {
            let status = rest.rfind(" (").map_or("", |i| &rest[i + 1..]);
            out.push(format!("the build script did not exit successfully {status}").trim_end().to_string());
            continue;
        }
        // `thread 'main' (4242) panicked at ..`: the thread's id says nothing.
        let t = match t.strip_prefix("thread '").and_then(|r| r.split_once("' (")).and_then(|(name, r)| Some((name, r.split_once(") ")?.1))) {
            Some((name, rest)) => format!("thread '{name}' {rest}"),
            None => t.to_string(),
        };
        out.push(t);
        if out.len() == 8 {
            break;
        }
    }
    Some(out.join("\n  "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deprecation_messages_name_their_item() {
        assert_eq!(deprecated_item("use of deprecated method `rand::Rng::gen_range`: Renamed to `random_range`"), ["rand", "Rng", "gen_range"]);
        assert_eq!(deprecated_item("use of deprecated method `indexmap::IndexMap::<K, V, S>::remove`: use swap_remove"), ["indexmap", "IndexMap", "remove"]);
        assert!(deprecated_item("mismatched types").is_empty());
    }

    #[test]
    fn cargo_errors_keep_the_failing_crate_and_what_its_build_script_said() {
        let stderr = "   Compiling foo-sys v0.1.0 (/w/foo-sys)\nerror: failed to run custom build command for `foo-sys v0.1.0 (/w/foo-sys)`\nnote: To improve backtraces for build dependencies, set the CARGO_PROFILE_DEV_BUILD_OVERRIDE_DEBUG=true environment variable to enable debug information generation.\n\nCaused by:\n  process didn't exit successfully: `/w/target/debug/build/foo-sys-b9ab48/build-script-build` (exit status: 101)\n  --- stdout\n  cargo:rerun-if-changed=build.rs\n  cargo:warning=looking for foo\n\n  --- stderr\n\n  thread 'main' (2836) panicked at build.rs:1:58:\n  The system library `foo` required by crate `foo-sys` was not found.\n  stack backtrace:\n     0: __rustc::rust_begin_unwind\n";
        assert_eq!(
            cargo_error(stderr).unwrap(),
            "error: failed to run custom build command for `foo-sys v0.1.0 (/w/foo-sys)`\n  the build script did not exit successfully (exit status: 101)\n  thread 'main' panicked at build.rs:1:58:\n  The system library `foo` required by crate `foo-sys` was not found."
        );
        let manifest = "error: failed to load manifest for workspace member `/w/app`\n\nCaused by:\n  failed to parse manifest at `/w/app/Cargo.toml`\n";
        assert_eq!(
            cargo_error(manifest).unwrap(),
            "error: failed to load manifest for workspace member `/w/app`\n  failed to parse manifest at `/w/app/Cargo.toml`"
        );
        assert_eq!(cargo_error("    Finished `dev` profile\n"), None);
    }

    #[test]
    fn mentions_need_a_path_or_a_quoted_name() {
        let names = CrateNames { names: vec!["rand".into(), "r".into()], dirs: vec![], codes: Default::default() };
        assert!(names.mentions("use of deprecated function `rand::thread_rng`"));
        assert!(names.mentions("expected `r::Foo`"));
        assert!(!names.mentions("operand of the random brand"));
        assert!(!names.mentions("cannot find `operand`"));
        assert!(names.in_source("/home/u/.cargo/registry/src/index.crates.io-1/rand-0.9.0/src/rng.rs"));
        assert!(!names.in_source("/home/u/.cargo/registry/src/index.crates.io-1/rand_core-0.9.0/src/lib.rs"));
    }
}
