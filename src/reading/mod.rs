//! Reading web pages: an article's outbound links and the sentences they
//! support, a page's bibliographic metadata, the text of an archived copy
//! and where a quote is in it, and an article's links marked with their
//! archived copies (Robust Links). Pure functions over text: no database,
//! no network; the callers fetch and store.

pub mod encoding;
pub mod links;
pub mod metadata;
pub mod quotes;
pub mod robust;
pub mod sentences;
pub mod text;

/// The deepest markup any reading here takes: html5ever checks its stack
/// of open elements at each new one, so time grows with the square of the
/// depth, and no article or page nests anywhere near this deep.
pub const MAX_DEPTH: usize = 2000;

/// Whether `html` nests its elements deeper than [`MAX_DEPTH`], by one
/// linear scan of its tags (not a parse): elements that need no end tag, or
/// that browsers close on their own (`p`, `li`, table cells), are not
/// counted, nor is anything in comments, scripts and styles. A tag ends at
/// the first `>` outside a quoted attribute value, as the tokenizer has it,
/// so `<div title='>'</div>` is one start tag, as a browser reads it.
pub fn too_deep(html: &str) -> bool {
    const UNCOUNTED: &[&str] = &[
        "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr", "p", "li", "dt", "dd", "option", "optgroup", "tr", "td", "th", "tbody",
        "thead", "tfoot", "colgroup", "caption", "rb", "rt", "rtc", "rp", "param", "keygen",
    ];
    let bytes = html.as_bytes();
    let (mut depth, mut i) = (0usize, 0usize);
    while let Some(offset) = bytes
        .get(i..)
        .and_then(|rest| rest.iter().position(|b| *b == b'<'))
    {
        i += offset + 1;
        if bytes[i..].starts_with(b"!--") {
            i = find(bytes, i + 3, b"-->").unwrap_or(bytes.len());
            continue;
        }
        let closing = bytes.get(i) == Some(&b'/');
        let start = i + usize::from(closing);
        let end = bytes
            .get(start..)
            .and_then(|rest| rest.iter().position(|b| !b.is_ascii_alphanumeric()))
            .map_or(bytes.len(), |n| start + n);
        if end == start || !bytes[start].is_ascii_alphabetic() {
            continue;
        }
        // `/>` closes nothing in HTML (`<div/>` opens a div), only in SVG
        // and MathML, whose contents are skipped whole below.
        i = tag_end(bytes, end);
        let name = html[start..end].to_ascii_lowercase();
        if UNCOUNTED.contains(&name.as_str()) {
            continue;
        }
        if closing {
            depth = depth.saturating_sub(1);
            continue;
        }
        if matches!(
            name.as_str(),
            "script" | "style" | "textarea" | "title" | "xmp" | "svg" | "math"
        ) {
            let close = format!("</{name}");
            i = find_ignoring_case(html, i, &close).map_or(bytes.len(), |at| at + close.len());
            continue;
        }
        depth += 1;
        if depth > MAX_DEPTH {
            return true;
        }
    }
    false
}

/// Where the tag whose name ends at `from` ends: just past its `>`, or at
/// the end of the input. Quoted attribute values are skipped whole.
fn tag_end(bytes: &[u8], from: usize) -> usize {
    let mut i = from;
    let mut after_equals = false;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'>' => return i + 1,
            b'"' | b'\'' if after_equals => {
                i = bytes
                    .get(i + 1..)
                    .and_then(|rest| rest.iter().position(|c| *c == b))
                    .map_or(bytes.len(), |n| i + 1 + n + 1);
                after_equals = false;
                continue;
            }
            b'=' => after_equals = true,
            b if b.is_ascii_whitespace() => {}
            _ => after_equals = false,
        }
        i += 1;
    }
    bytes.len()
}

/// The index just past the first `needle` at or after `from`.
fn find(bytes: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    bytes
        .get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|n| from + n + needle.len())
}

fn find_ignoring_case(html: &str, from: usize, needle: &str) -> Option<usize> {
    let rest = html.get(from..)?;
    let n = needle.len();
    rest.as_bytes()
        .windows(n)
        .position(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
        .map(|at| from + at)
}

#[cfg(test)]
mod tests {
    #[test]
    fn depth_is_told_without_parsing() {
        assert!(!super::too_deep("<div><p>a<p>b<br><img src=x></div>"));
        assert!(super::too_deep(&"<div>".repeat(3000)));
        assert!(!super::too_deep(&"<div></div>".repeat(3000)));
        assert!(!super::too_deep(&"<li>item".repeat(5000)));
        assert!(!super::too_deep(&format!(
            "<script>{}</script>",
            "<div>".repeat(3000)
        )));
        assert!(!super::too_deep(&format!(
            "<!--{}-->",
            "<div>".repeat(3000)
        )));
    }
}
