//! Single sign-on for the desk (SPEC "The editor's desk"): the newsroom's
//! OpenID provider, read from `SOURCELEDGER_STAFF_OIDC_*`.

use super::ConfigError;

/// The claim of the ID token that names a staff member's role unless
/// `SOURCELEDGER_STAFF_OIDC_ROLE_CLAIM` names another.
pub const DEFAULT_ROLE_CLAIM: &str = "sourceledger_role";

/// The OpenID provider staff sign in with, and this server's client there.
#[derive(Clone, PartialEq, Eq)]
pub struct StaffOidcSettings {
    /// `SOURCELEDGER_STAFF_OIDC_ISSUER`: the provider's issuer identifier,
    /// exactly as its discovery document and ID tokens spell it.
    pub issuer: String,
    /// `SOURCELEDGER_STAFF_OIDC_CLIENT_ID`.
    pub client_id: String,
    /// `SOURCELEDGER_STAFF_OIDC_CLIENT_SECRET`: never printed (see `Debug`).
    pub client_secret: String,
    /// `SOURCELEDGER_STAFF_OIDC_ROLE_CLAIM`, default [`DEFAULT_ROLE_CLAIM`].
    pub role_claim: String,
}

impl std::fmt::Debug for StaffOidcSettings {
    // The client secret is never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaffOidcSettings")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("role_claim", &self.role_claim)
            .finish_non_exhaustive()
    }
}

const ISSUER: &str = "SOURCELEDGER_STAFF_OIDC_ISSUER";
const CLIENT_ID: &str = "SOURCELEDGER_STAFF_OIDC_CLIENT_ID";
const CLIENT_SECRET: &str = "SOURCELEDGER_STAFF_OIDC_CLIENT_SECRET";
const ROLE_CLAIM: &str = "SOURCELEDGER_STAFF_OIDC_ROLE_CLAIM";

/// All or nothing: no issuer and no client is no single sign-on; an issuer
/// without its client id and secret (or a client without an issuer) is a
/// start-up error naming what is missing, so a half-configured sign-in
/// never reaches a browser.
pub(super) fn staff_oidc_settings(
    get: &impl Fn(&str) -> Option<String>,
) -> Result<Option<StaffOidcSettings>, ConfigError> {
    let issuer = get(ISSUER).map(|v| v.trim().to_owned());
    let client_id = get(CLIENT_ID).map(|v| v.trim().to_owned());
    let client_secret = get(CLIENT_SECRET).map(|v| v.trim().to_owned());
    let Some(issuer) = issuer else {
        return match (&client_id, &client_secret) {
            (None, None) => Ok(None),
            _ => Err(ConfigError::Invalid {
                name: ISSUER,
                problem: format!(
                    "must be set when {CLIENT_ID} or {CLIENT_SECRET} is (single sign-on needs all three)"
                ),
            }),
        };
    };
    let missing = |name: &'static str| ConfigError::Invalid {
        name,
        problem: format!("must be set when {ISSUER} is (single sign-on needs all three)"),
    };
    let client_id = client_id.ok_or_else(|| missing(CLIENT_ID))?;
    let client_secret = client_secret.ok_or_else(|| missing(CLIENT_SECRET))?;
    let url = url::Url::parse(&issuer).ok();
    let https_or_http = url
        .as_ref()
        .is_some_and(|u| matches!(u.scheme(), "https" | "http") && u.host().is_some());
    if !https_or_http
        || url.as_ref().is_some_and(|u| {
            u.query().is_some()
                || u.fragment().is_some()
                || u.password().is_some()
                || !u.username().is_empty()
        })
    {
        return Err(ConfigError::Invalid {
            name: ISSUER,
            problem: "must be an https URL with no query, fragment or credentials (http only for a provider the fetcher is allowed to reach)".into(),
        });
    }
    let role_claim = get(ROLE_CLAIM)
        .map(|v| v.trim().to_owned())
        .unwrap_or_else(|| DEFAULT_ROLE_CLAIM.to_owned());
    Ok(Some(StaffOidcSettings {
        issuer,
        client_id,
        client_secret,
        role_claim,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(vars: &[(&str, &str)]) -> Result<Option<StaffOidcSettings>, ConfigError> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        staff_oidc_settings(&|name: &str| {
            vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn single_sign_on_is_all_or_nothing() {
        assert_eq!(read(&[]).expect("none"), None);
        let error = read(&[(ISSUER, "https://id.news.example")]).expect_err("no client");
        assert!(error.to_string().contains(CLIENT_ID), "{error}");
        let error = read(&[(ISSUER, "https://id.news.example"), (CLIENT_ID, "desk")])
            .expect_err("no secret");
        assert!(error.to_string().contains(CLIENT_SECRET), "{error}");
        let error = read(&[(CLIENT_ID, "desk"), (CLIENT_SECRET, "s3cret")]).expect_err("no issuer");
        assert!(error.to_string().contains(ISSUER), "{error}");
        assert!(!error.to_string().contains("s3cret"));
        assert!(
            read(&[
                (ISSUER, "id.news.example"),
                (CLIENT_ID, "d"),
                (CLIENT_SECRET, "s")
            ])
            .is_err()
        );
    }

    #[test]
    fn the_secret_is_never_printed() {
        let settings = read(&[
            (ISSUER, "https://id.news.example/realms/news"),
            (CLIENT_ID, "desk"),
            (CLIENT_SECRET, "s3cret-of-the-desk"),
        ])
        .expect("valid")
        .expect("configured");
        assert_eq!(settings.role_claim, DEFAULT_ROLE_CLAIM);
        assert_eq!(settings.issuer, "https://id.news.example/realms/news");
        assert!(!format!("{settings:?}").contains("s3cret"));
    }
}
