//! States in the OpenAPI document what each checked request field accepts.
//!
//! The parsers in `newsroom::fields` are the truth; utoipa's derive takes only
//! literal patterns, so this post-pass writes each rule's ECMA-262 pattern and
//! length onto the generated schemas, keeping their descriptions. A client (and
//! the schemathesis gate in CI) can then tell valid input from invalid without
//! asking the server. Keep [`RULES`] in step with the parsers: the gate fails
//! when the document and the server disagree.

use utoipa::openapi::schema::{
    AnyOfBuilder, ArrayItems, KnownFormat, ObjectBuilder, Schema, SchemaFormat, SchemaType, Type,
};
use utoipa::openapi::{OpenApi as OpenApiDoc, RefOr};

use crate::auth::Role;
use crate::newsroom::fields::MAX_URL_LEN;

/// Control characters but tab and newline: what `fields::text` refuses.
const TEXT: &str = r"^[^\u0000-\u0008\u000B-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u0008\u000B-\u001F\u007F-\u009F]*$";
/// No control characters at all, and not blank: `fields::line`.
const LINE: &str = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$";
/// A line that neither starts nor ends with white space: an API key's name.
const TRIMMED_LINE: &str = r"^[^\s\u0000-\u001F\u007F-\u009F]([^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F])?$";
/// An http(s) URL whose host is a domain name, with a path and no characters
/// that normalisation would percent-encode, so that normalising never makes it
/// longer. The server takes more (IP addresses, no path, characters it
/// encodes); this is the part that is certain to pass.
const HTTP_URL: &str = r"^[hH][tT][tT][pP][sS]?://([A-Za-z0-9]+(-[A-Za-z0-9]+)*\.)*[A-Za-z][A-Za-z0-9]*(-[A-Za-z0-9]+)*(:[0-9]{1,4})?/[A-Za-z0-9._~:/?#@!$&()*+,;=%-]*$";
const LANGUAGE: &str = r"^([A-Za-z]{2,3}|[A-Za-z]{5,8})(-[A-Za-z0-9]{1,8})*$";
const SHA256: &str = r"^[0-9A-Fa-f]{64}$";
const DOI: &str = r"^10\.[0-9]{4,9}(\.[0-9]*)*/[^\s\u0000-\u001F\u007F-\u009F]+$";
const EMAIL: &str = r"^[^@\s\u0000-\u001F\u007F-\u009F]+@[^@.\s\u0000-\u001F\u007F-\u009F]+(\.[^@.\s\u0000-\u001F\u007F-\u009F]+)+$";

#[derive(Clone, Copy)]
enum Rule {
    /// `fields::text`, at most this many characters.
    Text(usize),
    /// `fields::line`, at most this many characters.
    Line(usize),
    KeyName,
    HttpUrl,
    Language,
    Sha256,
    Doi,
    Email,
    /// `fields::date_or_time`: a date or an RFC 3339 time.
    DateOrTime,
    /// A role that may hold an API key (not `subscriber`).
    KeyRole,
    /// A webhook secret given by the admin: 16 to 200 printable characters.
    Secret,
    /// A platform's member states -> tiers: 1 to 50 states of 1 to 100 characters.
    Tiers,
}

/// The variants of internally tagged request enums.
const TAGGED_VARIANTS: [&str; 3] = ["NewGhostPlatform", "NewOidcPlatform", "NewWebhooksPlatform"];

