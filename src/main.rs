//! The `cargo-migrate` binary: run as `cargo migrate ...`.

/// The allocator: see the note on `mimalloc` in Cargo.toml.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    // The compiler phase runs this binary as a rustc wrapper for workspace members.
    if let Some(code) = cargo_migrate::cargo::build::run_as_wrapper_if_asked() {
        std::process::exit(code);
    }
    // The checks run on a thread with the stack of the pool's workers: planning re-checks
    // files and the judge parses them here, and deep nesting must not overflow the main
    // thread's smaller stack (8 MiB, or less under `ulimit -s`).
    std::thread::Builder::new()
        .name("main".into())
        .stack_size(cargo_migrate::engine::walk::WORKER_STACK)
        .spawn(cargo_migrate::cli::main)
        .map_or_else(|_| cargo_migrate::cli::main(), |t| t.join().unwrap_or(std::process::ExitCode::from(101)))
}
