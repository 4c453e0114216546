//! Parse, don't validate: the field types of articles, sources and citations.
//! Each parser names the field it refuses, so the API can answer with a
//! problem+json that says what to fix.

use crate::error::ApiError;

pub const MAX_URL_LEN: usize = 2048;

type Result<T> = std::result::Result<T, ApiError>;

/// What a request field accepts, stated once: its parser below checks it,
/// and the OpenAPI document states it from [`Rule::pattern`] (an ECMA-262
/// pattern and a length that a client can check before sending).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// Text of at most this many characters, not blank: no control
    /// characters but newlines and tabs.
    Text(usize),
    /// One line of at most this many characters, not blank.
    Line(usize),
    /// An API key's name: a line of 1 to 100 without surrounding spaces.
    KeyName,
    /// A webhook secret an admin gives: 16 to 200 printable characters
    /// without surrounding spaces.
    Secret,
    Slug,
    HttpUrl,
    Language,
    Sha256,
    Doi,
    Email,
    /// A date or an RFC 3339 time (stated in the document as a choice of
    /// two formats, not a pattern).
    DateOrTime,
}

/// Control characters but tab and newline: what [`Rule::Text`] refuses.
const TEXT: &str = r"^[^\u0000-\u0008\u000B-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u0008\u000B-\u001F\u007F-\u009F]*$";
/// No control characters at all, and not blank: [`Rule::Line`].
const LINE: &str = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$";
/// A line that neither starts nor ends with white space.
const TRIMMED_LINE: &str = r"^[^\s\u0000-\u001F\u007F-\u009F]([^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F])?$";
const SLUG: &str = r"^[a-z0-9]+(-[a-z0-9]+)*$";
/// An http(s) URL whose host is a domain name, with a path and no characters
/// that normalisation would percent-encode, so that normalising never makes it
/// longer. The parser takes more (IP addresses, no path, characters it
/// encodes); this is the part that is certain to pass.
const HTTP_URL: &str = r"^[hH][tT][tT][pP][sS]?://([A-Za-z0-9]+(-[A-Za-z0-9]+)*\.)*[A-Za-z][A-Za-z0-9]*(-[A-Za-z0-9]+)*(:[0-9]{1,4})?/[A-Za-z0-9._~:/?#@!$&()*+,;=%-]*$";
const LANGUAGE: &str = r"^([A-Za-z]{2,3}|[A-Za-z]{5,8})(-[A-Za-z0-9]{1,8})*$";
const SHA256: &str = r"^[0-9A-Fa-f]{64}$";
const DOI: &str = r"^10\.[0-9]{4,9}(\.[0-9]*)*/[^\s\u0000-\u001F\u007F-\u009F]+$";
const EMAIL: &str = r"^[^@\s\u0000-\u001F\u007F-\u009F]+@[^@.\s\u0000-\u001F\u007F-\u009F]+(\.[^@.\s\u0000-\u001F\u007F-\u009F]+)+$";

impl Rule {
    /// Parses `value` of `field` by this rule: the value to keep, or a
    /// problem that names the field.
    pub fn check(self, field: &str, value: &str) -> Result<String> {
        match self {
            Self::Text(max) => text(field, value, max),
            Self::Line(max) => line(field, value, max),
            Self::KeyName => trimmed_line(field, value, 1, 100),
            Self::Secret => trimmed_line(field, value, 16, 200),
            Self::Slug => slug(field, value),
            Self::HttpUrl => http_url(field, value),
            Self::Language => language(field, value),
            Self::Sha256 => sha256_hex(field, value),
            Self::Doi => doi(field, value),
            Self::Email => email(field, value),
            Self::DateOrTime => date_or_time(field, value),
        }
    }

    /// The ECMA-262 pattern and the most characters the rule takes, for the
    /// OpenAPI document; `None` for a date or time.
    pub fn pattern(self) -> Option<(&'static str, usize)> {
        Some(match self {
            Self::Text(max) => (TEXT, max),
            Self::Line(max) => (LINE, max),
            Self::KeyName => (TRIMMED_LINE, 100),
            Self::Secret => (TRIMMED_LINE, 200),
            Self::Slug => (SLUG, 100),
            Self::HttpUrl => (HTTP_URL, MAX_URL_LEN),
            Self::Language => (LANGUAGE, 35),
            Self::Sha256 => (SHA256, 64),
            Self::Doi => (DOI, 200),
            Self::Email => (EMAIL, 254),
            Self::DateOrTime => return None,
        })
    }

    /// The fewest characters the rule takes, where its pattern does not
    /// say so already.
    pub fn min_length(self) -> Option<usize> {
        match self {
            Self::Secret => Some(16),
            Self::Slug => Some(1),
            _ => None,
        }
    }
}

