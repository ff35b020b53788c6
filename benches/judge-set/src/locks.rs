//! `if let` over std lock guards and `RefCell` borrows: re-acquired in `else` or not,
//! through a field, a method, an `Arc`, another thread; the `else` that is the path where
//! the lock was taken.
use std::cell::RefCell;
use std::fs::OpenOptions;
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, TryLockError};

fn compute() -> u32 {
    42
}

/// Fills the cache on a miss.
pub fn get_or_insert(cache: &Mutex<Option<u32>>) -> u32 {
    // expect: keep-if-let — else locks `cache` again while 2021 still holds its guard: a deadlock
    if let Some(v) = *cache.lock().unwrap() {
        v
    } else {
        let v = compute();
        *cache.lock().unwrap() = Some(v);
        v
    }
}

/// Fills the cache on a miss unless someone else holds it.
pub fn get_or_try_insert(cache: &Mutex<Option<u32>>) -> u32 {
    // expect: keep-if-let — else's `try_lock` always fails in 2021 (the scrutinee's guard is alive), so the cache is never filled
    if let Some(v) = *cache.lock().unwrap() {
        v
    } else {
        let v = compute();
        if let Ok(mut slot) = cache.try_lock() {
            *slot = Some(v);
        }
        v
    }
}

/// Reads the limit, or reads it again through another read guard.
pub fn read_twice(limit: &RwLock<Option<u32>>) -> u32 {
    // expect: keep-if-let — else takes a second read guard; 2024 releases the first one before it, which can only help (std's RwLock may block a recursive read behind a waiting writer)
    if let Some(l) = *limit.read().unwrap() {
        l
    } else {
        limit.read().unwrap().unwrap_or(10)
    }
}

/// Appends under the write lock, or reports the length under a read lock.
pub fn push_or_len(log: &RwLock<Option<Vec<u32>>>, x: u32) -> usize {
    // expect: keep-if-let — else takes a read lock while 2021 still holds the write guard: a deadlock
    if let Some(ref mut entries) = *log.write().unwrap() {
        entries.push(x);
        entries.len()
    } else {
        log.read().unwrap().as_ref().map_or(0, Vec::len)
    }
}

/// Memoizes in a `RefCell`.
pub fn memo(cell: &RefCell<Option<u32>>) -> u32 {
    // expect: keep-if-let — else calls `borrow_mut` while 2021 still holds the `Ref`: a BorrowMutError panic
    if let Some(v) = *cell.borrow() {
        v
    } else {
        *cell.borrow_mut() = Some(3);
        3
    }
}

/// Appends to an existing list, or reports the state.
pub fn append_or_describe(cell: &RefCell<Option<Vec<u32>>>) -> usize {
    // expect: keep-if-let — else calls `borrow` while 2021 still holds the `RefMut`: a BorrowError panic
    if let Some(ref mut v) = *cell.borrow_mut() {
        v.push(1);
        v.len()
    } else {
        cell.borrow().as_ref().map_or(0, Vec::len)
    }
}

/// Two shared borrows of the same cell.
pub fn shared_borrows(cell: &RefCell<Option<u32>>) -> u32 {
    // expect: keep-if-let — two shared borrows never conflict; releasing the first earlier changes nothing
    if let Some(v) = *cell.borrow() {
        v
    } else {
        cell.borrow().unwrap_or(0) + 1
    }
}

/// A registry of names, behind a lock in a field.
pub struct Registry {
    names: Mutex<Option<Vec<String>>>,
    misses: AtomicUsize,
}

impl Registry {
    /// The number of names, loading them on first use.
    pub fn count(&self) -> usize {
        // expect: keep-if-let — else locks `self.names` again: a deadlock in 2021
        if let Some(ref names) = *self.names.lock().unwrap() {
            names.len()
        } else {
            let loaded = vec!["a".to_string()];
            let n = loaded.len();
            *self.names.lock().unwrap() = Some(loaded);
            n
        }
    }

    /// The number of names, counting a miss.
    pub fn count_or_miss(&self) -> usize {
        // expect: keep-if-let — else only bumps an atomic counter; `self.names` is not touched
        if let Some(ref names) = *self.names.lock().unwrap() {
            names.len()
        } else {
            self.misses.fetch_add(1, Ordering::Relaxed);
            0
        }
    }
}

/// A pool whose slots are reached through a method that returns the guard.
pub struct Pool {
    slots: Mutex<Vec<Option<u32>>>,
}

impl Pool {
    fn slots(&self) -> MutexGuard<'_, Vec<Option<u32>>> {
        self.slots.lock().unwrap()
    }

    fn refill(&self) {
        self.slots().push(Some(1));
    }

    /// The first slot, refilling the pool when it is empty.
    pub fn first(&self) -> Option<u32> {
        // expect: keep-if-let — `refill` takes the same lock through `self.slots()`: 2021 deadlocks in else
        if let [Some(x), ..] = self.slots()[..] {
            Some(x)
        } else {
            self.refill();
            None
        }
    }
}

