//! The desk's newsroom pages: articles, sources and citations, their lists
//! and the forms that change them.

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::extract::{Csrf, DeskAs, DeskForm, DeskSession, checked_form, text_area};
use super::{error_page, may, ok_page, page, pages, see_other, status_after};
use crate::archive::drift;
use crate::auth::session::Session;
use crate::auth::{Edit, Write};
use crate::error::ApiError;
use crate::newsroom::articles::ArticleStatus;
use crate::newsroom::citations::NewCitation;
use crate::newsroom::proposals::{self, ProposalState};
use crate::newsroom::sources::{self, NewSource, SourceKind};
use crate::newsroom::{articles, citations, sealed};
use crate::state::AppState;

#[derive(Deserialize)]
pub(super) struct Search {
    pub(super) q: Option<String>,
    /// Articles only: `draft`, `published` or `retracted`.
    pub(super) state: Option<String>,
}

/// How many articles the desk's list shows.
pub(super) const LISTED: u32 = 200;

/// `GET /desk`: the articles, newest change first, searchable by title or
/// slug and narrowed to one state, and (for those who may write) the form
/// for a new one.
pub(super) async fn home(
    state: web::Data<AppState>,
    DeskSession(session): DeskSession,
    query: web::Query<Search>,
) -> HttpResponse {
    let Search { q, state: wanted } = query.into_inner();
    let q = q.unwrap_or_default();
    // An unknown state shows every article, as no choice does.
    let status = wanted
        .filter(|s| !s.is_empty())
        .and_then(|s| ArticleStatus::try_from(s).ok());
    let text = q.clone();
    let found = state
        .db
        .run(move |conn| articles::search(conn, Some(&text), status, LISTED))
        .await;
    match found {
        Ok(found) => {
            let shown = pages::ArticleList {
                q: &q,
                status,
                found: &found,
            };
            ok_page(pages::home(&session, &shown, may::<Write>(&session), None))
        }
        Err(error) => error_page(Some(&session), &error),
    }
}

#[derive(Deserialize)]
pub(super) struct NewArticleForm {
    csrf: String,
    slug: String,
    title: String,
    url: String,
    language: String,
    /// One author a line.
    authors: String,
}

/// `POST /desk/articles`: records a new draft article.
pub(super) async fn create_article(
    state: web::Data<AppState>,
    DeskAs(session, _): DeskAs<Write>,
    form: DeskForm<NewArticleForm>,
) -> HttpResponse {
    let form = checked_form!(form, &session);
    let new = articles::NewArticle {
        slug: form.slug.trim().to_owned(),
        title: form.title.trim().to_owned(),
        url: form.url.trim().to_owned(),
        language: form.language.trim().to_owned(),
        authors: form
            .authors
            .lines()
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(str::to_owned)
            .collect(),
    };
    let actor = session.caller.actor();
    let embargo = state.embargo();
    let made = state
        .writer
        .write(move |conn, seq| articles::create(conn, seq, embargo, &actor, &new))
        .await;
    match made {
        Ok(article) => see_other(&format!("/desk/articles/{}", article.slug.as_str())),
        Err(error) => {
            // The form again, with what was typed and what is wrong.
            let found = state
                .db
                .run(|conn| articles::search(conn, None, None, LISTED))
                .await
                .unwrap_or_default();
            let shown = pages::ArticleList {
                q: "",
                status: None,
                found: &found,
            };
            page(
                error.status(),
                pages::home(
                    &session,
                    &shown,
                    true,
                    Some((error.detail(), &form_back(&form))),
                ),
            )
        }
    }
}

/// What a refused new-article form held, to show it again.
pub(super) fn form_back(form: &NewArticleForm) -> pages::ArticleDraft {
    pages::ArticleDraft {
        slug: form.slug.clone(),
        title: form.title.clone(),
        url: form.url.clone(),
        language: form.language.clone(),
        authors: form.authors.clone(),
    }
}

#[derive(Deserialize, Default)]
pub(super) struct ArticleQuery {
    /// A source just recorded or chosen, offered for citing.
    source: Option<String>,
    /// Text to find an existing source by, to cite it.
    find: Option<String>,
    /// The "Record a source" form as filled by a lookup.
    #[serde(skip)]
    pub(super) draft: Option<pages::SourceDraft>,
}

impl ArticleQuery {
    /// The page with the "Record a source" form filled with `draft`.
    pub(super) fn filled(draft: pages::SourceDraft) -> Self {
        Self {
            draft: Some(draft),
            ..Self::default()
        }
    }

    fn offering(source: String) -> Self {
        Self {
            source: Some(source),
            ..Self::default()
        }
    }
}

/// How many existing sources a search on the article page offers.
const FOUND: u32 = 20;

/// `GET /desk/articles/{slug}`: one article and its citations; for those
/// who may write, the forms to record a source and cite it; for editors,
/// verify, retract and publish.
pub(super) async fn article(
    state: web::Data<AppState>,
    DeskSession(session): DeskSession,
    slug: web::Path<String>,
    query: web::Query<ArticleQuery>,
) -> HttpResponse {
    show_article(
        &state,
        &session,
        slug.into_inner(),
        query.into_inner(),
        None,
    )
    .await
}

