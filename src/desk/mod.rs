//! The editor's desk (SPEC "The editor's desk"): the newsroom's own web app at
//! `/desk`, rendered on the server, every task a plain form that works with
//! JavaScript off.
//!
//! Handlers here are like the API's: extract, call one domain function,
//! answer (a page, or a redirect after a form). Who is calling is a desk
//! session ([`crate::auth::session`]) in a cookie; every form that changes
//! something carries the session's CSRF token, checked before anything else
//! is done with the form; a role may do on the desk exactly what it may do
//! through the API. Pages carry a strict CSP: no script, styles from
//! `/desk/desk.css` only, forms only to this origin, never framed.

mod pages;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use serde::Deserialize;

use crate::auth::session::{self, Session};
use crate::auth::token::Subject;
use crate::auth::{Caller, Edit, Permission, Write, keys};
use crate::error::ApiError;
use crate::newsroom::articles::ArticleStatus;
use crate::newsroom::citations::NewCitation;
use crate::newsroom::sources::{self, NewSource, SourceKind};
use crate::newsroom::{articles, citations};
use crate::state::AppState;

/// The stylesheet every desk page links to.
const STYLESHEET: &str = include_str!("desk.css");

/// The desk's pages' media type.
pub const HTML: &str = "text/html; charset=utf-8";

/// The desk's content security policy: nothing runs, nothing loads but the
/// desk's stylesheet, forms post only here, no page is framed.
const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Registers the desk's routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.app_data(web::FormConfig::default().limit(FORM_LIMIT))
        .route("/desk", web::get().to(home))
        .route("/desk/desk.css", web::get().to(stylesheet))
        .route("/desk/login", web::get().to(login_form))
        .route("/desk/login", web::post().to(login))
        .route("/desk/logout", web::post().to(logout))
        .route("/desk/articles", web::post().to(create_article))
        .route("/desk/sources", web::get().to(source_list))
        .route("/desk/sources/{id}", web::get().to(source))
        .route("/desk/articles/{slug}", web::get().to(article))
        .route(
            "/desk/articles/{slug}/sources",
            web::post().to(record_source),
        )
        .route("/desk/articles/{slug}/citations", web::post().to(cite))
        .route("/desk/articles/{slug}/publish", web::post().to(publish))
        .route("/desk/citations/{id}/verify", web::post().to(verify))
        .route("/desk/citations/{id}/retract", web::post().to(retract));
}

/// The session cookie's name: with the `__Host-` prefix (the browser then
/// insists on `Secure`, `Path=/` and no `Domain`) when the desk is served
/// over https, as it is in production.
fn cookie_name(state: &AppState, what: &str) -> String {
    match secure(state) {
        true => format!("__Host-sourceledger-{what}"),
        false => format!("sourceledger-{what}"),
    }
}

fn secure(state: &AppState) -> bool {
    state.settings.public_url.starts_with("https://")
}

fn cookie<'c>(state: &AppState, what: &str, value: String, strict: bool) -> Cookie<'c> {
    Cookie::build(cookie_name(state, what), value)
        .path("/")
        .http_only(true)
        .secure(secure(state))
        .same_site(if strict {
            SameSite::Strict
        } else {
            SameSite::Lax
        })
        .finish()
}

/// A page, with the desk's headers.
fn page(status: actix_web::http::StatusCode, body: String) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, HTML))
        .insert_header((header::CONTENT_SECURITY_POLICY, CSP))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body)
}

fn ok_page(body: String) -> HttpResponse {
    page(actix_web::http::StatusCode::OK, body)
}

/// After a form: where to look next (303, so a reload does not post again).
fn see_other(to: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, to))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

/// An error as a desk page: its status, and what went wrong in words.
fn error_page(session: Option<&Session>, error: &ApiError) -> HttpResponse {
    page(
        error.status(),
        pages::error(session, error.status().as_u16(), error.detail()),
    )
}

/// The signed-in session of the request; without one, a page request goes
/// to the sign-in page and a form is refused (401), before its body is read.
pub struct DeskSession(pub Session);

/// Why there is no session to work with.
#[derive(Debug)]
pub struct SignInFirst {
    to_login: bool,
}

impl std::fmt::Display for SignInFirst {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("sign in to the desk first")
    }
}

