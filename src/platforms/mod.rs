//! Membership platforms (SPEC "Membership platforms"): the newsroom's Ghost, an
//! OIDC issuer or a Standard Webhooks sender, registered once by an admin.
//! Readers signed in there exchange the platform's identity token for our
//! subscriber token ([`identity`]); the platform's webhooks keep the
//! subscribers in step. Platforms and subscribers are personal-data
//! bookkeeping: nothing here enters the ledger.

pub mod deliveries;
pub mod identity;
pub mod webhooks;

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use diesel::prelude::*;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::DbConnection;
use crate::db::schema::platforms;
use crate::error::{ApiError, ErrorCode};
use crate::fields::{HttpUrl, Rule};
use crate::newsroom::subscribers::Tier;
use crate::secrets::SealingKey;
use crate::time::Timestamp;

/// Which protocol a platform speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum PlatformKind {
    #[serde(rename = "ghost")]
    Ghost,
    #[serde(rename = "oidc")]
    Oidc,
    #[serde(rename = "standard-webhooks")]
    StandardWebhooks,
}

impl PlatformKind {
    const ALL: [Self; 3] = [Self::Ghost, Self::Oidc, Self::StandardWebhooks];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ghost => "ghost",
            Self::Oidc => "oidc",
            Self::StandardWebhooks => "standard-webhooks",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == text)
    }

    /// How the platform's member states map to tiers unless told otherwise:
    /// Ghost's `free` is free, `paid`, `comped` and `gift` are members.
    fn default_tiers(self) -> BTreeMap<String, Tier> {
        let pairs: &[(&str, Tier)] = match self {
            Self::Ghost => &[
                ("free", Tier::Free),
                ("paid", Tier::Member),
                ("comped", Tier::Member),
                ("gift", Tier::Member),
            ],
            Self::Oidc | Self::StandardWebhooks => {
                &[("free", Tier::Free), ("member", Tier::Member)]
            }
        };
        pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
    }
}

/// `POST /v1/platforms`: the fields each kind takes (SPEC "Membership
/// platforms"), told apart by `kind`.
#[derive(Deserialize, ToSchema)]
#[serde(tag = "kind")]
pub enum NewPlatform {
    #[serde(rename = "ghost")]
    Ghost(NewGhostPlatform),
    #[serde(rename = "oidc")]
    Oidc(NewOidcPlatform),
    #[serde(rename = "standard-webhooks")]
    StandardWebhooks(NewWebhooksPlatform),
}

/// A Ghost site: issuer, keys and audience all follow from `site`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewGhostPlatform {
    pub name: String,
    /// The site's address, e.g. `https://news.example`.
    pub site: String,
    /// Ghost's member statuses and the tier each gives (default: `free` is
    /// free; `paid`, `comped` and `gift` are members).
    pub tiers: Option<BTreeMap<String, Tier>>,
    /// The secret typed into Ghost's webhook settings; made when absent.
    pub webhook_secret: Option<String>,
}

/// Any OpenID Connect issuer.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOidcPlatform {
    pub name: String,
    /// The issuer, exactly as its tokens' `iss`.
    pub issuer: String,
    /// Where the issuer's keys are (a JWKS document).
    pub jwks_url: String,
    /// The `aud` its tokens carry for this newsroom.
    pub audience: String,
    /// The claim that holds the reader's email (default `email`).
    pub email_claim: Option<String>,
    /// Member states and the tier each gives (default: `free`, `member`).
    pub tiers: Option<BTreeMap<String, Tier>>,
    /// The secret its webhooks are signed with; made when absent.
    pub webhook_secret: Option<String>,
}

/// A Standard Webhooks sender: webhooks only, no identity tokens.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWebhooksPlatform {
    pub name: String,
    /// Member states and the tier each gives (default: `free`, `member`).
    pub tiers: Option<BTreeMap<String, Tier>>,
    /// The secret its webhooks are signed with; made when absent.
    pub webhook_secret: Option<String>,
}

