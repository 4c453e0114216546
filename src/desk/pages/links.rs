//! Archived copies and links on the desk: a source's captures and link
//! history, and the drift queue.

use maud::{Markup, html};

use super::{csrf, layout};
use crate::archive::drift::{Drifting, LinkEvent};
use crate::auth::session::Session;
use crate::newsroom::follow_up::FailedCapture;
use crate::newsroom::sources::SourceVersion;

/// The desk's address of an archived copy.
pub fn copy_url(sha256: &str) -> String {
    format!("/desk/snapshots/{sha256}")
}

/// A "Capture" button for source `id`, coming back to `back`.
pub fn capture_button(session: &Session, id: &str, title: &str, back: &str) -> Markup {
    html! {
        form class="inline" method="post" action=(format!("/desk/sources/{id}/capture")) {
            (csrf(session))
            input type="hidden" name="back" value=(back);
            button type="submit" aria-label=(format!("Capture: {title}")) { "Capture" }
        }
    }
}

/// A source's archive: capture now, upload a file, and its link history.
pub fn archive(
    session: &Session,
    latest: &SourceVersion,
    history: &[LinkEvent],
    may_write: bool,
) -> Markup {
    let back = format!("/desk/sources/{}", latest.id);
    html! {
        h2 { "Archived copy" }
        @if let Some(sha) = &latest.snapshot_sha256 {
            p {
                a href=(copy_url(sha.as_str())) { "The archived copy" }
                @if let Some(at) = &latest.captured_at { " of " time datetime=(&**at) { (&**at) } }
                " · " a href=(format!("{}?format=warc", copy_url(sha.as_str()))) { "its WARC" }
            }
        } @else {
            p { "Not archived yet." }
        }
        @if may_write {
            div class="actions" {
                (capture_button(session, &latest.id, &latest.title, &back))
                form class="inline upload" method="post" enctype="multipart/form-data"
                    action=(format!("/desk/sources/{}/upload?csrf={}", latest.id, session.csrf())) {
                    label for="file" { "File" }
                    input id="file" name="file" type="file" required;
                    button type="submit" { "Upload" }
                }
            }
        }
        h2 { "Link history" }
        @if history.is_empty() {
            p { "The link monitor has not recorded a change of this link." }
        } @else {
            table class="articles" {
                thead { tr { th scope="col" { "When" } th scope="col" { "State" } th scope="col" { "What it found" } th scope="col" { "Entry" } } }
                tbody {
                    @for e in history {
                        tr {
                            td { time datetime=(&*e.at) { (&*e.at) } }
                            td { span class=(format!("state {}", e.status)) { (e.status) } }
                            td { (e.detail.as_deref().unwrap_or("")) br; small { (e.url) } }
                            td { (e.index) }
                        }
                    }
                }
            }
        }
    }
}

/// The drift queue: cited links that changed or went away, newest first.
pub fn drift(session: &Session, queue: &[Drifting], failed: &[FailedCapture]) -> String {
    layout(
        "Drift queue",
        Some(session),
        html! {
            h1 { "Drift queue" }
            p { "Cited links the monitor found changed or gone, newest first, until someone marks them reviewed. "
                "Capture the page again, replace the citation on its article, or mark it reviewed." }
            @if !failed.is_empty() {
                h2 id="failed-captures" { "Captures that failed" }
                p { "Cited in a published article, with no archived copy: capturing on publication failed after its tries. Capture it again, or upload a copy on the source's page." }
                ol class="citations" {
                    @for f in failed {
                        li {
                            p class="meta" {
                                span class="state gone" { "capture failed" }
                                " · " (f.attempts) @if f.attempts == 1 { " try" } @else { " tries" }
                                " · last " time datetime=(f.failed_at) { (f.failed_at) }
                            }
                            p { a href=(format!("/desk/sources/{}", f.source_id)) { (f.url) } }
                            p class="reason" { (f.last_error) }
                            p { "In " a href=(format!("/desk/articles/{}", f.article_slug)) { (f.article_slug) } }
                            div class="actions" {
                                (capture_button(session, &f.source_id, &f.url, "/desk/drift"))
                            }
                        }
                    }
                }
                h2 { "Changed or gone" }
            }
            @if queue.is_empty() {
                p { "Nothing to review." }
            } @else {
                ol class="citations" {
                    @for d in queue {
                        li {
                            p class="meta" {
                                span class=(format!("state {}", d.link_status.as_str())) { (d.link_status.as_str()) }
                                " since " time datetime=(&*d.changed_at) { (&*d.changed_at) }
                                @if let Some(detail) = &d.detail { " · " (detail) }
                            }
                            p { a href=(format!("/desk/sources/{}", d.source_id)) { (d.title) } br; small { (d.url) } }
                            p class="claim" { "Cited for: " (d.claim) }
                            p { "In " a href=(format!("/desk/articles/{}#c-{}", d.article_slug, d.citation_id)) { (d.article_title) } }
                            p {
                                @if let Some(sha) = &d.snapshot_sha256 {
                                    a href=(copy_url(sha)) { "Archived copy" }
                                } @else {
                                    "No archived copy."
                                }
                            }
                            div class="actions" {
                                (capture_button(session, &d.source_id, &d.title, "/desk/drift"))
                                a class="button" href=(format!("/desk/articles/{}#c-{}", d.article_slug, d.citation_id)) { "Replace the citation" }
                                form class="inline" method="post" action="/desk/drift/review" {
                                    (csrf(session))
                                    input type="hidden" name="source_id" value=(d.source_id);
                                    input type="hidden" name="link_entry" value=(d.link_entry);
                                    button type="submit" aria-label=(format!("Mark reviewed: {}", d.title)) { "Mark reviewed" }
                                }
                            }
                        }
                    }
                }
            }
        },
    )
}
