//! Operations: each takes a plain request and returns a plain outcome, printing nothing.

pub mod upgrade;
pub mod verify;
