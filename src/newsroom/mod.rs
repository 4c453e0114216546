//! The newsroom's records: articles, versioned sources, citations, and the
//! newsletter's subscribers. Rules and queries live here; every write appends
//! its ledger entries through the [`Sequencer`](crate::ledger::Sequencer) of the
//! caller's transaction.

/// A stored word that names no known value: the database holds something this
/// version of the server never wrote.
#[derive(Debug, thiserror::Error)]
#[error("unknown {0} {1:?} in the database")]
pub struct UnknownValue(pub &'static str, pub String);

/// Declares an enum stored as one of a fixed set of words: the same words in
/// the database, the API (serde) and the ledger, with `as_str`, conversion to
/// a `String` for diesel and back with [`UnknownValue`] for a word it never wrote.
macro_rules! stored_words {
    ($(#[$meta:meta])* $vis:vis enum $name:ident ($what:literal) { $($variant:ident => $word:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
        #[serde(rename_all = "snake_case")]
        $vis enum $name {
            $($variant,)+
        }

        impl $name {
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $word,)+
                }
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.as_str().to_owned()
            }
        }

        impl TryFrom<String> for $name {
            type Error = $crate::newsroom::UnknownValue;

            fn try_from(text: String) -> Result<Self, Self::Error> {
                [$(Self::$variant,)+]
                    .into_iter()
                    .find(|value| value.as_str() == text)
                    .ok_or($crate::newsroom::UnknownValue($what, text))
            }
        }
    };
}
pub(crate) use stored_words;

pub mod articles;
pub mod captures;
pub mod citation_formats;
pub mod citations;
pub mod cited;
pub mod embargo;
pub mod fields;
pub mod sealed;
pub mod source_list;
pub mod source_page;
pub mod sources;
pub mod subscribers;

pub fn ledger_index(appended: &crate::ledger::Appended) -> i64 {
    i64::try_from(appended.index).unwrap_or(i64::MAX)
}
