//! `cargo migrate`: migrate Rust code across editions and breaking library releases, as
//! reviewable diffs.
//!
//! Layers, each using only those above it in this list (ARCHITECTURE.md draws them;
//! `tests/layers.rs` keeps them so):
//! [`core`] (plain data, the edit engine) → [`syntax`] → [`cargo`] → [`rules`], [`pack`],
//! [`judge`] → [`engine`] (the walk, the compiler phase, the pipeline) → [`ops`]
//! (`edition`, `upgrade`: request in, outcome out) → [`emit`] (output formats) → [`cli`].

#![warn(missing_docs)]

pub mod cargo;
pub mod cli;
pub mod core;
pub mod emit;
pub mod engine;
pub mod judge;
pub mod ops;
pub mod pack;
pub mod rules;
pub mod syntax;
