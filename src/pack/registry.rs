//! The packs built into the binary (`migrations/<crate>/<from>-<to>.toml`, embedded with
//! `include_str!`), and compiling them.

use std::sync::Arc;

use super::compile::CompiledPack;
use super::format::FormatError;

/// The packs built into the binary: (path under `migrations/`, text).
pub fn builtin_sources() -> &'static [(&'static str, &'static str)] {
    &[
        ("rand/0.8-0.9.toml", include_str!("../../migrations/rand/0.8-0.9.toml")),
        ("base64/0.13-0.22.toml", include_str!("../../migrations/base64/0.13-0.22.toml")),
        ("base64/0.21-0.22.toml", include_str!("../../migrations/base64/0.21-0.22.toml")),
        ("indexmap/1-2.toml", include_str!("../../migrations/indexmap/1-2.toml")),
        ("bitflags/1-2.toml", include_str!("../../migrations/bitflags/1-2.toml")),
        ("nom/7-8.toml", include_str!("../../migrations/nom/7-8.toml")),
        ("chrono/0.4-0.4.38.toml", include_str!("../../migrations/chrono/0.4-0.4.38.toml")),
        ("thiserror/1-2.toml", include_str!("../../migrations/thiserror/1-2.toml")),
        ("axum/0.7-0.8.toml", include_str!("../../migrations/axum/0.7-0.8.toml")),
        ("syn/1-2.toml", include_str!("../../migrations/syn/1-2.toml")),
    ]
}

/// The built-in packs, compiled once per process (compiling checks each pack converges:
/// about 0.2 s for all of them, which an upgrade, `explain` and `pack list` would
/// otherwise pay at each call).
pub fn builtin() -> Result<Vec<Arc<CompiledPack>>, FormatError> {
    static PACKS: std::sync::OnceLock<Result<Vec<Arc<CompiledPack>>, FormatError>> = std::sync::OnceLock::new();
    PACKS
        .get_or_init(|| builtin_sources().iter().map(|(path, text)| CompiledPack::from_text(text, &format!("migrations/{path}")).map(Arc::new)).collect())
        .clone()
}
