//! Macros whose input is tokens: `expr` fragments and guarded strings.

/// `$e:expr` followed by a `_` arm: in Rust 2024 `_` is an expression, so the first arm
/// would swallow it. The migration pins this fragment to `expr_2021`.
#[macro_export]
macro_rules! kind {
    ($e:expr) => {
        "expression"
    };
    (_) => {
        "underscore"
    };
}

/// `$e:expr` with no arm that it could shadow: left alone.
#[macro_export]
macro_rules! double {
    ($e:expr) => {
        $e * 2
    };
}

/// Counts the tokens it is given.
#[macro_export]
macro_rules! count_tokens {
    () => { 0usize };
    ($head:tt $($rest:tt)*) => { 1usize + $crate::count_tokens!($($rest)*) };
}

/// `#"x"#` and `##` are three and two tokens in Rust 2021; Rust 2024 reserves them.
pub fn guarded() -> usize {
    count_tokens!(#"x"#) + count_tokens!(##)
}

#[cfg(test)]
mod tests {
    #[test]
    fn macros_see_the_same_input() {
        assert_eq!(kind!(_), "underscore");
        assert_eq!(kind!(1 + 1), "expression");
        assert_eq!(double!(21), 42);
        assert_eq!(super::guarded(), 5);
    }
}
