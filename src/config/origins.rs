//! Web origins in the configuration: the panel's embedding origins and the
//! replay origin.

use super::ConfigError;

/// The replay origin configured, or the loopback default (see
/// [`Settings::replay_origin`]); never the public URL's own origin.
pub(super) fn replay_origin(
    configured: Option<String>,
    public_url: &str,
) -> Result<Option<String>, ConfigError> {
    let invalid = |problem: String| ConfigError::Invalid {
        name: "SOURCELEDGER_REPLAY_ORIGIN",
        problem,
    };
    let public =
        url::Url::parse(public_url).map_err(|_| invalid("the public URL does not parse".into()))?;
    let origin = match configured {
        Some(text) => parse_origins(&text).map_err(invalid)?.into_iter().next(),
        None => {
            let other = match public.host_str() {
                Some("127.0.0.1") => "localhost",
                Some("localhost") => "127.0.0.1",
                _ => return Ok(None),
            };
            let mut swapped = public.clone();
            swapped
                .set_host(Some(other))
                .map_err(|e| invalid(e.to_string()))?;
            Some(swapped.origin().ascii_serialization())
        }
    };
    if origin.as_deref() == Some(public.origin().ascii_serialization().as_str()) {
        return Err(invalid(
            "must not be the public URL's own origin: replayed pages would share it with the desk"
                .into(),
        ));
    }
    Ok(origin)
}

/// Web origins, `scheme://host[:port]` each, as browsers send them in `Origin`.
pub(super) fn parse_origins(text: &str) -> Result<Vec<String>, String> {
    text.split(',')
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .map(|origin| {
            let parsed = url::Url::parse(origin).map_err(|_| format!("{origin:?} is not a URL"))?;
            let serialised = parsed.origin().ascii_serialization();
            if !matches!(parsed.scheme(), "http" | "https")
                || serialised != origin.trim_end_matches('/')
            {
                return Err(format!(
                    "{origin:?} is not an origin like https://news.example"
                ));
            }
            Ok(serialised)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embed_origins_are_origins() {
        let origins =
            parse_origins("https://news.example, http://127.0.0.1:8080/").expect("origins");
        assert_eq!(origins, ["https://news.example", "http://127.0.0.1:8080"]);
        assert!(parse_origins("https://news.example/path").is_err());
        assert!(parse_origins("news.example").is_err());
        assert!(parse_origins("ftp://news.example").is_err());
    }

    #[test]
    fn replay_has_an_origin_of_its_own() {
        assert_eq!(
            replay_origin(None, "http://127.0.0.1:8080").expect("default"),
            Some("http://localhost:8080".to_owned())
        );
        assert_eq!(
            replay_origin(None, "http://localhost:8080").expect("default"),
            Some("http://127.0.0.1:8080".to_owned())
        );
        assert_eq!(
            replay_origin(None, "https://news.example").expect("none"),
            None
        );
        assert_eq!(
            replay_origin(
                Some("https://replay.news.example".into()),
                "https://news.example"
            )
            .expect("configured"),
            Some("https://replay.news.example".to_owned())
        );
        assert!(
            replay_origin(Some("https://news.example".into()), "https://news.example").is_err()
        );
    }
}
