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

diesel::table! {
    ledger_head (id) {
        id -> Integer,
        size -> BigInt,
        last_at -> Text,
    }
}

diesel::table! {
    ledger_entries (idx) {
        idx -> BigInt,
        at -> Text,
        kind -> Text,
        actor -> Text,
        leaf -> Text,
        leaf_hash -> Binary,
    }
}

diesel::table! {
    ledger_hashes (id) {
        id -> BigInt,
        hash -> Binary,
    }
}

diesel::table! {
    ledger_checkpoints (size) {
        size -> BigInt,
        root_hash -> Binary,
        note -> Text,
        signed_at -> Text,
    }
}
