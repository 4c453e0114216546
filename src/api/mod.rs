//! The HTTP surface: actix handlers, their request and response types, and the
//! OpenAPI document collected from the registered services.

pub mod articles;
pub mod audit;
pub mod auth;
pub mod body;
pub mod citations;
pub mod cors;
pub mod encoding;
mod field_rules;
pub mod from_article;
pub mod health;
pub mod keys;
pub mod ledger;
pub mod lookup;
pub mod metrics;
pub mod notifications;
pub mod oembed;
pub mod platforms;
pub mod rate_limit;
pub mod replay;
pub mod snapshots;
pub mod source_list;
pub mod sources;
pub mod subscribers;
pub mod tiles;
pub mod transparency;
pub mod wacz;
pub mod webhooks;
pub mod witness;

use actix_web::body::MessageBody;
use actix_web::dev::{ResourceDef, ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::{Method, header};
use actix_web::{App, HttpRequest, HttpResponse, web};
use utoipa::OpenApi;
use utoipa::openapi::OpenApi as OpenApiDoc;
use utoipa_actix_web::{AppExt, service_config::ServiceConfig};
use utoipa_swagger_ui::{Config, SwaggerUi};

use crate::error::{self, ApiError, ErrorCode, Problem};
use crate::state::AppState;

/// A request header's value as text, when it is present and visible ASCII.
pub(crate) fn header_text(
    req: &actix_web::HttpRequest,
    name: impl actix_web::http::header::AsHeaderName,
) -> Option<&str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// A page of `limit` items: 1 to 1000, 100 when not given.
pub fn page_limit(limit: Option<u32>) -> Result<u32, ApiError> {
    match limit {
        None => Ok(100),
        Some(n @ 1..=1000) => Ok(n),
        Some(_) => Err(ApiError::invalid_field("limit", "must be from 1 to 1000")),
    }
}

/// The largest JSON body the API reads.
pub const JSON_BODY_LIMIT: usize = 2 * 1024 * 1024;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "sourceledger",
        description = "Source transparency and citation ledger: every source behind an article, in an append-only, publicly verifiable log."
    ),
    components(schemas(Problem, crate::newsroom::source_list::SourceTeaser)),
    modifiers(&BearerAuth)
)]
struct BaseDoc;

/// Declares the `bearer` security scheme: a JWT from `POST /v1/auth/token`.
struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, doc: &mut OpenApiDoc) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// Registers every documented endpoint.
fn routes(cfg: &mut ServiceConfig) {
    // actix tries routes in order, a regular expression for each one with a
    // path parameter: the readers' list comes first, as it takes most
    // requests by far (a quarter of its time went on other routes' matching).
    cfg.service(source_list::source_list)
        .service(health::healthz)
        .service(health::readyz)
        .service(oembed::endpoint)
        .service(auth::token)
        .service(auth::exchange)
        .service(platforms::register)
        .service(platforms::list)
        .service(platforms::remove)
        .service(notifications::create)
        .service(notifications::list)
        .service(notifications::remove)
        .service(webhooks::receive)
        .service(ledger::checkpoint)
        .service(ledger::checkpoints)
        .service(ledger::checkpoint_timestamp)
        .service(ledger::key)
        .service(ledger::inclusion_proof)
        .service(ledger::consistency_proof)
        .service(ledger::entries)
        .service(ledger::entry)
        .service(witness::key)
        .service(wacz::key)
        .service(witness::add_checkpoint)
        .service(keys::create)
        .service(keys::list)
        .service(keys::revoke)
        .service(subscribers::create)
        .service(subscribers::remove)
        .service(subscribers::token)
        .service(articles::create)
        .service(articles::list)
        .service(articles::get)
        .service(articles::publish)
        .service(articles::retract)
        .service(from_article::extract)
        .service(from_article::list_proposals)
        .service(from_article::robust_links)
        .service(sources::create)
        .service(sources::revise)
        .service(sources::get)
        .service(sources::versions)
        .service(sources::disclose)
        .service(lookup::lookup)
        .service(snapshots::upload)
        .service(snapshots::download)
        .service(wacz::article)
        .service(wacz::article_head)
        .service(snapshots::capture)
        .service(snapshots::drift)
        .service(citations::attach)
        .service(citations::verify)
        .service(citations::retract)
        .service(audit::events)
        .service(audit::export)
        .service(audit::verify_ledger)
        .service(transparency::figures);
}

/// The OpenAPI document, exactly as the server publishes it at `/openapi.json`.
pub fn openapi() -> OpenApiDoc {
    let mut doc = App::new()
        .into_utoipa_app()
        .openapi(BaseDoc::openapi())
        .configure(routes)
        .split_for_parts()
        .1;
    complete(&mut doc);
    doc
}

/// What the derive cannot say: the refusals every handler shares, and what
/// each checked request field accepts.
fn complete(doc: &mut OpenApiDoc) {
    declare_shared_refusals(doc);
    field_rules::apply(doc);
}

