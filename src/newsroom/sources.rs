//! Sources: a stable id and a version that grows on every change. Old versions
//! stay readable; each version is a ledger entry whose record hashes to its
//! `record_sha256`.

use diesel::prelude::*;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;

use super::embargo::Embargo;
use super::ledger_index;
use crate::archive::monitor::LinkStatus;
use crate::db::DbConnection;
use crate::db::insert::insert_all;
use crate::db::schema::sources;
use crate::error::{ApiError, ErrorCode};
use crate::fields::{self, Doi, HttpUrl, LanguageTag, Rule, Sha256Hex};
use crate::ledger::leaf::record_sha256;
use crate::ledger::{About, LedgerError, Sequencer};
use crate::time::Timestamp;

crate::db::words::stored_words! {
    /// What sort of source it is.
    pub enum SourceKind ("source kind") {
        OfficialStatement => "official_statement",
        NewsReport => "news_report",
        Document => "document",
        Dataset => "dataset",
        SocialMedia => "social_media",
        Interview => "interview",
        Academic => "academic",
        Other => "other",
    }
}

/// A source's title: one line.
pub const TITLE: Rule = Rule::Line(500);
/// Who published it: one line.
pub const PUBLISHER: Rule = Rule::Line(300);

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSource {
    /// Absolute http or https, at most 2048 characters.
    pub url: String,
    pub title: String,
    pub publisher: String,
    pub kind: SourceKind,
    /// BCP 47.
    pub language: String,
    /// A date (2026-11-23) or an RFC 3339 time.
    pub published_at: Option<String>,
    /// A date or an RFC 3339 time.
    pub accessed_at: Option<String>,
    /// Hex SHA-256 of the archived copy's bytes.
    pub snapshot_sha256: Option<String>,
    pub archive_url: Option<String>,
    pub doi: Option<String>,
    /// A confidential source: the ledger gets only a commitment to the record,
    /// its kind and the date; editors and admins may read it, and disclose it.
    #[serde(default)]
    pub sealed: bool,
}

/// Absent: keep; `null`: clear; a value: set.
fn patch_field<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// A change to a source: the fields present replace the latest version's; `null`
/// clears an optional field. The result is version n+1.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(min_properties = 1)]
pub struct SourcePatch {
    pub url: Option<String>,
    pub title: Option<String>,
    pub publisher: Option<String>,
    pub kind: Option<SourceKind>,
    pub language: Option<String>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<String>)]
    pub published_at: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<String>)]
    pub accessed_at: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<String>)]
    pub snapshot_sha256: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<String>)]
    pub archive_url: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<String>)]
    pub doi: Option<Option<String>>,
}

