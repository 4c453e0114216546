//! One error type for the whole API, written as RFC 9457 `application/problem+json`
//! with a stable machine-readable `code`. Internal details go to the log, never
//! to the client.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// Declares [`ErrorCode`]: each variant and the one string it is on the wire.
macro_rules! error_codes {
    ($($(#[doc = $doc:literal])* $variant:ident = $code:literal,)*) => {
        /// Every stable, machine-readable `code` a problem can carry. Clients
        /// branch on these: a code once published never changes meaning.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum ErrorCode {
            $($(#[doc = $doc])* $variant,)*
        }

        impl ErrorCode {
            pub const ALL: &[ErrorCode] = &[$(ErrorCode::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $code,)*
                }
            }
        }
    };
}

error_codes! {
    /// A request field is missing or wrong; `field` names it.
    InvalidField = "invalid_field",
    /// The body does not have the shape the endpoint takes.
    InvalidBody = "invalid_body",
    /// The body is not JSON.
    MalformedJson = "malformed_json",
    /// The body is not `application/json`.
    UnsupportedMediaType = "unsupported_media_type",
    /// A query parameter is unknown or of the wrong type.
    InvalidQuery = "invalid_query",
    /// A path segment is of the wrong type.
    InvalidPath = "invalid_path",
    /// Text holds a NUL character.
    InvalidText = "invalid_text",
    /// An index or tree size past the log's end.
    OutOfRange = "out_of_range",
    /// A request the server could not read.
    BadRequest = "bad_request",
    /// No token, or one that is invalid, expired or revoked.
    Unauthorized = "unauthorized",
    /// The caller's role may not do this.
    Forbidden = "forbidden",
    NotFound = "not_found",
    MethodNotAllowed = "method_not_allowed",
    /// A record with these values exists already.
    Conflict = "conflict",
    /// An article with this slug exists already.
    SlugTaken = "slug_taken",
    /// A live key of this role and name exists already.
    NameTaken = "name_taken",
    /// Revoking this key would leave no live admin key.
    LastAdmin = "last_admin",
    /// The record is not in a state that allows this change.
    InvalidTransition = "invalid_transition",
    /// Citations cannot be attached to a retracted article.
    ArticleRetracted = "article_retracted",
    /// A citation names a source version that does not exist.
    UnknownSource = "unknown_source",
    /// A sealed source is not revised, captured or cited.
    SealedSource = "sealed_source",
    /// A revision that would change nothing.
    NoChange = "no_change",
    /// The URL, or an address it leads to, may not be fetched (SPEC
    /// "Outbound requests").
    FetchRefused = "fetch_refused",
    /// The source could not be fetched, or did not answer with a page to keep.
    CaptureFailed = "capture_failed",
    /// A valid identity from a membership platform, but no subscriber it may
    /// speak for.
    NotASubscriber = "not_a_subscriber",
    /// A membership platform's keys cannot be fetched right now.
    PlatformUnavailable = "platform_unavailable",
    /// A webhook delivery without a valid signature, or signed too long ago.
    InvalidSignature = "invalid_signature",
    /// The thing is gone for good (a removed platform's webhook).
    Gone = "gone",
    /// Over the rate limit; try again after `Retry-After` seconds.
    TooManyRequests = "too_many_requests",
    /// As a witness: a checkpoint not cosigned because the log's own
    /// signature names another root for the same size (a fork), or it rolls
    /// back what was cosigned; `detail` says which.
    CheckpointRefused = "checkpoint_refused",
    /// As a witness: an add-checkpoint request that cannot be read.
    InvalidCheckpoint = "invalid_checkpoint",
    /// As a witness: the checkpoint carries no signature by the log's key.
    CheckpointUnsigned = "checkpoint_unsigned",
    /// As a witness: a log this server does not witness.
    UnknownLog = "unknown_log",
    /// As a witness: the consistency proof does not verify.
    InvalidProof = "invalid_proof",
    /// A byte range past the end of what is asked for.
    RangeNotSatisfiable = "range_not_satisfiable",
    /// The ledger entry would exceed 64 KiB.
    RecordTooLarge = "record_too_large",
    PayloadTooLarge = "payload_too_large",
    UriTooLong = "uri_too_long",
    HeadersTooLarge = "headers_too_large",
    /// The server does not answer in the format asked for (oEmbed's XML).
    NotImplemented = "not_implemented",
    /// The database is busy or unreachable, or the object store is; try
    /// again (see `Retry-After`).
    Unavailable = "unavailable",
    /// No space left to store the write (507); reads go on. Try again (see
    /// `Retry-After`) once the operator has freed space.
    StorageFull = "storage_full",
    /// A failure of ours; the details are in the server's log.
    Internal = "internal",
    /// Any other error status.
    Error = "error",
}

/// The wire format of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the problem type: `urn:sourceledger:problem:<code>`.
    #[serde(rename = "type")]
    pub problem_type: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Stable machine-readable code, e.g. `invalid_field` or `not_found`.
    pub code: ErrorCode,
    /// The request field at fault, where there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// `Retry-After` for a full disk: space comes back when an operator acts.
const STORAGE_RETRY_SECS: u64 = 30;
/// `Retry-After` for a database or object store that does not answer.
const UNREACHABLE_RETRY_SECS: u64 = 5;

#[derive(Debug, Clone)]
pub struct ApiError {
    status: StatusCode,
    code: ErrorCode,
    detail: String,
    field: Option<String>,
    retry_after_secs: Option<u64>,
}

impl ErrorCode {
    /// The one status every error of this code answers with. (`error`,
    /// which stands for any status the framework produced, says 500 here: it
    /// is made with the status it stands for.)
    pub fn status(self) -> StatusCode {
        use ErrorCode::*;
        match self {
            InvalidField | InvalidBody | MalformedJson | InvalidQuery | InvalidPath
            | InvalidText | OutOfRange | BadRequest | InvalidCheckpoint => StatusCode::BAD_REQUEST,
            Unauthorized | InvalidSignature => StatusCode::UNAUTHORIZED,
            Forbidden | NotASubscriber | CheckpointUnsigned => StatusCode::FORBIDDEN,
            NotFound | UnknownLog => StatusCode::NOT_FOUND,
            MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Conflict | SlugTaken | NameTaken | LastAdmin | InvalidTransition | ArticleRetracted
            | SealedSource | CheckpointRefused => StatusCode::CONFLICT,
            Gone => StatusCode::GONE,
            PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            UriTooLong => StatusCode::URI_TOO_LONG,
            UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            RangeNotSatisfiable => StatusCode::RANGE_NOT_SATISFIABLE,
            UnknownSource | NoChange | FetchRefused | CaptureFailed | InvalidProof
            | RecordTooLarge => StatusCode::UNPROCESSABLE_ENTITY,
            TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            HeadersTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            Unavailable | PlatformUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            StorageFull => StatusCode::INSUFFICIENT_STORAGE,
            Internal | Error => StatusCode::INTERNAL_SERVER_ERROR,
            NotImplemented => StatusCode::NOT_IMPLEMENTED,
        }
    }
}

impl ApiError {
    /// An error of `code`, answered with the code's own status.
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self::with_status(code.status(), code, detail)
    }

    /// For what the framework refused, by its status alone.
    fn with_status(status: StatusCode, code: ErrorCode, detail: impl Into<String>) -> Self {
        Self {
            status,
            code,
            detail: detail.into(),
            field: None,
            retry_after_secs: None,
        }
    }

    /// A 400 naming the field at fault.
    pub fn invalid_field(field: impl Into<String>, detail: impl Into<String>) -> Self {
        let field = field.into();
        let detail = format!("{field}: {}", detail.into());
        Self {
            field: Some(field),
            ..Self::new(ErrorCode::InvalidField, detail)
        }
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unauthorized, detail)
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(ErrorCode::Forbidden, detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, detail)
    }

    /// 429 with `Retry-After`.
    pub fn too_many_requests(retry_after_secs: u64) -> Self {
        Self {
            retry_after_secs: Some(retry_after_secs),
            ..Self::new(
                ErrorCode::TooManyRequests,
                format!("too many requests; try again in {retry_after_secs} s"),
            )
        }
    }

    pub fn unavailable(detail: impl Into<String>) -> Self {
        Self::unavailable_for(detail, 1)
    }

    /// 503 with `Retry-After: secs`.
    pub fn unavailable_for(detail: impl Into<String>, secs: u64) -> Self {
        Self {
            retry_after_secs: Some(secs),
            ..Self::new(ErrorCode::Unavailable, detail)
        }
    }

    /// 507: the write was refused, nothing of it stored, for want of space.
    pub fn storage_full() -> Self {
        Self {
            retry_after_secs: Some(STORAGE_RETRY_SECS),
            ..Self::new(
                ErrorCode::StorageFull,
                "the server's storage is full: nothing of this request was stored; try again later",
            )
        }
    }

    /// 503 for a database that cannot be reached (the fault is noted once).
    pub fn database_unreachable(error: &dyn std::fmt::Display) -> Self {
        crate::db::health::failed(crate::db::health::Fault::Unreachable, error);
        Self::unavailable_for(
            "the database is not reachable right now",
            UNREACHABLE_RETRY_SECS,
        )
    }

    /// 503 for a write whose transaction failed part-way: it may have
    /// committed as the connection went.
    fn not_acknowledged(secs: u64) -> Self {
        Self::unavailable_for(
            "the database failed during the write: it was not acknowledged; check whether it landed before trying again",
            secs,
        )
    }

    /// 503 for an object store that cannot be reached.
    pub fn object_store_unreachable() -> Self {
        Self::unavailable_for(
            "the archive's object store is not reachable right now; nothing was stored",
            UNREACHABLE_RETRY_SECS,
        )
    }

    /// The answer to a failed storage fault, if `error` is one: noted (once
    /// per state change in the log) and answered 507 or 503.
    pub fn from_fault(fault: crate::db::health::Fault, error: &dyn std::fmt::Display) -> Self {
        match fault {
            crate::db::health::Fault::DiskFull | crate::db::health::Fault::DataDirFull => {
                crate::db::health::failed(fault, error);
                Self::storage_full()
            }
            crate::db::health::Fault::Unreachable => Self::database_unreachable(error),
            crate::db::health::Fault::ObjectStore => {
                crate::db::health::failed(fault, error);
                Self::object_store_unreachable()
            }
        }
    }

    /// A failure that is ours, not the caller's: logged in full, answered
    /// with nothing but a generic 500.
    pub fn internal(error: impl std::fmt::Display) -> Self {
        tracing::error!(error = %error, "internal error");
        Self::new(ErrorCode::Internal, "an internal error occurred")
    }

    pub fn code(&self) -> ErrorCode {
        self.code
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    pub fn detail(&self) -> &str {
        &self.detail
    }

    pub fn problem(&self) -> Problem {
        Problem {
            problem_type: format!("urn:sourceledger:problem:{}", self.code.as_str()),
            title: self.status.canonical_reason().unwrap_or("Error").to_owned(),
            status: self.status.as_u16(),
            detail: self.detail.clone(),
            code: self.code,
            field: self.field.clone(),
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.code.as_str(),
            self.detail
        )
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status);
        response.insert_header((header::CONTENT_TYPE, PROBLEM_JSON));
        if self.status == StatusCode::UNAUTHORIZED {
            response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        if let Some(secs) = self.retry_after_secs {
            response.insert_header((header::RETRY_AFTER, secs.to_string()));
        }
        response.body(serde_json::to_string(&self.problem()).unwrap_or_default())
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(error: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        if let Some(fault) = crate::db::health::classify(&error) {
            return Self::from_fault(fault, &error);
        }
        match &error {
            Error::NotFound => Self::not_found("no such record"),
            Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => Self::new(
                ErrorCode::Conflict,
                "a record with these values already exists",
            ),
            Error::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => {
                Self::unavailable("the database is busy; try again")
            }
            Error::DatabaseError(_, info) if info.message().contains("database is locked") => {
                Self::unavailable("the database is busy; try again")
            }
            // PostgreSQL refuses NUL in text; whatever carried it came from the request.
            Error::DatabaseError(_, info) if info.message().contains("invalid byte sequence") => {
                Self::new(
                    ErrorCode::InvalidText,
                    "text must not contain NUL characters",
                )
            }
            _ => Self::internal(error),
        }
    }
}

impl From<crate::db::Unavailable> for ApiError {
    fn from(error: crate::db::Unavailable) -> Self {
        match error {
            // r2d2 names the last error making a connection when there was
            // one; without one, every connection was busy: a full pool, not
            // a database that is down.
            crate::db::Unavailable::NoConnection(error)
                if error.to_string() == "timed out waiting for connection" =>
            {
                Self::unavailable("the server is busy; try again")
            }
            crate::db::Unavailable::NoConnection(error) => Self::database_unreachable(&error),
            crate::db::Unavailable::Unreachable(reason) => Self::database_unreachable(&reason),
            crate::db::Unavailable::DiskFull(reason) => {
                Self::from_fault(crate::db::health::Fault::DiskFull, &reason)
            }
            crate::db::Unavailable::Cut(reason) => {
                crate::db::health::failed(crate::db::health::Fault::Unreachable, &reason);
                Self::not_acknowledged(UNREACHABLE_RETRY_SECS)
            }
            crate::db::Unavailable::Lost(reason) => {
                let unreachable = crate::db::health::classify_message(&reason).is_some();
                if unreachable {
                    crate::db::health::failed(crate::db::health::Fault::Unreachable, &reason);
                } else {
                    tracing::warn!(%reason, "a write did not commit");
                }
                Self::not_acknowledged(if unreachable {
                    UNREACHABLE_RETRY_SECS
                } else {
                    1
                })
            }
            other => Self::internal(other),
        }
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(error: actix_web::error::BlockingError) -> Self {
        Self::internal(error)
    }
}

impl ApiError {
    pub fn payload_too_large(limit: usize) -> Self {
        Self::new(
            ErrorCode::PayloadTooLarge,
            format!("the body is larger than {limit} bytes"),
        )
    }
}

pub fn query_error(
    error: actix_web::error::QueryPayloadError,
    _: &HttpRequest,
) -> actix_web::Error {
    ApiError::new(ErrorCode::InvalidQuery, error.to_string()).into()
}

pub fn path_error(error: actix_web::error::PathError, _: &HttpRequest) -> actix_web::Error {
    ApiError::new(ErrorCode::InvalidPath, error.to_string()).into()
}

impl From<crate::ledger::LedgerError> for ApiError {
    fn from(error: crate::ledger::LedgerError) -> Self {
        use crate::ledger::LedgerError as E;
        match error {
            E::LeafTooLarge(_) => Self::new(ErrorCode::RecordTooLarge, error.to_string()),
            E::Db(e) => e.into(),
            E::Unavailable(e) => e.into(),
            E::OutOfRange(detail) => Self::new(ErrorCode::OutOfRange, detail),
            // The tree's reader carries the database's failure as text (a
            // connection lost while reading stored hashes).
            E::Tree(ref text) | E::Corrupt(ref text) | E::Signing(ref text)
                if let Some(fault) = crate::db::health::classify_message(text) =>
            {
                Self::from_fault(fault, &error)
            }
            other => Self::internal(other),
        }
    }
}

fn code_for(status: StatusCode) -> ErrorCode {
    match status {
        StatusCode::BAD_REQUEST => ErrorCode::BadRequest,
        StatusCode::UNAUTHORIZED => ErrorCode::Unauthorized,
        StatusCode::FORBIDDEN => ErrorCode::Forbidden,
        StatusCode::NOT_FOUND => ErrorCode::NotFound,
        StatusCode::METHOD_NOT_ALLOWED => ErrorCode::MethodNotAllowed,
        StatusCode::PAYLOAD_TOO_LARGE => ErrorCode::PayloadTooLarge,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ErrorCode::UnsupportedMediaType,
        StatusCode::URI_TOO_LONG => ErrorCode::UriTooLong,
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => ErrorCode::HeadersTooLarge,
        s if s.is_server_error() => ErrorCode::Internal,
        _ => ErrorCode::Error,
    }
}

/// The one error answer a protocol fixes otherwise: a witness's 409 names the
/// size it last cosigned (C2SP tlog-witness).
pub const TLOG_SIZE: &str = "text/x.tlog.size";

/// A safety net: any error response that is not already problem+json (one that
/// actix itself made, say) is replaced by one, with nothing of the original body.
/// The editor's desk's own error pages (HTML under `/desk`, made for a person
/// at a browser) pass as they are.
pub async fn problems_only<B: actix_web::body::MessageBody + 'static>(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<B>,
) -> Result<actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>, actix_web::Error> {
    use actix_web::body::EitherBody;
    use actix_web::dev::ServiceResponse;
    let bare = |status: StatusCode| {
        let detail = status.canonical_reason().unwrap_or("error").to_lowercase();
        ApiError::with_status(status, code_for(status), detail)
    };
    let desk = req.path() == "/desk" || req.path().starts_with("/desk/");
    match next.call(req).await {
        Ok(res) => {
            let status = res.status();
            let is_problem = res.headers().get(header::CONTENT_TYPE).is_some_and(|v| {
                v.as_bytes() == PROBLEM_JSON.as_bytes()
                    || (status == StatusCode::CONFLICT && v.as_bytes() == TLOG_SIZE.as_bytes())
                    || (desk && v.as_bytes() == crate::desk::HTML.as_bytes())
            });
            if (status.is_client_error() || status.is_server_error()) && !is_problem {
                let (request, original) = res.into_parts();
                let mut replacement = bare(status).error_response();
                for name in [header::ALLOW, header::WWW_AUTHENTICATE, header::RETRY_AFTER] {
                    if let Some(value) = original.headers().get(&name) {
                        replacement.headers_mut().insert(name, value.clone());
                    }
                }
                return Ok(ServiceResponse::new(request, replacement)
                    .map_body(|_, b| EitherBody::right(b)));
            }
            Ok(res.map_body(|_, b| EitherBody::left(b)))
        }
        Err(error) if error.as_error::<ApiError>().is_some() => Err(error),
        Err(error) => Err(bare(error.as_response_error().status_code()).into()),
    }
}

#[cfg(test)]
mod tests {
    use super::ErrorCode;

    /// The wire name (serde), the documented name (OpenAPI) and `as_str` agree.
    #[test]
    fn every_code_is_written_as_it_is_named_and_no_two_alike() {
        use utoipa::PartialSchema;
        let schema = serde_json::to_value(ErrorCode::schema()).expect("schema");
        let documented: Vec<&str> = schema["enum"]
            .as_array()
            .expect("an enum")
            .iter()
            .filter_map(serde_json::Value::as_str)
            .collect();
        let named: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(documented, named);
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            let wire = serde_json::to_value(code).expect("serialise");
            assert_eq!(wire, serde_json::Value::from(code.as_str()));
            assert!(seen.insert(code.as_str()), "{} twice", code.as_str());
        }
    }
}
