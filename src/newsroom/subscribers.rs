//! Newsletter subscribers. Their data is personal: it never enters the ledger,
//! and deleting a subscriber removes the row (and so every token minted for it).

use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::DbConnection;
use crate::db::schema::subscribers;
use crate::error::ApiError;
use crate::fields::{self, Rule};
use crate::time::Timestamp;

crate::db::words::stored_words! {
    /// What a subscriber may see: a member sees the full source list.
    pub enum Tier ("subscriber tier") {
        Free => "free",
        Member => "member",
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSubscriber {
    /// The newsletter platform's id for this reader; creating twice is harmless.
    pub external_id: String,
    pub email: Option<String>,
    pub tier: Tier,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = subscribers)]
pub struct SubscriberRow {
    pub id: String,
    pub external_id: String,
    pub email: Option<String>,
    pub tier: String,
    pub created_at: Timestamp,
}

#[derive(Serialize, ToSchema)]
pub struct Subscriber {
    pub id: String,
    pub external_id: String,
    pub tier: String,
    /// Always `active`: a deleted subscriber no longer exists.
    pub status: &'static str,
}

impl SubscriberRow {
    pub fn to_api(&self) -> Subscriber {
        Subscriber {
            id: self.id.clone(),
            external_id: self.external_id.clone(),
            tier: self.tier.clone(),
            status: "active",
        }
    }
}

/// A subscriber's id on the newsroom's side: one line.
pub const EXTERNAL_ID: Rule = Rule::Line(200);

/// Creates the subscriber, or returns the existing one with this `external_id`
/// (with its tier and email brought up to date). The bool is true when new.
pub fn create(
    conn: &mut DbConnection,
    new: &NewSubscriber,
) -> Result<(SubscriberRow, bool), ApiError> {
    let external_id = EXTERNAL_ID.check("external_id", &new.external_id)?;
    let email = fields::optional(new.email.as_deref(), |e| Rule::Email.check("email", e))?;
    // No transaction: a unique violation means another request made it first,
    // and the update below then applies to that row.
    let existing = |conn: &mut DbConnection| -> Result<Option<SubscriberRow>, ApiError> {
        Ok(subscribers::table
            .filter(subscribers::external_id.eq(&external_id))
            .select(SubscriberRow::as_select())
            .first(conn)
            .optional()?)
    };
    let update = |conn: &mut DbConnection,
                  mut row: SubscriberRow|
     -> Result<(SubscriberRow, bool), ApiError> {
        row.tier = new.tier.as_str().to_owned();
        row.email = email.clone();
        diesel::update(subscribers::table.find(&row.id))
            .set((
                subscribers::tier.eq(&row.tier),
                subscribers::email.eq(&row.email),
            ))
            .execute(conn)?;
        Ok((row, false))
    };
    if let Some(row) = existing(conn)? {
        return update(conn, row);
    }
    let row = SubscriberRow {
        id: uuid::Uuid::new_v4().to_string(),
        external_id: external_id.clone(),
        email: email.clone(),
        tier: new.tier.as_str().to_owned(),
        created_at: Timestamp::now(),
    };
    let insert = diesel::insert_into(subscribers::table)
        .values(&row)
        .execute(conn);
    if crate::db::insert::inserted_unless_taken(insert)? {
        return Ok((row, true));
    }
    let row = existing(conn)?
        .ok_or_else(|| ApiError::unavailable("the subscriber changed meanwhile; try again"))?;
    update(conn, row)
}

pub fn find(conn: &mut DbConnection, id: &str) -> Result<Option<SubscriberRow>, ApiError> {
    Ok(subscribers::table
        .find(id)
        .select(SubscriberRow::as_select())
        .first(conn)
        .optional()?)
}

diesel::define_sql_function!(fn lower(text: diesel::sql_types::Nullable<diesel::sql_types::Text>) -> diesel::sql_types::Nullable<diesel::sql_types::Text>);

/// The subscriber a membership platform's verified identity speaks for: one
/// the platform made whose `external_id` is the identity's subject, or, when
/// the platform vouches for the identity's email, one the platform or the
/// newsroom's integration (`POST /v1/subscribers`) made with that email
/// (compared without case). The platform's own come first. None when there is
/// no such subscriber: a token alone makes none.
pub fn find_for_identity(
    conn: &mut DbConnection,
    platform_id: &str,
    subject: &str,
    email: Option<&str>,
) -> Result<Option<SubscriberRow>, ApiError> {
    // The token's subject names only a subscriber this same platform made:
    // an external id given by another platform or the integration is not
    // this platform's to claim.
    let by_subject = subscribers::platform_id
        .eq(platform_id)
        .and(subscribers::external_id.eq(subject));
    let query = subscribers::table
        .select((SubscriberRow::as_select(), subscribers::platform_id))
        .into_boxed();
    let candidates: Vec<(SubscriberRow, Option<String>)> = match email {
        // A verified email names the subscriber with that address, made by
        // this platform or by the newsroom's integration.
        Some(email) => query.filter(
            by_subject.or(subscribers::platform_id
                .eq(platform_id)
                .or(subscribers::platform_id.is_null())
                .and(lower(subscribers::email).eq(email.to_lowercase()))),
        ),
        None => query.filter(by_subject),
    }
    .load(conn)?;
    Ok(candidates
        .into_iter()
        .min_by_key(|(_, managed_by)| managed_by.is_none())
        .map(|(row, _)| row))
}

/// Removes the subscriber; its tokens stop working at once.
pub fn delete(conn: &mut DbConnection, id: &str) -> Result<(), ApiError> {
    let removed = diesel::delete(subscribers::table.find(id)).execute(conn)?;
    if removed == 0 {
        return Err(ApiError::not_found(format!("no subscriber {id:?}")));
    }
    Ok(())
}
