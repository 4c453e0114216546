//! The source list as a page of its own (`GET /articles/{slug}/sources`),
//! rendered on the server from the list the builder made: readable with
//! JavaScript off, accessible (landmarks, one `h1`, headings per source, link
//! text that says where it goes), with a print stylesheet. maud escapes every
//! text it is given. The list's JSON rides along in a data block for the
//! verifying script, and the article's schema.org JSON-LD for search engines;
//! both are JSON with `<` written as `\u003c`, so no text can close the block.

use maud::{DOCTYPE, Markup, PreEscaped, html};
use serde_json::Value;

use super::articles::Article;
use super::citations::{Citation, CitationStatus};
use super::cited::CitedSource;
use super::sealed::CitedSealed;
use super::sealed::sealed_title;
use super::source_list::{ProvenCitation, SourceTeaser, VerifiedSourceList};
use crate::archive::monitor::LinkStatus;

/// The stylesheet the page links to (`/assets/sources.css`).
pub const STYLESHEET: &str = include_str!("source_page.css");
/// The verifier (`/assets/verify.js`), shared with the embeddable panel.
pub const VERIFY_JS: &str = include_str!("../web/verify.js");
/// The embeddable panel (`/embed.js`): the verifier, then the panel, in one
/// file so that a newsroom adds one script tag.
pub const EMBED_JS: &str = concat!(
    include_str!("../web/verify.js"),
    include_str!("../web/embed.js")
);
/// The page's check (`/assets/page.js`).
pub const PAGE_JS: &str = include_str!("../web/page.js");

/// What the page shows.
pub enum Shown<'a> {
    Teaser(&'a SourceTeaser),
    Verified(&'a VerifiedSourceList),
}

/// JSON safe inside `<script type="application/...json">`.
pub(crate) fn data_block(json: &[u8]) -> PreEscaped<String> {
    PreEscaped(String::from_utf8_lossy(json).replace('<', "\\u003c"))
}

fn date(text: &str) -> &str {
    text.get(..10).unwrap_or(text)
}

fn kind_name(kind: &str) -> String {
    kind.replace('_', " ")
}

/// The page; a published article's names its oEmbed endpoint at
/// `public_url` (none when empty).
pub fn render(
    shown: Shown,
    list_json: &[u8],
    json_ld: &Value,
    vkey: &str,
    public_url: &str,
) -> String {
    let article: &Article = match &shown {
        Shown::Teaser(t) => &t.article,
        Shown::Verified(v) => &v.article.article,
    };
    let json_ld = serde_json::to_vec(json_ld).unwrap_or_default();
    let oembed = (article.is_public() && !public_url.is_empty())
        .then(|| super::oembed::discovery_href(public_url, &article.slug));
    let page = html! {
        (DOCTYPE)
        html lang=(article.language) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="referrer" content="no-referrer";
                meta name="sourceledger-vkey" content=(vkey);
                title { "Sources: " (article.title) }
                link rel="stylesheet" href="/assets/sources.css";
                @if let Some(href) = &oembed {
                    link rel="alternate" type="application/json+oembed" href=(href) title=(format!("Sources: {}", article.title));
                }
                script type="application/ld+json" { (data_block(&json_ld)) }
                script type="application/json" id="sourceledger-list" { (data_block(list_json)) }
                script src="/assets/verify.js" defer {}
                script src="/assets/page.js" defer {}
            }
            body {
                header {
                    p.kicker { "Sources behind the article" }
                    h1 { (article.title) }
                    p { a href=(article.url) { "Read the article: " (article.title) } }
                }
                main {
                    @match &shown {
                        Shown::Teaser(teaser) => (teaser_section(teaser)),
                        Shown::Verified(list) => (verified_section(list)),
                    }
                }
                footer {
                    p {
                        "Every source and citation here is an entry in this newsroom's public, append-only ledger. "
                        "Check it yourself with the newsroom's public key and "
                        code { "sourceledger verify" } "."
                    }
                    p { a href="/transparency" { "What this newsroom cites and corrects, in figures" } }
                }
            }
        }
    };
    page.into_string()
}

