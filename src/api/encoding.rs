//! Content negotiation by `Accept-Encoding` for the bodies we compress
//! ourselves, once (source lists, the page, the panel script and assets).

use actix_web::http::header::{self, AcceptEncoding, Encoding as Coding, Header};
use actix_web::{HttpRequest, HttpResponseBuilder};
use bytes::Bytes;

use crate::compression::{Compressed, Encoding};

/// The reader's preferred encoding among brotli and gzip, if any.
pub fn negotiate(req: &HttpRequest) -> Option<Encoding> {
    let accepted = AcceptEncoding::parse(req).ok()?;
    let choice = accepted.negotiate([Coding::brotli(), Coding::gzip()].iter())?;
    if choice == Coding::brotli() {
        Some(Encoding::Brotli)
    } else if choice == Coding::gzip() {
        Some(Encoding::Gzip)
    } else {
        None
    }
}

/// Sets the response's encoding headers and gives the body to send: `body`
/// compressed (once per `key`) when the reader accepts it, else with
/// `Content-Encoding: identity` so that nothing compresses it again; and one
/// `Vary` naming `vary` and `Accept-Encoding`.
pub fn encode(
    req: &HttpRequest,
    response: &mut HttpResponseBuilder,
    cache: &Compressed,
    (key, vary): (&str, &str),
    body: Bytes,
    best: bool,
) -> Bytes {
    let vary = if vary.is_empty() {
        "Accept-Encoding".to_owned()
    } else {
        format!("{vary}, Accept-Encoding")
    };
    response.insert_header((header::VARY, vary));
    match negotiate(req) {
        Some(encoding) => {
            response.insert_header((header::CONTENT_ENCODING, encoding.name()));
            cache.get_or_make(key, encoding, &body, best)
        }
        None => {
            response.insert_header((header::CONTENT_ENCODING, "identity"));
            body
        }
    }
}
