//! What a verified ID token says of the staff member: checked against this
//! sign-in (`azp`, `nonce`) and the newsroom's roles.

use serde_json::Value;

use super::SsoError;
use super::flow::same;
use crate::auth::token::Subject;
use crate::auth::{Caller, Role, STAFF};
use crate::config::StaffOidcSettings;

/// The longest name kept from a provider's claims.
const MAX_NAME: usize = 200;

/// The staff member a verified ID token's `claims` sign in, once its `azp`
/// and `nonce` are this sign-in's and its role claim names a staff role.
pub(super) fn staff_of(
    claims: &Value,
    settings: &StaffOidcSettings,
    nonce: &str,
) -> Result<Caller, SsoError> {
    let text = |name: &str| {
        claims
            .get(name)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|t| !t.is_empty())
    };
    let audiences = match claims.get("aud") {
        Some(Value::Array(list)) => list.len(),
        _ => 1,
    };
    match text("azp") {
        Some(azp) if azp != settings.client_id => {
            return Err(SsoError::Refused(
                "The ID token was issued to another application (azp).".into(),
            ));
        }
        None if audiences > 1 => {
            return Err(SsoError::Refused(
                "The ID token names several audiences but no authorized party (azp).".into(),
            ));
        }
        _ => {}
    }
    if !text("nonce").is_some_and(|n| same(n, nonce)) {
        return Err(SsoError::Refused(
            "The ID token was not issued for this sign-in (its nonce does not match). Sign in again.".into(),
        ));
    }
    let (Some(issuer), Some(subject)) = (text("iss"), text("sub")) else {
        return Err(SsoError::Refused(
            "The ID token names no issuer or subject.".into(),
        ));
    };
    let role = text(&settings.role_claim)
        .and_then(Role::parse)
        .filter(|role| STAFF.contains(role));
    let Some(role) = role else {
        tracing::info!(%subject, "a staff sign-in without a staff role");
        return Err(SsoError::NotStaff(format!(
            "You are signed in with the newsroom's provider, but it gives you no role on the desk (its {} claim names none of journalist, editor, auditor or admin). Ask an administrator.",
            settings.role_claim
        )));
    };
    let name: String = text("name")
        .or_else(|| text("email"))
        .unwrap_or(subject)
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_NAME)
        .collect();
    Ok(Caller {
        role,
        name,
        subject: Subject::Staff(format!("{issuer}#{subject}")),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn settings() -> StaffOidcSettings {
        StaffOidcSettings {
            issuer: "https://id.news.example".into(),
            client_id: "desk".into(),
            client_secret: "secret".into(),
            role_claim: "sourceledger_role".into(),
        }
    }

    fn claims(extra: Value) -> Value {
        let mut claims = json!({
            "iss": "https://id.news.example", "sub": "jo", "aud": "desk",
            "nonce": "n-1", "sourceledger_role": "journalist", "name": "Jo Journalist",
        });
        if let (Some(claims), Value::Object(extra)) = (claims.as_object_mut(), extra) {
            claims.extend(extra);
        }
        claims
    }

    #[test]
    fn a_staff_role_signs_in_under_its_name() {
        let caller = staff_of(&claims(json!({})), &settings(), "n-1").expect("signed in");
        assert_eq!(caller.role, Role::Journalist);
        assert_eq!(caller.actor(), "journalist:Jo Journalist");
        assert_eq!(
            caller.subject,
            Subject::Staff("https://id.news.example#jo".into())
        );
        let unnamed = claims(json!({"name": null, "email": "jo@news.example"}));
        assert_eq!(
            staff_of(&unnamed, &settings(), "n-1").expect("email").name,
            "jo@news.example"
        );
        let bare = claims(json!({"name": "  ", "email": null}));
        assert_eq!(staff_of(&bare, &settings(), "n-1").expect("sub").name, "jo");
    }

    #[test]
    fn nonce_azp_and_role_are_checked() {
        let refused = |c: Value| {
            staff_of(&c, &settings(), "n-1")
                .expect_err("refused")
                .status()
        };
        assert_eq!(refused(claims(json!({"nonce": "n-2"}))), 401);
        assert_eq!(refused(claims(json!({"nonce": null}))), 401);
        assert_eq!(refused(claims(json!({"azp": "other"}))), 401);
        assert_eq!(refused(claims(json!({"aud": ["desk", "other"]}))), 401);
        assert!(
            staff_of(
                &claims(json!({"aud": ["desk", "other"], "azp": "desk"})),
                &settings(),
                "n-1"
            )
            .is_ok()
        );
        assert_eq!(refused(claims(json!({"sourceledger_role": null}))), 403);
        assert_eq!(
            refused(claims(json!({"sourceledger_role": "subscriber"}))),
            403
        );
        assert_eq!(refused(claims(json!({"sourceledger_role": "wizard"}))), 403);
        assert_eq!(
            refused(claims(json!({"sourceledger_role": ["editor"]}))),
            403
        );
    }
}
