//! The extractors that turn a request's bearer token into a [`Caller`].
//!
//! They need only the token keys, the database and the [`Liveness`] set, each
//! registered as app data of its own. [`Allowed`] checks the role before a handler (or any body
//! reader) runs: a caller who may not do a thing learns nothing about how to.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;

use actix_web::{FromRequest, HttpRequest, dev::Payload, http::header, web};

use super::Role;
use super::live::{self, Liveness};
use super::token::{Subject, TokenKeys};
use crate::db::{Db, DbConnection};
use crate::error::ApiError;

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

    pub fn is_reader(&self) -> bool {
        READERS.contains(&self.role)
    }

    /// Staff see drafts and everything else subscribers cannot.
    pub fn is_staff(&self) -> bool {
        STAFF.contains(&self.role)
    }

    /// The API key or subscriber id behind the token, or the `iss#sub` of
    /// a staff member signed in through single sign-on.
    pub fn subject_id(&self) -> &str {
        match &self.subject {
            Subject::ApiKey(id) | Subject::Subscriber(id) | Subject::Staff(id) => id,
        }
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

/// What a handler requires of its caller: the roles that may call it.
pub trait Permission {
    const ROLES: &'static [Role];
}

/// Read sources and ledger entries: subscribers and staff.
pub struct Read;
/// Record sources and attach citations: journalists, editors, admins.
pub struct Write;
/// Publish, retract and verify: editors and admins.
pub struct Edit;
/// Search, export and verify the ledger: auditors and admins.
pub struct Audit;
/// Create and delete subscribers and mint their tokens: the platform, admins.
pub struct ManageSubscribers;
/// Manage API keys: admins.
pub struct Administer;
/// See what only the newsroom sees (drafts, link drift): staff.
pub struct Staff;

impl Permission for Staff {
    const ROLES: &'static [Role] = &STAFF;
}
impl Permission for Read {
    const ROLES: &'static [Role] = &READERS;
}
impl Permission for Write {
    const ROLES: &'static [Role] = &[Role::Journalist, Role::Editor, Role::Admin];
}
impl Permission for Edit {
    const ROLES: &'static [Role] = &[Role::Editor, Role::Admin];
}
impl Permission for Audit {
    const ROLES: &'static [Role] = &[Role::Auditor, Role::Admin];
}
impl Permission for ManageSubscribers {
    const ROLES: &'static [Role] = &[Role::Integration, Role::Admin];
}
impl Permission for Administer {
    const ROLES: &'static [Role] = &[Role::Admin];
}

/// A live caller whose role `P` admits. Extracted before anything reads the
/// body: no token is 401, a role `P` does not admit is 403, both answered
/// before the first await, and a revoked key or deleted subscriber is 401.
pub struct Allowed<P: Permission> {
    pub caller: Caller,
    permission: PhantomData<P>,
}

impl<P: Permission> Allowed<P> {
    pub fn actor(&self) -> String {
        self.caller.actor()
    }
}

impl<P: Permission> std::ops::Deref for Allowed<P> {
    type Target = Caller;
    fn deref(&self) -> &Caller {
        &self.caller
    }
}

impl<P: Permission + 'static> FromRequest for Allowed<P> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let checked = check_token(req).and_then(|unconfirmed| {
            if P::ROLES.contains(&unconfirmed.0.role) {
                Ok(unconfirmed)
            } else {
                Err(ApiError::forbidden(format!(
                    "the {} role may not do this",
                    unconfirmed.0.role
                )))
            }
        });
        let db = database(req);
        let liveness = liveness(req);
        Box::pin(async move {
            let unconfirmed = checked?;
            let caller = unconfirmed.confirm_via(db?, liveness?).await?;
            Ok(Allowed {
                caller,
                permission: PhantomData,
            })
        })
    }
}

/// A caller who may be anonymous: no Authorization header is `None`, a bad one
/// is still a 401.
pub struct MaybeCaller(pub Option<Caller>);

impl MaybeCaller {
    pub fn is_staff(&self) -> bool {
        self.0.as_ref().is_some_and(Caller::is_staff)
    }
}

impl FromRequest for MaybeCaller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        if req.headers().get(header::AUTHORIZATION).is_none() {
            return Box::pin(std::future::ready(Ok(MaybeCaller(None))));
        }
        let authenticated = authenticate(req);
        Box::pin(async move { authenticated.await.map(|c| MaybeCaller(Some(c))) })
    }
}

