//! The one integration-test binary: each test starts the real application on a
//! fresh database, on SQLite always and on PostgreSQL when
//! `SOURCELEDGER_TEST_POSTGRES_URL` is set.

mod helpers;

mod audit;
mod auth;
mod browser;
mod citation_formats;
mod cli;
mod compression;
mod corpus;
mod cors;
mod desk;
mod desk_archive;
mod desk_browser;
mod desk_browser_admin;
mod desk_sso;
mod durability;
mod embargo;
mod errors;
mod from_article;
mod ghost;
mod ghost_sources;
mod group_commit;
mod health;
mod interop_go;
mod ledger_api;
mod ledger_concurrency;
mod ledger_reference;
mod ledger_vectors;
mod links;
mod liveness;
mod lookup;
mod metrics;
mod migrations;
mod moto;
mod newsroom;
mod openapi;
mod panel;
mod permissions;
mod platforms;
mod process;
mod rate_limits;
mod sealed;
mod site;
mod snapshots;
mod source_page;
mod startup;
mod teaser_cache;
mod tiles;
mod timestamps;
mod validation;
mod verify_cli;
mod web_verifier;
mod webhooks;
mod witnesses;
