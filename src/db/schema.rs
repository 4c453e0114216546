// The tables, as diesel sees them. Both backends share them; the migrations under
// migrations/sqlite and migrations/postgres create them.

diesel::table! {
    checkpoint_timestamps (size) {
        size -> BigInt,
        reply -> Binary,
        gen_time -> Text,
        stamped_at -> Text,
        checked_cert_sha256 -> Nullable<Text>,
    }
}

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
        article -> Nullable<Text>,
        source -> Nullable<Text>,
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

diesel::table! {
    subscribers (id) {
        id -> Text,
        external_id -> Text,
        email -> Nullable<Text>,
        tier -> Text,
        created_at -> Text,
        platform_id -> Nullable<Text>,
        platform_updated_at -> Nullable<Text>,
    }
}

diesel::table! {
    platforms (id) {
        id -> Text,
        kind -> Text,
        name -> Text,
        issuer -> Nullable<Text>,
        jwks_url -> Nullable<Text>,
        audience -> Nullable<Text>,
        email_claim -> Nullable<Text>,
        tiers -> Text,
        webhook_secret -> Binary,
        created_at -> Text,
    }
}

diesel::table! {
    articles (slug) {
        slug -> Text,
        title -> Text,
        url -> Text,
        language -> Text,
        authors -> Text,
        status -> Text,
        created_at -> Text,
        updated_at -> Text,
        ledger_index -> BigInt,
    }
}

diesel::table! {
    sources (id, version) {
        id -> Text,
        version -> BigInt,
        url -> Text,
        title -> Text,
        publisher -> Text,
        kind -> Text,
        language -> Text,
        published_at -> Nullable<Text>,
        accessed_at -> Nullable<Text>,
        snapshot_sha256 -> Nullable<Text>,
        archive_url -> Nullable<Text>,
        doi -> Nullable<Text>,
        record_sha256 -> Text,
        ledger_index -> BigInt,
        recorded_at -> Text,
        recorded_by -> Text,
        captured_at -> Nullable<Text>,
        warc_sha256 -> Nullable<Text>,
    }
}

diesel::table! {
    warc_indexes (warc_sha256) {
        warc_sha256 -> Text,
        crc32 -> BigInt,
        records -> Text,
        indexed_at -> Text,
    }
}

diesel::table! {
    snapshots (sha256) {
        sha256 -> Text,
        size -> BigInt,
        content_type -> Text,
        origin -> Text,
        url -> Nullable<Text>,
        warc_sha256 -> Nullable<Text>,
        warc_size -> Nullable<BigInt>,
        stored_at -> Text,
        stored_by -> Text,
    }
}

diesel::table! {
    link_checks (source_id, url) {
        source_id -> Text,
        url -> Text,
        status -> Text,
        detail -> Nullable<Text>,
        digest -> Nullable<Text>,
        checked_at -> Text,
        changed_at -> Text,
        ledger_index -> BigInt,
        next_check_at -> Text,
    }
}

diesel::table! {
    leases (name) {
        name -> Text,
        holder -> Text,
        expires_at -> Text,
    }
}

diesel::table! {
    citations (id) {
        id -> Text,
        article_slug -> Text,
        source_id -> Text,
        source_version -> BigInt,
        claim -> Text,
        quote -> Nullable<Text>,
        locator -> Text,
        note -> Nullable<Text>,
        status -> Text,
        attached_by -> Text,
        attached_by_key -> Text,
        attached_at -> Text,
        verified_by -> Nullable<Text>,
        verified_at -> Nullable<Text>,
        retracted_by -> Nullable<Text>,
        retracted_at -> Nullable<Text>,
        retraction_reason -> Nullable<Text>,
        ledger_index -> BigInt,
    }
}

diesel::joinable!(citations -> articles (article_slug));
diesel::table! {
    webhook_deliveries (platform_id, delivery_id) {
        platform_id -> Text,
        delivery_id -> Text,
        received_at -> Text,
    }
}

