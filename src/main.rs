//! The `cargo-migrate` binary: run as `cargo migrate ...`.

fn main() -> std::process::ExitCode {
    // The compiler phase runs this binary as a rustc wrapper for workspace members.
    if let Some(code) = cargo_migrate::cargo::build::run_as_wrapper_if_asked() {
        std::process::exit(code);
    }
    cargo_migrate::cli::main()
}
