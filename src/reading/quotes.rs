//! Where a citation's quote is in its source's text. A journalist's quote
//! rarely matches the page byte for byte (curly quotes, dashes, line breaks,
//! case, an ellipsis for what was left out), so both texts are compared in
//! a normalised form and the match is reported in the page's own words as a
//! W3C Web Annotation `TextQuoteSelector`, which any annotation tool can
//! anchor again.

use serde::{Deserialize, Serialize};
use unicode_segmentation::GraphemeCursor;
use utoipa::ToSchema;

/// How many characters of context `prefix` and `suffix` carry.
const CONTEXT_CHARS: usize = 32;

/// A quote shorter than this (normalised) matches too much to mean anything.
const MIN_QUOTE_CHARS: usize = 3;

/// The selector's `type`, always `TextQuoteSelector`: a field of its own so
/// that serde writes and checks it and the OpenAPI schema shows it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum SelectorType {
    #[default]
    TextQuoteSelector,
}

/// A W3C Web Annotation text quote selector: the matched text as the page
/// has it, with up to 32 characters either side to tell repeats apart.
/// In `prefix` and `suffix` each run of whitespace is shown as one space;
/// `exact` is the page's text unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TextQuoteSelector {
    /// Always `"TextQuoteSelector"`.
    #[serde(rename = "type", default)]
    #[schema(inline)]
    pub kind: SelectorType,
    pub exact: String,
    pub prefix: String,
    pub suffix: String,
}

impl TextQuoteSelector {
    pub fn new(exact: String, prefix: String, suffix: String) -> Self {
        TextQuoteSelector {
            kind: SelectorType::TextQuoteSelector,
            exact,
            prefix,
            suffix,
        }
    }
}

/// Looks for `quote` in `text` ignoring case, whitespace, the kind of quote
/// marks and dashes, soft hyphens and zero-width characters. An ellipsis in
/// the quote ("...", "…", "[…]") splits it into parts that must appear in
/// that order; the selector then spans the first part to the last, taking
/// the tightest such span. A match must start and end between whole
/// characters as a reader sees them (grapheme clusters), so "cafe" is not
/// found in "café" written with a combining accent.
///
/// `None` when the quote is absent, or too short (under three characters
/// once normalised) to be worth looking for.
pub fn find(text: &str, quote: &str) -> Option<TextQuoteSelector> {
    let parts = quote_parts(quote)?;
    let (haystack, checkpoints) = normalise_with_checkpoints(text);
    let (start, end) = locate(&haystack, &parts)?;
    let (orig_start, orig_end) = original_range(text, &haystack, &checkpoints, start, end)?;
    let exact = text.get(orig_start..orig_end)?.to_owned();
    let prefix = context_before(text.get(..orig_start)?);
    let suffix = context_after(text.get(orig_end..)?);
    Some(TextQuoteSelector::new(exact, prefix, suffix))
}

/// The quote normalised and split at its ellipses; `None` when too short.
fn quote_parts(quote: &str) -> Option<Vec<String>> {
    let normalised = normalise(quote);
    let trimmed = normalised.trim_matches(|c: char| c == ' ' || c == '"' || c == '\'');
    if trimmed.chars().count() < MIN_QUOTE_CHARS {
        return None;
    }
    // "[...]" first, so that its brackets go with it; "…" is "..." by now.
    let parts: Vec<String> = trimmed
        .split("[...]")
        .flat_map(|piece| piece.split("..."))
        .map(|part| part.trim_matches(|c: char| c == ' ' || c == '"' || c == '\''))
        .filter(|part| part.chars().any(char::is_alphanumeric))
        .map(str::to_owned)
        .collect();
    if parts.is_empty() {
        return None;
    }
    Some(parts)
}

/// Finds the parts in order in the normalised text: first the earliest
/// place where all of them fit, then, working back from the last part, the
/// latest place of each earlier part, so the span is as short as it can be.
fn locate(haystack: &str, parts: &[String]) -> Option<(usize, usize)> {
    let mut starts = Vec::with_capacity(parts.len());
    let mut from = 0;
    for part in parts {
        let start = find_forward(haystack, part, from)?;
        starts.push(start);
        from = start + part.len();
    }
    let last = parts.len() - 1;
    let end = starts[last] + parts[last].len();
    for k in (0..last).rev() {
        if let Some(start) = find_backward(haystack, &parts[k], starts[k + 1]) {
            starts[k] = start;
        }
    }
    Some((starts[0], end))
}

