//! The staging copy: the workspace copied to a temporary folder, where the steps are
//! applied one after the other, cargo resolves the bumped dependency and the compiler
//! phase builds. The user's tree is never written during a dry run (nor its `Cargo.lock`).
//!
//! Copied: everything under the workspace root but `.git` and the target folder. Path
//! dependencies that point outside the root are made absolute in the copy's manifests
//! (a staging-only edit that never reaches the diff), so they still resolve.

use std::path::{Path, PathBuf};

use toml_edit::{Item, Value};

/// A temporary copy of a workspace.
pub struct Staging {
    _tmp: tempfile::TempDir,
    /// Per manifest (display path): the path literals made absolute (absolute, original).
    pub rewrites: std::collections::BTreeMap<String, Vec<(String, String)>>,
    /// The copy's root (the workspace root's counterpart).
    pub root: PathBuf,
    /// The original workspace root.
    pub original: PathBuf,
}

impl Staging {
    /// Copies `root` (but `.git` and `skip`, the target folder) to a temporary folder.
    pub fn copy(root: &Path, skip: &Path) -> std::io::Result<Staging> {
        let tmp = tempfile::Builder::new().prefix("cargo-migrate-upgrade").tempdir()?;
        let name = root.file_name().map_or_else(|| "workspace".into(), |n| n.to_os_string());
        let copy = tmp.path().canonicalize()?.join(name);
        let mut manifests = Vec::new();
        copy_tree(root, &copy, skip, &mut manifests)?;
        let mut rewrites = std::collections::BTreeMap::new();
        for rel in manifests {
            let done = absolutize_paths(&copy.join(&rel), &root.join(&rel), root)?;
            if !done.is_empty() {
                rewrites.insert(rel.to_string_lossy().replace('\\', "/"), done);
            }
        }
        Ok(Staging { _tmp: tmp, rewrites, root: copy, original: root.to_path_buf() })
    }

    /// The copy of an original path (a path outside the root stays as it is).
    pub fn staged(&self, original: &Path) -> PathBuf {
        original.strip_prefix(&self.original).map_or_else(|_| original.to_path_buf(), |rel| self.root.join(rel))
    }
}

fn copy_tree(from: &Path, to: &Path, skip: &Path, manifests: &mut Vec<PathBuf>) -> std::io::Result<()> {
    fn walk(root: &Path, dir: &Path, to: &Path, skip: &Path, manifests: &mut Vec<PathBuf>) -> std::io::Result<()> {
        std::fs::create_dir_all(to.join(dir.strip_prefix(root).unwrap_or(dir)))?;
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            let path = entry.path();
            if entry.file_name() == ".git" || path == skip {
                continue;
            }
            let rel = path.strip_prefix(root).unwrap_or(&path).to_path_buf();
            let kind = std::fs::metadata(&path)?;
            if kind.is_dir() {
                walk(root, &path, to, skip, manifests)?;
            } else if kind.is_file() {
                std::fs::copy(&path, to.join(&rel))?;
                if entry.file_name() == "Cargo.toml" {
                    manifests.push(rel);
                }
            }
        }
        Ok(())
    }
    walk(from, from, to, skip, manifests)
}

/// Makes relative `path = ".."` values that leave the workspace root absolute, as
/// byte-range edits of the string literals (nothing else in the file moves). Returns the
/// literals replaced: (absolute literal, original literal).
fn absolutize_paths(copy: &Path, original: &Path, root: &Path) -> std::io::Result<Vec<(String, String)>> {
    let text = std::fs::read_to_string(copy)?;
    let Ok(doc) = toml_edit::ImDocument::parse(text.as_str()) else { return Ok(Vec::new()) };
    let dir = original.parent().unwrap_or(root).to_path_buf();
    let mut found = Vec::new();
    find_paths(doc.as_item(), &mut found);
    let mut edits = Vec::new();
    let mut rewrites = Vec::new();
    for (span, value) in found {
        let p = Path::new(&value);
        if !p.is_relative() {
            continue;
        }
        let abs = crate::cargo::discover::normalize(&dir.join(p));
        if abs.starts_with(root) {
            continue;
        }
        let literal = Value::from(abs.to_string_lossy().into_owned()).to_string().trim().to_string();
        rewrites.push((literal.clone(), text[span.clone()].to_string()));
        edits.push(crate::core::model::Edit::replace(span, literal));
    }
    if !edits.is_empty() {
        let new = crate::core::plan::apply_edits(&text, &edits).map_err(|e| std::io::Error::other(e.to_string()))?;
        std::fs::write(copy, new)?;
    }
    Ok(rewrites)
}

/// The spans and values of every `path = ".."` in a manifest.
fn find_paths(item: &Item, out: &mut Vec<(std::ops::Range<usize>, String)>) {
    let visit_table = |t: &dyn toml_edit::TableLike, out: &mut Vec<(std::ops::Range<usize>, String)>| {
        for (key, value) in t.iter() {
            match value {
                Item::Value(Value::String(s)) if key == "path" => {
                    if let Some(span) = s.span() {
                        out.push((span, s.value().clone()));
                    }
                }
                other => find_paths(other, out),
            }
        }
    };
    match item {
        Item::Table(t) => visit_table(t, out),
        Item::Value(Value::InlineTable(t)) => visit_table(t, out),
        Item::ArrayOfTables(a) => a.iter().for_each(|t| visit_table(t, out)),
        _ => {}
    }
}

/// Maps a text of the staging copy back to the user's: the absolutized path literals
/// become what the user wrote again; `edits` (on `staged`) are shifted to match.
pub fn unstage(staged: &str, rewrites: &[(String, String)], edits: &mut [crate::core::model::Edit]) -> String {
    if rewrites.is_empty() {
        return staged.to_string();
    }
    // Where each rewritten literal sits in the staged text, and its length change.
    let mut spots: Vec<(usize, usize, &str)> = Vec::new();
    for (abs, orig) in rewrites {
        for (at, _) in staged.match_indices(abs.as_str()) {
            spots.push((at, abs.len(), orig.as_str()));
        }
    }
    spots.sort();
    spots.dedup_by_key(|s| s.0);
    let shift =
        |offset: usize| -> isize { spots.iter().filter(|(at, len, _)| at + len <= offset).map(|(_, len, orig)| orig.len() as isize - *len as isize).sum() };
    for e in edits.iter_mut() {
        let (a, b) = (shift(e.range.start), shift(e.range.end));
        e.range = (e.range.start as isize + a) as usize..(e.range.end as isize + b) as usize;
    }
    let mut out = String::with_capacity(staged.len());
    let mut pos = 0;
    for (at, len, orig) in &spots {
        if *at < pos {
            continue;
        }
        out.push_str(&staged[pos..*at]);
        out.push_str(orig);
        pos = at + len;
    }
    out.push_str(&staged[pos..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unstage_restores_the_user_text_and_shifts_edits() {
        let rewrites = vec![("\"/abs/lib\"".to_string(), "\"../lib\"".to_string())];
        let staged = "a = { path = \"/abs/lib\", version = \"1\" }\n";
        let at = staged.find("\"1\"").unwrap();
        let mut edits = vec![crate::core::model::Edit::replace(at..at + 3, "\"2\"")];
        let user = unstage(staged, &rewrites, &mut edits);
        assert_eq!(user, "a = { path = \"../lib\", version = \"1\" }\n");
        assert_eq!(&user[edits[0].range.clone()], "\"1\"");
    }
}
