//! The judge's labeled set, `benches/judge-set`: its labels, and how they are matched to
//! the sites the compiler reports. Shared by `benches/judge_eval.rs` (which measures the
//! judge on it) and `tests/judge_set.rs` (which keeps it honest) through `#[path]`.
//!
//! A label is a comment on the line just above the line the compiler reports for a site
//! (the `if let` line; for a tail expression, the line of the tail's temporary):
//!
//! ```text
//! // expect: OPTION-ID — why
//! ```
#![allow(dead_code)] // each includer uses part of it

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The fewest labeled sites the set may have.
pub const MIN_SITES: usize = 45;
/// The fewest sites transplanted from public code (`src/real.rs`).
pub const MIN_REAL_SITES: usize = 12;
/// The file of the set that holds the transplanted sites.
pub const REAL_FILE: &str = "src/real.rs";

/// The option ids a label may name, with the lint whose sites offer them.
pub const OPTIONS: [(&str, &str); 4] =
    [("keep-if-let", "if_let_rescope"), ("rewrite-to-match", "if_let_rescope"), ("accept", "tail_expr_drop_order"), ("review", "tail_expr_drop_order")];

const MARKER: &str = "// expect:";
const SEPARATOR: &str = " — ";

/// One label: the site it is for, the right option and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label {
    /// File of the site, relative to the set's root, `/`-separated (as sites name files).
    pub file: String,
    /// 1-based line of the site (the line after the label).
    pub line: usize,
    /// The right option's id.
    pub option: String,
    /// Why, as written.
    pub why: String,
}

impl Label {
    /// The lint whose sites offer this label's option.
    pub fn rule(&self) -> &'static str {
        OPTIONS.iter().find(|(id, _)| *id == self.option).map(|(_, rule)| *rule).expect("labels are validated when read")
    }

    /// Whether sites of `rule` offer this label's option: the `if-let-guard-method` rule's
    /// sites ask `if_let_rescope`'s question, with its options.
    pub fn fits(&self, rule: &str) -> bool {
        rule == self.rule() || (rule == "if-let-guard-method" && self.rule() == "if_let_rescope")
    }
}

/// The set's folder in this repository.
pub fn set_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/judge-set")
}

/// Copies the set into `to` (without build output or a lock file), so that building it
/// leaves the repository clean.
pub fn copy_set(to: &Path) -> std::io::Result<()> {
    fn copy(from: &Path, to: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(to)?;
        for entry in std::fs::read_dir(from)? {
            let entry = entry?;
            let name = entry.file_name();
            if name == "target" || name == "Cargo.lock" {
                continue;
            }
            if entry.file_type()?.is_dir() {
                copy(&entry.path(), &to.join(&name))?;
            } else {
                std::fs::copy(entry.path(), to.join(&name))?;
            }
        }
        Ok(())
    }
    copy(&set_dir(), to)
}

/// Reads every label under `root/src`. A comment that starts with the marker but is not
/// `// expect: ID — why` with a known ID and a why is an error, as is a label with no line
/// after it.
pub fn labels(root: &Path) -> Result<Vec<Label>, String> {
    let mut files = Vec::new();
    collect_rs(&root.join("src"), &mut files).map_err(|e| format!("cannot read {}: {e}", root.display()))?;
    files.sort();
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let rel = path.strip_prefix(root).unwrap_or(&path).to_string_lossy().replace('\\', "/");
        let count = text.lines().count();
        for (i, line) in text.lines().enumerate() {
            let Some(rest) = line.trim_start().strip_prefix(MARKER) else { continue };
            let at = format!("{rel}:{}", i + 1);
            // The why is not empty: the trimmed text would not contain the separator.
            let Some((id, why)) = rest.trim().split_once(SEPARATOR) else {
                errors.push(format!("{at}: a label is `{MARKER} ID{SEPARATOR}why`, got `{}`", line.trim()));
                continue;
            };
            let (id, why) = (id.trim(), why.trim());
            if !OPTIONS.iter().any(|(known, _)| *known == id) {
                errors.push(format!("{at}: unknown option `{id}` (known: {})", OPTIONS.map(|(id, _)| id).join(", ")));
            } else if i + 1 >= count {
                errors.push(format!("{at}: a label on the last line labels nothing"));
            } else {
                out.push(Label { file: rel.clone(), line: i + 2, option: id.to_string(), why: why.to_string() });
            }
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors.join("\n"))
    }
}

fn collect_rs(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_rs(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    Ok(())
}

/// Where a site is: its lint, its file (relative to the set's root) and its line.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct SiteKey {
    /// The lint that reported it.
    pub rule: String,
    /// Its file, `/`-separated, relative to the set's root.
    pub file: String,
    /// Its 1-based line.
    pub line: usize,
}

/// Pairs every site with its label. Fails, listing every problem, when a site has no
/// label, a label has no site, a label names an option the site's lint does not offer,
/// or two sites are reported on one line (a label could not tell them apart).
pub fn match_labels<T>(labels: &[Label], sites: Vec<T>, key: impl Fn(&T) -> SiteKey) -> Result<Vec<(Label, T)>, String> {
    let mut by_place: BTreeMap<(String, usize), &Label> = BTreeMap::new();
    for label in labels {
        by_place.insert((label.file.clone(), label.line), label);
    }
    let mut errors = Vec::new();
    let mut seen: BTreeMap<(String, usize), usize> = BTreeMap::new();
    let mut out = Vec::new();
    for site in sites {
        let k = key(&site);
        let place = (k.file.clone(), k.line);
        *seen.entry(place.clone()).or_default() += 1;
        if seen[&place] > 1 {
            errors.push(format!("{}:{}: two sites on one line; put one per line so that each has its own label", k.file, k.line));
            continue;
        }
        match by_place.get(&place) {
            None => errors.push(format!("{}:{}: a {} site without a label (`{MARKER} ID{SEPARATOR}why` on the line above)", k.file, k.line, k.rule)),
            Some(label) if !label.fits(&k.rule) => {
                errors.push(format!("{}:{}: labeled `{}`, an option of {}, but the site is a {} site", k.file, k.line, label.option, label.rule(), k.rule))
            }
            Some(label) => out.push(((*label).clone(), site)),
        }
    }
    for label in labels {
        if !seen.contains_key(&(label.file.clone(), label.line)) {
            errors.push(format!("{}:{}: labeled `{}` but the compiler reports no site on this line", label.file, label.line, label.option));
        }
    }
    if errors.is_empty() {
        out.sort_by(|a, b| (&a.0.file, a.0.line).cmp(&(&b.0.file, b.0.line)));
        Ok(out)
    } else {
        errors.sort();
        Err(errors.join("\n"))
    }
}
