//! The engine that runs rules, packs and the judge over a workspace: the parallel walk
//! of module trees ([`walk`]), the compiler phase ([`compiler`]) and the pipeline that
//! strings walk → compiler phase → judge → plan together ([`pipeline`]). It computes a
//! [`crate::core::migration::Migration`]; it never writes the user's files.
//! [`pack_examples`] runs a migration pack's own examples through that pipeline
//! (`cargo migrate pack test`).

pub mod compiler;
pub mod lint_rewrites;
pub mod pack_examples;
pub mod pipeline;
pub mod walk;
