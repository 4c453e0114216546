//! The desk's sources: the list and search, one source's page (open, or
//! sealed), and disclosing a sealed one.

use actix_web::{HttpResponse, web};

use super::extract::{Csrf, DeskAs, DeskForm, DeskSession, checked_form};
use super::newsroom::{LISTED, Search};
use super::{error_page, may, ok_page, pages, see_other};
use crate::archive::drift;
use crate::auth::{Edit, Write};
use crate::error::ApiError;
use crate::newsroom::sealed::{self, SealedSource};
use crate::newsroom::sources::{self, SourceVersion};
use crate::state::AppState;

/// `GET /desk/sources`: sources newest first, each at its latest version,
/// searchable by URL, title or publisher; then the sealed ones.
pub(super) async fn source_list(
    state: web::Data<AppState>,
    DeskSession(session): DeskSession,
    query: web::Query<Search>,
) -> HttpResponse {
    let q = query.into_inner().q.unwrap_or_default();
    let (text, st) = (q.clone(), state.clone());
    let reveal = sealed::may_read_sealed(session.caller.role);
    let found = state
        .db
        .run(move |conn| {
            let open = sources::search(conn, Some(&text), LISTED)?;
            // Sealed sources have no URL or title to search: listed when
            // nothing is searched for.
            let sealed = match text.trim().is_empty() {
                true => sealed::list(conn, &st.sealing, LISTED, reveal)?,
                false => Vec::new(),
            };
            Ok::<_, ApiError>((open, sealed))
        })
        .await;
    match found {
        Ok((open, sealed)) => ok_page(pages::sources(&session, &q, &open, &sealed)),
        Err(error) => error_page(Some(&session), &error),
    }
}

/// One source as the desk shows it.
enum Shown {
    Open(Vec<SourceVersion>, Vec<drift::LinkEvent>),
    Sealed(Box<SealedSource>),
}

/// `GET /desk/sources/{id}`: every version of one source, its archive and
/// link history; or a sealed source, as the session's role may see it.
pub(super) async fn source(
    state: web::Data<AppState>,
    DeskSession(session): DeskSession,
    id: web::Path<String>,
) -> HttpResponse {
    let id = id.into_inner();
    let st = state.clone();
    let reveal = sealed::may_read_sealed(session.caller.role);
    let found = state
        .db
        .run(move |conn| {
            if let Some(sealed) = sealed::get(conn, &st.sealing, &id, reveal)? {
                return Ok::<_, ApiError>(Shown::Sealed(Box::new(sealed)));
            }
            let versions = sources::versions(conn, &id, true)?;
            Ok(Shown::Open(versions, drift::history(conn, &id)?))
        })
        .await;
    match found {
        Ok(Shown::Open(versions, history)) => ok_page(pages::source(
            &session,
            &versions,
            &history,
            may::<Write>(&session),
        )),
        Ok(Shown::Sealed(sealed)) => ok_page(pages::sealed::page(
            &session,
            &sealed,
            may::<Edit>(&session),
        )),
        Err(error) => error_page(Some(&session), &error),
    }
}

/// `POST /desk/sources/{id}/disclose` (editors): the sealed record and its
/// salt into the ledger, for good.
pub(super) async fn disclose(
    state: web::Data<AppState>,
    DeskAs(session, _): DeskAs<Edit>,
    id: web::Path<String>,
    form: DeskForm<Csrf>,
) -> HttpResponse {
    checked_form!(form, &session);
    let id = id.into_inner();
    let (st, actor, target) = (state.clone(), session.caller.actor(), id.clone());
    let done = state
        .writer
        .write(move |conn, seq| sealed::disclose(conn, seq, &st.sealing, &actor, &target))
        .await;
    match done {
        Ok(_) => see_other(&format!("/desk/sources/{id}")),
        Err(error) => error_page(Some(&session), &error),
    }
}
