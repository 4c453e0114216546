//! The desk's pages. maud escapes every text it is given; every field has a
//! visible label and every button says what it does (SPEC "The editor's
//! desk"); landmarks (`header`, `nav`, `main`) and one `h1` a page.

pub mod admin;
pub mod links;
pub mod sealed;

use std::collections::HashMap;

use maud::{DOCTYPE, Markup, html};

use crate::archive::drift::{CitedLink, LinkEvent};
use crate::auth::Role;
use crate::auth::session::Session;
use crate::newsroom::articles::{Article, ArticleStatus};
use crate::newsroom::citations::Citation;
use crate::newsroom::proposals::{Acceptance, ProposalView};
use crate::newsroom::sources::{SourceKind, SourceVersion};

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
                script src="/desk/desk.js" defer {}
            }
            body {
                a class="skip" href="#main" { "Skip to the content" }
                header class="bar" {
                    a class="brand" href="/desk" { "sourceledger desk" }
                    @if let Some(session) = session {
                        nav aria-label="Desk" {
                            a href="/desk" { "Articles" }
                            " "
                            a href="/desk/sources" { "Sources" }
                            " "
                            a href="/desk/drift" { "Drift queue" }
                            @if session.caller.role == Role::Admin {
                                " "
                                a href="/desk/keys" { "API keys" }
                                " "
                                a href="/desk/platforms" { "Platforms" }
                            }
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

/// The sign-in page, with `problem` when the last try failed, and a way to
/// sign in through the newsroom's provider when `sso` (a link, not a form:
/// the page's `form-action 'self'` would stop a form's redirect to the
/// provider; it carries the form's token, checked like the form's).
pub fn login(token: &str, problem: Option<&str>, sso: bool) -> String {
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
            @if sso {
                p class="card" {
                    a class="button" href=(format!("/desk/sso/start?csrf={token}")) { "Sign in with SSO" }
                }
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

/// A list page's search, then its table (`columns` over `rows`), or that
/// nothing matched.
fn listing(
    action: &str,
    (label, q, narrow): (&str, &str, Markup),
    what: &str,
    columns: &[&str],
    rows: Option<Markup>,
) -> Markup {
    html! {
        form method="get" action=(action) role="search" class="search" {
            label for="q" { (label) }
            input id="q" name="q" type="search" value=(q);
            (narrow)
            button type="submit" { "Search" }
        }
        @if let Some(rows) = rows {
            table class="articles" {
                thead { tr { @for c in columns { th scope="col" { (c) } } } }
                tbody { (rows) }
            }
        } @else {
            p { "No " (what) @if !q.is_empty() { " match “" (q) "”" } "." }
        }
    }
}

/// The articles list's choice of state.
fn state_choice(chosen: Option<ArticleStatus>) -> Markup {
    html! {
        label for="state" { "State" }
        select id="state" name="state" {
            option value="" selected[chosen.is_none()] { "any" }
            @for status in ArticleStatus::ALL {
                option value=(status.as_str()) selected[chosen == Some(*status)] { (status.as_str()) }
            }
        }
    }
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

/// A field that may be left empty, with its hint.
fn optional_field(id: &str, label: &str, value: &str, hint: &str) -> Markup {
    html! {
        div class="field" {
            label for=(id) { (label) }
            input id=(id) name=(id) type="text" value=(value) aria-describedby=(format!("{id}-hint"));
            small id=(format!("{id}-hint")) { (hint) }
        }
    }
}

/// The articles list: what was searched for and what was found.
pub struct ArticleList<'a> {
    pub q: &'a str,
    pub status: Option<ArticleStatus>,
    pub found: &'a [Article],
}

/// The articles, the search and (for those who may write) a new article's
/// form; `refused` is a new-article form sent back with what is wrong.
pub fn home(
    session: &Session,
    list: &ArticleList,
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
            (listing("/desk", ("Search by title or slug", list.q, state_choice(list.status)), "articles", &["Title", "Slug", "State", "Changed"],
                (!list.found.is_empty()).then(|| html! {
                    @for a in list.found {
                        tr {
                            td { a href=(format!("/desk/articles/{}", a.slug.as_str())) { (a.title) } }
                            td { code { (a.slug.as_str()) } }
                            td { span class=(format!("state {}", a.status.as_str())) { (a.status.as_str()) } }
                            td { time datetime=(&*a.updated_at) { (a.updated_at.get(..10).unwrap_or_default()) } }
                        }
                    }
                })))
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

/// What the article page shows, and which of its forms.
pub struct ArticleView<'a> {
    pub article: &'a Article,
    pub cited: &'a [Citation],
    /// A source just recorded, offered for citing.
    pub offered: Option<&'a Offered>,
    pub may_write: bool,
    pub may_edit: bool,
    /// Why the last form was refused.
    pub problem: Option<&'a str>,
    /// What was typed to find an existing source, and what matched.
    pub find: (&'a str, &'a [SourceVersion]),
    /// Each citation's archived copy and link state, by citation id.
    pub links: &'a HashMap<String, CitedLink>,
    /// Where readers see the list, and the newsroom's verifier key, for the
    /// panel's snippet.
    pub reader: ReaderLinks<'a>,
    /// The article's links proposed as citations, still open.
    pub proposals: &'a [ProposalView],
    /// The "Record a source" form as a lookup filled it.
    pub draft: Option<&'a SourceDraft>,
}

/// The "Record a source" form's values, as typed or looked up.
#[derive(Debug, Clone, Default)]
pub struct SourceDraft {
    pub url: String,
    pub title: String,
    pub publisher: String,
    pub kind: String,
    pub language: String,
    /// When it was published (a date or an RFC 3339 time), if known.
    pub published_at: String,
    pub doi: String,
    /// Whether a lookup read the page.
    pub found: bool,
}

/// A source offered for citing: open, or sealed (no URL, no publisher).
pub struct Offered {
    pub id: String,
    pub title: String,
    pub publisher: String,
    pub url: Option<String>,
}

impl From<SourceVersion> for Offered {
    fn from(v: SourceVersion) -> Self {
        Self {
            id: v.id,
            title: v.title,
            publisher: v.publisher,
            url: Some(v.url.into_string()),
        }
    }
}

/// Where the article's sources reach readers.
pub struct ReaderLinks<'a> {
    pub public_url: &'a str,
    pub vkey: &'a str,
}

fn csrf(session: &Session) -> Markup {
    html! { input type="hidden" name="csrf" value=(session.csrf()); }
}

/// One article, its citations in the order they were attached, and the
/// forms the session's role may use.
pub fn article(session: &Session, view: &ArticleView) -> String {
    let article = view.article;
    let slug = article.slug.as_str();
    let draft = article.status.as_str() == "draft";
    layout(
        &article.title,
        Some(session),
        html! {
            p class="crumbs" { a href="/desk" { "Articles" } " › " code { (slug) } }
            h1 { (article.title) }
            @if let Some(problem) = view.problem {
                p class="problem" role="alert" { (problem) }
            }
            dl class="facts" {
                dt { "State" } dd { span class=(format!("state {}", article.status.as_str())) { (article.status.as_str()) } }
                dt { "Article URL" } dd { a href=(article.url.as_str()) rel="noopener noreferrer" { (article.url.as_str()) } }
                dt { "Language" } dd { (article.language.as_str()) }
                dt { "Authors" } dd { (article.authors.0.join(", ")) }
            }
            @if view.may_edit && draft {
                form method="post" action=(format!("/desk/articles/{slug}/publish")) {
                    (csrf(session))
                    button type="submit" { "Publish" }
                }
            }
            h2 { "Citations" }
            @if view.cited.is_empty() {
                p { "No citations yet." }
            } @else {
                ol class="citations" {
                    @for c in view.cited {
                        li id=(format!("c-{}", c.id)) {
                            p class="claim" { (c.claim) }
                            @if let Some(quote) = &c.quote {
                                blockquote { (quote) }
                                @if let Some(status) = &c.quote_status {
                                    p class="meta" { "quote " span class=(format!("state {status}")) { (status.replace('_', " ")) } " in the archived copy" }
                                }
                            }
                            p class="meta" {
                                span class=(format!("state {}", c.status.as_str())) { (c.status.as_str()) }
                                " · " (c.locator)
                                " · " a href=(format!("/desk/sources/{}", c.source_id)) { "source v" (c.source_version) }
                                @if let Some(link) = view.links.get(&c.id) {
                                    " · link " span class=(format!("state {}", link.link_status.as_deref().unwrap_or("unchecked"))) { (link.link_status.as_deref().unwrap_or("unchecked")) }
                                    @if let Some(sha) = &link.snapshot_sha256 {
                                        " · " a href=(links::copy_url(sha)) { "archived copy" }
                                    } @else {
                                        " · not archived"
                                    }
                                }
                            }
                            @if let Some(reason) = &c.retraction_reason {
                                p class="reason" { "Retracted: " (reason) }
                            }
                            @if c.status.as_str() == "attached" && view.may_edit {
                                form class="inline" method="post" action=(format!("/desk/citations/{}/verify", c.id)) {
                                    (csrf(session))
                                    button type="submit" aria-label=(format!("Verify: {}", c.claim)) { "Verify" }
                                }
                            }
                            @if c.status.as_str() != "retracted" && (view.may_edit || (view.may_write && c.attached_by_key == session.caller.subject_id())) {
                                form class="inline" method="post" action=(format!("/desk/citations/{}/retract", c.id)) {
                                    (csrf(session))
                                    label for=(format!("reason-{}", c.id)) { "Reason" }
                                    input id=(format!("reason-{}", c.id)) name="reason" type="text" required;
                                    button type="submit" aria-label=(format!("Retract: {}", c.claim)) { "Retract" }
                                }
                            }
                        }
                    }
                }
            }
            (for_readers(slug, &view.reader))
            @if view.may_write {
                @if let Some(source) = view.offered {
                    section class="card" aria-labelledby="cite" {
                        h2 id="cite" { "Cite “" (source.title) "”" }
                        p class="meta" {
                            (source.publisher)
                            @if let Some(url) = &source.url { " · " a href=(url) rel="noopener noreferrer" { (url) } }
                        }
                        form method="post" action=(format!("/desk/articles/{slug}/citations")) {
                            (csrf(session))
                            input type="hidden" name="source_id" value=(source.id);
                            div class="field" {
                                label for="claim" { "Claim" }
                                textarea id="claim" name="claim" rows="2" required aria-describedby="claim-hint" {}
                                small id="claim-hint" { "The article's words that this source supports." }
                            }
                            div class="field" {
                                label for="quote" { "Quote" }
                                textarea id="quote" name="quote" rows="2" aria-describedby="quote-hint" {}
                                small id="quote-hint" { "The source's own words, if any." }
                            }
                            (field("locator", "Locator", "text", "", Some("Where in the article, such as paragraph 4.")))
                            button type="submit" { "Cite" }
                        }
                    }
                }
                (proposed(session, article, view.proposals))
                (existing(slug, view.find))
                section class="card" aria-labelledby="record" {
                    h2 id="record" { "Record a source" }
                    @let draft = view.draft.cloned().unwrap_or_default();
                    @if draft.found {
                        p class="meta" role="status" { "Filled in from the page's own metadata: check it before recording." }
                    }
                    form method="post" action=(format!("/desk/articles/{slug}/sources")) {
                        (csrf(session))
                        div class="field" {
                            label for="url" { "URL" }
                            input id="url" name="url" type="url" value=(draft.url) required aria-describedby="url-hint";
                            small id="url-hint" { "Then “Look up” fills in the title, publisher and language from the page." }
                        }
                        button type="submit" class="secondary" formaction=(format!("/desk/articles/{slug}/lookup")) formnovalidate { "Look up" }
                        (field("title", "Title", "text", &draft.title, None))
                        (field("publisher", "Publisher", "text", &draft.publisher, None))
                        div class="field" {
                            label for="kind" { "Kind" }
                            select id="kind" name="kind" {
                                @for kind in SourceKind::ALL {
                                    option value=(kind.as_str()) selected[draft.kind == kind.as_str()] { (kind.as_str().replace('_', " ")) }
                                }
                            }
                        }
                        (field("language", "Language", "text", if draft.language.is_empty() { article.language.as_str() } else { &draft.language }, None))
                        (optional_field("published_at", "Published", &draft.published_at, "A date (2026-11-23) or a time, if known."))
                        (optional_field("doi", "DOI", &draft.doi, "Such as 10.1000/xyz123, if it has one."))
                        div class="check" {
                            input id="sealed" name="sealed" type="checkbox" aria-describedby="sealed-hint";
                            label for="sealed" { "Sealed" }
                            small id="sealed-hint" { "A source that must not be named yet: the ledger keeps only a commitment, disclosed later by an editor." }
                        }
                        button type="submit" { "Record source" }
                    }
                }
            }
        },
    )
}

/// The article's links proposed as citations: each accepted as it stands
/// or edited first, or dropped; all accepted at once; and the form that
/// reads the article's text for them.
fn proposed(session: &Session, article: &Article, open: &[ProposalView]) -> Markup {
    let slug = article.slug.as_str();
    html! {
        section class="card" aria-labelledby="proposals" {
            h2 id="proposals" { "Sources from the article" }
            @if open.is_empty() {
                p { "No proposals. Paste the article (or give its URL) and its links are proposed as citations, each with the sentence around it; nothing is recorded until you accept it." }
            } @else {
                p { (open.len()) " links of the article, proposed as citations. Accepting one records its source (when new) and cites it; nothing is recorded until you do." }
                form method="post" action=(format!("/desk/articles/{slug}/proposals/accept-all")) {
                    (csrf(session))
                    button type="submit" { "Accept all " (open.len()) }
                }
                ol class="proposals" {
                    @for (i, p) in open.iter().enumerate() {
                        @let as_proposed = Acceptance::as_proposed(p, article.language.as_str());
                        li id=(format!("p-{i}")) {
                            p class="claim" { (p.claim) }
                            p class="meta" {
                                a href=(p.url) rel="noopener noreferrer" { (p.url) }
                                @if !p.anchor_text.is_empty() { " · “" (p.anchor_text) "”" }
                                " · "
                                @if let Some(id) = &p.source_id {
                                    a href=(format!("/desk/sources/{id}")) { "recorded already" }
                                } @else {
                                    "new source"
                                }
                            }
                            form method="post" action=(format!("/desk/articles/{slug}/proposals/accept")) {
                                (csrf(session))
                                input type="hidden" name="url" value=(p.url);
                                details {
                                    summary { "Edit before accepting" }
                                    div class="field" {
                                        label for=(format!("p-{i}-claim")) { "Claim" }
                                        textarea id=(format!("p-{i}-claim")) name="claim" rows="2" required { (p.claim) }
                                    }
                                    div class="field" {
                                        label for=(format!("p-{i}-quote")) { "Quote" }
                                        textarea id=(format!("p-{i}-quote")) name="quote" rows="2" {}
                                    }
                                    (numbered_field(i, "locator", "Locator", &as_proposed.locator))
                                    @if p.source_id.is_none() {
                                        (numbered_field(i, "title", "Title", &as_proposed.title))
                                        (numbered_field(i, "publisher", "Publisher", &as_proposed.publisher))
                                        div class="field" {
                                            label for=(format!("p-{i}-kind")) { "Kind" }
                                            select id=(format!("p-{i}-kind")) name="kind" {
                                                @for kind in SourceKind::ALL {
                                                    option value=(kind.as_str()) selected[*kind == as_proposed.kind] { (kind.as_str().replace('_', " ")) }
                                                }
                                            }
                                        }
                                        (numbered_field(i, "language", "Language", &as_proposed.language))
                                    } @else {
                                        input type="hidden" name="title" value=(as_proposed.title);
                                        input type="hidden" name="publisher" value=(as_proposed.publisher);
                                        input type="hidden" name="kind" value=(as_proposed.kind.as_str());
                                        input type="hidden" name="language" value=(as_proposed.language);
                                    }
                                }
                                button type="submit" aria-label=(format!("Accept: {}", p.url)) { "Accept" }
                                " "
                                button type="submit" class="secondary" formaction=(format!("/desk/articles/{slug}/proposals/drop")) formnovalidate aria-label=(format!("Drop: {}", p.url)) { "Drop" }
                            }
                        }
                    }
                }
            }
            details open[open.is_empty()] {
                summary { "Read the article's links" }
                form method="post" action=(format!("/desk/articles/{slug}/extract")) {
                    (csrf(session))
                    div class="field" {
                        label for="extract-text" { "The article's text" }
                        textarea id="extract-text" name="text" rows="6" aria-describedby="extract-text-hint" {}
                        small id="extract-text-hint" { "Pasted as HTML (from the CMS's HTML view) or Markdown." }
                    }
                    div class="field" {
                        label for="extract-format" { "It is" }
                        select id="extract-format" name="format" {
                            option value="html" { "HTML" }
                            option value="markdown" { "Markdown" }
                        }
                    }
                    div class="field" {
                        label for="extract-url" { "Or its URL" }
                        input id="extract-url" name="url" type="url" value="" aria-describedby="extract-url-hint";
                        small id="extract-url-hint" { "A page to fetch instead (a preview link, say)." }
                    }
                    button type="submit" { "Read links" }
                }
            }
        }
    }
}

/// A field of proposal `i`'s form (ids made unique on the page).
fn numbered_field(i: usize, name: &str, label: &str, value: &str) -> Markup {
    let id = format!("p-{i}-{name}");
    html! {
        div class="field" {
            label for=(id) { (label) }
            input id=(id) name=(name) type="text" value=(value) required;
        }
    }
}

/// Finding a source already recorded, to cite it here.
fn existing(slug: &str, (typed, found): (&str, &[SourceVersion])) -> Markup {
    html! {
        section class="card" aria-labelledby="existing" {
            h2 id="existing" { "Cite a recorded source" }
            form method="get" action=(format!("/desk/articles/{slug}")) role="search" class="search" {
                label for="find" { "Find a source" }
                input id="find" name="find" type="search" value=(typed) aria-describedby="find-hint";
                button type="submit" { "Find" }
                small id="find-hint" { "By URL, title or publisher." }
            }
            @if !typed.is_empty() {
                @if found.is_empty() {
                    p { "No recorded source matches “" (typed) "”." }
                } @else {
                    ul class="found" {
                        @for s in found {
                            li {
                                a href=(format!("/desk/articles/{slug}?source={}#cite", s.id)) aria-label=(format!("Choose: {}", s.title)) { (s.title) }
                                " · " (s.publisher) br; small { (s.url.as_str()) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The reader's page of the article and the panel's snippet to paste into
/// the CMS (SPEC "The source panel").
fn for_readers(slug: &str, reader: &ReaderLinks) -> Markup {
    let page = format!("{}/articles/{slug}/sources", reader.public_url);
    let snippet = format!(
        "<div data-sourceledger=\"{slug}\" data-vkey=\"{}\"></div>\n<script src=\"{}/embed.js\" async></script>",
        reader.vkey, reader.public_url
    );
    html! {
        section class="card readers" aria-labelledby="readers" {
            h2 id="readers" { "For readers" }
            p { "Readers' page: " a href=(page) rel="noopener noreferrer" { (page) } }
            div class="field" {
                label for="snippet" { "Panel snippet" }
                textarea id="snippet" readonly rows="3" data-copy aria-describedby="snippet-hint" { (snippet) }
                small id="snippet-hint" { "Paste it into the article's template where the sources should show." }
            }
        }
    }
}

/// Sources, newest first, with the search.
pub fn sources(
    session: &Session,
    q: &str,
    found: &[SourceVersion],
    sealed: &[crate::newsroom::sealed::SealedSource],
) -> String {
    layout(
        "Sources",
        Some(session),
        html! {
            h1 { "Sources" }
            (listing("/desk/sources", ("Search by URL, title or publisher", q, html! {}), "sources", &["Title", "Publisher", "Kind", "Recorded"],
                (!found.is_empty()).then(|| html! {
                    @for source in found {
                        tr {
                            td {
                                a href=(format!("/desk/sources/{}", source.id)) { (source.title) }
                                br;
                                small { (source.url.as_str()) }
                            }
                            td { (source.publisher) }
                            td { (source.kind.as_str().replace('_', " ")) }
                            td { time datetime=(&*source.recorded_at) { (source.recorded_at.get(..10).unwrap_or_default()) } }
                        }
                    }
                })))
            (sealed::listed(sealed))
        },
    )
}

/// One source: its archive and link history, then its versions, newest
/// first.
pub fn source(
    session: &Session,
    versions: &[SourceVersion],
    history: &[LinkEvent],
    may_write: bool,
) -> String {
    let Some(latest) = versions.last() else {
        return error(Some(session), 404, "No such source.");
    };
    layout(
        &latest.title,
        Some(session),
        html! {
            p class="crumbs" { a href="/desk/sources" { "Sources" } }
            h1 { (latest.title) }
            p { a href=(latest.url.as_str()) rel="noopener noreferrer" { (latest.url.as_str()) } }
            (links::archive(session, latest, history, may_write))
            h2 { "Versions" }
            ol class="citations" reversed {
                @for v in versions.iter().rev() {
                    li {
                        p class="meta" { "Version " (v.version) " · recorded " (&*v.recorded_at) " by " (v.recorded_by) " · entry " (v.ledger_index) }
                        dl class="facts" {
                            dt { "Title" } dd { (v.title) }
                            dt { "Publisher" } dd { (v.publisher) }
                            dt { "URL" } dd { (v.url.as_str()) }
                            dt { "Kind" } dd { (v.kind.as_str().replace('_', " ")) }
                            dt { "Language" } dd { (v.language.as_str()) }
                            @if let Some(sha) = &v.snapshot_sha256 {
                                dt { "Archived copy" } dd { a href=(links::copy_url(sha.as_str())) { code { (sha.as_str()) } } }
                            }
                        }
                    }
                }
            }
        },
    )
}