/// Every operation of a path.
fn operations_mut(
    item: &mut utoipa::openapi::PathItem,
) -> impl Iterator<Item = &mut utoipa::openapi::path::Operation> {
    [
        &mut item.get,
        &mut item.head,
        &mut item.post,
        &mut item.put,
        &mut item.patch,
        &mut item.delete,
    ]
    .into_iter()
    .flatten()
}

/// Declares the refusals every handler shares through its extractors, so the
/// document lists each status the server can answer: a JSON body can be too
/// large (413) or of another media type (415); query and path parameters
/// that do not parse, or a query parameter the endpoint does not take, are
/// 400; anything behind a token can be 401; anything but health checks can
/// be 429.
fn declare_shared_refusals(doc: &mut OpenApiDoc) {
    use utoipa::openapi::path::ParameterIn;
    use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
    let problem = |description: &str| {
        ResponseBuilder::new()
            .description(description)
            .content(
                error::PROBLEM_JSON,
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("Problem")))
                    .build(),
            )
            .build()
    };
    for (path, item) in doc.paths.paths.iter_mut() {
        let limited = !matches!(path.as_str(), "/healthz" | "/readyz");
        for operation in operations_mut(item) {
            let mut refusals = Vec::new();
            if operation.request_body.is_some() {
                refusals.push(("413", "the body is larger than 2 MiB"));
                refusals.push(("415", "the body is not application/json"));
            }
            let takes_parameters = operation.parameters.as_ref().is_some_and(|ps| {
                ps.iter().any(|p| match p {
                    RefOr::T(p) => matches!(p.parameter_in, ParameterIn::Query | ParameterIn::Path),
                    RefOr::Ref(_) => true,
                })
            });
            if takes_parameters || operation.request_body.is_some() {
                refusals.push(("400", "a parameter or the body is malformed"));
            }
            if operation.security.is_some() {
                refusals.push(("401", "no valid token"));
            }
            if limited {
                refusals.push(("429", "over the rate limit; see Retry-After"));
            }
            for (status, description) in refusals {
                operation
                    .responses
                    .responses
                    .entry(status.to_owned())
                    .or_insert_with(|| problem(description).into());
            }
        }
    }
}

/// The whole application for one worker.
pub fn app(
    state: web::Data<AppState>,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    // The readers' page and the panel script before the rest, like the list.
    let (app, mut doc) = App::new()
        .route("/articles/{slug}/sources", web::get().to(source_list::page))
        .route("/embed.js", web::get().to(source_list::embed_script))
        .into_utoipa_app()
        .openapi(BaseDoc::openapi())
        .configure(routes)
        .split_for_parts();
    complete(&mut doc);
    let known = web::Data::new(KnownRoutes::from_doc(&doc));
    let doc_json = web::Data::new(doc.to_json().unwrap_or_default());
    // The auth extractors need only these two, not the whole state.
    let tokens = web::Data::from(state.tokens.clone());
    let db = web::Data::new(state.db.clone());
    let rate_limits = web::Data::from(state.rate_limits.clone());
    let embed_origins = web::Data::new(cors::EmbedOrigins(state.settings.embed_origins.clone()));
    let metrics = web::Data::from(state.metrics.clone());
    let liveness = web::Data::from(state.liveness.clone());
    app.app_data(state)
        .app_data(liveness)
        .app_data(metrics)
        .app_data(embed_origins)
        .app_data(rate_limits)
        .app_data(tokens)
        .app_data(db)
        .app_data(known)
        .app_data(doc_json)
        .app_data(web::PayloadConfig::default().limit(JSON_BODY_LIMIT))
        .app_data(web::QueryConfig::default().error_handler(error::query_error))
        .app_data(web::PathConfig::default().error_handler(error::path_error))
        .configure(crate::desk::routes)
        .route("/openapi.json", web::get().to(openapi_json))
        .route("/docs", web::get().to(docs_redirect))
        .route(
            "/assets/sources.css",
            web::get().to(source_list::stylesheet),
        )
        .route(
            "/assets/verify.js",
            web::get().to(source_list::verify_script),
        )
        .route("/assets/page.js", web::get().to(source_list::page_script))
        .route("/articles/{slug}/embed", web::get().to(oembed::view))
        .route("/assets/embed-view.css", web::get().to(oembed::stylesheet))
        .route("/assets/embed-view.js", web::get().to(oembed::script))
        .route("/articles/{slug}/replay", web::get().to(replay::page))
        .route("/assets/wacz-check.js", web::get().to(replay::check_script))
        .route("/replay/", web::get().to(replay::index))
        .route("/replay/index.html", web::get().to(replay::index))
        .route("/replay/ui.js", web::get().to(replay::ui_script))
        .route("/replay/sw.js", web::get().to(replay::service_worker))
        .route("/transparency", web::get().to(transparency::page))
        .route("/checkpoint", web::get().to(tiles::checkpoint))
        .route("/metrics", web::get().to(metrics::metrics))
        .route("/tile/{tail:.*}", web::get().to(tiles::tile))
        .service(SwaggerUi::new("/docs/{_:.*}").config(Config::new(["/openapi.json"])))
        .default_service(web::to(no_route))
        .wrap(actix_web::middleware::from_fn(refuse_nul_in_uri))
        .wrap(actix_web::middleware::from_fn(rate_limit::limit))
        .wrap(actix_web::middleware::from_fn(cors::cors))
        .wrap(actix_web::middleware::from_fn(security_headers))
        .wrap(actix_web::middleware::from_fn(error::problems_only))
        // Everything else by Accept-Encoding; what set its own encoding
        // (lists, pages, assets compressed once; snapshots as stored) is left.
        .wrap(actix_web::middleware::Compress::default())
        .wrap(actix_web::middleware::from_fn(
            crate::telemetry::log_request,
        ))
}

