//! Parse, don't validate: the field types of articles, sources and citations.
//! Each parser names the field it refuses, so the API can answer with a
//! problem+json that says what to fix.

use crate::error::ApiError;

pub const MAX_URL_LEN: usize = 2048;

type Result<T> = std::result::Result<T, ApiError>;

/// Declares a string newtype that only its parser makes.
macro_rules! parsed_string {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

parsed_string!(
    /// An article slug: lowercase letters, digits and single dashes, 1 to 100 long.
    Slug
);
parsed_string!(
    /// An absolute http(s) URL of at most 2048 characters, in its normalised form.
    HttpUrl
);
parsed_string!(
    /// A BCP 47 language tag, checked for its shape.
    LanguageTag
);
parsed_string!(
    /// Lowercase hex SHA-256.
    Sha256Hex
);
parsed_string!(
    /// A DOI such as `10.1000/xyz123`.
    Doi
);

impl Slug {
    pub fn parse(field: &str, value: &str) -> Result<Self> {
        slug(field, value).map(Self)
    }
}

impl HttpUrl {
    pub fn parse(field: &str, value: &str) -> Result<Self> {
        http_url(field, value).map(Self)
    }
}

impl LanguageTag {
    pub fn parse(field: &str, value: &str) -> Result<Self> {
        language(field, value).map(Self)
    }
}

impl Sha256Hex {
    pub fn parse(field: &str, value: &str) -> Result<Self> {
        sha256_hex(field, value).map(Self)
    }
}

impl Doi {
    pub fn parse(field: &str, value: &str) -> Result<Self> {
        doi(field, value).map(Self)
    }
}

fn slug(field: &str, value: &str) -> Result<String> {
    let ok = (1..=100).contains(&value.len())
        && value.split('-').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        });
    if !ok {
        return Err(ApiError::invalid_field(
            field,
            "must be 1 to 100 lowercase letters, digits and single dashes, starting and ending with a letter or digit",
        ));
    }
    Ok(value.to_owned())
}

/// At most [`MAX_URL_LEN`] characters, as sent and once normalised (so a
/// stored URL always passes again).
fn http_url(field: &str, value: &str) -> Result<String> {
    let too_long = |url: &str| url.chars().count() > MAX_URL_LEN;
    let long =
        || ApiError::invalid_field(field, format!("must be at most {MAX_URL_LEN} characters"));
    if too_long(value) {
        return Err(long());
    }
    let parsed = url::Url::parse(value)
        .map_err(|e| ApiError::invalid_field(field, format!("is not an absolute URL ({e})")))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none_or(str::is_empty) {
        return Err(ApiError::invalid_field(
            field,
            "must be an absolute http or https URL",
        ));
    }
    let normalised = parsed.to_string();
    if too_long(&normalised) {
        return Err(long());
    }
    Ok(normalised)
}

/// Checked for its shape (RFC 5646 §2.1): a 2-3 or 5-8 letter primary subtag,
/// then alphanumeric subtags of 1 to 8; at most 35 long.
fn language(field: &str, value: &str) -> Result<String> {
    let mut parts = value.split('-');
    let primary_ok = parts.next().is_some_and(|p| {
        matches!(p.len(), 2 | 3 | 5..=8) && p.bytes().all(|b| b.is_ascii_alphabetic())
    });
    let rest_ok =
        parts.all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()));
    if value.len() > 35 || !primary_ok || !rest_ok {
        return Err(ApiError::invalid_field(
            field,
            "must be a BCP 47 language tag, such as en, pt-BR or zh-Hant",
        ));
    }
    Ok(value.to_owned())
}

/// Uppercase is accepted and lowered.
fn sha256_hex(field: &str, value: &str) -> Result<String> {
    if value.len() != 64 || !value.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ApiError::invalid_field(
            field,
            "must be 64 hex digits (a SHA-256)",
        ));
    }
    Ok(value.to_ascii_lowercase())
}

fn doi(field: &str, value: &str) -> Result<String> {
    let ok = value.chars().count() <= 200
        && value
            .strip_prefix("10.")
            .and_then(|rest| rest.split_once('/'))
            .is_some_and(|(registrant, suffix)| {
                (4..=9).contains(&registrant.split('.').next().map_or(0, str::len))
                    && registrant.bytes().all(|b| b.is_ascii_digit() || b == b'.')
                    && !suffix.is_empty()
                    && !suffix.chars().any(|c| c.is_whitespace() || c.is_control())
            });
    if !ok {
        return Err(ApiError::invalid_field(
            field,
            "must be a DOI such as 10.1000/xyz123",
        ));
    }
    Ok(value.to_owned())
}

