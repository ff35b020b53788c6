//! `if let` over types of this crate with `Drop` impls: a log, a channel, a counter, a
//! temporary directory, a buffer flushed on drop, a transaction, a lease, frees, and
//! impls without effects — with `else` branches that observe the effects or do not.
use std::cell::RefCell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::Mutex;

thread_local! {
    /// What happened, in order.
    pub static LOG: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

/// Appends a line to the log.
pub fn log(line: &str) {
    LOG.with(|l| l.borrow_mut().push(line.to_string()));
}

/// A tracing span: logs its exit when dropped.
pub struct Span(&'static str);

impl Span {
    /// Enters the span.
    pub fn enter(name: &'static str) -> Span {
        log(&format!("enter {name}"));
        Span(name)
    }

    /// Looks a key up inside the span.
    pub fn lookup(&self, key: u32) -> Option<u32> {
        (key % 2 == 0).then_some(key / 2)
    }
}

impl Drop for Span {
    fn drop(&mut self) {
        log(&format!("exit {}", self.0));
    }
}

/// The log reads `enter, miss, exit` in 2021: the miss is logged inside the span.
pub fn lookup_logged(key: u32) -> u32 {
    // expect: rewrite-to-match — else logs through `log`, which the Span's Drop also writes: 2024 would log the miss after `exit`
    if let Some(v) = Span::enter("lookup").lookup(key) {
        v
    } else {
        log("miss");
        0
    }
}

/// Same span, but the else branch only returns a constant.
pub fn lookup_or_zero(key: u32) -> u32 {
    // expect: keep-if-let — else is the literal `0`: it cannot observe when the span's exit is logged
    if let Some(v) = Span::enter("lookup").lookup(key) {
        v
    } else {
        0
    }
}

/// Events about leases.
#[derive(Debug, PartialEq, Eq)]
pub enum Event {
    /// A lease was released.
    Released(u32),
}

/// A lease that tells a channel when it is released.
pub struct Notifier {
    id: u32,
    tx: Sender<Event>,
}

impl Notifier {
    /// Takes a lease.
    pub fn new(id: u32, tx: Sender<Event>) -> Notifier {
        Notifier { id, tx }
    }

    /// The leased value, if ready.
    pub fn ready(&self) -> Option<u32> {
        (self.id > 10).then_some(self.id)
    }
}

impl Drop for Notifier {
    fn drop(&mut self) {
        let _ = self.tx.send(Event::Released(self.id));
    }
}

/// In 2021 the else branch runs before the lease is released: it finds no event.
pub fn ready_or_pending_events(id: u32, tx: &Sender<Event>, rx: &Receiver<Event>) -> usize {
    // expect: rewrite-to-match — else drains the channel the Notifier's Drop sends to: 2021 finds no Released event yet, 2024 finds one
    if let Some(v) = Notifier::new(id, tx.clone()).ready() {
        v as usize
    } else {
        rx.try_iter().count()
    }
}

/// The else branch does not look at the channel.
pub fn ready_or_warn(id: u32, tx: &Sender<Event>) -> Option<u32> {
    // expect: keep-if-let — else only warns on stderr; it never reads the channel the Drop sends to
    if let Some(v) = Notifier::new(id, tx.clone()).ready() {
        Some(v)
    } else {
        eprintln!("lease {id} not ready");
        None
    }
}

/// Workers currently running.
pub static ACTIVE: AtomicUsize = AtomicUsize::new(0);

/// Counts itself in `ACTIVE` while alive.
pub struct Worker(u32);

impl Worker {
    /// Starts one.
    pub fn start(job: u32) -> Worker {
        ACTIVE.fetch_add(1, Ordering::SeqCst);
        Worker(job)
    }

    /// Its result, if it has one.
    pub fn result(&self) -> Option<u32> {
        self.0.checked_sub(1)
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        ACTIVE.fetch_sub(1, Ordering::SeqCst);
    }
}

/// On failure, reports how many workers are busy — this one included, in 2021.
pub fn result_or_busy_count(job: u32) -> u32 {
    // expect: rewrite-to-match — else reads ACTIVE, which the Worker's Drop decrements: 2021 counts this worker, 2024 does not
    if let Some(r) = Worker::start(job).result() {
        r
    } else {
        ACTIVE.load(Ordering::SeqCst) as u32
    }
}

/// On failure, warns without looking at the counter.
pub fn result_or_warn(job: u32) -> Option<u32> {
    // expect: keep-if-let — else warns on stderr; it does not read ACTIVE
    if let Some(r) = Worker::start(job).result() {
        Some(r)
    } else {
        eprintln!("job {job} failed");
        None
    }
}

/// A scratch directory, removed when dropped.
pub struct Scratch {
    path: std::path::PathBuf,
}

impl Scratch {
    /// Creates it.
    pub fn new(path: &std::path::Path) -> Scratch {
        let _ = std::fs::create_dir_all(path);
        Scratch { path: path.to_path_buf() }
    }

    /// The configuration file in it, if any.
    pub fn config(&self) -> Option<String> {
        std::fs::read_to_string(self.path.join("config")).ok()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// On a missing config, lists what the directory holds — it still exists in 2021.
pub fn config_or_listing(path: &std::path::Path) -> String {
    // expect: rewrite-to-match — else lists the directory that the Scratch's Drop removes: 2021 lists it, 2024 finds it gone
    if let Some(c) = Scratch::new(path).config() {
        c
    } else {
        std::fs::read_dir(path).map(|d| d.count().to_string()).unwrap_or_default()
    }
}

/// On a missing config, falls back to a default.
pub fn config_or_default(path: &std::path::Path, default: String) -> String {
    // expect: keep-if-let — else returns its argument: it does not touch the directory the Drop removes
    if let Some(c) = Scratch::new(path).config() {
        c
    } else {
        default
    }
}

/// A report buffered in memory and flushed into `out` when dropped.
pub struct Report<'a> {
    buf: String,
    out: &'a RefCell<String>,
}

impl<'a> Report<'a> {
    /// Starts a report with a header.
    pub fn new(out: &'a RefCell<String>) -> Report<'a> {
        Report { buf: String::from("header\n"), out }
    }

    /// The report's summary line, if it has one.
    pub fn summary(&self) -> Option<&str> {
        self.buf.lines().nth(1)
    }
}

impl Drop for Report<'_> {
    fn drop(&mut self) {
        self.out.borrow_mut().push_str(&self.buf);
    }
}

/// In 2021 the warning lands in `out` before the buffered header.
pub fn summary_or_warning(out: &RefCell<String>) -> usize {
    // expect: rewrite-to-match — else writes to `out`, which the Report's Drop flushes into: 2024 puts the header before the warning
    if let Some(s) = Report::new(out).summary() {
        s.len()
    } else {
        out.borrow_mut().push_str("warning: empty report\n");
        0
    }
}

/// The else branch only returns an error code.
pub fn summary_or_code(out: &RefCell<String>) -> Result<usize, i32> {
    // expect: keep-if-let — else returns `Err(2)`: it does not look at `out`
    if let Some(s) = Report::new(out).summary() {
        Ok(s.len())
    } else {
        Err(2)
    }
}

/// A guard whose `Drop` does nothing.
pub struct Quiet(pub u32);

impl Drop for Quiet {
    fn drop(&mut self) {}
}

/// Nothing can tell the two orders apart.
pub fn quiet(n: u32) -> u32 {
    // expect: keep-if-let — Quiet's Drop is empty
    if let 0 = Quiet(n).0 {
        1
    } else {
        eprintln!("{n}");
        n
    }
}

/// A cursor whose `Drop` resets its own field.
pub struct Cursor {
    /// Where it is.
    pub pos: usize,
}

impl Drop for Cursor {
    fn drop(&mut self) {
        self.pos = 0;
    }
}

/// The cursor's reset is invisible outside it.
pub fn cursor_at(pos: usize) -> usize {
    // expect: keep-if-let — Cursor's Drop only writes its own field, which no one can read after
    if let 0 = (Cursor { pos }).pos {
        0
    } else {
        println!("at {pos}");
        pos
    }
}

/// A buffer allocated by `Box::into_raw` and freed in `Drop`.
pub struct RawBuf {
    ptr: *mut [u8; 16],
}

impl RawBuf {
    /// Allocates one.
    pub fn new(fill: u8) -> RawBuf {
        RawBuf { ptr: Box::into_raw(Box::new([fill; 16])) }
    }

    /// Its first byte, if not zero.
    pub fn first(&self) -> Option<u8> {
        // SAFETY: `ptr` came from `Box::into_raw` and is freed only in `Drop`.
        let b = unsafe { (*self.ptr)[0] };
        (b != 0).then_some(b)
    }
}

impl Drop for RawBuf {
    fn drop(&mut self) {
        // SAFETY: `ptr` came from `Box::into_raw` and is not used after this.
        unsafe { drop(Box::from_raw(self.ptr)) }
    }
}

/// Freeing the buffer earlier cannot be observed.
pub fn first_byte(fill: u8) -> u8 {
    // expect: keep-if-let — RawBuf's Drop only frees its own allocation; else does not use it
    if let Some(b) = RawBuf::new(fill).first() {
        b
    } else {
        eprintln!("empty buffer");
        0
    }
}

/// A key that is zeroed when dropped.
pub struct Secret {
    key: [u8; 32],
}

impl Secret {
    /// Loads one.
    pub fn load(seed: u8) -> Secret {
        Secret { key: [seed; 32] }
    }

    /// Its fingerprint, if the key is set.
    pub fn fingerprint(&self) -> Option<u8> {
        (self.key[0] != 0).then(|| self.key.iter().fold(0u8, |a, b| a ^ b))
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        self.key.iter_mut().for_each(|b| *b = 0);
    }
}

/// Zeroing the key earlier cannot be observed.
pub fn fingerprint_or_note(seed: u8) -> u8 {
    // expect: keep-if-let — Secret's Drop zeroes its own bytes; else prints a note that reads nothing of it
    if let Some(f) = Secret::load(seed).fingerprint() {
        f
    } else {
        println!("no key loaded");
        0
    }
}

/// A transaction that commits its pending writes into the store when dropped.
pub struct Txn<'a> {
    store: &'a RefCell<Vec<String>>,
    pending: Vec<String>,
}

impl<'a> Txn<'a> {
    /// Begins one with a pending write.
    pub fn begin(store: &'a RefCell<Vec<String>>, write: &str) -> Txn<'a> {
        Txn { store, pending: vec![write.to_string()] }
    }

    /// A value read in it.
    pub fn read(&self, key: usize) -> Option<usize> {
        self.pending.get(key).map(String::len)
    }
}

impl Drop for Txn<'_> {
    fn drop(&mut self) {
        self.store.borrow_mut().append(&mut self.pending);
    }
}

/// In 2021 the else branch sees the store before the commit.
pub fn read_or_store_len(store: &RefCell<Vec<String>>, key: usize) -> usize {
    // expect: rewrite-to-match — else reads `store`, which the Txn's Drop commits into: 2021 sees it before the commit, 2024 after
    if let Some(v) = Txn::begin(store, "w").read(key) {
        v
    } else {
        store.borrow().len()
    }
}

/// A lease registered in a shared registry until dropped.
pub struct Lease<'a> {
    registry: &'a Mutex<Vec<u32>>,
    id: u32,
}

impl<'a> Lease<'a> {
    /// Registers one.
    pub fn take(registry: &'a Mutex<Vec<u32>>, id: u32) -> Lease<'a> {
        registry.lock().unwrap().push(id);
        Lease { registry, id }
    }

    /// The lease's slot, if it got one.
    pub fn slot(&self) -> Option<u32> {
        (self.id % 3 == 0).then_some(self.id / 3)
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        let id = self.id;
        self.registry.lock().unwrap().retain(|x| *x != id);
    }
}

/// In 2021 the else branch still finds the lease registered.
pub fn slot_or_holders(registry: &Mutex<Vec<u32>>, id: u32) -> usize {
    // expect: rewrite-to-match — else counts `registry`, which the Lease's Drop removes the id from: 2021 counts it, 2024 does not
    if let Some(s) = Lease::take(registry, id).slot() {
        s as usize
    } else {
        registry.lock().unwrap().len()
    }
}