/// One version of a source, as stored and as the API shows it.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, Serialize, ToSchema)]
#[diesel(table_name = sources, treat_none_as_default_value = false)]
pub struct SourceVersion {
    pub id: String,
    pub version: i64,
    #[schema(value_type = String)]
    pub url: HttpUrl,
    pub title: String,
    pub publisher: String,
    #[diesel(serialize_as = String, deserialize_as = String)]
    pub kind: SourceKind,
    #[schema(value_type = String)]
    pub language: LanguageTag,
    pub published_at: Option<String>,
    pub accessed_at: Option<String>,
    #[schema(value_type = Option<String>)]
    pub snapshot_sha256: Option<Sha256Hex>,
    /// A journalist's archive URL is parsed (and normalised) when given; one
    /// this server's capture made is its public URL as configured, kept as
    /// the text its record was hashed over: read back as written.
    pub archive_url: Option<String>,
    #[schema(value_type = Option<String>)]
    pub doi: Option<Doi>,
    /// Hex SHA-256 of `record`'s canonical JSON (RFC 8785).
    pub record_sha256: String,
    /// The ledger entry that recorded this version.
    pub ledger_index: i64,
    pub recorded_at: Timestamp,
    /// The actor that recorded it.
    pub recorded_by: String,
    /// When the snapshot of this version was captured from `url` by this
    /// server (a version made by a capture).
    pub captured_at: Option<Timestamp>,
    /// The SHA-256 of the WARC this server's capture archived the exchange
    /// in (recorded since WACZ packages prove their WARCs' bytes).
    #[schema(value_type = Option<String>)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warc_sha256: Option<Sha256Hex>,
    /// What the link monitor last found at `url`: `unchecked`, `live`,
    /// `changed` (the page differs from the capture), `gone` or `error`.
    #[diesel(skip_insertion)]
    #[diesel(select_expression = diesel::dsl::sql::<diesel::sql_types::Text>(LINK_STATUS_SQL))]
    #[diesel(select_expression_type = diesel::expression::SqlLiteral<diesel::sql_types::Text>)]
    #[diesel(deserialize_as = String)]
    pub link_status: LinkStatus,
    /// When the link monitor last checked `url`.
    #[diesel(skip_insertion)]
    #[diesel(select_expression = diesel::dsl::sql::<diesel::sql_types::Nullable<diesel::sql_types::Text>>(LINK_CHECKED_SQL))]
    #[diesel(select_expression_type = diesel::expression::SqlLiteral<diesel::sql_types::Nullable<diesel::sql_types::Text>>)]
    pub link_checked_at: Option<Timestamp>,
    /// The `source.link` entry that recorded the link's current state, if it
    /// has one: the list proves `link_status` with it.
    #[diesel(skip_insertion)]
    #[diesel(select_expression = diesel::dsl::sql::<diesel::sql_types::Nullable<diesel::sql_types::BigInt>>(LINK_ENTRY_SQL))]
    #[diesel(select_expression_type = diesel::expression::SqlLiteral<diesel::sql_types::Nullable<diesel::sql_types::BigInt>>)]
    #[serde(skip)]
    #[schema(ignore)]
    pub link_entry: Option<i64>,
    /// A later version made by a capture (`source.captured`), when there is
    /// one: a citation cites the version it cited, and readers still get
    /// the archived copy captured since (on publication, say).
    #[diesel(skip_insertion)]
    #[diesel(select_expression = diesel::dsl::sql::<diesel::sql_types::Nullable<diesel::sql_types::BigInt>>(LATER_CAPTURE_VERSION_SQL))]
    #[diesel(select_expression_type = diesel::expression::SqlLiteral<diesel::sql_types::Nullable<diesel::sql_types::BigInt>>)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub later_capture_version: Option<i64>,
    /// That version's archived copy (its `archive_url`).
    #[diesel(skip_insertion)]
    #[diesel(select_expression = diesel::dsl::sql::<diesel::sql_types::Nullable<diesel::sql_types::Text>>(LATER_ARCHIVE_URL_SQL))]
    #[diesel(select_expression_type = diesel::expression::SqlLiteral<diesel::sql_types::Nullable<diesel::sql_types::Text>>)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub later_archive_url: Option<String>,
    /// That version's `snapshot_sha256`.
    #[diesel(skip_insertion)]
    #[diesel(select_expression = diesel::dsl::sql::<diesel::sql_types::Nullable<diesel::sql_types::Text>>(LATER_SNAPSHOT_SQL))]
    #[diesel(select_expression_type = diesel::expression::SqlLiteral<diesel::sql_types::Nullable<diesel::sql_types::Text>>)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub later_snapshot_sha256: Option<String>,
    /// When that capture was made.
    #[diesel(skip_insertion)]
    #[diesel(select_expression = diesel::dsl::sql::<diesel::sql_types::Nullable<diesel::sql_types::Text>>(LATER_CAPTURED_AT_SQL))]
    #[diesel(select_expression_type = diesel::expression::SqlLiteral<diesel::sql_types::Nullable<diesel::sql_types::Text>>)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub later_captured_at: Option<String>,
    /// The ledger entry that recorded that version: the list proves the
    /// later copy with it.
    #[diesel(skip_insertion)]
    #[diesel(select_expression = diesel::dsl::sql::<diesel::sql_types::Nullable<diesel::sql_types::BigInt>>(LATER_CAPTURE_ENTRY_SQL))]
    #[diesel(select_expression_type = diesel::expression::SqlLiteral<diesel::sql_types::Nullable<diesel::sql_types::BigInt>>)]
    #[serde(skip)]
    #[schema(ignore)]
    pub later_capture_entry: Option<i64>,
}

