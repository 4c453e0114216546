//! Robust Links: an article's cited links marked with their archived copy
//! (`data-versionurl`) and the time it was taken (`data-versiondate`), so a
//! reader can still get at what the article cited when the link rots.
//!
//! `lol_html` rewrites the markup as a stream of tokens and writes back
//! every token it was not asked to change as the very bytes it read, so the
//! newsroom's HTML comes back exactly as it was but for the decorated `<a>`
//! start tags (whose attributes are then written out anew, one space apart).

use std::fmt;

use lol_html::{MemorySettings, RewriteStrSettings, Settings, element, rewrite_str};
use scraper::{Html, Node};

/// An archived copy of a link's target, as the caller found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    /// Where the archived copy is.
    pub url: String,
    /// When it was taken: `YYYY-MM-DD` or an RFC 3339 time.
    pub date: String,
}

/// The HTML could not be rewritten; the message says why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RobustLinksError {
    message: String,
}

impl fmt::Display for RobustLinksError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the article's HTML could not be rewritten: {}",
            self.message
        )
    }
}

impl std::error::Error for RobustLinksError {}

/// Enough for any article; the rewriter buffers single tags, not the page,
/// so only absurd markup comes near it.
const MAX_REWRITER_MEMORY: usize = 16 * 1024 * 1024;

/// Adds `data-versionurl` and `data-versiondate` to each `<a href>` whose
/// target `version_of` knows, replacing earlier values of those two
/// attributes; every other byte is left as it was.
///
/// `version_of` gets the `href` value as the HTML parser reads it
/// (character references such as `&amp;` decoded, not resolved against any
/// base URL); resolving and normalising it is the caller's business.
///
/// Fails when `lol_html` refuses the markup: markup it cannot tokenise
/// without guessing (a `<script>` inside `<select>`, say; it refuses rather
/// than risk rewriting the wrong thing) or a tag over its memory limit.
pub fn decorate(
    html: &str,
    version_of: &dyn Fn(&str) -> Option<Version>,
) -> Result<String, RobustLinksError> {
    let settings = Settings {
        memory_settings: MemorySettings {
            max_allowed_memory_usage: MAX_REWRITER_MEMORY,
            ..MemorySettings::new()
        },
        ..Settings::from(RewriteStrSettings {
            element_content_handlers: vec![element!("a[href]", |el| {
                let Some(raw) = el.get_attribute("href") else {
                    return Ok(());
                };
                let Some(version) = version_of(&decode_attribute(&raw)) else {
                    return Ok(());
                };
                // lol_html escapes `"` in the values it writes but not `&`;
                // a URL's `&` must be written `&amp;` or a parser may read
                // `&copy=` and the like as a character.
                el.set_attribute("data-versionurl", &escape_ampersands(&version.url))?;
                el.set_attribute("data-versiondate", &escape_ampersands(&version.date))?;
                Ok(())
            })],
            // An article is HTML, not an Edge Side Includes template.
            enable_esi_tags: false,
            ..RewriteStrSettings::new()
        })
    };
    rewrite_str(html, settings).map_err(|e| RobustLinksError {
        message: e.to_string(),
    })
}

/// An attribute value as written (lol_html hands it over undecoded) to the
/// value a browser sees, decoded by html5ever so that every named and
/// numeric character reference reads as the HTML standard says.
fn decode_attribute(raw: &str) -> String {
    if !raw.contains('&') {
        return raw.to_owned();
    }
    // The value came from between one kind of quote, or none, so it cannot
    // hold both; wrap it in the other kind.
    let quote = if raw.contains('"') { '\'' } else { '"' };
    let fragment = Html::parse_fragment(&format!("<a href={quote}{raw}{quote}></a>"));
    fragment
        .tree
        .nodes()
        .find_map(|node| match node.value() {
            Node::Element(element) if element.name() == "a" => element.attr("href"),
            _ => None,
        })
        .map_or_else(|| raw.to_owned(), str::to_owned)
}

