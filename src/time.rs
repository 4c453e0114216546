//! The one way the server writes a time: RFC 3339 in UTC with microseconds
//! and `Z`, such as `2026-11-23T20:01:47.123456Z`. Every time it stores or
//! signs is in this form, so two of them compare as text as they do as times.

use chrono::{DateTime, SecondsFormat, Utc};

use crate::error::ApiError;

crate::fields::parsed_string!(
    /// A time in the one form, as rows and responses carry it; made from a
    /// time ([`Timestamp::at`], [`Timestamp::now`]) or parsed from any
    /// RFC 3339 text, which it normalises.
    Timestamp by normalised
);

fn normalised(field: &str, value: &str) -> Result<String, ApiError> {
    parse(value)
        .map(format)
        .ok_or_else(|| ApiError::invalid_field(field, "must be an RFC 3339 time"))
}

impl utoipa::PartialSchema for Timestamp {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
            .description(Some(
                "RFC 3339 in UTC with microseconds, such as 2026-11-23T20:01:47.123456Z",
            ))
            .into()
    }
}

impl utoipa::ToSchema for Timestamp {}

impl Timestamp {
    /// `at` in the one form.
    pub fn at(at: DateTime<Utc>) -> Self {
        Self(format(at))
    }

    /// The current time.
    pub fn now() -> Self {
        Self::at(Utc::now())
    }

    /// The time it names.
    pub fn time(&self) -> DateTime<Utc> {
        parse(&self.0).unwrap_or_default()
    }
}

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