/// The newest version after this one that a capture made.
macro_rules! later_capture {
    () => {
        "(SELECT MAX(c.version) FROM sources c WHERE c.id = sources.id AND c.version > sources.version AND c.captured_at IS NOT NULL AND c.snapshot_sha256 IS NOT NULL)"
    };
}
macro_rules! of_later_capture {
    ($column:literal) => {
        concat!(
            "(SELECT c.",
            $column,
            " FROM sources c WHERE c.id = sources.id AND c.version = ",
            later_capture!(),
            ")"
        )
    };
}
const LATER_CAPTURE_VERSION_SQL: &str = later_capture!();
const LATER_ARCHIVE_URL_SQL: &str = of_later_capture!("archive_url");
const LATER_SNAPSHOT_SQL: &str = of_later_capture!("snapshot_sha256");
const LATER_CAPTURED_AT_SQL: &str = of_later_capture!("captured_at");
const LATER_CAPTURE_ENTRY_SQL: &str = of_later_capture!("ledger_index");

/// A version's link state, from the monitor's table (not part of the record:
/// it changes after the version was recorded; each change has its own
/// `source.link` ledger entry).
const LINK_STATUS_SQL: &str = "COALESCE((SELECT l.status FROM link_checks l WHERE l.source_id = sources.id AND l.url = sources.url), 'unchecked')";
const LINK_ENTRY_SQL: &str = "(SELECT l.ledger_index FROM link_checks l WHERE l.source_id = sources.id AND l.url = sources.url)";
const LINK_CHECKED_SQL: &str = "(SELECT l.checked_at FROM link_checks l WHERE l.source_id = sources.id AND l.url = sources.url)";

impl SourceVersion {
    /// What the ledger records of this version. `captured_at` and
    /// `warc_sha256` are recorded only when there is one, so versions from
    /// before captures (and WARC hashes) existed hash as they always did.
    pub fn record(&self) -> Value {
        let mut record = json!({
            "id": self.id,
            "version": self.version,
            "url": self.url,
            "title": self.title,
            "publisher": self.publisher,
            "kind": self.kind,
            "language": self.language,
            "published_at": self.published_at,
            "accessed_at": self.accessed_at,
            "snapshot_sha256": self.snapshot_sha256,
            "archive_url": self.archive_url,
            "doi": self.doi,
        });
        if let Some(fields) = record.as_object_mut() {
            if let Some(at) = &self.captured_at {
                fields.insert("captured_at".into(), json!(at));
            }
            if let Some(warc) = &self.warc_sha256 {
                fields.insert("warc_sha256".into(), json!(warc));
            }
        }
        record
    }
}

/// The validated fields of a version, before it is recorded.
struct Fields {
    url: HttpUrl,
    title: String,
    publisher: String,
    kind: SourceKind,
    language: LanguageTag,
    published_at: Option<String>,
    accessed_at: Option<String>,
    snapshot_sha256: Option<Sha256Hex>,
    archive_url: Option<HttpUrl>,
    doi: Option<Doi>,
}

impl Fields {
    /// Version `version` of source `id` with these fields, not yet recorded.
    fn into_version(self, id: String, version: i64, actor: &str) -> SourceVersion {
        SourceVersion {
            id,
            version,
            url: self.url,
            title: self.title,
            publisher: self.publisher,
            kind: self.kind,
            language: self.language,
            published_at: self.published_at,
            accessed_at: self.accessed_at,
            snapshot_sha256: self.snapshot_sha256,
            archive_url: self.archive_url.map(HttpUrl::into_string),
            doi: self.doi,
            record_sha256: String::new(),
            ledger_index: 0,
            // The entry's time, once it is appended.
            recorded_at: Timestamp::now(),
            recorded_by: actor.to_owned(),
            captured_at: None,
            warc_sha256: None,
            link_status: LinkStatus::Unchecked,
            link_checked_at: None,
            link_entry: None,
            later_capture_version: None,
            later_archive_url: None,
            later_snapshot_sha256: None,
            later_captured_at: None,
            later_capture_entry: None,
        }
    }
}

