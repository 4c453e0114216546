//! schema.org JSON-LD, the most trusted of a page's metadata: its nodes of
//! the creative-work types read here (a single object, a list, or a
//! `@graph`), the most telling first, with references by `@id` followed.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::{
    KindHint, MAX_AUTHOR, MAX_AUTHORS, MAX_NODES, MAX_PUBLISHER, MAX_TITLE, clean_markup, doi_in,
    issued, language, looks_like_url,
};

/// A JSON-LD node: an object with `@type`.
type Node = Map<String, Value>;

/// How much a node says about the page itself: an article before the page
/// that holds it, the page before a bare creative work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Rank {
    Specific,
    Article,
    Page,
    Work,
}

/// The JSON-LD nodes of the types read here, the most telling first, and
/// every node by `@id` (for `"author": {"@id": …}` references in a graph).
pub(super) struct Graph<'v> {
    nodes: Vec<(&'v Node, Rank, Option<KindHint>)>,
    ids: HashMap<&'v str, &'v Node>,
}

impl<'v> Graph<'v> {
    pub(super) fn of(values: &'v [Value]) -> Self {
        let mut all = Vec::new();
        for value in values {
            collect_nodes(value, 0, &mut all);
        }
        let mut ids = HashMap::new();
        for node in &all {
            if let Some(id) = node.get("@id").and_then(Value::as_str) {
                ids.entry(id).or_insert(*node);
            }
        }
        let mut nodes: Vec<_> = all
            .into_iter()
            .filter_map(|node| {
                node_types(node)
                    .filter_map(classify)
                    .min_by_key(|(rank, _)| *rank)
                    .map(|(rank, kind)| (node, rank, kind))
            })
            .collect();
        nodes.sort_by_key(|(_, rank, _)| *rank);
        Self { nodes, ids }
    }

    /// The first value `read` takes from `keys` of a node, the most telling
    /// node first, and in it the first key first.
    fn first<T>(&self, keys: &[&str], read: impl Fn(&Value) -> Option<T>) -> Option<T> {
        self.nodes
            .iter()
            .find_map(|(node, _, _)| keys.iter().find_map(|key| node.get(*key).and_then(&read)))
    }

    pub(super) fn title(&self) -> Option<String> {
        self.first(&["headline", "name"], |v| {
            text(v).and_then(|t| clean_markup(t, MAX_TITLE))
        })
    }

    pub(super) fn publisher(&self) -> Option<String> {
        self.first(&["publisher"], |v| {
            let mut found = Vec::new();
            self.names(v, MAX_PUBLISHER, 0, &mut found);
            found.into_iter().next()
        })
    }

    pub(super) fn authors(&self) -> Vec<String> {
        self.first(&["author", "creator"], |v| {
            let mut found = Vec::new();
            self.names(v, MAX_AUTHOR, 0, &mut found);
            Some(found).filter(|f| !f.is_empty())
        })
        .unwrap_or_default()
    }

    pub(super) fn issued(&self) -> Option<String> {
        self.first(&["datePublished", "dateCreated"], |v| {
            text(v).and_then(issued)
        })
    }

    pub(super) fn language(&self) -> Option<String> {
        self.first(&["inLanguage"], |v| match v {
            Value::Object(o) => ["alternateName", "name"]
                .iter()
                .find_map(|k| o.get(*k).and_then(text).and_then(language)),
            other => text(other).and_then(language),
        })
    }

    pub(super) fn doi(&self) -> Option<String> {
        self.first(&["identifier", "sameAs", "@id"], |v| doi_of_value(v, 0))
    }

    pub(super) fn kind(&self) -> Option<KindHint> {
        self.nodes.iter().find_map(|(_, _, kind)| *kind)
    }

    /// The names of the people or organisations `value` names (a string,
    /// an object with `name`, a reference by `@id`, or a list of them),
    /// cleaned and each once, until there are [`MAX_AUTHORS`].
    fn names(&self, value: &Value, max: usize, depth: usize, found: &mut Vec<String>) {
        if found.len() >= MAX_AUTHORS || depth > 2 {
            return;
        }
        match value {
            Value::Array(items) => {
                for item in items.iter().take(4 * MAX_AUTHORS) {
                    self.names(item, max, depth + 1, found);
                }
            }
            Value::String(name) => push_name(found, name, max),
            Value::Object(node) => {
                let node = match (node.get("name"), node.get("@id").and_then(Value::as_str)) {
                    (None, Some(id)) => self.ids.get(id).copied().unwrap_or(node),
                    _ => node,
                };
                if let Some(name) = node.get("name").and_then(text) {
                    push_name(found, name, max);
                } else if let (Some(given), Some(family)) = (
                    node.get("givenName").and_then(text),
                    node.get("familyName").and_then(text),
                ) {
                    push_name(found, &format!("{given} {family}"), max);
                }
            }
            _ => {}
        }
    }
}