impl NewPlatform {
    fn kind(&self) -> PlatformKind {
        match self {
            Self::Ghost(_) => PlatformKind::Ghost,
            Self::Oidc(_) => PlatformKind::Oidc,
            Self::StandardWebhooks(_) => PlatformKind::StandardWebhooks,
        }
    }

    fn common(&self) -> (&str, Option<&BTreeMap<String, Tier>>, Option<&str>) {
        match self {
            Self::Ghost(p) => (&p.name, p.tiers.as_ref(), p.webhook_secret.as_deref()),
            Self::Oidc(p) => (&p.name, p.tiers.as_ref(), p.webhook_secret.as_deref()),
            Self::StandardWebhooks(p) => (&p.name, p.tiers.as_ref(), p.webhook_secret.as_deref()),
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = platforms)]
pub struct PlatformRow {
    pub id: String,
    pub kind: String,
    pub name: String,
    pub issuer: Option<String>,
    pub jwks_url: Option<String>,
    pub audience: Option<String>,
    pub email_claim: Option<String>,
    pub tiers: String,
    pub webhook_secret: Vec<u8>,
    pub created_at: Timestamp,
}

/// A registered platform, without its secret.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Platform {
    pub id: String,
    pub kind: PlatformKind,
    pub name: String,
    pub issuer: Option<String>,
    pub jwks_url: Option<String>,
    pub audience: Option<String>,
    pub email_claim: Option<String>,
    pub tiers: BTreeMap<String, Tier>,
    pub created_at: Timestamp,
}

impl TryFrom<PlatformRow> for Platform {
    type Error = ApiError;

    fn try_from(row: PlatformRow) -> Result<Self, ApiError> {
        let broken = |what: &str| ApiError::internal(format!("platform {}: {what}", row.id));
        Ok(Self {
            kind: PlatformKind::parse(&row.kind).ok_or_else(|| broken("unknown kind"))?,
            tiers: serde_json::from_str(&row.tiers).map_err(|_| broken("unreadable tiers"))?,
            id: row.id,
            name: row.name,
            issuer: row.issuer,
            jwks_url: row.jwks_url,
            audience: row.audience,
            email_claim: row.email_claim,
            created_at: row.created_at,
        })
    }
}

impl Platform {
    /// The tier a member state gives, or None for a state the map lacks.
    pub fn tier_of(&self, status: &str) -> Option<Tier> {
        self.tiers.get(status).copied()
    }
}

/// A new platform and its webhook secret, shown once.
pub struct Registered {
    pub platform: Platform,
    pub webhook_secret: String,
}

/// What identifies a kind's identity tokens: (issuer, JWKS URL, audience).
type Identity = (Option<String>, Option<String>, Option<String>);

fn identity_of(new: &NewPlatform) -> Result<Identity, ApiError> {
    match new {
        NewPlatform::Ghost(ghost) => {
            let site = HttpUrl::parse("site", &ghost.site)?;
            let site = site.as_str().trim_end_matches('/');
            let issuer = format!("{site}/members/api");
            Ok((
                Some(issuer.clone()),
                Some(format!("{site}/members/.well-known/jwks.json")),
                Some(issuer),
            ))
        }
        NewPlatform::Oidc(oidc) => {
            let issuer = ISSUER.check("issuer", &oidc.issuer)?;
            let jwks = HttpUrl::parse("jwks_url", &oidc.jwks_url)?;
            let audience = AUDIENCE.check("audience", &oidc.audience)?;
            if let Some(claim) = &oidc.email_claim {
                EMAIL_CLAIM.check("email_claim", claim)?;
            }
            Ok((Some(issuer), Some(jwks.into_string()), Some(audience)))
        }
        NewPlatform::StandardWebhooks(_) => Ok((None, None, None)),
    }
}

/// A fresh webhook secret: Standard Webhooks' `whsec_` + base64 of 32 random
/// bytes for every kind (Ghost takes any string).
/// A platform's name: one line.
pub const NAME: Rule = Rule::Line(100);
/// An identity provider's issuer and audience: one line each.
pub const ISSUER: Rule = Rule::Line(500);
pub const AUDIENCE: Rule = Rule::Line(500);
/// The ID-token claim that holds the email.
pub const EMAIL_CLAIM: Rule = Rule::Line(100);

