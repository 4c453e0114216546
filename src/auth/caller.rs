//! The extractor that turns a request's bearer token into a [`Caller`].

use std::future::Future;
use std::pin::Pin;

use actix_web::{FromRequest, HttpRequest, dev::Payload, http::header, web};
use diesel::prelude::*;

use super::Role;
use super::token::Subject;
use crate::db::schema::api_keys;
use crate::error::ApiError;
use crate::startup::AppState;

/// An authenticated caller: a role and the name the ledger records as its actor.
#[derive(Debug, Clone)]
pub struct Caller {
    pub role: Role,
    pub name: String,
    pub subject: Subject,
}

impl Caller {
    /// `role:name`, as ledger entries record who did a thing.
    pub fn actor(&self) -> String {
        format!("{}:{}", self.role, self.name)
    }

    /// Refuses with 403 unless the caller has one of `roles`.
    pub fn require(&self, roles: &[Role]) -> Result<(), ApiError> {
        if roles.contains(&self.role) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "the {} role may not do this",
                self.role
            )))
        }
    }

    /// Subscribers and staff: what a reader of the ledger may read.
    pub fn require_reader(&self) -> Result<(), ApiError> {
        self.require(&READERS)
    }

    pub fn is_reader(&self) -> bool {
        READERS.contains(&self.role)
    }

    /// Staff see drafts and everything else subscribers cannot.
    pub fn is_staff(&self) -> bool {
        STAFF.contains(&self.role)
    }
}

/// Journalists, editors, auditors and admins.
pub const STAFF: [Role; 4] = [Role::Journalist, Role::Editor, Role::Auditor, Role::Admin];
/// Subscribers and staff.
pub const READERS: [Role; 5] = [
    Role::Subscriber,
    Role::Journalist,
    Role::Editor,
    Role::Auditor,
    Role::Admin,
];
/// Who records sources and attaches citations.
pub const WRITERS: [Role; 3] = [Role::Journalist, Role::Editor, Role::Admin];
/// Who publishes, retracts and verifies.
pub const EDITORS: [Role; 2] = [Role::Editor, Role::Admin];

/// A caller who may be anonymous: no Authorization header is `None`, a bad one
/// is still a 401.
pub struct MaybeCaller(pub Option<Caller>);

impl FromRequest for MaybeCaller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            if req.headers().get(header::AUTHORIZATION).is_none() {
                return Ok(MaybeCaller(None));
            }
            authenticate(req).await.map(|c| MaybeCaller(Some(c)))
        })
    }
}

impl Caller {
    /// The API key or subscriber id behind the token.
    pub fn subject_id(&self) -> &str {
        match &self.subject {
            Subject::ApiKey(id) | Subject::Subscriber(id) => id,
        }
    }
}

fn bearer_token(req: &HttpRequest) -> Result<String, ApiError> {
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or_else(|| ApiError::unauthorized("an Authorization: Bearer token is required"))?;
    let value = value
        .to_str()
        .map_err(|_| ApiError::unauthorized("the Authorization header is malformed"))?;
    let (scheme, token) = value.split_once(' ').ok_or_else(|| {
        ApiError::unauthorized("the Authorization header must be `Bearer <token>`")
    })?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(ApiError::unauthorized(
            "the Authorization header must be `Bearer <token>`",
        ));
    }
    Ok(token.trim().to_owned())
}

/// A caller whose token is checked (signature, algorithm, claims) but not yet
/// whether its key or subscriber is still live. [`Unconfirmed::confirm`] does
/// that inside the handler's own database work, saving a round trip on hot paths.
pub struct Unconfirmed(Caller);

impl Unconfirmed {
    /// Refuses with 401 unless the token's key is unrevoked or its subscriber exists.
    pub fn confirm(self, conn: &mut crate::db::DbConnection) -> Result<Caller, ApiError> {
        if subject_is_live(conn, &self.0.subject, self.0.role)? {
            Ok(self.0)
        } else {
            Err(ApiError::unauthorized(
                "the token's key or subscription is no longer valid",
            ))
        }
    }
}

fn check_token(req: &HttpRequest) -> Result<(Unconfirmed, web::Data<AppState>), ApiError> {
    let token = bearer_token(req)?;
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| ApiError::internal("no application state"))?
        .clone();
    // The reason a token fails is not the caller's business beyond "invalid".
    let claims = state
        .tokens
        .check(&token)
        .map_err(|_| ApiError::unauthorized("the token is invalid or expired"))?;
    let subject = claims
        .subject()
        .ok_or_else(|| ApiError::unauthorized("the token is invalid or expired"))?;
    let caller = Caller {
        role: claims.role,
        name: claims.name,
        subject,
    };
    Ok((Unconfirmed(caller), state))
}

async fn authenticate(req: HttpRequest) -> Result<Caller, ApiError> {
    let (unconfirmed, state) = check_token(&req)?;
    state.db.run(move |conn| unconfirmed.confirm(conn)).await
}

/// An optional caller left for the handler to confirm: no Authorization header
/// is `None`; a bad token is still a 401 here.
pub struct MaybeUnconfirmed(pub Option<Unconfirmed>);

impl FromRequest for MaybeUnconfirmed {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(if req.headers().get(header::AUTHORIZATION).is_none() {
            Ok(MaybeUnconfirmed(None))
        } else {
            check_token(req).map(|(u, _)| MaybeUnconfirmed(Some(u)))
        })
    }
}

/// A token works only while what it was minted for is live: the API key not
/// revoked (and still of that role), the subscriber not deleted.
fn subject_is_live(
    conn: &mut crate::db::DbConnection,
    subject: &Subject,
    role: Role,
) -> Result<bool, ApiError> {
    match subject {
        Subject::ApiKey(id) => {
            let row: Option<(String, Option<String>)> = api_keys::table
                .find(id)
                .select((api_keys::role, api_keys::revoked_at))
                .first(conn)
                .optional()?;
            Ok(matches!(row, Some((r, None)) if r == role.as_str()))
        }
        Subject::Subscriber(id) => {
            Ok(role == Role::Subscriber && crate::newsroom::subscribers::find(conn, id)?.is_some())
        }
    }
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        Box::pin(authenticate(req.clone()))
    }
}