/// The first occurrence of `needle` at or after `from` that starts and ends
/// on grapheme boundaries.
fn find_forward(haystack: &str, needle: &str, mut from: usize) -> Option<usize> {
    loop {
        let start = from + haystack.get(from..)?.find(needle)?;
        let end = start + needle.len();
        if on_boundaries(haystack, start, end) {
            return Some(start);
        }
        // Step one character on; `start` is a char boundary, so is this.
        from = start + haystack.get(start..)?.chars().next()?.len_utf8();
    }
}

/// The last occurrence of `needle` ending at or before `until`, on grapheme
/// boundaries.
fn find_backward(haystack: &str, needle: &str, mut until: usize) -> Option<usize> {
    loop {
        let start = haystack.get(..until)?.rfind(needle)?;
        let end = start + needle.len();
        if on_boundaries(haystack, start, end) {
            return Some(start);
        }
        // Shorten by the last character and look again.
        until = end - haystack.get(..end)?.chars().next_back()?.len_utf8();
    }
}

fn on_boundaries(text: &str, start: usize, end: usize) -> bool {
    is_grapheme_boundary(text, start) && is_grapheme_boundary(text, end)
}

fn is_grapheme_boundary(text: &str, at: usize) -> bool {
    // Given the whole text as its one chunk the cursor needs no more
    // context; should it ever ask, take the position as a boundary.
    GraphemeCursor::new(at, text.len(), true)
        .is_boundary(text, 0)
        .unwrap_or(true)
}

/// The normalised text alone, for a quote.
fn normalise(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    normalise_with(text, false, |_, _, c| {
        out.push(c);
        true
    });
    out
}

/// Normalised bytes between two checkpoints of the position map.
const CHECKPOINT_EVERY: usize = 4096;

/// The normalised text and a sparse map back to the original: every 4 KiB
/// of normalised text, where it stands in the original. A map entry for
/// every byte would take several times the text's size; this one is tiny,
/// and mapping a match back costs re-reading at most 4 KiB.
fn normalise_with_checkpoints(text: &str) -> (String, Vec<(usize, usize)>) {
    let mut out = String::with_capacity(text.len());
    let mut checkpoints = vec![(0, 0)];
    let mut next_checkpoint = CHECKPOINT_EVERY;
    let mut last_from = 0;
    normalise_with(text, false, |from, _, c| {
        // Only where an original character starts: all that was written
        // before came from the characters before it.
        if from != last_from && out.len() >= next_checkpoint {
            checkpoints.push((out.len(), from));
            next_checkpoint = out.len() + CHECKPOINT_EVERY;
        }
        last_from = from;
        out.push(c);
        true
    });
    (out, checkpoints)
}

/// Maps a range of the normalised text back to the original: the start of
/// the original character that gave the first normalised character, the end
/// of the one that gave the last. Normalising again from the checkpoint
/// before `start` finds them.
fn original_range(
    text: &str,
    normalised: &str,
    checkpoints: &[(usize, usize)],
    start: usize,
    end: usize,
) -> Option<(usize, usize)> {
    let index = checkpoints.partition_point(|&(at, _)| at <= start);
    let &(mut position, origin) = checkpoints.get(index.checked_sub(1)?)?;
    // Whether a whitespace run was open there: the normalised text then
    // ends in its one space, which nothing else writes.
    let after_space = normalised.get(..position)?.ends_with(' ');
    let mut orig_start = None;
    let mut orig_end = None;
    normalise_with(text.get(origin..)?, after_space, |from, to, c| {
        let next = position + c.len_utf8();
        if orig_start.is_none() && start < next {
            orig_start = Some(origin + from);
        }
        if end <= next {
            orig_end = Some(origin + to);
            return false;
        }
        position = next;
        true
    });
    Some((orig_start?, orig_end?))
}