/// The article page, with `problem` above its forms when a form was refused.
pub(super) async fn show_article(
    state: &web::Data<AppState>,
    session: &Session,
    slug: String,
    query: ArticleQuery,
    problem: Option<ApiError>,
) -> HttpResponse {
    let find = query
        .find
        .as_deref()
        .map(str::trim)
        .unwrap_or_default()
        .to_owned();
    let typed = find.clone();
    let sealing = state.clone();
    let found = state
        .db
        .run(move |conn| {
            let sealing = &sealing.sealing;
            let article = articles::get(conn, &slug)?;
            let cited = citations::of_article(conn, article.slug.as_str())?;
            let links = drift::cited_links(conn, article.slug.as_str())?;
            // A source to cite: only one that exists, at its latest version.
            let offered = match query.source {
                Some(id) => offer(conn, sealing, &id)?,
                None => None,
            };
            let found = match find.is_empty() {
                true => Vec::new(),
                false => sources::search(conn, Some(&find), FOUND)?,
            };
            let proposed =
                proposals::of_article(conn, article.slug.as_str(), Some(ProposalState::Open))?;
            Ok::<_, ApiError>((article, cited, offered, links, found, proposed))
        })
        .await;
    match found {
        Ok((article, cited, offered, links, found, proposed)) => {
            let links = links
                .into_iter()
                .map(|l| (l.citation_id.clone(), l))
                .collect();
            let shown = pages::ArticleView {
                article: &article,
                cited: &cited,
                offered: offered.as_ref(),
                may_write: may::<Write>(session),
                may_edit: may::<Edit>(session),
                problem: problem.as_ref().map(|p| p.detail()),
                links: &links,
                find: (&typed, &found),
                proposals: &proposed,
                draft: query.draft.as_ref(),
                reader: pages::ReaderLinks {
                    public_url: &state.settings.public_url,
                    vkey: state.ledger.vkey(),
                },
            };
            let status = status_after(problem.as_ref());
            page(status, pages::article(session, &shown))
        }
        Err(error) => error_page(Some(session), &error),
    }
}

/// Source `id` offered for citing: its latest version, or a sealed source
/// by its sealed title; nothing when there is no such source.
fn offer(
    conn: &mut crate::db::DbConnection,
    sealing: &crate::secrets::SealingKey,
    id: &str,
) -> Result<Option<pages::Offered>, ApiError> {
    if let Ok(version) = sources::latest(conn, id) {
        return Ok(Some(version.into()));
    }
    Ok(
        sealed::get(conn, sealing, id, false)?.map(|s| pages::Offered {
            title: sealed::sealed_title(&s.sealed_at),
            publisher: format!("sealed, {}", s.kind),
            url: None,
            id: s.id,
        }),
    )
}

pub(super) fn article_url(slug: &str) -> String {
    format!("/desk/articles/{slug}")
}

#[derive(Deserialize)]
pub(super) struct SourceForm {
    csrf: String,
    url: String,
    title: String,
    publisher: String,
    kind: String,
    language: String,
    /// The "Sealed" checkbox: `on` when ticked.
    sealed: Option<String>,
    #[serde(default)]
    published_at: String,
    #[serde(default)]
    doi: String,
}

/// `POST /desk/articles/{slug}/sources`: records a source, then offers it
/// for citing on the article's page.
pub(super) async fn record_source(
    state: web::Data<AppState>,
    DeskAs(session, _): DeskAs<Write>,
    slug: web::Path<String>,
    form: DeskForm<SourceForm>,
) -> HttpResponse {
    let slug = slug.into_inner();
    let form = checked_form!(form, &session);
    let Ok(kind) = SourceKind::try_from(form.kind.trim().to_owned()) else {
        let error = ApiError::new(
            crate::error::ErrorCode::InvalidField,
            "kind: choose what sort of source it is",
        );
        return show_article(&state, &session, slug, ArticleQuery::default(), Some(error)).await;
    };
    let new = NewSource {
        url: form.url.trim().to_owned(),
        title: form.title.trim().to_owned(),
        publisher: form.publisher.trim().to_owned(),
        kind,
        language: form.language.trim().to_owned(),
        published_at: Some(form.published_at.trim().to_owned()).filter(|v| !v.is_empty()),
        accessed_at: None,
        snapshot_sha256: None,
        archive_url: None,
        doi: Some(form.doi.trim().to_owned()).filter(|v| !v.is_empty()),
        sealed: form.sealed.is_some(),
    };
    let target = slug.clone();
    if let Err(error) = state.db.run(move |conn| articles::get(conn, &target)).await {
        return error_page(Some(&session), &error);
    }
    if new.sealed {
        // Only a commitment goes into the ledger; never captured.
        let (st, actor) = (state.clone(), session.caller.actor());
        let sealed = state
            .writer
            .write(move |conn, seq| sealed::seal(conn, seq, &st.sealing, &actor, &new))
            .await;
        return match sealed {
            Ok(sealed) => see_other(&format!("{}?source={}", article_url(&slug), sealed.id)),
            Err(error) => {
                show_article(&state, &session, slug, ArticleQuery::default(), Some(error)).await
            }
        };
    }
    let prepared = match sources::prepare_new(state.embargo(), &session.caller.actor(), &new) {
        Ok(prepared) => prepared,
        Err(error) => {
            return show_article(&state, &session, slug, ArticleQuery::default(), Some(error))
                .await;
        }
    };
    match state
        .writer
        .append(move |conn, seq| sources::create(conn, seq, prepared))
        .await
    {
        Ok(version) => {
            AppState::capture_when_recorded(&state, version.id.clone(), session.caller.actor());
            see_other(&format!("{}?source={}", article_url(&slug), version.id))
        }
        Err(error) => {
            show_article(&state, &session, slug, ArticleQuery::default(), Some(error)).await
        }
    }
}

