//! An article's outbound links as proposed citations: each link in the
//! article's own text with its anchor text and the sentence around it (the
//! claim it supports). Footnote and endnote markers are followed to the
//! links of their note, the claim being the marker's sentence. The site's
//! navigation, share buttons, bylines, related stories, tag pages, sidebars,
//! and links to the newsroom itself are left out; one proposal a URL.
//!
//! The HTML is parsed by html5ever (through `scraper`) as a browser would;
//! Markdown is CommonMark (with tables and footnotes) turned into HTML by
//! `pulldown-cmark` first. The tree is walked without recursion, so no
//! nesting depth overflows the stack.

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use ego_tree::NodeId;
use ego_tree::iter::Edge;
use scraper::{ElementRef, Html, Node};
use url::Url;

use super::sentences;

/// One outbound link of an article, proposed as a citation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proposal {
    /// The link, resolved and normalised ([`normalise`]).
    pub url: String,
    /// The link's text (a note's link text, for a footnote).
    pub anchor_text: String,
    /// The sentence of the article that holds the link or its marker.
    pub claim: String,
}

/// The longest claim or anchor text kept, in characters.
pub const MAX_TEXT: usize = 1000;

/// The article's HTML as a CommonMark document would render (tables,
/// footnotes and strikethrough on, raw HTML kept: it is parsed, never shown).
pub fn markdown_to_html(markdown: &str) -> String {
    use pulldown_cmark::{Options, Parser, html};
    let options =
        Options::ENABLE_TABLES | Options::ENABLE_FOOTNOTES | Options::ENABLE_STRIKETHROUGH;
    let mut out = String::with_capacity(markdown.len() + markdown.len() / 4);
    html::push_html(&mut out, Parser::new_ext(markdown, options));
    out
}

/// `href` as a proposal names it: resolved against the article's URL,
/// `http` or `https` only, without its fragment and its `utm_*` tracking
/// parameters, serialised as WHATWG URLs are (host lowercased, default
/// port dropped). `None` for anything else (`mailto:`, `javascript:`,
/// in-page links, a relative link with no article URL).
pub fn normalise(href: &str, base: Option<&Url>) -> Option<Url> {
    let href = href.trim();
    if href.is_empty() || href.starts_with('#') {
        return None;
    }
    let mut url = match base {
        Some(base) => base.join(href).ok()?,
        None => Url::parse(href).ok()?,
    };
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
        return None;
    }
    url.set_fragment(None);
    if url.query().is_some() {
        let kept: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(name, _)| !name.to_ascii_lowercase().starts_with("utm_"))
            .map(|(n, v)| (n.into_owned(), v.into_owned()))
            .collect();
        let all = url.query_pairs().count();
        if kept.is_empty() {
            url.set_query(None);
        } else if kept.len() != all {
            url.query_pairs_mut().clear().extend_pairs(kept);
        }
    }
    Some(url)
}

/// The site a host belongs to, for telling the newsroom's own links: its
/// last two labels, or three under a two-letter country code with a short
/// second level (`bbc.co.uk`). A heuristic instead of the Public Suffix
/// List, which would be one more dataset to keep current.
fn site_of(host: &str) -> String {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let labels: Vec<&str> = host.split('.').collect();
    if host.parse::<std::net::IpAddr>().is_ok() || labels.len() <= 2 {
        return host;
    }
    let n = labels.len();
    let take = if labels[n - 1].len() == 2 && labels[n - 2].len() <= 3 {
        3
    } else {
        2
    };
    labels[n.saturating_sub(take)..].join(".")
}