/// Runs the normalisation, calling `emit(original_start, original_end,
/// char)` for each normalised character with the byte range of the original
/// character it came from; `emit` returns `false` to stop early.
/// `after_space` says whether the text before this one ended in whitespace.
///
/// Whitespace runs become one space; typographic quotes, primes and
/// guillemets become `'` or `"`; dashes become `-`; `…` becomes `...`; soft
/// hyphens and zero-width characters go; letters are lowercased (final
/// sigma as sigma, dotted capital I as i).
fn normalise_with(
    text: &str,
    mut after_space: bool,
    mut emit: impl FnMut(usize, usize, char) -> bool,
) {
    let bytes = text.as_bytes();
    let mut at = 0;
    while let Some(&byte) = bytes.get(at) {
        if byte.is_ascii() {
            // The common case, kept short: no UTF-8 decoding.
            let (from, to) = (at, at + 1);
            if matches!(byte, b' ' | b'\t' | b'\n' | b'\r' | b'\x0B' | b'\x0C') {
                if !after_space && !emit(from, to, ' ') {
                    return;
                }
                after_space = true;
            } else {
                after_space = false;
                if !emit(from, to, char::from(byte.to_ascii_lowercase())) {
                    return;
                }
            }
            at = to;
            continue;
        }
        // `at` always steps by whole characters, so it is a boundary.
        let Some(c) = text.get(at..).and_then(|rest| rest.chars().next()) else {
            return;
        };
        let (from, to) = (at, at + c.len_utf8());
        at = to;
        if c.is_whitespace() {
            if !after_space && !emit(from, to, ' ') {
                return;
            }
            after_space = true;
            continue;
        }
        let replacement = match c {
            '\u{00AD}' | '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{2060}' | '\u{FEFF}' => {
                continue;
            }
            '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}' | '\u{2032}' => Some('\''),
            '\u{201C}' | '\u{201D}' | '\u{201E}' | '\u{201F}' | '\u{2033}' | '\u{00AB}'
            | '\u{00BB}' => Some('"'),
            '\u{2010}' | '\u{2011}' | '\u{2012}' | '\u{2013}' | '\u{2014}' | '\u{2015}' => {
                Some('-')
            }
            // Final sigma as sigma, and Turkish dotted capital I as plain i
            // rather than "i" and a combining dot.
            '\u{03C2}' => Some('\u{03C3}'),
            '\u{0130}' => Some('i'),
            '\u{2026}' => None,
            _ => {
                after_space = false;
                for lower in c.to_lowercase() {
                    let lower = if lower == '\u{03C2}' {
                        '\u{03C3}'
                    } else {
                        lower
                    };
                    if !emit(from, to, lower) {
                        return;
                    }
                }
                continue;
            }
        };
        after_space = false;
        match replacement {
            Some(r) => {
                if !emit(from, to, r) {
                    return;
                }
            }
            None => {
                for _ in 0..3 {
                    if !emit(from, to, '.') {
                        return;
                    }
                }
            }
        }
    }
}

/// Up to 32 characters of the text before a match, whitespace runs as one
/// space.
fn context_before(before: &str) -> String {
    let mut chars: Vec<char> = collapsed(before.chars().rev()).collect();
    chars.reverse();
    chars.into_iter().collect()
}

/// Up to 32 characters of the text after a match, whitespace runs as one
/// space.
fn context_after(after: &str) -> String {
    collapsed(after.chars()).collect()
}

