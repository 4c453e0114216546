//! Sealed sources on the desk: shown as sealed, their record to editors and
//! admins only, disclosed by an editor.

use maud::{Markup, html};

use super::{csrf, layout};
use crate::auth::session::Session;
use crate::newsroom::sealed::{SealedSource, sealed_title};

/// One sealed source.
pub fn page(session: &Session, sealed: &SealedSource, may_disclose: bool) -> String {
    let title = sealed_title(&sealed.sealed_at);
    layout(
        &title,
        Some(session),
        html! {
            p class="crumbs" { a href="/desk/sources" { "Sources" } }
            h1 { (title) }
            dl class="facts" {
                dt { "Kind" } dd { (sealed.kind.replace('_', " ")) }
                dt { "Sealed by" } dd { (sealed.sealed_by) }
                dt { "Entry" } dd { (sealed.ledger_index) }
                dt { "Commitment" } dd { code { (sealed.commitment) } }
                @if let Some(at) = &sealed.disclosed_at {
                    dt { "Disclosed" } dd { (&**at) " by " (sealed.disclosed_by.as_deref().unwrap_or("")) " · entry " (sealed.disclosure_index.unwrap_or_default()) }
                }
            }
            @if let Some(record) = &sealed.record {
                h2 { @if sealed.disclosed_at.is_some() { "The record, as disclosed" } @else { "The record (editors and admins only)" } }
                (record_facts(record))
            } @else {
                p { "What it is stays sealed: editors and admins may read it." }
            }
            @if may_disclose && sealed.disclosed_at.is_none() {
                form method="post" action=(format!("/desk/sources/{}/disclose", sealed.id)) data-confirm="Disclose this source? Its record goes into the ledger for good." {
                    (csrf(session))
                    p { "Disclosing puts the record and its salt in the ledger for good: anyone can then check them against the commitment." }
                    button type="submit" { "Disclose" }
                }
            }
        },
    )
}

/// A record's fields, as text.
fn record_facts(record: &serde_json::Value) -> Markup {
    html! {
        dl class="facts" {
            @if let Some(fields) = record.as_object() {
                @for (name, value) in fields {
                    dt { (name) }
                    dd { @match value.as_str() { Some(text) => (text), None => (value.to_string()) } }
                }
            }
        }
    }
}

/// The sealed sources, on the sources page.
pub fn listed(sealed: &[SealedSource]) -> Markup {
    html! {
        @if !sealed.is_empty() {
            h2 { "Sealed sources" }
            ul {
                @for s in sealed {
                    li {
                        a href=(format!("/desk/sources/{}", s.id)) { (sealed_title(&s.sealed_at)) }
                        " · " (s.kind.replace('_', " "))
                        @if s.disclosed_at.is_some() { " · disclosed" }
                    }
                }
            }
        }
    }
}
