//! The one way out (SPEC "Outbound requests"): every request the server makes
//! (JWKS, captures, link checks; witnesses and time stamps next) goes through a
//! [`Fetcher`], which refuses loopback, private, link-local and other
//! non-public addresses unless the operator allows them with
//! `SOURCELEDGER_FETCH_ALLOW`, takes plain `http` only to allowed addresses,
//! and other ports than `SOURCELEDGER_FETCH_PORTS` (default 80 and 443) only
//! to allowed addresses.
//!
//! The check sits in the resolver, so it applies to the addresses the
//! connection is really made to (a name that resolves to 127.0.0.1 is refused,
//! and so is every redirect hop), not to the name in the URL; the connection
//! goes to the address checked, with no second lookup. No proxy from the
//! environment is used. Calls block: run them off the async executor.

use std::io::{Read, Write};
use std::sync::Arc;
use std::time::Duration;

use ipnet::IpNet;
use ureq::unversioned::resolver::DefaultResolver;
use ureq::unversioned::transport::DefaultConnector;

mod policy;

pub use policy::refusal;
use policy::{Policy, PolicyResolver};

/// How long and how large one request may be.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// From the first byte sent to the last byte of the body.
    pub timeout: Duration,
    pub max_bytes: u64,
}

/// The stricter limits of a fetch whose URL a user typed.
#[derive(Debug, Clone, Copy)]
pub struct CaptureLimits {
    pub connect: Duration,
    /// From the request sent to the response's head.
    pub first_byte: Duration,
    /// The whole exchange, every hop included.
    pub total: Duration,
    pub max_bytes: u64,
    pub max_redirects: u32,
}

/// A response: its status, the headers a caller may need, and the body.
#[derive(Debug)]
pub struct Fetched {
    pub status: u16,
    pub cache_control: Option<String>,
    pub body: Vec<u8>,
}

/// One hop of a capture: the request as sent and the response's head as
/// received (a redirect's body is kept; the last hop's body went to the sink).
#[derive(Debug, Clone)]
pub struct Hop {
    pub url: String,
    pub request_head: Vec<u8>,
    pub status: u16,
    pub response_head: Vec<u8>,
    pub body: Vec<u8>,
}

/// What a capture fetched: every hop, the last one's body written to the sink.
#[derive(Debug, Clone)]
pub struct Captured {
    pub hops: Vec<Hop>,
    pub content_type: Option<String>,
    pub body_len: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("{0}")]
    BadUrl(String),
    #[error("refused: {0}")]
    Refused(String),
    #[error("timed out")]
    Timeout,
    #[error("the response is larger than {0} bytes")]
    TooLarge(u64),
    #[error("more than {0} redirects")]
    TooManyRedirects(u32),
    #[error("the host name does not resolve")]
    NoSuchHost,
    #[error("{0}")]
    Failed(String),
    /// Writing the body where it was to go failed.
    #[error("storing the response: {0}")]
    Sink(std::io::Error),
}

/// The outbound HTTP client. Cheap to clone.
#[derive(Clone)]
pub struct Fetcher {
    /// For keys and other fixed endpoints: https, or http to allowed addresses.
    strict: ureq::Agent,
    /// For URLs users typed: http or https, one hop at a time.
    capture: ureq::Agent,
    user_agent: Arc<str>,
}

/// The ports a fetch may go to by default.
pub use crate::config::DEFAULT_FETCH_PORTS as DEFAULT_PORTS;

impl Fetcher {
    /// A fetcher that may also reach the addresses in `allow` (over plain
    /// `http` and on any port too); other addresses only on `ports`.
    pub fn new(allow: Vec<IpNet>, ports: Vec<u16>, public_url: &str) -> Self {
        let user_agent: Arc<str> = format!(
            "sourceledger/{} (source archiving and link checks; +{public_url})",
            env!("CARGO_PKG_VERSION")
        )
        .into();
        let (allow, ports): (Arc<[IpNet]>, Arc<[u16]>) = (allow.into(), ports.into());
        let agent = |plain_http_public: bool, redirects: u32| {
            let config = ureq::Agent::config_builder()
                .proxy(None)
                .max_redirects(redirects)
                .http_status_as_error(false)
                .user_agent(&*user_agent)
                .accept_encoding("identity")
                .build();
            let resolver = PolicyResolver {
                inner: DefaultResolver::default(),
                policy: Policy {
                    allow: allow.clone(),
                    ports: ports.clone(),
                    plain_http_public,
                },
            };
            ureq::Agent::with_parts(config, DefaultConnector::default(), resolver)
        };
        Self {
            strict: agent(false, 3),
            capture: agent(true, 0),
            user_agent,
        }
    }

