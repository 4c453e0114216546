//! The text a reader sees on an archived page, so that a citation's quote
//! can be looked for in it (`reading::quotes`). HTML goes through html5ever
//! (via `scraper`), the same parser a browser's rules describe, so broken
//! markup reads as a browser would show it.

use std::borrow::Cow;

use ego_tree::iter::Edge;
use scraper::{Html, Node};

/// Elements whose contents a reader never sees as text.
const SKIPPED: &[&str] = &[
    "script", "style", "noscript", "template", "svg", "head", "title", "iframe", "object", "embed",
    "canvas", "audio", "video", "select", "datalist", "textarea",
];

/// Elements that start and end a line of their own. Inline elements are
/// not here: their text runs on with their neighbours'.
const BLOCKS: &[&str] = &[
    "address",
    "article",
    "aside",
    "blockquote",
    "body",
    "br",
    "caption",
    "center",
    "dd",
    "details",
    "dialog",
    "dir",
    "div",
    "dl",
    "dt",
    "fieldset",
    "figcaption",
    "figure",
    "footer",
    "form",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hgroup",
    "hr",
    "html",
    "legend",
    "li",
    "main",
    "menu",
    "nav",
    "ol",
    "option",
    "p",
    "pre",
    "section",
    "summary",
    "table",
    "tbody",
    "td",
    "tfoot",
    "th",
    "thead",
    "tr",
    "ul",
];

/// Most tags (start or end) given to one html5ever parse. html5ever keeps
/// no limit on nesting, and several of its steps walk the whole stack of
/// open elements, so a page of N nested `<div>`s costs N² (100,000 of them:
/// half a minute). A longer page is parsed in pieces of at most this many
/// tags, which bounds the work to this many times the page's size: a few
/// milliseconds per piece at worst.
const TAGS_PER_PARSE: usize = 2048;

/// The visible text of an HTML page: one line per block, inline text run
/// together, HTML's collapsible whitespace (space, tab, newline) folded into
/// one space except inside `<pre>`. Scripts, styles, the `<head>`, form
/// fields and elements marked `hidden` (or `style="display:none"`) are left
/// out.
///
/// Archived pages come from anyone, so the parser is kept from work that
/// grows faster than the page: formatting elements (`<b>`, `<a>`, `<font>`
/// …) are read as `<span>`s, which changes no text but stops html5ever
/// from re-opening them again and again (46 KB of such markup made
/// 3 million elements), and long pages are parsed in pieces (see
/// [`TAGS_PER_PARSE`]), cut before a block where the markup is shallowest.
/// The tree is walked with `ego_tree`'s edge iterator, not recursion, so
/// deep nesting costs no stack.
///
/// Not bounded here: html5ever checks each attribute of a tag against those
/// before it, so one tag with 40,000 attributes costs 2.4 s; a caller
/// reading pages from anyone should cap their size.
pub fn html_text(html: &str) -> String {
    text_in_pieces(html, TAGS_PER_PARSE)
}

fn text_in_pieces(html: &str, tags_per_parse: usize) -> String {
    let html = neutralise_formatting(html);
    let mut out = TextOut::with_capacity(html.len() / 2);
    for piece in pieces(&html, tags_per_parse) {
        append_text(&Html::parse_document(piece), &mut out);
        out.block();
    }
    out.finish()
}

/// Appends the visible text of one parsed document.
fn append_text(document: &Html, out: &mut TextOut) {
    // Depth inside skipped elements and inside `<pre>`; counters rather
    // than flags because such elements nest.
    let mut skipping = 0usize;
    let mut pre = 0usize;
    for edge in document.tree.root().traverse() {
        match edge {
            Edge::Open(node) => match node.value() {
                Node::Element(element) => {
                    if skipping > 0 || invisible(element) {
                        skipping += 1;
                        continue;
                    }
                    let name = element.name();
                    if name == "pre" || name == "listing" {
                        pre += 1;
                    }
                    if BLOCKS.contains(&name) {
                        out.block();
                    }
                }
                Node::Text(text) if skipping == 0 => out.text(text, pre > 0),
                _ => {}
            },
            Edge::Close(node) => {
                if let Node::Element(element) = node.value() {
                    if skipping > 0 {
                        skipping -= 1;
                        continue;
                    }
                    let name = element.name();
                    if name == "pre" || name == "listing" {
                        pre = pre.saturating_sub(1);
                    }
                    if BLOCKS.contains(&name) {
                        out.block();
                    }
                }
            }
        }
    }
}

