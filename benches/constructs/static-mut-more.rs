//! Implicit references to `static mut`s in the places real code makes them: a module
//! path, a `Display` impl's `write!`, inline captures of two statics, a macro's `expr`
//! metavariable used as a receiver, method receivers, a spawned thread's `assert_eq!`.
//! An input of `benches/constructs.py` (docs/constructs.md).

use std::fmt;

mod m {
    pub static mut NAME: &str = "n";
    pub static mut LIST: Vec<u32> = Vec::new();
}
static mut A: u32 = 1;
static mut B: u32 = 2;

struct W;
impl fmt::Display for W {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        unsafe { write!(f, "{}-{A}", m::NAME) }
    }
}

macro_rules! total {
    ($v:expr) => {
        $v.iter().sum::<u32>()
    };
}

fn main() {
    unsafe {
        m::LIST.push(3);
        println!("{A}{B} {A:?}");
        println!("{}", W);
        let t = total!(m::LIST);
        println!("{t} {}", A == B);
        let ok = A < B;
        let sum: u32 = m::LIST.iter().copied().sum();
        for x in m::LIST.iter() {
            print!("{x}");
        }
        println!(" {ok} {sum}");
        std::thread::spawn(|| assert_eq!(A, 1)).join().unwrap();
    }
}