    /// GETs `url` within `limits`. Any status is a response; the caller decides.
    pub fn get(&self, url: &str, limits: Limits) -> Result<Fetched, FetchError> {
        let url = checked_url(url)?;
        let response = self
            .strict
            .get(url.as_str())
            .config()
            .timeout_global(Some(limits.timeout))
            .build()
            .call()
            .map_err(fetch_error)?;
        read_response(response, limits)
    }

    /// POSTs `body` (of `content_type`) to `url` within `limits`, as [`get`](Self::get)
    /// does: https, or http to allowed addresses; any status is a response.
    pub fn post(
        &self,
        url: &str,
        content_type: &str,
        body: &[u8],
        limits: Limits,
    ) -> Result<Fetched, FetchError> {
        self.post_with(url, &[], content_type, body, limits)
    }

    /// [`post`](Self::post) with more request headers (an OpenID provider's
    /// token endpoint wants the client's `Authorization`).
    pub fn post_with(
        &self,
        url: &str,
        headers: &[(&str, &str)],
        content_type: &str,
        body: &[u8],
        limits: Limits,
    ) -> Result<Fetched, FetchError> {
        self.post_following(url, headers, content_type, body, limits, true)
    }

    /// [`post_with`](Self::post_with) that follows no redirect: a 3xx is the
    /// answer. For a webhook's receiver, which must answer for itself (a
    /// redirect would turn the POST into a GET elsewhere, and its 2xx would
    /// pass for a delivery).
    pub fn post_once(
        &self,
        url: &str,
        headers: &[(&str, &str)],
        content_type: &str,
        body: &[u8],
        limits: Limits,
    ) -> Result<Fetched, FetchError> {
        self.post_following(url, headers, content_type, body, limits, false)
    }

    fn post_following(
        &self,
        url: &str,
        headers: &[(&str, &str)],
        content_type: &str,
        body: &[u8],
        limits: Limits,
        follow: bool,
    ) -> Result<Fetched, FetchError> {
        let url = checked_url(url)?;
        let mut request = self
            .strict
            .post(url.as_str())
            .header("content-type", content_type);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let mut config = request.config().timeout_global(Some(limits.timeout));
        if !follow {
            config = config.max_redirects(0);
        }
        let response = config.build().send(body).map_err(fetch_error)?;
        read_response(response, limits)
    }

    /// GETs a URL a user typed, following redirects hop by hop (each hop's
    /// address checked again), and writes the last response's body to `sink`,
    /// refusing more than `limits.max_bytes`. Returns every hop, for the
    /// archive's request and response records.
    pub fn capture(
        &self,
        url: &str,
        limits: CaptureLimits,
        sink: &mut dyn Write,
    ) -> Result<Captured, FetchError> {
        let started = std::time::Instant::now();
        let mut url = checked_url(url)?;
        let mut hops = Vec::new();
        loop {
            let left = limits
                .total
                .checked_sub(started.elapsed())
                .ok_or(FetchError::Timeout)?;
            let response = self
                .capture
                .get(url.as_str())
                .header("Accept", "*/*")
                .config()
                .timeout_connect(Some(limits.connect))
                .timeout_recv_response(Some(limits.first_byte))
                .timeout_global(Some(left))
                .build()
                .call()
                .map_err(fetch_error)?;
            let status = response.status().as_u16();
            let request_head = request_head(&url, &self.user_agent);
            let response_head = response_head(&response);
            let location = response
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            if (300..400).contains(&status)
                && let Some(location) = location
            {
                let mut body = Vec::new();
                response
                    .into_body()
                    .into_reader()
                    .take(64 * 1024)
                    .read_to_end(&mut body)
                    .map_err(|e| fetch_error(ureq::Error::Io(e)))?;
                hops.push(Hop {
                    url: url.to_string(),
                    request_head,
                    status,
                    response_head,
                    body,
                });
                if hops.len() as u32 > limits.max_redirects {
                    return Err(FetchError::TooManyRedirects(limits.max_redirects));
                }
                let next = url
                    .join(&location)
                    .map_err(|_| FetchError::BadUrl(format!("a redirect to {location:?}")))?;
                url = checked_url(next.as_str())?;
                continue;
            }
            let content_type = response
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let mut reader = response
                .into_body()
                .into_with_config()
                .limit(u64::MAX)
                .reader()
                .take(limits.max_bytes + 1);
            let mut body_len = 0u64;
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                let n = reader
                    .read(&mut buf)
                    .map_err(|e| fetch_error(ureq::Error::Io(e)))?;
                if n == 0 {
                    break;
                }
                body_len += n as u64;
                if body_len > limits.max_bytes {
                    return Err(FetchError::TooLarge(limits.max_bytes));
                }
                sink.write_all(&buf[..n]).map_err(FetchError::Sink)?;
            }
            hops.push(Hop {
                url: url.to_string(),
                request_head,
                status,
                response_head,
                body: Vec::new(),
            });
            return Ok(Captured {
                hops,
                content_type,
                body_len,
            });
        }
    }
}

