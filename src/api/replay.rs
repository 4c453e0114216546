//! Replay for readers (SPEC "Web archives (WACZ)"): the article's signed
//! web archive opened in the reader's own browser by ReplayWeb.page, whose
//! files (`vendor/replaywebpage`, unmodified) this server serves under
//! `/replay/`: nothing comes from a CDN.
//!
//! Replayed pages run the scripts of the pages archived, in the origin of
//! the service worker that replays them. That origin must never be the
//! desk's (its session cookie would be theirs), nor see a reader's token: so
//! replay runs on an origin of its own (`SOURCELEDGER_REPLAY_ORIGIN`), and
//! the reader's token, checked on the newsroom's origin, becomes a grant to
//! read that one package for a few hours (`auth::package_access`), the only
//! thing the replay origin ever holds.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use maud::{DOCTYPE, html};
use serde::Deserialize;

use crate::auth::{Unconfirmed, package_access};
use crate::error::{ApiError, ErrorCode};
use crate::fields::HttpUrl;
use crate::newsroom::articles;
use crate::state::AppState;

/// The ReplayWeb.page version served (`vendor/replaywebpage/README.md`).
pub const REPLAYWEBPAGE_VERSION: &str = "2.5.3";
const UI_JS: &[u8] = include_bytes!("../../vendor/replaywebpage/ui.js");
const SW_JS: &[u8] = include_bytes!("../../vendor/replaywebpage/sw.js");
const INDEX_HTML: &[u8] = include_bytes!("../../vendor/replaywebpage/index.html");
/// The replay page's own check of the archive (`src/web/wacz_check.js`).
const WACZ_CHECK_JS: &str = include_str!("../web/wacz_check.js");

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplayQuery {
    /// A subscriber's or staff token (on the newsroom's origin).
    token: Option<String>,
    /// A grant to read the article's package (on the replay origin).
    access: Option<String>,
    /// The archived page to open first.
    url: Option<String>,
}

/// The service worker with wabac.js's hash checks on (`useHashCheck`, off
/// by default): the package's own files are hashed as they are read and
/// compared with datapackage.json, so the receipt's "Validation" counts them.
/// ReplayWeb.page appends `?serveIndex=1` to this name; the trailing `&v`
/// keeps that from running into the last parameter. The package is loaded
/// in the service worker itself (`noWebWorker`): the web worker ReplayWeb.page
/// would load it in otherwise does not read the parameter.
const SW_NAME: &str = "sw.js?useHashCheck=1&serveIndex=1&v";

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// `GET /articles/{slug}/replay`: on the newsroom's origin with `?token=`,
/// checks the reader and sends them on to the replay origin with a grant;
/// on the replay origin with `?access=`, the replay page.
pub async fn page(
    req: HttpRequest,
    state: web::Data<AppState>,
    slug: web::Path<String>,
    query: web::Query<ReplayQuery>,
) -> Result<HttpResponse, ApiError> {
    let slug = slug.into_inner();
    let Some(replay_origin) = state.settings.replay_origin.clone() else {
        return Err(ApiError::not_found(
            "replay is not offered here: SOURCELEDGER_REPLAY_ORIGIN is not set",
        ));
    };
    let url = query
        .url
        .as_deref()
        .map(|u| HttpUrl::parse("url", u))
        .transpose()?;
    let on_replay_origin = request_origin(&req) == replay_origin;
    if let Some(access) = &query.access {
        if !package_access::allows(&state.sealing, access, &slug, now()) {
            return Err(ApiError::unauthorized(
                "this replay link has expired: open it again from the article's sources",
            ));
        }
        if !on_replay_origin {
            return Ok(see_other(&format!(
                "{replay_origin}{}",
                req.uri()
                    .path_and_query()
                    .map(|p| p.as_str())
                    .unwrap_or_default()
            )));
        }
        let lookup = slug.clone();
        let article = state
            .db
            .run(move |conn| articles::get(conn, &lookup))
            .await?;
        if !article.is_public() {
            return Err(ApiError::not_found(format!("no article {slug:?}")));
        }
        let keys = (state.ledger.vkey(), state.wacz_key.public_key());
        return Ok(replay_page(
            &article,
            access,
            url.as_ref(),
            (keys.0, &keys.1),
        ));
    }
    let token = query.token.clone().ok_or_else(|| {
        ApiError::unauthorized("replay is for subscribers: open it from the article's sources")
    })?;
    let caller = Unconfirmed::from_token(&state.tokens, &token)?;
    let lookup = slug.clone();
    let public = state
        .db
        .run(move |conn| {
            let caller = caller.confirm(conn)?;
            let article = articles::get(conn, &lookup)?;
            Ok::<_, ApiError>(caller.is_reader() && article.is_public())
        })
        .await?;
    if !public {
        return Err(ApiError::not_found(format!(
            "no article {slug:?} to replay"
        )));
    }
    let grant = package_access::grant(&state.sealing, &slug, now())
        .ok_or_else(|| ApiError::internal("no package access key"))?;
    let mut target = url::Url::parse(&format!("{replay_origin}/articles/{slug}/replay"))
        .map_err(|_| ApiError::new(ErrorCode::InvalidPath, "not a slug"))?;
    target.query_pairs_mut().append_pair("access", &grant);
    if let Some(url) = &url {
        target.query_pairs_mut().append_pair("url", url.as_str());
    }
    Ok(see_other(target.as_str()))
}