impl actix_web::ResponseError for SignInFirst {
    fn status_code(&self) -> actix_web::http::StatusCode {
        match self.to_login {
            true => actix_web::http::StatusCode::SEE_OTHER,
            false => actix_web::http::StatusCode::UNAUTHORIZED,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self.to_login {
            true => see_other("/desk/login"),
            false => page(
                actix_web::http::StatusCode::UNAUTHORIZED,
                pages::error(None, 401, "Your session has ended: sign in again."),
            ),
        }
    }
}

impl FromRequest for DeskSession {
    type Error = actix_web::Error;
    type Future = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let to_login = req.method() == actix_web::http::Method::GET;
            let refused = || actix_web::Error::from(SignInFirst { to_login });
            let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
                return Err(ApiError::internal("no application state").into());
            };
            let Some(secret) = req
                .cookie(&cookie_name(&state, "desk"))
                .map(|c| c.value().to_owned())
            else {
                return Err(refused());
            };
            let found = state
                .db
                .run(move |conn| session::find(conn, &secret))
                .await
                .map_err(actix_web::Error::from)?;
            found.map(DeskSession).ok_or_else(refused)
        })
    }
}

/// A session whose role permission `P` admits; any other role is refused
/// (403) before the form's body is read.
pub struct DeskAs<P: Permission>(pub Session, std::marker::PhantomData<P>);

/// A signed-in role that may not do this.
#[derive(Debug)]
struct NotYourRole(Session);

impl std::fmt::Display for NotYourRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the {} role may not do this", self.0.caller.role)
    }
}

impl actix_web::ResponseError for NotYourRole {
    fn status_code(&self) -> actix_web::http::StatusCode {
        actix_web::http::StatusCode::FORBIDDEN
    }

    fn error_response(&self) -> HttpResponse {
        page(
            actix_web::http::StatusCode::FORBIDDEN,
            pages::error(
                Some(&self.0),
                403,
                &format!("The {} role may not do this.", self.0.caller.role),
            ),
        )
    }
}

impl<P: Permission + 'static> FromRequest for DeskAs<P> {
    type Error = actix_web::Error;
    type Future = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let session = DeskSession::from_request(req, payload);
        Box::pin(async move {
            let DeskSession(session) = session.await?;
            match may::<P>(&session) {
                true => Ok(DeskAs(session, std::marker::PhantomData)),
                false => Err(NotYourRole(session).into()),
            }
        })
    }
}

/// Most a desk form may hold: a quote of 10,000 characters, percent-encoded,
/// with room to spare.
const FORM_LIMIT: usize = 256 * 1024;

/// A form's body, read only when the handler asks: its session and role
/// extractors have answered by then, so a caller who may not post it is
/// refused (401, 403) before anything reads the body. A body that cannot be
/// read is a desk page saying so (400, 413, 415).
pub struct DeskForm<T> {
    req: HttpRequest,
    payload: Payload,
    form: std::marker::PhantomData<T>,
}

impl<T> FromRequest for DeskForm<T> {
    type Error = std::convert::Infallible;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        std::future::ready(Ok(DeskForm {
            req: req.clone(),
            payload: payload.take(),
            form: std::marker::PhantomData,
        }))
    }
}

impl<T: serde::de::DeserializeOwned + 'static> DeskForm<T> {
    async fn read(mut self, session: Option<&Session>) -> Result<T, HttpResponse> {
        match web::Form::<T>::from_request(&self.req, &mut self.payload).await {
            Ok(form) => Ok(form.into_inner()),
            Err(error) => {
                let status = error.as_response_error().status_code();
                let detail = match status.as_u16() {
                    413 => "The form is too large.".to_owned(),
                    415 => "The form was not sent as a web form.".to_owned(),
                    _ => format!("The form could not be read ({error})."),
                };
                Err(page(
                    status,
                    pages::error(session, status.as_u16(), &detail),
                ))
            }
        }
    }
}

/// Reads a form's body or answers with why it could not be read.
macro_rules! read_form {
    ($form:expr, $session:expr) => {
        match $form.read($session).await {
            Ok(form) => form,
            Err(refused) => return refused,
        }
    };
}

/// Text from a form's text area: browsers send its line breaks as CRLF; the
/// records keep LF.
fn text_area(text: &str) -> String {
    text.replace("\r\n", "\n").trim().to_owned()
}

/// Every form that changes something carries this.
#[derive(Deserialize)]
struct Csrf {
    csrf: String,
}

/// The refusal (403) of a form whose token is not the session's.
fn csrf_refusal(session: &Session, token: &str) -> Option<HttpResponse> {
    match session.csrf_matches(token) {
        true => None,
        false => Some(page(
            actix_web::http::StatusCode::FORBIDDEN,
            pages::error(
                Some(session),
                403,
                "This form did not come from your desk session (its security token is missing or stale). Reload the page and try again.",
            ),
        )),
    }
}