fn teaser_section(teaser: &SourceTeaser) -> Markup {
    let count = teaser.source_count;
    html! {
        section aria-labelledby="sources-heading" {
            h2 #sources-heading {
                (count) @if count == 1 { " source" } @else { " sources" }
            }
            @if !teaser.kinds.is_empty() {
                p {
                    "Kinds: "
                    @for (i, (kind, n)) in teaser.kinds.iter().enumerate() {
                        @if i > 0 { ", " }
                        (kind_name(kind)) " (" (n) ")"
                    }
                    ". Languages: "
                    @for (i, (language, n)) in teaser.languages.iter().enumerate() {
                        @if i > 0 { ", " }
                        (language) " (" (n) ")"
                    }
                    "."
                }
            }
            ol.sources {
                @for source in &teaser.sources {
                    li {
                        h3 { (source.title) }
                        @if source.sealed {
                            p.meta { (kind_name(&source.kind)) " · its record is sealed in the ledger" }
                        } @else {
                            p.meta { (source.publisher) " · " (kind_name(&source.kind)) " · " (source.language) }
                        }
                    }
                }
            }
            @if teaser.retracted_count > 0 {
                p { (teaser.retracted_count) " retracted citation(s) are listed for subscribers." }
            }
        }
        aside.cta aria-label="Subscribe" {
            p { (teaser.message) }
            @if let Some(url) = &teaser.subscribe_url {
                p { a.button href=(url) { "Subscribe" } }
            }
        }
    }
}

/// What the link monitor found, in words, when a reader should know it.
pub fn link_note(s: &crate::newsroom::sources::SourceVersion) -> Option<String> {
    let checked = s.link_checked_at.as_deref().map(date).unwrap_or_default();
    let archived = match s.later_captured_at.as_deref().or(s.captured_at.as_deref()) {
        Some(at) => format!("the copy archived on {}", date(at)),
        None => "the archived copy".to_owned(),
    };
    match s.link_status {
        LinkStatus::Gone => Some(if archived_copy(s).is_some() {
            format!("This link no longer works (checked {checked}): read {archived}.")
        } else {
            format!("This link no longer works (checked {checked}).")
        }),
        LinkStatus::Changed => Some(format!(
            "The page has changed since it was archived (checked {checked}); {archived} shows what was cited."
        )),
        _ => s
            .captured_at
            .as_deref()
            .map(|at| format!("Archived on {}.", date(at))),
    }
}

/// A sealed source: its kind, the day it was sealed, and whether it has been
/// disclosed; its record only once disclosed, shown like any source's, with
/// the day it was held since.
fn sealed_source(s: &CitedSealed) -> Markup {
    if let Some(record) = &s.disclosed {
        return html! {
            h3 { (record.title) }
            p.meta {
                (record.publisher) " · " (kind_name(&s.kind)) " · " (record.language)
                @if let Some(published) = &record.published_at { " · published " (date(published)) }
                @if let Some(accessed) = &record.accessed_at { " · accessed " (date(accessed)) }
            }
            p.sealed {
                "Held sealed since " (date(&s.recorded_at))
                @if let Some(at) = &s.disclosed_at { ", disclosed on " (date(at)) }
                ": the disclosed record opens the commitment ("
                code { (s.commitment.get(..16).unwrap_or(&s.commitment)) "…" }
                ") the ledger has held since that day."
            }
            p.links {
                a href=(record.url) rel="noopener noreferrer" { "Open the source: " (record.title) }
                @if let Some(archive) = &record.archive_url {
                    " · " a href=(archive) rel="noopener noreferrer" { "Archived copy of " (record.title) }
                }
                @if let Some(doi) = &record.doi { " · DOI " (doi) }
            }
        };
    }
    html! {
        h3 { (sealed_title(&s.recorded_at)) }
        p.meta {
            (kind_name(&s.kind)) " · sealed by " (s.recorded_by)
            @if let Some(at) = &s.disclosed_at { " · disclosed on " (date(at)) }
        }
        p.sealed {
            "The newsroom keeps this source confidential. The ledger holds a commitment to its record ("
            code { (s.commitment.get(..16).unwrap_or(&s.commitment)) "…" }
            ") made on the day it was sealed, so the record disclosed later can be checked against it."
        }
    }
}

