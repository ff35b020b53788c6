//! `if let` over stdout and stderr locks (std's reentrant lock guards).
use std::io::{self, Write};

/// Prints a line, or tells stderr it could not.
pub fn print_or_complain(line: &str) -> bool {
    // expect: keep-if-let — else writes to stderr; stdout's lock is not involved, so releasing it earlier changes nothing
    if let Ok(()) = io::stdout().lock().write_all(line.as_bytes()) {
        true
    } else {
        eprintln!("could not write to stdout");
        false
    }
}

/// Prints a line, or prints a shorter one.
pub fn print_or_retry(line: &str) -> bool {
    // expect: keep-if-let — else is the literal `true`: nothing there can observe when stdout's lock is released
    if let Err(_) = io::stdout().lock().write_all(line.as_bytes()) {
        println!("(line too long)");
        false
    } else {
        true
    }
}

/// Writes a diagnostic, then flushes stderr.
pub fn diagnose(message: &str) -> io::Result<()> {
    // expect: keep-if-let — else locks stderr again; the lock is reentrant, so 2021 and 2024 behave the same
    if let Err(e) = io::stderr().lock().write_all(message.as_bytes()) {
        Err(e)
    } else {
        io::stderr().lock().flush()
    }
}