/// Share buttons' and sign-up links' addresses, wherever they are placed.
fn is_share_link(url: &Url) -> bool {
    let host = url
        .host_str()
        .unwrap_or_default()
        .trim_start_matches("www.");
    let path = url.path();
    matches!(
        (host, path),
        ("twitter.com" | "x.com", p) if p.starts_with("/intent") || p.starts_with("/share")
    ) || matches!(
        (host, path),
        ("facebook.com" | "m.facebook.com", p) if p.starts_with("/sharer") || p.starts_with("/dialog/share")
    ) || (host == "linkedin.com"
        && (path.starts_with("/shareArticle") || path.starts_with("/sharing")))
        || (host == "reddit.com" && path.starts_with("/submit"))
        || (host == "news.ycombinator.com" && path.starts_with("/submitlink"))
        || (host == "pinterest.com" && path.starts_with("/pin/create"))
        || (host == "bsky.app" && path.starts_with("/intent"))
        || (host == "t.me" && path.starts_with("/share"))
        || (host == "api.whatsapp.com" && path.starts_with("/send"))
        || host == "wa.me"
}

/// Elements whose content is never the article's text.
const SKIPPED_TAGS: &[&str] = &[
    "nav",
    "header",
    "footer",
    "aside",
    "form",
    "script",
    "style",
    "noscript",
    "template",
    "button",
    "svg",
    "iframe",
    "select",
    "textarea",
    "figcaption",
    "object",
    "head",
];

/// ARIA roles of page furniture.
const SKIPPED_ROLES: &[&str] = &[
    "navigation",
    "banner",
    "contentinfo",
    "complementary",
    "search",
    "menu",
    "menubar",
    "toolbar",
    "dialog",
    "alertdialog",
];

/// Parts of class names and ids that mark page furniture: matched within
/// each class name or id (`sharedaddy`, `share-buttons`).
const FURNITURE_PARTS: &[&str] = &[
    "share",
    "social",
    "related",
    "newsletter",
    "subscri",
    "signup",
    "sign-up",
    "breadcrumb",
    "byline",
    "sidebar",
    "widget",
    "comment",
    "cookie",
    "consent",
    "promo",
    "tagcloud",
    "tag-cloud",
    "taglist",
    "tag-list",
    "author-bio",
    "authorbio",
    "outbrain",
    "taboola",
    "recommend",
    "more-from",
    "morefrom",
    "read-more",
    "readmore",
    "advert",
    "sponsor",
    "paywall",
    "masthead",
    "site-header",
    "site-footer",
    "site-nav",
    "pagination",
    "skip-link",
];

/// Whole words of class names and ids (split at `-` and `_`) that mark
/// page furniture.
const FURNITURE_WORDS: &[&str] = &[
    "nav", "navbar", "menu", "footer", "header", "tags", "tag", "topics", "author", "authors",
    "bio", "ad", "ads", "banner", "toolbar", "meta", "follow", "share", "donate", "toc",
];

/// Elements that start a block of text of their own (the unit sentences are
/// found in).
const BLOCK_TAGS: &[&str] = &[
    "p",
    "div",
    "li",
    "ul",
    "ol",
    "dl",
    "dt",
    "dd",
    "blockquote",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "table",
    "thead",
    "tbody",
    "tfoot",
    "tr",
    "td",
    "th",
    "caption",
    "figure",
    "pre",
    "section",
    "article",
    "main",
    "body",
    "hr",
    "address",
    "details",
    "summary",
];

/// The selectors of an article's body, most specific first.
const BODY_SELECTORS: &[&str] = &[
    "[itemprop~=articleBody]",
    ".gh-content",
    ".post-content",
    ".entry-content",
    ".article-body",
    ".article-content",
    ".story-body",
    "#story-body",
    "article",
    "main",
    "[role=main]",
];

fn furniture(element: &scraper::node::Element) -> bool {
    let name = element.name();
    if SKIPPED_TAGS.contains(&name) {
        return true;
    }
    if element.attr("hidden").is_some() || element.attr("aria-hidden") == Some("true") {
        return true;
    }
    if let Some(role) = element.attr("role")
        && SKIPPED_ROLES.contains(&role.trim().to_ascii_lowercase().as_str())
    {
        return true;
    }
    let names = element
        .classes()
        .chain(element.id())
        .map(str::to_ascii_lowercase);
    for name in names {
        if FURNITURE_PARTS.iter().any(|part| name.contains(part)) {
            return true;
        }
        if name
            .split(['-', '_'])
            .any(|word| FURNITURE_WORDS.contains(&word))
        {
            return true;
        }
    }
    false
}

