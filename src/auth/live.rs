//! Whether what a token was minted for is still live: the API key not revoked
//! (and still of that role), the subscriber not deleted. Checked on every
//! authenticated request, so revocation and deletion take effect at once.

use diesel::prelude::*;

use super::Role;
use super::keys;
use super::token::Subject;
use crate::db::DbConnection;
use crate::db::schema::subscribers;

pub fn subject_is_live(
    conn: &mut DbConnection,
    subject: &Subject,
    role: Role,
) -> QueryResult<bool> {
    match subject {
        Subject::ApiKey(id) => Ok(keys::live_role(conn, id)? == Some(role)),
        Subject::Subscriber(id) => Ok(role == Role::Subscriber
            && subscribers::table
                .find(id)
                .select(subscribers::id)
                .first::<String>(conn)
                .optional()?
                .is_some()),
    }
}
