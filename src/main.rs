//! The `cargo-migrate` binary: run as `cargo migrate ...`.

fn main() -> std::process::ExitCode {
    cargo_migrate::cli::main()
}