diesel::table! {
    embargoed_entries (idx) {
        idx -> BigInt,
        kind -> Text,
        actor -> Text,
        record -> Text,
        salt -> Text,
        article -> Nullable<Text>,
        source -> Nullable<Text>,
        disclosure_index -> Nullable<BigInt>,
    }
}

diesel::table! {
    platform_posts (platform_id, post_id) {
        platform_id -> Text,
        post_id -> Text,
        article_slug -> Text,
        linked_at -> Text,
    }
}

diesel::table! {
    member_deletions (platform_id, external_id) {
        platform_id -> Text,
        external_id -> Text,
        deleted_at -> Text,
    }
}

diesel::table! {
    auth_changes (id) {
        id -> Integer,
        counter -> BigInt,
    }
}

diesel::table! {
    witness_cosignatures (size, witness) {
        size -> BigInt,
        witness -> Text,
        line -> Text,
        cosigned_at -> Text,
    }
}

diesel::table! {
    witnessed_logs (origin) {
        origin -> Text,
        size -> BigInt,
        root_hash -> Binary,
        checkpoint -> Text,
        updated_at -> Text,
    }
}

diesel::table! {
    witness_refusals (id) {
        id -> BigInt,
        origin -> Text,
        reason -> Text,
        request -> Text,
        received_at -> Text,
    }
}

diesel::table! {
    sealed_sources (id) {
        id -> Text,
        kind -> Text,
        commitment -> Text,
        sealed_record -> Binary,
        sealed_at -> Text,
        sealed_by -> Text,
        ledger_index -> BigInt,
        disclosed_at -> Nullable<Text>,
        disclosed_by -> Nullable<Text>,
        disclosure_index -> Nullable<BigInt>,
    }
}

diesel::table! {
    desk_sessions (id_hash) {
        id_hash -> Binary,
        csrf -> Text,
        role -> Text,
        subject -> Text,
        name -> Text,
        created_at -> Text,
        expires_at -> Text,
        ended_at -> Nullable<Text>,
    }
}

diesel::table! {
    proposals (article_slug, url) {
        article_slug -> Text,
        url -> Text,
        position -> Integer,
        anchor_text -> Text,
        claim -> Text,
        state -> Text,
        origin -> Text,
        proposed_at -> Text,
        decided_by -> Nullable<Text>,
        decided_at -> Nullable<Text>,
        citation_id -> Nullable<Text>,
    }
}

diesel::table! {
    quote_checks (citation_id) {
        citation_id -> Text,
        snapshot_sha256 -> Text,
        status -> Text,
        selector -> Nullable<Text>,
        checked_at -> Text,
        ledger_index -> Nullable<BigInt>,
    }
}

diesel::table! {
    capture_requests (source_id) {
        source_id -> Text,
        url -> Text,
        article_slug -> Text,
        requested_at -> Text,
        attempts -> Integer,
        next_attempt_at -> Text,
        state -> Text,
        last_error -> Nullable<Text>,
    }
}

diesel::table! {
    notification_subscriptions (id) {
        id -> Text,
        url -> Text,
        events -> Text,
        secret -> Binary,
        created_at -> Text,
        created_by -> Text,
        from_index -> BigInt,
    }
}

diesel::table! {
    notification_deliveries (subscription_id, entry_index) {
        subscription_id -> Text,
        entry_index -> BigInt,
        event -> Text,
        payload -> Text,
        state -> Text,
        attempts -> Integer,
        created_at -> Text,
        next_attempt_at -> Text,
        last_attempt_at -> Nullable<Text>,
        last_http_status -> Nullable<Integer>,
        last_error -> Nullable<Text>,
        delivered_at -> Nullable<Text>,
    }
}

diesel::table! {
    notification_cursor (id) {
        id -> Integer,
        next_index -> BigInt,
    }
}

diesel::joinable!(platform_posts -> articles (article_slug));
diesel::allow_tables_to_appear_in_same_query!(
    checkpoint_timestamps,
    articles,
    embargoed_entries,
    platform_posts,
    citations,
    sources,
    subscribers,
    platforms,
    snapshots,
    link_checks,
    leases,
    proposals,
    quote_checks,
    capture_requests,
    warc_indexes
);
