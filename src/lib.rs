//! sourceledger: a source transparency and citation ledger for newsrooms.

pub mod api;
pub mod archive;
pub mod audit;
pub mod auth;
pub mod compression;
pub mod config;
pub mod db;
pub mod desk;
pub mod error;
pub mod etag;
pub mod fields;
pub mod ledger;
pub mod limits;
pub mod metrics;
pub mod newsroom;
pub mod notifications;
pub mod outbound;
pub mod platforms;
pub mod reading;
pub mod secrets;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod time;
pub mod verify;
pub mod witness;