fn validate_new(new: &NewSource) -> Result<Fields, ApiError> {
    Ok(Fields {
        url: HttpUrl::parse("url", &new.url)?,
        title: TITLE.check("title", &new.title)?,
        publisher: PUBLISHER.check("publisher", &new.publisher)?,
        kind: new.kind,
        language: LanguageTag::parse("language", &new.language)?,
        published_at: fields::optional(new.published_at.as_deref(), |v| {
            Rule::DateOrTime.check("published_at", v)
        })?,
        accessed_at: fields::optional(new.accessed_at.as_deref(), |v| {
            Rule::DateOrTime.check("accessed_at", v)
        })?,
        snapshot_sha256: fields::optional(new.snapshot_sha256.as_deref(), |v| {
            Sha256Hex::parse("snapshot_sha256", v)
        })?,
        archive_url: fields::optional(new.archive_url.as_deref(), |v| {
            HttpUrl::parse("archive_url", v)
        })?,
        doi: fields::optional(new.doi.as_deref(), |v| Doi::parse("doi", v))?,
    })
}

/// Appends `row`'s entry and stores it, with its hash and ledger index.
/// `kind`: `source.recorded`, `source.revised` or `source.captured`.
fn record_version(
    conn: &mut DbConnection,
    seq: &mut Sequencer,
    embargo: Embargo,
    actor: &str,
    kind: &str,
    mut row: SourceVersion,
) -> Result<SourceVersion, ApiError> {
    let record = row.record();
    row.record_sha256 = record_sha256(&record)?;
    // A source no published article cites yet is committed to, not shown:
    // a new one always, a version of one only while that lasts.
    let committed = embargo.on()
        && (kind == "source.recorded" || !super::embargo::source_is_public(conn, &row.id)?);
    let entry = super::embargo::prepare(committed, kind, actor, &record)?;
    store_version(conn, seq, PreparedSource { row, entry })
}

/// Appends a prepared version's entry and stores the version with its index.
fn store_version(
    conn: &mut DbConnection,
    seq: &mut Sequencer,
    prepared: PreparedSource,
) -> Result<SourceVersion, ApiError> {
    let row = prepared.append(conn, seq)?;
    diesel::insert_into(sources::table)
        .values(row.clone())
        .execute(conn)?;
    Ok(row)
}

/// True when `a` and `b` say the same of their source (whatever their versions).
fn same_content(a: &SourceVersion, b: &SourceVersion) -> bool {
    a.url == b.url
        && a.title == b.title
        && a.publisher == b.publisher
        && a.kind == b.kind
        && a.language == b.language
        && a.published_at == b.published_at
        && a.accessed_at == b.accessed_at
        && a.snapshot_sha256 == b.snapshot_sha256
        && a.archive_url == b.archive_url
        && a.doi == b.doi
}

/// What a source recorded as `new` would record, as version 1 of `id`: the
/// record a sealed source commits to (`newsroom::sealed`).
pub fn record_of_new(new: &NewSource, id: &str, actor: &str) -> Result<Value, ApiError> {
    Ok(validate_new(new)?
        .into_version(id.to_owned(), 1, actor)
        .record())
}

/// A new source, checked, named and encoded before it reaches the log's
/// writer: under the lock only its time, its hashes and its row are left.
pub struct PreparedSource {
    row: SourceVersion,
    entry: super::embargo::Prepared,
}

impl PreparedSource {
    /// Appends the version's entry; the row, with its index and time, is the
    /// caller's to store.
    fn append(
        self,
        conn: &mut DbConnection,
        seq: &mut Sequencer,
    ) -> Result<SourceVersion, ApiError> {
        let PreparedSource { mut row, entry } = self;
        let about = About {
            article: None,
            source: Some(&row.id),
        };
        let appended = entry.append(conn, seq, about)?;
        row.ledger_index = ledger_index(&appended);
        row.recorded_at = appended.at;
        Ok(row)
    }
}

/// Prepares version 1 of a new source recorded by `actor` (outside the
/// log's lock). A new source is always committed to while the embargo is on:
/// no published article can cite it yet.
pub fn prepare_new(
    embargo: Embargo,
    actor: &str,
    new: &NewSource,
) -> Result<PreparedSource, ApiError> {
    // Time-ordered, like citations' and sealed sources' ids: each index on a
    // source id grows at its end, so a group commit writes a few pages, not
    // one page anywhere in the index per new source.
    let mut row = validate_new(new)?.into_version(uuid::Uuid::now_v7().to_string(), 1, actor);
    let record = row.record();
    row.record_sha256 = record_sha256(&record)?;
    let entry = super::embargo::prepare(embargo.on(), "source.recorded", actor, &record)?;
    Ok(PreparedSource { row, entry })
}

