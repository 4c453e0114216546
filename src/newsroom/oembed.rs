//! oEmbed 1.0 for the reader's page (SPEC "The public face"): which URLs are
//! reader's pages of this server, how large the embed is within a consumer's
//! `maxwidth` and `maxheight`, the `rich` response, and the embeddable view
//! it frames.
//!
//! The response's `html` is an `<iframe>` of the embeddable view
//! (`/articles/{slug}/embed`) and a plain link to the page after it: WordPress
//! keeps only the iframe of a provider it discovered and sandboxes it without
//! `allow-same-origin`, so the view has no cookies, storage or token and shows
//! what an anonymous reader sees, the teaser, with links out to the full page.
//! The view is the list builder's teaser rendered small (one builder, several
//! renderers); maud escapes every text it is given.

use maud::{DOCTYPE, html};
use serde::Serialize;
use utoipa::ToSchema;

use super::source_list::SourceTeaser;
use crate::error::{ApiError, ErrorCode};

/// The embed's size when the consumer sets no bound.
pub const DEFAULT_WIDTH: u32 = 600;
pub const DEFAULT_HEIGHT: u32 = 400;
/// The tallest the embed grows to in a narrow column.
pub const MAX_HEIGHT: u32 = 800;
/// How long consumers may keep a response, in seconds.
pub const CACHE_AGE: u32 = 3600;

/// The reader's page of `slug`, as readers reach it.
pub fn page_url(public_url: &str, slug: &str) -> String {
    format!("{public_url}/articles/{slug}/sources")
}

/// The embeddable view of `slug`.
pub fn embed_url(public_url: &str, slug: &str) -> String {
    format!("{public_url}/articles/{slug}/embed")
}

/// The oEmbed endpoint for the page of `slug`, as the page's discovery link
/// names it.
pub fn discovery_href(public_url: &str, slug: &str) -> String {
    let page: String =
        url::form_urlencoded::byte_serialize(page_url(public_url, slug).as_bytes()).collect();
    format!("{public_url}/oembed?url={page}&format=json")
}

/// The slug of the reader's page that `url` names: this server's public URL
/// (scheme, host and port as configured, any path prefix kept) then
/// `/articles/{slug}/sources`, with or without a trailing slash. A query or
/// fragment is tolerated and ignored (a subscriber's `?token=` link names the
/// same page, and the embed never carries the token). Anything else: none.
pub fn slug_of(public_url: &str, url: &str) -> Option<String> {
    let public = url::Url::parse(public_url).ok()?;
    let asked = url::Url::parse(url).ok()?;
    let same_origin = asked.scheme() == public.scheme()
        && asked.host_str() == public.host_str()
        && asked.port_or_known_default() == public.port_or_known_default();
    if !same_origin || !asked.username().is_empty() || asked.password().is_some() {
        return None;
    }
    let rest = asked
        .path()
        .strip_prefix(public.path().trim_end_matches('/'))?
        .strip_prefix("/articles/")?;
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    let slug = rest.strip_suffix("/sources")?;
    let plain = !slug.is_empty()
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    plain.then(|| slug.to_owned())
}

/// `format`: absent or `json`; `xml` is not offered (501, as oEmbed allows);
/// anything else is a bad request.
pub fn check_format(format: Option<&str>) -> Result<(), ApiError> {
    match format {
        None | Some("json") => Ok(()),
        Some("xml") => Err(ApiError::new(
            ErrorCode::NotImplemented,
            "format: only json is offered",
        )),
        Some(other) => Err(ApiError::invalid_field(
            "format",
            format!("{other:?} is not json or xml"),
        )),
    }
}

/// A `maxwidth` or `maxheight`: a positive whole number of pixels.
pub fn bound(field: &str, value: Option<&str>) -> Result<Option<u32>, ApiError> {
    let Some(value) = value else { return Ok(None) };
    match value.trim().parse::<u32>() {
        Ok(n) if n > 0 => Ok(Some(n)),
        _ => Err(ApiError::invalid_field(
            field,
            "must be a positive whole number of pixels",
        )),
    }
}

