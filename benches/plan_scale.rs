//! How the pipeline scales with the size of one file: generated files of 1, 2 and 5 MB
//! holding many sites the built-in rules change (`fn gen()` → `fn r#gen()`, `extern "C"`
//! → `unsafe extern "C"`), run through the real pipeline
//! (`engine::pipeline::migrate_source`: parse, rules, judge, plan, apply). Prints one
//! Markdown row per size: bytes, changes, seconds, peak memory.
//!
//! ```text
//! cargo bench --bench plan_scale                 # 1, 2 and 5 MB
//! cargo bench --bench plan_scale -- 1 10         # other sizes, in MB
//! ```
//!
//! Each size runs in a child process of its own, so its peak memory (`VmHWM` of
//! `/proc/self/status`, Linux only) is that size's alone. Results: `docs/benchmarks.md`.

use std::process::Command;
use std::time::Instant;

use cargo_migrate::engine::pipeline::migrate_source;
use cargo_migrate::engine::walk::CheckOptions;

/// A Rust file of about `bytes` bytes, two changes per module.
fn generate(bytes: usize) -> String {
    let mut text = String::with_capacity(bytes + 64);
    let mut i = 0usize;
    while text.len() < bytes {
        text.push_str(&format!("mod m{i} {{\n    fn gen() {{}}\n    extern \"C\" {{}}\n}}\n"));
        i += 1;
    }
    text
}

/// Peak resident memory of this process in KiB, if the system says.
fn peak_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Runs one size in this process and prints its row.
fn one(mb: f64) {
    let text = generate((mb * 1_000_000.0) as usize);
    let opts = CheckOptions::new(cargo_migrate::rules::edition_2024().to_vec(), cargo_migrate::core::edition::Edition::E2024);
    let start = Instant::now();
    let (changes, new_text) = migrate_source("src/generated.rs", &text, &opts).unwrap_or_else(|d| panic!("{}", d.message));
    let secs = start.elapsed().as_secs_f64();
    assert!(new_text.len() > text.len(), "nothing was changed");
    let peak = peak_kib().map_or_else(|| "?".to_string(), |k| format!("{:.0}", k as f64 / 1024.0));
    println!("| {mb} | {} | {} | {secs:.2} | {peak} |", text.len(), changes.len());
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    if std::env::args().any(|a| a == "--one") {
        one(args[0].parse().expect("size in MB"));
        return;
    }
    let sizes: Vec<String> = if args.is_empty() { vec!["1".into(), "2".into(), "5".into()] } else { args };
    println!("| MB | bytes | changes | seconds | peak MiB |");
    println!("| --- | --- | --- | --- | --- |");
    let exe = std::env::current_exe().expect("own path");
    for size in sizes {
        let status = Command::new(&exe).arg("--one").arg(&size).status().expect("run a size");
        assert!(status.success(), "size {size} failed");
    }
}
