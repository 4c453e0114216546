//! The test's browser: cookies kept by origin and path, redirects followed
//! by hand, and what it reads from pages and URLs.

use super::Sso;

/// An answer: status, `Location`, body.
pub(super) struct Page {
    pub(super) status: u16,
    pub(super) location: Option<String>,
    pub(super) text: String,
}

/// A browser: cookies by origin (and path), redirects followed by hand.
pub(super) struct Browser {
    agent: ureq::Agent,
    cookies: Vec<(String, String, String, String)>,
}

fn origin_and_path(url: &str) -> (String, String) {
    let parsed = url::Url::parse(url).expect("url");
    (
        parsed.origin().ascii_serialization(),
        parsed.path().to_owned(),
    )
}

impl Browser {
    pub(super) fn new() -> Self {
        let agent = ureq::Agent::config_builder()
            .max_redirects(0)
            .http_status_as_error(false)
            .timeout_global(Some(std::time::Duration::from_secs(30)))
            .build()
            .into();
        Self {
            agent,
            cookies: Vec::new(),
        }
    }

    pub(super) fn cookie(&self, origin: &str, name: &str) -> Option<String> {
        self.cookies
            .iter()
            .find(|(o, n, _, _)| o == origin && n == name)
            .map(|(_, _, v, _)| v.clone())
    }

    pub(super) fn set_cookie(&mut self, origin: &str, name: &str, value: &str) {
        self.cookies
            .retain(|(o, n, _, _)| !(o == origin && n == name));
        self.cookies
            .push((origin.into(), name.into(), value.into(), "/".into()));
    }

    pub(super) fn get(&mut self, url: &str) -> Page {
        self.send(url, None)
    }

    pub(super) fn post(&mut self, url: &str, form: &[(&str, &str)]) -> Page {
        self.send(url, Some(form))
    }

    fn send(&mut self, url: &str, form: Option<&[(&str, &str)]>) -> Page {
        let (origin, path) = origin_and_path(url);
        let header = self
            .cookies
            .iter()
            .filter(|(o, _, _, p)| *o == origin && path.starts_with(p.as_str()))
            .map(|(_, n, v, _)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let mut response = match form {
            None => {
                let mut req = self.agent.get(url);
                if !header.is_empty() {
                    req = req.header("Cookie", &header);
                }
                req.call()
            }
            Some(form) => {
                let mut req = self.agent.post(url);
                if !header.is_empty() {
                    req = req.header("Cookie", &header);
                }
                req.send_form(form.iter().copied())
            }
        }
        .expect("request");
        for value in response.headers().get_all("set-cookie") {
            let text = value.to_str().expect("ascii cookie");
            let mut parts = text.split(';').map(str::trim);
            let (name, value) = parts
                .next()
                .and_then(|p| p.split_once('='))
                .expect("name=value");
            let mut cookie_path = "/".to_owned();
            let mut removed = value.is_empty();
            for attribute in parts {
                let lower = attribute.to_ascii_lowercase();
                if lower.starts_with("path=") {
                    cookie_path = attribute["path=".len()..].to_owned();
                }
                if lower == "max-age=0" || lower.starts_with("expires=thu, 01 jan 1970") {
                    removed = true;
                }
            }
            self.cookies
                .retain(|(o, n, _, p)| !(*o == origin && n == name && *p == cookie_path));
            if !removed {
                self.cookies
                    .push((origin.clone(), name.into(), value.into(), cookie_path));
            }
        }
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(|l| {
                url::Url::parse(url)
                    .and_then(|base| base.join(l))
                    .expect("location")
                    .to_string()
            });
        let text = response.body_mut().read_to_string().unwrap_or_default();
        Page {
            status,
            location,
            text,
        }
    }

    /// `GET /desk/login`, then its "Sign in with SSO" link: the provider's
    /// authorization URL the desk sends the browser to.
    pub(super) fn start(&mut self, sso: &Sso) -> String {
        let login = self.get(&format!("{}/desk/login", sso.server.url()));
        assert_eq!(login.status, 200);
        let marker = "href=\"/desk/sso/start?csrf=";
        let at = login.text.find(marker).expect("the SSO link") + "href=\"".len();
        let end = login.text[at..].find('"').expect("quote") + at;
        assert!(login.text[end..].starts_with("\">Sign in with SSO</a>"));
        let started = self.get(&format!("{}{}", sso.server.url(), &login.text[at..end]));
        assert_eq!(started.status, 303, "{}", started.text);
        started.location.expect("to the provider")
    }

    /// Follows the provider's redirects from `url`, signing `user` in at its
    /// interaction page, up to the desk's callback: its URL (not requested).
    pub(super) fn through_provider(&mut self, sso: &Sso, url: &str, user: &str) -> String {
        let mut url = url.to_owned();
        for _ in 0..10 {
            if url.starts_with(&sso.callback()) {
                return url;
            }
            if url.contains("/interaction/") {
                url = format!("{url}?user={user}");
            }
            let page = self.get(&url);
            assert!(
                page.status == 302 || page.status == 303,
                "{url}: {} {}",
                page.status,
                page.text
            );
            url = page.location.expect("redirect");
        }
        panic!("the provider never sent the browser back");
    }

    /// Signs `user` in through the provider: the callback's answer.
    pub(super) fn sign_in(&mut self, sso: &Sso, user: &str) -> Page {
        let authorize = self.start(sso);
        let callback = self.through_provider(sso, &authorize, user);
        self.get(&callback)
    }

    pub(super) fn desk_cookie(&self, sso: &Sso) -> Option<String> {
        self.cookie(&sso.server.url(), "sourceledger-desk")
    }
}

/// `url` with query parameter `name` set to `value`.
pub(super) fn with_param(url: &str, name: &str, value: &str) -> String {
    let mut parsed = url::Url::parse(url).expect("url");
    let pairs: Vec<(String, String)> = parsed
        .query_pairs()
        .filter(|(k, _)| k != name)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    parsed
        .query_pairs_mut()
        .clear()
        .extend_pairs(pairs)
        .append_pair(name, value);
    parsed.to_string()
}

pub(super) fn param(url: &str, name: &str) -> String {
    url::Url::parse(url)
        .expect("url")
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| panic!("no {name} in {url}"))
}

/// The value of the hidden field `name` in a page.
pub(super) fn hidden(page: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page.find(&marker).expect("hidden field") + marker.len();
    let end = page[start..].find('"').expect("quote") + start;
    page[start..end].to_owned()
}
