//! `cargo migrate pack new`: the text of a new pack that passes its own examples.

/// The text of a new pack for `krate` from `from` to `to` (`cargo migrate pack new`): the
/// metadata, one path rule with its examples, and the other kinds of rules in comments.
/// It loads and passes its own examples as written.
pub fn scaffold(krate: &str, from: &str, to: &str) -> String {
    let k = krate.replace('-', "_");
    format!(
        r#"# Migration pack: {krate} {from} → {to}.
# The format: `cargo migrate pack schema` prints its JSON Schema.
# Test the rules on their examples: `cargo migrate pack test <this file>`.
# Ship it in your crate's package as `migrations/{krate}/{from}-{to}.toml`: users get it
# with `cargo migrate upgrade {krate}`.
crate = "{krate}"
from = "{from}"
to = "{to}"
summary = "{krate} {from} → {to}: what changed, in one line"
# guide = "https://..."   # the upstream upgrade guide, shown with what is left to do

# Cargo features the release renamed (old = "new"):
# [renamed_features]
# old-feature = "new-feature"

# Crates that must move together with this one:
# [[companions]]
# crate = "{krate}-derive"
# from = "{from}"
# to = "{to}"

# A path rule: an item moved or renamed. Paths in `match` are written in full; imports
# and every way the code names the item follow.
[[rule]]
id = "old-function"
message = "`{k}::old_function` is `{k}::new_function` in {to}"
match = "{k}::old_function"
replace = "{k}::new_function"

[rule.examples]
# Code the rule must leave alone: the crate's own function of that name.
valid = [
    """
fn old_function() {{}}
fn f() {{ old_function() }}
""",
]

# Code the rule changes, and what it must become.
[[rule.examples.invalid]]
code = """
use {k}::old_function;
fn f() {{ old_function() }}
"""
fixed = """
use {k}::new_function;
fn f() {{ new_function() }}
"""

# A method rule names the trait that must be in scope for the call to be the crate's
# (a method of the user's own type with that name is never rewritten):
#
# [[rule]]
# id = "old-method"
# message = "`Trait::old_method` is `new_method` in {to}"
# trait = "{k}::Trait"
# match = "$x.old_method($..args)"
# replace = "$x.new_method($..args)"
#
# An inherent method names its type instead: `receiver_type = "{k}::Type"`.
#
# A choice rule, for a change whose right rewrite depends on intent: a question and
# options, exactly one `conservative` (it keeps today's behaviour; it is applied, marked
# needs-review, until someone decides):
#
# [[rule]]
# id = "strict-parse"
# message = "`{k}::parse` is strict in {to}"
# match = "{k}::parse($s)"
# question = "Can the input be malformed?"
#
# [[rule.options]]
# id = "keep-lenient"
# replace = "{k}::parse_lenient($s)"
# when = "the input may be malformed (what {from} accepted)"
# conservative = true
#
# [[rule.options]]
# id = "strict"
# replace = "{k}::parse($s)"
# when = "the input is always well-formed"
"#
    )
}
