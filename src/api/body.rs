//! `Body<T>`: a JSON request body, read only once the caller is allowed, whose
//! errors are problem+json naming the field at fault (`citations[3].claim`), with
//! the size limit and media type checked.

use std::marker::PhantomData;

use actix_web::dev::Payload;
use actix_web::error::PayloadError;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use serde::de::DeserializeOwned;

use super::JSON_BODY_LIMIT;
use crate::error::{ApiError, ErrorCode};

/// A JSON body of type `T`, not yet read. Handlers read it with
/// [`Body::read`] after their caller is allowed, so that a caller who may not
/// do a thing gets 401 or 403 whatever the body or its content type, and no
/// byte of the body is looked at for them.
pub struct Body<T> {
    req: HttpRequest,
    payload: Payload,
    kind: PhantomData<T>,
}

impl<T: DeserializeOwned> Body<T> {
    /// Checks the media type, reads at most `JSON_BODY_LIMIT` bytes and parses them.
    pub async fn read(mut self) -> Result<T, ApiError> {
        require_json(&self.req)?;
        let bytes = read_limited(&self.req, &mut self.payload).await?;
        parse(&bytes)
    }

    /// Like [`Body::read`], with a larger limit than `JSON_BODY_LIMIT` for
    /// the endpoints that take a whole article (`limit` bytes).
    pub async fn read_within(mut self, limit: usize) -> Result<T, ApiError> {
        require_json(&self.req)?;
        let mut bytes = web::BytesMut::new();
        while let Some(chunk) = futures_util::StreamExt::next(&mut self.payload).await {
            let chunk = chunk.map_err(|_| {
                ApiError::new(ErrorCode::InvalidBody, "the request body could not be read")
            })?;
            if bytes.len() + chunk.len() > limit {
                return Err(ApiError::payload_too_large(limit));
            }
            bytes.extend_from_slice(&chunk);
        }
        parse(&bytes)
    }

    /// Like [`Body::read`], but an empty body (of any media type) or JSON
    /// `null` is `None`.
    pub async fn read_optional(mut self) -> Result<Option<T>, ApiError> {
        let bytes = read_limited(&self.req, &mut self.payload).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        require_json(&self.req)?;
        parse::<Option<T>>(&bytes)
    }
}

impl<T> FromRequest for Body<T> {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        std::future::ready(Ok(Body {
            req: req.clone(),
            payload: payload.take(),
            kind: PhantomData,
        }))
    }
}

/// Deserialises `value`, naming the path of whatever does not fit.
pub fn from_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(data_error)
}

fn data_error<E: std::fmt::Display>(error: serde_path_to_error::Error<E>) -> ApiError {
    let path = error.path().to_string();
    let message = error.inner().to_string();
    if path == "." {
        ApiError::new(ErrorCode::InvalidBody, message)
    } else {
        ApiError::invalid_field(path, message)
    }
}

/// Parses JSON bytes: malformed JSON is `malformed_json`, a value that does not
/// fit is `invalid_field` naming where.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        if e.inner().is_syntax() || e.inner().is_eof() {
            ApiError::new(ErrorCode::MalformedJson, e.inner().to_string())
        } else {
            data_error(e)
        }
    })?;
    deserializer
        .end()
        .map_err(|e| ApiError::new(ErrorCode::MalformedJson, e.to_string()))?;
    Ok(value)
}

fn require_json(req: &HttpRequest) -> Result<(), ApiError> {
    let is_json = super::header_text(req, header::CONTENT_TYPE)
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| {
            let m = m.trim().to_ascii_lowercase();
            m == "application/json" || (m.starts_with("application/") && m.ends_with("+json"))
        });
    if is_json {
        Ok(())
    } else {
        Err(ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "the body must be application/json",
        ))
    }
}

/// Reads the whole body, refusing more than `JSON_BODY_LIMIT` bytes with a 413.
pub async fn read_limited(
    req: &HttpRequest,
    payload: &mut Payload,
) -> Result<web::Bytes, ApiError> {
    web::Bytes::from_request(req, payload)
        .await
        .map_err(|e| match e.as_error::<PayloadError>() {
            Some(PayloadError::Overflow) => ApiError::payload_too_large(JSON_BODY_LIMIT),
            _ => ApiError::new(ErrorCode::InvalidBody, "the request body could not be read"),
        })
}