/// The article's body: among the elements that look like it, the one with
/// the most paragraph text; the whole document when none does.
fn body_of(document: &Html) -> NodeId {
    let mut best: Option<(usize, NodeId)> = None;
    for selector in BODY_SELECTORS {
        let Ok(selector) = scraper::Selector::parse(selector) else {
            continue;
        };
        for element in document.select(&selector) {
            // Inside furniture (a related story's <article>) it is not the body.
            if element
                .ancestors()
                .filter_map(ElementRef::wrap)
                .any(|a| furniture(a.value()))
            {
                continue;
            }
            let text: usize = element
                .descendants()
                .filter_map(ElementRef::wrap)
                .filter(|e| e.value().name() == "p")
                .map(|p| p.text().map(str::len).sum::<usize>())
                .sum();
            if best.is_none_or(|(most, _)| text > most) {
                best = Some((text, element.id()));
            }
        }
        // The first selector that finds a body with text wins: an article's
        // own `itemprop=articleBody` beats a wider `<article>`.
        if best.is_some_and(|(text, _)| text > 0) {
            break;
        }
    }
    best.map(|(_, id)| id)
        .unwrap_or_else(|| document.root_element().id())
}

/// A link found in a block of text: its place in the block's text.
struct Found {
    block: usize,
    span: Range<usize>,
    what: Target,
}

enum Target {
    /// An outbound link: its URL and text.
    Link { url: Url, text: String },
    /// A footnote marker: the note it points at.
    Note(NodeId),
}

/// Text being gathered for one block: whitespace collapsed as it comes.
#[derive(Default)]
struct Block {
    text: String,
}

impl Block {
    fn push(&mut self, text: &str) {
        for c in text.chars() {
            if c.is_whitespace() {
                if !self.text.is_empty() && !self.text.ends_with(' ') {
                    self.text.push(' ');
                }
            } else {
                self.text.push(c);
            }
        }
    }
}

/// The whitespace-collapsed text of an element (for anchor texts and cards).
fn text_of(element: ElementRef<'_>) -> String {
    let mut block = Block::default();
    for piece in element.text() {
        block.push(piece);
    }
    clip(block.text.trim())
}

fn clip(text: &str) -> String {
    match text.char_indices().nth(MAX_TEXT) {
        Some((at, _)) => text[..at].trim_end().to_owned(),
        None => text.to_owned(),
    }
}

/// Which note each in-page target names, and each note's outbound links.
type Notes = (HashMap<String, NodeId>, HashMap<NodeId, Vec<(Url, String)>>);

