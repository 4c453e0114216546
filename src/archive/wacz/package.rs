//! A WACZ 1.1.1 package (Webrecorder), laid out from what is known of its
//! WARCs: `archive/<sha256>.warc` (the stored WARCs, as they are),
//! `indexes/index.cdxj` (CDXJ lines of every response record; named
//! `.cdxj`, not `.cdx`: wabac.js 2.27 looks the expected hash of a `.cdx`
//! index up under the wrong key and so counts it invalid in every package,
//! while a `.cdxj` index is loaded the same and not counted),
//! `pages/pages.jsonl`, `ledger/proofs.json` (the ledger's proofs of each
//! WARC), `datapackage.json` (each file's SHA-256 and size) and
//! `datapackage-digest.json`, signed as WACZ signing 0.1.0 says for an
//! anonymous signer. Nothing here reads a clock or a random source: the same
//! inputs make the same bytes, which a reader fetching a package by ranges
//! (request after request) needs.

use bytes::Bytes;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::index::{IndexedRecord, cdxj_line};
use super::zip::{Body, DosTime, Entry, Layout};
use crate::fields::Sha256Hex;
use crate::secrets::{SecretsError, WaczKey};

/// The WACZ version written.
pub const WACZ_VERSION: &str = "1.1.1";

/// One WARC to package.
#[derive(Debug, Clone)]
pub struct PackedWarc {
    pub sha256: Sha256Hex,
    pub size: u64,
    pub crc32: u32,
    pub records: Vec<IndexedRecord>,
    /// The title of the page it archives (its source's).
    pub title: String,
}

impl PackedWarc {
    /// Its name inside `archive/`.
    pub fn filename(&self) -> String {
        format!("{}.warc", self.sha256)
    }

    /// Its page: the last response with a 2xx status (after redirects).
    fn page(&self) -> Option<&IndexedRecord> {
        self.records
            .iter()
            .rev()
            .find(|r| r.status.starts_with('2'))
            .or(self.records.last())
    }
}

/// What a package is made of, besides the WARCs' bytes.
pub struct Contents<'a> {
    pub title: String,
    pub description: String,
    /// When the package's facts were last recorded (RFC 3339): its
    /// `created`, and the signature's.
    pub created: String,
    pub warcs: Vec<PackedWarc>,
    /// `ledger/proofs.json`.
    pub proofs: Vec<u8>,
    pub key: &'a WaczKey,
}

/// A package laid out, with the tag of its exact bytes.
pub struct Package {
    pub layout: Layout,
    /// The SHA-256 of `datapackage-digest.json`, which names the hash of
    /// every other file: a strong ETag of the package.
    pub digest_sha256: String,
}

#[derive(Serialize)]
struct Resource {
    name: String,
    path: String,
    hash: String,
    bytes: u64,
}

#[derive(Serialize)]
struct DataPackage<'a> {
    profile: &'static str,
    resources: Vec<Resource>,
    wacz_version: &'static str,
    title: &'a str,
    description: &'a str,
    created: &'a str,
    modified: &'a str,
    software: &'a str,
    #[serde(rename = "mainPageUrl", skip_serializing_if = "Option::is_none")]
    main_page_url: Option<&'a str>,
    #[serde(rename = "mainPageDate", skip_serializing_if = "Option::is_none")]
    main_page_date: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SignedData<'a> {
    hash: &'a str,
    created: &'a str,
    software: &'a str,
    signature: String,
    public_key: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DigestFile<'a> {
    path: &'static str,
    hash: &'a str,
    signed_data: SignedData<'a>,
}

#[derive(Serialize)]
struct PageLine<'a> {
    id: &'a str,
    url: &'a str,
    ts: &'a str,
    title: &'a str,
}

fn software() -> String {
    format!("sourceledger {}", env!("CARGO_PKG_VERSION"))
}

fn sha256_field(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// A package that could not be made (our own fault, never the caller's).
#[derive(Debug, thiserror::Error)]
pub enum PackError {
    #[error("signing the package: {0}")]
    Sign(#[from] SecretsError),
    #[error("writing the package's JSON: {0}")]
    Json(#[from] serde_json::Error),
}

fn json(value: &impl Serialize) -> Result<Bytes, PackError> {
    Ok(Bytes::from(serde_json::to_vec(value)?))
}

/// Lays out the package of `contents`.
pub fn lay_out(contents: Contents) -> Result<Package, PackError> {
    let mut lines: Vec<String> = contents
        .warcs
        .iter()
        .flat_map(|w| {
            let name = w.filename();
            w.records
                .iter()
                .map(move |r| cdxj_line(r, &name))
                .collect::<Vec<_>>()
        })
        .collect();
    // CDXJ lines sort bytewise.
    lines.sort_unstable();
    let index: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let mut pages =
        String::from("{\"format\":\"json-pages-1.0\",\"id\":\"pages\",\"title\":\"All Pages\"}\n");
    for warc in &contents.warcs {
        if let Some(page) = warc.page() {
            let line = PageLine {
                id: &warc.sha256.as_str()[..32],
                url: &page.url,
                ts: &page.date,
                title: &warc.title,
            };
            pages.push_str(&String::from_utf8_lossy(&json(&line)?));
            pages.push('\n');
        }
    }
    let mut entries: Vec<Entry> = contents
        .warcs
        .iter()
        .map(|w| Entry {
            name: format!("archive/{}", w.filename()),
            size: w.size,
            crc32: w.crc32,
            body: Body::Blob(w.sha256.clone()),
        })
        .collect();
    entries.push(Entry::bytes("indexes/index.cdxj", Bytes::from(index)));
    entries.push(Entry::bytes("pages/pages.jsonl", Bytes::from(pages)));
    entries.push(Entry::bytes(
        "ledger/proofs.json",
        Bytes::from(contents.proofs),
    ));
    let resources = entries
        .iter()
        .map(|e| Resource {
            name: e.name.rsplit('/').next().unwrap_or(&e.name).to_owned(),
            path: e.name.clone(),
            hash: match &e.body {
                Body::Blob(sha) => format!("sha256:{sha}"),
                Body::Bytes(b) => sha256_field(b),
            },
            bytes: e.size,
        })
        .collect();
    let software = software();
    let main = contents.warcs.first().and_then(PackedWarc::page);
    let datapackage = json(&DataPackage {
        profile: "data-package",
        resources,
        wacz_version: WACZ_VERSION,
        title: &contents.title,
        description: &contents.description,
        created: &contents.created,
        modified: &contents.created,
        software: &software,
        main_page_url: main.map(|p| p.url.as_str()),
        main_page_date: main.map(|p| p.date.as_str()),
    })?;
    let hash = sha256_field(&datapackage);
    let digest = json(&DigestFile {
        path: "datapackage.json",
        hash: &hash,
        signed_data: SignedData {
            hash: &hash,
            created: &contents.created,
            software: &software,
            signature: contents.key.sign(&hash)?,
            public_key: contents.key.public_key(),
        },
    })?;
    let digest_sha256 = hex::encode(Sha256::digest(&digest));
    entries.push(Entry::bytes("datapackage.json", datapackage));
    entries.push(Entry::bytes("datapackage-digest.json", digest));
    Ok(Package {
        layout: Layout::new(&entries, DosTime::of_rfc3339(&contents.created)),
        digest_sha256,
    })
}