/// HTML's formatting elements: the parser re-creates them after a block
/// closes ("reconstructs the active formatting elements"), which crafted
/// markup turns into a number of elements that grows as the square of its
/// size.
const FORMATTING: &[&str] = &[
    "a", "b", "big", "code", "em", "font", "i", "nobr", "s", "small", "strike", "strong", "tt", "u",
];

/// Renames every formatting start and end tag to `span`. Done on the raw
/// markup wherever such a tag name appears, so it needs no parsing of its
/// own to be sure it misses none; where the name was not a tag (in a
/// script, a comment, an attribute) it was not visible text either.
fn neutralise_formatting(html: &str) -> Cow<'_, str> {
    neutralise_formatting_but(html, &[])
}

/// [`neutralise_formatting`] leaving the tags `kept` as they are: links are
/// kept where they are what is read (an `a` start tag closes the `a` open
/// before it, so links alone cannot pile up formatting elements).
pub(crate) fn neutralise_formatting_but<'h>(html: &'h str, kept: &[&str]) -> Cow<'h, str> {
    let bytes = html.as_bytes();
    let mut out = String::new();
    let mut copied = 0;
    let mut at = 0;
    while let Some(offset) = bytes
        .get(at..)
        .and_then(|rest| rest.iter().position(|&b| b == b'<'))
    {
        let mut name_start = at + offset + 1;
        if bytes.get(name_start) == Some(&b'/') {
            name_start += 1;
        }
        at = name_start;
        let name = tag_name(bytes, name_start);
        let name_len = name.len();
        // A tag name ends at whitespace, `/` or `>`; at the end of the input
        // the tag is dropped by the parser anyway.
        let ends_tag = bytes.get(name_start + name_len).is_some();
        if ends_tag
            && FORMATTING
                .iter()
                .filter(|f| !kept.contains(f))
                .any(|f| f.as_bytes().eq_ignore_ascii_case(name))
        {
            // `<`, `/` and the ASCII name are all char boundaries.
            out.push_str(&html[copied..name_start]);
            out.push_str("span");
            copied = name_start + name_len;
        }
    }
    if copied == 0 {
        return Cow::Borrowed(html);
    }
    out.push_str(&html[copied..]);
    Cow::Owned(out)
}

/// The tag name that starts at `start`: up to whitespace, `/`, `>` or `<`.
fn tag_name(bytes: &[u8], start: usize) -> &[u8] {
    let rest = bytes.get(start..).unwrap_or_default();
    let len = rest.iter().take_while(|b| !is_tag_name_end(**b)).count();
    &rest[..len]
}

fn is_tag_name_end(b: u8) -> bool {
    matches!(
        b,
        b' ' | b'\t' | b'\n' | b'\r' | b'\x0C' | b'/' | b'>' | b'<'
    )
}

/// Elements with no end tag, or whose end tag may be left out: they do not
/// add to the rough nesting depth [`pieces`] keeps.
const NO_DEPTH: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
    "track", "wbr", "p", "li", "dt", "dd", "option", "optgroup", "tr", "td", "th", "tbody",
    "thead", "tfoot", "colgroup", "html", "head", "body", "rb", "rt", "rp",
];

/// Elements whose content is not markup, or not shown: never cut inside
/// them (a script cut in two would show its second half as text).
const NO_CUT_INSIDE: &[&str] = &[
    "script", "style", "textarea", "title", "xmp", "noscript", "noembed", "noframes", "iframe",
    "template", "svg", "math", "head", "select",
];

