//! The engine that runs rules, packs and the judge over a workspace: the parallel walk
//! of module trees ([`walk`]), the compiler phase ([`compiler`]) and the pipeline that
//! strings walk → compiler phase → judge → plan together ([`pipeline`]). It computes a
//! [`crate::core::migration::Migration`]; it never writes the user's files.

pub mod compiler;
pub mod pipeline;
pub mod walk;
