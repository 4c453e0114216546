//! A page's bibliographic metadata (SPEC "Sources from the article"): its
//! title, publisher, authors, date, language and DOI, read from what the page
//! says about itself, so that a journalist recording it as a source starts
//! from the page's own words rather than retyping them.
//!
//! Each field comes from the most trusted place that has it: schema.org
//! JSON-LD, then Highwire (`citation_*`, as Google Scholar reads) and Dublin
//! Core meta, then OpenGraph, then the document itself (`<title>`,
//! `<html lang>`, `<meta name="author">`). Everything is read from one walk
//! of the parsed tree; nothing here errs or panics on what a page holds,
//! however large or malformed: what cannot be read is left out.

use scraper::{ElementRef, Html};
use serde::Serialize;
use serde_json::Value;
use url::Url;
use utoipa::ToSchema;

use crate::fields::{Doi, LanguageTag};

mod json_ld;

use json_ld::Graph;

/// The longest title kept: as long as a source's title may be.
pub const MAX_TITLE: usize = 500;
/// The longest publisher kept: as long as a source's publisher may be.
pub const MAX_PUBLISHER: usize = 300;
/// The longest author name kept: as long as an article's author may be.
pub const MAX_AUTHOR: usize = 200;
/// The most authors kept.
pub const MAX_AUTHORS: usize = 50;

/// JSON-LD scripts larger than this are not parsed: metadata is small, and
/// a page's own data dumps are not.
const MAX_JSON_LD_BYTES: usize = 1 << 20;
/// The most JSON-LD scripts parsed on one page.
const MAX_JSON_LD_SCRIPTS: usize = 16;
/// The most JSON-LD nodes looked at, over all scripts.
const MAX_NODES: usize = 1000;
/// The most `<meta>` elements kept of the kinds read here.
const MAX_META: usize = 2000;

/// What a page says about itself. Every field may be missing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct PageMetadata {
    /// At most 500 characters, on one line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The site, journal or organisation that published it: at most 300
    /// characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub publisher: Option<String>,
    /// As the page writes them, in its order: at most 50, each at most 200
    /// characters.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub authors: Vec<String>,
    /// When it was published: a date (`2024-03-05`) or an RFC 3339 time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issued: Option<String>,
    /// BCP 47 (`en`, `pt-BR`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// A bare DOI (`10.1000/xyz123`), without `https://doi.org/`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub doi: Option<String>,
    /// What sort of source it looks like, in the words of a source's `kind`,
    /// when the page says so plainly.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<KindHint>,
}

/// The source kinds a page can name of itself; each is written as the same
/// word a source's `kind` uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum KindHint {
    /// A news article (schema.org `NewsArticle` and its kinds).
    NewsReport,
    /// A scholarly article (`ScholarlyArticle`, or `citation_*` meta).
    Academic,
    Dataset,
    /// A report (`Report`).
    Document,
}