fn bearer_token(req: &HttpRequest) -> Result<&str, ApiError> {
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or_else(|| ApiError::unauthorized("an Authorization: Bearer token is required"))?;
    let value = value
        .to_str()
        .map_err(|_| ApiError::unauthorized("the Authorization header is malformed"))?;
    bearer_of(value)
        .ok_or_else(|| ApiError::unauthorized("the Authorization header must be `Bearer <token>`"))
}

/// The token of an `Authorization` value `Bearer <token>`, the scheme in any
/// case (RFC 9110 11.1), or `None`.
pub fn bearer_of(value: &str) -> Option<&str> {
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// A caller whose token is checked (signature, algorithm, claims) but not yet
/// whether its key or subscriber is still live. [`Unconfirmed::confirm`] does
/// that inside the handler's own database work, saving a round trip on hot paths.
pub struct Unconfirmed(Caller);

impl Unconfirmed {
    /// Refuses with 401 unless the token's key is unrevoked or its subscriber exists.
    pub fn confirm(self, conn: &mut DbConnection) -> Result<Caller, ApiError> {
        if live::subject_is_live(conn, &self.0.subject, self.0.role)? {
            Ok(self.0)
        } else {
            Err(ApiError::unauthorized(
                "the token's key or subscription is no longer valid",
            ))
        }
    }
}

impl Unconfirmed {
    /// The caller, confirmed live from this process's memory when it can be
    /// ([`Liveness`]), with no database hop.
    pub fn confirmed_in_memory(&self, liveness: &Liveness) -> Option<Caller> {
        liveness
            .known_live(&self.0.subject, self.0.role)
            .then(|| self.0.clone())
    }

    /// The caller confirmed live: from memory, else from the database (and
    /// then remembered).
    pub async fn confirm_via(
        self,
        db: Db,
        liveness: web::Data<Liveness>,
    ) -> Result<Caller, ApiError> {
        if let Some(caller) = self.confirmed_in_memory(&liveness) {
            return Ok(caller);
        }
        let generation = liveness.generation();
        let caller = db.run(move |conn| self.confirm(conn)).await?;
        liveness.remember(caller.subject.clone(), caller.role, generation);
        Ok(caller)
    }
}

fn liveness(req: &HttpRequest) -> Result<web::Data<Liveness>, ApiError> {
    req.app_data::<web::Data<Liveness>>()
        .cloned()
        .ok_or_else(|| ApiError::internal("no liveness registered"))
}

fn database(req: &HttpRequest) -> Result<Db, ApiError> {
    req.app_data::<web::Data<Db>>()
        .map(|db| db.get_ref().clone())
        .ok_or_else(|| ApiError::internal("no database registered"))
}

fn check_token(req: &HttpRequest) -> Result<Unconfirmed, ApiError> {
    let token = bearer_token(req)?;
    let keys = req
        .app_data::<web::Data<TokenKeys>>()
        .ok_or_else(|| ApiError::internal("no token keys registered"))?;
    Unconfirmed::from_token(keys, token)
}

impl Unconfirmed {
    /// The caller a token names, its key or subscriber not yet confirmed live.
    pub fn from_token(keys: &TokenKeys, token: &str) -> Result<Unconfirmed, ApiError> {
        // The reason a token fails is not the caller's business beyond "invalid".
        let claims = keys
            .check(token)
            .map_err(|_| ApiError::unauthorized("the token is invalid or expired"))?;
        // No token is minted for a single sign-on subject (only a desk
        // session has one): a token that names one is refused, as it could
        // not be revoked.
        let subject = claims
            .subject()
            .filter(|subject| !matches!(subject, Subject::Staff(_)))
            .ok_or_else(|| ApiError::unauthorized("the token is invalid or expired"))?;
        Ok(Unconfirmed(Caller {
            role: claims.role,
            name: claims.name,
            subject,
        }))
    }
}

/// Checks the token now and confirms its subject in the returned future.
fn authenticate(req: &HttpRequest) -> impl Future<Output = Result<Caller, ApiError>> + 'static {
    let checked = check_token(req);
    let db = database(req);
    let liveness = liveness(req);
    async move {
        let unconfirmed = checked?;
        unconfirmed.confirm_via(db?, liveness?).await
    }
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
            check_token(req).map(|u| MaybeUnconfirmed(Some(u)))
        })
    }
}
