//! Sites written and labeled after the heuristics were corrected on the rest of the set,
//! before the heuristics were run on them: a small check that the corrections were not
//! fitted to the cases that prompted them (docs/judge-accuracy.md reports how they fared).
use std::cell::RefCell;
use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Mutex, RwLock};

use crate::drops::{Notifier, Secret, Span};

/// Statistics behind a lock, with a method that reads them.
pub struct Stats {
    counts: RwLock<Option<Vec<u32>>>,
}

impl Stats {
    fn total(&self) -> u32 {
        self.counts.read().unwrap().as_ref().map_or(0, |c| c.iter().sum())
    }

    /// Records a count, or reports the total when nothing is recorded yet.
    pub fn record(&self, n: u32) -> u32 {
        // expect: keep-if-let — `self.total()` takes a read lock of `self.counts` while 2021 still holds its write guard: a deadlock
        if let Some(ref mut counts) = *self.counts.write().unwrap() {
            counts.push(n);
            n
        } else {
            self.total()
        }
    }
}

/// Prints its name to stdout when dropped.
pub struct Banner(&'static str);

impl Banner {
    fn width(&self) -> Option<usize> {
        (!self.0.is_empty()).then(|| self.0.len())
    }
}

impl Drop for Banner {
    fn drop(&mut self) {
        println!("end of {}", self.0);
    }
}

/// In 2021 stdout reads `(untitled)` then `end of `; 2024 swaps them.
pub fn banner_width(title: &'static str) -> usize {
    // expect: rewrite-to-match — else prints to stdout, where the Banner's Drop prints too: 2024 would print `end of` first
    if let Some(w) = Banner(title).width() {
        w
    } else {
        println!("(untitled)");
        0
    }
}

/// The configured value; a missing one is a bug.
pub fn configured(value: &RwLock<Option<u32>>) -> u32 {
    // expect: keep-if-let — else panics; whether the read guard is released before the panic changes nothing anyone can observe
    if let Some(v) = *value.read().unwrap() {
        v
    } else {
        unreachable!("read before configuration")
    }
}

/// Waits for the lease's release message, which its own `Drop` sends.
pub fn ready_or_wait(id: u32, tx: &Sender<crate::drops::Event>, rx: &Receiver<crate::drops::Event>) -> u32 {
    // expect: keep-if-let — else blocks on `rx.recv()` for the message the Notifier sends when dropped: 2021 waits forever, 2024 receives it
    if let Some(v) = Notifier::new(id, tx.clone()).ready() {
        v
    } else {
        rx.recv().map(|_| 0).unwrap_or(0)
    }
}

/// A borrow held in a local, a span in the tail.
pub fn span_over_borrow(cells: &RefCell<Vec<u32>>) -> u32 {
    let mut w = cells.borrow_mut();
    w.push(1);
    // expect: accept — the span's Drop logs to LOG, a different RefCell than `cells`: its order against `w`'s release cannot be observed
    Span::enter("push").lookup(w.len() as u32).unwrap_or(0)
}

/// A secret in a local, a guard in the tail.
pub fn fingerprint_under_lock(seed: &Mutex<u8>) -> u8 {
    let key = Secret::load(3);
    // expect: accept — the tail's temporary is a lock guard; Secret's Drop zeroes its own bytes, with or without the lock held
    key.fingerprint().unwrap_or(0) ^ *seed.lock().unwrap()
}

/// Two different types that both print to stdout when dropped.
pub fn banner_and_loud() -> usize {
    let _b = Banner("outer");
    // expect: review — both Drops print to stdout: 2024 prints `loud` before `end of outer`
    Loud(2).get()
}

/// Prints when dropped.
pub struct Loud(pub usize);

impl Loud {
    fn get(&self) -> usize {
        self.0
    }
}

impl Drop for Loud {
    fn drop(&mut self) {
        println!("loud");
    }
}

/// A write guard in the tail and a read guard in a local of another lock.
pub fn copy_setting(from: &RwLock<u32>, to: &RwLock<u32>) -> u32 {
    let source = from.read().unwrap();
    *to.write().unwrap() = *source;
    // expect: accept — a read guard of `from` in a local, a read guard of `to` in the tail: releasing them in either order cannot block or change a result
    *to.read().unwrap()
}