/// The embed's width and height: the default, narrower within `maxwidth`
/// and then taller (up to [`MAX_HEIGHT`]) so the teaser still shows, never
/// past `maxheight`. Never larger than either bound; never smaller than the
/// default height unless `maxheight` says so.
pub fn size(maxwidth: Option<u32>, maxheight: Option<u32>) -> (u32, u32) {
    let width = DEFAULT_WIDTH.min(maxwidth.unwrap_or(u32::MAX));
    let taller = (u64::from(DEFAULT_WIDTH) * u64::from(DEFAULT_HEIGHT) / u64::from(width))
        .clamp(u64::from(DEFAULT_HEIGHT), u64::from(MAX_HEIGHT));
    let height = u32::try_from(taller)
        .unwrap_or(MAX_HEIGHT)
        .min(maxheight.unwrap_or(u32::MAX));
    (width, height)
}

/// An oEmbed 1.0 `rich` response (§2.3).
#[derive(Debug, Serialize, ToSchema)]
pub struct OembedResponse {
    /// Always `1.0`.
    #[schema(example = "1.0")]
    pub version: String,
    /// Always `rich`.
    #[serde(rename = "type")]
    #[schema(example = "rich")]
    pub kind: String,
    /// An `<iframe>` of the embeddable view, then a link to the page.
    pub html: String,
    /// The iframe's width in pixels, within `maxwidth`.
    pub width: u32,
    /// The iframe's height in pixels, within `maxheight`.
    pub height: u32,
    /// The article's title.
    pub title: String,
    pub provider_name: String,
    pub provider_url: String,
    /// Seconds a consumer may keep this response.
    pub cache_age: u32,
}

/// What the response is made of.
pub struct Embed<'a> {
    pub public_url: &'a str,
    pub provider_name: &'a str,
    pub slug: &'a str,
    pub title: &'a str,
    pub maxwidth: Option<u32>,
    pub maxheight: Option<u32>,
}

/// The `rich` response for an article's page.
pub fn response(embed: Embed) -> OembedResponse {
    let (width, height) = size(embed.maxwidth, embed.maxheight);
    let frame = embed_url(embed.public_url, embed.slug);
    let page = page_url(embed.public_url, embed.slug);
    let label = format!("Sources: {}", embed.title);
    // Consumers that paste the html as is get a sandbox of ours; WordPress
    // puts its own in its place.
    let markup = html! {
        iframe src=(frame) width=(width) height=(height) title=(label)
            sandbox="allow-scripts allow-popups allow-popups-to-escape-sandbox"
            frameborder="0" scrolling="auto" {}
        a href=(page) { (label) }
    };
    OembedResponse {
        version: "1.0".into(),
        kind: "rich".into(),
        html: markup.into_string(),
        width,
        height,
        title: embed.title.to_owned(),
        provider_name: embed.provider_name.to_owned(),
        provider_url: embed.public_url.to_owned(),
        cache_age: CACHE_AGE,
    }
}

/// The provider's name: the host of the public URL (`news.example`).
pub fn provider_name(public_url: &str) -> String {
    url::Url::parse(public_url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| public_url.to_owned())
}

/// The stylesheet of the embeddable view (`/assets/embed-view.css`).
pub const STYLESHEET: &str = include_str!("embed_view.css");
/// Its script (`/assets/embed-view.js`): links out through the host page.
pub const SCRIPT: &str = include_str!("../web/embed_view.js");

fn kind_name(kind: &str) -> String {
    kind.replace('_', " ")
}

