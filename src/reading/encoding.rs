//! A fetched page's bytes as text, in the encoding the page is in: a byte
//! order mark, else the `charset` of its `Content-Type`, else a `<meta
//! charset>` (or `http-equiv` Content-Type) in its first kilobytes, else
//! UTF-8 (the WHATWG Encoding Standard's labels, through `encoding_rs`).
//! Bytes that do not decode become U+FFFD, as in a browser.

use std::borrow::Cow;

use encoding_rs::{Encoding, UTF_8};

/// How far into a page a `<meta charset>` is looked for (HTML's prescan
/// looks at the first 1024 bytes; pages with long heads put it later).
const PRESCAN: usize = 4096;

/// `bytes` decoded as the page says it is encoded.
pub fn decode<'b>(bytes: &'b [u8], content_type: &str) -> Cow<'b, str> {
    let declared = charset_of(content_type).or_else(|| meta_charset(bytes));
    let encoding = declared
        .and_then(|label| Encoding::for_label(label.as_bytes()))
        .unwrap_or(UTF_8);
    // `decode` honours a byte order mark over the label.
    let (text, _, _) = encoding.decode(bytes);
    text
}

/// The `charset` parameter of a media type.
fn charset_of(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|param| {
        let (name, value) = param.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| value.trim().trim_matches('"').to_owned())
    })
}

/// The charset a `<meta>` in the page's first bytes declares.
fn meta_charset(bytes: &[u8]) -> Option<String> {
    let head = &bytes[..bytes.len().min(PRESCAN)];
    let lower: Vec<u8> = head.iter().map(u8::to_ascii_lowercase).collect();
    let at = lower.windows(8).position(|w| w == b"charset=")?;
    let rest = &head[at + 8..];
    let rest = rest
        .strip_prefix(b"\"")
        .or_else(|| rest.strip_prefix(b"'"))
        .unwrap_or(rest);
    let end = rest
        .iter()
        .position(|b| !(b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b':' | b'.')))
        .unwrap_or(rest.len());
    let label = std::str::from_utf8(&rest[..end]).ok()?;
    (!label.is_empty()).then(|| label.to_owned())
}

#[cfg(test)]
mod tests {
    use super::decode;

    #[test]
    fn pages_are_read_in_their_own_encoding() {
        // "Café – 5 €" in windows-1252.
        let latin = b"<p>Caf\xe9 \x96 5 \x80</p>";
        assert_eq!(
            decode(latin, "text/html; charset=windows-1252"),
            "<p>Café – 5 €</p>"
        );
        assert_eq!(
            decode(latin, "text/html; charset=\"ISO-8859-1\""),
            "<p>Café – 5 €</p>"
        );
        let meta = b"<html><head><meta charset=\"windows-1252\"></head><p>Caf\xe9</p>";
        assert!(decode(meta, "text/html").contains("Café"));
        let equiv = b"<meta http-equiv=\"Content-Type\" content=\"text/html; charset=iso-8859-15\"><p>\xa4</p>";
        assert!(decode(equiv, "text/html").contains('€'));
        assert_eq!(
            decode("plain ünïcode".as_bytes(), "text/html"),
            "plain ünïcode"
        );
        // A byte order mark wins over the label; bad bytes become U+FFFD.
        assert_eq!(
            decode(b"\xef\xbb\xbfok", "text/html; charset=windows-1252"),
            "ok"
        );
        assert_eq!(decode(b"a\xffb", "text/plain"), "a\u{fffd}b");
    }
}