/// Reads the metadata of the HTML page at `page_url` (which relative links
/// are resolved against). Pure: no network, no errors. Markup nested deeper
/// than [`super::MAX_DEPTH`] is not parsed (html5ever would take time in the
/// square of its depth): nothing is read from it.
pub fn read(html: &str, page_url: &Url) -> PageMetadata {
    if super::too_deep(html) {
        return PageMetadata::default();
    }
    // Formatting tags change no metadata; left as they are, a few
    // kilobytes of them can make the parser build millions of elements.
    let html = super::text::neutralise_formatting_but(html, &["a"]);
    let document = Html::parse_document(&html);
    let page = Page::gather(&document);
    let values: Vec<Value> = page
        .scripts
        .iter()
        .filter_map(|script| serde_json::from_str(script).ok())
        .collect();
    let graph = Graph::of(&values);

    let title = graph
        .title()
        .or_else(|| page.first_meta(TITLE_KEYS, |v| clean(v, MAX_TITLE)))
        .or_else(|| page.title.as_deref().and_then(|t| clean(t, MAX_TITLE)));
    let publisher = graph
        .publisher()
        .or_else(|| page.first_meta(PUBLISHER_KEYS, |v| clean(v, MAX_PUBLISHER)));
    let authors = Some(graph.authors())
        .filter(|a| !a.is_empty())
        .or_else(|| {
            AUTHOR_KEYS
                .iter()
                .map(|key| names(page.meta(key)))
                .find(|a| !a.is_empty())
        })
        .unwrap_or_default();
    let issued = graph
        .issued()
        .or_else(|| page.first_meta(ISSUED_KEYS, issued));
    let language = graph
        .language()
        .or_else(|| page.first_meta(LANGUAGE_KEYS, language))
        .or_else(|| page.lang.and_then(language));
    let kind = graph
        .kind()
        .or_else(|| page.has_citation_meta().then_some(KindHint::Academic));
    let doi = graph
        .doi()
        .or_else(|| page.first_meta(DOI_KEYS, |v| doi_in(v, true)))
        .or_else(|| page.meta.iter().find_map(|(_, v)| doi_in(v, false)))
        .or_else(|| page.links.iter().find_map(|h| doi_at(h, page_url)))
        .or_else(|| {
            // On a news page or a blog, a link to a DOI is to what it cites,
            // not the page's own: only a scholarly page's first one is taken.
            matches!(
                kind,
                Some(KindHint::Academic | KindHint::Dataset | KindHint::Document)
            )
            .then(|| page.anchors.iter().find_map(|h| doi_at(h, page_url)))
            .flatten()
        });
    PageMetadata {
        title,
        publisher,
        authors,
        issued,
        language,
        doi,
        kind,
    }
}

const TITLE_KEYS: &[&str] = &["citation_title", "dc.title", "dcterms.title", "og:title"];
const PUBLISHER_KEYS: &[&str] = &[
    "citation_journal_title",
    "citation_publisher",
    "citation_conference_title",
    "citation_dissertation_institution",
    "citation_technical_report_institution",
    "dc.publisher",
    "dcterms.publisher",
    "og:site_name",
];
/// Each a list of its own: the first key that names anyone gives them all.
const AUTHOR_KEYS: &[&str] = &[
    "citation_author",
    "dc.creator",
    "dcterms.creator",
    "article:author",
    "author",
];
const ISSUED_KEYS: &[&str] = &[
    "citation_publication_date",
    "citation_date",
    "citation_online_date",
    "dc.date",
    "dcterms.issued",
    "dcterms.date",
    "dcterms.created",
    "article:published_time",
];
const LANGUAGE_KEYS: &[&str] = &[
    "citation_language",
    "dc.language",
    "dcterms.language",
    "og:locale",
];
const DOI_KEYS: &[&str] = &[
    "citation_doi",
    "prism.doi",
    "dc.identifier",
    "dcterms.identifier",
];

/// What one walk of the document finds.
#[derive(Default)]
struct Page<'a> {
    /// `<meta>` of the kinds read here: the `property` or `name`, lowercased,
    /// and the `content`, in document order.
    meta: Vec<(String, &'a str)>,
    /// The text of each JSON-LD script small enough to parse.
    scripts: Vec<String>,
    /// The first HTML `<title>`.
    title: Option<String>,
    /// `<html lang>`.
    lang: Option<&'a str>,
    /// `<link href>` that may name a DOI.
    links: Vec<&'a str>,
    /// `<a href>` that may name a DOI.
    anchors: Vec<&'a str>,
}

const HTML_NS: &str = "http://www.w3.org/1999/xhtml";

impl<'a> Page<'a> {
    fn gather(document: &'a Html) -> Self {
        let root = document.root_element();
        let mut page = Page {
            lang: root.attr("lang"),
            ..Page::default()
        };
        for element in root.descendent_elements() {
            let value = element.value();
            if &*value.name.ns != HTML_NS {
                continue; // an SVG's <title> or <a> says nothing of the page
            }
            match value.name() {
                "meta" => page.add_meta(element),
                "script" => page.add_script(element),
                "title" if page.title.is_none() => {
                    page.title = Some(element.text().collect());
                }
                "link" => page
                    .links
                    .extend(element.attr("href").filter(|h| names_doi_org(h))),
                "a" => page
                    .anchors
                    .extend(element.attr("href").filter(|h| names_doi_org(h))),
                _ => {}
            }
        }
        page
    }