/// The embeddable view: the teaser, small, every link opening the page or
/// the newsroom's call to action in a new tab. No token is ever read or shown.
pub fn render_view(teaser: &SourceTeaser, public_url: &str) -> String {
    let article = &teaser.article;
    let page = page_url(public_url, &article.slug);
    let count = teaser.source_count;
    html! {
        (DOCTYPE)
        html lang=(article.language) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="referrer" content="no-referrer";
                title { "Sources: " (article.title) }
                link rel="stylesheet" href="/assets/embed-view.css";
                script src="/assets/embed-view.js" defer {}
            }
            body {
                main {
                    p.kicker { "Sources behind the article" }
                    h1 { (article.title) }
                    p.count #sources-count {
                        (count) @if count == 1 { " source" } @else { " sources" }
                        ", each recorded in the newsroom's public ledger"
                    }
                    ol.sources aria-labelledby="sources-count" {
                        @for source in &teaser.sources {
                            li {
                                span.title { (source.title) }
                                @if source.sealed {
                                    span.meta { " · " (kind_name(&source.kind)) ", sealed" }
                                } @else {
                                    span.meta { " · " (source.publisher) ", " (kind_name(&source.kind)) }
                                }
                            }
                        }
                    }
                    p.more {
                        a href=(page) target="_blank" rel="noopener" {
                            "Every source behind “" (article.title) "”, with proofs"
                        }
                    }
                    @if let Some(url) = &teaser.subscribe_url {
                        p.cta { (teaser.message) " " a href=(url) target="_blank" rel="noopener" { "Subscribe" } }
                    } @else {
                        p.cta { (teaser.message) }
                    }
                }
            }
        }
    }
    .into_string()
}

/// The view's own policy: its stylesheet and script only, nothing fetched,
/// and framed by any web page (it holds nothing an anonymous reader may not
/// see).
pub const VIEW_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors *";

#[cfg(test)]
mod tests {
    use super::*;

    const PUBLIC: &str = "https://ledger.news.example";

    #[test]
    fn only_this_servers_reader_pages_are_embedded() {
        let ok = |u: &str| slug_of(PUBLIC, u);
        assert_eq!(
            ok("https://ledger.news.example/articles/a-1/sources").as_deref(),
            Some("a-1")
        );
        assert_eq!(
            ok("https://LEDGER.news.example:443/articles/a-1/sources/").as_deref(),
            Some("a-1")
        );
        assert_eq!(
            ok("https://ledger.news.example/articles/a-1/sources?token=x#v").as_deref(),
            Some("a-1")
        );
        for bad in [
            "http://ledger.news.example/articles/a-1/sources",
            "https://evil.example/articles/a-1/sources",
            "https://ledger.news.example:8443/articles/a-1/sources",
            "https://u@ledger.news.example/articles/a-1/sources",
            "https://ledger.news.example/articles/a-1/embed",
            "https://ledger.news.example/articles/a/b/sources",
            "https://ledger.news.example/articles/A%2F/sources",
            "https://ledger.news.example/articles//sources",
            "not a url",
        ] {
            assert_eq!(ok(bad), None, "{bad}");
        }
        let prefixed = "https://news.example/ledger";
        assert_eq!(
            slug_of(prefixed, "https://news.example/ledger/articles/s/sources").as_deref(),
            Some("s")
        );
        assert_eq!(
            slug_of(prefixed, "https://news.example/articles/s/sources"),
            None
        );
    }

    #[test]
    fn sizes_stay_within_the_bounds() {
        assert_eq!(size(None, None), (DEFAULT_WIDTH, DEFAULT_HEIGHT));
        assert_eq!(size(Some(300), None), (300, 800));
        assert_eq!(size(Some(480), Some(500)), (480, 500));
        assert_eq!(size(Some(50), Some(40)), (50, 40));
        assert_eq!(
            size(Some(2000), Some(2000)),
            (DEFAULT_WIDTH, DEFAULT_HEIGHT)
        );
    }

    #[test]
    fn the_discovery_link_encodes_the_page_url() {
        assert_eq!(
            discovery_href(PUBLIC, "s-1"),
            "https://ledger.news.example/oembed?url=https%3A%2F%2Fledger.news.example%2Farticles%2Fs-1%2Fsources&format=json"
        );
    }
}