/// Whether the session's role may do what permission `P` allows.
fn may<P: Permission>(session: &Session) -> bool {
    P::ROLES.contains(&session.caller.role)
}

async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/css; charset=utf-8"))
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(STYLESHEET)
}

/// `GET /desk/login`: the sign-in form. Sets a fresh token in a strict
/// cookie and in the form, so a sign-in posted from elsewhere is refused.
async fn login_form(state: web::Data<AppState>) -> HttpResponse {
    let token = session::random_token();
    let mut response = ok_page(pages::login(&token, None));
    let _ = response.add_cookie(&cookie(&state, "login", token, true));
    response
}

#[derive(Deserialize)]
struct SignIn {
    api_key: String,
    csrf: String,
}

/// `POST /desk/login`: an API key of a staff role opens a session.
async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: DeskForm<SignIn>,
) -> HttpResponse {
    let SignIn { api_key, csrf } = read_form!(form, None);
    let expected = req.cookie(&cookie_name(&state, "login"));
    if expected.is_none_or(|c| c.value().is_empty() || c.value() != csrf) {
        let token = session::random_token();
        let mut response = page(
            actix_web::http::StatusCode::FORBIDDEN,
            pages::login(
                &token,
                Some("The sign-in form had expired. Please sign in again."),
            ),
        );
        let _ = response.add_cookie(&cookie(&state, "login", token, true));
        return response;
    }
    // Signing in again ends the session this browser held: one at a time.
    let previous = req
        .cookie(&cookie_name(&state, "desk"))
        .map(|c| c.value().to_owned());
    let opened = state
        .db
        .run(move |conn| {
            if let Some(previous) = previous
                && let Some(old) = session::find(conn, &previous)?
            {
                session::end(conn, &old)?;
            }
            let Some((key, role)) = keys::find_live_by_secret(conn, api_key.trim())? else {
                return Ok(None);
            };
            let caller = Caller {
                role,
                name: key.name,
                subject: Subject::ApiKey(key.id),
            };
            if !caller.is_staff() {
                return Ok(None);
            }
            session::open(conn, &caller).map(Some)
        })
        .await;
    match opened {
        Ok(Some(opened)) => {
            let mut response = see_other("/desk");
            let _ = response.add_cookie(&cookie(&state, "desk", opened.secret, false));
            let mut gone = cookie(&state, "login", String::new(), true);
            gone.make_removal();
            let _ = response.add_cookie(&gone);
            response
        }
        Ok(None) => {
            let token = session::random_token();
            let mut response = page(
                actix_web::http::StatusCode::UNAUTHORIZED,
                pages::login(
                    &token,
                    Some("That API key is not a live key of the newsroom's staff."),
                ),
            );
            let _ = response.add_cookie(&cookie(&state, "login", token, true));
            response
        }
        Err(error) => error_page(None, &error),
    }
}

/// `POST /desk/logout`: ends the session.
async fn logout(
    state: web::Data<AppState>,
    DeskSession(session): DeskSession,
    form: DeskForm<Csrf>,
) -> HttpResponse {
    let form = read_form!(form, Some(&session));
    if let Some(refused) = csrf_refusal(&session, &form.csrf) {
        return refused;
    }
    let ending = session.clone();
    if let Err(error) = state.db.run(move |conn| session::end(conn, &ending)).await {
        return error_page(Some(&session), &error);
    }
    let mut response = see_other("/desk/login");
    let mut gone = cookie(&state, "desk", String::new(), false);
    gone.make_removal();
    let _ = response.add_cookie(&gone);
    response
}

#[derive(Deserialize)]
struct Search {
    q: Option<String>,
}

/// How many articles the desk's list shows.
const LISTED: u32 = 200;

/// `GET /desk`: the articles, newest change first, searchable by title or
/// slug, and (for those who may write) the form for a new one.
async fn home(
    state: web::Data<AppState>,
    DeskSession(session): DeskSession,
    query: web::Query<Search>,
) -> HttpResponse {
    let may_write = may::<Write>(&session);
    list_page(
        &state,
        &session,
        query.into_inner(),
        articles::search,
        |s, q, found| pages::home(s, q, found, may_write, None),
    )
    .await
}

