//! `mylib` 2.0: greetings, words and counters.
//!
//! What changed since 1.x, and how `cargo migrate upgrade mylib` moves your code
//! (`migrations/mylib/1-2.toml`, shipped in this package):
//!
//! - `make_greeting` is [`greeting`];
//! - `Greet::greet_loud` is [`Greet::shout`];
//! - [`split_words`] splits on whitespace only: 1.x also split on commas, which
//!   [`split_words_and_commas`] still does (a choice: the pack keeps 1.x's behaviour and
//!   asks you to review it);
//! - `Counter::count` is [`Counter::total`] (`count` stays, deprecated, for one release).

/// A greeting for `name`.
pub fn greeting(name: &str) -> String {
    format!("Hello, {name}!")
}

/// Things that can greet.
pub trait Greet {
    /// A loud greeting.
    fn shout(&self) -> String;
}

impl Greet for str {
    fn shout(&self) -> String {
        greeting(self).to_uppercase()
    }
}

/// The words of `s`, split on whitespace.
pub fn split_words(s: &str) -> Vec<String> {
    s.split_whitespace().map(String::from).collect()
}

/// The words of `s`, split on whitespace and commas (what `split_words` did in 1.x).
pub fn split_words_and_commas(s: &str) -> Vec<String> {
    s.split(|c: char| c.is_whitespace() || c == ',').filter(|w| !w.is_empty()).map(String::from).collect()
}

/// A running total.
#[derive(Debug, Default)]
pub struct Counter {
    n: u64,
}

impl Counter {
    /// A counter at zero.
    pub fn new() -> Counter {
        Counter::default()
    }

    /// Adds `k`.
    pub fn add(&mut self, k: u64) {
        self.n += k;
    }

    /// The total so far.
    pub fn total(&self) -> u64 {
        self.n
    }

    /// The total so far (the 1.x name).
    #[deprecated(since = "2.0.0", note = "renamed to `total`")]
    pub fn count(&self) -> u64 {
        self.n
    }
}
