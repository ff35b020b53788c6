//! Tail expressions whose temporaries Rust 2024 drops before the block's locals.
use std::cell::RefCell;
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Mutex, RwLock};

use crate::drops::{log, Cursor, Event, Quiet, RawBuf, Report, Scratch, Span, Worker, ACTIVE};

/// Two lock guards.
pub fn total(a: &Mutex<u32>, b: &Mutex<u32>) -> u32 {
    let first = a.lock().unwrap();
    // expect: accept — releasing two lock guards in the other order cannot block or change a result
    *first + *b.lock().unwrap()
}

/// A lock guard and a `RefCell` borrow.
pub fn scaled(factor: &Mutex<u32>, value: &RefCell<u32>) -> u32 {
    let f = factor.lock().unwrap();
    // expect: accept — a lock release and a borrow release: neither can observe the other
    *f * *value.borrow()
}

/// Two read guards of the same lock.
pub fn sum_reads(v: &RwLock<u32>) -> u32 {
    let a = v.read().unwrap();
    // expect: accept — two read guards of one lock: releasing them in either order changes nothing
    *a + *v.read().unwrap()
}

/// Two spans, both logging their exit.
pub fn nested_spans() -> u32 {
    let _outer = Span::enter("outer");
    // expect: review — both Drops write `exit …` to LOG: 2024 logs `exit inner` before `exit outer`, 2021 the reverse
    Span::enter("inner").lookup(4).unwrap_or(0)
}

/// A span around a locked read.
pub fn read_in_span(total: &Mutex<u32>) -> u32 {
    let _span = Span::enter("read");
    // expect: accept — the span logs to LOG and the guard releases `total`: neither touches what the other does
    *total.lock().unwrap() + 1
}

/// A transaction whose `Drop` takes the lock held by the tail's guard.
pub struct Commit<'a> {
    db: &'a Mutex<Vec<String>>,
}

impl Drop for Commit<'_> {
    fn drop(&mut self) {
        self.db.lock().unwrap().push("commit".into());
    }
}

/// 2021 drops `_commit` first, while the tail's guard of `db` is alive: a deadlock.
pub fn count_then_commit(db: &Mutex<Vec<String>>) -> usize {
    let _commit = Commit { db };
    // expect: accept — 2021 runs Commit's Drop (which locks `db`) while the tail's `db` guard is alive: a deadlock 2024 removes
    db.lock().unwrap().len()
}

/// 2024 drops the temporary `Commit` first, while the local guard of `db` is alive.
pub fn commit_under_guard(db: &Mutex<Vec<String>>) -> usize {
    let guard = db.lock().unwrap();
    let n = guard.len();
    // expect: review — 2024 runs the temporary Commit's Drop (which locks `db`) while `guard` is alive: a deadlock 2021 did not have
    n + (Commit { db }).db.try_lock().map_or(0, |_| 1)
}

/// A logging span and a value whose `Drop` does nothing.
pub fn span_and_quiet() -> u32 {
    let _span = Span::enter("quiet");
    // expect: accept — Quiet's Drop is empty: only the span's exit is observable
    Quiet(3).0 + 1
}

/// A logging span and a heap buffer freed in `Drop`.
pub fn span_and_buffer() -> u8 {
    let _span = Span::enter("buffer");
    // expect: accept — freeing RawBuf's allocation cannot be observed; only the span logs
    RawBuf::new(2).first().unwrap_or(0)
}

/// Stdout's lock and a mutex guard.
pub fn print_total(total: &Mutex<u32>) -> u32 {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "total:");
    // expect: accept — stdout's lock and `total`'s guard are independent locks: their release order cannot be observed
    *total.lock().unwrap()
}

/// Two reports flushed into the same buffer.
pub fn two_reports(out: &RefCell<String>) -> usize {
    let _first = Report::new(out);
    // expect: review — both Reports flush into `out` on drop: 2024 writes the second report before the first
    Report::new(out).summary().map_or(0, str::len)
}

/// Two leases announcing their release on the same channel.
pub fn two_leases(tx: &Sender<Event>) -> u32 {
    let _a = crate::drops::Notifier::new(1, tx.clone());
    // expect: review — both Notifiers send on `tx` when dropped: the receiver sees `Released(2)` before `Released(1)` in 2024
    crate::drops::Notifier::new(2, tx.clone()).ready().unwrap_or(0)
}

/// Logs the number of active workers when dropped.
pub struct Gauge;

impl Drop for Gauge {
    fn drop(&mut self) {
        log(&format!("active={}", ACTIVE.load(Ordering::SeqCst)));
    }
}

/// A gauge reading the counter a worker decrements.
pub fn gauge_and_worker() -> u32 {
    let _gauge = Gauge;
    // expect: review — Gauge's Drop reads ACTIVE, which the Worker's Drop decrements: 2024 logs the count after the decrement
    Worker::start(5).result().unwrap_or(0)
}

/// A worker and a cursor that resets its own field.
pub fn worker_and_cursor() -> usize {
    let _w = Worker::start(1);
    // expect: accept — Cursor's Drop only writes its own field: only the Worker's Drop is observable
    (Cursor { pos: 4 }).pos_plus(1)
}

impl Cursor {
    fn pos_plus(&self, n: usize) -> usize {
        n
    }
}

/// A lock guard and a value whose `Drop` takes another lock.
pub fn guard_and_other_lock(a: &Mutex<u32>, registry: &Mutex<Vec<u32>>) -> u32 {
    let _lease = crate::drops::Lease::take(registry, 9);
    // expect: accept — the Lease's Drop locks `registry`, the tail's guard is `a`: different locks, and 2024 only releases `a` earlier
    *a.lock().unwrap()
}

/// Records its name in a `RefCell` list when dropped.
pub struct Entry<'a> {
    list: &'a RefCell<Vec<&'static str>>,
}

impl Drop for Entry<'_> {
    fn drop(&mut self) {
        self.list.borrow_mut().push("entry");
    }
}

/// 2021 drops `_entry` (which borrows `list` mutably) while the tail's `Ref` is alive.
pub fn entries_len(list: &RefCell<Vec<&'static str>>) -> usize {
    let _entry = Entry { list };
    // expect: accept — 2021 runs Entry's Drop (`borrow_mut`) while the tail's `Ref` of `list` is alive: a panic 2024 removes
    list.borrow().len()
}

/// Two scratch directories at different paths.
pub fn two_scratch_dirs(a: &std::path::Path, b: &std::path::Path) -> usize {
    let _first = Scratch::new(a);
    // expect: accept — the two Drops remove two different directories: the order of the removals cannot be observed
    Scratch::new(b).config().map_or(0, |c| c.len())
}

/// A counter decremented by the local, unrelated to the tail's guard.
pub static STARTED: AtomicUsize = AtomicUsize::new(0);

/// A worker and a locked read.
pub fn worker_and_guard(total: &Mutex<u32>) -> u32 {
    let _w = Worker::start(3);
    // expect: accept — the Worker's Drop decrements ACTIVE and the guard releases `total`: nothing relates the two
    *total.lock().unwrap() + STARTED.load(Ordering::Relaxed) as u32
}
