//! Only compiled on Windows (`#[cfg(windows)] mod windows;` in lib.rs).

extern "system" {
    fn GetTickCount() -> u32;
}

/// Milliseconds since boot.
pub fn gen() -> u32 {
    unsafe { GetTickCount() }
}