    fn add_meta(&mut self, element: ElementRef<'a>) {
        let Some(content) = element.attr("content") else {
            return;
        };
        for key in [element.attr("property"), element.attr("name")]
            .into_iter()
            .flatten()
        {
            if self.meta.len() >= MAX_META {
                return;
            }
            let key = key.trim().to_ascii_lowercase();
            let read_here = ["citation_", "dc.", "dcterms.", "og:", "article:", "prism."]
                .iter()
                .any(|prefix| key.starts_with(prefix))
                || key == "author"
                || starts_with_ignoring_case(content.trim_start(), "doi:");
            if read_here {
                self.meta.push((key, content));
            }
        }
    }

    fn add_script(&mut self, element: ElementRef<'a>) {
        let is_json_ld = element.attr("type").is_some_and(|t| {
            t.split(';')
                .next()
                .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/ld+json"))
        });
        if !is_json_ld || self.scripts.len() >= MAX_JSON_LD_SCRIPTS {
            return;
        }
        let len: usize = element.text().map(str::len).sum();
        if len <= MAX_JSON_LD_BYTES {
            self.scripts.push(element.text().collect());
        }
    }

    /// The contents of every `<meta>` named `key`, in document order.
    fn meta<'p>(&'p self, key: &'p str) -> impl Iterator<Item = &'a str> + 'p {
        self.meta
            .iter()
            .filter(move |(k, _)| k == key)
            .map(|(_, content)| *content)
    }

    /// The first value `read` takes from the `<meta>` named by `keys`, the
    /// first key first.
    fn first_meta<T>(&self, keys: &[&str], read: impl Fn(&str) -> Option<T>) -> Option<T> {
        keys.iter().find_map(|key| self.meta(key).find_map(&read))
    }

    /// Whether the page carries Highwire metadata, which only scholarly
    /// publishers write.
    fn has_citation_meta(&self) -> bool {
        self.meta.iter().any(|(k, _)| k.starts_with("citation_"))
    }
}

/// The names in `<meta>` contents: cleaned, each once, not URLs.
fn names<'a>(contents: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut found = Vec::new();
    for raw in contents {
        if found.len() >= MAX_AUTHORS {
            break;
        }
        if looks_like_url(raw) {
            continue;
        }
        if let Some(name) = clean(raw, MAX_AUTHOR)
            && !found.contains(&name)
        {
            found.push(name);
        }
    }
    found
}

/// An author given as a link to their profile (OpenGraph's `article:author`
/// often is) rather than by name.
fn looks_like_url(text: &str) -> bool {
    let text = text.trim_start();
    text.contains("://") || text.starts_with('/') || starts_with_ignoring_case(text, "www.")
}

/// The DOI `text` names: `https://doi.org/10.…`, `doi:10.…`, `info:doi/10.…`,
/// or (where the field can only hold an identifier, `bare`) `10.…` itself.
fn doi_in(text: &str, bare: bool) -> Option<String> {
    let text = text.trim();
    if starts_with_ignoring_case(text, "http://") || starts_with_ignoring_case(text, "https://") {
        return Url::parse(text).ok().and_then(|url| doi_of_url(&url));
    }
    for prefix in ["doi:", "info:doi/"] {
        if starts_with_ignoring_case(text, prefix) {
            return text
                .get(prefix.len()..)
                .and_then(|rest| checked_doi(rest.trim_start()));
        }
    }
    bare.then(|| checked_doi(text)).flatten()
}

/// The DOI an `href` on the page at `base` leads to, through doi.org.
fn doi_at(href: &str, base: &Url) -> Option<String> {
    base.join(href.trim()).ok().and_then(|url| doi_of_url(&url))
}

fn doi_of_url(url: &Url) -> Option<String> {
    if !matches!(url.host_str()?, "doi.org" | "dx.doi.org" | "www.doi.org") {
        return None;
    }
    let path = url.path().strip_prefix('/')?;
    checked_doi(&percent_decoded(path)?)
}

/// Whether an `href` may lead to doi.org, cheaply, before parsing it.
fn names_doi_org(href: &str) -> bool {
    href.as_bytes()
        .windows(8)
        .any(|w| w.eq_ignore_ascii_case(b"doi.org/"))
}