/// Records a new source prepared by [`prepare_new`]: its entry now, its row
/// with the rest of the transaction's new sources when the log's writes end
/// (nothing reads a source before its creator has heard of it).
pub fn create(
    conn: &mut DbConnection,
    seq: &mut Sequencer,
    prepared: PreparedSource,
) -> Result<SourceVersion, ApiError> {
    let row = prepared.append(conn, seq)?;
    seq.defer("sources", insert_new_sources, row.clone());
    Ok(row)
}

/// Writes new sources deferred by [`create`].
fn insert_new_sources(
    conn: &mut DbConnection,
    rows: Vec<Box<dyn std::any::Any + Send>>,
) -> Result<(), LedgerError> {
    let rows = rows
        .into_iter()
        .map(|row| {
            row.downcast::<SourceVersion>()
                .map(|row| *row)
                .map_err(|_| LedgerError::Corrupt("a deferred row is not a source".into()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    insert_all!(conn, sources::table, &rows, owned)?;
    Ok(())
}

/// Records version n+1 of source `id` with `patch` applied to version n.
pub fn revise(
    conn: &mut DbConnection,
    seq: &mut Sequencer,
    embargo: Embargo,
    actor: &str,
    id: &str,
    patch: &SourcePatch,
) -> Result<SourceVersion, ApiError> {
    let latest = latest(conn, id)?;
    let pick = |new: &Option<Option<String>>, old: Option<&str>| match new {
        None => old.map(str::to_owned),
        Some(value) => value.clone(),
    };
    let merged = NewSource {
        url: patch.url.clone().unwrap_or_else(|| latest.url.to_string()),
        title: patch.title.clone().unwrap_or_else(|| latest.title.clone()),
        publisher: patch
            .publisher
            .clone()
            .unwrap_or_else(|| latest.publisher.clone()),
        kind: patch.kind.unwrap_or(latest.kind),
        language: patch
            .language
            .clone()
            .unwrap_or_else(|| latest.language.to_string()),
        published_at: pick(&patch.published_at, latest.published_at.as_deref()),
        accessed_at: pick(&patch.accessed_at, latest.accessed_at.as_deref()),
        snapshot_sha256: pick(&patch.snapshot_sha256, latest.snapshot_sha256.as_deref()),
        archive_url: pick(&patch.archive_url, latest.archive_url.as_deref()),
        doi: pick(&patch.doi, latest.doi.as_deref()),
        sealed: false,
    };
    let mut row = validate_new(&merged)?.into_version(latest.id.clone(), latest.version + 1, actor);
    // The capture time and WARC stay with the snapshot they belong to.
    if row.snapshot_sha256 == latest.snapshot_sha256 {
        row.captured_at = latest.captured_at.clone();
        row.warc_sha256 = latest.warc_sha256.clone();
    }
    let unchanged = same_content(&row, &latest);
    if unchanged {
        return Err(ApiError::new(
            ErrorCode::NoChange,
            "the patch changes nothing: no new version was made",
        ));
    }
    record_version(conn, seq, embargo, actor, "source.revised", row)
}

/// What a capture by this server adds to a source's version.
pub struct Captured {
    pub snapshot_sha256: Sha256Hex,
    /// Where the copy is kept.
    pub archive_url: String,
    pub captured_at: Timestamp,
    /// The WARC of the exchange, for a capture by this server (an upload
    /// has none).
    pub warc_sha256: Option<Sha256Hex>,
}

/// Records version n+1 of source `id` with its snapshot `captured`.
pub fn record_capture(
    conn: &mut DbConnection,
    seq: &mut Sequencer,
    embargo: Embargo,
    actor: &str,
    id: &str,
    captured: Captured,
) -> Result<SourceVersion, ApiError> {
    let latest = latest(conn, id)?;
    let mut row = SourceVersion {
        version: latest.version + 1,
        snapshot_sha256: Some(captured.snapshot_sha256),
        archive_url: Some(captured.archive_url),
        captured_at: Some(captured.captured_at),
        warc_sha256: captured.warc_sha256,
        recorded_by: actor.to_owned(),
        ..latest
    };
    row.record_sha256.clear();
    record_version(conn, seq, embargo, actor, "source.captured", row)
}

/// The latest version of source `id`, or a 404.
pub fn latest(conn: &mut DbConnection, id: &str) -> Result<SourceVersion, ApiError> {
    match sources::table
        .filter(sources::id.eq(id))
        .order(sources::version.desc())
        .select(SourceVersion::as_select())
        .first(conn)
        .optional()?
    {
        Some(version) => Ok(version),
        None => Err(missing(conn, id)?),
    }
}

/// Why there is no open source `id`: it is sealed (409: it is not revised or
/// captured until it is disclosed), or there is none (404).
fn missing(conn: &mut DbConnection, id: &str) -> Result<ApiError, ApiError> {
    use crate::db::schema::sealed_sources;
    let sealed: i64 = sealed_sources::table
        .filter(sealed_sources::id.eq(id))
        .count()
        .get_result(conn)?;
    Ok(if sealed > 0 {
        ApiError::new(
            ErrorCode::SealedSource,
            format!("source {id:?} is sealed: it is not revised, captured or cited"),
        )
    } else {
        ApiError::not_found(format!("no source {id:?}"))
    })
}

pub fn version(
    conn: &mut DbConnection,
    id: &str,
    version: i64,
) -> Result<Option<SourceVersion>, ApiError> {
    Ok(sources::table
        .find((id, version))
        .select(SourceVersion::as_select())
        .first(conn)
        .optional()?)
}

/// The newsroom's sources for its desk, most recently recorded first, each at
/// its latest version: every one, or those whose URL, title or publisher (at
/// that version) holds `text` (any case; on SQLite ASCII letters only), at
/// most `limit`.
pub fn search(
    conn: &mut DbConnection,
    text: Option<&str>,
    limit: u32,
) -> Result<Vec<SourceVersion>, ApiError> {
    let mut query = sources::table
        .order((sources::recorded_at.desc(), sources::id.asc()))
        .select(SourceVersion::as_select())
        .into_boxed();
    if let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) {
        let pattern = format!("%{}%", crate::db::like_escaped(&text.to_lowercase()));
        query = query.filter(
            crate::db::lower(sources::title)
                .like(pattern.clone())
                .escape('\\')
                .or(crate::db::lower(sources::publisher)
                    .like(pattern.clone())
                    .escape('\\'))
                .or(crate::db::lower(sources::url).like(pattern).escape('\\')),
        );
    }
    // Newest first, so a source's first row here is its latest version that
    // matches; a source's older versions are skipped.
    let mut seen = std::collections::HashSet::new();
    let mut found = Vec::new();
    for row in query.limit(i64::from(limit) * 4).load(conn)? {
        if found.len() as u32 >= limit {
            break;
        }
        if seen.insert(row.id.clone()) {
            found.push(row);
        }
    }
    Ok(found)
}

/// Every version of source `id`, oldest first, or a 404.
/// Every version of source `id`, oldest first; a reader who is not staff
/// sees only those in the open (or disclosed), and a 404 when there is none.
pub fn versions(
    conn: &mut DbConnection,
    id: &str,
    staff: bool,
) -> Result<Vec<SourceVersion>, ApiError> {
    let mut rows: Vec<SourceVersion> = sources::table
        .filter(sources::id.eq(id))
        .order(sources::version.asc())
        .select(SourceVersion::as_select())
        .load(conn)?;
    if rows.is_empty() {
        return Err(missing(conn, id)?);
    }
    if !staff {
        let indexes: Vec<i64> = rows.iter().map(|r| r.ledger_index).collect();
        let hidden = super::embargo::undisclosed(conn, &indexes)?;
        rows.retain(|r| !hidden.contains(&r.ledger_index));
        if rows.is_empty() {
            return Err(ApiError::not_found(format!("no source {id:?}")));
        }
    }
    Ok(rows)
}

/// The latest version of source `id` a reader may see: for one who is not
/// staff, the latest in the open (or disclosed).
pub fn latest_shown(
    conn: &mut DbConnection,
    id: &str,
    staff: bool,
) -> Result<SourceVersion, ApiError> {
    if staff {
        return latest(conn, id);
    }
    versions(conn, id, false)?
        .pop()
        .ok_or_else(|| ApiError::not_found(format!("no source {id:?}")))
}
