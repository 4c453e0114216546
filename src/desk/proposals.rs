//! The desk's side of sources from the article: the article's text read for
//! its links, each proposal accepted (as it stands or edited), dropped, or
//! all accepted at once; and a source's details looked up from its page to
//! fill the "Record a source" form.

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::extract::{Csrf, DeskAs, DeskForm, checked_form, text_area};
use super::newsroom::{ArticleQuery, article_url, show_article};
use super::{pages, see_other};
use crate::auth::Write;
use crate::error::{ApiError, ErrorCode};
use crate::newsroom::from_article::{self, Text};
use crate::newsroom::proposals::{self, Acceptance, Origin, ProposalState};
use crate::newsroom::sources::SourceKind;
use crate::state::AppState;

/// The largest article the desk's form takes (pasted HTML is large).
pub(super) const ARTICLE_FORM_LIMIT: usize = crate::api::from_article::ARTICLE_BODY_LIMIT;

#[derive(Deserialize)]
pub(super) struct ExtractForm {
    csrf: String,
    /// `html` or `markdown`: what `text` is.
    format: String,
    /// The article's text, pasted.
    #[serde(default)]
    text: String,
    /// Or its URL, to fetch.
    #[serde(default)]
    url: String,
}

/// `POST /desk/articles/{slug}/extract`: reads the pasted article (or the
/// one at the URL) and shows its links as proposals.
pub(super) async fn extract(
    state: web::Data<AppState>,
    DeskAs(session, _): DeskAs<Write>,
    slug: web::Path<String>,
    form: DeskForm<ExtractForm>,
) -> HttpResponse {
    let slug = slug.into_inner();
    let form = checked_form!(form, &session);
    let read = async {
        let article = from_article::article_to_read(&state.db, slug.clone()).await?;
        let (text, origin) = match (form.url.trim(), form.text.trim()) {
            ("", "") => {
                return Err(ApiError::new(
                    ErrorCode::InvalidField,
                    "paste the article's text or give its URL",
                ));
            }
            ("", text) if form.format == "markdown" => {
                (Text::Markdown(text.to_owned()), Origin::Markdown)
            }
            ("", text) => (Text::Html(text.to_owned()), Origin::Html),
            (url, _) => {
                let page = state
                    .archive
                    .fetch_page(url.to_owned(), ARTICLE_FORM_LIMIT as u64)
                    .await?;
                if !page.is_html() {
                    return Err(ApiError::new(
                        ErrorCode::CaptureFailed,
                        format!("the page is {}, not HTML", page.content_type),
                    ));
                }
                (Text::Html(page.text()), Origin::Url)
            }
        };
        from_article::propose(&state.db, article, text, origin).await
    };
    match read.await {
        Ok(_) => see_other(&format!("{}#proposals", article_url(&slug))),
        Err(error) => {
            show_article(&state, &session, slug, ArticleQuery::default(), Some(error)).await
        }
    }
}

#[derive(Deserialize)]
pub(super) struct AcceptForm {
    csrf: String,
    url: String,
    claim: String,
    #[serde(default)]
    quote: String,
    locator: String,
    title: String,
    publisher: String,
    kind: String,
    language: String,
}

/// `POST /desk/articles/{slug}/proposals/accept`: one proposal, as edited.
pub(super) async fn accept(
    state: web::Data<AppState>,
    DeskAs(session, _): DeskAs<Write>,
    slug: web::Path<String>,
    form: DeskForm<AcceptForm>,
) -> HttpResponse {
    let slug = slug.into_inner();
    let form = checked_form!(form, &session);
    let Ok(kind) = SourceKind::try_from(form.kind.trim().to_owned()) else {
        let error = ApiError::invalid_field("kind", "choose what sort of source it is");
        return show_article(&state, &session, slug, ArticleQuery::default(), Some(error)).await;
    };
    let accepted = Acceptance {
        url: form.url.trim().to_owned(),
        claim: text_area(&form.claim),
        quote: Some(text_area(&form.quote)).filter(|q| !q.is_empty()),
        locator: form.locator.trim().to_owned(),
        title: form.title.trim().to_owned(),
        publisher: form.publisher.trim().to_owned(),
        kind,
        language: form.language.trim().to_owned(),
    };
    let done = proposals::accept(
        &state.db,
        &state.writer,
        state.embargo(),
        &session.caller,
        &slug,
        vec![accepted],
    )
    .await;
    after(&state, &session, slug, done.map(|_| ())).await
}

