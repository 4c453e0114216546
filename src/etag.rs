//! Conditional requests: whether an `If-None-Match` value names a
//! representation's ETag (RFC 9110 13.1.2, strong comparison; `*` names any).

/// Whether `if_none_match` (the header's value) names `tag` (quoted, as sent
/// in `ETag`): the answer is then 304.
pub fn matches(if_none_match: Option<&str>, tag: &str) -> bool {
    if_none_match.is_some_and(|v| v.split(',').any(|t| t.trim() == tag || t.trim() == "*"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listed_tag_or_a_star_matches() {
        assert!(matches(Some("\"a\", \"b\""), "\"b\""));
        assert!(matches(Some("*"), "\"b\""));
        assert!(!matches(Some("\"a\""), "\"b\""));
        assert!(
            !matches(Some("b"), "\"b\""),
            "an unquoted tag is another tag"
        );
        assert!(!matches(None, "\"b\""));
    }
}