fn citation_item(item: &ProvenCitation, replay: Option<&str>) -> Markup {
    let c = &item.citation;
    let s = match &item.source.source {
        CitedSource::Open(s) => s,
        CitedSource::Sealed(sealed) => {
            return html! {
                li {
                    article.source {
                        (sealed_source(sealed))
                        (citation_body(c))
                    }
                }
            };
        }
    };
    html! {
        li {
            article.source aria-labelledby=(format!("source-{}", c.id)) {
                h3 id=(format!("source-{}", c.id)) { (s.title) }
                p.meta {
                    (s.publisher) " · " (kind_name(s.kind.as_str())) " · " (s.language)
                    @if let Some(published) = &s.published_at { " · published " (date(published)) }
                    @if let Some(accessed) = &s.accessed_at { " · accessed " (date(accessed)) }
                }
                p.held { "Held since " (date(&item.source.held_since)) " by the newsroom, as its ledger entry proves." }
                @if let Some(note) = link_note(s) { p.link-state data-link-status=(s.link_status) { (note) } }
                p.links {
                    @if s.link_status == LinkStatus::Gone && archived_copy(s).is_some() {
                        @if let Some(archive) = archived_copy(s) {
                            a href=(archive) rel="noopener noreferrer" { "Archived copy of " (s.title) }
                        }
                        " · " a href=(s.url) rel="noopener noreferrer" { "The original address (no longer answers)" }
                    } @else {
                        a href=(s.url) rel="noopener noreferrer" { "Open the source: " (s.title) }
                        @if let Some(archive) = archived_copy(s) {
                            " · " a href=(archive) rel="noopener noreferrer" { "Archived copy of " (s.title) }
                        }
                        @if let Some(replay) = replay.filter(|_| replayable(s)) {
                            " · " a.replay href=(replay_link(replay, s)) { "Replay the archived copy" }
                        }
                    }
                    @if let Some(doi) = &s.doi { " · DOI " (doi) }
                }
                (citation_body(c))
            }
        }
    }
}

/// Whether this server captured the copy readers are shown (into a WARC,
/// which the article's web archive replays).
fn replayable(s: &crate::newsroom::sources::SourceVersion) -> bool {
    s.later_capture_version.is_some() || (s.captured_at.is_some() && s.snapshot_sha256.is_some())
}

/// The replay page opened at the source's page (the reader's page adds
/// their token: `page.js`).
fn replay_link(replay: &str, s: &crate::newsroom::sources::SourceVersion) -> String {
    let url: String = url::form_urlencoded::byte_serialize(s.url.as_bytes()).collect();
    format!("{replay}?url={url}")
}

/// The archived copy readers are shown: one captured after the cited
/// version (on publication, say) when there is one, else the version's own.
fn archived_copy(s: &crate::newsroom::sources::SourceVersion) -> Option<&str> {
    s.later_archive_url.as_deref().or(s.archive_url.as_deref())
}

/// What the search for a citation's quote in the archived copy found, in
/// words: nothing to say until it has searched.
pub fn quote_note(c: &Citation) -> Option<&'static str> {
    match c.quote_status.as_deref()? {
        "found" => Some("Quote found in the archived copy."),
        "not_found" => Some("Quote not found in the archived copy."),
        _ => None,
    }
}

/// The citation's own part: the quote, the claim, the note and its state.
fn citation_body(c: &Citation) -> Markup {
    html! {
                @if let Some(quote) = &c.quote { blockquote { p { (quote) } } }
                @if let Some(note) = quote_note(c) {
                    p.quote-state data-quote-status=(c.quote_status.as_deref().unwrap_or_default()) { (note) }
                }
                p { strong { "Supports: " } (c.claim) " (" (c.locator) ")" }
                @if let Some(note) = &c.note { p.note { (note) } }
                p.status {
                    @match c.status {
                        CitationStatus::Verified => {
                            "Verified by " (c.verified_by.as_deref().unwrap_or("an editor"))
                            @if let Some(at) = &c.verified_at { " on " (date(at)) }
                        }
                        CitationStatus::Retracted => {
                            "Retracted"
                            @if let Some(at) = &c.retracted_at { " on " (date(at)) }
                            @if let Some(reason) = &c.retraction_reason { ": " (reason) }
                        }
                        CitationStatus::Attached => { "Attached by " (c.attached_by) " on " (date(&c.attached_at)) }
                    }
                }
    }
}

fn verified_section(list: &VerifiedSourceList) -> Markup {
    html! {
        section aria-labelledby="sources-heading" {
            h2 #sources-heading {
                (list.citations.len()) @if list.citations.len() == 1 { " source" } @else { " sources" }
            }
            p.proof #sourceledger-status data-state="unchecked" role="status" aria-live="polite" {
                "Each fact below is proven by the newsroom's ledger at size " (list.tree_size) ". "
                "Your browser checks the proofs when JavaScript is on."
            }
            ol.sources { @for item in &list.citations { (citation_item(item, list.replay.as_deref())) } }
        }
        @if !list.retracted.is_empty() {
            section aria-labelledby="retracted-heading" {
                h2 #retracted-heading { "Retracted citations" }
                ol.sources.retracted { @for item in &list.retracted { (citation_item(item, list.replay.as_deref())) } }
            }
        }
    }
}
