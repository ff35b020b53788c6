//! Everything that talks to cargo or writes the user's files: workspace discovery
//! (`cargo metadata`, module files), the build configuration and the `RUSTC_WORKSPACE_WRAPPER`,
//! one `cargo check` runner with its error parser, and atomic writes guarded by VCS state.

pub mod build;
pub mod check;
pub mod discover;
pub mod failed_targets;
pub mod write;
