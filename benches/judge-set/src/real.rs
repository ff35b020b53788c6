//! Sites transplanted from public code, each rewritten minimally to compile on its own
//! (dependencies replaced by std stand-ins of the same shape). The comment above each
//! names the repository and the file.
use std::cell::RefCell;
use std::io::{self, Write};
use std::ops::Deref;
use std::rc::Rc;
use std::sync::{Mutex, RwLock};

// ---------------------------------------------------------------------------------------
// r-bk/tighterror, crates/tighterror-build/src/coder.rs — `codegen` writing generated code
// to stdout (`log::error!` → `eprintln!`, the crate's error type → `&'static str`).

/// Writes generated code to stdout.
pub fn codegen_to_stdout(code: &str) -> Result<(), &'static str> {
    // expect: keep-if-let — else only returns `Ok(())`: releasing stdout's lock before it is unobservable
    if let Err(e) = io::stdout().lock().write_all(code.as_bytes()) {
        eprintln!("failed to write to stdout: {e}");
        Err("FAILED_TO_WRITE_OUTPUT_FILE")
    } else {
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------
// androolloyd/octravpn, crates/octravpn-client/src/commands/fetch.rs — writing a fetched
// asset to a file or stdout, headers to stderr (`mime.content_type()` → a parameter).

/// Writes the fetched bytes; returns the exit code.
pub fn write_output(output: Option<&std::path::Path>, bytes: &[u8], headers: bool, content_type: &str) -> i32 {
    if let Some(path) = output {
        if let Err(e) = std::fs::write(path, bytes) {
            eprintln!("octravpn fetch: write {} ({} bytes): {e}", path.display(), bytes.len());
            return 3;
        }
        if headers {
            eprintln!("Content-Type: {}", content_type);
            eprintln!("Content-Length: {}", bytes.len());
        }
        // expect: keep-if-let — the else branch writes headers to stderr; stdout's lock (released earlier in 2024) is not involved
    } else if let Err(e) = io::stdout().lock().write_all(bytes) {
        eprintln!("octravpn fetch: stdout: {e}");
        return 3;
    } else if headers {
        eprintln!("Content-Type: {}", content_type);
        eprintln!("Content-Length: {}", bytes.len());
    }
    0
}

// ---------------------------------------------------------------------------------------
// SentientTurtle/Unnamed-Lua-Implementation, src/types/value/thread.rs — `LuaThread`
// state queries (`LuaFunction` → `String`).

enum ThreadImpl {
    NotStarted(String),
    InStack(usize),
    Dead,
}

/// A Lua coroutine handle.
#[derive(Clone)]
pub struct LuaThread {
    inner: Rc<RefCell<ThreadImpl>>,
}

impl LuaThread {
    /// A thread that has not started.
    pub fn new(function: String) -> LuaThread {
        LuaThread { inner: Rc::new(RefCell::new(ThreadImpl::NotStarted(function))) }
    }

    /// As in the original (the name says the opposite of what it computes).
    pub fn has_started(&self) -> bool {
        // expect: keep-if-let — else is the literal `false`: nothing can observe when the `Ref` is released
        if let ThreadImpl::NotStarted(_) = *self.inner.borrow() {
            true
        } else {
            false
        }
    }

    /// Whether the coroutine has finished.
    pub fn is_dead(&self) -> bool {
        // expect: keep-if-let — else is the literal `false`: nothing can observe when the `Ref` is released
        if let ThreadImpl::Dead = *self.inner.borrow() {
            true
        } else {
            false
        }
    }
}

// ---------------------------------------------------------------------------------------
// mlm-games/Miniter, rust/crates/miniter-ffi/src/lib.rs — `WasmExportSession::progress`
// (the wasm-bindgen attribute and the export chunker → a struct with a counter).

/// Stand-in for the export chunker.
pub struct WasmExportChunker {
    done: u32,
}

impl WasmExportChunker {
    fn progress(&self) -> u32 {
        self.done
    }
}

/// An export running in chunks.
pub struct WasmExportSession {
    inner: RefCell<Option<WasmExportChunker>>,
    result: RefCell<Option<Vec<u8>>>,
}

impl WasmExportSession {
    /// Progress in thousandths of a percent.
    pub fn progress(&self) -> u32 {
        if self.result.borrow().is_some() {
            100_000
            // expect: keep-if-let — the final else is the literal `0`; the `Ref` of `inner` guards nothing it uses
        } else if let Some(ref chunker) = *self.inner.borrow() {
            chunker.progress()
        } else {
            0
        }
    }
}

// ---------------------------------------------------------------------------------------
// vexide/vexide, packages/vexide-panic/src/lib.rs — the panic handler takes the user's hook
// (vexide's `Mutex::try_lock` returns `Option`; std's returns `TryLockResult`). Its
// maintainers reviewed this site when moving to 2024 and kept the new drop order
// (vexide/vexide#262: "that behavior is actually preferable here").

/// The panic hook.
pub enum Hook {
    /// The built-in one.
    Default,
    /// A user's.
    Custom(fn(&str)),
}

/// The installed hook.
pub static HOOK: Mutex<Hook> = Mutex::new(Hook::Default);

/// Runs the installed hook, or the default one if the hook's mutex is taken.
pub fn run_panic_hook(info: &str) {
    // expect: keep-if-let — the else branch prints and runs the default hook without touching HOOK; no reason to keep its lock
    if let Ok(mut guard) = HOOK.try_lock() {
        let hook = core::mem::replace(&mut *guard, Hook::Default);
        core::mem::drop(guard);
        if let Hook::Custom(f) = hook {
            f(info);
        }
    } else {
        println!("Panic handler hook mutex was locked, so the default panic hook will be used. This should never happen.");
        println!("{info}");
    }
}

// ---------------------------------------------------------------------------------------
// zed-industries/zed, zed/src/worktree.rs (2021) — `Worktree::is_scanning` (the
// `postage::watch` pair → a `RefCell` in the same position).

/// Whether the worktree is being scanned.
#[derive(Clone, Copy)]
pub enum ScanState {
    /// Idle.
    Idle,
    /// Scanning.
    Scanning,
}

/// A local worktree.
pub struct Worktree {
    scan_state: (u32, RefCell<ScanState>),
}

impl Worktree {
    fn is_scanning(&self) -> bool {
        // expect: keep-if-let — else is the literal `false`
        if let ScanState::Scanning = *self.scan_state.1.borrow() {
            true
        } else {
            false
        }
    }
}

// ---------------------------------------------------------------------------------------
// y-crdt/y-crdt, ywasm/src/lib.rs — `YText::prelim` (the wasm-bindgen getter).

/// Whether a shared type is integrated in a document yet.
pub enum SharedType<I, P> {
    /// Integrated.
    Integrated(I),
    /// Preliminary.
    Prelim(P),
}

/// A shared text.
pub struct YText(pub RefCell<SharedType<u32, String>>);

impl YText {
    /// True when this is a preliminary instance.
    pub fn prelim(&self) -> bool {
        // expect: keep-if-let — else is the literal `false`
        if let SharedType::Prelim(_) = &*self.0.borrow() {
            true
        } else {
            false
        }
    }
}

// ---------------------------------------------------------------------------------------
// rust-lang/edition-guide, src/rust-2024/temporary-if-let-scope.md — the guide's own example:
// "In the case where the else block is executed, this causes a deadlock when it attempts
// to acquire a write lock."

/// Sets the value if none is set.
pub fn edition_guide(value: &RwLock<Option<bool>>) {
    // expect: keep-if-let — else takes the write lock while 2021 still holds the read guard: a deadlock 2024 removes
    if let Some(x) = *value.read().unwrap() {
        println!("value is {x}");
    } else {
        let mut v = value.write().unwrap();
        if v.is_none() {
            *v = Some(true);
        }
    }
}

// ---------------------------------------------------------------------------------------
// rust-lang/rust-clippy, tests/ui/if_let_mutex.rs — the patterns of clippy's `if_let_mutex`
// lint ("calling Mutex::lock inside the scope of another Mutex::lock causes a deadlock"),
// which clippy turns off from edition 2024 on (rust-lang/rust-clippy#13695).

fn do_stuff<T>(_: T) {}

/// `if_let` in the clippy test.
pub fn clippy_if_let() {
    let m = Mutex::new(1_u8);
    // expect: keep-if-let — else locks `m` again: 2021 deadlocks (clippy's if_let_mutex), 2024 does not
    if let Err(locked) = m.lock() {
        do_stuff(locked);
    } else {
        let lock = m.lock().unwrap();
        do_stuff(lock);
    };
}

/// `if_let_option` in the clippy test ("the most common case").
pub fn clippy_if_let_option() {
    let m = Mutex::new(Some(0_u8));
    // expect: keep-if-let — else locks `m` again: 2021 deadlocks, 2024 does not
    if let Some(locked) = m.lock().unwrap().deref() {
        do_stuff(locked);
    } else {
        let lock = m.lock().unwrap();
        do_stuff(lock);
    };
}

/// `if_let_different_mutex` in the clippy test.
pub fn clippy_if_let_different_mutex() {
    let m = Mutex::new(Some(0_u8));
    let other = Mutex::new(None::<u8>);
    // expect: keep-if-let — else locks another mutex; `m`'s guard protects nothing it touches
    if let Some(locked) = m.lock().unwrap().deref() {
        do_stuff(locked);
    } else {
        let lock = other.lock().unwrap();
        do_stuff(lock);
    };
}

/// `mutex_ref` in the clippy test.
pub fn clippy_mutex_ref(mutex: &Mutex<i32>) {
    // expect: keep-if-let — else (the poisoned case) locks `mutex` again while 2021 still holds the poisoned guard
    if let Ok(i) = mutex.lock() {
        do_stuff(i);
    } else {
        let _x = mutex.lock();
    };
}

/// `multiple_mutexes` in the clippy test.
pub fn clippy_multiple_mutexes(m1: &Mutex<()>, m2: &Mutex<()>) {
    // expect: keep-if-let — else locks `m1` again while 2021 still holds the (poisoned) guard of `m1`
    if let Ok(_) = m1.lock() {
        m2.lock();
    } else {
        m1.lock();
    }
}
