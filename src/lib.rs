//! `cargo migrate`: migrate Rust code across editions and breaking library releases, as
//! reviewable diffs.
//!
//! The pipeline, one module per stage (see ARCHITECTURE.md):
//! [`discover`] → [`check`] (load, parse, run [`rules`]; then [`compiler`]) → [`judge`]
//! → [`plan`] → [`emit`] or [`apply`] → [`verify`]. [`pipeline`] strings the stages
//! together; [`model`] is the plain data that flows between them. [`pack`] runs migration
//! packs as rules and [`upgrade`] drives `cargo migrate upgrade`.

#![warn(missing_docs)]

pub mod apply;
pub mod cfg;
pub mod check;
pub mod cli;
pub mod compiler;
pub mod discover;
pub mod doctest;
pub mod emit;
pub mod judge;
pub mod model;
pub mod pack;
pub mod pipeline;
pub mod plan;
pub mod rules;
pub mod source;
pub mod syntax;
pub mod upgrade;
pub mod verify;
