//! A crate on Rust 2021 with something for every rule of `cargo migrate edition`.
//! See README.md for what each file demonstrates.

// A cfg_if-like macro: `mod` declarations written inside a macro invocation.
macro_rules! cfg_if {
    (if #[cfg($m:meta)] { $($yes:item)* } else { $($no:item)* }) => {
        $( #[cfg($m)] $yes )*
        $( #[cfg(not($m))] $no )*
    };
}

cfg_if! {
    if #[cfg(unix)] {
        mod sys_unix;
        pub use sys_unix::process_id;
    } else {
        mod sys_other;
        pub use sys_other::process_id;
    }
}

// Only compiled on Windows: `cargo fix --edition` never sees this file on Linux.
#[cfg(windows)]
mod windows;

pub mod macros;

// unsafe-extern-blocks
extern "C" {
    fn abs(x: i32) -> i32;
}

/// The absolute value, through libc.
pub fn absolute(x: i32) -> i32 {
    unsafe { abs(x) }
}

// unsafe-attributes
#[no_mangle]
pub extern "C" fn edition_demo_answer() -> u32 {
    42
}

#[cfg_attr(unix, export_name = "edition_demo_entry")]
pub extern "C" fn entry() -> u32 {
    7
}

// keyword-gen: a function, a method, a lifetime.
/// The next number of a fixed sequence.
pub fn gen() -> u32 {
    4
}

/// A tiny deterministic generator.
pub struct Rng(pub u32);

impl Rng {
    /// The next value.
    pub fn gen(&mut self) -> u32 {
        self.0 = self.0.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        self.0 >> 16
    }
}

/// The first element; `'gen` is a lifetime named like the new keyword.
pub fn first<'gen>(xs: &'gen [u32]) -> &'gen u32 {
    &xs[0]
}

/// Reads the demo's name from the environment.
pub fn name_from_env() -> String {
    std::env::var("EDITION_DEMO_NAME").unwrap_or_default()
}

/// Prints a few values; `gen` sits inside `println!` arguments.
pub fn show() {
    let mut rng = Rng(1);
    println!("gen() = {}, rng.gen() = {}", gen(), rng.gen());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sites_inside_macro_arguments() {
        let mut rng = Rng(1);
        assert_eq!(gen(), 4);
        assert_eq!(rng.gen(), Rng(1).gen());
        assert_eq!(*first(&[gen()]), 4);
        assert_eq!(absolute(-3), 3);
    }
}

// if-let-guard-method: the guard of `queue.lock()` is reached through `.pop()`, which
// rustc's `if_let_rescope` lint does not see. The else branch locks the queue again: a
// deadlock under Rust 2021's drop order, which Rust 2024 fixes; the judge keeps `if let`.
/// The next job of a queue, or 0 (pushed back as a marker) when it is empty.
pub fn next_job(queue: &std::sync::Mutex<Vec<u32>>) -> u32 {
    if let Some(job) = queue.lock().unwrap().pop() {
        job
    } else {
        queue.lock().unwrap().push(0);
        0
    }
}

/**
 * unsafe-std-functions in a doc test (a block doc comment): `cargo test --doc` compiles
 * it with the crate's edition, and `cargo fix --edition` does not migrate it.
 *
 * ```
 * std::env::set_var("EDITION_DEMO_MODE", "doc");
 * assert_eq!(edition_demo::mode(), "doc");
 * ```
 */
pub fn mode() -> String {
    std::env::var("EDITION_DEMO_MODE").unwrap_or_default()
}
