//! A web site of the test's own on loopback: each path answers what the test
//! last set for it (status, headers, body), and the site counts the requests
//! it got, so a test can tell that nothing connected.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

#[derive(Clone)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

pub struct HostSite {
    pub origin: String,
    pages: Arc<Mutex<HashMap<String, Answer>>>,
    hits: Arc<AtomicUsize>,
}

impl HostSite {
    /// A site on 127.0.0.1.
    pub fn start() -> Self {
        Self::start_on("127.0.0.1")
    }

    /// A site on another loopback address (127.0.0.2, …).
    pub fn start_on(address: &str) -> Self {
        let listener = TcpListener::bind((address, 0)).expect("bind");
        let origin = format!("http://{}", listener.local_addr().expect("addr"));
        let pages: Arc<Mutex<HashMap<String, Answer>>> = Arc::default();
        let hits = Arc::new(AtomicUsize::new(0));
        let (served, counted) = (pages.clone(), hits.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                counted.fetch_add(1, Ordering::SeqCst);
                let mut line = String::new();
                let mut reader = BufReader::new(&stream);
                if reader.read_line(&mut line).is_err() {
                    continue;
                }
                // The rest of the head is not needed.
                let mut header = String::new();
                while reader.read_line(&mut header).is_ok_and(|n| n > 2) {
                    header.clear();
                }
                let path = line.split(' ').nth(1).unwrap_or("/").to_owned();
                let answer = served.lock().expect("pages").get(&path).cloned();
                let answer = answer.unwrap_or(Answer {
                    status: 404,
                    headers: vec![],
                    body: vec![],
                });
                let mut head = format!("HTTP/1.1 {} X\r\n", answer.status);
                for (name, value) in &answer.headers {
                    head.push_str(&format!("{name}: {value}\r\n"));
                }
                head.push_str(&format!(
                    "Content-Length: {}\r\nConnection: close\r\n\r\n",
                    answer.body.len()
                ));
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(&answer.body);
            }
        });
        HostSite {
            origin,
            pages,
            hits,
        }
    }

    /// An HTML page at `path` under the policy `csp` (none when empty); its URL.
    pub fn page(&self, path: &str, csp: &str, body: String) -> String {
        let mut headers = vec![(
            "Content-Type".to_owned(),
            "text/html; charset=utf-8".to_owned(),
        )];
        if !csp.is_empty() {
            headers.push(("Content-Security-Policy".to_owned(), csp.to_owned()));
        }
        self.answer(path, 200, headers, body.into_bytes())
    }

    /// What `path` answers from now on; its URL.
    pub fn answer(
        &self,
        path: &str,
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    ) -> String {
        self.pages.lock().expect("pages").insert(
            path.to_owned(),
            Answer {
                status,
                headers,
                body,
            },
        );
        format!("{}{path}", self.origin)
    }

    /// How many connections the site accepted.
    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}
