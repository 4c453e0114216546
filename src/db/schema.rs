// The tables, as diesel sees them. Both backends share them; the migrations under
// migrations/sqlite and migrations/postgres create them.

diesel::table! {
    api_keys (id) {
        id -> Text,
        name -> Text,
        role -> Text,
        key_hash -> Binary,
        created_at -> Text,
        revoked_at -> Nullable<Text>,
    }
}