/// A domain search a list page runs: the text typed, at most how many.
type SearchFn<T> = fn(&mut crate::db::DbConnection, Option<&str>, u32) -> Result<Vec<T>, ApiError>;

/// A list page: its search run on a pool connection, then rendered.
async fn list_page<T: Send + 'static>(
    state: &AppState,
    session: &Session,
    query: Search,
    search: SearchFn<T>,
    render: impl FnOnce(&Session, &str, &[T]) -> String,
) -> HttpResponse {
    let q = query.q.unwrap_or_default();
    let text = q.clone();
    match state
        .db
        .run(move |conn| search(conn, Some(&text), LISTED))
        .await
    {
        Ok(found) => ok_page(render(session, &q, &found)),
        Err(error) => error_page(Some(session), &error),
    }
}

#[derive(Deserialize)]
struct NewArticleForm {
    csrf: String,
    slug: String,
    title: String,
    url: String,
    language: String,
    /// One author a line.
    authors: String,
}

/// `POST /desk/articles`: records a new draft article.
async fn create_article(
    state: web::Data<AppState>,
    DeskAs(session, _): DeskAs<Write>,
    form: DeskForm<NewArticleForm>,
) -> HttpResponse {
    let form = read_form!(form, Some(&session));
    if let Some(refused) = csrf_refusal(&session, &form.csrf) {
        return refused;
    }
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
                .run(|conn| articles::search(conn, None, LISTED))
                .await
                .unwrap_or_default();
            page(
                error.status(),
                pages::home(
                    &session,
                    "",
                    &found,
                    true,
                    Some((error.detail(), &form_back(&form))),
                ),
            )
        }
    }
}

/// What a refused new-article form held, to show it again.
fn form_back(form: &NewArticleForm) -> pages::ArticleDraft {
    pages::ArticleDraft {
        slug: form.slug.clone(),
        title: form.title.clone(),
        url: form.url.clone(),
        language: form.language.clone(),
        authors: form.authors.clone(),
    }
}

#[derive(Deserialize)]
struct ArticleQuery {
    /// A source just recorded, offered for citing.
    source: Option<String>,
}

/// `GET /desk/articles/{slug}`: one article and its citations; for those
/// who may write, the forms to record a source and cite it; for editors,
/// verify, retract and publish.
async fn article(
    state: web::Data<AppState>,
    DeskSession(session): DeskSession,
    slug: web::Path<String>,
    query: web::Query<ArticleQuery>,
) -> HttpResponse {
    show_article(
        &state,
        &session,
        slug.into_inner(),
        query.into_inner().source,
        None,
    )
    .await
}

/// The article page, with `problem` above its forms when a form was refused.
async fn show_article(
    state: &web::Data<AppState>,
    session: &Session,
    slug: String,
    source: Option<String>,
    problem: Option<ApiError>,
) -> HttpResponse {
    let found = state
        .db
        .run(move |conn| {
            let article = articles::get(conn, &slug)?;
            let cited = citations::of_article(conn, article.slug.as_str())?;
            // A source to cite: only one that exists, at its latest version.
            let offered = match source {
                Some(id) => sources::latest(conn, &id).ok(),
                None => None,
            };
            Ok::<_, ApiError>((article, cited, offered))
        })
        .await;
    match found {
        Ok((article, cited, offered)) => {
            let shown = pages::ArticleView {
                article: &article,
                cited: &cited,
                offered: offered.as_ref(),
                may_write: may::<Write>(session),
                may_edit: may::<Edit>(session),
                problem: problem.as_ref().map(|p| p.detail()),
            };
            let status = problem
                .as_ref()
                .map_or(actix_web::http::StatusCode::OK, |p| p.status());
            page(status, pages::article(session, &shown))
        }
        Err(error) => error_page(Some(session), &error),
    }
}

fn article_url(slug: &str) -> String {
    format!("/desk/articles/{slug}")
}

#[derive(Deserialize)]
struct SourceForm {
    csrf: String,
    url: String,
    title: String,
    publisher: String,
    kind: String,
    language: String,
}

