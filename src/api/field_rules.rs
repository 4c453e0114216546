//! States in the OpenAPI document what each checked request field accepts.
//!
//! Each rule is stated once, in [`crate::fields::Rule`] (its parser and its
//! ECMA-262 pattern side by side) and in the constants the parsers use
//! (`articles::TITLE`…); utoipa's derive takes only literal patterns, so this
//! post-pass writes each rule's pattern and length onto the generated schemas,
//! keeping their descriptions. [`RULES`] says which property follows which
//! rule; the schemathesis gate fails when the document and the server disagree.

use utoipa::openapi::schema::{
    AnyOfBuilder, ArrayItems, KnownFormat, ObjectBuilder, Schema, SchemaFormat, SchemaType, Type,
};
use utoipa::openapi::{OpenApi as OpenApiDoc, RefOr};

use crate::auth::Role;
use crate::fields::Rule;
use crate::newsroom::{articles, citations, sources, subscribers};
use crate::platforms;

/// How the document states a field: by its parser's rule, or by a shape of
/// its own.
#[derive(Clone, Copy)]
enum Doc {
    Field(Rule),
    /// A role that may hold an API key (not `subscriber`).
    KeyRole,
    /// A platform's member states -> tiers: 1 to 50 states of 1 to 100 characters.
    Tiers,
}

/// The variants of internally tagged request enums.
const TAGGED_VARIANTS: [&str; 3] = ["NewGhostPlatform", "NewOidcPlatform", "NewWebhooksPlatform"];

const fn rule(rule: Rule) -> Doc {
    Doc::Field(rule)
}

/// Every checked field of every request body: (schema, property, rule). The
/// rules are the parsers' own constants.
const RULES: &[(&str, &str, Doc)] = &[
    ("NewKey", "name", rule(Rule::KeyName)),
    ("NewKey", "role", Doc::KeyRole),
    ("NewArticle", "slug", rule(Rule::Slug)),
    ("NewArticle", "title", rule(articles::TITLE)),
    ("NewArticle", "url", rule(Rule::HttpUrl)),
    ("NewArticle", "language", rule(Rule::Language)),
    ("NewArticle", "authors", rule(articles::AUTHOR)),
    ("Retraction", "reason", rule(articles::RETRACTION_REASON)),
    ("NewSource", "url", rule(Rule::HttpUrl)),
    ("SourceLookup", "url", rule(Rule::HttpUrl)),
    ("ArticleUrl", "url", rule(Rule::HttpUrl)),
    ("NewSource", "title", rule(sources::TITLE)),
    ("NewSource", "publisher", rule(sources::PUBLISHER)),
    ("NewSource", "language", rule(Rule::Language)),
    ("NewSource", "published_at", rule(Rule::DateOrTime)),
    ("NewSource", "accessed_at", rule(Rule::DateOrTime)),
    ("NewSource", "snapshot_sha256", rule(Rule::Sha256)),
    ("NewSource", "archive_url", rule(Rule::HttpUrl)),
    ("NewSource", "doi", rule(Rule::Doi)),
    ("SourcePatch", "url", rule(Rule::HttpUrl)),
    ("SourcePatch", "title", rule(sources::TITLE)),
    ("SourcePatch", "publisher", rule(sources::PUBLISHER)),
    ("SourcePatch", "language", rule(Rule::Language)),
    ("SourcePatch", "published_at", rule(Rule::DateOrTime)),
    ("SourcePatch", "accessed_at", rule(Rule::DateOrTime)),
    ("SourcePatch", "snapshot_sha256", rule(Rule::Sha256)),
    ("SourcePatch", "archive_url", rule(Rule::HttpUrl)),
    ("SourcePatch", "doi", rule(Rule::Doi)),
    ("NewCitation", "claim", rule(citations::CLAIM)),
    ("NewCitation", "quote", rule(citations::QUOTE)),
    ("NewCitation", "locator", rule(citations::LOCATOR)),
    ("NewCitation", "note", rule(citations::NOTE)),
    (
        "CitationRetraction",
        "reason",
        rule(citations::RETRACTION_REASON),
    ),
    (
        "NewSubscriber",
        "external_id",
        rule(subscribers::EXTERNAL_ID),
    ),
    ("NewSubscriber", "email", rule(Rule::Email)),
    ("NewGhostPlatform", "name", rule(platforms::NAME)),
    ("NewGhostPlatform", "site", rule(Rule::HttpUrl)),
    ("NewGhostPlatform", "tiers", Doc::Tiers),
    ("NewGhostPlatform", "webhook_secret", rule(Rule::Secret)),
    ("NewOidcPlatform", "name", rule(platforms::NAME)),
    ("NewOidcPlatform", "issuer", rule(platforms::ISSUER)),
    ("NewOidcPlatform", "jwks_url", rule(Rule::HttpUrl)),
    ("NewOidcPlatform", "audience", rule(platforms::AUDIENCE)),
    (
        "NewOidcPlatform",
        "email_claim",
        rule(platforms::EMAIL_CLAIM),
    ),
    ("NewOidcPlatform", "tiers", Doc::Tiers),
    ("NewOidcPlatform", "webhook_secret", rule(Rule::Secret)),
    ("NewWebhooksPlatform", "name", rule(platforms::NAME)),
    ("NewWebhooksPlatform", "tiers", Doc::Tiers),
    ("NewWebhooksPlatform", "webhook_secret", rule(Rule::Secret)),
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
    for &(schema_name, property, doc) in RULES {
        let field = match components.schemas.get_mut(schema_name) {
            Some(RefOr::T(Schema::Object(object))) => object.properties.get_mut(property),
            _ => None,
        };
        let field =
            field.unwrap_or_else(|| panic!("no field {schema_name}.{property} to describe"));
        refine(field, doc);
    }
    forbid_nul(doc);
}

fn refine(field: &mut RefOr<Schema>, doc: Doc) {
    let rule = match doc {
        Doc::Field(rule) => rule,
        Doc::Tiers => return tiers(field),
        Doc::KeyRole => return *field = key_roles(),
    };
    let Some((pattern, max_length)) = rule.pattern() else {
        return *field = date_or_time(field);
    };
    match field {
        RefOr::T(Schema::Array(array)) => {
            let item = ObjectBuilder::new().schema_type(Type::String).build();
            let mut item = RefOr::T(Schema::Object(item));
            refine(&mut item, doc);
            array.items = ArrayItems::RefOrSchema(Box::new(item));
        }
        RefOr::T(Schema::Object(object)) => {
            object.pattern = Some(pattern.to_owned());
            object.max_length = Some(max_length);
            object.min_length = rule.min_length();
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
