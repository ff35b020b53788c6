//! A small program written against mylib 1.x.

use mylib::split_words;
use mylib::{make_greeting, Counter, Greet};

/// Our own tally: its `count` is not mylib's and must stay as it is.
struct Tally {
    seen: Vec<String>,
}

impl Tally {
    fn count(&self) -> usize {
        self.seen.len()
    }
}

fn build_counter(words: &[String]) -> Counter {
    let mut counter = Counter::new();
    counter.add(words.len() as u64);
    counter
}

/// The count, from a parameter whose type says it is mylib's.
fn report(c: &Counter) -> u64 {
    c.count()
}

fn main() {
    let words = split_words("alpha beta,gamma");
    println!("{}", make_greeting("world"));
    println!("{}", "quiet".greet_loud());
    let counter = build_counter(&words);
    let tally = Tally { seen: words.clone() };
    // `counter` comes from our own function: only the compiler knows it is a `Counter`.
    println!("{} words ({} by our tally, {} reported)", counter.count(), tally.count(), report(&counter));
}
