//! Borrowed tail temporaries in nested blocks: a chain of plain blocks (every one loses
//! its braces), an `unsafe` block in a block's tail (bound before the outer statement),
//! a block in an `if` branch. An input of `benches/constructs.py` (docs/constructs.md).

fn main() {
    let a = { { String::from("ab").as_str() } }.len();
    let b = { unsafe { String::from_utf8_unchecked(vec![b'x']).as_str() } }.len();
    let c = if a > 1 { { String::from("abc").as_str() }.len() } else { 0 };
    println!("{a} {b} {c}");
}