/// Only absolute http(s) URLs with a host, normalised (`http://2130706433/`
/// becomes `http://127.0.0.1/`, which the resolver then refuses).
/// A response's status, caching policy and body (at most `limits.max_bytes`).
fn read_response(
    response: ureq::http::Response<ureq::Body>,
    limits: Limits,
) -> Result<Fetched, FetchError> {
    let status = response.status().as_u16();
    let cache_control = response
        .headers()
        .get("cache-control")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let mut body = Vec::new();
    response
        .into_body()
        .into_reader()
        .take(limits.max_bytes + 1)
        .read_to_end(&mut body)
        .map_err(|e| fetch_error(ureq::Error::Io(e)))?;
    if body.len() as u64 > limits.max_bytes {
        return Err(FetchError::TooLarge(limits.max_bytes));
    }
    Ok(Fetched {
        status,
        cache_control,
        body,
    })
}

fn checked_url(text: &str) -> Result<url::Url, FetchError> {
    let url = url::Url::parse(text)
        .map_err(|_| FetchError::BadUrl(format!("{text:?} is not an absolute URL")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(FetchError::BadUrl(format!(
            "{}: only http and https URLs are fetched",
            url.scheme()
        )));
    }
    if url.host().is_none() || !url.username().is_empty() || url.password().is_some() {
        return Err(FetchError::BadUrl(format!(
            "{text:?} has no host, or carries credentials"
        )));
    }
    Ok(url)
}

/// The request as this fetcher sends it (HTTP/1.1), for the archive.
fn request_head(url: &url::Url, user_agent: &str) -> Vec<u8> {
    let mut target = url.path().to_owned();
    if let Some(query) = url.query() {
        target.push('?');
        target.push_str(query);
    }
    let host = match url.port() {
        Some(port) => format!("{}:{port}", url.host_str().unwrap_or_default()),
        None => url.host_str().unwrap_or_default().to_owned(),
    };
    format!(
        "GET {target} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {user_agent}\r\nAccept: */*\r\nAccept-Encoding: identity\r\n\r\n"
    )
    .into_bytes()
}

/// The response's status line and headers as received, less
/// `Transfer-Encoding` (the body is kept de-chunked, so the archive says its
/// length instead).
fn response_head(response: &ureq::http::Response<ureq::Body>) -> Vec<u8> {
    let status = response.status();
    let mut head = format!(
        "HTTP/1.1 {} {}\r\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or("")
    )
    .into_bytes();
    for (name, value) in response.headers() {
        if name == "transfer-encoding" {
            continue;
        }
        head.extend_from_slice(name.as_str().as_bytes());
        head.extend_from_slice(b": ");
        head.extend_from_slice(value.as_bytes());
        head.extend_from_slice(b"\r\n");
    }
    head
}

fn fetch_error(error: ureq::Error) -> FetchError {
    match error {
        ureq::Error::Timeout(_) => FetchError::Timeout,
        ureq::Error::HostNotFound => FetchError::NoSuchHost,
        ureq::Error::Io(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            FetchError::Refused(e.to_string())
        }
        ureq::Error::Io(e) if e.kind() == std::io::ErrorKind::TimedOut => FetchError::Timeout,
        ureq::Error::Io(e) => match e
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<ureq::Error>())
        {
            Some(ureq::Error::Timeout(_)) => FetchError::Timeout,
            _ => FetchError::Failed(e.to_string()),
        },
        other => FetchError::Failed(other.to_string()),
    }
}
