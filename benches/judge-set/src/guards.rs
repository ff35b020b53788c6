//! `if let` whose scrutinee reaches a lock guard or a `RefCell` borrow through a method
//! call (`q.lock().unwrap().pop()`): rustc's `if_let_rescope` does not report these, the
//! `if-let-guard-method` rule does. Written after the rule, before measuring it.
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Mutex, RwLock};

/// The next job, or an idle marker pushed back when the queue is empty.
pub fn next_job(queue: &Mutex<Vec<u32>>) -> u32 {
    // expect: keep-if-let — else locks `queue` again while 2021 still holds the guard of `queue.lock()`: a deadlock that 2024 fixes
    if let Some(job) = queue.lock().unwrap().pop() {
        job
    } else {
        queue.lock().unwrap().push(0);
        0
    }
}

/// A cached value, computed and stored on a miss.
pub fn cached(cache: &RefCell<HashMap<u32, String>>, key: u32) -> String {
    // expect: keep-if-let — else borrows `cache` mutably while 2021 still holds the shared borrow: a BorrowMutError panic that 2024 fixes
    if let Some(v) = cache.borrow().get(&key).cloned() {
        v
    } else {
        let v = key.to_string();
        cache.borrow_mut().insert(key, v.clone());
        v
    }
}

/// The first byte, or 0.
pub fn first_or_zero(bytes: &Mutex<Vec<u8>>) -> u8 {
    // expect: keep-if-let — else only computes a value: when the guard is released cannot be seen
    if let Some(b) = bytes.lock().unwrap().first().copied() {
        b
    } else {
        0
    }
}

/// The first name, or a default announced on stderr.
pub fn first_name(names: &RwLock<Vec<String>>) -> String {
    // expect: keep-if-let — else prints and does not touch `names`: releasing the read guard earlier cannot be observed
    if let Some(n) = names.read().unwrap().first().cloned() {
        n
    } else {
        eprintln!("no name yet");
        String::from("anonymous")
    }
}

/// The first name, or registers a default one.
pub fn first_or_register(names: &RwLock<Vec<String>>) -> String {
    // expect: keep-if-let — else takes the write lock of `names` while 2021 still holds the read guard: a deadlock that 2024 fixes
    if let Some(n) = names.read().unwrap().first().cloned() {
        n
    } else {
        names.write().unwrap().push(String::from("anonymous"));
        String::from("anonymous")
    }
}

/// Two counters behind two locks: a miss on the first bumps the second.
pub struct Counters {
    hits: Mutex<Vec<u32>>,
    misses: Mutex<u32>,
}

impl Counters {
    /// The last hit, or counts a miss.
    pub fn last_hit(&self) -> Option<u32> {
        // expect: keep-if-let — else takes another lock (`self.misses`), not `self.hits`: releasing the hits guard first cannot block or change anything
        if let Some(h) = self.hits.lock().unwrap().last().copied() {
            Some(h)
        } else {
            *self.misses.lock().unwrap() += 1;
            None
        }
    }
}

/// A log whose entries are printed when their guard is released.
pub struct Journal(pub Mutex<Vec<u8>>);

/// A held entry of the journal: printing on release is its point.
pub struct Entry<'a>(std::sync::MutexGuard<'a, Vec<u8>>);

impl Journal {
    /// Takes the journal; the entry prints "released" when dropped.
    pub fn lock(&self) -> Entry<'_> {
        Entry(self.0.lock().unwrap())
    }
}

impl Entry<'_> {
    /// The first byte of the journal.
    pub fn first(&self) -> Option<u8> {
        self.0.first().copied()
    }
}

impl Drop for Entry<'_> {
    fn drop(&mut self) {
        println!("released");
    }
}

/// The first byte, or says the journal is empty: in 2021 "empty" comes before "released".
pub fn journal_first(j: &Journal) -> u8 {
    // expect: rewrite-to-match — the entry's Drop prints "released", and else prints "empty": 2024 swaps the two lines of output
    if let Some(b) = j.lock().first() {
        b
    } else {
        println!("empty");
        0
    }
}
