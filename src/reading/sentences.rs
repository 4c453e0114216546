//! Sentences of a block of text: Unicode's sentence boundaries (UAX #29,
//! from `unicode-segmentation`), joined again where a break follows an
//! abbreviation or an initial ("Dr. Smith", "U.S. Senate", "z. B. Texte"),
//! which UAX #29 cannot tell from a sentence's end.

use std::ops::Range;

use unicode_segmentation::UnicodeSegmentation;

/// Words that end with a full stop without ending a sentence, lowercased,
/// without the stop. Single letters (initials, "S. 12", "z. B.") and
/// dotted forms ("U.S.", "e.g.") are recognised without being listed.
const ABBREVIATIONS: &[&str] = &[
    // Titles and ranks.
    "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "mt", "gen", "gov", "sen", "rep", "col",
    "lt", "sgt", "capt", "cmdr", "adm", "rev", "hon", "pres", "supt", "messrs", "mme", "mlle",
    "hr", "fr", // Companies.
    "inc", "ltd", "co", "corp", "bros", // Months.
    "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
    // References.
    "no", "nos", "nr", "vol", "vols", "fig", "figs", "pp", "ed", "eds", "ch", "art", "sec", "para",
    "approx", "dept", "est", "vs", "ca", "cf", "al", "bzw", "vgl", "usw", "ggf", "etc",
];

/// The byte ranges of `text`'s sentences, in order, covering all of it
/// (each with the spaces that follow it).
pub fn sentences(text: &str) -> Vec<Range<usize>> {
    let mut out: Vec<Range<usize>> = Vec::new();
    for (start, piece) in text.split_sentence_bound_indices() {
        let end = start + piece.len();
        match out.last_mut() {
            Some(last) if continues(&text[last.clone()]) => last.end = end,
            _ => out.push(start..end),
        }
    }
    out
}

/// Whether a sentence that ends like `piece` goes on into the next one: it
/// ends with an abbreviation's or an initial's full stop.
fn continues(piece: &str) -> bool {
    let trimmed = piece.trim_end();
    let Some(body) = trimmed.strip_suffix('.') else {
        return false;
    };
    let word = body
        .rsplit(|c: char| c.is_whitespace() || c == '(' || c == '"' || c == '“')
        .next()
        .unwrap_or_default();
    if word.is_empty() {
        return false;
    }
    let mut letters = word.chars().filter(|c| c.is_alphabetic());
    // An initial: one letter ("J.", "S.", "z.").
    if word.chars().count() == 1 && letters.next().is_some() {
        return true;
    }
    // Dotted: "U.S", "e.g", "i.e", "z.B" (the last stop was stripped).
    if word.contains('.')
        && word
            .split('.')
            .all(|p| p.chars().count() <= 2 && !p.is_empty())
    {
        return true;
    }
    let lower = word.to_lowercase();
    ABBREVIATIONS.contains(&lower.as_str())
}

/// The sentence (or sentences) of `text` that hold `at`: the sentence its
/// start is in through the one its end is in. An empty `at` (a footnote
/// marker's place) belongs to the sentence it ends, or follows at once:
/// "...in 2024.[3] Next" is the 2024 sentence's.
pub fn around(text: &str, at: Range<usize>) -> &str {
    let all = sentences(text);
    if all.is_empty() {
        return "";
    }
    let holds = |s: &Range<usize>, i: usize| s.start <= i && i < s.end;
    let first = if at.is_empty() {
        // The last sentence that starts before the marker: a marker right
        // after a sentence's stop (and its spaces) is that sentence's.
        all.iter()
            .rposition(|s| s.start < at.start || (s.start == 0 && at.start == 0))
            .unwrap_or(0)
    } else {
        all.iter().position(|s| holds(s, at.start)).unwrap_or(0)
    };
    let last = if at.is_empty() {
        first
    } else {
        let end = at.end.saturating_sub(1);
        all.iter()
            .position(|s| holds(s, end))
            .unwrap_or(all.len() - 1)
            .max(first)
    };
    &text[all[first].start..all[last].end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(text: &str) -> Vec<&str> {
        sentences(text)
            .into_iter()
            .map(|r| text[r].trim())
            .collect()
    }

    #[test]
    fn splits_at_stops_not_at_abbreviations_initials_or_decimals() {
        assert_eq!(
            split(
                "Dr. Smith met Mr. J. Doe in the U.S. Senate on Jan. 5. Rates rose 3.5 percent! Why? No. 5 Street."
            ),
            vec![
                "Dr. Smith met Mr. J. Doe in the U.S. Senate on Jan. 5.",
                "Rates rose 3.5 percent!",
                "Why?",
                "No. 5 Street."
            ]
        );
        assert_eq!(
            split("Das steht z. B. auf S. 12 der Studie. Danach kam nichts."),
            vec![
                "Das steht z. B. auf S. 12 der Studie.",
                "Danach kam nichts."
            ]
        );
    }

    #[test]
    fn closing_quotes_stay_with_their_sentence() {
        assert_eq!(
            split("He said: “It is over.” Then he left."),
            vec!["He said: “It is over.”", "Then he left."]
        );
    }

    #[test]
    fn a_link_or_a_marker_finds_its_sentence() {
        let text = "First one. The link is here in 2024. Next one.";
        let link = text.find("link").expect("test value");
        assert_eq!(
            around(text, link..link + 4).trim(),
            "The link is here in 2024."
        );
        // A marker right after a stop belongs to that sentence.
        let marker = text.find("2024.").expect("test value") + 5;
        assert_eq!(
            around(text, marker..marker).trim(),
            "The link is here in 2024."
        );
        let marker = text.find("2024.").expect("test value") + 6;
        assert_eq!(
            around(text, marker..marker).trim(),
            "The link is here in 2024."
        );
        assert_eq!(around(text, 0..0).trim(), "First one.");
        assert_eq!(around("", 0..0), "");
    }
}