#[derive(Deserialize)]
pub(super) struct CiteForm {
    csrf: String,
    source_id: String,
    claim: String,
    quote: String,
    locator: String,
}

/// `POST /desk/articles/{slug}/citations`: cites a source in the article.
pub(super) async fn cite(
    state: web::Data<AppState>,
    DeskAs(session, _): DeskAs<Write>,
    slug: web::Path<String>,
    form: DeskForm<CiteForm>,
) -> HttpResponse {
    let slug = slug.into_inner();
    let form = checked_form!(form, &session);
    let source = form.source_id.trim().to_owned();
    let batch = vec![NewCitation {
        source_id: source.clone(),
        source_version: None,
        claim: text_area(&form.claim),
        quote: Some(text_area(&form.quote)).filter(|q| !q.is_empty()),
        locator: form.locator.trim().to_owned(),
        note: None,
    }];
    let caller = session.caller.clone();
    let embargo = state.embargo();
    let target = slug.clone();
    let prepared = state
        .db
        .run(move |conn| citations::prepare(conn, embargo, &caller, &target, &batch, false))
        .await;
    let done = match prepared {
        Ok(prepared) => state
            .writer
            .write(move |conn, seq| citations::attach(conn, seq, prepared))
            .await
            .map(|_| ()),
        Err(error) => Err(error),
    };
    match done {
        Ok(()) => see_other(&article_url(&slug)),
        Err(error) => {
            show_article(
                &state,
                &session,
                slug,
                ArticleQuery::offering(source),
                Some(error),
            )
            .await
        }
    }
}

/// `POST /desk/articles/{slug}/publish` (editors).
pub(super) async fn publish(
    state: web::Data<AppState>,
    DeskAs(session, _): DeskAs<Edit>,
    slug: web::Path<String>,
    form: DeskForm<Csrf>,
) -> HttpResponse {
    let slug = slug.into_inner();
    checked_form!(form, &session);
    let actor = session.caller.actor();
    let target = slug.clone();
    let done = state
        .writer
        .write(move |conn, seq| {
            articles::change_status(conn, seq, &actor, &target, ArticleStatus::Published, None)
        })
        .await;
    match done {
        Ok(_) => see_other(&article_url(&slug)),
        Err(error) => {
            show_article(&state, &session, slug, ArticleQuery::default(), Some(error)).await
        }
    }
}

/// `POST /desk/citations/{id}/verify` (editors): back to its article.
pub(super) async fn verify(
    state: web::Data<AppState>,
    DeskAs(session, _): DeskAs<Edit>,
    id: web::Path<String>,
    form: DeskForm<Csrf>,
) -> HttpResponse {
    checked_form!(form, &session);
    let caller = session.caller.clone();
    let embargo = state.embargo();
    let id = id.into_inner();
    let done = state
        .writer
        .write(move |conn, seq| citations::verify(conn, seq, embargo, &caller, &id))
        .await;
    citation_done(&session, done).await
}

#[derive(Deserialize)]
pub(super) struct RetractForm {
    csrf: String,
    reason: String,
}

/// `POST /desk/citations/{id}/retract`: with its reason; journalists only
/// their own citations, as through the API.
pub(super) async fn retract(
    state: web::Data<AppState>,
    DeskAs(session, _): DeskAs<Write>,
    id: web::Path<String>,
    form: DeskForm<RetractForm>,
) -> HttpResponse {
    let form = checked_form!(form, &session);
    let caller = session.caller.clone();
    let embargo = state.embargo();
    let id = id.into_inner();
    let reason = form.reason.trim().to_owned();
    let done = state
        .writer
        .write(move |conn, seq| citations::retract(conn, seq, embargo, &caller, &id, &reason))
        .await;
    citation_done(&session, done).await
}

/// After a citation's change: its article's page, or what went wrong.
pub(super) async fn citation_done(
    session: &Session,
    done: Result<citations::Citation, ApiError>,
) -> HttpResponse {
    match done {
        Ok(row) => see_other(&article_url(row.article_slug.as_str())),
        Err(error) => error_page(Some(session), &error),
    }
}