/// A value shared with other threads through an `Arc`.
pub fn shared_or_publish(shared: &Arc<Mutex<Option<u32>>>) -> u32 {
    // expect: keep-if-let — else locks the same mutex through a clone of the Arc: a deadlock in 2021
    if let Some(v) = *shared.lock().unwrap() {
        v
    } else {
        let publisher = Arc::clone(shared);
        *publisher.lock().unwrap() = Some(1);
        1
    }
}

/// Asks a worker thread to fill the slot and waits for it.
pub fn fill_in_thread(shared: &Arc<Mutex<Option<u32>>>) -> u32 {
    // expect: keep-if-let — the joined thread locks the same mutex: 2021 holds the guard while joining, a deadlock
    if let Some(v) = *shared.lock().unwrap() {
        v
    } else {
        let worker = Arc::clone(shared);
        std::thread::spawn(move || *worker.lock().unwrap() = Some(5)).join().unwrap();
        5
    }
}

/// Waits for a producer to fill the slot.
pub fn wait_for_producer(slot: &Mutex<Option<u32>>) -> Option<u32> {
    // expect: keep-if-let — else sleeps waiting for a producer that needs the lock; 2021 sleeps holding it
    if let Some(v) = *slot.lock().unwrap() {
        Some(v)
    } else {
        std::thread::sleep(std::time::Duration::from_millis(1));
        None
    }
}

/// The setting, or a note on stderr.
pub fn setting_or_note(settings: &Mutex<Option<u32>>) -> u32 {
    // expect: keep-if-let — else only writes to stderr; the guard protects nothing it touches
    if let Some(s) = *settings.lock().unwrap() {
        s
    } else {
        eprintln!("no setting, using 1");
        1
    }
}

/// Serializes appends to the report file: every writer takes it first.
static REPORT_LOCK: Mutex<()> = Mutex::new(());

/// Appends a line to the report, one writer at a time.
pub fn append_report(path: &std::path::Path, line: &str) -> std::io::Result<()> {
    // expect: rewrite-to-match — else is where REPORT_LOCK was taken: 2021 appends under the lock, 2024 would let writers interleave
    if let Err(_poisoned) = REPORT_LOCK.lock() {
        Err(std::io::Error::other("a writer panicked"))
    } else {
        let mut f = OpenOptions::new().create(true).append(true).open(path)?;
        writeln!(f, "{line}")
    }
}

/// Runs a compaction of `data` unless one is running: `gate` keeps two compactions from
/// interleaving their read-compact-write (the second would overwrite the first's result).
pub fn compact_unless_busy(gate: &Mutex<()>, data: &Mutex<Vec<u32>>) -> bool {
    // expect: rewrite-to-match — else runs only when `try_lock` succeeded: 2021 compacts holding `gate`, 2024 without it
    if let Err(TryLockError::WouldBlock) = gate.try_lock() {
        false
    } else {
        let mut snapshot = data.lock().unwrap().clone();
        snapshot.sort_unstable();
        snapshot.dedup();
        *data.lock().unwrap() = snapshot;
        true
    }
}

/// Increments if the lock is free, else counts a miss.
pub fn bump_or_miss(counter: &Mutex<u32>, misses: &AtomicUsize) -> u32 {
    // expect: keep-if-let — else runs when `try_lock` failed: there is no guard to hold, and else only counts a miss
    if let Ok(mut n) = counter.try_lock() {
        *n += 1;
        *n
    } else {
        misses.fetch_add(1, Ordering::Relaxed);
        0
    }
}

/// The first configured value of two sources.
pub fn first_of(primary: &Mutex<Option<u32>>, fallback: &Mutex<Option<u32>>) -> u32 {
    // expect: keep-if-let — two different locks, neither taken twice; releasing `primary` before `fallback` is locked changes nothing
    if let Some(v) = *primary.lock().unwrap() {
        v
    } else if let Some(v) = *fallback.lock().unwrap() {
        v
    } else {
        0
    }
}

/// The first configured value, writing the default back into `primary`.
pub fn first_or_store(primary: &Mutex<Option<u32>>, fallback: &Mutex<Option<u32>>) -> u32 {
    // expect: keep-if-let — the last else locks `primary` again while 2021 holds both guards: a deadlock
    if let Some(v) = *primary.lock().unwrap() {
        v
    } else if let Some(v) = *fallback.lock().unwrap() {
        v
    } else {
        *primary.lock().unwrap() = Some(7);
        7
    }
}

/// A `RefCell` whose `else` reloads it through a method.
pub struct Document {
    text: RefCell<Option<String>>,
}

impl Document {
    fn reload(&self) {
        *self.text.borrow_mut() = Some(String::from("reloaded"));
    }

    /// The text's length, reloading it when missing.
    pub fn len(&self) -> usize {
        // expect: keep-if-let — `reload` borrows `self.text` mutably: a BorrowMutError panic in 2021
        if let Some(ref t) = *self.text.borrow() {
            t.len()
        } else {
            self.reload();
            0
        }
    }
}
