//! The one way the server writes a time: RFC 3339 in UTC with microseconds
//! and `Z`, such as `2026-11-23T20:01:47.123456Z`. Every time it stores or
//! signs is in this form, so two of them compare as text as they do as times.

use chrono::{DateTime, SecondsFormat, Utc};

/// `at` in the one form.
pub fn format(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Any RFC 3339 time, as UTC.
pub fn parse(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// The current time in the one form.
pub fn now() -> String {
    format(Utc::now())
}

#[cfg(test)]
mod tests {
    #[test]
    fn times_in_the_one_form_order_as_text_as_they_do_as_times() {
        let earlier = super::parse("2026-11-23T20:01:47.9Z").expect("a time");
        let later = super::parse("2026-11-23T20:01:48.000001+00:00").expect("a time");
        assert_eq!(super::format(earlier), "2026-11-23T20:01:47.900000Z");
        assert!(super::format(earlier) < super::format(later));
        assert_eq!(super::parse(&super::format(later)), Some(later));
    }
}
