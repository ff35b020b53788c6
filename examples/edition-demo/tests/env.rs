//! An integration test that changes the environment: `set_var` and `remove_var` are
//! `unsafe` in Rust 2024.

#[test]
fn reads_the_name_from_the_environment() {
    std::env::set_var("EDITION_DEMO_NAME", "demo");
    assert_eq!(edition_demo::name_from_env(), "demo");
    std::env::remove_var("EDITION_DEMO_NAME");
    assert_eq!(edition_demo::name_from_env(), "");
}

#[test]
fn guarded_strings_are_separate_tokens() {
    assert_eq!(edition_demo::macros::guarded(), 5);
    assert_eq!(edition_demo::count_tokens!(#"x"#), 3);
}