fn collapsed(chars: impl Iterator<Item = char>) -> impl Iterator<Item = char> {
    let mut after_space = false;
    chars
        .filter_map(move |c| {
            if c.is_whitespace() {
                let first = !after_space;
                after_space = true;
                first.then_some(' ')
            } else {
                after_space = false;
                Some(c)
            }
        })
        .take(CONTEXT_CHARS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exact(text: &str, quote: &str) -> Option<String> {
        find(text, quote).map(|s| s.exact)
    }

    #[test]
    fn exact_match_with_context() {
        let text = "The minister said the budget would balance by 2027, then left.";
        let found = find(text, "the budget would balance by 2027").expect("found");
        assert_eq!(found.exact, "the budget would balance by 2027");
        assert_eq!(found.prefix, "The minister said ");
        assert_eq!(found.suffix, ", then left.");
    }

    #[test]
    fn serialises_as_a_web_annotation_selector() {
        let selector = TextQuoteSelector::new("b".into(), "a".into(), "c".into());
        let json = serde_json::to_value(&selector).expect("json");
        assert_eq!(
            json,
            serde_json::json!({"type": "TextQuoteSelector", "exact": "b", "prefix": "a", "suffix": "c"})
        );
        let back: TextQuoteSelector = serde_json::from_value(json).expect("back");
        assert_eq!(back, selector);
        let wrong =
            serde_json::json!({"type": "CssSelector", "exact": "b", "prefix": "", "suffix": ""});
        assert!(serde_json::from_value::<TextQuoteSelector>(wrong).is_err());
    }

    #[test]
    fn curly_and_straight_quotes_dashes_and_ellipsis_char() {
        let text = "She called it \u{201c}a disaster\u{201d} \u{2014} twice\u{2026} and \u{2018}won\u{2019}t\u{2019} stop.";
        assert_eq!(
            exact(text, "\"a disaster\" - twice..."),
            Some("a disaster\u{201d} \u{2014} twice".into())
        );
        assert_eq!(exact(text, "'won't'"), Some("won\u{2019}t".into()));
        // The other way round: a curly quote looked for in straight text.
        assert_eq!(
            exact("it's \"fine\" here", "it\u{2019}s \u{201c}fine\u{201d}"),
            Some("it's \"fine".into())
        );
    }

    #[test]
    fn whitespace_and_newlines_and_invisible_characters() {
        let text = "The  report\nfound\u{a0}that\r\n\tpoverty fell \u{00ad}sharply.";
        assert_eq!(
            exact(text, "report found that poverty fell sharply"),
            Some("report\nfound\u{a0}that\r\n\tpoverty fell \u{00ad}sharply".into())
        );
        assert_eq!(
            exact("a zero\u{200b}width text", "zerowidth"),
            Some("zero\u{200b}width".into())
        );
    }

    #[test]
    fn case_is_ignored() {
        assert_eq!(
            exact("HELLO World", "hello world"),
            Some("HELLO World".into())
        );
        assert_eq!(exact("ΟΔΥΣΣΕΥΣ", "οδυσσευς"), Some("ΟΔΥΣΣΕΥΣ".into()));
    }

    #[test]
    fn ellipsis_parts_in_order() {
        let text = "We will fight on the beaches. We will fight on the landing grounds. We shall never surrender.";
        let found = find(
            text,
            "\u{201c}We will fight on the beaches \u{2026} we shall never surrender\u{201d}",
        )
        .expect("found");
        assert_eq!(
            found.exact,
            "We will fight on the beaches. We will fight on the landing grounds. We shall never surrender"
        );
        assert_eq!(found.prefix, "");
        assert_eq!(found.suffix, ".");
        assert!(find(text, "never surrender ... the beaches").is_none());
        assert_eq!(
            exact(text, "fight [...] landing [\u{2026}] surrender"),
            Some("fight on the landing grounds. We shall never surrender".into())
        );
    }

    #[test]
    fn tightest_span_for_parts() {
        let text = "alpha one. alpha two. beta three.";
        assert_eq!(
            exact(text, "alpha ... beta"),
            Some("alpha two. beta".into())
        );
    }

    #[test]
    fn absent_and_too_short() {
        assert_eq!(find("nothing to see", "something else"), None);
        assert_eq!(find("ab ab ab", "ab"), None);
        assert_eq!(find("text", ""), None);
        assert_eq!(find("text", " \u{201c} \u{201d} "), None);
        assert_eq!(find("text", "..."), None);
        assert_eq!(find("", "quote"), None);
    }

    #[test]
    fn quote_longer_than_text() {
        assert_eq!(find("short", "short text that goes on and on"), None);
    }

    #[test]
    fn multi_byte_text() {
        let text = "Der Bürgermeister sagte: \u{201e}Wir schaffen das\u{201c} 🎉 — 東京では雨。";
        let found = find(text, "\"wir schaffen das\"").expect("found");
        assert_eq!(found.exact, "Wir schaffen das");
        assert_eq!(found.prefix, "Der Bürgermeister sagte: \u{201e}");
        assert_eq!(found.suffix, "\u{201c} 🎉 — 東京では雨。");
        assert_eq!(exact(text, "東京では雨"), Some("東京では雨".into()));
        assert_eq!(exact(text, "🎉 - 東京"), Some("🎉 — 東京".into()));
        // Lowercasing that changes length ('İ' is two characters in lower case).
        // 'İ' lowercases to two characters; it is read as a plain 'i'.
        assert_eq!(
            exact("İSTANBUL büyük", "istanbul büyük"),
            Some("İSTANBUL büyük".into())
        );
        assert_eq!(exact("xx İSTANBUL", "Istanbul"), Some("İSTANBUL".into()));
    }

    #[test]
    fn combining_marks_and_emoji_are_not_cut() {
        // "café" with a combining acute accent: "cafe" alone is not in it.
        assert_eq!(find("un cafe\u{301} noir", "un cafe"), None);
        assert_eq!(
            exact("un cafe\u{301} noir", "un cafe\u{301}"),
            Some("un cafe\u{301}".into())
        );
        // A later, whole-word occurrence is still found.
        assert_eq!(
            find("cafe\u{301} or cafe", "cafe").map(|f| f.prefix),
            Some("cafe\u{301} or ".into())
        );
        // A thumbs-up with a skin tone is one character to a reader.
        assert_eq!(find("ok 👍🏽 yes", "ok 👍"), None);
    }

    #[test]
    fn positions_map_back_across_a_long_text() {
        let mut text = String::new();
        for i in 0..3000 {
            text.push_str(&format!(
                "Line Ünï {i}:  \u{201c}Marker{i}\u{201d}  \u{2014}\u{a0}end\u{200b}\n\n"
            ));
        }
        for i in (0..3000).step_by(7) {
            let found = find(&text, &format!("{i}: \"marker{i}\" - end")).expect("found");
            assert_eq!(
                found.exact,
                format!("{i}:  \u{201c}Marker{i}\u{201d}  \u{2014}\u{a0}end")
            );
            assert!(found.prefix.ends_with("Line Ünï "), "{:?}", found.prefix);
            assert!(
                found.suffix.starts_with("\u{200b} Line Ünï "),
                "{:?}",
                found.suffix
            );
        }
    }

    #[test]
    fn context_at_the_edges_of_the_text() {
        let found = find("Opening words of a long article", "opening words").expect("found");
        assert_eq!(found.prefix, "");
        assert_eq!(found.suffix, " of a long article");
        let long = format!("{}closing words", "x".repeat(100));
        let found = find(&long, "closing words").expect("found");
        assert_eq!(found.prefix, "x".repeat(32));
        assert_eq!(found.suffix, "");
        let found = find("a\n\n\n   b quoted c \n\n d", "quoted").expect("found");
        assert_eq!(found.prefix, "a b ");
        assert_eq!(found.suffix, " c d");
    }

    /// Builds a 2 MiB HTML page, extracts its text and looks for a quote
    /// near its end and one absent, printing the median of 20 runs of each.
    ///
    /// cargo test --release --lib reading::quotes::tests::benchmark -- --ignored --nocapture
    #[test]
    #[ignore]
    fn benchmark() {
        use std::time::{Duration, Instant};

        const WORDS: &[&str] = &[
            "the",
            "council",
            "said",
            "on",
            "Tuesday",
            "that",
            "its",
            "budget",
            "for",
            "housing",
            "would",
            "rise",
            "by",
            "“twelve",
            "per",
            "cent”",
            "next",
            "year,",
            "while",
            "critics",
            "argued",
            "the",
            "figures",
            "were",
            "misleading",
            "and",
            "residents",
            "—",
            "many",
            "of",
            "them",
            "tenants",
            "—",
            "waited",
            "for",
            "repairs",
            "déjà",
            "vu",
            "in",
            "Zürich",
        ];
        let mut html = String::from(
            "<!doctype html><html><head><title>Report</title><style>p{margin:0}</style></head><body><article>",
        );
        let mut n = 0usize;
        while html.len() < 2 * 1024 * 1024 {
            html.push_str("<p>");
            for i in 0..60 {
                if i % 17 == 5 {
                    html.push_str("<a href=\"https://example.org/x\">");
                }
                html.push_str(WORDS[(n * 7 + i * 13) % WORDS.len()]);
                if i % 17 == 5 {
                    html.push_str("</a>");
                }
                html.push(' ');
            }
            html.push_str("</p>\n");
            n += 1;
        }
        html.push_str("<p>In closing, the mayor said: “We will rebuild every home by 2030.”</p>");
        html.push_str("</article></body></html>");

        let median = |mut runs: Vec<Duration>| {
            runs.sort();
            runs[runs.len() / 2]
        };
        let time = |f: &dyn Fn()| {
            median(
                (0..20)
                    .map(|_| {
                        let t = Instant::now();
                        f();
                        t.elapsed()
                    })
                    .collect(),
            )
        };
        let text = html_text_for_bench(&html);
        let extract = time(&|| {
            std::hint::black_box(html_text_for_bench(&html));
        });
        let present = time(&|| {
            assert!(find(&text, "\"we will rebuild every home by 2030\"").is_some());
        });
        let absent = time(&|| {
            assert!(find(&text, "we will rebuild every school by 2031").is_none());
        });
        // The same on a text of more than 2 MiB, the quote at its very end.
        let long = format!("{text}\n{text}\nAfterwards she wrote: \u{201c}It is done.\u{201d}");
        let long_present = time(&|| {
            assert!(find(&long, "\"it is done.\"").is_some());
        });
        let long_absent = time(&|| {
            assert!(find(&long, "it is not done").is_none());
        });
        println!(
            "html {} bytes -> text {} bytes; median of 20: html_text {:?}, find present (near end) {:?}, find absent {:?}",
            html.len(),
            text.len(),
            extract,
            present,
            absent
        );
        println!(
            "text {} bytes; median of 20: find present (at end) {:?}, find absent {:?}",
            long.len(),
            long_present,
            long_absent
        );
    }

    fn html_text_for_bench(html: &str) -> String {
        crate::reading::text::html_text(html)
    }
}