/// Splits the markup into pieces of at most `limit` tags. The count is of
/// every `<` or `</` followed by a letter, whatever the context, so no piece
/// can hold more tags than that however it is written. Where to cut is
/// chosen by a rough reading of the markup: before a block's start tag,
/// outside comments, scripts and the like, where the nesting is
/// shallowest among the second half of the piece's tags. A cut loses the
/// elements open across it, which matters only if they hid their content.
fn pieces(html: &str, limit: usize) -> Vec<&str> {
    let bytes = html.as_bytes();
    let mut pieces = Vec::new();
    let mut piece_start = 0;
    // Where each tag of the current piece is.
    let mut tags: Vec<usize> = Vec::with_capacity(limit.min(bytes.len() / 3 + 1));
    // The best place to cut so far: (depth, position).
    let mut best: Option<(usize, usize)> = None;
    let mut depth = 0usize;
    // Inside a comment or a no-cut element until this position.
    let mut opaque_until = 0;
    let mut at = 0;
    while let Some(offset) = bytes
        .get(at..)
        .and_then(|rest| rest.iter().position(|&b| b == b'<'))
    {
        let lt = at + offset;
        at = lt + 1;
        let next = bytes.get(lt + 1).copied().unwrap_or(b' ');
        // Start and end tags both count: an end tag too can make the parser
        // walk its stack of open elements.
        let tag_follows = next.is_ascii_alphabetic()
            || (next == b'/' && bytes.get(lt + 2).is_some_and(u8::is_ascii_alphabetic));
        if tag_follows {
            if tags.len() == limit {
                let cut = match best {
                    Some((_, position)) if position > piece_start => position,
                    _ => lt,
                };
                pieces.push(&html[piece_start..cut]);
                piece_start = cut;
                tags.retain(|&p| p >= cut);
                best = None;
            }
            tags.push(lt);
        }
        if lt < opaque_until {
            continue;
        }
        if bytes.get(lt + 1..lt + 4) == Some(b"!--") {
            opaque_until = find_from(bytes, lt + 4, b"-->").map_or(bytes.len(), |p| p + 3);
            continue;
        }
        let closing = next == b'/';
        let name_start = if closing { lt + 2 } else { lt + 1 };
        let name = tag_name(bytes, name_start);
        if name.is_empty() || !name[0].is_ascii_alphabetic() {
            continue;
        }
        let is = |list: &[&str]| list.iter().any(|n| n.as_bytes().eq_ignore_ascii_case(name));
        if closing {
            if !is(NO_DEPTH) {
                depth = depth.saturating_sub(1);
            }
            continue;
        }
        if is(BLOCKS) && tags.len() > limit / 2 && best.is_none_or(|(d, _)| depth <= d) {
            best = Some((depth, lt));
        }
        if is(NO_CUT_INSIDE) {
            opaque_until =
                find_end_tag(bytes, name_start + name.len(), name).unwrap_or(bytes.len());
            continue;
        }
        if !is(NO_DEPTH) {
            depth += 1;
        }
    }
    pieces.push(&html[piece_start..]);
    pieces
}

fn find_from(haystack: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    haystack
        .get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// Where the end tag `</name` is, ignoring ASCII case, from `from` on.
fn find_end_tag(bytes: &[u8], from: usize, name: &[u8]) -> Option<usize> {
    let mut at = from;
    loop {
        let p = find_from(bytes, at, b"</")?;
        let candidate = bytes.get(p + 2..p + 2 + name.len())?;
        if candidate.eq_ignore_ascii_case(name) {
            return Some(p);
        }
        at = p + 2;
    }
}

/// Plain text of an archived response body by its media type: HTML and
/// XHTML through [`html_text`], `text/plain` as it is (invalid UTF-8
/// replaced). Other types give `None`, PDF included: archived files come
/// from anyone, and the PDF text extractor on crates.io (`pdf-extract`)
/// panics on malformed files and overflows the stack, aborting the whole
/// server, on a form that draws itself, which no `catch_unwind` can stop.
pub fn plain_text(bytes: &[u8], content_type: &str) -> Option<String> {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    match essence.as_str() {
        "text/html" | "application/xhtml+xml" => {
            Some(html_text(&super::encoding::decode(bytes, content_type)))
        }
        "text/plain" => Some(super::encoding::decode(bytes, content_type).into_owned()),
        _ => None,
    }
}

/// Whether an element's whole subtree is hidden from a reader.
fn invisible(element: &scraper::node::Element) -> bool {
    if SKIPPED.contains(&element.name()) || element.attr("hidden").is_some() {
        return true;
    }
    // Only the plainest inline style is read: a stylesheet's rules would
    // need a CSS engine, and this catches the common `display:none` banner.
    element.attr("style").is_some_and(|style| {
        let compact: String = style
            .chars()
            .filter(|c| !c.is_ascii_whitespace())
            .collect::<String>()
            .to_ascii_lowercase();
        compact.contains("display:none")
    })
}

/// What lies between the text written so far and the next text.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Gap {
    None,
    Space,
    Line,
}

