//! Who is at the desk and what they sent: the session and role extractors,
//! forms read only after them, and the CSRF check.

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::{cookie_name, may, page, pages, see_other};
use crate::auth::Permission;
use crate::auth::session::{self, Session};
use crate::error::ApiError;
use crate::state::AppState;

/// The signed-in session of the request; without one, a page request goes
/// to the sign-in page and a form is refused (401), before its body is read.
pub struct DeskSession(pub Session);

/// Why there is no session to work with.
#[derive(Debug)]
pub struct SignInFirst {
    to_login: bool,
}

impl std::fmt::Display for SignInFirst {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("sign in to the desk first")
    }
}

impl actix_web::ResponseError for SignInFirst {
    fn status_code(&self) -> actix_web::http::StatusCode {
        match self.to_login {
            true => actix_web::http::StatusCode::SEE_OTHER,
            false => actix_web::http::StatusCode::UNAUTHORIZED,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self.to_login {
            true => see_other("/desk/login"),
            false => page(
                actix_web::http::StatusCode::UNAUTHORIZED,
                pages::error(None, 401, "Your session has ended: sign in again."),
            ),
        }
    }
}

impl FromRequest for DeskSession {
    type Error = actix_web::Error;
    type Future = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let to_login = req.method() == actix_web::http::Method::GET;
            let refused = || actix_web::Error::from(SignInFirst { to_login });
            let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
                return Err(ApiError::internal("no application state").into());
            };
            let Some(secret) = req
                .cookie(&cookie_name(&state, "desk"))
                .map(|c| c.value().to_owned())
            else {
                return Err(refused());
            };
            let found = state
                .db
                .run(move |conn| session::find(conn, &secret))
                .await
                .map_err(actix_web::Error::from)?;
            found.map(DeskSession).ok_or_else(refused)
        })
    }
}

/// A session whose role permission `P` admits; any other role is refused
/// (403) before the form's body is read.
pub struct DeskAs<P: Permission>(pub Session, pub std::marker::PhantomData<P>);

/// A signed-in role that may not do this.
#[derive(Debug)]
pub(super) struct NotYourRole(Session);

impl std::fmt::Display for NotYourRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the {} role may not do this", self.0.caller.role)
    }
}

impl actix_web::ResponseError for NotYourRole {
    fn status_code(&self) -> actix_web::http::StatusCode {
        actix_web::http::StatusCode::FORBIDDEN
    }

    fn error_response(&self) -> HttpResponse {
        page(
            actix_web::http::StatusCode::FORBIDDEN,
            pages::error(
                Some(&self.0),
                403,
                &format!("The {} role may not do this.", self.0.caller.role),
            ),
        )
    }
}

impl<P: Permission + 'static> FromRequest for DeskAs<P> {
    type Error = actix_web::Error;
    type Future = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let session = DeskSession::from_request(req, payload);
        Box::pin(async move {
            let DeskSession(session) = session.await?;
            match may::<P>(&session) {
                true => Ok(DeskAs(session, std::marker::PhantomData)),
                false => Err(NotYourRole(session).into()),
            }
        })
    }
}

/// Most a desk form may hold: a quote of 10,000 characters, percent-encoded,
/// with room to spare.
pub(super) const FORM_LIMIT: usize = 256 * 1024;

/// A form's body, read only when the handler asks: its session and role
/// extractors have answered by then, so a caller who may not post it is
/// refused (401, 403) before anything reads the body. A body that cannot be
/// read is a desk page saying so (400, 413, 415).
pub struct DeskForm<T> {
    req: HttpRequest,
    payload: Payload,
    form: std::marker::PhantomData<T>,
}

impl<T> FromRequest for DeskForm<T> {
    type Error = std::convert::Infallible;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        std::future::ready(Ok(DeskForm {
            req: req.clone(),
            payload: payload.take(),
            form: std::marker::PhantomData,
        }))
    }
}

impl<T: serde::de::DeserializeOwned + 'static> DeskForm<T> {
    pub(super) async fn read(mut self, session: Option<&Session>) -> Result<T, HttpResponse> {
        match web::Form::<T>::from_request(&self.req, &mut self.payload).await {
            Ok(form) => Ok(form.into_inner()),
            Err(error) => {
                let status = error.as_response_error().status_code();
                let detail = match status.as_u16() {
                    413 => "The form is too large.".to_owned(),
                    415 => "The form was not sent as a web form.".to_owned(),
                    _ => format!("The form could not be read ({error})."),
                };
                Err(page(
                    status,
                    pages::error(session, status.as_u16(), &detail),
                ))
            }
        }
    }
}

/// Reads a form's body or answers with why it could not be read.
macro_rules! read_form {
    ($form:expr, $session:expr) => {
        match $form.read($session).await {
            Ok(form) => form,
            Err(refused) => return refused,
        }
    };
}
pub(super) use read_form;

/// Reads the form of signed-in `$session` and checks that it carries the
/// session's CSRF token (its `csrf` field); answers the refusal when not.
macro_rules! checked_form {
    ($form:expr, $session:expr) => {{
        let form = $crate::desk::extract::read_form!($form, Some($session));
        if let Some(refused) = $crate::desk::extract::csrf_refusal($session, &form.csrf) {
            return refused;
        }
        form
    }};
}
pub(super) use checked_form;

/// Text from a form's text area: browsers send its line breaks as CRLF; the
/// records keep LF.
pub(super) fn text_area(text: &str) -> String {
    text.replace("\r\n", "\n").trim().to_owned()
}

/// Every form that changes something carries this.
#[derive(Deserialize)]
pub(super) struct Csrf {
    pub(super) csrf: String,
}

/// The refusal (403) of a form whose token is not the session's.
pub(super) fn csrf_refusal(session: &Session, token: &str) -> Option<HttpResponse> {
    match session.csrf_matches(token) {
        true => None,
        false => Some(page(
            actix_web::http::StatusCode::FORBIDDEN,
            pages::error(
                Some(session),
                403,
                "This form did not come from your desk session (its security token is missing or stale). Reload the page and try again.",
            ),
        )),
    }
}