/// Every checked field of every request body: (schema, property, rule).
const RULES: &[(&str, &str, Rule)] = &[
    ("NewKey", "name", Rule::KeyName),
    ("NewKey", "role", Rule::KeyRole),
    ("NewArticle", "title", Rule::Line(500)),
    ("NewArticle", "url", Rule::HttpUrl),
    ("NewArticle", "language", Rule::Language),
    ("NewArticle", "authors", Rule::Line(200)),
    ("Retraction", "reason", Rule::Text(2000)),
    ("NewSource", "url", Rule::HttpUrl),
    ("NewSource", "title", Rule::Line(500)),
    ("NewSource", "publisher", Rule::Line(300)),
    ("NewSource", "language", Rule::Language),
    ("NewSource", "published_at", Rule::DateOrTime),
    ("NewSource", "accessed_at", Rule::DateOrTime),
    ("NewSource", "snapshot_sha256", Rule::Sha256),
    ("NewSource", "archive_url", Rule::HttpUrl),
    ("NewSource", "doi", Rule::Doi),
    ("SourcePatch", "url", Rule::HttpUrl),
    ("SourcePatch", "title", Rule::Line(500)),
    ("SourcePatch", "publisher", Rule::Line(300)),
    ("SourcePatch", "language", Rule::Language),
    ("SourcePatch", "published_at", Rule::DateOrTime),
    ("SourcePatch", "accessed_at", Rule::DateOrTime),
    ("SourcePatch", "snapshot_sha256", Rule::Sha256),
    ("SourcePatch", "archive_url", Rule::HttpUrl),
    ("SourcePatch", "doi", Rule::Doi),
    ("NewCitation", "claim", Rule::Text(5000)),
    ("NewCitation", "quote", Rule::Text(10_000)),
    ("NewCitation", "locator", Rule::Line(300)),
    ("NewCitation", "note", Rule::Text(5000)),
    ("CitationRetraction", "reason", Rule::Text(2000)),
    ("NewSubscriber", "external_id", Rule::Line(200)),
    ("NewSubscriber", "email", Rule::Email),
    ("NewGhostPlatform", "name", Rule::Line(100)),
    ("NewGhostPlatform", "site", Rule::HttpUrl),
    ("NewGhostPlatform", "tiers", Rule::Tiers),
    ("NewGhostPlatform", "webhook_secret", Rule::Secret),
    ("NewOidcPlatform", "name", Rule::Line(100)),
    ("NewOidcPlatform", "issuer", Rule::Line(500)),
    ("NewOidcPlatform", "jwks_url", Rule::HttpUrl),
    ("NewOidcPlatform", "audience", Rule::Line(500)),
    ("NewOidcPlatform", "email_claim", Rule::Line(100)),
    ("NewOidcPlatform", "tiers", Rule::Tiers),
    ("NewOidcPlatform", "webhook_secret", Rule::Secret),
    ("NewWebhooksPlatform", "name", Rule::Line(100)),
    ("NewWebhooksPlatform", "tiers", Rule::Tiers),
    ("NewWebhooksPlatform", "webhook_secret", Rule::Secret),
];

/// No text may hold NUL (PostgreSQL cannot store it; the answer is 400
/// `invalid_text`): stated on every string parameter and property that has no
/// pattern of its own, but a problem's (which may quote the request).
const NO_NUL: &str = r"^[^\u0000]*$";

fn forbid_nul_in(schema: &mut RefOr<Schema>) {
    match schema {
        RefOr::T(Schema::Object(object)) => {
            let is_string = match &object.schema_type {
                SchemaType::Type(t) => *t == Type::String,
                SchemaType::Array(types) => types.contains(&Type::String),
                SchemaType::AnyValue => false,
            };
            if is_string
                && object.pattern.is_none()
                && object.enum_values.is_none()
                && object.format.is_none()
            {
                object.pattern = Some(NO_NUL.to_owned());
            }
            for property in object.properties.values_mut() {
                forbid_nul_in(property);
            }
        }
        RefOr::T(Schema::Array(array)) => {
            if let ArrayItems::RefOrSchema(item) = &mut array.items {
                forbid_nul_in(item);
            }
        }
        RefOr::T(Schema::OneOf(one)) => one.items.iter_mut().for_each(forbid_nul_in),
        RefOr::T(Schema::AllOf(all)) => all.items.iter_mut().for_each(forbid_nul_in),
        RefOr::T(Schema::AnyOf(any)) => any.items.iter_mut().for_each(forbid_nul_in),
        _ => {}
    }
}

fn forbid_nul(doc: &mut OpenApiDoc) {
    for item in doc.paths.paths.values_mut() {
        for operation in super::operations_mut(item) {
            for parameter in operation.parameters.iter_mut().flatten() {
                if let RefOr::T(parameter) = parameter
                    && let Some(schema) = &mut parameter.schema
                {
                    forbid_nul_in(schema);
                }
            }
        }
    }
    // Not the problem type: its detail may quote what the request sent.
    if let Some(components) = doc.components.as_mut() {
        components
            .schemas
            .iter_mut()
            .filter(|(name, _)| name.as_str() != "Problem")
            .for_each(|(_, schema)| forbid_nul_in(schema));
    }
}

