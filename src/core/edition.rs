//! Rust editions and the steps between them. A migration from 2015 to 2024 goes through
//! each step's lints in one run: the compiler reports every step's lints on code of any
//! earlier edition, so one `cargo check` with all the groups forced finds them all.

use std::fmt;

/// A Rust edition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Edition {
    /// Rust 2015 (also what a manifest without `edition` means).
    E2015,
    /// Rust 2018.
    E2018,
    /// Rust 2021.
    E2021,
    /// Rust 2024.
    E2024,
}

/// Every edition, oldest first.
pub const EDITIONS: [Edition; 4] = [Edition::E2015, Edition::E2018, Edition::E2021, Edition::E2024];

impl Edition {
    /// `"2015"` → `E2015`; `None` for anything else.
    pub fn parse(s: &str) -> Option<Edition> {
        EDITIONS.into_iter().find(|e| e.as_str() == s)
    }

    /// The year, as manifests write it.
    pub fn as_str(self) -> &'static str {
        match self {
            Edition::E2015 => "2015",
            Edition::E2018 => "2018",
            Edition::E2021 => "2021",
            Edition::E2024 => "2024",
        }
    }

    /// The first Rust version that knows this edition (`rust-version` must be at least it).
    pub fn min_rust(self) -> (u64, u64) {
        match self {
            Edition::E2015 => (1, 0),
            Edition::E2018 => (1, 31),
            Edition::E2021 => (1, 56),
            Edition::E2024 => (1, 85),
        }
    }

    /// The `resolver` a virtual workspace should name to get this edition's default
    /// (`None`: the edition's default is the original resolver).
    pub fn resolver(self) -> Option<&'static str> {
        match self {
            Edition::E2015 | Edition::E2018 => None,
            Edition::E2021 => Some("2"),
            Edition::E2024 => Some("3"),
        }
    }
}

impl fmt::Display for Edition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One edition step: the lints rustc groups to prepare code of `from` for `to`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Step {
    /// The edition the code is on.
    pub from: Edition,
    /// The edition the step reaches.
    pub to: Edition,
    /// rustc's lint group for the step.
    pub lint_group: &'static str,
}

/// The three steps, in order.
pub const STEPS: [Step; 3] = [
    Step { from: Edition::E2015, to: Edition::E2018, lint_group: "rust-2018-compatibility" },
    Step { from: Edition::E2018, to: Edition::E2021, lint_group: "rust-2021-compatibility" },
    Step { from: Edition::E2021, to: Edition::E2024, lint_group: "rust-2024-compatibility" },
];

/// The steps from `from` to `to`, in order (empty when `from` is not older).
pub fn steps(from: Edition, to: Edition) -> impl Iterator<Item = &'static Step> {
    STEPS.iter().filter(move |s| from <= s.from && s.to <= to)
}

/// The step that reaches `to`.
pub fn step_to(to: Edition) -> Option<&'static Step> {
    STEPS.iter().find(|s| s.to == to)
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} → {}", self.from, self.to)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_between_editions() {
        let groups = |from, to| steps(from, to).map(|s| s.lint_group).collect::<Vec<_>>();
        assert_eq!(groups(Edition::E2015, Edition::E2024), ["rust-2018-compatibility", "rust-2021-compatibility", "rust-2024-compatibility"]);
        assert_eq!(groups(Edition::E2018, Edition::E2021), ["rust-2021-compatibility"]);
        assert_eq!(groups(Edition::E2021, Edition::E2024), ["rust-2024-compatibility"]);
        assert!(groups(Edition::E2024, Edition::E2024).is_empty());
        assert!(groups(Edition::E2024, Edition::E2021).is_empty());
    }

    #[test]
    fn parses_what_it_prints() {
        for e in EDITIONS {
            assert_eq!(Edition::parse(e.as_str()), Some(e));
        }
        assert_eq!(Edition::parse("2027"), None);
        assert!(Edition::E2015 < Edition::E2024);
        assert_eq!(step_to(Edition::E2021).map(ToString::to_string).as_deref(), Some("2018 → 2021"));
    }
}