/// `/docs` is the API page's folder: its assets load relative to `/docs/`.
async fn docs_redirect() -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header((header::LOCATION, "/docs/"))
        .finish()
}

/// The browsable API page (Swagger UI, its assets compiled into the binary)
/// loads only its own scripts and styles; every other response is data that no
/// browser should render, run or frame.
const DOCS_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";
const API_CSP: &str = "default-src 'none'; frame-ancestors 'none'";

async fn security_headers(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let csp = if req.path().starts_with("/docs") {
        DOCS_CSP
    } else {
        API_CSP
    };
    let mut response = next.call(req).await?;
    let headers = response.headers_mut();
    // A page that set its own policy (the source page) keeps it.
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            header::HeaderValue::from_static(csp),
        );
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        header::HeaderValue::from_static("nosniff"),
    );
    Ok(response)
}

/// No text may hold NUL, whatever the backend (PostgreSQL cannot store it):
/// a path or query string carrying `%00` is refused before any handler.
async fn refuse_nul_in_uri(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<actix_web::body::EitherBody<impl MessageBody>>, actix_web::Error> {
    let carries_nul = req
        .uri()
        .path_and_query()
        .is_some_and(|pq| pq.as_str().contains("%00"));
    if carries_nul {
        let refusal = error::ApiError::new(
            error::ErrorCode::InvalidText,
            "text must not contain NUL characters",
        );
        let response = actix_web::ResponseError::error_response(&refusal);
        return Ok(req.into_response(response).map_into_right_body());
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_left_body)
}

async fn openapi_json(doc: web::Data<String>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(doc.get_ref().clone())
}

/// The paths the API serves and the methods each takes, read from the OpenAPI
/// document, so that a wrong method gets 405 rather than 404.
struct KnownRoutes(Vec<(ResourceDef, Vec<Method>)>);

impl KnownRoutes {
    fn from_doc(doc: &OpenApiDoc) -> Self {
        let mut routes: Vec<(ResourceDef, Vec<Method>)> = doc
            .paths
            .paths
            .iter()
            .map(|(path, item)| {
                let methods = [
                    (Method::GET, item.get.is_some()),
                    (Method::POST, item.post.is_some()),
                    (Method::PUT, item.put.is_some()),
                    (Method::PATCH, item.patch.is_some()),
                    (Method::DELETE, item.delete.is_some()),
                ]
                .into_iter()
                .filter_map(|(m, present)| present.then_some(m))
                .collect();
                (ResourceDef::new(path.as_str()), methods)
            })
            .collect();
        routes.push((ResourceDef::new("/openapi.json"), vec![Method::GET]));
        routes.push((ResourceDef::new("/docs"), vec![Method::GET]));
        routes.push((ResourceDef::new("/docs/{_:.*}"), vec![Method::GET]));
        Self(routes)
    }

    fn methods_for(&self, path: &str) -> Option<&[Method]> {
        self.0
            .iter()
            .find(|(def, _)| def.is_match(path))
            .map(|(_, methods)| methods.as_slice())
    }
}

async fn no_route(req: HttpRequest, known: web::Data<KnownRoutes>) -> HttpResponse {
    use actix_web::ResponseError;
    match known.methods_for(req.path()) {
        Some(methods) => {
            let allow = methods
                .iter()
                .map(Method::as_str)
                .collect::<Vec<_>>()
                .join(", ");
            let mut response = ApiError::new(
                ErrorCode::MethodNotAllowed,
                format!("{} is not allowed here; allowed: {allow}", req.method()),
            )
            .error_response();
            if let Ok(value) = header::HeaderValue::from_str(&allow) {
                response.headers_mut().insert(header::ALLOW, value);
            }
            response
        }
        None => ApiError::not_found(format!("no such resource: {}", req.path())).error_response(),
    }
}
