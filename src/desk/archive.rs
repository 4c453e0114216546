//! The desk's archived copies and links: a copy seen by staff, a source
//! captured now or given a file, and the drift queue of links that changed
//! or went away.

use actix_multipart::Multipart;
use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::StreamExt;
use serde::Deserialize;

use super::extract::{DeskAs, DeskForm, DeskSession, checked_form, csrf_refusal};
use super::{error_page, ok_page, pages, see_other};
use crate::api::snapshots::{capture_source, send};
use crate::archive::copies::Upload;
use crate::archive::drift;
use crate::archive::snapshots;
use crate::archive::store::valid_name;
use crate::auth::Write;
use crate::error::{ApiError, ErrorCode};
use crate::newsroom::captures;
use crate::newsroom::sources::{self, Captured};
use crate::state::AppState;

/// `GET /desk/snapshots/{sha256}`: an archived copy as stored (`?format=warc`
/// for a capture's WARC), never run as a page of ours.
pub(super) async fn snapshot(
    req: HttpRequest,
    state: web::Data<AppState>,
    DeskSession(session): DeskSession,
    sha256: web::Path<String>,
) -> HttpResponse {
    let sha256 = sha256.into_inner();
    let warc = req.query_string() == "format=warc";
    if !valid_name(&sha256) {
        return error_page(
            Some(&session),
            &ApiError::not_found("no such archived copy"),
        );
    }
    let lookup = sha256.clone();
    let found = state
        .db
        .run(move |conn| snapshots::find(conn, &lookup))
        .await;
    let answer = match found {
        Ok(Some(row)) => send(&req, &state, &row, warc).await,
        Ok(None) => Err(ApiError::not_found(format!("no archived copy {sha256}"))),
        Err(error) => Err(error),
    };
    answer.unwrap_or_else(|error| error_page(Some(&session), &error))
}

#[derive(Deserialize)]
pub(super) struct CaptureForm {
    csrf: String,
    /// Where to go after: a desk page.
    back: Option<String>,
}

/// A desk address to go back to, or the fallback.
fn back_to(back: Option<&str>, fallback: String) -> String {
    match back {
        Some(to) if to.starts_with("/desk") && !to.starts_with("/desk//") => to.to_owned(),
        _ => fallback,
    }
}

/// `POST /desk/sources/{id}/capture`: fetches the source's page into the
/// archive now and records it as the source's next version.
pub(super) async fn capture(
    state: web::Data<AppState>,
    DeskAs(session, _): DeskAs<Write>,
    id: web::Path<String>,
    form: DeskForm<CaptureForm>,
) -> HttpResponse {
    let form = checked_form!(form, &session);
    let id = id.into_inner();
    let back = back_to(form.back.as_deref(), source_url(&id));
    match capture_source(&state, id, session.caller.actor()).await {
        Ok(_) => see_other(&back),
        Err(error) => error_page(Some(&session), &error),
    }
}

pub(super) fn source_url(id: &str) -> String {
    format!("/desk/sources/{id}")
}

#[derive(Deserialize)]
pub(super) struct UploadQuery {
    csrf: String,
}

/// `POST /desk/sources/{id}/upload?csrf=…`: a file (multipart, field `file`)
/// kept as the source's archived copy and recorded as its next version. The
/// token rides in the address so that it is checked before a byte of the
/// file is read; the file streams to storage, never held whole.
pub(super) async fn upload(
    req: HttpRequest,
    state: web::Data<AppState>,
    DeskAs(session, _): DeskAs<Write>,
    id: web::Path<String>,
    query: Option<web::Query<UploadQuery>>,
    payload: web::Payload,
) -> HttpResponse {
    let token = query.map(|q| q.into_inner().csrf).unwrap_or_default();
    if let Some(refused) = csrf_refusal(&session, &token) {
        return refused;
    }
    let id = id.into_inner();
    match store_upload(&req, &state, &session.caller.actor(), &id, payload).await {
        Ok(()) => see_other(&source_url(&id)),
        Err(error) => error_page(Some(&session), &error),
    }
}

async fn store_upload(
    req: &HttpRequest,
    state: &AppState,
    actor: &str,
    id: &str,
    payload: web::Payload,
) -> Result<(), ApiError> {
    let lookup = id.to_owned();
    // The source first: nothing is stored for one that does not exist.
    state
        .db
        .run(move |conn| sources::latest(conn, &lookup))
        .await?;
    let mut parts = Multipart::new(req.headers(), payload.into_inner());
    let unreadable = |e: actix_multipart::MultipartError| {
        ApiError::new(
            ErrorCode::BadRequest,
            format!("the file could not be read: {e}"),
        )
    };
    let file = loop {
        match parts.next().await {
            Some(Ok(field)) if field.name() == Some("file") => break field,
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err(unreadable(e)),
            None => {
                return Err(ApiError::new(
                    ErrorCode::BadRequest,
                    "choose a file to upload",
                ));
            }
        }
    };
    let upload = Upload {
        content_type: file.content_type().map(|m| m.essence_str().to_owned()),
        declared_length: None,
        body: file,
    };
    let (row, _) = state
        .archive
        .upload(&state.db, upload, actor.to_owned())
        .await?;
    let captured = Captured {
        archive_url: captures::archive_url(&state.settings.public_url, &row.sha256),
        snapshot_sha256: row.sha256.clone(),
        captured_at: row.stored_at.clone(),
        warc_sha256: None,
    };
    let (embargo, actor, id) = (state.embargo(), actor.to_owned(), id.to_owned());
    state
        .writer
        .write(move |conn, seq| sources::record_capture(conn, seq, embargo, &actor, &id, captured))
        .await?;
    Ok(())
}

/// How many citations the drift queue shows.
const QUEUED: u32 = 200;

/// `GET /desk/drift`: the drift queue.
pub(super) async fn drift_queue(
    state: web::Data<AppState>,
    DeskSession(session): DeskSession,
) -> HttpResponse {
    let found = state
        .db
        .run(|conn| {
            let queue = drift::queue(conn, QUEUED)?;
            let failed = crate::newsroom::follow_up::failed_captures(conn)?;
            Ok::<_, crate::error::ApiError>((queue, failed))
        })
        .await;
    match found {
        Ok((queue, failed)) => ok_page(pages::links::drift(&session, &queue, &failed)),
        Err(error) => error_page(Some(&session), &error),
    }
}

#[derive(Deserialize)]
pub(super) struct ReviewForm {
    csrf: String,
    source_id: String,
    link_entry: i64,
}

/// `POST /desk/drift/review`: marks a link's change reviewed.
pub(super) async fn review(
    state: web::Data<AppState>,
    DeskAs(session, _): DeskAs<Write>,
    form: DeskForm<ReviewForm>,
) -> HttpResponse {
    let form = checked_form!(form, &session);
    let actor = session.caller.actor();
    let done = state
        .writer
        .write(move |conn, seq| drift::review(conn, seq, &actor, &form.source_id, form.link_entry))
        .await;
    match done {
        Ok(()) => see_other("/desk/drift"),
        Err(error) => error_page(Some(&session), &error),
    }
}