/// A date (`2026-11-23`) or an RFC 3339 time, kept as written but normalised:
/// times become UTC with microseconds.
pub fn date_or_time(field: &str, value: &str) -> Result<String> {
    if let Ok(date) = chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d")
        && value.len() == 10
    {
        return Ok(date.format("%Y-%m-%d").to_string());
    }
    use chrono::Datelike;
    chrono::DateTime::parse_from_rfc3339(value)
        .ok()
        .map(|t| t.with_timezone(&chrono::Utc))
        .filter(|t| (1..=9999).contains(&t.year()))
        .map(crate::time::format)
        .ok_or_else(|| {
            ApiError::invalid_field(field, "must be a date (2026-11-23) or an RFC 3339 time")
        })
}

/// Text of at most `max` characters with no control characters but newlines and
/// tabs; `required` refuses blank text.
pub fn text(field: &str, value: &str, max: usize, required: bool) -> Result<String> {
    if required && value.trim().is_empty() {
        return Err(ApiError::invalid_field(field, "must not be blank"));
    }
    if value.chars().count() > max {
        return Err(ApiError::invalid_field(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(ApiError::invalid_field(
            field,
            "must not contain control characters",
        ));
    }
    Ok(value.to_owned())
}

/// One line of text: like [`text`], with no newlines or tabs either.
pub fn line(field: &str, value: &str, max: usize) -> Result<String> {
    if value.contains(['\n', '\t']) {
        return Err(ApiError::invalid_field(field, "must be a single line"));
    }
    text(field, value, max, true)
}

/// JSON has one kind of number, and JSON Schema counts `2.0` as the integer 2:
/// an optional integer field takes any number without a fraction.
pub fn whole_number<'de, D>(d: D) -> std::result::Result<Option<i64>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    use serde::Deserialize;
    use serde::de::Error;
    let Some(number) = Option::<serde_json::Number>::deserialize(d)? else {
        return Ok(None);
    };
    if let Some(n) = number.as_i64() {
        return Ok(Some(n));
    }
    // 2^63 is exact as an f64; every whole f64 below it fits an i64.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    match number.as_f64() {
        Some(f) if f.fract() == 0.0 && (-LIMIT..LIMIT).contains(&f) => Ok(Some(f as i64)),
        _ => Err(D::Error::custom(format!(
            "invalid value: {number}, expected a whole number that fits in 64 bits"
        ))),
    }
}

/// Applies `parse` to an optional value.
pub fn optional<T>(
    value: Option<&str>,
    parse: impl FnOnce(&str) -> Result<T>,
) -> Result<Option<T>> {
    value.map(parse).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        for ok in ["a", "budget-2026", "x-1-y"] {
            assert!(slug("slug", ok).is_ok(), "{ok}");
        }
        for bad in ["", "-a", "a-", "a--b", "A", "a_b", "ä", &"a".repeat(101)] {
            assert!(slug("slug", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn urls() {
        assert_eq!(
            http_url("url", "https://Example.org").expect("ok"),
            "https://example.org/"
        );
        for bad in [
            "ftp://x.org/",
            "/relative",
            "https://",
            "mailto:a@b.c",
            "javascript:alert(1)",
            "not a url",
        ] {
            assert!(http_url("url", bad).is_err(), "{bad}");
        }
        let long = format!("https://e.org/{}", "a".repeat(MAX_URL_LEN));
        assert!(http_url("url", &long).is_err());
    }

    #[test]
    fn languages_hashes_dois_dates() {
        for ok in ["en", "pt-BR", "zh-Hant-TW", "es-419", "yue"] {
            assert!(language("language", ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "e",
            "english-language-tag-that-is-too-long-x",
            "en_US",
            "12",
            "en-",
        ] {
            assert!(language("language", bad).is_err(), "{bad}");
        }
        assert!(sha256_hex("h", &"A".repeat(64)).is_ok_and(|h| h == "a".repeat(64)));
        assert!(sha256_hex("h", &"g".repeat(64)).is_err());
        assert!(doi("doi", "10.1000/xyz123").is_ok());
        assert!(doi("doi", "11.1000/x").is_err());
        assert_eq!(date_or_time("d", "2026-11-23").expect("date"), "2026-11-23");
        assert_eq!(
            date_or_time("d", "2026-11-23T10:00:00+01:00").expect("time"),
            "2026-11-23T09:00:00.000000Z"
        );
        assert!(date_or_time("d", "yesterday").is_err());
        assert!(date_or_time("d", "+10000-01-01T00:00:00Z").is_err());
        assert!(text("t", "a\u{0}b", 10, true).is_err());
        assert!(text("t", "  ", 10, true).is_err());
        assert!(line("t", "a\nb", 10).is_err());
    }
}
