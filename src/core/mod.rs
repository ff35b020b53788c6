//! The bottom layer: plain data and the edit engine. No I/O, no parsing, no syn: every
//! other layer may use it, it uses none of them.
//!
//! - [`edition`]: Rust editions and the steps between them (each step's lint group).
//! - [`model`]: what stages pass each other (`Edit`, `Change`, `Site`, `Verdict`, ...).
//! - [`text`]: a file's exact text as read, and its line index.
//! - [`plan`]: choosing non-overlapping edits and applying them; the per-file fixed point.
//! - [`migration`]: the planned result of a run, before anything is written.

pub mod edition;
pub mod migration;
pub mod model;
pub mod plan;
pub mod text;
