//! Migration packs: declarative rules that move code across a breaking release of a
//! library (`migrations/<crate>/<from>-<to>.toml`).
//!
//! One stage per module, as in rust-analyzer's structural search and replace:
//!
//! - [`format`]: the TOML file and its JSON Schema (serde types, no logic);
//! - [`pattern`]: `match`/`replace` texts compiled to plain trees and templates;
//! - [`resolve`]: what a file's names stand for (imports, local items, bindings);
//! - [`matcher`]: where patterns match, with metavariables bound to byte ranges;
//! - [`template`] and [`imports`]: the replacement text and the smallest edits, for code
//!   and for `use` items; [`literal`] the pieces of a string literal (a route's
//!   segments, a format string's arguments); [`attribute`] and [`derive`](mod@derive)
//!   match attribute and macro rules; [`introduced`]: what a replacement brings that its pattern did not
//!   have, which makes its rule needs-review.
//!
//! Around those stages, one module per job:
//!
//! - [`compile`]: a pack file's rules compiled into a [`CompiledPack`], plain data
//!   (`Send + Sync`);
//! - [`run`]: a compiled pack run on one parsed file ([`run::run_pack`]), with the
//!   compiler's [`CompilerSite`]s of an upgrade;
//! - [`rule`]: [`PackRule`], which runs a pack as a [`crate::rules::Rule`], so the
//!   pipeline runs packs exactly like built-in rules;
//! - [`shim`]: a pack's shims, checked when the pack is loaded, and where a file gets
//!   one (the uses pointed at it; a `pub use` of a replaced item a judge site);
//! - [`registry`]: the built-in packs; [`explain`](mod@explain): what `cargo migrate
//!   explain` prints for them; [`scaffold`](mod@scaffold): `cargo migrate pack new`.
//!
//! This layer depends on `core`, `syntax`, `rules` and `judge` only: running a pack's own
//! examples through the pipeline (`cargo migrate pack test`) is the engine's
//! `pack_examples` module.
//!
//! **Architecture invariant:** a pack is data. Nothing in it is executed: patterns are
//! parsed, never expanded; templates are spliced text.

pub mod attribute;
pub mod compile;
pub mod derive;
pub mod explain;
pub mod format;
pub mod imports;
pub mod introduced;
pub mod literal;
pub mod matcher;
pub mod pattern;
pub mod registry;
pub mod resolve;
pub mod rule;
pub mod run;
pub mod scaffold;
pub mod shim;
pub mod template;

pub use compile::{Action, ChoiceOption, CompiledPack, CompiledRule};
pub use explain::explain;
pub use registry::{builtin, builtin_sources};
pub use rule::PackRule;
pub use run::{run_pack, CfgSplit, CompilerSite, PackChoice, PackRun, RunCx};
pub use scaffold::scaffold;
