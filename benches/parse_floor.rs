//! The floor of the syntactic pass: reading and parsing with syn, on one thread, every
//! `.rs` file under the given folders (what `cargo migrate edition --no-compiler` must at
//! least do), nothing else. `benches/corpus.py` runs it over the corpus and divides the
//! syntax-only times by it.
//!
//! ```text
//! cargo bench --bench parse_floor -- DIR [DIR..]     # one line of JSON per folder
//! ```
//!
//! Each folder: files, lines, the best of three wall times in milliseconds. Folders named
//! `target` or starting with `.` are skipped; a file syn cannot parse counts (its time is
//! spent all the same).

use std::path::{Path, PathBuf};
use std::time::Instant;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut entries: Vec<_> = entries.flatten().collect();
    entries.sort_by_key(|e| e.path());
    for entry in entries {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if path.is_dir() {
            if name != "target" && !name.starts_with('.') {
                rust_files(&path, out);
            }
        } else if name.ends_with(".rs") {
            out.push(path);
        }
    }
}

fn main() {
    let dirs: Vec<PathBuf> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).map(PathBuf::from).collect();
    if dirs.is_empty() {
        eprintln!("usage: cargo bench --bench parse_floor -- DIR [DIR..]");
        std::process::exit(2);
    }
    for dir in dirs {
        let mut files = Vec::new();
        rust_files(&dir, &mut files);
        let lines: usize = files.iter().filter_map(|f| std::fs::read_to_string(f).ok()).map(|t| t.lines().count()).sum();
        let mut best = f64::INFINITY;
        for _ in 0..3 {
            let started = Instant::now();
            for file in &files {
                let Ok(text) = std::fs::read_to_string(file) else { continue };
                let _ = std::hint::black_box(syn::parse_file(&text));
            }
            best = best.min(started.elapsed().as_secs_f64() * 1000.0);
        }
        println!("{{\"dir\": {:?}, \"files\": {}, \"lines\": {lines}, \"ms\": {best:.1}}}", dir.display().to_string(), files.len());
    }
}
