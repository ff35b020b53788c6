//! The judge's labeled set: sites of the `if_let_rescope` and `tail_expr_drop_order`
//! lints, each labeled on the line just above the line the compiler reports for it:
//!
//! ```text
//! // expect: OPTION-ID — why
//! ```
//!
//! How the labels are decided (the same rule for every site):
//!
//! - `if_let_rescope` — Rust 2024 drops the scrutinee's temporaries before `else`.
//!   `keep-if-let` when the 2021 order is a bug there (the `else` branch takes the same
//!   lock or borrows the same cell again: a deadlock, a failed `try_lock`, a borrow panic),
//!   or when nothing the `else` branch does can observe that the destructor ran earlier.
//!   `rewrite-to-match` when the `else` branch observes the destructor's effects, or runs
//!   under the protection of the guard (the `else` of `if let Err(_) = m.lock()` is the
//!   path where the lock *was* taken), and the 2021 order is the intended behaviour.
//! - `tail_expr_drop_order` — Rust 2024 drops the tail expression's temporaries before the
//!   block's locals. `accept` when the order of the two destructors cannot be observed,
//!   or when the 2021 order is a bug (a local's `Drop` takes the lock the tail's guard
//!   holds: a deadlock). `review` when both destructors touch shared state and the new
//!   order changes what can be observed (log order, messages, a deadlock that 2024
//!   introduces).
//!
//! `guards` holds `if let`s whose guard is reached through a method call (the
//! `if-let-guard-method` rule's sites, which rustc does not report). `real` holds sites transplanted from public repositories (each cites its source);
//! `later` holds sites written after the heuristics were corrected on the others; the
//! other modules are synthetic cases for what the judge must tell apart.
#![allow(dead_code, clippy::all)]

pub mod drops;
pub mod guards;
pub mod io;
pub mod later;
pub mod locks;
pub mod real;
pub mod tail;