/// Builds the output so that gaps are written only between two pieces of
/// text: no leading or trailing blank, never two separators in a row.
struct TextOut {
    out: String,
    gap: Gap,
}

impl TextOut {
    fn with_capacity(capacity: usize) -> Self {
        TextOut {
            out: String::with_capacity(capacity),
            gap: Gap::None,
        }
    }

    fn block(&mut self) {
        self.gap = Gap::Line;
    }

    fn text(&mut self, text: &str, preformatted: bool) {
        if preformatted {
            if !text.is_empty() {
                self.flush();
                self.out.push_str(text);
            }
            return;
        }
        if text.starts_with(is_html_space) {
            self.gap = self.gap.max(Gap::Space);
        }
        for (i, piece) in text
            .split(is_html_space)
            .filter(|piece| !piece.is_empty())
            .enumerate()
        {
            if i > 0 {
                self.gap = self.gap.max(Gap::Space);
            }
            self.flush();
            self.out.push_str(piece);
        }
        if text.ends_with(is_html_space) {
            self.gap = self.gap.max(Gap::Space);
        }
    }

    fn flush(&mut self) {
        if !self.out.is_empty() {
            match self.gap {
                Gap::None => {}
                Gap::Space => self.out.push(' '),
                Gap::Line => self.out.push('\n'),
            }
        }
        self.gap = Gap::None;
    }

    fn finish(self) -> String {
        self.out
    }
}