/// The DOI at the start of `text`, up to white space, if it has a DOI's
/// shape (`10.` and a 4 to 9 digit registrant, `/`, a suffix): the same
/// check a source's `doi` passes.
fn checked_doi(text: &str) -> Option<String> {
    let candidate = text.split_whitespace().next()?;
    Doi::parse("doi", candidate).ok().map(Doi::into_string)
}

/// `%XX` escapes decoded; `None` when the result is not UTF-8.
fn percent_decoded(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = bytes.get(i + 1..i + 3)
            && hex.iter().all(u8::is_ascii_hexdigit)
            && let Some(byte) = std::str::from_utf8(hex)
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(byte);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// A publication date as ISO 8601: `YYYY-MM-DD` or an RFC 3339 time kept as
/// written; `2024/03/05` and `2024.03.05` read as `2024-03-05`, a `+0000`
/// offset as `+00:00`, and a time without an offset as its day (which time
/// it meant is unknown). Partial dates (a year alone) are left out: a
/// source's date is a day or a time.
fn issued(text: &str) -> Option<String> {
    use chrono::Datelike;
    let text = text.trim();
    if text.len() > 64 {
        return None;
    }
    if let Some(day) = day(text) {
        return Some(day);
    }
    if chrono::DateTime::parse_from_rfc3339(text).is_ok_and(|t| (1..=9999).contains(&t.year())) {
        return Some(text.to_owned());
    }
    for format in ["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S%.f%z"] {
        if let Ok(time) = chrono::DateTime::parse_from_str(text, format)
            && (1..=9999).contains(&time.year())
        {
            return Some(time.to_rfc3339());
        }
    }
    let (date, rest) = (text.get(..10)?, text.get(10..)?);
    if rest.starts_with(['T', 't', ' ']) {
        return day(date);
    }
    None
}

/// `YYYY-MM-DD` (or with `/` or `.`) that names a real day, as `YYYY-MM-DD`.
fn day(text: &str) -> Option<String> {
    let b = text.as_bytes();
    let shaped = b.len() == 10
        && matches!(b[4], b'-' | b'/' | b'.')
        && b[7] == b[4]
        && [0, 1, 2, 3, 5, 6, 8, 9]
            .iter()
            .all(|&i| b[i].is_ascii_digit());
    if !shaped {
        return None;
    }
    let day = format!("{}-{}-{}", text.get(..4)?, text.get(5..7)?, text.get(8..)?);
    chrono::NaiveDate::parse_from_str(&day, "%Y-%m-%d")
        .ok()
        .filter(|d| chrono::Datelike::year(d) >= 1)
        .map(|_| day)
}

/// A language tag in BCP 47's usual case (`en-US`, `zh-Hant`), from a tag
/// or a locale (`en_US`); only a two- or three-letter language (a word such
/// as `English` is no tag).
fn language(text: &str) -> Option<String> {
    let text = text.trim();
    if text.len() > 64 {
        return None;
    }
    let first = text.split([',', ';', ' ']).next()?.replace('_', "-");
    let mut parts = first.split('-');
    let primary = parts.next()?;
    if !matches!(primary.len(), 2 | 3) {
        return None;
    }
    let mut tag = primary.to_ascii_lowercase();
    for part in parts {
        tag.push('-');
        let alphabetic = part.bytes().all(|b| b.is_ascii_alphabetic());
        match part.len() {
            2 if alphabetic => tag.push_str(&part.to_ascii_uppercase()),
            4 if alphabetic => {
                tag.push_str(&part[..1].to_ascii_uppercase());
                tag.push_str(&part[1..].to_ascii_lowercase());
            }
            _ => tag.push_str(&part.to_ascii_lowercase()),
        }
    }
    LanguageTag::parse("language", &tag)
        .ok()
        .map(LanguageTag::into_string)
}

/// `raw` on one line: white space collapsed to single spaces, control
/// characters dropped, at most `max` characters; `None` when nothing is left.
fn clean(raw: &str, max: usize) -> Option<String> {
    let mut out = String::new();
    let mut count = 0;
    'words: for word in raw.split_whitespace() {
        let mut chars = word.chars().filter(|c| !c.is_control()).peekable();
        if chars.peek().is_none() {
            continue;
        }
        if !out.is_empty() {
            if count + 1 >= max {
                break;
            }
            out.push(' ');
            count += 1;
        }
        for c in chars {
            if count == max {
                break 'words;
            }
            out.push(c);
            count += 1;
        }
    }
    let out = out.trim_end();
    (!out.is_empty()).then(|| out.to_owned())
}

