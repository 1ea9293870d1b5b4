//! Text around a search's first match, with every match in it marked. Only words that could
//! stem to a searched term (they share its first two letters) are analyzed, so a hit costs
//! a scan of its text, not the stemming of all of it (tantivy's own snippets stem every word:
//! most of a search's time, measured).
use std::collections::HashSet;

use tantivy::tokenizer::TextAnalyzer;

use crate::listing::{MARK_END, MARK_START};

/// Bytes of text a snippet shows, about (cut at spaces, never inside a character).
const LENGTH: usize = 240;
/// Of which before the first match.
const BEFORE: usize = 60;

/// The words of `text` (byte ranges), split as the index splits them.
fn words(text: &str) -> impl Iterator<Item = (usize, usize)> + '_ {
    let mut chars = text.char_indices().peekable();
    std::iter::from_fn(move || {
        let (start, _) = chars.by_ref().find(|(_, c)| c.is_alphanumeric())?;
        let mut end = text.len();
        while let Some(&(at, c)) = chars.peek() {
            if !c.is_alphanumeric() {
                end = at;
                break;
            }
            chars.next();
        }
        Some((start, end))
    })
}

/// What `terms` (as the analyzer makes them) match in `text`.
pub struct Matcher<'a> {
    terms: &'a HashSet<String>,
    prefixes: HashSet<String>,
    analyzer: TextAnalyzer,
    /// Lowercases and folds accents, for the prefixes of words that are not ASCII.
    folder: TextAnalyzer,
}

impl<'a> Matcher<'a> {
    pub fn new(terms: &'a HashSet<String>, analyzer: TextAnalyzer) -> Self {
        let mut folder = TextAnalyzer::builder(tantivy::tokenizer::RawTokenizer::default())
            .filter(tantivy::tokenizer::LowerCaser)
            .filter(tantivy::tokenizer::AsciiFoldingFilter)
            .build();
        let prefixes = terms.iter().map(|t| prefix(t, &mut folder)).collect();
        Matcher {
            terms,
            prefixes,
            analyzer,
            folder,
        }
    }

    fn matches(&mut self, word: &str) -> bool {
        if !self.prefixes.contains(&prefix(word, &mut self.folder)) {
            return false;
        }
        let mut stream = self.analyzer.token_stream(word);
        let mut found = false;
        while let Some(token) = stream.next() {
            found |= self.terms.contains(&token.text);
        }
        found
    }

    /// The snippet of `text`: around the first match, marked with `MARK_START`/`MARK_END`
    /// (HTML-escaped later); the start of the text when nothing in it matches.
    pub fn snippet(&mut self, text: &str) -> String {
        let first = words(text).find(|&(start, end)| self.matches(&text[start..end]));
        let from = match first {
            Some((start, _)) => word_start(text, start.saturating_sub(BEFORE), start),
            None => 0,
        };
        let to = word_end(text, from, from + LENGTH);
        let window = &text[from..to];
        let mut marked = String::with_capacity(window.len() + 16);
        if from > 0 {
            marked.push_str("… ");
        }
        let mut at = 0;
        if first.is_some() {
            for (start, end) in words(window) {
                if self.matches(&window[start..end]) {
                    marked.push_str(&window[at..start]);
                    marked.push(MARK_START);
                    marked.push_str(&window[start..end]);
                    marked.push(MARK_END);
                    at = end;
                }
            }
        }
        marked.push_str(&window[at..]);
        if to < text.len() {
            marked.push_str(" …");
        }
        marked.trim().to_owned()
    }
}

/// A word's first two letters, lowercased, accents folded (a stem keeps them, whatever its
/// ending: `État` and `etat` share `et`).
fn prefix(word: &str, folder: &mut TextAnalyzer) -> String {
    if word.is_ascii() {
        return word
            .chars()
            .take(2)
            .map(|c| c.to_ascii_lowercase())
            .collect();
    }
    let mut stream = folder.token_stream(word);
    match stream.next() {
        Some(token) => token.text.chars().take(2).collect(),
        None => String::new(),
    }
}

/// Where a snippet starting near byte `at` begins: after the first space within 30 bytes
/// (a whole word first), never past `limit` (the first match) or inside a character.
fn word_start(text: &str, at: usize, limit: usize) -> usize {
    let mut at = at.min(limit);
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    if at == 0 {
        return 0;
    }
    match text[at..limit]
        .char_indices()
        .find(|(_, c)| c.is_whitespace())
    {
        Some((offset, space)) if offset < 30 => at + offset + space.len_utf8(),
        _ => at,
    }
}

/// Where a snippet from `from` ends: at the last space before byte `at` (after `from`), or
/// at `at` itself (a long run without spaces), never inside a character.
fn word_end(text: &str, from: usize, at: usize) -> usize {
    if at >= text.len() {
        return text.len();
    }
    let mut at = at;
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    match text[from..at].rfind(char::is_whitespace) {
        Some(space) if space > 0 => from + space,
        _ => at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn marked(s: &str) -> String {
        s.replace(MARK_START, "[").replace(MARK_END, "]")
    }

    #[test]
    fn never_cuts_inside_a_character_or_runs_backwards() {
        let analyzer = super::super::analyzer("french");
        let terms: HashSet<String> = ["etat".to_owned()].into();
        let mut matcher = Matcher::new(&terms, analyzer);
        // No-break and narrow no-break spaces (French typography), then a long unbroken run.
        let text = format!(
            "{}L\u{a0}État\u{202f}: oui. {} état final",
            "mot\u{a0}".repeat(40),
            "x".repeat(400)
        );
        let snippet = marked(&matcher.snippet(&text));
        assert!(snippet.contains("[État]"), "{snippet}");
        for text in [
            "日本語の文章".repeat(100),
            "\u{3000}".repeat(200),
            "é".repeat(500),
        ] {
            let _ = matcher.snippet(&text);
        }
        let cjk = "東京".repeat(200) + " état";
        assert!(marked(&matcher.snippet(&cjk)).contains("[état]"));
    }

    #[test]
    fn marks_stemmed_matches_around_the_first() {
        let analyzer = super::super::analyzer("english");
        let terms: HashSet<String> = ["harbour".to_owned(), "run".to_owned()].into();
        let mut matcher = Matcher::new(&terms, analyzer);
        let text = format!(
            "{} The harbours were running late. Harbour fees rose.",
            "Filler words. ".repeat(20)
        );
        let snippet = marked(&matcher.snippet(&text));
        assert!(snippet.starts_with("… "), "{snippet}");
        assert!(
            snippet.contains("[harbours] were [running] late. [Harbour] fees"),
            "{snippet}"
        );
        // Nothing matches: the start of the text.
        let plain = matcher.snippet("Ünïcode text without the words. ".repeat(20).as_str());
        assert!(plain.starts_with("Ünïcode text"), "{plain}");
        assert!(plain.ends_with('…') && plain.len() < 260, "{plain}");
    }
}
