//! Settings for trust beyond one server: the witnesses this log asks, the
//! logs this server witnesses, and the time-stamping authority.

use super::ConfigError;

/// Witnesses, both ways: those this log asks (`SOURCELEDGER_WITNESSES`,
/// `SOURCELEDGER_WITNESS_QUORUM`) and the logs this server witnesses
/// (`SOURCELEDGER_WITNESS_FOR`, under `SOURCELEDGER_WITNESS_NAME`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WitnessSettings {
    /// Each witness's cosignature verifier key and the URL its
    /// `add-checkpoint` lives under.
    pub witnesses: Vec<(String, String)>,
    /// Cosignatures a checkpoint needs to count as witnessed.
    pub quorum: usize,
    /// The signed-note verifier keys of the logs this server witnesses.
    pub witness_for: Vec<String>,
    /// This server's name as a witness (its key's name).
    pub name: String,
    /// The RFC 3161 time-stamping authority each new checkpoint is sent to
    /// (`SOURCELEDGER_TSA_URL`), if any.
    pub tsa_url: Option<String>,
    /// The TSA's certificate (`SOURCELEDGER_TSA_CERT`, a PEM file or PEM
    /// text): each reply must verify under it before its time is claimed.
    pub tsa_cert: Option<Vec<u8>>,
}

impl WitnessSettings {
    /// No witnesses either way, and the default name for `origin`'s host.
    pub fn none_for(origin: &str) -> Self {
        Self {
            witnesses: Vec::new(),
            quorum: 0,
            witness_for: Vec::new(),
            name: default_witness_name(origin),
            tsa_url: None,
            tsa_cert: None,
        }
    }
}

/// By default a witness is named after the log's host: `news.example/witness`.
fn default_witness_name(origin: &str) -> String {
    format!("{}/witness", origin.split('/').next().unwrap_or(origin))
}

pub(super) fn witness_settings(
    get: &impl Fn(&str) -> Option<String>,
    origin: &str,
) -> Result<WitnessSettings, ConfigError> {
    let list = |name: &str| {
        get(name)
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    let witnesses = list("SOURCELEDGER_WITNESSES")
        .into_iter()
        .map(|entry| {
            let (vkey, url) = entry
                .split_once(char::is_whitespace)
                .unwrap_or((&entry, ""));
            let url = url.trim().trim_end_matches('/');
            let parsed = url::Url::parse(url).ok();
            if !parsed.is_some_and(|u| matches!(u.scheme(), "http" | "https")) {
                return Err(ConfigError::Invalid {
                    name: "SOURCELEDGER_WITNESSES",
                    problem: format!("{entry:?} is not `VKEY URL` with an http(s) URL"),
                });
            }
            Ok((vkey.to_owned(), url.to_owned()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let quorum = match get("SOURCELEDGER_WITNESS_QUORUM") {
        None => witnesses.len(),
        Some(v) => v
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|n| *n <= witnesses.len())
            .ok_or_else(|| ConfigError::Invalid {
                name: "SOURCELEDGER_WITNESS_QUORUM",
                problem: format!(
                    "must be a whole number from 0 to the {} witnesses configured",
                    witnesses.len()
                ),
            })?,
    };
    let witness_for = list("SOURCELEDGER_WITNESS_FOR");
    for vkey in &witness_for {
        if signed_note::StandardVerifier::new(vkey).is_err() {
            return Err(ConfigError::Invalid {
                name: "SOURCELEDGER_WITNESS_FOR",
                problem: format!("{vkey:?} is not a signed-note Ed25519 verifier key"),
            });
        }
    }
    let name = get("SOURCELEDGER_WITNESS_NAME").unwrap_or_else(|| default_witness_name(origin));
    if !signed_note::is_key_name_valid(&name) {
        return Err(ConfigError::Invalid {
            name: "SOURCELEDGER_WITNESS_NAME",
            problem: "must be a key name: no spaces or pluses".into(),
        });
    }
    let tsa_url = match get("SOURCELEDGER_TSA_URL").filter(|u| !u.trim().is_empty()) {
        None => None,
        Some(url) => {
            let url = url.trim().to_owned();
            let usable = url::Url::parse(&url).is_ok_and(|u| {
                matches!(u.scheme(), "http" | "https")
                    && u.username().is_empty()
                    && u.password().is_none()
            });
            if !usable {
                // Not echoed: a URL with credentials would put them in the log.
                return Err(ConfigError::Invalid {
                    name: "SOURCELEDGER_TSA_URL",
                    problem: "must be an http(s) URL without credentials".into(),
                });
            }
            Some(url)
        }
    };
    let tsa_cert = tsa_certificate(get)?;
    Ok(WitnessSettings {
        witnesses,
        quorum,
        witness_for,
        name,
        tsa_url,
        tsa_cert,
    })
}

/// `SOURCELEDGER_TSA_CERT`: PEM text, or the path of a PEM (or DER) file; it
/// must hold an X.509 certificate.
fn tsa_certificate(get: &impl Fn(&str) -> Option<String>) -> Result<Option<Vec<u8>>, ConfigError> {
    use der::{Decode, DecodePem};
    let Some(value) = get("SOURCELEDGER_TSA_CERT").filter(|v| !v.trim().is_empty()) else {
        return Ok(None);
    };
    let invalid = |problem: String| ConfigError::Invalid {
        name: "SOURCELEDGER_TSA_CERT",
        problem,
    };
    let bytes = if value.trim_start().starts_with("-----BEGIN") {
        value.into_bytes()
    } else {
        std::fs::read(value.trim()).map_err(|e| invalid(format!("{}: {e}", value.trim())))?
    };
    let parsed = x509_cert::Certificate::from_pem(&bytes)
        .or_else(|_| x509_cert::Certificate::from_der(&bytes));
    if parsed.is_err() {
        return Err(invalid("holds no X.509 certificate (PEM or DER)".into()));
    }
    Ok(Some(bytes))
}