/// Adds `raw` to `found` when it is a name (not a URL) not there yet, at
/// most `max` characters of it.
fn push_name(found: &mut Vec<String>, raw: &str, max: usize) {
    if found.len() >= MAX_AUTHORS || looks_like_url(raw) {
        return;
    }
    if let Some(name) = clean_markup(raw, max)
        && !found.contains(&name)
    {
        found.push(name);
    }
}

/// Every object in `value` (itself, a list's items, a `@graph`'s, a page's
/// `mainEntity`), in order, until there are [`MAX_NODES`].
fn collect_nodes<'v>(value: &'v Value, depth: usize, out: &mut Vec<&'v Node>) {
    if out.len() >= MAX_NODES || depth > 4 {
        return;
    }
    match value {
        Value::Array(items) => {
            for item in items {
                collect_nodes(item, depth + 1, out);
            }
        }
        Value::Object(node) => {
            out.push(node);
            for key in ["@graph", "mainEntity"] {
                if let Some(inner) = node.get(key) {
                    collect_nodes(inner, depth + 1, out);
                }
            }
        }
        _ => {}
    }
}

/// A node's types, without their vocabulary (`schema:Dataset` and
/// `https://schema.org/Dataset` are `Dataset`).
fn node_types(node: &Node) -> impl Iterator<Item = &str> {
    let types: Vec<&str> = match node.get("@type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().take(16).filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    types
        .into_iter()
        .map(|t| t.rsplit(['/', ':', '#']).next().unwrap_or(t).trim())
}

/// The types read here, how telling each is, and the kind it names.
fn classify(name: &str) -> Option<(Rank, Option<KindHint>)> {
    Some(match name {
        "NewsArticle"
        | "ReportageNewsArticle"
        | "AnalysisNewsArticle"
        | "OpinionNewsArticle"
        | "BackgroundNewsArticle"
        | "ReviewNewsArticle"
        | "AskPublicNewsArticle" => (Rank::Specific, Some(KindHint::NewsReport)),
        "ScholarlyArticle" | "MedicalScholarlyArticle" => {
            (Rank::Specific, Some(KindHint::Academic))
        }
        "Dataset" => (Rank::Specific, Some(KindHint::Dataset)),
        "Report" => (Rank::Specific, Some(KindHint::Document)),
        "Article" | "BlogPosting" => (Rank::Article, None),
        "WebPage" => (Rank::Page, None),
        "CreativeWork" => (Rank::Work, None),
        _ => return None,
    })
}

/// A JSON-LD text value: a string, the first of a list, or a `@value`.
fn text(value: &Value) -> Option<&str> {
    match value {
        Value::String(s) => Some(s),
        Value::Array(items) => items.first().and_then(|first| match first {
            Value::Array(_) => None,
            other => text(other),
        }),
        Value::Object(o) => o.get("@value").and_then(Value::as_str),
        _ => None,
    }
}

/// A DOI in a JSON-LD `identifier`, `sameAs` or `@id`: a string, a
/// `PropertyValue` (`{"propertyID": "DOI", "value": …}`), a reference, or a
/// list of them.
fn doi_of_value(value: &Value, depth: usize) -> Option<String> {
    match value {
        Value::String(s) => doi_in(s, true),
        Value::Array(items) if depth < 2 => items
            .iter()
            .take(64)
            .find_map(|item| doi_of_value(item, depth + 1)),
        Value::Object(o) => {
            let says_doi = o
                .get("propertyID")
                .and_then(Value::as_str)
                .is_some_and(|p| p.trim().eq_ignore_ascii_case("doi"));
            let value = o.get("value").and_then(text);
            value
                .and_then(|v| doi_in(v, says_doi))
                .or_else(|| {
                    o.get("@id")
                        .and_then(Value::as_str)
                        .and_then(|v| doi_in(v, false))
                })
                .or_else(|| {
                    o.get("url")
                        .and_then(Value::as_str)
                        .and_then(|v| doi_in(v, false))
                })
        }
        _ => None,
    }
}