fn new_webhook_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("whsec_{}", BASE64.encode(bytes))
}

pub fn create(
    conn: &mut DbConnection,
    sealing: &SealingKey,
    new: &NewPlatform,
) -> Result<Registered, ApiError> {
    let kind = new.kind();
    let (name, tiers, secret) = new.common();
    let name = NAME.check("name", name)?;
    let (issuer, jwks_url, audience) = identity_of(new)?;
    let webhook_secret = match secret {
        Some(secret) => Rule::Secret.check("webhook_secret", secret)?,
        None => new_webhook_secret(),
    };
    let tiers = tiers.cloned().unwrap_or_else(|| kind.default_tiers());
    if tiers.is_empty()
        || tiers.len() > 50
        || tiers
            .keys()
            .any(|k| k.is_empty() || k.chars().count() > 100)
    {
        return Err(ApiError::invalid_field(
            "tiers",
            "must map 1 to 50 member states (each 1 to 100 characters) to free or member",
        ));
    }
    let id = uuid::Uuid::new_v4().to_string();
    let row = PlatformRow {
        webhook_secret: sealing.seal(webhook_secret.as_bytes(), &id),
        id,
        kind: kind.as_str().to_owned(),
        name,
        issuer,
        jwks_url,
        audience,
        email_claim: match new {
            NewPlatform::Oidc(oidc) => oidc.email_claim.clone(),
            _ => None,
        },
        tiers: serde_json::to_string(&tiers).map_err(ApiError::internal)?,
        created_at: Timestamp::now(),
    };
    match diesel::insert_into(platforms::table)
        .values(&row)
        .execute(conn)
    {
        Ok(_) => Ok(Registered {
            platform: row.try_into()?,
            webhook_secret,
        }),
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => Err(ApiError::new(
            ErrorCode::Conflict,
            "a platform with that name or issuer is registered already",
        )),
        Err(e) => Err(e.into()),
    }
}

/// Where platform `id` sends its webhooks.
pub fn webhook_url(public_url: &str, id: &str) -> String {
    format!("{public_url}/v1/webhooks/{id}")
}

pub fn list(conn: &mut DbConnection) -> Result<Vec<Platform>, ApiError> {
    platforms::table
        .order(platforms::created_at.asc())
        .select(PlatformRow::as_select())
        .load(conn)?
        .into_iter()
        .map(Platform::try_from)
        .collect()
}

pub fn find_by_issuer(conn: &mut DbConnection, issuer: &str) -> Result<Option<Platform>, ApiError> {
    platforms::table
        .filter(platforms::issuer.eq(issuer))
        .select(PlatformRow::as_select())
        .first(conn)
        .optional()?
        .map(Platform::try_from)
        .transpose()
}

/// The platform and its webhook secret, opened.
pub fn with_secret(
    conn: &mut DbConnection,
    sealing: &SealingKey,
    id: &str,
) -> Result<Option<(Platform, String)>, ApiError> {
    let Some(row) = platforms::table
        .find(id)
        .select(PlatformRow::as_select())
        .first(conn)
        .optional()?
    else {
        return Ok(None);
    };
    let secret = sealing
        .open(&row.webhook_secret, &row.id)
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(|| {
            ApiError::internal(format!(
                "platform {}: its webhook secret does not open with this data dir's platform.key",
                row.id
            ))
        })?;
    Ok(Some((row.try_into()?, secret)))
}

/// Removes the platform; its subscribers stay, managed by no platform.
pub fn remove(conn: &mut DbConnection, id: &str) -> Result<bool, ApiError> {
    use crate::db::schema::subscribers;
    conn.transaction(|conn| {
        diesel::update(subscribers::table.filter(subscribers::platform_id.eq(id)))
            .set(subscribers::platform_id.eq(None::<String>))
            .execute(conn)?;
        Ok(diesel::delete(platforms::table.find(id)).execute(conn)? == 1)
    })
}
