//! Syntax: parsing with byte-accurate spans, token helpers shared by rules, `cfg`
//! evaluation and doc-test snippets. Pure functions of text; no I/O.

pub mod cfg;
pub mod doctest;
pub mod layout;
pub mod parsed;
pub mod tokens;