/// Writes [`RULES`] onto the document's schemas. Panics (at start-up and in
/// every test that builds the document) when a rule names a missing field.
pub fn apply(doc: &mut OpenApiDoc) {
    let components = doc
        .components
        .as_mut()
        .expect("the document has components");
    // `NewPlatform` is each of these with a `kind` beside their own fields
    // (serde's internal tag): their closed schemas must admit it.
    for schema_name in TAGGED_VARIANTS {
        let Some(RefOr::T(Schema::Object(object))) = components.schemas.get_mut(schema_name) else {
            panic!("no schema {schema_name} to admit its tag");
        };
        let kind = ObjectBuilder::new().schema_type(Type::String).build();
        object
            .properties
            .insert("kind".to_owned(), RefOr::T(Schema::Object(kind)));
    }
    for &(schema_name, property, rule) in RULES {
        let field = match components.schemas.get_mut(schema_name) {
            Some(RefOr::T(Schema::Object(object))) => object.properties.get_mut(property),
            _ => None,
        };
        let field =
            field.unwrap_or_else(|| panic!("no field {schema_name}.{property} to describe"));
        refine(field, rule);
    }
    forbid_nul(doc);
}

fn refine(field: &mut RefOr<Schema>, rule: Rule) {
    let (pattern, max_length) = match rule {
        Rule::Text(max) => (TEXT, max),
        Rule::Line(max) => (LINE, max),
        Rule::KeyName => (TRIMMED_LINE, 100),
        Rule::HttpUrl => (HTTP_URL, MAX_URL_LEN),
        Rule::Language => (LANGUAGE, 35),
        Rule::Sha256 => (SHA256, 64),
        Rule::Doi => (DOI, 200),
        Rule::Email => (EMAIL, 254),
        Rule::Secret => (TRIMMED_LINE, 200),
        Rule::Tiers => return tiers(field),
        Rule::DateOrTime => return *field = date_or_time(field),
        Rule::KeyRole => return *field = key_roles(),
    };
    match field {
        RefOr::T(Schema::Array(array)) => {
            let item = ObjectBuilder::new().schema_type(Type::String).build();
            let mut item = RefOr::T(Schema::Object(item));
            refine(&mut item, rule);
            array.items = ArrayItems::RefOrSchema(Box::new(item));
        }
        RefOr::T(Schema::Object(object)) => {
            object.pattern = Some(pattern.to_owned());
            object.max_length = Some(max_length);
            if let Rule::Secret = rule {
                object.min_length = Some(16);
            }
        }
        RefOr::T(_) | RefOr::Ref(_) => panic!("a checked field is a string or an array of them"),
    }
}

/// A date or an RFC 3339 time (or `null`, where the field is optional), with
/// the field's description kept.
fn date_or_time(field: &RefOr<Schema>) -> RefOr<Schema> {
    let RefOr::T(Schema::Object(object)) = field else {
        panic!("a date-or-time field is a string");
    };
    let nullable =
        matches!(&object.schema_type, SchemaType::Array(types) if types.contains(&Type::Null));
    let format = |known| {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(known)))
    };
    let mut any_of = AnyOfBuilder::new()
        .description(object.description.clone())
        .item(format(KnownFormat::Date))
        .item(format(KnownFormat::DateTime));
    if nullable {
        any_of = any_of.item(ObjectBuilder::new().schema_type(Type::Null));
    }
    RefOr::T(Schema::AnyOf(any_of.build()))
}

/// A map of 1 to 50 member states, each 1 to 100 characters long.
fn tiers(field: &mut RefOr<Schema>) {
    let RefOr::T(Schema::Object(object)) = field else {
        panic!("tiers are an object");
    };
    object.min_properties = Some(1);
    object.max_properties = Some(50);
    let names = ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1))
        .max_length(Some(100));
    object.property_names = Some(Box::new(Schema::Object(names.build())));
}

/// The roles an API key may have: every role but `subscriber`.
fn key_roles() -> RefOr<Schema> {
    let roles = Role::ALL
        .into_iter()
        .filter(|role| role.may_hold_api_key())
        .map(Role::as_str);
    let schema = ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(roles))
        .description(Some("journalist, editor, auditor, integration or admin."));
    RefOr::T(Schema::Object(schema.build()))
}
