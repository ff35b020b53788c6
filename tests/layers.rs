//! The layers of ARCHITECTURE.md, kept so: each top-level module of `src/` may use only
//! the modules this table allows (its non-test code, doc comments aside), and the bottom
//! layers do no I/O. A new dependency that goes the wrong way fails here with the file
//! and the line, before it becomes a cycle.

use std::path::{Path, PathBuf};

/// Each layer and the modules it may use, bottom first. A module may always use itself.
const ALLOWED: &[(&str, &[&str])] = &[
    ("core", &[]),
    ("syntax", &["core"]),
    ("cargo", &["core", "syntax"]),
    // Rules see a package's data (`cargo::discover::Package`) in their manifest context.
    ("rules", &["core", "syntax", "cargo"]),
    // The judge proposes; it never writes the user's files, so it cannot reach `cargo`.
    ("judge", &["core", "syntax"]),
    ("pack", &["core", "syntax", "rules", "judge"]),
    ("engine", &["core", "syntax", "cargo", "rules", "pack", "judge"]),
    ("ops", &["core", "syntax", "cargo", "rules", "pack", "judge", "engine"]),
    ("emit", &["core", "syntax", "cargo", "rules", "pack", "judge", "engine", "ops"]),
    ("cli", &["core", "syntax", "cargo", "rules", "pack", "judge", "engine", "ops", "emit"]),
];

/// What the bottom layers must not touch: plain data and pure functions of text.
const FORBIDDEN_IN: &[(&str, &[&str])] = &[
    ("core", &["std::fs", "std::process", "std::net", "syn::", "proc_macro2", "rayon"]),
    ("syntax", &["std::fs", "std::process", "std::net"]),
    ("rules", &["std::fs", "std::process", "std::net"]),
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The file's lines up to its `#[cfg(test)] mod` (tests may use anything), comments cut.
fn code_lines(text: &str) -> Vec<(usize, String)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if line.trim() == "#[cfg(test)]" && lines.get(i + 1).is_some_and(|next| next.starts_with("mod ")) {
            break;
        }
        out.push((i + 1, without_strings(line.split("//").next().unwrap_or(""))));
    }
    out
}

/// The line with the contents of its string literals blanked (a message may name a path).
fn without_strings(line: &str) -> String {
    let mut out = String::new();
    let (mut inside, mut escaped) = (false, false);
    for c in line.chars() {
        if inside {
            match (escaped, c) {
                (false, '\\') => escaped = true,
                (false, '"') => {
                    inside = false;
                    out.push(c);
                }
                _ => escaped = false,
            }
        } else {
            inside = c == '"';
            out.push(c);
        }
    }
    out
}

/// The top-level modules a line refers to through `crate::`.
fn crate_refs(line: &str) -> Vec<String> {
    line.match_indices("crate::")
        .filter(|(at, _)| !line[..*at].ends_with(|c: char| c.is_alphanumeric() || c == '_'))
        .map(|(at, _)| line[at + "crate::".len()..].chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect())
        .filter(|m: &String| !m.is_empty())
        .collect()
}

#[test]
fn dependencies_point_down_the_layers() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut wrong = Vec::new();
    let mut seen_layers = std::collections::BTreeSet::new();
    for file in &files {
        let rel = file.strip_prefix(&src).unwrap();
        let Some(layer) = rel.components().next().and_then(|c| c.as_os_str().to_str()).filter(|_| rel.components().count() > 1) else {
            continue; // lib.rs, main.rs
        };
        let Some((_, allowed)) = ALLOWED.iter().find(|(l, _)| *l == layer) else {
            wrong.push(format!("{}: `src/{layer}/` is not a layer of ARCHITECTURE.md (add it to this test's table)", rel.display()));
            continue;
        };
        seen_layers.insert(layer.to_string());
        let text = std::fs::read_to_string(file).unwrap();
        for (number, line) in code_lines(&text) {
            for used in crate_refs(&line) {
                if used != layer && !allowed.contains(&used.as_str()) {
                    wrong.push(format!("src/{}:{number}: `{layer}` uses `crate::{used}`: {}", rel.display(), line.trim()));
                }
            }
            for (bottom, forbidden) in FORBIDDEN_IN {
                if *bottom == layer {
                    for f in forbidden.iter().filter(|f| line.contains(*f)) {
                        wrong.push(format!("src/{}:{number}: `{layer}` may not use `{f}`: {}", rel.display(), line.trim()));
                    }
                }
            }
        }
    }
    assert!(wrong.is_empty(), "dependencies against the layers:\n{}", wrong.join("\n"));
    let expected: std::collections::BTreeSet<String> = ALLOWED.iter().map(|(l, _)| l.to_string()).collect();
    assert_eq!(seen_layers, expected, "every layer of the table has code");
}

#[test]
fn the_checker_sees_a_wrong_way_dependency() {
    // The scanner itself: a reference is found in code, not in a comment or a longer name.
    assert_eq!(crate_refs("use crate::engine::walk::CheckOptions;"), ["engine"]);
    assert_eq!(crate_refs("let x = crate::ops::finish(y, crate::core::model::Z);"), ["ops", "core"]);
    assert!(crate_refs("use other_crate::engine;").is_empty());
    assert!(crate_refs(&without_strings(r#"err("use `crate::cli` \" crate::ops")"#)).is_empty());
    let lines = code_lines("use crate::core::model::X; // see crate::cli\n#[cfg(test)]\nmod tests {\n    use crate::cli;\n}\n");
    let refs: Vec<String> = lines.iter().flat_map(|(_, l)| crate_refs(l)).collect();
    assert_eq!(refs, ["core"]);
}
