//! Rows carry typed values, not text: a fixed set of words stored as text
//! ([`stored_words!`]), read back only as a word this server wrote.

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
            /// Every value, in the order declared.
            #[allow(dead_code)]
            pub const ALL: &'static [$name] = &[$(Self::$variant,)+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $word,)+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.as_str().to_owned()
            }
        }

        impl TryFrom<String> for $name {
            type Error = $crate::db::words::UnknownValue;

            fn try_from(text: String) -> Result<Self, $crate::db::words::UnknownValue> {
                [$(Self::$variant,)+]
                    .into_iter()
                    .find(|value| value.as_str() == text)
                    .ok_or($crate::db::words::UnknownValue($what, text))
            }
        }
    };
}
pub(crate) use stored_words;
