//! The staging copy: the workspace copied to a temporary folder, where the steps are
//! applied one after the other, cargo resolves the bumped dependency and the compiler
//! phase builds. The user's tree is never written during a dry run (nor its `Cargo.lock`).
//!
//! Copied: everything under the workspace root but `.git` and the target folder. Path
//! dependencies that point outside the root are made absolute in the copy's manifests
//! (a staging-only edit that never reaches the diff), so they still resolve.

use std::path::{Path, PathBuf};

use toml_edit::{DocumentMut, Item, Value};

/// A temporary copy of a workspace.
pub struct Staging {
    _tmp: tempfile::TempDir,
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
        for rel in manifests {
            absolutize_paths(&copy.join(&rel), &root.join(&rel), root)?;
        }
        Ok(Staging { _tmp: tmp, root: copy, original: root.to_path_buf() })
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

/// Makes relative `path = ".."` values that leave the workspace root absolute.
fn absolutize_paths(copy: &Path, original: &Path, root: &Path) -> std::io::Result<()> {
    let text = std::fs::read_to_string(copy)?;
    let Ok(mut doc) = text.parse::<DocumentMut>() else { return Ok(()) };
    let dir = original.parent().unwrap_or(root).to_path_buf();
    let mut changed = false;
    fix_item(doc.as_item_mut(), &dir, root, &mut changed);
    if changed {
        std::fs::write(copy, doc.to_string())?;
    }
    Ok(())
}

fn fix_item(item: &mut Item, dir: &Path, root: &Path, changed: &mut bool) {
    let fix = |v: &mut Value, changed: &mut bool| {
        let Value::String(s) = v else { return };
        let p = Path::new(s.value());
        if p.is_relative() {
            let abs = crate::discover::normalize(&dir.join(p));
            if !abs.starts_with(root) {
                *v = Value::from(abs.to_string_lossy().into_owned());
                *changed = true;
            }
        }
    };
    match item {
        Item::Table(t) => {
            for (key, value) in t.iter_mut() {
                if key == "path" {
                    if let Item::Value(v) = value {
                        fix(v, changed);
                    }
                } else {
                    fix_item(value, dir, root, changed);
                }
            }
        }
        Item::Value(Value::InlineTable(t)) => {
            for (key, value) in t.iter_mut() {
                if key == "path" {
                    fix(value, changed);
                } else if let Value::InlineTable(_) = value {
                    let mut wrapped = Item::Value(value.clone());
                    fix_item(&mut wrapped, dir, root, changed);
                    if let Item::Value(v) = wrapped {
                        *value = v;
                    }
                }
            }
        }
        Item::ArrayOfTables(a) => {
            for t in a.iter_mut() {
                let mut wrapped = Item::Table(t.clone());
                fix_item(&mut wrapped, dir, root, changed);
                if let Item::Table(new) = wrapped {
                    *t = new;
                }
            }
        }
        _ => {}
    }
}