/// The notes of `document` that in-page links point at and that hold
/// outbound links: the element a marker's `#id` names, or the block around
/// it (`<li>` of an endnote list) when the named element is an anchor.
fn notes(document: &Html, base: Option<&Url>) -> Notes {
    let mut by_id: HashMap<String, NodeId> = HashMap::new();
    for element in document
        .root_element()
        .descendants()
        .filter_map(ElementRef::wrap)
    {
        let value = element.value();
        for name in [
            value.id(),
            value.attr("name").filter(|_| value.name() == "a"),
        ]
        .into_iter()
        .flatten()
        {
            by_id.entry(name.to_owned()).or_insert(element.id());
        }
    }
    let mut links_of: HashMap<NodeId, Vec<(Url, String)>> = HashMap::new();
    let mut note_of: HashMap<String, NodeId> = HashMap::new();
    let selector = scraper::Selector::parse("a[href^='#']").ok();
    // Each in-page target once, with the links that point at it.
    let mut markers: HashMap<String, Vec<NodeId>> = HashMap::new();
    for a in selector.iter().flat_map(|s| document.select(s)) {
        // A footnote marker: a number, a letter or a sign ("1", "[3]",
        // "*"), or in superscript; not a table of contents' or a live
        // blog's links to its sections.
        let text = text_of(a);
        let short = text
            .trim_matches(|c: char| c == '[' || c == ']' || c == '(' || c == ')')
            .chars()
            .count()
            <= 4;
        let raised = a
            .ancestors()
            .filter_map(ElementRef::wrap)
            .take(2)
            .any(|e| e.value().name() == "sup");
        if !short && !raised {
            continue;
        }
        if let Some(href) = a.value().attr("href") {
            markers
                .entry(href.trim_start_matches('#').to_owned())
                .or_default()
                .push(a.id());
        }
    }
    for (target, pointing) in markers {
        if target.is_empty() {
            continue;
        }
        let key = percent_decoded(&target);
        let Some(&named) = by_id.get(&key).or_else(|| by_id.get(&target)) else {
            continue;
        };
        // A place in the text that a note links back to (the marker, or
        // the superscript around it) is not a note.
        let is_marker = document
            .tree
            .get(named)
            .and_then(ElementRef::wrap)
            .is_some_and(|e| {
                matches!(e.value().name(), "a" | "sup" | "sub" | "span" | "small")
                    && e.descendants().filter_map(ElementRef::wrap).any(|a| {
                        a.value().name() == "a"
                            && a.value().attr("href").is_some_and(|h| h.starts_with('#'))
                    })
            });
        if is_marker {
            continue;
        }
        // The note: the named element, or the block that holds it (never
        // a wider one: a heading a table of contents points at is no note).
        let mut candidate = document.tree.get(named).and_then(ElementRef::wrap);
        while let Some(element) = candidate {
            let block = BLOCK_TAGS.contains(&element.value().name());
            let found = outbound_links(element, base);
            // A note holds no marker that points at it.
            let holds_marker = || element.descendants().any(|d| pointing.contains(&d.id()));
            if !found.is_empty() && !holds_marker() {
                note_of.insert(target.clone(), element.id());
                links_of.entry(element.id()).or_insert(found);
                break;
            }
            if block {
                break;
            }
            candidate = element.parent().and_then(ElementRef::wrap);
        }
    }
    (note_of, links_of)
}

