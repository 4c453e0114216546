//! The one media type a snapshot is stored and served with, read from a
//! `Content-Type` the way a browser reads it (the Fetch standard's "extract a
//! MIME type": the header's values split on commas outside quotes, the last
//! one that parses wins), so that what we judge is what a browser would see.

/// A parsed media type: its essence (`type/subtype`, lowercase) and charset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaType {
    essence: String,
    charset: Option<String>,
}

/// What a snapshot of no or no usable type is served as.
pub const OCTET_STREAM: &str = "application/octet-stream";

/// Types a browser shows without running anything of ours: served inline.
/// Everything else (HTML, SVG, XML, PDF, scripts, unknown) is an attachment.
const INLINE: &[&str] = &[
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "image/avif",
    "text/plain",
    "text/csv",
    "application/json",
];

fn is_token(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Splits a header value on commas that are not inside a quoted string.
fn split_values(header: &str) -> Vec<&str> {
    let mut values = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, c) in header.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ',' if !quoted => {
                values.push(&header[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    values.push(&header[start..]);
    values
}

impl MediaType {
    /// One media type (`type/subtype` and parameters), or `None`.
    fn parse_one(value: &str) -> Option<MediaType> {
        let mut parts = value.split(';');
        let essence = parts.next()?.trim().to_ascii_lowercase();
        let (kind, subtype) = essence.split_once('/')?;
        if !is_token(kind) || !is_token(subtype) {
            return None;
        }
        let charset = parts.find_map(|param| {
            let (name, value) = param.split_once('=')?;
            let value = value.trim().trim_matches('"');
            (name.trim().eq_ignore_ascii_case("charset") && is_token(value))
                .then(|| value.to_ascii_lowercase())
        });
        Some(MediaType { essence, charset })
    }

    /// The type a browser takes from this `Content-Type` header value, or
    /// `None` when it names none.
    pub fn extract(header: &str) -> Option<MediaType> {
        split_values(header)
            .into_iter()
            .rev()
            .filter_map(MediaType::parse_one)
            .find(|t| t.essence != "*/*")
    }

    /// The stored and served form of a header value: its extracted type, or
    /// `application/octet-stream`.
    pub fn normalise(header: Option<&str>) -> String {
        header
            .and_then(MediaType::extract)
            .map_or_else(|| OCTET_STREAM.to_owned(), |t| t.to_string())
    }

    pub fn essence(&self) -> &str {
        &self.essence
    }

    /// Whether a browser may be shown it inline: only types that run nothing.
    pub fn is_inline(&self) -> bool {
        INLINE.contains(&self.essence.as_str())
            || self.essence.starts_with("audio/")
            || self.essence.starts_with("video/")
    }
}

impl std::fmt::Display for MediaType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.charset {
            Some(charset) => write!(f, "{}; charset={charset}", self.essence),
            None => f.write_str(&self.essence),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn served(header: &str) -> (String, bool) {
        let stored = MediaType::normalise(Some(header));
        let inline = MediaType::extract(&stored).is_some_and(|t| t.is_inline());
        (stored, inline)
    }

    #[test]
    fn a_browser_reads_the_last_type_and_so_do_we() {
        for header in [
            "text/plain;,text/html",
            "image/png;,text/html",
            "text/plain, text/html",
            "image/png ;charset=\"a,b\", text/html",
            "TEXT/HTML",
            "image/svg+xml",
            "application/xhtml+xml",
            "application/pdf",
        ] {
            let (stored, inline) = served(header);
            assert!(!inline, "{header:?} stored as {stored:?} is served inline");
        }
        assert_eq!(served("text/html;,"), ("text/html".into(), false));
        assert_eq!(served("text/plain;,text/html").0, "text/html");
    }

    #[test]
    fn plain_types_stay_inline_and_keep_their_charset() {
        assert_eq!(
            served("Text/Plain; Charset=UTF-8"),
            ("text/plain; charset=utf-8".into(), true)
        );
        assert_eq!(served("image/png"), ("image/png".into(), true));
        assert_eq!(served("text/html, */*").0, "text/html");
        assert_eq!(
            served("video/mp4; codecs=\"avc1\""),
            ("video/mp4".into(), true)
        );
    }

    #[test]
    fn no_type_is_an_octet_stream_attachment() {
        for header in ["", "nonsense", "text/", "/html", ";", "a b/c"] {
            assert_eq!(served(header), (OCTET_STREAM.into(), false), "{header:?}");
        }
        assert_eq!(MediaType::normalise(None), OCTET_STREAM);
    }
}
