//! Method receivers and operators on `static mut`s: `String::len` on the static and on a
//! field (rustc denies an implicit autoref of a raw pointer's target there), `clone`
//! (same method through `&S`), a static holding a reference, compound assignment and
//! comparisons (no reference, not linted). An input of `benches/constructs.py`.

static mut T: String = String::new();
static mut V: Vec<u8> = Vec::new();
static mut P: (u8, String) = (1, String::new());
static mut Z: &[i32; 3] = &[0, 1, 2];

fn main() {
    unsafe {
        T += "a";
        T += "b";
        let same = T == "ab";
        let n = V.len() + T.len();
        V.extend_from_slice(b"xy");
        let first = V[0];
        let eq = V == b"xy".to_vec();
        P.1.push('x');
        let a = P.1.len();
        let b = T.chars().count();
        let c = Z.len();
        let mut d = T.clone();
        d.push('!');
        println!("{same} {n} {first} {eq} {a} {b} {c} {d} {T:?}");
    }
}
