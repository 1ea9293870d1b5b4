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

/// What a search looks for (as the analyzer makes its words): words alone, and phrases,
/// which match only where their words stand together (and are marked whole).
#[derive(Default)]
pub struct Sought {
    pub words: HashSet<String>,
    pub phrases: Vec<Vec<String>>,
}

/// What `sought` matches in a text.
pub struct Matcher<'a> {
    sought: &'a Sought,
    prefixes: HashSet<String>,
    analyzer: TextAnalyzer,
    /// Lowercases and folds accents, for the prefixes of words that are not ASCII.
    folder: TextAnalyzer,
    /// The term of each word of the text being cut, once asked: a phrase looked for at
    /// every word stems each word once, not once per phrase word.
    terms: Vec<Option<Option<String>>>,
}

/// Words a phrase's words may have between them in a text (the analyzer drops them: `of`).
const PHRASE_GAP: usize = 3;

impl<'a> Matcher<'a> {
    pub fn new(sought: &'a Sought, analyzer: TextAnalyzer) -> Self {
        let mut folder = TextAnalyzer::builder(tantivy::tokenizer::RawTokenizer::default())
            .filter(tantivy::tokenizer::LowerCaser)
            .filter(tantivy::tokenizer::AsciiFoldingFilter)
            .build();
        let prefixes = sought
            .words
            .iter()
            .chain(sought.phrases.iter().flatten())
            .map(|t| prefix(t, &mut folder))
            .collect();
        Matcher {
            sought,
            prefixes,
            analyzer,
            folder,
            terms: Vec::new(),
        }
    }

    /// The searched term `word` stems to, if any (only words sharing a term's first two
    /// letters are analyzed).
    fn term(&mut self, word: &str) -> Option<String> {
        if !self.prefixes.contains(&prefix(word, &mut self.folder)) {
            return None;
        }
        let sought = self.sought;
        let mut stream = self.analyzer.token_stream(word);
        while let Some(token) = stream.next() {
            if sought.words.contains(&token.text)
                || sought.phrases.iter().flatten().any(|t| *t == token.text)
            {
                return Some(token.text.clone());
            }
        }
        None
    }

    /// The term of word `i` of `words`, stemmed once per text.
    fn term_at(&mut self, text: &str, words: &[(usize, usize)], i: usize) -> Option<String> {
        if let Some(known) = &self.terms[i] {
            return known.clone();
        }
        let (start, end) = words[i];
        let term = self.term(&text[start..end]);
        self.terms[i] = Some(term.clone());
        term
    }

    /// Whether the analyzer drops `word` (a stop word a phrase may stand across).
    fn dropped(&mut self, word: &str) -> bool {
        self.analyzer.token_stream(word).next().is_none()
    }

    /// The match starting at word `i` of `words` (its first and last word), if one does:
    /// the longest phrase starting there, else a word searched alone.
    fn match_at(
        &mut self,
        text: &str,
        words: &[(usize, usize)],
        i: usize,
    ) -> Option<(usize, usize)> {
        let term = self.term_at(text, words, i)?;
        let sought = self.sought;
        let mut longest: Option<usize> = None;
        for phrase in sought.phrases.iter().filter(|p| p.first() == Some(&term)) {
            let (mut j, mut k, mut gap) = (i, 1, 0);
            while k < phrase.len() && j + 1 < words.len() && gap <= PHRASE_GAP {
                j += 1;
                let (start, end) = words[j];
                if self.term_at(text, words, j).as_ref() == Some(&phrase[k]) {
                    k += 1;
                    gap = 0;
                } else if self.dropped(&text[start..end]) {
                    gap += 1;
                } else {
                    break;
                }
            }
            if k == phrase.len() && longest.is_none_or(|l| j > l) {
                longest = Some(j);
            }
        }
        match longest {
            Some(last) => Some((i, last)),
            None => sought.words.contains(&term).then_some((i, i)),
        }
    }

    /// The snippet of `text`: around the first match, marked with `MARK_START`/`MARK_END`
    /// (HTML-escaped later); the start of the text when nothing in it matches.
    pub fn snippet(&mut self, text: &str) -> String {
        let words: Vec<(usize, usize)> = words(text).collect();
        self.terms = vec![None; words.len()];
        let first = (0..words.len()).find_map(|i| self.match_at(text, &words, i));
        let from = match first {
            Some((i, _)) => word_start(text, words[i].0.saturating_sub(BEFORE), words[i].0),
            None => 0,
        };
        let to = word_end(text, from, from + LENGTH);
        let mut marked = String::with_capacity(to - from + 16);
        if from > 0 {
            marked.push_str("… ");
        }
        let mut at = from;
        if let Some((mut i, _)) = first {
            while i < words.len() && words[i].1 <= to {
                match self.match_at(text, &words, i) {
                    Some((first, last)) if words[last].1 <= to => {
                        marked.push_str(&text[at..words[first].0]);
                        marked.push(MARK_START);
                        marked.push_str(&text[words[first].0..words[last].1]);
                        marked.push(MARK_END);
                        at = words[last].1;
                        i = last + 1;
                    }
                    _ => i += 1,
                }
            }
        }
        marked.push_str(&text[at..to]);
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
        let sought = Sought {
            words: ["etat".to_owned()].into(),
            ..Sought::default()
        };
        let mut matcher = Matcher::new(&sought, analyzer);
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
        let sought = Sought {
            words: ["harbour".to_owned(), "run".to_owned()].into(),
            ..Sought::default()
        };
        let mut matcher = Matcher::new(&sought, analyzer);
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

    #[test]
    fn phrases_are_marked_whole_and_only_together() {
        let analyzer = super::super::analyzer("english");
        let sought = Sought {
            words: ["tram".to_owned()].into(),
            phrases: vec![vec!["last".to_owned(), "night".to_owned()]],
        };
        let mut matcher = Matcher::new(&sought, analyzer);
        let text = "The last bus left at ten. A night tram ran; the last night of it was cold.";
        let snippet = marked(&matcher.snippet(text));
        assert_eq!(
            snippet,
            "The last bus left at ten. A night [tram] ran; the [last night] of it was cold."
        );
        // Across a word the analyzer drops, still one phrase.
        let sought = Sought {
            phrases: vec![vec!["citi".to_owned(), "light".to_owned()]],
            ..Sought::default()
        };
        let mut matcher = Matcher::new(&sought, super::super::analyzer("english"));
        assert_eq!(
            marked(&matcher.snippet("City of lights.")),
            "[City of lights]."
        );
    }
}
