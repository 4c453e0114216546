//! The desk's pages. maud escapes every text it is given; every field has a
//! visible label and every button says what it does (SPEC "The editor's
//! desk"); landmarks (`header`, `nav`, `main`) and one `h1` a page.

use maud::{DOCTYPE, Markup, html};

use crate::auth::session::Session;
use crate::newsroom::articles::Article;
use crate::newsroom::citations::Citation;

/// What a refused new-article form held.
pub struct ArticleDraft {
    pub slug: String,
    pub title: String,
    pub url: String,
    pub language: String,
    pub authors: String,
}

fn layout(title: &str, session: Option<&Session>, main: Markup) -> String {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="referrer" content="no-referrer";
                title { (title) " · sourceledger desk" }
                link rel="stylesheet" href="/desk/desk.css";
            }
            body {
                header class="bar" {
                    a class="brand" href="/desk" { "sourceledger desk" }
                    @if let Some(session) = session {
                        nav aria-label="Desk" {
                            a href="/desk" { "Articles" }
                        }
                        form class="signout" method="post" action="/desk/logout" {
                            input type="hidden" name="csrf" value=(session.csrf());
                            span class="who" { (session.caller.name) " (" (session.caller.role) ")" }
                            button type="submit" { "Sign out" }
                        }
                    }
                }
                main id="main" { (main) }
            }
        }
    }
    .into_string()
}

/// The sign-in page, with `problem` when the last try failed.
pub fn login(token: &str, problem: Option<&str>) -> String {
    layout(
        "Sign in",
        None,
        html! {
            h1 { "Sign in to the desk" }
            @if let Some(problem) = problem {
                p class="problem" role="alert" { (problem) }
            }
            form method="post" action="/desk/login" class="card" {
                input type="hidden" name="csrf" value=(token);
                label for="api_key" { "API key" }
                input id="api_key" name="api_key" type="password" autocomplete="off" required;
                button type="submit" { "Sign in" }
            }
        },
    )
}

/// An error, in words.
pub fn error(session: Option<&Session>, status: u16, detail: &str) -> String {
    layout(
        "Something went wrong",
        session,
        html! {
            h1 { "Something went wrong" }
            p class="problem" role="alert" { (detail) " (" (status) ")" }
            p { a href="/desk" { "Back to the articles" } }
        },
    )
}

fn field(id: &str, label: &str, kind: &str, value: &str, hint: Option<&str>) -> Markup {
    html! {
        div class="field" {
            label for=(id) { (label) }
            input id=(id) name=(id) type=(kind) value=(value) required
                aria-describedby=[hint.map(|_| format!("{id}-hint"))];
            @if let Some(hint) = hint {
                small id=(format!("{id}-hint")) { (hint) }
            }
        }
    }
}

/// The articles, the search and (for those who may write) a new article's
/// form; `refused` is a new-article form sent back with what is wrong.
pub fn home(
    session: &Session,
    q: &str,
    articles: &[Article],
    may_write: bool,
    refused: Option<(&str, &ArticleDraft)>,
) -> String {
    let empty = ArticleDraft {
        slug: String::new(),
        title: String::new(),
        url: String::new(),
        language: "en".into(),
        authors: String::new(),
    };
    let draft = refused.map(|(_, d)| d).unwrap_or(&empty);
    layout(
        "Articles",
        Some(session),
        html! {
            h1 { "Articles" }
            form method="get" action="/desk" role="search" class="search" {
                label for="q" { "Search by title or slug" }
                input id="q" name="q" type="search" value=(q);
                button type="submit" { "Search" }
            }
            @if articles.is_empty() {
                p { "No articles" @if !q.is_empty() { " match “" (q) "”" } "." }
            } @else {
                table class="articles" {
                    thead { tr { th scope="col" { "Title" } th scope="col" { "Slug" } th scope="col" { "State" } th scope="col" { "Changed" } } }
                    tbody {
                        @for a in articles {
                            tr {
                                td { a href=(format!("/desk/articles/{}", a.slug.as_str())) { (a.title) } }
                                td { code { (a.slug.as_str()) } }
                                td { span class=(format!("state {}", a.status.as_str())) { (a.status.as_str()) } }
                                td { time datetime=(&*a.updated_at) { (a.updated_at.get(..10).unwrap_or_default()) } }
                            }
                        }
                    }
                }
            }
            @if may_write {
                section aria-labelledby="new-article" class="card" {
                    h2 id="new-article" { "New article" }
                    @if let Some((problem, _)) = refused {
                        p class="problem" role="alert" { (problem) }
                    }
                    form method="post" action="/desk/articles" {
                        input type="hidden" name="csrf" value=(session.csrf());
                        (field("title", "Title", "text", &draft.title, None))
                        (field("slug", "Slug", "text", &draft.slug, Some("Lowercase letters, digits and single dashes; it names the article for good.")))
                        (field("url", "Article URL", "url", &draft.url, Some("Where readers will find it.")))
                        (field("language", "Language", "text", &draft.language, Some("A language tag, such as en or pt-BR.")))
                        div class="field" {
                            label for="authors" { "Authors" }
                            textarea id="authors" name="authors" rows="2" required aria-describedby="authors-hint" { (draft.authors) }
                            small id="authors-hint" { "One a line." }
                        }
                        button type="submit" { "Create article" }
                    }
                }
            }
        },
    )
}

/// One article and its citations, in the order they were attached.
pub fn article(session: &Session, article: &Article, cited: &[Citation]) -> String {
    layout(
        &article.title,
        Some(session),
        html! {
            p class="crumbs" { a href="/desk" { "Articles" } " › " code { (article.slug.as_str()) } }
            h1 { (article.title) }
            dl class="facts" {
                dt { "State" } dd { span class=(format!("state {}", article.status.as_str())) { (article.status.as_str()) } }
                dt { "Article URL" } dd { a href=(article.url.as_str()) rel="noopener noreferrer" { (article.url.as_str()) } }
                dt { "Language" } dd { (article.language.as_str()) }
                dt { "Authors" } dd { (article.authors.0.join(", ")) }
            }
            h2 { "Citations" }
            @if cited.is_empty() {
                p { "No citations yet." }
            } @else {
                ol class="citations" {
                    @for c in cited {
                        li {
                            p class="claim" { (c.claim) }
                            @if let Some(quote) = &c.quote {
                                blockquote { (quote) }
                            }
                            p class="meta" {
                                span class=(format!("state {}", c.status.as_str())) { (c.status.as_str()) }
                                " · " (c.locator)
                                " · source " code { (c.source_id) } " v" (c.source_version)
                            }
                            @if let Some(reason) = &c.retraction_reason {
                                p class="reason" { "Retracted: " (reason) }
                            }
                        }
                    }
                }
            }
        },
    )
}