fn percent_decoded(text: &str) -> String {
    url::form_urlencoded::parse(format!("x={text}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| text.to_owned())
}

/// The outbound links inside a note, with their texts, in order.
fn outbound_links(note: ElementRef<'_>, base: Option<&Url>) -> Vec<(Url, String)> {
    note.descendants()
        .filter_map(ElementRef::wrap)
        .filter(|e| e.value().name() == "a")
        .filter_map(|a| {
            let url = normalise(a.value().attr("href")?, base)?;
            Some((url, text_of(a)))
        })
        .collect()
}

/// What an article proposes: every outbound link of its body in order, at
/// most `limit`, one a URL (its first place), none to `own` site's host
/// (the newsroom's, from the article's URL).
pub fn from_html(html: &str, article_url: Option<&Url>, limit: usize) -> Vec<Proposal> {
    // Bold, italics and the like do not change a sentence's text, and left
    // as they are a few kilobytes of them can make the parser build
    // millions of elements (`reading::text`): read as spans.
    let html = super::text::neutralise_formatting_but(html, &["a"]);
    let document = Html::parse_document(&html);
    let own = article_url.and_then(Url::host_str).map(site_of);
    let (note_of, note_links) = notes(&document, article_url);
    let body = body_of(&document);
    let Some(body) = document.tree.get(body) else {
        return Vec::new();
    };

    let mut blocks: Vec<Block> = Vec::new();
    // The open blocks, innermost last, as indexes into `blocks`.
    let mut open: Vec<(NodeId, usize)> = Vec::new();
    let mut found: Vec<Found> = Vec::new();
    // A subtree being skipped, and an open link: (node, block, start, target).
    let mut skipping: Option<NodeId> = None;
    let mut link: Option<(NodeId, usize, usize, Target)> = None;
    blocks.push(Block::default());
    open.push((body.id(), 0));

    for edge in body.traverse() {
        match edge {
            Edge::Open(node) => {
                if skipping.is_some() {
                    continue;
                }
                match node.value() {
                    Node::Text(text) => {
                        if let Some(&(_, block)) = open.last() {
                            blocks[block].push(text);
                        }
                    }
                    Node::Element(element) => {
                        let id = node.id();
                        let is_body = id == body.id();
                        if !is_body && (furniture(element) || note_links.contains_key(&id)) {
                            skipping = Some(id);
                            continue;
                        }
                        if !is_body && BLOCK_TAGS.contains(&element.name()) {
                            blocks.push(Block::default());
                            open.push((id, blocks.len() - 1));
                        }
                        if element.name() == "br"
                            && let Some(&(_, block)) = open.last()
                        {
                            blocks[block].push(" ");
                        }
                        if element.name() != "a" || link.is_some() {
                            continue;
                        }
                        let Some(href) = element.attr("href") else {
                            continue;
                        };
                        let Some(&(_, block)) = open.last() else {
                            continue;
                        };
                        let start = blocks[block].text.len();
                        if let Some(note) = href.strip_prefix('#').and_then(|t| note_of.get(t)) {
                            // A marker: its text ("1", "[3]") is not the claim's.
                            found.push(Found {
                                block,
                                span: start..start,
                                what: Target::Note(*note),
                            });
                            skipping = Some(id);
                            continue;
                        }
                        let Some(url) = normalise(href, article_url) else {
                            continue;
                        };
                        let anchor = ElementRef::wrap(node);
                        // A Ghost bookmark card: its title is both.
                        if element.classes().any(|c| c == "kg-bookmark-container") {
                            let title = anchor
                                .and_then(|a| {
                                    let s = scraper::Selector::parse(".kg-bookmark-title").ok()?;
                                    a.select(&s).next().map(text_of)
                                })
                                .unwrap_or_default();
                            blocks[block].push(&title);
                            let end = blocks[block].text.len();
                            found.push(Found {
                                block,
                                span: start..end,
                                what: Target::Link { url, text: title },
                            });
                            skipping = Some(id);
                            continue;
                        }
                        let text = anchor.map(text_of).unwrap_or_default();
                        link = Some((id, block, start, Target::Link { url, text }));
                    }
                    _ => {}
                }
            }
            Edge::Close(node) => {
                let id = node.id();
                if let Some(skipped) = skipping {
                    if skipped == id {
                        skipping = None;
                    }
                    continue;
                }
                if link.as_ref().is_some_and(|(a, ..)| *a == id)
                    && let Some((_, block, start, what)) = link.take()
                {
                    let end = blocks[block].text.len().max(start);
                    found.push(Found {
                        block,
                        span: start..end,
                        what,
                    });
                }
                if open.last().is_some_and(|(n, _)| *n == id) && open.len() > 1 {
                    open.pop();
                }
            }
        }
    }

    let mut seen: HashSet<String> = HashSet::new();
    let mut out = Vec::new();
    let mut propose = |url: &Url, text: &str, claim: &str, out: &mut Vec<Proposal>| {
        if out.len() >= limit || is_share_link(url) {
            return;
        }
        if own
            .as_deref()
            .is_some_and(|own| url.host_str().map(site_of).as_deref() == Some(own))
        {
            return;
        }
        if seen.insert(url.as_str().to_owned()) {
            out.push(Proposal {
                url: url.as_str().to_owned(),
                anchor_text: clip(text),
                claim: clip(claim),
            });
        }
    };
    for item in &found {
        let text = &blocks[item.block].text;
        let claim = sentences::around(text, item.span.clone()).trim();
        match &item.what {
            Target::Link { url, text } => propose(url, text, claim, &mut out),
            Target::Note(note) => {
                for (url, text) in note_links.get(note).into_iter().flatten() {
                    propose(url, text, claim, &mut out);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Url {
        Url::parse("https://www.daily.example/2026/11/story").expect("test value")
    }

    #[test]
    fn normalises_links() {
        let b = base();
        let n = |h: &str| normalise(h, Some(&b)).map(|u| u.to_string());
        assert_eq!(
            n("https://Example.COM:443/a?utm_source=x&id=3#top").as_deref(),
            Some("https://example.com/a?id=3")
        );
        assert_eq!(
            n("http://e.org/?utm_medium=m").as_deref(),
            Some("http://e.org/")
        );
        assert_eq!(
            n("/tag/x").as_deref(),
            Some("https://www.daily.example/tag/x")
        );
        for bad in [
            "javascript:alert(1)",
            "mailto:a@b.c",
            "#fn1",
            "",
            "data:text/html,x",
            "tel:1",
        ] {
            assert_eq!(n(bad), None, "{bad}");
        }
    }

    #[test]
    fn sites() {
        assert_eq!(site_of("www.bbc.co.uk"), "bbc.co.uk");
        assert_eq!(site_of("news.daily.example"), "daily.example");
        assert_eq!(site_of("127.0.0.1"), "127.0.0.1");
    }

    #[test]
    fn proposes_body_links_with_their_sentences() {
        let html = r##"<html><body>
          <header><nav><a href="https://other.example/section">Section</a></nav></header>
          <article>
            <div class="share"><a href="https://twitter.com/intent/tweet?u=1">Tweet</a></div>
            <p>Prices rose. Rents rose 6.2 percent, <a href="https://www.bls.gov/cpi?utm_source=x">the
              Bureau said</a>, the fastest since 1982. Dr. Smith
              <a href="https://who.int/report">disagreed</a> strongly.</p>
            <p>See also <a href="/2025/older">our story</a> and
              <a href="https://news.daily.example/x">this</a>.</p>
            <p>Again <a href="https://www.bls.gov/cpi#t">the Bureau</a>.</p>
            <p>Costs fell.<sup><a href="#fn1">1</a></sup> Then rose.</p>
            <aside class="related"><a href="https://partner.example/x">Related</a></aside>
          </article>
          <ol class="notes"><li id="fn1">Survey, <a href="https://data.gov/set">data</a>.</li></ol>
          <footer><a href="https://facebook.example/daily">Facebook</a></footer>
        </body></html>"##;
        let got = from_html(html, Some(&base()), 100);
        let pairs: Vec<(&str, &str)> = got
            .iter()
            .map(|p| (p.url.as_str(), p.claim.as_str()))
            .collect();
        assert_eq!(
            pairs,
            vec![
                (
                    "https://www.bls.gov/cpi",
                    "Rents rose 6.2 percent, the Bureau said, the fastest since 1982."
                ),
                ("https://who.int/report", "Dr. Smith disagreed strongly."),
                ("https://data.gov/set", "Costs fell."),
            ]
        );
        assert_eq!(got[0].anchor_text, "the Bureau said");
        assert_eq!(got[2].anchor_text, "data");
    }

    #[test]
    fn markdown_links_and_limits() {
        let md = "Rents rose, [said the Bureau](https://bls.gov/a). See [the report][r].\n\n[r]: https://who.int/r\n";
        let html = markdown_to_html(md);
        let got = from_html(&html, None, 100);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].claim, "Rents rose, said the Bureau.");
        assert_eq!(got[1].claim, "See the report.");
        assert_eq!(from_html(&html, None, 1).len(), 1);
    }

    #[test]
    fn deep_nesting_does_not_overflow() {
        let html = format!(
            "{}<p>x <a href=\"https://a.example/\">a</a>.</p>{}",
            "<div>".repeat(super::super::MAX_DEPTH),
            "</div>".repeat(super::super::MAX_DEPTH)
        );
        let got = from_html(&html, None, 10);
        assert!(got.len() <= 1);
    }
}
