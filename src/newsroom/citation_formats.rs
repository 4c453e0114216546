//! The source list in the formats readers cite with (SPEC "The reader's
//! side"): CSL-JSON, BibTeX, RIS and schema.org JSON-LD. Each is a small
//! renderer over [`Entry`]s that the source-list builder makes from the list
//! the caller may see: from the teaser, entries carry only what the teaser
//! shows (no links, no archive, no quote); from the verified list, everything.
//! Retracted citations are left out: they are not sources the article uses.
//!
//! Every text is hostile until escaped: JSON by serde, BibTeX by escaping its
//! special characters, RIS by keeping each value on its one line.

use serde_json::{Value, json};

use super::articles::Article;
use crate::archive::monitor::LinkStatus;

/// How a list is written out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// The API's own JSON (the teaser or the verified list, with proofs).
    Json,
    CslJson,
    Bibtex,
    Ris,
    JsonLd,
    /// The page `GET /articles/{slug}/sources` (not a `?format=`).
    Html,
    /// The embeddable view `GET /articles/{slug}/embed` that oEmbed
    /// consumers frame: the teaser only (not a `?format=`).
    Embed,
}

impl Format {
    pub const NAMES: [(&'static str, Format); 4] = [
        ("csl-json", Format::CslJson),
        ("bibtex", Format::Bibtex),
        ("ris", Format::Ris),
        ("jsonld", Format::JsonLd),
    ];

    /// `?format=`: `json` or one of [`NAMES`](Self::NAMES).
    pub fn from_name(name: &str) -> Option<Self> {
        if name == "json" {
            return Some(Format::Json);
        }
        Self::NAMES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, f)| *f)
    }

    pub fn name(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::CslJson => "csl-json",
            Format::Bibtex => "bibtex",
            Format::Ris => "ris",
            Format::JsonLd => "jsonld",
            Format::Html => "html",
            Format::Embed => "embed",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Json => "application/json",
            Format::CslJson => "application/vnd.citationstyles.csl+json",
            Format::Bibtex => "application/x-bibtex; charset=utf-8",
            Format::Ris => "application/x-research-info-systems; charset=utf-8",
            Format::JsonLd => "application/ld+json",
            Format::Html | Format::Embed => "text/html; charset=utf-8",
        }
    }

    /// The first media type of an `Accept` header that names a format; None
    /// for anything else (the JSON list then).
    pub fn from_accept(accept: &str) -> Option<Self> {
        accept.split(',').find_map(|item| {
            let media = item
                .split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase();
            match media.as_str() {
                "application/vnd.citationstyles.csl+json" => Some(Format::CslJson),
                "application/x-bibtex" | "text/x-bibtex" => Some(Format::Bibtex),
                "application/x-research-info-systems" => Some(Format::Ris),
                "application/ld+json" => Some(Format::JsonLd),
                _ => None,
            }
        })
    }
}

/// One source as a citation format sees it.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Stable within the list: the citation id, or for the teaser the source
    /// version's record hash.
    pub id: String,
    pub title: String,
    pub publisher: String,
    pub kind: String,
    pub language: String,
    pub url: Option<String>,
    /// A date (`2026-11-23`) or an RFC 3339 time, as stored.
    pub accessed: Option<String>,
    pub issued: Option<String>,
    pub archive_url: Option<String>,
    pub doi: Option<String>,
    /// The article's words the source supports, and where.
    pub claim: Option<String>,
    /// The link's state as the monitor found it and when the copy was
    /// archived, like Wikipedia's `url-status` ("url-status: dead (checked
    /// 2026-11-30); archived 2026-11-02").
    pub link: Option<String>,
}

/// The `link` line of an entry, from a source version.
pub fn link_line(
    status: LinkStatus,
    checked_at: Option<&str>,
    captured_at: Option<&str>,
) -> Option<String> {
    let day = |t: &str| t.get(..10).unwrap_or(t).to_owned();
    let checked = checked_at.map(day).unwrap_or_default();
    let state = match status {
        LinkStatus::Live => Some(format!("url-status: live (checked {checked})")),
        LinkStatus::Changed => Some(format!(
            "url-status: changed since archived (checked {checked})"
        )),
        LinkStatus::Gone => Some(format!("url-status: dead (checked {checked})")),
        LinkStatus::Unchecked | LinkStatus::Error => None,
    };
    let archived = captured_at.map(|at| format!("archived {}", day(at)));
    match (state, archived) {
        (Some(s), Some(a)) => Some(format!("{s}; {a}")),
        (s, a) => s.or(a),
    }
}