/// The origin the request was made to, as the browser named it.
fn request_origin(req: &HttpRequest) -> String {
    let info = req.connection_info();
    format!("{}://{}", info.scheme(), info.host())
}

fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

/// The page's policy: its own scripts and frames (ReplayWeb.page's iframe
/// and worker), styles inline too (ReplayWeb.page's elements set them), and
/// `data:` fetches (its icons are fetched from `data:` URLs).
const PAGE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self' data:; frame-src 'self'; worker-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

fn replay_page(
    article: &articles::Article,
    access: &str,
    url: Option<&HttpUrl>,
    (vkey, wacz_key): (&str, &str),
) -> HttpResponse {
    // A slug and a grant (`<digits>.<hex>`) need no escaping in a path.
    let package = format!("/v1/articles/{}/archive.wacz?access={access}", article.slug);
    let body = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="referrer" content="no-referrer";
                title { "Archived sources: " (article.title) }
                link rel="stylesheet" href="/assets/sources.css";
                script src="/replay/ui.js" {}
                script src="/assets/verify.js" defer {}
                script src="/assets/wacz-check.js" defer {}
            }
            body.replay {
                header {
                    p.kicker { "Archived sources, replayed in your browser" }
                    h1 { (article.title) }
                    p {
                        "The newsroom's web archive of the pages this article cites, "
                        "signed and proven in its ledger, opened here by ReplayWeb.page. "
                        "Under \u{201c}This embed is part of a web archive\u{201d}, "
                        "\u{201c}Validation\u{201d} says how many of the package's hashes your browser checked "
                        "and the \u{201c}Observer Public Key\u{201d} is the key the package is signed with, "
                        "which the newsroom publishes at /v1/wacz/key."
                    }
                    p { a href=(package) download=(format!("{}.wacz", article.slug)) { "Download the archive (WACZ)" } }
                    p #archive-check role="status" data-state="checking"
                        data-package=(package) data-vkey=(vkey) data-wacz-key=(wacz_key) {
                        "Checking the archive in your browser\u{2026}"
                    }
                }
                main {
                    replay-web-page
                        source=(package)
                        url=[url.map(HttpUrl::as_str)]
                        replayBase="/replay/"
                        swName=(SW_NAME)
                        noWebWorker
                        embed="replay-with-info" {}
                }
                footer {
                    p {
                        "Replay by ReplayWeb.page " (REPLAYWEBPAGE_VERSION)
                        " (Webrecorder, GNU AGPL 3.0 or later; source at "
                        a href="https://github.com/webrecorder/replayweb.page" rel="noopener noreferrer" { "github.com/webrecorder/replayweb.page" }
                        ")."
                    }
                }
            }
        }
    };
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CONTENT_SECURITY_POLICY, PAGE_CSP))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body.into_string())
}

/// `/replay/index.html`: ReplayWeb.page's app, in the frame the replay
/// page's element opens (its service worker serves the same once it runs).
pub async fn index() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header((header::CONTENT_SECURITY_POLICY, FRAME_CSP))
        .body(INDEX_HTML)
}

/// The app frame's policy: as the page's, framed by the page alone.
const FRAME_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self' data:; frame-src 'self'; worker-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'self'";

/// `/assets/wacz-check.js`: the replay page's check of the archive.
pub async fn check_script() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(WACZ_CHECK_JS)
}

/// `/replay/ui.js`: ReplayWeb.page's element.
pub async fn ui_script() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
        .body(UI_JS)
}

/// `/replay/sw.js`: ReplayWeb.page's service worker (wabac.js), scoped to
/// `/replay/`. Its policy lets it fetch packages from this server and
/// compile the WebAssembly it hashes with; what it serves to the replayed
/// pages carries the policy it sets itself.
pub async fn service_worker() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self' data: blob:; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self'",
        ))
        .body(SW_JS)
}