/// `POST /desk/articles/{slug}/sources`: records a source, then offers it
/// for citing on the article's page.
async fn record_source(
    state: web::Data<AppState>,
    DeskAs(session, _): DeskAs<Write>,
    slug: web::Path<String>,
    form: DeskForm<SourceForm>,
) -> HttpResponse {
    let slug = slug.into_inner();
    let form = read_form!(form, Some(&session));
    if let Some(refused) = csrf_refusal(&session, &form.csrf) {
        return refused;
    }
    let Ok(kind) = SourceKind::try_from(form.kind.trim().to_owned()) else {
        let error = ApiError::new(
            crate::error::ErrorCode::InvalidField,
            "kind: choose what sort of source it is",
        );
        return show_article(&state, &session, slug, None, Some(error)).await;
    };
    let new = NewSource {
        url: form.url.trim().to_owned(),
        title: form.title.trim().to_owned(),
        publisher: form.publisher.trim().to_owned(),
        kind,
        language: form.language.trim().to_owned(),
        published_at: None,
        accessed_at: None,
        snapshot_sha256: None,
        archive_url: None,
        doi: None,
        sealed: false,
    };
    let target = slug.clone();
    if let Err(error) = state.db.run(move |conn| articles::get(conn, &target)).await {
        return error_page(Some(&session), &error);
    }
    let prepared = match sources::prepare_new(state.embargo(), &session.caller.actor(), &new) {
        Ok(prepared) => prepared,
        Err(error) => return show_article(&state, &session, slug, None, Some(error)).await,
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
        Err(error) => show_article(&state, &session, slug, None, Some(error)).await,
    }
}

#[derive(Deserialize)]
struct CiteForm {
    csrf: String,
    source_id: String,
    claim: String,
    quote: String,
    locator: String,
}

/// `POST /desk/articles/{slug}/citations`: cites a source in the article.
async fn cite(
    state: web::Data<AppState>,
    DeskAs(session, _): DeskAs<Write>,
    slug: web::Path<String>,
    form: DeskForm<CiteForm>,
) -> HttpResponse {
    let slug = slug.into_inner();
    let form = read_form!(form, Some(&session));
    if let Some(refused) = csrf_refusal(&session, &form.csrf) {
        return refused;
    }
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
        Err(error) => show_article(&state, &session, slug, Some(source), Some(error)).await,
    }
}

/// `POST /desk/articles/{slug}/publish` (editors).
async fn publish(
    state: web::Data<AppState>,
    DeskAs(session, _): DeskAs<Edit>,
    slug: web::Path<String>,
    form: DeskForm<Csrf>,
) -> HttpResponse {
    let slug = slug.into_inner();
    let form = read_form!(form, Some(&session));
    if let Some(refused) = csrf_refusal(&session, &form.csrf) {
        return refused;
    }
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
        Err(error) => show_article(&state, &session, slug, None, Some(error)).await,
    }
}

/// `POST /desk/citations/{id}/verify` (editors): back to its article.
async fn verify(
    state: web::Data<AppState>,
    DeskAs(session, _): DeskAs<Edit>,
    id: web::Path<String>,
    form: DeskForm<Csrf>,
) -> HttpResponse {
    let form = read_form!(form, Some(&session));
    if let Some(refused) = csrf_refusal(&session, &form.csrf) {
        return refused;
    }
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
struct RetractForm {
    csrf: String,
    reason: String,
}

/// `POST /desk/citations/{id}/retract`: with its reason; journalists only
/// their own citations, as through the API.
async fn retract(
    state: web::Data<AppState>,
    DeskAs(session, _): DeskAs<Write>,
    id: web::Path<String>,
    form: DeskForm<RetractForm>,
) -> HttpResponse {
    let form = read_form!(form, Some(&session));
    if let Some(refused) = csrf_refusal(&session, &form.csrf) {
        return refused;
    }
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
async fn citation_done(
    session: &Session,
    done: Result<citations::Citation, ApiError>,
) -> HttpResponse {
    match done {
        Ok(row) => see_other(&article_url(row.article_slug.as_str())),
        Err(error) => error_page(Some(session), &error),
    }
}

/// `GET /desk/sources`: sources newest first, each at its latest version,
/// searchable by URL, title or publisher.
async fn source_list(
    state: web::Data<AppState>,
    DeskSession(session): DeskSession,
    query: web::Query<Search>,
) -> HttpResponse {
    list_page(
        &state,
        &session,
        query.into_inner(),
        sources::search,
        pages::sources,
    )
    .await
}

/// `GET /desk/sources/{id}`: every version of one source.
async fn source(
    state: web::Data<AppState>,
    DeskSession(session): DeskSession,
    id: web::Path<String>,
) -> HttpResponse {
    let id = id.into_inner();
    match state
        .db
        .run(move |conn| sources::versions(conn, &id, true))
        .await
    {
        Ok(versions) => ok_page(pages::source(&session, &versions)),
        Err(error) => error_page(Some(&session), &error),
    }
}