/// CSL's free-text note: what the source is cited for, and its link state.
fn note_of(e: &Entry) -> Option<String> {
    match (&e.claim, &e.link) {
        (Some(c), Some(l)) => Some(format!("Cited for: {c}. {l}")),
        (Some(c), None) => Some(format!("Cited for: {c}")),
        (None, Some(l)) => Some(l.clone()),
        (None, None) => None,
    }
}

/// `[[year, month, day]]` of a stored date or time.
fn date_parts(text: &str) -> Option<Value> {
    let date = chrono::NaiveDate::parse_from_str(text.get(..10)?, "%Y-%m-%d").ok()?;
    use chrono::Datelike;
    Some(json!({"date-parts": [[date.year(), date.month(), date.day()]]}))
}

fn csl_type(kind: &str) -> &'static str {
    match kind {
        "news_report" => "article-newspaper",
        "dataset" => "dataset",
        "academic" => "article-journal",
        "interview" => "interview",
        "social_media" => "post",
        "document" | "official_statement" => "document",
        _ => "webpage",
    }
}

/// Each entry's key in a list: `prefix` and the entry's id, alphanumerics only,
/// with `-2`, `-3`... after an id already used earlier in the list (the teaser
/// names an entry by its record hash, which two citations of one version share).
/// Keys depend only on the list's ids and order, so they are stable across
/// requests.
fn entry_keys(entries: &[Entry], prefix: &str) -> Vec<String> {
    let mut seen = std::collections::HashMap::<String, usize>::new();
    entries
        .iter()
        .map(|e| {
            let base: String = std::iter::once(prefix)
                .chain(std::iter::once(e.id.as_str()))
                .flat_map(str::chars)
                .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect();
            let uses = seen.entry(base.clone()).or_insert(0);
            *uses += 1;
            if *uses == 1 {
                base
            } else {
                format!("{base}-{uses}")
            }
        })
        .collect()
}

pub fn csl_json(entries: &[Entry]) -> Value {
    let keys = entry_keys(entries, "");
    let items: Vec<Value> = entries
        .iter()
        .zip(keys)
        .map(|(e, key)| {
            let mut item = json!({
                "id": key,
                "type": csl_type(&e.kind),
                "title": e.title,
                "publisher": e.publisher,
                "container-title": e.publisher,
                "language": e.language,
            });
            let fields = [
                ("URL", e.url.as_ref().map(|u| json!(u))),
                ("accessed", e.accessed.as_deref().and_then(date_parts)),
                ("issued", e.issued.as_deref().and_then(date_parts)),
                (
                    "archive",
                    e.archive_url.as_ref().map(|_| json!("Archived copy")),
                ),
                ("archive_location", e.archive_url.as_ref().map(|u| json!(u))),
                ("DOI", e.doi.as_ref().map(|d| json!(d))),
                ("note", note_of(e).map(|n| json!(n))),
            ];
            for (name, value) in fields {
                if let Some(value) = value {
                    item[name] = value;
                }
            }
            item
        })
        .collect();
    Value::Array(items)
}