/// Like [`clean`], for JSON-LD text, which pages often write with HTML
/// entities (`&amp;`, `&#8217;`) or tags in it: those are read as HTML.
fn clean_markup(raw: &str, max: usize) -> Option<String> {
    if !raw.contains(['&', '<']) {
        return clean(raw, max);
    }
    // Markup takes more characters than the text it holds, not without bound.
    let head = raw
        .char_indices()
        .nth(8 * max)
        .map_or(raw, |(i, _)| &raw[..i]);
    let fragment = Html::parse_fragment(head);
    let text: String = fragment.root_element().text().collect();
    clean(&text, max)
}

fn starts_with_ignoring_case(text: &str, prefix: &str) -> bool {
    text.as_bytes()
        .get(..prefix.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(prefix.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url() -> Url {
        Url::parse("https://news.example/2024/03/story").expect("url")
    }

    fn page(head: &str, body: &str) -> PageMetadata {
        read(
            &format!("<!doctype html><html><head>{head}</head><body>{body}</body></html>"),
            &url(),
        )
    }

    fn json_ld(value: serde_json::Value) -> String {
        format!(r#"<script type="application/ld+json">{value}</script>"#)
    }

    #[test]
    fn a_news_article_in_a_graph_with_references() {
        let graph = serde_json::json!({
            "@context": "https://schema.org",
            "@graph": [
                {"@type": "WebPage", "@id": "https://news.example/2024/03/story#page",
                 "name": "Rates held - News Example", "inLanguage": "en-GB"},
                {"@type": ["NewsArticle"], "headline": "  Rates   held &amp; why\n",
                 "author": [{"@id": "https://news.example/#/person/jane"},
                            {"@type": "Person", "name": "John Roe"}, "John Roe"],
                 "publisher": {"@id": "https://news.example/#org"},
                 "datePublished": "2024-03-05T09:30:00+01:00",
                 "dateCreated": "2024-03-04"},
                {"@type": "Person", "@id": "https://news.example/#/person/jane", "name": "Jane Doe"},
                {"@type": "Organization", "@id": "https://news.example/#org", "name": "News Example"}
            ]
        });
        let read = page(
            &format!(
                "{}<meta property=\"og:title\" content=\"Other\"><title>Other</title>",
                json_ld(graph)
            ),
            "",
        );
        assert_eq!(
            read,
            PageMetadata {
                title: Some("Rates held & why".into()),
                publisher: Some("News Example".into()),
                authors: vec!["Jane Doe".into(), "John Roe".into()],
                issued: Some("2024-03-05T09:30:00+01:00".into()),
                language: Some("en-GB".into()),
                doi: None,
                kind: Some(KindHint::NewsReport),
            }
        );
    }

    #[test]
    fn a_list_of_scripts_and_a_string_publisher() {
        let items = serde_json::json!([
            {"@type": "BreadcrumbList", "name": "Crumbs"},
            {"@type": "http://schema.org/ReportageNewsArticle", "name": "Flood waters rise",
             "author": "Ana Lima", "publisher": "Diário", "inLanguage": "pt_br",
             "datePublished": "2024/03/05"}
        ]);
        let read = page(&json_ld(items), "");
        assert_eq!(read.title.as_deref(), Some("Flood waters rise"));
        assert_eq!(read.authors, ["Ana Lima"]);
        assert_eq!(read.publisher.as_deref(), Some("Diário"));
        assert_eq!(read.language.as_deref(), Some("pt-BR"));
        assert_eq!(read.issued.as_deref(), Some("2024-03-05"));
        assert_eq!(read.kind, Some(KindHint::NewsReport));
    }

    #[test]
    fn a_page_whose_main_entity_is_the_article() {
        let page_node = serde_json::json!({
            "@context": "https://schema.org",
            "@type": "WebPage", "name": "Story - Site",
            "mainEntity": {"@type": "NewsArticle", "headline": "Story", "author": "A. Writer"}
        });
        let read = page(&json_ld(page_node), "");
        assert_eq!(read.title.as_deref(), Some("Story"));
        assert_eq!(read.authors, ["A. Writer"]);
        assert_eq!(read.kind, Some(KindHint::NewsReport));
    }

    #[test]
    fn a_scholarly_article_with_a_doi() {
        let article = serde_json::json!({
            "@context": "https://schema.org",
            "@type": "ScholarlyArticle",
            "name": "On the cooling of coffee",
            "author": [{"@type": "Person", "givenName": "Ada", "familyName": "Byron"}],
            "publisher": {"@type": "Organization", "name": "Journal of Warm Drinks"},
            "datePublished": "2023-11-02",
            "inLanguage": {"@type": "Language", "name": "English", "alternateName": "en"},
            "identifier": [
                {"@type": "PropertyValue", "propertyID": "ISSN", "value": "1234-5678"},
                {"@type": "PropertyValue", "propertyID": "DOI", "value": "10.1234/jwd.2023.77"}
            ]
        });
        let read = page(&json_ld(article), "");
        assert_eq!(read.doi.as_deref(), Some("10.1234/jwd.2023.77"));
        assert_eq!(read.authors, ["Ada Byron"]);
        assert_eq!(read.publisher.as_deref(), Some("Journal of Warm Drinks"));
        assert_eq!(read.language.as_deref(), Some("en"));
        assert_eq!(read.issued.as_deref(), Some("2023-11-02"));
        assert_eq!(read.kind, Some(KindHint::Academic));

        let by_url = serde_json::json!({"@type": "ScholarlyArticle", "name": "X",
            "sameAs": ["https://example.org/x", "https://doi.org/10.5555%2Fabc-def"]});
        assert_eq!(
            page(&json_ld(by_url), "").doi.as_deref(),
            Some("10.5555/abc-def")
        );
    }

    #[test]
    fn a_dataset() {
        let dataset = serde_json::json!({
            "@context": {"@vocab": "https://schema.org/"},
            "@type": "Dataset",
            "name": "Rainfall, 1900–2020",
            "creator": {"@type": "Organization", "name": "Met Office"},
            "dateCreated": "2021-01-15",
            "identifier": "https://doi.org/10.5281/zenodo.1234567"
        });
        let read = page(&json_ld(dataset), "");
        assert_eq!(read.title.as_deref(), Some("Rainfall, 1900–2020"));
        assert_eq!(read.authors, ["Met Office"]);
        assert_eq!(read.issued.as_deref(), Some("2021-01-15"));
        assert_eq!(read.doi.as_deref(), Some("10.5281/zenodo.1234567"));
        assert_eq!(read.kind, Some(KindHint::Dataset));
        assert_eq!(read.publisher, None);
    }

    #[test]
    fn opengraph_only() {
        let read = page(
            r#"<meta property="og:title" content="The  quiet &amp; the loud">
               <meta property="og:site_name" content="Example Times">
               <meta property="og:locale" content="en_US">
               <meta property="article:published_time" content="2024-03-05T10:00:00+0000">
               <meta property="article:author" content="https://www.facebook.com/someone">
               <meta property="article:author" content="Sam Smith">
               <title>The quiet - Example Times</title>"#,
            "",
        );
        assert_eq!(
            read,
            PageMetadata {
                title: Some("The quiet & the loud".into()),
                publisher: Some("Example Times".into()),
                authors: vec!["Sam Smith".into()],
                issued: Some("2024-03-05T10:00:00+00:00".into()),
                language: Some("en-US".into()),
                doi: None,
                kind: None,
            }
        );
    }

    #[test]
    fn highwire_citation_meta_only() {
        let read = page(
            r#"<meta name="citation_title" content="Sediment in the Tagus">
               <meta name="citation_author" content="Silva, Maria">
               <meta name="citation_author" content="Costa, João">
               <meta name="citation_author" content="Silva, Maria">
               <meta name="citation_publication_date" content="2022/07/01">
               <meta name="citation_journal_title" content="Rivers">
               <meta name="citation_doi" content="doi:10.1016/j.rivers.2022.01.003">
               <meta name="citation_language" content="pt">
               <meta name="DC.title" content="Not this one">
               <title>Rivers | Sediment</title>"#,
            "",
        );
        assert_eq!(
            read,
            PageMetadata {
                title: Some("Sediment in the Tagus".into()),
                publisher: Some("Rivers".into()),
                authors: vec!["Silva, Maria".into(), "Costa, João".into()],
                issued: Some("2022-07-01".into()),
                language: Some("pt".into()),
                doi: Some("10.1016/j.rivers.2022.01.003".into()),
                kind: Some(KindHint::Academic),
            }
        );
    }

    #[test]
    fn dublin_core_and_a_doi_link() {
        let read = page(
            r#"<meta name="DC.title" content="Annual report 2023">
               <meta name="DC.creator" content="Statistics Board">
               <meta name="DC.date" content="2024-02-29">
               <meta name="DC.publisher" content="Statistics Board">
               <meta name="DC.language" content="fr-ca">
               <link rel="cite-as" href="https://doi.org/10.99999/report-2023">"#,
            "",
        );
        assert_eq!(read.title.as_deref(), Some("Annual report 2023"));
        assert_eq!(read.authors, ["Statistics Board"]);
        assert_eq!(read.issued.as_deref(), Some("2024-02-29"));
        assert_eq!(read.language.as_deref(), Some("fr-CA"));
        assert_eq!(read.doi.as_deref(), Some("10.99999/report-2023"));
    }

    #[test]
    fn a_news_page_linking_to_a_paper_does_not_take_its_doi() {
        let body = r#"<p>The <a href="https://doi.org/10.1038/s41586-024-0001-x">study</a></p>"#;
        let news = page(
            &json_ld(serde_json::json!({"@type": "NewsArticle", "headline": "H"})),
            body,
        );
        assert_eq!(news.doi, None);
        let plain = page("<title>A blog</title>", body);
        assert_eq!(plain.doi, None);
        // A scholarly page's own DOI link is its own.
        let paper = page(r#"<meta name="citation_title" content="P">"#, body);
        assert_eq!(paper.doi.as_deref(), Some("10.1038/s41586-024-0001-x"));
    }

    #[test]
    fn only_a_title_or_nothing() {
        let read = read(
            "<html lang=de><head><title>\n  Nur   ein Titel\t</title></head><body><svg><title>icon</title></svg></body></html>",
            &url(),
        );
        assert_eq!(
            read,
            PageMetadata {
                title: Some("Nur ein Titel".into()),
                language: Some("de".into()),
                ..PageMetadata::default()
            }
        );
        assert_eq!(
            serde_json::to_value(&read).expect("json"),
            serde_json::json!({"title": "Nur ein Titel", "language": "de"})
        );
        for nothing in [
            "",
            "plain text",
            "<html><body><svg><title>icon</title></svg>",
            "\u{0}\u{1}<",
        ] {
            assert_eq!(
                super::read(nothing, &url()),
                PageMetadata::default(),
                "{nothing:?}"
            );
        }
        assert_eq!(
            serde_json::to_value(PageMetadata::default()).expect("json"),
            serde_json::json!({})
        );
    }

    #[test]
    fn malformed_json_ld_is_skipped() {
        let head = format!(
            r#"<script type="application/ld+json">{{"@type": "NewsArticle", "headline": </script>
               <script type="application/ld+json">[1, "two", null, {{"@type": 7}}]</script>
               <script type="application/ld+json">{{"@type": "NewsArticle", "headline": ["Kept"],
                 "author": {{"name": 5}}, "datePublished": "yesterday", "inLanguage": "English"}}</script>
               {}
               <meta name="author" content="Meta Author"><title>Fallback</title>"#,
            json_ld(serde_json::json!({"@type": "Thing", "name": "Not a work"}))
        );
        let read = page(&head, "");
        assert_eq!(read.title.as_deref(), Some("Kept"));
        assert_eq!(read.authors, ["Meta Author"]);
        assert_eq!(read.issued, None);
        assert_eq!(read.language, None);
        assert_eq!(read.kind, Some(KindHint::NewsReport));
    }

    #[test]
    fn fields_are_capped() {
        let long = "word ".repeat(1000);
        let authors: Vec<String> = (0..80).map(|i| format!("Author {i}")).collect();
        let article = serde_json::json!({"@type": "Article", "headline": long,
            "author": authors, "publisher": {"name": "P".repeat(1000)}});
        let read = page(&json_ld(article), "");
        let title = read.title.expect("title");
        assert!(title.chars().count() <= MAX_TITLE && !title.ends_with(' '));
        assert_eq!(read.authors.len(), MAX_AUTHORS);
        assert_eq!(
            read.publisher.map(|p| p.chars().count()),
            Some(MAX_PUBLISHER)
        );
    }

    #[test]
    fn dois_have_their_shape() {
        for (text, bare, doi) in [
            ("10.1000/xyz123", true, Some("10.1000/xyz123")),
            ("10.1000/xyz123", false, None),
            ("DOI: 10.1000/xyz123", false, Some("10.1000/xyz123")),
            ("info:doi/10.1000/a b", false, Some("10.1000/a")),
            (
                "https://dx.doi.org/10.1000/x%2Fy",
                false,
                Some("10.1000/x/y"),
            ),
            ("https://example.org/10.1000/x", true, None),
            ("10.100/short", true, None),
            ("10.1234567890/long", true, None),
            ("10.1234/", true, None),
            ("11.1234/x", true, None),
            ("doi:", true, None),
        ] {
            assert_eq!(doi_in(text, bare).as_deref(), doi, "{text}");
        }
    }

    #[test]
    fn dates_are_read_as_iso_8601() {
        for (text, date) in [
            ("2024-03-05", Some("2024-03-05")),
            ("2024.03.05", Some("2024-03-05")),
            ("2024-03-05T10:00:00Z", Some("2024-03-05T10:00:00Z")),
            (
                "2024-03-05T10:00:00.123+0530",
                Some("2024-03-05T10:00:00.123+05:30"),
            ),
            ("2024-03-05T10:00:00", Some("2024-03-05")),
            ("2024-02-30", None),
            ("2024", None),
            ("March 5, 2024", None),
            ("2024-0३-05", None),
        ] {
            assert_eq!(issued(text).as_deref(), date, "{text}");
        }
    }

    #[test]
    fn kind_hints_are_source_kinds() {
        use crate::newsroom::sources::SourceKind;
        for hint in [
            KindHint::NewsReport,
            KindHint::Academic,
            KindHint::Dataset,
            KindHint::Document,
        ] {
            let word = serde_json::to_value(hint).expect("json");
            let kind: SourceKind = serde_json::from_value(word.clone()).expect("a source kind");
            assert_eq!(serde_json::to_value(kind).expect("json"), word);
        }
    }

    /// Hostile pages: deep nesting (not parsed), five MiB of markup, a
    /// JSON-LD script over the limit and one nested past serde_json's.
    /// Read without a panic, in good time.
    #[test]
    fn hostile_pages_are_read_quickly() {
        let started = std::time::Instant::now();
        let deep = format!("<title>Deep</title>{}", "<div>".repeat(1 << 20));
        assert_eq!(read(&deep, &url()), PageMetadata::default());

        let nested_json = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        let big_json = format!(
            r#"{{"@type": "NewsArticle", "headline": "Big", "x": "{}"}}"#,
            "a".repeat(MAX_JSON_LD_BYTES)
        );
        let html = format!(
            r#"<html><head><script type="application/ld+json">{nested_json}</script>
               <script type="application/ld+json">{big_json}</script>
               <title>Hostile</title></head><body>{}{}</body></html>"#,
            "<p>Words, <b>bold</b> and <a href=\"/x\">a link</a>.</p>\n".repeat(40_000),
            "<a href=\"https://doi.org/10.1234/x\">x</a>".repeat(20_000)
        );
        assert!(html.len() > 4 << 20, "{}", html.len());
        let read = read(&html, &url());
        assert_eq!(read.title.as_deref(), Some("Hostile"));
        assert_eq!(read.doi, None);
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "{:?}",
            started.elapsed()
        );
    }
}
