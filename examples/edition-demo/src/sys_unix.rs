//! Reached through the cfg_if-like macro in lib.rs (compiled on unix).

extern "C" {
    fn getpid() -> i32;
}

/// The process id, through libc.
pub fn process_id() -> u32 {
    unsafe { getpid() as u32 }
}
