//! The transparency page (`GET /transparency`), rendered on the server from
//! the figures: no script, one `h1`, a table per group of figures with its
//! caption, every text escaped by maud. The figures' JSON rides along as the
//! page's data and a schema.org `Organization` as JSON-LD, both with `<`
//! written as `\u003c`.

use maud::{DOCTYPE, Markup, html};
use serde_json::json;

use super::source_page::data_block;
use super::transparency::Figures;

fn date(text: &str) -> &str {
    text.get(..10).unwrap_or(text)
}

fn percent(share: f64) -> String {
    format!("{:.1} %", share * 100.0)
}

/// A table row: what is counted, and how many.
fn row(label: &str, n: impl std::fmt::Display) -> Markup {
    html! { tr { th scope="row" { (label) } td { (n) } } }
}

pub fn render(figures: &Figures, json: &[u8]) -> String {
    let page = format!("{}/transparency", figures.newsroom.url);
    let organization = json!({
        "@context": "https://schema.org",
        "@type": "Organization",
        "name": figures.newsroom.name,
        "url": figures.newsroom.url,
        "correctionsPolicy": page,
        "verificationFactCheckingPolicy": page,
    });
    let organization = serde_json::to_vec(&organization).unwrap_or_default();
    let s = &figures.sources;
    let checkpoint = &figures.counted.checkpoint;
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "Transparency: " (figures.newsroom.name) }
                link rel="stylesheet" href="/assets/sources.css";
                link rel="alternate" type="application/json" href="/v1/transparency";
                script type="application/ld+json" { (data_block(&organization)) }
                script type="application/json" id="sourceledger-transparency" { (data_block(json)) }
            }
            body {
                header {
                    p.kicker { (figures.newsroom.name) }
                    h1 { "What we cite, and how you can check it" }
                    p {
                        "Every figure below is counted from the entries of our public, append-only log, "
                        "the first " (figures.counted.entries) " of them, which checkpoint "
                        (checkpoint.tree_size) ", signed " (date(&checkpoint.signed_at)) ", covers. "
                        "Nothing of an article counts before it is published."
                    }
                }
                main {
                    section aria-labelledby="articles-heading" {
                        h2 #articles-heading { "Articles" }
                        table.figures {
                            caption { "Articles and their corrections" }
                            tbody {
                                (row("Published", figures.articles.published))
                                (row("Corrected after publication", figures.articles.corrected))
                                (row("Retracted", figures.articles.retracted))
                            }
                        }
                    }
                    section aria-labelledby="sources-heading" {
                        h2 #sources-heading { "Sources" }
                        table.figures {
                            caption { "Sources our published articles cite" }
                            tbody {
                                (row("Sources cited", s.cited))
                                (row("With an archived copy", format!("{} ({})", s.archived, percent(s.archived_share))))
                                (row("Links online as archived", s.links.live))
                                (row("Links online but changed", s.links.changed))
                                (row("Links gone", s.links.gone))
                                (row("Links that could not be checked", s.links.error))
                                (row("Links not checked yet", s.links.unchecked))
                                (row("Sealed sources held", figures.sealed_sources.held))
                                (row("Sealed sources since disclosed", figures.sealed_sources.disclosed))
                            }
                        }
                        table.figures {
                            caption { "Citations in published articles" }
                            tbody {
                                (row("Live citations", figures.citations.live))
                                (row("Citations retracted", figures.citations.retracted))
                                (row("Of which after publication", figures.citations.retracted_after_publication))
                            }
                        }
                    }
                    section aria-labelledby="corrections-heading" {
                        h2 #corrections-heading { "Corrections" }
                        @if figures.corrections.is_empty() {
                            p { "No citation has been retracted from a published article." }
                        } @else {
                            ul.corrections {
                                @for c in &figures.corrections {
                                    li {
                                        time datetime=(c.retracted_at) { (date(&c.retracted_at)) }
                                        ": a citation retracted from "
                                        a href=(c.article_url) { (c.article_title) }
                                        @if let Some(reason) = &c.reason { " (" (reason) ")" }
                                        span.meta { " · log entry " (c.ledger_index) }
                                    }
                                }
                            }
                        }
                    }
                    section aria-labelledby="retractions-heading" {
                        h2 #retractions-heading { "Retractions" }
                        @if figures.retractions.is_empty() {
                            p { "No article has been retracted." }
                        } @else {
                            ul.corrections {
                                @for r in &figures.retractions {
                                    li {
                                        time datetime=(r.retracted_at) { (date(&r.retracted_at)) }
                                        ": "
                                        a href=(r.url) { (r.title) }
                                        " retracted"
                                        @if let Some(reason) = &r.reason { " (" (reason) ")" }
                                        span.meta { " · log entry " (r.ledger_index) }
                                    }
                                }
                            }
                        }
                    }
                    section aria-labelledby="log-heading" {
                        h2 #log-heading { "The log" }
                        p { "Checkpoint " (checkpoint.tree_size) ", signed " (checkpoint.signed_at) ":" }
                        pre.note { (checkpoint.note) }
                        @match &figures.witnessed {
                            Some(w) => p {
                                "Checkpoint " (w.tree_size) " is cosigned by "
                                @for (i, c) in w.witnesses.iter().enumerate() {
                                    @if i > 0 { ", " }
                                    (c.name) " (" (date(&c.cosigned_at)) ")"
                                }
                                "."
                            },
                            None => p { "No witness has cosigned a checkpoint yet." },
                        }
                        @match &figures.time_stamped {
                            Some(t) => p {
                                "Checkpoint " (t.tree_size) " carries a trusted time stamp of "
                                (t.gen_time) " ("
                                a href=(t.url) { "the RFC 3161 token" }
                                ")."
                            },
                            None => p { "No checkpoint carries a trusted time stamp yet." },
                        }
                    }
                    section aria-labelledby="verify-heading" {
                        h2 #verify-heading { "Check it yourself" }
                        p { "Our log is named " code { (figures.verify.origin) } " and signed with this key:" }
                        pre.note { (figures.verify.vkey) }
                        p {
                            "The latest checkpoint is at " a href=(figures.verify.checkpoint_url) { (figures.verify.checkpoint_url) }
                            " and the log's tiles under " code { (figures.verify.tiles_url) "/tile/" } ". "
                            "With a subscriber's token, this command re-hashes every entry and recomputes the signed root:"
                        }
                        pre.note { code { (figures.verify.command) } }
                        p { "These figures as data: " a href="/v1/transparency" { "JSON" } "." }
                    }
                }
            }
        }
    };
    markup.into_string()
}