fn escape_ampersands(value: &str) -> String {
    value.replace('&', "&amp;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn archive(href: &str) -> Option<Version> {
        href.starts_with("https://cited.example/").then(|| Version {
            url: format!("https://archive.example/2026/{href}"),
            date: "2026-05-01".to_owned(),
        })
    }

    #[test]
    fn fragment_changes_only_the_cited_tags() {
        let html = "<p>See <a href=\"https://cited.example/a\" class=\"x\">this</a> and\n\
                    <a href=\"https://other.example/\">that</a>.</p>\n<!-- note -->";
        let out = decorate(html, &archive).expect("rewritten");
        assert_eq!(
            out,
            "<p>See <a href=\"https://cited.example/a\" class=\"x\" \
             data-versionurl=\"https://archive.example/2026/https://cited.example/a\" \
             data-versiondate=\"2026-05-01\">this</a> and\n\
             <a href=\"https://other.example/\">that</a>.</p>\n<!-- note -->"
        );
    }

    #[test]
    fn whole_document_is_byte_identical_elsewhere() {
        let html = "<!DOCTYPE html>\r\n<html lang=en>\n<head>\n  <meta charset=\"utf-8\">\n\
                    <title>A &amp; B</title>\n<script>if (a<b && \"<a href='x'>\") {}</script>\n\
                    <style>a[href] { color: red }</style>\n</head>\n<body>\n\
                    <p>  Caf\u{e9} \u{1f600} &nbsp; <a   href=https://cited.example/b   >b</a></p>\n\
                    <textarea><a href=\"https://cited.example/c\"></textarea>\n\
                    </body>\n</html>\n";
        let out = decorate(html, &archive).expect("rewritten");
        let old_tag = "<a   href=https://cited.example/b   >";
        let new_tag = "<a href=https://cited.example/b data-versionurl=\"https://archive.example/2026/https://cited.example/b\" data-versiondate=\"2026-05-01\">";
        assert_eq!(out, html.replacen(old_tag, new_tag, 1));
        // Neither the script's nor the textarea's text is a link.
        assert_eq!(out.matches("data-versionurl").count(), 1);
    }

    #[test]
    fn nothing_cited_means_nothing_changed() {
        let html = "<div><a href=\"/relative\">x</a><a name=\"top\">y</a><a>z</a></div>";
        assert_eq!(decorate(html, &|_| None).expect("rewritten"), html);
        assert_eq!(decorate("", &archive).expect("rewritten"), "");
    }

    #[test]
    fn existing_version_attributes_are_replaced() {
        let html = "<a data-versionurl=\"https://old.example/\" href=\"https://cited.example/a\" \
                    data-versiondate=\"2001-01-01\" data-originalurl=\"keep\">a</a>";
        let out = decorate(html, &archive).expect("rewritten");
        assert_eq!(
            out,
            "<a data-versionurl=\"https://archive.example/2026/https://cited.example/a\" \
             href=\"https://cited.example/a\" data-versiondate=\"2026-05-01\" \
             data-originalurl=\"keep\">a</a>"
        );
    }

    #[test]
    fn values_are_escaped_and_hrefs_decoded() {
        let seen = std::cell::RefCell::new(Vec::new());
        let version_of = |href: &str| {
            seen.borrow_mut().push(href.to_owned());
            Some(Version {
                url: "https://archive.example/?q=\"x\"&copy=1&amp;".to_owned(),
                date: "2026-05-01T12:00:00Z".to_owned(),
            })
        };
        let html = "<a href=\"https://cited.example/?a=1&amp;b=2&#x26;c\">x</a>";
        let out = decorate(html, &version_of).expect("rewritten");
        assert_eq!(
            seen.borrow().as_slice(),
            ["https://cited.example/?a=1&b=2&c"]
        );
        assert_eq!(
            out,
            "<a href=\"https://cited.example/?a=1&amp;b=2&#x26;c\" \
             data-versionurl=\"https://archive.example/?q=&quot;x&quot;&amp;copy=1&amp;amp;\" \
             data-versiondate=\"2026-05-01T12:00:00Z\">x</a>"
        );
        // A browser's parser reads the written values back as they were given.
        let parsed = Html::parse_fragment(&out);
        let a = parsed
            .tree
            .nodes()
            .find_map(|n| match n.value() {
                Node::Element(e) if e.name() == "a" => Some(e.clone()),
                _ => None,
            })
            .expect("a");
        assert_eq!(
            a.attr("data-versionurl"),
            Some("https://archive.example/?q=\"x\"&copy=1&amp;")
        );
    }

    #[test]
    fn odd_markup_survives() {
        let html = "<P>Unclosed <A HREF='https://cited.example/u'>one<li>two\n\
                    <a href = \"https://cited.example/v\" / >three\n\
                    <a title='it&#39;s' href=https://cited.example/w?x=1>four\n<div><span>";
        let out = decorate(html, &archive).expect("rewritten");
        assert_eq!(out.matches("data-versiondate=\"2026-05-01\"").count(), 3);
        // Attribute names and values keep their case and quotes as written.
        assert!(out.contains(
            "<A HREF='https://cited.example/u' data-versionurl=\"https://archive.example/2026/https://cited.example/u\" data-versiondate=\"2026-05-01\">one<li>two\n"
        ));
        assert!(
            out.contains("<a title='it&#39;s' href=https://cited.example/w?x=1 data-versionurl=")
        );
        assert!(out.ends_with(">four\n<div><span>"));
        assert!(out.starts_with("<P>Unclosed <A HREF="));
    }

    #[test]
    fn refused_markup_is_an_error() {
        let html = "<select><xmp><script>\"use strict\";</script></select><a href=\"https://cited.example/a\">a</a>";
        let err = decorate(html, &archive).expect_err("ambiguous markup refused");
        assert!(
            err.to_string()
                .starts_with("the article's HTML could not be rewritten: ")
        );
    }
}
