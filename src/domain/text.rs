//! Small text helpers shared across the crate.

/// `s` with every run of whitespace (spaces, tabs, line breaks) made one
/// space, and none at either end: how a message or a phrase is compared and
/// shown on one line.
pub fn squash_whitespace(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_of_whitespace_become_one_space() {
        assert_eq!(
            squash_whitespace("  sea\tfennel\n\n extract "),
            "sea fennel extract"
        );
        assert_eq!(squash_whitespace(" \n "), "");
    }
}