/// `POST /desk/articles/{slug}/proposals/accept-all`: every open proposal
/// as it stands (the link's text as a new source's title, its host as the
/// publisher, "other" as its kind).
pub(super) async fn accept_all(
    state: web::Data<AppState>,
    DeskAs(session, _): DeskAs<Write>,
    slug: web::Path<String>,
    form: DeskForm<Csrf>,
) -> HttpResponse {
    let slug = slug.into_inner();
    checked_form!(form, &session);
    let target = slug.clone();
    let open = state
        .db
        .run(move |conn| {
            let article = crate::newsroom::articles::get(conn, &target)?;
            let open = proposals::of_article(conn, &target, Some(ProposalState::Open))?;
            Ok::<_, ApiError>((article, open))
        })
        .await;
    let done = match open {
        Ok((article, open)) => {
            let accepted = open
                .iter()
                .map(|p| Acceptance::as_proposed(p, article.language.as_str()))
                .collect();
            proposals::accept(
                &state.db,
                &state.writer,
                state.embargo(),
                &session.caller,
                &slug,
                accepted,
            )
            .await
            .map(|_| ())
        }
        Err(error) => Err(error),
    };
    after(&state, &session, slug, done).await
}

#[derive(Deserialize)]
pub(super) struct DropForm {
    csrf: String,
    url: String,
}

/// `POST /desk/articles/{slug}/proposals/drop`: not a source; not proposed
/// again by a later reading of the article.
pub(super) async fn drop(
    state: web::Data<AppState>,
    DeskAs(session, _): DeskAs<Write>,
    slug: web::Path<String>,
    form: DeskForm<DropForm>,
) -> HttpResponse {
    let slug = slug.into_inner();
    let form = checked_form!(form, &session);
    let (target, actor) = (slug.clone(), session.caller.actor());
    let done = state
        .db
        .run(move |conn| proposals::decide(conn, &target, form.url.trim(), &actor, None))
        .await;
    after(&state, &session, slug, done).await
}

async fn after(
    state: &web::Data<AppState>,
    session: &crate::auth::session::Session,
    slug: String,
    done: Result<(), ApiError>,
) -> HttpResponse {
    match done {
        Ok(()) => see_other(&format!("{}#proposals", article_url(&slug))),
        Err(error) => {
            show_article(state, session, slug, ArticleQuery::default(), Some(error)).await
        }
    }
}

#[derive(Deserialize)]
pub(super) struct LookupForm {
    csrf: String,
    url: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    publisher: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    language: String,
    #[serde(default)]
    published_at: String,
    #[serde(default)]
    doi: String,
}

/// `POST /desk/articles/{slug}/lookup`: the "Record a source" form again,
/// filled with what the page at its URL says of itself (what was typed
/// already is kept).
pub(super) async fn lookup(
    state: web::Data<AppState>,
    DeskAs(session, _): DeskAs<Write>,
    slug: web::Path<String>,
    form: DeskForm<LookupForm>,
) -> HttpResponse {
    let slug = slug.into_inner();
    let form = checked_form!(form, &session);
    let url = form.url.trim().to_owned();
    let found = crate::newsroom::lookup::look_up(&state.archive, url.clone()).await;
    let keep = |typed: &str, found: Option<String>| match typed.trim() {
        "" => found.unwrap_or_default(),
        typed => typed.to_owned(),
    };
    let (draft, problem) = match found {
        Ok(found) => (
            pages::SourceDraft {
                url: found.url.clone(),
                title: keep(&form.title, found.metadata.title.clone()),
                publisher: keep(&form.publisher, found.metadata.publisher.clone()),
                // The select always holds a kind: what the page says of
                // itself wins (Look up comes before the kind on the form).
                kind: found
                    .metadata
                    .kind
                    .and_then(|k| serde_json::to_value(k).ok())
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_else(|| form.kind.clone()),
                language: keep(&form.language, found.metadata.language.clone()),
                published_at: keep(&form.published_at, found.metadata.issued.clone()),
                doi: keep(&form.doi, found.metadata.doi.clone()),
                found: true,
            },
            None,
        ),
        Err(error) => (
            pages::SourceDraft {
                url,
                title: form.title.clone(),
                publisher: form.publisher.clone(),
                kind: form.kind.clone(),
                language: form.language.clone(),
                published_at: form.published_at.clone(),
                doi: form.doi.clone(),
                found: false,
            },
            Some(error),
        ),
    };
    let query = ArticleQuery::filled(draft);
    show_article(&state, &session, slug, query, problem).await
}