/// Declares a string newtype that only its parser makes, carried as it is
/// to and from the database (text, parsed again when read: a row holds only
/// what the parser made) and in JSON (a string).
macro_rules! parsed_string {
    ($(#[$meta:meta])* $name:ident by $parser:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
        #[derive(diesel::AsExpression, diesel::FromSqlRow)]
        #[diesel(sql_type = diesel::sql_types::Text)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn parse(
                field: &str,
                value: &str,
            ) -> std::result::Result<Self, $crate::error::ApiError> {
                $parser(field, value).map(Self)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl std::ops::Deref for $name {
            type Target = str;

            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }

        impl<DB> diesel::serialize::ToSql<diesel::sql_types::Text, DB> for $name
        where
            DB: diesel::backend::Backend,
            str: diesel::serialize::ToSql<diesel::sql_types::Text, DB>,
        {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, DB>,
            ) -> diesel::serialize::Result {
                <str as diesel::serialize::ToSql<diesel::sql_types::Text, DB>>::to_sql(
                    self.0.as_str(),
                    out,
                )
            }
        }

        impl<DB> diesel::deserialize::FromSql<diesel::sql_types::Text, DB> for $name
        where
            DB: diesel::backend::Backend,
            String: diesel::deserialize::FromSql<diesel::sql_types::Text, DB>,
        {
            fn from_sql(bytes: DB::RawValue<'_>) -> diesel::deserialize::Result<Self> {
                let text = String::from_sql(bytes)?;
                Self::parse(stringify!($name), &text)
                    .map_err(|_| format!("the database holds {text:?}, not a {}", stringify!($name)).into())
            }
        }
    };
}

pub(crate) use parsed_string;

parsed_string!(
    /// An article slug: lowercase letters, digits and single dashes, 1 to 100 long.
    Slug by slug
);
parsed_string!(
    /// An absolute http(s) URL of at most 2048 characters, in its normalised form.
    HttpUrl by http_url
);
parsed_string!(
    /// A BCP 47 language tag, checked for its shape.
    LanguageTag by language
);
parsed_string!(
    /// Lowercase hex SHA-256.
    Sha256Hex by sha256_hex
);
parsed_string!(
    /// A DOI such as `10.1000/xyz123`.
    Doi by doi
);

impl Sha256Hex {
    /// The hex form of a SHA-256 digest.
    pub fn of_digest(digest: [u8; 32]) -> Self {
        Self(hex::encode(digest))
    }

    /// The digest it names.
    pub fn digest(&self) -> [u8; 32] {
        let mut digest = [0; 32];
        // Only its parser and `of_digest` make one: always 64 hex digits.
        hex::decode_to_slice(&self.0, &mut digest).unwrap_or_default();
        digest
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
fn date_or_time(field: &str, value: &str) -> Result<String> {
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

/// A line of `min` to `max` printable characters without surrounding spaces.
fn trimmed_line(field: &str, value: &str, min: usize, max: usize) -> Result<String> {
    let len = value.chars().count();
    if !(min..=max).contains(&len) || value.chars().any(char::is_control) || value.trim() != value {
        return Err(ApiError::invalid_field(
            field,
            format!("must be {min} to {max} printable characters without surrounding spaces"),
        ));
    }
    Ok(value.to_owned())
}

/// One `@`, something before it, and a domain of at least two non-empty
/// labels; no white space or control characters; at most 254 characters.
fn email(field: &str, value: &str) -> Result<String> {
    let ok = value.chars().count() <= 254
        && value.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && !domain.contains('@')
                && domain.split('.').count() >= 2
                && domain.split('.').all(|label| !label.is_empty())
        })
        && !value.chars().any(|c| c.is_whitespace() || c.is_control());
    if !ok {
        return Err(ApiError::invalid_field(field, "must be an email address"));
    }
    Ok(value.to_owned())
}

/// Text of at most `max` characters, not blank, with no control characters
/// but newlines and tabs.
fn text(field: &str, value: &str, max: usize) -> Result<String> {
    if value.trim().is_empty() {
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
fn line(field: &str, value: &str, max: usize) -> Result<String> {
    if value.contains(['\n', '\t']) {
        return Err(ApiError::invalid_field(field, "must be a single line"));
    }
    text(field, value, max)
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
        assert!(text("t", "a\u{0}b", 10).is_err());
        assert!(text("t", "  ", 10).is_err());
        assert!(Rule::Secret.check("s", "short").is_err());
        assert!(Rule::KeyName.check("n", " padded").is_err());
        assert!(Rule::Email.check("e", "a@b.example").is_ok());
        assert!(line("t", "a\nb", 10).is_err());
    }
}