/// BibTeX's special characters made literal; line breaks become spaces.
fn bibtex_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\textbackslash{}"),
            '{' | '}' | '%' | '&' | '$' | '#' | '_' => {
                out.push('\\');
                out.push(c);
            }
            '^' => out.push_str("\\textasciicircum{}"),
            '~' => out.push_str("\\textasciitilde{}"),
            '\n' | '\r' | '\t' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A verbatim field (biblatex's `url` and `doi`) inside braces: stored URLs
/// are normalised, so braces and spaces in them are percent-encoded already;
/// a stray brace is encoded here.
fn bibtex_verbatim(url: &str) -> String {
    url.replace('{', "%7B")
        .replace('}', "%7D")
        .replace(['\n', '\r'], "")
}

pub fn bibtex(entries: &[Entry]) -> String {
    let mut out = String::new();
    for (e, key) in entries.iter().zip(entry_keys(entries, "sl")) {
        let mut fields = vec![
            ("title", format!("{{{}}}", bibtex_text(&e.title))),
            ("publisher", format!("{{{}}}", bibtex_text(&e.publisher))),
            ("language", format!("{{{}}}", bibtex_text(&e.language))),
        ];
        if let Some(url) = &e.url {
            fields.push(("url", format!("{{{}}}", bibtex_verbatim(url))));
        }
        if let Some(date) = e.accessed.as_deref().and_then(|d| d.get(..10)) {
            fields.push(("urldate", format!("{{{date}}}")));
        }
        if let Some(date) = e.issued.as_deref().and_then(|d| d.get(..10)) {
            fields.push(("date", format!("{{{date}}}")));
            fields.push(("year", format!("{{{}}}", &date[..4])));
        }
        if let Some(doi) = &e.doi {
            fields.push(("doi", format!("{{{}}}", bibtex_verbatim(doi))));
        }
        let mut note = Vec::new();
        if let Some(claim) = &e.claim {
            note.push(format!("Cited for: {}", bibtex_text(claim)));
        }
        if let Some(link) = &e.link {
            note.push(bibtex_text(link));
        }
        if let Some(archive) = &e.archive_url {
            note.push(format!(
                "Archived copy: \\url{{{}}}",
                bibtex_verbatim(archive)
            ));
        }
        if !note.is_empty() {
            fields.push(("note", format!("{{{}}}", note.join(". "))));
        }
        let entry_type = if e.url.is_some() { "online" } else { "misc" };
        out.push_str(&format!("@{entry_type}{{{key},\n"));
        let body: Vec<String> = fields.iter().map(|(k, v)| format!("  {k} = {v}")).collect();
        out.push_str(&body.join(",\n"));
        out.push_str("\n}\n\n");
    }
    out
}

/// One RIS line: the value kept on one line.
fn ris_line(out: &mut String, tag: &str, value: &str) {
    let value: String = value
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    out.push_str(&format!("{tag}  - {}\r\n", value.trim()));
}

fn ris_date(text: &str) -> Option<String> {
    let date = text.get(..10)?;
    Some(date.replace('-', "/"))
}

pub fn ris(entries: &[Entry]) -> String {
    let mut out = String::new();
    for (e, key) in entries.iter().zip(entry_keys(entries, "")) {
        ris_line(&mut out, "TY", "ELEC");
        ris_line(&mut out, "ID", &key);
        ris_line(&mut out, "TI", &e.title);
        ris_line(&mut out, "PB", &e.publisher);
        ris_line(&mut out, "LA", &e.language);
        if let Some(url) = &e.url {
            ris_line(&mut out, "UR", url);
        }
        if let Some(date) = e.accessed.as_deref().and_then(ris_date) {
            ris_line(&mut out, "Y2", &date);
        }
        if let Some(date) = e.issued.as_deref().and_then(ris_date) {
            ris_line(&mut out, "DA", &date);
            ris_line(&mut out, "PY", &date[..4]);
        }
        if let Some(doi) = &e.doi {
            ris_line(&mut out, "DO", doi);
        }
        if let Some(archive) = &e.archive_url {
            ris_line(&mut out, "N1", &format!("Archived copy: {archive}"));
        }
        if let Some(link) = &e.link {
            ris_line(&mut out, "N1", link);
        }
        if let Some(claim) = &e.claim {
            ris_line(&mut out, "N1", &format!("Cited for: {claim}"));
        }
        out.push_str("ER  - \r\n");
    }
    out
}

/// The article as a schema.org `NewsArticle` citing each source.
pub fn json_ld(article: &Article, entries: &[Entry]) -> Value {
    let citations: Vec<Value> = entries
        .iter()
        .map(|e| {
            let mut item = json!({
                "@type": "CreativeWork",
                "name": e.title,
                "publisher": {"@type": "Organization", "name": e.publisher},
                "inLanguage": e.language,
            });
            let fields = [
                ("url", e.url.clone()),
                ("archivedAt", e.archive_url.clone()),
                ("datePublished", e.issued.clone()),
                (
                    "sameAs",
                    e.doi.as_ref().map(|d| format!("https://doi.org/{d}")),
                ),
            ];
            for (name, value) in fields {
                if let Some(value) = value {
                    item[name] = json!(value);
                }
            }
            item
        })
        .collect();
    json!({
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": article.title,
        "url": article.url,
        "inLanguage": article.language,
        "author": article.authors.0.iter().map(|name| json!({"@type": "Person", "name": name})).collect::<Vec<_>>(),
        "citation": citations,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bibtex_and_ris_keep_hostile_text_literal() {
        assert_eq!(
            bibtex_text("50% & {x}_1 \\ ~"),
            "50\\% \\& \\{x\\}\\_1 \\textbackslash{} \\textasciitilde{}"
        );
        let mut line = String::new();
        ris_line(&mut line, "TI", "two\nlines\rER  - x");
        assert_eq!(line, "TI  - two lines ER  - x\r\n");
    }

    #[test]
    fn formats_by_name_and_accept() {
        assert_eq!(Format::from_name("bibtex"), Some(Format::Bibtex));
        assert_eq!(Format::from_name("json"), Some(Format::Json));
        assert_eq!(Format::from_name("pdf"), None);
        assert_eq!(
            Format::from_accept("text/html, application/x-research-info-systems;q=0.9"),
            Some(Format::Ris)
        );
        assert_eq!(Format::from_accept("application/json"), None);
    }
}
