//! Archived copies of sources (SPEC "Snapshots and links"): bytes a
//! journalist uploads, or the server captures from a source's URL into a WARC;
//! kept by the SHA-256 of the bytes in a [`store::BlobStore`].

pub mod capture;
pub mod copies;
pub mod drift;
pub mod media_type;
pub mod monitor;
pub mod s3;
pub mod snapshots;
pub mod store;
pub mod wacz;
pub mod warc;

pub use copies::Archive;