/// HTML's collapsible whitespace; a no-break space is not among it.
fn is_html_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0C')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_runs_on_and_blocks_break() {
        assert_eq!(html_text("<p>a<b>b</b></p>"), "ab");
        assert_eq!(html_text("<p>a</p><p>b</p>"), "a\nb");
        assert_eq!(html_text("<p>one <em>two</em> three</p>"), "one two three");
        assert_eq!(html_text("<div>a<br>b</div>"), "a\nb");
        assert_eq!(
            html_text("<ul><li>x</li><li>y</li></ul><table><tr><td>1</td><td>2</td></tr></table>"),
            "x\ny\n1\n2"
        );
    }

    #[test]
    fn whitespace_folds_but_not_in_pre_or_nbsp() {
        assert_eq!(html_text("<p>  a \n\t b  </p>\n\n<p> c </p>"), "a b\nc");
        assert_eq!(html_text("<pre>x  y\n z</pre>"), "x  y\n z");
        assert_eq!(html_text("<p>a&nbsp;&nbsp;b</p>"), "a\u{a0}\u{a0}b");
        assert_eq!(html_text("<p>a <b> b</b> c</p>"), "a b c");
        assert_eq!(html_text("<p>a<b> </b>c</p>"), "a c");
    }

    #[test]
    fn hidden_things_are_skipped() {
        let html = r#"<!doctype html><html><head><title>T</title><style>p{}</style>
            <script>var x = "<p>no</p>";</script></head><body>
            <p>yes</p><noscript>ns</noscript><template><p>tpl</p></template>
            <svg><text>svg</text></svg><p hidden>hid</p>
            <div style="display: none">none</div><p>end</p></body></html>"#;
        assert_eq!(html_text(html), "yes\nend");
    }

    #[test]
    fn character_references_are_decoded() {
        assert_eq!(
            html_text("<p>&ldquo;Fish &amp; chips&rdquo;</p>"),
            "\u{201c}Fish & chips\u{201d}"
        );
    }

    #[test]
    fn deep_nesting_does_not_overflow_the_stack() {
        let depth = 100_000;
        let mut html = String::with_capacity(depth * 11 + 10);
        for _ in 0..depth {
            html.push_str("<div>");
        }
        html.push_str("deep");
        for _ in 0..depth {
            html.push_str("</div>");
        }
        // Run on a small stack, as a worker thread might have.
        let text = std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(move || html_text(&html))
            .expect("spawn")
            .join()
            .expect("no stack overflow");
        assert_eq!(text, "deep");
    }

    #[test]
    fn formatting_elements_cannot_multiply() {
        // Each `<div>x</div>` used to re-open all 300 `<b>`s: 300,000
        // elements from 15 KB.
        let mut html = String::from("<p>");
        for i in 0..300 {
            html.push_str(&format!("<b id={i}>"));
        }
        html.push_str("</p>");
        for _ in 0..1000 {
            html.push_str("<div>x</div>");
        }
        let neutral = neutralise_formatting(&html);
        let nodes = Html::parse_document(&neutral).tree.nodes().count();
        assert!(nodes < 5_000, "{nodes} nodes");
        assert_eq!(html_text(&html), vec!["x"; 1000].join("\n"));
    }

    #[test]
    fn only_formatting_tag_names_are_renamed() {
        // Where the parser would read a tag name: `<b)` names no `b`.
        let html = "<B class=x>b</B><strong\n>s</strong><br><body><bdi>i</bdi><a/>\
                    <script>if (a<b && a<b) {}</script><s>";
        assert_eq!(
            neutralise_formatting(html),
            "<span class=x>b</span><span\n>s</span><br><body><bdi>i</bdi><span/>\
             <script>if (a<span && a<b) {}</script><span>"
        );
        let plain = "<p>no formatting here</p>";
        assert!(matches!(neutralise_formatting(plain), Cow::Borrowed(_)));
    }

    #[test]
    fn long_pages_read_the_same_in_pieces() {
        let mut html = String::from(
            "<!doctype html><html><head><title>T</title><script>var s = '<div><p>';</script>\
             </head><body><div class=page><header><nav><ul><li><a href=/>Home</a></li></ul></nav></header>\
             <main><article><h1>Headline</h1>",
        );
        for i in 0..3000 {
            html.push_str(&format!(
                "<p>Paragraph {i} cites <a href=\"https://example.org/{i}\">a <b>source</b></a>, \
                 <em>says</em> &ldquo;something&rdquo;.</p>\n"
            ));
            if i % 500 == 0 {
                html.push_str("<!-- <div> --><script>document.write('<p>no</p>')</script>");
                html.push_str("<table><tr><td>cell</td><td>two</td></tr></table>");
            }
        }
        html.push_str("</article></main><footer>End</footer></div></body></html>");
        let whole = text_in_pieces(&html, usize::MAX);
        assert_eq!(html_text(&html), whole);
        assert!(whole.starts_with("Home\nHeadline\nParagraph 0 cites a source, says \u{201c}"));
        assert!(
            whole.ends_with("Paragraph 2999 cites a source, says \u{201c}something\u{201d}.\nEnd")
        );
        // Every piece stays within its tag budget.
        let neutral = neutralise_formatting(&html);
        let parts = pieces(&neutral, TAGS_PER_PARSE);
        assert!(parts.len() > 5);
        assert_eq!(parts.concat(), neutral);
        for part in parts {
            let tags = part
                .as_bytes()
                .windows(2)
                .filter(|w| w[0] == b'<' && (w[1].is_ascii_alphabetic() || w[1] == b'/'))
                .count();
            assert!(tags <= TAGS_PER_PARSE, "{tags} tags");
        }
    }

    #[test]
    fn plain_text_by_media_type() {
        assert_eq!(
            plain_text(b"<p>a</p><p>b</p>", "text/html; charset=utf-8").as_deref(),
            Some("a\nb")
        );
        assert_eq!(
            plain_text(b"<p>x</p>", "application/xhtml+xml").as_deref(),
            Some("x")
        );
        assert_eq!(
            plain_text(b"plain \xff text", "Text/Plain").as_deref(),
            Some("plain \u{fffd} text")
        );
        assert_eq!(plain_text(b"%PDF-1.4", "application/pdf"), None);
        assert_eq!(plain_text(b"\x89PNG", "image/png"), None);
    }
}
