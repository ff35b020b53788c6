//! Reached through the cfg_if-like macro in lib.rs (compiled where unix is off).

/// The process id.
pub fn process_id() -> u32 {
    gen()
}

fn gen() -> u32 {
    std::process::id()
}
