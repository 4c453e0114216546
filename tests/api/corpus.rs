//! The extraction of proposals measured on the corpus of article pages in
//! `tests/corpus/articles` (written by hand for this purpose, labelled by
//! the rules in its README): a proposal counts as right when its URL and
//! its claim sentence are the expected ones. Precision and recall over the
//! whole corpus must each be at least 0.95; every miss is printed.

use std::collections::HashMap;

use serde_json::Value;
use sourceledger::reading::links;

fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A page of the corpus: its name, text, format, article URL and the
/// expected (url, claim) pairs.
type Page = (String, String, String, String, Vec<(String, String)>);

/// Every page of the corpus.
pub fn corpus() -> Vec<Page> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/corpus/articles");
    let mut pages = Vec::new();
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .expect("the corpus")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    names.sort();
    for path in names {
        let label: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("label")).expect("json");
        let format = label["format"].as_str().unwrap_or("html").to_owned();
        let text_path = path.with_extension(if format == "markdown" { "md" } else { "html" });
        let text = std::fs::read_to_string(&text_path).expect("page");
        let expected = label["expected"]
            .as_array()
            .expect("expected")
            .iter()
            .map(|e| {
                (
                    e["url"].as_str().expect("url").to_owned(),
                    collapse(e["claim"].as_str().expect("claim")),
                )
            })
            .collect();
        pages.push((
            path.file_stem()
                .expect("name")
                .to_string_lossy()
                .into_owned(),
            text,
            format,
            label["article_url"]
                .as_str()
                .expect("article_url")
                .to_owned(),
            expected,
        ));
    }
    pages
}

#[test]
fn the_corpus_is_read_with_precision_and_recall_of_at_least_095() {
    let (mut right, mut proposed, mut expected_count) = (0usize, 0usize, 0usize);
    let mut report = String::new();
    for (name, text, format, article_url, expected) in corpus() {
        let base = url::Url::parse(&article_url).expect("article url");
        let html = match format.as_str() {
            "markdown" => links::markdown_to_html(&text),
            _ => text,
        };
        let found = links::from_html(&html, Some(&base), 1000);
        let wanted: HashMap<&str, &str> = expected
            .iter()
            .map(|(u, c)| (u.as_str(), c.as_str()))
            .collect();
        let mut page_right = 0;
        for p in &found {
            match wanted.get(p.url.as_str()) {
                Some(claim) if *claim == collapse(&p.claim) => page_right += 1,
                Some(claim) => report.push_str(&format!(
                    "{name}: {} has the claim\n    {:?}\n  expected\n    {claim:?}\n",
                    p.url, p.claim
                )),
                None => report.push_str(&format!(
                    "{name}: {} proposed, not expected ({:?})\n",
                    p.url, p.anchor_text
                )),
            }
        }
        for (url, _) in &expected {
            if !found.iter().any(|p| &p.url == url) {
                report.push_str(&format!("{name}: {url} expected, not proposed\n"));
            }
        }
        eprintln!(
            "{name}: {page_right} right of {} proposed, {} expected",
            found.len(),
            expected.len()
        );
        right += page_right;
        proposed += found.len();
        expected_count += expected.len();
    }
    let precision = right as f64 / proposed.max(1) as f64;
    let recall = right as f64 / expected_count.max(1) as f64;
    eprintln!(
        "corpus: {right} right, {proposed} proposed, {expected_count} expected: precision {precision:.3}, recall {recall:.3}\n{report}"
    );
    assert!(expected_count > 100, "the corpus is too small to measure");
    assert!(
        precision >= 0.95 && recall >= 0.95,
        "precision {precision:.3}, recall {recall:.3}:\n{report}"
    );
}
